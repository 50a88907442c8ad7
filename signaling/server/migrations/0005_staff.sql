-- R2: staff accounts of the embedded default (no identity provider): an argon2 password and a
-- TOTP second factor. Enrolment links (the first administrator's setup link among them) let a
-- person choose their password and register their authenticator.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    totp_secret     BLOB NOT NULL,
    roles           TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    disabled_at     INTEGER,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    last_totp_step  INTEGER
);

CREATE TABLE enrollments (
    token_hash      BLOB PRIMARY KEY,
    username        TEXT,
    display_name    TEXT,
    roles           TEXT NOT NULL,
    totp_secret     BLOB,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER
);

-- Sessions now belong to a staff user; the older organiser sessions no longer count.
ALTER TABLE sessions ADD COLUMN user_id TEXT REFERENCES users(id);
DELETE FROM sessions;

-- Meetings and their personal links. Tokens are never stored, only their SHA-256.
CREATE TABLE meetings (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    ended_at    INTEGER
);

CREATE TABLE links (
    id          TEXT PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    meeting_id  TEXT NOT NULL REFERENCES meetings(id),
    role        TEXT NOT NULL CHECK (role IN ('chair', 'guest')),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX links_meeting ON links(meeting_id);

-- The one-time organiser link printed on the console at first start.
CREATE TABLE setup_tokens (
    token_hash  BLOB PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    claimed_at  INTEGER
);

-- Browser sessions of organisers (cookie value hashed).
CREATE TABLE sessions (
    token_hash  BLOB PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

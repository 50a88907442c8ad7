-- R3, R16: invitations carry the invitee's role; meetings may have a start time; booking systems
-- hold scoped API tokens (hashed).
CREATE TABLE links_v2 (
    id          TEXT PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    meeting_id  TEXT NOT NULL REFERENCES meetings(id),
    role        TEXT NOT NULL CHECK (role IN ('chair', 'patient', 'relative', 'staff', 'professional', 'guest')),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
);
INSERT INTO links_v2 SELECT id, token_hash, meeting_id, role, created_at, expires_at, revoked_at FROM links;
DROP TABLE links;
ALTER TABLE links_v2 RENAME TO links;
CREATE INDEX links_meeting ON links(meeting_id);

ALTER TABLE meetings ADD COLUMN starts_at INTEGER;
ALTER TABLE meetings ADD COLUMN duration_minutes INTEGER;

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

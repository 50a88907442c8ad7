-- R15: the audit trail. Append-only and hash-chained: each entry's hash covers its content and
-- the previous entry's hash, so any change or removal breaks the chain (`sluss audit verify`).
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    meeting_id  TEXT,
    event       TEXT NOT NULL,
    actor       TEXT,
    subject     TEXT,
    details     TEXT NOT NULL,
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL
);
CREATE INDEX audit_meeting ON audit_log(meeting_id);
CREATE INDEX audit_at ON audit_log(at);

-- How long entries are kept; written at start-up from the configuration.
CREATE TABLE audit_settings (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    retention_secs  INTEGER NOT NULL
);
INSERT INTO audit_settings (id, retention_secs) VALUES (1, 157680000);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Only entries older than the retention period may go, and only oldest first.
CREATE TRIGGER audit_log_retention_only BEFORE DELETE ON audit_log
WHEN old.at > CAST(strftime('%s', 'now') AS INTEGER) - (SELECT retention_secs FROM audit_settings WHERE id = 1)
  OR old.seq > (SELECT MIN(seq) FROM audit_log)
BEGIN
    SELECT RAISE(ABORT, 'audit entries are kept for the retention period');
END;

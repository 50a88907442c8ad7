-- Signed webhooks: the durable queue. Rows are written in the same transaction as the audit
-- entry they come from; the dispatcher sends them with retries and keeps the outcome.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    endpoint        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    delivered_at    INTEGER,
    given_up_at     INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;

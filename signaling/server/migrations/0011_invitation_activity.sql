-- The meeting's page shows what became of each invitation: when its link was first opened,
-- when its holder first came into the meeting, and which invitation a re-issued link replaced
-- (the old one is revoked in the same transaction).
ALTER TABLE links ADD COLUMN opened_at INTEGER;
ALTER TABLE links ADD COLUMN entered_at INTEGER;
ALTER TABLE links ADD COLUMN replaces TEXT REFERENCES links(id);

-- Meetings belong to someone: the convener is the member of staff ('staff', user id) or the
-- booking system ('api', API token id) that created the meeting. Meetings made before this
-- have no convener, and only administrators may act on them.
ALTER TABLE meetings ADD COLUMN convener_kind TEXT CHECK (convener_kind IN ('staff', 'api'));
ALTER TABLE meetings ADD COLUMN convener_id TEXT;
CREATE INDEX meetings_convener ON meetings(convener_kind, convener_id);

-- A staff invitation may name the staff account it is for; the meeting then shows in that
-- person's list.
ALTER TABLE links ADD COLUMN staff_user_id TEXT REFERENCES users(id);
CREATE INDEX links_staff_user ON links(staff_user_id) WHERE staff_user_id IS NOT NULL;

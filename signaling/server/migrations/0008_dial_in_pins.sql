-- R14: an invitation may be used by phone too. Its PIN is stored only as a keyed hash, the
-- way a link is stored only as a hash: it is shown once, with the invitation.
CREATE TABLE dial_in_pins (
    pin_hash BLOB PRIMARY KEY,
    link_id TEXT NOT NULL UNIQUE REFERENCES links(id) ON DELETE CASCADE
);

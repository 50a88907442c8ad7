-- R9, R10: care meetings are sensitive unless the organiser says otherwise.
ALTER TABLE meetings ADD COLUMN sensitive INTEGER NOT NULL DEFAULT 1;

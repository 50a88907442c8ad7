-- Staff administration: when each account last logged in, and enrolments that replace an
-- existing account's password and authenticator (a reset) instead of making a new account.
ALTER TABLE users ADD COLUMN last_login_at INTEGER;
ALTER TABLE enrollments ADD COLUMN resets_user TEXT REFERENCES users(id);

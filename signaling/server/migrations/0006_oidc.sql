-- R2: staff who log in through an OpenID Connect provider are users too, found by the issuer's
-- stable subject; they have no password or TOTP here (the provider's login is the strong one).
ALTER TABLE users ADD COLUMN oidc_issuer TEXT;
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc ON users(oidc_issuer, oidc_subject) WHERE oidc_subject IS NOT NULL;

-- R5: a meeting may require guests to identify with e-identification before they knock.
ALTER TABLE meetings ADD COLUMN require_eid INTEGER NOT NULL DEFAULT 0;

//! R2 in the embedded default: staff log in with an argon2 password and a TOTP code. Username
//! and password alone never suffice.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use totp_rs::{Algorithm, Builder, Totp};

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Constant in cost whether or not the hash is real, so that timing does not tell which
/// usernames exist.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2x1c3NzbHVzc3NsdXNz$9+YTAbxiFZ0a2xLQNOnx/7XxNF4pqxLVuJg6/4RUGxQ";
    let Ok(parsed) = PasswordHash::new(hash.unwrap_or(DUMMY)) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && hash.is_some()
}

/// A username: 2 to 64 lower-case letters, digits, dots, dashes or underscores.
pub fn valid_username(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

pub fn password_problem(password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Some(format!(
            "The password must have at least {MIN_PASSWORD_CHARS} characters."
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Some(format!(
            "The password may have at most {MAX_PASSWORD_CHARS} characters."
        ));
    }
    None
}

/// A new random TOTP secret (160 bits, as RFC 4226 recommends).
pub fn new_totp_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 20];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    bytes
}

fn totp(secret: &[u8], account: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(secret.to_vec())
        .with_account_name(account)
        .with_issuer(Some("Sluss"))
        .build()
        .ok()
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn totp_uri(secret: &[u8], account: &str) -> Option<String> {
    totp(secret, account)?.to_url().ok()
}

/// The time step a code is valid for, if it is valid now (one step of clock skew allowed).
pub fn check_code(secret: &[u8], code: &str, now: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    totp(secret, "x")?.check(&code, now)
}

/// The QR code of `text` as an SVG data URL (allowed by the pages' CSP as an image).
pub fn qr_data_url(text: &str) -> Option<String> {
    use base64::Engine;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("korrekt häst batteri").unwrap();
        assert!(verify_password("korrekt häst batteri", Some(&h)));
        assert!(!verify_password("fel lösenord här", Some(&h)));
        assert!(!verify_password("korrekt häst batteri", None));
        assert!(password_problem("kort").is_some());
        assert!(password_problem("tillräckligt långt").is_none());
    }

    #[test]
    fn codes_are_checked_against_the_clock() {
        let secret = new_totp_secret();
        let t = totp(&secret, "anna").unwrap();
        let now = 1_800_000_000;
        let code = t.generate(now).to_string();
        assert!(check_code(&secret, &code, now).is_some());
        assert!(
            check_code(&secret, &code, now + 30).is_some(),
            "one step of skew"
        );
        assert!(
            check_code(&secret, &code, now + 120).is_none(),
            "an old code"
        );
        assert!(check_code(&secret, "12345", now).is_none());
        assert!(check_code(&secret, "abcdef", now).is_none());
        let uri = totp_uri(&secret, "anna").unwrap();
        assert!(uri.starts_with("otpauth://totp/Sluss:anna?"), "{uri}");
        assert!(qr_data_url(&uri)
            .unwrap()
            .starts_with("data:image/svg+xml;base64,"));
    }
}

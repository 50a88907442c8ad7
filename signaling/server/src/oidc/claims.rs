//! What an ID token says, once its signature, issuer, audience, expiry and nonce have been
//! checked: the assurance level (R2), the roles (staff, admin, auditor) and a citizen's verified
//! name and personal identity number (R5). Pure functions over the token's JSON claims.

use base64::Engine;
use serde_json::Value;

/// The roles Sluss knows; anything else a claim carries is ignored.
pub const KNOWN_ROLES: [&str; 3] = ["staff", "admin", "auditor"];

/// The Swedish e-identification assurance levels accepted by default (R2: LoA3 or higher).
pub const DEFAULT_ALLOWED_ACR: [&str; 4] = [
    "http://id.elegnamnden.se/loa/1.0/loa3",
    "http://id.elegnamnden.se/loa/1.0/loa4",
    "http://id.elegnamnden.se/loa/1.0/eidas-sub",
    "http://id.elegnamnden.se/loa/1.0/eidas-high",
];

/// Why a verified token still does not let the person in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("the identity provider gave no assurance level (acr)")]
    NoAssuranceLevel,
    #[error("the assurance level {0:?} is lower than this service requires")]
    AssuranceTooLow(String),
    #[error("the account has none of the roles staff, admin or auditor")]
    NoRole,
    #[error("the identity provider did not give the claim {0:?}")]
    Missing(String),
    #[error("the ID token could not be read")]
    Unreadable,
}

/// R2: the `acr` must be one of the allowed levels, exactly.
pub fn check_acr<'a>(acr: Option<&'a str>, allowed: &[String]) -> Result<&'a str, ClaimsError> {
    let acr = acr.ok_or(ClaimsError::NoAssuranceLevel)?;
    if allowed.iter().any(|a| a == acr) {
        Ok(acr)
    } else {
        Err(ClaimsError::AssuranceTooLow(acr.to_owned()))
    }
}

/// The JSON claims of a compact JWT. Only call this on a token whose signature was verified.
pub fn payload(jwt: &str) -> Result<Value, ClaimsError> {
    let body = jwt.split('.').nth(1).ok_or(ClaimsError::Unreadable)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body.trim_end_matches('='))
        .map_err(|_| ClaimsError::Unreadable)?;
    serde_json::from_slice(&bytes).map_err(|_| ClaimsError::Unreadable)
}

/// A claim by name; a dotted name (`realm_access.roles`) walks into nested objects, but a name
/// that exists as it stands (a URI such as `urn:oid:1.2.752.29.4.13`) is taken first.
fn claim<'a>(claims: &'a Value, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    name.split('.').try_fold(claims, |v, part| v.get(part))
}

/// The Sluss roles in the configured claim: a JSON array of strings or a space-separated string.
pub fn roles(claims: &Value, claim_name: &str) -> Result<Vec<String>, ClaimsError> {
    let mut found: Vec<String> = match claim(claims, claim_name) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    found.retain(|r| KNOWN_ROLES.contains(&r.as_str()));
    found.sort();
    found.dedup();
    if found.is_empty() {
        return Err(ClaimsError::NoRole);
    }
    Ok(found)
}

/// A string claim, trimmed and bounded, or an error naming the claim.
pub fn text(claims: &Value, claim_name: &str) -> Result<String, ClaimsError> {
    claim(claims, claim_name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .map(str::to_owned)
        .ok_or_else(|| ClaimsError::Missing(claim_name.to_owned()))
}

/// A name for a person: the configured claim, or given and family name together.
pub fn person_name(claims: &Value, claim_name: &str) -> Result<String, ClaimsError> {
    text(claims, claim_name).or_else(|e| {
        let given = text(claims, "given_name").map_err(|_| e.clone())?;
        let family = text(claims, "family_name").map_err(|_| e)?;
        Ok(format!("{given} {family}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn allowed() -> Vec<String> {
        DEFAULT_ALLOWED_ACR.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_the_allowed_levels_pass() {
        let loa3 = "http://id.elegnamnden.se/loa/1.0/loa3";
        assert_eq!(check_acr(Some(loa3), &allowed()), Ok(loa3));
        assert_eq!(
            check_acr(Some("http://id.elegnamnden.se/loa/1.0/loa2"), &allowed()),
            Err(ClaimsError::AssuranceTooLow(
                "http://id.elegnamnden.se/loa/1.0/loa2".into()
            ))
        );
        assert_eq!(
            check_acr(None, &allowed()),
            Err(ClaimsError::NoAssuranceLevel)
        );
        // No prefix or case games.
        assert!(check_acr(Some("http://id.elegnamnden.se/loa/1.0/loa3x"), &allowed()).is_err());
        assert!(check_acr(Some("HTTP://ID.ELEGNAMNDEN.SE/LOA/1.0/LOA3"), &allowed()).is_err());
    }

    #[test]
    fn roles_come_from_an_array_a_string_or_a_nested_claim() {
        let c = json!({"roles": ["staff", "nurse", "auditor"], "r": "admin staff",
                       "realm_access": {"roles": ["admin"]}});
        assert_eq!(roles(&c, "roles").unwrap(), vec!["auditor", "staff"]);
        assert_eq!(roles(&c, "r").unwrap(), vec!["admin", "staff"]);
        assert_eq!(roles(&c, "realm_access.roles").unwrap(), vec!["admin"]);
        assert_eq!(roles(&c, "missing"), Err(ClaimsError::NoRole));
        assert_eq!(
            roles(&json!({"roles": ["nurse"]}), "roles"),
            Err(ClaimsError::NoRole)
        );
    }

    #[test]
    fn names_and_numbers_are_read_by_configured_claim() {
        let c = json!({"urn:oid:1.2.752.29.4.13": "191212121212", "given_name": "Tolvan",
                       "family_name": "Tolvansson"});
        assert_eq!(text(&c, "urn:oid:1.2.752.29.4.13").unwrap(), "191212121212");
        assert_eq!(person_name(&c, "name").unwrap(), "Tolvan Tolvansson");
        assert_eq!(
            text(&c, "personal_identity_number"),
            Err(ClaimsError::Missing("personal_identity_number".into()))
        );
        assert!(text(&json!({"name": "x".repeat(300)}), "name").is_err());
    }

    #[test]
    fn a_payload_is_read_and_garbage_is_refused() {
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"a"}"#);
        assert_eq!(payload(&format!("h.{body}.s")).unwrap()["sub"], "a");
        assert_eq!(payload("nodots"), Err(ClaimsError::Unreadable));
        assert_eq!(payload("a.!!!.c"), Err(ClaimsError::Unreadable));
    }
}

//! Signed webhooks for booking and journal systems (the Standard Webhooks specification):
//! meeting started, participant admitted, meeting ended, call started and ended. Metadata
//! only: opaque ids, never a name, a number or what was said.
//!
//! The seam is the audit trail: an audit entry that maps to a webhook type is queued for every
//! endpoint that wants it in the same transaction as the entry ([`crate::store::Store::audit`]),
//! so nothing is sent that is not in the trail and nothing in the trail is lost to a crash.
//! [`dispatch`] sends the queue with retries.

pub mod dispatch;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The webhook types, and which audit events they come from.
pub const TYPES: [&str; 5] = [
    "meeting.started",
    "meeting.ended",
    "participant.admitted",
    "call.started",
    "call.ended",
];

/// Delays before the second, third, ... attempt; after the last the delivery is given up.
pub const RETRY_DELAYS_SECS: [i64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/// One receiving system.
#[derive(Clone)]
pub struct Endpoint {
    /// A short name for logs and metrics (`booking`).
    pub name: String,
    pub url: String,
    /// The key under `whsec_`, decoded.
    pub secret: Vec<u8>,
    /// The types it receives.
    pub events: Vec<String>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .field("events", &self.events)
            .finish()
    }
}

/// A `whsec_...` secret's key: base64 after the prefix, 24 to 64 bytes.
pub fn parse_secret(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let encoded = text
        .trim()
        .strip_prefix("whsec_")
        .ok_or("a webhook secret starts with whsec_ (then base64)")?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| "a webhook secret is whsec_ and then base64")?;
    if !(24..=64).contains(&key.len()) {
        return Err("a webhook secret's key is 24 to 64 bytes".into());
    }
    Ok(key)
}

/// The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    use base64::Engine;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let tag = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    )
}

/// The webhook an audit entry makes, if any: its type and body. Only the meeting's and the
/// participant's opaque ids go out, and a call's opaque id.
pub fn from_audit(
    event: &str,
    meeting_id: Option<&str>,
    subject: Option<&str>,
    details: &serde_json::Value,
    at: i64,
) -> Option<(&'static str, String)> {
    let (kind, extra) = match event {
        "meeting_started" => ("meeting.started", None),
        "ended" => ("meeting.ended", Some(("reason", "ended_by_chair"))),
        "meeting_cancelled" => ("meeting.ended", Some(("reason", "cancelled"))),
        "admitted" => ("participant.admitted", None),
        "phone_dial_out" | "phone_called_in" => ("call.started", Some(("direction", "out"))),
        "phone_dial_in" => ("call.started", Some(("direction", "in"))),
        "phone_call_ended" => ("call.ended", None),
        _ => return None,
    };
    let mut data = serde_json::Map::new();
    data.insert("meeting_id".into(), opaque(meeting_id?)?.into());
    if kind != "meeting.started" && kind != "meeting.ended" {
        if let Some(p) = subject.and_then(opaque) {
            data.insert("participant_id".into(), p.into());
        }
    }
    if let Some(call) = details["call"].as_str().and_then(|c| opaque(Some(c))) {
        data.insert("call_id".into(), call.into());
    }
    if let Some((key, value)) = extra {
        data.insert(key.into(), value.into());
    }
    let body = serde_json::json!({
        "type": kind,
        "timestamp": rfc3339(at),
        "data": data,
    });
    Some((kind, body.to_string()))
}

/// An id as Sluss makes them (letters, digits, `_`, `-`; at most 64), or nothing.
fn opaque<'a>(id: impl Into<Option<&'a str>>) -> Option<String> {
    let id = id.into()?;
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then(|| id.to_owned())
}

/// Unix seconds as `2026-12-07T10:15:00Z`.
pub fn rfc3339(secs: i64) -> String {
    let (y, m, d) = crate::civil_from_days(secs.div_euclid(86_400));
    let rest = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_entries_become_metadata_only_webhooks() {
        let details =
            serde_json::json!({"name": "Anna Andersson", "call": "c_abc", "number": "hash"});
        let (kind, body) = from_audit(
            "admitted",
            Some("m_1"),
            Some("p_2"),
            &details,
            1_796_601_600,
        )
        .unwrap();
        assert_eq!(kind, "participant.admitted");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["timestamp"], "2026-12-07T00:00:00Z");
        assert_eq!(
            json["data"],
            serde_json::json!({"meeting_id": "m_1", "participant_id": "p_2", "call_id": "c_abc"})
        );
        assert!(!body.contains("Anna") && !body.contains("hash"), "{body}");
        let (kind, body) =
            from_audit("meeting_cancelled", Some("m_1"), Some("u_x"), &details, 0).unwrap();
        assert_eq!(kind, "meeting.ended");
        assert!(body.contains("\"reason\":\"cancelled\"") && !body.contains("u_x"));
        assert_eq!(from_audit("joined", Some("m_1"), None, &details, 0), None);
        assert_eq!(from_audit("chat_on", Some("m_1"), None, &details, 0), None);
        // An id that is not one of ours never goes out.
        let odd = from_audit("admitted", Some("m_1"), Some("Anna Andersson"), &details, 0);
        assert!(!odd.unwrap().1.contains("Anna"));
        assert_eq!(from_audit("admitted", None, Some("p_2"), &details, 0), None);
    }

    #[test]
    fn secrets_and_signatures() {
        let key = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(key.len(), 24);
        let a = signature(&key, "msg_1", 1_700_000_000, "{}");
        assert!(a.starts_with("v1,") && a.len() == 3 + 44, "{a}");
        assert_ne!(a, signature(&key, "msg_1", 1_700_000_000, "{ }"));
        assert_ne!(a, signature(&key, "msg_2", 1_700_000_000, "{}"));
        assert_ne!(a, signature(&key, "msg_1", 1_700_000_001, "{}"));
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_!!",
            "whsec_c2hvcnQ=",
        ] {
            assert!(parse_secret(bad).is_err(), "{bad}");
        }
    }
}

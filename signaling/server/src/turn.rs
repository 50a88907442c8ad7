//! An external TURN server (coturn) for patients whose networks block UDP to the gateway:
//! short-lived credentials in the TURN REST style that coturn's `use-auth-secret` checks. The
//! username is `<expiry>:<participant id>`, the password the base64 HMAC-SHA1 of the username
//! under the secret both sides share. Nothing personal goes into either.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sluss_protocol::IceServer;

#[derive(Debug, Clone)]
pub struct TurnConfig {
    /// `turn:` and `turns:` URLs, e.g. `turn:turn.region.se:3478?transport=udp`.
    pub urls: Vec<String>,
    pub shared_secret: String,
    /// How long a handed-out credential works.
    pub ttl: Duration,
}

impl TurnConfig {
    /// The ICE servers for one participant, valid from `now` (Unix seconds) for the TTL.
    pub fn ice_servers(&self, participant: &str, now: i64) -> Vec<IceServer> {
        let username = format!("{}:{participant}", now + self.ttl.as_secs() as i64);
        vec![IceServer {
            urls: self.urls.clone(),
            credential: credential(&self.shared_secret, &username),
            username,
        }]
    }
}

/// base64(HMAC-SHA1(secret, username)), as coturn computes it.
pub fn credential(secret: &str, username: &str) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_hmac_sha1_of_the_username() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        assert_eq!(
            credential("Jefe", "what do ya want for nothing?"),
            base64::engine::general_purpose::STANDARD
                .encode(hex::decode("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79").unwrap())
        );
    }

    #[test]
    fn a_participant_gets_a_credential_that_expires() {
        let turn = TurnConfig {
            urls: vec!["turn:127.0.0.1:3478".into()],
            shared_secret: "s3cret".into(),
            ttl: Duration::from_secs(600),
        };
        let servers = turn.ice_servers("p_abc", 1_000);
        assert_eq!(servers[0].username, "1600:p_abc");
        assert_eq!(servers[0].credential, credential("s3cret", "1600:p_abc"));
        assert_eq!(servers[0].urls, vec!["turn:127.0.0.1:3478".to_owned()]);
    }
}

//! Link tokens, session tokens and opaque ids.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A bearer secret (link token, session cookie). Prints redacted; only its hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// 256 random bits, base64url.
    pub fn generate() -> Secret {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Secret(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn from_wire(s: &str) -> Secret {
        Secret(s.to_owned())
    }

    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }

    /// The secret itself: for a link handed to its owner, never for a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// An opaque random id with a readable prefix (`m_` meeting, `p_` participant, `l_` link):
/// 128 random bits.
pub fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_print_redacted() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert!(!format!("{a:?} {a}").contains(a.expose()));
        assert_eq!(a.hash().len(), 32);
        assert_eq!(a.hash(), Secret::from_wire(a.expose()).hash());
    }
}

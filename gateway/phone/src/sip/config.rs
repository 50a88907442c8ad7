//! The SIP endpoint's configuration: where it listens, its TLS identity, whom it trusts.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use super::SipError;

/// The endpoint's configuration.
#[derive(Clone)]
pub struct SipConfig {
    /// Where SIP over TLS listens (a concrete port: it goes into our Contact and Via).
    pub tls_listen: SocketAddr,
    /// Our certificate chain, PEM.
    pub certificate_pem: Vec<u8>,
    /// Its private key, PEM (PKCS#8, or PKCS#1 for RSA).
    pub private_key_pem: Vec<u8>,
    /// The CAs we trust for outgoing TLS, PEM.
    pub trusted_ca_pem: Vec<u8>,
    /// Plain SIP over UDP, only for a trunk marked unencrypted.
    pub udp_listen: Option<SocketAddr>,
    /// Plain SIP over TCP, only for a trunk marked unencrypted.
    pub tcp_listen: Option<SocketAddr>,
    /// The user part of our address (From, Contact).
    pub local_user: String,
    /// The host part of our From address (our SIP domain), or the listen address if None.
    pub domain: Option<String>,
    pub user_agent: String,
}

impl SipConfig {
    /// Refuses TLS material that the stack would only complain about in a log line, later.
    pub(crate) fn check_tls(&self) -> Result<(), SipError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&self.certificate_pem)
                .collect::<Result<_, _>>()
                .map_err(|_| SipError::Tls("the certificate is not PEM"))?;
        if certs.is_empty() {
            return Err(SipError::Tls("no certificate in the certificate PEM"));
        }
        let key = PrivateKeyDer::from_pem_slice(&self.private_key_pem)
            .map_err(|_| SipError::Tls("no private key in the key PEM"))?;
        if !matches!(key, PrivateKeyDer::Pkcs8(_) | PrivateKeyDer::Pkcs1(_)) {
            return Err(SipError::Tls(
                "the private key must be PKCS#8 (or PKCS#1 for RSA)",
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| SipError::Tls("no TLS version available"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|_| SipError::Tls("the private key does not match the certificate"))?;
        let mut cas = CertificateDer::pem_slice_iter(&self.trusted_ca_pem);
        match cas.next() {
            Some(Ok(_)) if cas.all(|ca| ca.is_ok()) => Ok(()),
            _ => Err(SipError::Tls(
                "the trusted CA bundle has no valid PEM certificate",
            )),
        }
    }

    pub fn new(tls_listen: SocketAddr, certificate_pem: Vec<u8>, private_key_pem: Vec<u8>) -> Self {
        Self {
            tls_listen,
            certificate_pem,
            private_key_pem,
            trusted_ca_pem: Vec::new(),
            udp_listen: None,
            tcp_listen: None,
            local_user: "sluss".to_owned(),
            domain: None,
            // No version: a scanner learns which product answers, not which release to attack.
            user_agent: "Sluss".to_owned(),
        }
    }
}

impl fmt::Debug for SipConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SipConfig")
            .field("tls_listen", &self.tls_listen)
            .field("udp_listen", &self.udp_listen)
            .field("tcp_listen", &self.tcp_listen)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_private_key() {
        let config = SipConfig::new(
            "127.0.0.1:5061".parse().unwrap(),
            b"CERT".to_vec(),
            b"-----BEGIN PRIVATE KEY-----SECRETKEY".to_vec(),
        );
        let printed = format!("{config:?}");
        assert!(!printed.contains("SECRETKEY"), "{printed}");
        assert!(printed.contains("127.0.0.1:5061"), "{printed}");
    }

    #[test]
    fn tls_material_that_is_not_pem_is_refused() {
        let config = SipConfig::new(
            "127.0.0.1:5061".parse().unwrap(),
            b"not a certificate".to_vec(),
            b"not a key".to_vec(),
        );
        assert_eq!(
            config.check_tls(),
            Err(SipError::Tls("no certificate in the certificate PEM"))
        );
    }
}

//! The SIP endpoint's configuration: where it listens, its TLS identity, whom it trusts.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
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
    /// How calls reach the trunk, and what our Contact says; a plain transport needs its
    /// listener (`udp_listen` or `tcp_listen`) for the trunk's answers and requests.
    pub trunk_transport: TrunkTransport,
    /// Where requests may come from (the trunk's addresses, its SBC cluster's network);
    /// anything else is dropped unanswered. Empty takes requests from anywhere.
    pub allowed_sources: Vec<SourceNet>,
    /// The address the trunk is told to reach us at, when a listener binds every address
    /// (`0.0.0.0`): a Contact of `0.0.0.0` would leave the trunk no way to send us a BYE.
    pub advertised_ip: Option<IpAddr>,
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
            trunk_transport: TrunkTransport::Tls,
            allowed_sources: Vec::new(),
            advertised_ip: None,
            local_user: "sluss".to_owned(),
            domain: None,
            // No version: a scanner learns which product answers, not which release to attack.
            user_agent: "Sluss".to_owned(),
        }
    }
}

impl SipConfig {
    /// The listener the trunk transport uses, as the trunk is told it (our Contact).
    pub(crate) fn contact_addr(&self) -> Result<SocketAddr, SipError> {
        let listen = match self.trunk_transport {
            TrunkTransport::Tls => Some(self.tls_listen),
            TrunkTransport::Tcp => self.tcp_listen,
            TrunkTransport::Udp => self.udp_listen,
        }
        .ok_or(SipError::Config(
            "a plain trunk transport needs its listener (udp_listen or tcp_listen)",
        ))?;
        Ok(match self.advertised_ip {
            Some(ip) if listen.ip().is_unspecified() => SocketAddr::new(ip, listen.port()),
            _ => listen,
        })
    }
}

/// An address or a network (`192.0.2.10`, `10.20.0.0/16`, `2001:db8::/32`) that SIP
/// requests may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceNet {
    addr: IpAddr,
    prefix: u8,
}

impl SourceNet {
    /// One address.
    pub fn host(addr: IpAddr) -> Self {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        Self { addr, prefix }
    }

    /// `a.b.c.d`, `a.b.c.d/n`, or the same for IPv6; None for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let host = Self::host(addr);
        match prefix {
            Some(p) if p <= host.prefix => Some(Self { addr, prefix: p }),
            Some(_) => None,
            None => Some(host),
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            // An IPv4 peer on a dual-stack socket.
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (net, ip, bits) = match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || net >> shift == ip >> shift
    }
}

/// How SIP travels to the trunk. TLS unless the trunk is marked unencrypted (R1): plain
/// TCP or UDP carries numbers and, with plain RTP, the call in the clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrunkTransport {
    #[default]
    Tls,
    Tcp,
    Udp,
}

impl TrunkTransport {
    /// The URI parameter (`transport=…`) and the configuration's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tls => "tls",
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Tls, Self::Tcp, Self::Udp]
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Debug for SipConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SipConfig")
            .field("tls_listen", &self.tls_listen)
            .field("udp_listen", &self.udp_listen)
            .field("tcp_listen", &self.tcp_listen)
            .field("trunk_transport", &self.trunk_transport)
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
    fn the_contact_names_the_trunk_transports_listener_at_a_reachable_address() {
        let mut config = SipConfig::new("0.0.0.0:5061".parse().unwrap(), Vec::new(), Vec::new());
        config.advertised_ip = Some("192.0.2.7".parse().unwrap());
        assert_eq!(config.contact_addr(), Ok("192.0.2.7:5061".parse().unwrap()));
        config.trunk_transport = TrunkTransport::Udp;
        assert!(config.contact_addr().is_err(), "UDP without its listener");
        config.udp_listen = Some("127.0.0.1:5060".parse().unwrap());
        assert_eq!(config.contact_addr(), Ok("127.0.0.1:5060".parse().unwrap()));
        assert_eq!(TrunkTransport::parse(" UDP"), Some(TrunkTransport::Udp));
        assert_eq!(TrunkTransport::parse("sctp"), None);
    }

    #[test]
    fn sources_are_addresses_or_networks() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let net = SourceNet::parse("10.20.0.0/16").unwrap();
        assert!(net.contains(ip("10.20.255.1")));
        assert!(!net.contains(ip("10.21.0.1")));
        assert!(
            net.contains(ip("::ffff:10.20.1.1")),
            "IPv4 on a dual-stack socket"
        );
        assert!(!net.contains(ip("2001:db8::1")));
        let one = SourceNet::parse(" 192.0.2.10 ").unwrap();
        assert!(one.contains(ip("192.0.2.10")) && !one.contains(ip("192.0.2.11")));
        let v6 = SourceNet::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        assert!(SourceNet::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("203.0.113.9")));
        for bad in [
            "10.0.0.0/33",
            "trunk.example",
            "10.0.0/8",
            "",
            "::/129",
            "1.2.3.4/x",
        ] {
            assert_eq!(SourceNet::parse(bad), None, "{bad}");
        }
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

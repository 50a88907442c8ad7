//! `[sip]`: the region's telephone trunk (R14), and the phone service made from it at start.
//! Off while `trunk_host` is empty: then a chair's request to move a voice to a phone is
//! refused with `phone_unavailable`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sluss_phone::pin::{PinPolicy, Rate};
use sluss_phone::sdp::Codec;
use sluss_phone::sip::config::{SipConfig, SourceNet, TrunkTransport};
use sluss_phone::sip::rsip::RsipStack;
use sluss_phone::sip::{Credentials, Peer, SipStack};
use sluss_signaling::phone::{DialInConfig, PhoneConfig, PhoneService};
use tracing::info;

use crate::config::{redacted, Config};

/// Where Debian keeps the system's trusted CAs: the default for the trunk's certificate.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipSection {
    /// The trunk's (or registrar's) host name or address; empty turns the telephone off.
    pub trunk_host: String,
    /// The trunk's SIP port (over `trunk_transport`).
    pub trunk_port: u16,
    /// "tls" (the default), or "tcp" or "udp" for a trunk that cannot do TLS: allowed only
    /// with `unencrypted_trunk` (R1), since the numbers then travel in the clear.
    pub trunk_transport: String,
    /// Our plain SIP listener (the transport `trunk_transport` names) when that is not TLS.
    pub plain_listen: SocketAddr,
    /// Where SIP requests may come from: addresses or networks (`10.20.0.0/16`). Empty: the
    /// addresses `trunk_host` resolves to at start. Anything else is dropped unanswered.
    /// `["0.0.0.0/0", "::/0"]` takes requests from anywhere.
    pub trunk_sources: Vec<String>,
    /// Our SIP over TLS listener. Its certificate is the HTTPS one (`server.tls_cert`).
    pub listen: SocketAddr,
    /// The account the trunk knows us by, for its digest challenge; empty for a trunk that
    /// knows us by our address.
    pub username: String,
    /// Its password; better from `SLUSS_SIP__PASSWORD` than from this file. `check-config`
    /// prints it redacted.
    #[serde(serialize_with = "redacted")]
    pub password: String,
    /// REGISTER at the trunk at start (and every `register_secs`), when it wants that.
    pub register: bool,
    pub register_secs: u32,
    /// The numbers dial-out may call, E.164 patterns: `+46*` is every Swedish number,
    /// `+4670*` Swedish mobiles, `?` one digit. Empty allows none.
    pub allowed_numbers: Vec<String>,
    /// R1: the trunk neither does TLS-protected SRTP nor can: calls are placed with plain
    /// RTP, and every participant sees that a leg is unencrypted while such a call lasts.
    pub unencrypted_trunk: bool,
    /// The CA bundle that signs the trunk's certificate (a region's own CA); empty for the
    /// system's bundle.
    pub trunk_ca_file: String,
    /// The user part of our SIP address.
    pub local_user: String,
    /// Dial-in: the number callers ring, as invitations print it (`010-123 45 67`); the
    /// trunk routes it to `listen`. Empty: every call to us is refused (480).
    pub dial_in_number: String,
    /// Digits of each invitation's dial-in PIN, 9 to 16.
    pub pin_digits: usize,
    /// Wrong PINs one call may type before it is hung up.
    pub pin_tries_per_call: u32,
    /// Wrong PINs one caller (by number) may type per 30 minutes, across calls.
    pub pin_tries_per_caller: u32,
    /// Wrong PINs all callers together may type per 10 minutes: the limit that holds when
    /// callers hide or forge their number. Past it, dial-in waits for the count to decay.
    pub pin_tries_per_number: u32,
    /// Callers typing a PIN or waiting in a lobby at once; more hear busy (486).
    pub max_dial_in_calls: usize,
    /// Voice codecs offered and taken, best first: any of "G722" (wideband), "PCMA",
    /// "PCMU".
    pub codecs: Vec<String>,
    /// A call that hears nothing (no RTP, no RTCP) from a trunk that should be sending for
    /// this long is hung up: a trunk gone without a BYE must not hold a voice on a dead line.
    /// 5 to 3600.
    pub media_timeout_secs: u64,
}

impl Default for SipSection {
    fn default() -> Self {
        SipSection {
            trunk_host: String::new(),
            trunk_port: 5061,
            trunk_transport: "tls".into(),
            plain_listen: SocketAddr::from(([0, 0, 0, 0], 5060)),
            trunk_sources: Vec::new(),
            listen: SocketAddr::from(([0, 0, 0, 0], 5061)),
            username: String::new(),
            password: String::new(),
            register: false,
            register_secs: 600,
            allowed_numbers: Vec::new(),
            unencrypted_trunk: false,
            trunk_ca_file: String::new(),
            local_user: "sluss".into(),
            dial_in_number: String::new(),
            pin_digits: 9,
            pin_tries_per_call: 3,
            pin_tries_per_caller: 6,
            pin_tries_per_number: 60,
            max_dial_in_calls: 20,
            codecs: vec!["G722".into(), "PCMA".into(), "PCMU".into()],
            media_timeout_secs: 60,
        }
    }
}

/// The phone service when `[sip]` names a trunk: our SIP stack started (and registered when
/// asked), its TLS from the HTTPS certificate and key.
pub async fn service(
    config: &Config,
    cert: &Path,
    key: &Path,
) -> Result<Option<Arc<PhoneService>>, String> {
    let sip = &config.sip;
    if sip.trunk_host.is_empty() {
        return Ok(None);
    }
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| format!("sip: cannot read {}: {e}", path.display()))
    };
    let ca_path = if sip.trunk_ca_file.is_empty() {
        PathBuf::from(SYSTEM_CA_BUNDLE)
    } else {
        PathBuf::from(&sip.trunk_ca_file)
    };
    // The trunk must be told an address it can send media (and in-dialog requests) to.
    let media_announce = match config.announce_ip() {
        Some(ip) => ip,
        None if !config.media.bind_ip.is_unspecified() => config.media.bind_ip,
        None => return Err("sip needs media.announce_ip: the address the trunk sends to".into()),
    };
    let mut stack_config = SipConfig::new(sip.listen, read(cert)?, read(key)?);
    stack_config.trusted_ca_pem = read(&ca_path)?;
    stack_config.local_user = sip.local_user.clone();
    stack_config.advertised_ip = Some(media_announce);
    stack_config.trunk_transport = trunk_transport(sip)?;
    stack_config.allowed_sources = trunk_sources(sip).await?;
    match stack_config.trunk_transport {
        TrunkTransport::Tls => {}
        TrunkTransport::Tcp => stack_config.tcp_listen = Some(sip.plain_listen),
        TrunkTransport::Udp => stack_config.udp_listen = Some(sip.plain_listen),
    }
    let stack = RsipStack::start(stack_config)
        .await
        .map_err(|e| format!("sip: {e}"))?;
    let trunk = Peer::new(sip.trunk_host.clone(), sip.trunk_port);
    let credentials = (!sip.username.is_empty())
        .then(|| Credentials::new(sip.username.clone(), sip.password.clone()));
    if sip.register {
        let Some(credentials) = &credentials else {
            return Err("sip.register needs sip.username and sip.password".into());
        };
        stack
            .register(&trunk, credentials, sip.register_secs)
            .await
            .map_err(|e| format!("sip: REGISTER at the trunk: {e}"))?;
        info!("registered at the SIP trunk");
    }
    let phone = PhoneConfig {
        trunk,
        credentials,
        allowed_numbers: sip.allowed_numbers.clone(),
        media_bind: config.media.bind_ip,
        media_announce,
        unencrypted: sip.unencrypted_trunk,
        dial_in: dial_in(sip),
        codecs: codecs(&sip.codecs)?,
        media_timeout: Duration::from_secs(sip.media_timeout_secs.clamp(5, 3_600)),
    };
    let secret = audit_secret(&config.server.data_dir)?;
    let service = PhoneService::new(stack, phone, &secret)?;
    info!(listen = %sip.listen, unencrypted = sip.unencrypted_trunk, "telephone trunk configured");
    Ok(Some(service))
}

/// The trunk transport as configured. R1: plain TCP or UDP only for a trunk marked
/// unencrypted, which every participant is then shown.
fn trunk_transport(sip: &SipSection) -> Result<TrunkTransport, String> {
    let transport = TrunkTransport::parse(&sip.trunk_transport).ok_or_else(|| {
        format!(
            "sip.trunk_transport: {:?} is none of tls, tcp, udp",
            sip.trunk_transport
        )
    })?;
    if transport != TrunkTransport::Tls && !sip.unencrypted_trunk {
        return Err(format!(
            "sip.trunk_transport = \"{}\" carries numbers in the clear: R1 allows it only \
             with sip.unencrypted_trunk = true",
            transport.name()
        ));
    }
    Ok(transport)
}

/// Where requests may come from: as configured, or the trunk's own addresses.
async fn trunk_sources(sip: &SipSection) -> Result<Vec<SourceNet>, String> {
    if sip.trunk_sources.is_empty() {
        let resolved = tokio::net::lookup_host((sip.trunk_host.as_str(), sip.trunk_port))
            .await
            .map_err(|e| format!("sip.trunk_host {:?} does not resolve: {e}", sip.trunk_host))?;
        let sources: Vec<SourceNet> = resolved.map(|a| SourceNet::host(a.ip())).collect();
        info!(
            addresses = sources.len(),
            "SIP requests taken only from the trunk's addresses (sip.trunk_sources)"
        );
        return Ok(sources);
    }
    sip.trunk_sources
        .iter()
        .map(|s| {
            SourceNet::parse(s).ok_or_else(|| {
                format!("sip.trunk_sources: {s:?} is not an address or a network (10.0.0.0/8)")
            })
        })
        .collect()
}

/// The codec preference as configured; an unknown name or an empty list is an error.
fn codecs(names: &[String]) -> Result<Vec<Codec>, String> {
    let all = [Codec::G722, Codec::Pcma, Codec::Pcmu];
    let codecs = names
        .iter()
        .map(|n| {
            all.into_iter()
                .find(|c| c.name().eq_ignore_ascii_case(n.trim()))
                .ok_or_else(|| format!("sip.codecs: {n:?} is none of G722, PCMA, PCMU"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if codecs.is_empty() {
        return Err("sip.codecs: at least one codec".into());
    }
    Ok(codecs)
}

/// Dial-in as configured: on when `dial_in_number` is set.
fn dial_in(sip: &SipSection) -> Option<DialInConfig> {
    if sip.dial_in_number.trim().is_empty() {
        return None;
    }
    let rate = |tries, minutes: u64| Rate {
        tries,
        window: Duration::from_secs(60 * minutes),
    };
    Some(DialInConfig {
        number: sip.dial_in_number.trim().to_owned(),
        pin_digits: sip.pin_digits,
        policy: PinPolicy {
            per_call: sip.pin_tries_per_call,
            per_caller: rate(sip.pin_tries_per_caller, 30),
            per_meeting: rate(sip.pin_tries_per_number, 10),
        },
        max_calls: sip.max_dial_in_calls.clamp(1, 1_000),
    })
}

/// The key that hashes numbers in the audit trail: made once, kept in the data directory, so
/// that an auditor can tell two calls to one number apart from calls to two.
fn audit_secret(data_dir: &Path) -> Result<Vec<u8>, String> {
    let path = data_dir.join("phone-audit.key");
    if let Ok(secret) = std::fs::read(&path) {
        if secret.len() == 32 {
            return Ok(secret);
        }
        return Err(format!("{}: not a 32-byte key", path.display()));
    }
    let mut secret = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    crate::tls::write_private(&path, &secret)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sources_are_the_trunks_own_addresses_unless_configured() {
        let mut sip = SipSection {
            trunk_host: "127.0.0.1".into(),
            ..SipSection::default()
        };
        let own = trunk_sources(&sip).await.unwrap();
        assert_eq!(own, vec![SourceNet::host("127.0.0.1".parse().unwrap())]);
        sip.trunk_sources = vec!["10.20.0.0/16".into(), "192.0.2.1".into()];
        assert_eq!(trunk_sources(&sip).await.unwrap().len(), 2);
        sip.trunk_sources = vec!["sbc.example".into()];
        let refused = trunk_sources(&sip).await.expect_err("not a network");
        assert!(refused.contains("sip.trunk_sources"), "{refused}");
    }

    #[test]
    fn a_plain_trunk_transport_needs_the_unencrypted_marking() {
        let mut sip = SipSection {
            trunk_transport: "udp".into(),
            ..SipSection::default()
        };
        let refused = trunk_transport(&sip).expect_err("R1");
        assert!(refused.contains("unencrypted_trunk"), "{refused}");
        sip.unencrypted_trunk = true;
        assert_eq!(trunk_transport(&sip), Ok(TrunkTransport::Udp));
        sip.trunk_transport = "ws".into();
        assert!(trunk_transport(&sip).is_err());
        assert_eq!(
            trunk_transport(&SipSection::default()),
            Ok(TrunkTransport::Tls)
        );
    }
}

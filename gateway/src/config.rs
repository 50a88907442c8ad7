//! The one configuration: a TOML file with a section per subsystem, defaults in code, and
//! environment overrides `SLUSS_<SECTION>__<KEY>` (for example `SLUSS_MEDIA__PORT=41000`);
//! any text key may come from a file (`<key>_file`, `SLUSS_<SECTION>__<KEY>_FILE`).
//! `deploy/sluss.toml` documents every key; a test parses it.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerSection,
    pub media: MediaSection,
    pub meetings: MeetingsSection,
    pub store: StoreSection,
    pub audit: AuditSection,
    /// R2: staff login through an OpenID Connect provider. Off while `issuer` is empty.
    pub staff_oidc: OidcSection,
    /// R5: citizens' e-identification before meetings that require it. Off while `issuer` is
    /// empty.
    pub citizen_eid: OidcSection,
    /// An external TURN server (coturn) for networks that block UDP. Off while `urls` is empty.
    pub turn: TurnSection,
    /// Abuse limits on the unauthenticated endpoints and the audit tally.
    pub limits: LimitsSection,
    /// R14: the telephone trunk. Off while `trunk_host` is empty.
    pub sip: crate::sip::SipSection,
    /// Monitoring: `/metrics`, `/healthz` and `/readyz` on their own address.
    pub ops: OpsSection,
    /// Signed webhooks for booking and journal systems.
    pub webhooks: webhooks::WebhooksSection,
    pub log: LogSection,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsSection {
    /// Plain HTTP, unauthenticated: loopback or a monitoring network only. Empty turns it off.
    pub listen: String,
}

impl Default for OpsSection {
    fn default() -> Self {
        OpsSection {
            listen: "127.0.0.1:9464".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Requests per minute one address may make to one group of unauthenticated endpoints
    /// (login, enrolment, link inspection, e-identification, identity-provider login).
    pub per_address_per_minute: u32,
    /// Requests one address may make at once before the per-minute rate applies.
    pub per_address_burst: u32,
    /// Addresses the rate limiter remembers.
    pub rate_table_size: usize,
    /// Password hashes computed at the same time.
    pub hash_concurrency: usize,
    /// How long a login waits for a hashing slot before it is told the server is busy.
    pub hash_wait_ms: u64,
    /// Wrong logins from one address for one account before it must wait.
    pub lockout_free_failures: u32,
    /// The first wait, doubled for each further failure up to `lockout_max_secs`.
    pub lockout_base_secs: u64,
    pub lockout_max_secs: u64,
    /// After this long without a failure, the count starts over.
    pub lockout_forget_secs: u64,
    /// (address, account) pairs remembered.
    pub lockout_table_size: usize,
    /// Unfinished identity-provider logins or e-identifications per address.
    pub pending_per_address: usize,
    /// Unfinished identity-provider logins (and e-identifications) in all.
    pub pending_max: usize,
    /// Repeated audit events within this window become one entry with a count.
    pub audit_window_secs: u64,
    /// Distinct repeated events counted at once.
    pub audit_tally_size: usize,
}

impl Default for LimitsSection {
    fn default() -> Self {
        let d = sluss_signaling::limits::Limits::default();
        LimitsSection {
            per_address_per_minute: d.per_address_per_minute,
            per_address_burst: d.per_address_burst,
            rate_table_size: d.rate_table_size,
            hash_concurrency: d.hash_concurrency,
            hash_wait_ms: d.hash_wait.as_millis() as u64,
            lockout_free_failures: d.lockout.free_failures,
            lockout_base_secs: d.lockout.base_delay.as_secs(),
            lockout_max_secs: d.lockout.max_delay.as_secs(),
            lockout_forget_secs: d.lockout.forget_after.as_secs(),
            lockout_table_size: d.lockout.max_entries,
            pending_per_address: d.pending_per_address,
            pending_max: d.pending_max,
            audit_window_secs: d.audit_window.as_secs(),
            audit_tally_size: d.audit_tally_size,
        }
    }
}

impl LimitsSection {
    pub fn limits(&self) -> sluss_signaling::limits::Limits {
        use std::time::Duration;
        sluss_signaling::limits::Limits {
            per_address_per_minute: self.per_address_per_minute,
            per_address_burst: self.per_address_burst,
            rate_table_size: self.rate_table_size,
            hash_concurrency: self.hash_concurrency,
            hash_wait: Duration::from_millis(self.hash_wait_ms),
            lockout: sluss_signaling::limits::LockoutPolicy {
                free_failures: self.lockout_free_failures,
                base_delay: Duration::from_secs(self.lockout_base_secs),
                max_delay: Duration::from_secs(self.lockout_max_secs),
                forget_after: Duration::from_secs(self.lockout_forget_secs),
                max_entries: self.lockout_table_size,
            },
            pending_per_address: self.pending_per_address,
            pending_max: self.pending_max,
            audit_window: Duration::from_secs(self.audit_window_secs),
            audit_tally_size: self.audit_tally_size,
        }
    }

    fn check(&self) -> Result<(), String> {
        let at_least_one = [
            ("per_address_per_minute", self.per_address_per_minute as u64),
            ("per_address_burst", self.per_address_burst as u64),
            ("rate_table_size", self.rate_table_size as u64),
            ("hash_concurrency", self.hash_concurrency as u64),
            ("lockout_table_size", self.lockout_table_size as u64),
            ("pending_per_address", self.pending_per_address as u64),
            ("pending_max", self.pending_max as u64),
            ("audit_window_secs", self.audit_window_secs),
            ("audit_tally_size", self.audit_tally_size as u64),
        ];
        match at_least_one.iter().find(|(_, v)| *v == 0) {
            Some((name, _)) => Err(format!("limits.{name} must be at least 1")),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TurnSection {
    /// `turn:` / `turns:` URLs handed to browsers.
    pub urls: Vec<String>,
    /// coturn's `static-auth-secret`; better from `SLUSS_TURN__SHARED_SECRET`. `check-config`
    /// prints it redacted.
    #[serde(serialize_with = "redacted")]
    pub shared_secret: String,
    /// How long a handed-out credential works.
    pub credential_ttl_secs: u64,
}

impl Default for TurnSection {
    fn default() -> Self {
        TurnSection {
            urls: Vec::new(),
            shared_secret: String::new(),
            credential_ttl_secs: 3600,
        }
    }
}

impl TurnSection {
    pub fn server(&self) -> Option<sluss_signaling::turn::TurnConfig> {
        (!self.urls.is_empty()).then(|| sluss_signaling::turn::TurnConfig {
            urls: self.urls.clone(),
            shared_secret: self.shared_secret.clone(),
            ttl: std::time::Duration::from_secs(self.credential_ttl_secs),
        })
    }
}

/// One OpenID Connect provider and Sluss's client there.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcSection {
    /// The issuer URL (discovery is at `<issuer>/.well-known/openid-configuration`); empty: off.
    pub issuer: String,
    pub client_id: String,
    /// Better set from the environment: `SLUSS_STAFF_OIDC__CLIENT_SECRET`. `check-config`
    /// prints it redacted.
    #[serde(serialize_with = "redacted")]
    pub client_secret: String,
    /// Scopes besides `openid`.
    pub scopes: Vec<String>,
    /// Accepted assurance levels (`acr`); anything else is refused.
    pub allowed_acr: Vec<String>,
    /// The claim with the roles `staff`, `admin`, `auditor` (an array or a space-separated
    /// string; a dotted name walks into nested objects).
    pub roles_claim: String,
    pub name_claim: String,
    /// The claim with the personal identity number (citizen e-identification).
    pub personal_number_claim: String,
    /// A PEM file of CA certificates to trust for this provider besides the public roots
    /// (a region's own CA); empty: the public roots only.
    pub ca_bundle: String,
}

/// A CA bundle larger than this is refused (a few hundred certificates).
const MAX_CA_BUNDLE_BYTES: u64 = 1024 * 1024;

impl Default for OidcSection {
    fn default() -> Self {
        OidcSection {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            scopes: vec!["profile".into()],
            allowed_acr: sluss_signaling::oidc::claims::DEFAULT_ALLOWED_ACR
                .iter()
                .map(|s| s.to_string())
                .collect(),
            roles_claim: "roles".into(),
            name_claim: "name".into(),
            personal_number_claim: "https://id.oidc.se/claim/personalIdentityNumber".into(),
            ca_bundle: String::new(),
        }
    }
}

impl OidcSection {
    /// The provider, when one is configured.
    pub fn provider(&self) -> Option<sluss_signaling::oidc::OidcConfig> {
        if self.issuer.is_empty() {
            return None;
        }
        Some(sluss_signaling::oidc::OidcConfig {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            client_secret: (!self.client_secret.is_empty()).then(|| self.client_secret.clone()),
            scopes: self.scopes.clone(),
            allowed_acr: self.allowed_acr.clone(),
            roles_claim: self.roles_claim.clone(),
            name_claim: self.name_claim.clone(),
            personal_number_claim: self.personal_number_claim.clone(),
            ca_certs: self.ca_certs().unwrap_or_default(),
        })
    }

    /// The certificates of `ca_bundle` (a path, or PEM text from `ca_bundle_file`), in DER.
    pub fn ca_certs(&self) -> Result<Vec<Vec<u8>>, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let bundle = self.ca_bundle.trim();
        if bundle.is_empty() {
            return Ok(Vec::new());
        }
        let pem = if bundle.starts_with("-----BEGIN") {
            bundle.as_bytes().to_vec()
        } else {
            let size = std::fs::metadata(bundle)
                .map_err(|e| format!("ca_bundle {bundle}: {e}"))?
                .len();
            if size > MAX_CA_BUNDLE_BYTES {
                return Err(format!("ca_bundle {bundle}: larger than 1 MB"));
            }
            std::fs::read(bundle).map_err(|e| format!("ca_bundle {bundle}: {e}"))?
        };
        let certs = CertificateDer::pem_slice_iter(&pem)
            .map(|c| c.map(|c| c.as_ref().to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("ca_bundle {bundle}: not PEM certificates ({e})"))?;
        if certs.is_empty() {
            return Err(format!("ca_bundle {bundle}: no certificate in it"));
        }
        Ok(certs)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSection {
    /// How long audit entries are kept (R15); older ones are removed daily, and each removal
    /// is itself recorded.
    pub retention_days: u64,
}

impl Default for AuditSection {
    fn default() -> Self {
        AuditSection {
            retention_days: 5 * 365,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    pub listen: SocketAddr,
    /// Plain HTTP that only redirects to HTTPS; empty to turn it off.
    pub http_redirect_listen: String,
    /// The origin put in links; defaults to `https://localhost:<listen port>`.
    pub public_url: String,
    pub data_dir: PathBuf,
    /// PEM certificate chain and key; when both are empty a self-signed pair is made in
    /// `<data_dir>/tls/` on first start and kept.
    pub tls_cert: String,
    pub tls_key: String,
    pub session_ttl_hours: u64,
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaSection {
    pub bind_ip: IpAddr,
    pub port: u16,
    pub workers: usize,
    /// The address browsers send media to; empty means "the one they loaded the page from".
    pub announce_ip: String,
    pub consent_timeout_secs: u64,
    /// recvmmsg/sendmmsg: many datagrams per system call. Off only to compare.
    pub batched_io: bool,
    /// ICE over TCP on the same port numbers, for networks that block UDP.
    pub ice_tcp: bool,
    /// ICE-TCP connections one worker holds in all, and from one address (an IPv6 /64).
    pub ice_tcp_max_connections: usize,
    pub ice_tcp_per_address: usize,
    /// Where each subscriber's downlink estimate starts, in kbit/s; 0 turns estimation off.
    pub start_bitrate_kbps: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeetingsSection {
    pub max_participants: usize,
    pub reconnect_grace_secs: u64,
    /// How long a new invitation link works.
    pub link_ttl_days: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// SQLite file; relative paths are under `server.data_dir`.
    pub sqlite_path: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// A tracing filter, e.g. `info` or `info,sluss_relay=debug`.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            http_redirect_listen: "0.0.0.0:8080".into(),
            public_url: String::new(),
            data_dir: PathBuf::from("./data"),
            tls_cert: String::new(),
            tls_key: String::new(),
            session_ttl_hours: 12,
            shutdown_grace_secs: 10,
        }
    }
}

impl Default for MediaSection {
    fn default() -> Self {
        MediaSection {
            bind_ip: IpAddr::from([0, 0, 0, 0]),
            port: 40000,
            workers: 0,
            announce_ip: String::new(),
            consent_timeout_secs: 30,
            batched_io: true,
            ice_tcp: true,
            ice_tcp_max_connections: 2000,
            ice_tcp_per_address: 100,
            start_bitrate_kbps: 1000,
        }
    }
}

impl Default for MeetingsSection {
    fn default() -> Self {
        MeetingsSection {
            max_participants: 50,
            reconnect_grace_secs: 60,
            link_ttl_days: 30,
        }
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            sqlite_path: PathBuf::from("sluss.db"),
        }
    }
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

#[derive(Debug)]
pub enum ConfigError {
    Read(PathBuf, std::io::Error),
    Parse(String),
    Invalid(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Read(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            ConfigError::Parse(e) => write!(f, "configuration: {e}"),
            ConfigError::Invalid(e) => write!(f, "configuration: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the file (if any), applies environment overrides and checks the result.
    pub fn load(
        path: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let text = match path {
            Some(p) => {
                std::fs::read_to_string(p).map_err(|e| ConfigError::Read(p.to_owned(), e))?
            }
            None => String::new(),
        };
        Config::parse(&text, env)
    }

    pub fn parse(
        text: &str,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse(e.to_string()))?;
        // What each key is by default: a value for a string key stays a string (a password
        // or an account of digits must not turn into a number, nor lose a leading zero).
        let defaults = toml::Table::try_from(Config::default()).unwrap_or_default();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("SLUSS_") else {
                continue;
            };
            let Some((section, key)) = rest.split_once("__") else {
                continue;
            };
            let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
            // `<key>_file` names a path: text too, even when it looks like a number.
            let string_key = key.ends_with("_file")
                || defaults
                    .get(&section)
                    .and_then(|s| s.get(&key))
                    .is_some_and(toml::Value::is_str);
            let value = if string_key {
                toml::Value::String(value)
            } else {
                typed_value(&value)
            };
            let section = table
                .entry(section)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(section) = section.as_table_mut() else {
                return Err(ConfigError::Invalid(format!("{name}: not a section")));
            };
            section.insert(key, value);
        }
        read_secret_files(&mut table, &defaults)?;
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.tls_files().is_none()
            && (!self.server.tls_cert.is_empty() || !self.server.tls_key.is_empty())
        {
            return Err(ConfigError::Invalid(
                "server.tls_cert and server.tls_key go together".into(),
            ));
        }
        if !self.media.announce_ip.is_empty() && self.announce_ip().is_none() {
            return Err(ConfigError::Invalid(
                "media.announce_ip is not an IP address".into(),
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid("log.format is text or json".into()));
        }
        self.webhooks.endpoints().map_err(ConfigError::Invalid)?;
        let ops = self.ops.listen.trim();
        if !ops.is_empty() && ops.parse::<SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "ops.listen {ops:?} is not an address such as 127.0.0.1:9464 (empty turns it off)"
            )));
        }
        if self.media.port == 0 {
            return Err(ConfigError::Invalid("media.port must be set".into()));
        }
        if self.media.ice_tcp_max_connections == 0 || self.media.ice_tcp_per_address == 0 {
            return Err(ConfigError::Invalid(
                "media.ice_tcp_max_connections and ice_tcp_per_address must be at least 1".into(),
            ));
        }
        if self.audit.retention_days == 0 {
            return Err(ConfigError::Invalid(
                "audit.retention_days must be at least 1".into(),
            ));
        }
        for (name, section) in [
            ("staff_oidc", &self.staff_oidc),
            ("citizen_eid", &self.citizen_eid),
        ] {
            if let Some(provider) = section.provider() {
                provider
                    .check()
                    .map_err(|e| ConfigError::Invalid(format!("{name}.{e}")))?;
                section
                    .ca_certs()
                    .map_err(|e| ConfigError::Invalid(format!("{name}.{e}")))?;
            }
        }
        if !self.turn.urls.is_empty() {
            if self.turn.shared_secret.is_empty() {
                return Err(ConfigError::Invalid(
                    "turn.shared_secret must be set when turn.urls is".into(),
                ));
            }
            if let Some(bad) = self
                .turn
                .urls
                .iter()
                .find(|u| !(u.starts_with("turn:") || u.starts_with("turns:")))
            {
                return Err(ConfigError::Invalid(format!(
                    "turn.urls: {bad:?} is not a turn: or turns: URL"
                )));
            }
            if self.turn.credential_ttl_secs == 0 {
                return Err(ConfigError::Invalid(
                    "turn.credential_ttl_secs must be at least 1".into(),
                ));
            }
        }
        self.limits.check().map_err(ConfigError::Invalid)?;
        if self.meetings.max_participants == 0 {
            return Err(ConfigError::Invalid(
                "meetings.max_participants must be at least 1".into(),
            ));
        }
        Ok(())
    }

    pub fn tls_files(&self) -> Option<(PathBuf, PathBuf)> {
        if self.server.tls_cert.is_empty() || self.server.tls_key.is_empty() {
            None
        } else {
            Some((
                self.server.tls_cert.clone().into(),
                self.server.tls_key.clone().into(),
            ))
        }
    }

    pub fn announce_ip(&self) -> Option<IpAddr> {
        self.media.announce_ip.parse().ok()
    }

    pub fn public_url(&self) -> String {
        if self.server.public_url.is_empty() {
            format!("https://localhost:{}", self.server.listen.port())
        } else {
            self.server.public_url.trim_end_matches('/').to_owned()
        }
    }

    /// What is wrong for a real deployment though the service runs: said loudly at start.
    /// A listener beyond loopback means people will use it: links must name a real https
    /// origin, and browsers must be able to trust the certificate.
    pub fn start_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Ok(ops) = self.ops.listen.parse::<SocketAddr>() {
            if !ops.ip().is_loopback() {
                warnings.push(format!(
                    "ops.listen {ops} is not loopback: /metrics answers anyone who reaches it \
                     (allow only the monitoring network to that port)"
                ));
            }
        }
        if self.server.listen.ip().is_loopback() {
            return warnings;
        }
        let url = self.server.public_url.trim();
        if url.is_empty() {
            warnings.push(format!(
                "server.public_url is empty: links will say {}, which nobody else can open",
                self.public_url()
            ));
        } else if !url.starts_with("https://") {
            warnings.push(format!(
                "server.public_url {url:?} is not https: links would send people to plain HTTP"
            ));
        }
        if self.tls_files().is_none() {
            warnings.push(
                "no server.tls_cert: a self-signed certificate serves a non-loopback address, \
                 and every browser will warn (set tls_cert and tls_key from your CA)"
                    .to_owned(),
            );
        }
        warnings
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.server.data_dir.join(&self.store.sqlite_path)
    }
}

/// `<key>_file = "/path"` (in the file, or `SLUSS_<SECTION>__<KEY>_FILE` in the environment,
/// as systemd credentials give them) for any string key: the key's value is the file's
/// contents, without the trailing newline.
fn read_secret_files(table: &mut toml::Table, defaults: &toml::Table) -> Result<(), ConfigError> {
    for (section_name, section) in table.iter_mut() {
        let Some(section) = section.as_table_mut() else {
            continue;
        };
        let files: Vec<(String, String)> = section
            .iter()
            .filter_map(|(k, v)| {
                Some((k.strip_suffix("_file")?.to_owned(), v.as_str()?.to_owned()))
            })
            .filter(|(key, _)| {
                defaults
                    .get(section_name)
                    .and_then(|s| s.get(key))
                    .is_some_and(toml::Value::is_str)
            })
            .collect();
        for (key, path) in files {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::Invalid(format!(
                    "{section_name}.{key}_file: cannot read {path}: {e}"
                ))
            })?;
            section.remove(&format!("{key}_file"));
            let value = text.strip_suffix('\n').unwrap_or(&text);
            section.insert(
                key,
                toml::Value::String(value.trim_end_matches('\r').to_owned()),
            );
        }
    }
    Ok(())
}

/// A secret as `check-config` prints it: whether it is set, never what it is.
pub(crate) fn redacted<S: serde::Serializer>(
    value: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(if value.is_empty() { "" } else { "[redacted]" })
}

/// An environment value as TOML when it parses as a scalar, else as a string.
fn typed_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !v.is_table())
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

#[cfg(test)]
mod tests;
pub mod webhooks;

//! Loading a Sluss that runs elsewhere: an operator's own installation, reached at its public
//! address like any browser, with the booking system's API token to make the meetings and a
//! staff account of the load test's own (made once with `sluss-loadtest enrol`) for the
//! synthetic participants.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// How the tool trusts the server's certificate.
pub struct Trust {
    /// Accept any certificate (the embedded self-signed default on a test machine).
    pub insecure: bool,
    /// A PEM file of the region's CA certificates, trusted besides the public roots.
    pub ca_file: Option<PathBuf>,
}

impl Trust {
    /// One TLS client configuration for the HTTP API and the WebSockets.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        if self.insecure {
            return Ok(crate::participant::loopback_tls());
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &self.ca_file {
            use rustls::pki_types::pem::PemObject;
            use rustls::pki_types::CertificateDer;
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("{}: no PEM certificate in it", path.display()));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    pub fn http(&self) -> Result<reqwest::Client, String> {
        let config = Arc::unwrap_or_clone(self.client_config()?);
        reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())
    }
}

/// The load test's staff account, as `sluss-loadtest enrol` saved it (mode 0600).
#[derive(Serialize, Deserialize)]
pub struct StaffCredentials {
    pub username: String,
    pub password: String,
    /// The TOTP secret, base32, as the enrolment gave it.
    pub totp_secret: String,
}

impl StaffCredentials {
    pub fn load(path: &Path) -> Result<StaffCredentials, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn save(&self, path: &Path) -> Result<(), String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        file.write_all(text.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The current TOTP code for a base32 secret.
pub fn totp_code(secret: &str) -> Result<String, String> {
    let key = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret)
        .ok_or("the TOTP secret is not base32")?;
    let totp = totp_rs::Builder::new()
        .with_secret(key)
        .build()
        .map_err(|e| format!("{e:?}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(totp.generate(now).to_string())
}

/// The session cookie a `Set-Cookie` of a successful login or enrolment carries.
fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sluss_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// Enrols an account from its one-time link's token (begin, then a password and the current
/// code): the first administrator of a local run, or the load test's staff account. Returns
/// the session cookie and the TOTP secret.
pub async fn enrol(
    http: &reqwest::Client,
    origin: &str,
    token: &str,
    username: &str,
    password: &str,
) -> Result<(String, String), String> {
    let begin = http
        .post(format!("{origin}/api/v1/enroll/begin"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !begin.status().is_success() {
        return Err(format!(
            "the enrolment link was refused ({}): used, expired or mistyped",
            begin.status()
        ));
    }
    let begin: serde_json::Value = begin.json().await.map_err(|e| e.to_string())?;
    let secret = begin["secret"].as_str().ok_or("no TOTP secret")?.to_owned();
    let r = http
        .post(format!("{origin}/api/v1/enroll/complete"))
        .json(
            &json!({ "token": token, "username": username, "display_name": "Lasttest",
                       "password": password, "code": totp_code(&secret)? }),
        )
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("enrolment refused: {}", r.status()));
    }
    let cookie = session_cookie(&r).ok_or("no session cookie")?;
    Ok((cookie, secret))
}

/// `sluss-loadtest enrol`: makes the load test's staff account from the link
/// `sluss staff invite` printed, and saves its credentials.
pub async fn enrol_and_save(
    origin: &str,
    link: &str,
    username: &str,
    save: &Path,
    trust: &Trust,
) -> Result<(), String> {
    if save.exists() {
        return Err(format!("{} exists already", save.display()));
    }
    let token = link.rsplit_once('#').map_or(link, |(_, t)| t);
    let mut bytes = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut bytes);
    let password = base32::encode(base32::Alphabet::Rfc4648 { padding: false }, &bytes);
    let http = trust.http()?;
    let (_, secret) = enrol(&http, origin, token, username, &password).await?;
    StaffCredentials {
        username: username.to_owned(),
        password,
        totp_secret: secret,
    }
    .save(save)
}

/// Logs the load test's staff account in; returns the session cookie.
pub async fn login(
    http: &reqwest::Client,
    origin: &str,
    staff: &StaffCredentials,
) -> Result<String, String> {
    let r = http
        .post(format!("{origin}/api/v1/login"))
        .json(
            &json!({ "username": staff.username, "password": staff.password,
                       "code": totp_code(&staff.totp_secret)? }),
        )
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        return Err(format!(
            "the staff login was refused ({status}): {body} (a code works once: wait 30 s between runs)"
        ));
    }
    session_cookie(&r).ok_or_else(|| "no session cookie".into())
}

/// The address the synthetic participants send media from: the local address the system
/// routes toward `host` (loopback for a local server).
pub fn local_ip_toward(host: &str) -> Result<std::net::IpAddr, String> {
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    socket
        .connect((name, 9))
        .map_err(|e| format!("{name}: {e}"))?;
    socket
        .local_addr()
        .map(|a| a.ip())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_saved_for_the_owner_only_and_never_over_another_file() {
        let dir = std::env::temp_dir().join(format!("loadtest-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("staff.json");
        let _ = std::fs::remove_file(&path);
        let creds = StaffCredentials {
            username: "lasttest".into(),
            password: "p".into(),
            totp_secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
        };
        creds.save(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(creds.save(&path).is_err());
        assert_eq!(StaffCredentials::load(&path).unwrap().username, "lasttest");
        assert_eq!(totp_code(&creds.totp_secret).unwrap().len(), 6);
        assert!(totp_code("not base32!").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_local_server_is_reached_from_loopback() {
        assert!(local_ip_toward("127.0.0.1:8443").unwrap().is_loopback());
        assert!(local_ip_toward("localhost").unwrap().is_loopback());
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let path = std::env::temp_dir().join(format!("loadtest-ca-{}", std::process::id()));
        std::fs::write(&path, "not a certificate").unwrap();
        let trust = Trust {
            insecure: false,
            ca_file: Some(path.clone()),
        };
        assert!(trust.client_config().is_err());
        let _ = std::fs::remove_file(&path);
    }
}

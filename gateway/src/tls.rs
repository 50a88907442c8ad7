//! The HTTPS certificate: the operator's files, or a self-signed one made once and kept.

use std::path::{Path, PathBuf};

use axum_server::tls_rustls::RustlsConfig;
use tracing::info;

use crate::config::Config;

/// The certificate and key files the HTTPS listener (and the SIP listener) use.
pub fn files(config: &Config) -> (PathBuf, PathBuf) {
    config.tls_files().unwrap_or_else(|| {
        let dir = config.server.data_dir.join("tls");
        (dir.join("cert.pem"), dir.join("key.pem"))
    })
}

pub async fn load_or_create(
    config: &Config,
) -> Result<RustlsConfig, Box<dyn std::error::Error + Send + Sync>> {
    let (cert, key) = files(config);
    if config.tls_files().is_none() && (!cert.exists() || !key.exists()) {
        let dir = config.server.data_dir.join("tls");
        create_self_signed(&dir, &cert, &key, &config.public_url())?;
        info!(path = %cert.display(), "made a self-signed certificate");
    }
    RustlsConfig::from_pem_file(&cert, &key).await.map_err(|e| {
        format!(
            "cannot load TLS certificate {} / key {}: {e}",
            cert.display(),
            key.display()
        )
        .into()
    })
}

fn create_self_signed(
    dir: &Path,
    cert_path: &Path,
    key_path: &Path,
    public_url: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Some(host) = public_url
        .strip_prefix("https://")
        .and_then(|rest| rest.split(['/', ':']).next())
        .filter(|h| !h.is_empty() && !names.iter().any(|n| n == h))
    {
        names.push(host.to_owned());
    }
    let certified = rcgen::generate_simple_self_signed(names)?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(cert_path, certified.cert.pem())?;
    write_private(key_path, certified.key_pair.serialize_pem().as_bytes())?;
    Ok(())
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

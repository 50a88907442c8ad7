//! What the service does for the people who run it: the operations listener, the TLS
//! certificate's reload and expiry, the hourly check of the audit chain, and systemd's
//! readiness notification.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use sluss_signaling::store::{ChainCheck, Store};
use sluss_signaling::{AppState, Metrics};
use tracing::{error, info, warn};

/// How often the running service walks the audit chain (R15); `sluss audit verify` does the
/// same on demand.
const CHAIN_CHECK_EVERY: Duration = Duration::from_secs(3600);

/// Serves `/metrics`, `/healthz` and `/readyz` on `listen` (plain HTTP) until the handle
/// stops. An empty address turns it off.
pub async fn serve_listener(
    listen: &str,
    state: AppState,
    handle: axum_server::Handle,
) -> Result<Option<tokio::task::JoinHandle<std::io::Result<()>>>, String> {
    let listen = listen.trim();
    if listen.is_empty() {
        return Ok(None);
    }
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| format!("ops.listen {listen:?} is not an address"))?;
    // Bound here, so that a taken port stops the start with a clear error.
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| format!("cannot listen on ops.listen {addr}: {e}"))?;
    let app = sluss_signaling::ops_app(state);
    let server = axum_server::from_tcp(listener)
        .handle(handle)
        .serve(app.into_make_service());
    info!(%addr, "operations listener (/metrics, /healthz, /readyz)");
    Ok(Some(tokio::spawn(server)))
}

/// When the first certificate in a PEM file stops being valid, in Unix seconds.
pub fn certificate_expiry(cert: &Path) -> Option<i64> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let first = CertificateDer::pem_file_iter(cert).ok()?.next()?.ok()?;
    let (_, parsed) = x509_parser::parse_x509_certificate(first.as_ref()).ok()?;
    Some(parsed.validity().not_after.timestamp())
}

/// Reloads the certificate and key from their files on SIGHUP (`systemctl reload sluss`):
/// new connections get the new pair, open ones keep theirs. A pair that does not load is
/// logged and the old one stays.
pub fn reload_on_hangup(tls: RustlsConfig, cert: PathBuf, key: PathBuf, metrics: Arc<Metrics>) {
    tokio::spawn(async move {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hangups.recv().await.is_some() {
            notify("RELOADING=1");
            match tls.reload_from_pem_file(&cert, &key).await {
                Ok(()) => {
                    let expiry = certificate_expiry(&cert);
                    if let Some(at) = expiry {
                        metrics.certificate_expiry.set(at);
                    }
                    info!(path = %cert.display(), expires = ?expiry, "TLS certificate reloaded");
                }
                Err(e) => error!(
                    path = %cert.display(),
                    error = %e,
                    "TLS certificate not reloaded; the previous one is still served"
                ),
            }
            notify("READY=1");
        }
    });
}

/// Walks the audit chain now and every hour; a break is an error in the log and
/// `sluss_audit_chain_valid 0` (an alert rule watches it).
pub fn check_audit_chain(store: Store, metrics: Arc<Metrics>) {
    tokio::spawn(async move {
        loop {
            match store.verify_audit_chain().await {
                Ok(ChainCheck::Intact { .. }) => metrics.audit_chain_valid.set(1),
                Ok(ChainCheck::BrokenAt { seq }) => {
                    metrics.audit_chain_valid.set(0);
                    error!(seq, "the audit trail's hash chain is broken at this entry");
                }
                Err(e) => warn!(error = %e, "audit chain check could not read the trail"),
            }
            metrics.audit_chain_checked.set(sluss_signaling::unix_now());
            tokio::time::sleep(CHAIN_CHECK_EVERY).await;
        }
    });
}

/// Tells systemd (`Type=notify`) how the service is: `READY=1` once it listens,
/// `STOPPING=1`, `RELOADING=1`. Nothing without `NOTIFY_SOCKET`.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send_notification(&path, state) {
        warn!(error = %e, "cannot notify systemd");
    }
}

fn send_notification(path: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr as UnixAddr, UnixDatagram};
    let socket = UnixDatagram::unbound()?;
    let bytes = path.as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            UnixAddr::from_abstract_name(name)?
        }
        None => UnixAddr::from_pathname(path)?,
    };
    socket.send_to_addr(state.as_bytes(), &addr)?;
    Ok(())
}

//! `sluss`: process wiring only. Reads the configuration, makes or loads the TLS certificate,
//! opens the store, starts the media workers and the HTTPS server, and stops them in order.

mod audit;
mod backup;
mod config;
mod ops;
mod sip;
mod staff;
mod state;
mod tls;
mod tokens;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sluss_meeting::MeetingConfig;
use sluss_net::{Media, MediaConfig};
use sluss_relay::RelayConfig;
use sluss_signaling::secret::Secret;
use sluss_signaling::{AppState, SignalingConfig, Store};
use tracing::{error, info, warn};

use crate::config::Config;

pub(crate) use self::AuditCmd as AuditCommand;
pub(crate) use self::BackupCmd as BackupCommand;
pub(crate) use self::StaffCmd as StaffCommand;
pub(crate) use self::TokenCmd as TokenCommand;

/// Sluss: a self-hosted secure meeting gateway for health and social care.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the service (the default).
    Serve {
        /// The TOML configuration file; see deploy/sluss.toml.
        #[arg(long, env = "SLUSS_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Check a configuration file and print the result with defaults filled in.
    CheckConfig {
        #[arg(long, env = "SLUSS_CONFIG")]
        config: Option<PathBuf>,
    },
    /// API tokens for booking systems (R16).
    ApiToken {
        #[arg(long, env = "SLUSS_CONFIG", global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: TokenCmd,
    },
    /// Staff accounts: list, invite, disable, enable, unlock, change roles, reset a lost
    /// authenticator. Every change is recorded in the audit trail.
    Staff {
        #[arg(long, env = "SLUSS_CONFIG", global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: StaffCmd,
    },
    /// Back up the data directory (while the service runs), or restore a backup into an
    /// empty data directory.
    Backup {
        #[arg(long, env = "SLUSS_CONFIG", global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: BackupCmd,
    },
    /// The audit trail (R15): verify its hash chain, or export entries. Every export is itself
    /// recorded in the trail.
    Audit {
        #[arg(long, env = "SLUSS_CONFIG", global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: AuditCmd,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Make a token for a booking system; it is printed once and only its hash is kept.
    Create {
        /// What the token is for, e.g. the booking system's name.
        #[arg(long)]
        name: String,
        /// meetings:write and/or invitations:write (repeat the flag).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// Revoke a token by its id.
    Revoke {
        #[arg(long)]
        id: String,
    },
    /// List the tokens: id, name, scopes, when made, whether revoked (never a token).
    List,
}

impl Cmd {
    /// `--config` (or `SLUSS_CONFIG`), which every command takes alike.
    fn config_path(&self) -> Option<PathBuf> {
        match self {
            Cmd::Serve { config }
            | Cmd::CheckConfig { config }
            | Cmd::ApiToken { config, .. }
            | Cmd::Staff { config, .. }
            | Cmd::Backup { config, .. }
            | Cmd::Audit { config, .. } => config.clone(),
        }
    }
}

#[derive(Subcommand)]
enum StaffCmd {
    /// Every account: id, username, roles, state, created, last login, name.
    List,
    /// A one-time enrolment link for a new account (also the break-glass path: an
    /// administrator when none can log in).
    Invite {
        #[arg(long)]
        username: String,
        /// The person's name as the meetings show it.
        #[arg(long)]
        name: String,
        /// staff, admin and/or auditor (repeat the flag).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Disable an account (by id or username): its sessions end at once.
    Disable {
        #[arg(long)]
        user: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        user: String,
    },
    /// Lift a lockout after failed logins.
    Unlock {
        #[arg(long)]
        user: String,
    },
    /// Give an account these roles (its sessions end; it logs in again with them).
    SetRoles {
        #[arg(long)]
        user: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// A one-time link with which the person sets a new password and authenticator.
    ResetAuthenticator {
        #[arg(long)]
        user: String,
    },
}

#[derive(Subcommand)]
enum BackupCmd {
    /// A consistent copy of the database and the rest of the state, with a MANIFEST of
    /// SHA-256 sums, into a new directory.
    Create {
        #[arg(long)]
        to: PathBuf,
    },
    /// Put a backup into the configured data directory (which must have no database), check
    /// every file against the MANIFEST and walk the audit chain.
    Restore {
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Walk the whole chain; exit 1 if any entry was changed, inserted or removed.
    Verify,
    /// Print entries as JSON lines or CSV.
    Export {
        /// Only this meeting.
        #[arg(long)]
        meeting: Option<String>,
        /// Only entries where this participant acted or was acted on.
        #[arg(long)]
        person: Option<String>,
        /// From this Unix time (seconds).
        #[arg(long)]
        from: Option<i64>,
        /// Up to this Unix time (seconds).
        #[arg(long)]
        to: Option<i64>,
        /// json or csv.
        #[arg(long, default_value = "json")]
        format: String,
        /// Who is reading, for the record (an auditor's name or id).
        #[arg(long)]
        reader: String,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config_path = cli.command.as_ref().and_then(Cmd::config_path);
    let command = cli.command;
    let config = match Config::load(config_path.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sluss: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match command {
        Some(Cmd::CheckConfig { .. }) => {
            match toml::to_string_pretty(&config) {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("sluss: {e}"),
            }
            return std::process::ExitCode::SUCCESS;
        }
        Some(Cmd::Audit { command, .. }) => return audit::run(&config, command),
        Some(Cmd::ApiToken { command, .. }) => return tokens::run(&config, command),
        Some(Cmd::Staff { command, .. }) => return staff::run(&config, command),
        Some(Cmd::Backup { command, .. }) => return backup::run(&config, command),
        Some(Cmd::Serve { .. }) | None => {}
    }
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sluss: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            eprintln!("sluss: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    // The WebRTC stack's own debug output carries addresses; keep it quiet unless asked.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "str0m=warn,is=warn,dimpl=warn,{},{}",
            sluss_phone::sip::rsip::LOG_DIRECTIVE,
            config.log.level
        ))
    });
    // Colours only on a terminal: the journal and container logs get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if config.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn serve(config: Config) -> Result<(), BoxError> {
    for warning in config.start_warnings() {
        warn!("{warning}");
        eprintln!("sluss: WARNING: {warning}");
    }
    std::fs::create_dir_all(&config.server.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", config.server.data_dir.display()))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = tls::load_or_create(&config).await?;

    let store = Store::open(&config.sqlite_path()).await?;
    audit::start_retention(store.clone(), config.audit.retention_days);
    let public_url = config.public_url();
    let media = Arc::new(Media::start(&media_config(&config))?);

    let (cert, key) = tls::files(&config);
    let phone = sip::service(&config, &cert, &key).await?;

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let state = AppState::new(
        signaling_config(&config, phone),
        store.clone(),
        media.clone(),
        shutdown_rx,
    );
    let metrics = state.metrics().clone();
    if let Some(at) = ops::certificate_expiry(&cert) {
        metrics.certificate_expiry.set(at);
    }
    ops::reload_on_hangup(tls.clone(), cert, key, metrics.clone());
    ops::check_audit_chain(store.clone(), metrics);
    let app = sluss_signaling::app(state.clone());

    let handle = axum_server::Handle::new();
    let ops_handle = axum_server::Handle::new();
    let ops_listener =
        ops::serve_listener(&config.ops.listen, state.clone(), ops_handle.clone()).await?;
    let https = axum_server::bind_rustls(config.server.listen, tls)
        .handle(handle.clone())
        // The peer address: the rate limits and the login lockout key on it.
        .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>());
    let https = tokio::spawn(https);

    let redirect = if config.server.http_redirect_listen.is_empty() {
        None
    } else {
        let addr: std::net::SocketAddr = config
            .server
            .http_redirect_listen
            .parse()
            .map_err(|_| "server.http_redirect_listen is not an address")?;
        let app = redirect_app(public_url.clone(), config.server.listen.port());
        Some(tokio::spawn(
            axum_server::bind(addr)
                .handle(handle.clone())
                .serve(app.into_make_service()),
        ))
    };

    // Wait until both listeners are bound before saying we are up.
    let _ = handle.listening().await;
    info!(listen = %config.server.listen, media_port = config.media.port, "sluss is running");
    println!("Sluss is running at {public_url}");
    if !store.has_users().await? {
        // Nobody can log in yet: a one-time link to enrol the first administrator.
        let token = Secret::generate();
        let now = sluss_signaling::unix_now();
        store
            .reset_first_enrollment(&token.hash(), now, now + 7 * 24 * 3600)
            .await?;
        println!(
            "First-time setup (one-time link for the first administrator): {public_url}/setup#{}",
            token.expose()
        );
    }
    ops::notify("READY=1");

    shutdown_signal().await;
    info!("shutting down");
    ops::notify("STOPPING=1");
    // /readyz says "draining" from here, while the operations listener stays up.
    let _ = shutdown_tx.send(true);
    state.registry().shutdown();
    handle.graceful_shutdown(Some(Duration::from_secs(config.server.shutdown_grace_secs)));
    if let Ok(Err(e)) = https.await {
        error!(error = %e, "https server stopped with an error");
    }
    if let Some(r) = redirect {
        let _ = r.await;
    }
    ops_handle.shutdown();
    if let Some(o) = ops_listener {
        let _ = o.await;
    }
    media.shutdown();
    // Counted audit events still in their window are written before the store closes.
    if let Err(e) = state.audit_tally.flush().await {
        error!(error = %e, "audit tally: cannot write at shutdown");
    }
    store.close().await;
    info!("stopped");
    Ok(())
}

fn media_config(config: &Config) -> MediaConfig {
    MediaConfig {
        bind_ip: config.media.bind_ip,
        port: config.media.port,
        workers: config.media.workers,
        batched_io: config.media.batched_io,
        relay: RelayConfig {
            consent_timeout: Duration::from_secs(config.media.consent_timeout_secs),
            ice_tcp: config.media.ice_tcp,
            ice_tcp_max_connections: config.media.ice_tcp_max_connections,
            ice_tcp_per_address: config.media.ice_tcp_per_address,
            initial_bitrate: (config.media.start_bitrate_kbps > 0)
                .then_some(config.media.start_bitrate_kbps * 1000),
            ..RelayConfig::default()
        },
    }
}

fn signaling_config(
    config: &Config,
    phone: Option<Arc<sluss_signaling::phone::PhoneService>>,
) -> SignalingConfig {
    SignalingConfig {
        public_url: config.public_url(),
        announce_ip: config.announce_ip(),
        meeting: MeetingConfig {
            max_participants: config.meetings.max_participants,
            reconnect_grace: Duration::from_secs(config.meetings.reconnect_grace_secs),
        },
        session_ttl: Duration::from_secs(config.server.session_ttl_hours * 3600),
        link_ttl: Duration::from_secs(config.meetings.link_ttl_days * 24 * 3600),
        staff_oidc: config.staff_oidc.provider(),
        citizen_eid: config.citizen_eid.provider(),
        turn: config.turn.server(),
        limits: config.limits.limits(),
        phone,
        data_dir: Some(config.server.data_dir.clone()),
        // Checked when the configuration was loaded.
        webhooks: config.webhooks.endpoints().unwrap_or_default(),
    }
}

/// Every plain-HTTP request is answered with a redirect to the same path over HTTPS.
fn redirect_app(public_url: String, https_port: u16) -> axum::Router {
    use axum::http::{header, StatusCode, Uri};
    use axum::response::IntoResponse;
    axum::Router::new().fallback(move |headers: axum::http::HeaderMap, uri: Uri| {
        let public_url = public_url.clone();
        async move {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| {
                    let name = h.rsplit_once(':').map_or(h, |(n, _)| n);
                    let valid = !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || ".-[]:".contains(c));
                    valid.then(|| format!("https://{name}:{https_port}"))
                });
            let target = format!("{}{path}", host.unwrap_or(public_url));
            (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, target)]).into_response()
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

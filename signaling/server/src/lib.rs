//! The HTTPS and WebSocket front of Sluss: the pages, the REST API, signaling, the store and
//! metrics. It turns the meeting core's effects into media commands for the relay workers.
//!
//! [`app`] builds the axum router; the `sluss` binary serves it over TLS.

pub mod api;
mod error;
mod live;
mod metrics;
pub mod oidc;
mod pages;
pub mod secret;
mod staff;
pub mod store;
pub mod turn;
mod ws;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Router;
use sluss_meeting::MeetingConfig;
use sluss_net::Media;
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;

pub use live::Registry;
pub use metrics::Metrics;
pub use store::Store;

/// The largest REST body accepted.
const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct SignalingConfig {
    /// The origin links are made with, e.g. `https://meet.region.se`.
    pub public_url: String,
    /// The media address announced to browsers; when unset, the address the browser used for
    /// the page (from the Host header).
    pub announce_ip: Option<IpAddr>,
    pub meeting: MeetingConfig,
    pub session_ttl: Duration,
    /// How long a new invitation link works.
    pub link_ttl: Duration,
    /// R2: staff log in through this OpenID Connect provider (besides local accounts).
    pub staff_oidc: Option<oidc::OidcConfig>,
    /// R5: guests identify through this provider where a meeting requires it.
    pub citizen_eid: Option<oidc::OidcConfig>,
    /// An external TURN server for networks that block UDP to the gateway.
    pub turn: Option<turn::TurnConfig>,
}

pub struct Inner {
    config: SignalingConfig,
    store: Store,
    media: Arc<Media>,
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
    staff_rp: Option<oidc::RelyingParty<()>>,
    eid_rp: Option<oidc::RelyingParty<api::eid::EidStart>>,
    eid_proofs: api::eid::EidProofs,
}

/// Shared by every request handler.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        config: SignalingConfig,
        store: Store,
        media: Arc<Media>,
        shutdown: watch::Receiver<bool>,
    ) -> AppState {
        let metrics = Metrics::new();
        let registry = Registry::new(
            media.clone(),
            store.clone(),
            config.meeting.clone(),
            config.turn.clone(),
            metrics.clone(),
        );
        let base = config.public_url.trim_end_matches('/').to_owned();
        let staff_rp = config
            .staff_oidc
            .clone()
            .map(|c| oidc::RelyingParty::new(c, format!("{base}/auth/callback")));
        let eid_rp = config
            .citizen_eid
            .clone()
            .map(|c| oidc::RelyingParty::new(c, format!("{base}/auth/eid/callback")));
        AppState(Arc::new(Inner {
            staff_rp,
            eid_rp,
            eid_proofs: api::eid::EidProofs::default(),
            config,
            store,
            media,
            registry,
            metrics,
            shutdown,
        }))
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The address browsers should send media to.
    async fn announce_ip(&self, headers: &HeaderMap) -> IpAddr {
        if let Some(ip) = self.config.announce_ip {
            return ip;
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        host_ip(host).await
    }
}

/// The IP a Host header names: a literal, `localhost`, or the first IPv4 it resolves to.
async fn host_ip(host: &str) -> IpAddr {
    let loopback = IpAddr::from([127, 0, 0, 1]);
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ip;
    }
    if name.eq_ignore_ascii_case("localhost") {
        return loopback;
    }
    match tokio::net::lookup_host((name, 0)).await {
        Ok(addrs) => addrs
            .map(|a| a.ip())
            .find(IpAddr::is_ipv4)
            .unwrap_or(loopback),
        Err(_) => loopback,
    }
}

/// The router with every route and the security headers.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/enroll/begin", post(api::enroll_begin))
        .route("/enroll/complete", post(api::enroll_complete))
        .route("/login", post(api::login))
        .route("/login/methods", get(api::login_methods))
        .route("/eid/start", post(api::eid::start))
        .route("/logout", post(api::logout))
        .route("/users", post(api::create_user))
        .route("/session", get(api::session))
        .route(
            "/meetings",
            post(api::create_meeting).get(api::list_meetings),
        )
        .route(
            "/meetings/{meeting_id}",
            delete(api::cancel_meeting).patch(api::update_meeting),
        )
        .route(
            "/meetings/{meeting_id}/invitations",
            post(api::add_invitation),
        )
        .route(
            "/meetings/{meeting_id}/invitations/{invitation_id}",
            delete(api::revoke_invitation),
        )
        .route("/openapi.json", get(api::openapi))
        .route("/audit", get(api::audit::search))
        .route("/links/inspect", post(api::inspect_link))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new()
        .route("/", get(pages::index))
        .route("/setup", get(pages::setup))
        .route("/join", get(pages::join))
        .route("/login", get(pages::login))
        .route("/auth/login", get(api::oidc_start))
        .route("/auth/callback", get(api::oidc_callback))
        .route("/auth/eid/callback", get(api::eid::callback))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics_text))
        .route("/ws", get(ws::upgrade))
        .nest("/api/v1", api)
        .route("/{*path}", get(pages::asset))
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "not found") })
        .layer(security_header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; media-src 'self' blob: mediastream:; img-src 'self' data:; \
             connect-src 'self' wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ))
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(header::REFERRER_POLICY, "no-referrer"))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000",
        ))
        .layer(security_header(
            header::HeaderName::from_static("permissions-policy"),
            "camera=(self), microphone=(self), display-capture=(self)",
        ))
        .with_state(state)
}

fn security_header(
    name: header::HeaderName,
    value: &'static str,
) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&state.media),
    )
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn host_headers_name_the_media_address() {
        assert_eq!(
            host_ip("localhost:8443").await,
            IpAddr::from([127, 0, 0, 1])
        );
        assert_eq!(host_ip("10.1.2.3:8443").await, IpAddr::from([10, 1, 2, 3]));
        assert_eq!(
            host_ip("[::1]:8443").await,
            "::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(host_ip("192.0.2.7").await, IpAddr::from([192, 0, 2, 7]));
    }
}

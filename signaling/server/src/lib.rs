//! The HTTPS and WebSocket front of Sluss: the pages, the REST API, signaling, the store and
//! metrics. It turns the meeting core's effects into media commands for the relay workers.
//!
//! [`app`] builds the axum router; the `sluss` binary serves it over TLS.

pub mod api;
mod error;
pub mod limits;
mod live;
mod metrics;
pub mod oidc;
mod ops;
mod pages;
pub mod phone;
pub mod secret;
mod staff;
pub mod store;
pub mod turn;
pub mod webhooks;
mod ws;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::routing::{delete, get, post, MethodRouter};
use axum::Router;
use sluss_meeting::MeetingConfig;
use sluss_net::Media;
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;

pub use live::Registry;
pub use metrics::Metrics;
pub use ops::ops_app;
pub use staff::valid_username;
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
    /// Rate limits, lockout, hashing slots, pending logins and the audit tally.
    pub limits: limits::Limits,
    /// R14: the telephone trunk; without it no voice can be moved to a phone.
    pub phone: Option<Arc<phone::PhoneService>>,
    /// The data directory, whose file system's free space `/metrics` reports.
    pub data_dir: Option<std::path::PathBuf>,
    /// Signed webhooks to booking and journal systems.
    pub webhooks: Vec<webhooks::Endpoint>,
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
    rate: Arc<limits::RateLimits>,
    lockout: std::sync::Mutex<limits::Lockout>,
    hash_gate: limits::HashGate,
    /// Repeated events (failed logins, refused links, knocks) as counts in the audit trail.
    pub audit_tally: Arc<store::AuditTally>,
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
        let metrics = Metrics::with_data_dir(config.data_dir.clone());
        let audit_tally = store::AuditTally::new(
            store.clone(),
            config.limits.audit_window,
            config.limits.audit_tally_size,
        );
        audit_tally.start(shutdown.clone());
        webhooks::dispatch::start(
            store.clone(),
            config.webhooks.clone(),
            metrics.clone(),
            shutdown.clone(),
        );
        let registry = Registry::new(
            media.clone(),
            store.clone(),
            config.meeting.clone(),
            config.turn.clone(),
            metrics.clone(),
            audit_tally.clone(),
            config.phone.clone(),
        );
        let base = config.public_url.trim_end_matches('/').to_owned();
        let staff_rp = config
            .staff_oidc
            .clone()
            .map(|c| oidc::RelyingParty::new(c, format!("{base}/auth/callback"), &config.limits));
        let eid_rp = config.citizen_eid.clone().map(|c| {
            oidc::RelyingParty::new(c, format!("{base}/auth/eid/callback"), &config.limits)
        });
        let rate = Arc::new(limits::RateLimits::new(&config.limits));
        let lockout = std::sync::Mutex::new(limits::Lockout::new(config.limits.lockout.clone()));
        let hash_gate =
            limits::HashGate::new(config.limits.hash_concurrency, config.limits.hash_wait);
        let state = AppState(Arc::new(Inner {
            audit_tally,
            rate,
            lockout,
            hash_gate,
            staff_rp,
            eid_rp,
            eid_proofs: api::eid::EidProofs::default(),
            config,
            store,
            media,
            registry,
            metrics,
            shutdown,
        }));
        if let Some(phone) = &state.config.phone {
            // R14: calls to the dial-in number (refused when dial-in is not configured).
            phone.take_calls(state.clone());
        }
        state
    }

    /// The failed-login lockout table (held for microseconds, never across an await).
    fn lockout(&self) -> std::sync::MutexGuard<'_, limits::Lockout> {
        self.lockout.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Staff logins under way at the identity provider (0 without one).
    pub fn pending_staff_logins(&self) -> usize {
        self.staff_rp.as_ref().map_or(0, |rp| rp.pending())
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
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
    use limits::RateGroup;
    let rate = &state.rate.clone();
    let api = Router::new()
        .route(
            "/enroll/begin",
            limited(rate, RateGroup::Enrolment, post(api::enroll_begin)),
        )
        .route(
            "/enroll/complete",
            limited(rate, RateGroup::Enrolment, post(api::enroll_complete)),
        )
        .route("/login", limited(rate, RateGroup::Login, post(api::login)))
        .route("/login/methods", get(api::login_methods))
        .route(
            "/eid/start",
            limited(rate, RateGroup::Eid, post(api::eid::start)),
        )
        .route("/logout", post(api::logout))
        .route(
            "/users",
            post(api::create_user).get(api::accounts::list_accounts),
        )
        .route(
            "/users/{user_id}",
            axum::routing::patch(api::accounts::update_account),
        )
        .route(
            "/users/{user_id}/authenticator",
            post(api::accounts::reset_authenticator),
        )
        .route("/session", get(api::session))
        .route(
            "/meetings",
            post(api::create_meeting).get(api::list_meetings),
        )
        .route(
            "/meetings/{meeting_id}",
            delete(api::cancel_meeting)
                .patch(api::update_meeting)
                .get(api::get_meeting),
        )
        .route(
            "/meetings/{meeting_id}/invitations",
            post(api::add_invitation),
        )
        .route(
            "/meetings/{meeting_id}/invitations/{invitation_id}",
            delete(api::revoke_invitation),
        )
        .route(
            "/meetings/{meeting_id}/invitations/{invitation_id}/reissue",
            post(api::reissue_invitation),
        )
        .route("/openapi.json", get(api::openapi))
        .route("/audit", get(api::audit::search))
        .route("/audit/meetings", get(api::audit::meetings))
        .route(
            "/links/inspect",
            limited(rate, RateGroup::Link, post(api::inspect_link)),
        )
        .route_layer(axum::middleware::from_fn(ops::note_route))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new()
        .route("/", get(pages::index))
        .route("/setup", get(pages::setup))
        .route("/join", get(pages::join))
        .route("/meeting", get(pages::meeting))
        .route("/login", get(pages::login))
        .route(
            "/auth/login",
            limited(rate, RateGroup::Oidc, get(api::oidc_start)),
        )
        .route(
            "/auth/callback",
            limited(rate, RateGroup::Oidc, get(api::oidc_callback)),
        )
        .route(
            "/auth/eid/callback",
            limited(rate, RateGroup::Eid, get(api::eid::callback)),
        )
        .route("/ws", get(ws::upgrade))
        .nest("/api/v1", api)
        .route("/{*path}", get(pages::asset))
        .route_layer(axum::middleware::from_fn(ops::note_route))
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
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::access_log,
        ))
        .with_state(state)
}

/// An unauthenticated route under the per-address rate limit of its group.
fn limited(
    rate: &Arc<limits::RateLimits>,
    group: limits::RateGroup,
    route: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    let limited = limits::rate::Limited {
        limits: rate.clone(),
        group,
    };
    route.layer(axum::middleware::from_fn_with_state(
        limited,
        limits::rate::per_address,
    ))
}

fn security_header(
    name: header::HeaderName,
    value: &'static str,
) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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

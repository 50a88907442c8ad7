//! R5: citizen e-identification before a meeting. A meeting can require guests to identify
//! through the region's e-identification provider (which federates BankID and Freja) before
//! they knock. The verified name and personal identity number are kept in memory only, bound to
//! the invitation and the browser, and shown to no one but the chair.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tracing::{info, warn};

use super::cookie;
use super::oidc_login::{redirect_with_cookies, unavailable, Callback};
use crate::error::{ApiJson, HttpError};
use crate::limits::ClientKey;
use crate::oidc::claims::{self, ClaimsError};
use crate::oidc::OidcError;
use crate::pages::message_page;
use crate::secret::Secret;
use crate::{unix_now, AppState};

/// Carries the proof from the callback to the meeting's WebSocket.
pub(crate) const EID_COOKIE: &str = "sluss_eid";
/// Binds a citizen's login to the browser that started it.
const EID_STATE_COOKIE: &str = "sluss_eid_state";
/// How long an identification may be used to knock.
const EID_TTL: Duration = Duration::from_secs(30 * 60);
const MAX_VERIFIED: usize = 10_000;

/// Who a citizen proved to be. Printed redacted.
#[derive(Clone)]
pub struct CitizenIdentity {
    pub name: String,
    pub personal_number: String,
}

impl std::fmt::Debug for CitizenIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CitizenIdentity(<redacted>)")
    }
}

/// What a citizen's login carries from start to end: the invitation and its link.
pub struct EidStart {
    link_id: String,
    token: Secret,
}

struct Proof {
    link_id: String,
    identity: CitizenIdentity,
    at: Instant,
}

/// Proven identities by the hash of the browser's cookie.
#[derive(Default)]
pub struct EidProofs(Mutex<HashMap<Vec<u8>, Proof>>);

impl EidProofs {
    fn insert(&self, link_id: String, identity: CitizenIdentity) -> Option<Secret> {
        let mut all = self.0.lock().expect("eid proofs");
        all.retain(|_, p| p.at.elapsed() < EID_TTL);
        if all.len() >= MAX_VERIFIED {
            return None;
        }
        let secret = Secret::generate();
        all.insert(
            secret.hash(),
            Proof {
                link_id,
                identity,
                at: Instant::now(),
            },
        );
        Some(secret)
    }

    /// The identity this browser proved for this invitation, if it did, recently.
    pub fn get(&self, cookie: &str, link_id: &str) -> Option<CitizenIdentity> {
        let all = self.0.lock().expect("eid proofs");
        all.get(&Secret::from_wire(cookie).hash())
            .filter(|p| p.link_id == link_id && p.at.elapsed() < EID_TTL)
            .map(|p| p.identity.clone())
    }
}

/// The identity a request's cookie proves for a link.
pub(crate) fn proven(
    state: &AppState,
    headers: &HeaderMap,
    link_id: &str,
) -> Option<CitizenIdentity> {
    cookie(headers, EID_COOKIE).and_then(|c| state.eid_proofs.get(&c, link_id))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartEid {
    token: String,
}

/// `POST /api/v1/eid/start`: the join page asks where to send the guest to identify.
pub async fn start(
    State(state): State<AppState>,
    client: ClientKey,
    ApiJson(body): ApiJson<StartEid>,
) -> Result<Response, HttpError> {
    let Some(rp) = &state.eid_rp else {
        return Err(HttpError::new(
            StatusCode::NOT_FOUND,
            "not_configured",
            "This server has no e-identification provider.",
        ));
    };
    let token = Secret::from_wire(&body.token);
    let link = state.store.find_link(&token.hash(), unix_now()).await?;
    let Some(link) = link.filter(|l| l.usable && !l.meeting_ended) else {
        return Err(super::link_invalid());
    };
    let start = EidStart {
        link_id: link.link_id,
        token,
    };
    match rp.begin(start, client).await {
        Ok((url, login_state)) => {
            let cookie = format!(
                "{EID_STATE_COOKIE}={login_state}; Path=/auth/eid; Secure; HttpOnly; SameSite=Lax; Max-Age=600"
            );
            Ok((
                [(SET_COOKIE, cookie)],
                Json(serde_json::json!({ "url": url })),
            )
                .into_response())
        }
        Err(OidcError::TooManyFromClient) => Err(super::oidc_login::too_many_pending()),
        Err(e) => {
            warn!(error = %e, "e-identification could not start");
            Err(HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The e-identification service does not answer. Try again in a while.",
            ))
        }
    }
}

/// `GET /auth/eid/callback`: back from the e-identification provider.
pub async fn callback(State(state): State<AppState>, headers: HeaderMap, q: Callback) -> Response {
    let Some(rp) = &state.eid_rp else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if q.error.is_some() {
        return cancelled();
    }
    let result = q.finish(rp, &headers, EID_STATE_COOKIE).await;
    let config = rp.config();
    let identity = result.and_then(|v| {
        let name = claims::person_name(&v.claims, &config.name_claim)?;
        let personal_number = claims::text(&v.claims, &config.personal_number_claim)?;
        Ok((
            v.data,
            v.acr,
            CitizenIdentity {
                name,
                personal_number,
            },
        ))
    });
    let (start, acr, identity) = match identity {
        Ok(ok) => ok,
        Err(e) => return refused(e),
    };
    let Some(secret) = state.eid_proofs.insert(start.link_id.clone(), identity) else {
        return unavailable();
    };
    info!(link = %start.link_id, acr = %acr, "citizen e-identified");
    let cookie = format!(
        "{EID_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
        secret.expose(),
        EID_TTL.as_secs()
    );
    let clear = format!("{EID_STATE_COOKIE}=; Path=/auth/eid; Secure; HttpOnly; Max-Age=0");
    // Back to the invitation; the token travels in the fragment, which no server sees.
    let back = format!("/join#{}", start.token.expose());
    redirect_with_cookies(&back, &[cookie, clear])
}

fn cancelled() -> Response {
    message_page(
        StatusCode::UNAUTHORIZED,
        (
            "Identifieringen avbröts",
            "Du behöver identifiera dig för att delta i mötet. Öppna länken i din kallelse igen.",
        ),
        (
            "The identification was cancelled",
            "You need to identify yourself to take part. Open the link in your invitation again.",
        ),
        "/",
        None,
    )
}

fn refused(error: OidcError) -> Response {
    warn!(error = %error, "citizen e-identification refused");
    let (sv, en) = match error {
        OidcError::Claims(ClaimsError::AssuranceTooLow(_) | ClaimsError::NoAssuranceLevel) => (
            (
                "För låg tillitsnivå",
                "Legitimeringen räcker inte för det här mötet. Använd BankID eller Freja+.",
            ),
            (
                "Assurance level too low",
                "This identification is not enough for this meeting. Use BankID or Freja+.",
            ),
        ),
        _ => (
            (
                "Identifieringen misslyckades",
                "Öppna länken i din kallelse igen och försök på nytt.",
            ),
            (
                "The identification failed",
                "Open the link in your invitation again and try once more.",
            ),
        ),
    };
    message_page(StatusCode::FORBIDDEN, sv, en, "/", None)
}

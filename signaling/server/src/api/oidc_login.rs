//! R2 with an identity provider: staff log in through OpenID Connect, and only an ID token at
//! an allowed assurance level (LoA3 or higher by default) opens a session. Roles come from the
//! configured claim.

use std::time::Duration;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tracing::warn;

use super::cookie;
use super::staff::{audit, session_cookie};
use crate::error::HttpError;
use crate::limits::ClientKey;
use crate::oidc::claims::{self, ClaimsError};
use crate::oidc::{OidcError, RelyingParty, Verified};
use crate::pages::message_page;
use crate::secret::random_id;
use crate::{unix_now, AppState};

/// Binds a login to the browser that started it. Lax, because the provider sends the browser
/// back with a top-level cross-site navigation.
pub(crate) const STATE_COOKIE: &str = "sluss_oidc";

/// Which ways to log in the login page offers.
pub async fn login_methods(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "local": true,
        "oidc": state.staff_rp.is_some(),
        "citizen_eid": state.eid_rp.is_some(),
    }))
}

/// `GET /auth/login`: off to the identity provider.
pub async fn oidc_start(State(state): State<AppState>, client: ClientKey) -> Response {
    let Some(rp) = &state.staff_rp else {
        return message_page(
            StatusCode::NOT_FOUND,
            (
                "Ingen identitetsleverantör",
                "Den här tjänsten har ingen inloggning via identitetsleverantör.",
            ),
            (
                "No identity provider",
                "This service has no identity provider login.",
            ),
            "/login",
            None,
        );
    };
    match rp.begin((), client).await {
        Ok((url, login_state)) => redirect_with_state(&url, &login_state, "/auth"),
        Err(OidcError::TooManyFromClient) => too_many_pending().into_response(),
        Err(e) => {
            warn!(error = %e, "staff login could not start");
            unavailable()
        }
    }
}

pub(crate) fn redirect_with_state(url: &str, login_state: &str, path: &str) -> Response {
    let cookie = format!(
        "{STATE_COOKIE}={login_state}; Path={path}; Secure; HttpOnly; SameSite=Lax; Max-Age=600"
    );
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, url.to_owned()), (SET_COOKIE, cookie)],
    )
        .into_response()
}

pub(crate) fn unavailable() -> Response {
    message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        (
            "Inloggningen fungerar inte just nu",
            "Identitetsleverantören svarar inte. Försök igen om en stund, eller kontakta IT-supporten.",
        ),
        (
            "Login is not working right now",
            "The identity provider does not answer. Try again in a while, or contact IT support.",
        ),
        "/",
        None,
    )
}

/// A client with its share of logins under way: it waits for one to expire.
pub(crate) fn too_many_pending() -> HttpError {
    HttpError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many logins started from your address. Finish one, or wait a few minutes.",
    )
    .retry_after(Duration::from_secs(60))
}

/// The whole query string of a callback, at most.
const MAX_CALLBACK_QUERY: usize = 4096;
/// Each parameter, at most (a provider's codes are far shorter; our states are 22 chars).
const MAX_CODE: usize = 2048;
const MAX_STATE: usize = 256;
const MAX_ERROR: usize = 256;
const MAX_ERROR_DESCRIPTION: usize = 1024;

/// The provider's redirect back. Every length is bounded before anything else reads it: a
/// query over the bounds is a 400.
#[derive(Debug, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Callback {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let too_long = || HttpError::bad_request("A callback parameter is too long.");
        if parts.uri.query().map_or(0, str::len) > MAX_CALLBACK_QUERY {
            return Err(too_long());
        }
        let Query(q) = Query::<Callback>::try_from_uri(&parts.uri)
            .map_err(|_| HttpError::bad_request("The callback's parameters are malformed."))?;
        let fits = |v: &Option<String>, max: usize| v.as_ref().is_none_or(|v| v.len() <= max);
        if !(fits(&q.code, MAX_CODE)
            && fits(&q.state, MAX_STATE)
            && fits(&q.error, MAX_ERROR)
            && fits(&q.error_description, MAX_ERROR_DESCRIPTION))
        {
            return Err(too_long());
        }
        Ok(q)
    }
}

impl Callback {
    /// Finishes the login this browser started (its state is in the `state_cookie` cookie).
    pub(crate) async fn finish<T>(
        &self,
        rp: &RelyingParty<T>,
        headers: &HeaderMap,
        state_cookie: &str,
    ) -> Result<Verified<T>, OidcError> {
        let browser_state = cookie(headers, state_cookie);
        rp.finish(
            self.state.as_deref().unwrap_or(""),
            browser_state.as_deref(),
            self.code.as_deref().unwrap_or(""),
        )
        .await
    }
}

/// A redirect that also sets (or clears) cookies.
pub(crate) fn redirect_with_cookies(location: &str, cookies: &[String]) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(LOCATION, location.to_owned())]).into_response();
    for c in cookies {
        if let Ok(value) = c.parse() {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// `GET /auth/callback`: the provider sends the browser back with a code.
pub async fn oidc_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Callback,
) -> Response {
    let Some(rp) = &state.staff_rp else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if q.error.is_some() {
        return message_page(
            StatusCode::UNAUTHORIZED,
            ("Inloggningen avbröts", "Du loggades inte in."),
            ("The login was cancelled", "You were not logged in."),
            "/login",
            None,
        );
    }
    let result = q.finish(rp, &headers, STATE_COOKIE).await;
    let verified = match result {
        Ok(v) => v,
        Err(e) => return refused(&state, e).await,
    };
    let config = rp.config();
    let roles = match claims::roles(&verified.claims, &config.roles_claim) {
        Ok(r) => r,
        Err(e) => return refused(&state, e.into()).await,
    };
    let name = claims::person_name(&verified.claims, &config.name_claim)
        .unwrap_or_else(|_| "Personal".to_owned());
    let user = state
        .store
        .oidc_user(
            &config.issuer,
            &verified.subject,
            &name,
            &roles,
            &random_id("u_"),
            unix_now(),
        )
        .await;
    let user_id = match user {
        Ok(Some(id)) => id,
        Ok(None) => return refused(&state, OidcError::Claims(ClaimsError::NoRole)).await,
        Err(e) => {
            warn!(error = %e, "staff login: store");
            return unavailable();
        }
    };
    let details = serde_json::json!({ "method": "oidc", "acr": verified.acr, "roles": roles });
    let cookie = match audit(&state, "login", &user_id, details).await {
        Ok(()) => session_cookie(&state, &user_id).await,
        Err(e) => Err(e),
    };
    match cookie {
        Ok(cookie) => {
            let clear = format!("{STATE_COOKIE}=; Path=/auth; Secure; HttpOnly; Max-Age=0");
            redirect_with_cookies("/", &[cookie, clear])
        }
        Err(_) => unavailable(),
    }
}

/// A clear page for a refused login, and an audit entry that says why (never who, since the
/// provider's subject is not yet one of ours).
async fn refused(state: &AppState, error: OidcError) -> Response {
    let (reason, acr) = match &error {
        OidcError::Claims(ClaimsError::AssuranceTooLow(acr)) => {
            ("assurance_too_low", Some(acr.as_str()))
        }
        OidcError::Claims(ClaimsError::NoAssuranceLevel) => ("no_assurance_level", None),
        OidcError::Claims(ClaimsError::NoRole) => ("no_role", None),
        OidcError::UnknownState => ("unknown_state", None),
        _ => ("invalid_token", None),
    };
    warn!(reason, error = %error, "staff login refused");
    let event = crate::store::AuditEvent {
        event: "login_refused",
        details: serde_json::json!({ "method": "oidc", "reason": reason, "acr": acr }),
        ..Default::default()
    };
    if reason == "unknown_state" {
        // Anyone can call the callback with made-up states: counted, not one entry each.
        state.audit_tally.record(event, unix_now());
    } else {
        let _ = state.store.audit(event, unix_now()).await;
    }
    let (sv, en) = match reason {
        "assurance_too_low" | "no_assurance_level" => (
            (
                "För låg tillitsnivå",
                "Inloggningen godtas inte: den här tjänsten kräver stark inloggning (tillitsnivå 3 eller högre), till exempel med SITHS-kort eller BankID.",
            ),
            (
                "Assurance level too low",
                "This login is not accepted: this service requires strong authentication (assurance level 3 or higher), for example a SITHS card or BankID.",
            ),
        ),
        "no_role" => (
            ("Ingen behörighet", "Ditt konto har ingen roll i Sluss. Kontakta den som administrerar tjänsten."),
            ("No access", "Your account has no role in Sluss. Contact the administrator of this service."),
        ),
        _ => (
            ("Inloggningen misslyckades", "Börja om från inloggningssidan."),
            ("The login failed", "Start again from the login page."),
        ),
    };
    message_page(StatusCode::FORBIDDEN, sv, en, "/login", acr)
}

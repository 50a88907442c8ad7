//! The REST API: the pages' endpoints and the booking systems' (R16).

pub mod accounts;
mod attendance;
pub mod audit;
pub mod eid;
mod invitation;
mod links;
mod meeting_page;
mod meetings;
mod oidc_login;
mod owners;
mod staff;

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sluss_meeting::NameError;
use sluss_protocol::{InspectLink, InvitationRole, LinkInfo};

pub use links::{add_invitation, revoke_invitation};
pub use meeting_page::{get_meeting, reissue_invitation};
pub use meetings::{cancel_meeting, create_meeting, list_meetings, update_meeting};
pub use oidc_login::{login_methods, oidc_callback, oidc_start};
pub use staff::{create_user, enroll_begin, enroll_complete, login, logout};

use crate::error::{ApiJson, HttpError};
use crate::secret::Secret;
use crate::{unix_now, AppState};

pub(crate) const SESSION_COOKIE: &str = "sluss_session";

/// What an API token may do.
pub const SCOPE_MEETINGS: &str = "meetings:write";
pub const SCOPE_INVITATIONS: &str = "invitations:write";
pub const SCOPES: [&str; 2] = [SCOPE_MEETINGS, SCOPE_INVITATIONS];

/// Who is calling.
#[derive(Debug)]
pub enum Principal {
    /// A logged-in member of staff (R2).
    Staff {
        user_id: String,
        display_name: String,
        roles: Vec<String>,
    },
    /// A booking system with an API token and its scopes.
    Booking {
        token_id: String,
        scopes: Vec<String>,
    },
}

impl Principal {
    /// For the audit trail: never the token itself.
    pub fn audit_name(&self) -> String {
        match self {
            Principal::Staff { user_id, .. } => user_id.clone(),
            Principal::Booking { token_id, .. } => format!("api:{token_id}"),
        }
    }

    pub fn require(&self, scope: &str) -> Result<(), HttpError> {
        match self {
            Principal::Staff { roles, .. } if roles.iter().any(|r| r == "staff") => Ok(()),
            Principal::Staff { .. } => Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Only staff can do that.",
            )),
            Principal::Booking { scopes, .. } if scopes.iter().any(|s| s == scope) => Ok(()),
            Principal::Booking { .. } => Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("This API token lacks the scope '{scope}'."),
            )),
        }
    }
}

/// The caller, from an `Authorization: Bearer` API token or an organiser session cookie.
pub async fn principal(state: &AppState, headers: &HeaderMap) -> Result<Principal, HttpError> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or_else(HttpError::unauthorized)?;
        return match state
            .store
            .find_api_token(&Secret::from_wire(token).hash())
            .await?
        {
            Some(t) => Ok(Principal::Booking {
                token_id: t.id,
                scopes: t.scopes,
            }),
            None => Err(HttpError::unauthorized()),
        };
    }
    let token = session_token(headers).ok_or_else(HttpError::unauthorized)?;
    match state.store.session_user(&token.hash(), unix_now()).await? {
        Some(user) => Ok(Principal::Staff {
            user_id: user.user_id,
            display_name: user.display_name,
            roles: user.roles,
        }),
        None => Err(HttpError::unauthorized()),
    }
}

/// The session cookie's value, if the request carries one.
pub fn session_token(headers: &HeaderMap) -> Option<Secret> {
    cookie(headers, SESSION_COOKIE).map(|v| Secret::from_wire(&v))
}

/// A cookie's value by name.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub async fn session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    match principal(&state, &headers).await? {
        Principal::Staff {
            display_name,
            roles,
            ..
        } => Ok(Json(serde_json::json!({
            "organiser": roles.iter().any(|r| r == "staff"),
            "display_name": display_name,
            "roles": roles,
        }))
        .into_response()),
        Principal::Booking { .. } => Err(HttpError::unauthorized()),
    }
}

pub async fn inspect_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<InspectLink>,
) -> Result<Response, HttpError> {
    body.validate().map_err(owners::refused)?;
    let Some(link) = state
        .store
        .find_link(&Secret::from_wire(&body.token).hash(), unix_now())
        .await?
    else {
        return Err(link_refused(&state, None, "unknown"));
    };
    if !link.usable {
        return Err(link_refused(&state, Some(link.meeting_id), "unusable"));
    }
    if !link.meeting_ended {
        // For the meeting's page: this invitation has been opened. A note that cannot be
        // written costs the page one word, not the guest the meeting.
        if let Err(e) = state
            .store
            .note_link(&link.link_id, false, unix_now())
            .await
        {
            tracing::error!(error = %e, "could not note the link's opening");
        }
    }
    let info = LinkInfo {
        role: match link.role {
            InvitationRole::Chair => sluss_protocol::Role::Chair,
            _ => sluss_protocol::Role::Guest,
        },
        meeting: if link.meeting_ended { "ended" } else { "open" }.to_owned(),
        require_eid: link.require_eid,
        identified_as: eid::proven(&state, &headers, &link.link_id).map(|c| c.name),
        ended_at: link.ended_at,
    };
    Ok(Json(info).into_response())
}

pub async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("../../openapi.json"),
    )
}

/// A refused inspection, tallied (someone trying tokens makes one entry a minute, not one
/// each); the token itself is never recorded.
fn link_refused(state: &AppState, meeting_id: Option<String>, reason: &str) -> HttpError {
    state.audit_tally.record(
        crate::store::AuditEvent {
            meeting_id,
            event: "link_refused",
            details: serde_json::json!({ "reason": reason }),
            ..Default::default()
        },
        unix_now(),
    );
    link_invalid()
}

pub(crate) fn link_invalid() -> HttpError {
    HttpError::new(
        StatusCode::NOT_FOUND,
        "link_invalid",
        "This link is not valid. Ask the person who invited you for a new one.",
    )
}

/// A refused free-text field, with the reason (R12 says the error must say why).
fn text_refused(field: &str, e: NameError) -> HttpError {
    let code = match e {
        NameError::PersonalIdentityNumber => "personal_identity_number",
        NameError::UnspacedPhoneNumber => "unspaced_phone_number",
        _ => "bad_request",
    };
    HttpError::new(
        StatusCode::BAD_REQUEST,
        code,
        format!("The {field} was refused: {e}."),
    )
}

//! Staff administration for administrators: list the accounts, disable and enable them, lift
//! a lockout, change roles, and reset a lost authenticator. Every change is in the audit
//! trail with who made it; disabling (and a change of roles) ends the account's sessions and
//! its meeting connections' staff rights at once.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{principal, Principal};
use crate::error::{ApiJson, HttpError};
use crate::secret::Secret;
use crate::store::{AccountChange, AccountListing, AccountRefusal, AuditEvent};
use crate::{unix_now, AppState};

const ROLES: [&str; 3] = ["staff", "admin", "auditor"];
const ENROLLMENT_TTL_SECS: i64 = 7 * 24 * 3600;

/// `PATCH /api/v1/users/{user_id}`: any of these, applied in this order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    disabled: Option<bool>,
    roles: Option<Vec<String>>,
    /// `true` lifts a lockout after failed logins.
    unlock: Option<bool>,
}

/// The administrator making the request, or the refusal.
async fn administrator(state: &AppState, headers: &HeaderMap) -> Result<String, HttpError> {
    match principal(state, headers).await? {
        Principal::Staff { user_id, roles, .. } if roles.iter().any(|r| r == "admin") => {
            Ok(user_id)
        }
        Principal::Staff { .. } => Err(HttpError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only an administrator manages staff accounts.",
        )),
        Principal::Booking { .. } => Err(HttpError::unauthorized()),
    }
}

pub fn listing_json(a: &AccountListing, now: i64) -> serde_json::Value {
    serde_json::json!({
        "id": a.id,
        "username": a.username,
        "display_name": a.display_name,
        "roles": a.roles,
        "login": if a.external { "identity_provider" } else { "password_and_authenticator" },
        "created_at": a.created_at,
        "last_login_at": a.last_login_at,
        "disabled": a.disabled_at.is_some(),
        "locked": a.locked_until.is_some_and(|t| t > now),
    })
}

/// `GET /api/v1/users`
pub async fn list_accounts(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, HttpError> {
    administrator(&state, &headers).await?;
    let now = unix_now();
    let accounts = state.store.list_accounts().await?;
    Ok(Json(serde_json::json!({
        "users": accounts.iter().map(|a| listing_json(a, now)).collect::<Vec<_>>(),
    })))
}

/// `PATCH /api/v1/users/{user_id}`
pub async fn update_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    ApiJson(body): ApiJson<AccountUpdate>,
) -> Result<Json<serde_json::Value>, HttpError> {
    let admin = administrator(&state, &headers).await?;
    if user_id.len() > 64 {
        return Err(not_found());
    }
    if let Some(roles) = &body.roles {
        if roles.is_empty()
            || roles.len() > ROLES.len()
            || roles.iter().any(|r| !ROLES.contains(&r.as_str()))
        {
            return Err(HttpError::bad_request(
                "roles must be some of staff, admin, auditor.",
            ));
        }
    }
    let now = unix_now();
    if let Some(disabled) = body.disabled {
        if disabled && user_id == admin {
            return Err(HttpError::new(
                StatusCode::CONFLICT,
                "own_account",
                "You cannot disable your own account; ask another administrator.",
            ));
        }
        let change = state
            .store
            .set_account_disabled(&user_id, disabled, now)
            .await?;
        let event = if disabled {
            "staff_disabled"
        } else {
            "staff_enabled"
        };
        applied(
            &state,
            change,
            event,
            &admin,
            &user_id,
            serde_json::json!({}),
        )
        .await?;
    }
    if let Some(roles) = &body.roles {
        let change = state.store.set_account_roles(&user_id, roles).await?;
        let details = serde_json::json!({ "roles": roles });
        applied(
            &state,
            change,
            "staff_roles_changed",
            &admin,
            &user_id,
            details,
        )
        .await?;
    }
    if body.unlock == Some(true) {
        let change = state.store.unlock_account(&user_id).await?;
        applied(
            &state,
            change,
            "staff_unlocked",
            &admin,
            &user_id,
            serde_json::json!({}),
        )
        .await?;
    }
    let account = state
        .store
        .find_account(&user_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(listing_json(&account, now)))
}

/// `POST /api/v1/users/{user_id}/authenticator`: a one-time link with which the person sets
/// a new password and enrols a new authenticator (shown once; only its hash is kept).
pub async fn reset_authenticator(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
) -> Result<Response, HttpError> {
    let admin = administrator(&state, &headers).await?;
    if user_id.len() > 64 {
        return Err(not_found());
    }
    let token = Secret::generate();
    let now = unix_now();
    let change = state
        .store
        .reset_authenticator(&user_id, &token.hash(), now, now + ENROLLMENT_TTL_SECS)
        .await?;
    let details = serde_json::json!({});
    applied(
        &state,
        change,
        "staff_authenticator_reset",
        &admin,
        &user_id,
        details,
    )
    .await?;
    let link = format!("{}/setup#{}", state.config.public_url, token.expose());
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "enrollment_link": link })),
    )
        .into_response())
}

/// A change done: its sessions' meeting connections lose staff rights now, and the audit
/// trail says who did what to whom. A refusal becomes its error.
async fn applied(
    state: &AppState,
    change: AccountChange,
    event: &'static str,
    admin: &str,
    user_id: &str,
    details: serde_json::Value,
) -> Result<(), HttpError> {
    let ended = change.map_err(refusal)?;
    for session in &ended {
        state.registry.staff_session_ended(session);
    }
    state
        .store
        .audit(
            AuditEvent {
                event,
                actor: Some(admin.to_owned()),
                subject: Some(user_id.to_owned()),
                details,
                ..AuditEvent::default()
            },
            unix_now(),
        )
        .await?;
    Ok(())
}

fn refusal(refusal: AccountRefusal) -> HttpError {
    match refusal {
        AccountRefusal::NoSuchAccount => not_found(),
        AccountRefusal::LastAdministrator => HttpError::new(
            StatusCode::CONFLICT,
            "last_administrator",
            "That would leave no administrator. Make someone else an administrator first.",
        ),
        AccountRefusal::External => HttpError::new(
            StatusCode::CONFLICT,
            "external_login",
            "This account logs in through the identity provider; reset it there.",
        ),
    }
}

fn not_found() -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "not_found", "No such account.")
}

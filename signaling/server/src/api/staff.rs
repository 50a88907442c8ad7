//! Staff login (R2): enrolment with password and authenticator, login, logout, and
//! administrators inviting staff.

use std::time::Instant;

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sluss_meeting::DisplayName;

use super::{principal, session_token, text_refused, Principal, SESSION_COOKIE};
use crate::error::{ApiJson, HttpError};
use crate::limits::lockout::LockKey;
use crate::limits::ClientKey;
use crate::secret::{random_id, Secret};
use crate::staff;
use crate::store::{AuditEvent, UserRecord};
use crate::{unix_now, AppState};

const ENROLLMENT_TTL_SECS: i64 = 7 * 24 * 3600;
const ROLES: [&str; 3] = ["staff", "admin", "auditor"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollBegin {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollComplete {
    token: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    password: String,
    code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
    code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: String,
    display_name: String,
    roles: Vec<String>,
}

fn enrollment_invalid() -> HttpError {
    HttpError::new(
        StatusCode::UNAUTHORIZED,
        "link_invalid",
        "This enrolment link is unknown, used or expired.",
    )
}

fn login_refused() -> HttpError {
    HttpError::new(
        StatusCode::UNAUTHORIZED,
        "login_failed",
        "Wrong username, password or code, or the account is locked for a while.",
    )
}

/// Step one: the enrollee gets a fresh authenticator secret as a QR code.
pub async fn enroll_begin(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EnrollBegin>,
) -> Result<Response, HttpError> {
    let hash = Secret::from_wire(&body.token).hash();
    let Some(enrollment) = state.store.enrollment(&hash, unix_now()).await? else {
        return Err(enrollment_invalid());
    };
    let secret = staff::new_totp_secret();
    state.store.set_enrollment_secret(&hash, &secret).await?;
    let account = enrollment
        .username
        .clone()
        .unwrap_or_else(|| "staff".into());
    let uri = staff::totp_uri(&secret, &account).ok_or_else(|| HttpError::internal("totp uri"))?;
    let qr = staff::qr_data_url(&uri).ok_or_else(|| HttpError::internal("qr code"))?;
    Ok(Json(serde_json::json!({
        "username": enrollment.username,
        "display_name": enrollment.display_name,
        "otpauth_uri": uri,
        "qr": qr,
        "secret": base32::encode(base32::Alphabet::Rfc4648 { padding: false }, &secret),
    }))
    .into_response())
}

/// Step two: a password and a first code from the authenticator make the account.
pub async fn enroll_complete(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EnrollComplete>,
) -> Result<Response, HttpError> {
    let hash = Secret::from_wire(&body.token).hash();
    let now = unix_now();
    let Some(enrollment) = state.store.enrollment(&hash, now).await? else {
        return Err(enrollment_invalid());
    };
    let Some(secret) = enrollment.totp_secret.clone() else {
        return Err(HttpError::bad_request("Scan the QR code first."));
    };
    let username = enrollment
        .username
        .clone()
        .or(body.username.clone())
        .map(|u| u.trim().to_lowercase())
        .unwrap_or_default();
    if !staff::valid_username(&username) {
        return Err(bad_username());
    }
    let display_name = enrollment
        .display_name
        .clone()
        .or(body.display_name.clone())
        .unwrap_or_default();
    let display_name = DisplayName::parse(&display_name).map_err(|e| text_refused("name", e))?;
    if let Some(problem) = staff::password_problem(&body.password) {
        // A code of its own, so that the page can say it in its language.
        let code = if body.password.chars().count() < staff::MIN_PASSWORD_CHARS {
            "password_too_short"
        } else {
            "password_too_long"
        };
        return Err(HttpError::new(StatusCode::BAD_REQUEST, code, problem));
    }
    let Some(step) = staff::check_code(&secret, &body.code, now as u64) else {
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "bad_code",
            "The code from the authenticator app is not right. Check the phone's clock.",
        ));
    };
    let password = body.password.clone();
    let password_hash = state
        .hash_gate
        .run(move || staff::hash_password(&password))
        .await?
        .map_err(HttpError::internal)?;
    let user_id = random_id("u_");
    let created = state
        .store
        .complete_enrollment(
            &hash,
            &user_id,
            &username,
            display_name.expose(),
            &password_hash,
            &secret,
            &enrollment.roles,
            now,
        )
        .await?;
    if !created {
        return Err(HttpError::new(
            StatusCode::CONFLICT,
            "conflict",
            "That username is taken, or the link was used meanwhile.",
        ));
    }
    // A reset link gave an existing account its new login: that account's id.
    let user_id = match state.store.user_by_username(&username).await? {
        Some(user) => user.id,
        None => user_id,
    };
    state
        .store
        .record_login_success(&user_id, step as i64)
        .await?;
    audit(
        &state,
        "staff_enrolled",
        &user_id,
        serde_json::json!({ "roles": enrollment.roles }),
    )
    .await?;
    open_session(&state, &user_id).await
}

pub async fn login(
    State(state): State<AppState>,
    client: ClientKey,
    ApiJson(body): ApiJson<Login>,
) -> Result<Response, HttpError> {
    let now = unix_now();
    let username = body.username.trim().to_lowercase();
    if username.len() > 64 || body.password.len() > 1024 || body.code.len() > 16 {
        return Err(login_refused());
    }
    // Unknown usernames lock alike, so the lock tells nothing about which accounts exist.
    let key = LockKey::new(client, &username);
    let user = state.store.user_by_username(&username).await?;
    let locked = state.lockout().check(&key, Instant::now());
    if let Err(wait) = locked {
        // Every lock of a known account is also in the store (below); one the store no
        // longer has was lifted by an administrator, on the web or from the command line.
        let lifted = user
            .as_ref()
            .is_some_and(|u| u.locked_until.is_none_or(|t| t <= now));
        if lifted {
            state.lockout().forget_account(&username);
        } else {
            // Refused before hashing: a locked address costs no CPU.
            if let Some(user) = &user {
                tally(&state, "login_locked", &user.id, serde_json::json!({}));
            }
            return Err(login_refused().retry_after(wait));
        }
    }
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = body.password.clone();
    let password_ok = state
        .hash_gate
        .run(move || staff::verify_password(&password, stored_hash.as_deref()))
        .await?;
    let step = user
        .as_ref()
        .and_then(|u| staff::check_code(&u.totp_secret, &body.code, now as u64));
    let (user, step) = match (user, password_ok, step) {
        (Some(user), _, _) if user.disabled => {
            return refuse(&state, key, Some(&user), "disabled").await
        }
        (Some(user), true, Some(step)) => (user, step as i64),
        (user, ..) => return refuse(&state, key, user.as_ref(), "bad_credentials").await,
    };
    // A code works once: the same six digits cannot log in twice.
    if !state.store.record_login_success(&user.id, step).await? {
        return refuse(&state, key, Some(&user), "code_reused").await;
    }
    state.lockout().success(&key);
    audit(
        &state,
        "login",
        &user.id,
        serde_json::json!({ "method": "password_totp" }),
    )
    .await?;
    open_session(&state, &user.id).await
}

/// A failed login: counted against this address and account, and tallied in the trail
/// (unknown usernames are not recorded). A lock it starts on a known account is written to
/// the store too, where the administrators see it and can lift it.
async fn refuse(
    state: &AppState,
    key: LockKey,
    user: Option<&UserRecord>,
    reason: &'static str,
) -> Result<Response, HttpError> {
    let locked = state.lockout().failure(key, Instant::now());
    if let Some(user) = user {
        tally(
            state,
            "login_refused",
            &user.id,
            serde_json::json!({ "reason": reason }),
        );
        if let Some(wait) = locked {
            let until = unix_now() + wait.as_secs().max(1) as i64;
            state.store.record_login_lock(&user.id, until).await?;
        }
    }
    Err(match locked {
        Some(wait) => login_refused().retry_after(wait),
        None => login_refused(),
    })
}

/// A repeatable event: counted, written as one entry per window.
pub(crate) fn tally(
    state: &AppState,
    event: &'static str,
    user_id: &str,
    details: serde_json::Value,
) {
    state.audit_tally.record(
        AuditEvent {
            event,
            subject: Some(user_id.to_owned()),
            details,
            ..AuditEvent::default()
        },
        unix_now(),
    );
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    if let Some(token) = session_token(&headers) {
        let hash = token.hash();
        state.store.delete_session(&hash).await?;
        // R2: its meeting connections lose staff rights (and the chair) at once.
        state.registry.staff_session_ended(&hash);
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, clear)]).into_response())
}

/// An administrator invites a member of staff: the answer is their one-time enrolment link.
pub async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    let Principal::Staff { user_id, roles, .. } = &who else {
        return Err(HttpError::unauthorized());
    };
    if !roles.iter().any(|r| r == "admin") {
        return Err(HttpError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only an administrator can add staff.",
        ));
    }
    if body.roles.is_empty() || body.roles.iter().any(|r| !ROLES.contains(&r.as_str())) {
        return Err(HttpError::bad_request(
            "roles must be some of staff, admin, auditor.",
        ));
    }
    let username = body.username.trim().to_lowercase();
    if !staff::valid_username(&username) {
        return Err(bad_username());
    }
    let name = DisplayName::parse(&body.display_name).map_err(|e| text_refused("name", e))?;
    let token = Secret::generate();
    let now = unix_now();
    let roles: Vec<&str> = body.roles.iter().map(String::as_str).collect();
    state
        .store
        .create_enrollment(
            &token.hash(),
            Some(&username),
            Some(name.expose()),
            &roles,
            now,
            now + ENROLLMENT_TTL_SECS,
        )
        .await?;
    audit(
        &state,
        "staff_invited",
        user_id,
        serde_json::json!({ "username": username, "roles": body.roles }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "enrollment_link": format!("{}/setup#{}", state.config.public_url, token.expose()) })),
    )
        .into_response())
}

async fn open_session(state: &AppState, user_id: &str) -> Result<Response, HttpError> {
    let cookie = session_cookie(state, user_id).await?;
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, cookie)]).into_response())
}

/// A new session for the user, as the Set-Cookie value that carries it.
pub(crate) async fn session_cookie(state: &AppState, user_id: &str) -> Result<String, HttpError> {
    let session = Secret::generate();
    let now = unix_now();
    let ttl = state.config.session_ttl.as_secs() as i64;
    state
        .store
        .create_session(&session.hash(), user_id, now, now + ttl)
        .await?;
    Ok(format!(
        "{SESSION_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={ttl}",
        session.expose()
    ))
}

pub(crate) async fn audit(
    state: &AppState,
    event: &'static str,
    user_id: &str,
    details: serde_json::Value,
) -> Result<(), HttpError> {
    state
        .store
        .audit(
            AuditEvent {
                event,
                subject: Some(user_id.to_owned()),
                details,
                ..AuditEvent::default()
            },
            unix_now(),
        )
        .await?;
    Ok(())
}

/// A username outside what accounts may be called, with a code the pages translate.
fn bad_username() -> HttpError {
    HttpError::new(
        StatusCode::BAD_REQUEST,
        "bad_username",
        "The username must be 2 to 64 letters, digits, dots, dashes or underscores.",
    )
}

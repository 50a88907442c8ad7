//! Personal invitations to a meeting (R3, R13): added and revoked by the meeting's convener or
//! an administrator (docs/meeting-ownership.md).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sluss_protocol::{check_id, DialIn, Invitation, InvitationRole, NewInvitation};

use super::owners::{changeable_meeting, meeting_gone, refused};
use super::{invitation, principal, SCOPE_INVITATIONS};
use crate::error::{ApiJson, HttpError};
use crate::secret::{random_id, Secret};
use crate::store::{AuditEvent, NewLink, MAX_LINKS_PER_MEETING};
use crate::{unix_now, AppState};

pub async fn add_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(meeting_id): Path<String>,
    ApiJson(body): ApiJson<NewInvitation>,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    who.require_manager(SCOPE_INVITATIONS)?;
    let now = unix_now();
    body.validate(now).map_err(refused)?;
    let meeting = changeable_meeting(&state, &who, &meeting_id, true).await?;
    check_staff_invitee(&state, &body).await?;
    let expires_at = body
        .expires_at
        .unwrap_or(now + state.config.link_ttl.as_secs() as i64);
    let secret = Secret::generate();
    let link = NewLink {
        id: random_id("l_"),
        token_hash: secret.hash(),
        role: body.role,
        expires_at: Some(expires_at),
    };
    let id = &meeting.details.id;
    let added = match &body.staff_user_id {
        Some(user) => state.store.add_staff_link(id, &link, user, now).await?,
        None => state.store.add_link(id, &link, now).await?,
    };
    if !added {
        if state.store.link_count(id).await? >= MAX_LINKS_PER_MEETING {
            return Err(super::meeting_page::too_many_invitations());
        }
        return Err(meeting_gone());
    }
    let mut details = serde_json::json!({ "role": body.role.as_str() });
    if let Some(user) = &body.staff_user_id {
        details["staff_user_id"] = serde_json::json!(user);
    }
    let event = AuditEvent {
        meeting_id: Some(id.clone()),
        event: "invited",
        actor: Some(who.audit_name()),
        subject: Some(link.id.clone()),
        details,
    };
    state.store.audit(event, now).await?;
    let schedule = meeting
        .details
        .starts_at
        .map(|s| (s, meeting.details.duration_minutes.unwrap_or(60)));
    let dial_in = dial_in_pin(&state, &link, meeting.details.require_eid).await?;
    let invitation = make_invitation(&state, &link, &secret, schedule, dial_in, now);
    Ok((StatusCode::CREATED, Json(invitation)).into_response())
}

/// Revokes an invitation; whoever holds it is put out of the lobby or the meeting at once.
pub async fn revoke_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((meeting_id, invitation_id)): Path<(String, String)>,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    who.require_manager(SCOPE_INVITATIONS)?;
    check_id("invitation_id", &invitation_id).map_err(refused)?;
    // An ended meeting's links are dead already: nothing to revoke, nothing to audit.
    let meeting = changeable_meeting(&state, &who, &meeting_id, true).await?;
    let meeting_id = meeting.details.id;
    let now = unix_now();
    // The chair's link is renewed, never only revoked: a meeting without one could not be
    // opened by its convener again (POST .../reissue gives a new one).
    let links = state.store.meeting_links(&meeting_id).await?;
    if links
        .iter()
        .any(|l| l.id == invitation_id && l.role == InvitationRole::Chair)
    {
        return Err(HttpError::new(
            StatusCode::CONFLICT,
            "chair_link_renew_only",
            "The chair's link cannot be revoked, only renewed (reissue).",
        ));
    }
    if !state
        .store
        .revoke_link(&meeting_id, &invitation_id, now)
        .await?
    {
        return Err(HttpError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No such invitation in that meeting, or it was already revoked.",
        ));
    }
    state
        .store
        .audit(
            AuditEvent {
                meeting_id: Some(meeting_id.clone()),
                event: "invitation_revoked",
                actor: Some(who.audit_name()),
                subject: Some(invitation_id.clone()),
                ..AuditEvent::default()
            },
            now,
        )
        .await?;
    state.registry.revoke(&meeting_id, &invitation_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A staff invitation may name an existing, enabled account with the staff role.
pub(super) async fn check_staff_invitee(
    state: &AppState,
    invitation: &NewInvitation,
) -> Result<(), HttpError> {
    let Some(user_id) = &invitation.staff_user_id else {
        return Ok(());
    };
    match state.store.staff_account(user_id).await? {
        Some(a) if a.enabled && a.roles.iter().any(|r| r == "staff") => Ok(()),
        _ => Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "unknown_staff_user",
            "staff_user_id names no enabled staff account.",
        )),
    }
}

pub(super) fn link_url(state: &AppState, secret: &Secret) -> String {
    format!("{}/join#{}", state.config.public_url, secret.expose())
}

/// The invitation as answered: the link this once, the neutral text and calendar file (R13).
pub(super) fn make_invitation(
    state: &AppState,
    link: &NewLink,
    secret: &Secret,
    schedule: Option<(i64, i64)>,
    dial_in: Option<DialIn>,
    now: i64,
) -> Invitation {
    let url = link_url(state, secret);
    let expires_at = link.expires_at.unwrap_or(now);
    Invitation {
        invitation_id: link.id.clone(),
        role: link.role,
        text: invitation::text(&url, dial_in.as_ref()),
        ics: schedule.map(|(start, minutes)| invitation::ics(&link.id, &url, start, minutes, now)),
        link: url,
        expires_at,
        dial_in,
        replaces: None,
    }
}

/// R14: the invitation's dial-in PIN, when the gateway takes calls (never for the chair, who
/// logs in, nor in a meeting whose guests must identify with e-identification first (R5): a
/// phone cannot). Only the PIN's keyed hash is stored; the PIN is shown this once.
pub(super) async fn dial_in_pin(
    state: &AppState,
    link: &NewLink,
    require_eid: bool,
) -> Result<Option<DialIn>, HttpError> {
    if require_eid {
        return Ok(None);
    }
    let Some(phone) = &state.config.phone else {
        return Ok(None);
    };
    let Some(config) = phone.dial_in() else {
        return Ok(None);
    };
    if link.role == InvitationRole::Chair {
        return Ok(None);
    }
    // A PIN another invitation drew already is drawn again (rare: 10^9 PINs and more).
    for _ in 0..4 {
        let Some(pin) = phone.new_pin() else {
            return Ok(None);
        };
        if state
            .store
            .set_link_pin(&link.id, &phone.pin_hash(pin.expose()))
            .await?
        {
            return Ok(Some(DialIn {
                number: config.number.clone(),
                pin: pin.expose().to_owned(),
            }));
        }
    }
    Err(HttpError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "internal",
        "No free dial-in PIN was found; try again.",
    ))
}

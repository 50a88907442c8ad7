//! Meetings and invitations, by hand in the pages or from a booking system (R3, R13, R16).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sluss_meeting::MeetingTitle;
use sluss_protocol::{CreateMeeting, CreatedMeeting, Invitation, InvitationRole, MeetingList};
use sluss_protocol::{MeetingSummary, NewInvitation};

use super::{invitation, principal, text_refused, Principal, SCOPE_INVITATIONS, SCOPE_MEETINGS};
use crate::error::{ApiJson, HttpError};
use crate::secret::{random_id, Secret};
use crate::store::MeetingFlags;
use crate::store::{AuditEvent, NewLink};
use crate::{unix_now, AppState};

/// Enough for a large meeting (the default limit is 50 people) and its replacements.
const MAX_INVITATIONS: usize = 100;
const MAX_DURATION_MINUTES: u32 = 24 * 60;

pub async fn create_meeting(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateMeeting>,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    who.require(SCOPE_MEETINGS)?;
    let title = MeetingTitle::parse(&body.title).map_err(|e| text_refused("title", e))?;
    let mut wanted: Vec<NewInvitation> = body.invitations.clone();
    wanted.extend((0..body.guests).map(|_| NewInvitation {
        role: InvitationRole::Guest,
        expires_at: None,
    }));
    if wanted.len() > MAX_INVITATIONS {
        return Err(HttpError::bad_request(format!(
            "At most {MAX_INVITATIONS} invitations per meeting."
        )));
    }
    if body.require_eid && state.eid_rp.is_none() {
        return Err(HttpError::bad_request(
            "This server has no e-identification provider configured ([citizen_eid] in the config), so a meeting cannot require it.",
        ));
    }
    if wanted.iter().any(|i| i.role == InvitationRole::Chair) {
        return Err(HttpError::bad_request(
            "The chair's link is made with the meeting; invite others with other roles.",
        ));
    }
    if body
        .duration_minutes
        .is_some_and(|d| d == 0 || d > MAX_DURATION_MINUTES)
    {
        return Err(HttpError::bad_request(
            "duration_minutes must be 1 to 1440.",
        ));
    }
    let now = unix_now();
    let default_expiry = now + state.config.link_ttl.as_secs() as i64;
    for i in &wanted {
        check_expiry(i.expires_at, now)?;
    }
    let meeting_id = random_id("m_");
    let chair = (Secret::generate(), random_id("l_"));
    let guests: Vec<(Secret, String, &NewInvitation)> = wanted
        .iter()
        .map(|i| (Secret::generate(), random_id("l_"), i))
        .collect();
    let mut links = vec![NewLink {
        id: chair.1.clone(),
        token_hash: chair.0.hash(),
        role: InvitationRole::Chair,
        expires_at: Some(default_expiry),
    }];
    links.extend(guests.iter().map(|(secret, id, i)| NewLink {
        id: id.clone(),
        token_hash: secret.hash(),
        role: i.role,
        expires_at: Some(i.expires_at.unwrap_or(default_expiry)),
    }));
    let duration = body.duration_minutes.map(i64::from);
    state
        .store
        .create_scheduled_meeting(
            &meeting_id,
            title.as_str(),
            MeetingFlags {
                sensitive: body.sensitive,
                require_eid: body.require_eid,
            },
            body.starts_at,
            duration,
            now,
            &links,
        )
        .await?;
    let event = AuditEvent {
        meeting_id: Some(meeting_id.clone()),
        event: "meeting_created",
        actor: Some(who.audit_name()),
        subject: None,
        details: serde_json::json!({
            "links": links.iter().map(|l| serde_json::json!({"id": l.id, "role": l.role.as_str()})).collect::<Vec<_>>(),
            "sensitive": body.sensitive,
            "require_eid": body.require_eid,
        }),
    };
    state.store.audit(event, now).await?;
    tracing::info!(meeting = %meeting_id, invitations = guests.len(), "meeting created");
    let schedule = body.starts_at.map(|s| (s, duration.unwrap_or(60)));
    let invitations: Vec<Invitation> = guests
        .iter()
        .zip(&links[1..])
        .map(|((secret, id, i), link)| {
            make_invitation(
                &state,
                id,
                i.role,
                secret,
                link.expires_at.unwrap_or(default_expiry),
                schedule,
                now,
            )
        })
        .collect();
    let created = CreatedMeeting {
        meeting_id,
        title: title.as_str().to_owned(),
        chair_link: link_url(&state, &chair.0),
        guest_links: invitations.iter().map(|i| i.link.clone()).collect(),
        invitations,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub async fn list_meetings(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    if !matches!(who, Principal::Staff { .. }) {
        return Err(HttpError::unauthorized());
    }
    who.require(SCOPE_MEETINGS)?;
    let meetings = state
        .store
        .list_meetings(200)
        .await?
        .into_iter()
        .map(|m| MeetingSummary {
            participants: state.registry.participant_count(&m.id) as u32,
            meeting_id: m.id,
            title: m.title,
            created_at: m.created_at,
        })
        .collect();
    Ok(Json(MeetingList { meetings }).into_response())
}

/// Cancels a meeting: it ends for everyone in it, and none of its links works again.
pub async fn cancel_meeting(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(meeting_id): Path<String>,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    who.require(SCOPE_MEETINGS)?;
    let meeting = open_meeting(&state, &meeting_id).await?;
    let now = unix_now();
    state.store.end_meeting(&meeting.id, now).await?;
    state
        .store
        .audit(
            AuditEvent {
                meeting_id: Some(meeting.id.clone()),
                event: "meeting_cancelled",
                actor: Some(who.audit_name()),
                ..AuditEvent::default()
            },
            now,
        )
        .await?;
    state.registry.cancel(&meeting.id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn add_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(meeting_id): Path<String>,
    ApiJson(body): ApiJson<NewInvitation>,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    who.require(SCOPE_INVITATIONS)?;
    if body.role == InvitationRole::Chair {
        return Err(HttpError::bad_request(
            "A meeting has one chair link, made with it.",
        ));
    }
    let meeting = open_meeting(&state, &meeting_id).await?;
    let now = unix_now();
    check_expiry(body.expires_at, now)?;
    let expires_at = body
        .expires_at
        .unwrap_or(now + state.config.link_ttl.as_secs() as i64);
    let secret = Secret::generate();
    let id = random_id("l_");
    let link = NewLink {
        id: id.clone(),
        token_hash: secret.hash(),
        role: body.role,
        expires_at: Some(expires_at),
    };
    if !state.store.add_link(&meeting.id, &link, now).await? {
        return Err(meeting_gone());
    }
    state
        .store
        .audit(
            AuditEvent {
                meeting_id: Some(meeting.id.clone()),
                event: "invited",
                actor: Some(who.audit_name()),
                subject: Some(id.clone()),
                details: serde_json::json!({ "role": body.role.as_str() }),
            },
            now,
        )
        .await?;
    let schedule = meeting
        .starts_at
        .map(|s| (s, meeting.duration_minutes.unwrap_or(60)));
    let invitation = make_invitation(&state, &id, body.role, &secret, expires_at, schedule, now);
    Ok((StatusCode::CREATED, Json(invitation)).into_response())
}

/// Revokes an invitation; whoever holds it is put out of the lobby or the meeting at once.
pub async fn revoke_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((meeting_id, invitation_id)): Path<(String, String)>,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    who.require(SCOPE_INVITATIONS)?;
    if meeting_id.len() > 64 || invitation_id.len() > 64 {
        return Err(HttpError::bad_request("Unknown meeting or invitation."));
    }
    let now = unix_now();
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

async fn open_meeting(
    state: &AppState,
    meeting_id: &str,
) -> Result<crate::store::MeetingDetails, HttpError> {
    if meeting_id.len() > 64 {
        return Err(meeting_gone());
    }
    match state.store.meeting(meeting_id).await? {
        Some(m) if !m.ended => Ok(m),
        _ => Err(meeting_gone()),
    }
}

fn meeting_gone() -> HttpError {
    HttpError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such meeting, or it has ended.",
    )
}

fn check_expiry(expires_at: Option<i64>, now: i64) -> Result<(), HttpError> {
    match expires_at {
        Some(t) if t <= now => Err(HttpError::bad_request("expires_at is in the past.")),
        Some(t) if t > now + 400 * 24 * 3600 => Err(HttpError::bad_request(
            "expires_at is more than 400 days away.",
        )),
        _ => Ok(()),
    }
}

fn link_url(state: &AppState, secret: &Secret) -> String {
    format!("{}/join#{}", state.config.public_url, secret.expose())
}

fn make_invitation(
    state: &AppState,
    id: &str,
    role: InvitationRole,
    secret: &Secret,
    expires_at: i64,
    schedule: Option<(i64, i64)>,
    now: i64,
) -> Invitation {
    let link = link_url(state, secret);
    Invitation {
        invitation_id: id.to_owned(),
        role,
        text: invitation::text(&link),
        ics: schedule.map(|(start, minutes)| invitation::ics(id, &link, start, minutes, now)),
        link,
        expires_at,
    }
}

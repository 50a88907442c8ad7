//! Meetings, by hand in the pages or from a booking system (R16), each with its convener
//! (docs/meeting-ownership.md): create, list, change and cancel.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sluss_meeting::MeetingTitle;
use sluss_protocol::{CreateMeeting, CreatedMeeting, InvitationRole, ListMeetings, MeetingList};
use sluss_protocol::{NewInvitation, UpdateMeeting};

use super::links::{check_staff_invitee, dial_in_pin, link_url, make_invitation};
use super::meeting_page::summary;
use super::owners::{changeable_meeting, meeting_gone, refused, require_lister, standing};
use super::{principal, text_refused, SCOPE_MEETINGS};
use crate::error::{ApiJson, HttpError};
use crate::secret::{random_id, Secret};
use crate::store::{AuditEvent, MeetingFlags, NewLink, NewMeeting, StaffInvitee};
use crate::{unix_now, AppState};

/// The most meetings one list answer carries.
const MAX_LISTED: i64 = 200;
/// How far back the list reaches for ended meetings, when asked to.
const ENDED_LISTED_SECS: i64 = 30 * 86_400;

pub async fn create_meeting(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateMeeting>,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    who.require(SCOPE_MEETINGS)?;
    let now = unix_now();
    // Every count and time is bounded before anything is made from it.
    body.validate(now).map_err(refused)?;
    let title = MeetingTitle::parse(&body.title).map_err(|e| text_refused("title", e))?;
    if body.require_eid && state.eid_rp.is_none() {
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "eid_not_configured",
            "This server has no e-identification provider configured ([citizen_eid] in the config), so a meeting cannot require it.",
        ));
    }
    let guest = NewInvitation {
        role: InvitationRole::Guest,
        expires_at: None,
        staff_user_id: None,
    };
    let wanted: Vec<NewInvitation> = body
        .invitations
        .iter()
        .cloned()
        .chain(std::iter::repeat_n(guest, body.guests as usize))
        .collect();
    for i in &wanted {
        check_staff_invitee(&state, i).await?;
    }
    let default_expiry = now + state.config.link_ttl.as_secs() as i64;
    let chair = Secret::generate();
    let guests: Vec<(Secret, NewLink)> = wanted
        .iter()
        .map(|i| {
            let secret = Secret::generate();
            let link = new_link(&secret, i.role, i.expires_at.unwrap_or(default_expiry));
            (secret, link)
        })
        .collect();
    let mut links = vec![new_link(&chair, InvitationRole::Chair, default_expiry)];
    links.extend(guests.iter().map(|(_, l)| l.clone()));
    let invitees: Vec<StaffInvitee> = wanted
        .iter()
        .zip(&guests)
        .filter_map(|(i, (_, l))| {
            i.staff_user_id.as_deref().map(|user_id| StaffInvitee {
                link_id: &l.id,
                user_id,
            })
        })
        .collect();
    let meeting_id = random_id("m_");
    let convener = who.asker().as_convener;
    let duration = body.duration_minutes.map(i64::from);
    let meeting = NewMeeting {
        id: &meeting_id,
        title: title.as_str(),
        flags: MeetingFlags {
            sensitive: body.sensitive,
            require_eid: body.require_eid,
        },
        starts_at: body.starts_at,
        duration_minutes: duration,
        convener: Some(&convener),
    };
    state
        .store
        .create_convened_meeting(&meeting, &links, &invitees, now)
        .await?;
    let event = AuditEvent {
        meeting_id: Some(meeting_id.clone()),
        event: "meeting_created",
        actor: Some(who.audit_name()),
        subject: None,
        details: serde_json::json!({
            "links": links.iter().map(|l| serde_json::json!({"id": l.id, "role": l.role.as_str()})).collect::<Vec<_>>(),
            "staff_invitees": invitees.iter().map(|i| serde_json::json!({"id": i.link_id, "staff_user_id": i.user_id})).collect::<Vec<_>>(),
            "sensitive": body.sensitive,
            "require_eid": body.require_eid,
        }),
    };
    state.store.audit(event, now).await?;
    tracing::info!(meeting = %meeting_id, invitations = guests.len(), "meeting created");
    let schedule = body.starts_at.map(|s| (s, duration.unwrap_or(60)));
    let mut invitations = Vec::with_capacity(guests.len());
    for (secret, l) in &guests {
        let dial_in = dial_in_pin(&state, l, body.require_eid).await?;
        invitations.push(make_invitation(&state, l, secret, schedule, dial_in, now));
    }
    let created = CreatedMeeting {
        meeting_id,
        title: title.as_str().to_owned(),
        chair_link: link_url(&state, &chair),
        guest_links: invitations.iter().map(|i| i.link.clone()).collect(),
        invitations,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

fn new_link(secret: &Secret, role: InvitationRole, expires_at: i64) -> NewLink {
    NewLink {
        id: random_id("l_"),
        token_hash: secret.hash(),
        role,
        expires_at: Some(expires_at),
    }
}

/// The open meetings the caller convened or is invited to as staff; all for an administrator.
/// With `include_ended=true`, also those that ended in the last [`ENDED_LISTED_SECS`].
pub async fn list_meetings(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ListMeetings>, QueryRejection>,
) -> Result<Response, HttpError> {
    let Query(query) =
        query.map_err(|_| HttpError::bad_request("The only parameter is include_ended=true."))?;
    let who = principal(&state, &headers).await?;
    require_lister(&who)?;
    let asker = who.asker();
    let ended_since = query.include_ended.then(|| unix_now() - ENDED_LISTED_SECS);
    let meetings = state
        .store
        .visible_meetings(&asker, ended_since, MAX_LISTED)
        .await?
        .into_iter()
        .filter_map(|m| {
            let role = standing(&asker, &m)?;
            Some(summary(&state, m, role))
        })
        .collect();
    Ok(Json(MeetingList { meetings }).into_response())
}

/// Changes a meeting's title, start or length; bounded like a new meeting, and audited.
pub async fn update_meeting(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(meeting_id): Path<String>,
    ApiJson(body): ApiJson<UpdateMeeting>,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    who.require_manager(SCOPE_MEETINGS)?;
    let now = unix_now();
    body.validate(now).map_err(refused)?;
    let title = body
        .title
        .as_deref()
        .map(MeetingTitle::parse)
        .transpose()
        .map_err(|e| text_refused("title", e))?;
    let meeting = changeable_meeting(&state, &who, &meeting_id, true).await?;
    let duration = body.duration_minutes.map(i64::from);
    let title = title.as_ref().map(MeetingTitle::as_str);
    if !state
        .store
        .update_meeting(&meeting.details.id, title, body.starts_at, duration)
        .await?
    {
        return Err(meeting_gone());
    }
    let fields: Vec<&str> = [
        title.map(|_| "title"),
        body.starts_at.map(|_| "starts_at"),
        duration.map(|_| "duration_minutes"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let event = AuditEvent {
        meeting_id: Some(meeting.details.id.clone()),
        event: "meeting_changed",
        actor: Some(who.audit_name()),
        subject: None,
        details: serde_json::json!({
            "fields": fields,
            "starts_at": body.starts_at,
            "duration_minutes": duration,
        }),
    };
    state.store.audit(event, now).await?;
    let asker = who.asker();
    let changed = state
        .store
        .meeting_access(&meeting.details.id, &asker)
        .await?
        .ok_or_else(meeting_gone)?;
    let role = standing(&asker, &changed).ok_or_else(meeting_gone)?;
    Ok(Json(summary(&state, changed, role)).into_response())
}

/// Cancels a meeting: it ends for everyone in it, and none of its links works again.
pub async fn cancel_meeting(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(meeting_id): Path<String>,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    who.require_manager(SCOPE_MEETINGS)?;
    let meeting = changeable_meeting(&state, &who, &meeting_id, true).await?;
    let id = meeting.details.id;
    let now = unix_now();
    state.store.end_meeting(&id, now).await?;
    state
        .store
        .audit(
            AuditEvent {
                meeting_id: Some(id.clone()),
                event: "meeting_cancelled",
                actor: Some(who.audit_name()),
                ..AuditEvent::default()
            },
            now,
        )
        .await?;
    state.registry.cancel(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

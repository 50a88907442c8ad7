//! A meeting's page for staff: the meeting and what became of each invitation (never a link:
//! only the tokens' hashes are kept), and a new link for an invitation, shown once, that
//! revokes the old one (R3, R13, R16; docs/meeting-ownership.md).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sluss_protocol::{check_id, CallerRole, InvitationState, InvitationStatus, MeetingDetail};
use sluss_protocol::{MeetingStatus, MeetingSummary};

use super::links::{dial_in_pin, make_invitation};
use super::owners::{changeable_meeting, meeting_gone, refused, require_lister, standing};
use super::{principal, SCOPE_INVITATIONS};
use crate::error::HttpError;
use crate::secret::{random_id, Secret};
use crate::store::{AuditEvent, LinkActivity, MeetingAccess, NewLink, Reissue, Reissued};
use crate::{unix_now, AppState};

/// From how long before its booked start a meeting counts as ongoing.
const EARLY_SECS: i64 = 15 * 60;

/// Where a meeting stands (see [`MeetingStatus`]).
pub fn meeting_status(
    now: i64,
    ended_at: Option<i64>,
    starts_at: Option<i64>,
    duration_minutes: Option<i64>,
    participants: u64,
) -> MeetingStatus {
    if ended_at.is_some() {
        return MeetingStatus::Past;
    }
    if participants > 0 {
        return MeetingStatus::Ongoing;
    }
    let Some(start) = starts_at else {
        return MeetingStatus::Coming;
    };
    let end = start.saturating_add(duration_minutes.unwrap_or(60).clamp(1, 1 << 20) * 60);
    if now < start.saturating_sub(EARLY_SECS) {
        MeetingStatus::Coming
    } else if now <= end {
        MeetingStatus::Ongoing
    } else {
        MeetingStatus::Past
    }
}

/// What became of an invitation. `here` is its holder's seat in the running meeting, if any:
/// true in the room, false in the lobby. A revoked link's holder has been put out; a link that
/// expired while its holder was inside leaves them inside.
pub fn invitation_state(link: &LinkActivity, here: Option<bool>, now: i64) -> InvitationState {
    if link.revoked_at.is_some() {
        return InvitationState::Revoked;
    }
    match here {
        Some(true) => return InvitationState::InMeeting,
        Some(false) => return InvitationState::Waiting,
        None => {}
    }
    if link.expires_at.is_some_and(|t| t <= now) {
        InvitationState::Expired
    } else if link.entered_at.is_some() {
        InvitationState::Left
    } else if link.opened_at.is_some() {
        InvitationState::Opened
    } else {
        InvitationState::NotOpened
    }
}

/// The invitations in the order people think of them: originals as they were made, each new
/// link right after the one it replaced.
fn in_order(links: Vec<LinkActivity>) -> Vec<LinkActivity> {
    let mut replaced_by: HashMap<String, Vec<LinkActivity>> = HashMap::new();
    let mut roots = Vec::new();
    for link in links {
        match &link.replaces {
            Some(old) => replaced_by.entry(old.clone()).or_default().push(link),
            None => roots.push(link),
        }
    }
    let mut ordered = Vec::new();
    let mut stack: Vec<LinkActivity> = roots.into_iter().rev().collect();
    while let Some(link) = stack.pop() {
        if let Some(newer) = replaced_by.remove(&link.id) {
            stack.extend(newer.into_iter().rev());
        }
        ordered.push(link);
    }
    // A link whose predecessor fell outside the listing's bound still shows.
    ordered.extend(replaced_by.into_values().flatten());
    ordered
}

/// The meeting as a list shows it.
pub(super) fn summary(state: &AppState, m: MeetingAccess, role: CallerRole) -> MeetingSummary {
    let participants = state.registry.participant_count(&m.details.id);
    let status = meeting_status(
        unix_now(),
        m.ended_at,
        m.details.starts_at,
        m.details.duration_minutes,
        participants,
    );
    MeetingSummary {
        participants: participants as u32,
        meeting_id: m.details.id,
        title: m.details.title,
        created_at: m.created_at,
        starts_at: m.details.starts_at,
        duration_minutes: m
            .details
            .duration_minutes
            .and_then(|d| u32::try_from(d).ok()),
        caller_role: role,
        status,
        ended_at: m.ended_at,
    }
}

/// `GET /meetings/{id}`: the meeting and its invitations with their states, for its convener
/// and administrators, and read-only for staff a staff invitation names. Ended meetings too.
pub async fn get_meeting(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(meeting_id): Path<String>,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    require_lister(&who)?;
    // The invitations are the invitations scope's to read, as they are its to change.
    who.require_manager(SCOPE_INVITATIONS)?;
    check_id("meeting_id", &meeting_id).map_err(refused)?;
    let asker = who.asker();
    let meeting = state
        .store
        .meeting_access(&meeting_id, &asker)
        .await?
        .ok_or_else(meeting_gone)?;
    let role = standing(&asker, &meeting).ok_or_else(meeting_gone)?;
    let (sensitive, require_eid) = (meeting.sensitive, meeting.details.require_eid);
    let id = meeting.details.id.clone();
    let ended = meeting.ended_at.is_some();
    let links = state.store.meeting_links(&id).await?;
    // An ended meeting has nobody in it, whatever a task still closing down says.
    let here = if ended {
        HashMap::new()
    } else {
        state.registry.presence(&id).await
    };
    let now = unix_now();
    let replaced_by: HashMap<String, String> = links
        .iter()
        .filter_map(|l| l.replaces.clone().map(|old| (old, l.id.clone())))
        .collect();
    // Staff invitations name an account: the page shows its name.
    let names: HashMap<String, String> = if links.iter().any(|l| l.staff_user_id.is_some()) {
        let accounts = state.store.list_accounts().await?;
        accounts
            .into_iter()
            .map(|a| (a.id, a.display_name))
            .collect()
    } else {
        HashMap::new()
    };
    let invitations = in_order(links)
        .into_iter()
        .map(|l| InvitationStatus {
            staff_name: l.staff_user_id.as_ref().and_then(|u| names.get(u).cloned()),
            state: invitation_state(&l, here.get(&l.id).copied(), now),
            replaced_by: replaced_by.get(&l.id).cloned(),
            invitation_id: l.id,
            role: l.role,
            created_at: l.created_at,
            expires_at: l.expires_at,
            opened_at: l.opened_at,
            entered_at: l.entered_at,
            revoked_at: l.revoked_at,
            replaces: l.replaces,
            staff_user_id: l.staff_user_id,
        })
        .collect();
    let detail = MeetingDetail {
        meeting: summary(&state, meeting, role),
        sensitive,
        require_eid,
        invitations,
    };
    Ok(Json(detail).into_response())
}

/// `POST /meetings/{id}/invitations/{invitation_id}/reissue`: a new link for the same person
/// (role and staff account kept), shown this once with its neutral text and calendar file;
/// the old link is revoked and its holder put out at once. Convener or administrator only.
pub async fn reissue_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((meeting_id, invitation_id)): Path<(String, String)>,
) -> Result<Response, HttpError> {
    let who = principal(&state, &headers).await?;
    who.require_manager(SCOPE_INVITATIONS)?;
    check_id("invitation_id", &invitation_id).map_err(refused)?;
    // Ended meetings are found, so that the refusal can say why.
    let meeting = changeable_meeting(&state, &who, &meeting_id, false).await?;
    let id = meeting.details.id.clone();
    let now = unix_now();
    let secret = Secret::generate();
    let new_id = random_id("l_");
    let token_hash = secret.hash();
    let reissue = Reissue {
        meeting_id: &id,
        old_id: &invitation_id,
        new_id: &new_id,
        token_hash: &token_hash,
        fresh_expiry: now + state.config.link_ttl.as_secs() as i64,
    };
    let (role, expires_at) = match state.store.reissue_link(&reissue, now).await? {
        Reissued::Done { role, expires_at } => (role, expires_at),
        Reissued::Unknown => return Err(no_such_invitation()),
        Reissued::Revoked => return Err(invitation_revoked()),
        Reissued::MeetingEnded => return Err(meeting_ended()),
        Reissued::TooMany => return Err(too_many_invitations()),
    };
    let event = AuditEvent {
        meeting_id: Some(id.clone()),
        event: "invitation_reissued",
        actor: Some(who.audit_name()),
        subject: Some(invitation_id.clone()),
        details: serde_json::json!({ "role": role.as_str(), "new_invitation_id": new_id }),
    };
    state.store.audit(event, now).await?;
    state.registry.revoke(&id, &invitation_id);
    let link = NewLink {
        id: new_id,
        token_hash,
        role,
        expires_at: Some(expires_at),
    };
    let schedule = meeting
        .details
        .starts_at
        .map(|s| (s, meeting.details.duration_minutes.unwrap_or(60)));
    let dial_in = dial_in_pin(&state, &link, meeting.details.require_eid).await?;
    let mut invitation = make_invitation(&state, &link, &secret, schedule, dial_in, now);
    invitation.replaces = Some(invitation_id);
    Ok((StatusCode::CREATED, Json(invitation)).into_response())
}

fn no_such_invitation() -> HttpError {
    HttpError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such invitation in that meeting.",
    )
}

fn invitation_revoked() -> HttpError {
    HttpError::new(
        StatusCode::CONFLICT,
        "invitation_revoked",
        "This invitation was revoked or already has a newer link; give the newer one a new link, or invite the person again.",
    )
}

fn meeting_ended() -> HttpError {
    HttpError::new(
        StatusCode::CONFLICT,
        "meeting_ended",
        "The meeting has ended or was cancelled; its links cannot be renewed.",
    )
}

pub(super) fn too_many_invitations() -> HttpError {
    HttpError::new(
        StatusCode::CONFLICT,
        "too_many_invitations",
        "This meeting has as many links as a meeting may hold.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluss_protocol::InvitationRole;

    fn link(id: &str, replaces: Option<&str>) -> LinkActivity {
        LinkActivity {
            id: id.into(),
            role: InvitationRole::Patient,
            created_at: 0,
            expires_at: Some(1_000),
            revoked_at: None,
            opened_at: None,
            entered_at: None,
            replaces: replaces.map(Into::into),
            staff_user_id: None,
        }
    }

    #[test]
    fn an_invitation_goes_from_not_opened_to_waiting_to_in_the_meeting_and_out() {
        let mut l = link("l_1", None);
        assert_eq!(invitation_state(&l, None, 10), InvitationState::NotOpened);
        l.opened_at = Some(5);
        assert_eq!(invitation_state(&l, None, 10), InvitationState::Opened);
        assert_eq!(
            invitation_state(&l, Some(false), 10),
            InvitationState::Waiting
        );
        assert_eq!(
            invitation_state(&l, Some(true), 10),
            InvitationState::InMeeting
        );
        l.entered_at = Some(6);
        assert_eq!(invitation_state(&l, None, 10), InvitationState::Left);
        // Expiry stops new joins, not the one inside.
        assert_eq!(
            invitation_state(&l, Some(true), 1_000),
            InvitationState::InMeeting
        );
        assert_eq!(invitation_state(&l, None, 1_000), InvitationState::Expired);
        l.revoked_at = Some(7);
        assert_eq!(
            invitation_state(&l, Some(true), 10),
            InvitationState::Revoked
        );
    }

    #[test]
    fn a_new_link_stands_right_after_the_one_it_replaced() {
        let links = vec![
            link("a", None),
            link("b", None),
            link("a2", Some("a")),
            link("a3", Some("a2")),
            link("c", None),
            link("x2", Some("x_outside_the_bound")),
        ];
        let ids: Vec<String> = in_order(links).into_iter().map(|l| l.id).collect();
        assert_eq!(ids, ["a", "a2", "a3", "b", "c", "x2"]);
    }

    #[test]
    fn a_meeting_is_coming_then_ongoing_then_past() {
        let start = 100_000;
        let at = |now, ended, people| meeting_status(now, ended, Some(start), Some(30), people);
        assert_eq!(at(start - 3_600, None, 0), MeetingStatus::Coming);
        assert_eq!(at(start - 600, None, 0), MeetingStatus::Ongoing);
        assert_eq!(at(start + 1_800, None, 0), MeetingStatus::Ongoing);
        assert_eq!(at(start + 1_801, None, 0), MeetingStatus::Past);
        // Running late, with people in it: still ongoing.
        assert_eq!(at(start + 7_200, None, 2), MeetingStatus::Ongoing);
        assert_eq!(at(start - 3_600, Some(1), 0), MeetingStatus::Past);
        assert_eq!(
            meeting_status(start, None, None, None, 0),
            MeetingStatus::Coming
        );
        // A stored row with absurd numbers does not overflow.
        assert_eq!(
            meeting_status(i64::MAX, None, Some(i64::MAX), Some(i64::MAX), 0),
            MeetingStatus::Ongoing
        );
    }
}

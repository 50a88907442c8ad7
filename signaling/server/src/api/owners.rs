//! Meetings belong to someone (docs/meeting-ownership.md): who may see and act on which
//! meeting. The convener (the member of staff or API token that created it) and administrators
//! act on it; staff named by a staff invitation see it; nobody else learns that it exists.

use axum::http::StatusCode;
use sluss_protocol::{check_id, BodyError, CallerRole};

use super::{Principal, SCOPE_MEETINGS};
use crate::error::HttpError;
use crate::store::{Asker, Convener, MeetingAccess};
use crate::AppState;

impl Principal {
    /// Who the caller is when meetings are looked up.
    pub fn asker(&self) -> Asker {
        match self {
            Principal::Staff { user_id, roles, .. } => Asker {
                as_convener: Convener::Staff(user_id.clone()),
                admin: roles.iter().any(|r| r == "admin"),
            },
            Principal::Booking { token_id, .. } => Asker {
                as_convener: Convener::Api(token_id.clone()),
                admin: false,
            },
        }
    }

    /// Staff and administrators manage meetings; an API token needs the scope.
    pub fn require_manager(&self, scope: &str) -> Result<(), HttpError> {
        match self {
            Principal::Staff { roles, .. } if roles.iter().any(|r| r == "admin") => Ok(()),
            _ => self.require(scope),
        }
    }
}

/// Why the asker may see a meeting; `None` when they may not learn that it exists.
pub fn standing(asker: &Asker, meeting: &MeetingAccess) -> Option<CallerRole> {
    if meeting.convener.as_ref() == Some(&asker.as_convener) {
        Some(CallerRole::Convener)
    } else if asker.admin {
        Some(CallerRole::Admin)
    } else if meeting.invites_asker {
        Some(CallerRole::Invited)
    } else {
        None
    }
}

/// Staff invited to a meeting see it; only its convener and administrators change it.
pub fn may_change(role: CallerRole) -> bool {
    matches!(role, CallerRole::Convener | CallerRole::Admin)
}

/// The meeting, if the caller may change it: 404 when they may not see it (or it has ended and
/// `open` is asked for), 403 when they see it but may not change it.
pub async fn changeable_meeting(
    state: &AppState,
    who: &Principal,
    meeting_id: &str,
    open: bool,
) -> Result<MeetingAccess, HttpError> {
    check_id("meeting_id", meeting_id).map_err(refused)?;
    let asker = who.asker();
    let meeting = state
        .store
        .meeting_access(meeting_id, &asker)
        .await?
        .filter(|m| !(open && m.details.ended))
        .ok_or_else(meeting_gone)?;
    match standing(&asker, &meeting) {
        None => Err(meeting_gone()),
        Some(role) if !may_change(role) => Err(HttpError::new(
            StatusCode::FORBIDDEN,
            "not_convener",
            "Only the meeting's convener or an administrator can change it.",
        )),
        Some(_) => Ok(meeting),
    }
}

/// The list's gate: staff and administrators with a session, tokens with the meetings scope.
pub fn require_lister(who: &Principal) -> Result<(), HttpError> {
    who.require_manager(SCOPE_MEETINGS)
}

/// A body or path value outside its bounds, as the API says it.
pub fn refused(e: BodyError) -> HttpError {
    HttpError::new(StatusCode::BAD_REQUEST, e.code(), e.to_string())
}

/// The one answer for a meeting that does not exist, has ended, or is not the caller's to see.
pub fn meeting_gone() -> HttpError {
    HttpError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such meeting, or it has ended.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MeetingDetails;

    fn meeting(convener: Option<Convener>, invites_asker: bool) -> MeetingAccess {
        MeetingAccess {
            details: MeetingDetails {
                id: "m_1".into(),
                title: "Möte".into(),
                starts_at: None,
                duration_minutes: None,
                ended: false,
                require_eid: false,
            },
            created_at: 0,
            convener,
            invites_asker,
            ended_at: None,
            sensitive: true,
        }
    }

    fn staff(id: &str, admin: bool) -> Asker {
        Asker {
            as_convener: Convener::Staff(id.into()),
            admin,
        }
    }

    #[test]
    fn the_convener_and_administrators_change_a_meeting_and_invited_staff_only_see_it() {
        let annas = meeting(Some(Convener::Staff("u_anna".into())), false);
        assert_eq!(
            standing(&staff("u_anna", false), &annas),
            Some(CallerRole::Convener)
        );
        assert_eq!(standing(&staff("u_bo", false), &annas), None);
        assert_eq!(
            standing(&staff("u_root", true), &annas),
            Some(CallerRole::Admin)
        );
        let invited = meeting(Some(Convener::Staff("u_anna".into())), true);
        let role = standing(&staff("u_bo", false), &invited).unwrap();
        assert_eq!(role, CallerRole::Invited);
        assert!(!may_change(role));
    }

    #[test]
    fn a_token_acts_on_its_own_meetings_and_an_old_meeting_only_admins_touch() {
        let t1 = Asker {
            as_convener: Convener::Api("t_1".into()),
            admin: false,
        };
        let by_t1 = meeting(Some(Convener::Api("t_1".into())), false);
        let by_t2 = meeting(Some(Convener::Api("t_2".into())), false);
        assert_eq!(standing(&t1, &by_t1), Some(CallerRole::Convener));
        assert_eq!(standing(&t1, &by_t2), None);
        // A staff user whose id equals a token's id is still not that token.
        let same_id = meeting(Some(Convener::Staff("t_1".into())), false);
        assert_eq!(standing(&t1, &same_id), None);
        let unowned = meeting(None, false);
        assert_eq!(standing(&t1, &unowned), None);
        assert_eq!(standing(&staff("u_anna", false), &unowned), None);
        assert_eq!(
            standing(&staff("u_root", true), &unowned),
            Some(CallerRole::Admin)
        );
    }
}

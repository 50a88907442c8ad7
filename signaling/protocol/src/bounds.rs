//! The bounds of every number, time, count and id a REST body carries.
//!
//! A booking system is trusted with a token, not with the server's memory: one request once
//! asked for 4,294,967,295 guest links and the allocation took the whole process down. Every
//! body is therefore checked here, in one place per body, before the server allocates, stores
//! or computes anything from it. Free text (titles) is checked by the meeting core's text types,
//! which also apply the personal identity number guard (R12).

use std::fmt;

use crate::rest::UpdateMeeting;
use crate::rest::{ClaimSetup, CreateMeeting, InspectLink, InvitationRole, NewInvitation};

/// Invitations per request: enough for a large meeting (the default limit is 50 people) and its
/// replacements.
pub const MAX_INVITATIONS: usize = 100;
/// The longest meeting: a working day and then some.
pub const MAX_DURATION_MINUTES: u32 = 24 * 60;
/// A start time may lie this far in the past (a meeting booked while it is already running).
pub const MAX_START_BEHIND_SECS: i64 = 24 * 3600;
/// And this far ahead (two years of bookings).
pub const MAX_START_AHEAD_SECS: i64 = 731 * 24 * 3600;
/// A link may be made to work this long.
pub const MAX_EXPIRY_AHEAD_SECS: i64 = 400 * 24 * 3600;
/// Meeting, invitation and user ids are short; anything longer is not one of ours.
pub const MAX_ID_CHARS: usize = 64;
/// Link tokens are 43 characters; this leaves room without letting a body carry kilobytes.
pub const MAX_TOKEN_CHARS: usize = 128;

/// Why a REST body was refused. [`BodyError::code`] is the stable code, `Display` the message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// A number, time, length or count outside what the API accepts.
    OutOfRange {
        field: &'static str,
        /// What the field must be, for the message.
        rule: String,
    },
    /// The chair's link is made with the meeting, never asked for.
    ChairInvitation,
    /// `staff_user_id` names the staff member of a staff invitation, and of nothing else.
    StaffUserWithoutStaffRole,
    /// An update that names no field.
    NothingToChange,
}

impl BodyError {
    pub fn code(&self) -> &'static str {
        match self {
            BodyError::OutOfRange { .. } => "out_of_range",
            BodyError::ChairInvitation => "bad_request",
            BodyError::StaffUserWithoutStaffRole => "bad_request",
            BodyError::NothingToChange => "bad_request",
        }
    }

    fn out_of_range(field: &'static str, rule: impl Into<String>) -> BodyError {
        BodyError::OutOfRange {
            field,
            rule: rule.into(),
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::OutOfRange { field, rule } => write!(f, "{field} {rule}."),
            BodyError::ChairInvitation => f.write_str(
                "The chair's link is made with the meeting; invite others with other roles.",
            ),
            BodyError::StaffUserWithoutStaffRole => {
                f.write_str("staff_user_id is only for invitations with the role staff.")
            }
            BodyError::NothingToChange => {
                f.write_str("Name at least one of title, starts_at and duration_minutes.")
            }
        }
    }
}

impl std::error::Error for BodyError {}

impl CreateMeeting {
    /// Checks every count, time and id against its bound; `now` is Unix seconds. Counts are
    /// checked before anything is made from them.
    pub fn validate(&self, now: i64) -> Result<(), BodyError> {
        let wanted = u64::from(self.guests).saturating_add(self.invitations.len() as u64);
        if wanted > MAX_INVITATIONS as u64 {
            return Err(BodyError::out_of_range(
                "guests",
                format!("and invitations together must be at most {MAX_INVITATIONS}"),
            ));
        }
        for invitation in &self.invitations {
            invitation.validate(now)?;
        }
        check_schedule(self.starts_at, self.duration_minutes, now)
    }
}

impl NewInvitation {
    pub fn validate(&self, now: i64) -> Result<(), BodyError> {
        if self.role == InvitationRole::Chair {
            return Err(BodyError::ChairInvitation);
        }
        if let Some(t) = self.expires_at {
            if t <= now || t > now.saturating_add(MAX_EXPIRY_AHEAD_SECS) {
                return Err(BodyError::out_of_range(
                    "expires_at",
                    "must be in the future and at most 400 days away",
                ));
            }
        }
        if let Some(user) = &self.staff_user_id {
            if self.role != InvitationRole::Staff {
                return Err(BodyError::StaffUserWithoutStaffRole);
            }
            check_id("staff_user_id", user)?;
        }
        Ok(())
    }
}

impl UpdateMeeting {
    /// The title is checked by the meeting core's `MeetingTitle` (length and R12).
    pub fn validate(&self, now: i64) -> Result<(), BodyError> {
        if self.title.is_none() && self.starts_at.is_none() && self.duration_minutes.is_none() {
            return Err(BodyError::NothingToChange);
        }
        check_schedule(self.starts_at, self.duration_minutes, now)
    }
}

impl InspectLink {
    pub fn validate(&self) -> Result<(), BodyError> {
        check_token(&self.token)
    }
}

impl ClaimSetup {
    pub fn validate(&self) -> Result<(), BodyError> {
        check_token(&self.token)
    }
}

/// An id from a path or a body: 1 to [`MAX_ID_CHARS`] characters.
pub fn check_id(field: &'static str, id: &str) -> Result<(), BodyError> {
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS {
        return Err(BodyError::out_of_range(
            field,
            format!("must be 1 to {MAX_ID_CHARS} characters"),
        ));
    }
    Ok(())
}

fn check_token(token: &str) -> Result<(), BodyError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(BodyError::out_of_range(
            "token",
            format!("must be at most {MAX_TOKEN_CHARS} characters"),
        ));
    }
    Ok(())
}

fn check_schedule(
    starts_at: Option<i64>,
    duration_minutes: Option<u32>,
    now: i64,
) -> Result<(), BodyError> {
    if let Some(t) = starts_at {
        let earliest = now.saturating_sub(MAX_START_BEHIND_SECS);
        let latest = now.saturating_add(MAX_START_AHEAD_SECS);
        if t < earliest || t > latest {
            return Err(BodyError::out_of_range(
                "starts_at",
                "must be at most a day in the past and at most two years ahead",
            ));
        }
    }
    if duration_minutes.is_some_and(|d| d == 0 || d > MAX_DURATION_MINUTES) {
        return Err(BodyError::out_of_range(
            "duration_minutes",
            format!("must be 1 to {MAX_DURATION_MINUTES}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn meeting(json: serde_json::Value) -> CreateMeeting {
        serde_json::from_value(json).unwrap()
    }

    fn code(r: Result<(), BodyError>) -> Option<&'static str> {
        r.err().map(|e| e.code())
    }

    #[test]
    fn every_extreme_of_a_new_meeting_is_out_of_range() {
        for body in [
            serde_json::json!({"title": "M", "guests": u32::MAX}),
            serde_json::json!({"title": "M", "guests": 100, "invitations": [{"role": "patient"}]}),
            serde_json::json!({"title": "M", "starts_at": i64::MAX}),
            serde_json::json!({"title": "M", "starts_at": i64::MIN}),
            serde_json::json!({"title": "M", "starts_at": NOW - 24 * 3600 - 1}),
            serde_json::json!({"title": "M", "starts_at": NOW + MAX_START_AHEAD_SECS + 1}),
            serde_json::json!({"title": "M", "duration_minutes": u32::MAX}),
            serde_json::json!({"title": "M", "duration_minutes": 0}),
            serde_json::json!({"title": "M", "invitations": [{"role": "guest", "expires_at": i64::MAX}]}),
            serde_json::json!({"title": "M", "invitations": [{"role": "guest", "expires_at": i64::MIN}]}),
            serde_json::json!({"title": "M", "invitations": [{"role": "staff", "staff_user_id": "u".repeat(65)}]}),
        ] {
            assert_eq!(
                code(meeting(body.clone()).validate(NOW)),
                Some("out_of_range"),
                "{body}"
            );
        }
    }

    #[test]
    fn the_limits_themselves_are_accepted() {
        let body = serde_json::json!({
            "title": "M", "guests": 99, "invitations": [{"role": "staff", "staff_user_id": "u_a"}],
            "starts_at": NOW + MAX_START_AHEAD_SECS, "duration_minutes": MAX_DURATION_MINUTES,
        });
        assert_eq!(meeting(body).validate(NOW), Ok(()));
        let yesterday =
            serde_json::json!({"title": "M", "starts_at": NOW - 24 * 3600, "duration_minutes": 1});
        assert_eq!(meeting(yesterday).validate(NOW), Ok(()));
    }

    #[test]
    fn a_staff_user_is_named_only_on_a_staff_invitation() {
        let body = serde_json::json!({"title": "M", "invitations": [{"role": "patient", "staff_user_id": "u_a"}]});
        assert_eq!(
            meeting(body).validate(NOW),
            Err(BodyError::StaffUserWithoutStaffRole)
        );
    }

    #[test]
    fn an_update_names_something_and_stays_in_range() {
        assert_eq!(
            UpdateMeeting::default().validate(NOW),
            Err(BodyError::NothingToChange)
        );
        let far = UpdateMeeting {
            starts_at: Some(i64::MAX),
            ..UpdateMeeting::default()
        };
        assert_eq!(code(far.validate(NOW)), Some("out_of_range"));
        let long = UpdateMeeting {
            duration_minutes: Some(1441),
            ..UpdateMeeting::default()
        };
        assert_eq!(code(long.validate(NOW)), Some("out_of_range"));
    }

    #[test]
    fn long_tokens_are_refused() {
        let token = InspectLink {
            token: "a".repeat(MAX_TOKEN_CHARS + 1),
        };
        assert_eq!(code(token.validate()), Some("out_of_range"));
    }
}

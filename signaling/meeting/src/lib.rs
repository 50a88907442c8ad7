//! The meeting policy of Sluss, sans-IO: who is in a meeting and who waits in its lobby, who
//! chairs, how each person was identified, and what happens when people come, drop out, come
//! back, are admitted, denied or removed, and when the chair ends the meeting (R4-R8).
//!
//! # Driving it
//!
//! The shell owns one [`Meeting`] per live meeting and calls it with the current time; every
//! call returns the [`Effect`]s to carry out (tell the others, start or stop media). The core
//! makes no ids and reads no clock: the shell passes fresh random ids and `Instant`s in.
//!
//! ```
//! use std::time::Instant;
//! use sluss_meeting::*;
//!
//! let now = Instant::now();
//! let mut meeting = Meeting::new(MeetingConfig::default());
//! let join = |link: &str, role, id: &str| JoinRequest {
//!     link: LinkId::new(link),
//!     role,
//!     invitee: Invitee::Patient,
//!     staff: (role == Role::Chair).then(|| StaffAccount::new("u_karin")),
//!     name: DisplayName::parse("Anna").unwrap(),
//!     e_identified: false,
//!     resume: None,
//!     new_id: ParticipantId::new(id),
//!     new_resume: ResumeKey::new(format!("r_{id}")),
//! };
//! // The convener enters and chairs; a guest knocks and waits in the lobby.
//! meeting.join(now, join("l1", Role::Chair, "chair")).unwrap();
//! let (_, effects) = meeting.join(now, join("l2", Role::Guest, "guest")).unwrap();
//! assert_eq!(effects, vec![Effect::Knocked(ParticipantId::new("guest"))]);
//! // Only the chair can let the guest in.
//! let guest = ParticipantId::new("guest");
//! assert_eq!(
//!     meeting.act(now, &guest, ChairAction::Admit(guest.clone())),
//!     Err(ActionError::NotChair)
//! );
//! let chair = ParticipantId::new("chair");
//! meeting.act(now, &chair, ChairAction::Admit(guest.clone())).unwrap();
//! assert!(meeting.participant(&guest).unwrap().is_admitted());
//! // Ending the meeting empties it for good.
//! meeting.act(now, &chair, ChairAction::End).unwrap();
//! assert_eq!(meeting.join(now, join("l2", Role::Guest, "again")).unwrap_err(), JoinError::Ended);
//! ```
//!
//! The invariants, proven by a property test over random command sequences: at most one seat
//! in the room per personal link; nobody but the convener and logged-in staff is in the room
//! without an admission by the chair of the time; only the chair's actions take effect; only
//! logged-in staff chair; nobody is identified by a login they did not go through on their
//! connection or the seat they took back; after the end nothing is admitted and no link joins.
//!
//! A seat is not a credential: only its resume secret (rotated at every use) or the same
//! staff login takes it back. A link opened again without either knocks in the lobby as a
//! newcomer, and the person on the seat stays until the chair admits the newcomer.

mod ids;
mod meeting;
mod name;
mod personnummer;

pub use ids::{CallId, LinkId, MeetingId, ParticipantId, ResumeKey, StaffAccount};
pub use meeting::{ActionError, Admission, ChairAction, Identification, Participant, Presence};
pub use meeting::{AudioRoute, CallEnd, MAX_CALLS, MAX_DIALS_PER_WINDOW};
pub use meeting::{Effect, JoinError, JoinOutcome, JoinRequest, Meeting, MeetingConfig, Role};
pub use meeting::{Invitee, RecordingKind, RefusalReason, ScreenStopReason};
pub use name::{ChatText, DisplayName, MeetingTitle, NameError, PHONE_NUMBER_EXAMPLE};
pub use personnummer::{
    contains_personal_identity_number, find_personal_identity_number, IdentityNumberFound,
};

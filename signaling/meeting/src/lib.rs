//! The meeting policy of Sluss, sans-IO: who is in a meeting, in which role, and what happens
//! when they come, drop out, come back and go.
//!
//! # Driving it
//!
//! The shell owns one [`Meeting`] per live meeting and calls it with the current time; every
//! call returns the [`Effect`]s to carry out (tell the others, start or stop media). The core
//! makes no ids and reads no clock: the shell passes fresh random ids and `Instant`s in.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sluss_meeting::*;
//!
//! let now = Instant::now();
//! let mut meeting = Meeting::new(MeetingConfig::default());
//! let name = DisplayName::parse("Anna").unwrap();
//! let (outcome, effects) = meeting
//!     .join(now, JoinRequest { link: LinkId::new("l1"), role: Role::Chair, name, new_id: ParticipantId::new("p1") })
//!     .unwrap();
//! assert_eq!(outcome, JoinOutcome::Joined(ParticipantId::new("p1")));
//! assert_eq!(effects, vec![Effect::Arrived(ParticipantId::new("p1"))]);
//! // A dropped connection keeps the seat for the grace period...
//! meeting.connection_lost(now, &ParticipantId::new("p1"));
//! // ...after which the participant has left.
//! let later = now + MeetingConfig::default().reconnect_grace + Duration::from_secs(1);
//! assert_eq!(meeting.handle_timeout(later), vec![Effect::Departed(ParticipantId::new("p1"))]);
//! ```
//!
//! The invariant: one seat per personal link. A link that joins again takes back its own seat
//! (after a network drop, or from a second device), it never adds a second participant.
//!
//! The lobby, identification, consent and the chair's powers (R4-R11) arrive here next; the
//! join outcome already separates "who asked" from "who is in".

mod ids;
mod meeting;
mod name;
mod personnummer;

pub use ids::{LinkId, MeetingId, ParticipantId};
pub use meeting::{Effect, JoinError, JoinOutcome, JoinRequest, Meeting, MeetingConfig};
pub use meeting::{Participant, Presence, Role};
pub use name::{DisplayName, MeetingTitle, NameError};
pub use personnummer::contains_personal_identity_number;

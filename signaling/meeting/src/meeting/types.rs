//! The meeting core's vocabulary: roles, admission, identification, requests and effects.

use std::time::{Duration, Instant};

use super::phone::CallEnd;
use crate::{CallId, ChatText, DisplayName, LinkId, ParticipantId, ResumeKey, StaffAccount};

#[derive(Debug, Clone)]
pub struct MeetingConfig {
    /// The most people in the room and the lobby together.
    pub max_participants: usize,
    /// How long a participant whose connection dropped keeps their seat.
    pub reconnect_grace: Duration,
}

impl Default for MeetingConfig {
    fn default() -> Self {
        MeetingConfig {
            max_participants: 50,
            reconnect_grace: Duration::from_secs(60),
        }
    }
}

/// What a link makes its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The convener: enters directly and chairs (R7).
    Chair,
    /// Everyone else: waits in the lobby until the chair admits them (R4).
    Guest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Connected,
    /// The connection dropped at `since`; the seat is kept for the grace period.
    Reconnecting {
        since: Instant,
    },
}

/// Whom an invitation is for (R3). Shown to the chair; decides which identification fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invitee {
    Patient,
    /// A relative (närstående).
    Relative,
    Staff,
    /// A professional from another organisation.
    Professional,
    Other,
}

/// Where a participant is: in the lobby or in the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Waiting {
        since: Instant,
    },
    /// In the room; `by` is the chair who admitted them, `None` for the convener.
    Admitted {
        by: Option<ParticipantId>,
    },
}

/// How the chair established who a participant is (R5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identification {
    EIdentification,
    StaffLogin,
    IdShownOnCamera,
    KnownFromBefore,
    VoiceRecognisedByPatient,
}

#[derive(Debug, Clone)]
pub struct Participant {
    pub id: ParticipantId,
    pub link: LinkId,
    pub name: DisplayName,
    pub role: Role,
    pub invitee: Invitee,
    /// The staff account logged in on this participant's connection now (R2). Decided at
    /// every join from that connection alone, never inherited from the seat, and taken away
    /// when the login ends.
    pub staff: Option<StaffAccount>,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub presence: Presence,
    pub admission: Admission,
    pub identification: Option<Identification>,
    /// This link was opened again while its seat was taken (a second tab, or a forwarded
    /// link): the chair decides between the two, and admitting this one closes the other.
    pub reopened: bool,
    /// The secret that takes this seat back; rotated at every resume.
    pub(super) resume: ResumeKey,
    /// The secret before the last rotation, still good until the page is known to have the
    /// new one (a `joined` lost on a dropping link must not cost the seat).
    pub(super) previous_resume: Option<ResumeKey>,
}

impl Participant {
    pub fn is_admitted(&self) -> bool {
        matches!(self.admission, Admission::Admitted { .. })
    }

    /// Logged in as staff on this connection now (R2).
    pub fn is_staff(&self) -> bool {
        self.staff.is_some()
    }

    /// Present by a staff login alone: the convener's link (whoever let it in: only a
    /// login may hold it), staff who entered on a staff invitation, or staff waiting; not
    /// someone the chair let in on another link.
    pub fn by_login_alone(&self) -> bool {
        self.is_staff()
            && (self.role == Role::Chair
                || !matches!(self.admission, Admission::Admitted { by: Some(_) }))
    }
}

#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub link: LinkId,
    pub role: Role,
    pub invitee: Invitee,
    /// The staff account logged in on this connection (R2), if any: with a staff invitation
    /// its holder enters directly unless the meeting is locked, and may take the chair.
    pub staff: Option<StaffAccount>,
    pub name: DisplayName,
    /// The person identified with e-identification on this browser just before joining (R5).
    pub e_identified: bool,
    /// The resume secret this connection presents, from its earlier `joined`.
    pub resume: Option<ResumeKey>,
    /// The id a new participant gets; unused when the seat is taken back.
    pub new_id: ParticipantId,
    /// A fresh secret for taking this seat back later; the shell makes one for every join.
    pub new_resume: ResumeKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// A new participant (in the room or in the lobby: see its admission). A link opened
    /// again without its resume secret while its seat is taken joins this way too, in the
    /// lobby.
    Joined(ParticipantId),
    /// The seat was taken back (its resume secret, or the same staff login) after a drop, to
    /// where it was.
    Resumed(ParticipantId),
    /// The seat was taken back while its old connection still seemed up: that connection
    /// must be closed.
    Replaced(ParticipantId),
}

impl JoinOutcome {
    pub fn participant(&self) -> &ParticipantId {
        match self {
            JoinOutcome::Joined(p) | JoinOutcome::Resumed(p) | JoinOutcome::Replaced(p) => p,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinError {
    Full,
    Ended,
    /// R5: this meeting lets guests knock only after e-identification.
    IdentificationRequired,
    /// R2, R7: the chair's link needs a staff login on this connection.
    LoginRequired,
    /// This link was turned away or removed a short while ago; it may knock again later.
    TooSoon,
}

/// What the chair may do (R4-R8). Every one is refused to anyone but the chair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChairAction {
    Admit(ParticipantId),
    Deny(ParticipantId),
    Remove(ParticipantId),
    /// Mute someone's microphone; unmuting stays their own.
    Mute(ParticipantId),
    SetLocked(bool),
    /// R7: hand the chair to another logged-in member of staff in the room.
    HandOver(ParticipantId),
    /// R11: let someone share a window or tab (or take that away, stopping their share).
    AllowScreenShare(ParticipantId, bool),
    /// R10: chat in a sensitive meeting is off until the chair turns it on.
    SetChat(bool),
    Identify(ParticipantId, Identification),
    /// The patient's consent to the meeting and to who takes part (R6).
    RecordConsent,
    /// R14: call this participant's phone (the shell holds the number and names the call);
    /// when it is answered, their voice goes by phone and their browser's audio is cut.
    MoveAudioToPhone {
        participant: ParticipantId,
        call: CallId,
    },
    /// R14: their voice goes by their browser again; a call still up is hung up.
    AudioToBrowser(ParticipantId),
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionError {
    NotChair,
    NoSuchParticipant,
    NotWaiting,
    NotInRoom,
    /// R5: "voice recognised by the patient" identifies relatives only.
    OnlyForRelatives,
    /// R7: the chair goes only to logged-in staff in the room.
    NotStaff,
    /// R5: e-identification and staff login are proven by those flows, never recorded by hand.
    NotAttestable,
    /// R14: that participant's voice already goes by phone, or a call to them is ringing.
    AlreadyByPhone,
    /// R14: their voice goes by their browser already.
    NotByPhone,
    /// R14: the meeting has as many calls as it may, or dialled too many lately.
    TooManyCalls,
    Ended,
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ActionError::NotChair => "only the chair may do that",
            ActionError::NoSuchParticipant => "no such participant",
            ActionError::NotWaiting => "that person is not waiting in the lobby",
            ActionError::NotInRoom => "that person is not in the meeting",
            ActionError::NotStaff => {
                "the chair can be handed only to logged-in staff in the meeting"
            }
            ActionError::OnlyForRelatives => {
                "only a relative can be identified by the patient recognising their voice"
            }
            ActionError::NotAttestable => {
                "e-identification and staff login are recorded by those logins, not by hand"
            }
            ActionError::AlreadyByPhone => "that person's voice already goes by phone",
            ActionError::NotByPhone => "that person's voice goes by their browser already",
            ActionError::TooManyCalls => "this meeting cannot place more phone calls now",
            ActionError::Ended => "the meeting has ended",
        })
    }
}

impl std::error::Error for ActionError {}

/// What the shell must make happen. Each is also an audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Someone entered the room directly (the convener): tell the room.
    Arrived(ParticipantId),
    /// Someone waits in the lobby: tell the chair (visibly and audibly).
    Knocked(ParticipantId),
    /// The chair let someone in: tell them and the room; start their media.
    Admitted {
        participant: ParticipantId,
        by: ParticipantId,
    },
    /// The chair turned someone away: tell them and close their connection.
    Denied {
        participant: ParticipantId,
        by: ParticipantId,
    },
    /// The chair removed someone: stop their media and close their connection.
    Removed {
        participant: ParticipantId,
        by: ParticipantId,
    },
    /// The chair muted someone: tell their page to mute.
    Muted {
        participant: ParticipantId,
        by: ParticipantId,
    },
    /// Someone's visible state changed (mute, connection, identification).
    Updated(ParticipantId),
    /// Someone left the room or the lobby.
    Departed(ParticipantId),
    ChairChanged {
        chair: Option<ParticipantId>,
    },
    LockChanged {
        locked: bool,
        by: ParticipantId,
    },
    Identified {
        participant: ParticipantId,
        how: Identification,
        by: ParticipantId,
    },
    ConsentRecorded {
        by: ParticipantId,
    },
    /// The meeting is over: disconnect everyone; no link works for it any more.
    Ended {
        by: ParticipantId,
    },
    /// The organiser or booking system cancelled the meeting: as `Ended`.
    Cancelled,
    /// The participant's invitation was revoked: close their connection.
    Revoked(ParticipantId),
    /// The chair let in `successor`, who opened the same link again: `participant`'s
    /// connection is closed and their seat is gone.
    Superseded {
        participant: ParticipantId,
        successor: ParticipantId,
    },
    /// Someone opened the same link again while a newer arrival on it was still waiting: the
    /// older waiting one gives way.
    Withdrawn(ParticipantId),
    /// The staff login on this participant's connection ended (logout, account disabled,
    /// session expired): no staff rights, no staff-login identification, no chair. Someone
    /// present by that login alone is `put_out`: close their connection.
    StaffLoginEnded {
        participant: ParticipantId,
        put_out: bool,
    },
    ChatChanged {
        enabled: bool,
        by: ParticipantId,
    },
    /// Deliver to everyone in the room now, and to no one else, ever (R10). Never stored.
    Chat {
        from: ParticipantId,
        text: ChatText,
    },
    /// R9: someone asked to record or transcribe a sensitive meeting; it was refused.
    RecordingRefused {
        by: ParticipantId,
        kind: RecordingKind,
    },
    ScreenShareAllowed {
        participant: ParticipantId,
        allowed: bool,
        by: ParticipantId,
    },
    /// R11: forward this participant's screen track from now on.
    ScreenShareStarted(ParticipantId),
    /// R11: stop forwarding it, at once.
    ScreenShareStopped {
        participant: ParticipantId,
        reason: ScreenStopReason,
    },
    /// R14: place the call (the number is the shell's, from the chair's request).
    DialOut {
        participant: ParticipantId,
        call: CallId,
        by: ParticipantId,
    },
    /// R14: this participant's voice goes by phone now (`true`: cut their browser's audio
    /// both ways) or by their browser again. Tell the room: the tile says which.
    AudioRouted {
        participant: ParticipantId,
        by_phone: bool,
    },
    /// R14: end this call (it is no longer wanted, or its participant is gone).
    HangUp(CallId),
    /// R14: the call ended (hung up, not answered, failed). If it had been answered, the
    /// participant's browser audio stays cut until the chair or they ask for it back.
    CallEnded {
        participant: ParticipantId,
        call: CallId,
        how: CallEnd,
    },
}

/// Why a screen share stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenStopReason {
    /// The sharer stopped, or someone else started sharing.
    Stopped,
    /// Someone who is not identified came into the room (R11).
    UnidentifiedAdmitted,
    /// The chair took the permission away.
    PermissionRevoked,
    /// The sharer left the room.
    Left,
}

/// What someone asked to capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingKind {
    Recording,
    Transcription,
}

/// Why a chat message or a recording request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// R9: a sensitive meeting cannot be recorded or transcribed.
    Sensitive,
    /// Recording of non-sensitive meetings is not offered by this server yet.
    NotAvailable,
    /// R10: chat is off.
    ChatOff,
    /// Only those in the room may chat.
    NotInRoom,
    /// R11: the chair has not allowed this person to share.
    ScreenNotAllowed,
    /// R11: someone in the room is not identified yet.
    SomeoneUnidentified,
    Ended,
}

impl std::fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RefusalReason::Sensitive => {
                "this meeting is sensitive: it cannot be recorded or transcribed"
            }
            RefusalReason::NotAvailable => "recording is not available on this server",
            RefusalReason::ChatOff => "chat is off in this meeting",
            RefusalReason::NotInRoom => "only people in the meeting can do that",
            RefusalReason::ScreenNotAllowed => "the chair has not allowed you to share your screen",
            RefusalReason::SomeoneUnidentified => {
                "screen sharing needs everyone in the meeting to be identified first"
            }
            RefusalReason::Ended => "the meeting has ended",
        })
    }
}

//! One meeting: who is in the room, who waits in the lobby, who chairs, and how it ends.

use std::time::{Duration, Instant};

use crate::{ChatText, DisplayName, LinkId, ParticipantId};

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
    /// Logged in with staff credentials (R2) on this connection.
    pub staff_login: bool,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub presence: Presence,
    pub admission: Admission,
    pub identification: Option<Identification>,
}

impl Participant {
    pub fn is_admitted(&self) -> bool {
        matches!(self.admission, Admission::Admitted { .. })
    }
}

#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub link: LinkId,
    pub role: Role,
    pub invitee: Invitee,
    /// The person is logged in as staff (R2): with a staff invitation they enter directly
    /// unless the meeting is locked, and may take the chair.
    pub staff_login: bool,
    pub name: DisplayName,
    /// The person identified with e-identification just before joining (R5).
    pub e_identified: bool,
    /// The id a new participant gets; unused when the link already has a seat.
    pub new_id: ParticipantId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// A new participant (in the room or in the lobby: see its admission).
    Joined(ParticipantId),
    /// The link's participant came back after a drop, to where it was.
    Resumed(ParticipantId),
    /// The link's participant joined again while still connected (a second device or tab):
    /// the older connection must be closed.
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

#[derive(Debug)]
pub struct Meeting {
    config: MeetingConfig,
    participants: Vec<Participant>,
    chair: Option<ParticipantId>,
    locked: bool,
    consent: Option<(ParticipantId, Instant)>,
    ended: bool,
    sensitive: bool,
    chat_enabled: bool,
    screen_allowed: Vec<ParticipantId>,
    screen_sharer: Option<ParticipantId>,
    require_eid: bool,
}

impl Meeting {
    pub fn new(config: MeetingConfig) -> Meeting {
        Meeting {
            config,
            participants: Vec::new(),
            chair: None,
            locked: false,
            consent: None,
            ended: false,
            sensitive: true,
            chat_enabled: false,
            screen_allowed: Vec::new(),
            screen_sharer: None,
            require_eid: false,
        }
    }

    /// R5: guests must identify with e-identification before they may knock. Staff logged in
    /// (R2) are identified by their login.
    pub fn require_eid(mut self, required: bool) -> Meeting {
        self.require_eid = required;
        self
    }

    /// Care meetings are sensitive unless made otherwise (R9, R10). A meeting that is not
    /// sensitive starts with chat on.
    pub fn sensitive(mut self, sensitive: bool) -> Meeting {
        self.sensitive = sensitive;
        self.chat_enabled = !sensitive;
        self
    }

    /// R9: a request to record or transcribe. For a sensitive meeting the server has no way
    /// to start either: this is the only door, and it stays shut.
    pub fn request_recording(
        &mut self,
        by: &ParticipantId,
        kind: RecordingKind,
    ) -> (RefusalReason, Vec<Effect>) {
        if self.ended {
            return (RefusalReason::Ended, Vec::new());
        }
        let reason = if self.sensitive {
            RefusalReason::Sensitive
        } else {
            RefusalReason::NotAvailable
        };
        let effects = vec![Effect::RecordingRefused {
            by: by.clone(),
            kind,
        }];
        (reason, effects)
    }

    /// R10: a chat message, delivered to those in the room at this moment and to nobody else.
    pub fn chat(
        &mut self,
        from: &ParticipantId,
        text: ChatText,
    ) -> Result<Vec<Effect>, RefusalReason> {
        if self.ended {
            return Err(RefusalReason::Ended);
        }
        if !self.participant(from).is_some_and(|p| p.is_admitted()) {
            return Err(RefusalReason::NotInRoom);
        }
        if !self.chat_enabled {
            return Err(RefusalReason::ChatOff);
        }
        Ok(vec![Effect::Chat {
            from: from.clone(),
            text,
        }])
    }

    /// R11: share a window or tab. Only for those the chair allows (the chair may always),
    /// and only while everyone in the room is identified.
    pub fn start_screen_share(&mut self, id: &ParticipantId) -> Result<Vec<Effect>, RefusalReason> {
        if self.ended {
            return Err(RefusalReason::Ended);
        }
        if !self.participant(id).is_some_and(|p| p.is_admitted()) {
            return Err(RefusalReason::NotInRoom);
        }
        if self.chair.as_ref() != Some(id) && !self.screen_allowed.contains(id) {
            return Err(RefusalReason::ScreenNotAllowed);
        }
        if self
            .participants()
            .any(|p| p.is_admitted() && p.identification.is_none())
        {
            return Err(RefusalReason::SomeoneUnidentified);
        }
        let mut effects = Vec::new();
        if let Some(previous) = self.screen_sharer.replace(id.clone()) {
            if &previous != id {
                effects.push(Effect::ScreenShareStopped {
                    participant: previous,
                    reason: ScreenStopReason::Stopped,
                });
            }
        }
        effects.push(Effect::ScreenShareStarted(id.clone()));
        Ok(effects)
    }

    pub fn stop_screen_share(&mut self, id: &ParticipantId) -> Vec<Effect> {
        self.stop_share_if(|sharer| sharer == id, ScreenStopReason::Stopped)
    }

    fn stop_share_if(
        &mut self,
        cond: impl Fn(&ParticipantId) -> bool,
        reason: ScreenStopReason,
    ) -> Vec<Effect> {
        match self.screen_sharer.take() {
            Some(sharer) if cond(&sharer) => vec![Effect::ScreenShareStopped {
                participant: sharer,
                reason,
            }],
            other => {
                self.screen_sharer = other;
                Vec::new()
            }
        }
    }

    pub fn screen_sharer(&self) -> Option<&ParticipantId> {
        self.screen_sharer.as_ref()
    }

    pub fn may_share_screen(&self, id: &ParticipantId) -> bool {
        self.chair.as_ref() == Some(id) || self.screen_allowed.contains(id)
    }

    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    pub fn chat_enabled(&self) -> bool {
        self.chat_enabled
    }

    pub fn join(
        &mut self,
        now: Instant,
        request: JoinRequest,
    ) -> Result<(JoinOutcome, Vec<Effect>), JoinError> {
        if self.ended {
            return Err(JoinError::Ended);
        }
        if let Some(p) = self
            .participants
            .iter_mut()
            .find(|p| p.link == request.link)
        {
            let outcome = match p.presence {
                Presence::Reconnecting { .. } => JoinOutcome::Resumed(p.id.clone()),
                Presence::Connected => JoinOutcome::Replaced(p.id.clone()),
            };
            p.presence = Presence::Connected;
            p.name = request.name;
            return Ok((outcome, vec![Effect::Updated(p.id.clone())]));
        }
        if self.participants.len() >= self.config.max_participants {
            return Err(JoinError::Full);
        }
        if self.require_eid
            && request.role == Role::Guest
            && !request.staff_login
            && !request.e_identified
        {
            return Err(JoinError::IdentificationRequired);
        }
        let id = request.new_id;
        let mut effects = Vec::new();
        let admission = match request.role {
            // The convener enters and chairs. Nobody else is let in by their arrival.
            Role::Chair => {
                effects.push(Effect::Arrived(id.clone()));
                if self.chair.is_none() {
                    self.chair = Some(id.clone());
                    effects.push(Effect::ChairChanged {
                        chair: Some(id.clone()),
                    });
                }
                Admission::Admitted { by: None }
            }
            // R4: logged-in staff with a staff invitation enter directly, unless locked.
            Role::Guest
                if request.staff_login && request.invitee == Invitee::Staff && !self.locked =>
            {
                effects.push(Effect::Arrived(id.clone()));
                Admission::Admitted { by: None }
            }
            Role::Guest => {
                effects.push(Effect::Knocked(id.clone()));
                Admission::Waiting { since: now }
            }
        };
        // R5: a staff login is an identification of its own, and so is e-identification.
        let identification = if request.staff_login {
            Some(Identification::StaffLogin)
        } else if request.e_identified {
            Some(Identification::EIdentification)
        } else {
            None
        };
        self.participants.push(Participant {
            id: id.clone(),
            link: request.link,
            name: request.name,
            role: request.role,
            invitee: request.invitee,
            staff_login: request.staff_login,
            audio_muted: false,
            video_muted: false,
            presence: Presence::Connected,
            admission,
            identification,
        });
        Ok((JoinOutcome::Joined(id), effects))
    }

    /// The chair acts. Refused, with nothing changed, for anyone but the chair.
    pub fn act(
        &mut self,
        _now: Instant,
        actor: &ParticipantId,
        action: ChairAction,
    ) -> Result<Vec<Effect>, ActionError> {
        if self.ended {
            return Err(ActionError::Ended);
        }
        if self.chair.as_ref() != Some(actor) {
            return Err(ActionError::NotChair);
        }
        let by = actor.clone();
        match action {
            ChairAction::Admit(id) => {
                let p = self.find_mut(&id)?;
                if p.is_admitted() {
                    return Err(ActionError::NotWaiting);
                }
                p.admission = Admission::Admitted {
                    by: Some(by.clone()),
                };
                let unidentified = p.identification.is_none();
                let mut effects = vec![Effect::Admitted {
                    participant: id,
                    by,
                }];
                if unidentified {
                    // R11: no screen is shown to someone not yet identified.
                    effects.extend(
                        self.stop_share_if(|_| true, ScreenStopReason::UnidentifiedAdmitted),
                    );
                }
                Ok(effects)
            }
            ChairAction::Deny(id) => {
                if self.find_mut(&id)?.is_admitted() {
                    return Err(ActionError::NotWaiting);
                }
                self.participants.retain(|p| p.id != id);
                Ok(vec![Effect::Denied {
                    participant: id,
                    by,
                }])
            }
            ChairAction::Remove(id) => {
                if id == by {
                    return Err(ActionError::NoSuchParticipant);
                }
                self.find_mut(&id)?;
                self.participants.retain(|p| p.id != id);
                self.screen_allowed.retain(|p| p != &id);
                let mut effects = self.stop_share_if(|s| s == &id, ScreenStopReason::Left);
                effects.insert(
                    0,
                    Effect::Removed {
                        participant: id,
                        by,
                    },
                );
                Ok(effects)
            }
            ChairAction::Mute(id) => {
                let p = self.find_mut(&id)?;
                if !p.is_admitted() {
                    return Err(ActionError::NotInRoom);
                }
                p.audio_muted = true;
                Ok(vec![
                    Effect::Muted {
                        participant: id.clone(),
                        by,
                    },
                    Effect::Updated(id),
                ])
            }
            ChairAction::SetLocked(locked) => {
                self.locked = locked;
                Ok(vec![Effect::LockChanged { locked, by }])
            }
            ChairAction::HandOver(id) => {
                let p = self.find_mut(&id)?;
                if !p.is_admitted() || !p.staff_login || id == by {
                    return Err(ActionError::NotStaff);
                }
                self.chair = Some(id.clone());
                Ok(vec![Effect::ChairChanged { chair: Some(id) }])
            }
            ChairAction::AllowScreenShare(id, allowed) => {
                if !self.find_mut(&id)?.is_admitted() {
                    return Err(ActionError::NotInRoom);
                }
                self.screen_allowed.retain(|p| p != &id);
                if allowed {
                    self.screen_allowed.push(id.clone());
                }
                let mut effects = vec![Effect::ScreenShareAllowed {
                    participant: id.clone(),
                    allowed,
                    by,
                }];
                if !allowed {
                    effects.extend(
                        self.stop_share_if(|s| s == &id, ScreenStopReason::PermissionRevoked),
                    );
                }
                Ok(effects)
            }
            ChairAction::SetChat(enabled) => {
                self.chat_enabled = enabled;
                Ok(vec![Effect::ChatChanged { enabled, by }])
            }
            ChairAction::Identify(id, how) => {
                let p = self.find_mut(&id)?;
                if how == Identification::VoiceRecognisedByPatient && p.invitee != Invitee::Relative
                {
                    return Err(ActionError::OnlyForRelatives);
                }
                p.identification = Some(how);
                Ok(vec![
                    Effect::Identified {
                        participant: id.clone(),
                        how,
                        by,
                    },
                    Effect::Updated(id),
                ])
            }
            ChairAction::RecordConsent => {
                self.consent = Some((by.clone(), _now));
                Ok(vec![Effect::ConsentRecorded { by }])
            }
            ChairAction::End => {
                self.screen_sharer = None;
                self.ended = true;
                self.participants.clear();
                self.chair = None;
                Ok(vec![Effect::Ended { by }])
            }
        }
    }

    fn find_mut(&mut self, id: &ParticipantId) -> Result<&mut Participant, ActionError> {
        self.participants
            .iter_mut()
            .find(|p| &p.id == id)
            .ok_or(ActionError::NoSuchParticipant)
    }

    /// R3: an invitation was revoked; whoever holds it is out, from the lobby or the room.
    pub fn revoke(&mut self, link: &LinkId) -> Vec<Effect> {
        let Some(id) = self
            .participants
            .iter()
            .find(|p| &p.link == link)
            .map(|p| p.id.clone())
        else {
            return Vec::new();
        };
        self.participants.retain(|p| p.id != id);
        let mut effects = vec![Effect::Revoked(id.clone())];
        effects.extend(self.stop_share_if(|s| s == &id, ScreenStopReason::Left));
        effects.extend(self.chair_left(&id));
        effects
    }

    /// The organiser or the booking system cancelled the meeting: it ends as if the chair
    /// had ended it (R8, R16).
    pub fn cancel(&mut self) -> Vec<Effect> {
        if self.ended {
            return Vec::new();
        }
        self.ended = true;
        self.participants.clear();
        self.chair = None;
        self.screen_sharer = None;
        vec![Effect::Cancelled]
    }

    /// The participant's connection dropped without a goodbye. In the room the seat is kept for
    /// the grace period; in the lobby the knock is withdrawn (they knock again on return).
    pub fn connection_lost(&mut self, now: Instant, id: &ParticipantId) -> Vec<Effect> {
        let Some(p) = self.participants.iter_mut().find(|p| &p.id == id) else {
            return Vec::new();
        };
        if !p.is_admitted() {
            return self.leave(id);
        }
        if p.presence == Presence::Connected {
            p.presence = Presence::Reconnecting { since: now };
            return vec![Effect::Updated(id.clone())];
        }
        Vec::new()
    }

    /// The participant left on purpose.
    pub fn leave(&mut self, id: &ParticipantId) -> Vec<Effect> {
        let before = self.participants.len();
        self.participants.retain(|p| &p.id != id);
        if self.participants.len() == before {
            return Vec::new();
        }
        let mut effects = vec![Effect::Departed(id.clone())];
        effects.extend(self.stop_share_if(|s| s == id, ScreenStopReason::Left));
        self.screen_allowed.retain(|p| p != id);
        effects.extend(self.chair_left(id));
        effects
    }

    /// When the chair is gone, nobody chairs until the convener's link comes back; until then
    /// nobody can be admitted.
    fn chair_left(&mut self, id: &ParticipantId) -> Option<Effect> {
        if self.chair.as_ref() != Some(id) {
            return None;
        }
        // R7: the role passes to another logged-in member of staff in the room.
        self.chair = self
            .participants
            .iter()
            .find(|p| p.is_admitted() && p.staff_login && p.presence == Presence::Connected)
            .map(|p| p.id.clone());
        Some(Effect::ChairChanged {
            chair: self.chair.clone(),
        })
    }

    pub fn set_media_state(
        &mut self,
        id: &ParticipantId,
        audio_muted: bool,
        video_muted: bool,
    ) -> Vec<Effect> {
        match self.participants.iter_mut().find(|p| &p.id == id) {
            Some(p) if (p.audio_muted, p.video_muted) != (audio_muted, video_muted) => {
                p.audio_muted = audio_muted;
                p.video_muted = video_muted;
                vec![Effect::Updated(id.clone())]
            }
            _ => Vec::new(),
        }
    }

    /// Frees the seats of those whose reconnection time ran out.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Effect> {
        let grace = self.config.reconnect_grace;
        let expired: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|p| match p.presence {
                Presence::Reconnecting { since } => now.saturating_duration_since(since) >= grace,
                Presence::Connected => false,
            })
            .map(|p| p.id.clone())
            .collect();
        expired.iter().flat_map(|id| self.leave(id)).collect()
    }

    /// When [`Meeting::handle_timeout`] next has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.participants
            .iter()
            .filter_map(|p| match p.presence {
                Presence::Reconnecting { since } => Some(since + self.config.reconnect_grace),
                Presence::Connected => None,
            })
            .min()
    }

    pub fn participant(&self, id: &ParticipantId) -> Option<&Participant> {
        self.participants.iter().find(|p| &p.id == id)
    }

    pub fn participants(&self) -> impl Iterator<Item = &Participant> {
        self.participants.iter()
    }

    /// Those waiting in the lobby, longest first.
    pub fn lobby(&self) -> impl Iterator<Item = &Participant> {
        self.participants.iter().filter(|p| !p.is_admitted())
    }

    pub fn chair(&self) -> Option<&ParticipantId> {
        self.chair.as_ref()
    }

    pub fn is_locked(&self) -> bool {
        self.locked
    }

    pub fn consent(&self) -> Option<&ParticipantId> {
        self.consent.as_ref().map(|(by, _)| by)
    }

    pub fn is_empty(&self) -> bool {
        self.participants.is_empty()
    }

    pub fn is_ended(&self) -> bool {
        self.ended
    }
}

#[cfg(test)]
mod tests;

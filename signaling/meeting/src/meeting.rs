//! One meeting: who is in the room, who waits in the lobby, who chairs, and how it ends.

use std::collections::HashMap;
use std::time::Instant;

use crate::{ChatText, LinkId, ParticipantId};

mod phone;
mod seat;
mod types;
pub use phone::{AudioRoute, CallEnd, MAX_CALLS, MAX_DIALS_PER_WINDOW};
pub use types::*;

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
    /// Links turned away or removed, and when they may knock again (knock floods).
    cooldowns: HashMap<LinkId, seat::Cooldown>,
    /// Arrivals per link in the current window (knock floods).
    knocks: HashMap<LinkId, (Instant, u32)>,
    /// R14: its phone calls, and whose voice goes by phone.
    phones: phone::Phones,
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
            cooldowns: HashMap::new(),
            knocks: HashMap::new(),
            phones: phone::Phones::default(),
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

    /// R5: guests identify with e-identification before they knock.
    pub fn requires_eid(&self) -> bool {
        self.require_eid
    }

    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    pub fn chat_enabled(&self) -> bool {
        self.chat_enabled
    }

    /// The chair acts. Refused, with nothing changed, for anyone but the chair.
    /// Whoever an action takes out of the meeting, their phone call ends with them (R14).
    pub fn act(
        &mut self,
        now: Instant,
        actor: &ParticipantId,
        action: ChairAction,
    ) -> Result<Vec<Effect>, ActionError> {
        let mut effects = self.act_as_chair(now, actor, action)?;
        effects.extend(self.hang_up_the_gone());
        Ok(effects)
    }

    fn act_as_chair(
        &mut self,
        now: Instant,
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
                p.reopened = false;
                let unidentified = p.identification.is_none();
                let mut effects = vec![Effect::Admitted {
                    participant: id.clone(),
                    by,
                }];
                // The link's other seat, if it was opened again, is closed now.
                effects.extend(self.supersede_others(&id));
                if unidentified {
                    // R11: no screen is shown to someone not yet identified.
                    effects.extend(
                        self.stop_share_if(|_| true, ScreenStopReason::UnidentifiedAdmitted),
                    );
                }
                Ok(effects)
            }
            ChairAction::Deny(id) => {
                let p = self.find_mut(&id)?;
                if p.is_admitted() {
                    return Err(ActionError::NotWaiting);
                }
                let link = p.link.clone();
                self.participants.retain(|p| p.id != id);
                self.hold_back(now, link);
                Ok(vec![Effect::Denied {
                    participant: id,
                    by,
                }])
            }
            ChairAction::Remove(id) => {
                if id == by {
                    return Err(ActionError::NoSuchParticipant);
                }
                let link = self.find_mut(&id)?.link.clone();
                self.participants.retain(|p| p.id != id);
                self.hold_back(now, link);
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
                if !p.is_admitted() || !p.is_staff() || id == by {
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
                // R5: what a login proves is recorded by the login alone.
                if matches!(
                    how,
                    Identification::EIdentification | Identification::StaffLogin
                ) {
                    return Err(ActionError::NotAttestable);
                }
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
                self.consent = Some((by.clone(), now));
                Ok(vec![Effect::ConsentRecorded { by }])
            }
            ChairAction::MoveAudioToPhone { participant, call } => {
                self.move_audio_to_phone(now, by, participant, call)
            }
            ChairAction::AudioToBrowser(id) => {
                if !self.find_mut(&id)?.is_admitted() {
                    return Err(ActionError::NotInRoom);
                }
                self.audio_to_browser(&id)
            }
            ChairAction::End => {
                self.screen_sharer = None;
                self.ended = true;
                self.participants.clear();
                self.cooldowns.clear();
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
        let mut effects = vec![Effect::Cancelled];
        effects.extend(self.hang_up_the_gone());
        effects
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

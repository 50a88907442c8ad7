//! R14, the telephone fallback: the chair moves a participant's voice to their phone. The
//! meeting places the call; once it is answered the participant's browser audio is cut both
//! ways while their video goes on. A call ends with its participant: whatever takes someone
//! out of the meeting (leaving, removal, revocation, a successor on their link, the end) hangs
//! up their phone too. While a call is up, a browser that drops does not lose the seat: the
//! person is still in the meeting by phone.

use std::time::{Duration, Instant};

use super::{ActionError, Effect, Meeting};
use crate::{CallId, ParticipantId};

/// Calls a meeting may have at once (ringing or answered).
pub const MAX_CALLS: usize = 8;
/// Calls a meeting may place in [`DIAL_WINDOW`]: a chair's mistake, or a hijacked chair
/// session, cannot turn the gateway into a dialler.
pub const MAX_DIALS_PER_WINDOW: usize = 10;
const DIAL_WINDOW: Duration = Duration::from_secs(600);

/// Where a participant's voice goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioRoute {
    Browser,
    /// Their phone is ringing; their browser still carries their voice.
    Ringing(CallId),
    /// Their phone carries their voice; their browser's audio is cut both ways.
    Phone(CallId),
    /// Their call ended: their browser's audio stays cut until the chair or they ask for it.
    PhoneHungUp,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    /// Answered, and then hung up (by the phone, the trunk, or us).
    HungUp,
    /// Never answered: busy, no answer, refused, or it failed.
    NotAnswered,
}

#[derive(Debug, Clone)]
pub(super) struct Call {
    id: CallId,
    participant: ParticipantId,
    answered: bool,
}

/// The meeting's calls and whose voice goes by phone.
#[derive(Debug, Default)]
pub(super) struct Phones {
    calls: Vec<Call>,
    /// Calls we asked to end and whose end is not reported yet: they still hold a line, and
    /// their end goes into the trail when it comes.
    ending: Vec<Call>,
    /// Participants whose browser audio is cut (answered, or hung up and not restored).
    cut: Vec<ParticipantId>,
    /// When each call of the last `DIAL_WINDOW` was placed.
    dialled: Vec<Instant>,
}

impl Phones {
    /// Whether this participant's call is answered and its line still up (a hang-up we asked
    /// for holds the line until the trunk reports the end): their seat outlasts their browser
    /// until then, and `call_ended` frees it if the browser's grace has run out meanwhile.
    pub(super) fn on_call(&self, id: &ParticipantId) -> bool {
        self.calls
            .iter()
            .chain(&self.ending)
            .any(|c| &c.participant == id && c.answered)
    }
}

impl Meeting {
    /// Where this participant's voice goes.
    pub fn audio_route(&self, id: &ParticipantId) -> AudioRoute {
        let phones = &self.phones;
        match phones.calls.iter().find(|c| &c.participant == id) {
            Some(c) if c.answered => AudioRoute::Phone(c.id.clone()),
            Some(c) => AudioRoute::Ringing(c.id.clone()),
            None if phones.cut.contains(id) => AudioRoute::PhoneHungUp,
            None => AudioRoute::Browser,
        }
    }

    pub(super) fn move_audio_to_phone(
        &mut self,
        now: Instant,
        by: ParticipantId,
        participant: ParticipantId,
        call: CallId,
    ) -> Result<Vec<Effect>, ActionError> {
        if !self.find_mut(&participant)?.is_admitted() {
            return Err(ActionError::NotInRoom);
        }
        if matches!(
            self.audio_route(&participant),
            AudioRoute::Ringing(_) | AudioRoute::Phone(_)
        ) {
            return Err(ActionError::AlreadyByPhone);
        }
        let dials_left = self.dials_left(now);
        let phones = &mut self.phones;
        let lines = phones.calls.len() + phones.ending.len();
        if lines >= MAX_CALLS || dials_left == 0 {
            return Err(ActionError::TooManyCalls);
        }
        phones.dialled.push(now);
        phones.calls.push(Call {
            id: call.clone(),
            participant: participant.clone(),
            answered: false,
        });
        Ok(vec![
            Effect::DialOut {
                participant: participant.clone(),
                call,
                by,
            },
            Effect::Updated(participant),
        ])
    }

    /// Calls the meeting may still place in the current window.
    pub fn dials_left(&mut self, now: Instant) -> usize {
        let dialled = &mut self.phones.dialled;
        dialled.retain(|t| now.saturating_duration_since(*t) < DIAL_WINDOW);
        MAX_DIALS_PER_WINDOW.saturating_sub(dialled.len())
    }

    /// A call the meeting places that is not a split (the chair calling someone in) counts
    /// in the split's window, so that a meeting has one rate of calls, not one per kind.
    pub fn count_dial(&mut self, now: Instant) {
        if self.dials_left(now) > 0 {
            self.phones.dialled.push(now);
        }
    }

    /// R14: their voice goes by their browser again (the chair's action, or their own).
    pub fn audio_to_browser(&mut self, id: &ParticipantId) -> Result<Vec<Effect>, ActionError> {
        if self.ended {
            return Err(ActionError::Ended);
        }
        let route = self.audio_route(id);
        let phones = &mut self.phones;
        let mut effects = Vec::new();
        match route {
            AudioRoute::Browser => return Err(ActionError::NotByPhone),
            AudioRoute::Ringing(call) | AudioRoute::Phone(call) => {
                if let Some(i) = phones.calls.iter().position(|c| c.id == call) {
                    phones.ending.push(phones.calls.swap_remove(i));
                }
                effects.push(Effect::HangUp(call));
            }
            AudioRoute::PhoneHungUp => {}
        }
        let was_cut = phones.cut.contains(id);
        phones.cut.retain(|p| p != id);
        if was_cut {
            effects.push(Effect::AudioRouted {
                participant: id.clone(),
                by_phone: false,
            });
        }
        effects.push(Effect::Updated(id.clone()));
        Ok(effects)
    }

    /// The shell's report: the call was answered. Its participant's voice goes by phone.
    pub fn call_answered(&mut self, call: &CallId) -> Vec<Effect> {
        if self.phones.ending.iter().any(|c| &c.id == call) {
            // Answered just as we hung up: the hang-up is on its way.
            return Vec::new();
        }
        let Some(c) = self.phones.calls.iter_mut().find(|c| &c.id == call) else {
            // Unknown: it must not stay up.
            return vec![Effect::HangUp(call.clone())];
        };
        if c.answered {
            return Vec::new();
        }
        c.answered = true;
        let participant = c.participant.clone();
        if !self.phones.cut.contains(&participant) {
            self.phones.cut.push(participant.clone());
        }
        vec![
            Effect::AudioRouted {
                participant: participant.clone(),
                by_phone: true,
            },
            Effect::Updated(participant),
        ]
    }

    /// The shell's report: the call ended (whoever hung up, or it was never answered). An
    /// answered call leaves the browser's audio cut until someone asks for it back: the
    /// routine moved the voice off the speaker for a reason. If the participant's browser
    /// was gone longer than the reconnection grace, their seat goes now.
    pub fn call_ended(&mut self, now: Instant, call: &CallId) -> Vec<Effect> {
        let phones = &mut self.phones;
        let c = if let Some(i) = phones.calls.iter().position(|c| &c.id == call) {
            phones.calls.swap_remove(i)
        } else if let Some(i) = phones.ending.iter().position(|c| &c.id == call) {
            phones.ending.swap_remove(i)
        } else {
            return Vec::new();
        };
        let how = if c.answered {
            CallEnd::HungUp
        } else {
            CallEnd::NotAnswered
        };
        let present = self.participants.iter().any(|p| p.id == c.participant);
        let mut effects = vec![Effect::CallEnded {
            participant: c.participant.clone(),
            call: c.id,
            how,
        }];
        if present {
            effects.push(Effect::Updated(c.participant));
        }
        effects.extend(self.handle_timeout(now));
        effects
    }

    /// Hangs up the calls of those no longer in the meeting, whatever took them out.
    pub(super) fn hang_up_the_gone(&mut self) -> Vec<Effect> {
        let present: Vec<ParticipantId> = self.participants.iter().map(|p| p.id.clone()).collect();
        let phones = &mut self.phones;
        phones.cut.retain(|p| present.contains(p));
        let mut effects = Vec::new();
        let mut i = 0;
        while i < phones.calls.len() {
            if present.contains(&phones.calls[i].participant) {
                i += 1;
                continue;
            }
            let gone = phones.calls.swap_remove(i);
            effects.push(Effect::HangUp(gone.id.clone()));
            phones.ending.push(gone);
        }
        effects
    }
}

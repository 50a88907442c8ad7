//! Seats: joining, taking a seat back, leaving, dropping out, and what a link may carry over.
//!
//! A seat is not a credential. Only the seat's resume secret (handed to the connection that
//! holds it, rotated at every use) or the same staff login takes a seat back with its
//! admission and identification. Anyone else who opens the same link (a second tab without
//! the secret, a forwarded link in another browser) knocks as a new arrival, identified only
//! by what their own connection proves, and the person on the seat stays until the chair
//! admits the newcomer.

use std::time::{Duration, Instant};

use super::{Admission, Effect, Identification, Invitee, JoinError, JoinOutcome, JoinRequest};
use super::{Meeting, Participant, Presence, Role, ScreenStopReason};
use crate::{LinkId, ParticipantId};

/// How long a link that was turned away or removed waits before it may knock again; it
/// doubles with each further refusal, up to [`MAX_COOLDOWN`].
pub const FIRST_COOLDOWN: Duration = Duration::from_secs(30);
pub const MAX_COOLDOWN: Duration = Duration::from_secs(15 * 60);
/// A link that arrives this many times within [`KNOCK_WINDOW`] is held back as if turned
/// away: far more than a patient on a poor link reconnecting from the lobby.
pub const KNOCK_BURST: u32 = 10;
pub const KNOCK_WINDOW: Duration = Duration::from_secs(600);

/// A link held back from knocking.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cooldown {
    until: Instant,
    strikes: u32,
}

impl Meeting {
    /// A connection opens a link. See the module comment for what it may take over.
    pub fn join(
        &mut self,
        now: Instant,
        request: JoinRequest,
    ) -> Result<(JoinOutcome, Vec<Effect>), JoinError> {
        if self.ended {
            return Err(JoinError::Ended);
        }
        // R2, R7: whoever chairs is logged in as staff on this very connection.
        if request.role == Role::Chair && request.staff.is_none() {
            return Err(JoinError::LoginRequired);
        }
        if let Some(index) = self.seat_to_take_back(&request) {
            return Ok(self.take_back(index, request));
        }
        if self
            .cooldowns
            .get(&request.link)
            .is_some_and(|c| now < c.until)
        {
            return Err(JoinError::TooSoon);
        }
        if self.participants.len() >= self.config.max_participants {
            return Err(JoinError::Full);
        }
        if self.require_eid
            && request.role == Role::Guest
            && request.staff.is_none()
            && !request.e_identified
        {
            return Err(JoinError::IdentificationRequired);
        }
        let mut effects = Vec::new();
        let taken = self.participants.iter().any(|p| p.link == request.link);
        if taken {
            // At most one newcomer waits per link: an older one gives way.
            let older: Vec<ParticipantId> = self
                .participants
                .iter()
                .filter(|p| p.link == request.link && p.reopened)
                .map(|p| p.id.clone())
                .collect();
            for id in older {
                self.participants.retain(|p| p.id != id);
                effects.push(Effect::Withdrawn(id));
            }
        }
        let id = request.new_id;
        self.count_knock(now, &request.link);
        let admission = if taken {
            // R4: the seat is someone's; this connection proves nothing of theirs.
            effects.push(Effect::Knocked(id.clone()));
            Admission::Waiting { since: now }
        } else {
            self.first_admission(
                now,
                &id,
                &request.staff,
                request.role,
                request.invitee,
                &mut effects,
            )
        };
        // R5: a staff login is an identification of its own, and so is e-identification,
        // each only as proven on this connection.
        let identification = if request.staff.is_some() {
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
            staff: request.staff,
            audio_muted: false,
            video_muted: false,
            presence: Presence::Connected,
            admission,
            identification,
            reopened: taken,
            resume: request.new_resume,
            previous_resume: None,
        });
        Ok((JoinOutcome::Joined(id), effects))
    }

    /// Where someone arriving on a free link goes: the convener into the room and the chair,
    /// logged-in staff on a staff invitation into the room unless it is locked, everyone else
    /// into the lobby.
    fn first_admission(
        &mut self,
        now: Instant,
        id: &ParticipantId,
        staff: &Option<crate::StaffAccount>,
        role: Role,
        invitee: Invitee,
        effects: &mut Vec<Effect>,
    ) -> Admission {
        match role {
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
            Role::Guest if staff.is_some() && invitee == Invitee::Staff && !self.locked => {
                effects.push(Effect::Arrived(id.clone()));
                Admission::Admitted { by: None }
            }
            Role::Guest => {
                effects.push(Effect::Knocked(id.clone()));
                Admission::Waiting { since: now }
            }
        }
    }

    /// The seat on this link that the request proves to be its own: by the same staff login
    /// that holds it, or by the seat's current resume secret (and for a seat held with a
    /// staff login, a staff login on this connection too: a seat never lends its login).
    fn seat_to_take_back(&self, request: &JoinRequest) -> Option<usize> {
        self.participants.iter().position(|p| {
            let same_login = request.staff.is_some() && p.staff == request.staff;
            let secret = request.resume.as_ref().is_some_and(|r| {
                p.resume.matches(r) || p.previous_resume.as_ref().is_some_and(|old| old.matches(r))
            });
            p.link == request.link
                && (same_login || (secret && (request.staff.is_some() || !p.is_staff())))
        })
    }

    fn take_back(&mut self, index: usize, request: JoinRequest) -> (JoinOutcome, Vec<Effect>) {
        let p = &mut self.participants[index];
        let id = p.id.clone();
        let outcome = match p.presence {
            Presence::Reconnecting { .. } => JoinOutcome::Resumed(id.clone()),
            Presence::Connected => JoinOutcome::Replaced(id.clone()),
        };
        p.presence = Presence::Connected;
        p.name = request.name;
        // Rotated: the secret that was used is spent once the page has the new one.
        let old = std::mem::replace(&mut p.resume, request.new_resume);
        p.previous_resume = Some(old);
        if request.e_identified && p.identification.is_none() {
            p.identification = Some(Identification::EIdentification);
        }
        // R2: staff rights come from this connection's login, never from the seat (a seat
        // held with a login is taken back only with one: see `seat_to_take_back`).
        if let Some(account) = request.staff {
            p.staff = Some(account);
            if p.identification.is_none() {
                p.identification = Some(Identification::StaffLogin);
            }
        }
        (outcome, vec![Effect::Updated(id)])
    }

    /// The staff login on this participant's connection ended (logout, account disabled,
    /// session expired). Whoever was in the room or the lobby by that login alone (the
    /// convener, staff on a staff invitation, staff waiting) is put out, and so is anyone
    /// left unidentified in a meeting that requires e-identification; anyone else the chair
    /// admitted stays, without staff rights, the staff-login identification or the chair.
    pub fn staff_login_ended(&mut self, id: &ParticipantId) -> Vec<Effect> {
        let require_eid = self.require_eid;
        let Some(p) = self.participants.iter_mut().find(|p| &p.id == id) else {
            return Vec::new();
        };
        let by_login_alone = p.by_login_alone();
        if p.staff.take().is_none() {
            return Vec::new();
        }
        if p.identification == Some(Identification::StaffLogin) {
            p.identification = None;
        }
        let by_login_alone = by_login_alone || (require_eid && p.identification.is_none());
        let unidentified_in_room = p.is_admitted() && p.identification.is_none();
        let mut effects = vec![Effect::StaffLoginEnded {
            participant: id.clone(),
            put_out: by_login_alone,
        }];
        if by_login_alone {
            self.participants.retain(|p| &p.id != id);
            self.screen_allowed.retain(|p| p != id);
            effects.extend(self.stop_share_if(|s| s == id, ScreenStopReason::Left));
        } else {
            effects.push(Effect::Updated(id.clone()));
            if unidentified_in_room {
                // R11: no screen is shown while someone in the room is unidentified.
                effects
                    .extend(self.stop_share_if(|_| true, ScreenStopReason::UnidentifiedAdmitted));
            }
        }
        effects.extend(self.chair_left(id));
        effects.extend(self.hang_up_the_gone());
        effects
    }

    /// The chair let `admitted` in: any other seat on the same link is closed, and the chair
    /// follows the convener's link to the newcomer, who is logged-in staff (R7).
    pub(super) fn supersede_others(&mut self, admitted: &ParticipantId) -> Vec<Effect> {
        let Some(newcomer) = self.participant(admitted) else {
            return Vec::new();
        };
        let (link, role, staff) = (newcomer.link.clone(), newcomer.role, newcomer.is_staff());
        let others: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|p| p.link == link && &p.id != admitted)
            .map(|p| p.id.clone())
            .collect();
        let mut effects = Vec::new();
        for old in others {
            self.participants.retain(|p| p.id != old);
            self.screen_allowed.retain(|p| p != &old);
            effects.push(Effect::Superseded {
                participant: old.clone(),
                successor: admitted.clone(),
            });
            effects.extend(self.stop_share_if(|s| s == &old, ScreenStopReason::Left));
            if self.chair.as_ref() == Some(&old) && role == Role::Chair && staff {
                self.chair = Some(admitted.clone());
                effects.push(Effect::ChairChanged {
                    chair: Some(admitted.clone()),
                });
            } else {
                effects.extend(self.chair_left(&old));
            }
        }
        effects
    }

    /// The page holding this seat has its new resume secret: the one before it is spent.
    pub fn resume_delivered(&mut self, id: &ParticipantId) {
        if let Some(p) = self.participants.iter_mut().find(|p| &p.id == id) {
            p.previous_resume = None;
        }
    }

    /// Counts a newcomer's knock on its link; a link that knocks [`KNOCK_BURST`] times in
    /// [`KNOCK_WINDOW`] (a script that knocks and drops, over and over) is held back like
    /// one turned away.
    fn count_knock(&mut self, now: Instant, link: &LinkId) {
        let (since, count) = self.knocks.entry(link.clone()).or_insert((now, 0));
        if now.saturating_duration_since(*since) >= KNOCK_WINDOW {
            *since = now;
            *count = 0;
        }
        *count += 1;
        if *count >= KNOCK_BURST {
            *count = 0;
            self.hold_back(now, link.clone());
        }
    }

    /// A link that was turned away or removed may not knock again at once (knock floods):
    /// 30 s, doubling with each further refusal, at most 15 minutes.
    pub(super) fn hold_back(&mut self, now: Instant, link: LinkId) {
        let entry = self.cooldowns.entry(link).or_insert(Cooldown {
            until: now,
            strikes: 0,
        });
        entry.strikes = entry.strikes.saturating_add(1);
        let factor = 1u32 << (entry.strikes - 1).min(10);
        entry.until = now + (FIRST_COOLDOWN * factor).min(MAX_COOLDOWN);
    }

    /// R3: an invitation was revoked; whoever holds it is out, from the lobby or the room.
    pub fn revoke(&mut self, link: &LinkId) -> Vec<Effect> {
        let holders: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|p| &p.link == link)
            .map(|p| p.id.clone())
            .collect();
        let mut effects = Vec::new();
        for id in holders {
            self.participants.retain(|p| p.id != id);
            self.screen_allowed.retain(|p| p != &id);
            effects.push(Effect::Revoked(id.clone()));
            effects.extend(self.stop_share_if(|s| s == &id, ScreenStopReason::Left));
            effects.extend(self.chair_left(&id));
        }
        effects.extend(self.hang_up_the_gone());
        effects
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

    /// The participant left on purpose. Their resume secret goes with the seat.
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
        effects.extend(self.hang_up_the_gone());
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
            .find(|p| p.is_admitted() && p.is_staff() && p.presence == Presence::Connected)
            .map(|p| p.id.clone());
        Some(Effect::ChairChanged {
            chair: self.chair.clone(),
        })
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
            // R14: someone on the phone is still in the meeting while their browser is gone.
            .filter(|p| !self.phones.on_call(&p.id))
            .map(|p| p.id.clone())
            .collect();
        expired.iter().flat_map(|id| self.leave(id)).collect()
    }

    /// When [`Meeting::handle_timeout`] next has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.participants
            .iter()
            .filter(|p| !self.phones.on_call(&p.id))
            .filter_map(|p| match p.presence {
                Presence::Reconnecting { since } => Some(since + self.config.reconnect_grace),
                Presence::Connected => None,
            })
            .min()
    }
}

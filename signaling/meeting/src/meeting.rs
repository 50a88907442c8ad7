//! One meeting's participants and their presence.

use std::time::{Duration, Instant};

use crate::{DisplayName, LinkId, ParticipantId};

#[derive(Debug, Clone)]
pub struct MeetingConfig {
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
    /// The convener: will admit, identify and end (next issue).
    Chair,
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

#[derive(Debug, Clone)]
pub struct Participant {
    pub id: ParticipantId,
    pub link: LinkId,
    pub name: DisplayName,
    pub role: Role,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub presence: Presence,
}

#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub link: LinkId,
    pub role: Role,
    pub name: DisplayName,
    /// The id a new participant gets; unused when the link already has a seat.
    pub new_id: ParticipantId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// A new participant.
    Joined(ParticipantId),
    /// The link's participant came back after a drop.
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
}

/// What the shell must make happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Tell the others someone arrived.
    Arrived(ParticipantId),
    /// Tell the others someone's state changed.
    Updated(ParticipantId),
    /// Tell the others someone left; stop their media.
    Departed(ParticipantId),
}

#[derive(Debug)]
pub struct Meeting {
    config: MeetingConfig,
    participants: Vec<Participant>,
    ended: bool,
}

impl Meeting {
    pub fn new(config: MeetingConfig) -> Meeting {
        Meeting {
            config,
            participants: Vec::new(),
            ended: false,
        }
    }

    pub fn join(
        &mut self,
        _now: Instant,
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
        let id = request.new_id;
        self.participants.push(Participant {
            id: id.clone(),
            link: request.link,
            name: request.name,
            role: request.role,
            audio_muted: false,
            video_muted: false,
            presence: Presence::Connected,
        });
        Ok((JoinOutcome::Joined(id.clone()), vec![Effect::Arrived(id)]))
    }

    /// The participant's connection dropped without a goodbye.
    pub fn connection_lost(&mut self, now: Instant, id: &ParticipantId) -> Vec<Effect> {
        match self.participants.iter_mut().find(|p| &p.id == id) {
            Some(p) if p.presence == Presence::Connected => {
                p.presence = Presence::Reconnecting { since: now };
                vec![Effect::Updated(id.clone())]
            }
            _ => Vec::new(),
        }
    }

    /// The participant left on purpose.
    pub fn leave(&mut self, id: &ParticipantId) -> Vec<Effect> {
        let before = self.participants.len();
        self.participants.retain(|p| &p.id != id);
        if self.participants.len() < before {
            vec![Effect::Departed(id.clone())]
        } else {
            Vec::new()
        }
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
        let mut effects = Vec::new();
        self.participants.retain(|p| match p.presence {
            Presence::Reconnecting { since } if now.saturating_duration_since(since) >= grace => {
                effects.push(Effect::Departed(p.id.clone()));
                false
            }
            _ => true,
        });
        effects
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

    pub fn is_empty(&self) -> bool {
        self.participants.is_empty()
    }

    pub fn is_ended(&self) -> bool {
        self.ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request(link: &str, id: &str) -> JoinRequest {
        JoinRequest {
            link: LinkId::new(link),
            role: Role::Guest,
            name: DisplayName::parse("Bertil").unwrap(),
            new_id: ParticipantId::new(id),
        }
    }

    #[test]
    fn a_link_that_joins_again_takes_back_its_seat() {
        let now = Instant::now();
        let mut m = Meeting::new(MeetingConfig::default());
        m.join(now, request("l1", "p1")).unwrap();
        let (outcome, _) = m.join(now, request("l1", "p2")).unwrap();
        assert_eq!(outcome, JoinOutcome::Replaced(ParticipantId::new("p1")));
        m.connection_lost(now, &ParticipantId::new("p1"));
        let (outcome, _) = m.join(now, request("l1", "p3")).unwrap();
        assert_eq!(outcome, JoinOutcome::Resumed(ParticipantId::new("p1")));
        assert_eq!(m.participants().count(), 1);
    }

    #[test]
    fn a_full_meeting_refuses_newcomers_but_not_returning_links() {
        let now = Instant::now();
        let mut m = Meeting::new(MeetingConfig {
            max_participants: 1,
            ..MeetingConfig::default()
        });
        m.join(now, request("l1", "p1")).unwrap();
        assert_eq!(
            m.join(now, request("l2", "p2")).unwrap_err(),
            JoinError::Full
        );
        assert!(m.join(now, request("l1", "p3")).is_ok());
    }

    #[test]
    fn a_returning_participant_within_grace_keeps_the_seat() {
        let now = Instant::now();
        let mut m = Meeting::new(MeetingConfig::default());
        m.join(now, request("l1", "p1")).unwrap();
        m.connection_lost(now, &ParticipantId::new("p1"));
        assert_eq!(m.poll_timeout(), Some(now + Duration::from_secs(60)));
        assert!(m.handle_timeout(now + Duration::from_secs(59)).is_empty());
        m.join(now + Duration::from_secs(59), request("l1", "p9"))
            .unwrap();
        assert!(m.handle_timeout(now + Duration::from_secs(120)).is_empty());
        assert_eq!(m.poll_timeout(), None);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Join(u8),
        Lost(u8),
        Leave(u8),
        Mute(u8, bool),
        Advance(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..6).prop_map(Op::Join),
            (0u8..6).prop_map(Op::Lost),
            (0u8..6).prop_map(Op::Leave),
            ((0u8..6), any::<bool>()).prop_map(|(p, b)| Op::Mute(p, b)),
            (0u8..90).prop_map(Op::Advance),
        ]
    }

    proptest! {
        /// Whatever happens: one seat per link, never more seats than allowed, and nobody is
        /// kept past the reconnection grace.
        #[test]
        fn seats_stay_consistent(ops in proptest::collection::vec(op(), 1..200)) {
            let start = Instant::now();
            let mut now = start;
            let config = MeetingConfig { max_participants: 4, reconnect_grace: Duration::from_secs(30) };
            let mut m = Meeting::new(config.clone());
            let mut counter = 0u32;
            for op in ops {
                match op {
                    Op::Join(l) => {
                        counter += 1;
                        let _ = m.join(now, request(&format!("l{l}"), &format!("p{counter}")));
                    }
                    Op::Lost(l) => {
                        let id = m.participants().find(|p| p.link.as_str() == format!("l{l}")).map(|p| p.id.clone());
                        if let Some(id) = id { m.connection_lost(now, &id); }
                    }
                    Op::Leave(l) => {
                        let id = m.participants().find(|p| p.link.as_str() == format!("l{l}")).map(|p| p.id.clone());
                        if let Some(id) = id { m.leave(&id); }
                    }
                    Op::Mute(l, b) => {
                        let id = m.participants().find(|p| p.link.as_str() == format!("l{l}")).map(|p| p.id.clone());
                        if let Some(id) = id { m.set_media_state(&id, b, !b); }
                    }
                    Op::Advance(s) => {
                        now += Duration::from_secs(u64::from(s));
                        m.handle_timeout(now);
                    }
                }
                let links: std::collections::HashSet<_> = m.participants().map(|p| p.link.clone()).collect();
                prop_assert_eq!(links.len(), m.participants().count());
                let ids: std::collections::HashSet<_> = m.participants().map(|p| p.id.clone()).collect();
                prop_assert_eq!(ids.len(), m.participants().count());
                prop_assert!(m.participants().count() <= config.max_participants);
                for p in m.participants() {
                    if let Presence::Reconnecting { since } = p.presence {
                        prop_assert!(now.saturating_duration_since(since) < config.reconnect_grace
                            || m.poll_timeout().is_some_and(|t| t <= now));
                    }
                }
            }
        }
    }
}

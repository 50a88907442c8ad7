//! Lobby churn in the audit trail. Every knock is worth a row, until one link knocks again and
//! again (reloading, or a script): then its lobby comings and goings are counted instead, one
//! counted entry per event and window (R15: nobody can flood the five-year trail from the
//! lobby).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sluss_meeting::{Effect, LinkId, ParticipantId};

/// Knocks from one link within [`WINDOW`] that are written one row each.
pub const KNOCKS_IN_FULL: u32 = 3;
pub const WINDOW: Duration = Duration::from_secs(600);

#[derive(Debug, Default)]
pub struct LobbyChurn {
    /// Per link: when its window started and how many knocks it has had in it.
    knocks: HashMap<LinkId, (Instant, u32)>,
    /// Participants whose lobby events are counted, and the link they came by.
    counted: HashMap<ParticipantId, LinkId>,
}

impl LobbyChurn {
    /// Notes a knock; true when its lobby events are to be counted rather than written.
    pub fn knocked(&mut self, now: Instant, participant: &ParticipantId, link: &LinkId) -> bool {
        let (since, count) = self.knocks.entry(link.clone()).or_insert((now, 0));
        if now.saturating_duration_since(*since) >= WINDOW {
            *since = now;
            *count = 0;
        }
        *count = count.saturating_add(1);
        if *count > KNOCKS_IN_FULL {
            self.counted.insert(participant.clone(), link.clone());
            return true;
        }
        false
    }

    /// The link under which this effect is counted, if it is one of a counted participant's
    /// lobby events (the knock, its withdrawal, the refusal, leaving the lobby).
    pub fn counted_under(&mut self, effect: &Effect) -> Option<LinkId> {
        let id = match effect {
            Effect::Knocked(id) | Effect::Withdrawn(id) => id,
            Effect::Departed(id)
            | Effect::Denied {
                participant: id, ..
            } => {
                return self.counted.remove(id);
            }
            Effect::Admitted { participant, .. } => {
                // In the room: from now on everything about them is written in full.
                self.counted.remove(participant);
                return None;
            }
            _ => return None,
        };
        let link = self.counted.get(id).cloned();
        if matches!(effect, Effect::Withdrawn(_)) {
            self.counted.remove(id);
        }
        link
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_that_keeps_knocking_is_counted_after_three_knocks_a_window() {
        let mut churn = LobbyChurn::default();
        let link = LinkId::new("l1");
        let now = Instant::now();
        let counted: Vec<bool> = (0..6)
            .map(|i| churn.knocked(now, &ParticipantId::new(format!("p{i}")), &link))
            .collect();
        assert_eq!(counted, [false, false, false, true, true, true]);
        let p5 = ParticipantId::new("p5");
        assert_eq!(
            churn.counted_under(&Effect::Knocked(p5.clone())),
            Some(link.clone())
        );
        assert_eq!(
            churn.counted_under(&Effect::Departed(p5.clone())),
            Some(link.clone())
        );
        assert_eq!(churn.counted_under(&Effect::Departed(p5)), None, "once");
        // Another link, and the same link in a new window, are written in full.
        assert!(!churn.knocked(now, &ParticipantId::new("q"), &LinkId::new("l2")));
        assert!(!churn.knocked(now + WINDOW, &ParticipantId::new("r"), &link));
    }
}

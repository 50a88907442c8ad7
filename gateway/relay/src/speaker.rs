//! Who is speaking, from the audio level each browser puts in its RTP header extension
//! (RFC 6464): no decoding, no audio ever looked at. Each publisher's loudness above a speech
//! threshold is smoothed over about half a second; the loudest becomes the active speaker when it
//! is clearly louder than the current one, and not more often than once a second, so that tiles
//! do not flicker between two people talking over each other.

use std::time::{Duration, Instant};

use crate::PeerId;

/// Levels below this (in dBov) count as silence.
const SPEECH_DBOV: f32 = -50.0;
/// Per-packet smoothing (audio packets come every 20 ms: about 0.5 s of memory).
const SMOOTHING: f32 = 0.96;
/// A new speaker must be this much louder (smoothed) than the current one.
const MARGIN: f32 = 1.5;
/// And at least this loud at all.
const MIN_SCORE: f32 = 0.1;
const MIN_HOLD: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub(crate) struct SpeakerDetector {
    scores: Vec<(PeerId, f32)>,
    current: Option<PeerId>,
    changed_at: Option<Instant>,
}

impl SpeakerDetector {
    /// One audio packet's level from `peer` (str0m gives it as negative dBov, 0 the loudest).
    /// Returns the new active speaker when it changes.
    pub(crate) fn observe(&mut self, now: Instant, peer: PeerId, level: i8) -> Option<PeerId> {
        let dbov = -(f32::from(level).abs());
        let loudness = ((dbov - SPEECH_DBOV) / -SPEECH_DBOV).max(0.0);
        match self.scores.iter_mut().find(|(p, _)| *p == peer) {
            Some((_, score)) => *score = *score * SMOOTHING + loudness * (1.0 - SMOOTHING),
            None => self.scores.push((peer, loudness * (1.0 - SMOOTHING))),
        }
        if self
            .changed_at
            .is_some_and(|t| now.duration_since(t) < MIN_HOLD)
        {
            return None;
        }
        let (loudest, score) = self
            .scores
            .iter()
            .copied()
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        if Some(loudest) == self.current || score < MIN_SCORE {
            return None;
        }
        let current = self
            .current
            .and_then(|c| self.scores.iter().find(|(p, _)| *p == c))
            .map_or(0.0, |(_, s)| *s);
        if score < current * MARGIN {
            return None;
        }
        self.current = Some(loudest);
        self.changed_at = Some(now);
        Some(loudest)
    }

    /// Someone left: forget them (and, if they were speaking, that they were).
    pub(crate) fn forget(&mut self, peer: PeerId) {
        self.scores.retain(|(p, _)| *p != peer);
        if self.current == Some(peer) {
            self.current = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(
        d: &mut SpeakerDetector,
        t: &mut Instant,
        levels: &[(u64, i8)],
        packets: usize,
    ) -> Vec<PeerId> {
        let mut changes = Vec::new();
        for _ in 0..packets {
            *t += Duration::from_millis(20);
            for (p, l) in levels {
                if let Some(c) = d.observe(*t, PeerId(*p), *l) {
                    changes.push(c);
                }
            }
        }
        changes
    }

    #[test]
    fn the_one_who_talks_becomes_the_speaker_and_silence_never_does() {
        let mut d = SpeakerDetector::default();
        let mut t = Instant::now();
        assert!(feed(&mut d, &mut t, &[(1, -127), (2, -90)], 200).is_empty());
        assert_eq!(
            feed(&mut d, &mut t, &[(1, -20), (2, -127)], 50),
            vec![PeerId(1)]
        );
        // The other starts talking and the first falls silent: after the hold, it switches once.
        assert_eq!(
            feed(&mut d, &mut t, &[(1, -127), (2, -15)], 150),
            vec![PeerId(2)]
        );
    }

    #[test]
    fn two_talking_over_each_other_do_not_make_it_flicker() {
        let mut d = SpeakerDetector::default();
        let mut t = Instant::now();
        feed(&mut d, &mut t, &[(1, -20), (2, -127)], 100);
        // Equally loud: the current speaker keeps the tile.
        assert!(feed(&mut d, &mut t, &[(1, -25), (2, -25)], 500).is_empty());
    }

    #[test]
    fn a_speaker_who_leaves_is_forgotten() {
        let mut d = SpeakerDetector::default();
        let mut t = Instant::now();
        feed(&mut d, &mut t, &[(1, -20)], 100);
        d.forget(PeerId(1));
        assert_eq!(feed(&mut d, &mut t, &[(2, -30)], 100), vec![PeerId(2)]);
    }
}

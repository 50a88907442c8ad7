//! Packet indices and the replay window of one SRTP stream (RFC 3711 sections 3.3.1 and 3.3.2).

use crate::Error;

/// Packets behind the newest one that are still accepted once.
const WINDOW: u64 = 64;
/// SRTP indices are 48 bits: a 32-bit rollover counter and the 16-bit sequence number.
const MAX_INDEX: u64 = (1 << 48) - 1;
/// Streams (SSRCs) one context follows; a newer one replaces the longest unheard.
const MAX_STREAMS: usize = 4;

/// What one stream has seen: the highest index and which of the 64 before it arrived.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    top: u64,
    /// Bit `n` set: index `top - n` was received.
    seen: u64,
}

impl Window {
    pub(super) fn new(first: u64) -> Self {
        Self {
            top: first,
            seen: 1,
        }
    }

    /// The 48-bit index of an RTP sequence number: the rollover counter is guessed so that
    /// the index lands nearest the highest one seen (RFC 3711 section 3.3.1).
    pub(super) fn estimate(&self, seq: u16) -> Result<u64, Error> {
        let roc = self.top >> 16;
        let last = (self.top & 0xffff) as u16;
        let guess = if last < 0x8000 {
            if seq > last && seq - last > 0x8000 {
                // Before the last wrap; at the very start there is nothing before.
                roc.checked_sub(1).ok_or(Error::Replay)?
            } else {
                roc
            }
        } else if last - 0x8000 > seq {
            roc + 1
        } else {
            roc
        };
        let index = (guess << 16) | u64::from(seq);
        if index > MAX_INDEX {
            return Err(Error::KeyExhausted);
        }
        Ok(index)
    }

    /// Refuses an index already received or older than the window.
    pub(super) fn check(&self, index: u64) -> Result<(), Error> {
        if index > self.top {
            return Ok(());
        }
        let behind = self.top - index;
        if behind >= WINDOW || self.seen & (1 << behind) != 0 {
            return Err(Error::Replay);
        }
        Ok(())
    }

    /// Records an index that passed [`Self::check`] and authentication.
    pub(super) fn accept(&mut self, index: u64) {
        if index > self.top {
            let ahead = index - self.top;
            self.seen = if ahead >= WINDOW {
                0
            } else {
                self.seen << ahead
            };
            self.seen |= 1;
            self.top = index;
        } else {
            self.seen |= 1 << (self.top - index);
        }
    }
}

/// The windows of the few streams one context follows, by SSRC. Allocated once.
#[derive(Debug)]
pub(super) struct Streams {
    entries: Vec<(u32, Window, u64)>,
    clock: u64,
}

impl Streams {
    pub(super) fn new() -> Self {
        Self {
            entries: Vec::with_capacity(MAX_STREAMS),
            clock: 0,
        }
    }

    pub(super) fn get(&self, ssrc: u32) -> Option<&Window> {
        self.entries
            .iter()
            .find(|(s, ..)| *s == ssrc)
            .map(|(_, w, _)| w)
    }

    /// Records `index` for `ssrc`, starting a window for a new stream (and forgetting the
    /// stream unheard the longest if the table is full).
    pub(super) fn accept(&mut self, ssrc: u32, index: u64) {
        self.clock += 1;
        let clock = self.clock;
        if let Some((_, w, used)) = self.entries.iter_mut().find(|(s, ..)| *s == ssrc) {
            w.accept(index);
            *used = clock;
            return;
        }
        if self.entries.len() == MAX_STREAMS {
            let oldest = (0..self.entries.len())
                .min_by_key(|&i| self.entries[i].2)
                .unwrap_or(0);
            self.entries.swap_remove(oldest);
        }
        self.entries.push((ssrc, Window::new(index), clock));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollover_counter_follows_the_sequence_across_a_wrap() {
        let mut w = Window::new(65_534);
        for (seq, want) in [(65_535u16, 65_535u64), (0, 65_536), (1, 65_537)] {
            let i = w.estimate(seq).unwrap();
            assert_eq!(i, want);
            w.accept(i);
        }
        // A late packet from before the wrap still maps to the old rollover counter.
        assert_eq!(w.estimate(65_535).unwrap(), 65_535);
        // And one far ahead after a long gap maps forward.
        assert_eq!(w.estimate(30_000).unwrap(), 65_536 + 30_000);
    }

    #[test]
    fn a_sequence_before_the_first_wrap_at_the_start_is_refused() {
        let w = Window::new(10);
        assert_eq!(w.estimate(60_000), Err(Error::Replay));
    }

    #[test]
    fn window_accepts_each_index_once_and_nothing_too_old() {
        let mut w = Window::new(100);
        assert_eq!(w.check(100), Err(Error::Replay));
        w.accept(103);
        assert!(w.check(101).is_ok());
        w.accept(101);
        assert_eq!(w.check(101), Err(Error::Replay));
        assert!(w.check(102).is_ok());
        assert!(w.check(104).is_ok());
        w.accept(103 + 63);
        assert_eq!(w.check(103), Err(Error::Replay)); // seen, at the window's edge
        assert!(w.check(104).is_ok()); // 62 behind, never seen
        assert_eq!(w.check(102), Err(Error::Replay)); // 64 behind: too old
        w.accept(10_000);
        assert_eq!(w.check(103 + 63), Err(Error::Replay));
    }

    #[test]
    fn stream_table_is_bounded_and_forgets_the_longest_unheard() {
        let mut s = Streams::new();
        for ssrc in 1..=4 {
            s.accept(ssrc, 7);
        }
        s.accept(1, 8); // 1 heard again: 2 is now the longest unheard
        s.accept(5, 7);
        assert!(s.get(2).is_none());
        for ssrc in [1, 3, 4, 5] {
            assert!(s.get(ssrc).is_some());
        }
        assert_eq!(s.entries.capacity(), MAX_STREAMS);
    }
}

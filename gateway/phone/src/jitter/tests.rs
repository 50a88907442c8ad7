//! The jitter buffer on simulated arrivals: a virtual clock, packets every 20 ms.

use std::time::{Duration, Instant};

use super::*;

const SSRC: Ssrc = Ssrc(0xabc);

struct Sim {
    jb: JitterBuffer,
    t0: Instant,
}

impl Sim {
    fn new() -> Self {
        Self {
            jb: JitterBuffer::new(JitterConfig::default()),
            t0: Instant::now(),
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    /// Packet `seq` (payload: its low byte) arriving at `ms`.
    fn push(&mut self, seq: u16, ms: u64) -> Arrival {
        self.push_from(SSRC, seq, ms)
    }

    fn push_from(&mut self, ssrc: Ssrc, seq: u16, ms: u64) -> Arrival {
        let payload = [seq as u8; 160];
        let packet = Incoming {
            ssrc,
            sequence: seq,
            timestamp: u32::from(seq) * 160,
            payload: &payload,
        };
        let now = self.at(ms);
        self.jb.push(packet, now)
    }

    /// Pops at `ms`: `Some(byte)` for a frame, `None` for a loss, nothing for Nothing.
    fn pop(&mut self, ms: u64) -> Option<Option<u8>> {
        let now = self.at(ms);
        match self.jb.pop(now) {
            Pop::Frame(p) => Some(Some(p[0])),
            Pop::Lost => Some(None),
            Pop::Nothing => None,
        }
    }
}

#[test]
fn steady_stream_plays_in_order_after_the_target_delay() {
    let mut s = Sim::new();
    let mut out = Vec::new();
    for i in 0..20u16 {
        let ms = u64::from(i) * 20;
        assert_eq!(s.push(100 + i, ms), Arrival::Buffered);
        // Pop twice a tick, just after the packet: the second always finds nothing due.
        out.extend(s.pop(ms + 1));
        assert_eq!(s.pop(ms + 2), None);
    }
    assert_eq!(s.jb.target_delay(), Duration::from_millis(20));
    // The first frame waited 20 ms, so 19 have played.
    let want: Vec<_> = (100..119u16).map(|q| Some(q as u8)).collect();
    assert_eq!(out, want);
    assert_eq!(
        s.jb.stats().lost + s.jb.stats().late + s.jb.stats().concealed,
        0
    );
}

#[test]
fn reordered_packets_play_in_sequence() {
    let mut s = Sim::new();
    s.push(1, 0);
    s.push(3, 5);
    s.push(2, 8);
    s.push(0, 9); // even before the spurt's first
    let out: Vec<_> = (0..8).filter_map(|i| s.pop(25 + i * 20)).collect();
    assert_eq!(out[..4], [Some(0), Some(1), Some(2), Some(3)]);
    assert_eq!(s.jb.stats().lost, 0);
}

#[test]
fn duplicates_are_played_once_and_counted() {
    let mut s = Sim::new();
    s.push(7, 0);
    assert_eq!(s.push(7, 1), Arrival::Duplicate);
    s.push(8, 20);
    assert_eq!(s.pop(21), Some(Some(7)));
    assert_eq!(s.push(7, 30), Arrival::Late);
    assert_eq!(s.pop(41), Some(Some(8)));
    assert_eq!(s.jb.stats().duplicates, 1);
}

#[test]
fn a_missing_packet_is_lost_when_later_ones_are_there() {
    let mut s = Sim::new();
    s.push(1, 0);
    assert_eq!(s.pop(20), Some(Some(1)));
    s.push(3, 40);
    assert_eq!(s.pop(41), Some(None));
    s.push(4, 60);
    assert_eq!(s.pop(61), Some(Some(3)));
    assert_eq!(s.pop(81), Some(Some(4)));
    assert_eq!(s.jb.stats().lost, 1);
    // The lost one arriving afterwards is late.
    assert_eq!(s.push(2, 150), Arrival::Late);
    assert_eq!(s.jb.stats().late, 1);
}

#[test]
fn key_presses_in_the_numbering_play_as_silence_not_as_losses() {
    let mut s = Sim::new();
    let mut played = Vec::new();
    // A voice at 20 ms a packet; three telephone events take 4, 5 and 6 of its numbering.
    for seq in 1..=16u16 {
        let ms = u64::from(seq) * 20;
        if (4..=6).contains(&seq) {
            s.jb.push_silence(SSRC, seq);
        } else {
            s.push(seq, ms);
        }
        while let Some(frame) = match s.jb.pop(s.at(ms + 1)) {
            Pop::Frame(p) => Some(p.first().copied()),
            Pop::Lost => Some(Some(0xff)),
            Pop::Nothing => None,
        } {
            played.push(frame);
        }
    }
    let heard: Vec<u8> = played.iter().flatten().copied().collect();
    assert!(!heard.contains(&0xff), "concealed: {played:?}");
    assert_eq!(
        played.iter().filter(|f| f.is_none()).count(),
        3,
        "{played:?}"
    );
    assert!(heard.windows(2).all(|w| w[0] < w[1]), "{played:?}");
    assert_eq!(s.jb.stats().lost, 0);
    // An event of another stream, or one before the stream began, changes nothing.
    s.jb.push_silence(Ssrc(1), 10);
    let mut fresh = Sim::new();
    fresh.jb.push_silence(SSRC, 1);
    assert_eq!(fresh.pop(100), None);
}

#[test]
fn a_dry_buffer_conceals_and_waits_for_the_late_packet() {
    let mut s = Sim::new();
    s.push(1, 0);
    assert_eq!(s.pop(20), Some(Some(1)));
    // Packet 2 is 30 ms late: the buffer conceals instead of skipping it.
    assert_eq!(s.pop(40), Some(None));
    s.push(2, 50);
    s.push(3, 60);
    assert_eq!(s.pop(60), Some(Some(2)));
    assert_eq!(s.pop(80), Some(Some(3)));
    let st = s.jb.stats();
    assert_eq!((st.concealed, st.lost, st.late), (1, 0, 0));
}

#[test]
fn a_silent_stream_goes_idle_and_the_next_spurt_starts_fresh() {
    let mut s = Sim::new();
    s.push(1, 0);
    assert_eq!(s.pop(20), Some(Some(1)));
    let concealed: Vec<_> = (0..8).filter_map(|i| s.pop(40 + i * 20)).collect();
    assert_eq!(concealed, vec![None; 5], "five concealed frames, then idle");
    assert_eq!(s.pop(400), None);
    // Silence suppressed 49 packets: the new spurt starts at its own number, nothing lost.
    assert_eq!(s.push(51, 1000), Arrival::Buffered);
    assert_eq!(s.pop(1001), None);
    assert_eq!(s.pop(1020), Some(Some(51)));
    assert_eq!(s.jb.stats().lost, 0);
}

#[test]
fn sequence_jump_and_ssrc_change_reset_the_buffer() {
    let mut s = Sim::new();
    s.push(10, 0);
    s.push(11, 20);
    assert_eq!(s.push(5000, 30), Arrival::Reset);
    assert_eq!(s.pop(50), Some(Some(5000u16 as u8)));
    assert_eq!(s.push_from(Ssrc(1), 5001, 60), Arrival::Reset);
    assert_eq!(s.pop(80), Some(Some(5001u16 as u8)));
    assert_eq!(s.jb.stats().resets, 2);
}

#[test]
fn sequence_numbers_wrap_without_a_reset() {
    let mut s = Sim::new();
    let seqs = [65_534u16, 65_535, 0, 1];
    let mut out = Vec::new();
    for (i, &q) in seqs.iter().enumerate() {
        s.push(q, i as u64 * 20);
        out.extend(s.pop(i as u64 * 20 + 20));
    }
    let want: Vec<_> = seqs.iter().map(|&q| Some(q as u8)).collect();
    assert_eq!(out, want);
    assert_eq!(s.jb.stats().resets, 0);
}

#[test]
fn a_full_buffer_drops_the_oldest() {
    let mut s = Sim::new();
    for q in 0..40u16 {
        s.push(q, 0);
    }
    assert_eq!(s.jb.stats().dropped, 40 - CAPACITY as u64);
    assert!(s.jb.depth() <= CAPACITY);
    // The oldest frames that remain are the newest sixteen, less those dropped for delay.
    let first = s.pop(200).unwrap().unwrap();
    assert!(first >= 24, "played {first}");
}

#[test]
fn too_much_delay_is_worked_off_one_frame_per_pop() {
    let mut s = Sim::new();
    for q in 0..8u16 {
        s.push(q, 0); // a burst of 160 ms of audio
    }
    let mut played = Vec::new();
    for i in 0..12 {
        if let Some(Some(f)) = s.pop(20 + i * 20) {
            played.push(f);
        }
    }
    let dropped = s.jb.stats().dropped;
    assert!(dropped >= 1, "{:?}", s.jb.stats());
    assert_eq!(
        played.len() as u64 + dropped,
        8,
        "every frame played or dropped"
    );
    assert!(played.windows(2).all(|w| w[0] < w[1]), "{played:?}");
}

#[test]
fn target_delay_follows_jitter_within_its_bounds() {
    let mut s = Sim::new();
    // Arrivals 0 or 40 ms after their send time, alternately.
    for i in 0..200u16 {
        let ms = u64::from(i) * 20 + if i % 2 == 0 { 0 } else { 40 };
        s.push(i, ms);
        while s.pop(ms).is_some() {}
    }
    let target = s.jb.target_delay();
    assert!(target >= Duration::from_millis(100), "{target:?}");
    assert!(target <= Duration::from_millis(120));
    // Wild jitter is capped at 120 ms.
    let mut s = Sim::new();
    for i in 0..200u16 {
        s.push(i, u64::from(i) * 20 + if i % 2 == 0 { 0 } else { 300 });
    }
    assert_eq!(s.jb.target_delay(), Duration::from_millis(120));
}

#[test]
fn oversized_payloads_are_refused() {
    let mut s = Sim::new();
    let big = [0u8; MAX_PAYLOAD + 1];
    let packet = Incoming {
        ssrc: SSRC,
        sequence: 1,
        timestamp: 0,
        payload: &big,
    };
    let now = s.at(0);
    assert_eq!(s.jb.push(packet, now), Arrival::TooLarge);
    assert_eq!(s.pop(100), None);
}

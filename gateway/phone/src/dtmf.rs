//! RFC 4733 telephone events: the DTMF digits a phone sends in RTP, the receiver that turns
//! their packets into each digit exactly once, and [`DtmfTone`], the packets of one key press
//! for sending.
//!
//! A key press is one event: every packet of it carries the RTP timestamp of its start and
//! the duration so far; the last one has the end bit and is sent three times. Packets are
//! lost, repeated and reordered, so the receiver keys on the start timestamp: the first
//! packet of an event it has not seen yields the digit, everything else of that event is
//! absorbed.

use std::fmt;

use crate::Error;

/// Bytes of one event in a telephone-event payload.
pub const EVENT_LEN: usize = 4;

/// A DTMF key: 0-9, `*`, `#` and A-D (events 0 to 15).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digit(u8);

impl Digit {
    const KEYS: &'static [u8; 16] = b"0123456789*#ABCD";

    /// The digit of a telephone-event code, if it is one of the sixteen DTMF keys.
    pub fn from_event(event: u8) -> Option<Self> {
        (event < 16).then_some(Self(event))
    }

    /// The digit written as a character (`'0'..='9'`, `'*'`, `'#'`, `'A'..='D'`).
    pub fn from_char(c: char) -> Option<Self> {
        let c = c.to_ascii_uppercase();
        Self::KEYS
            .iter()
            .position(|&k| char::from(k) == c)
            .map(|i| Self(i as u8))
    }

    pub fn event(self) -> u8 {
        self.0
    }

    pub fn as_char(self) -> char {
        char::from(Self::KEYS[usize::from(self.0)])
    }
}

/// Digits are what callers type as PINs: Debug never shows which.
impl fmt::Debug for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digit(<redacted>)")
    }
}

/// One telephone event (RFC 4733 section 2.3).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    pub end: bool,
    /// Power level in -dBm0, 0..=63.
    pub volume: u8,
    /// Duration so far, in RTP timestamp units.
    pub duration: u16,
}

impl fmt::Debug for TelephoneEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let event: &dyn fmt::Debug = if self.event < 16 {
            &"<digit>"
        } else {
            &self.event
        };
        f.debug_struct("TelephoneEvent")
            .field("event", event)
            .field("end", &self.end)
            .field("volume", &self.volume)
            .field("duration", &self.duration)
            .finish()
    }
}

impl TelephoneEvent {
    /// Reads a telephone-event payload. A payload may carry several events (redundant copies
    /// of earlier ones first); the last is the current one and is returned.
    pub fn parse(payload: &[u8]) -> Result<Self, Error> {
        if payload.is_empty() || !payload.len().is_multiple_of(EVENT_LEN) {
            return Err(Error::BadTelephoneEvent("length is not a multiple of 4"));
        }
        let b = &payload[payload.len() - EVENT_LEN..];
        Ok(Self {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3f,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// Writes the event's four bytes to the start of `out`.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
        if self.volume > 63 {
            return Err(Error::FieldOutOfRange("volume"));
        }
        let got = out.len();
        let out = out.get_mut(..EVENT_LEN).ok_or(Error::BufferTooSmall {
            needed: EVENT_LEN,
            got,
        })?;
        out[0] = self.event;
        out[1] = (u8::from(self.end) << 7) | self.volume;
        out[2..].copy_from_slice(&self.duration.to_be_bytes());
        Ok(EVENT_LEN)
    }
}

/// The event the receiver is inside of.
#[derive(Debug, Clone, Copy)]
struct Current {
    timestamp: u32,
    event: u8,
    duration: u16,
    ended: bool,
}

/// Turns the telephone-event packets of one RTP stream into digits, each exactly once.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    current: Option<Current>,
}

impl DtmfReceiver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one telephone-event packet with its RTP timestamp; returns the digit if this
    /// packet starts a key press not seen before. Events that are not digits (flash, tones)
    /// are tracked but yield nothing.
    pub fn on_packet(&mut self, timestamp: u32, payload: &[u8]) -> Result<Option<Digit>, Error> {
        let ev = TelephoneEvent::parse(payload)?;
        if let Some(cur) = &mut self.current {
            if timestamp == cur.timestamp {
                cur.duration = cur.duration.max(ev.duration);
                cur.ended |= ev.end;
                return Ok(None);
            }
            // Older than the event we are in (serial-number arithmetic): a late packet of a
            // press already reported.
            if timestamp.wrapping_sub(cur.timestamp) >= 1 << 31 {
                return Ok(None);
            }
            // A press longer than 16 bits of duration goes on in a new segment that starts
            // where the last one stopped (RFC 4733 section 2.5.1.3): the same key, not a new one.
            let continues = !cur.ended
                && ev.event == cur.event
                && timestamp == cur.timestamp.wrapping_add(u32::from(cur.duration));
            if continues {
                *cur = Current {
                    timestamp,
                    event: ev.event,
                    duration: ev.duration,
                    ended: ev.end,
                };
                return Ok(None);
            }
        }
        self.current = Some(Current {
            timestamp,
            event: ev.event,
            duration: ev.duration,
            ended: ev.end,
        });
        Ok(Digit::from_event(ev.event))
    }

    /// Forgets the current event: after an SSRC change or a re-INVITE.
    pub fn reset(&mut self) {
        self.current = None;
    }
}

/// One key press to send (RFC 4733 section 2.5.1): a packet every `step` timestamp units
/// with the duration so far, the first with the marker bit, then the end packet three times.
/// Every packet of the press carries the RTP timestamp of its start, which the caller keeps.
#[derive(Debug, Clone)]
pub struct DtmfTone {
    digit: Digit,
    total: u16,
    step: u16,
    sent: u16,
    ends_left: u8,
}

impl DtmfTone {
    /// A press of `total` timestamp units (800 is 100 ms at 8 kHz), reported every `step`
    /// (160 for 20 ms packets at 8 kHz).
    pub fn new(digit: Digit, total: u16, step: u16) -> Self {
        Self {
            digit,
            total: total.max(1),
            step: step.max(1),
            sent: 0,
            ends_left: 3,
        }
    }

    /// The next packet's marker bit and payload, or `None` once the press is sent.
    pub fn next_packet(&mut self) -> Option<(bool, [u8; EVENT_LEN])> {
        let first = self.sent == 0;
        let duration = if self.sent < self.total {
            self.sent = self.sent.saturating_add(self.step).min(self.total);
            self.sent
        } else if self.ends_left > 0 {
            self.ends_left -= 1;
            self.total
        } else {
            return None;
        };
        let end = duration == self.total;
        if end && self.ends_left == 3 {
            // The update that reaches the full duration is the first of the three ends.
            self.ends_left = 2;
        }
        let mut payload = [0u8; EVENT_LEN];
        let event = TelephoneEvent {
            event: self.digit.event(),
            end,
            volume: 10,
            duration,
        };
        event.write(&mut payload).ok()?;
        Some((first, payload))
    }
}

/// Keys that may wait to be sent; more are refused.
pub const MAX_QUEUED_KEYS: usize = 32;
/// Each press lasts this many 20 ms frames (100 ms), as a person presses a key.
const PRESS_FRAMES: u16 = 5;
/// Frames of ordinary audio between two presses (60 ms), so that a menu on the far side
/// hears two presses of one key as two.
const GAP_FRAMES: u8 = 3;

/// Key presses to send to a phone (a menu at a reception, an extension to reach), one after
/// another: for each 20 ms frame it says whether the frame carries a telephone event instead
/// of audio. Sans-IO: the bridge asks once per frame.
#[derive(Debug)]
pub struct DtmfSender {
    queue: std::collections::VecDeque<Digit>,
    /// The press under way, and the RTP timestamp it started at.
    current: Option<(DtmfTone, u32)>,
    gap: u8,
    ticks_per_frame: u16,
}

impl DtmfSender {
    /// For a stream whose 20 ms frame advances the RTP clock by `ticks_per_frame` (160 at
    /// 8 kHz, and for G.722, whose RTP clock says 8 kHz).
    pub fn new(ticks_per_frame: u16) -> Self {
        Self {
            queue: std::collections::VecDeque::new(),
            current: None,
            gap: 0,
            ticks_per_frame: ticks_per_frame.max(1),
        }
    }

    /// Queues a key press; false when [`MAX_QUEUED_KEYS`] are waiting already.
    pub fn press(&mut self, digit: Digit) -> bool {
        if self.queue.len() >= MAX_QUEUED_KEYS {
            return false;
        }
        self.queue.push_back(digit);
        true
    }

    /// The telephone event to send in the frame that starts at RTP time `timestamp`: its
    /// marker bit, the press's start timestamp (every packet of a press carries it) and the
    /// payload; None when the frame carries audio.
    pub fn next_frame(&mut self, timestamp: u32) -> Option<(bool, u32, [u8; EVENT_LEN])> {
        if let Some((tone, start)) = &mut self.current {
            if let Some((marker, payload)) = tone.next_packet() {
                return Some((marker, *start, payload));
            }
            self.current = None;
            self.gap = GAP_FRAMES;
        }
        if self.gap > 0 {
            self.gap -= 1;
            return None;
        }
        let digit = self.queue.pop_front()?;
        let total = PRESS_FRAMES.saturating_mul(self.ticks_per_frame);
        let mut tone = DtmfTone::new(digit, total, self.ticks_per_frame);
        let (marker, payload) = tone.next_packet()?;
        self.current = Some((tone, timestamp));
        Some((marker, timestamp, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presses_go_out_one_after_another_and_a_receiver_reads_each_once() {
        let mut sender = DtmfSender::new(160);
        for key in "1#1".chars() {
            assert!(sender.press(Digit::from_char(key).unwrap()));
        }
        let mut receiver = DtmfReceiver::new();
        let (mut heard, mut events, mut audio) = (String::new(), 0, 0);
        for frame in 0..60u32 {
            let ts = frame * 160;
            match sender.next_frame(ts) {
                Some((marker, start, payload)) => {
                    events += 1;
                    if marker {
                        assert_eq!(start, ts, "a press starts at its first packet's time");
                    }
                    if let Some(d) = receiver.on_packet(start, &payload).unwrap() {
                        heard.push(d.as_char());
                    }
                }
                None => audio += 1,
            }
        }
        assert_eq!(heard, "1#1", "two presses of one key are two");
        assert_eq!(
            events,
            3 * 7,
            "five updates and three ends (one of them the last update)"
        );
        assert!(audio >= 2 * 3, "audio between the presses");
        let mut full = DtmfSender::new(160);
        let five = Digit::from_char('5').unwrap();
        assert!((0..MAX_QUEUED_KEYS).all(|_| full.press(five)));
        assert!(!full.press(five), "the queue is bounded");
    }

    fn payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
        let mut b = [0u8; 4];
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .write(&mut b)
        .unwrap();
        b
    }

    #[test]
    fn payload_reads_back_as_written() {
        let b = payload(11, true, 1280);
        assert_eq!(b, [11, 0x8a, 0x05, 0x00]);
        let ev = TelephoneEvent::parse(&b).unwrap();
        assert_eq!(
            (ev.event, ev.end, ev.volume, ev.duration),
            (11, true, 10, 1280)
        );
        assert_eq!(Digit::from_event(ev.event).unwrap().as_char(), '#');
    }

    #[test]
    fn malformed_payloads_are_errors() {
        for bad in [&[][..], &[1, 2, 3], &[1, 2, 3, 4, 5]] {
            assert!(TelephoneEvent::parse(bad).is_err());
        }
        let mut out = [0u8; 3];
        let ev = TelephoneEvent::parse(&[1, 0, 0, 0]).unwrap();
        assert!(ev.write(&mut out).is_err());
        let loud = TelephoneEvent { volume: 64, ..ev };
        assert!(loud.write(&mut [0u8; 4]).is_err());
    }

    #[test]
    fn the_last_of_redundant_events_is_current() {
        let mut b = payload(1, true, 800).to_vec();
        b.extend_from_slice(&payload(2, false, 160));
        assert_eq!(TelephoneEvent::parse(&b).unwrap().event, 2);
    }

    #[test]
    fn digits_map_to_events_0_to_15() {
        let all: String = (0..16)
            .map(|e| Digit::from_event(e).unwrap().as_char())
            .collect();
        assert_eq!(all, "0123456789*#ABCD");
        assert_eq!(Digit::from_event(16), None);
        assert_eq!(Digit::from_char('b').map(Digit::event), Some(13));
        assert_eq!(Digit::from_char('x'), None);
    }

    /// The packets of one key press as a phone sends them: updates every 20 ms, then the end
    /// packet three times.
    fn press(event: u8, ts: u32, updates: u16) -> Vec<(u32, [u8; 4])> {
        let mut v: Vec<_> = (1..=updates)
            .map(|i| (ts, payload(event, false, i * 160)))
            .collect();
        for _ in 0..3 {
            v.push((ts, payload(event, true, (updates + 1) * 160)));
        }
        v
    }

    fn digits(rx: &mut DtmfReceiver, packets: &[(u32, [u8; 4])]) -> String {
        packets
            .iter()
            .filter_map(|(ts, p)| rx.on_packet(*ts, p).unwrap())
            .map(Digit::as_char)
            .collect()
    }

    #[test]
    fn each_press_yields_its_digit_once_despite_repeated_ends() {
        let mut rx = DtmfReceiver::new();
        let mut packets = press(1, 1000, 5);
        packets.extend(press(1, 3000, 5)); // the same key again
        packets.extend(press(11, 5000, 3));
        assert_eq!(digits(&mut rx, &packets), "11#");
    }

    #[test]
    fn a_press_seen_only_by_its_end_packets_still_counts() {
        let mut rx = DtmfReceiver::new();
        let packets: Vec<_> = press(7, 1000, 4).into_iter().skip(4).collect();
        assert_eq!(digits(&mut rx, &packets), "7");
    }

    #[test]
    fn late_packets_of_an_earlier_press_are_absorbed() {
        let mut rx = DtmfReceiver::new();
        let first = press(4, 1000, 3);
        let second = press(2, 2000, 3);
        let mut packets = vec![first[0], second[0], first[4], second[1]];
        packets.extend_from_slice(&second[2..]);
        assert_eq!(digits(&mut rx, &packets), "42");
    }

    #[test]
    fn a_long_press_split_into_segments_is_one_digit() {
        let mut rx = DtmfReceiver::new();
        let first = vec![(10, payload(5, false, 65_000))];
        let next = (10 + 65_000, payload(5, false, 800));
        assert_eq!(digits(&mut rx, &first), "5");
        assert_eq!(digits(&mut rx, &[next]), "");
    }

    #[test]
    fn timestamps_wrapping_around_do_not_lose_digits() {
        let mut rx = DtmfReceiver::new();
        let mut packets = press(3, u32::MAX - 100, 2);
        packets.extend(press(9, 500, 2));
        assert_eq!(digits(&mut rx, &packets), "39");
    }

    #[test]
    fn a_sent_press_is_one_digit_with_three_ends() {
        let mut tone = DtmfTone::new(Digit::from_char('9').unwrap(), 800, 160);
        let packets: Vec<_> = std::iter::from_fn(|| tone.next_packet()).collect();
        assert_eq!(packets.len(), 7, "four updates, then the end three times");
        assert!(packets[0].0 && packets[1..].iter().all(|(m, _)| !m));
        let events: Vec<_> = packets
            .iter()
            .map(|(_, p)| TelephoneEvent::parse(p).unwrap())
            .collect();
        assert_eq!(events.iter().filter(|e| e.end).count(), 3);
        assert!(events[4..].iter().all(|e| e.end && e.duration == 800));
        assert_eq!(events[0].duration, 160);
        let mut rx = DtmfReceiver::new();
        let timed: Vec<_> = packets.iter().map(|(_, p)| (4_000, *p)).collect();
        assert_eq!(digits(&mut rx, &timed), "9");
    }

    #[test]
    fn debug_hides_which_key_was_pressed() {
        let d = Digit::from_char('7').unwrap();
        assert!(!format!("{d:?}").contains('7'));
        let ev = TelephoneEvent::parse(&payload(7, false, 160)).unwrap();
        assert!(!format!("{ev:?}").contains("event: 7"), "{ev:?}");
    }
}

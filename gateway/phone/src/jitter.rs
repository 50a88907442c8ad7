//! The jitter buffer of one inbound audio stream.
//!
//! Packets go in as they arrive, with their arrival time; frames come out at the frame
//! cadence (20 ms), one per [`JitterBuffer::pop`] that is due. Playout follows the sequence
//! number, one packet per frame, which is what phone trunks send (`ptime` 20).
//!
//! How the delay adapts: a talk spurt starts playing once its first packet has waited the
//! target delay. If the buffer runs dry the buffer conceals a frame without moving on
//! (the packet is probably only late), which adds a frame of delay; if it holds more than
//! two frames beyond the target it drops the oldest, which takes one away. The target
//! follows the measured interarrival jitter (RFC 3550 section 6.4.1), between 20 and 120 ms.
//! After 100 ms with nothing to play the stream is idle: [`Pop::Nothing`] until the next
//! packet, which starts a new spurt.

use std::time::{Duration, Instant};

use crate::rtp::Ssrc;

/// Frames the buffer holds at most (320 ms of 20 ms frames, beyond the 120 ms target cap).
/// A power of two, so that slot indices stay consistent when sequence numbers wrap.
const CAPACITY: usize = 16;
/// Largest payload kept (Opus allows up to 1275 bytes a frame); larger ones are dropped.
pub const MAX_PAYLOAD: usize = 1500;
/// A sequence number this far from the expected one means a new stream.
const JUMP: i32 = 100;
/// Concealed frames in a row, with nothing buffered, before the stream counts as idle.
const IDLE_AFTER: u32 = 5;

/// Timing of one stream.
#[derive(Debug, Clone, Copy)]
pub struct JitterConfig {
    /// The RTP clock rate: 8000 for G.711, 48000 for Opus.
    pub clock_rate: u32,
    pub frame: Duration,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            clock_rate: 8000,
            frame: Duration::from_millis(20),
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(120),
        }
    }
}

/// One received RTP packet, as the buffer needs it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub ssrc: Ssrc,
    pub sequence: u16,
    pub timestamp: u32,
    pub payload: &'a [u8],
}

/// What became of a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    Buffered,
    /// Already held.
    Duplicate,
    /// Its frame was already played or concealed (a duplicate of a played one included).
    Late,
    TooLarge,
    /// A new stream (SSRC change or sequence jump): the buffer was emptied for it.
    Reset,
}

/// What the next frame is.
#[derive(Debug, PartialEq, Eq)]
pub enum Pop<'a> {
    Frame(&'a [u8]),
    /// A frame is due but its packet is missing: conceal it.
    Lost,
    /// No frame is due yet, or the stream is idle.
    Nothing,
}

/// Counters for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub received: u64,
    pub late: u64,
    /// Frames whose packet never came while later ones had.
    pub lost: u64,
    pub duplicates: u64,
    /// Frames concealed because the buffer ran dry (each adds a frame of delay).
    pub concealed: u64,
    /// Frames dropped to bring the delay down, or because the buffer was full.
    pub dropped: u64,
    pub resets: u64,
    pub too_large: u64,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Idle,
    /// Waiting for the first packet of a spurt to have aged the target delay.
    Buffering {
        since: Instant,
    },
    Playing {
        due: Instant,
        dry: u32,
    },
}

#[derive(Debug)]
struct Slot {
    sequence: Option<u16>,
    payload: Vec<u8>,
}

/// The jitter buffer; see the module documentation for how it plays out.
#[derive(Debug)]
pub struct JitterBuffer {
    config: JitterConfig,
    slots: Vec<Slot>,
    state: State,
    ssrc: Option<Ssrc>,
    /// The sequence number of the next frame to play.
    next: u16,
    /// One past the highest sequence number buffered.
    end: u16,
    /// Interarrival jitter in microseconds, and the previous packet's arrival and timestamp.
    jitter_us: f64,
    last: Option<(Instant, u32)>,
    stats: JitterStats,
}

impl JitterBuffer {
    pub fn new(config: JitterConfig) -> Self {
        let slots = (0..CAPACITY)
            .map(|_| Slot {
                sequence: None,
                payload: Vec::with_capacity(MAX_PAYLOAD),
            })
            .collect();
        Self {
            config,
            slots,
            state: State::Idle,
            ssrc: None,
            next: 0,
            end: 0,
            jitter_us: 0.0,
            last: None,
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// The delay the buffer aims for: one frame plus three times the measured jitter,
    /// within the configured bounds.
    pub fn target_delay(&self) -> Duration {
        let wanted = self.config.frame + Duration::from_micros((3.0 * self.jitter_us) as u64);
        wanted.clamp(self.config.min_delay, self.config.max_delay)
    }

    /// The measured interarrival jitter.
    pub fn jitter(&self) -> Duration {
        Duration::from_micros(self.jitter_us as u64)
    }

    /// Takes one packet that arrived at `now`.
    pub fn push(&mut self, packet: Incoming<'_>, now: Instant) -> Arrival {
        if packet.payload.len() > MAX_PAYLOAD {
            self.stats.too_large += 1;
            return Arrival::TooLarge;
        }
        self.stats.received += 1;
        let offset = i32::from(packet.sequence.wrapping_sub(self.next) as i16);
        let new_stream = self.ssrc != Some(packet.ssrc) || offset.abs() > JUMP;
        if new_stream {
            // The new stream's timestamps have nothing to do with the old one's.
            self.last = Some((now, packet.timestamp));
        } else {
            self.measure_jitter(packet.timestamp, now);
        }
        let mut outcome = Arrival::Buffered;
        if new_stream || matches!(self.state, State::Idle) {
            if new_stream && self.ssrc.is_some() {
                self.stats.resets += 1;
                outcome = Arrival::Reset;
            }
            self.start_spurt(packet, now);
        } else if offset < 0 {
            let buffering = matches!(self.state, State::Buffering { .. });
            if buffering && usize::from(self.end.wrapping_sub(packet.sequence)) <= CAPACITY {
                // Reordered ahead of the spurt's first packet: play from this one.
                self.next = packet.sequence;
            } else {
                self.stats.late += 1;
                return Arrival::Late;
            }
        }
        let ahead = usize::from(packet.sequence.wrapping_sub(self.next));
        // Full: drop the oldest frames to make room (ahead < JUMP here, so no wrap).
        for _ in CAPACITY..=ahead {
            self.discard_next();
        }
        if !self.store(packet) {
            self.stats.duplicates += 1;
            return Arrival::Duplicate;
        }
        outcome
    }

    /// A packet of the stream that carries no audio: an RFC 4733 key press shares the audio's
    /// numbering. Its place plays as an empty frame (silence), not as a loss to conceal; it
    /// neither starts a spurt nor moves the jitter estimate (an event repeats its timestamp).
    pub fn push_silence(&mut self, ssrc: Ssrc, sequence: u16) {
        let playing = matches!(self.state, State::Playing { .. } | State::Buffering { .. });
        let offset = i32::from(sequence.wrapping_sub(self.next) as i16);
        if !playing || self.ssrc != Some(ssrc) || offset < 0 || offset as usize >= CAPACITY {
            return;
        }
        self.store(Incoming {
            ssrc,
            sequence,
            timestamp: 0,
            payload: &[],
        });
    }

    /// The frame due at `now`, if any. Call it every frame, or until it returns
    /// [`Pop::Nothing`] to catch up.
    pub fn pop(&mut self, now: Instant) -> Pop<'_> {
        let (due, dry) = match self.state {
            State::Idle => return Pop::Nothing,
            State::Buffering { since } => {
                if now < since + self.target_delay() {
                    return Pop::Nothing;
                }
                (now, 0)
            }
            State::Playing { due, dry } => {
                if now < due {
                    return Pop::Nothing;
                }
                (due, dry)
            }
        };
        // A caller that stalled does not get the whole backlog at once.
        let due = if now.saturating_duration_since(due) > self.config.max_delay {
            now
        } else {
            due
        };
        let due = due + self.config.frame;
        let depth = self.depth();
        if depth == 0 {
            self.stats.concealed += 1;
            let dry = dry + 1;
            self.state = if dry >= IDLE_AFTER {
                State::Idle
            } else {
                State::Playing { due, dry }
            };
            return Pop::Lost;
        }
        self.state = State::Playing { due, dry: 0 };
        // Too much delay: drop one frame per pop until the buffer is back near its target.
        if depth > self.frames(self.target_delay()) + 2 {
            self.discard_next();
        }
        let seq = self.next;
        self.next = seq.wrapping_add(1);
        let slot = &mut self.slots[usize::from(seq) % CAPACITY];
        if slot.sequence == Some(seq) {
            slot.sequence = None;
            Pop::Frame(&slot.payload)
        } else {
            self.stats.lost += 1;
            Pop::Lost
        }
    }

    fn start_spurt(&mut self, packet: Incoming<'_>, now: Instant) {
        for slot in &mut self.slots {
            slot.sequence = None;
        }
        self.ssrc = Some(packet.ssrc);
        self.next = packet.sequence;
        self.end = packet.sequence;
        self.state = State::Buffering { since: now };
    }

    /// Puts the packet in its slot; false if that sequence number is already there.
    fn store(&mut self, packet: Incoming<'_>) -> bool {
        let slot = &mut self.slots[usize::from(packet.sequence) % CAPACITY];
        if slot.sequence == Some(packet.sequence) {
            return false;
        }
        slot.sequence = Some(packet.sequence);
        slot.payload.clear();
        // Within the capacity reserved at construction: no allocation.
        slot.payload.extend_from_slice(packet.payload);
        if packet.sequence.wrapping_sub(self.end) as i16 >= 0 {
            self.end = packet.sequence.wrapping_add(1);
        }
        true
    }

    /// Frames between the next to play and the newest buffered, gaps included.
    fn depth(&self) -> usize {
        let d = self.end.wrapping_sub(self.next) as i16;
        usize::try_from(d).unwrap_or(0)
    }

    fn discard_next(&mut self) {
        let slot = &mut self.slots[usize::from(self.next) % CAPACITY];
        if slot.sequence == Some(self.next) {
            slot.sequence = None;
        }
        self.stats.dropped += 1;
        self.next = self.next.wrapping_add(1);
        if self.depth() == 0 {
            self.end = self.next;
        }
    }

    fn frames(&self, d: Duration) -> usize {
        let frame = self.config.frame.as_micros().max(1);
        d.as_micros().div_ceil(frame) as usize
    }

    /// RFC 3550's estimator: the change in transit time between consecutive packets,
    /// smoothed with gain 1/16.
    fn measure_jitter(&mut self, timestamp: u32, now: Instant) {
        if let Some((arrived, ts)) = self.last {
            let arrival_us = now.saturating_duration_since(arrived).as_micros() as f64;
            let ticks = f64::from(timestamp.wrapping_sub(ts) as i32);
            let media_us = ticks * 1e6 / f64::from(self.config.clock_rate.max(1));
            let d = (arrival_us - media_us).abs();
            // A reset or a long pause is not jitter.
            if d < 1e6 {
                self.jitter_us += (d - self.jitter_us) / 16.0;
            }
        }
        self.last = Some((now, timestamp));
    }
}

#[cfg(test)]
mod tests;

//! Simulcast: a publisher's camera arrives as up to three encodings (layers) of the same
//! picture, and each subscriber is sent exactly one of them.
//!
//! What a subscriber's browser sees must look like one unbroken stream: when the relay moves a
//! subscriber to another layer, it does so at a keyframe of the new layer, and it rewrites the
//! sequence numbers, RTP timestamps and the VP8 picture id and TL0PICIDX so that they continue
//! from what the subscriber last got. The payload itself is never copied: the VP8 descriptor
//! bytes are patched by the transport as it serialises the packet.

use std::time::{Duration, Instant};

use str0m::media::Rid;
use str0m::rtp::{Vp8Descriptor, Vp8Patch};

/// The most layers a camera may publish.
pub(crate) const MAX_LAYERS: usize = 3;

/// A layer that has sent nothing for this long is treated as switched off by its publisher
/// (browsers drop their top layers when their own uplink or CPU is short).
const LAYER_IDLE: Duration = Duration::from_millis(1500);

/// Video RTP clock.
const VIDEO_CLOCK: u64 = 90_000;

/// One encoding of a publisher's camera, as the relay observes it.
#[derive(Debug)]
pub(crate) struct Layer {
    pub(crate) rid: Rid,
    /// Payload bytes since the last rate update.
    bytes: u64,
    /// Smoothed bitrate in bits per second.
    pub(crate) bitrate: u64,
    /// The picture height from its last keyframe (0 until one is seen).
    pub(crate) height: u16,
    last_packet: Option<Instant>,
    pub(crate) last_keyframe_request: Option<Instant>,
}

impl Layer {
    pub(crate) fn new(rid: Rid) -> Layer {
        Layer {
            rid,
            bytes: 0,
            bitrate: 0,
            height: 0,
            last_packet: None,
            last_keyframe_request: None,
        }
    }

    pub(crate) fn observe(&mut self, now: Instant, payload: &[u8], keyframe: bool) {
        self.bytes += payload.len() as u64;
        self.last_packet = Some(now);
        if keyframe {
            if let Some((_, h)) = keyframe_size(payload) {
                self.height = h;
            }
        }
    }

    /// Folds the bytes seen in the last `elapsed` into the smoothed bitrate.
    pub(crate) fn update_rate(&mut self, elapsed: Duration) {
        let ms = elapsed.as_millis().max(1) as u64;
        let sample = self.bytes * 8 * 1000 / ms;
        self.bytes = 0;
        // Fast to rise (a layer starting up), slower to fall (a quiet scene).
        self.bitrate = if sample > self.bitrate {
            sample
        } else {
            (self.bitrate * 3 + sample) / 4
        };
    }

    pub(crate) fn is_active(&self, now: Instant) -> bool {
        self.last_packet
            .is_some_and(|t| now.saturating_duration_since(t) < LAYER_IDLE)
    }
}

/// The width and height written in a VP8 keyframe's header (RFC 6386 9.1), if this payload
/// (descriptor included) starts one.
pub(crate) fn keyframe_size(payload: &[u8]) -> Option<(u16, u16)> {
    let first = *payload.first()?;
    let mut at = 1;
    if first & 0x80 != 0 {
        let ext = *payload.get(1)?;
        at = 2;
        if ext & 0x80 != 0 {
            at += if payload.get(2)? & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            at += 1;
        }
        if ext & 0x30 != 0 {
            at += 1;
        }
    }
    let header = payload.get(at..at + 10)?;
    if header[0] & 0x01 != 0 || header[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([header[6], header[7]]) & 0x3fff;
    let height = u16::from_le_bytes([header[8], header[9]]) & 0x3fff;
    Some((width, height))
}

/// What is known of one incoming packet before it is fanned out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Incoming {
    pub(crate) layer: u8,
    /// Extended sequence number on its layer's stream.
    pub(crate) seq: u64,
    pub(crate) timestamp: u32,
    pub(crate) arrival: Instant,
    pub(crate) keyframe: bool,
    /// The parsed VP8 descriptor, when the payload is VP8 and well formed.
    pub(crate) vp8: Option<Vp8Descriptor>,
}

/// Where one packet goes in a subscriber's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rewritten {
    pub(crate) seq: u64,
    pub(crate) timestamp: u32,
    pub(crate) vp8_patch: Option<Vp8Patch>,
}

/// One subscriber's view of one producer: which layer it gets, and how that layer's numbering
/// maps onto the stream it has been receiving.
#[derive(Debug, Default)]
pub(crate) struct LayerSwitch {
    /// The layer being forwarded; `None` until the first packet.
    current: Option<u8>,
    /// The layer the allocation wants; reached at its next keyframe.
    pub(crate) target: u8,
    /// The link cannot carry the current layer: stop sending it now rather than at the
    /// switch, so that the queue drains and the new layer's keyframe gets through.
    pub(crate) shed: bool,
    /// Packets of the current layer older than this are from before the switch.
    switched_at_seq: u64,
    seq_delta: u64,
    ts_delta: u32,
    picture_id_delta: u16,
    tl0_delta: u8,
    /// The last values sent, to continue from at the next switch.
    last_seq: Option<u64>,
    last_ts: u32,
    last_arrival: Option<Instant>,
    last_picture_id: Option<u16>,
    last_tl0: Option<u8>,
    pub(crate) switches: u64,
}

impl LayerSwitch {
    pub(crate) fn current(&self) -> Option<u8> {
        self.current
    }

    /// Stops forwarding until the target layer's next keyframe, which continues the numbering
    /// (the tile was hidden, and is shown again).
    pub(crate) fn pause(&mut self) {
        self.current = None;
    }

    /// Whether this packet goes to the subscriber and, if so, with which numbers.
    ///
    /// `needs_keyframe` is false for a producer that is not simulcast: its single layer is
    /// forwarded from the first packet, as before any switching existed.
    pub(crate) fn rewrite(&mut self, p: &Incoming, needs_keyframe: bool) -> Option<Rewritten> {
        if self.current != Some(p.layer) {
            let wanted = p.layer == self.target;
            if !wanted || (needs_keyframe && !p.keyframe) {
                return None;
            }
            self.switch_to(p);
        } else if self.shed && self.target != p.layer {
            return None;
        }
        if p.seq < self.switched_at_seq {
            return None;
        }
        let seq = p.seq.wrapping_add(self.seq_delta);
        let timestamp = p.timestamp.wrapping_add(self.ts_delta);
        if self.last_seq.is_none_or(|last| seq > last) {
            self.last_seq = Some(seq);
            self.last_ts = timestamp;
            self.last_arrival = Some(p.arrival);
        }
        let vp8_patch = p.vp8.and_then(|d| self.patch_vp8(&d));
        Some(Rewritten {
            seq,
            timestamp,
            vp8_patch,
        })
    }

    fn switch_to(&mut self, p: &Incoming) {
        self.switched_at_seq = p.seq;
        self.shed = false;
        match self.last_seq {
            // The very first packet: the stream starts in SRTP rollover period zero.
            None => {
                self.seq_delta = (p.seq & 0xffff).wrapping_sub(p.seq);
                self.ts_delta = 0;
                self.picture_id_delta = 0;
                self.tl0_delta = 0;
            }
            Some(last) => {
                self.seq_delta = (last + 1).wrapping_sub(p.seq);
                let elapsed = self
                    .last_arrival
                    .map(|t| p.arrival.saturating_duration_since(t))
                    .unwrap_or_default();
                let ticks = (elapsed.as_micros() as u64 * VIDEO_CLOCK / 1_000_000).max(1) as u32;
                self.ts_delta = self.last_ts.wrapping_add(ticks).wrapping_sub(p.timestamp);
                if let (Some(last), Some(now)) =
                    (self.last_picture_id, p.vp8.and_then(|d| d.picture_id()))
                {
                    self.picture_id_delta = last.wrapping_add(1).wrapping_sub(now);
                }
                if let (Some(last), Some(now)) =
                    (self.last_tl0, p.vp8.and_then(|d| d.tl0_pic_idx()))
                {
                    self.tl0_delta = last.wrapping_add(1).wrapping_sub(now);
                }
                self.switches += 1;
            }
        }
        self.current = Some(p.layer);
    }

    fn patch_vp8(&mut self, d: &Vp8Descriptor) -> Option<Vp8Patch> {
        let mut builder = d.patch();
        let mut changed = false;
        if let Some(id) = d.picture_id() {
            let mut out = id.wrapping_add(self.picture_id_delta) & 0x7fff;
            // Keep the width the publisher used: 15 bits, or 7.
            if d.patch().picture_id(out).build().is_err() {
                out &= 0x7f;
            }
            self.last_picture_id = Some(out);
            if self.picture_id_delta != 0 {
                builder = builder.picture_id(out);
                changed = true;
            }
        }
        if let Some(tl0) = d.tl0_pic_idx() {
            let out = tl0.wrapping_add(self.tl0_delta);
            self.last_tl0 = Some(out);
            if self.tl0_delta != 0 {
                builder = builder.tl0_pic_idx(out);
                changed = true;
            }
        }
        if !changed {
            return None;
        }
        builder.build().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VP8 payload with a 15-bit picture id and TL0PICIDX, optionally a keyframe.
    fn vp8(picture_id: u16, tl0: u8, keyframe: bool, w: u16, h: u16) -> Vec<u8> {
        let mut p = vec![
            0x90,
            0xe0,
            0x80 | (picture_id >> 8) as u8,
            picture_id as u8,
            tl0,
            0x00,
        ];
        if keyframe {
            p.extend_from_slice(&[0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a]);
            p.extend_from_slice(&w.to_le_bytes());
            p.extend_from_slice(&h.to_le_bytes());
        } else {
            p.extend_from_slice(&[0x01, 0x00, 0x00, 0xaa]);
        }
        p
    }

    fn packet(layer: u8, seq: u64, ts: u32, at: Instant, payload: &[u8]) -> Incoming {
        let vp8 = Vp8Descriptor::parse(payload).ok();
        Incoming {
            layer,
            seq,
            timestamp: ts,
            arrival: at,
            keyframe: vp8.is_some_and(|d| d.starts_keyframe(payload)),
            vp8,
        }
    }

    #[test]
    fn keyframe_size_is_read_from_the_frame_header() {
        assert_eq!(keyframe_size(&vp8(5, 1, true, 320, 180)), Some((320, 180)));
        assert_eq!(keyframe_size(&vp8(5, 1, false, 0, 0)), None);
        assert_eq!(keyframe_size(&[0x90]), None);
        assert_eq!(keyframe_size(&[]), None);
    }

    #[test]
    fn a_switch_waits_for_a_keyframe_and_continues_the_numbering() {
        let t0 = Instant::now();
        let mut s = LayerSwitch::default();
        // Starts on layer 0 at its keyframe.
        let k0 = vp8(1000, 7, true, 160, 90);
        let first = s.rewrite(&packet(0, 70_000, 9000, t0, &k0), true).unwrap();
        assert_eq!(first.seq, 70_000 & 0xffff);
        assert_eq!(first.vp8_patch, None, "nothing to rewrite before a switch");
        let d0 = vp8(1001, 7, false, 0, 0);
        let second = s
            .rewrite(&packet(0, 70_001, 12_000, t0, &d0), true)
            .unwrap();
        assert_eq!(second.seq, first.seq + 1);

        // Layer 1 is wanted: its delta frames are skipped until its keyframe.
        s.target = 1;
        let d1 = vp8(40, 200, false, 0, 0);
        assert!(s.rewrite(&packet(1, 5, 500, t0, &d1), true).is_none());
        let later = t0 + Duration::from_millis(100);
        let k1 = vp8(41, 201, true, 320, 180);
        let switched = s.rewrite(&packet(1, 6, 800, later, &k1), true).unwrap();
        assert_eq!(switched.seq, second.seq + 1, "sequence continues");
        assert_eq!(
            switched.timestamp,
            12_000 + 9000,
            "timestamp moves on by the 100 ms that passed"
        );
        assert!(switched.vp8_patch.is_some(), "picture id rewritten");
        assert_eq!(s.last_picture_id, Some(1002));
        assert_eq!(s.last_tl0, Some(8));
        // The old layer no longer passes.
        assert!(s
            .rewrite(&packet(0, 70_002, 15_000, later, &d0), true)
            .is_none());
        assert_eq!(s.switches, 1);
    }

    #[test]
    fn a_layer_the_link_cannot_carry_is_shed_before_the_switch() {
        let t0 = Instant::now();
        let mut s = LayerSwitch {
            target: 2,
            ..LayerSwitch::default()
        };
        let k2 = vp8(1, 1, true, 960, 540);
        assert!(s.rewrite(&packet(2, 1, 0, t0, &k2), true).is_some());
        s.target = 0;
        let d2 = vp8(2, 1, false, 0, 0);
        assert!(
            s.rewrite(&packet(2, 2, 3000, t0, &d2), true).is_some(),
            "kept until the switch"
        );
        s.shed = true;
        assert!(
            s.rewrite(&packet(2, 3, 6000, t0, &d2), true).is_none(),
            "shed"
        );
        let k0 = vp8(50, 9, true, 240, 135);
        let switched = s.rewrite(&packet(0, 9, 100, t0, &k0), true).unwrap();
        assert_eq!(
            switched.seq, 3,
            "numbering continues from the last packet sent"
        );
        assert!(!s.shed);
    }

    #[test]
    fn a_single_layer_track_passes_from_its_first_packet() {
        let t0 = Instant::now();
        let mut s = LayerSwitch::default();
        let d = vp8(3, 1, false, 0, 0);
        let out = s.rewrite(&packet(0, 65_540, 1, t0, &d), false).unwrap();
        assert_eq!(out.seq, 4);
        assert_eq!(out.timestamp, 1);
        assert_eq!(out.vp8_patch, None);
    }

    #[test]
    fn rates_rise_fast_and_fall_slowly() {
        let t0 = Instant::now();
        let mut l = Layer::new(Rid::from("q"));
        l.observe(t0, &[0; 1000], false);
        l.update_rate(Duration::from_millis(100));
        assert_eq!(l.bitrate, 80_000);
        l.update_rate(Duration::from_millis(100));
        assert_eq!(l.bitrate, 60_000);
        assert!(l.is_active(t0 + Duration::from_millis(100)));
        assert!(!l.is_active(t0 + Duration::from_secs(5)));
    }
}

//! Simulcast: a publisher's camera arrives as up to three encodings (layers) of the same
//! picture, and each subscriber is sent exactly one of them.
//!
//! What a subscriber's browser sees must look like one unbroken stream: when the relay moves a
//! subscriber to another layer, it does so at a keyframe of the new layer, and it rewrites the
//! sequence numbers, RTP timestamps and the VP8 picture id and TL0PICIDX so that they continue
//! from what the subscriber last got. The payload itself is never copied: the VP8 descriptor
//! bytes are patched by the transport as it serialises the packet.
//!
//! Each layer is itself in temporal layers (browsers send VP8 simulcast as L1T3: a quarter of
//! the frames on T0, a quarter on T1, half on T2). A subscriber whose link cannot carry even
//! the lowest layer gets it at a lower frame rate: whole pictures of the upper temporal layers
//! are left out, and sequence numbers and picture ids close up over them, so its browser sees
//! a stream with nothing missing.

use std::collections::VecDeque;
use std::time::Instant;

use str0m::rtp::{Vp8Descriptor, Vp8Patch};

mod layer;
pub(crate) use layer::{Layer, Rate};

/// The most layers a camera may publish.
pub(crate) const MAX_LAYERS: usize = 3;

/// Video RTP clock.
const VIDEO_CLOCK: u64 = 90_000;

/// How many left-out packets and pictures a switch remembers, to number a late packet (a
/// retransmission from the publisher) that arrives after later ones were left out.
const DROP_MEMORY: usize = 64;

/// The temporal layer fields of a VP8 payload descriptor (RFC 7741 section 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Temporal {
    /// Temporal layer index (TID).
    pub(crate) tid: u8,
    /// Layer sync (Y): this picture depends only on T0, so a subscriber may start receiving
    /// its temporal layer here.
    pub(crate) sync: bool,
    /// The picture id is 15 bits wide (else 7).
    pub(crate) long_picture_id: bool,
}

/// The temporal layer of a VP8 payload, when its descriptor carries one and a picture id (a
/// picture is only left out whole, and the ids must close up over it).
pub(crate) fn temporal(payload: &[u8]) -> Option<Temporal> {
    let first = *payload.first()?;
    if first & 0x80 == 0 {
        return None;
    }
    let ext = *payload.get(1)?;
    // I (picture id) and T (TID present) are both needed.
    if ext & 0x80 == 0 || ext & 0x20 == 0 {
        return None;
    }
    let long_picture_id = payload.get(2)? & 0x80 != 0;
    let mut at = if long_picture_id { 4 } else { 3 };
    if ext & 0x40 != 0 {
        at += 1;
    }
    let byte = *payload.get(at)?;
    Some(Temporal {
        tid: byte >> 6,
        sync: byte & 0x20 != 0,
        long_picture_id,
    })
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
    /// Its temporal layer, when the descriptor says.
    pub(crate) temporal: Option<Temporal>,
}

/// Where one packet goes in a subscriber's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rewritten {
    pub(crate) seq: u64,
    pub(crate) timestamp: u32,
    pub(crate) vp8_patch: Option<Vp8Patch>,
    /// The VP8 picture id the subscriber sees.
    pub(crate) picture_id: Option<u16>,
}

/// One subscriber's view of one producer: which layer it gets, and how that layer's numbering
/// maps onto the stream it has been receiving.
#[derive(Debug, Default)]
pub(crate) struct LayerSwitch {
    /// The layer being forwarded; `None` until the first packet.
    current: Option<u8>,
    /// The layer the allocation wants; reached at its next keyframe.
    pub(crate) target: u8,
    /// The highest temporal layer the allocation wants (`None`: all of them). Lower is reached
    /// at the next picture; higher at a picture that allows it (layer sync, or a keyframe).
    pub(crate) temporal_target: Option<u8>,
    /// The highest temporal layer being forwarded (`None`: all of them).
    temporal: Option<u8>,
    /// The link cannot carry the current layer: stop sending it now rather than at the
    /// switch, so that the queue drains and the new layer's keyframe gets through.
    pub(crate) shed: bool,
    /// The link cannot carry even this camera's slowest picture: its video is off.
    pub(crate) off: bool,
    /// Packets of the current layer older than this are from before the switch.
    switched_at_seq: u64,
    seq_delta: u64,
    ts_delta: u32,
    picture_id_delta: u16,
    tl0_delta: u8,
    /// The newest sequence number and picture (extended) seen on the current layer.
    newest_seq: Option<u64>,
    newest_picture: Option<u64>,
    /// Packets and pictures of the current layer left out (newest last), for late packets.
    dropped_seqs: VecDeque<u64>,
    dropped_pictures: VecDeque<u64>,
    /// The last values sent, to continue from at the next switch.
    last_seq: Option<u64>,
    last_ts: u32,
    last_arrival: Option<Instant>,
    last_picture_id: Option<u16>,
    last_tl0: Option<u8>,
    pub(crate) switches: u64,
    /// Packets left out for a lower frame rate.
    pub(crate) thinned: u64,
}

/// `None` (every temporal layer) sorts above any layer.
fn level(temporal: Option<u8>) -> u8 {
    temporal.unwrap_or(u8::MAX)
}

impl LayerSwitch {
    pub(crate) fn current(&self) -> Option<u8> {
        self.current
    }

    /// The highest temporal layer being forwarded (`None`: all of them).
    #[cfg(test)]
    pub(crate) fn temporal(&self) -> Option<u8> {
        self.temporal
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
        let newest = self.newest_seq.is_none_or(|n| p.seq > n);
        if newest {
            self.newest_seq = Some(p.seq);
        }
        let picture = p.temporal.and_then(|t| self.extend_picture(p, t));
        if self.leaves_out(p, picture) {
            self.thinned += 1;
            if newest {
                // The packets after it close up over it.
                self.seq_delta = self.seq_delta.wrapping_sub(1);
                remember(&mut self.dropped_seqs, p.seq);
            }
            return None;
        }
        // A late packet (a retransmission) is numbered as it would have been in order.
        let seq_late = if newest {
            0
        } else {
            dropped_since(&self.dropped_seqs, p.seq)?
        };
        let pictures_late = match picture {
            Some(pic) if self.newest_picture.is_some_and(|n| pic < n) => {
                dropped_since(&self.dropped_pictures, pic)?
            }
            _ => 0,
        };
        let seq = p.seq.wrapping_add(self.seq_delta).wrapping_add(seq_late);
        let timestamp = p.timestamp.wrapping_add(self.ts_delta);
        if self.last_seq.is_none_or(|last| seq > last) {
            self.last_seq = Some(seq);
            self.last_ts = timestamp;
            self.last_arrival = Some(p.arrival);
        }
        let (vp8_patch, picture_id) = match p.vp8 {
            Some(d) => self.patch_vp8(&d, pictures_late as u16, newest),
            None => (None, None),
        };
        Some(Rewritten {
            seq,
            timestamp,
            vp8_patch,
            picture_id,
        })
    }

    /// The picture id of `p`, extended past its 7 or 15 bits from the newest seen.
    fn extend_picture(&self, p: &Incoming, t: Temporal) -> Option<u64> {
        let id = u64::from(p.vp8?.picture_id()?);
        let modulus: u64 = if t.long_picture_id { 1 << 15 } else { 1 << 7 };
        let Some(newest) = self.newest_picture else {
            // Far from zero, so that a few steps back never go below it.
            return Some(id + modulus * 1024);
        };
        let ahead = (id + modulus - newest % modulus) % modulus;
        Some(if ahead < modulus / 2 {
            newest + ahead
        } else {
            newest - (modulus - ahead)
        })
    }

    /// Whether `p` belongs to a temporal layer above what is forwarded. The temporal layer
    /// changes only at a new picture, so that a picture is sent whole or not at all.
    fn leaves_out(&mut self, p: &Incoming, picture: Option<u64>) -> bool {
        let (Some(t), Some(picture)) = (p.temporal, picture) else {
            return false;
        };
        if self.newest_picture.is_some_and(|n| picture <= n) {
            // A picture already decided (or older): its layer decides.
            return t.tid > level(self.temporal);
        }
        self.newest_picture = Some(picture);
        if p.keyframe || level(self.temporal_target) < level(self.temporal) {
            self.temporal = self.temporal_target;
        } else if t.sync
            && t.tid <= level(self.temporal_target)
            && self.temporal.is_some_and(|now| t.tid == now + 1)
        {
            // Up one temporal layer at a time, at a picture that depends on T0 alone: what
            // follows on that layer may refer to it, but never to a layer not yet sent. (At the
            // top the level stays a number; a keyframe makes it "all".)
            self.temporal = Some(t.tid);
        }
        if t.tid > level(self.temporal) {
            self.picture_id_delta = self.picture_id_delta.wrapping_sub(1);
            remember(&mut self.dropped_pictures, picture);
            return true;
        }
        false
    }

    fn switch_to(&mut self, p: &Incoming) {
        self.switched_at_seq = p.seq;
        self.shed = false;
        self.temporal = self.temporal_target;
        self.newest_seq = None;
        self.newest_picture = None;
        self.dropped_seqs.clear();
        self.dropped_pictures.clear();
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

    /// The descriptor bytes to rewrite: picture id and TL0PICIDX continued across switches,
    /// the picture id closed up over left-out pictures (`late`: left out after this one).
    fn patch_vp8(
        &mut self,
        d: &Vp8Descriptor,
        late: u16,
        newest: bool,
    ) -> (Option<Vp8Patch>, Option<u16>) {
        let mut builder = d.patch();
        let mut changed = false;
        let mut picture_id = None;
        if let Some(id) = d.picture_id() {
            let delta = self.picture_id_delta.wrapping_add(late);
            let mut out = id.wrapping_add(delta) & 0x7fff;
            // Keep the width the publisher used: 15 bits, or 7.
            if d.patch().picture_id(out).build().is_err() {
                out &= 0x7f;
            }
            if newest {
                self.last_picture_id = Some(out);
            }
            picture_id = Some(out);
            if delta != 0 {
                builder = builder.picture_id(out);
                changed = true;
            }
        }
        if let Some(tl0) = d.tl0_pic_idx() {
            let out = tl0.wrapping_add(self.tl0_delta);
            if newest {
                self.last_tl0 = Some(out);
            }
            if self.tl0_delta != 0 {
                builder = builder.tl0_pic_idx(out);
                changed = true;
            }
        }
        (changed.then(|| builder.build().ok()).flatten(), picture_id)
    }
}

/// Notes a left-out packet or picture, forgetting the oldest beyond [`DROP_MEMORY`].
fn remember(dropped: &mut VecDeque<u64>, n: u64) {
    if dropped.len() == DROP_MEMORY {
        dropped.pop_front();
    }
    dropped.push_back(n);
}

/// How many were left out after `n`; `None` when that is no longer known.
fn dropped_since(dropped: &VecDeque<u64>, n: u64) -> Option<u64> {
    if dropped.len() == DROP_MEMORY && dropped.front().is_some_and(|oldest| *oldest > n) {
        return None;
    }
    Some(dropped.iter().rev().take_while(|d| **d > n).count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A VP8 payload with a 15-bit picture id and TL0PICIDX, optionally a keyframe.
    fn vp8(picture_id: u16, tl0: u8, keyframe: bool, w: u16, h: u16) -> Vec<u8> {
        vp8_in(picture_id, tl0, 0, false, keyframe, w, h)
    }

    /// The same on temporal layer `tid`, with or without layer sync.
    fn vp8_in(
        picture_id: u16,
        tl0: u8,
        tid: u8,
        sync: bool,
        keyframe: bool,
        w: u16,
        h: u16,
    ) -> Vec<u8> {
        let mut p = vec![
            0x90,
            0xe0,
            0x80 | (picture_id >> 8) as u8,
            picture_id as u8,
            tl0,
            tid << 6 | if sync { 0x20 } else { 0 },
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
            temporal: temporal(payload),
        }
    }

    #[test]
    fn the_temporal_layer_is_read_from_the_descriptor() {
        let t = temporal(&vp8_in(300, 1, 2, true, false, 0, 0)).unwrap();
        assert_eq!((t.tid, t.sync, t.long_picture_id), (2, true, true));
        // 7-bit picture id, no TL0PICIDX: the TID byte comes right after the picture id.
        let t = temporal(&[0x90, 0xa0, 0x05, 0x40, 0x00]).unwrap();
        assert_eq!((t.tid, t.sync, t.long_picture_id), (1, false, false));
        // No T bit, no picture id, or cut short: nothing to go by.
        assert_eq!(temporal(&[0x90, 0xc0, 0x85, 0x01, 0x07, 0x00]), None);
        assert_eq!(temporal(&[0x90, 0x20, 0x40, 0x00]), None);
        assert_eq!(temporal(&[0x90, 0xe0, 0x80]), None);
        assert_eq!(temporal(&[0x10]), None);
    }

    /// Three temporal layers in the order browsers send them: 0 2 1 2 0 2 1 2 ...
    const PATTERN: [u8; 4] = [0, 2, 1, 2];

    #[test]
    fn upper_temporal_layers_are_left_out_and_the_numbering_closes_up() {
        let t0 = Instant::now();
        let mut s = LayerSwitch {
            temporal_target: Some(0),
            ..LayerSwitch::default()
        };
        let mut sent = Vec::new();
        for i in 0..12u16 {
            let tid = PATTERN[usize::from(i) % 4];
            // Two packets per picture.
            for part in 0..2u64 {
                let payload = vp8_in(500 + i, (i / 4) as u8, tid, tid > 0, i == 0, 160, 90);
                let seq = 1000 + u64::from(i) * 2 + part;
                if let Some(out) =
                    s.rewrite(&packet(0, seq, u32::from(i) * 3000, t0, &payload), true)
                {
                    sent.push((out.seq, out.picture_id.unwrap()));
                }
            }
        }
        // Pictures 0, 4 and 8 (T0) only, numbered without gaps.
        assert_eq!(
            sent,
            vec![
                (1000, 500),
                (1001, 500),
                (1002, 501),
                (1003, 501),
                (1004, 502),
                (1005, 502)
            ]
        );
        assert_eq!(s.temporal(), Some(0));
    }

    #[test]
    fn a_higher_frame_rate_starts_at_a_picture_that_allows_it() {
        let t0 = Instant::now();
        let mut s = LayerSwitch {
            temporal_target: Some(0),
            ..LayerSwitch::default()
        };
        let mut seq = 0;
        let mut send = |s: &mut LayerSwitch, pic: u16, tid: u8, sync: bool| {
            seq += 1;
            let payload = vp8_in(pic, 0, tid, sync, pic == 0, 160, 90);
            s.rewrite(&packet(0, seq, u32::from(pic) * 3000, t0, &payload), true)
                .map(|out| (out.seq, out.picture_id.unwrap()))
        };
        assert!(send(&mut s, 0, 0, false).is_some());
        assert!(send(&mut s, 1, 2, true).is_none());
        s.temporal_target = None;
        // Not at a picture without layer sync, nor two layers up at once (the T1 pictures
        // after it could refer to T1 pictures never sent)...
        assert!(send(&mut s, 2, 1, false).is_none());
        assert!(send(&mut s, 3, 2, true).is_none());
        assert_eq!(s.temporal(), Some(0));
        // ...but one layer up at a picture with it; numbering continues from the last sent.
        assert_eq!(send(&mut s, 4, 1, true), Some((2, 1)));
        assert_eq!(send(&mut s, 5, 2, true), Some((3, 2)));
        assert_eq!(send(&mut s, 6, 1, false), Some((4, 3)), "T1 follows on");
        // Down again: at once, from the next picture.
        s.temporal_target = Some(0);
        assert!(send(&mut s, 7, 2, false).is_none());
        assert_eq!(send(&mut s, 8, 0, false), Some((5, 4)));
    }

    #[test]
    fn a_late_packet_is_numbered_as_it_would_have_been_in_order() {
        let t0 = Instant::now();
        let mut s = LayerSwitch {
            temporal_target: Some(0),
            ..LayerSwitch::default()
        };
        let p = |pic: u16, tid: u8, seq: u64| {
            let payload = vp8_in(pic, 0, tid, false, pic == 10, 160, 90);
            (payload, seq)
        };
        let send = |s: &mut LayerSwitch, (payload, seq): (Vec<u8>, u64)| {
            s.rewrite(&packet(0, seq, 0, t0, &payload), true)
                .map(|out| (out.seq, out.picture_id.unwrap()))
        };
        assert_eq!(send(&mut s, p(10, 0, 100)), Some((100, 10)));
        // 101 (the second packet of picture 10) is lost on the way in; 102 is left out.
        assert_eq!(send(&mut s, p(11, 2, 102)), None);
        assert_eq!(send(&mut s, p(12, 0, 103)), Some((102, 11)));
        // 101 comes again, as a retransmission: it fills the gap it left.
        assert_eq!(send(&mut s, p(10, 0, 101)), Some((101, 10)));
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
}

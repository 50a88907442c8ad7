//! What a synthetic camera sends: VP8-shaped payloads in up to three simulcast layers, each in
//! three temporal layers as browsers send them, with the fields an SFU reads (payload
//! descriptor with a 15-bit picture id, TL0PICIDX, temporal layer and layer sync; a keyframe
//! header with the picture size every few seconds and whenever one is asked for), the send
//! time and the sender.

use std::time::Instant;

use str0m::media::{Rid, Simulcast, SimulcastLayer};

/// The simulcast layers, lowest first, as the web client names them.
pub(crate) const RIDS: [&str; 3] = ["q", "h", "f"];
/// Picture heights of the layers (from 960×540, as the web client sends).
const HEIGHTS: [u16; 3] = [135, 270, 540];
/// A keyframe on every layer this often, besides those asked for.
const KEYFRAME_EVERY: u64 = 90;

/// Temporal layers of consecutive frames (L1T3).
const TEMPORAL_PATTERN: [u8; 4] = [0, 2, 1, 2];

/// Where the send time, the sender and the layer sit in every payload (after the descriptor
/// and a keyframe's header).
pub(crate) const TIME_AT: usize = 16;
const SENDER_AT: usize = 24;
pub(crate) const LAYER_AT: usize = 28;
/// After the stamp: tells a synthetic camera's packet from any other payload.
const VIDEO_MARK: &[u8; 4] = b"SLUV";
const MARK_AT: usize = 29;
const HEADER: usize = 33;

/// The simulcast description for a video m-line with `layers` layers (none for one). Sluss's
/// web client lists them lowest first; Janus's own client (and Janus) highest first.
pub(crate) fn simulcast(layers: usize, highest_first: bool) -> Option<Simulcast> {
    (layers > 1).then(|| {
        let mut s = Simulcast::new();
        let mut rids: Vec<&str> = RIDS[RIDS.len() - layers..].to_vec();
        if highest_first {
            rids.reverse();
        }
        for rid in rids {
            s.add_send_layer(SimulcastLayer::new(rid));
        }
        s
    })
}

/// One camera's state: per layer, the sequence number, picture id and a pending keyframe.
pub(crate) struct Camera {
    /// The layer indexes sent (into `RIDS`): [2] for a single layer, [0, 1, 2] for simulcast.
    layers: Vec<usize>,
    simulcast: bool,
    seq: [u64; 3],
    picture_id: [u16; 3],
    tl0: [u8; 3],
    keyframe_due: [bool; 3],
    frames: u64,
}

impl Camera {
    pub(crate) fn new(layers: usize) -> Camera {
        let layers = layers.clamp(1, 3);
        Camera {
            layers: (3 - layers..3).collect(),
            simulcast: layers > 1,
            seq: [0; 3],
            picture_id: [10, 2000, 9000],
            tl0: [0, 80, 160],
            keyframe_due: [true; 3],
            frames: 0,
        }
    }

    /// The layers one frame is sent on: (rid for the stream, or none; layer index).
    pub(crate) fn layers(&self) -> impl Iterator<Item = (Option<Rid>, usize)> + '_ {
        self.layers
            .iter()
            .map(|l| (self.simulcast.then(|| Rid::from(RIDS[*l])), *l))
    }

    /// A receiver asked for a keyframe (of one layer, or of all).
    pub(crate) fn keyframe_requested(&mut self, rid: Option<Rid>) {
        for (due, name) in self.keyframe_due.iter_mut().zip(RIDS) {
            if rid.is_none_or(|r| r == Rid::from(name)) {
                *due = true;
            }
        }
    }

    /// Starts a new frame (call once per frame, before its layers).
    pub(crate) fn next_frame(&mut self) {
        self.frames += 1;
        if self.frames.is_multiple_of(KEYFRAME_EVERY) {
            self.keyframe_due = [true; 3];
        }
    }

    /// The next packet of `layer`: its sequence number and payload of `size` bytes.
    pub(crate) fn packet(
        &mut self,
        t0: Instant,
        idx: u32,
        layer: usize,
        size: usize,
    ) -> (u64, Vec<u8>) {
        self.seq[layer] += 1;
        self.picture_id[layer] = (self.picture_id[layer] + 1) & 0x7fff;
        let keyframe = std::mem::take(&mut self.keyframe_due[layer]);
        let pid = self.picture_id[layer];
        let step = (self.frames % 4) as usize;
        let tid = if keyframe { 0 } else { TEMPORAL_PATTERN[step] };
        if tid == 0 {
            self.tl0[layer] = self.tl0[layer].wrapping_add(1);
        }
        // The first T2 and T1 frames after a T0 depend on it alone (layer sync).
        let sync = if tid > 0 && step < 3 { 0x20 } else { 0 };
        let mut p = vec![0u8; size.max(HEADER + 4)];
        // Descriptor: X, S, partition 0; I, L, T; a 15-bit picture id, TL0PICIDX, TID and Y.
        p[..6].copy_from_slice(&[
            0x90,
            0xe0,
            0x80 | (pid >> 8) as u8,
            pid as u8,
            self.tl0[layer],
            tid << 6 | sync,
        ]);
        if keyframe {
            let h = HEIGHTS[layer];
            p[6..12].copy_from_slice(&[0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a]);
            p[12..14].copy_from_slice(&(h * 16 / 9).to_le_bytes());
            p[14..16].copy_from_slice(&h.to_le_bytes());
        } else {
            p[6] = 0x01; // an inter frame
        }
        stamp(&mut p, t0, idx, layer);
        (self.seq[layer], p)
    }
}

/// Writes the send time, the sender, the layer and the mark into a payload.
fn stamp(p: &mut [u8], t0: Instant, idx: u32, layer: usize) {
    p[TIME_AT..TIME_AT + 8].copy_from_slice(&(t0.elapsed().as_nanos() as u64).to_be_bytes());
    p[SENDER_AT..SENDER_AT + 4].copy_from_slice(&idx.to_be_bytes());
    p[LAYER_AT] = layer as u8;
    p[MARK_AT..HEADER].copy_from_slice(VIDEO_MARK);
}

/// The simulcast layer and send time of a synthetic camera's packet; None for anything else.
pub(crate) fn stamp_of(payload: &[u8]) -> Option<(usize, u64)> {
    if payload.get(MARK_AT..HEADER)? != VIDEO_MARK {
        return None;
    }
    let sent = u64::from_be_bytes(payload[TIME_AT..TIME_AT + 8].try_into().ok()?);
    Some((usize::from(payload[LAYER_AT]), sent))
}

/// The size of each layer's packets when the top layer's are `top` bytes.
pub(crate) fn layer_size(layer: usize, top: usize) -> usize {
    (top >> (2 - layer)).max(HEADER + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframes_come_first_and_when_asked() {
        let t0 = Instant::now();
        let mut cam = Camera::new(3);
        assert_eq!(cam.layers().count(), 3);
        let (_, first) = cam.packet(t0, 7, 0, 300);
        assert_eq!(&first[9..12], &[0x9d, 0x01, 0x2a]);
        cam.next_frame();
        let (_, next) = cam.packet(t0, 7, 0, 300);
        assert_eq!(next[6] & 1, 1, "then inter frames");
        assert_eq!(
            next[5],
            0x80 | 0x20,
            "the second frame is on T2, with layer sync"
        );
        assert_eq!(next[LAYER_AT], 0);
        assert_eq!(stamp_of(&next).map(|(layer, _)| layer), Some(0));
        assert_eq!(stamp_of(&[0u8; 300]), None, "not a camera's packet");
        cam.keyframe_requested(Some(Rid::from("q")));
        let (seq, again) = cam.packet(t0, 7, 0, 300);
        assert_eq!(seq, 3);
        assert_eq!(again[6] & 1, 0);
        assert_eq!(again[5] >> 6, 0, "a keyframe is on T0");
        assert_eq!(layer_size(0, 1000), 250);
        assert_eq!(Camera::new(1).layers().collect::<Vec<_>>(), vec![(None, 2)]);
    }
}

//! What each simulcast layer of a camera costs: its rate on the wire, measured per temporal
//! layer, so that the allocation knows what the layer costs at each frame rate it can give.

use std::time::{Duration, Instant};

use str0m::media::Rid;

use super::{keyframe_size, Temporal};

/// A layer that has sent nothing for this long is treated as switched off by its publisher
/// (browsers drop their top layers when their own uplink or CPU is short).
const LAYER_IDLE: Duration = Duration::from_millis(1500);

/// The most temporal layers a VP8 layer has (TID is two bits; browsers use up to three).
pub(crate) const MAX_TEMPORAL: usize = 4;

/// What a packet costs on the wire beyond its payload: IPv4, UDP, RTP with its header
/// extensions, and the SRTP tag. For a voice at 50 packets a second that is 24 kbit/s.
pub(crate) const PACKET_OVERHEAD: u64 = 60;

/// A smoothed bitrate as it is on the wire, payload and packet overhead.
#[derive(Debug, Default)]
pub(crate) struct Rate {
    /// Bytes since the last update.
    bytes: u64,
    /// Bits per second.
    pub(crate) bitrate: u64,
}

impl Rate {
    pub(crate) fn count(&mut self, payload: usize) {
        self.bytes += payload as u64 + PACKET_OVERHEAD;
    }

    /// Folds the bytes seen in the last `elapsed` into the smoothed bitrate; says whether
    /// there were any.
    pub(crate) fn update(&mut self, elapsed: Duration) -> bool {
        let ms = elapsed.as_millis().max(1) as u64;
        let bytes = std::mem::take(&mut self.bytes);
        self.bitrate = smooth(self.bitrate, bytes * 8 * 1000 / ms);
        bytes > 0
    }
}

/// One encoding of a publisher's camera, as the relay observes it.
#[derive(Debug)]
pub(crate) struct Layer {
    pub(crate) rid: Rid,
    pub(crate) rate: Rate,
    /// Each temporal layer's rate alone.
    tid_rates: [Rate; MAX_TEMPORAL],
    /// How many temporal layers it sent in the last interval (0: no temporal layering).
    pub(crate) temporal_layers: u8,
    /// The picture height from its last keyframe (0 until one is seen).
    pub(crate) height: u16,
    last_packet: Option<Instant>,
    pub(crate) last_keyframe_request: Option<Instant>,
}

impl Layer {
    pub(crate) fn new(rid: Rid) -> Layer {
        Layer {
            rid,
            rate: Rate::default(),
            tid_rates: Default::default(),
            temporal_layers: 0,
            height: 0,
            last_packet: None,
            last_keyframe_request: None,
        }
    }

    pub(crate) fn observe(
        &mut self,
        now: Instant,
        payload: &[u8],
        keyframe: bool,
        temporal: Option<Temporal>,
    ) {
        self.rate.count(payload.len());
        if let Some(t) = temporal {
            self.tid_rates[usize::from(t.tid)].count(payload.len());
        }
        self.last_packet = Some(now);
        if keyframe {
            if let Some((_, h)) = keyframe_size(payload) {
                self.height = h;
            }
        }
    }

    /// Folds the bytes seen in the last `elapsed` into the smoothed bitrate.
    pub(crate) fn update_rate(&mut self, elapsed: Duration) {
        self.rate.update(elapsed);
        self.temporal_layers = 0;
        for (tid, rate) in self.tid_rates.iter_mut().enumerate() {
            if rate.update(elapsed) {
                self.temporal_layers = tid as u8 + 1;
            }
        }
    }

    /// The rate of temporal layers 0 to `tid` together, as a share of the layer's `total`
    /// (its measured rate, or a floor for a layer just started): what the layer costs at the
    /// frame rate those temporal layers give.
    pub(crate) fn rate_up_to(&self, tid: u8, total: u64) -> u64 {
        let all: u64 = self.tid_rates.iter().map(|r| r.bitrate).sum();
        let part: u64 = self.tid_rates[..=usize::from(tid).min(MAX_TEMPORAL - 1)]
            .iter()
            .map(|r| r.bitrate)
            .sum();
        if all == 0 {
            // Nothing measured yet: the usual split of three layers (T0 half, T1 a quarter).
            return total * [50, 75, 100, 100][usize::from(tid).min(MAX_TEMPORAL - 1)] / 100;
        }
        (u128::from(total) * u128::from(part) / u128::from(all)) as u64
    }

    /// What the layer costs at each frame rate below its full one (temporal layers 0 to i
    /// together, for each but the top one), lowest first, as shares of `total`. Empty for a
    /// layer in fewer than two temporal layers: there is no lower frame rate to give, so a
    /// weak viewer is moved to a smaller layer, and the smallest is sent at its full rate.
    pub(crate) fn reduced_rates(&self, total: u64) -> Vec<u64> {
        (0..self.temporal_layers.saturating_sub(1))
            .map(|tid| self.rate_up_to(tid, total))
            .collect()
    }

    pub(crate) fn is_active(&self, now: Instant) -> bool {
        self.last_packet
            .is_some_and(|t| now.saturating_duration_since(t) < LAYER_IDLE)
    }
}

/// Fast to rise (a layer starting up), slower to fall (a quiet scene).
fn smooth(old: u64, sample: u64) -> u64 {
    if sample > old {
        sample
    } else {
        (old * 3 + sample) / 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_rise_fast_and_fall_slowly() {
        let t0 = Instant::now();
        let mut l = Layer::new(Rid::from("q"));
        l.observe(t0, &[0; 1000], false, None);
        l.update_rate(Duration::from_millis(100));
        assert_eq!(
            l.rate.bitrate, 84_800,
            "1000 bytes and a packet's overhead in 100 ms"
        );
        assert_eq!(l.temporal_layers, 0);
        l.update_rate(Duration::from_millis(100));
        assert_eq!(l.rate.bitrate, 63_600);
        assert!(l.is_active(t0 + Duration::from_millis(100)));
        assert!(!l.is_active(t0 + Duration::from_secs(5)));
    }

    #[test]
    fn temporal_layer_rates_are_measured_apart() {
        let t0 = Instant::now();
        let mut l = Layer::new(Rid::from("q"));
        // Before anything is measured: the usual split.
        assert_eq!(l.rate_up_to(0, 100_000), 50_000);
        for (tid, bytes) in [(0, 600), (1, 200), (2, 200)] {
            let t = Temporal {
                tid,
                sync: false,
                long_picture_id: true,
            };
            l.observe(t0, &vec![0; bytes], false, Some(t));
        }
        l.update_rate(Duration::from_secs(1));
        assert_eq!(l.temporal_layers, 3);
        // On the wire (with each packet's overhead): 660, 260 and 260 bytes.
        assert_eq!(l.rate_up_to(0, 100_000), 55_932);
        assert_eq!(l.rate_up_to(1, 100_000), 77_966);
        assert_eq!(l.rate_up_to(2, 100_000), 100_000);
        assert_eq!(l.reduced_rates(100_000), vec![55_932, 77_966]);
    }

    #[test]
    fn a_layer_without_temporal_layers_has_no_lower_frame_rate() {
        let t0 = Instant::now();
        let t = |tid| Temporal {
            tid,
            sync: false,
            long_picture_id: true,
        };
        // No TID in its descriptors, or TID 0 on every picture: nothing to leave out.
        for tids in [vec![None, None], vec![Some(t(0)), Some(t(0))]] {
            let mut l = Layer::new(Rid::from("q"));
            for tid in tids {
                l.observe(t0, &[0; 500], false, tid);
            }
            l.update_rate(Duration::from_secs(1));
            assert!(l.reduced_rates(100_000).is_empty(), "{}", l.temporal_layers);
        }
        // Firefox's two (T0 and T1, every other picture): half the frame rate, and no more.
        let mut l = Layer::new(Rid::from("q"));
        for tid in [0, 1, 0, 1] {
            l.observe(t0, &[0; 440], false, Some(t(tid)));
        }
        l.update_rate(Duration::from_secs(1));
        assert_eq!(l.temporal_layers, 2);
        assert_eq!(l.reduced_rates(100_000), vec![50_000]);
    }
}

//! The phone side's voice codec, as the call agreed it: G.711 (A-law or µ-law, 8 kHz
//! narrowband) or G.722 (16 kHz wideband; its RTP clock still counts 8000 a second, RFC 3551).
//! One 20 ms frame at a time; G.722 through the pure-Rust `audio-codec` crate, behind this
//! small type so that nothing else in the crate depends on it.

use audio_codec::g722::{G722Decoder, G722Encoder};
use audio_codec::{Decoder as _, Encoder as _};

use crate::g711::Law;
use crate::opus::OpusRate;
use crate::sdp::Codec;
use crate::Error;

/// Samples on the RTP clock in a 20 ms frame, for every codec here.
pub const RTP_TICKS: u32 = 160;
/// The most bytes a 20 ms frame takes on the wire (G.711: 160; G.722 at 64 kbit/s: 160).
pub const MAX_FRAME_BYTES: usize = 160;

/// A call's voice codec, with its state.
pub enum VoiceCodec {
    G711(Law),
    G722 {
        encoder: Box<G722Encoder>,
        decoder: Box<G722Decoder>,
    },
}

impl std::fmt::Debug for VoiceCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VoiceCodec::G711(law) => write!(f, "G711({law:?})"),
            VoiceCodec::G722 { .. } => f.write_str("G722"),
        }
    }
}

impl VoiceCodec {
    pub fn new(codec: Codec) -> Self {
        match codec {
            Codec::Pcma => VoiceCodec::G711(Law::A),
            Codec::Pcmu => VoiceCodec::G711(Law::Mu),
            Codec::G722 => VoiceCodec::G722 {
                encoder: Box::new(G722Encoder::new()),
                decoder: Box::new(G722Decoder::new()),
            },
        }
    }

    /// The rate the bridge mixes at for this codec.
    pub fn rate(&self) -> OpusRate {
        match self {
            VoiceCodec::G711(_) => OpusRate::Hz8000,
            VoiceCodec::G722 { .. } => OpusRate::Hz16000,
        }
    }

    /// Samples in a 20 ms frame at [`VoiceCodec::rate`].
    pub fn samples(&self) -> usize {
        self.rate().frame_20ms()
    }

    /// Decodes one frame's payload into `pcm`; returns the samples written. A payload longer
    /// than a frame is cut to one.
    pub fn decode(&mut self, payload: &[u8], pcm: &mut [i16]) -> usize {
        let payload = &payload[..payload.len().min(MAX_FRAME_BYTES)];
        match self {
            VoiceCodec::G711(law) => law.decode(payload, pcm),
            VoiceCodec::G722 { decoder, .. } => decoder.decode_into(payload, pcm).unwrap_or(0),
        }
    }

    /// Encodes one frame of `pcm` into `out`; returns the bytes written.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, Error> {
        match self {
            VoiceCodec::G711(law) => Ok(law.encode(pcm, out)),
            VoiceCodec::G722 { encoder, .. } => encoder
                .encode_into(pcm, out)
                .map_err(|_| Error::Codec("G.722 frame not encoded")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, rate: f64, len: usize, k: usize) -> Vec<i16> {
        (0..len)
            .map(|i| {
                let t = (k * len + i) as f64 / rate;
                (8_000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
            })
            .collect()
    }

    /// The share of `pcm`'s power at `hz` (Goertzel against the whole).
    fn share(pcm: &[i16], rate: f64, hz: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * hz / rate;
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &x in pcm {
            let s = f64::from(x) + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let at = (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2) * 2.0 / pcm.len() as f64;
        let all: f64 = pcm.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        at / all.max(1.0)
    }

    #[test]
    fn g722_carries_a_wideband_tone_that_g711_cannot() {
        let mut codec = VoiceCodec::new(Codec::G722);
        assert_eq!(codec.samples(), 320);
        let mut heard = Vec::new();
        let mut wire = [0u8; MAX_FRAME_BYTES];
        let mut pcm = [0i16; 640];
        for k in 0..25 {
            // 5 kHz: above what a narrowband line carries.
            let n = codec
                .encode(&tone(5_000.0, 16_000.0, 320, k), &mut wire)
                .unwrap();
            assert_eq!(n, 160, "64 kbit/s is 160 bytes per 20 ms");
            let m = codec.decode(&wire[..n], &mut pcm);
            assert_eq!(m, 320);
            heard.extend_from_slice(&pcm[..m]);
        }
        assert!(
            share(&heard[1_600..], 16_000.0, 5_000.0) > 0.8,
            "5 kHz lost"
        );
    }

    #[test]
    fn g711_is_narrowband_and_garbage_is_bounded() {
        let mut codec = VoiceCodec::new(Codec::Pcma);
        assert_eq!(codec.samples(), 160);
        let mut pcm = [0i16; 640];
        assert_eq!(codec.decode(&[0xd5; 5_000], &mut pcm), 160);
        let mut g722 = VoiceCodec::new(Codec::G722);
        assert_eq!(g722.decode(&[0x55; 5_000], &mut pcm), 320);
        assert_eq!(g722.decode(&[], &mut pcm), 0);
    }
}

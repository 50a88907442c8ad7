//! What a synthetic microphone sends: real Opus, so that whatever decodes it (the phone
//! bridge's mixer) does a real decoder's work. One second of a voice-like sound (a 140 Hz
//! voice with its harmonics, swelling and fading four times a second) is encoded once at
//! 48 kHz and 32 kbit/s, and its 50 frames are sent in a loop.
//!
//! Each packet is a code 3 Opus packet (RFC 6716, 3.2.5) with one frame and padding. Decoders
//! skip padding, so the send time and the sender ride at its end, followed by [`AUDIO_MARK`],
//! and every receiver measures the hop through the server as it does for video.

use std::sync::OnceLock;
use std::time::Instant;

use sluss_phone::opus::{OpusEncoder, OpusRate, MAX_PACKET};

/// The last bytes of every synthetic voice packet (a voice the server made, such as a phone's,
/// has no stamp).
pub(crate) const AUDIO_MARK: &[u8; 4] = b"SLUA";
/// Send time (8 bytes), sender (4) and the mark.
const TAIL: usize = 16;
/// The code 3 header: TOC, frame count byte, one byte of padding length.
const CODE3_HEADER: usize = 3;

/// The encoded loop, shared by every participant of the process.
struct Frames {
    talking: Vec<Vec<u8>>,
    /// What a muted microphone sends (DTX): a frame of silence.
    silence: Vec<u8>,
}

fn frames() -> &'static Frames {
    static FRAMES: OnceLock<Frames> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let mut encoder = OpusEncoder::new(OpusRate::Hz48000, 32_000).expect("opus encoder");
        let mut encode = |pcm: &[i16]| {
            let mut out = vec![0u8; MAX_PACKET];
            let n = encoder.encode(pcm, &mut out).expect("20 ms of PCM");
            out.truncate(n);
            out
        };
        let frame = OpusRate::Hz48000.frame_20ms();
        let talking = (0..50)
            .map(|f| {
                let pcm: Vec<i16> = (0..frame)
                    .map(|i| voice_sample((f * frame + i) as f64 / 48_000.0))
                    .collect();
                encode(&pcm)
            })
            .collect();
        let silence = encode(&vec![0i16; frame]);
        Frames { talking, silence }
    })
}

/// A 140 Hz voice and its harmonics, its loudness swelling and fading at 4 Hz.
fn voice_sample(t: f64) -> i16 {
    use std::f64::consts::TAU;
    let envelope = 0.55 + 0.45 * (TAU * 4.0 * t).sin();
    let tone: f64 = (1..=6)
        .map(|h| (TAU * 140.0 * h as f64 * t).sin() / h as f64)
        .sum();
    (tone * envelope * 6_000.0) as i16
}

/// Packet `n` of a microphone that talks, or its DTX packet when muted, padded to at least
/// `size` bytes and stamped at the end.
pub(crate) fn payload(t0: Instant, idx: u32, n: u64, talking: bool, size: usize) -> Vec<u8> {
    let frames = frames();
    let frame = if talking {
        &frames.talking[(n % frames.talking.len() as u64) as usize]
    } else {
        &frames.silence
    };
    packet(frame, t0.elapsed().as_nanos() as u64, idx, size)
}

/// `frame` (a code 0 packet: TOC and one frame) as a code 3 packet whose padding ends with
/// the stamp.
fn packet(frame: &[u8], sent_ns: u64, idx: u32, size: usize) -> Vec<u8> {
    let Some((&toc, data)) = frame.split_first().filter(|(toc, _)| *toc & 0x03 == 0) else {
        return frame.to_vec();
    };
    // Padding of at most 254 bytes has a single length byte.
    let padding = size
        .saturating_sub(CODE3_HEADER + data.len())
        .clamp(TAIL, 254);
    let mut p = Vec::with_capacity(CODE3_HEADER + data.len() + padding);
    // Code 3; one frame, constant bit rate, padded.
    p.extend_from_slice(&[toc | 0x03, 0x41, padding as u8]);
    p.extend_from_slice(data);
    p.resize(p.len() + padding - TAIL, 0);
    p.extend_from_slice(&sent_ns.to_be_bytes());
    p.extend_from_slice(&idx.to_be_bytes());
    p.extend_from_slice(AUDIO_MARK);
    p
}

/// The send time of a synthetic voice packet, or None for any other audio.
pub(crate) fn sent_ns(payload: &[u8]) -> Option<u64> {
    let tail = payload.len().checked_sub(TAIL)?;
    if !payload.ends_with(AUDIO_MARK) {
        return None;
    }
    let time = payload.get(tail..tail + 8)?;
    Some(u64::from_be_bytes(time.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluss_phone::opus::OpusDecoder;

    #[test]
    fn packets_decode_as_twenty_ms_of_sound_and_carry_their_send_time() {
        let t0 = Instant::now();
        let mut decoder = OpusDecoder::new(OpusRate::Hz48000).expect("decoder");
        let mut pcm = vec![0i16; OpusRate::Hz48000.max_frame()];
        for n in 0..60 {
            let p = payload(t0, 7, n, true, 120);
            assert!(p.len() >= 120, "padded to the size asked");
            assert_eq!(p[0] & 0x03, 3, "code 3");
            let samples = decoder.decode(&p, &mut pcm).expect("a valid Opus packet");
            assert_eq!(samples, 960);
            assert!(sent_ns(&p).is_some());
        }
        let loud = pcm[..960].iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(loud > 500, "the voice is heard: peak {loud}");
        let muted = payload(t0, 7, 0, false, 20);
        assert!(decoder.decode(&muted, &mut pcm).is_ok());
        assert_eq!(sent_ns(&[0u8; 40]), None, "no mark, no time");
    }
}

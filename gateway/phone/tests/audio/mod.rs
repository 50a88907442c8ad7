//! What the media tests share: tones and their power, and a meeting participant who speaks a
//! tone and listens through a direct transport on a real media worker.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::sync::Arc;

use sluss_net::{Media, MediaConfig};
use sluss_phone::opus::{OpusDecoder, OpusEncoder, OpusRate, MAX_PACKET};
use sluss_relay::{DirectMedia, DirectPacket, PeerId, RelayConfig, RouterId};
use tokio::sync::mpsc;

/// Frame `k` of a sine of `hz` at `rate`, `len` samples long.
pub fn tone(hz: f64, rate: f64, len: usize, k: usize, amplitude: f64) -> Vec<i16> {
    (0..len)
        .map(|i| {
            let t = (k * len + i) as f64 / rate;
            (amplitude * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
        })
        .collect()
}

/// The power of `hz` in `pcm` (Goertzel), per sample.
pub fn power(pcm: &[i16], rate: f64, hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / rate;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in pcm {
        let s = f64::from(x) + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).sqrt() / pcm.len() as f64
}

/// A participant of the meeting on a direct transport: says a tone in Opus at 48 kHz, and
/// decodes what it hears.
pub struct Participant {
    pub peer: PeerId,
    pub router: RouterId,
    encoder: OpusEncoder,
    decoder: OpusDecoder,
    packet: Vec<u8>,
    pcm: Vec<i16>,
    /// What it heard, decoded at 48 kHz, and the audio levels the packets carried.
    pub heard: Vec<i16>,
    pub levels: Vec<i8>,
}

impl Participant {
    pub fn new(router: RouterId, peer: PeerId) -> Self {
        Self {
            peer,
            router,
            encoder: OpusEncoder::new(OpusRate::Hz48000, 32_000).unwrap(),
            decoder: OpusDecoder::new(OpusRate::Hz48000).unwrap(),
            packet: vec![0u8; MAX_PACKET],
            pcm: vec![0i16; OpusRate::Hz48000.max_frame()],
            heard: Vec::new(),
            levels: Vec::new(),
        }
    }

    /// Says frame `k` of a tone of `hz`.
    pub fn say(&mut self, media: &Media, k: usize, hz: f64) {
        let pcm = tone(hz, 48_000.0, 960, k, 6_000.0);
        let n = self.encoder.encode(&pcm, &mut self.packet).unwrap();
        let media_frame = DirectMedia {
            seq: k as u64,
            timestamp: (k * 960) as u32,
            audio_level: Some(-20),
            payload: self.packet[..n].to_vec(),
        };
        media.send_direct(self.router, self.peer, media_frame);
    }

    /// Decodes everything heard so far; every packet must come from `from`.
    pub fn listen(&mut self, voices: &mut mpsc::Receiver<DirectPacket>, from: PeerId) {
        while let Ok(p) = voices.try_recv() {
            assert_eq!(p.publisher, from);
            self.levels.extend(p.audio_level);
            let n = self.decoder.decode(&p.payload, &mut self.pcm).unwrap();
            self.heard.extend_from_slice(&self.pcm[..n]);
        }
    }
}

/// A meeting on a real media worker (one, on loopback) with two direct transports: the phone
/// leg's, and another participant's. Gives the worker and what each of the two hears.
pub async fn meeting_of_two(
    router: RouterId,
    leg: PeerId,
    other: PeerId,
) -> (
    Arc<Media>,
    mpsc::Receiver<DirectPacket>,
    mpsc::Receiver<DirectPacket>,
) {
    let media = Arc::new(
        Media::start(&MediaConfig {
            bind_ip: Ipv4Addr::LOCALHOST.into(),
            port: 0,
            workers: 1,
            batched_io: false,
            relay: RelayConfig::default(),
        })
        .unwrap(),
    );
    let (events, _) = mpsc::unbounded_channel();
    let leg_hears = media
        .add_direct(router, leg, "phone".into(), events.clone())
        .await
        .unwrap();
    let other_hears = media
        .add_direct(router, other, "other".into(), events)
        .await
        .unwrap();
    (media, leg_hears, other_hears)
}

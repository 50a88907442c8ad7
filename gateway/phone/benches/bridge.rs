//! One phone leg's media work per 20 ms frame, as the leg's task does it: the phone's SRTP
//! packet unprotected, parsed and buffered; each speaking meeting voice's Opus packet buffered;
//! then the frame made (G.711 decoded and encoded as Opus for the meeting; every voice decoded
//! to 8 kHz, mixed and encoded as G.711 for the phone) and protected with SRTP. Prints the
//! time per frame, and the share of one core a leg takes (time per frame / 20 ms), for 1, 3
//! and 8 speaking voices; and the delay the bridge adds in each direction on a clean link.
//!
//! Run: `cargo bench -p sluss-phone --bench bridge`

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sluss_phone::bridge::{Bridge, TickOutput, FRAME};
use sluss_phone::g711::Law;
use sluss_phone::opus::{OpusEncoder, OpusRate, MAX_PACKET};
use sluss_phone::rtp::{PayloadType, RtpHeader, RtpPacket, Ssrc};
use sluss_phone::sdp::Codec;
use sluss_phone::srtp::{MasterKey, SrtpContext, Suite};

const PCMA: u8 = 8;
const SUITE: Suite = Suite::AesCm128HmacSha1_80;

fn tone(hz: f64, rate: f64, len: usize, k: usize, amplitude: f64) -> Vec<i16> {
    (0..len)
        .map(|i| {
            let t = (k * len + i) as f64 / rate;
            (amplitude * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
        })
        .collect()
}

/// The trunk's side: the phone's frames as SRTP datagrams.
struct Trunk {
    srtp: SrtpContext,
    seq: u16,
}

impl Trunk {
    fn packet(&mut self, pcm: &[i16]) -> Vec<u8> {
        let mut plain = vec![0u8; 12 + pcm.len()];
        RtpHeader {
            marker: false,
            payload_type: PayloadType::new(PCMA).unwrap(),
            sequence: self.seq,
            timestamp: u32::from(self.seq) * 160,
            ssrc: Ssrc(0xfeed),
        }
        .write(&mut plain)
        .unwrap();
        Law::A.encode(pcm, &mut plain[12..]);
        self.seq = self.seq.wrapping_add(1);
        let mut sealed = vec![0u8; plain.len() + 16];
        let n = self.srtp.protect_rtp(&plain, &mut sealed).unwrap();
        sealed.truncate(n);
        sealed
    }
}

/// One leg: its bridge and SRTP contexts, a trunk, and `voices` meeting voices with their
/// encoders; fed and ticked one frame at a time.
struct Leg {
    bridge: Bridge,
    inbound: SrtpContext,
    outbound: SrtpContext,
    trunk: Trunk,
    voices: Vec<OpusEncoder>,
    out: TickOutput,
    clear: Vec<u8>,
    sealed: Vec<u8>,
    opus: Vec<u8>,
    frame: usize,
    t0: Instant,
}

impl Leg {
    fn new(voices: usize) -> Self {
        let key = |fill| MasterKey::from_bytes([fill; 30]);
        Self {
            bridge: Bridge::new(Codec::Pcma, PCMA, Ssrc(0x0b1d)).unwrap(),
            inbound: SrtpContext::new(SUITE, &key(2)),
            outbound: SrtpContext::new(SUITE, &key(1)),
            trunk: Trunk {
                srtp: SrtpContext::new(SUITE, &key(2)),
                seq: 0,
            },
            voices: (0..voices)
                .map(|_| OpusEncoder::new(OpusRate::Hz48000, 32_000).unwrap())
                .collect(),
            out: TickOutput::default(),
            clear: vec![0u8; 1500],
            sealed: vec![0u8; 1500],
            opus: vec![0u8; MAX_PACKET],
            frame: 0,
            t0: Instant::now(),
        }
    }

    /// The inputs of the next frame, made outside the timed part: the phone's datagram and
    /// each voice's Opus packet.
    fn inputs(&mut self) -> (Vec<u8>, Vec<Vec<u8>>) {
        let k = self.frame;
        let phone = self.trunk.packet(&tone(440.0, 8_000.0, 160, k, 7_000.0));
        let voices = (0..self.voices.len())
            .map(|v| {
                let pcm = tone(300.0 + 150.0 * v as f64, 48_000.0, 960, k, 5_000.0);
                let n = self.voices[v].encode(&pcm, &mut self.opus).unwrap();
                self.opus[..n].to_vec()
            })
            .collect();
        (phone, voices)
    }

    /// The leg's work for one frame, as its task does it. Returns the phone's SRTP datagram
    /// length, so that nothing is optimised away.
    fn frame(&mut self, phone: &[u8], voices: &[Vec<u8>]) -> usize {
        let now = self.t0 + FRAME * self.frame as u32;
        let k = self.frame;
        self.frame += 1;
        let n = self.inbound.unprotect_rtp(phone, &mut self.clear).unwrap();
        let packet = RtpPacket::parse(&self.clear[..n]).unwrap();
        self.bridge.from_phone(now, &packet);
        for (v, payload) in voices.iter().enumerate() {
            let ts = (k * 960) as u32;
            self.bridge
                .from_meeting(now, v as u64 + 1, k as u64, ts, payload);
        }
        self.bridge.tick(now, &mut self.out).unwrap();
        self.outbound
            .protect_rtp(&self.out.phone, &mut self.sealed)
            .unwrap()
    }
}

fn per_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("phone_leg_frame");
    group.measurement_time(Duration::from_secs(4));
    group.sample_size(20);
    for voices in [1usize, 3, 8] {
        let mut leg = Leg::new(voices);
        // Past the jitter buffers' first fill.
        for _ in 0..20 {
            let (p, v) = leg.inputs();
            leg.frame(&p, &v);
        }
        let mut spent = Duration::ZERO;
        let mut frames = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(voices), &voices, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (p, v) = leg.inputs();
                    let start = Instant::now();
                    std::hint::black_box(leg.frame(&p, &v));
                    total += start.elapsed();
                }
                spent += total;
                frames += iters;
                total
            })
        });
        let each = spent / frames.max(1) as u32;
        let share = each.as_secs_f64() / FRAME.as_secs_f64() * 100.0;
        println!(
            "phone leg, {voices} speaking voice(s): {:.1} µs per 20 ms frame = {share:.2} % of one core per leg ({} frames)",
            each.as_secs_f64() * 1e6,
            frames
        );
    }
    group.finish();
    delay();
    machine();
}

/// The delay the bridge adds on a clean link, each way: a tone starts at a known frame; the
/// first frame out that carries it, in whole frames after the frame it went in on, and the
/// codec delay on top (Opus encodes with 6.5 ms of look-ahead).
fn delay() {
    let mut leg = Leg::new(0);
    let mut voice = OpusEncoder::new(OpusRate::Hz48000, 32_000).unwrap();
    let onset = 30;
    let (mut to_meeting, mut to_phone) = (None, None);
    for k in 0..80 {
        let loud = k >= onset;
        let amp = if loud { 8_000.0 } else { 0.0 };
        let phone = leg.trunk.packet(&tone(440.0, 8_000.0, 160, k, amp));
        let pcm = tone(1_000.0, 48_000.0, 960, k, amp);
        let n = voice.encode(&pcm, &mut leg.opus).unwrap();
        let opus = leg.opus[..n].to_vec();
        leg.frame(&phone, &[opus]);
        if let Some(f) = leg.out.meeting.as_ref() {
            if to_meeting.is_none() && f.audio_level > -40 {
                to_meeting = Some(k - onset);
            }
        }
        let rtp = RtpPacket::parse(&leg.out.phone).unwrap();
        let mut heard = vec![0i16; rtp.payload.len()];
        Law::A.decode(rtp.payload, &mut heard);
        let peak = heard.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        if to_phone.is_none() && peak > 1_000 {
            to_phone = Some(k - onset);
        }
    }
    let ms =
        |frames: Option<usize>| frames.map_or("not seen".to_owned(), |f| format!("{} ms", f * 20));
    println!(
        "delay added by the bridge (jitter buffer and frame clock, whole frames; plus Opus's 6.5 ms look-ahead): phone to meeting {}, meeting to phone {}",
        ms(to_meeting),
        ms(to_phone)
    );
}

fn machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cpu}, {cores} cores");
}

criterion_group!(benches, per_frame);
criterion_main!(benches);

//! One phone leg's media through every core in turn, both ways: the phone's SRTP in, parsed,
//! through the jitter buffer, decoded, mixed for the browser; the browser's voice mixed for
//! the phone, encoded, written and protected, and read back as the phone would.

use std::time::{Duration, Instant};

use sluss_phone::g711::Law;
use sluss_phone::jitter::{Incoming, JitterBuffer, JitterConfig, Pop};
use sluss_phone::mixer::{MemberId, Mixer};
use sluss_phone::rtp::{self, PacketKind, PayloadType, RtpHeader, RtpPacket, Ssrc};
use sluss_phone::srtp::{MasterKey, SrtpContext, Suite};

const PHONE: MemberId = MemberId(1);
const BROWSER: MemberId = MemberId(2);
const FRAME: usize = 160;

fn tone(hz: f64, k: usize) -> Vec<i16> {
    (0..FRAME)
        .map(|i| {
            let t = (k * FRAME + i) as f64 / 8_000.0;
            (6_000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
        })
        .collect()
}

fn frequency(pcm: &[i16]) -> f64 {
    let crossings = pcm.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    crossings as f64 * 8_000.0 / pcm.len() as f64
}

/// Both ends of the leg: the trunk's key protects what the phone sends, ours what we send.
struct Leg {
    phone_tx: SrtpContext,
    phone_rx: SrtpContext,
    our_rx: SrtpContext,
    our_tx: SrtpContext,
    jitter: JitterBuffer,
    mixer: Mixer,
    t0: Instant,
    heard_by_browser: Vec<i16>,
    heard_by_phone: Vec<i16>,
}

impl Leg {
    fn new() -> Self {
        let trunk_key = MasterKey::from_bytes([7; 30]);
        let our_key = MasterKey::from_bytes([9; 30]);
        let suite = Suite::AesCm128HmacSha1_80;
        let mut mixer = Mixer::new(FRAME);
        mixer.add(PHONE).unwrap();
        mixer.add(BROWSER).unwrap();
        Self {
            phone_tx: SrtpContext::new(suite, &trunk_key),
            our_rx: SrtpContext::new(suite, &trunk_key),
            our_tx: SrtpContext::new(suite, &our_key),
            phone_rx: SrtpContext::new(suite, &our_key),
            jitter: JitterBuffer::new(JitterConfig::default()),
            mixer,
            t0: Instant::now(),
            heard_by_browser: Vec::new(),
            heard_by_phone: Vec::new(),
        }
    }

    /// Frame `k`: the phone says `phone_hz`, the browser `browser_hz`.
    fn frame(&mut self, k: usize, phone_hz: f64, browser_hz: f64) {
        let now = self.t0 + Duration::from_millis(20 * k as u64);
        let header = |ssrc| RtpHeader {
            marker: k == 0,
            payload_type: PayloadType::PCMA,
            sequence: 65_500u16.wrapping_add(k as u16),
            timestamp: (k * FRAME) as u32,
            ssrc: Ssrc(ssrc),
        };
        // The phone sends one packet.
        let mut plain = [0u8; 12 + FRAME];
        header(0x9407).write(&mut plain).unwrap();
        Law::A.encode(&tone(phone_hz, k), &mut plain[12..]);
        let mut wire = [0u8; 200];
        let n = self.phone_tx.protect_rtp(&plain, &mut wire).unwrap();

        // The gateway receives it and plays out what is due.
        assert_eq!(rtp::classify(&wire[..n]), PacketKind::Rtp);
        let mut clear = [0u8; 200];
        let m = self.our_rx.unprotect_rtp(&wire[..n], &mut clear).unwrap();
        let p = RtpPacket::parse(&clear[..m]).unwrap();
        let incoming = Incoming {
            ssrc: p.header.ssrc,
            sequence: p.header.sequence,
            timestamp: p.header.timestamp,
            payload: p.payload,
        };
        self.jitter.push(incoming, now);
        let mut pcm = [0i16; FRAME];
        if let Pop::Frame(codes) = self.jitter.pop(now) {
            Law::A.decode(codes, &mut pcm);
            self.mixer.set_input(PHONE, &pcm).unwrap();
        }
        self.mixer.set_input(BROWSER, &tone(browser_hz, k)).unwrap();
        self.mixer.mix();
        self.mixer.output(BROWSER, &mut pcm).unwrap();
        self.heard_by_browser.extend_from_slice(&pcm);

        // The gateway sends the phone its mix; the phone reads it.
        self.mixer.output(PHONE, &mut pcm).unwrap();
        header(0x5105).write(&mut plain).unwrap();
        Law::A.encode(&pcm, &mut plain[12..]);
        let n = self.our_tx.protect_rtp(&plain, &mut wire).unwrap();
        let m = self.phone_rx.unprotect_rtp(&wire[..n], &mut clear).unwrap();
        let p = RtpPacket::parse(&clear[..m]).unwrap();
        let mut heard = [0i16; FRAME];
        Law::A.decode(p.payload, &mut heard);
        self.heard_by_phone.extend_from_slice(&heard);
    }
}

#[test]
fn each_side_hears_the_others_tone_through_the_leg() {
    let mut leg = Leg::new();
    for k in 0..50 {
        leg.frame(k, 1_000.0, 440.0);
    }
    let browser = frequency(&leg.heard_by_browser[FRAME * 5..]);
    let phone = frequency(&leg.heard_by_phone[FRAME * 5..]);
    assert!(
        (browser - 1_000.0).abs() < 10.0,
        "browser hears {browser} Hz"
    );
    assert!((phone - 440.0).abs() < 10.0, "phone hears {phone} Hz");
    assert_eq!(leg.jitter.stats().lost, 0);
}

/// CPU time of this thread, from the kernel's scheduler statistics.
fn thread_cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    Duration::from_nanos(s.split_whitespace().next().unwrap().parse().unwrap())
}

/// `cargo test --release -p sluss-phone --test leg-media -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: prints the CPU time per leg"]
fn cpu_per_leg_without_opus() {
    let mut leg = Leg::new();
    let frames = 500; // 10 s
    let t = thread_cpu();
    for k in 0..frames {
        leg.frame(k, 1_000.0, 440.0);
    }
    let spent = thread_cpu() - t;
    println!(
        "one phone leg's G.711, SRTP both ways, jitter buffer and mixer, 10 s of audio: {spent:?} ({:.3}% of one core; includes the phone's side too)",
        spent.as_secs_f64() / 10.0 * 100.0
    );
}

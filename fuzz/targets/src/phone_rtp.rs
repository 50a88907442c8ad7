//! The telephone side's media parsers: RTP as `sluss-phone` reads it, and SRTP/SRTCP
//! unprotection under a fixed key, on one datagram and on a stream of packets.

use sluss_phone::dtmf::DtmfReceiver;
use sluss_phone::rtp::{self, PacketKind, RtpHeader, RtpPacket};
use sluss_phone::srtp::{MasterKey, SrtpContext, Suite};
use sluss_phone::Error;

/// The master key every context here uses; the seeds are protected with it.
pub(crate) const KEY: [u8; 30] = [
    0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39,
    0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
];

const SUITES: [Suite; 2] = [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32];

/// Three things from one input:
/// - the input as the key parameters of an `a=crypto` line (`inline:`, lifetime, MKI);
/// - the whole input as one datagram: parsed as RTP (what parses must stay inside the input
///   and write back to the same fixed header; its payload read as RFC 4733 telephone events),
///   classified, and unprotected as SRTP and SRTCP
///   under both suites (what unprotects is no longer than the input and parses as RTP);
/// - the input as a script of packets a sender protects and a receiver gets, delivered,
///   repeated, tampered with or withheld: the receiver never accepts a tampered packet, never
///   accepts one twice, and what it accepts is what was sent.
pub fn phone_rtp(data: &[u8]) {
    key_params(data);
    datagram(data);
    for suite in SUITES {
        stream(suite, data);
    }
}

/// The input as the key parameters of an `a=crypto` line: a key that parses writes out as
/// parameters that parse to the same key, and its Debug shows none of its base64.
fn key_params(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(key) = MasterKey::parse_key_params(text) else {
        return;
    };
    let written = key.key_params();
    let again = MasterKey::parse_key_params(&written).expect("our own key parameters parse");
    assert_eq!(again.key_params(), written);
    assert!(written.len() == 47 && text.starts_with(&written));
    assert!(!format!("{key:?}").contains(&written[7..]));
    // With an MKI, every packet must carry it: one without is refused before authentication.
    if let Some(mki) = key.mki() {
        let mut rx = SrtpContext::new(Suite::AesCm128HmacSha1_80, &key);
        let mut packet = vec![0x80, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        packet.resize(12 + mki.byte_len() + 10, 0xff);
        let mut out = vec![0u8; packet.len()];
        assert_eq!(rx.unprotect_rtp(&packet, &mut out), Err(Error::UnknownMki));
    }
}

fn datagram(data: &[u8]) {
    let kind = rtp::classify(data);
    if let Ok(p) = RtpPacket::parse(data) {
        assert!(p.header_len <= data.len());
        assert!(p.header_len + p.payload.len() <= data.len());
        let start = p.payload.as_ptr() as usize - data.as_ptr() as usize;
        assert_eq!(start, p.header_len);
        assert!(p.csrcs().count() <= 15);
        let mut fixed = [0u8; rtp::HEADER_LEN];
        p.header.write(&mut fixed).expect("12 bytes fit");
        assert_eq!(fixed[1..], data[1..rtp::HEADER_LEN]);
        assert_eq!(fixed[0] & 0xc0, data[0] & 0xc0);
        assert_ne!(kind, PacketKind::Other, "RTP that is classified as neither");
        // The payload as telephone events, twice: the repeat never yields a second digit.
        let mut dtmf = DtmfReceiver::new();
        if dtmf.on_packet(p.header.timestamp, p.payload).is_ok() {
            assert_eq!(dtmf.on_packet(p.header.timestamp, p.payload), Ok(None));
        }
    }
    let key = MasterKey::from_bytes(KEY);
    let mut out = vec![0u8; data.len()];
    for suite in SUITES {
        let mut rx = SrtpContext::new(suite, &key);
        if let Ok(n) = rx.unprotect_rtp(data, &mut out) {
            assert!(n + suite.rtp_tag_len() == data.len());
            RtpPacket::parse(&out[..n]).expect("authenticated SRTP is RTP");
            assert_eq!(rx.unprotect_rtp(data, &mut out), Err(Error::Replay));
        }
        if let Ok(n) = rx.unprotect_rtcp(data, &mut out) {
            assert!(n + 14 == data.len());
            assert_eq!(rx.unprotect_rtcp(data, &mut out), Err(Error::Replay));
        }
    }
}

/// One step of the script, three bytes: what to do, and a sequence number.
fn stream(suite: Suite, data: &[u8]) {
    let key = MasterKey::from_bytes(KEY);
    let mut tx = SrtpContext::new(suite, &key);
    let mut rx = SrtpContext::new(suite, &key);
    let mut accepted = Vec::new();
    let mut kept: Vec<Vec<u8>> = Vec::new();
    let mut plain = [0u8; 40];
    let mut secured = [0u8; 64];
    let mut out = [0u8; 64];
    for (counter, step) in data.chunks_exact(3).take(200).enumerate() {
        let (op, seq) = (step[0], u16::from_be_bytes([step[1], step[2]]));
        // Each packet's payload is its counter: unique, so a double acceptance shows.
        let header = RtpHeader {
            marker: false,
            payload_type: rtp::PayloadType::PCMA,
            sequence: seq,
            timestamp: u32::from(seq) * 160,
            ssrc: rtp::Ssrc(0x5eed),
        };
        header.write(&mut plain).expect("a header fits");
        plain[12..20].copy_from_slice(&(counter as u64).to_be_bytes());
        let Ok(n) = tx.protect_rtp(&plain, &mut secured) else {
            continue; // the sender refuses to reuse an index
        };
        let packet = &mut secured[..n];
        match op & 3 {
            0 => kept.push(packet.to_vec()), // withheld, maybe delivered later
            1 => deliver(&mut rx, packet, &plain, &mut accepted, &mut out),
            2 => {
                deliver(&mut rx, packet, &plain, &mut accepted, &mut out);
                let again = rx.unprotect_rtp(packet, &mut out);
                assert!(again.is_err(), "a packet accepted twice");
            }
            _ => {
                let at = usize::from(op >> 2) % n;
                packet[at] ^= 1 << (op & 7);
                let forged = rx.unprotect_rtp(packet, &mut out);
                assert!(forged.is_err(), "a tampered packet accepted");
            }
        }
        if op & 0x80 != 0 {
            if let Some(old) = kept.pop() {
                if rx.unprotect_rtp(&old, &mut out).is_ok() {
                    assert_eq!(out[..12], old[..12], "header changed");
                    note(&mut accepted, &out[12..20]);
                }
            }
        }
    }
}

fn deliver(
    rx: &mut SrtpContext,
    packet: &[u8],
    plain: &[u8],
    accepted: &mut Vec<[u8; 8]>,
    out: &mut [u8],
) {
    if let Ok(m) = rx.unprotect_rtp(packet, out) {
        assert_eq!(out[..m], plain[..], "accepted but not what was sent");
        note(accepted, &out[12..20]);
    }
}

fn note(accepted: &mut Vec<[u8; 8]>, counter: &[u8]) {
    let c: [u8; 8] = counter.try_into().expect("eight bytes");
    assert!(!accepted.contains(&c), "the same packet accepted twice");
    accepted.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds in `fuzz/corpus/phone_rtp/`: plain RTP of the kinds a trunk sends, a packet
    /// protected under [`KEY`] (so the target gets past authentication), RTCP, and a script.
    fn seeds() -> Vec<(&'static str, Vec<u8>)> {
        let header = RtpHeader {
            marker: true,
            payload_type: rtp::PayloadType::PCMA,
            sequence: 65_535,
            timestamp: 160,
            ssrc: rtp::Ssrc(0x1234),
        };
        let mut pcma = vec![0xd5u8; 172];
        header.write(&mut pcma).unwrap();
        let mut ext = vec![0xb1, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 9];
        ext.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0x7f, 0, 0, 1, 2, 0, 2]);
        let key = MasterKey::from_bytes(KEY);
        let mut tx = SrtpContext::new(Suite::AesCm128HmacSha1_80, &key);
        let mut srtp = vec![0u8; pcma.len() + 10];
        let n = tx.protect_rtp(&pcma, &mut srtp).unwrap();
        srtp.truncate(n);
        let rr = [0x81, 201, 0, 7, 0, 0, 0x12, 0x34].repeat(4);
        let mut srtcp = vec![0u8; rr.len() + 14];
        let n = tx.protect_rtcp(&rr, &mut srtcp).unwrap();
        srtcp.truncate(n);
        let params = b"inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm|2^31|1:4".to_vec();
        let script = [
            [1, 0xff, 0xfe],
            [2, 0xff, 0xff],
            [0, 0, 0],
            [0x81, 0, 1],
            [3 | 0x40, 0, 2],
            [1, 0x80, 0],
        ]
        .concat();
        vec![
            ("pcma", pcma),
            ("csrc-extension-padding", ext),
            ("srtp-80", srtp),
            ("srtcp", srtcp),
            ("script", script),
            ("key-params", params),
        ]
    }

    #[test]
    fn seeds_reach_past_authentication() {
        let seeds = seeds();
        let key = MasterKey::from_bytes(KEY);
        let mut rx = SrtpContext::new(Suite::AesCm128HmacSha1_80, &key);
        let mut out = [0u8; 256];
        let srtp = &seeds.iter().find(|(n, _)| *n == "srtp-80").unwrap().1;
        assert_eq!(rx.unprotect_rtp(srtp, &mut out), Ok(172));
        let srtcp = &seeds.iter().find(|(n, _)| *n == "srtcp").unwrap().1;
        assert_eq!(rx.unprotect_rtcp(srtcp, &mut out), Ok(32));
        for (_, s) in &seeds {
            phone_rtp(s);
        }
    }

    /// A poor man's fuzzer for a machine without cargo-fuzz: random flips, cuts and
    /// insertions on the seeds, straight through the target.
    /// `cargo test --release -p sluss-fuzz-targets -- --ignored phone_rtp_random_mutations`
    #[test]
    #[ignore = "runs for a few seconds"]
    fn phone_rtp_random_mutations() {
        let seeds = seeds();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let runs = 200_000;
        for _ in 0..runs {
            let mut d = seeds[next() as usize % seeds.len()].1.clone();
            for _ in 0..1 + next() % 4 {
                let r = next();
                let at = (r >> 8) as usize % d.len().max(1);
                match r % 4 {
                    0 if !d.is_empty() => d[at] ^= 1 << (r >> 40 & 7),
                    1 if !d.is_empty() => d[at] = (r >> 32) as u8,
                    2 => d.truncate(at),
                    _ => d.insert(at.min(d.len()), (r >> 24) as u8),
                }
            }
            phone_rtp(&d);
        }
        println!("phone_rtp: {runs} mutated inputs, no failure");
    }

    /// `cargo test --release -p sluss-fuzz-targets -- --ignored write_phone_seeds`
    #[test]
    #[ignore = "writes the seed files"]
    fn write_phone_seeds() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/phone_rtp");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, data) in seeds() {
            std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
        }
    }
}

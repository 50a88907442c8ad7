//! SRTP against RFC 3711's test vectors, and its behaviour on hostile input.

use aes::cipher::{KeyInit as _, StreamCipher as _};

use super::keys::{HmacSha1, Labels, SessionKeys};
use super::*;
use crate::rtp::{PayloadType, RtpHeader, RtpPacket, Ssrc};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn rfc_master() -> MasterKey {
    let bytes = hex("E1F97A0D3E018BE0D64FA32C06DE4139 0EC675AD498AFEEBB6960B3AABE6");
    MasterKey::from_bytes(bytes.try_into().unwrap())
}

/// RFC 3711 Appendix B.3: session keys from the master key, and the PRF run on for the
/// whole 94 bytes the appendix lists.
#[test]
fn key_derivation_matches_rfc_3711_b3() {
    let master = rfc_master();
    let mut out = [0u8; 16];
    master.prf(0, &mut out);
    assert_eq!(out.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
    let mut salt = [0u8; 14];
    master.prf(2, &mut salt);
    assert_eq!(salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
    let mut auth = [0u8; 94];
    master.prf(1, &mut auth);
    assert_eq!(
        auth.to_vec(),
        hex(
            "CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE
             E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25
             6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2"
        )
    );
    // The SRTCP labels (3 and 5), as other implementations derive them from the same key.
    let mut rtcp_key = [0u8; 16];
    master.prf(3, &mut rtcp_key);
    assert_eq!(rtcp_key.to_vec(), hex("4C1AA45A81F73D61C800BBB00FBB1EAA"));
    master.prf(5, &mut salt);
    assert_eq!(salt.to_vec(), hex("9581C7AD87B3E530BF3E4454A8B3"));
}

/// RFC 3711 Appendix B.2: the AES-CM keystream for SSRC 0 and index 0.
#[test]
fn keystream_matches_rfc_3711_b2() {
    let key: [u8; 16] = hex("2B7E151628AED2A6ABF7158809CF4F3C").try_into().unwrap();
    let keys = SessionKeys {
        cipher: aes::Aes128::new(&key.into()),
        salt: hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap(),
        auth: HmacSha1::new_from_slice(&[0; 20]).unwrap(),
    };
    let mut stream = keys.keystream(0, 0);
    let mut out = [0u8; 48];
    stream.apply_keystream(&mut out);
    assert_eq!(
        out.to_vec(),
        hex(
            "E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB
             41E95B3BB0A2E8DD477901E4FCA894C0"
        )
    );
    // The last three blocks the appendix lists, counters FEFF to FF01: the counter carries
    // from the low 16 bits into the salt's bytes.
    let mut long = vec![0u8; 0xff02 * 16];
    keys.keystream(0, 0).apply_keystream(&mut long);
    assert_eq!(
        long[0xfeff * 16..].to_vec(),
        hex(
            "EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE
             6A2CC3787889374FBEB4C81B17BA6C44"
        )
    );
}

fn pair(suite: Suite) -> (SrtpContext, SrtpContext) {
    let master = rfc_master();
    (
        SrtpContext::new(suite, &master),
        SrtpContext::new(suite, &master),
    )
}

fn packet(seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; rtp::HEADER_LEN + payload.len()];
    let header = RtpHeader {
        marker: false,
        payload_type: PayloadType::PCMA,
        sequence: seq,
        timestamp: u32::from(seq) * 160,
        ssrc: Ssrc(0x1234_5678),
    };
    let n = header.write(&mut buf).unwrap();
    buf[n..].copy_from_slice(payload);
    buf
}

fn protect(tx: &mut SrtpContext, plain: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; plain.len() + 10];
    let n = tx.protect_rtp(plain, &mut out).unwrap();
    out.truncate(n);
    out
}

fn unprotect(rx: &mut SrtpContext, secured: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; secured.len()];
    let n = rx.unprotect_rtp(secured, &mut out)?;
    out.truncate(n);
    Ok(out)
}

#[test]
fn both_suites_round_trip_with_their_tag_lengths() {
    for (suite, tag) in [
        (Suite::AesCm128HmacSha1_80, 10),
        (Suite::AesCm128HmacSha1_32, 4),
    ] {
        let (mut tx, mut rx) = pair(suite);
        let plain = packet(4711, &[0x55; 160]);
        let secured = protect(&mut tx, &plain);
        assert_eq!(secured.len(), plain.len() + tag);
        assert_eq!(secured[..12], plain[..12], "the header stays in the clear");
        assert_ne!(secured[12..172], plain[12..], "the payload is encrypted");
        assert_eq!(unprotect(&mut rx, &secured).unwrap(), plain);
    }
}

#[test]
fn tampered_packets_fail_authentication_and_change_nothing() {
    let (mut tx, mut rx) = pair(Suite::AesCm128HmacSha1_80);
    let plain = packet(1, b"hello phone");
    let secured = protect(&mut tx, &plain);
    for at in [1, 5, 12, secured.len() - 1] {
        let mut bad = secured.clone();
        bad[at] ^= 0x01;
        assert_eq!(
            unprotect(&mut rx, &bad),
            Err(Error::AuthFailed),
            "byte {at}"
        );
    }
    // A forgery for a far-ahead index did not move the window: the real one still passes.
    assert_eq!(unprotect(&mut rx, &secured).unwrap(), plain);
}

#[test]
fn replayed_packet_is_rejected_and_late_ones_accepted_once() {
    let (mut tx, mut rx) = pair(Suite::AesCm128HmacSha1_80);
    let sent: Vec<_> = (100..110)
        .map(|seq| protect(&mut tx, &packet(seq, &[seq as u8; 20])))
        .collect();
    unprotect(&mut rx, &sent[0]).unwrap();
    assert_eq!(unprotect(&mut rx, &sent[0]), Err(Error::Replay));
    unprotect(&mut rx, &sent[9]).unwrap();
    unprotect(&mut rx, &sent[4]).unwrap(); // late, but inside the window
    assert_eq!(unprotect(&mut rx, &sent[4]), Err(Error::Replay));
    assert_eq!(unprotect(&mut rx, &sent[9]), Err(Error::Replay));
}

#[test]
fn rollover_counter_wraps_from_65535_to_0_on_both_sides() {
    let (mut tx, mut rx) = pair(Suite::AesCm128HmacSha1_32);
    for seq in [65_533u16, 65_534, 65_535, 0, 1, 2] {
        let plain = packet(seq, &[0xa5; 32]);
        let secured = protect(&mut tx, &plain);
        assert_eq!(unprotect(&mut rx, &secured).unwrap(), plain, "seq {seq}");
    }
    // Sequence 0 after the wrap went out under index 65536 (ROC 1), not index 0.
    let plain = packet(3, &[0xa5; 32]);
    let secured = protect(&mut tx, &plain);
    let mut payload = secured[12..44].to_vec();
    let keys = SessionKeys::derive(&rfc_master(), Labels::Rtp);
    keys.keystream(0x1234_5678, 65_536 + 3)
        .apply_keystream(&mut payload);
    assert_eq!(payload, plain[12..]);
    // And the receiver tagged it with ROC 1: a fresh receiver (ROC 0) refuses it.
    let (_, mut fresh) = pair(Suite::AesCm128HmacSha1_32);
    assert_eq!(unprotect(&mut fresh, &secured), Err(Error::AuthFailed));
}

#[test]
fn sender_refuses_to_reuse_an_index() {
    let (mut tx, _) = pair(Suite::AesCm128HmacSha1_80);
    let plain = packet(9, b"once");
    protect(&mut tx, &plain);
    let mut out = [0u8; 64];
    assert_eq!(tx.protect_rtp(&plain, &mut out), Err(Error::Replay));
}

#[test]
fn short_inputs_and_buffers_are_errors() {
    let (mut tx, mut rx) = pair(Suite::AesCm128HmacSha1_80);
    let mut out = [0u8; 64];
    for n in 0..22 {
        assert!(rx.unprotect_rtp(&[0x80; 22][..n], &mut out).is_err());
        assert!(rx.unprotect_rtcp(&[0x80; 22][..n], &mut out).is_err());
    }
    let plain = packet(1, &[0; 40]);
    assert!(matches!(
        tx.protect_rtp(&plain, &mut out[..55]),
        Err(Error::BufferTooSmall { needed: 62, .. })
    ));
}

#[test]
fn key_lifetime_is_enforced() {
    let (mut tx, _) = pair(Suite::AesCm128HmacSha1_80);
    tx.remaining = 1;
    protect(&mut tx, &packet(1, b"last"));
    let mut out = [0u8; 64];
    assert_eq!(
        tx.protect_rtp(&packet(2, b"over"), &mut out),
        Err(Error::KeyExhausted)
    );
}

#[test]
fn srtcp_round_trips_and_rejects_tampering_and_replay() {
    let (mut tx, mut rx) = pair(Suite::AesCm128HmacSha1_32);
    // A receiver report with one report block.
    let mut rr = vec![0x81, 201, 0, 7, 0xde, 0xad, 0xbe, 0xef];
    rr.extend_from_slice(&[7u8; 24]);
    let mut secured = [0u8; 64];
    let n = tx.protect_rtcp(&rr, &mut secured).unwrap();
    assert_eq!(n, rr.len() + 4 + 10, "80-bit tag even for the _32 suite");
    let secured = &secured[..n];
    assert_eq!(secured[..8], rr[..8]);
    assert_ne!(secured[8..32], rr[8..]);
    assert_eq!(secured[32..36], [0x80, 0, 0, 0], "E flag and index 0");
    let mut bad = secured.to_vec();
    bad[10] ^= 4;
    let mut out = [0u8; 64];
    assert_eq!(rx.unprotect_rtcp(&bad, &mut out), Err(Error::AuthFailed));
    let m = rx.unprotect_rtcp(secured, &mut out).unwrap();
    assert_eq!(out[..m], rr[..]);
    assert_eq!(rx.unprotect_rtcp(secured, &mut out), Err(Error::Replay));
    // The next one carries index 1.
    let n = tx.protect_rtcp(&rr, &mut out).unwrap();
    assert_eq!(out[n - 14..n - 10], [0x80, 0, 0, 1]);
}

#[test]
fn suite_names_are_those_of_rfc_4568() {
    for s in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
        assert_eq!(Suite::from_sdp_name(s.sdp_name()), Some(s));
    }
    assert_eq!(Suite::from_sdp_name("AES_CM_128_NULL_AUTH"), None);
}

#[test]
fn context_debug_shows_no_key_material() {
    let (tx, _) = pair(Suite::AesCm128HmacSha1_80);
    let shown = format!("{tx:?}");
    assert!(shown.contains("redacted"), "{shown}");
    assert!(
        !shown.contains("salt") && !shown.contains("cipher"),
        "{shown}"
    );
}

#[test]
fn parsed_packet_of_an_unprotected_round_trip_is_intact() {
    let (mut tx, mut rx) = pair(Suite::AesCm128HmacSha1_80);
    let plain = packet(77, b"voice");
    let back = unprotect(&mut rx, &protect(&mut tx, &plain)).unwrap();
    let p = RtpPacket::parse(&back).unwrap();
    assert_eq!(p.header.sequence, 77);
    assert_eq!(p.payload, b"voice");
}

#[test]
fn a_key_with_an_mki_carries_it_before_the_tag_and_checks_it() {
    let params = "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm|2^31|258:4";
    let key = MasterKey::parse_key_params(params).unwrap();
    let mut tx = SrtpContext::new(Suite::AesCm128HmacSha1_32, &key);
    let mut rx = SrtpContext::new(Suite::AesCm128HmacSha1_32, &key);
    let plain = packet(5, b"with mki");
    let mut secured = [0u8; 64];
    let n = tx.protect_rtp(&plain, &mut secured).unwrap();
    assert_eq!(n, plain.len() + 4 + 4);
    assert_eq!(secured[plain.len()..plain.len() + 4], [0, 0, 1, 2]);
    let mut out = [0u8; 64];
    let mut wrong = secured;
    wrong[plain.len() + 3] = 3;
    assert_eq!(
        rx.unprotect_rtp(&wrong[..n], &mut out),
        Err(Error::UnknownMki)
    );
    let m = rx.unprotect_rtp(&secured[..n], &mut out).unwrap();
    assert_eq!(out[..m], plain[..]);
    // The same for SRTCP: index, MKI, then the 80-bit tag.
    let rr = [0x80, 201, 0, 1, 0, 0, 0, 9];
    let n = tx.protect_rtcp(&rr, &mut secured).unwrap();
    assert_eq!(n, 8 + 4 + 4 + 10);
    assert_eq!(secured[12..16], [0, 0, 1, 2]);
    let m = rx.unprotect_rtcp(&secured[..n], &mut out).unwrap();
    assert_eq!(out[..m], rr);
    // A receiver whose key has no MKI reads the MKI as part of the packet and fails.
    let (_, mut plain_rx) = pair(Suite::AesCm128HmacSha1_32);
    let n = tx.protect_rtp(&packet(6, b"x"), &mut secured).unwrap();
    assert_eq!(
        plain_rx.unprotect_rtp(&secured[..n], &mut out),
        Err(Error::AuthFailed)
    );
}

/// Packets protected by libsrtp (through pylibsrtp 1.0.0) under the RFC 3711 B.3 master key:
/// sequence 65535 then 0, so the second is under rollover counter 1, and one SRTCP
/// receiver report (libsrtp numbers its first SRTCP packet 1).
const LIBSRTP_80: [&str; 3] = [
    "8008ffff009fff6012345678735c35d413f5f3883c9c203aa5b62a833836f141d78f035e715986124eb3",
    "800800000000000012345678ead05cd5074b7fb14fd0c92cb1ebd434d45e4a6530a5232b216a1fca02bb",
    "81c90007123456787c81b8ce3209b6dd3d9403da6b22b7c499e8d2183395f2c68000000198a46dda9a33541074d9",
];

#[test]
fn interoperates_with_libsrtp_both_ways() {
    let plain = |seq: u16| {
        let mut p = vec![0x80, 0x08];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        p.extend((0..20).map(|b: u8| b));
        p
    };
    for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
        let (mut tx, mut rx) = pair(suite);
        // 32 bytes of packet, then the tag: the _32 tag is the start of the _80 one.
        let cut = 2 * (32 + suite.rtp_tag_len());
        for (wire, seq) in LIBSRTP_80[..2].iter().zip([65_535u16, 0]) {
            let theirs = hex(&wire[..cut]);
            assert_eq!(
                unprotect(&mut rx, &theirs).unwrap(),
                plain(seq),
                "{suite:?} {seq}"
            );
            assert_eq!(protect(&mut tx, &plain(seq)), theirs, "{suite:?} {seq}");
        }
        let mut rr = vec![0x81, 201, 0, 7, 0x12, 0x34, 0x56, 0x78];
        rr.extend(0..24u8);
        let mut out = [0u8; 64];
        let n = rx.unprotect_rtcp(&hex(LIBSRTP_80[2]), &mut out).unwrap();
        assert_eq!(out[..n], rr[..]);
    }
}

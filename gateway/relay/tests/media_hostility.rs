//! Hostile media from inside and outside a call: replayed SRTP, stray DTLS handshakes and
//! alerts, forged ICE checks and a flood of trickled candidates. None of them costs a
//! participant the call, and none of them gets anything forwarded or answered.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{World, VIDEO};
use sluss_relay::bounds::MAX_REMOTE_CANDIDATES;
use sluss_relay::{Bound, RelayError, RelayEvent};
use str0m::media::MediaKind;

const STUN_HEADER: usize = 20;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_FINGERPRINT: u16 = 0x8028;

/// Every packet a client received from `from`'s camera, and how many distinct ones.
fn video_from(w: &World, idx: usize, from: usize) -> (usize, usize) {
    (
        w.received_of(idx, from, VIDEO),
        w.video_seqs(idx, from).len(),
    )
}

/// Both clients send audio for a while, one packet each per 20 ms.
fn talk(w: &mut World, a: usize, b: usize, packets: usize) {
    for _ in 0..packets {
        w.send(a, MediaKind::Audio, 80);
        w.send(b, MediaKind::Audio, 80);
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
}

#[test]
fn a_replayed_srtp_packet_from_the_validated_address_is_forwarded_once() {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    // The camera's first packet puts it in b's offer; after that, each is forwarded.
    w.send(a, MediaKind::Video, 600);
    w.advance(Duration::from_millis(200), Duration::from_millis(20));
    let a_addr = w.clients[a].addr;
    let captured = w.captured_video(a, 10);
    assert_eq!(captured.len(), 10, "ten camera packets captured");
    let (primed, _) = video_from(&w, b, a);

    for datagram in &captured {
        let now = w.now;
        w.relay.handle_receive(now, a_addr, datagram);
        w.advance(Duration::from_millis(5), Duration::from_millis(5));
    }
    let once = (primed + 10, primed + 10);
    assert_eq!(video_from(&w, b, a), once, "each packet arrives once");

    // The same ciphertexts again, from the address ICE validated, in order and in bursts.
    for _ in 0..5 {
        for datagram in &captured {
            let now = w.now;
            w.relay.handle_receive(now, a_addr, datagram);
        }
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
    assert_eq!(
        video_from(&w, b, a),
        once,
        "a replayed packet is never forwarded a second time"
    );

    // The publisher's real packets still go through.
    for _ in 0..5 {
        w.send(a, MediaKind::Video, 600);
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
    assert_eq!(video_from(&w, b, a), (once.0 + 5, once.1 + 5));
}

/// A real DTLS ClientHello, as a fresh str0m client sends it to a relay it never met.
fn captured_client_hello() -> Vec<u8> {
    let mut other = World::new();
    other.uplink_log = Some(Vec::new());
    other.join(1);
    other.settle();
    let log = other.uplink_log.take().unwrap_or_default();
    log.into_iter()
        .map(|(_, d)| d)
        // Record type handshake, handshake type client_hello.
        .find(|d| d.len() > 13 && d[0] == 22 && d[13] == 1)
        .expect("the client sent a ClientHello")
}

/// A plaintext DTLS 1.2 alert record (epoch 0).
fn plaintext_alert(level: u8, description: u8) -> Vec<u8> {
    vec![
        21,
        0xfe,
        0xfd,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        9,
        0,
        2,
        level,
        description,
    ]
}

#[test]
fn a_strangers_client_hello_or_a_plaintext_alert_does_not_end_the_session() {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    let hello = captured_client_hello();
    let stranger: SocketAddr = "203.0.113.7:4444".parse().unwrap();
    let (a_addr, b_addr) = (w.clients[a].addr, w.clients[b].addr);
    let hostile = [
        hello.clone(),
        plaintext_alert(2, 40), // fatal handshake_failure
        plaintext_alert(2, 10), // fatal unexpected_message
        plaintext_alert(1, 0),  // close_notify
    ];
    talk(&mut w, a, b, 10);
    let heard = (w.received_from(b, a), w.received_from(a, b));

    for source in [stranger, a_addr, b_addr] {
        for datagram in &hostile {
            let now = w.now;
            w.relay.handle_receive(now, source, datagram);
            w.pump();
        }
    }
    // Long enough for a DTLS timer or an ICE timeout to act on anything it was told.
    talk(&mut w, a, b, 150);

    let (pa, pb) = (w.clients[a].peer, w.clients[b].peer);
    assert!(
        !w.events.iter().any(|e| matches!(e,
            RelayEvent::Closed { peer } | RelayEvent::Disconnected { peer } if *peer == pa || *peer == pb)),
        "no transport was closed or lost: {:?}",
        w.events
    );
    assert_eq!(w.relay.peer_count(), 2);
    assert_eq!(w.relay.stats().dtls_failures, 0);
    assert_eq!(
        w.relay.stats().dropped_unvalidated,
        hostile.len() as u64,
        "only the stranger's were dropped unread: the others reached the transports"
    );
    assert_eq!(w.sent_to.get(&stranger), None, "the stranger got no answer");
    assert!(
        w.received_from(b, a) >= heard.0 + 140 && w.received_from(a, b) >= heard.1 + 140,
        "media keeps flowing both ways: {heard:?} -> {:?}",
        (w.received_from(b, a), w.received_from(a, b))
    );
}

/// The attributes of a STUN message: (type, offset of the value, length).
fn stun_attributes(message: &[u8]) -> Vec<(u16, usize, usize)> {
    let mut out = Vec::new();
    let mut at = STUN_HEADER;
    while at + 4 <= message.len() {
        let kind = u16::from_be_bytes([message[at], message[at + 1]]);
        let len = usize::from(u16::from_be_bytes([message[at + 2], message[at + 3]]));
        out.push((kind, at + 4, len));
        at += 4 + ((len + 3) & !3);
    }
    out
}

/// CRC-32 (ISO-HDLC), as STUN's FINGERPRINT uses it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_binding_request_with_a_wrong_integrity_gets_no_answer_and_validates_nothing() {
    let mut w = World::new();
    w.uplink_log = Some(Vec::new());
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    let a_addr = w.clients[a].addr;
    let ufrag = w.clients[a].relay_ufrag.clone();
    // A binding request the client really sent: the right username fragment, a valid
    // MESSAGE-INTEGRITY and FINGERPRINT.
    let genuine = w
        .uplink_log
        .take()
        .unwrap_or_default()
        .into_iter()
        .find(|(source, d)| {
            *source == a_addr
                && d.get(..2) == Some(&[0, 1][..])
                && d.windows(ufrag.len()).any(|x| x == ufrag.as_bytes())
        })
        .map(|(_, d)| d)
        .expect("client a sent a binding request");
    let attributes = stun_attributes(&genuine);
    let (_, integrity, _) = *attributes
        .iter()
        .find(|(kind, ..)| *kind == ATTR_MESSAGE_INTEGRITY)
        .expect("the request carries MESSAGE-INTEGRITY");
    let (_, fingerprint, _) = *attributes
        .iter()
        .find(|(kind, ..)| *kind == ATTR_FINGERPRINT)
        .expect("the request carries FINGERPRINT");
    // One bit of the HMAC flipped; the FINGERPRINT made right again, so only integrity fails.
    let mut forged = genuine.clone();
    forged[integrity + 3] ^= 0x01;
    let crc = crc32(&forged[..fingerprint - 4]) ^ 0x5354_554e;
    forged[fingerprint..fingerprint + 4].copy_from_slice(&crc.to_be_bytes());

    let stranger: SocketAddr = "127.0.0.77:7777".parse().unwrap();
    let media = w.captured_video(a, 3);
    let heard = w.received_from(b, a);
    for _ in 0..3 {
        let now = w.now;
        w.relay.handle_receive(now, stranger, &forged);
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
    assert_eq!(
        w.sent_to.get(&stranger),
        None,
        "no answer to a forged check"
    );

    let before = w.relay.stats().dropped_unvalidated;
    for datagram in &media {
        let now = w.now;
        w.relay.handle_receive(now, stranger, datagram);
    }
    w.advance(Duration::from_millis(40), Duration::from_millis(20));
    assert_eq!(
        w.relay.stats().dropped_unvalidated,
        before + media.len() as u64,
        "the stranger's address is still not validated"
    );
    assert_eq!(
        w.received_from(b, a),
        heard,
        "nothing from it was forwarded"
    );
    assert_eq!(w.sent_to.get(&stranger), None);

    // The control: the same request with its integrity intact is answered from that address
    // (a NAT rebinding looks just like this), so the refusal above was for the integrity.
    let now = w.now;
    w.relay.handle_receive(now, stranger, &genuine);
    w.pump();
    assert_eq!(
        w.sent_to.get(&stranger),
        Some(&1),
        "a genuine check is answered"
    );
}

#[test]
fn a_flood_of_trickled_candidates_is_bounded_and_the_call_goes_on() {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    let peer = w.clients[a].peer;
    // The offer carried the client's one host candidate.
    assert_eq!(w.relay.remote_candidate_count(peer), Some(1));
    talk(&mut w, a, b, 5);
    let heard = w.received_from(b, a);

    const FLOOD: usize = 100_000;
    let mut accepted = 0;
    let mut refused_for_count = 0;
    for i in 0..FLOOD {
        let candidate = format!(
            "candidate:{i} 1 udp 2122260223 10.{}.{}.{} {} typ host",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255,
            1024 + i % 60_000
        );
        match w.relay.add_remote_candidate(peer, &candidate) {
            Ok(()) => accepted += 1,
            Err(RelayError::TooLarge(Bound::Candidates)) => refused_for_count += 1,
            Err(e) => panic!("unexpected refusal: {e}"),
        }
    }
    assert_eq!(accepted, MAX_REMOTE_CANDIDATES - 1);
    assert_eq!(refused_for_count, FLOOD - accepted);
    assert_eq!(
        w.relay.remote_candidate_count(peer),
        Some(MAX_REMOTE_CANDIDATES),
        "the transport holds no more than the bound, however many arrive"
    );
    assert_eq!(
        w.relay.stats().candidates_refused,
        (FLOOD - accepted) as u64
    );

    // A candidate it holds is taken as said again; an absurd one is refused for its length.
    let held = "candidate:0 1 udp 2122260223 10.0.0.0 1024 typ host";
    assert!(w.relay.add_remote_candidate(peer, held).is_ok());
    let long = format!(
        "candidate:1 1 udp 1 10.0.0.1 9 typ host {}",
        "x".repeat(1000)
    );
    assert!(matches!(
        w.relay.add_remote_candidate(peer, &long),
        Err(RelayError::TooLarge(Bound::CandidateBytes))
    ));
    assert_eq!(
        w.relay.remote_candidate_count(peer),
        Some(MAX_REMOTE_CANDIDATES)
    );

    talk(&mut w, a, b, 20);
    assert!(w.received_from(b, a) >= heard + 19, "the call goes on");
    assert_eq!(w.relay.peer_count(), 2);
}

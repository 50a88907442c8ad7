//! Garbage on the media port is counted and dropped; the meeting goes on.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::World;
use str0m::media::MediaKind;

fn stun_request(username: &[u8], extra_len: u16) -> Vec<u8> {
    let padded = (username.len() + 3) & !3;
    let mut v = vec![0x00, 0x01];
    v.extend_from_slice(&((4 + padded) as u16 + extra_len).to_be_bytes());
    v.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    v.extend_from_slice(&[9; 12]);
    v.extend_from_slice(&0x0006u16.to_be_bytes());
    v.extend_from_slice(&(username.len() as u16).to_be_bytes());
    v.extend_from_slice(username);
    v.resize(20 + 4 + padded, 0);
    v
}

#[test]
fn malformed_datagrams_of_every_kind_are_dropped_and_the_meeting_goes_on() {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    let stranger: SocketAddr = "203.0.113.9:9999".parse().unwrap();
    let a_addr = w.clients[a].addr;
    let mut rng = 0x2545F4914F6CDD1Du64;
    let mut random = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng as u8
            })
            .collect()
    };
    let now = w.now;
    let before = w.relay.stats();
    let mut hostile: Vec<(SocketAddr, Vec<u8>)> = vec![
        (stranger, vec![]),
        (stranger, vec![0xff; 3000]),
        // STUN: truncated, lying length, unknown user, no colon, binary user name.
        (stranger, vec![0, 1, 0, 8]),
        (stranger, stun_request(b"nobody:x", 0)),
        (stranger, stun_request(b"nocolon", 0)),
        (stranger, stun_request(&[0xc3, 0x28, b':', b'x'], 0)),
        (stranger, stun_request(b"abcd:x", 400)),
        // DTLS and RTP from an address ICE never validated.
        (stranger, [vec![22, 254, 253], random(60)].concat()),
        (stranger, [vec![0x80, 96], random(200)].concat()),
        // From a validated address: truncated RTP, RTCP garbage, forged SRTP, a DTLS alert.
        (a_addr, vec![0x80]),
        (a_addr, vec![0x80, 96, 0, 1]),
        (a_addr, [vec![0x80, 200], random(40)].concat()),
        (
            a_addr,
            [vec![0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], random(300)].concat(),
        ),
        (a_addr, [vec![21, 254, 253], random(30)].concat()),
    ];
    for n in 0..200 {
        let len = 1 + (n * 7) % 1400;
        let mut junk = random(len);
        // Cover every demultiplexing range of the first byte.
        junk[0] = (n * 13) as u8;
        hostile.push((if n % 2 == 0 { stranger } else { a_addr }, junk));
    }
    for (source, datagram) in &hostile {
        w.relay.handle_receive(now, *source, datagram);
    }
    w.pump();
    let after = w.relay.stats();
    assert!(after.dropped_unvalidated > before.dropped_unvalidated);
    assert!(after.dropped_malformed > before.dropped_malformed);
    assert!(after.dropped_unknown_ufrag > before.dropped_unknown_ufrag);
    assert!(
        after.rejected_by_transport > before.rejected_by_transport
            || after.dropped_malformed > before.dropped_malformed + 50
    );
    assert_eq!(
        w.sent_to.get(&stranger),
        None,
        "nothing is ever sent to an unvalidated address"
    );
    assert_eq!(
        w.relay.peer_count(),
        2,
        "nobody was dropped from the meeting"
    );

    let got = w.received_from(b, a);
    for _ in 0..10 {
        w.send(a, MediaKind::Video, 600);
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
    assert!(
        w.received_from(b, a) >= got + 9,
        "media still flows after the attack"
    );
}

#[test]
fn a_valid_peer_address_cannot_be_taken_over_without_credentials() {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    // Someone else sends media "from" a port the relay never validated for anyone.
    let spoof: SocketAddr = "127.0.0.2:6000".parse().unwrap();
    let before = w.relay.stats().dropped_unvalidated;
    let now = w.now;
    w.relay
        .handle_receive(now, spoof, &[0x80, 96, 0, 5, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0]);
    assert_eq!(w.relay.stats().dropped_unvalidated, before + 1);
    let _ = (a, b);
}

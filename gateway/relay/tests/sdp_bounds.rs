//! Offers and answers from a browser are bounded in size, m-lines and ICE candidates before
//! they are parsed; an SDP over a bound is an error, never a panic, and costs nobody the call.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::World;
use sluss_relay::bounds::{MAX_OWN_MEDIA, MAX_REMOTE_CANDIDATES, MAX_SDP_BYTES};
use sluss_relay::{Bound, PeerId, RelayError, RouterId};
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Rtc};

/// A real offer from a str0m client with `media` audio m-lines and `candidates` host candidates.
fn offer(media: usize, candidates: usize) -> String {
    let mut rtc = Rtc::builder()
        .set_rtp_mode(true)
        .build(std::time::Instant::now());
    for i in 0..candidates {
        let addr: SocketAddr = format!("10.1.{}.{}:5000", i / 200, 1 + i % 200)
            .parse()
            .unwrap();
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
    }
    let mut api = rtc.sdp_api();
    for _ in 0..media {
        api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    }
    let (offer, _) = api.apply().unwrap();
    offer.to_sdp_string()
}

fn add(w: &mut World, id: u64, sdp: &str) -> Result<String, RelayError> {
    let (now, addr) = (w.now, w.relay_addr);
    w.relay
        .add_peer(now, RouterId(1), PeerId(id), "x", addr, sdp, &[])
}

#[test]
fn an_offer_over_a_bound_is_refused_and_adds_no_peer() {
    let mut w = World::new();
    let too_many_media = offer(MAX_OWN_MEDIA + 1, 1);
    let too_many_candidates = offer(2, MAX_REMOTE_CANDIDATES + 1);
    let mut too_long = offer(2, 1);
    while too_long.len() <= MAX_SDP_BYTES {
        too_long.push_str("a=x-padding:0123456789abcdef0123456789abcdef\r\n");
    }
    let cases = [
        (too_many_media, Bound::MediaSections),
        (too_many_candidates, Bound::Candidates),
        (too_long, Bound::SdpBytes),
    ];
    for (n, (sdp, bound)) in cases.iter().enumerate() {
        match add(&mut w, 100 + n as u64, sdp) {
            Err(RelayError::TooLarge(b)) => assert_eq!(b, *bound),
            other => panic!("{bound:?}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(w.relay.peer_count(), 0);
    assert_eq!(w.relay.stats().sdp_refused, 3);

    // Exactly at the bounds is fine.
    assert!(add(&mut w, 200, &offer(MAX_OWN_MEDIA, 1)).is_ok());
    assert!(add(&mut w, 201, &offer(2, MAX_REMOTE_CANDIDATES)).is_ok());
    assert_eq!(
        w.relay.remote_candidate_count(PeerId(201)),
        Some(MAX_REMOTE_CANDIDATES)
    );
    assert_eq!(w.relay.peer_count(), 2);
}

#[test]
fn a_renegotiation_over_a_bound_is_refused_and_the_call_goes_on() {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    let peer = w.clients[a].peer;
    // A re-offer that smuggles in a megabyte, and one with sixty m-lines.
    let mut huge = offer(2, 1);
    huge.push_str(&format!("a=x-padding:{}\r\n", "y".repeat(1 << 20)));
    let many = offer(60, 1);
    let now = w.now;
    for (sdp, bound) in [(&huge, Bound::SdpBytes), (&many, Bound::MediaSections)] {
        match w.relay.handle_offer(now, peer, sdp, &[]) {
            Err(RelayError::TooLarge(b)) => assert_eq!(b, bound),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(matches!(
            w.relay.handle_answer(now, peer, sdp),
            Err(RelayError::TooLarge(_))
        ));
    }
    let heard = w.received_from(b, a);
    for _ in 0..20 {
        w.send(a, MediaKind::Audio, 80);
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
    assert!(w.received_from(b, a) >= heard + 19, "the call goes on");
}

#[test]
fn a_large_meetings_answers_fit_their_widened_bounds() {
    // Each of 19 participants receives 18 voices: 20 m-lines in every answer, more than a
    // browser's own bound, and all of them must still be taken.
    let mut w = World::new();
    w.join_many(1, 19);
    w.settle();
    for i in 0..19 {
        w.send(i, MediaKind::Audio, 80);
    }
    w.advance(Duration::from_millis(200), Duration::from_millis(20));
    assert_eq!(w.relay.stats().sdp_refused, 0);
    for i in 0..19 {
        for j in (0..19).filter(|j| *j != i) {
            assert!(w.received_from(i, j) >= 1, "{i} hears {j}");
        }
    }
}

//! Every publisher's audio and video reaches every other participant of its meeting, and no
//! one else.

mod common;

use common::World;
use str0m::media::MediaKind;

#[test]
fn three_participants_each_receive_the_other_two() {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    let c = w.join(1);
    w.settle();
    assert!(w.clients.iter().all(|c| c.connected), "everyone connects");
    for _ in 0..20 {
        for i in [a, b, c] {
            w.send(i, MediaKind::Audio, 80);
            w.send(i, MediaKind::Video, 1000);
        }
        w.advance(
            std::time::Duration::from_millis(20),
            std::time::Duration::from_millis(20),
        );
    }
    for (me, others) in [(a, [b, c]), (b, [a, c]), (c, [a, b])] {
        for other in others {
            // Both tracks, nearly all packets (the first may precede the m-line's answer).
            assert!(
                w.received_from(me, other) >= 30,
                "{me} got {} from {other}",
                w.received_from(me, other)
            );
        }
        assert_eq!(w.received_from(me, me), 0, "nobody hears themselves");
    }
    // Each client's m-lines are labelled with the publisher they carry.
    let labels: std::collections::HashSet<_> = w.clients[a].tracks.values().cloned().collect();
    assert_eq!(
        labels,
        ["p1".to_string(), "p2".to_string()].into_iter().collect()
    );
}

#[test]
fn meetings_are_isolated() {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    let outsider = w.join(2);
    w.settle();
    for _ in 0..10 {
        w.send(a, MediaKind::Audio, 80);
        w.advance(
            std::time::Duration::from_millis(20),
            std::time::Duration::from_millis(20),
        );
    }
    assert!(w.received_from(b, a) > 0);
    assert_eq!(w.received_from(outsider, a), 0);
    assert!(w.clients[outsider].tracks.is_empty());
}

#[test]
fn a_subscriber_joining_asks_the_publisher_for_a_keyframe() {
    let mut w = World::new();
    let a = w.join(1);
    w.settle();
    for _ in 0..5 {
        w.send(a, MediaKind::Video, 500);
        w.advance(
            std::time::Duration::from_millis(20),
            std::time::Duration::from_millis(20),
        );
    }
    let before = w.clients[a].keyframe_requests;
    let _b = w.join(1);
    w.settle();
    for _ in 0..5 {
        w.send(a, MediaKind::Video, 500);
        w.advance(
            std::time::Duration::from_millis(20),
            std::time::Duration::from_millis(20),
        );
    }
    assert!(
        w.clients[a].keyframe_requests > before,
        "the publisher was asked for a keyframe"
    );
}

#[test]
fn when_someone_leaves_the_others_renegotiate_and_carry_on() {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    let c = w.join(1);
    w.settle();
    let offers_before = w
        .events
        .iter()
        .filter(|e| matches!(e, sluss_relay::RelayEvent::Offer { .. }))
        .count();
    let now = w.now;
    let gone = w.clients[c].peer;
    w.relay.remove_peer(now, gone);
    w.clients[c].offline = true;
    w.settle();
    let offers_after = w
        .events
        .iter()
        .filter(|e| matches!(e, sluss_relay::RelayEvent::Offer { .. }))
        .count();
    assert!(
        offers_after >= offers_before + 2,
        "a and b get an offer stopping c's tracks"
    );
    let got = w.received_from(b, a);
    for _ in 0..10 {
        w.send(a, MediaKind::Audio, 80);
        w.advance(
            std::time::Duration::from_millis(20),
            std::time::Duration::from_millis(20),
        );
    }
    assert!(w.received_from(b, a) >= got + 9);
    assert_eq!(w.relay.peer_count(), 2);
}

#[test]
fn a_camera_is_offered_to_the_others_once_it_sends() {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    let video_offered = |w: &World| {
        w.events.iter().any(|e| {
            matches!(e, sluss_relay::RelayEvent::Offer { peer, tracks, .. }
                if *peer == w.clients[b].peer
                    && tracks.iter().any(|t| t.kind == sluss_relay::TrackKind::Video))
        })
    };
    // A's voice is offered at once; a camera that has sent nothing is not (an m-line costs
    // B's transport on every packet it is sent).
    assert_eq!(w.clients[b].tracks.len(), 1, "only A's voice");
    assert!(!video_offered(&w));
    let step = std::time::Duration::from_millis(20);
    for _ in 0..20 {
        w.send(a, MediaKind::Video, 1000);
        w.advance(step, step);
    }
    assert!(video_offered(&w), "A's camera is offered once it sends");
    assert_eq!(w.clients[b].tracks.len(), 2);
    assert!(
        w.received_from(b, a) >= 15,
        "and reaches B: {}",
        w.received_from(b, a)
    );
    // Someone joining later gets it in their first offer.
    let c = w.join(1);
    w.settle();
    let first_offer = w.events.iter().find_map(|e| match e {
        sluss_relay::RelayEvent::Offer { peer, tracks, .. } if *peer == w.clients[c].peer => {
            Some(tracks.clone())
        }
        _ => None,
    });
    assert!(
        first_offer.is_some_and(|t| t
            .iter()
            .any(|t| t.kind == sluss_relay::TrackKind::Video && t.label == "p0")),
        "A's camera is in C's first offer"
    );
    for _ in 0..10 {
        w.send(a, MediaKind::Video, 1000);
        w.advance(step, step);
    }
    assert_eq!(
        w.clients[c].tracks.len(),
        3,
        "A's voice and camera, B's voice"
    );
    assert!(w.received_from(c, a) >= 8);
}

//! Loss in both directions is repaired with NACK and RTX: a subscriber on a lossy downlink gets
//! the lost video packets again from the relay's bounded retransmission history, and packets
//! lost on a publisher's uplink are asked for again by the relay.

mod common;

use std::time::Duration;

use common::World;
use str0m::media::MediaKind;

const SENT: u16 = 200;

/// A meeting of two, `lossy` set up on it, then 200 video packets from `a`; returns the world
/// and the packets `b` never got after the first it did get.
fn send_through_loss(lossy: impl FnOnce(&mut World, usize, usize)) -> (World, usize, Vec<u16>) {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    lossy(&mut w, a, b);
    for _ in 0..SENT {
        w.send(a, MediaKind::Video, 900);
        w.advance(Duration::from_millis(10), Duration::from_millis(10));
    }
    // Let NACKs and retransmissions settle.
    w.advance(Duration::from_millis(1000), Duration::from_millis(10));
    let seqs = w.video_seqs(b, a);
    // The first packets may precede the subscription's answer; everything after is whole.
    let first = *seqs.iter().min().expect("b received video");
    let missing = (first..=SENT).filter(|s| !seqs.contains(s)).collect();
    (w, a, missing)
}

#[test]
fn lost_video_packets_are_retransmitted_to_the_subscriber() {
    // One datagram in seven to b is lost.
    let (w, _, missing) = send_through_loss(|w, _, b| w.clients[b].drop_every = Some(7));
    assert!(missing.is_empty(), "never arrived at b: {missing:?}");
    assert!(
        w.clients[1].downlink_count / 7 >= 25,
        "the downlink really lost packets"
    );
}

#[test]
fn video_lost_on_the_publishers_uplink_is_asked_for_again() {
    // One datagram in seven from a to the relay is lost: the relay NACKs a, a retransmits (RTX).
    let (w, a, missing) = send_through_loss(|w, a, _| w.clients[a].uplink_drop_every = Some(7));
    assert!(
        missing.is_empty(),
        "lost on a's uplink, never reached b: {missing:?}"
    );
    assert!(
        w.clients[a].uplink_count / 7 >= 25,
        "the uplink really lost packets"
    );
}

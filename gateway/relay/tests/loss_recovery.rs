//! Loss in both directions is repaired with NACK and RTX: a subscriber on a lossy downlink gets
//! the lost video packets again from the relay's bounded retransmission history, and packets
//! lost on a publisher's uplink are asked for again by the relay.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::World;
use str0m::media::MediaKind;

#[test]
fn lost_video_packets_are_retransmitted_to_the_subscriber() {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    // One datagram in seven to b is lost from now on.
    w.clients[b].drop_every = Some(7);
    let sent = 200u16;
    for _ in 0..sent {
        w.send(a, MediaKind::Video, 900);
        w.advance(Duration::from_millis(10), Duration::from_millis(10));
    }
    // Let NACKs and retransmissions settle.
    w.advance(Duration::from_millis(1000), Duration::from_millis(10));
    let seqs: HashSet<u16> = w.clients[b]
        .received
        .iter()
        .filter(|r| r.payload[0] == a as u8 && r.payload[1] == 1)
        .map(|r| u16::from_be_bytes([r.payload[2], r.payload[3]]))
        .collect();
    // The first packets may precede the subscription's answer; everything after is whole.
    let first = *seqs.iter().min().expect("b received video");
    let missing: Vec<u16> = (first..=sent).filter(|s| !seqs.contains(s)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} video packets never arrived: {missing:?}",
        missing.len(),
        sent - first + 1
    );
    assert!(w.clients[b].downlink_count > 0);
}

#[test]
fn video_lost_on_the_publishers_uplink_is_asked_for_again() {
    let mut w = World::new();
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    // One datagram in seven from a to the relay is lost from now on: the relay NACKs a, a
    // retransmits (RTX), and b gets every packet.
    w.clients[a].uplink_drop_every = Some(7);
    let sent = 200u16;
    for _ in 0..sent {
        w.send(a, MediaKind::Video, 900);
        w.advance(Duration::from_millis(10), Duration::from_millis(10));
    }
    w.advance(Duration::from_millis(1000), Duration::from_millis(10));
    let seqs: HashSet<u16> = w.clients[b]
        .received
        .iter()
        .filter(|r| r.payload[0] == a as u8 && r.payload[1] == 1)
        .map(|r| u16::from_be_bytes([r.payload[2], r.payload[3]]))
        .collect();
    let first = *seqs.iter().min().expect("b received video");
    let missing: Vec<u16> = (first..=sent).filter(|s| !seqs.contains(s)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} video packets lost on a's uplink never reached b: {missing:?}",
        missing.len(),
        sent - first + 1
    );
    assert!(
        w.clients[a].uplink_count / 7 >= 25,
        "the uplink really lost packets"
    );
}

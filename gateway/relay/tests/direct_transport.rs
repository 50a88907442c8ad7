//! A direct transport (the phone bridge's kind) in a meeting of browsers: it hears every other
//! voice with its publisher's numbering, its own voice reaches every browser, it counts for
//! the active speaker, and nothing of another meeting or any video reaches it.

mod common;

use std::time::Duration;

use common::World;
use sluss_relay::{DirectMedia, PeerId, RelayEvent, RouterId, DIRECT_QUEUE};
use str0m::media::MediaKind;

const PHONE: PeerId = PeerId(900);
const PHONE_LABEL: &str = "phone-leg";
/// The first byte of every payload the phone sends: tells its packets from the browsers'.
const PHONE_TAG: u8 = 0xD1;

fn phone_says(w: &mut World, n: u64, level: i8) {
    for i in 0..n {
        let media = DirectMedia {
            seq: i + 1,
            timestamp: (i * 960) as u32,
            audio_level: Some(level),
            payload: vec![PHONE_TAG, i as u8, 0, 0],
        };
        w.relay
            .send_direct(w.now, PHONE, media)
            .expect("the phone leg is known");
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
}

fn heard_from_phone(w: &World, idx: usize) -> usize {
    let c = &w.clients[idx];
    c.received
        .iter()
        .filter(|r| r.payload.first() == Some(&PHONE_TAG))
        .filter(|r| c.tracks.get(&r.mid.to_string()).map(String::as_str) == Some(PHONE_LABEL))
        .count()
}

#[test]
fn a_direct_transport_hears_every_other_voice_with_its_numbering_and_no_video() {
    let mut w = World::new();
    w.join_many(1, 2);
    // Another meeting on the same relay: nothing of it reaches the phone.
    w.join(2);
    w.relay.add_direct(RouterId(1), PHONE, PHONE_LABEL).unwrap();
    w.settle();
    for _ in 0..10 {
        for idx in 0..3 {
            w.send(idx, MediaKind::Audio, 80);
            w.send(idx, MediaKind::Video, 500);
        }
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
    let mut heard = Vec::new();
    while let Some(p) = w.relay.poll_direct(PHONE) {
        heard.push(p);
    }
    let from = |idx: usize| {
        let peer = w.clients[idx].peer;
        heard.iter().filter(move |p| p.publisher == peer)
    };
    assert_eq!(from(0).count(), 10, "every packet of browser 0's voice");
    assert_eq!(from(1).count(), 10, "and of browser 1's");
    assert_eq!(from(2).count(), 0, "nothing from the other meeting");
    assert!(
        heard
            .iter()
            .all(|p| p.payload.len() == 80 && p.payload[1] == 0),
        "voices only, payloads whole"
    );
    let seqs: Vec<u64> = from(0).map(|p| p.seq).collect();
    assert!(
        seqs.windows(2).all(|s| s[1] == s[0] + 1),
        "the publisher's own numbering: {seqs:?}"
    );
}

#[test]
fn the_phone_voice_reaches_every_browser_in_its_meeting_and_counts_as_speaker() {
    let mut w = World::new();
    w.join_many(1, 2);
    w.join(2);
    w.settle();
    w.relay.add_direct(RouterId(1), PHONE, PHONE_LABEL).unwrap();
    // The browsers are offered the phone's voice.
    w.settle();
    w.events.clear();
    phone_says(&mut w, 50, -10);
    assert!(heard_from_phone(&w, 0) >= 45, "browser 0 hears the phone");
    assert!(heard_from_phone(&w, 1) >= 45, "browser 1 hears the phone");
    assert_eq!(heard_from_phone(&w, 2), 0, "the other meeting does not");
    let speakers: Vec<PeerId> = w
        .events
        .iter()
        .filter_map(|e| match e {
            RelayEvent::ActiveSpeaker { peer } => Some(*peer),
            _ => None,
        })
        .collect();
    assert_eq!(speakers.last(), Some(&PHONE), "the phone speaker is named");
    // A browser that joins later is offered the phone's voice with the rest.
    let late = w.join(1);
    w.settle();
    phone_says(&mut w, 20, -10);
    assert!(
        heard_from_phone(&w, late) >= 15,
        "the latecomer hears the phone"
    );
}

#[test]
fn a_removed_direct_transport_is_gone_for_everyone() {
    let mut w = World::new();
    w.join_many(1, 2);
    w.relay.add_direct(RouterId(1), PHONE, PHONE_LABEL).unwrap();
    w.settle();
    assert!(
        matches!(
            w.relay.add_direct(RouterId(1), PHONE, PHONE_LABEL),
            Err(sluss_relay::RelayError::DuplicatePeer)
        ),
        "one transport per id"
    );
    w.relay.remove_peer(w.now, PHONE);
    w.settle();
    let before = (0..2)
        .map(|i| w.clients[i].received.len())
        .collect::<Vec<_>>();
    let media = DirectMedia {
        seq: 1,
        timestamp: 0,
        audio_level: None,
        payload: vec![PHONE_TAG; 4],
    };
    assert!(w.relay.send_direct(w.now, PHONE, media).is_err());
    w.send(0, MediaKind::Audio, 80);
    w.advance(Duration::from_millis(100), Duration::from_millis(20));
    assert!(
        w.relay.poll_direct(PHONE).is_none(),
        "nothing queued for it"
    );
    assert_eq!(heard_from_phone(&w, 1), 0);
    assert!(
        w.clients[1].received.len() > before[1],
        "the meeting goes on"
    );
}

#[test]
fn a_direct_transport_that_is_not_drained_holds_a_bounded_queue() {
    let mut w = World::new();
    w.join(1);
    w.relay.add_direct(RouterId(1), PHONE, PHONE_LABEL).unwrap();
    w.settle();
    for _ in 0..(DIRECT_QUEUE + 200) {
        w.send(0, MediaKind::Audio, 40);
        w.advance(Duration::from_millis(5), Duration::from_millis(5));
    }
    let mut queued = 0;
    while w.relay.poll_direct(PHONE).is_some() {
        queued += 1;
    }
    assert_eq!(queued, DIRECT_QUEUE);
    assert_eq!(w.relay.stats().direct_overflow, 200);
}

#[test]
fn a_participant_whose_voice_goes_by_phone_is_cut_from_the_browsers_audio_both_ways() {
    let mut w = World::new();
    w.join_many(1, 3);
    w.relay.add_direct(RouterId(1), PHONE, PHONE_LABEL).unwrap();
    w.settle();
    // Browser 0's voice moves to the phone (R14): the relay cuts its browser's audio.
    let moved = w.clients[0].peer;
    w.relay.set_audio_by_phone(moved, true);
    w.events.clear();
    for _ in 0..20 {
        for idx in 0..3 {
            w.send(idx, MediaKind::Audio, 80);
            w.send(idx, MediaKind::Video, 500);
        }
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
    phone_says(&mut w, 20, -10);
    // Nothing from its microphone reaches anyone, the phone leg included.
    assert_eq!(
        w.received_of(1, 0, common::AUDIO),
        0,
        "browser 1 hears none of it"
    );
    assert_eq!(w.received_of(2, 0, common::AUDIO), 0, "browser 2 neither");
    let mut heard = Vec::new();
    while let Some(p) = w.relay.poll_direct(PHONE) {
        heard.push(p.publisher);
    }
    assert!(!heard.contains(&moved), "nor the phone leg");
    assert!(
        heard.contains(&w.clients[1].peer),
        "the others' voices still reach it"
    );
    // Its browser plays no voice: neither the others' nor the phone's.
    assert_eq!(
        w.received_of(0, 1, common::AUDIO),
        0,
        "no voice to its browser"
    );
    assert_eq!(heard_from_phone(&w, 0), 0, "not the phone's either");
    assert!(heard_from_phone(&w, 1) >= 15, "the others hear the phone");
    // Its video goes on, both ways.
    assert!(
        w.received_of(1, 0, common::VIDEO) >= 15,
        "its camera is seen"
    );
    assert!(
        w.received_of(0, 1, common::VIDEO) >= 15,
        "and it sees the others"
    );
    assert!(w.relay.stats().audio_by_phone_cut >= 40);
    // Back to the browser: its voice goes out and comes in again.
    w.relay.set_audio_by_phone(moved, false);
    for _ in 0..10 {
        for idx in 0..2 {
            w.send(idx, MediaKind::Audio, 80);
        }
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
    assert!(w.received_of(1, 0, common::AUDIO) >= 8);
    assert!(w.received_of(0, 1, common::AUDIO) >= 8);
}

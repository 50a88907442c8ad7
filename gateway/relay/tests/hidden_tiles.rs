//! A page that does not show someone's tile (scrolled away on a phone, or the tab hidden) gets
//! no video from that camera, and still all the audio; shown again, the camera is asked for a
//! keyframe and the video resumes.

mod common;

use std::time::Duration;

use common::{World, AUDIO, VIDEO};
use str0m::media::MediaKind;

fn publish(w: &mut World, from: usize, packets: usize) {
    for _ in 0..packets {
        w.send(from, MediaKind::Audio, 100);
        w.send(from, MediaKind::Video, 900);
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
}

#[test]
fn a_hidden_tile_gets_no_video_and_all_the_audio() {
    let mut w = World::new();
    w.join_many(1, 3);
    w.settle();
    let (anna, bertil, cecilia) = (0, 1, 2);
    // Cecilia's page stops showing Anna's tile.
    let anna_peer = w.clients[anna].peer;
    let cecilia_peer = w.clients[cecilia].peer;
    w.relay
        .set_hidden_videos(w.now, cecilia_peer, vec![anna_peer]);
    publish(&mut w, anna, 50);
    assert!(
        w.received_of(bertil, anna, VIDEO) >= 45,
        "Bertil still sees Anna"
    );
    assert_eq!(
        w.received_of(cecilia, anna, VIDEO),
        0,
        "no video to the hidden tile"
    );
    assert!(w.received_of(cecilia, anna, AUDIO) >= 45, "but every word");
    assert!(w.relay.stats().video_paused >= 45);

    // The tile is shown again: Anna is asked for a keyframe and the video comes back.
    let asked_before = w.clients[anna].keyframe_requests;
    w.advance(Duration::from_millis(300), Duration::from_millis(20));
    w.relay.set_hidden_videos(w.now, cecilia_peer, vec![]);
    publish(&mut w, anna, 20);
    assert!(
        w.clients[anna].keyframe_requests > asked_before,
        "a keyframe was asked for"
    );
    assert!(
        w.received_of(cecilia, anna, VIDEO) >= 18,
        "the video resumed"
    );
}

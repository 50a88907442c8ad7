//! Active-speaker events come from the audio level each browser writes in its RTP header
//! extension: the relay never decodes audio to know who is talking.

mod common;

use std::time::Duration;

use common::World;
use sluss_relay::RelayEvent;

fn speakers(w: &World) -> Vec<u64> {
    w.events
        .iter()
        .filter_map(|e| match e {
            RelayEvent::ActiveSpeaker { peer } => Some(peer.0),
            _ => None,
        })
        .collect()
}

/// Two seconds of 20 ms audio packets at these levels.
fn talk(w: &mut World, levels: &[(usize, i8)]) {
    for _ in 0..100 {
        for (idx, level) in levels {
            w.send_audio_level(*idx, *level);
        }
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
}

#[test]
fn the_relay_names_who_is_speaking_from_the_audio_level_extension() {
    let mut w = World::new();
    w.join_many(1, 3);
    // Another meeting on the same relay, whose speaker must not leak into the first.
    w.join(2);
    w.settle();
    w.events.clear();
    talk(&mut w, &[(0, -127), (1, -127), (2, -127), (3, -10)]);
    let first_meeting: Vec<u64> = speakers(&w)
        .into_iter()
        .filter(|p| [1, 2, 3].contains(p))
        .collect();
    assert!(first_meeting.is_empty(), "silence makes no speaker");
    talk(&mut w, &[(0, -127), (1, -25), (2, -127)]);
    assert_eq!(speakers(&w).last(), Some(&w.clients[1].peer.0));
    w.events.clear();
    talk(&mut w, &[(0, -20), (1, -127), (2, -127)]);
    assert_eq!(
        speakers(&w),
        vec![w.clients[0].peer.0],
        "one switch, to the new speaker"
    );
}

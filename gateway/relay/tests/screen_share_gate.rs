//! R11 in the relay: a publisher's screen track reaches nobody unless the meeting allows that
//! share, and stops reaching anyone the moment it is disallowed.

mod common;

use std::time::Duration;

use common::{World, SCREEN};

#[test]
fn the_screen_track_flows_only_while_allowed() {
    let mut w = World::new();
    let a = w.join_with(1, true);
    let b = w.join(1);
    w.settle();
    let send = |w: &mut World, n: usize| {
        for _ in 0..n {
            w.send_screen(a, 800);
            w.advance(Duration::from_millis(20), Duration::from_millis(20));
        }
    };
    let screen_offered = |w: &World| {
        w.events.iter().any(|e| matches!(e, sluss_relay::RelayEvent::Offer { tracks, .. } if tracks.iter().any(|t| t.screen)))
    };
    send(&mut w, 10);
    assert_eq!(
        w.received_of(b, a, SCREEN),
        0,
        "a screen share nobody allowed"
    );
    assert!(w.relay.stats().screen_blocked >= 10);
    // A screen nobody allowed is not even offered to the others.
    assert!(
        !screen_offered(&w),
        "a disallowed screen's m-line was offered"
    );

    let now = w.now;
    let peer = w.clients[a].peer;
    w.relay.set_screen_sharing(now, peer, true);
    // Its first allowed packet offers it (labelled as a screen); then it flows.
    send(&mut w, 1);
    w.settle();
    assert!(screen_offered(&w), "an allowed, flowing screen is offered");
    send(&mut w, 10);
    let shown = w.received_of(b, a, SCREEN);
    assert!(
        shown >= 9,
        "allowed: the screen reaches the others ({shown})"
    );

    let now = w.now;
    w.relay.set_screen_sharing(now, peer, false);
    send(&mut w, 10);
    assert_eq!(w.received_of(b, a, SCREEN), shown, "stopped at once");
}

#[test]
fn a_video_line_not_declared_a_screen_is_never_taken_for_one() {
    let mut w = World::new();
    // A page that declares nothing, with a second video m-line where the screen would be.
    w.undeclared = true;
    let a = w.join_with(1, true);
    w.undeclared = false;
    let b = w.join(1);
    w.settle();
    let now = w.now;
    let peer = w.clients[a].peer;
    // Even allowed to share, nothing on that m-line is a screen: it is a second camera,
    // and one camera per participant is forwarded.
    w.relay.set_screen_sharing(now, peer, true);
    for _ in 0..10 {
        w.send_screen(a, 800);
        w.send(a, str0m::media::MediaKind::Video, 500);
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
    w.settle();
    assert_eq!(
        w.received_of(b, a, SCREEN),
        0,
        "no screen from an undeclared line"
    );
    assert!(
        !w.events.iter().any(|e| matches!(e, sluss_relay::RelayEvent::Offer { tracks, .. } if tracks.iter().any(|t| t.screen))),
        "nothing offered as a screen"
    );
    assert!(
        w.received_of(b, a, common::VIDEO) >= 5,
        "its camera (the first video line) flows"
    );
}

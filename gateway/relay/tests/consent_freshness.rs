//! RFC 7675: a browser that stops renewing ICE consent stops receiving media; one that comes
//! back is served again.

mod common;

use std::time::Duration;

use common::World;
use sluss_relay::{RelayConfig, RelayEvent};
use str0m::media::MediaKind;

#[test]
fn the_relay_stops_sending_to_a_silent_peer_and_resumes_when_it_returns() {
    let mut w = World::with_config(RelayConfig {
        consent_timeout: Duration::from_secs(30),
        ..RelayConfig::default()
    });
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    let b_addr = w.clients[b].addr;

    // b's network goes away: it neither sends nor receives.
    w.clients[b].offline = true;
    for _ in 0..(40 * 5) {
        w.send(a, MediaKind::Audio, 80);
        w.advance(Duration::from_millis(200), Duration::from_millis(200));
    }
    let b_peer = w.clients[b].peer;
    assert!(
        w.events
            .contains(&RelayEvent::Disconnected { peer: b_peer }),
        "the relay reports b as gone"
    );
    // Nothing more is sent to b's address.
    let sent = w.sent_to.get(&b_addr).copied().unwrap_or(0);
    for _ in 0..50 {
        w.send(a, MediaKind::Audio, 80);
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
    assert_eq!(
        w.sent_to.get(&b_addr).copied().unwrap_or(0),
        sent,
        "no traffic without consent"
    );

    // b's network returns and its browser restarts ICE: new credentials, validated anew.
    w.clients[b].offline = false;
    let mut api = w.clients[b].rtc.sdp_api();
    api.ice_restart(true);
    let (offer, pending) = api.apply().expect("an ICE restart offer");
    let now = w.now;
    let answer = w
        .relay
        .handle_offer(now, b_peer, &offer.to_sdp_string(), &[])
        .expect("relay answers the restart");
    w.clients[b]
        .rtc
        .sdp_api()
        .accept_answer(
            pending,
            str0m::change::SdpAnswer::from_sdp_string(&answer).unwrap(),
        )
        .unwrap();
    let got = w.received_from(b, a);
    for _ in 0..(10 * 50) {
        w.send(a, MediaKind::Audio, 80);
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
        if w.received_from(b, a) > got + 5 {
            break;
        }
    }
    assert!(w.received_from(b, a) > got + 5, "b hears a again");
    assert!(
        w.events
            .iter()
            .filter(|e| **e == RelayEvent::Connected { peer: b_peer })
            .count()
            >= 2
    );
}

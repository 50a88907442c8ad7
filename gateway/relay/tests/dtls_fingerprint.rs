//! A browser whose DTLS certificate does not match the fingerprint in its offer gets no media.

mod common;

use std::time::Duration;

use common::World;
use sluss_relay::{PeerId, RelayEvent, RouterId};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Rtc};

#[test]
fn a_forged_fingerprint_is_refused() {
    let mut w = World::new();
    let a = w.join(1);
    w.settle();

    // An impostor offers with someone else's fingerprint.
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(w.now);
    rtc.add_local_candidate(Candidate::host("127.0.0.9:7000".parse().unwrap(), "udp").unwrap());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, pending) = api.apply().unwrap();
    let sdp = offer.to_sdp_string();
    let line = sdp
        .lines()
        .find(|l| l.starts_with("a=fingerprint:sha-256 "))
        .unwrap();
    let forged_line = format!("a=fingerprint:sha-256 {}", vec!["AB"; 32].join(":"));
    let forged = sdp.replace(line, &forged_line);
    let peer = PeerId(99);
    let now = w.now;
    let answer = w
        .relay
        .add_peer(
            now,
            RouterId(1),
            peer,
            "impostor",
            w.relay_addr,
            &forged,
            &[],
        )
        .unwrap();
    rtc.sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();
    // Drive the impostor by hand against the relay.
    let addr = "127.0.0.9:7000".parse().unwrap();
    let mut closed = false;
    for _ in 0..300 {
        w.now += Duration::from_millis(10);
        let now = w.now;
        let _ = rtc.handle_input(str0m::Input::Timeout(now));
        while let Ok(str0m::Output::Transmit(t)) = rtc.poll_output() {
            w.relay.handle_receive(now, addr, &t.contents);
        }
        w.relay.handle_timeout(now);
        while let Some(t) = w.relay.poll_transmit() {
            if t.destination == addr {
                if let Ok(contents) = str0m::net::DatagramRecv::try_from(t.contents.as_slice()) {
                    let _ = rtc.handle_input(str0m::Input::Receive(
                        now,
                        str0m::net::Receive {
                            proto: str0m::net::Protocol::Udp,
                            source: w.relay_addr,
                            destination: addr,
                            contents,
                        },
                    ));
                }
            }
        }
        while let Some(e) = w.relay.poll_event() {
            if e == (RelayEvent::Closed { peer }) {
                closed = true;
            }
            w.events.push(e);
        }
        if closed {
            break;
        }
    }
    assert!(
        closed,
        "the relay closes the transport with the forged fingerprint"
    );
    assert!(w.relay.stats().dtls_failures >= 1);
    let _ = a;
}

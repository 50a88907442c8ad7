//! A flood of trickled ICE candidates through the signaling side's command channel: the
//! worker keeps the bound, refuses the rest at a constant cost each, and keeps serving.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use sluss_net::{Command, Media, MediaConfig};
use sluss_relay::bounds::MAX_REMOTE_CANDIDATES;
use sluss_relay::{PeerId, RelayConfig, RouterId};
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Rtc};

fn counters(media: &Media) -> HashMap<&'static str, u64> {
    media.stats()[0].load().into_iter().collect()
}

#[test]
fn a_flood_of_candidate_commands_is_refused_past_the_bound_and_the_worker_keeps_serving() {
    let media = Media::start(&MediaConfig {
        batched_io: true,
        bind_ip: [127, 0, 0, 1].into(),
        port: 0,
        workers: 1,
        relay: RelayConfig::default(),
    })
    .unwrap();
    let router = RouterId(3);
    let target: SocketAddr = format!("127.0.0.1:{}", media.port_for(router))
        .parse()
        .unwrap();

    // A browser-like client offers with one host candidate.
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(Instant::now());
    rtc.add_local_candidate(Candidate::host("127.0.0.1:5999".parse().unwrap(), "udp").unwrap());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, _pending) = api.apply().unwrap();
    let (reply, answer) = tokio::sync::oneshot::channel();
    let (events, _events_rx) = tokio::sync::mpsc::unbounded_channel();
    let peer = PeerId(1);
    media.send(
        router,
        Command::AddPeer {
            router,
            peer,
            label: "p".into(),
            local_addr: target,
            offer: offer.to_sdp_string(),
            sources: Vec::new(),
            events,
            reply,
        },
    );
    answer.blocking_recv().unwrap().expect("the worker answers");

    const FLOOD: usize = 100_000;
    for i in 0..FLOOD {
        let candidate = format!(
            "candidate:{i} 1 udp 2122260223 10.{}.{}.{} 9 typ host",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        );
        media.send(router, Command::Candidate { peer, candidate });
    }
    // The one in the offer and 19 trickled are kept; every other is refused.
    let refused = (FLOOD - (MAX_REMOTE_CANDIDATES - 1)) as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while counters(&media)["candidates_refused"] < refused {
        assert!(Instant::now() < deadline, "{:?}", counters(&media));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(counters(&media)["candidates_refused"], refused);

    // The worker still serves its socket.
    let before = counters(&media)["datagrams_received"];
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(&[0x80; 100], target).unwrap();
    while counters(&media)["datagrams_received"] <= before {
        assert!(Instant::now() < deadline, "the worker stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
}

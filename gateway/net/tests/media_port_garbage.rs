//! Garbage sent to the real media socket is counted and dropped; the worker keeps serving.

use std::net::UdpSocket;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sluss_net::{Media, MediaConfig};
use sluss_relay::{PeerId, RelayConfig, RouterId};
use str0m::media::{Direction, MediaKind};
use str0m::Rtc;

#[test]
fn garbage_on_the_media_port_is_dropped_and_the_worker_keeps_serving() {
    let media = Media::start(&MediaConfig {
        batched_io: true,
        bind_ip: [127, 0, 0, 1].into(),
        port: 0,
        workers: 1,
        relay: RelayConfig::default(),
    })
    .unwrap();
    let port = media.port_for(RouterId(7));
    let attacker = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = format!("127.0.0.1:{port}");
    let mut sent = 0;
    for n in 0..500usize {
        let len = (n * 37) % 1600;
        let mut datagram: Vec<u8> = (0..len).map(|i| (i * 31 + n) as u8).collect();
        if let Some(first) = datagram.first_mut() {
            *first = (n * 7) as u8; // every first-byte range: STUN, DTLS, RTP, other
        }
        attacker.send_to(&datagram, &target).unwrap();
        sent += 1;
        if n % 50 == 0 {
            // Paced, so the kernel's socket buffer keeps them all even on a busy machine.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    // Oversized datagrams too.
    attacker.send_to(&vec![0x80; 9000], &target).unwrap();
    sent += 1;

    // The counters show everything arrived and was refused.
    let deadline = Instant::now() + Duration::from_secs(5);
    let stats = &media.stats()[0];
    loop {
        let counters: std::collections::HashMap<_, _> = stats.load().into_iter().collect();
        let dropped = counters["dropped_unvalidated"]
            + counters["dropped_malformed"]
            + counters["dropped_unknown_ufrag"];
        if counters["datagrams_received"] >= sent && dropped >= sent {
            assert_eq!(
                counters["datagrams_sent"], 0,
                "nothing answered to an unvalidated address"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "counters did not catch up: {counters:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The worker still takes a real offer.
    let mut client = Rtc::builder().build(Instant::now());
    let mut api = client.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, _pending) = api.apply().unwrap();
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let answer = runtime
        .block_on(media.add_peer(
            RouterId(7),
            PeerId(1),
            "p".into(),
            [127, 0, 0, 1].into(),
            offer.to_sdp_string(),
            Vec::new(),
            events,
        ))
        .expect("the worker answers after the garbage");
    assert!(answer.contains("a=ice-lite"));
    assert!(answer.contains(&format!(" {port} typ host")));
    let deadline = Instant::now() + Duration::from_secs(2);
    while stats.peers.load(Ordering::Relaxed) != 1 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    media.shutdown();
}

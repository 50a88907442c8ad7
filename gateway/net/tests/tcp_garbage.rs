//! Garbage over ICE-TCP: random bytes, oversized and truncated frames, many connections and
//! connections that never send anything. Each is dropped or closed; the worker keeps serving
//! UDP and TCP.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use sluss_net::{Media, MediaConfig};
use sluss_relay::{RelayConfig, RouterId};

#[test]
fn garbage_over_tcp_is_dropped_and_the_worker_keeps_serving() {
    let media = Media::start(&MediaConfig {
        batched_io: true,
        bind_ip: [127, 0, 0, 1].into(),
        port: 0,
        workers: 1,
        relay: RelayConfig {
            ice_tcp: true,
            ..RelayConfig::default()
        },
    })
    .unwrap();
    let port = media.port_for(RouterId(7));
    let target = format!("127.0.0.1:{port}");

    // Idle connections, and some that send nonsense framed and unframed.
    let idle: Vec<TcpStream> = (0..50)
        .map(|_| TcpStream::connect(&target).unwrap())
        .collect();
    for n in 0..20usize {
        let mut s = TcpStream::connect(&target).unwrap();
        let junk: Vec<u8> = (0..(n * 211) % 4000).map(|i| (i * 13 + n) as u8).collect();
        let _ = s.write_all(&junk);
        // A frame that claims 64 KiB and stops short.
        let _ = s.write_all(&[0xff, 0xff, 0x80, 0x00]);
    }
    // A well-framed but meaningless STUN-looking packet gets no answer.
    let mut probe = TcpStream::connect(&target).unwrap();
    probe
        .write_all(&[
            0, 20, 0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
        ])
        .unwrap();
    probe
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        !matches!(probe.read(&mut buf), Ok(n) if n > 0),
        "nothing is answered to an unknown username"
    );

    // The worker still counts UDP datagrams and takes new TCP connections.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(&[0x80; 100], &target).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let counters: std::collections::HashMap<_, _> =
            media.stats()[0].load().into_iter().collect();
        if counters["datagrams_received"] >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker stopped: {counters:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(TcpStream::connect(&target).is_ok());
    drop(idle);
}

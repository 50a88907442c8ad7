//! The forwarding path: one SRTP packet in from a publisher, N SRTP packets out to its
//! subscribers. Prints nanoseconds per forwarded packet (that is, per output datagram).
//!
//! Run: `cargo bench -p sluss-relay --bench forwarding`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::World;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// A meeting of one publisher and `subscribers` others, connected, with encrypted datagrams
/// from the publisher ready to feed.
/// Everyone's camera is on (each has sent a first packet), so every subscriber holds a voice
/// and a camera of everyone else: the dearest case for the transports.
fn meeting(subscribers: usize) -> World {
    let mut w = World::new();
    w.join_many(1, subscribers + 1);
    w.settle();
    for i in 0..=subscribers {
        w.send(i, str0m::media::MediaKind::Video, 1000);
    }
    w.settle();
    w
}

fn forwarding(c: &mut Criterion) {
    let mut group = c.benchmark_group("forward_one_packet");
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(20);
    for subscribers in [1usize, 4, 10, 50] {
        let mut w = meeting(subscribers);
        let (mut fed, mut sent) = (0u64, 0u64);
        let source = w.clients[0].addr;
        group.throughput(Throughput::Elements(subscribers as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(subscribers),
            &subscribers,
            |b, _| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    let mut left = iters as usize;
                    while left > 0 {
                        let batch = left.min(500);
                        left -= batch;
                        // Untimed: make fresh packets (SRTP refuses replays) and keep ICE alive.
                        let packets = w.captured_video(0, batch);
                        let now = w.now + Duration::from_millis(50);
                        let start = Instant::now();
                        for p in &packets {
                            w.relay.handle_receive(now, source, p);
                            while let Some(t) = w.relay.poll_transmit() {
                                sent += 1;
                                std::hint::black_box(t);
                            }
                        }
                        total += start.elapsed();
                        fed += packets.len() as u64;
                        w.advance(Duration::from_millis(20), Duration::from_millis(20));
                    }
                    total
                });
            },
        );
        println!(
            "{subscribers} subscribers: fed {fed} packets, {sent} datagrams out ({:.2} per packet)",
            sent as f64 / fed.max(1) as f64
        );
        assert!(
            sent >= fed * subscribers as u64 * 9 / 10,
            "the benchmark forwarded too little"
        );
    }
    group.finish();
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| s
                .lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.to_owned()))
            .unwrap_or_default()
    );
}

criterion_group!(benches, forwarding);
criterion_main!(benches);

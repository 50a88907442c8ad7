//! ICE over TCP under a connection flood: one address gets no more than its share, the table
//! never holds more than its size, newcomers that do not fit are closed at once, another
//! address still gets in, and the worker sleeps while the table is full.

use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
use sluss_net::{Media, MediaConfig, ShardStats};
use sluss_relay::{RelayConfig, RouterId};

const PER_ADDRESS: usize = 6;
const TOTAL: usize = 10;

/// A connection to `target` from the loopback address `from` (any 127.x.y.z works on Linux).
fn connect_from(from: Ipv4Addr, target: SocketAddr) -> TcpStream {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::empty(),
        None,
    )
    .unwrap();
    bind(
        fd.as_raw_fd(),
        &SockaddrIn::from(SocketAddrV4::new(from, 0)),
    )
    .unwrap();
    let SocketAddr::V4(target) = target else {
        panic!("an IPv4 target");
    };
    connect(fd.as_raw_fd(), &SockaddrIn::from(target)).unwrap();
    TcpStream::from(fd)
}

/// Whether the server closed the connection (end of stream or reset) within `wait`.
fn closed_within(mut stream: &TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Err(e) => e.kind() == ErrorKind::ConnectionReset,
        Ok(_) => false,
    }
}

/// Waits until the worker reports `open` connections and `refused` closed on arrival.
fn wait_for(stats: &ShardStats, open: usize, refused: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = (
            stats
                .tcp_connections
                .load(std::sync::atomic::Ordering::Relaxed),
            stats.tcp_refused.load(std::sync::atomic::Ordering::Relaxed),
        );
        if now == (open as u64, refused as u64) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {open} open and {refused} refused, the worker says {now:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CPU time (user and system, in clock ticks) of this process's thread called `name`.
fn thread_cpu_ticks(name: &str) -> u64 {
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap();
        // Fields after the command name in parentheses: state is the first, utime the 12th.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        return fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    }
    panic!("no thread named {name}");
}

#[test]
fn connections_over_the_limits_are_closed_and_the_worker_sleeps_while_the_table_is_full() {
    let media = Media::start(&MediaConfig {
        batched_io: true,
        bind_ip: [127, 0, 0, 1].into(),
        port: 0,
        workers: 1,
        relay: RelayConfig {
            ice_tcp: true,
            ice_tcp_max_connections: TOTAL,
            ice_tcp_per_address: PER_ADDRESS,
            ..RelayConfig::default()
        },
    })
    .unwrap();
    let stats = media.stats()[0].clone();
    let target: SocketAddr = format!("127.0.0.1:{}", media.port_for(RouterId(1)))
        .parse()
        .unwrap();
    let one = Ipv4Addr::new(127, 0, 0, 1);

    // One address: its share is held, three more are closed on arrival.
    let held: Vec<TcpStream> = (0..PER_ADDRESS)
        .map(|_| connect_from(one, target))
        .collect();
    wait_for(&stats, PER_ADDRESS, 0);
    let extra: Vec<TcpStream> = (0..3).map(|_| connect_from(one, target)).collect();
    wait_for(&stats, PER_ADDRESS, 3);
    for s in &extra {
        assert!(
            closed_within(s, Duration::from_secs(2)),
            "an extra one is closed"
        );
    }
    for s in &held {
        assert!(
            !closed_within(s, Duration::from_millis(20)),
            "the share stays open"
        );
    }

    // Another address still gets in, up to the table's size.
    let two = Ipv4Addr::new(127, 0, 0, 2);
    let others: Vec<TcpStream> = (0..TOTAL - PER_ADDRESS)
        .map(|_| connect_from(two, target))
        .collect();
    wait_for(&stats, TOTAL, 3);
    assert!(!closed_within(&others[0], Duration::from_millis(20)));

    // The table is full. Newcomers from a third address keep arriving for a second: each is
    // closed, and the worker sleeps between them (it wakes about a hundred times a second to
    // look at its clock and commands, and no more).
    let three = Ipv4Addr::new(127, 0, 0, 3);
    let ticks_before = thread_cpu_ticks("sluss-media-0");
    let wakeups_before = stats.wakeups.load(std::sync::atomic::Ordering::Relaxed);
    let started = Instant::now();
    let mut late = Vec::new();
    while started.elapsed() < Duration::from_secs(1) {
        late.push(connect_from(three, target));
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = started.elapsed();
    let ticks = thread_cpu_ticks("sluss-media-0") - ticks_before;
    let wakeups = stats.wakeups.load(std::sync::atomic::Ordering::Relaxed) - wakeups_before;
    wait_for(&stats, TOTAL, 3 + late.len());
    for s in &late {
        assert!(
            closed_within(s, Duration::from_secs(2)),
            "a late one is closed"
        );
    }
    eprintln!(
        "table full for {elapsed:?}: {} newcomers closed, worker {ticks} CPU ticks, {wakeups} wake-ups",
        late.len()
    );
    // A worker spinning on a readable listener burns a core: 100 ticks a second and
    // hundreds of thousands of turns. Idle, it uses well under 10% and turns about 100 times.
    assert!(
        ticks <= 10,
        "the worker used {ticks} ticks of CPU in {elapsed:?}"
    );
    assert!(
        wakeups <= 600,
        "the worker turned {wakeups} times in {elapsed:?}"
    );
    drop((held, others));
}

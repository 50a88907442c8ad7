//! The media sockets of Sluss.
//!
//! [`Media::start`] binds one UDP socket per shard (ports `port`, `port + 1`, ...) and runs one
//! worker thread per shard. Each worker owns a [`sluss_relay::Relay`] and everything in it: a
//! meeting lives on exactly one worker (chosen from its router id), so forwarding never takes a
//! lock and never crosses threads. The signaling side talks to a worker only through
//! [`Command`]s on a channel, and hears back through the sinks it hands over.
//!
//! Counters are copied out to atomics a few times a second for `/metrics`.

mod batch;
mod shard;
mod tcp;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use sluss_relay::{
    DirectPacket, PeerId, RelayConfig, RelayError, RelayEvent, RelayStats, RouterId, Source,
};
use tokio::sync::{mpsc, oneshot};

pub use shard::Command;
pub use tcp::split_frames;

/// Where relay events for one router go: (peer, event).
pub type EventSink = mpsc::UnboundedSender<RelayEvent>;
/// Where a direct transport's share of its meeting's voices goes (bounded: see
/// [`DIRECT_SINK`]).
pub type DirectSink = mpsc::Sender<DirectPacket>;
/// Packets a direct transport's sink holds: two seconds of twenty voices.
pub const DIRECT_SINK: usize = 2_000;
/// A reply from a worker.
pub type Reply<T> = oneshot::Sender<Result<T, RelayError>>;

#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Address the sockets bind to (all interfaces by default).
    pub bind_ip: IpAddr,
    /// First UDP port; shard `i` uses `port + i`.
    pub port: u16,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// recvmmsg/sendmmsg; off means one datagram per system call.
    pub batched_io: bool,
    pub relay: RelayConfig,
}

#[derive(Debug)]
pub enum NetError {
    Bind(SocketAddr, std::io::Error),
    Spawn(std::io::Error),
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::Bind(addr, e) => write!(f, "cannot bind media socket {addr}: {e}"),
            NetError::Spawn(e) => write!(f, "cannot start media worker: {e}"),
        }
    }
}

impl std::error::Error for NetError {}

/// Counters of one shard, readable from any thread.
#[derive(Debug, Default)]
pub struct ShardStats {
    counters: [AtomicU64; RelayStats::COUNT],
    pub peers: AtomicU64,
    pub routers: AtomicU64,
    pub send_errors: AtomicU64,
    /// ICE-TCP connections open now.
    pub tcp_connections: AtomicU64,
    /// ICE-TCP connections closed on arrival: the table or their address's share was full.
    pub tcp_refused: AtomicU64,
    /// Turns of the worker's loop: an idle worker makes about a hundred a second.
    pub wakeups: AtomicU64,
    /// Voices a direct transport's bridge did not take in time (its sink was full).
    pub direct_dropped: AtomicU64,
    /// CPU time the worker's thread has used, in nanoseconds: its rate is how busy the worker
    /// is (1.0 is a saturated core).
    pub cpu_nanos: AtomicU64,
}

impl ShardStats {
    fn store(&self, stats: &RelayStats) {
        for (slot, (_, value)) in self.counters.iter().zip(stats.named()) {
            slot.store(value, Ordering::Relaxed);
        }
    }

    /// The counters with their names, `send_errors` included.
    pub fn load(&self) -> Vec<(&'static str, u64)> {
        RelayStats::default()
            .named()
            .iter()
            .zip(&self.counters)
            .map(|((name, _), v)| {
                let value = if *name == "send_errors" {
                    self.send_errors.load(Ordering::Relaxed)
                } else {
                    v.load(Ordering::Relaxed)
                };
                (*name, value)
            })
            .collect()
    }
}

struct Shard {
    commands: crossbeam_channel::Sender<Command>,
    port: u16,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

/// The running media workers.
pub struct Media {
    shards: Vec<Shard>,
    stats: Vec<Arc<ShardStats>>,
}

impl Media {
    pub fn start(config: &MediaConfig) -> Result<Media, NetError> {
        let workers = match config.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut shards = Vec::with_capacity(workers);
        let mut stats = Vec::with_capacity(workers);
        for i in 0..workers {
            let port = config.port.checked_add(i as u16).unwrap_or(config.port);
            let addr = SocketAddr::new(config.bind_ip, port);
            let socket = UdpSocket::bind(addr).map_err(|e| NetError::Bind(addr, e))?;
            let port = socket.local_addr().map(|a| a.port()).unwrap_or(port);
            // ICE over TCP listens on the same port number as the shard's UDP socket.
            let tcp = if config.relay.ice_tcp {
                let tcp_addr = SocketAddr::new(config.bind_ip, port);
                let listener = std::net::TcpListener::bind(tcp_addr)
                    .map_err(|e| NetError::Bind(tcp_addr, e))?;
                listener
                    .set_nonblocking(true)
                    .map_err(|e| NetError::Bind(tcp_addr, e))?;
                Some(listener)
            } else {
                None
            };
            let (tx, rx) = crossbeam_channel::unbounded();
            let shard_stats = Arc::new(ShardStats::default());
            let (relay, worker_stats, batched) =
                (config.relay.clone(), shard_stats.clone(), config.batched_io);
            // The worker is made on its own thread: its batch headers never move between threads.
            let thread = std::thread::Builder::new()
                .name(format!("sluss-media-{i}"))
                .spawn(move || {
                    shard::Worker::new(socket, rx, relay, worker_stats, batched, tcp).run()
                })
                .map_err(NetError::Spawn)?;
            shards.push(Shard {
                commands: tx,
                port,
                thread: std::sync::Mutex::new(Some(thread)),
            });
            stats.push(shard_stats);
        }
        Ok(Media { shards, stats })
    }

    fn shard(&self, router: RouterId) -> &Shard {
        &self.shards[(router.0 % self.shards.len() as u64) as usize]
    }

    /// The UDP port a router's peers use.
    pub fn port_for(&self, router: RouterId) -> u16 {
        self.shard(router).port
    }

    /// Sends a command to the worker that owns `router`. A stopped worker drops it, and any
    /// reply channel in it closes, which the caller sees as an error.
    pub fn send(&self, router: RouterId, command: Command) {
        let _ = self.shard(router).commands.send(command);
    }

    pub fn stats(&self) -> &[Arc<ShardStats>] {
        &self.stats
    }

    /// How many workers are still running (every one, unless a worker died or we stop).
    pub fn workers_running(&self) -> usize {
        self.shards
            .iter()
            .filter(|s| {
                let thread = s.thread.lock().unwrap_or_else(|e| e.into_inner());
                thread.as_ref().is_some_and(|t| !t.is_finished())
            })
            .count()
    }

    /// Stops every worker and waits for it.
    pub fn shutdown(&self) {
        for shard in &self.shards {
            let _ = shard.commands.send(Command::Shutdown);
        }
        for shard in &self.shards {
            let thread = shard
                .thread
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(t) = thread {
                let _ = t.join();
            }
        }
    }

    /// Convenience: a new peer.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_peer(
        &self,
        router: RouterId,
        peer: PeerId,
        label: String,
        announce: IpAddr,
        offer: String,
        sources: Vec<(String, Source)>,
        events: EventSink,
    ) -> Result<String, RelayError> {
        let (reply, rx) = oneshot::channel();
        let local_addr = SocketAddr::new(announce, self.port_for(router));
        self.send(
            router,
            Command::AddPeer {
                router,
                peer,
                label,
                local_addr,
                offer,
                sources,
                events,
                reply,
            },
        );
        rx.await.unwrap_or(Err(RelayError::UnknownPeer))
    }

    /// A direct transport (a phone leg's bridge) joins `router`; what it is to hear comes on
    /// the returned receiver. Its voice goes in with [`Media::send_direct`].
    pub async fn add_direct(
        &self,
        router: RouterId,
        peer: PeerId,
        label: String,
        events: EventSink,
    ) -> Result<mpsc::Receiver<DirectPacket>, RelayError> {
        let (voices, heard) = mpsc::channel(DIRECT_SINK);
        let (reply, rx) = oneshot::channel();
        self.send(
            router,
            Command::AddDirect {
                router,
                peer,
                label,
                voices,
                events,
                reply,
            },
        );
        rx.await.unwrap_or(Err(RelayError::UnknownPeer))?;
        Ok(heard)
    }

    /// One frame of a direct transport's voice.
    pub fn send_direct(&self, router: RouterId, peer: PeerId, media: sluss_relay::DirectMedia) {
        self.send(router, Command::SendDirect { peer, media });
    }

    pub async fn offer(
        &self,
        router: RouterId,
        peer: PeerId,
        sdp: String,
        sources: Vec<(String, Source)>,
    ) -> Result<String, RelayError> {
        let (reply, rx) = oneshot::channel();
        let command = Command::Offer {
            peer,
            sdp,
            sources,
            reply,
        };
        self.send(router, command);
        rx.await.unwrap_or(Err(RelayError::UnknownPeer))
    }

    pub async fn answer(
        &self,
        router: RouterId,
        peer: PeerId,
        sdp: String,
    ) -> Result<(), RelayError> {
        let (reply, rx) = oneshot::channel();
        self.send(router, Command::Answer { peer, sdp, reply });
        rx.await.unwrap_or(Err(RelayError::UnknownPeer))
    }
}

impl Drop for Media {
    fn drop(&mut self) {
        self.shutdown();
    }
}

//! One media worker: a socket, a relay, and the loop between them.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};
use sluss_relay::{DirectMedia, PeerId, Relay, RelayConfig, RelayEvent, RouterId, Source};
use tracing::{debug, warn};

use crate::batch::Batch;
use crate::tcp::{Connections, Limits};
use crate::{DirectSink, EventSink, Reply, ShardStats};

/// The largest datagram read; anything longer is truncated and then refused by the parsers.
const RECV_BUFFER: usize = 2048;
/// The longest the loop sleeps, so that commands are picked up promptly.
const MAX_WAIT: Duration = Duration::from_millis(10);
const STATS_INTERVAL: Duration = Duration::from_millis(250);

/// What the signaling side asks of a worker.
#[derive(Debug)]
pub enum Command {
    AddPeer {
        router: RouterId,
        peer: PeerId,
        label: String,
        local_addr: SocketAddr,
        offer: String,
        /// What the client says each of its m-lines carries.
        sources: Vec<(String, Source)>,
        events: EventSink,
        reply: Reply<String>,
    },
    Offer {
        peer: PeerId,
        sdp: String,
        sources: Vec<(String, Source)>,
        reply: Reply<String>,
    },
    Answer {
        peer: PeerId,
        sdp: String,
        reply: Reply<()>,
    },
    Candidate {
        peer: PeerId,
        candidate: String,
    },
    RemovePeer {
        peer: PeerId,
    },
    /// A media endpoint in this process (a phone leg's bridge) joins `router`: its voice
    /// comes in through `SendDirect`, everyone else's goes out to `voices`.
    AddDirect {
        router: RouterId,
        peer: PeerId,
        label: String,
        voices: DirectSink,
        events: EventSink,
        reply: Reply<()>,
    },
    /// One frame of a direct transport's voice.
    SendDirect {
        peer: PeerId,
        media: DirectMedia,
    },
    /// R14: this participant's voice goes by phone (its browser's audio is cut both ways),
    /// or back to its browser.
    SetAudioByPhone {
        peer: PeerId,
        on: bool,
    },
    /// R11: forward this peer's screen track, or stop forwarding it.
    SetScreenSharing {
        peer: PeerId,
        allowed: bool,
    },
    /// The cameras this peer's page does not show: pause their video toward it.
    SetHiddenVideos {
        peer: PeerId,
        hidden: Vec<PeerId>,
    },
    /// How tall each camera's tile is on this peer's page: its simulcast layer follows.
    SetTileHeights {
        peer: PeerId,
        tiles: Vec<(PeerId, u32)>,
    },
    Shutdown,
}

pub(crate) struct Worker {
    socket: UdpSocket,
    /// ICE over TCP on the same port, when on: the listener and its connections.
    tcp: Option<std::net::TcpListener>,
    connections: Connections,
    /// What the last poll said of each descriptor; kept to reuse its allocation.
    ready: Vec<nix::poll::PollFlags>,
    batch: Batch,
    /// Transmits gathered for one `sendmmsg`; kept to reuse its allocation.
    out: Vec<sluss_relay::Transmit>,
    commands: Receiver<Command>,
    relay: Relay,
    sinks: HashMap<PeerId, EventSink>,
    /// Where each direct transport's share of the meeting's voices goes.
    voices: HashMap<PeerId, DirectSink>,
    stats: Arc<ShardStats>,
}

impl Worker {
    pub(crate) fn new(
        socket: UdpSocket,
        commands: Receiver<Command>,
        config: RelayConfig,
        stats: Arc<ShardStats>,
        batched: bool,
        tcp: Option<std::net::TcpListener>,
    ) -> Worker {
        let limits = Limits {
            total: config.ice_tcp_max_connections,
            per_address: config.ice_tcp_per_address,
        };
        Worker {
            socket,
            tcp,
            connections: Connections::new(limits),
            ready: Vec::new(),
            batch: Batch::new(batched, RECV_BUFFER),
            out: Vec::with_capacity(crate::batch::BATCH * 4),
            commands,
            relay: Relay::new(config),
            sinks: HashMap::new(),
            voices: HashMap::new(),
            stats,
        }
    }

    pub(crate) fn run(mut self) {
        let mut last_stats = Instant::now();
        let mut current_wait = Duration::ZERO;
        loop {
            self.stats.wakeups.fetch_add(1, Ordering::Relaxed);
            loop {
                match self.commands.try_recv() {
                    Ok(Command::Shutdown) | Err(TryRecvError::Disconnected) => {
                        debug!("media worker stopping");
                        return;
                    }
                    Ok(command) => self.handle_command(command),
                    Err(TryRecvError::Empty) => break,
                }
            }

            let now = Instant::now();
            if self.relay.poll_timeout().is_some_and(|t| t <= now) {
                self.relay.handle_timeout(now);
            }
            self.flush();

            if now.duration_since(last_stats) >= STATS_INTERVAL {
                last_stats = now;
                self.stats.store(&self.relay.stats());
                self.stats
                    .peers
                    .store(self.relay.peer_count() as u64, Ordering::Relaxed);
                self.stats
                    .routers
                    .store(self.relay.router_count() as u64, Ordering::Relaxed);
                self.stats
                    .tcp_connections
                    .store(self.connections.len() as u64, Ordering::Relaxed);
                self.stats
                    .tcp_refused
                    .store(self.connections.refused, Ordering::Relaxed);
                if let Ok(cpu) =
                    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
                {
                    let nanos = (cpu.tv_sec() as u64) * 1_000_000_000 + cpu.tv_nsec() as u64;
                    self.stats.cpu_nanos.store(nanos, Ordering::Relaxed);
                }
            }

            let wait = self
                .relay
                .poll_timeout()
                .map_or(MAX_WAIT, |t| t.saturating_duration_since(Instant::now()))
                .clamp(Duration::from_millis(1), MAX_WAIT);
            // Only touch the socket option when the wait changes noticeably.
            if wait.abs_diff(current_wait) > Duration::from_micros(500)
                && self.socket.set_read_timeout(Some(wait)).is_ok()
            {
                current_wait = wait;
            }
            if self.tcp.is_some() && !self.wait_for_any(wait) {
                // Nothing on UDP: TCP (if anything) was handled while waiting.
                continue;
            }
            match self.batch.recv(&self.socket) {
                Ok(n) => {
                    let now = Instant::now();
                    for i in 0..n {
                        let (source, datagram) = self.batch.datagram(i);
                        self.relay.handle_receive(now, source, datagram);
                    }
                    self.flush();
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                // ICMP port unreachable from a vanished peer surfaces here on Linux.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
                Err(e) => {
                    warn!(error = %e, "media socket receive failed");
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }

    /// With ICE over TCP on: waits up to `wait` for the UDP socket, the listener or a
    /// connection, takes new connections and whole frames, and says whether UDP is readable.
    fn wait_for_any(&mut self, wait: Duration) -> bool {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let Some(listener) = &self.tcp else {
            return true;
        };
        self.ready.clear();
        // A resting listener stays in the set (its index is fixed) but is not waited on.
        let listening = self.connections.listening(Instant::now());
        {
            let mut fds = Vec::with_capacity(2 + self.connections.len());
            fds.push(PollFd::new(self.socket.as_fd(), PollFlags::POLLIN));
            let accept = if listening {
                PollFlags::POLLIN
            } else {
                PollFlags::empty()
            };
            fds.push(PollFd::new(listener.as_fd(), accept));
            for c in self.connections.iter() {
                let mut events = PollFlags::POLLIN;
                if c.wants_to_write() {
                    events |= PollFlags::POLLOUT;
                }
                fds.push(PollFd::new(c.stream.as_fd(), events));
            }
            let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::ZERO);
            if poll(&mut fds, timeout).is_err() {
                return false;
            }
            self.ready.extend(
                fds.iter()
                    .map(|f| f.revents().unwrap_or(PollFlags::empty())),
            );
        }
        let now = Instant::now();
        let gone = PollFlags::POLLHUP | PollFlags::POLLERR;
        let (ready, relay) = (&self.ready, &mut self.relay);
        let mut index = 2;
        self.connections.retain(|c| {
            let flags = ready[index];
            index += 1;
            let mut ok = true;
            if flags.intersects(PollFlags::POLLIN | gone) {
                ok = c.read(|source, frame| relay.handle_receive_tcp(now, source, frame));
            }
            if ok && flags.contains(PollFlags::POLLOUT) {
                ok = c.flush();
            }
            ok && !c.is_idle(now)
        });
        // New connections after the old ones were served: they have no poll result yet.
        if listening && self.ready[1].contains(PollFlags::POLLIN) {
            self.connections.accept(listener, now);
        }
        self.flush();
        self.ready[0].contains(PollFlags::POLLIN)
    }

    fn handle_command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::AddPeer {
                router,
                peer,
                label,
                local_addr,
                offer,
                sources,
                events,
                reply,
            } => {
                let result = self
                    .relay
                    .add_peer(now, router, peer, &label, local_addr, &offer, &sources);
                if result.is_ok() {
                    self.sinks.insert(peer, events);
                }
                let _ = reply.send(result);
            }
            Command::Offer {
                peer,
                sdp,
                sources,
                reply,
            } => {
                let _ = reply.send(self.relay.handle_offer(now, peer, &sdp, &sources));
            }
            Command::Answer { peer, sdp, reply } => {
                let _ = reply.send(self.relay.handle_answer(now, peer, &sdp));
            }
            Command::Candidate { peer, candidate } => {
                if let Err(e) = self.relay.add_remote_candidate(peer, &candidate) {
                    debug!(%peer, error = %e, "candidate refused");
                }
            }
            Command::AddDirect {
                router,
                peer,
                label,
                voices,
                events,
                reply,
            } => {
                let result = self.relay.add_direct(router, peer, &label);
                if result.is_ok() {
                    self.sinks.insert(peer, events);
                    self.voices.insert(peer, voices);
                }
                let _ = reply.send(result);
            }
            Command::SendDirect { peer, media } => {
                if let Err(e) = self.relay.send_direct(now, peer, media) {
                    debug!(%peer, error = %e, "direct media refused");
                }
            }
            Command::RemovePeer { peer } => {
                self.relay.remove_peer(now, peer);
                self.sinks.remove(&peer);
                self.voices.remove(&peer);
            }
            Command::SetAudioByPhone { peer, on } => {
                self.relay.set_audio_by_phone(peer, on);
            }
            Command::SetScreenSharing { peer, allowed } => {
                self.relay.set_screen_sharing(now, peer, allowed);
            }
            Command::SetTileHeights { peer, tiles } => {
                self.relay.set_tile_heights(now, peer, tiles);
            }
            Command::SetHiddenVideos { peer, hidden } => {
                self.relay.set_hidden_videos(now, peer, hidden);
            }
            Command::Shutdown => {}
        }
        self.flush();
    }

    fn flush(&mut self) {
        self.out.clear();
        while let Some(t) = self.relay.poll_transmit() {
            if t.transport == sluss_relay::Transport::Tcp {
                let sent = self
                    .connections
                    .find_mut(t.destination)
                    .is_some_and(|c| c.send(&t.contents));
                if !sent {
                    self.stats.send_errors.fetch_add(1, Ordering::Relaxed);
                }
                continue;
            }
            self.out.push(t);
        }
        if !self.out.is_empty() {
            let failed = self.batch.send(&self.socket, &self.out);
            if failed > 0 {
                self.stats
                    .send_errors
                    .fetch_add(failed as u64, Ordering::Relaxed);
                debug!(failed, "media sends failed");
            }
        }
        // Voices for the direct transports: a bridge that does not keep up loses packets
        // (its jitter buffer conceals them), never the worker's time.
        for (peer, sink) in &self.voices {
            while let Some(packet) = self.relay.poll_direct(*peer) {
                if sink.try_send(packet).is_err() {
                    self.stats.direct_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        while let Some(event) = self.relay.poll_event() {
            let peer = match &event {
                RelayEvent::Offer { peer, .. }
                | RelayEvent::Connected { peer }
                | RelayEvent::Disconnected { peer }
                | RelayEvent::Closed { peer }
                | RelayEvent::ActiveSpeaker { peer }
                | RelayEvent::VideoOffForBandwidth { peer, .. } => *peer,
            };
            if let Some(sink) = self.sinks.get(&peer) {
                let _ = sink.send(event);
            }
        }
    }
}

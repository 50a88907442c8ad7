//! ICE over TCP for networks that block UDP: a listener on the shard's media port and its
//! connections, each carrying RFC 4571 frames (a two-byte length, then one STUN, DTLS, RTP or
//! RTCP packet). Everything is non-blocking; a connection that cannot keep up loses packets
//! (as UDP would) rather than holding up the worker.
//!
//! The connection table is bounded in all and per source address. A connection that cannot
//! be stored is accepted and closed at once: left in the listener's backlog it would keep the
//! listener readable, and the worker, which waits on it, would never sleep.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Connections taken per wake-up: a flood of connects cannot hold the worker in `accept`.
const MAX_ACCEPTS_PER_WAKE: usize = 64;
/// When `accept` fails for want of descriptors or memory, the listener rests this long (the
/// waiting connection stays in the backlog, and would wake the worker at once).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Output queued for one connection beyond this is dropped.
const MAX_QUEUED: usize = 512 * 1024;
/// A frame is at most 64 KiB by its length field; a connection buffering more is closed.
const MAX_INPUT: usize = 2 * 65_538;
/// A browser's ICE consent checks arrive every few seconds (RFC 7675); a connection silent for
/// this long is not a browser in a call, and is closed so that idle sockets cannot fill the
/// connection limit.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Connection {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    input: Vec<u8>,
    output: Vec<u8>,
    last_input: Instant,
}

impl Connection {
    /// Silent for longer than `IDLE_TIMEOUT`.
    pub fn is_idle(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_input) > IDLE_TIMEOUT
    }

    pub fn wants_to_write(&self) -> bool {
        !self.output.is_empty()
    }

    /// Reads what is there and hands every whole frame to `frame`. False when the connection
    /// is finished (closed by the peer, broken, or sending garbage).
    pub fn read(&mut self, mut frame: impl FnMut(SocketAddr, &[u8])) -> bool {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    self.last_input = Instant::now();
                    self.input.extend_from_slice(&buf[..n]);
                    if self.input.len() > MAX_INPUT {
                        return false;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        }
        let peer = self.peer;
        let at = split_frames(&self.input, |f| frame(peer, f));
        self.input.drain(..at);
        true
    }

    /// Queues one packet, framed, and writes what the socket takes.
    pub fn send(&mut self, packet: &[u8]) -> bool {
        let Ok(len) = u16::try_from(packet.len()) else {
            return false;
        };
        if self.output.len() + packet.len() + 2 > MAX_QUEUED {
            return false;
        }
        self.output.extend_from_slice(&len.to_be_bytes());
        self.output.extend_from_slice(packet);
        self.flush()
    }

    /// Writes queued output; false when the connection is broken.
    pub fn flush(&mut self) -> bool {
        while !self.output.is_empty() {
            match self.stream.write(&self.output) {
                Ok(0) => return false,
                Ok(n) => {
                    self.output.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        }
        true
    }
}

/// Hands every whole RFC 4571 frame at the start of `input` to `frame`, in order, and returns
/// how many bytes they took; a partial frame at the end waits for more input. Never panics,
/// whatever the input (it is fuzzed as `ice_tcp_framing`).
pub fn split_frames(input: &[u8], mut frame: impl FnMut(&[u8])) -> usize {
    let mut at = 0;
    while let Some(&[hi, lo]) = input.get(at..at + 2) {
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let Some(packet) = input.get(at + 2..at + 2 + len) else {
            break;
        };
        frame(packet);
        at += 2 + len;
    }
    at
}

/// How many connections the table holds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub total: usize,
    pub per_address: usize,
}

/// The open connections of one worker, counted per source address.
pub struct Connections {
    list: Vec<Connection>,
    per_address: HashMap<IpAddr, usize>,
    limits: Limits,
    /// The listener is not polled before this (an `accept` failed for want of resources).
    paused_until: Option<Instant>,
    /// Connections closed at once because the table, or their address's share, was full.
    pub refused: u64,
}

impl Connections {
    pub fn new(limits: Limits) -> Connections {
        Connections {
            list: Vec::new(),
            per_address: HashMap::new(),
            limits,
            paused_until: None,
            refused: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Connection> {
        self.list.iter()
    }

    pub fn find_mut(&mut self, peer: SocketAddr) -> Option<&mut Connection> {
        self.list.iter_mut().find(|c| c.peer == peer)
    }

    /// Whether the listener should be polled now.
    pub fn listening(&self, now: Instant) -> bool {
        self.paused_until.is_none_or(|t| now >= t)
    }

    /// Keeps the connections `keep` says to, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut Connection) -> bool) {
        let per_address = &mut self.per_address;
        self.list.retain_mut(|c| {
            let kept = keep(c);
            if !kept {
                forget(per_address, source(c.peer.ip()));
            }
            kept
        });
    }

    /// Takes the connections waiting on the listener: those that fit are stored, the rest
    /// are closed at once.
    pub fn accept(&mut self, listener: &TcpListener, now: Instant) {
        for _ in 0..MAX_ACCEPTS_PER_WAKE {
            match listener.accept() {
                Ok((stream, peer)) => self.store(stream, peer),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                // A connection reset before it was taken: go on with the next.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                    ) => {}
                // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS).
                Err(_) => {
                    self.paused_until = Some(now + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    fn store(&mut self, stream: TcpStream, peer: SocketAddr) {
        let from_there = self
            .per_address
            .get(&source(peer.ip()))
            .copied()
            .unwrap_or(0);
        if self.list.len() >= self.limits.total || from_there >= self.limits.per_address {
            // Dropping it closes it.
            self.refused += 1;
            return;
        }
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        let _ = stream.set_nodelay(true);
        *self.per_address.entry(source(peer.ip())).or_default() += 1;
        self.list.push(Connection {
            stream,
            peer,
            input: Vec::new(),
            output: Vec::new(),
            last_input: Instant::now(),
        });
    }
}

/// Whose share a connection counts against: its IPv4 address, or its IPv6 /64 (one host or
/// one home network gets a whole /64, so single IPv6 addresses are free to an attacker).
fn source(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

fn forget(per_address: &mut HashMap<IpAddr, usize>, ip: IpAddr) {
    if let Some(n) = per_address.get_mut(&ip) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            per_address.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn split_frames_takes_whole_frames_and_leaves_a_partial_one() {
        let mut got = Vec::new();
        let used = split_frames(&[0, 2, 1, 2, 0, 0, 0, 3, 9], |f| got.push(f.to_vec()));
        assert_eq!(used, 6);
        assert_eq!(got, vec![vec![1, 2], vec![]]);
        assert_eq!(split_frames(&[0], |_| panic!("no whole frame")), 0);
        assert_eq!(
            split_frames(&[0xff, 0xff, 1], |_| panic!("no whole frame")),
            0
        );
    }

    #[test]
    fn frames_go_both_ways_whole_and_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mut conns = Connections::new(Limits {
            total: 10,
            per_address: 10,
        });
        for _ in 0..100 {
            conns.accept(&listener, Instant::now());
            if conns.len() == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let conn = &mut conns.list[0];
        // Two frames and half of a third, in one write.
        client
            .write_all(&[0, 3, 1, 2, 3, 0, 1, 9, 0, 4, 7])
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let mut got = Vec::new();
        assert!(conn.read(|_, f| got.push(f.to_vec())));
        assert_eq!(got, vec![vec![1, 2, 3], vec![9]]);
        client.write_all(&[7, 7, 7]).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(conn.read(|_, f| got.push(f.to_vec())));
        assert_eq!(got[2], vec![7, 7, 7, 7]);
        // And back, framed.
        assert!(conn.send(&[5, 6]));
        let mut back = [0u8; 4];
        client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        client.read_exact(&mut back).unwrap();
        assert_eq!(back, [0, 2, 5, 6]);
        // Silence for longer than a browser would keep it closes the connection.
        assert!(!conns.list[0].is_idle(Instant::now()));
        assert!(conns.list[0].is_idle(Instant::now() + IDLE_TIMEOUT + Duration::from_secs(1)));
        // The peer leaves: the connection says it is finished.
        drop(client);
        std::thread::sleep(Duration::from_millis(20));
        assert!(!conns.list[0].read(|_, _| {}));
    }

    /// Connects to `listener` and waits until the table has taken or closed it.
    fn arrive(listener: &TcpListener, conns: &mut Connections) -> TcpStream {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let before = (conns.len(), conns.refused);
        for _ in 0..200 {
            conns.accept(listener, Instant::now());
            if (conns.len(), conns.refused) != before {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        client
    }

    fn is_closed(mut client: &TcpStream) -> bool {
        client
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut byte = [0u8; 1];
        matches!(client.read(&mut byte), Ok(0))
            || matches!(client.read(&mut byte), Err(e) if e.kind() == ErrorKind::ConnectionReset)
    }

    #[test]
    fn an_ipv6_network_shares_one_allowance_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source(a), source(b));
        assert_ne!(source(a), source(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(source(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_full_share_closes_newcomers_at_once_and_frees_up_when_one_leaves() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let mut conns = Connections::new(Limits {
            total: 10,
            per_address: 2,
        });
        let kept: Vec<TcpStream> = (0..2).map(|_| arrive(&listener, &mut conns)).collect();
        assert_eq!((conns.len(), conns.refused), (2, 0));
        let extra = arrive(&listener, &mut conns);
        assert_eq!((conns.len(), conns.refused), (2, 1));
        assert!(is_closed(&extra), "the one over the share is closed");
        // Nothing is left waiting on the listener.
        assert!(matches!(listener.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock));
        // One leaves: its place is free again.
        let mut first = true;
        conns.retain(|_| !std::mem::take(&mut first));
        let again = arrive(&listener, &mut conns);
        assert_eq!((conns.len(), conns.refused), (2, 1));
        assert!(!is_closed(&again));
        drop(kept);
    }
}

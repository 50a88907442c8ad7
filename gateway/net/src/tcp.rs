//! ICE over TCP for networks that block UDP: a listener on the shard's media port and its
//! connections, each carrying RFC 4571 frames (a two-byte length, then one STUN, DTLS, RTP or
//! RTCP packet). Everything is non-blocking; a connection that cannot keep up loses packets
//! (as UDP would) rather than holding up the worker.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// More connections than this are refused (each costs buffers).
pub const MAX_CONNECTIONS: usize = 2000;
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

/// Takes the connections waiting on the listener.
pub fn accept(listener: &TcpListener, into: &mut Vec<Connection>) {
    while into.len() < MAX_CONNECTIONS {
        match listener.accept() {
            Ok((stream, peer)) => {
                if stream.set_nonblocking(true).is_err() {
                    continue;
                }
                let _ = stream.set_nodelay(true);
                into.push(Connection {
                    stream,
                    peer,
                    input: Vec::new(),
                    output: Vec::new(),
                    last_input: Instant::now(),
                });
            }
            Err(_) => return,
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
        let mut conns = Vec::new();
        for _ in 0..100 {
            accept(&listener, &mut conns);
            if !conns.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let conn = &mut conns[0];
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
        assert!(!conns[0].is_idle(Instant::now()));
        assert!(conns[0].is_idle(Instant::now() + IDLE_TIMEOUT + Duration::from_secs(1)));
        // The peer leaves: the connection says it is finished.
        drop(client);
        std::thread::sleep(Duration::from_millis(20));
        assert!(!conns[0].read(|_, _| {}));
    }
}

//! Batched datagram I/O: `recvmmsg` takes every datagram that is waiting in one call, and
//! `sendmmsg` sends everything one input produced (a packet to each subscriber) in one call.
//! Where batching is off or refused, one datagram per call, as before.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::socket::{
    recvmmsg, sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrLike, SockaddrStorage,
};
use sluss_relay::Transmit;

/// Datagrams per system call.
pub const BATCH: usize = 32;

pub struct Batch {
    batched: bool,
    recv_headers: MultiHeaders<SockaddrStorage>,
    send_headers: MultiHeaders<SockaddrStorage>,
    buffers: Vec<Vec<u8>>,
    /// What the last `recv` got: length and source of each buffer in turn.
    received: Vec<(usize, SocketAddr)>,
}

impl Batch {
    pub fn new(batched: bool, buffer_size: usize) -> Batch {
        let n = if batched { BATCH } else { 1 };
        Batch {
            batched,
            recv_headers: MultiHeaders::preallocate(n, None),
            send_headers: MultiHeaders::preallocate(n, None),
            buffers: (0..n).map(|_| vec![0u8; buffer_size]).collect(),
            received: Vec::with_capacity(n),
        }
    }

    /// Waits (up to the socket's read timeout) for at least one datagram and takes every one
    /// that is ready, up to `BATCH`. Then `datagram(i)` gives each in turn.
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.received.clear();
        if !self.batched {
            let (n, source) = socket.recv_from(&mut self.buffers[0])?;
            self.received.push((n, source));
            return Ok(1);
        }
        // On the stack: no allocation per call.
        let mut buffers = self.buffers.iter_mut();
        let mut slices: [[IoSliceMut<'_>; 1]; BATCH] = std::array::from_fn(|_| {
            [IoSliceMut::new(
                buffers
                    .next()
                    .expect("a batched receiver has BATCH buffers"),
            )]
        });
        let results = recvmmsg(
            socket.as_raw_fd(),
            &mut self.recv_headers,
            slices.iter_mut(),
            // Block for the first datagram only; then take what is there.
            MsgFlags::MSG_WAITFORONE,
            None,
        )
        .map_err(io::Error::from)?;
        for r in results {
            if let Some(source) = r.address.as_ref().and_then(to_std) {
                self.received.push((r.bytes, source));
            } else {
                // Keep positions aligned with the buffers.
                self.received.push((0, SocketAddr::from(([0, 0, 0, 0], 0))));
            }
        }
        Ok(self.received.len())
    }

    pub fn datagram(&self, i: usize) -> (SocketAddr, &[u8]) {
        let (n, source) = self.received[i];
        (source, &self.buffers[i][..n.min(self.buffers[i].len())])
    }

    /// Sends every transmit; returns how many failed.
    pub fn send(&mut self, socket: &UdpSocket, transmits: &[Transmit]) -> usize {
        let mut failed = 0;
        let mut at = 0;
        while at < transmits.len() {
            if !self.batched {
                failed += usize::from(send_one(socket, &transmits[at]).is_err());
                at += 1;
                continue;
            }
            let chunk = &transmits[at..transmits.len().min(at + BATCH)];
            // On the stack: no allocation per call.
            let mut slices = [[IoSlice::new(&[])]; BATCH];
            let mut addresses = [None::<SockaddrStorage>; BATCH];
            for (i, t) in chunk.iter().enumerate() {
                slices[i] = [IoSlice::new(&t.contents)];
                addresses[i] = Some(SockaddrStorage::from(t.destination));
            }
            let none: [ControlMessage<'_>; 0] = [];
            match sendmmsg(
                socket.as_raw_fd(),
                &mut self.send_headers,
                &slices[..chunk.len()],
                &addresses[..chunk.len()],
                none,
                MsgFlags::empty(),
            ) {
                Ok(results) => {
                    let sent = results.count();
                    if sent == 0 {
                        failed += usize::from(send_one(socket, &transmits[at]).is_err());
                        at += 1;
                    } else {
                        at += sent;
                    }
                }
                // One bad destination (a vanished peer's ICMP error, say): send it alone and go on.
                Err(Errno::EINTR) => {}
                Err(_) => {
                    failed += usize::from(send_one(socket, &transmits[at]).is_err());
                    at += 1;
                }
            }
        }
        failed
    }
}

fn send_one(socket: &UdpSocket, t: &Transmit) -> io::Result<usize> {
    socket.send_to(&t.contents, t.destination)
}

fn to_std(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::from((v4.ip(), v4.port())));
    }
    if let Some(v6) = a.as_sockaddr_in6() {
        return Some(SocketAddr::from((v6.ip(), v6.port())));
    }
    let _ = a.family();
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pair() -> (UdpSocket, UdpSocket) {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        b.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        (a, b)
    }

    #[test]
    fn a_batch_goes_out_in_one_call_and_comes_in_in_one_call() {
        for batched in [true, false] {
            let (a, b) = pair();
            let to = b.local_addr().unwrap();
            let transmits: Vec<Transmit> = (0..40u8)
                .map(|i| Transmit {
                    transport: sluss_relay::Transport::Udp,
                    destination: to,
                    contents: vec![i; 100 + i as usize],
                })
                .collect();
            let mut out = Batch::new(batched, 2048);
            assert_eq!(out.send(&a, &transmits), 0);
            let mut into = Batch::new(batched, 2048);
            let mut got = Vec::new();
            while got.len() < 40 {
                let n = into.recv(&b).unwrap();
                for i in 0..n {
                    let (from, data) = into.datagram(i);
                    assert_eq!(from, a.local_addr().unwrap());
                    got.push(data.to_vec());
                }
                if !batched {
                    assert_eq!(n, 1);
                }
            }
            for (i, d) in got.iter().enumerate() {
                assert_eq!(d.len(), 100 + i);
                assert!(d.iter().all(|&x| x == i as u8));
            }
        }
    }

    #[test]
    fn a_dead_destination_does_not_stop_the_rest() {
        let (a, b) = pair();
        let dead = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let to = b.local_addr().unwrap();
        let transmits = vec![
            Transmit {
                transport: sluss_relay::Transport::Udp,
                destination: to,
                contents: vec![1],
            },
            Transmit {
                transport: sluss_relay::Transport::Udp,
                destination: dead,
                contents: vec![2],
            },
            Transmit {
                transport: sluss_relay::Transport::Udp,
                destination: to,
                contents: vec![3],
            },
        ];
        let mut out = Batch::new(true, 2048);
        out.send(&a, &transmits);
        out.send(&a, &transmits);
        let mut into = Batch::new(true, 2048);
        let mut got = 0;
        while got < 4 {
            got += into.recv(&b).unwrap();
        }
    }
}

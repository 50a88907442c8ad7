//! The null relay: plain UDP fan-out without ICE, DTLS or SRTP, one thread. It is the floor
//! the real relay is measured against: the cost of receiving a datagram and sending it on.
//! A participant registers with `J`, its meeting (u32) and its index (u32); every other
//! datagram from it goes to everyone else in its meeting, except the lower simulcast layers of
//! video: like an SFU, it receives every layer and forwards one (the top).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};

pub fn serve(listen: SocketAddr) -> std::io::Result<()> {
    let socket = UdpSocket::bind(listen)?;
    println!("null relay on {}", socket.local_addr()?);
    let mut meeting_of: HashMap<SocketAddr, u32> = HashMap::new();
    let mut members: HashMap<u32, Vec<SocketAddr>> = HashMap::new();
    let mut buf = vec![0u8; 2048];
    loop {
        let (n, from) = socket.recv_from(&mut buf)?;
        if n == 9 && buf[0] == b'J' {
            let meeting = u32::from_be_bytes(buf[1..5].try_into().expect("4 bytes"));
            if meeting_of.insert(from, meeting).is_none() {
                members.entry(meeting).or_default().push(from);
            }
            continue;
        }
        let Some(meeting) = meeting_of.get(&from) else {
            continue;
        };
        let layer_at = 12 + crate::video::LAYER_AT;
        if n > layer_at && buf[1] == 96 && buf[layer_at] != 2 {
            continue;
        }
        for to in members.get(meeting).into_iter().flatten() {
            if *to != from {
                let _ = socket.send_to(&buf[..n], to);
            }
        }
    }
}

//! The relay as the network and the browsers reach it: datagrams on the media port (and frames
//! on ICE-TCP), RTP from a connected publisher, and SDP and candidates through signaling.

use std::net::SocketAddr;
use std::time::Duration;

use sluss_relay::{PeerId, RouterId};
use str0m::change::SdpOffer;
use str0m::format::Codec;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid};
use str0m::rtp::{ExtensionValues, RtpWrite, SeqNo};

use crate::input::Bytes;
use crate::world::{Client, World, STRANGER};

/// Sixteen bytes (the length of the relay's ICE username fragments) that stand for the peer's
/// real fragment in a fuzzed datagram, so that a binding request from a stranger can name it.
const UFRAG_PLACEHOLDER: &[u8; 16] = b"@@ufrag-relay@@@";

/// Datagrams on the media port, to a relay with one peer.
///
/// The first byte sets the stage: the peer only added (nothing validated), its address
/// validated by ICE but no DTLS yet (a stranger's ClientHello, STUN from the peer), or fully
/// connected. Then each datagram: a byte saying whether it comes from the peer's address or a
/// stranger's, over UDP or ICE-TCP, and whether the clock moves after it; then its length and
/// bytes. The relay never sends anything to the stranger and never loses the peer.
pub fn relay_datagram(data: &[u8]) {
    let mut b = Bytes::new(data);
    let stage = b.u8() % 3;
    let mut w = World::new();
    let idx = w.join(false);
    match stage {
        0 => w.pump(true),
        1 => w.validate(),
        _ => w.connect(),
    }
    let ufrag = local_ufrag(&w, idx);
    let stranger: SocketAddr = STRANGER.parse().expect("an address");
    let peer = w.clients[idx].addr;
    let mut count = 0;
    while !b.is_empty() && count < 64 {
        count += 1;
        let how = b.u8();
        let mut datagram = b.slice(2000).to_vec();
        if let Some(ufrag) = &ufrag {
            replace_all(&mut datagram, UFRAG_PLACEHOLDER, ufrag.as_bytes());
        }
        let source = if how & 1 == 0 { stranger } else { peer };
        let now = w.now;
        if how & 2 == 0 {
            w.relay.handle_receive(now, source, &datagram);
        } else {
            w.relay.handle_receive_tcp(now, source, &datagram);
        }
        if how & 4 != 0 {
            w.advance(Duration::from_millis(u64::from(how >> 3) * 10), stage < 2);
        } else {
            w.pump(stage < 2);
        }
    }
    w.advance(Duration::from_millis(100), stage < 2);
    assert_eq!(
        w.relay.peer_count(),
        1,
        "a datagram cost the peer its place"
    );
}

/// The relay's ICE username fragment for client `idx`, read from the answer it gave.
fn local_ufrag(w: &World, idx: usize) -> Option<String> {
    w.clients[idx]
        .relay_answer
        .lines()
        .find_map(|l| l.trim().strip_prefix("a=ice-ufrag:"))
        .map(str::to_owned)
}

fn replace_all(data: &mut [u8], from: &[u8; 16], to: &[u8]) {
    if to.len() != from.len() {
        return;
    }
    let mut i = 0;
    while i + from.len() <= data.len() {
        if &data[i..i + from.len()] == from {
            data[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
}

/// RTP as a connected publisher's browser sends it, through the relay to a subscriber.
///
/// The first byte chooses a simulcast or a single-layer camera. Then packets: which stream
/// (audio, or a video layer), how the sequence number and timestamp move, the marker, the
/// audio level, and the payload (a VP8 descriptor and frame for the relay's simulcast code
/// to read); now and then the clock moves, or the subscriber asks for a keyframe. Everything
/// travels encrypted through real str0m transports, as from a browser.
pub fn relay_rtp(data: &[u8]) {
    run_rtp(data);
}

fn run_rtp(data: &[u8]) -> World {
    let mut b = Bytes::new(data);
    let simulcast = b.bool();
    let mut w = World::new();
    let publisher = w.join(simulcast);
    let subscriber = w.join(false);
    w.connect();
    let mut seq = [1000u64; 4];
    let mut ts = [5000u32; 4];
    let mut count = 0;
    while !b.is_empty() && count < 200 {
        count += 1;
        let op = b.u8();
        match op % 8 {
            0..=4 => send_rtp(&mut w, publisher, &mut b, op, &mut seq, &mut ts),
            5 => {
                let step = u64::from(b.u8());
                w.advance(Duration::from_millis(step * 5), false);
            }
            6 => {
                let c = &mut w.clients[subscriber];
                let kind = if op & 8 == 0 {
                    KeyframeRequestKind::Pli
                } else {
                    KeyframeRequestKind::Fir
                };
                // The relay numbers the m-lines it adds after the client's own.
                let mid = Mid::from(["2", "3", "4", "5"][usize::from(op >> 4) % 4]);
                if let Some(rx) = c.rtc.direct_api().stream_rx_by_mid(mid, None) {
                    rx.request_keyframe(kind);
                }
                w.pump(false);
            }
            _ => w.pump(false),
        }
    }
    w.advance(Duration::from_millis(600), false);
    assert_eq!(w.relay.peer_count(), 2);
    w
}

fn send_rtp(
    w: &mut World,
    idx: usize,
    b: &mut Bytes,
    op: u8,
    seq: &mut [u64; 4],
    ts: &mut [u32; 4],
) {
    let now = w.now;
    let c = &mut w.clients[idx];
    // Stream 0 is the microphone, 1-3 the camera (its layers, when simulcast).
    let stream = usize::from(op % 8).min(3);
    let (mid, rid, codec) = match stream {
        0 => (c.audio, None, Codec::Opus),
        n if c.simulcast => (c.video, Some(Client::rid(n - 1)), Codec::Vp8),
        _ => (c.video, None, Codec::Vp8),
    };
    let Some(pt) = c.pt(codec) else {
        return;
    };
    // Mostly in order, sometimes a jump back or forward.
    let step = b.u8();
    seq[stream] = match step {
        0..=199 => seq[stream] + 1,
        200..=229 => seq[stream].saturating_sub(u64::from(step - 199)),
        _ => seq[stream] + u64::from(step) * 7,
    };
    ts[stream] = ts[stream].wrapping_add(u32::from(b.u16()));
    let flags = b.u8();
    let payload = b.slice(1200).to_vec();
    let ext = ExtensionValues {
        audio_level: (flags & 2 != 0).then_some(-((flags >> 2) as i8 & 0x3f)),
        voice_activity: Some(flags & 0x80 != 0),
        ..Default::default()
    };
    let mut api = c.rtc.direct_api();
    let Some(tx) = api.stream_tx_by_mid(mid, rid) else {
        return;
    };
    tx.write_rtp(
        RtpWrite::new(pt, SeqNo::from(seq[stream]), ts[stream], now, payload)
            .marker(flags & 1 != 0)
            .nackable(stream > 0)
            .ext_vals(ext),
    );
    w.pump(false);
}

/// SDP and ICE candidates as signaling hands them to the relay.
///
/// The first byte picks the door (its top bit: a simulcast client where there is one):
/// 0. a new peer's offer (`add_peer`);
/// 1. a renegotiation offer from a peer already there (`handle_offer`);
/// 2. a trickled candidate (`add_remote_candidate`);
/// 3. the answer to an offer the relay made (`handle_answer`: a publisher is connected and
///    live, and a newcomer is offered its tracks);
/// 4. and 5. as 1 and 3, but the text is a list of edits to what the real client would send
///    (the relay's SDP carries random ids that a fuzzer could not guess).
pub fn relay_sdp(data: &[u8]) {
    let Some((&door, rest)) = data.split_first() else {
        return;
    };
    let simulcast = door & 0x80 != 0;
    let mut w = World::new();
    let relay_addr = w.relay_addr;
    match door % 6 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            let now = w.now;
            if w.relay
                .add_peer(now, RouterId(1), PeerId(9), "p9", relay_addr, &text, &[])
                .is_ok()
            {
                w.relay.remove_peer(now, PeerId(9));
            }
        }
        2 => {
            let idx = w.join(false);
            let peer = w.clients[idx].peer;
            let _ = w
                .relay
                .add_remote_candidate(peer, &String::from_utf8_lossy(rest));
            w.advance(Duration::from_millis(20), true);
        }
        1 | 4 => {
            let idx = w.join(simulcast);
            let text = if door % 6 == 1 {
                String::from_utf8_lossy(rest).into_owned()
            } else {
                edit(&renegotiation_offer(&mut w.clients[idx]), rest)
            };
            let (peer, now) = (w.clients[idx].peer, w.now);
            let _ = w.relay.handle_offer(now, peer, &text, &[]);
            w.advance(Duration::from_millis(20), true);
        }
        _ => {
            let publisher = w.join(simulcast);
            w.connect();
            live(&mut w, publisher);
            w.answer_offers = false;
            let newcomer = w.join(false);
            w.pump(true);
            let peer = w.clients[newcomer].peer;
            let text = if door % 6 == 3 {
                String::from_utf8_lossy(rest).into_owned()
            } else {
                let offer = w.offers.iter().find(|(p, _)| *p == peer);
                let offer = offer.and_then(|(_, sdp)| SdpOffer::from_sdp_string(sdp).ok());
                let client = &mut w.clients[newcomer];
                let answer = offer.and_then(|o| client.rtc.sdp_api().accept_offer(o).ok());
                edit(&answer.map(|a| a.to_sdp_string()).unwrap_or_default(), rest)
            };
            let now = w.now;
            let _ = w.relay.handle_answer(now, peer, &text);
            w.advance(Duration::from_millis(20), true);
        }
    }
}

/// The client's next offer: its m-lines again, and one more video (a screen).
fn renegotiation_offer(c: &mut Client) -> String {
    let mut api = c.rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    api.apply()
        .map(|(offer, _)| offer.to_sdp_string())
        .unwrap_or_default()
}

/// Applies edits to `text`: each is a position (two bytes, modulo the length), how many
/// bytes to remove there (one byte, at most 63), and the bytes to put in their place.
fn edit(text: &str, edits: &[u8]) -> String {
    let mut out = text.as_bytes().to_vec();
    let mut b = Bytes::new(edits);
    let mut n = 0;
    while !b.is_empty() && n < 32 {
        n += 1;
        let at = usize::from(b.u16()) % (out.len() + 1);
        let remove = usize::from(b.u8() & 0x3f).min(out.len() - at);
        let insert = b.slice(256);
        out.splice(at..at + remove, insert.iter().copied());
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The publisher's camera sends a packet, so that the relay counts it as live.
fn live(w: &mut World, idx: usize) {
    let now = w.now;
    let c = &mut w.clients[idx];
    let Some(pt) = c.pt(Codec::Vp8) else {
        return;
    };
    let rid = c.simulcast.then(|| Client::rid(0));
    let payload = vec![
        0x90, 0xe0, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a,
    ];
    let mut api = c.rtc.direct_api();
    if let Some(tx) = api.stream_tx_by_mid(c.video, rid) {
        tx.write_rtp(RtpWrite::new(pt, SeqNo::from(1), 1, now, payload).marker(true));
    }
    w.advance(Duration::from_millis(20), false);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rtp_target_reaches_the_subscriber_through_the_relay() {
        // The seeds are a publisher's keyframes and frames: they must be forwarded, or the
        // target would only be fuzzing str0m's sender.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/relay_rtp");
        for seed in ["seed-single-layer", "seed-simulcast"] {
            let w = run_rtp(&std::fs::read(dir.join(seed)).expect("a seed"));
            assert!(w.clients[1].received > 0, "nothing was forwarded");
        }
    }

    #[test]
    fn edits_splice_bytes_in_at_any_position() {
        assert_eq!(edit("abcdef", &[0, 2, 1, 0, 2, b'X', b'Y']), "abXYdef");
        assert_eq!(edit("ab", &[0, 1, 0x3f]), "a");
        assert_eq!(edit("", &[0, 9, 9, 0, 1, b'z']), "z");
    }
}

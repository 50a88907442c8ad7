//! A deterministic test world: real str0m clients (full ICE, DTLS, SRTP) exchanging datagrams
//! with a `Relay` through an in-memory network and a virtual clock.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sluss_relay::{PeerId, Relay, RelayConfig, RelayEvent, RouterId, Source};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::rtp::{RtpWrite, SeqNo};
use str0m::{Candidate, Event, Input, Output, Rtc};

pub const RELAY_ADDR: &str = "127.0.0.1:40000";

/// The second payload byte of what the test clients send: which track it came from.
pub const AUDIO: u8 = 0;
pub const VIDEO: u8 = 1;
pub const SCREEN: u8 = 2;

/// What a client received: from which of its m-lines, and the payload.
#[derive(Debug, Clone)]
pub struct Received {
    pub mid: Mid,
    pub payload: Vec<u8>,
    /// Extended sequence number and RTP timestamp as the relay wrote them.
    pub seq: u64,
    pub timestamp: u32,
}

/// The simulcast encodings a test publisher sends, lowest first, and their picture heights.
pub const RIDS: [&str; 3] = ["q", "h", "f"];
pub const LAYER_HEIGHTS: [u16; 3] = [90, 180, 360];
/// Temporal layers of consecutive pictures, as VP8 encoders with three of them send them.
pub const TEMPORAL_PATTERN: [u8; 4] = [0, 2, 1, 2];
/// The second-to-last payload byte of a simulcast packet: `LAYER_TAG + layer`.
pub const LAYER_TAG: u8 = 10;

pub struct Client {
    pub rtc: Rtc,
    pub addr: SocketAddr,
    pub peer: PeerId,
    /// The relay's ICE username fragment for this client (from its answer).
    pub relay_ufrag: String,
    pub audio: Mid,
    pub video: Mid,
    /// A second video m-line, the screen, when the client was made with one.
    pub screen: Option<Mid>,
    pub pending: Option<SdpPendingOffer>,
    pub received: Vec<Received>,
    pub keyframe_requests: usize,
    pub connected: bool,
    /// Datagrams to and from this client are dropped while set (a network outage).
    pub offline: bool,
    /// Drop every n-th datagram the relay sends to this client (loss on its downlink).
    pub drop_every: Option<usize>,
    pub downlink_count: usize,
    /// A downlink this many bits per second wide: what exceeds it is dropped (a policer
    /// with a bucket of one full packet).
    pub downlink_bps: Option<u64>,
    downlink_tokens: f64,
    downlink_refilled: Option<Instant>,
    /// Drop every n-th datagram this client sends to the relay (loss on its uplink).
    pub uplink_drop_every: Option<usize>,
    pub uplink_count: usize,
    /// Which publisher label each receiving mid carries (from the relay's offers).
    pub tracks: HashMap<String, String>,
    /// How many temporal layers its simulcast layers are in: 3 as Chromium sends them (L1T3),
    /// 2 as Firefox does (it ignores the pages' L1T3), 1 for TID 0 on every picture, 0 for a
    /// descriptor without TID or TL0PICIDX.
    pub temporal_layers: u8,
    seq: [u64; 2],
    /// Per simulcast layer: sequence number, picture id and TL0PICIDX last sent.
    layer_seq: [u64; 3],
    layer_picture_id: [u16; 3],
    layer_tl0: [u8; 3],
}

pub struct World {
    pub relay: Relay,
    pub relay_addr: SocketAddr,
    pub clients: Vec<Client>,
    pub now: Instant,
    pub events: Vec<RelayEvent>,
    /// Datagrams the relay sent, by destination.
    pub sent_to: HashMap<SocketAddr, usize>,
    /// Every datagram the clients sent the relay, with its source, while set.
    pub uplink_log: Option<Vec<(SocketAddr, Vec<u8>)>>,
    /// Clients that join now declare nothing about their m-lines (an old or forged page).
    pub undeclared: bool,
}

/// The policer's bucket: a burst of this many bytes passes at once.
const DOWNLINK_BUCKET: f64 = 1_500.0;

impl Client {
    /// Whether a datagram of `len` bytes fits the downlink now (always, without a cap).
    fn police(&mut self, now: Instant, len: usize) -> bool {
        let Some(bps) = self.downlink_bps else {
            return true;
        };
        let since = self.downlink_refilled.map_or(Duration::ZERO, |t| now - t);
        self.downlink_refilled = Some(now);
        self.downlink_tokens =
            (self.downlink_tokens + since.as_secs_f64() * bps as f64 / 8.0).min(DOWNLINK_BUCKET);
        if self.downlink_tokens < len as f64 {
            return false;
        }
        self.downlink_tokens -= len as f64;
        true
    }
}

impl World {
    pub fn new() -> World {
        World::with_config(RelayConfig::default())
    }

    pub fn with_config(config: RelayConfig) -> World {
        if let Ok(filter) = std::env::var("RUST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        World {
            relay: Relay::new(config),
            relay_addr: RELAY_ADDR.parse().unwrap(),
            clients: Vec::new(),
            now: Instant::now(),
            events: Vec::new(),
            sent_to: HashMap::new(),
            uplink_log: None,
            undeclared: false,
        }
    }

    /// A client that publishes audio and video joins `router`; returns its index.
    pub fn join(&mut self, router: u64) -> usize {
        self.join_with(router, false)
    }

    /// `n` clients that publish audio and video join `router`.
    pub fn join_many(&mut self, router: u64, n: usize) {
        for _ in 0..n {
            self.join(router);
        }
    }

    /// Like `join`, with a third m-line for a screen.
    pub fn join_with(&mut self, router: u64, with_screen: bool) -> usize {
        self.join_full(router, with_screen, false)
    }

    /// A client whose camera is sent in three simulcast layers (`RIDS`).
    pub fn join_simulcast(&mut self, router: u64) -> usize {
        self.join_full(router, false, true)
    }

    fn join_full(&mut self, router: u64, with_screen: bool, simulcast: bool) -> usize {
        let idx = self.clients.len();
        let addr: SocketAddr = format!("127.0.0.{}:{}", 2 + idx / 200, 5000 + idx)
            .parse()
            .unwrap();
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(self.now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut api = rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let layers = simulcast.then(|| {
            let mut s = str0m::media::Simulcast::new();
            for rid in RIDS {
                s.add_send_layer(str0m::media::SimulcastLayer::new(rid));
            }
            s
        });
        let video = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, layers);
        let screen = with_screen
            .then(|| api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None));
        let (offer, pending) = api.apply().unwrap();
        let peer = PeerId(idx as u64 + 1);
        // The client says what each m-line carries, as the page does.
        let mut sources = vec![
            (audio.to_string(), Source::Microphone),
            (video.to_string(), Source::Camera),
        ];
        if let Some(screen) = screen {
            sources.push((screen.to_string(), Source::Screen));
        }
        if self.undeclared {
            sources.clear();
        }
        let answer = self
            .relay
            .add_peer(
                self.now,
                RouterId(router),
                peer,
                &format!("p{idx}"),
                self.relay_addr,
                &offer.to_sdp_string(),
                &sources,
            )
            .expect("relay accepts the offer");
        let relay_ufrag = answer
            .lines()
            .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
            .expect("the answer has ICE credentials")
            .trim()
            .to_owned();
        rtc.sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .expect("client accepts the answer");
        self.clients.push(Client {
            rtc,
            addr,
            peer,
            relay_ufrag,
            audio,
            video,
            screen,
            pending: None,
            received: Vec::new(),
            keyframe_requests: 0,
            connected: false,
            offline: false,
            drop_every: None,
            downlink_count: 0,
            downlink_bps: None,
            downlink_tokens: DOWNLINK_BUCKET,
            downlink_refilled: None,
            uplink_drop_every: None,
            uplink_count: 0,
            tracks: HashMap::new(),
            temporal_layers: 3,
            seq: [0, 0],
            layer_seq: [0; 3],
            layer_picture_id: [100, 5000, 20000],
            layer_tl0: [0, 50, 100],
        });
        self.pump();
        idx
    }

    /// Moves every datagram and event until nothing is left to move (bounded).
    pub fn pump(&mut self) {
        let mut to_relay: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(t) = self.relay.poll_transmit() {
                moved = true;
                *self.sent_to.entry(t.destination).or_default() += 1;
                let Some(i) = self.clients.iter().position(|c| c.addr == t.destination) else {
                    continue;
                };
                let c = &mut self.clients[i];
                if c.offline {
                    continue;
                }
                c.downlink_count += 1;
                if c.drop_every
                    .is_some_and(|n| c.downlink_count.is_multiple_of(n))
                {
                    continue;
                }
                if !c.police(self.now, t.contents.len()) {
                    continue;
                }
                let input = Input::Receive(
                    self.now,
                    Receive {
                        proto: Protocol::Udp,
                        source: self.relay_addr,
                        destination: c.addr,
                        contents: DatagramRecv::try_from(t.contents.as_slice()).unwrap(),
                    },
                );
                let _ = c.rtc.handle_input(input);
                // str0m holds one received packet at a time: drain after every input.
                drain(c, &mut to_relay);
            }
            while let Some(e) = self.relay.poll_event() {
                moved = true;
                if let RelayEvent::Offer { peer, sdp, tracks } = &e {
                    let c = self.clients.iter_mut().find(|c| c.peer == *peer).unwrap();
                    for t in tracks {
                        c.tracks.insert(t.mid.clone(), t.label.clone());
                    }
                    let answer = c
                        .rtc
                        .sdp_api()
                        .accept_offer(SdpOffer::from_sdp_string(sdp).unwrap())
                        .unwrap();
                    drain(c, &mut to_relay);
                    self.relay
                        .handle_answer(self.now, *peer, &answer.to_sdp_string())
                        .expect("relay accepts the answer");
                }
                self.events.push(e);
            }
            for c in &mut self.clients {
                drain(c, &mut to_relay);
            }
            for (src, data) in to_relay.drain(..) {
                moved = true;
                if let Some(log) = &mut self.uplink_log {
                    log.push((src, data.clone()));
                }
                self.relay.handle_receive(self.now, src, &data);
            }
            if !moved {
                return;
            }
        }
    }

    /// Advances the clock in steps, driving every timer.
    pub fn advance(&mut self, by: Duration, step: Duration) {
        let end = self.now + by;
        while self.now < end {
            self.now += step;
            self.relay.handle_timeout(self.now);
            for c in &mut self.clients {
                let _ = c.rtc.handle_input(Input::Timeout(self.now));
            }
            self.pump();
        }
    }

    /// Runs until every client is connected and all offers are answered.
    pub fn settle(&mut self) {
        for _ in 0..500 {
            self.advance(Duration::from_millis(10), Duration::from_millis(10));
            if self.clients.iter().all(|c| c.connected) {
                break;
            }
        }
        self.advance(Duration::from_millis(200), Duration::from_millis(10));
    }

    /// Client `idx` sends one RTP packet on its audio or video m-line, payload tagged
    /// `[idx, kind, counter]`.
    pub fn send(&mut self, idx: usize, kind: MediaKind, size: usize) {
        let now = self.now;
        let c = &mut self.clients[idx];
        let (mid, codec, k) = match kind {
            MediaKind::Audio => (c.audio, Codec::Opus, 0),
            MediaKind::Video => (c.video, Codec::Vp8, 1),
        };
        let pt = payload_type(&c.rtc, codec);
        c.seq[k] += 1;
        let seq = c.seq[k];
        let mut payload = vec![0u8; size.max(4)];
        payload[0] = idx as u8;
        payload[1] = k as u8;
        payload[2..4].copy_from_slice(&(seq as u16).to_be_bytes());
        let mut api = c.rtc.direct_api();
        let tx = api.stream_tx_by_mid(mid, None).expect("send stream");
        tx.write_rtp(
            RtpWrite::new(pt, SeqNo::from(seq), (seq * 960) as u32, now, payload)
                .marker(true)
                .nackable(k == 1),
        );
    }

    /// Client `idx` sends one frame (one packet) on a simulcast layer: a VP8 payload with a
    /// 15-bit picture id, and TL0PICIDX and a temporal layer as its `temporal_layers` say (with
    /// three, in the order browsers use: `TEMPORAL_PATTERN`), a keyframe header with the
    /// layer's size when asked, and `[idx, LAYER_TAG + layer, counter]` at the end.
    pub fn send_layer(&mut self, idx: usize, layer: usize, keyframe: bool, size: usize) {
        let now = self.now;
        let c = &mut self.clients[idx];
        let pt = payload_type(&c.rtc, Codec::Vp8);
        c.layer_seq[layer] += 1;
        c.layer_picture_id[layer] = (c.layer_picture_id[layer] + 1) & 0x7fff;
        let seq = c.layer_seq[layer];
        let pid = c.layer_picture_id[layer];
        let step = (seq % 4) as usize;
        let tid = match c.temporal_layers {
            _ if keyframe => 0,
            0 | 1 => 0,
            2 => (seq % 2) as u8,
            _ => TEMPORAL_PATTERN[step],
        };
        if tid == 0 {
            c.layer_tl0[layer] = c.layer_tl0[layer].wrapping_add(1);
        }
        // The first T2 and T1 pictures after a T0 depend on it alone (layer sync); with two
        // temporal layers, every T1 picture.
        let sync = tid > 0 && (c.temporal_layers == 2 || step < 3);
        let mut payload = vec![0x90, 0xe0, 0x80 | (pid >> 8) as u8, pid as u8];
        if c.temporal_layers == 0 {
            payload[1] = 0x80;
        } else {
            payload
                .extend_from_slice(&[c.layer_tl0[layer], tid << 6 | if sync { 0x20 } else { 0 }]);
        }
        if keyframe {
            payload.extend_from_slice(&[0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a]);
            let h = LAYER_HEIGHTS[layer];
            payload.extend_from_slice(&(h * 16 / 9).to_le_bytes());
            payload.extend_from_slice(&h.to_le_bytes());
        } else {
            payload.extend_from_slice(&[0x01, 0x00, 0x00]);
        }
        payload.resize(size.max(payload.len() + 3) - 3, 0xaa);
        payload.extend_from_slice(&[idx as u8, LAYER_TAG + layer as u8, seq as u8]);
        let rid = str0m::media::Rid::from(RIDS[layer]);
        let mut api = c.rtc.direct_api();
        let tx = api
            .stream_tx_by_mid(c.video, Some(rid))
            .expect("layer stream");
        // Each layer has its own random timestamp origin, as in a browser.
        let ts = (seq as u32 * 3000).wrapping_add(layer as u32 * 1_000_000);
        tx.write_rtp(
            RtpWrite::new(
                pt,
                SeqNo::from(seq + layer as u64 * 10_000),
                ts,
                now,
                payload,
            )
            .marker(true)
            .nackable(true),
        );
    }

    /// The simulcast packets client `idx` received from client `from`: (layer, payload).
    pub fn layers_received(&self, idx: usize, from: usize) -> Vec<(u8, &Received)> {
        self.clients[idx]
            .received
            .iter()
            .filter_map(|r| {
                let n = r.payload.len();
                (n >= 3 && r.payload[n - 3] == from as u8 && r.payload[n - 2] >= LAYER_TAG)
                    .then(|| (r.payload[n - 2] - LAYER_TAG, r))
            })
            .collect()
    }

    /// Client `idx` sends one audio packet whose header says how loud it is (RFC 6464).
    pub fn send_audio_level(&mut self, idx: usize, level: i8) {
        let now = self.now;
        let c = &mut self.clients[idx];
        let pt = payload_type(&c.rtc, Codec::Opus);
        c.seq[0] += 1;
        let seq = c.seq[0];
        let mut api = c.rtc.direct_api();
        let tx = api.stream_tx_by_mid(c.audio, None).expect("send stream");
        let ext = str0m::rtp::ExtensionValues {
            audio_level: Some(level),
            voice_activity: Some(level > -50),
            ..Default::default()
        };
        tx.write_rtp(
            RtpWrite::new(
                pt,
                SeqNo::from(seq),
                (seq * 960) as u32,
                now,
                vec![idx as u8; 80],
            )
            .ext_vals(ext),
        );
    }

    /// Client `idx` sends one packet on its screen m-line, payload tagged `[idx, 2, counter]`.
    pub fn send_screen(&mut self, idx: usize, size: usize) {
        let now = self.now;
        let c = &mut self.clients[idx];
        let mid = c.screen.expect("a client with a screen");
        let pt = payload_type(&c.rtc, Codec::Vp8);
        c.seq[1] += 1;
        let seq = c.seq[1] + 100_000;
        let mut payload = vec![0u8; size.max(4)];
        payload[0] = idx as u8;
        payload[1] = 2;
        payload[2..4].copy_from_slice(&(seq as u16).to_be_bytes());
        let mut api = c.rtc.direct_api();
        let tx = api.stream_tx_by_mid(mid, None).expect("screen stream");
        tx.write_rtp(
            RtpWrite::new(
                pt,
                SeqNo::from(seq - 100_000),
                (seq * 3000) as u32,
                now,
                payload,
            )
            .marker(true),
        );
    }

    /// `count` encrypted video-sized datagrams from client `idx`, captured before the relay
    /// sees them (for feeding the relay directly in benchmarks and counting tests).
    pub fn captured_video(&mut self, idx: usize, count: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            self.send(idx, MediaKind::Video, 1100);
            let now = self.now;
            let c = &mut self.clients[idx];
            // The client's pacer releases the packet once its clock moves on.
            for _ in 0..20 {
                match c.rtc.poll_output() {
                    Ok(Output::Transmit(t)) => {
                        if t.contents.first().is_some_and(|b| (128..192).contains(b))
                            && t.contents.len() > 1000
                        {
                            out.push(t.contents.to_vec());
                        }
                    }
                    Ok(Output::Timeout(t)) if t <= now + Duration::from_millis(50) => {
                        let _ = c.rtc.handle_input(Input::Timeout(t.max(now)));
                    }
                    _ => break,
                }
            }
        }
        out
    }

    /// Packets client `idx` received from client `from` of one kind: `AUDIO`, `VIDEO`, `SCREEN`.
    pub fn received_of(&self, idx: usize, from: usize, kind: u8) -> usize {
        self.clients[idx]
            .received
            .iter()
            .filter(|r| r.payload[0] == from as u8 && r.payload[1] == kind)
            .count()
    }

    /// The sequence numbers (as sent) of the video client `idx` received from client `from`.
    pub fn video_seqs(&self, idx: usize, from: usize) -> std::collections::HashSet<u16> {
        self.clients[idx]
            .received
            .iter()
            .filter(|r| r.payload[0] == from as u8 && r.payload[1] == VIDEO)
            .map(|r| u16::from_be_bytes([r.payload[2], r.payload[3]]))
            .collect()
    }

    /// Payloads client `idx` received that were sent by client `from`.
    pub fn received_from(&self, idx: usize, from: usize) -> usize {
        self.clients[idx]
            .received
            .iter()
            .filter(|r| r.payload[0] == from as u8)
            .count()
    }
}

/// The payload type the client negotiated for a codec.
fn payload_type(rtc: &Rtc, codec: Codec) -> str0m::media::Pt {
    rtc.codec_config()
        .find(|p| p.spec().codec == codec)
        .expect("the codec was negotiated")
        .pt()
}

/// Everything a client has to say: datagrams for the relay, and what it received.
fn drain(c: &mut Client, to_relay: &mut Vec<(SocketAddr, Vec<u8>)>) {
    loop {
        match c.rtc.poll_output() {
            Ok(Output::Timeout(_)) | Err(_) => return,
            Ok(Output::Transmit(t)) => {
                c.uplink_count += 1;
                let lost = c
                    .uplink_drop_every
                    .is_some_and(|n| c.uplink_count.is_multiple_of(n));
                if !c.offline && !lost {
                    to_relay.push((c.addr, t.contents.to_vec()));
                }
            }
            Ok(Output::Event(e)) => match e {
                Event::Connected => c.connected = true,
                Event::RtpPacket(p) => {
                    let mid = c
                        .rtc
                        .direct_api()
                        .stream_rx(&p.header.ssrc)
                        .map(|s| s.mid());
                    if let Some(mid) = mid {
                        c.received.push(Received {
                            mid,
                            payload: p.payload.to_vec(),
                            seq: *p.seq_no,
                            timestamp: p.header.timestamp,
                        });
                    }
                }
                Event::KeyframeRequest(_) => c.keyframe_requests += 1,
                _ => {}
            },
        }
    }
}

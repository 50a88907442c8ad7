//! A small in-memory world for the relay targets: a `Relay` and real str0m clients (full ICE,
//! DTLS and SRTP) exchanging datagrams on a virtual clock, so that fuzzed input reaches the
//! relay the way a browser's would: from an address ICE validated, inside a live session.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sluss_relay::{PeerId, Relay, RelayConfig, RelayEvent, RouterId};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid, Simulcast, SimulcastLayer};
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

pub(crate) const RELAY_ADDR: &str = "127.0.0.1:40000";
/// An address the relay never validated.
pub(crate) const STRANGER: &str = "203.0.113.9:9999";
/// The simulcast encodings of a simulcast client, lowest first.
pub(crate) const RIDS: [&str; 3] = ["q", "h", "f"];

pub(crate) struct Client {
    pub(crate) rtc: Rtc,
    pub(crate) addr: SocketAddr,
    pub(crate) peer: PeerId,
    pub(crate) audio: Mid,
    pub(crate) video: Mid,
    pub(crate) simulcast: bool,
    pub(crate) connected: bool,
    /// The relay answered one of its binding requests: its address is validated.
    pub(crate) validated: bool,
    /// RTP packets it received (from the relay: forwarded).
    pub(crate) received: usize,
    /// The relay's answer to the client's first offer.
    pub(crate) relay_answer: String,
}

impl Client {
    /// A browser-like client at `addr` that sends audio and video; returns it with its offer.
    pub(crate) fn new(
        now: Instant,
        addr: SocketAddr,
        simulcast: bool,
    ) -> (Client, String, SdpPendingOffer) {
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("a host candidate"));
        let mut api = rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let layers = simulcast.then(|| {
            let mut s = Simulcast::new();
            for rid in RIDS {
                s.add_send_layer(SimulcastLayer::new(rid));
            }
            s
        });
        let video = api.add_media(MediaKind::Video, Direction::SendRecv, None, None, layers);
        let (offer, pending) = api.apply().expect("an offer");
        let client = Client {
            rtc,
            addr,
            peer: PeerId(0),
            audio,
            video,
            simulcast,
            connected: false,
            validated: false,
            relay_answer: String::new(),
            received: 0,
        };
        (client, offer.to_sdp_string(), pending)
    }

    /// The payload type the client negotiated for a codec.
    pub(crate) fn pt(&self, codec: Codec) -> Option<Pt> {
        self.rtc
            .codec_config()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
    }

    pub(crate) fn rid(layer: usize) -> Rid {
        Rid::from(RIDS[layer % RIDS.len()])
    }
}

pub(crate) struct World {
    pub(crate) relay: Relay,
    pub(crate) relay_addr: SocketAddr,
    pub(crate) clients: Vec<Client>,
    pub(crate) now: Instant,
    /// Offers the relay made that no client answered (see `answer_offers`).
    pub(crate) offers: Vec<(PeerId, String)>,
    /// Answer the relay's offers as they come (off when a target answers them itself).
    pub(crate) answer_offers: bool,
    /// Every datagram the clients sent the relay (kept only in tests, for the seeds).
    #[cfg(test)]
    pub(crate) sent_by_clients: Vec<Vec<u8>>,
}

impl World {
    pub(crate) fn new() -> World {
        World {
            relay: Relay::new(RelayConfig::default()),
            relay_addr: RELAY_ADDR.parse().expect("an address"),
            clients: Vec::new(),
            now: Instant::now(),
            offers: Vec::new(),
            answer_offers: true,
            #[cfg(test)]
            sent_by_clients: Vec::new(),
        }
    }

    /// A client joins router 1; returns its index.
    pub(crate) fn join(&mut self, simulcast: bool) -> usize {
        let idx = self.clients.len();
        let addr: SocketAddr = format!("127.0.0.2:{}", 5000 + idx)
            .parse()
            .expect("an address");
        let (mut client, offer, pending) = Client::new(self.now, addr, simulcast);
        let peer = PeerId(idx as u64 + 1);
        let answer = self
            .relay
            .add_peer(
                self.now,
                RouterId(1),
                peer,
                &format!("p{idx}"),
                self.relay_addr,
                &offer,
                &[],
            )
            .expect("the relay accepts a client's offer");
        client
            .rtc
            .sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).expect("SDP"))
            .expect("the client accepts the relay's answer");
        client.peer = peer;
        client.relay_answer = answer;
        self.clients.push(client);
        idx
    }

    /// Moves datagrams and offers until nothing moves (bounded). With `stun_only`, only STUN
    /// passes: ICE validates the addresses, and no DTLS handshake starts.
    pub(crate) fn pump(&mut self, stun_only: bool) {
        let stranger: SocketAddr = STRANGER.parse().expect("an address");
        for _ in 0..1000 {
            let mut moved = false;
            while let Some(t) = self.relay.poll_transmit() {
                moved = true;
                assert_ne!(
                    t.destination, stranger,
                    "the relay sent to an unvalidated address"
                );
                let is_stun = t.contents.first().is_some_and(|b| *b < 4);
                let Some(c) = self.clients.iter_mut().find(|c| c.addr == t.destination) else {
                    continue;
                };
                if t.contents.get(..2) == Some(&[0x01, 0x01][..]) {
                    c.validated = true;
                }
                if stun_only && !is_stun {
                    continue;
                }
                let Ok(contents) = DatagramRecv::try_from(t.contents.as_slice()) else {
                    continue;
                };
                let input = Input::Receive(
                    self.now,
                    Receive {
                        proto: Protocol::Udp,
                        source: self.relay_addr,
                        destination: c.addr,
                        contents,
                    },
                );
                let _ = c.rtc.handle_input(input);
                // str0m holds one received packet at a time: drain after every input.
                moved |= self.drain_client_to_relay(t.destination, stun_only);
            }
            while let Some(e) = self.relay.poll_event() {
                moved = true;
                if let RelayEvent::Offer { peer, sdp, .. } = e {
                    self.answer(peer, sdp);
                }
            }
            let addrs: Vec<SocketAddr> = self.clients.iter().map(|c| c.addr).collect();
            for addr in addrs {
                moved |= self.drain_client_to_relay(addr, stun_only);
            }
            if !moved {
                return;
            }
        }
    }

    fn answer(&mut self, peer: PeerId, sdp: String) {
        let client = self.clients.iter_mut().find(|c| c.peer == peer);
        let (Some(c), true) = (client, self.answer_offers) else {
            self.offers.push((peer, sdp));
            return;
        };
        let Ok(offer) = SdpOffer::from_sdp_string(&sdp) else {
            panic!("the relay made an offer that is not SDP");
        };
        let answer = c
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .expect("the client accepts the relay's offer");
        let _ = self
            .relay
            .handle_answer(self.now, peer, &answer.to_sdp_string());
    }

    /// Hands everything the client at `addr` wants to send to the relay.
    fn drain_client_to_relay(&mut self, addr: SocketAddr, stun_only: bool) -> bool {
        let mut moved = false;
        let mut out = Vec::new();
        if let Some(c) = self.clients.iter_mut().find(|c| c.addr == addr) {
            loop {
                match c.rtc.poll_output() {
                    Ok(Output::Timeout(_)) | Err(_) => break,
                    Ok(Output::Transmit(t)) => out.push(t.contents.to_vec()),
                    Ok(Output::Event(Event::Connected)) => c.connected = true,
                    Ok(Output::Event(Event::RtpPacket(_))) => c.received += 1,
                    Ok(Output::Event(_)) => {}
                }
            }
        }
        for data in out {
            if stun_only && data.first().is_none_or(|b| *b >= 4) {
                continue;
            }
            moved = true;
            self.relay.handle_receive(self.now, addr, &data);
            #[cfg(test)]
            self.sent_by_clients.push(data);
        }
        moved
    }

    /// Advances the clock by `step`, driving every timer.
    pub(crate) fn advance(&mut self, step: Duration, stun_only: bool) {
        self.now += step;
        self.relay.handle_timeout(self.now);
        for c in &mut self.clients {
            let _ = c.rtc.handle_input(Input::Timeout(self.now));
        }
        self.pump(stun_only);
    }

    /// Runs until every client is connected (DTLS and SRTP up), bounded.
    pub(crate) fn connect(&mut self) {
        for _ in 0..300 {
            self.advance(Duration::from_millis(10), false);
            if self.clients.iter().all(|c| c.connected) {
                break;
            }
        }
        assert!(
            self.clients.iter().all(|c| c.connected),
            "the clients did not connect"
        );
        self.advance(Duration::from_millis(50), false);
    }

    /// Runs ICE only, until the relay has validated every client's address (bounded).
    pub(crate) fn validate(&mut self) {
        for _ in 0..100 {
            self.advance(Duration::from_millis(10), true);
            if self.clients.iter().all(|c| c.validated) {
                return;
            }
        }
        panic!("ICE did not validate the clients");
    }
}

//! The relay: demultiplexing, the transports' run loop and forwarding between them.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::bwe::{Bitrate, BweKind};
use str0m::change::SdpOffer;
use str0m::config::CryptoProvider;
use str0m::format::{Codec, FormatParams};
use str0m::media::{Frequency, Pt};
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tracing::{debug, trace};

use crate::bounds::{self, RemoteCandidates, SdpBudget};
use crate::peer::{Peer, PendingAdd};
use crate::router::{ProducerId, Router};
use crate::stun::{self, Demux};
use crate::{PeerId, RelayError, RelayStats, RouterId, Source, TrackKind};

mod adapt;
mod direct;
mod forward;
mod negotiate;
mod produce;

pub use direct::{DirectMedia, DirectPacket, DIRECT_QUEUE};

/// Opus's payload type, as browsers number it.
const OPUS_PT: Pt = Pt::new_with_value(111);

/// A peer may publish this many tracks (microphone, camera, and room for a screen later).
const MAX_PRODUCERS_PER_PEER: usize = 4;

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Stop sending to a peer that has not renewed ICE consent for this long (RFC 7675).
    pub consent_timeout: Duration,
    /// At most one keyframe request per publisher track in this interval.
    pub keyframe_interval: Duration,
    /// Offer ICE over TCP (RFC 6544, framed per RFC 4571) on the same address as UDP, for
    /// networks that block UDP. The socket layer must then listen on that TCP port.
    pub ice_tcp: bool,
    /// ICE-TCP connections the socket layer holds at once, per worker; more are closed as
    /// they arrive.
    pub ice_tcp_max_connections: usize,
    /// ICE-TCP connections from one IPv4 address or IPv6 /64: one client cannot take the
    /// whole table.
    /// A browser holds one or two; the default leaves room for a clinic behind one NAT.
    pub ice_tcp_per_address: usize,
    /// Estimate each subscriber's downlink from its transport-wide congestion control feedback
    /// (TWCC), starting from this many bits per second; `None` turns estimation off and every
    /// subscriber gets the layers its tiles ask for.
    pub initial_bitrate: Option<u64>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            consent_timeout: Duration::from_secs(30),
            keyframe_interval: Duration::from_millis(250),
            ice_tcp: false,
            ice_tcp_max_connections: 2000,
            ice_tcp_per_address: 100,
            initial_bitrate: Some(1_000_000),
        }
    }
}

/// How often layer bitrates are measured and every subscriber's layers chosen again.
pub(crate) const ALLOCATION_INTERVAL: Duration = Duration::from_millis(500);

/// How a packet travels between a browser and the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    /// ICE over TCP: the socket layer frames it (RFC 4571) on the connection from `destination`.
    Tcp,
}

/// A datagram to send.
#[derive(Debug)]
pub struct Transmit {
    pub transport: Transport,
    pub destination: SocketAddr,
    pub contents: Vec<u8>,
}

/// A track in a server offer: which publisher's audio or video an m-line carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackDescription {
    pub mid: String,
    pub publisher: PeerId,
    /// The label the publisher was added with (its msid stream id).
    pub label: String,
    pub kind: TrackKind,
    /// The publisher's screen (its second video track) rather than its camera.
    pub screen: bool,
}

/// What the relay tells its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayEvent {
    /// Send this offer to the peer's browser and feed its answer to [`Relay::handle_answer`].
    Offer {
        peer: PeerId,
        sdp: String,
        tracks: Vec<TrackDescription>,
    },
    /// ICE and DTLS are up (again).
    Connected { peer: PeerId },
    /// ICE consent lapsed: nothing more is sent to the peer until it proves consent again.
    Disconnected { peer: PeerId },
    /// The transport is dead (DTLS failure, fingerprint mismatch): remove the peer.
    Closed { peer: PeerId },
    /// This peer is now the one speaking in its meeting (from the audio level extension).
    ActiveSpeaker { peer: PeerId },
    /// The camera of `publisher` (its label) is no longer sent to `peer`, or sent again: its
    /// downlink is too weak to carry it beside the voices and larger tiles.
    VideoOffForBandwidth {
        peer: PeerId,
        publisher: String,
        off: bool,
    },
}

pub struct Relay {
    config: RelayConfig,
    crypto: Arc<CryptoProvider>,
    peers: HashMap<PeerId, Peer>,
    /// Transports of in-process endpoints (the phone bridge), by the same ids as `peers`.
    directs: HashMap<PeerId, direct::DirectPeer>,
    routers: HashMap<RouterId, Router>,
    by_ufrag: HashMap<String, PeerId>,
    by_addr: HashMap<SocketAddr, PeerId>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<RelayEvent>,
    /// Peers written to since they were last polled.
    dirty: Vec<PeerId>,
    scratch: Vec<PeerId>,
    next_producer: u64,
    /// When layer rates were last measured and layers last chosen.
    pub(crate) last_allocation: Option<Instant>,
    pub(crate) stats: RelayStats,
}

impl Relay {
    pub fn new(config: RelayConfig) -> Relay {
        Relay {
            config,
            crypto: Arc::new(str0m::crypto::from_feature_flags()),
            peers: HashMap::new(),
            directs: HashMap::new(),
            routers: HashMap::new(),
            by_ufrag: HashMap::new(),
            by_addr: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            dirty: Vec::new(),
            scratch: Vec::new(),
            next_producer: 0,
            last_allocation: None,
            stats: RelayStats::default(),
        }
    }

    pub fn stats(&self) -> RelayStats {
        self.stats
    }

    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    pub fn router_count(&self) -> usize {
        self.routers.len()
    }

    /// Adds a participant's transport from its browser's offer and returns the answer.
    ///
    /// `label` is the public id the other browsers know the participant by; it becomes the
    /// msid stream id of its tracks. `local_addr` is the address announced as our candidate.
    // The offer and what its m-lines carry come together from one signaling message; the
    // rest says where the peer sits. A struct for them would only be unpacked here.
    #[allow(clippy::too_many_arguments)]
    pub fn add_peer(
        &mut self,
        now: Instant,
        router: RouterId,
        id: PeerId,
        label: &str,
        local_addr: SocketAddr,
        offer_sdp: &str,
        sources: &[(String, Source)],
    ) -> Result<String, RelayError> {
        if self.peers.contains_key(&id) || self.directs.contains_key(&id) {
            return Err(RelayError::DuplicatePeer);
        }
        let summary = bounds::check_sdp(offer_sdp, SdpBudget::for_session(0)).map_err(|bound| {
            self.stats.sdp_refused += 1;
            RelayError::TooLarge(bound)
        })?;
        let mut candidates = RemoteCandidates::default();
        candidates.accept_sdp(&summary);
        let offer =
            SdpOffer::from_sdp_string(offer_sdp).map_err(|e| RelayError::Sdp(e.to_string()))?;
        let mut config = Rtc::builder()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .clear_codecs();
        config.codec_config().add_config(
            OPUS_PT,
            None,
            Codec::Opus,
            Frequency::FORTY_EIGHT_KHZ,
            Some(2),
            FormatParams {
                min_p_time: Some(10),
                use_inband_fec: Some(true),
                // Browsers then send a muted or silent microphone as a packet every 400 ms
                // rather than 50 a second, each of which the relay would fan out.
                use_dtx: Some(true),
                ..FormatParams::default()
            },
        );
        let mut rtc = config
            .enable_vp8(true)
            .enable_bwe(self.config.initial_bitrate.map(Bitrate::bps))
            .set_crypto_provider(self.crypto.clone())
            .build(now);
        let candidate =
            Candidate::host(local_addr, "udp").map_err(|e| RelayError::Sdp(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        if self.config.ice_tcp {
            let tcp = Candidate::builder()
                .tcp()
                .host(local_addr)
                .tcptype(str0m::net::TcpType::Passive)
                .build()
                .map_err(|e| RelayError::Sdp(e.to_string()))?;
            rtc.add_local_candidate(tcp);
        }
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| RelayError::Sdp(e.to_string()))?;
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;

        // The newcomer receives every track already published in the meeting that carries
        // media (a camera or screen that never sent stays out of its offer).
        let to_add = self
            .routers
            .get(&router)
            .into_iter()
            .flat_map(|r| r.producers.iter())
            .filter(|p| p.live)
            .map(|p| PendingAdd {
                producer: p.id,
                publisher: p.peer,
                label: self.label_of(p.peer),
                kind: p.kind,
                screen: p.screen,
            })
            .collect();
        self.routers.entry(router).or_default().peers.push(id);
        self.by_ufrag.insert(ufrag.clone(), id);
        self.peers.insert(
            id,
            Peer {
                router,
                label: label.to_owned(),
                rtc,
                local_addr,
                ufrag,
                pending: None,
                consumers: Vec::new(),
                to_add,
                to_stop: Vec::new(),
                producers: 0,
                sources: Vec::new(),
                declared: Vec::new(),
                screen_allowed: false,
                audio_by_phone: false,
                hidden: Vec::new(),
                tiles: Vec::new(),
                estimate: self.config.initial_bitrate,
                bwe_wanted: (0, 0),
                probe_again: None,
                hold: Default::default(),
                candidates,
                relay_media: 0,
                stun_source: None,
                addresses: Vec::new(),
                last_consent: now,
                consent_lost: false,
                closed: false,
                next_timeout: None,
            },
        );
        if let Some(peer) = self.peers.get_mut(&id) {
            peer.declare(sources);
        }
        debug!(%id, "peer added");
        self.poll_peer(id, now);
        self.poll_dirty(now);
        Ok(answer.to_sdp_string())
    }

    /// The cameras this peer's page does not show right now; their video is paused toward it.
    /// A camera that becomes visible again is asked for a keyframe, so the tile resumes at once.
    pub fn set_hidden_videos(&mut self, now: Instant, id: PeerId, hidden: Vec<PeerId>) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let meeting = self.routers.get(&peer.router).map_or(&[][..], |r| &r.peers);
        let hidden = bounds::meeting_peers_only(hidden, meeting, |p| *p);
        let shown_again: Vec<PeerId> = peer
            .hidden
            .iter()
            .filter(|p| !hidden.contains(p))
            .copied()
            .collect();
        peer.hidden = hidden;
        let router = peer.router;
        let cameras: Vec<(ProducerId, u8)> = self
            .routers
            .get_mut(&router)
            .map(|r| {
                r.producers
                    .iter_mut()
                    .filter(|p| {
                        shown_again.contains(&p.peer) && p.kind == TrackKind::Video && !p.screen
                    })
                    .filter_map(|p| {
                        let (simulcast, producer) = (p.is_simulcast(), p.id);
                        let c = p.consumer_mut(id)?;
                        if simulcast {
                            // Resumes at a keyframe, numbered on from where it stopped.
                            c.switch.pause();
                        }
                        Some((producer, c.switch.target))
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (producer, layer) in cameras {
            self.request_keyframe(now, router, producer, layer);
        }
        self.allocate(now, id);
    }

    /// R11: whether this peer's screen track is forwarded. Turning it off stops a running
    /// share at the next packet; turning it on asks the sharer for a keyframe.
    /// R14: moves this participant's voice to a phone (`true`) or back to its browser. While
    /// it is on the phone, nothing from the browser's microphone is forwarded (nor counted for
    /// the active speaker) and no voice is sent to the browser, so that nothing said in the
    /// meeting comes out of the browser's speaker; its video goes on both ways.
    pub fn set_audio_by_phone(&mut self, id: PeerId, on: bool) {
        if let Some(peer) = self.peers.get_mut(&id) {
            peer.audio_by_phone = on;
        }
    }

    pub fn set_screen_sharing(&mut self, now: Instant, id: PeerId, allowed: bool) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        peer.screen_allowed = allowed;
        let router = peer.router;
        if allowed {
            let screens: Vec<ProducerId> = self
                .routers
                .get(&router)
                .map(|r| {
                    r.producers
                        .iter()
                        .filter(|p| p.peer == id && p.screen)
                        .map(|p| p.id)
                        .collect()
                })
                .unwrap_or_default();
            for producer in screens {
                if let Some(p) = self
                    .routers
                    .get_mut(&router)
                    .and_then(|r| r.producer_mut(producer))
                {
                    p.last_keyframe_request = None;
                }
                self.request_keyframe(now, router, producer, 0);
            }
            self.poll_dirty(now);
        }
    }

    /// Removes a peer: its tracks stop for everyone else (they get an offer that stops them).
    pub fn remove_peer(&mut self, now: Instant, id: PeerId) {
        let router_id = if let Some(mut peer) = self.peers.remove(&id) {
            peer.rtc.disconnect();
            self.by_ufrag.remove(&peer.ufrag);
            for addr in &peer.addresses {
                if self.by_addr.get(addr) == Some(&id) {
                    self.by_addr.remove(addr);
                }
            }
            peer.router
        } else if let Some(direct) = self.directs.remove(&id) {
            direct.router
        } else {
            return;
        };
        let Some(router) = self.routers.get_mut(&router_id) else {
            return;
        };
        router.peers.retain(|p| *p != id);
        router.speaker.forget(id);
        // Its own tracks: stop them at every subscriber.
        let mut gone = Vec::new();
        router.producers.retain(|p| {
            if p.peer == id {
                gone.push(p.id);
                false
            } else {
                true
            }
        });
        // What it consumed: forget those subscriptions.
        for p in &mut router.producers {
            p.consumers.retain(|c| c.peer != id);
        }
        let others = router.peers.clone();
        if router.peers.is_empty() {
            self.routers.remove(&router_id);
        }
        for other in others {
            if let Some(o) = self.peers.get_mut(&other) {
                for producer in &gone {
                    o.stop_consuming(*producer);
                }
                self.dirty.push(other);
            }
        }
        debug!(%id, "peer removed");
        self.poll_dirty(now);
    }

    /// A datagram arrived on the media socket.
    pub fn handle_receive(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) {
        self.receive(now, Transport::Udp, source, datagram);
    }

    /// A frame arrived on an ICE-TCP connection from `source` (its RFC 4571 length removed).
    pub fn handle_receive_tcp(&mut self, now: Instant, source: SocketAddr, frame: &[u8]) {
        self.receive(now, Transport::Tcp, source, frame);
    }

    fn receive(&mut self, now: Instant, transport: Transport, source: SocketAddr, datagram: &[u8]) {
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += datagram.len() as u64;
        let id = match stun::classify(datagram) {
            Demux::Stun => match stun::local_ufrag(datagram) {
                Some(ufrag) => match self.by_ufrag.get(ufrag) {
                    Some(id) => {
                        let id = *id;
                        if let Some(peer) = self.peers.get_mut(&id) {
                            peer.stun_source = Some(source);
                        }
                        id
                    }
                    None => {
                        self.stats.dropped_unknown_ufrag += 1;
                        return;
                    }
                },
                // Other STUN (responses, indications) only from validated addresses.
                None => match self.by_addr.get(&source) {
                    Some(id) => *id,
                    None => {
                        self.stats.dropped_unvalidated += 1;
                        return;
                    }
                },
            },
            Demux::Dtls | Demux::Rtp => match self.by_addr.get(&source) {
                Some(id) => *id,
                None => {
                    self.stats.dropped_unvalidated += 1;
                    return;
                }
            },
            Demux::Other => {
                self.stats.dropped_malformed += 1;
                return;
            }
        };
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let Ok(contents) = DatagramRecv::try_from(datagram) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: match transport {
                    Transport::Udp => Protocol::Udp,
                    Transport::Tcp => Protocol::Tcp,
                },
                source,
                destination: peer.local_addr,
                contents,
            },
        );
        if let Err(e) = peer.rtc.handle_input(input) {
            // Never fatal: a forged or broken datagram must not cost the peer its call.
            self.stats.rejected_by_transport += 1;
            trace!(%id, error = %e, "datagram refused by transport");
        }
        self.poll_peer(id, now);
        self.poll_dirty(now);
    }

    /// Drives time: retransmissions, RTCP reports, ICE consent.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = std::mem::take(&mut self.scratch);
        due.clear();
        for (id, peer) in &mut self.peers {
            if !peer.consent_lost
                && now.saturating_duration_since(peer.last_consent) >= self.config.consent_timeout
            {
                peer.consent_lost = true;
                self.stats.ice_failures += 1;
                for addr in peer.addresses.drain(..) {
                    if self.by_addr.get(&addr) == Some(id) {
                        self.by_addr.remove(&addr);
                    }
                }
                self.events
                    .push_back(RelayEvent::Disconnected { peer: *id });
                debug!(%id, "ICE consent expired");
            }
            if peer.next_timeout.is_none_or(|t| t <= now) {
                due.push(*id);
            }
        }
        for id in &due {
            if let Some(peer) = self.peers.get_mut(id) {
                if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
                    trace!(%id, error = %e, "timeout refused");
                }
            }
            self.poll_peer(*id, now);
        }
        self.scratch = due;
        self.allocation_tick(now);
        self.poll_dirty(now);
    }

    /// The next time [`Relay::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.peers
            .values()
            .flat_map(|p| {
                let consent =
                    (!p.consent_lost).then(|| p.last_consent + self.config.consent_timeout);
                [p.next_timeout, consent]
            })
            .flatten()
            .chain(self.next_allocation())
            .min()
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<RelayEvent> {
        self.events.pop_front()
    }

    fn poll_dirty(&mut self, now: Instant) {
        while let Some(id) = self.dirty.pop() {
            if let Some(peer) = self.peers.get_mut(&id) {
                // str0m releases a written packet only once the transport's clock has reached
                // it. This costs O(streams) per subscriber: the reason a 50-person meeting
                // costs more per forwarded packet than a 5-person one (see the benchmark).
                let _ = peer.rtc.handle_input(Input::Timeout(now));
            }
            self.poll_peer(id, now);
        }
    }

    /// Drains one transport until it only has a timeout left.
    fn poll_peer(&mut self, id: PeerId, now: Instant) {
        loop {
            let Some(peer) = self.peers.get_mut(&id) else {
                return;
            };
            if peer.closed {
                return;
            }
            if !peer.rtc.is_alive() {
                peer.closed = true;
                self.stats.dtls_failures += 1;
                self.events.push_back(RelayEvent::Closed { peer: id });
                return;
            }
            if let Some((sdp, tracks)) = peer.negotiate() {
                self.events.push_back(RelayEvent::Offer {
                    peer: id,
                    sdp,
                    tracks,
                });
            }
            let output = match peer.rtc.poll_output() {
                Ok(o) => o,
                Err(e) => {
                    debug!(%id, error = %e, "transport failed");
                    peer.rtc.disconnect();
                    continue;
                }
            };
            match output {
                Output::Timeout(t) => {
                    peer.next_timeout = Some(t);
                    return;
                }
                Output::Transmit(t) => {
                    let is_binding_success = t.contents.get(..2) == Some(&[0x01, 0x01][..]);
                    if is_binding_success && peer.stun_source == Some(t.destination) {
                        // The transport answered a binding request carrying its credentials:
                        // this address is validated, and consent is fresh.
                        peer.stun_source = None;
                        peer.last_consent = now;
                        if !peer.addresses.contains(&t.destination) {
                            peer.addresses.push(t.destination);
                        }
                        if let Some(old) = self.by_addr.insert(t.destination, id) {
                            if old != id {
                                if let Some(o) = self.peers.get_mut(&old) {
                                    o.addresses.retain(|a| *a != t.destination);
                                }
                            }
                        }
                        let Some(peer) = self.peers.get_mut(&id) else {
                            return;
                        };
                        if peer.consent_lost {
                            peer.consent_lost = false;
                            self.events.push_back(RelayEvent::Connected { peer: id });
                        }
                    } else if peer.consent_lost {
                        // RFC 7675: without consent, send nothing but answers to checks.
                        continue;
                    }
                    self.stats.datagrams_sent += 1;
                    self.stats.bytes_sent += t.contents.len() as u64;
                    self.transmits.push_back(Transmit {
                        transport: if t.proto == Protocol::Tcp {
                            Transport::Tcp
                        } else {
                            Transport::Udp
                        },
                        destination: t.destination,
                        contents: t.contents.into(),
                    });
                }
                Output::Event(event) => self.handle_event(now, id, event),
            }
        }
    }

    fn handle_event(&mut self, now: Instant, id: PeerId, event: Event) {
        match event {
            Event::RtpPacket(packet) => self.forward(now, id, packet),
            Event::KeyframeRequest(req) => {
                let Some(peer) = self.peers.get(&id) else {
                    return;
                };
                let router = peer.router;
                let producer = peer
                    .consumers
                    .iter()
                    .find(|c| c.mid == req.mid)
                    .map(|c| c.add.producer);
                if let Some(producer) = producer {
                    // The subscriber's decoder needs a keyframe of the layer it is being sent.
                    let layer = self
                        .routers
                        .get_mut(&router)
                        .and_then(|r| r.producer_mut(producer))
                        .and_then(|p| p.consumer_mut(id))
                        .map(|c| c.switch.target)
                        .unwrap_or(0);
                    self.request_keyframe(now, router, producer, layer);
                }
            }
            Event::EgressBitrateEstimate(
                BweKind::Twcc { estimate, .. } | BweKind::Remb { estimate, .. },
            ) => {
                trace!(%id, estimate = estimate.as_u64(), "downlink estimate");
                if let Some(peer) = self.peers.get_mut(&id) {
                    peer.estimate = Some(estimate.as_u64());
                }
                self.allocate(now, id);
            }
            Event::MediaAdded(added) => self.media_added(id, added),
            Event::Connected => {
                self.events.push_back(RelayEvent::Connected { peer: id });
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                if let Some(peer) = self.peers.get_mut(&id) {
                    if !peer.consent_lost {
                        peer.consent_lost = true;
                        self.stats.ice_failures += 1;
                        self.events.push_back(RelayEvent::Disconnected { peer: id });
                    }
                }
            }
            _ => {}
        }
    }
}

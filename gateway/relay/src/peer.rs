//! One participant's WebRTC transport: the str0m `Rtc`, its negotiation state and the tracks it
//! consumes.

use std::net::SocketAddr;
use std::time::Instant;

use str0m::change::SdpPendingOffer;
use str0m::media::{Direction, Mid};
use str0m::Rtc;

use crate::router::ProducerId;
use crate::{PeerId, RouterId, Source, TrackDescription, TrackKind};

/// A track this peer should receive once negotiated.
#[derive(Debug, Clone)]
pub(crate) struct PendingAdd {
    pub(crate) producer: ProducerId,
    pub(crate) publisher: PeerId,
    pub(crate) label: String,
    pub(crate) kind: TrackKind,
    pub(crate) screen: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConsumerState {
    /// In an offer the browser has not answered yet.
    Negotiating,
    /// Answered: media flows.
    Active,
    /// Being stopped in an offer the browser has not answered yet.
    Stopping,
}

/// A track this peer receives, as its own negotiation sees it.
#[derive(Debug, Clone)]
pub(crate) struct Consumer {
    pub(crate) mid: Mid,
    pub(crate) state: ConsumerState,
    pub(crate) add: PendingAdd,
}

pub(crate) struct Peer {
    pub(crate) router: RouterId,
    pub(crate) label: String,
    pub(crate) rtc: Rtc,
    /// The address announced in our candidate; the destination of everything we receive.
    pub(crate) local_addr: SocketAddr,
    pub(crate) ufrag: String,
    pub(crate) pending: Option<SdpPendingOffer>,
    pub(crate) consumers: Vec<Consumer>,
    pub(crate) to_add: Vec<PendingAdd>,
    pub(crate) to_stop: Vec<Mid>,
    pub(crate) producers: usize,
    /// The sources its producers carry: one producer per source.
    pub(crate) sources: Vec<Source>,
    /// What its client declared each of its sending m-lines to carry (bounded).
    pub(crate) declared: Vec<(Mid, Source)>,
    /// Whether this peer's screen track may be forwarded now (R11).
    pub(crate) screen_allowed: bool,
    /// R14: this participant's voice goes by phone. Nothing from its microphone is forwarded
    /// and no voice is sent to it; its video goes on.
    pub(crate) audio_by_phone: bool,
    /// Publishers whose camera this peer's page does not show (an off-screen or hidden tile):
    /// their video is not sent to it. Audio always is.
    pub(crate) hidden: Vec<PeerId>,
    /// The height in device pixels of each camera's tile on this peer's page.
    pub(crate) tiles: Vec<(PeerId, u32)>,
    /// The downlink estimate in bits per second (TWCC, or REMB), when estimation is on.
    pub(crate) estimate: Option<u64>,
    /// Keeps its layers from flapping on a squeezed link.
    pub(crate) hold: crate::allocation::UpgradeHold,
    /// The (minimum, desired) bitrate last given to the estimator.
    pub(crate) bwe_wanted: (u64, u64),
    /// When the estimator was last asked to probe toward a step up it does not allow yet.
    pub(crate) probe_again: Option<Instant>,
    /// The remote ICE candidates its transport holds (bounded).
    pub(crate) candidates: crate::bounds::RemoteCandidates,
    /// m-lines the relay added to this session: they widen the bounds of the peer's SDPs.
    pub(crate) relay_media: usize,
    /// The source of the last binding request handed to `rtc`, until its answer is seen.
    pub(crate) stun_source: Option<SocketAddr>,
    /// Addresses validated by ICE for this peer.
    pub(crate) addresses: Vec<SocketAddr>,
    /// When the remote last proved it still wants our traffic (RFC 7675).
    pub(crate) last_consent: Instant,
    pub(crate) consent_lost: bool,
    pub(crate) closed: bool,
    pub(crate) next_timeout: Option<Instant>,
}

/// Declarations a peer may make: a microphone, a camera and a screen, and room to replace them.
const MAX_DECLARED: usize = 8;

impl Peer {
    /// Takes the sources its client declared with an offer; a mid declared again keeps its
    /// first declaration (a producer does not change what it carries).
    pub(crate) fn declare(&mut self, sources: &[(String, Source)]) {
        for (mid, source) in sources {
            let mid = Mid::from(mid.as_str());
            if self.declared.len() < MAX_DECLARED && !self.declared.iter().any(|(m, _)| *m == mid) {
                self.declared.push((mid, *source));
            }
        }
    }

    /// What a new sending m-line carries: audio is a microphone; video is a screen only when
    /// declared so, else a camera.
    pub(crate) fn source_of(&self, mid: Mid, kind: TrackKind) -> Source {
        let declared = self
            .declared
            .iter()
            .find(|(m, _)| *m == mid)
            .map(|(_, s)| *s);
        match (kind, declared) {
            (TrackKind::Audio, _) => Source::Microphone,
            (TrackKind::Video, Some(Source::Screen)) => Source::Screen,
            (TrackKind::Video, _) => Source::Camera,
        }
    }
    /// Starts a server offer when tracks wait to be added or stopped and no offer is out.
    /// Returns the offer and the full list of tracks this peer receives after it.
    pub(crate) fn negotiate(&mut self) -> Option<(String, Vec<TrackDescription>)> {
        if self.pending.is_some() || (self.to_add.is_empty() && self.to_stop.is_empty()) {
            return None;
        }
        let mut api = self.rtc.sdp_api();
        for add in self.to_add.drain(..) {
            let kind = match (add.kind, add.screen) {
                (TrackKind::Audio, _) => "audio",
                (TrackKind::Video, false) => "video",
                (TrackKind::Video, true) => "screen",
            };
            let track_id = format!("{}-{kind}-{}", add.label, add.producer.0);
            let mid = api.add_media(
                add.kind.to_media(),
                Direction::SendOnly,
                Some(add.label.clone()),
                Some(track_id),
                None,
            );
            self.relay_media += 1;
            self.consumers.push(Consumer {
                mid,
                state: ConsumerState::Negotiating,
                add,
            });
        }
        for mid in self.to_stop.drain(..) {
            api.stop_media(mid);
            if let Some(c) = self.consumers.iter_mut().find(|c| c.mid == mid) {
                c.state = ConsumerState::Stopping;
            }
        }
        let (offer, pending) = api.apply()?;
        self.pending = Some(pending);
        let tracks = self
            .consumers
            .iter()
            .filter(|c| c.state != ConsumerState::Stopping)
            .map(|c| TrackDescription {
                mid: c.mid.to_string(),
                publisher: c.add.publisher,
                label: c.add.label.clone(),
                kind: c.add.kind,
                screen: c.add.screen,
            })
            .collect();
        Some((offer.to_sdp_string(), tracks))
    }

    /// Our outstanding offer is void (the browser offered at the same time, or refused ours):
    /// queue its changes again.
    pub(crate) fn abandon_offer(&mut self) {
        self.pending = None;
        let mut i = 0;
        while i < self.consumers.len() {
            match self.consumers[i].state {
                ConsumerState::Negotiating => {
                    let c = self.consumers.remove(i);
                    self.to_add.push(c.add);
                    continue;
                }
                ConsumerState::Stopping => {
                    self.consumers[i].state = ConsumerState::Active;
                    self.to_stop.push(self.consumers[i].mid);
                }
                ConsumerState::Active => {}
            }
            i += 1;
        }
    }

    /// Stops consuming a producer: drops it if not yet offered, else queues its m-line's stop.
    pub(crate) fn stop_consuming(&mut self, producer: ProducerId) {
        self.to_add.retain(|a| a.producer != producer);
        for c in &self.consumers {
            if c.add.producer == producer
                && c.state == ConsumerState::Active
                && !self.to_stop.contains(&c.mid)
            {
                self.to_stop.push(c.mid);
            }
        }
    }
}

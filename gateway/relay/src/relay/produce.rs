//! Producers: a browser's offer adds an m-line it sends on, a direct transport its voice;
//! either is offered to everyone else in the meeting.

use str0m::media::{Direction, MediaAdded};

use super::{direct, Relay, MAX_PRODUCERS_PER_PEER};
use crate::peer::PendingAdd;
use crate::router::{Producer, ProducerId};
use crate::simulcast::{Layer, MAX_LAYERS};
use crate::{PeerId, RouterId, Source, TrackKind};

impl Relay {
    /// A browser's offer added an m-line it sends on: that is a new producer.
    pub(super) fn media_added(&mut self, id: PeerId, added: MediaAdded) {
        if !matches!(added.direction, Direction::RecvOnly | Direction::SendRecv) {
            return;
        }
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        if peer.consumers.iter().any(|c| c.mid == added.mid)
            || peer.producers >= MAX_PRODUCERS_PER_PEER
        {
            return;
        }
        let kind = TrackKind::from_media(added.kind);
        let source = peer.source_of(added.mid, kind);
        if peer.sources.contains(&source) {
            // A second camera or microphone is not forwarded: one of each per participant.
            return;
        }
        peer.producers += 1;
        peer.sources.push(source);
        let screen = source == Source::Screen;
        let label = peer.label.clone();
        let router_id = peer.router;
        let layers: Vec<Layer> = match (&added.simulcast, kind, screen) {
            // The page sends its encodings lowest first.
            (Some(sim), TrackKind::Video, false) => sim
                .recv
                .iter()
                .take(MAX_LAYERS)
                .map(|l| Layer::new(l.rid))
                .collect(),
            _ => Vec::new(),
        };
        let producer = ProducerId(self.next_producer);
        self.next_producer += 1;
        let Some(router) = self.routers.get_mut(&router_id) else {
            return;
        };
        router.producers.push(Producer {
            id: producer,
            peer: id,
            mid: added.mid,
            kind,
            screen,
            layers,
            consumers: Vec::new(),
            rate: Default::default(),
            last_keyframe_request: None,
            live: kind == TrackKind::Audio,
        });
        if kind == TrackKind::Audio {
            self.offer_to_meeting(router_id, id, producer, label, kind, screen);
        }
    }

    /// The label a participant's transport was added with, of either kind.
    pub(super) fn label_of(&self, id: PeerId) -> String {
        match (self.peers.get(&id), self.directs.get(&id)) {
            (Some(p), _) => p.label.clone(),
            (None, Some(d)) => d.label.clone(),
            (None, None) => String::new(),
        }
    }

    /// Offers a producer's track to everyone else in its meeting.
    ///
    /// A video track waits for its first packet: a browser adds a screen m-line that sends
    /// nothing until a share, and a camera may stay off. Every m-line a subscriber holds costs
    /// its transport on every packet it is sent (str0m walks all its streams per drive), so a
    /// meeting of fifty mostly listening is far cheaper without them.
    pub(super) fn offer_to_meeting(
        &mut self,
        router: RouterId,
        publisher: PeerId,
        producer: ProducerId,
        label: String,
        kind: TrackKind,
        screen: bool,
    ) {
        let Some(router) = self.routers.get_mut(&router) else {
            return;
        };
        // A direct transport hears every voice at once: there is nothing to negotiate.
        if kind == TrackKind::Audio {
            let directs = router
                .peers
                .iter()
                .filter(|p| **p != publisher && self.directs.contains_key(p));
            let consumers: Vec<_> = directs.map(|d| direct::direct_consumer(*d)).collect();
            if let Some(p) = router.producer_mut(producer) {
                p.consumers.extend(consumers);
            }
        }
        for other in router.peers.iter().filter(|p| **p != publisher) {
            if let Some(o) = self.peers.get_mut(other) {
                o.to_add.push(PendingAdd {
                    producer,
                    publisher,
                    label: label.clone(),
                    kind,
                    screen,
                });
                self.dirty.push(*other);
            }
        }
    }
}

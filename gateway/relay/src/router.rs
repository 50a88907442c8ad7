//! A router is one meeting's forwarding domain: the producers its peers publish and, for each,
//! the consumers it feeds.

use std::time::Instant;

use str0m::format::Codec;
use str0m::media::Mid;
use str0m::media::Pt;

use crate::simulcast::{Layer, LayerSwitch, Rate};
use crate::{PeerId, TrackKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ProducerId(pub(crate) u64);

/// One incoming track: a publisher's audio or camera.
#[derive(Debug)]
pub(crate) struct Producer {
    pub(crate) id: ProducerId,
    pub(crate) peer: PeerId,
    pub(crate) mid: Mid,
    pub(crate) kind: TrackKind,
    /// A peer's second video track is its screen: forwarded only while allowed (R11).
    pub(crate) screen: bool,
    /// The simulcast encodings of a camera, lowest first; empty for a single-encoding track.
    pub(crate) layers: Vec<Layer>,
    /// Subscribers whose negotiation for this track is complete.
    pub(crate) consumers: Vec<ConsumerRef>,
    /// What a single-encoding track (a voice, a screen) takes from each subscriber's downlink.
    pub(crate) rate: Rate,
    pub(crate) last_keyframe_request: Option<Instant>,
    /// Whether the track has carried media: only then is a video track offered to the others.
    /// A voice is offered at once, so that its first words are not lost to a renegotiation.
    pub(crate) live: bool,
}

impl Producer {
    pub(crate) fn is_simulcast(&self) -> bool {
        !self.layers.is_empty()
    }

    pub(crate) fn consumer_mut(&mut self, peer: PeerId) -> Option<&mut ConsumerRef> {
        self.consumers.iter_mut().find(|c| c.peer == peer)
    }
}

/// The forwarding state of one producer toward one subscriber: what the hot path touches.
#[derive(Debug)]
pub(crate) struct ConsumerRef {
    pub(crate) peer: PeerId,
    pub(crate) mid: Mid,
    /// Which layer it gets, and the numbering that makes it one unbroken stream. Every
    /// subscriber's stream starts in rollover period zero (str0m needs no out-of-band ROC then).
    pub(crate) switch: LayerSwitch,
    /// The last payload type mapping: (publisher's codec, subscriber's payload type).
    pub(crate) pt_cache: Option<(Codec, Pt)>,
    /// Whether its send stream has been set up (unpaced, its resend history), which is done
    /// once: setting the history again would drop it.
    pub(crate) configured: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Router {
    pub(crate) peers: Vec<PeerId>,
    pub(crate) producers: Vec<Producer>,
    pub(crate) speaker: crate::speaker::SpeakerDetector,
}

impl Router {
    pub(crate) fn producer_mut(&mut self, id: ProducerId) -> Option<&mut Producer> {
        self.producers.iter_mut().find(|p| p.id == id)
    }

    pub(crate) fn producer_of(&mut self, peer: PeerId, mid: Mid) -> Option<&mut Producer> {
        self.producers
            .iter_mut()
            .find(|p| p.peer == peer && p.mid == mid)
    }
}

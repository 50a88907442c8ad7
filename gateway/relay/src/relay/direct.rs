//! Direct transports: a media endpoint in this process, such as the phone bridge, takes part in
//! a meeting without ICE, DTLS or SRTP (nothing leaves the process on this leg; the endpoint
//! protects its own far side). It publishes one voice, given as Opus payloads, and collects the
//! voices of everyone else in the meeting, each with its publisher's sequence numbers and
//! timestamps, for its own jitter buffers and mixer.
//!
//! To the browsers a direct transport is a participant like any other: its voice is offered to
//! them, it counts for the active speaker from the audio level it declares, and it leaves with
//! [`Relay::remove_peer`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use str0m::format::Codec;
use str0m::media::Mid;
use str0m::rtp::ExtensionValues;
use tracing::debug;

use super::forward::{Outgoing, Targets};
use super::{Relay, RelayEvent};
use crate::router::{ConsumerRef, Producer, ProducerId};
use crate::simulcast::{Incoming, LayerSwitch};
use crate::{PeerId, RelayError, RelayStats, RouterId, TrackKind};

/// Packets a direct transport holds for its caller. Its caller drains them after every call
/// into the relay; this bound only matters if it stops (about a second of twenty voices).
pub const DIRECT_QUEUE: usize = 1024;

/// One packet of a direct transport's own voice: Opus, on a 48 kHz RTP clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectMedia {
    /// Its sequence number, extended past 16 bits by the sender (it counts on from its last).
    pub seq: u64,
    pub timestamp: u32,
    /// How loud it is in dBov (RFC 6464, as str0m gives it): 0 loudest, -127 silence.
    pub audio_level: Option<i8>,
    pub payload: Vec<u8>,
}

/// One packet of another participant's voice, for a direct transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectPacket {
    /// Who spoke it.
    pub publisher: PeerId,
    /// The publisher's own numbering: one stream per publisher.
    pub seq: u64,
    pub timestamp: u32,
    pub audio_level: Option<i8>,
    /// Shared with every other consumer of the same packet.
    pub payload: Arc<[u8]>,
    /// When the relay received it: the consumer may take packets in batches (a bridge once
    /// per frame) and still measure their jitter.
    pub arrived: Instant,
}

/// A direct transport's state in the relay.
#[derive(Debug)]
pub(crate) struct DirectPeer {
    pub(crate) router: RouterId,
    pub(crate) label: String,
    /// Its voice.
    producer: ProducerId,
    queue: VecDeque<DirectPacket>,
}

impl DirectPeer {
    /// Queues a packet of someone else's voice; the oldest goes when the queue is full.
    pub(super) fn deliver(&mut self, from: PeerId, out: &Outgoing, stats: &mut RelayStats) {
        if out.codec != Codec::Opus {
            return;
        }
        if self.queue.len() >= DIRECT_QUEUE {
            self.queue.pop_front();
            stats.direct_overflow += 1;
        }
        self.queue.push_back(DirectPacket {
            publisher: from,
            seq: out.incoming.seq,
            timestamp: out.incoming.timestamp,
            audio_level: out.ext.audio_level,
            payload: out.payload.clone(),
            arrived: out.incoming.arrival,
        });
    }
}

/// The mid a direct transport's producer and consumers carry: they are not negotiated.
fn direct_mid() -> Mid {
    Mid::from("direct")
}

/// A direct transport consuming a producer.
pub(super) fn direct_consumer(peer: PeerId) -> ConsumerRef {
    ConsumerRef {
        peer,
        mid: direct_mid(),
        switch: LayerSwitch::default(),
        pt_cache: None,
        configured: true,
    }
}

impl Relay {
    /// Adds a direct transport to meeting `router`. It hears every voice already there and
    /// every voice that comes later; its own voice is offered to the browsers at once.
    pub fn add_direct(
        &mut self,
        router: RouterId,
        id: PeerId,
        label: &str,
    ) -> Result<(), RelayError> {
        if self.peers.contains_key(&id) || self.directs.contains_key(&id) {
            return Err(RelayError::DuplicatePeer);
        }
        let producer = ProducerId(self.next_producer);
        self.next_producer += 1;
        let router_state = self.routers.entry(router).or_default();
        for p in &mut router_state.producers {
            if p.kind == TrackKind::Audio {
                p.consumers.push(direct_consumer(id));
            }
        }
        router_state.peers.push(id);
        router_state.producers.push(Producer {
            id: producer,
            peer: id,
            mid: direct_mid(),
            kind: TrackKind::Audio,
            screen: false,
            layers: Vec::new(),
            consumers: Vec::new(),
            rate: Default::default(),
            last_keyframe_request: None,
            live: true,
        });
        self.directs.insert(
            id,
            DirectPeer {
                router,
                label: label.to_owned(),
                producer,
                queue: VecDeque::new(),
            },
        );
        self.offer_to_meeting(
            router,
            id,
            producer,
            label.to_owned(),
            TrackKind::Audio,
            false,
        );
        debug!(%id, "direct transport added");
        Ok(())
    }

    /// A packet of the direct transport's own voice, forwarded to everyone else in its meeting.
    pub fn send_direct(
        &mut self,
        now: Instant,
        id: PeerId,
        media: DirectMedia,
    ) -> Result<(), RelayError> {
        let direct = self.directs.get(&id).ok_or(RelayError::UnknownPeer)?;
        let (router_id, producer_id) = (direct.router, direct.producer);
        self.stats.rtp_received += 1;
        let Some(router) = self.routers.get_mut(&router_id) else {
            return Err(RelayError::UnknownPeer);
        };
        if let Some(level) = media.audio_level {
            if let Some(peer) = router.speaker.observe(now, id, level) {
                self.events.push_back(RelayEvent::ActiveSpeaker { peer });
            }
        }
        let Some(producer) = router.producer_mut(producer_id) else {
            return Err(RelayError::UnknownPeer);
        };
        producer.rate.count(media.payload.len());
        let out = Outgoing {
            incoming: Incoming {
                layer: 0,
                seq: media.seq,
                timestamp: media.timestamp,
                arrival: now,
                keyframe: false,
                vp8: None,
                temporal: None,
            },
            codec: Codec::Opus,
            camera: false,
            simulcast: false,
            nackable: false,
            ext: ExtensionValues {
                audio_level: media.audio_level,
                voice_activity: media.audio_level.map(|l| l > -50),
                ..ExtensionValues::default()
            },
            marker: false,
            payload: media.payload.into(),
        };
        Targets {
            peers: &mut self.peers,
            directs: &mut self.directs,
            stats: &mut self.stats,
            dirty: &mut self.dirty,
        }
        .send_all(&mut producer.consumers, id, &out);
        self.poll_dirty(now);
        Ok(())
    }

    /// The next packet of another participant's voice for direct transport `id`.
    pub fn poll_direct(&mut self, id: PeerId) -> Option<DirectPacket> {
        self.directs.get_mut(&id)?.queue.pop_front()
    }
}

//! The hot path: one RTP packet from a publisher, written to every subscriber that should get
//! it, and the keyframe requests that layer switches and decoders need.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::media::KeyframeRequestKind;
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, SeqNo, Vp8Descriptor};
use tracing::debug;

use super::direct::DirectPeer;
use super::{Relay, RelayEvent};
use crate::peer::Peer;
use crate::router::{ConsumerRef, ProducerId};
use crate::simulcast::{self, Incoming};
use crate::{PeerId, RelayStats, RouterId, TrackKind};

/// How long a forwarded video packet is kept for the subscriber's retransmission requests
/// (NACK). A request comes a round trip after the loss, a second try one more round trip
/// later; a second is ample even on a mobile link. str0m keeps 3 s by default, which was most
/// of the relay's memory: every subscriber's history of every camera it gets.
const RESEND_HISTORY: Duration = Duration::from_secs(1);
/// At most this many packets of history (above 500 packets a second, over 5 Mbit/s, the
/// history is shorter than `RESEND_HISTORY`).
const RESEND_PACKETS: usize = 512;
/// Resends are dropped while they are more than this share of what was sent in the last
/// second: a link that loses that much needs a lower layer, not more retransmissions. (str0m's
/// default of 0.15 left a thin stream, the smallest layer at a few frames a second, one resend
/// a second: a keyframe that lost two packets on a weak link was never repaired.)
const RESEND_RATIO_CAP: Option<f32> = Some(0.5);

impl Relay {
    /// The hot path: one RTP packet from a publisher, written to every subscriber.
    pub(super) fn forward(&mut self, now: Instant, from: PeerId, packet: RtpPacket) {
        let Some(publisher) = self.peers.get_mut(&from) else {
            return;
        };
        let pt = packet.header.payload_type;
        let Some((mid, rid)) = publisher
            .rtc
            .direct_api()
            .stream_rx(&packet.header.ssrc)
            .map(|s| (s.mid(), s.rid()))
        else {
            return;
        };
        let Some(codec) = publisher
            .rtc
            .codec_config()
            .find(|p| p.pt() == pt)
            .map(|p| p.spec().codec)
        else {
            return;
        };
        self.stats.rtp_received += 1;
        let publisher_screen_allowed = publisher.screen_allowed;
        let router_id = publisher.router;
        if publisher.audio_by_phone && codec.is_audio() {
            // R14: its voice goes by phone; the browser's microphone goes nowhere.
            self.stats.audio_by_phone_cut += 1;
            return;
        }
        let Some(router) = self.routers.get_mut(&router_id) else {
            return;
        };
        if codec == str0m::format::Codec::Opus {
            if let Some(level) = packet.header.ext_vals.audio_level {
                if let Some(peer) = router.speaker.observe(now, from, level) {
                    self.events.push_back(RelayEvent::ActiveSpeaker { peer });
                }
            }
        }
        let Some(producer) = router.producer_of(from, mid) else {
            return;
        };
        if producer.screen && !publisher_screen_allowed {
            // R11: a screen that the meeting has not allowed goes nowhere.
            self.stats.screen_blocked += 1;
            return;
        }
        let nackable = producer.kind == TrackKind::Video;
        let camera = nackable && !producer.screen;
        let simulcast = producer.is_simulcast();
        // Only a simulcast camera's switches need its keyframes and picture ids.
        let vp8 = if simulcast && codec == str0m::format::Codec::Vp8 {
            Vp8Descriptor::parse(&packet.payload).ok()
        } else {
            None
        };
        let keyframe = vp8.is_some_and(|d| d.starts_keyframe(&packet.payload));
        let temporal = vp8.and_then(|_| simulcast::temporal(&packet.payload));
        let layer = if simulcast {
            let Some(i) = producer.layers.iter().position(|l| Some(l.rid) == rid) else {
                return;
            };
            producer.layers[i].observe(now, &packet.payload, keyframe, temporal);
            i as u8
        } else {
            producer.rate.count(packet.payload.len());
            0
        };
        if !producer.live {
            if packet.payload.is_empty() {
                // Padding says nothing about whether the track carries pictures.
                return;
            }
            // A video track's first packet (its layer measured above): only now is it offered
            // to the others. This packet has no one to go to yet; their decoders start at a
            // keyframe asked for as each takes the track (earlier requests do not hold it up).
            producer.live = true;
            producer.last_keyframe_request = None;
            for layer in &mut producer.layers {
                layer.last_keyframe_request = None;
            }
            let (id, kind, screen) = (producer.id, producer.kind, producer.screen);
            let label = self.peers.get(&from).map(|p| p.label.clone());
            self.offer_to_meeting(router_id, from, id, label.unwrap_or_default(), kind, screen);
            debug!(publisher = %from, screen, "video track live: offered to the meeting");
            return;
        }
        let incoming = Incoming {
            layer,
            seq: *packet.seq_no,
            timestamp: packet.header.timestamp,
            arrival: packet.timestamp,
            keyframe,
            vp8,
            temporal,
        };
        let ext = ExtensionValues {
            audio_level: packet.header.ext_vals.audio_level,
            voice_activity: packet.header.ext_vals.voice_activity,
            video_orientation: packet.header.ext_vals.video_orientation,
            ..ExtensionValues::default()
        };
        let out = Outgoing {
            incoming,
            codec,
            camera,
            simulcast,
            nackable,
            ext,
            marker: packet.header.marker,
            payload: packet.payload.clone(),
        };
        Targets {
            peers: &mut self.peers,
            directs: &mut self.directs,
            stats: &mut self.stats,
            dirty: &mut self.dirty,
        }
        .send_all(&mut producer.consumers, from, &out);
    }

    /// Asks a publisher for a keyframe of one of its tracks (of `layer`, when simulcast), at
    /// most once per `keyframe_interval` per layer.
    pub(crate) fn request_keyframe(
        &mut self,
        now: Instant,
        router: RouterId,
        producer: ProducerId,
        layer: u8,
    ) {
        let Some(p) = self
            .routers
            .get_mut(&router)
            .and_then(|r| r.producer_mut(producer))
        else {
            return;
        };
        if p.kind != TrackKind::Video {
            return;
        }
        let (last, rid) = match p.layers.get_mut(layer as usize) {
            Some(l) => (&mut l.last_keyframe_request, Some(l.rid)),
            None => (&mut p.last_keyframe_request, None),
        };
        if last.is_some_and(|t| now.saturating_duration_since(t) < self.config.keyframe_interval) {
            return;
        }
        *last = Some(now);
        let (publisher, mid) = (p.peer, p.mid);
        debug!(%publisher, layer, "keyframe requested");
        if let Some(peer) = self.peers.get_mut(&publisher) {
            let mut api = peer.rtc.direct_api();
            if let Some(rx) = api.stream_rx_by_mid(mid, rid) {
                rx.request_keyframe(KeyframeRequestKind::Pli);
                self.dirty.push(publisher);
            }
        }
    }
}

/// One packet on its way from a producer to its consumers.
pub(super) struct Outgoing {
    pub(super) incoming: Incoming,
    pub(super) codec: str0m::format::Codec,
    /// A camera: paused toward a subscriber that hides its tile or lacks the bandwidth.
    pub(super) camera: bool,
    pub(super) simulcast: bool,
    pub(super) nackable: bool,
    pub(super) ext: ExtensionValues,
    pub(super) marker: bool,
    /// Shared by every subscriber's write: forwarding copies no payload.
    pub(super) payload: Arc<[u8]>,
}

/// Where consumers live: the relay's transports of both kinds, and what sending touches.
pub(super) struct Targets<'a> {
    pub(super) peers: &'a mut HashMap<PeerId, Peer>,
    pub(super) directs: &'a mut HashMap<PeerId, DirectPeer>,
    pub(super) stats: &'a mut RelayStats,
    pub(super) dirty: &'a mut Vec<PeerId>,
}

impl Targets<'_> {
    /// Writes one packet to every consumer of its producer.
    pub(super) fn send_all(&mut self, consumers: &mut [ConsumerRef], from: PeerId, out: &Outgoing) {
        for consumer in consumers {
            self.send(consumer, from, out);
        }
    }

    /// Writes one packet to one consumer, on whichever kind of transport it has.
    pub(super) fn send(&mut self, consumer: &mut ConsumerRef, from: PeerId, out: &Outgoing) {
        if let Some(direct) = self.directs.get_mut(&consumer.peer) {
            direct.deliver(from, out, self.stats);
            self.stats.rtp_forwarded += 1;
            self.stats.rtp_forwarded_bytes += out.payload.len() as u64;
            return;
        }
        let Some(subscriber) = self.peers.get_mut(&consumer.peer) else {
            return;
        };
        if subscriber.consent_lost || subscriber.closed {
            return;
        }
        if subscriber.audio_by_phone && out.codec.is_audio() {
            // R14: its phone carries the meeting's voices; its browser plays none.
            self.stats.audio_by_phone_cut += 1;
            return;
        }
        if out.camera && (subscriber.hidden.contains(&from) || consumer.switch.off) {
            self.stats.video_paused += 1;
            return;
        }
        let out_pt = match consumer.pt_cache {
            Some((c, pt)) if c == out.codec => pt,
            _ => {
                let Some(pt) = subscriber
                    .rtc
                    .codec_config()
                    .find(|p| p.spec().codec == out.codec)
                    .map(|p| p.pt())
                else {
                    return;
                };
                consumer.pt_cache = Some((out.codec, pt));
                pt
            }
        };
        let (switches, thinned) = (consumer.switch.switches, consumer.switch.thinned);
        let rewritten = consumer.switch.rewrite(&out.incoming, out.simulcast);
        self.stats.video_thinned += consumer.switch.thinned - thinned;
        let Some(rewritten) = rewritten else {
            return;
        };
        if consumer.switch.switches != switches {
            self.stats.layer_switches += 1;
            debug!(subscriber = %consumer.peer, publisher = %from, layer = out.incoming.layer, "layer switched");
        }
        let mut api = subscriber.rtc.direct_api();
        let Some(tx) = api.stream_tx_by_mid(consumer.mid, None) else {
            return;
        };
        if !consumer.configured {
            consumer.configured = true;
            // The publisher's browser already paces; forwarding at once keeps the hop
            // short. (Pacing video to 1.1 times the subscriber's estimate was tried: a
            // little shorter pauses at 200 kbit/s, but where the estimate dips, as under
            // the load test's CPU contention, it holds the rate down and the estimate
            // with it.)
            tx.set_unpaced(true);
            if out.nackable {
                tx.set_rtx_cache(RESEND_PACKETS, RESEND_HISTORY, RESEND_RATIO_CAP);
            }
        }
        let mut write = RtpWrite::new(
            out_pt,
            SeqNo::from(rewritten.seq),
            rewritten.timestamp,
            out.incoming.arrival,
            out.payload.clone(),
        )
        .marker(out.marker)
        .ext_vals(out.ext.clone())
        .nackable(out.nackable);
        if let Some(patch) = rewritten.vp8_patch {
            write = write.vp8_patch(patch);
        }
        tx.write_rtp(write);
        self.stats.rtp_forwarded += 1;
        self.stats.rtp_forwarded_bytes += out.payload.len() as u64;
        self.dirty.push(consumer.peer);
    }
}

//! Bandwidth adaptation: which simulcast layer of each camera a subscriber gets, from its
//! downlink estimate and the size of the tiles its page shows.

use std::time::{Duration, Instant};

use str0m::bwe::Bitrate;
use tracing::{debug, trace};

use super::{Relay, RelayEvent, ALLOCATION_INTERVAL};
use crate::allocation::{self, Choice, Track};
use crate::simulcast::Layer;
use crate::{PeerId, TrackKind};

/// The least a voice is reckoned to take from a subscriber's downlink: a muted microphone
/// with DTX (a packet every 400 ms) takes less, one that starts talking more at once.
const MIN_AUDIO_RATE: u64 = 10_000;

/// A layer that has just started has no measured rate yet; count it at least this much.
const MIN_LAYER_RATE: u64 = 50_000;

/// The share of the estimate that media may fill, leaving room for retransmissions, RTCP and
/// keyframes (a burst several times a layer's average rate). At 0.9, a viewer on a 300 kbit/s
/// link lost a keyframe often enough to stop for over 3 s.
const BUDGET_SHARE: f64 = 0.8;

/// While the next step up is wanted and the estimate does not allow it, the estimator is asked
/// to probe toward it again this often.
const PROBE_AGAIN: Duration = Duration::from_secs(3);

impl Relay {
    /// The height in device pixels of the tile each camera is shown in on this peer's page.
    /// A camera not listed gets whatever its bandwidth allows.
    pub fn set_tile_heights(&mut self, now: Instant, id: PeerId, tiles: Vec<(PeerId, u32)>) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let meeting = self.routers.get(&peer.router).map_or(&[][..], |r| &r.peers);
        peer.tiles = crate::bounds::meeting_peers_only(tiles, meeting, |t| t.0);
        self.allocate(now, id);
        self.poll_dirty(now);
    }

    /// When layer rates must next be measured, if any meeting has a simulcast camera.
    pub(crate) fn next_allocation(&self) -> Option<Instant> {
        let any = self
            .routers
            .values()
            .any(|r| r.producers.iter().any(|p| p.is_simulcast()));
        // Before the first tick, the transports' own timers bring `handle_timeout` soon.
        any.then_some(self.last_allocation? + ALLOCATION_INTERVAL)
    }

    /// Measures every layer's rate and chooses every subscriber's layers again, once per
    /// [`ALLOCATION_INTERVAL`].
    pub(crate) fn allocation_tick(&mut self, now: Instant) {
        let elapsed = match self.last_allocation {
            Some(t) if now.saturating_duration_since(t) < ALLOCATION_INTERVAL => return,
            Some(t) => now.saturating_duration_since(t),
            None => {
                self.last_allocation = Some(now);
                return;
            }
        };
        self.last_allocation = Some(now);
        let mut subscribers = Vec::new();
        for router in self.routers.values_mut() {
            for p in router.producers.iter_mut() {
                if !p.is_simulcast() {
                    p.rate.update(elapsed);
                    continue;
                }
                for (i, layer) in p.layers.iter_mut().enumerate() {
                    let before = layer.temporal_layers;
                    layer.update_rate(elapsed);
                    if layer.temporal_layers != before {
                        debug!(publisher = %p.peer, layer = i, temporal_layers = layer.temporal_layers, "temporal layers seen");
                    }
                }
                subscribers.extend(p.consumers.iter().map(|c| c.peer));
            }
        }
        subscribers.sort_unstable();
        subscribers.dedup();
        for id in subscribers {
            self.allocate(now, id);
        }
    }

    /// Chooses the layer of every simulcast camera `id` receives; a change is reached at the
    /// new layer's next keyframe, which is asked for. Tells the estimator what to probe for.
    pub(crate) fn allocate(&mut self, now: Instant, id: PeerId) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let router_id = peer.router;
        let Some(router) = self.routers.get_mut(&router_id) else {
            return;
        };
        // What is sent whatever the estimate: voices, and single-encoding video (a screen).
        let mut fixed = 0;
        let mut cameras = Vec::new();
        let mut tracks = Vec::new();
        for p in &router.producers {
            let Some(c) = p.consumers.iter().find(|c| c.peer == id) else {
                continue;
            };
            if p.kind == TrackKind::Audio {
                fixed += p.rate.bitrate.max(MIN_AUDIO_RATE);
                continue;
            }
            if peer.hidden.contains(&p.peer) && !p.screen {
                continue;
            }
            if !p.is_simulcast() {
                fixed += p.rate.bitrate;
                continue;
            }
            let rate = |l: &Layer| l.rate.bitrate.max(MIN_LAYER_RATE);
            // The lowest sent layer at lower frame rates, as many as its temporal layers give:
            // a quarter and a half from Chromium (L1T3), a half from Firefox (which sends two
            // whatever the page asks), none from a camera without them.
            let reduced = p
                .layers
                .iter()
                .find(|l| l.is_active(now))
                .map(|l| l.reduced_rates(rate(l)))
                .unwrap_or_default();
            // Where this subscriber stands: the layer decided on, even while the switch to it
            // waits for its keyframe. (Taking the layer still forwarded instead, a step up
            // held back for spacing was undone before its keyframe came, every time: a viewer
            // on a free link stayed on the lowest layer for a minute.)
            let current = c.switch.current().map(|_| Choice {
                layer: c.switch.target,
                // Everything the publisher sends is the full frame rate.
                temporal: c.switch.temporal_target.filter(|t| {
                    p.layers
                        .get(usize::from(c.switch.target))
                        .is_some_and(|l| t + 1 < l.temporal_layers)
                }),
            });
            tracks.push(Track {
                layers: p
                    .layers
                    .iter()
                    .map(|l| l.is_active(now).then_some(rate(l)))
                    .collect(),
                heights: p.layers.iter().map(|l| l.height).collect(),
                reduced,
                tile_height: peer
                    .tiles
                    .iter()
                    .find(|(who, _)| *who == p.peer)
                    .map(|(_, h)| *h),
                current,
                off: c.switch.off,
            });
            cameras.push(p.id);
        }
        if tracks.is_empty() {
            return;
        }
        let budget = peer.estimate.map_or(u64::MAX, |e| {
            ((e as f64 * BUDGET_SHARE) as u64).saturating_sub(fixed)
        });
        let mut chosen = allocation::allocate(budget, &tracks);
        peer.hold.apply(now, &tracks, &mut chosen);
        let spent = fixed + allocation::cost(&tracks, &chosen);
        // The estimate that would let the allocation take its next step up (see
        // `allocation::next_step`); with nothing more to take, what is sent now.
        let next = allocation::next_step(&tracks, &chosen);
        let desired = next.map_or(spent, |video| {
            ((video + fixed) as f64 / BUDGET_SHARE) as u64
        });
        // With all the tiles want, padding keeps up what is allocated through a quiet moment,
        // so the estimate holds (without it, a viewer freed from a squeeze did not climb back
        // within a minute). Short of it, the link is the limit, and padding would only take
        // room from the media: on a 300 kbit/s link it was a fifth of the packets.
        let keep_up = if next.is_some() { 0 } else { spent };
        let mut keyframes = Vec::new();
        let mut turned = Vec::new();
        for ((producer, choice), track) in cameras.iter().zip(&chosen).zip(&tracks) {
            let Some(p) = router.producer_mut(*producer) else {
                continue;
            };
            let publisher = p.peer;
            let Some(c) = p.consumer_mut(id) else {
                continue;
            };
            let off = allocation::is_off(track, *choice);
            if off != c.switch.off {
                debug!(subscriber = %id, ?producer, off, budget, "video off for bandwidth");
                turned.push((publisher, off));
                c.switch.off = off;
                // Back on, it starts at a keyframe, numbered on from where it stopped.
                c.switch.pause();
            }
            // No layer is active yet, or the video is off: nothing more to choose.
            let Some(Choice { layer, temporal }) = *choice else {
                continue;
            };
            // Down for bandwidth (the tile would take more): the current layer is shed now.
            let shed = track.current.is_some_and(|c| {
                layer < c.layer && allocation::tile_cap(track).is_some_and(|cap| cap >= c.layer)
            });
            if c.switch.target != layer || c.switch.temporal_target != temporal {
                debug!(subscriber = %id, ?producer, layer, ?temporal, budget, rates = ?track.layers, reduced = ?track.reduced, "layer chosen");
            }
            c.switch.target = layer;
            c.switch.temporal_target = temporal;
            c.switch.shed = shed;
            if c.switch.current() != Some(layer) {
                keyframes.push((*producer, layer));
            }
        }
        if let Some(peer) = self.peers.get_mut(&id) {
            // Probe toward the next step up, so that a recovered link is found again, one
            // step at a time. str0m probes when the wanted rate rises, and otherwise only
            // when the link is idle or the estimate has not moved for 15 s: a sender at two
            // thirds of its estimate, as a viewer held one step down is, was never probed, and
            // a freed viewer took most of a minute to climb back. So while the step is
            // wanted and not allowed, the wanted rate drops to what is sent for one round
            // and rises again every `PROBE_AGAIN`: each rise is a small probe toward it.
            let mut wanted = desired.max(spent);
            if next.is_some() && peer.estimate.is_some_and(|e| e < desired) {
                if peer
                    .probe_again
                    .is_none_or(|t| now.saturating_duration_since(t) >= PROBE_AGAIN)
                {
                    peer.probe_again = Some(now);
                    wanted = spent;
                }
            } else {
                peer.probe_again = None;
            }
            if peer.estimate.is_some() && peer.bwe_wanted != (keep_up, wanted) {
                peer.bwe_wanted = (keep_up, wanted);
                trace!(subscriber = %id, keep_up, wanted, "estimator told");
                peer.rtc
                    .bwe()
                    .set_bitrate(Bitrate::bps(keep_up), Bitrate::bps(wanted));
                // The estimator sees the dip before the rise that follows it.
                self.dirty.push(id);
            }
        }
        for (producer, layer) in keyframes {
            self.request_keyframe(now, router_id, producer, layer);
        }
        // The viewer's page says on the tile why its picture stopped.
        for (publisher, off) in turned {
            if let Some(label) = self.peers.get(&publisher).map(|p| p.label.clone()) {
                self.events.push_back(RelayEvent::VideoOffForBandwidth {
                    peer: id,
                    publisher: label,
                    off,
                });
            }
        }
    }
}

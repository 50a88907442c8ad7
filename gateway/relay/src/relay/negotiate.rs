//! What a browser says through signaling after it joined: offers, answers and trickled ICE
//! candidates. Each is held to the bounds in [`crate::bounds`] before `str0m` parses it.

use std::time::Instant;

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::Candidate;

use super::Relay;
use crate::bounds::{self, Bound, SdpBudget, SdpSummary};
use crate::peer::ConsumerState;
use crate::router::{ConsumerRef, ProducerId};
use crate::simulcast::LayerSwitch;
use crate::{PeerId, RelayError, Source, TrackKind};

impl Relay {
    /// Checks an SDP of peer `id` against its size, m-line and candidate bounds.
    fn check_peer_sdp<'a>(
        &mut self,
        id: PeerId,
        sdp: &'a str,
    ) -> Result<SdpSummary<'a>, RelayError> {
        let peer = self.peers.get(&id).ok_or(RelayError::UnknownPeer)?;
        let checked =
            bounds::check_sdp(sdp, SdpBudget::for_session(peer.relay_media)).and_then(|s| {
                if peer.candidates.fits(&s) {
                    Ok(s)
                } else {
                    Err(Bound::Candidates)
                }
            });
        checked.map_err(|bound| {
            self.stats.sdp_refused += 1;
            RelayError::TooLarge(bound)
        })
    }

    /// A new offer from a peer's browser (renegotiation or ICE restart). Returns the answer.
    pub fn handle_offer(
        &mut self,
        now: Instant,
        id: PeerId,
        sdp: &str,
        sources: &[(String, Source)],
    ) -> Result<String, RelayError> {
        let summary = self.check_peer_sdp(id, sdp)?;
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| RelayError::Sdp(e.to_string()))?;
        let peer = self.peers.get_mut(&id).ok_or(RelayError::UnknownPeer)?;
        peer.declare(sources);
        if peer.pending.is_some() {
            // Both sides offered at once: the browser's offer wins, ours is made again later.
            peer.abandon_offer();
        }
        let answer = peer
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| RelayError::Sdp(e.to_string()))?;
        peer.candidates.accept_sdp(&summary);
        // An ICE restart gives us new credentials.
        let ufrag = peer.rtc.direct_api().local_ice_credentials().ufrag;
        if ufrag != peer.ufrag {
            self.by_ufrag.remove(&peer.ufrag);
            self.by_ufrag.insert(ufrag.clone(), id);
            peer.ufrag = ufrag;
        }
        self.poll_peer(id, now);
        self.poll_dirty(now);
        Ok(answer.to_sdp_string())
    }

    /// The browser's answer to our last [`crate::RelayEvent::Offer`].
    pub fn handle_answer(&mut self, now: Instant, id: PeerId, sdp: &str) -> Result<(), RelayError> {
        let summary = self.check_peer_sdp(id, sdp)?;
        let peer = self.peers.get_mut(&id).ok_or(RelayError::UnknownPeer)?;
        let Some(pending) = peer.pending.take() else {
            return Err(RelayError::NoPendingOffer);
        };
        let answer = match SdpAnswer::from_sdp_string(sdp) {
            Ok(a) => a,
            Err(e) => {
                peer.pending = Some(pending);
                return Err(RelayError::Sdp(e.to_string()));
            }
        };
        if let Err(e) = peer.rtc.sdp_api().accept_answer(pending, answer) {
            peer.abandon_offer();
            self.dirty.push(id);
            self.poll_dirty(now);
            return Err(RelayError::Sdp(e.to_string()));
        }
        peer.candidates.accept_sdp(&summary);
        peer.consumers
            .retain(|c| c.state != ConsumerState::Stopping);
        let router = peer.router;
        let mut activated: Vec<(ProducerId, str0m::media::Mid)> = Vec::new();
        for c in &mut peer.consumers {
            if c.state == ConsumerState::Negotiating {
                c.state = ConsumerState::Active;
                activated.push((c.add.producer, c.mid));
            }
        }
        for (producer_id, mid) in activated {
            let producer = self
                .routers
                .get_mut(&router)
                .and_then(|r| r.producer_mut(producer_id));
            match producer {
                Some(p) => {
                    p.consumers.push(ConsumerRef {
                        peer: id,
                        mid,
                        switch: LayerSwitch::default(),
                        pt_cache: None,
                        configured: false,
                    });
                    if p.kind == TrackKind::Video && !p.is_simulcast() {
                        self.request_keyframe(now, router, producer_id, 0);
                    }
                }
                // The publisher left while we negotiated.
                None => {
                    if let Some(peer) = self.peers.get_mut(&id) {
                        peer.to_stop.push(mid);
                    }
                }
            }
        }
        // Simulcast cameras: choose the layers, which asks for their keyframes.
        self.allocate(now, id);
        self.dirty.push(id);
        self.poll_dirty(now);
        Ok(())
    }

    /// A trickled ICE candidate from the browser.
    ///
    /// A transport keeps at most [`bounds::MAX_REMOTE_CANDIDATES`] per ICE generation; one
    /// more is refused before it is parsed, so a flood costs a length check and a short scan
    /// per candidate, and the ICE agent's own lists (which it scans for every new candidate
    /// and every check) stay short. A candidate it already holds is taken as said again.
    pub fn add_remote_candidate(&mut self, id: PeerId, candidate: &str) -> Result<(), RelayError> {
        let peer = self.peers.get_mut(&id).ok_or(RelayError::UnknownPeer)?;
        let checked = match bounds::candidate_line(candidate) {
            Ok(line) if peer.candidates.contains(line) => return Ok(()),
            Ok(line) if peer.candidates.len() < bounds::MAX_REMOTE_CANDIDATES => Ok(line),
            Ok(_) => Err(RelayError::TooLarge(Bound::Candidates)),
            Err(bound) => Err(RelayError::TooLarge(bound)),
        };
        let parsed = checked.and_then(|line| {
            let c = Candidate::from_sdp_string(line).map_err(|_| RelayError::Candidate)?;
            Ok((line, c))
        });
        let (line, c) = match parsed {
            Ok(parsed) => parsed,
            Err(e) => {
                self.stats.candidates_refused += 1;
                return Err(e);
            }
        };
        peer.candidates.accept_trickled(line);
        peer.rtc.add_remote_candidate(c);
        Ok(())
    }

    /// How many remote ICE candidates peer `id`'s transport holds (in this ICE generation).
    pub fn remote_candidate_count(&self, id: PeerId) -> Option<usize> {
        self.peers.get(&id).map(|p| p.candidates.len())
    }
}

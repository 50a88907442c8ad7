//! The sans-IO selective forwarding core of Sluss.
//!
//! A [`Relay`] holds the WebRTC transports of every participant on one worker, grouped in
//! routers (one per meeting). It owns no socket, no thread and no clock: the caller feeds it
//! datagrams and the current time, and drains what it wants sent.
//!
//! # Driving it
//!
//! ```text
//! let mut relay = Relay::new(RelayConfig::default());
//! let answer = relay.add_peer(now, router, peer, label, local_addr, &offer_sdp, &sources)?;
//! loop {
//!     // 1. Input: a datagram from the socket, or a timeout.
//!     relay.handle_receive(now, source, &datagram);
//!     relay.handle_timeout(now);
//!     // 2. Output: drain both queues, then sleep until `poll_timeout()`.
//!     while let Some(t) = relay.poll_transmit() { socket.send_to(&t.contents, t.destination); }
//!     while let Some(e) = relay.poll_event() { /* hand offers to signaling */ }
//!     let deadline = relay.poll_timeout();
//! }
//! ```
//!
//! The one invariant: a datagram reaches a transport only if its source address has been
//! validated by an ICE binding request carrying that transport's credentials, or it is itself
//! such a request. Everything else is counted and dropped.
//!
//! What signaling hands over from a browser (SDP, trickled candidates) is held to the bounds
//! in [`bounds`] before it is parsed; over a bound it is a [`RelayError::TooLarge`].
//!
//! The WebRTC protocol work (ICE-lite, DTLS-SRTP, RTCP, NACK) is done by `str0m`, which stays
//! behind this crate's own types so that another stack could take its place.
//!
//! # Transports come in kinds
//!
//! A browser's transport is WebRTC ([`Relay::add_peer`]): ICE, DTLS and SRTP, negotiated by
//! offer and answer. A media endpoint inside this process, such as the phone bridge, has a
//! direct transport ([`Relay::add_direct`]): it publishes a voice as RTP payloads with
//! [`Relay::send_direct`] and collects everyone else's with [`Relay::poll_direct`], with
//! nothing to negotiate or encrypt. Both are participants of their router alike: the same
//! producers, consumers, active-speaker detection and removal. A pipe transport between relays
//! would be a third kind on the same seam.

mod allocation;
pub mod bounds;
mod error;
mod ids;
mod peer;
mod relay;
mod router;
mod simulcast;
mod speaker;
mod stats;
pub mod stun;

pub use bounds::Bound;
pub use error::RelayError;
pub use ids::{PeerId, RouterId, Source, TrackKind};
pub use relay::{
    DirectMedia, DirectPacket, Relay, RelayConfig, RelayEvent, TrackDescription, Transmit,
    Transport, DIRECT_QUEUE,
};
pub use stats::RelayStats;

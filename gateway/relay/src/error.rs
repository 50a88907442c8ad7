use std::fmt;

use crate::bounds::Bound;

/// What can go wrong when the signaling side drives the relay. Network input never produces
/// an error value: bad datagrams are counted in [`crate::RelayStats`] and dropped.
#[derive(Debug)]
#[non_exhaustive]
pub enum RelayError {
    /// The SDP could not be parsed or did not fit.
    Sdp(String),
    /// An answer arrived when no offer of ours was outstanding.
    NoPendingOffer,
    /// The peer is not known on this relay.
    UnknownPeer,
    /// A peer with this id already exists.
    DuplicatePeer,
    /// A trickled ICE candidate could not be parsed.
    Candidate,
    /// The SDP or candidate is over one of the relay's bounds (see [`crate::bounds`]).
    TooLarge(Bound),
}

impl fmt::Display for RelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelayError::Sdp(why) => write!(f, "unusable SDP: {why}"),
            RelayError::NoPendingOffer => write!(f, "no offer is waiting for an answer"),
            RelayError::UnknownPeer => write!(f, "unknown peer"),
            RelayError::DuplicatePeer => write!(f, "peer already exists"),
            RelayError::Candidate => write!(f, "unusable ICE candidate"),
            RelayError::TooLarge(bound) => write!(f, "refused: {bound}"),
        }
    }
}

impl std::error::Error for RelayError {}

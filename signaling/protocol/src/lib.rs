//! Versioned wire types of Sluss: the WebSocket signaling messages and the REST bodies.
//!
//! The contract is written out for people in `PROTOCOL.md` beside this crate; these types are
//! the same contract for the compiler. Every message is a JSON object tagged by `"type"`.
//! Unknown fields are ignored, unknown types are refused, and every text field has a length
//! limit checked by [`ClientMessage::parse`] before anything else looks at it.

mod rest;
mod ws;

pub use rest::{ApiError, CreateMeeting, CreatedMeeting, ErrorBody, LinkInfo, MeetingSummary};
pub use rest::{ClaimSetup, InspectLink, Invitation, InvitationRole, MeetingList, NewInvitation};
pub use ws::{ClientMessage, IdentificationMethod, MeetingState, ParseError, ParticipantInfo};
pub use ws::{Connection, ErrorCode, IceServer, Kind, Role, MAX_FRAME_BYTES, MAX_SDP_BYTES};
pub use ws::{ServerMessage, TileSize, TrackInfo, MAX_TILE_HEIGHT};

/// The one protocol version this server speaks.
pub const VERSION: u32 = 1;

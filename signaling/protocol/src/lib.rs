//! Versioned wire types of Sluss: the WebSocket signaling messages and the REST bodies.
//!
//! The contract is written out for people in `PROTOCOL.md` beside this crate; these types are
//! the same contract for the compiler. Every message is a JSON object tagged by `"type"`.
//! Unknown fields are ignored, unknown types are refused, and every text field has a length
//! limit checked by [`ClientMessage::parse`] before anything else looks at it.

mod bounds;
mod rest;
mod ws;

pub use bounds::{
    check_id, BodyError, MAX_DURATION_MINUTES, MAX_ID_CHARS, MAX_INVITATIONS, MAX_TOKEN_CHARS,
};
pub use bounds::{MAX_EXPIRY_AHEAD_SECS, MAX_START_AHEAD_SECS, MAX_START_BEHIND_SECS};

pub use rest::{ApiError, CreateMeeting, CreatedMeeting, ErrorBody, LinkInfo, MeetingSummary};
pub use rest::{CallerRole, ClaimSetup, InspectLink, Invitation, InvitationRole, MeetingList};
pub use rest::{DialIn, NewInvitation, UpdateMeeting};
pub use rest::{InvitationState, InvitationStatus, ListMeetings, MeetingDetail, MeetingStatus};
pub use ws::ParticipantInfo;
pub use ws::{AudioRoute, ClientMessage, IdentificationMethod, MeetingState, ParseError};
pub use ws::{Connection, ErrorCode, IceServer, Kind, Role, MAX_FRAME_BYTES, MAX_SDP_BYTES};
pub use ws::{
    MediaSource, ServerMessage, TileSize, TrackInfo, TrackSource, MAX_PHONE_KEYS, MAX_SOURCES,
    MAX_TILE_HEIGHT,
};

/// The one protocol version this server speaks.
pub const VERSION: u32 = 1;

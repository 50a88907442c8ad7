//! WebSocket messages.

use serde::{Deserialize, Serialize};

/// The largest WebSocket frame the server reads. Larger frames close the socket.
pub const MAX_FRAME_BYTES: usize = 320 * 1024;
/// The largest SDP accepted in an offer or answer: an answer in a meeting of 50 carries about
/// a hundred m-lines of a kilobyte or so each (measured with the load test: 48 KiB was too
/// little for 38 people).
pub const MAX_SDP_BYTES: usize = 256 * 1024;
const MAX_TOKEN_CHARS: usize = 128;
const MAX_CANDIDATE_CHARS: usize = 512;
/// A typed phone number, spaces and hyphens included (R14).
const MAX_NUMBER_CHARS: usize = 32;
const MAX_NAME_CHARS: usize = 64;

/// What a page's sending m-line carries, as the page declares it with its offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    Microphone,
    Camera,
    Screen,
}

/// One declaration: the m-line's mid and what it carries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TrackSource {
    pub mid: String,
    pub source: MediaSource,
}

/// Declarations one offer may carry (a page sends three).
pub const MAX_SOURCES: usize = 8;

/// A message from a browser.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Join {
        v: u32,
        token: String,
        display_name: String,
        #[serde(default)]
        resume: Option<String>,
    },
    Offer {
        sdp: String,
        /// What each of the page's sending m-lines carries. A video m-line not declared a
        /// screen is a camera: nothing is taken for a screen from where it sits.
        #[serde(default)]
        sources: Vec<TrackSource>,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: String,
        #[serde(default)]
        sdp_mid: Option<String>,
    },
    MediaState {
        audio_muted: bool,
        video_muted: bool,
    },
    Leave,
    Ping,
    // The chair's actions; refused with `not_chair` for anyone else.
    Admit {
        participant_id: String,
    },
    Deny {
        participant_id: String,
    },
    Remove {
        participant_id: String,
    },
    Mute {
        participant_id: String,
    },
    Lock {
        locked: bool,
    },
    Identify {
        participant_id: String,
        method: IdentificationMethod,
    },
    RecordConsent,
    EndMeeting,
    /// R7: hand the chair to another logged-in member of staff in the room.
    HandOver {
        participant_id: String,
    },
    /// R10: the chair turns chat on or off.
    SetChat {
        enabled: bool,
    },
    /// A chat message to everyone in the room now (never stored).
    Chat {
        text: String,
    },
    /// R11: the chair lets someone share a window or tab (or takes that away).
    AllowScreenShare {
        participant_id: String,
        allowed: bool,
    },
    /// The participants whose camera tile this page does not show now (scrolled away, or the
    /// tab hidden): their video is paused toward this page. Audio always flows.
    HiddenVideos {
        participant_ids: Vec<String>,
    },
    /// How tall, in device pixels, each camera's tile is on this page now: the relay sends a
    /// small tile a small simulcast layer.
    TileSizes {
        tiles: Vec<TileSize>,
    },
    /// R14: the chair moves this participant's voice to their phone: Sluss calls `number`
    /// and, once it is answered, cuts their browser's audio both ways.
    MoveAudioToPhone {
        participant_id: String,
        number: String,
    },
    /// R14: the chair calls someone into the meeting by phone: once they answer, they knock
    /// like anyone else and the chair admits them.
    CallIn {
        number: String,
    },
    /// R14: the chair presses keys toward a participant who is in the meeting by phone
    /// (a reception's menu, an extension): `0`-`9`, `*` and `#`, at most
    /// [`MAX_PHONE_KEYS`].
    SendPhoneKeys {
        participant_id: String,
        keys: String,
    },
    /// R14: their voice goes by their browser again (the chair, or the participant for
    /// themself); a call still up is hung up.
    AudioToBrowser {
        participant_id: String,
    },
    /// R11: start sharing (the client's screen transceiver carries it once granted).
    StartScreenShare,
    StopScreenShare,
    /// R9: refused for a sensitive meeting, whoever asks.
    StartRecording,
    StartTranscription,
}

/// The most keys one [`ClientMessage::SendPhoneKeys`] may press.
pub const MAX_PHONE_KEYS: usize = 32;

/// One camera tile on a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileSize {
    pub participant_id: String,
    pub height: u32,
}

/// The tallest tile height taken at face value; larger ones are treated as this.
pub const MAX_TILE_HEIGHT: u32 = 8192;

/// How a participant was identified (R5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentificationMethod {
    EIdentification,
    StaffLogin,
    IdShownOnCamera,
    KnownFromBefore,
    VoiceRecognisedByPatient,
}

/// Why a client message was refused before it reached any logic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    TooLarge,
    NotJson,
    Field(&'static str),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::TooLarge => write!(f, "message too large"),
            ParseError::NotJson => write!(f, "not a known message"),
            ParseError::Field(name) => write!(f, "field '{name}' is out of bounds"),
        }
    }
}

impl std::error::Error for ParseError {}

impl ClientMessage {
    /// Parses and bounds-checks one text frame.
    pub fn parse(text: &str) -> Result<ClientMessage, ParseError> {
        if text.len() > MAX_FRAME_BYTES {
            return Err(ParseError::TooLarge);
        }
        let msg: ClientMessage = serde_json::from_str(text).map_err(|_| ParseError::NotJson)?;
        msg.check_bounds()?;
        Ok(msg)
    }

    fn check_bounds(&self) -> Result<(), ParseError> {
        let within = |s: &str, max: usize, name: &'static str| {
            if s.chars().count() > max {
                Err(ParseError::Field(name))
            } else {
                Ok(())
            }
        };
        match self {
            ClientMessage::Join {
                token,
                display_name,
                resume,
                ..
            } => {
                within(token, MAX_TOKEN_CHARS, "token")?;
                within(display_name, MAX_NAME_CHARS, "display_name")?;
                if let Some(r) = resume {
                    within(r, MAX_TOKEN_CHARS, "resume")?;
                }
            }
            ClientMessage::Offer { sdp, sources } => {
                if sdp.len() > MAX_SDP_BYTES {
                    return Err(ParseError::Field("sdp"));
                }
                if sources.len() > MAX_SOURCES {
                    return Err(ParseError::Field("sources"));
                }
                for s in sources {
                    within(&s.mid, 32, "sources")?;
                }
            }
            ClientMessage::Answer { sdp } => {
                if sdp.len() > MAX_SDP_BYTES {
                    return Err(ParseError::Field("sdp"));
                }
            }
            ClientMessage::Candidate { candidate, sdp_mid } => {
                within(candidate, MAX_CANDIDATE_CHARS, "candidate")?;
                if let Some(m) = sdp_mid {
                    within(m, 32, "sdp_mid")?;
                }
            }
            ClientMessage::Admit { participant_id }
            | ClientMessage::Deny { participant_id }
            | ClientMessage::Remove { participant_id }
            | ClientMessage::Mute { participant_id }
            | ClientMessage::HandOver { participant_id }
            | ClientMessage::AllowScreenShare { participant_id, .. }
            | ClientMessage::Identify { participant_id, .. }
            | ClientMessage::AudioToBrowser { participant_id } => {
                within(participant_id, 64, "participant_id")?;
            }
            ClientMessage::MoveAudioToPhone {
                participant_id,
                number,
            } => {
                within(participant_id, 64, "participant_id")?;
                within(number, MAX_NUMBER_CHARS, "number")?;
            }
            ClientMessage::CallIn { number } => within(number, MAX_NUMBER_CHARS, "number")?,
            ClientMessage::SendPhoneKeys {
                participant_id,
                keys,
            } => {
                within(participant_id, 64, "participant_id")?;
                within(keys, MAX_PHONE_KEYS, "keys")?;
            }
            ClientMessage::Chat { text } => within(text, 1000, "text")?,
            ClientMessage::HiddenVideos { participant_ids } => {
                if participant_ids.len() > 500 {
                    return Err(ParseError::Field("participant_ids"));
                }
                for id in participant_ids {
                    within(id, 64, "participant_ids")?;
                }
            }
            ClientMessage::TileSizes { tiles } => {
                if tiles.len() > 500 {
                    return Err(ParseError::Field("tiles"));
                }
                for t in tiles {
                    within(&t.participant_id, 64, "tiles")?;
                }
            }
            ClientMessage::MediaState { .. }
            | ClientMessage::SetChat { .. }
            | ClientMessage::StartScreenShare
            | ClientMessage::StopScreenShare
            | ClientMessage::StartRecording
            | ClientMessage::StartTranscription
            | ClientMessage::Leave
            | ClientMessage::Ping
            | ClientMessage::Lock { .. }
            | ClientMessage::RecordConsent
            | ClientMessage::EndMeeting => {}
        }
        Ok(())
    }
}

/// A participant's role in a meeting, as the wire shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Chair,
    Guest,
}

/// Whether a participant's media is up or being re-established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    Connected,
    Reconnecting,
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Audio,
    Video,
    /// A shared window or tab (R11).
    Screen,
}

/// A TURN server for the browser's RTCPeerConnection (`iceServers`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

/// What one participant knows of another.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ParticipantInfo {
    pub participant_id: String,
    pub display_name: String,
    pub role: Role,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub connection: Connection,
    /// In the room (true) or waiting in the lobby (false; only the chair sees these).
    pub admitted: bool,
    /// How the chair identified them; `None` means not identified yet.
    pub identification: Option<IdentificationMethod>,
    /// Logged in as staff (R2): may be handed the chair.
    pub staff: bool,
    /// The chair allows this person to share a window or tab (R11).
    pub may_share_screen: bool,
    /// In a knock: this link was opened again while its seat is taken (a second tab without
    /// the resume secret, or a forwarded link). Admitting this one closes the other.
    #[serde(default)]
    pub reopened: bool,
    /// R14: where their voice goes.
    #[serde(default)]
    pub audio: AudioRoute,
    /// R14: in the meeting by phone alone (dialled in): no picture, and no browser to take
    /// the voice back to.
    #[serde(default)]
    pub by_phone: bool,
    /// The kind of invitation they came in with (patient, relative, staff, other
    /// professional, guest; the chair's), which the chair's lobby shows beside the typed name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation: Option<crate::rest::InvitationRole>,
}

/// R14: where a participant's voice goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioRoute {
    #[default]
    Browser,
    /// Their phone is ringing; the browser still carries their voice.
    Ringing,
    /// Their phone carries it; their browser's audio is cut both ways.
    Phone,
    /// Their call ended; their browser's audio stays cut until they or the chair ask.
    PhoneHungUp,
}

/// The meeting's own state, as everyone in the room sees it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct MeetingState {
    pub chair_id: Option<String>,
    pub locked: bool,
    pub consent_recorded: bool,
    /// Sensitive meetings cannot be recorded or transcribed (R9).
    pub sensitive: bool,
    pub chat_enabled: bool,
    /// Who is sharing a window or tab now, if anyone (R11).
    pub screen_sharer: Option<String>,
    /// R1: a phone call of this meeting goes over a trunk marked unencrypted, while it lasts.
    #[serde(default)]
    pub unencrypted_leg: bool,
}

/// One remote track in a server offer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TrackInfo {
    pub mid: String,
    pub participant_id: String,
    pub kind: Kind,
}

/// Stable error codes; the browser may switch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not a message, or not one allowed now. Fatal.
    Protocol,
    /// A field was too long or otherwise out of bounds.
    BadRequest,
    /// The link token is unknown, revoked or spent. Fatal.
    LinkInvalid,
    /// The meeting has ended. Fatal.
    MeetingEnded,
    /// The client speaks another protocol version. Fatal.
    UnsupportedVersion,
    /// The meeting has no room for another participant. Fatal.
    MeetingFull,
    /// The SDP could not be used.
    Negotiation,
    /// Something went wrong on the server.
    Internal,
    /// A chair action from someone who is not the chair.
    NotChair,
    /// Media from someone still waiting in the lobby.
    NotAdmitted,
    /// R9: this meeting cannot be recorded or transcribed.
    RecordingForbidden,
    /// R10: chat is off.
    ChatOff,
    /// The chair's link needs a staff login (R2). Fatal.
    LoginRequired,
    /// R11: not allowed, or someone in the room is not identified.
    ScreenShareRefused,
    /// R12: a personnummer or samordningsnummer in a text field.
    PersonalIdentityNumber,
    /// R12: ten digits starting with 07 and no separator, most likely a mobile number, read as
    /// a personnummer; written with spaces or a hyphen (070-115 12 35) it goes through.
    UnspacedPhoneNumber,
    /// R5: this meeting needs e-identification before knocking. Fatal; the page offers it.
    EidRequired,
    /// This link was turned away or removed a short while ago and may knock again later.
    /// Fatal.
    KnockTooSoon,
    /// The connection did not read what the server sent it in time. The socket closes; the
    /// page reconnects with its resume secret.
    SlowConsumer,
    /// R14: this gateway has no telephone trunk configured.
    PhoneUnavailable,
    /// R14: not a phone number, or not one this gateway may call.
    PhoneNumberRefused,
    /// R14: refused by the meeting's rules for calls (already by phone, too many calls).
    PhoneRefused,
    /// R14: the phone the chair called in was not answered (busy, no answer, refused).
    PhoneNotAnswered,
    /// R5 and R14: this meeting's guests identify with e-identification before they knock,
    /// which nobody can do by phone, so the chair cannot call a guest in.
    PhoneEidRequired,
}

impl ErrorCode {
    /// Whether the server closes the socket after sending this error, and the page must not
    /// join again by itself. The one list of fatal codes: the `error` message carries it to
    /// the page as its `fatal` field. A refused chat message or name in the room is not fatal.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            ErrorCode::Protocol
                | ErrorCode::LinkInvalid
                | ErrorCode::MeetingEnded
                | ErrorCode::UnsupportedVersion
                | ErrorCode::MeetingFull
                | ErrorCode::LoginRequired
                | ErrorCode::EidRequired
                | ErrorCode::KnockTooSoon
        )
    }
}

/// A message to a browser.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Join accepted. `admitted: false` means: wait in the lobby for `admitted`; until then
    /// `participants` is empty (the lobby learns nothing about the room).
    Joined {
        v: u32,
        participant_id: String,
        resume: String,
        role: Role,
        admitted: bool,
        participants: Vec<ParticipantInfo>,
        meeting: Option<MeetingState>,
        /// TURN servers with short-lived credentials, for networks that block UDP to the
        /// gateway. Only for those in the room.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
    },
    /// The chair let you in: here is the room; send your offer now.
    Admitted {
        participants: Vec<ParticipantInfo>,
        meeting: MeetingState,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
    },
    /// R5, to the chair only: who a participant proved to be with e-identification. Never
    /// sent to anyone else, never stored, never logged.
    VerifiedIdentity {
        participant_id: String,
        name: String,
        personal_identity_number: String,
    },
    /// The chair did not let you in. The socket closes.
    Denied,
    /// The chair removed you. The socket closes.
    Removed,
    /// The chair let in someone else who opened your link. The socket closes.
    Superseded,
    /// Your link was opened again, with this page's own secret or staff login (another tab or
    /// device of yours), or again in the lobby: that one goes on. The socket closes.
    OpenedElsewhere,
    /// The chair ended the meeting. The socket closes; the link no longer works.
    MeetingEnded,
    /// To the chair: someone is waiting in the lobby.
    Knock {
        participant: ParticipantInfo,
    },
    /// The chair muted your microphone; unmuting is yours to do.
    MuteRequested,
    MeetingStateChanged {
        meeting: MeetingState,
    },
    /// The person now speaking (from the audio level the browsers report; no audio is decoded).
    ActiveSpeaker {
        participant_id: String,
    },
    /// This participant's camera is not sent to you while your link is too weak for it
    /// (`paused: true`), or is sent again.
    VideoPaused {
        participant_id: String,
        paused: bool,
    },
    /// A chat message, as sent to those in the room at that moment.
    Chat {
        from: String,
        display_name: String,
        text: String,
    },
    Answer {
        sdp: String,
    },
    Offer {
        sdp: String,
        tracks: Vec<TrackInfo>,
    },
    ParticipantJoined {
        participant: ParticipantInfo,
    },
    ParticipantUpdated {
        participant: ParticipantInfo,
    },
    ParticipantLeft {
        participant_id: String,
    },
    /// Something was refused. `fatal: true`: the socket closes and the page stops (it neither
    /// reconnects nor stays in the call); `false`: the connection and the call go on.
    Error {
        code: ErrorCode,
        message: String,
        fatal: bool,
    },
    Pong,
}

impl ServerMessage {
    /// An error whose fatality is its code's ([`ErrorCode::is_fatal`]).
    pub fn error(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error {
            code,
            message: message.into(),
            fatal: code.is_fatal(),
        }
    }

    /// The answer to a `join` refused for what it carries (its display name): the socket
    /// closes, and the same join again would be refused the same way, so it is fatal whatever
    /// the code. The same code later in the call (a chat message) is not.
    pub fn join_refused(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error {
            code,
            message: message.into(),
            fatal: true,
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising these plain types cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_parses_with_and_without_resume() {
        let m = ClientMessage::parse(r#"{"type":"join","v":1,"token":"abc","display_name":"A"}"#);
        assert!(matches!(m, Ok(ClientMessage::Join { resume: None, .. })));
        let m = ClientMessage::parse(
            r#"{"type":"join","v":1,"token":"abc","display_name":"A","resume":"r"}"#,
        );
        assert!(matches!(
            m,
            Ok(ClientMessage::Join {
                resume: Some(_),
                ..
            })
        ));
    }

    #[test]
    fn garbage_and_unknown_types_are_refused() {
        for text in [
            "",
            "null",
            "[]",
            "{",
            r#"{"type":"record"}"#,
            "\u{0}\u{1}",
            r#"{"type":1}"#,
        ] {
            assert_eq!(
                ClientMessage::parse(text),
                Err(ParseError::NotJson),
                "{text:?}"
            );
        }
    }

    #[test]
    fn oversized_fields_are_refused() {
        let long = "x".repeat(65);
        let text = format!(r#"{{"type":"join","v":1,"token":"t","display_name":"{long}"}}"#);
        assert_eq!(
            ClientMessage::parse(&text),
            Err(ParseError::Field("display_name"))
        );
        let huge = "y".repeat(MAX_FRAME_BYTES + 1);
        assert_eq!(ClientMessage::parse(&huge), Err(ParseError::TooLarge));
        let sdp = "v".repeat(MAX_SDP_BYTES + 1);
        let text = format!(r#"{{"type":"offer","sdp":"{sdp}"}}"#);
        assert_eq!(ClientMessage::parse(&text), Err(ParseError::Field("sdp")));
    }

    #[test]
    fn server_messages_carry_their_type_tag() {
        let json = ServerMessage::ParticipantLeft {
            participant_id: "p1".into(),
        }
        .to_json();
        assert_eq!(json, r#"{"type":"participant_left","participant_id":"p1"}"#);
        let json = ServerMessage::error(ErrorCode::LinkInvalid, "x").to_json();
        assert!(json.contains(r#""code":"link_invalid""#));
    }

    #[test]
    fn an_error_tells_the_page_whether_the_call_ends() {
        let wire =
            |m: ServerMessage| serde_json::from_str::<serde_json::Value>(&m.to_json()).unwrap();
        // A refused chat message leaves the sender in the call.
        for code in [
            ErrorCode::PersonalIdentityNumber,
            ErrorCode::UnspacedPhoneNumber,
            ErrorCode::ChatOff,
            ErrorCode::BadRequest,
        ] {
            let json = wire(ServerMessage::error(code, "refused"));
            assert_eq!(json["type"], "error");
            assert_eq!(json["fatal"], false, "{code:?}");
        }
        let json = wire(ServerMessage::error(ErrorCode::PersonalIdentityNumber, "x"));
        assert_eq!(json["code"], "personal_identity_number");
        let json = wire(ServerMessage::error(ErrorCode::UnspacedPhoneNumber, "x"));
        assert_eq!(json["code"], "unspaced_phone_number");
        for code in [
            ErrorCode::LinkInvalid,
            ErrorCode::MeetingEnded,
            ErrorCode::Protocol,
            ErrorCode::EidRequired,
            ErrorCode::LoginRequired,
        ] {
            assert_eq!(
                wire(ServerMessage::error(code, "x"))["fatal"],
                true,
                "{code:?}"
            );
        }
        // A join refused for its name ends the connection, whatever the code.
        let json = wire(ServerMessage::join_refused(
            ErrorCode::PersonalIdentityNumber,
            "x",
        ));
        assert_eq!(json["fatal"], true);
    }

    #[test]
    fn a_hidden_video_list_is_bounded() {
        let ids = |n: usize, len: usize| {
            let list: Vec<String> = (0..n).map(|_| "p".repeat(len)).collect();
            serde_json::json!({"type": "hidden_videos", "participant_ids": list}).to_string()
        };
        assert!(matches!(
            ClientMessage::parse(&ids(3, 20)),
            Ok(ClientMessage::HiddenVideos { participant_ids }) if participant_ids.len() == 3
        ));
        assert!(ClientMessage::parse(&ids(501, 4)).is_err());
        assert!(ClientMessage::parse(&ids(1, 65)).is_err());
    }

    #[test]
    fn an_offer_declares_its_sources_within_bounds() {
        let offer = |sources: serde_json::Value| {
            serde_json::json!({"type": "offer", "sdp": "v=0", "sources": sources}).to_string()
        };
        let page = serde_json::json!([
            {"mid": "0", "source": "microphone"},
            {"mid": "1", "source": "camera"},
            {"mid": "2", "source": "screen"},
        ]);
        assert!(matches!(
            ClientMessage::parse(&offer(page)),
            Ok(ClientMessage::Offer { sources, .. })
                if sources[2] == TrackSource { mid: "2".into(), source: MediaSource::Screen }
        ));
        // An older page declares nothing.
        let bare = serde_json::json!({"type": "offer", "sdp": "v=0"}).to_string();
        assert!(matches!(
            ClientMessage::parse(&bare),
            Ok(ClientMessage::Offer { sources, .. }) if sources.is_empty()
        ));
        let many: Vec<_> = (0..9)
            .map(|i| serde_json::json!({"mid": i.to_string(), "source": "camera"}))
            .collect();
        assert!(ClientMessage::parse(&offer(many.into())).is_err());
        let long = serde_json::json!([{"mid": "m".repeat(33), "source": "camera"}]);
        assert!(ClientMessage::parse(&offer(long)).is_err());
        let unknown = serde_json::json!([{"mid": "0", "source": "hologram"}]);
        assert!(ClientMessage::parse(&offer(unknown)).is_err());
    }

    #[test]
    fn tile_sizes_are_bounded() {
        let tiles = |n: usize, len: usize, height: i64| {
            let list: Vec<_> = (0..n)
                .map(|_| serde_json::json!({"participant_id": "p".repeat(len), "height": height}))
                .collect();
            serde_json::json!({"type": "tile_sizes", "tiles": list}).to_string()
        };
        assert!(matches!(
            ClientMessage::parse(&tiles(2, 10, 180)),
            Ok(ClientMessage::TileSizes { tiles }) if tiles.len() == 2 && tiles[0].height == 180
        ));
        assert!(ClientMessage::parse(&tiles(501, 4, 10)).is_err());
        assert!(ClientMessage::parse(&tiles(1, 65, 10)).is_err());
        assert!(ClientMessage::parse(&tiles(1, 4, -1)).is_err());
        assert!(ClientMessage::parse(&tiles(1, 4, 1 << 40)).is_err());
    }
}

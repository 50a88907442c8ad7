//! The SDP offer/answer of a call leg (RFC 4566, RFC 3264), with SDES keys (RFC 4568).
//!
//! One audio stream per call leg, nothing else. The trunk's SDP comes in through
//! [`RemoteSdp::parse`], which bounds everything it reads; what the leg then uses is a
//! [`Negotiated`]: where to send, which codec and payload type, the DTMF payload type, the
//! packet time, the direction, and the SRTP keys of both sides.
//!
//! - We call out: [`Offer::new`] writes our offer, [`Offer::accept`] reads the trunk's answer.
//! - The trunk calls in: [`answer`] chooses and writes our answer to its offer.
//! - The trunk sends a re-INVITE (hold, a new media address, a new key): [`reanswer`] answers
//!   it and says what changed.
//!
//! R1: an offer or answer without SDES keys is refused unless the trunk is marked unencrypted
//! ([`LocalMedia::unencrypted`]); only then do we offer plain RTP/AVP.
//!
//! The SRTP keys stay opaque here ([`KeyParams`]): the SRTP module parses `inline:` itself.
//! Their `Debug` redacts, and no error message carries anything the peer sent.
//!
//! ```
//! use sluss_phone::sdp::{answer, Codec, LocalMedia, MasterKey, RemoteSdp};
//!
//! let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
//!     m=audio 4000 RTP/SAVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n\
//!     a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:YIyvUXYvGLT9g9NI34RlHa6Xbq5UVFpWpOMnL12Y\r\n";
//! let offer = RemoteSdp::parse(offer.as_bytes())?;
//! let local = LocalMedia::new("192.0.2.1".parse()?, 30000);
//! // The key comes from a cryptographic random source.
//! let (body, leg) = answer(&offer, &local, &MasterKey::new([7; 30]))?;
//! assert_eq!((leg.codec.codec, leg.codec.pt), (Codec::Pcma, 8)); // our preference
//! assert_eq!(leg.telephone_event, Some(101));
//! assert_eq!(leg.remote, Some("192.0.2.9:4000".parse()?));
//! assert!(body.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod negotiate;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

pub use negotiate::{
    answer, reanswer, Changes, ChosenCodec, CryptoChoice, Negotiated, Offer, Reanswer,
};

/// Largest SDP body we read, in bytes. A SIP trunk's audio offer is under 1 KiB.
pub const MAX_SDP_BYTES: usize = 16 * 1024;
/// Most lines in one SDP body.
pub const MAX_LINES: usize = 256;
/// Longest line, in bytes (a crypto line with MKI and lifetime is under 150).
pub const MAX_LINE_BYTES: usize = 1024;
/// Most m-lines in one body.
pub const MAX_MEDIA: usize = 16;
/// Most attributes in the session part or in one media section.
pub const MAX_ATTRIBUTES: usize = 128;
/// Most payload types on one m-line.
pub const MAX_PAYLOAD_TYPES: usize = 32;
/// Most `a=crypto` lines in one media section.
pub const MAX_CRYPTO: usize = 8;

/// Why an SDP body was refused. The messages never quote the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    #[error("the SDP body is larger than {MAX_SDP_BYTES} bytes")]
    TooLarge,
    #[error("the SDP body is not UTF-8")]
    NotUtf8,
    #[error("the SDP body has more than {MAX_LINES} lines")]
    TooManyLines,
    #[error("SDP line {0} is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong(usize),
    #[error("the SDP body has more than {MAX_MEDIA} m-lines")]
    TooManyMedia,
    #[error("an SDP section has more than {MAX_ATTRIBUTES} attributes")]
    TooManyAttributes,
    #[error("an m-line has more than {MAX_PAYLOAD_TYPES} payload types")]
    TooManyPayloadTypes,
    #[error("an SDP media section has more than {MAX_CRYPTO} crypto lines")]
    TooManyCrypto,
    #[error("SDP line {line}: malformed {what}")]
    Malformed { line: usize, what: &'static str },
    #[error("the SDP body does not start with v=0")]
    MissingVersion,
    #[error("the SDP body has no audio m-line")]
    NoAudio,
    #[error("no audio m-line uses RTP/AVP or RTP/SAVP")]
    UnsupportedProfile,
    #[error("the audio stream has no connection address")]
    MissingConnection,
    #[error("no codec in common")]
    NoCommonCodec,
    #[error("the audio stream is not encrypted and the trunk is not marked unencrypted")]
    NotEncrypted,
    #[error("no crypto line with a suite we support")]
    NoUsableCrypto,
    #[error("the answer refused the audio stream")]
    AudioRefused,
}

/// Which way media flows on a stream, as the SDP direction attributes say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn from_parts(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }

    /// Whether the side with this direction sends media.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether the side with this direction receives media.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The direction an answerer willing to do `local` answers to an offer of `self`.
    pub fn answer(self, local: Direction) -> Direction {
        Self::from_parts(
            local.sends() && self.receives(),
            local.receives() && self.sends(),
        )
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Self::SendRecv,
            "sendonly" => Self::SendOnly,
            "recvonly" => Self::RecvOnly,
            "inactive" => Self::Inactive,
            _ => return None,
        })
    }
}

/// The transport profile of the audio m-line. Only these two: feedback profiles (AVPF) and
/// DTLS-SRTP belong to browsers, not trunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `RTP/AVP`: plain RTP, or SRTP with SDES keys as "best effort" (a=crypto present).
    Avp,
    /// `RTP/SAVP`: SRTP with SDES keys.
    Savp,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Avp => "RTP/AVP",
            Self::Savp => "RTP/SAVP",
        }
    }

    fn parse(proto: &str) -> Option<Self> {
        match proto {
            "RTP/AVP" => Some(Self::Avp),
            "RTP/SAVP" => Some(Self::Savp),
            _ => None,
        }
    }
}

/// A voice codec the phone side speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 A-law, the Swedish default.
    Pcma,
    /// G.711 µ-law.
    Pcmu,
    /// G.722, 16 kHz audio on an 8 kHz RTP clock (RFC 3551 §4.5.2).
    G722,
}

impl Codec {
    /// The encoding name of its rtpmap.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pcma => "PCMA",
            Self::Pcmu => "PCMU",
            Self::G722 => "G722",
        }
    }

    /// Its static payload type (RFC 3551).
    pub fn static_pt(self) -> u8 {
        match self {
            Self::Pcma => 8,
            Self::Pcmu => 0,
            Self::G722 => 9,
        }
    }

    /// The RTP clock rate, as the rtpmap says it: 8000 for all three.
    pub fn clock_rate(self) -> u32 {
        8000
    }

    /// The audio sample rate the codec carries.
    pub fn sample_rate(self) -> u32 {
        match self {
            Self::G722 => 16_000,
            _ => 8000,
        }
    }
}

/// What a payload type carries, from its rtpmap or its static number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Audio(Codec),
    /// RFC 4733 `telephone-event`.
    TelephoneEvent,
    /// Anything else (Opus, iLBC, comfort noise, ...): listed, never chosen.
    Other,
}

/// One payload type of the audio m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFormat {
    pub pt: u8,
    /// None for a dynamic payload type without an rtpmap.
    pub encoding: Option<Encoding>,
    pub clock_rate: Option<u32>,
    pub channels: Option<u8>,
    pub fmtp: Option<String>,
}

impl PayloadFormat {
    /// Whether this is `codec` at its clock rate, mono.
    fn is(&self, codec: Codec) -> bool {
        self.encoding == Some(Encoding::Audio(codec))
            && self.clock_rate == Some(codec.clock_rate())
            && self.channels.unwrap_or(1) == 1
    }

    fn is_telephone_event(&self) -> bool {
        self.encoding == Some(Encoding::TelephoneEvent) && self.clock_rate == Some(8000)
    }
}

/// An SRTP crypto suite of RFC 4568 that we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoSuite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

impl CryptoSuite {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "AES_CM_128_HMAC_SHA1_80" => Some(Self::AesCm128HmacSha1_80),
            "AES_CM_128_HMAC_SHA1_32" => Some(Self::AesCm128HmacSha1_32),
            _ => None,
        }
    }
}

/// The key parameters of a crypto line (`inline:<key||salt base64>[|lifetime][|MKI:len]`),
/// kept as they came: a secret. `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyParams(String);

impl KeyParams {
    /// The key parameters as written in the SDP, for the SRTP module to parse.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyParams(…)")
    }
}

/// One `a=crypto` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoAttribute {
    pub tag: u32,
    /// None for a suite we do not speak.
    pub suite: Option<CryptoSuite>,
    pub key_params: KeyParams,
    /// Session parameters (KDR, UNENCRYPTED_SRTP, ...): we support none, so a line that has
    /// any is never chosen.
    pub has_session_params: bool,
}

/// Our SRTP master key and salt (16 + 14 bytes), from the caller's random source. `Debug`
/// shows nothing of it.
#[derive(Clone)]
pub struct MasterKey([u8; 30]);

impl MasterKey {
    pub fn new(bytes: [u8; 30]) -> Self {
        Self(bytes)
    }

    fn key_params(&self) -> KeyParams {
        use base64::Engine as _;
        KeyParams(format!(
            "inline:{}",
            base64::engine::general_purpose::STANDARD.encode(self.0)
        ))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

/// An m-line as far as an answer needs it to refuse it (same kind, profile, one format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLine {
    pub kind: String,
    pub port: u16,
    pub proto: String,
    pub first_format: String,
}

/// The audio stream of a remote offer or answer: the first audio m-line with a profile we
/// speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAudio {
    /// The media-level c= address, else the session-level one. None only when the port is 0.
    pub address: Option<IpAddr>,
    /// 0: the stream is refused (in an answer) or removed (in an offer).
    pub port: u16,
    pub profile: Profile,
    /// In the m-line's order, which is the sender's preference.
    pub formats: Vec<PayloadFormat>,
    pub ptime: Option<u16>,
    pub direction: Direction,
    pub rtcp_mux: bool,
    pub crypto: Vec<CryptoAttribute>,
}

/// A parsed remote SDP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSdp {
    /// The o= line's session version, when it is a number.
    pub version: Option<u64>,
    /// Every m-line, in order.
    pub media: Vec<MediaLine>,
    /// Which of `media` is [`Self::audio`].
    pub audio_index: usize,
    pub audio: RemoteAudio,
}

impl RemoteSdp {
    /// Parses and bounds an SDP body from the network.
    pub fn parse(bytes: &[u8]) -> Result<Self, SdpError> {
        parse::parse(bytes)
    }
}

/// What we offer and accept, from the trunk's configuration and the leg's own address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Our RTP address and port, as the trunk should send to it.
    pub address: IpAddr,
    pub port: u16,
    /// Codec preference, best first.
    pub codecs: Vec<Codec>,
    /// Offer and accept RFC 4733 telephone-event/8000 (DTMF).
    pub telephone_event: bool,
    /// Suites we offer and accept, best first (one or two). Empty on an encrypted trunk means
    /// every call fails: nothing we could agree is encrypted.
    pub suites: Vec<CryptoSuite>,
    /// The trunk is marked unencrypted: we offer plain RTP/AVP, and accept an offer without
    /// SRTP (R1: the meeting then shows that the leg is unencrypted).
    pub unencrypted: bool,
    /// Our packet time in ms, used when the peer says none.
    pub ptime: u16,
    /// What we are willing to do (hold: `SendOnly` or `Inactive`).
    pub direction: Direction,
    /// The o= line's session id and version; the version must grow with every new body.
    pub session_id: u64,
    pub session_version: u64,
}

impl LocalMedia {
    /// The defaults for a Swedish trunk: PCMA, PCMU, G.722, DTMF, both suites, 20 ms.
    pub fn new(address: IpAddr, port: u16) -> Self {
        Self {
            address,
            port,
            codecs: vec![Codec::Pcma, Codec::Pcmu, Codec::G722],
            telephone_event: true,
            suites: vec![
                CryptoSuite::AesCm128HmacSha1_80,
                CryptoSuite::AesCm128HmacSha1_32,
            ],
            unencrypted: false,
            ptime: 20,
            direction: Direction::SendRecv,
            session_id: 1,
            session_version: 1,
        }
    }
}

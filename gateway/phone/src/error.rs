//! The one error enum of the phone side.
//!
//! Messages name what was wrong with a packet or a key line, never its contents: a key, a
//! number or a payload byte never reaches a log through an error.

/// What went wrong while reading or writing phone media.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The datagram ended before the part being read.
    #[error("packet too short: {needed} bytes needed, {got} present")]
    Truncated { needed: usize, got: usize },
    /// The RTP version field was not 2.
    #[error("unsupported RTP version {0}")]
    BadVersion(u8),
    /// The padding count is zero or larger than the payload.
    #[error("bad RTP padding")]
    BadPadding,
    /// The caller's buffer cannot hold what is to be written.
    #[error("buffer too small: {needed} bytes needed, {got} available")]
    BufferTooSmall { needed: usize, got: usize },
    /// A value given for writing is out of range (a payload type over 127, over 15 CSRCs).
    #[error("field out of range: {0}")]
    FieldOutOfRange(&'static str),
    /// An `a=crypto` line's key parameters could not be used.
    #[error("unusable SRTP key parameters: {0}")]
    BadKeyParams(&'static str),
    /// The SRTP or SRTCP authentication tag did not match.
    #[error("SRTP authentication failed")]
    AuthFailed,
    /// The packet carries a master key identifier other than its key's.
    #[error("SRTP packet under an unknown MKI")]
    UnknownMki,
    /// The packet's index was already received or is too old for the replay window.
    #[error("SRTP replay rejected")]
    Replay,
    /// Too many packets under one key; the call must be re-keyed.
    #[error("SRTP key exhausted")]
    KeyExhausted,
    /// A telephone-event (RFC 4733) payload was malformed.
    #[error("bad telephone-event payload: {0}")]
    BadTelephoneEvent(&'static str),
    /// The audio codec refused a packet or a frame.
    #[error("codec error: {0}")]
    Codec(&'static str),
}

//! The telephone fallback of Sluss (rule R14): the SIP side of the gateway.
//!
//! A phone leg is a call between the gateway and the region's SIP trunk. Its media is plain
//! RTP audio, encrypted with SRTP whose keys travel in the SDP (SDES, RFC 4568), over a SIP
//! dialog that runs on TLS. The bridge joins each leg to a meeting as a participant of its
//! own: what the phone says is decoded, resampled and published into the meeting as that
//! person's voice; what the phone hears is the mix of everyone else (mix-minus), encoded in
//! the codec the trunk chose (G.711 A-law by default in Sweden, µ-law or G.722).
//!
//! # Layout
//!
//! Like the relay, the cores here are sans-IO: values in, values out, the time passed in.
//! - Media: RTP packets as the phone side reads and writes them, SRTP, the codecs, RFC 4733
//!   telephone events (DTMF), the jitter buffer and the mixer.
//! - Signalling: the SDP offer/answer of a call leg, the dialled-number policy and the
//!   dial-in PIN.
//! - The SIP transaction layer is a maintained library behind a small trait of our own
//!   (`sip::SipStack`); its implementation over rsipstack (`sip::rsip`) is the one part of
//!   this crate with a runtime and sockets, and the dial-out leg (`sip::leg`) is sans-IO.
//!
//! Nothing from the network is trusted: every parser here bounds what it reads and returns an
//! error, never panics, and has a fuzz target.

pub mod number;
pub mod sdp;
pub mod sip;

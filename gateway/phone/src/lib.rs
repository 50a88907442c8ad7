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
//! - Media: [`rtp`] packets as the phone side reads and writes them (and RTP/RTCP on one
//!   port), [`srtp`] with SDES keys, the codecs ([`g711`] A-law and µ-law; [`opus`] for the
//!   meeting side, through the pure-Rust `ropus`), RFC 4733 telephone events ([`dtmf`]), the
//!   [`jitter`] buffer and the mix-minus [`mixer`]. None of them allocates per packet.
//! - Signalling: the SDP offer/answer of a call leg ([`sdp`]), dialled numbers and the
//!   dial-out policy ([`number`]), and the dial-in PIN with its guessing guard ([`pin`]).
//! - The SIP transaction layer is a maintained library behind a small trait of our own
//!   (`sip::SipStack`); its implementation over rsipstack (`sip::rsip`) is the one part of
//!   this crate with a runtime and sockets, and the dial-out leg (`sip::leg`) is sans-IO.
//!
//! # One phone leg's media, per 20 ms frame
//!
//! From the phone: datagram → [`rtp::classify`] → [`srtp::SrtpContext::unprotect_rtp`]
//! (the trunk's key) → [`rtp::RtpPacket::parse`] → telephone events to
//! [`dtmf::DtmfReceiver`], audio to [`jitter::JitterBuffer::push`]; every 20 ms
//! [`jitter::JitterBuffer::pop`] → [`g711::Law::decode`] (or concealment) → resample →
//! [`opus::OpusEncoder`] → into the meeting.
//! To the phone: each other participant's Opus → [`opus::OpusDecoder`] at 8 kHz →
//! [`mixer::Mixer::set_input`]; [`mixer::Mixer::mix`]; [`mixer::Mixer::output`] for the leg →
//! [`g711::Law::encode`] → [`rtp::RtpHeader::write`] → [`srtp::SrtpContext::protect_rtp`]
//! (our key) → datagram.
//!
//! [`bridge::Bridge`] is that frame loop as a sans-IO core; [`leg_media`] is its shell, with the
//! leg's socket, SRTP and the relay's direct transport; [`call`] places one call and runs it,
//! signalling and media, to its end.
//!
//! Nothing from the network is trusted: every parser here bounds what it reads and returns an
//! error, never panics, and has a fuzz target.

pub mod bridge;
pub mod call;
pub mod dtmf;
mod error;
pub mod g711;
pub mod jitter;
pub mod leg_media;
pub mod mixer;
pub mod number;
pub mod opus;
pub mod pin;
pub mod prompt;
pub mod rtp;
pub mod sdp;
pub mod sip;
pub mod srtp;
pub mod voice_codec;

pub use error::Error;

//! The fuzz targets of Sluss, as plain functions of the input bytes.
//!
//! Every parser that reads bytes from outside, and the meeting core under random commands, has
//! one function here: `pub fn name(data: &[u8])`. A function panics only when it finds a bug:
//! a crash of the code under test, or a broken invariant that it checks after the call.
//!
//! Two things drive them:
//! - `fuzz/` (outside the workspace) is a cargo-fuzz crate whose `fuzz_targets/<name>.rs`
//!   each call one function here under libFuzzer;
//! - `tests/corpus_replay.rs` runs every file of `fuzz/corpus/<name>/` through its function on
//!   stable Rust, so `cargo test --workspace` keeps a fixed crash fixed.
//!
//! ```
//! sluss_fuzz_targets::stun(b"\x00\x01\x00\x00\x21\x12\xa4\x42");
//! assert!(sluss_fuzz_targets::TARGETS.iter().any(|(name, _)| *name == "stun"));
//! ```
//!
//! [`TARGETS`] lists them all by name, the name being the corpus folder and the cargo-fuzz
//! target.

mod input;
mod media;
mod meeting;
mod phone_rtp;
mod phone_sdp;
mod phone_sip;
mod relay;
#[cfg(test)]
mod seeds;
mod signaling;
mod world;

pub use media::{ice_tcp_framing, stun};
pub use meeting::meeting_commands;
pub use phone_rtp::phone_rtp;
pub use phone_sdp::phone_sdp;
pub use phone_sip::phone_sip;
pub use relay::{relay_datagram, relay_rtp, relay_sdp};
pub use signaling::{personnummer, rest_body, ws_message};

/// A fuzz target: its name (corpus folder and cargo-fuzz target) and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("stun", stun),
    ("relay_datagram", relay_datagram),
    ("relay_rtp", relay_rtp),
    ("relay_sdp", relay_sdp),
    ("ice_tcp_framing", ice_tcp_framing),
    ("ws_message", ws_message),
    ("rest_body", rest_body),
    ("personnummer", personnummer),
    ("meeting_commands", meeting_commands),
    ("phone_sdp", phone_sdp),
    ("phone_rtp", phone_rtp),
    ("phone_sip", phone_sip),
];

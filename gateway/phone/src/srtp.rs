//! SRTP and SRTCP (RFC 3711) with SDES keys (RFC 4568), for the two suites phone trunks offer:
//! AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32.
//!
//! One [`SrtpContext`] per direction of a call: ours protects with the key we put in our
//! `a=crypto` line, theirs unprotects with the key from the trunk's. Packets are copied
//! from the input into the caller's output buffer, encrypted or decrypted there, and nothing
//! is allocated per packet. On receive, the authentication tag is checked (in constant time)
//! before anything is decrypted, and a packet whose index was already accepted is dropped.
//! On send, protecting the same index twice is refused too: it would reuse keystream.
//!
//! The key derivation rate is zero (the SDES default): session keys are derived once. A key
//! with an MKI (RFC 3711 section 3.1) puts it in every packet it protects and expects it in
//! every packet it unprotects.

mod keys;
mod replay;
#[cfg(test)]
mod tests;

use std::fmt;

use aes::cipher::StreamCipher as _;
use hmac::Mac as _;

use keys::{Labels, SessionKeys};
pub use keys::{MasterKey, Mki, MASTER_LEN, MAX_MKI_LEN};
use replay::Streams;

use crate::{rtp, Error};

/// An SDES crypto suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Suite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

impl Suite {
    /// The suite's name in an `a=crypto` line.
    pub fn sdp_name(self) -> &'static str {
        match self {
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    pub fn from_sdp_name(name: &str) -> Option<Self> {
        [Self::AesCm128HmacSha1_80, Self::AesCm128HmacSha1_32]
            .into_iter()
            .find(|s| s.sdp_name() == name)
    }

    /// Bytes of authentication tag on SRTP packets.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1_80 => 10,
            Self::AesCm128HmacSha1_32 => 4,
        }
    }

    /// Bytes of authentication tag on SRTCP packets: 80 bits for both suites (RFC 4568
    /// section 6.2.2).
    pub fn rtcp_tag_len(self) -> usize {
        10
    }
}

/// The SRTCP header that stays in the clear: the first RTCP header and the sender's SSRC.
const RTCP_CLEAR: usize = 8;
/// The E flag and the 31-bit SRTCP index after the encrypted part.
const RTCP_INDEX_LEN: usize = 4;
const RTCP_ENCRYPTED: u32 = 1 << 31;
const MAX_RTCP_INDEX: u32 = RTCP_ENCRYPTED - 1;

/// One direction of SRTP and SRTCP under one master key.
pub struct SrtpContext {
    suite: Suite,
    rtp: SessionKeys,
    rtcp: SessionKeys,
    rtp_streams: Streams,
    rtcp_streams: Streams,
    /// The next SRTCP index we send.
    rtcp_next: u32,
    /// Packets left under this key (its lifetime), SRTP and SRTCP together.
    remaining: u64,
    /// The key's identifier, carried before the tag of every packet if the key has one.
    mki: Option<Mki>,
}

impl fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpContext")
            .field("suite", &self.suite)
            .field("keys", &"<redacted>")
            .field("remaining", &self.remaining)
            .finish()
    }
}

impl SrtpContext {
    pub fn new(suite: Suite, master: &MasterKey) -> Self {
        Self {
            suite,
            rtp: SessionKeys::derive(master, Labels::Rtp),
            rtcp: SessionKeys::derive(master, Labels::Rtcp),
            rtp_streams: Streams::new(),
            rtcp_streams: Streams::new(),
            rtcp_next: 0,
            remaining: master.lifetime(),
            mki: master.mki(),
        }
    }

    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Encrypts and authenticates the RTP packet `packet` into `out`; returns the length
    /// written (the packet's plus the tag).
    pub fn protect_rtp(&mut self, packet: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let header_len = rtp::header_len(packet)?;
        let len = packet.len();
        let tag_len = self.suite.rtp_tag_len();
        let mki_len = self.mki_len();
        let out = fit(out, len + mki_len + tag_len)?;
        let (ssrc, seq) = ssrc_and_seq(packet);
        let index = match self.rtp_streams.get(ssrc) {
            Some(w) => {
                let index = w.estimate(seq)?;
                w.check(index)?;
                index
            }
            None => u64::from(seq),
        };
        self.spend()?;
        out[..len].copy_from_slice(packet);
        self.rtp
            .keystream(ssrc, index)
            .apply_keystream(&mut out[header_len..len]);
        let tag = self.rtp_tag(&out[..len], index);
        self.write_mki(&mut out[len..len + mki_len]);
        out[len + mki_len..].copy_from_slice(&tag[..tag_len]);
        self.rtp_streams.accept(ssrc, index);
        Ok(len + mki_len + tag_len)
    }

    /// Checks and decrypts the SRTP packet `packet` into `out`; returns the RTP packet's
    /// length. A packet that fails authentication or was already received changes nothing.
    pub fn unprotect_rtp(&mut self, packet: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let tag_len = self.suite.rtp_tag_len();
        let trailer = self.mki_len() + tag_len;
        let len = packet.len().checked_sub(trailer).ok_or(Error::Truncated {
            needed: rtp::HEADER_LEN + trailer,
            got: packet.len(),
        })?;
        let (body, rest) = packet.split_at(len);
        let (mki, tag) = rest.split_at(rest.len() - tag_len);
        self.check_mki(mki)?;
        let header_len = rtp::header_len(body)?;
        let (ssrc, seq) = ssrc_and_seq(body);
        let index = match self.rtp_streams.get(ssrc) {
            Some(w) => {
                let index = w.estimate(seq)?;
                w.check(index)?;
                index
            }
            None => u64::from(seq),
        };
        let mut mac = self.rtp.auth.clone();
        mac.update(body);
        mac.update(&((index >> 16) as u32).to_be_bytes());
        mac.verify_truncated_left(tag)
            .map_err(|_| Error::AuthFailed)?;
        let out = fit(out, len)?;
        self.spend()?;
        out.copy_from_slice(body);
        self.rtp
            .keystream(ssrc, index)
            .apply_keystream(&mut out[header_len..]);
        self.rtp_streams.accept(ssrc, index);
        Ok(len)
    }

    /// Encrypts and authenticates the RTCP compound packet `packet` into `out`; returns the
    /// length written (the packet's, the E flag and index, and the tag).
    pub fn protect_rtcp(&mut self, packet: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        check_rtcp(packet)?;
        let len = packet.len();
        let tag_len = self.suite.rtcp_tag_len();
        let mki_len = self.mki_len();
        let out = fit(out, len + RTCP_INDEX_LEN + mki_len + tag_len)?;
        let index = self.rtcp_next;
        if index > MAX_RTCP_INDEX {
            return Err(Error::KeyExhausted);
        }
        self.spend()?;
        self.rtcp_next += 1;
        let ssrc = rtcp_ssrc(packet);
        out[..len].copy_from_slice(packet);
        self.rtcp
            .keystream(ssrc, u64::from(index))
            .apply_keystream(&mut out[RTCP_CLEAR..len]);
        let authenticated = len + RTCP_INDEX_LEN;
        out[len..authenticated].copy_from_slice(&(RTCP_ENCRYPTED | index).to_be_bytes());
        let mut mac = self.rtcp.auth.clone();
        mac.update(&out[..authenticated]);
        let tag = mac.finalize().into_bytes();
        self.write_mki(&mut out[authenticated..authenticated + mki_len]);
        out[authenticated + mki_len..].copy_from_slice(&tag[..tag_len]);
        Ok(authenticated + mki_len + tag_len)
    }

    /// Checks and, if it was encrypted, decrypts the SRTCP packet `packet` into `out`;
    /// returns the RTCP packet's length.
    pub fn unprotect_rtcp(&mut self, packet: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let tag_len = self.suite.rtcp_tag_len();
        let mki_len = self.mki_len();
        let trailer = RTCP_INDEX_LEN + mki_len + tag_len;
        if packet.len() < RTCP_CLEAR + trailer {
            return Err(Error::Truncated {
                needed: RTCP_CLEAR + trailer,
                got: packet.len(),
            });
        }
        let authenticated = packet.len() - tag_len - mki_len;
        let len = authenticated - RTCP_INDEX_LEN;
        self.check_mki(&packet[authenticated..authenticated + mki_len])?;
        check_rtcp(&packet[..len])?;
        let e_index = u32::from_be_bytes(
            packet[len..authenticated]
                .try_into()
                .expect("four bytes by construction"),
        );
        let index = u64::from(e_index & MAX_RTCP_INDEX);
        let ssrc = rtcp_ssrc(packet);
        if let Some(w) = self.rtcp_streams.get(ssrc) {
            w.check(index)?;
        }
        let mut mac = self.rtcp.auth.clone();
        mac.update(&packet[..authenticated]);
        mac.verify_truncated_left(&packet[authenticated + mki_len..])
            .map_err(|_| Error::AuthFailed)?;
        let out = fit(out, len)?;
        self.spend()?;
        out.copy_from_slice(&packet[..len]);
        if e_index & RTCP_ENCRYPTED != 0 {
            self.rtcp
                .keystream(ssrc, index)
                .apply_keystream(&mut out[RTCP_CLEAR..]);
        }
        self.rtcp_streams.accept(ssrc, index);
        Ok(len)
    }

    fn rtp_tag(&self, authenticated: &[u8], index: u64) -> [u8; 20] {
        let mut mac = self.rtp.auth.clone();
        mac.update(authenticated);
        mac.update(&((index >> 16) as u32).to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    fn mki_len(&self) -> usize {
        self.mki.map_or(0, Mki::byte_len)
    }

    fn write_mki(&self, out: &mut [u8]) {
        if let Some(mki) = self.mki {
            mki.write(out);
        }
    }

    /// A packet under another key of the trunk's is refused before any work is done on it.
    fn check_mki(&self, bytes: &[u8]) -> Result<(), Error> {
        match self.mki {
            Some(mki) if !mki.matches(bytes) => Err(Error::UnknownMki),
            _ => Ok(()),
        }
    }

    /// Counts one packet against the key's lifetime.
    fn spend(&mut self) -> Result<(), Error> {
        self.remaining = self.remaining.checked_sub(1).ok_or(Error::KeyExhausted)?;
        Ok(())
    }
}

/// The first `len` bytes of the caller's buffer, or an error if it is shorter.
fn fit(out: &mut [u8], len: usize) -> Result<&mut [u8], Error> {
    let got = out.len();
    out.get_mut(..len)
        .ok_or(Error::BufferTooSmall { needed: len, got })
}

/// SSRC and sequence number of a packet whose header length was already checked.
fn ssrc_and_seq(packet: &[u8]) -> (u32, u16) {
    (
        u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
        u16::from_be_bytes([packet[2], packet[3]]),
    )
}

fn check_rtcp(packet: &[u8]) -> Result<(), Error> {
    if packet.len() < RTCP_CLEAR {
        return Err(Error::Truncated {
            needed: RTCP_CLEAR,
            got: packet.len(),
        });
    }
    if packet[0] >> 6 != 2 {
        return Err(Error::BadVersion(packet[0] >> 6));
    }
    Ok(())
}

fn rtcp_ssrc(packet: &[u8]) -> u32 {
    u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]])
}

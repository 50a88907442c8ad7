//! The master key of an SDES `a=crypto` line and the session keys derived from it.

use std::fmt;

use aes::cipher::{KeyIvInit, StreamCipher};
use base64::Engine as _;
use hmac::KeyInit as _;
use zeroize::Zeroize;

use crate::Error;

/// Bytes of master key plus master salt for the AES_CM_128 suites.
pub const MASTER_LEN: usize = 30;
const KEY_LEN: usize = 16;
pub(super) const SALT_LEN: usize = 14;
const AUTH_KEY_LEN: usize = 20;
/// Base64 of 30 bytes: 40 characters, no padding.
const INLINE_LEN: usize = 40;

/// The most SRTP packets one key may protect (RFC 3711 section 9.2: 2^48).
const MAX_LIFETIME: u64 = 1 << 48;
/// A lifetime below this is refused. 2^20 packets (RFC 4568's own example) is 5.8 hours of
/// 20 ms audio; after it the context refuses to go on ([`Error::KeyExhausted`]) until the
/// call is re-keyed.
const MIN_LIFETIME: u64 = 1 << 20;
/// The longest master key identifier RFC 4568 allows, in bytes.
pub const MAX_MKI_LEN: usize = 128;

pub(super) type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;
pub(super) type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// A master key and salt, with the key's lifetime in packets. Debug never shows the bytes.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; MASTER_LEN],
    lifetime: u64,
    mki: Option<Mki>,
}

/// A master key identifier (RFC 3711 section 3.1): a number that every packet under the key
/// carries, big-endian in a fixed number of bytes, between the payload and the tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mki {
    value: u32,
    len: u8,
}

impl Mki {
    /// An MKI of `len` bytes (1 to 128) holding `value`, if it fits.
    pub fn new(value: u32, len: usize) -> Option<Self> {
        let fits = len >= 4 || u64::from(value) < 1u64 << (8 * len);
        ((1..=MAX_MKI_LEN).contains(&len) && fits).then_some(Self {
            value,
            len: len as u8,
        })
    }

    pub fn byte_len(self) -> usize {
        usize::from(self.len)
    }

    pub fn value(self) -> u32 {
        self.value
    }

    /// Writes the MKI to `out`, which is exactly [`Self::byte_len`] bytes.
    pub(super) fn write(self, out: &mut [u8]) {
        let be = self.value.to_be_bytes();
        let n = out.len().min(4);
        let split = out.len() - n;
        out[..split].fill(0);
        out[split..].copy_from_slice(&be[4 - n..]);
    }

    /// Whether `bytes` (exactly [`Self::byte_len`] long) carry this MKI.
    pub(super) fn matches(self, bytes: &[u8]) -> bool {
        let n = bytes.len().min(4);
        let split = bytes.len() - n;
        let mut be = [0u8; 4];
        be[4 - n..].copy_from_slice(&bytes[split..]);
        bytes[..split].iter().all(|&b| b == 0) && u32::from_be_bytes(be) == self.value
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl MasterKey {
    /// A key from 30 bytes of key and salt, usable for the full SRTP lifetime. The caller
    /// draws them from a cryptographic random source.
    pub fn from_bytes(bytes: [u8; MASTER_LEN]) -> Self {
        Self {
            bytes,
            lifetime: MAX_LIFETIME,
            mki: None,
        }
    }

    /// Reads the key parameters of an `a=crypto` line (RFC 4568 section 6.1):
    /// `inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>]`.
    ///
    /// A lifetime (decimal or `2^n`) is kept and enforced if it is at least 2^20 packets; an
    /// MKI of up to 128 bytes is kept and expected in every packet. Several keys
    /// (`;`-separated, which only make sense with MKIs that switch keys) are refused.
    pub fn parse_key_params(params: &str) -> Result<Self, Error> {
        if params.contains(';') {
            return Err(Error::BadKeyParams("more than one key"));
        }
        let rest = params
            .strip_prefix("inline:")
            .ok_or(Error::BadKeyParams("not an inline key"))?;
        let mut parts = rest.split('|');
        let encoded = parts.next().unwrap_or_default();
        if encoded.len() != INLINE_LEN {
            return Err(Error::BadKeyParams("key is not 30 bytes"));
        }
        let mut bytes = [0u8; MASTER_LEN];
        // 40 characters of base64 decode to at most 30 bytes, so the slice always fits.
        let decoded = base64::engine::general_purpose::STANDARD
            .decode_slice(encoded, &mut bytes)
            .map_err(|_| Error::BadKeyParams("key is not base64"))?;
        let mut key = Self::from_bytes(bytes);
        bytes.zeroize();
        if decoded != MASTER_LEN {
            return Err(Error::BadKeyParams("key is not 30 bytes"));
        }
        // Grammar: key ["|" lifetime] ["|" mki-value ":" mki-length].
        let mut lifetime_seen = false;
        for part in parts {
            if key.mki.is_some() {
                return Err(Error::BadKeyParams("parameters after the MKI"));
            }
            if let Some((value, len)) = part.split_once(':') {
                key.mki = Some(parse_mki(value, len)?);
            } else if lifetime_seen {
                return Err(Error::BadKeyParams("lifetime given twice"));
            } else {
                key.lifetime = parse_lifetime(part)?;
                lifetime_seen = true;
            }
        }
        Ok(key)
    }

    /// The key parameters to put in our own `a=crypto` line: `inline:<base64>`.
    pub fn key_params(&self) -> String {
        let mut out = String::from("inline:");
        base64::engine::general_purpose::STANDARD.encode_string(self.bytes, &mut out);
        out
    }

    /// How many packets the key may protect.
    pub fn lifetime(&self) -> u64 {
        self.lifetime
    }

    /// The key's identifier in packets, if its `a=crypto` line gave one.
    pub fn mki(&self) -> Option<Mki> {
        self.mki
    }

    fn key(&self) -> &[u8; KEY_LEN] {
        self.bytes[..KEY_LEN].try_into().expect("16 of 30 bytes")
    }

    fn salt(&self) -> &[u8] {
        &self.bytes[KEY_LEN..]
    }

    /// The AES-CM pseudo-random function of RFC 3711 section 4.3.3 with a key derivation
    /// rate of zero: `out` is the keystream under the master key at IV
    /// `(master_salt XOR label << 48) << 16`.
    pub(super) fn prf(&self, label: u8, out: &mut [u8]) {
        let mut iv = [0u8; 16];
        iv[..SALT_LEN].copy_from_slice(self.salt());
        // The label sits seven bytes from the end of the 112-bit salt.
        iv[7] ^= label;
        out.fill(0);
        Aes128Ctr::new(self.key().into(), &iv.into()).apply_keystream(out);
        iv.zeroize();
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("bytes", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .field("mki", &self.mki)
            .finish()
    }
}

fn parse_mki(value: &str, len: &str) -> Result<Mki, Error> {
    const BAD: Error = Error::BadKeyParams("bad MKI");
    // At most 10 and 3 digits (RFC 4568 section 9.2); parse() bounds them by type.
    let value: u32 = value.parse().map_err(|_| BAD)?;
    let len: usize = len.parse().map_err(|_| BAD)?;
    Mki::new(value, len).ok_or(BAD)
}

fn parse_lifetime(s: &str) -> Result<u64, Error> {
    const BAD: Error = Error::BadKeyParams("bad lifetime");
    let n = if let Some(exp) = s.strip_prefix("2^") {
        let exp: u32 = exp.parse().map_err(|_| BAD)?;
        1u64.checked_shl(exp).ok_or(BAD)?
    } else {
        s.parse::<u64>().map_err(|_| BAD)?
    };
    if n < MIN_LIFETIME {
        return Err(Error::BadKeyParams("lifetime too short"));
    }
    Ok(n.min(MAX_LIFETIME))
}

/// PRF labels (RFC 3711 section 4.3.1 and 4.3.2).
#[derive(Clone, Copy)]
pub(super) enum Labels {
    Rtp,
    Rtcp,
}

/// The session keys of one direction of SRTP or SRTCP, ready for use: the AES key schedule
/// and the keyed HMAC are built once, then cloned per packet.
#[derive(Clone)]
pub(super) struct SessionKeys {
    pub(super) cipher: aes::Aes128,
    pub(super) salt: [u8; SALT_LEN],
    pub(super) auth: HmacSha1,
}

impl SessionKeys {
    pub(super) fn derive(master: &MasterKey, labels: Labels) -> Self {
        let base = match labels {
            Labels::Rtp => 0,
            Labels::Rtcp => 3,
        };
        let mut key = [0u8; KEY_LEN];
        let mut auth = [0u8; AUTH_KEY_LEN];
        let mut salt = [0u8; SALT_LEN];
        master.prf(base, &mut key);
        master.prf(base + 1, &mut auth);
        master.prf(base + 2, &mut salt);
        let keys = Self {
            cipher: aes::Aes128::new(&key.into()),
            salt,
            auth: HmacSha1::new_from_slice(&auth).expect("HMAC takes any key length"),
        };
        key.zeroize();
        auth.zeroize();
        salt.zeroize();
        keys
    }

    /// The AES-CM keystream for one packet (RFC 3711 section 4.1.1):
    /// IV = (salt << 16) XOR (SSRC << 64) XOR (index << 16).
    pub(super) fn keystream(&self, ssrc: u32, index: u64) -> Aes128Ctr {
        use aes::cipher::InnerIvInit as _;
        let mut iv = [0u8; 16];
        iv[..SALT_LEN].copy_from_slice(&self.salt);
        for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
            *b ^= s;
        }
        for (b, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
            *b ^= s;
        }
        let core = ctr::CtrCore::inner_iv_init(self.cipher.clone(), &iv.into());
        iv.zeroize();
        Aes128Ctr::from_core(core)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_KEY: &str = "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm";

    #[test]
    fn inline_key_reads_back_as_written() {
        let key = MasterKey::parse_key_params(RFC_KEY).unwrap();
        assert_eq!(key.key_params(), RFC_KEY);
        assert_eq!(key.key()[..2], [0xe1, 0xf9]);
        assert_eq!(key.salt()[..2], [0x0e, 0xc6]);
        assert_eq!(key.lifetime(), MAX_LIFETIME);
    }

    #[test]
    fn lifetime_and_mki_are_kept_within_bounds() {
        let with = |tail: &str| MasterKey::parse_key_params(&format!("{RFC_KEY}{tail}"));
        assert_eq!(with("|2^31").unwrap().lifetime(), 1 << 31);
        assert_eq!(with("|16777216").unwrap().lifetime(), 1 << 24);
        assert_eq!(with("|2^60").unwrap().lifetime(), MAX_LIFETIME);
        let k = with("|2^20|1:32").unwrap();
        assert_eq!(k.lifetime(), 1 << 20);
        assert_eq!(k.mki(), Mki::new(1, 32));
        let short = with("|7:1").unwrap().mki().unwrap();
        assert_eq!((short.value(), short.byte_len()), (7, 1));
        assert_eq!(with("|2^31").unwrap().mki(), None);
        for bad in [
            "|2^19",
            "|1000",
            "|2^x",
            "|2^99",
            "|2^31|2^31",
            "|1:0",
            "|1:129",
            "|256:1",
            "|x:4",
            "|1:4|2^31",
            "|1:4|2:4",
            "|4294967296:4",
        ] {
            assert!(with(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn mki_is_written_big_endian_in_its_length() {
        let m = Mki::new(0x0102, 6).unwrap();
        let mut out = [0xffu8; 6];
        m.write(&mut out);
        assert_eq!(out, [0, 0, 0, 0, 1, 2]);
        assert!(m.matches(&out));
        assert!(!m.matches(&[0, 1, 0, 0, 1, 2]));
        let short = Mki::new(0xab, 1).unwrap();
        let mut one = [0u8; 1];
        short.write(&mut one);
        assert_eq!(one, [0xab]);
        assert!(short.matches(&one) && !short.matches(&[0xac]));
    }

    #[test]
    fn malformed_key_params_are_errors() {
        for bad in [
            "",
            "inline:",
            "uri:https://example.org/key",
            "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqv",
            "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvmm",
            "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOq!m",
            "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm;inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm",
            "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYL====",
        ] {
            assert!(
                matches!(MasterKey::parse_key_params(bad), Err(Error::BadKeyParams(_))),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn debug_and_errors_never_show_the_key() {
        let key = MasterKey::parse_key_params(RFC_KEY).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.contains("4fl6") && !shown.contains("225"), "{shown}");
        let err = MasterKey::parse_key_params(&format!("{RFC_KEY}|1:0")).unwrap_err();
        assert!(!err.to_string().contains("4fl6"));
    }
}

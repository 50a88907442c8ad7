//! RTP packets (RFC 3550) as the phone side reads and writes them.
//!
//! [`RtpPacket::parse`] borrows the datagram: the header's fields are copied out, the CSRC
//! list, the extension and the payload are slices into it, and nothing is allocated.
//! [`RtpHeader::write`] puts a header (without CSRCs or extension, which the phone side never
//! sends) into the caller's buffer. [`classify`] tells RTP from RTCP when both share a port
//! (RFC 5761 section 4).

use crate::Error;

/// Length of the fixed RTP header, without CSRCs or extension.
pub const HEADER_LEN: usize = 12;

/// A synchronisation source identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssrc(pub u32);

/// A payload type, 0..=127.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PayloadType(u8);

impl PayloadType {
    /// PCMU, G.711 µ-law (RFC 3551).
    pub const PCMU: Self = Self(0);
    /// PCMA, G.711 A-law (RFC 3551).
    pub const PCMA: Self = Self(8);
    /// G.722 (RFC 3551).
    pub const G722: Self = Self(9);

    /// A payload type, if it fits in seven bits.
    pub fn new(pt: u8) -> Option<Self> {
        (pt < 128).then_some(Self(pt))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// The fixed header fields the phone side acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: PayloadType,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: Ssrc,
}

/// A header extension (RFC 3550 5.3.1): its profile word and its data, unparsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    pub profile: u16,
    pub data: &'a [u8],
}

/// One parsed RTP packet, borrowing the datagram it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    /// Whether the padding bit was set (the padding is already cut from `payload`).
    pub padded: bool,
    csrcs: &'a [u8],
    pub extension: Option<Extension<'a>>,
    pub payload: &'a [u8],
    /// Bytes from the start of the datagram to the payload.
    pub header_len: usize,
}

impl<'a> RtpPacket<'a> {
    /// Reads an RTP packet. Every length comes from the datagram and is checked against it.
    pub fn parse(buf: &'a [u8]) -> Result<Self, Error> {
        let header_len = header_len(buf)?;
        let first = buf[0];
        let csrc_count = usize::from(first & 0x0f);
        let csrcs = &buf[HEADER_LEN..HEADER_LEN + 4 * csrc_count];
        let extension = if first & 0x10 != 0 {
            let at = HEADER_LEN + 4 * csrc_count;
            Some(Extension {
                profile: u16::from_be_bytes([buf[at], buf[at + 1]]),
                data: &buf[at + 4..header_len],
            })
        } else {
            None
        };
        let padded = first & 0x20 != 0;
        let mut end = buf.len();
        if padded {
            // The last byte counts the padding, itself included (RFC 3550 5.1).
            let pad = usize::from(buf[end - 1]);
            if pad == 0 || pad > end - header_len {
                return Err(Error::BadPadding);
            }
            end -= pad;
        }
        let header = RtpHeader {
            marker: buf[1] & 0x80 != 0,
            payload_type: PayloadType(buf[1] & 0x7f),
            sequence: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            ssrc: Ssrc(u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]])),
        };
        Ok(Self {
            header,
            padded,
            csrcs,
            extension,
            payload: &buf[header_len..end],
            header_len,
        })
    }

    /// The contributing sources, at most 15.
    pub fn csrcs(&self) -> impl Iterator<Item = Ssrc> + 'a {
        self.csrcs
            .chunks_exact(4)
            .map(|c| Ssrc(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }
}

/// The length of an RTP header (fixed part, CSRCs and extension), checked against `buf`.
///
/// SRTP needs only this, not the whole parse: the payload it encrypts starts here.
pub fn header_len(buf: &[u8]) -> Result<usize, Error> {
    need(buf, HEADER_LEN)?;
    let version = buf[0] >> 6;
    if version != 2 {
        return Err(Error::BadVersion(version));
    }
    // Four bits: at most 15 CSRCs, so this cannot overflow.
    let mut len = HEADER_LEN + 4 * usize::from(buf[0] & 0x0f);
    need(buf, len)?;
    if buf[0] & 0x10 != 0 {
        need(buf, len + 4)?;
        let words = usize::from(u16::from_be_bytes([buf[len + 2], buf[len + 3]]));
        len += 4 + 4 * words;
        need(buf, len)?;
    }
    Ok(len)
}

fn need(buf: &[u8], needed: usize) -> Result<(), Error> {
    if buf.len() < needed {
        return Err(Error::Truncated {
            needed,
            got: buf.len(),
        });
    }
    Ok(())
}

impl RtpHeader {
    /// Writes the 12-byte header (version 2, no padding, extension or CSRCs) to the start of
    /// `out` and returns its length; the caller writes the payload after it.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
        if out.len() < HEADER_LEN {
            return Err(Error::BufferTooSmall {
                needed: HEADER_LEN,
                got: out.len(),
            });
        }
        out[0] = 0x80;
        out[1] = (u8::from(self.marker) << 7) | self.payload_type.0;
        out[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        out[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.0.to_be_bytes());
        Ok(HEADER_LEN)
    }
}

/// What a datagram on a shared RTP/RTCP port is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Rtp,
    Rtcp,
    /// Not version 2 or shorter than an RTP or RTCP header.
    Other,
}

/// Tells RTP from RTCP on a shared port by the second byte (RFC 5761 section 4): RTCP packet
/// types 192..=223 fall where RTP would have payload types 64..=95 with or without the marker
/// bit, a range RTP must not use when the port is shared.
pub fn classify(buf: &[u8]) -> PacketKind {
    // An RTCP header is 8 bytes, an RTP header 12; the shorter bound is checked first.
    if buf.len() < 8 || buf[0] >> 6 != 2 {
        return PacketKind::Other;
    }
    match buf[1] {
        192..=223 => PacketKind::Rtcp,
        _ if buf.len() >= HEADER_LEN => PacketKind::Rtp,
        _ => PacketKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RtpHeader {
        RtpHeader {
            marker: true,
            payload_type: PayloadType::PCMA,
            sequence: 0xbeef,
            timestamp: 0x0102_0304,
            ssrc: Ssrc(0xcafe_f00d),
        }
    }

    #[test]
    fn written_header_reads_back_with_its_payload() {
        let mut buf = [0u8; 20];
        let n = header().write(&mut buf).unwrap();
        buf[n..].copy_from_slice(b"abcdefgh");
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.header, header());
        assert_eq!(p.payload, b"abcdefgh");
        assert_eq!(p.header_len, 12);
        assert!(!p.padded);
        assert!(p.extension.is_none());
        assert_eq!(p.csrcs().count(), 0);
    }

    #[test]
    fn csrcs_extension_and_padding_are_found_and_cut() {
        let mut buf = vec![0xb2, 0x08, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        buf.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 9]); // two CSRCs
        buf.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]); // one-word extension
        buf.extend_from_slice(b"pay");
        buf.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![Ssrc(7), Ssrc(9)]);
        let ext = p.extension.unwrap();
        assert_eq!(ext.profile, 0xbede);
        assert_eq!(ext.data, &[0x10, 0xaa, 0, 0]);
        assert_eq!(p.payload, b"pay");
        assert!(p.padded);
        assert_eq!(p.header_len, 28);
    }

    #[test]
    fn wrong_version_is_refused() {
        let mut buf = [0u8; 12];
        header().write(&mut buf).unwrap();
        buf[0] = 0x40;
        assert_eq!(RtpPacket::parse(&buf), Err(Error::BadVersion(1)));
    }

    #[test]
    fn lengths_past_the_datagram_are_errors_not_panics() {
        // 15 CSRCs announced in a 12-byte packet.
        assert!(matches!(
            RtpPacket::parse(&[0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(Error::Truncated { needed: 72, .. })
        ));
        // Extension of 0xffff words.
        let buf = [
            0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0xff, 0xff,
        ];
        assert!(matches!(
            RtpPacket::parse(&buf),
            Err(Error::Truncated { .. })
        ));
        // Padding longer than the payload, and padding of zero.
        let mut buf = [0u8; 14];
        header().write(&mut buf).unwrap();
        buf[0] |= 0x20;
        buf[13] = 3;
        assert_eq!(RtpPacket::parse(&buf), Err(Error::BadPadding));
        buf[13] = 0;
        assert_eq!(RtpPacket::parse(&buf), Err(Error::BadPadding));
        for n in 0..12 {
            assert!(RtpPacket::parse(&buf[..n]).is_err());
        }
    }

    #[test]
    fn writing_into_a_short_buffer_is_an_error() {
        let mut buf = [0u8; 11];
        assert!(matches!(
            header().write(&mut buf),
            Err(Error::BufferTooSmall {
                needed: 12,
                got: 11
            })
        ));
    }

    #[test]
    fn payload_type_is_seven_bits() {
        assert_eq!(PayloadType::new(127).map(PayloadType::get), Some(127));
        assert_eq!(PayloadType::new(128), None);
    }

    #[test]
    fn rtcp_and_rtp_share_a_port_by_payload_type_range() {
        let mut rtp = [0u8; 12];
        header().write(&mut rtp).unwrap(); // PCMA with marker: second byte 0x88
        assert_eq!(classify(&rtp), PacketKind::Rtp);
        // Receiver report (201) and sender report (200) as the second byte.
        let rr = [0x81, 201, 0, 7, 0, 0, 0, 1];
        assert_eq!(classify(&rr), PacketKind::Rtcp);
        let sr = [0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(classify(&sr), PacketKind::Rtcp);
        // Dynamic PT 111 (Opus) stays RTP.
        rtp[1] = 111;
        assert_eq!(classify(&rtp), PacketKind::Rtp);
        assert_eq!(classify(&[0x80, 0, 0]), PacketKind::Other);
        assert_eq!(classify(&[0x00; 12]), PacketKind::Other);
        // Eight bytes, not RTCP: too short for RTP.
        assert_eq!(classify(&[0x80, 8, 0, 0, 0, 0, 0, 0]), PacketKind::Other);
    }
}

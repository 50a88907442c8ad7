//! Just enough STUN (RFC 8489) to route a binding request to its transport.
//!
//! The relay reads one thing before any transport sees a datagram: the local ICE username
//! fragment in a binding request's USERNAME attribute. Integrity, fingerprint and everything
//! else are checked by the transport that owns that fragment.

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
const HEADER_LEN: usize = 20;
const ATTR_USERNAME: u16 = 0x0006;
const BINDING_REQUEST: u16 = 0x0001;

/// What kind of packet a datagram is, from its first byte (RFC 7983).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demux {
    Stun,
    Dtls,
    Rtp,
    Other,
}

pub fn classify(datagram: &[u8]) -> Demux {
    match datagram.first() {
        Some(0..=3) => Demux::Stun,
        Some(20..=63) => Demux::Dtls,
        Some(128..=191) => Demux::Rtp,
        _ => Demux::Other,
    }
}

/// The local username fragment of a STUN binding request (`local:remote`), if the datagram is
/// a well-formed one. Never panics, whatever the input.
pub fn local_ufrag(datagram: &[u8]) -> Option<&str> {
    if datagram.len() < HEADER_LEN || datagram[4..8] != MAGIC_COOKIE {
        return None;
    }
    let msg_type = u16::from_be_bytes([datagram[0], datagram[1]]);
    if msg_type != BINDING_REQUEST {
        return None;
    }
    let body_len = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    let body = datagram.get(HEADER_LEN..HEADER_LEN + body_len)?;
    let mut rest = body;
    while rest.len() >= 4 {
        let attr_type = u16::from_be_bytes([rest[0], rest[1]]);
        let attr_len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + attr_len)?;
        if attr_type == ATTR_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            let (local, _remote) = username.split_once(':')?;
            return (!local.is_empty()).then_some(local);
        }
        // Attributes are padded to four bytes.
        let padded = (attr_len + 3) & !3;
        rest = rest.get(4 + padded..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(username: &[u8]) -> Vec<u8> {
        let padded = (username.len() + 3) & !3;
        let mut v = vec![0x00, 0x01];
        v.extend_from_slice(&((4 + padded) as u16).to_be_bytes());
        v.extend_from_slice(&MAGIC_COOKIE);
        v.extend_from_slice(&[7; 12]);
        v.extend_from_slice(&ATTR_USERNAME.to_be_bytes());
        v.extend_from_slice(&(username.len() as u16).to_be_bytes());
        v.extend_from_slice(username);
        v.resize(HEADER_LEN + 4 + padded, 0);
        v
    }

    #[test]
    fn finds_the_local_fragment() {
        assert_eq!(local_ufrag(&request(b"abcd:wxyz")), Some("abcd"));
    }

    #[test]
    fn refuses_malformed_requests() {
        assert_eq!(local_ufrag(&[]), None);
        assert_eq!(local_ufrag(&[0; 19]), None);
        assert_eq!(local_ufrag(&request(b"nocolon")), None);
        assert_eq!(local_ufrag(&request(b":remote")), None);
        assert_eq!(local_ufrag(&request(&[0xff, 0xfe, b':', b'a'])), None);
        let mut lying = request(b"abcd:wxyz");
        lying[3] = 200; // length past the end
        assert_eq!(local_ufrag(&lying), None);
        let mut wrong_cookie = request(b"abcd:wxyz");
        wrong_cookie[4] = 0;
        assert_eq!(local_ufrag(&wrong_cookie), None);
    }

    #[test]
    fn never_panics_on_any_short_input() {
        // Every prefix and every single-byte corruption of a valid request.
        let valid = request(b"abcd:wxyz");
        for n in 0..=valid.len() {
            let _ = local_ufrag(&valid[..n]);
        }
        for i in 0..valid.len() {
            for b in [0u8, 1, 0x7f, 0xff] {
                let mut v = valid.clone();
                v[i] = b;
                let _ = local_ufrag(&v);
            }
        }
    }

    #[test]
    fn classifies_by_first_byte() {
        assert_eq!(classify(&[0]), Demux::Stun);
        assert_eq!(classify(&[22]), Demux::Dtls);
        assert_eq!(classify(&[0x80]), Demux::Rtp);
        assert_eq!(classify(&[0xff]), Demux::Other);
        assert_eq!(classify(&[]), Demux::Other);
    }
}

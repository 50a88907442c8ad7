//! Reading a remote SDP body: line by line, every count bounded before anything is kept.
//!
//! Only the audio m-lines keep their attributes; every other m-line is kept as far as an
//! answer needs to refuse it. Unknown lines and attributes are skipped (RFC 4566 §5.13).

use std::net::IpAddr;

use super::{Codec, SdpError::Malformed};
use super::{
    CryptoAttribute, CryptoSuite, Direction, Encoding, KeyParams, MediaLine, PayloadFormat,
    Profile, RemoteAudio, RemoteSdp, SdpError, MAX_ATTRIBUTES, MAX_CRYPTO, MAX_LINES,
    MAX_LINE_BYTES, MAX_MEDIA, MAX_PAYLOAD_TYPES, MAX_SDP_BYTES,
};

pub(super) fn parse(bytes: &[u8]) -> Result<RemoteSdp, SdpError> {
    if bytes.len() > MAX_SDP_BYTES {
        return Err(SdpError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| SdpError::NotUtf8)?;
    let mut reader = Reader::default();
    let mut count = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            continue;
        }
        count += 1;
        if count > MAX_LINES {
            return Err(SdpError::TooManyLines);
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(SdpError::LineTooLong(n));
        }
        reader.line(n, line)?;
    }
    reader.finish()
}

/// One m-line and, for audio, its attributes.
struct Section {
    line: MediaLine,
    /// Some for an audio m-line with a profile we speak.
    profile: Option<Profile>,
    formats: Vec<PayloadFormat>,
    address: Option<IpAddr>,
    ptime: Option<u16>,
    direction: Option<Direction>,
    rtcp_mux: bool,
    crypto: Vec<CryptoAttribute>,
    attributes: usize,
}

#[derive(Default)]
struct Reader {
    started: bool,
    version: Option<u64>,
    address: Option<IpAddr>,
    direction: Option<Direction>,
    attributes: usize,
    media: Vec<Section>,
}

impl Reader {
    fn line(&mut self, n: usize, line: &str) -> Result<(), SdpError> {
        let b = line.as_bytes();
        // Both bytes ASCII, so index 2 is a character boundary.
        if b.len() < 2 || b[1] != b'=' || !b[0].is_ascii_lowercase() {
            return Err(Malformed {
                line: n,
                what: "line",
            });
        }
        let (kind, value) = (b[0], &line[2..]);
        if !self.started {
            if kind != b'v' || value != "0" {
                return Err(SdpError::MissingVersion);
            }
            self.started = true;
            return Ok(());
        }
        match kind {
            b'o' if self.media.is_empty() => self.version = origin_version(value),
            b'c' => {
                let address = connection(value).ok_or(Malformed {
                    line: n,
                    what: "connection",
                })?;
                match self.media.last_mut() {
                    Some(section) => section.address = Some(address),
                    None => self.address = Some(address),
                }
            }
            b'm' => {
                if self.media.len() == MAX_MEDIA {
                    return Err(SdpError::TooManyMedia);
                }
                self.media.push(media(n, value)?);
            }
            b'a' => match self.media.last_mut() {
                Some(section) => section.attribute(n, value)?,
                None => {
                    self.attributes += 1;
                    if self.attributes > MAX_ATTRIBUTES {
                        return Err(SdpError::TooManyAttributes);
                    }
                    // Only a direction means anything at session level to us.
                    if let Some(direction) = Direction::parse(value) {
                        self.direction = Some(direction);
                    }
                }
            },
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<RemoteSdp, SdpError> {
        if !self.started {
            return Err(SdpError::MissingVersion);
        }
        let mut audio_seen = false;
        let mut chosen = None;
        for (i, section) in self.media.iter().enumerate() {
            if section.line.kind == "audio" {
                audio_seen = true;
                if section.profile.is_some() {
                    chosen = Some(i);
                    break;
                }
            }
        }
        let Some(audio_index) = chosen else {
            return Err(if audio_seen {
                SdpError::UnsupportedProfile
            } else {
                SdpError::NoAudio
            });
        };
        let media: Vec<MediaLine> = self.media.iter().map(|s| s.line.clone()).collect();
        let Some(section) = self.media.into_iter().nth(audio_index) else {
            return Err(SdpError::NoAudio);
        };
        let address = section.address.or(self.address);
        if address.is_none() && section.line.port != 0 {
            return Err(SdpError::MissingConnection);
        }
        let audio = RemoteAudio {
            address,
            port: section.line.port,
            profile: section.profile.unwrap_or(Profile::Avp),
            formats: section
                .formats
                .into_iter()
                .map(with_static_mapping)
                .collect(),
            ptime: section.ptime,
            direction: section.direction.or(self.direction).unwrap_or_default(),
            rtcp_mux: section.rtcp_mux,
            crypto: section.crypto,
        };
        Ok(RemoteSdp {
            version: self.version,
            media,
            audio_index,
            audio,
        })
    }
}

impl Section {
    fn attribute(&mut self, n: usize, value: &str) -> Result<(), SdpError> {
        self.attributes += 1;
        if self.attributes > MAX_ATTRIBUTES {
            return Err(SdpError::TooManyAttributes);
        }
        if self.profile.is_none() {
            return Ok(());
        }
        let (name, rest) = value.split_once(':').unwrap_or((value, ""));
        match name {
            "rtpmap" => self.rtpmap(n, rest),
            "fmtp" => {
                let (pt, params) = rest.split_once(' ').unwrap_or((rest, ""));
                let pt = payload_type(pt).ok_or(Malformed {
                    line: n,
                    what: "fmtp",
                })?;
                if let Some(format) = self.formats.iter_mut().find(|f| f.pt == pt) {
                    format.fmtp = Some(params.trim().to_owned());
                }
                Ok(())
            }
            "ptime" => {
                // Only a preference: "20.0" is 20, and a ptime we cannot read is none rather
                // than a failed call.
                let whole = rest.trim().split('.').next().unwrap_or_default();
                self.ptime = whole.parse().ok();
                Ok(())
            }
            "rtcp-mux" => {
                self.rtcp_mux = true;
                Ok(())
            }
            "crypto" => self.crypto(n, rest),
            _ => {
                if let Some(direction) = Direction::parse(value) {
                    self.direction = Some(direction);
                }
                Ok(())
            }
        }
    }

    /// `a=rtpmap:<pt> <name>/<clock>[/<channels>]`, for a payload type of the m-line.
    fn rtpmap(&mut self, n: usize, rest: &str) -> Result<(), SdpError> {
        let bad = Malformed {
            line: n,
            what: "rtpmap",
        };
        let (pt, map) = rest.split_once(' ').ok_or(bad.clone())?;
        let pt = payload_type(pt).ok_or(bad.clone())?;
        let mut parts = map.trim().split('/');
        let name = parts.next().unwrap_or_default();
        let clock: u32 = parts
            .next()
            .and_then(|c| c.parse().ok())
            .ok_or(bad.clone())?;
        let channels: Option<u8> = match parts.next() {
            Some(c) => Some(c.parse().map_err(|_| bad.clone())?),
            None => None,
        };
        if parts.next().is_some() {
            return Err(bad);
        }
        if let Some(format) = self.formats.iter_mut().find(|f| f.pt == pt) {
            if format.encoding.is_none() {
                format.encoding = Some(encoding(name));
                format.clock_rate = Some(clock);
                format.channels = channels;
            }
        }
        Ok(())
    }

    /// `a=crypto:<tag> <suite> <key-params> [<session-params>...]` (RFC 4568 §9.1).
    fn crypto(&mut self, n: usize, rest: &str) -> Result<(), SdpError> {
        if self.crypto.len() == MAX_CRYPTO {
            return Err(SdpError::TooManyCrypto);
        }
        let bad = Malformed {
            line: n,
            what: "crypto",
        };
        let mut parts = rest.split_ascii_whitespace();
        let (Some(tag), Some(suite), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad);
        };
        if tag.is_empty() || tag.len() > 9 || !tag.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad);
        }
        let tag = tag.parse().map_err(|_| bad.clone())?;
        self.crypto.push(CryptoAttribute {
            tag,
            suite: CryptoSuite::parse(suite),
            key_params: KeyParams(key.to_owned()),
            has_session_params: parts.next().is_some(),
        });
        Ok(())
    }
}

/// `o=<user> <sess-id> <sess-version> IN <addrtype> <address>`: the version, if a number.
fn origin_version(value: &str) -> Option<u64> {
    value.split_ascii_whitespace().nth(2)?.parse().ok()
}

/// `c=IN IP4 <address>[/ttl]` or `c=IN IP6 <address>`. A host name is refused: a sans-IO core
/// resolves nothing.
fn connection(value: &str) -> Option<IpAddr> {
    let mut parts = value.split_ascii_whitespace();
    let (net, kind, address) = (parts.next()?, parts.next()?, parts.next()?);
    if net != "IN" || parts.next().is_some() {
        return None;
    }
    let address = address.split('/').next()?;
    let ip: IpAddr = address.parse().ok()?;
    match (kind, ip) {
        ("IP4", IpAddr::V4(_)) | ("IP6", IpAddr::V6(_)) => Some(ip),
        _ => None,
    }
}

/// `m=<media> <port>[/<count>] <proto> <fmt> ...`
fn media(n: usize, value: &str) -> Result<Section, SdpError> {
    let bad = Malformed {
        line: n,
        what: "m-line",
    };
    let mut parts = value.split_ascii_whitespace();
    let (Some(kind), Some(port), Some(proto)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad);
    };
    let port = match port.split_once('/') {
        Some((port, "1")) => port,
        Some(_) => return Err(bad),
        None => port,
    };
    let port: u16 = port.parse().map_err(|_| bad.clone())?;
    let formats: Vec<&str> = parts.by_ref().take(MAX_PAYLOAD_TYPES + 1).collect();
    if formats.len() > MAX_PAYLOAD_TYPES {
        return Err(SdpError::TooManyPayloadTypes);
    }
    let first_format = formats.first().ok_or(bad.clone())?;
    let profile = if kind == "audio" {
        Profile::parse(proto)
    } else {
        None
    };
    let mut payloads = Vec::new();
    if profile.is_some() {
        for format in &formats {
            let pt = payload_type(format).ok_or(bad.clone())?;
            if payloads.iter().any(|p: &PayloadFormat| p.pt == pt) {
                return Err(bad);
            }
            payloads.push(PayloadFormat {
                pt,
                encoding: None,
                clock_rate: None,
                channels: None,
                fmtp: None,
            });
        }
    }
    Ok(Section {
        line: MediaLine {
            kind: kind.to_owned(),
            port,
            proto: proto.to_owned(),
            first_format: (*first_format).to_owned(),
        },
        profile,
        formats: payloads,
        address: None,
        ptime: None,
        direction: None,
        rtcp_mux: false,
        crypto: Vec::new(),
        attributes: 0,
    })
}

fn payload_type(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|pt| *pt <= 127)
}

fn encoding(name: &str) -> Encoding {
    for codec in [Codec::Pcma, Codec::Pcmu, Codec::G722] {
        if name.eq_ignore_ascii_case(codec.name()) {
            return Encoding::Audio(codec);
        }
    }
    if name.eq_ignore_ascii_case("telephone-event") {
        Encoding::TelephoneEvent
    } else {
        Encoding::Other
    }
}

/// A static payload type without an rtpmap means what RFC 3551 assigns it.
fn with_static_mapping(mut format: PayloadFormat) -> PayloadFormat {
    if format.encoding.is_none() {
        let codec = [Codec::Pcma, Codec::Pcmu, Codec::G722]
            .into_iter()
            .find(|c| c.static_pt() == format.pt);
        if let Some(codec) = codec {
            format.encoding = Some(Encoding::Audio(codec));
            format.clock_rate = Some(codec.clock_rate());
        }
    }
    format
}

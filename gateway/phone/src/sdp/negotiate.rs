//! Offer and answer: what we write, what we choose from what the trunk wrote.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, SocketAddr};

use super::{
    Codec, CryptoAttribute, CryptoSuite, Direction, KeyParams, LocalMedia, MasterKey, Profile,
    RemoteAudio, RemoteSdp, SdpError,
};

/// The dynamic payload type we offer telephone-event/8000 on (the usual choice).
const TELEPHONE_EVENT_PT: u8 = 101;

/// The chosen voice codec and the payload type it travels with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChosenCodec {
    pub codec: Codec,
    pub pt: u8,
}

/// The SRTP suite both sides chose, with both sides' keys (each side encrypts what it sends
/// with its own key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoChoice {
    pub tag: u32,
    pub suite: CryptoSuite,
    /// Our key, for what we send.
    pub local: KeyParams,
    /// The trunk's key, for what we receive.
    pub remote: KeyParams,
}

/// What a call leg needs once offer and answer are done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Where to send RTP. None while the trunk holds or removed the stream (port 0 or the
    /// unspecified address of RFC 2543 hold).
    pub remote: Option<SocketAddr>,
    pub codec: ChosenCodec,
    /// The payload type of telephone-event/8000, if both sides do RFC 4733 DTMF.
    pub telephone_event: Option<u8>,
    /// Packet time in ms.
    pub ptime: u16,
    /// What WE do: `SendOnly` means we send and the trunk does not.
    pub direction: Direction,
    /// RTP and RTCP share the port (RFC 5761). We always offer it; when the peer does not
    /// take it, RTCP goes to the port above, and the shell must hold that port too.
    pub rtcp_mux: bool,
    /// None only on a trunk marked unencrypted.
    pub crypto: Option<CryptoChoice>,
}

/// Our offer, kept until the answer arrives.
#[derive(Clone)]
pub struct Offer {
    /// Holds our key: never in `Debug`.
    sdp: String,
    local: LocalMedia,
    key: KeyParams,
}

impl fmt::Debug for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Offer")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl Offer {
    /// Our offer for `local`, keyed with `key` (one crypto line per suite in `local.suites`,
    /// tags from 1), or plain RTP/AVP when the trunk is marked unencrypted.
    pub fn new(local: &LocalMedia, key: &MasterKey) -> Self {
        let key = key.key_params();
        let mut codecs: Vec<Codec> = Vec::new();
        for codec in &local.codecs {
            if !codecs.contains(codec) {
                codecs.push(*codec);
            }
        }
        let mut pts: Vec<(u8, Codec)> = codecs.iter().map(|c| (c.static_pt(), *c)).collect();
        pts.truncate(super::MAX_PAYLOAD_TYPES - 1);
        let te = local.telephone_event.then_some(TELEPHONE_EVENT_PT);
        let crypto: Vec<(u32, CryptoSuite)> = if local.unencrypted {
            Vec::new()
        } else {
            (1..).zip(local.suites.iter().copied()).collect()
        };
        let profile = if local.unencrypted {
            Profile::Avp
        } else {
            Profile::Savp
        };
        let mut sdp = String::new();
        session(&mut sdp, local);
        let audio = AudioSection {
            port: local.port,
            profile,
            codecs: &pts,
            telephone_event: te,
            ptime: local.ptime,
            direction: local.direction,
            rtcp_mux: true,
            crypto: crypto.iter().map(|(t, s)| (*t, *s, &key)).collect(),
        };
        audio.write(&mut sdp);
        Self {
            sdp,
            local: local.clone(),
            key,
        }
    }

    /// The SDP body to send.
    pub fn sdp(&self) -> &str {
        &self.sdp
    }

    /// Reads the trunk's answer to this offer.
    pub fn accept(&self, answer: &RemoteSdp) -> Result<Negotiated, SdpError> {
        let audio = &answer.audio;
        if audio.port == 0 {
            return Err(SdpError::AudioRefused);
        }
        // The answerer's order is its preference; it may renumber, and we send with its numbers.
        let codec = audio
            .formats
            .iter()
            .find_map(|f| {
                let codec = self.local.codecs.iter().find(|c| f.is(**c))?;
                Some(ChosenCodec {
                    codec: *codec,
                    pt: f.pt,
                })
            })
            .ok_or(SdpError::NoCommonCodec)?;
        let crypto = if self.local.unencrypted {
            None
        } else {
            let offered = |c: &&CryptoAttribute| {
                c.suite.is_some_and(|s| {
                    usize::try_from(c.tag)
                        .is_ok_and(|t| t >= 1 && self.local.suites.get(t - 1) == Some(&s))
                }) && usable(c)
            };
            let chosen = audio
                .crypto
                .iter()
                .find(offered)
                .ok_or(if audio.crypto.is_empty() {
                    SdpError::NotEncrypted
                } else {
                    SdpError::NoUsableCrypto
                })?;
            Some(CryptoChoice {
                tag: chosen.tag,
                suite: chosen.suite.ok_or(SdpError::NoUsableCrypto)?,
                local: self.key.clone(),
                remote: chosen.key_params.clone(),
            })
        };
        Ok(Negotiated {
            remote: remote(audio),
            codec,
            telephone_event: telephone_event(audio, &self.local),
            ptime: ptime(audio, &self.local),
            direction: direction(audio, &self.local),
            rtcp_mux: audio.rtcp_mux,
            crypto,
        })
    }
}

/// Answers the trunk's offer: the first codec of OUR preference that the offer has, with the
/// offer's payload type numbers; one crypto line of the offer, the best suite we speak.
/// Returns the answer's SDP body and what was agreed.
pub fn answer(
    offer: &RemoteSdp,
    local: &LocalMedia,
    key: &MasterKey,
) -> Result<(String, Negotiated), SdpError> {
    answer_preferring(offer, local, key, None)
}

/// The answer to a re-offer (re-INVITE), what it agrees, and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reanswer {
    pub sdp: String,
    pub negotiated: Negotiated,
    pub changes: Changes,
}

/// What a re-offer changed on the leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changes {
    /// The trunk's media address (a new address, or hold with port 0 / 0.0.0.0).
    pub remote: bool,
    /// Hold or resume.
    pub direction: bool,
    pub codec: bool,
    pub telephone_event: bool,
    pub ptime: bool,
    /// New keys or a new suite: the SRTP contexts start again.
    pub crypto: bool,
    pub rtcp_mux: bool,
}

impl Changes {
    pub fn between(old: &Negotiated, new: &Negotiated) -> Self {
        Self {
            remote: old.remote != new.remote,
            direction: old.direction != new.direction,
            codec: old.codec != new.codec,
            telephone_event: old.telephone_event != new.telephone_event,
            ptime: old.ptime != new.ptime,
            crypto: old.crypto != new.crypto,
            rtcp_mux: old.rtcp_mux != new.rtcp_mux,
        }
    }

    /// Whether anything changed.
    pub fn any(&self) -> bool {
        *self != Self::default()
    }
}

/// Answers a re-offer on a running leg. The codec in use is kept while the offer still has
/// it (a codec switch mid-call is a gap in the audio), otherwise chosen as in [`answer`].
/// `local.session_version` must be greater than in the previous answer.
pub fn reanswer(
    current: &Negotiated,
    offer: &RemoteSdp,
    local: &LocalMedia,
    key: &MasterKey,
) -> Result<Reanswer, SdpError> {
    let (sdp, negotiated) = answer_preferring(offer, local, key, Some(current.codec.codec))?;
    let changes = Changes::between(current, &negotiated);
    Ok(Reanswer {
        sdp,
        negotiated,
        changes,
    })
}

fn answer_preferring(
    offer: &RemoteSdp,
    local: &LocalMedia,
    key: &MasterKey,
    prefer: Option<Codec>,
) -> Result<(String, Negotiated), SdpError> {
    let audio = &offer.audio;
    let order = prefer.into_iter().chain(local.codecs.iter().copied());
    let codec = order
        .into_iter()
        .find_map(|codec| {
            let f = audio.formats.iter().find(|f| f.is(codec))?;
            Some(ChosenCodec { codec, pt: f.pt })
        })
        .ok_or(SdpError::NoCommonCodec)?;
    let crypto = choose_crypto(audio, local, key)?;
    let removed = audio.port == 0;
    let negotiated = Negotiated {
        remote: remote(audio),
        codec,
        telephone_event: telephone_event(audio, local),
        ptime: ptime(audio, local),
        direction: direction(audio, local),
        rtcp_mux: audio.rtcp_mux,
        crypto,
    };
    let mut sdp = String::new();
    session(&mut sdp, local);
    for (i, line) in offer.media.iter().enumerate() {
        if i != offer.audio_index {
            // Refused: same kind, port 0 (RFC 3264 §6).
            push(
                &mut sdp,
                format_args!("m={} 0 {} {}", line.kind, line.proto, line.first_format),
            );
            continue;
        }
        let crypto: Vec<_> = negotiated
            .crypto
            .iter()
            .map(|c| (c.tag, c.suite, &c.local))
            .collect();
        AudioSection {
            port: if removed { 0 } else { local.port },
            profile: audio.profile,
            codecs: &[(codec.pt, codec.codec)],
            telephone_event: negotiated.telephone_event,
            ptime: negotiated.ptime,
            direction: negotiated.direction,
            rtcp_mux: negotiated.rtcp_mux,
            crypto,
        }
        .write(&mut sdp);
    }
    Ok((sdp, negotiated))
}

/// The offer's crypto line we answer (best suite of ours first), or None when plain RTP is
/// allowed and nothing usable was offered.
fn choose_crypto(
    audio: &RemoteAudio,
    local: &LocalMedia,
    key: &MasterKey,
) -> Result<Option<CryptoChoice>, SdpError> {
    for suite in &local.suites {
        let line = audio
            .crypto
            .iter()
            .find(|c| c.suite == Some(*suite) && usable(c));
        if let Some(line) = line {
            return Ok(Some(CryptoChoice {
                tag: line.tag,
                suite: *suite,
                local: key.key_params(),
                remote: line.key_params.clone(),
            }));
        }
    }
    match (audio.profile, local.unencrypted) {
        (Profile::Avp, true) => Ok(None),
        (Profile::Avp, false) if audio.crypto.is_empty() => Err(SdpError::NotEncrypted),
        _ => Err(SdpError::NoUsableCrypto),
    }
}

/// A crypto line we can use: an inline key and no session parameters.
fn usable(c: &CryptoAttribute) -> bool {
    !c.has_session_params && c.key_params.expose().starts_with("inline:")
}

fn remote(audio: &RemoteAudio) -> Option<SocketAddr> {
    let address = audio.address?;
    if audio.port == 0 || address.is_unspecified() {
        return None;
    }
    Some(SocketAddr::new(address, audio.port))
}

/// What we do on the stream the peer described: nothing on a removed stream, and no
/// sending to the unspecified address (RFC 2543 hold), whatever its direction says.
fn direction(audio: &RemoteAudio, local: &LocalMedia) -> Direction {
    if audio.port == 0 {
        return Direction::Inactive;
    }
    let agreed = audio.direction.answer(local.direction);
    if remote(audio).is_none() {
        return Direction::from_parts(false, agreed.receives());
    }
    agreed
}

fn telephone_event(audio: &RemoteAudio, local: &LocalMedia) -> Option<u8> {
    if !local.telephone_event {
        return None;
    }
    audio
        .formats
        .iter()
        .find(|f| f.is_telephone_event())
        .map(|f| f.pt)
}

/// The peer's packet time when it is one a phone uses, else ours.
fn ptime(audio: &RemoteAudio, local: &LocalMedia) -> u16 {
    audio
        .ptime
        .filter(|p| (10..=60).contains(p) && p % 10 == 0)
        .unwrap_or(local.ptime)
}

fn push(sdp: &mut String, line: fmt::Arguments<'_>) {
    // Writing into a String cannot fail.
    let _ = sdp.write_fmt(line);
    sdp.push_str("\r\n");
}

fn ip_kind(address: IpAddr) -> &'static str {
    match address {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

/// v=, o=, s=, c=, t=.
fn session(sdp: &mut String, local: &LocalMedia) {
    let kind = ip_kind(local.address);
    push(sdp, format_args!("v=0"));
    push(
        sdp,
        format_args!(
            "o=sluss {} {} IN {kind} {}",
            local.session_id, local.session_version, local.address
        ),
    );
    push(sdp, format_args!("s=-"));
    push(sdp, format_args!("c=IN {kind} {}", local.address));
    push(sdp, format_args!("t=0 0"));
}

/// Our audio m-line and its attributes.
struct AudioSection<'a> {
    port: u16,
    profile: Profile,
    codecs: &'a [(u8, Codec)],
    telephone_event: Option<u8>,
    ptime: u16,
    direction: Direction,
    rtcp_mux: bool,
    crypto: Vec<(u32, CryptoSuite, &'a KeyParams)>,
}

impl AudioSection<'_> {
    fn write(&self, sdp: &mut String) {
        let mut m = format!("m=audio {} {}", self.port, self.profile.as_str());
        let pts = self.codecs.iter().map(|(pt, _)| *pt);
        for pt in pts.chain(self.telephone_event) {
            let _ = write!(m, " {pt}");
        }
        push(sdp, format_args!("{m}"));
        for (pt, codec) in self.codecs {
            push(
                sdp,
                format_args!("a=rtpmap:{pt} {}/{}", codec.name(), codec.clock_rate()),
            );
        }
        if let Some(pt) = self.telephone_event {
            push(sdp, format_args!("a=rtpmap:{pt} telephone-event/8000"));
            push(sdp, format_args!("a=fmtp:{pt} 0-16"));
        }
        push(sdp, format_args!("a=ptime:{}", self.ptime));
        push(sdp, format_args!("a={}", self.direction.as_str()));
        if self.rtcp_mux {
            push(sdp, format_args!("a=rtcp-mux"));
        }
        for (tag, suite, key) in &self.crypto {
            push(
                sdp,
                format_args!("a=crypto:{tag} {} {}", suite.as_str(), key.expose()),
            );
        }
    }
}

//! The shell around one phone leg's [`Bridge`]: its RTP socket toward the trunk, SRTP both
//! ways, telephone events, and the relay's direct transport toward the meeting. One task per
//! call; it ends when told to stop or when the meeting side goes away.
//!
//! Everything from the trunk passes SRTP first (a packet that fails authentication, comes
//! from another address than the negotiated one, or is a replay is dropped and counted), and
//! only then is parsed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sluss_relay::{DirectMedia, DirectPacket};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use crate::bridge::{Bridge, BridgeStats, TickOutput, MAX_PHONE_PACKET};
use crate::dtmf::{Digit, DtmfReceiver};
use crate::prompt::Prompt;
use crate::rtp::{self, PacketKind, RtpPacket};
use crate::srtp::SrtpContext;

/// The largest datagram read from the trunk; anything longer is cut and then fails SRTP.
const MAX_DATAGRAM: usize = 1_500;

/// SRTP for both directions, or none on a trunk the configuration marks unencrypted (R1: the
/// meeting shows that leg as unencrypted while the call lasts).
pub struct LegCrypto {
    /// Protects what we send, under our key.
    pub outbound: SrtpContext,
    /// Checks what the trunk sends, under its key.
    pub inbound: SrtpContext,
}

/// Where one leg's media goes.
pub struct LegMedia {
    pub socket: UdpSocket,
    /// The trunk's RTP address from its SDP; media from anywhere else is dropped.
    pub remote: SocketAddr,
    /// Whether we send: not while the trunk holds the call (its re-offer said so).
    pub sending: bool,
    pub crypto: Option<LegCrypto>,
    /// The payload type of RFC 4733 telephone events, if both sides do them.
    pub telephone_event: Option<u8>,
    pub bridge: Bridge,
    /// Whether the trunk sends (not while it holds the call).
    pub receiving: bool,
    /// How long the trunk may send nothing (no RTP, no RTCP) while it should before the
    /// call counts as dead: a trunk that vanished without a BYE must not keep a seat's
    /// voice on a silent line.
    pub silence_limit: Duration,
}

/// Hands the phone's voice to the relay's direct transport.
pub type SendVoice = Box<dyn Fn(DirectMedia) + Send>;

/// The leg's place in a meeting: the relay's direct transport, both ways.
pub struct MeetingLink {
    /// Everyone else's voice.
    pub voices: mpsc::Receiver<DirectPacket>,
    /// The phone's voice into the meeting.
    pub send: SendVoice,
}

/// What the call's owner tells a running leg.
pub enum LegControl {
    /// Into the meeting (a caller admitted from the lobby).
    Join(MeetingLink),
    /// Out of the meeting, or not yet in it, hearing this prompt (R4: nothing of the meeting
    /// reaches a caller in the lobby, and nothing they say reaches it).
    Prompt(Prompt),
    /// Muted (true) or not toward the meeting; the phone goes on hearing it.
    Mute(bool),
    /// The trunk's re-offer changed the media (hold, a new address, new keys, a new codec).
    Update(Box<MediaUpdate>),
    /// Keys to press toward the phone (the chair reaching a menu at the far end).
    Keys(Vec<Digit>),
}

/// What a re-offer changed on a running leg (made by `call::media_update`).
pub struct MediaUpdate {
    /// The trunk's new RTP address; None keeps the one we have (a hold by address).
    pub remote: Option<SocketAddr>,
    /// Whether we send now (not on hold).
    pub sending: bool,
    /// New SRTP contexts, when the keys changed.
    pub crypto: Option<LegCrypto>,
    pub telephone_event: Option<u8>,
    /// Whether the trunk sends now.
    pub receiving: bool,
    /// A new bridge, when the codec changed (a gap of a frame or two).
    pub bridge: Option<Bridge>,
}

/// What the task counted, returned when it ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegMediaStats {
    pub bridge: BridgeStats,
    pub datagrams_in: u64,
    /// Dropped before parsing: SRTP failed (tag, replay), or the source was not the trunk.
    pub refused: u64,
    pub rtcp_in: u64,
    pub digits: u64,
    /// The trunk fell silent past the limit, and the owner was told.
    pub fell_silent: bool,
    /// Time spent on the audio (SRTP in, decoding, mixing, encoding), measured around the
    /// work: the mixer's CPU time, near enough, on a machine that is not overloaded.
    pub busy: Duration,
}

/// Runs the leg until `control` closes. It starts in `meeting` if given, else hearing a
/// silent prompt; `control` moves it in and out. `digits` hears the keys pressed on the phone;
/// `silent` fires once if the trunk sends nothing for `leg.silence_limit` (the owner then
/// hangs up).
pub async fn run(
    mut leg: LegMedia,
    meeting: Option<MeetingLink>,
    digits: mpsc::Sender<Digit>,
    mut control: mpsc::Receiver<LegControl>,
    silent: oneshot::Sender<()>,
) -> LegMediaStats {
    let mut stats = LegMediaStats::default();
    let mut datagram = vec![0u8; MAX_DATAGRAM];
    let mut clear = vec![0u8; MAX_DATAGRAM];
    let mut sealed = vec![0u8; MAX_PHONE_PACKET + 64];
    let mut out = TickOutput::default();
    let mut dtmf = DtmfReceiver::new();
    let mut meeting = meeting;
    if meeting.is_none() {
        leg.bridge.set_prompt(Some(Prompt::Silence));
    }
    let start = Instant::now();
    let mut heard = start;
    let mut silent = Some(silent);
    leg.bridge.set_telephone_event(leg.telephone_event);
    leg.bridge.tick(start, &mut out).ok();
    loop {
        let due = leg.bridge.next_tick().unwrap_or(start);
        tokio::select! {
            told = control.recv() => match told {
                None => break,
                Some(LegControl::Join(link)) => {
                    leg.bridge.set_prompt(None);
                    meeting = Some(link);
                }
                Some(LegControl::Prompt(prompt)) => {
                    leg.bridge.set_prompt(Some(prompt));
                    meeting = None;
                }
                Some(LegControl::Mute(muted)) => leg.bridge.set_muted(muted),
                Some(LegControl::Update(update)) => update_media(&mut leg, *update),
                Some(LegControl::Keys(keys)) => {
                    let pressed = keys.into_iter().filter(|k| leg.bridge.press(*k)).count();
                    debug!(pressed, "keys pressed toward the phone");
                }
            },
            received = leg.socket.recv_from(&mut datagram) => {
                let Ok((n, source)) = received else { continue };
                stats.datagrams_in += 1;
                if source != leg.remote {
                    stats.refused += 1;
                    continue;
                }
                let work = Instant::now();
                let inbound = from_trunk(&mut leg, &datagram[..n], &mut clear, &mut dtmf);
                stats.busy += work.elapsed();
                if !matches!(inbound, Inbound::Refused) {
                    heard = Instant::now();
                }
                match inbound {
                    Inbound::Refused => stats.refused += 1,
                    Inbound::Rtcp => stats.rtcp_in += 1,
                    Inbound::Media => {}
                    Inbound::Digit(d) => {
                        stats.digits += 1;
                        let _ = digits.try_send(d);
                    }
                }
            }
            _ = tokio::time::sleep_until(due.into()) => {
                let now = Instant::now();
                if !leg.receiving {
                    // On hold: silence is expected, and counts from when the hold ends.
                    heard = now;
                } else if now.saturating_duration_since(heard) > leg.silence_limit {
                    if let Some(tell) = silent.take() {
                        debug!("the trunk fell silent; the call is to be hung up");
                        stats.fell_silent = true;
                        let _ = tell.send(());
                    }
                }
                if !take_voices(&mut leg, meeting.as_mut()) {
                    // The meeting let go of this leg: nothing more to say or hear there.
                    leg.bridge.set_prompt(Some(Prompt::Silence));
                    meeting = None;
                }
                let ticked = leg.bridge.tick(Instant::now(), &mut out);
                stats.busy += now.elapsed();
                match ticked {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        debug!(error = %e, "phone bridge frame failed");
                        continue;
                    }
                }
                if let (Some(frame), Some(m)) = (out.meeting.take(), meeting.as_ref()) {
                    (m.send)(DirectMedia {
                        seq: frame.seq,
                        timestamp: frame.timestamp,
                        audio_level: Some(frame.audio_level),
                        payload: frame.payload,
                    });
                }
                let packet = match &mut leg.crypto {
                    Some(c) => match c.outbound.protect_rtp(&out.phone, &mut sealed) {
                        Ok(n) => &sealed[..n],
                        Err(e) => {
                            debug!(error = %e, "phone media not protected");
                            continue;
                        }
                    },
                    None => &out.phone[..],
                };
                if leg.sending {
                    let _ = leg.socket.send_to(packet, leg.remote).await;
                }
            }
        }
    }
    stats.bridge = leg.bridge.stats();
    stats
}

/// Hands the bridge the meeting's voices that came since the last frame, each at the time the
/// relay received it. Taking them once per frame, not as each arrives, saves the leg a wake-up
/// per packet of every voice (four voices: 200 a second). False when the meeting has let go.
fn take_voices(leg: &mut LegMedia, meeting: Option<&mut MeetingLink>) -> bool {
    let Some(meeting) = meeting else {
        return true;
    };
    loop {
        match meeting.voices.try_recv() {
            Ok(p) => {
                leg.bridge
                    .from_meeting(p.arrived, p.publisher.0, p.seq, p.timestamp, &p.payload)
            }
            Err(mpsc::error::TryRecvError::Empty) => return true,
            Err(mpsc::error::TryRecvError::Disconnected) => return false,
        }
    }
}

/// Applies a re-offer's changes. A new bridge keeps the leg's place: prompt and mute.
fn update_media(leg: &mut LegMedia, update: MediaUpdate) {
    if let Some(remote) = update.remote {
        leg.remote = remote;
    }
    leg.sending = update.sending && update.remote.is_some();
    if let Some(crypto) = update.crypto {
        leg.crypto = Some(crypto);
    }
    leg.telephone_event = update.telephone_event;
    leg.receiving = update.receiving;
    if let Some(mut bridge) = update.bridge {
        bridge.set_prompt(leg.bridge.prompt().map(|p| p.prompt()));
        bridge.set_muted(leg.bridge.is_muted());
        leg.bridge = bridge;
    }
    leg.bridge.set_telephone_event(leg.telephone_event);
    debug!(sending = leg.sending, "phone media updated by a re-offer");
}

enum Inbound {
    Refused,
    Rtcp,
    Media,
    Digit(Digit),
}

fn from_trunk(
    leg: &mut LegMedia,
    datagram: &[u8],
    clear: &mut [u8],
    dtmf: &mut DtmfReceiver,
) -> Inbound {
    match rtp::classify(datagram) {
        PacketKind::Rtp => {}
        PacketKind::Rtcp => {
            // Reports are authenticated and otherwise not used yet.
            let authentic = match &mut leg.crypto {
                Some(c) => c.inbound.unprotect_rtcp(datagram, clear).is_ok(),
                None => true,
            };
            return if authentic {
                Inbound::Rtcp
            } else {
                Inbound::Refused
            };
        }
        _ => return Inbound::Refused,
    }
    let plain: &[u8] = match &mut leg.crypto {
        Some(c) => match c.inbound.unprotect_rtp(datagram, clear) {
            Ok(n) => &clear[..n],
            Err(_) => return Inbound::Refused,
        },
        None => datagram,
    };
    let Ok(packet) = RtpPacket::parse(plain) else {
        return Inbound::Refused;
    };
    if Some(packet.header.payload_type.get()) == leg.telephone_event {
        leg.bridge.phone_event(&packet);
        return match dtmf.on_packet(packet.header.timestamp, packet.payload) {
            Ok(Some(digit)) => Inbound::Digit(digit),
            _ => Inbound::Media,
        };
    }
    leg.bridge.from_phone(Instant::now(), &packet);
    Inbound::Media
}

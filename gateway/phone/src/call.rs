//! One call we place, from INVITE to its end, with its media (a shell around the sans-IO
//! [`DialOut`] leg): the SIP stack carries the signalling, and once the call is answered with
//! media both sides agreed (SRTP unless the trunk is marked unencrypted, R1) the leg's media
//! task joins the phone to the meeting through the relay's direct transport.
//!
//! The caller hears how it goes on `reports` and ends the call by firing `hang_up` (or
//! dropping it). Numbers and keys never reach a log: the target prints masked, keys redacted.

mod answer;
pub use answer::{answer_call, AnswerError, AnswerPlan, AnsweredCall};

use std::net::IpAddr;
use std::time::Duration;

use sluss_relay::{DirectMedia, DirectPacket};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::debug;

use crate::bridge::Bridge;
use crate::dtmf::Digit;
use crate::leg_media::{
    self, LegControl, LegCrypto, LegMedia, LegMediaStats, MediaUpdate, MeetingLink,
};
use crate::rtp::Ssrc;
use crate::sdp::{Changes, Codec, CryptoChoice, Direction, LocalMedia, MasterKey, Negotiated};
use crate::sip::leg::{Action, DialOut, LegState};
use crate::sip::{CallControl, Credentials, DialRequest, DialTarget, SipStack};
use crate::srtp::{self, SrtpContext, Suite};

/// What a placed call needs.
pub struct DialPlan {
    pub target: DialTarget,
    /// For the trunk's digest challenge; None for an IP-authenticated trunk.
    pub credentials: Option<Credentials>,
    /// Our RTP socket for this call, bound; its port goes in the offer.
    pub socket: UdpSocket,
    /// The address the trunk is to send media to.
    pub announce: IpAddr,
    /// R1: the trunk is marked unencrypted (plain RTP offered and accepted).
    pub unencrypted: bool,
    /// Our SRTP master key and salt, from a cryptographic random source.
    pub key: [u8; 30],
    /// Our RTP stream's SSRC, random.
    pub ssrc: u32,
    /// The voice codecs to offer, best first (the bridge takes G.711 and G.722).
    pub codecs: Vec<Codec>,
    /// How long the answered call may hear nothing from the trunk before we hang up.
    pub media_timeout: Duration,
}

/// How long a call may hear nothing (no RTP, no RTCP) from a trunk that should be sending
/// before it is hung up, unless configured otherwise.
pub const DEFAULT_MEDIA_TIMEOUT: Duration = Duration::from_secs(60);

/// The codecs offered and answered unless configured otherwise: G.722 for the wideband
/// voice it carries, then A-law (the Swedish default) and µ-law.
pub const DEFAULT_CODECS: [Codec; 3] = [Codec::G722, Codec::Pcma, Codec::Pcmu];

/// The meeting's side of the call: the relay's direct transport.
pub struct MeetingSide<F> {
    /// Everyone else's voice.
    pub voices: mpsc::Receiver<DirectPacket>,
    /// The phone's voice into the meeting.
    pub send: F,
    /// Keys pressed on the phone.
    pub digits: mpsc::Sender<Digit>,
}

/// How the call goes, as the caller hears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallReport {
    Ringing,
    /// Answered, media flowing. `encrypted` is false only on a trunk marked unencrypted: then
    /// the meeting must show that a leg is unencrypted while the call lasts (R1).
    Answered {
        encrypted: bool,
    },
    /// The last report: how the call ended, and what its media counted.
    Ended {
        state: LegState,
        media: Option<Box<LegMediaStats>>,
    },
}

/// Places the call and runs it to its end; returns its final state.
pub async fn dial_out<S, F>(
    stack: &S,
    plan: DialPlan,
    meeting: MeetingSide<F>,
    reports: mpsc::Sender<CallReport>,
    mut hang_up: oneshot::Receiver<()>,
) -> LegState
where
    S: SipStack,
    F: Fn(DirectMedia) + Send + 'static,
{
    let port = plan.socket.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut local = LocalMedia::new(plan.announce, port);
    local.codecs = plan.codecs.clone();
    local.unencrypted = plan.unencrypted;
    let mut leg = DialOut::new(local, MasterKey::new(plan.key));
    let mut media = Some((plan.socket, meeting));
    let mut running: Option<RunningMedia> = None;
    let mut current: Option<Negotiated> = None;
    let offer = match leg.dial() {
        Ok(offer) => offer,
        Err(_) => return finish(leg.state().clone(), None, &reports).await,
    };
    let request = DialRequest {
        target: plan.target,
        offer,
        credentials: plan.credentials,
    };
    let (call, mut events) = match stack.dial(request).await {
        Ok(placed) => placed,
        Err(e) => {
            debug!(error = %e, "the call could not be placed");
            let state = LegState::Failed(crate::sip::leg::FailReason::Transport);
            return finish(state, None, &reports).await;
        }
    };
    let mut asked_to_hang_up = false;
    loop {
        let actions = tokio::select! {
            event = events.recv() => match event {
                Some(event) => leg.on_event(event),
                None => break,
            },
            _ = &mut hang_up, if !asked_to_hang_up => {
                asked_to_hang_up = true;
                leg.hang_up().into_iter().collect()
            }
            () = fell_silent(running.as_mut()), if !asked_to_hang_up => {
                asked_to_hang_up = true;
                leg.hang_up().into_iter().collect()
            }
        };
        let was_ringing = *leg.state() == LegState::Ringing;
        for action in actions {
            match action {
                Action::Cancel => log_err(call.cancel().await),
                Action::HangUp => log_err(call.hang_up().await),
                Action::AnswerReOffer(sdp) => log_err(call.answer_reoffer(Ok(sdp)).await),
                Action::RefuseReOffer(code) => log_err(call.answer_reoffer(Err(code)).await),
                Action::StartMedia(agreed) => {
                    let Some((socket, side)) = media.take() else {
                        continue;
                    };
                    let MeetingSide {
                        voices,
                        send,
                        digits,
                    } = side;
                    let link = MeetingLink {
                        voices,
                        send: Box::new(send),
                    };
                    let started = start_media(
                        socket,
                        Some(link),
                        digits,
                        &agreed,
                        plan.ssrc,
                        plan.media_timeout,
                    );
                    match started {
                        Some(started) => {
                            running = Some(started);
                            current = Some(*agreed.clone());
                            let encrypted = agreed.crypto.is_some();
                            let _ = reports.send(CallReport::Answered { encrypted }).await;
                        }
                        None => {
                            // Unusable media (a codec the bridge cannot mix): end the call.
                            if leg.hang_up() == Some(Action::HangUp) {
                                log_err(call.hang_up().await);
                            }
                        }
                    }
                }
                // Hold, a new address, new keys or a new codec.
                Action::UpdateMedia(new) => {
                    if let (Some(media), Some(old)) = (&running, &current) {
                        update_media(media, old, &new, plan.ssrc).await;
                        current = Some(*new);
                    }
                }
            }
        }
        if !was_ringing && *leg.state() == LegState::Ringing {
            let _ = reports.send(CallReport::Ringing).await;
        }
        if leg.state().is_over() {
            break;
        }
    }
    let stats = match running {
        Some(media) => media.stop().await,
        None => None,
    };
    finish(leg.state().clone(), stats, &reports).await
}

/// Places a call for someone who takes part by phone alone (the chair calls them in): once
/// answered, its media runs outside any meeting, as a dial-in call's does, and the owner moves
/// it in (`LegControl::Join`) when the person is admitted. `Err` is how the call ended
/// unanswered (or cancelled: fire or drop `cancel`).
pub async fn place_call<S: SipStack>(
    stack: &S,
    plan: DialPlan,
    mut cancel: oneshot::Receiver<()>,
) -> Result<AnsweredCall<S::Call>, LegState> {
    let port = plan.socket.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut local = LocalMedia::new(plan.announce, port);
    local.codecs = plan.codecs.clone();
    local.unencrypted = plan.unencrypted;
    let mut leg = DialOut::new(local, MasterKey::new(plan.key));
    let offer = leg.dial().map_err(|_| leg.state().clone())?;
    let request = DialRequest {
        target: plan.target,
        offer,
        credentials: plan.credentials,
    };
    let (call, mut events) = stack.dial(request).await.map_err(|e| {
        debug!(error = %e, "the call could not be placed");
        LegState::Failed(crate::sip::leg::FailReason::Transport)
    })?;
    let mut socket = Some(plan.socket);
    let mut cancelled = false;
    loop {
        let actions = tokio::select! {
            event = events.recv() => match event {
                Some(event) => leg.on_event(event),
                None => return Err(leg.state().clone()),
            },
            _ = &mut cancel, if !cancelled => {
                cancelled = true;
                leg.hang_up().into_iter().collect()
            }
        };
        for action in actions {
            match action {
                Action::Cancel => log_err(call.cancel().await),
                Action::HangUp => log_err(call.hang_up().await),
                Action::AnswerReOffer(sdp) => log_err(call.answer_reoffer(Ok(sdp)).await),
                Action::RefuseReOffer(code) => log_err(call.answer_reoffer(Err(code)).await),
                Action::UpdateMedia(_) => {}
                Action::StartMedia(agreed) => {
                    let Some(socket) = socket.take() else {
                        continue;
                    };
                    let (digits_tx, digits) = mpsc::channel(32);
                    let started = start_media(
                        socket,
                        None,
                        digits_tx,
                        &agreed,
                        plan.ssrc,
                        plan.media_timeout,
                    );
                    match started {
                        Some(media) => {
                            let (local, key) = leg.local();
                            let parts = (local.clone(), key.clone(), *agreed, plan.ssrc);
                            return Ok(AnsweredCall::new(call, events, media, digits, parts));
                        }
                        None => {
                            if leg.hang_up() == Some(Action::HangUp) {
                                log_err(call.hang_up().await);
                            }
                        }
                    }
                }
            }
        }
        if leg.state().is_over() {
            return Err(leg.state().clone());
        }
    }
}

async fn finish(
    state: LegState,
    media: Option<LegMediaStats>,
    reports: &mpsc::Sender<CallReport>,
) -> LegState {
    let _ = reports
        .send(CallReport::Ended {
            state: state.clone(),
            media: media.map(Box::new),
        })
        .await;
    state
}

fn log_err<E: std::fmt::Display>(result: Result<(), E>) {
    if let Err(e) = result {
        debug!(error = %e, "call control failed");
    }
}

/// A leg's media task, running.
pub struct RunningMedia {
    /// Moves the leg into the meeting and out; dropping it stops the task.
    pub control: mpsc::Sender<LegControl>,
    task: JoinHandle<LegMediaStats>,
    /// Fires once when the trunk falls silent; taken when it has.
    silent: Option<oneshot::Receiver<()>>,
}

/// Resolves when `media` says the trunk fell silent; never for no media, or after it has.
pub(crate) async fn fell_silent(media: Option<&mut RunningMedia>) {
    match media {
        Some(media) => media.fell_silent().await,
        None => std::future::pending().await,
    }
}

impl RunningMedia {
    /// Resolves (once) when the trunk has sent nothing for the media timeout: the owner is
    /// to hang up. Never resolves again after that, nor for a task that ended otherwise.
    pub async fn fell_silent(&mut self) {
        let Some(silent) = self.silent.as_mut() else {
            return std::future::pending().await;
        };
        let told = silent.await.is_ok();
        self.silent = None;
        if !told {
            std::future::pending::<()>().await;
        }
    }

    /// Stops the task and returns what it counted.
    pub async fn stop(self) -> Option<LegMediaStats> {
        drop(self.control);
        self.task.await.ok()
    }
}

/// Starts the leg's media task for what was agreed; None when the bridge cannot take it.
pub(crate) fn start_media(
    socket: UdpSocket,
    meeting: Option<MeetingLink>,
    digits: mpsc::Sender<Digit>,
    agreed: &Negotiated,
    ssrc: u32,
    silence_limit: Duration,
) -> Option<RunningMedia> {
    let remote = agreed.remote?;
    let bridge = Bridge::new(agreed.codec.codec, agreed.codec.pt, Ssrc(ssrc)).ok()?;
    let crypto = match &agreed.crypto {
        Some(choice) => Some(leg_crypto(choice)?),
        None => None,
    };
    let leg = LegMedia {
        socket,
        remote,
        sending: sends(agreed),
        crypto,
        telephone_event: agreed.telephone_event,
        bridge,
        receiving: receives(agreed),
        silence_limit,
    };
    let (control, told) = mpsc::channel(4);
    let (silent_tx, silent) = oneshot::channel();
    let task = tokio::spawn(leg_media::run(leg, meeting, digits, told, silent_tx));
    Some(RunningMedia {
        control,
        task,
        silent: Some(silent),
    })
}

/// Whether what was agreed has the trunk send to us (not while it holds the call).
fn receives(agreed: &Negotiated) -> bool {
    agreed.remote.is_some() && matches!(agreed.direction, Direction::SendRecv | Direction::RecvOnly)
}

/// Whether what was agreed lets us send (not while the trunk holds the call).
fn sends(agreed: &Negotiated) -> bool {
    agreed.remote.is_some() && matches!(agreed.direction, Direction::SendRecv | Direction::SendOnly)
}

/// The SRTP contexts for both directions of what was agreed.
fn leg_crypto(choice: &CryptoChoice) -> Option<LegCrypto> {
    let suite = Suite::from_sdp_name(choice.suite.as_str())?;
    let ours = srtp::MasterKey::parse_key_params(choice.local.expose()).ok()?;
    let theirs = srtp::MasterKey::parse_key_params(choice.remote.expose()).ok()?;
    Some(LegCrypto {
        outbound: SrtpContext::new(suite, &ours),
        inbound: SrtpContext::new(suite, &theirs),
    })
}

/// What a running leg must change for a re-offer that moved it from `old` to `new`; None when
/// the new agreement cannot be carried (keys or a codec the bridge cannot take: the leg keeps
/// its old media).
pub fn media_update(old: &Negotiated, new: &Negotiated, ssrc: u32) -> Option<MediaUpdate> {
    let changes = Changes::between(old, new);
    let crypto = match (&new.crypto, changes.crypto) {
        (Some(choice), true) => Some(leg_crypto(choice)?),
        _ => None,
    };
    let bridge = if changes.codec {
        Some(Bridge::new(new.codec.codec, new.codec.pt, Ssrc(ssrc)).ok()?)
    } else {
        None
    };
    Some(MediaUpdate {
        remote: new.remote,
        sending: sends(new),
        crypto,
        telephone_event: new.telephone_event,
        receiving: receives(new),
        bridge,
    })
}

/// Tells a running leg what a re-offer changed.
async fn update_media(media: &RunningMedia, old: &Negotiated, new: &Negotiated, ssrc: u32) {
    match media_update(old, new, ssrc) {
        Some(update) => {
            let _ = media
                .control
                .send(LegControl::Update(Box::new(update)))
                .await;
        }
        None => debug!("re-offer agreed media the leg cannot take; kept the old"),
    }
}

#[cfg(test)]
mod tests;

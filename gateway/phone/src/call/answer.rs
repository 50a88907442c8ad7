//! A call the trunk places to us (dial-in): answered with our own SDP, its media started
//! outside any meeting. (A call we place for a phone-only participant ends up the same way:
//! see `place_call`.) The owner plays the caller prompts, reads the PIN from the keys they
//! press, and moves the leg into a meeting (`LegControl::Join`) once the chair admits them.
//!
//! R1 holds as for a call we place: an offer without SRTP on a trunk not marked unencrypted
//! is refused (488) before anything is answered.

use std::net::IpAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::debug;

use super::{start_media, RunningMedia};
use crate::dtmf::Digit;
use crate::sdp::{self, Codec, LocalMedia, MasterKey, Negotiated, RemoteSdp};
use crate::sip::{CallControl, EndReason, IncomingCall, LegEvent, LegEvents, SdpBody, SipError};

/// Keys pressed that may wait for the owner; more are dropped (nobody types that fast).
const DIGIT_QUEUE: usize = 32;

/// What answering a call needs.
pub struct AnswerPlan {
    /// Our RTP socket for this call, bound; its port goes in the answer.
    pub socket: UdpSocket,
    /// The address the trunk is to send media to.
    pub announce: IpAddr,
    /// R1: the trunk is marked unencrypted (a plain RTP offer is answered).
    pub unencrypted: bool,
    /// Our SRTP master key and salt, from a cryptographic random source.
    pub key: [u8; 30],
    /// Our RTP stream's SSRC, random.
    pub ssrc: u32,
    /// The voice codecs we take, best first.
    pub codecs: Vec<Codec>,
    /// How long the call may hear nothing from the trunk before we hang up.
    pub media_timeout: Duration,
}

/// Why a call was not answered.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The offer had nothing we take (no G.711; no SRTP on an encrypted trunk): refused 488.
    #[error("the caller's offer is not acceptable")]
    NotAcceptable,
    #[error(transparent)]
    Sip(#[from] SipError),
}

/// A call we answered, its media running outside any meeting (silent until told).
pub struct AnsweredCall<C> {
    pub call: C,
    pub events: LegEvents,
    pub media: RunningMedia,
    /// Keys pressed on the phone.
    pub digits: mpsc::Receiver<Digit>,
    /// False only on a trunk marked unencrypted (R1: the meeting shows it while it lasts).
    pub encrypted: bool,
    local: LocalMedia,
    key: MasterKey,
    agreed: Negotiated,
    ssrc: u32,
}

/// Answers `incoming` (200 with our SDP), or refuses it with 488 when its offer will not do.
pub fn answer_call<I: IncomingCall>(
    incoming: I,
    plan: AnswerPlan,
) -> Result<AnsweredCall<I::Call>, AnswerError> {
    let port = plan.socket.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut local = LocalMedia::new(plan.announce, port);
    local.codecs = plan.codecs.clone();
    local.unencrypted = plan.unencrypted;
    let key = MasterKey::new(plan.key);
    let answered = RemoteSdp::parse(incoming.offer().as_bytes())
        .and_then(|offer| sdp::answer(&offer, &local, &key));
    let (body, agreed) = match answered {
        // R1: an encrypted trunk never answers a plain offer.
        Ok((body, agreed)) if agreed.crypto.is_some() || plan.unencrypted => (body, agreed),
        other => {
            debug!(error = ?other.err(), "dial-in offer refused");
            let _ = incoming.reject(488);
            return Err(AnswerError::NotAcceptable);
        }
    };
    let (digits_tx, digits) = mpsc::channel(DIGIT_QUEUE);
    // The media task starts before the answer goes out, so the first packets are caught.
    let started = start_media(
        plan.socket,
        None,
        digits_tx,
        &agreed,
        plan.ssrc,
        plan.media_timeout,
    );
    let Some(media) = started else {
        let _ = incoming.reject(488);
        return Err(AnswerError::NotAcceptable);
    };
    let (call, events) = incoming.accept(SdpBody::new(body))?;
    let parts = (local, key, agreed, plan.ssrc);
    Ok(AnsweredCall::new(call, events, media, digits, parts))
}

impl<C> AnsweredCall<C> {
    /// A call answered (placed or taken), its media started outside any meeting.
    pub(crate) fn new(
        call: C,
        events: LegEvents,
        media: RunningMedia,
        digits: mpsc::Receiver<Digit>,
        (local, key, agreed, ssrc): (LocalMedia, MasterKey, Negotiated, u32),
    ) -> Self {
        Self {
            call,
            events,
            media,
            digits,
            encrypted: agreed.crypto.is_some(),
            local,
            key,
            agreed,
            ssrc,
        }
    }
}

/// How long a hang-up may take to be confirmed before the call is let go anyway.
const HANG_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl<C: CallControl> AnsweredCall<C> {
    /// Hangs up (BYE) unless the call is already over, and waits (bounded) until the stack
    /// reports it ended: the dialog must outlive its BYE, or the phone never hears it.
    pub async fn hang_up(&mut self) {
        if let Err(e) = self.call.hang_up().await {
            debug!(error = %e, "hang-up not sent");
        }
        let ended = async {
            while let Some(event) = self.events.recv().await {
                if matches!(event, LegEvent::Ended { .. }) {
                    break;
                }
            }
        };
        if tokio::time::timeout(HANG_UP_WAIT, ended).await.is_err() {
            debug!("hang-up not confirmed in time");
        }
    }

    /// Handles what the trunk says of the call: a re-offer is answered here, and the leg's
    /// media follows it (hold, a new address, new keys, a new codec). Returns why the call
    /// ended, once it has.
    pub async fn on_event(&mut self, event: LegEvent) -> Option<EndReason> {
        match event {
            LegEvent::Ended { reason } => Some(reason),
            LegEvent::ReOffer { sdp } => {
                let mut local = self.local.clone();
                local.session_version = local.session_version.saturating_add(1);
                let reanswer = RemoteSdp::parse(sdp.as_bytes())
                    .and_then(|offer| sdp::reanswer(&self.agreed, &offer, &local, &self.key));
                let reply = match reanswer {
                    Ok(r) if r.negotiated.crypto.is_some() == self.encrypted => {
                        self.local = local;
                        if r.changes.any() {
                            super::update_media(
                                &self.media,
                                &self.agreed,
                                &r.negotiated,
                                self.ssrc,
                            )
                            .await;
                        }
                        self.agreed = r.negotiated;
                        Ok(SdpBody::new(r.sdp))
                    }
                    _ => Err(488),
                };
                if let Err(e) = self.call.answer_reoffer(reply).await {
                    debug!(error = %e, "re-offer not answered");
                }
                None
            }
            LegEvent::Ringing | LegEvent::Answered { .. } => None,
        }
    }
}

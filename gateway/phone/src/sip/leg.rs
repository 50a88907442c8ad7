//! A call we place, as a sans-IO state machine.
//!
//! ```text
//! Idle --dial--> Calling --180--> Ringing --200--> Answered --hang_up--> Ending --> Ended
//!                   |                |         \--no SRTP (R1)--> Ending --> Failed
//!                   +---hang_up------+--> Cancelling --> Cancelled
//!                   +---4xx-6xx, auth, timeout---------> Failed
//! ```
//!
//! The shell calls [`DialOut::dial`] for the offer, then feeds every [`LegEvent`] of the call
//! to [`DialOut::on_event`] and our commands to [`DialOut::hang_up`], and carries out the
//! [`Action`]s that come back. Nothing here touches the network or the clock.

use crate::sdp::{self, LocalMedia, MasterKey, Negotiated, Offer, RemoteSdp, SdpError};

use super::{EndReason, LegEvent, SdpBody};

/// Where a placed call is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegState {
    Idle,
    /// INVITE sent, no answer yet.
    Calling,
    /// The phone rings (180/183).
    Ringing,
    /// Answered, media agreed.
    Answered,
    /// We asked to cancel before the answer; waiting for the end.
    Cancelling,
    /// BYE sent; waiting for the end. `failure` is why, when it was not our choice.
    Ending {
        failure: Option<FailReason>,
    },
    /// Over after it was answered.
    Ended(EndReason),
    /// Over before it was answered, because we cancelled.
    Cancelled,
    /// Over without a usable call.
    Failed(FailReason),
}

impl LegState {
    /// Whether the call is over for good.
    pub fn is_over(&self) -> bool {
        matches!(self, Self::Ended(_) | Self::Cancelled | Self::Failed(_))
    }
}

/// Why a placed call did not become a usable call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailReason {
    #[error("the phone or trunk refused the call with {0}")]
    Rejected(u16),
    #[error("the trunk refused our credentials")]
    AuthFailed,
    #[error("no answer in time")]
    Timeout,
    #[error("the connection to the trunk failed")]
    Transport,
    /// R1: the answer has no SRTP and the trunk is not marked unencrypted.
    #[error(
        "the answer does not encrypt the audio (SRTP) and the trunk is not marked unencrypted"
    )]
    NotEncrypted,
    #[error("the answer's SDP is unusable: {0}")]
    BadAnswer(SdpError),
    #[error("the call ended before it was answered")]
    EndedUnanswered,
}

/// What the shell must do for the leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// CANCEL the INVITE.
    Cancel,
    /// BYE the call.
    HangUp,
    /// Media may start: where to send, codec, keys.
    StartMedia(Box<Negotiated>),
    /// Media changed after a re-offer (hold, new address, new keys).
    UpdateMedia(Box<Negotiated>),
    /// Answer the re-offer with 200 and this SDP.
    AnswerReOffer(SdpBody),
    /// Refuse the re-offer with this status; the call goes on as it was.
    RefuseReOffer(u16),
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegError {
    #[error("the call was already dialled")]
    AlreadyDialled,
}

/// The state machine of one placed call.
#[derive(Debug)]
pub struct DialOut {
    state: LegState,
    local: LocalMedia,
    key: MasterKey,
    offer: Offer,
    negotiated: Option<Negotiated>,
}

impl DialOut {
    /// A leg that will offer `local` (SRTP with `key` unless `local.unencrypted`).
    pub fn new(local: LocalMedia, key: MasterKey) -> Self {
        let offer = Offer::new(&local, &key);
        Self {
            state: LegState::Idle,
            local,
            key,
            offer,
            negotiated: None,
        }
    }

    pub fn state(&self) -> &LegState {
        &self.state
    }

    /// What we offered with, and our key: for answering the trunk's re-offers later.
    pub fn local(&self) -> (&LocalMedia, &MasterKey) {
        (&self.local, &self.key)
    }

    /// What was agreed, once answered.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Starts the call: the SDP offer to send in the INVITE.
    pub fn dial(&mut self) -> Result<SdpBody, LegError> {
        if self.state != LegState::Idle {
            return Err(LegError::AlreadyDialled);
        }
        self.state = LegState::Calling;
        Ok(SdpBody::new(self.offer.sdp().as_bytes().to_vec()))
    }

    /// Our command to end the call, whatever its state. None when nothing is to be sent.
    pub fn hang_up(&mut self) -> Option<Action> {
        match self.state {
            LegState::Idle => {
                self.state = LegState::Cancelled;
                None
            }
            LegState::Calling | LegState::Ringing => {
                self.state = LegState::Cancelling;
                Some(Action::Cancel)
            }
            LegState::Answered => {
                self.state = LegState::Ending { failure: None };
                Some(Action::HangUp)
            }
            _ => None,
        }
    }

    /// One event of the call from the stack.
    pub fn on_event(&mut self, event: LegEvent) -> Vec<Action> {
        match event {
            LegEvent::Ringing => {
                if self.state == LegState::Calling {
                    self.state = LegState::Ringing;
                }
                Vec::new()
            }
            LegEvent::Answered { sdp } => self.on_answer(&sdp),
            LegEvent::ReOffer { sdp } => self.on_reoffer(&sdp),
            LegEvent::Ended { reason } => {
                self.on_end(reason);
                Vec::new()
            }
        }
    }

    fn on_answer(&mut self, sdp: &SdpBody) -> Vec<Action> {
        match self.state {
            LegState::Calling | LegState::Ringing => {}
            // The 200 crossed our CANCEL: the stack ends that call itself.
            _ => return Vec::new(),
        }
        let agreed = RemoteSdp::parse(sdp.as_bytes()).and_then(|remote| self.offer.accept(&remote));
        match agreed {
            Ok(negotiated) => {
                self.state = LegState::Answered;
                self.negotiated = Some(negotiated.clone());
                vec![Action::StartMedia(Box::new(negotiated))]
            }
            Err(error) => {
                tracing::debug!(%error, "answer refused, hanging up");
                let failure = match error {
                    SdpError::NotEncrypted => FailReason::NotEncrypted,
                    other => FailReason::BadAnswer(other),
                };
                self.state = LegState::Ending {
                    failure: Some(failure),
                };
                vec![Action::HangUp]
            }
        }
    }

    fn on_reoffer(&mut self, sdp: &SdpBody) -> Vec<Action> {
        let Some(current) = self.negotiated.as_ref() else {
            // 491 Request Pending: nothing agreed yet to change.
            return vec![Action::RefuseReOffer(491)];
        };
        if self.state != LegState::Answered {
            return vec![Action::RefuseReOffer(491)];
        }
        let mut local = self.local.clone();
        local.session_version = local.session_version.saturating_add(1);
        let reanswer = RemoteSdp::parse(sdp.as_bytes())
            .and_then(|offer| sdp::reanswer(current, &offer, &local, &self.key));
        match reanswer {
            Ok(reanswer) => {
                self.local = local;
                self.negotiated = Some(reanswer.negotiated.clone());
                let mut actions = vec![Action::AnswerReOffer(SdpBody::new(reanswer.sdp))];
                if reanswer.changes.any() {
                    actions.push(Action::UpdateMedia(Box::new(reanswer.negotiated)));
                }
                actions
            }
            Err(error) => {
                tracing::debug!(%error, "re-offer refused");
                // 488 Not Acceptable Here; the call goes on with what was agreed.
                vec![Action::RefuseReOffer(488)]
            }
        }
    }

    fn on_end(&mut self, reason: EndReason) {
        self.state = match (&self.state, reason) {
            (LegState::Ending { failure: Some(f) }, _) => LegState::Failed(f.clone()),
            (LegState::Cancelling, EndReason::Cancelled | EndReason::Rejected(487)) => {
                LegState::Cancelled
            }
            // A 200 that crossed our CANCEL was answered with a BYE by the stack.
            (LegState::Cancelling, EndReason::LocalHangUp) => LegState::Cancelled,
            (LegState::Answered | LegState::Ending { .. }, reason) => LegState::Ended(reason),
            (state, _) if state.is_over() => return,
            (_, EndReason::Rejected(code)) => LegState::Failed(FailReason::Rejected(code)),
            (_, EndReason::AuthFailed) => LegState::Failed(FailReason::AuthFailed),
            (_, EndReason::Timeout) => LegState::Failed(FailReason::Timeout),
            (_, EndReason::Transport) => LegState::Failed(FailReason::Transport),
            (LegState::Cancelling, _) => LegState::Cancelled,
            (_, _) => LegState::Failed(FailReason::EndedUnanswered),
        };
    }
}

#[cfg(test)]
mod tests;

//! A live meeting's phone calls (R14): the chair's request checked and handed to the core, the
//! core's `DialOut` placed through the SIP stack with its media joined to this meeting's
//! router as a direct transport, and what the call reports fed back to the core.
//!
//! The number lives here only from the chair's request until the call is placed; the audit
//! trail gets its keyed hash, and nothing else keeps or prints it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use sluss_meeting::{CallId, ChairAction, ParticipantId, MAX_CALLS};
use sluss_phone::call::{self, CallReport, MeetingSide};
use sluss_phone::dtmf::Digit;
use sluss_phone::leg_media::{LegControl, MeetingLink};
use sluss_phone::number::PhoneNumber;
use sluss_phone::sip::leg::{FailReason, LegState};
use sluss_protocol::{ClientMessage, ErrorCode, ServerMessage, MAX_PHONE_KEYS};
use sluss_relay::PeerId;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info};

use super::Live;
use crate::phone::{NumberRefusal, PhoneService};
use crate::secret::random_id;

/// A placed call: whose it is, its direct transport, and how to end it.
pub(super) struct PlacedCall {
    peer: PeerId,
    hang_up: Option<oneshot::Sender<()>>,
}

/// The meeting's calls and the channel their reports come back on.
pub(super) struct Calls {
    placed: HashMap<CallId, PlacedCall>,
    /// Numbers from the chair's request, until the core's `DialOut` places the call.
    numbers: HashMap<CallId, PhoneNumber>,
    /// R1: answered calls over a trunk marked unencrypted; everyone is shown it meanwhile.
    unencrypted: HashSet<CallId>,
    /// Calls the chair placed to bring someone in, while they ring: cancelled with the meeting.
    ringing_in: HashMap<CallId, oneshot::Sender<()>>,
    reports_tx: mpsc::UnboundedSender<(CallId, CallReport)>,
    pub(super) reports: Option<mpsc::UnboundedReceiver<(CallId, CallReport)>>,
}

impl Default for Calls {
    fn default() -> Self {
        let (reports_tx, reports) = mpsc::unbounded_channel();
        Self {
            placed: HashMap::new(),
            numbers: HashMap::new(),
            unencrypted: HashSet::new(),
            ringing_in: HashMap::new(),
            reports_tx,
            reports: Some(reports),
        }
    }
}

impl Calls {
    pub(super) fn any_unencrypted(&self) -> bool {
        !self.unencrypted.is_empty()
    }
}

impl Live {
    /// The phone messages; false for any other message.
    pub(super) async fn phone_message(
        &mut self,
        participant: &ParticipantId,
        message: &ClientMessage,
    ) -> bool {
        match message {
            ClientMessage::MoveAudioToPhone {
                participant_id,
                number,
            } => {
                self.move_audio_to_phone(participant, participant_id, number)
                    .await;
                true
            }
            ClientMessage::CallIn { number } => {
                self.call_in(participant, number).await;
                true
            }
            ClientMessage::SendPhoneKeys {
                participant_id,
                keys,
            } => {
                self.send_phone_keys(participant, participant_id, keys);
                true
            }
            ClientMessage::AudioToBrowser { participant_id } => {
                let target = ParticipantId::new(participant_id.as_str());
                // The participant for themself, or the chair for anyone in the room.
                let result = if &target == participant {
                    self.core.audio_to_browser(&target)
                } else {
                    self.core.act(
                        Instant::now(),
                        participant,
                        ChairAction::AudioToBrowser(target),
                    )
                };
                match result {
                    Ok(effects) => self.apply(effects).await,
                    Err(e) => self.refuse_phone(participant, ErrorCode::PhoneRefused, &e),
                }
                true
            }
            _ => false,
        }
    }

    /// The chair presses keys toward someone in the room by phone. The keys are never logged
    /// (they may be an extension or a code).
    fn send_phone_keys(&mut self, chair: &ParticipantId, target: &str, keys: &str) {
        if self.core.chair() != Some(chair) {
            let message = ServerMessage::error(ErrorCode::NotChair, "Only the chair may do that.");
            self.send(chair, message);
            return;
        }
        let digits: Option<Vec<Digit>> = keys.chars().map(Digit::from_char).collect();
        let digits = match digits {
            Some(d) if !d.is_empty() && d.len() <= MAX_PHONE_KEYS => d,
            _ => {
                let message = ServerMessage::error(
                    ErrorCode::BadRequest,
                    format!("Keys are 1 to {MAX_PHONE_KEYS} of 0-9, * and #."),
                );
                self.send(chair, message);
                return;
            }
        };
        let target = ParticipantId::new(target);
        let control = self
            .conns
            .get(&target)
            .and_then(|c| c.phone.clone())
            .filter(|_| {
                self.core
                    .participant(&target)
                    .is_some_and(|p| p.is_admitted())
            });
        let Some(control) = control else {
            let message = ServerMessage::error(
                ErrorCode::PhoneRefused,
                "Keys go only to someone in the meeting by phone.",
            );
            self.send(chair, message);
            return;
        };
        if control.try_send(LegControl::Keys(digits)).is_err() {
            debug!(%target, "keys not pressed: the call is busy or gone");
        }
    }

    /// The chair's request to call `typed`, checked: the chair, a trunk, a number it may
    /// call. None (the chair told why) otherwise.
    fn checked_number(
        &self,
        chair: &ParticipantId,
        typed: &str,
    ) -> Option<(Arc<PhoneService>, PhoneNumber)> {
        if self.core.chair() != Some(chair) {
            let message = ServerMessage::error(ErrorCode::NotChair, "Only the chair may do that.");
            self.send(chair, message);
            return None;
        }
        let Some(service) = self.registry.phone.clone() else {
            let message = ServerMessage::error(
                ErrorCode::PhoneUnavailable,
                "This gateway has no telephone trunk.",
            );
            self.send(chair, message);
            return None;
        };
        match service.check(typed) {
            Ok(number) => Some((service, number)),
            Err(refusal) => {
                let text = match refusal {
                    NumberRefusal::Unreadable => "That is not a phone number.",
                    NumberRefusal::NotAllowed => "This gateway may not call that number.",
                };
                let message = ServerMessage::error(ErrorCode::PhoneNumberRefused, text);
                self.send(chair, message);
                None
            }
        }
    }

    async fn move_audio_to_phone(&mut self, chair: &ParticipantId, target: &str, typed: &str) {
        let Some((_, number)) = self.checked_number(chair, typed) else {
            return;
        };
        let call = CallId::new(random_id("k"));
        self.calls.numbers.insert(call.clone(), number);
        let action = ChairAction::MoveAudioToPhone {
            participant: ParticipantId::new(target),
            call: call.clone(),
        };
        match self.core.act(Instant::now(), chair, action) {
            Ok(effects) => self.apply(effects).await,
            Err(e) => {
                self.calls.numbers.remove(&call);
                self.refuse_phone(chair, ErrorCode::PhoneRefused, &e);
            }
        }
    }

    /// R14: the chair calls someone in by phone. At most `MAX_CALLS` ringing at once, and
    /// in the meeting's one window of `MAX_DIALS_PER_WINDOW` calls in ten minutes, which the
    /// split's calls count in too (the core keeps it).
    async fn call_in(&mut self, chair: &ParticipantId, typed: &str) {
        let Some((service, number)) = self.checked_number(chair, typed) else {
            return;
        };
        // R5: whoever answers would knock as a guest who cannot do e-identification, and be
        // turned away at the knock; the chair is told now, before anyone's phone rings.
        if self.core.requires_eid() {
            let text = "This meeting's guests identify with e-identification, which cannot be done by phone.";
            self.refuse_phone(chair, ErrorCode::PhoneEidRequired, &text);
            return;
        }
        let now = Instant::now();
        self.calls
            .ringing_in
            .retain(|_, cancel| !cancel.is_closed());
        if self.calls.ringing_in.len() >= MAX_CALLS || self.core.dials_left(now) == 0 {
            self.refuse_phone(chair, ErrorCode::PhoneRefused, &"too many calls");
            return;
        }
        let plan = match service.plan(&number).await {
            Ok(plan) => plan,
            Err(e) => {
                debug!(error = %e, "no media socket for a call-in");
                self.refuse_phone(chair, ErrorCode::PhoneUnavailable, &"no media socket");
                return;
            }
        };
        self.core.count_dial(now);
        let call = CallId::new(random_id("k"));
        let event = crate::store::AuditEvent {
            meeting_id: Some(self.meeting_id.clone()),
            event: "phone_call_in",
            actor: Some(chair.to_string()),
            subject: Some(call.to_string()),
            details: serde_json::json!({ "number": service.hashed(&number).to_string() }),
        };
        if let Err(e) = self.registry.store.audit(event, crate::unix_now()).await {
            tracing::error!(error = %e, "audit entry for a call-in not written");
        }
        let link = crate::store::LinkRecord {
            link_id: format!("phone_{call}"),
            meeting_id: self.meeting_id.clone(),
            role: sluss_protocol::InvitationRole::Guest,
            usable: true,
            meeting_ended: false,
            ended_at: None,
            sensitive: self.core.is_sensitive(),
            require_eid: false,
        };
        let (cancel, cancelled) = oneshot::channel();
        let (unanswered_tx, unanswered) = oneshot::channel();
        self.calls.ringing_in.insert(call.clone(), cancel);
        let registry = self.registry.clone();
        tokio::spawn(crate::phone::call_in(
            service,
            registry,
            link,
            number,
            plan,
            cancelled,
            unanswered_tx,
        ));
        // Tell the chair when nobody answers (through this meeting's loop).
        let back = self.calls.reports_tx.clone();
        tokio::spawn(async move {
            if unanswered.await.is_ok() {
                let state = LegState::Failed(FailReason::EndedUnanswered);
                let _ = back.send((call, CallReport::Ended { state, media: None }));
            }
        });
        info!(meeting = %self.meeting_id, "phone call-in placed");
    }

    fn refuse_phone(&self, to: &ParticipantId, code: ErrorCode, e: &dyn std::fmt::Display) {
        self.send(to, ServerMessage::error(code, format!("Refused: {e}.")));
    }

    /// The number of a call about to be placed, for the audit trail's hash.
    pub(super) fn call_number(&self, call: &CallId) -> Option<String> {
        let service = self.registry.phone.as_ref()?;
        let number = self.calls.numbers.get(call)?;
        Some(service.hashed(number).to_string())
    }

    /// The core's `DialOut`: place the call, its media a direct transport in this meeting.
    pub(super) async fn dial(&mut self, participant: &ParticipantId, call: CallId) {
        let number = self.calls.numbers.remove(&call);
        let (Some(service), Some(number)) = (self.registry.phone.clone(), number) else {
            let effects = self.core.call_ended(Instant::now(), &call);
            Box::pin(self.apply(effects)).await;
            return;
        };
        let peer = PeerId(self.registry.next_peer.fetch_add(1, Ordering::Relaxed));
        let label = format!("{participant}");
        let voices = self
            .registry
            .media
            .add_direct(self.router, peer, label, self.events_tx.clone())
            .await;
        let plan = service.plan(&number).await;
        let (voices, plan) = match (voices, plan) {
            (Ok(voices), Ok(plan)) => (voices, plan),
            (voices, plan) => {
                debug!(call = %call, direct = voices.is_ok(), socket = plan.is_ok(), "call not placed");
                let metric = &self.registry.metrics.phone_calls;
                metric.with_label_values(&["not_placed"]).inc();
                self.registry
                    .media
                    .send(self.router, sluss_net::Command::RemovePeer { peer });
                let effects = self.core.call_ended(Instant::now(), &call);
                Box::pin(self.apply(effects)).await;
                return;
            }
        };
        drop(number);
        let (hang_up, hang_up_rx) = oneshot::channel();
        let (reports_tx, mut reports) = mpsc::channel(8);
        let (digits, _digits) = mpsc::channel(8);
        let media = self.registry.media.clone();
        let router = self.router;
        let side = MeetingSide {
            voices,
            send: move |m| media.send_direct(router, peer, m),
            digits,
        };
        // The call's task also cleans up after it, whether or not this meeting's loop is
        // still there to hear the end: a meeting that ends mid-call leaves no transport behind.
        let (media, metrics) = (self.registry.media.clone(), self.registry.metrics.clone());
        metrics.phone_calls_active.inc();
        tokio::spawn(async move {
            let state = call::dial_out(service.stack(), plan, side, reports_tx, hang_up_rx).await;
            media.send(router, sluss_net::Command::RemovePeer { peer });
            metrics.phone_calls_active.dec();
            metrics
                .phone_calls
                .with_label_values(&[outcome(&state)])
                .inc();
        });
        // Forward the call's reports into this meeting's loop.
        let back = self.calls.reports_tx.clone();
        let id = call.clone();
        tokio::spawn(async move {
            while let Some(report) = reports.recv().await {
                if back.send((id.clone(), report)).is_err() {
                    break;
                }
            }
        });
        self.peers.insert(peer, participant.clone());
        let placed = PlacedCall {
            peer,
            hang_up: Some(hang_up),
        };
        self.calls.placed.insert(call.clone(), placed);
        info!(meeting = %self.meeting_id, call = %call, "phone call placed");
    }

    /// A caller on the phone was admitted (R4): their leg joins the room through a direct
    /// transport of its own, made only now, so the lobby never had any media.
    pub(super) async fn join_caller(&mut self, participant: &ParticipantId) {
        let Some(conn) = self.conns.get(participant) else {
            return;
        };
        let (Some(control), None) = (conn.phone.clone(), conn.peer) else {
            return;
        };
        let peer = PeerId(self.registry.next_peer.fetch_add(1, Ordering::Relaxed));
        let media = self.registry.media.clone();
        let router = self.router;
        let label = participant.to_string();
        let voices = match media
            .add_direct(router, peer, label, self.events_tx.clone())
            .await
        {
            Ok(voices) => voices,
            Err(e) => {
                debug!(error = %e, "no transport for a caller");
                self.close(
                    participant,
                    ServerMessage::error(ErrorCode::Internal, "No media."),
                );
                return;
            }
        };
        let link = MeetingLink {
            voices,
            send: Box::new(move |m| media.send_direct(router, peer, m)),
        };
        self.peers.insert(peer, participant.clone());
        if let Some(conn) = self.conns.get_mut(participant) {
            conn.peer = Some(peer);
        }
        if control.try_send(LegControl::Join(link)).is_err() {
            // The call ended meanwhile: its connection closes and takes the transport along.
            debug!(%participant, "caller gone before joining");
        }
    }

    /// The core's `HangUp`: end the call (CANCEL while ringing, BYE once answered).
    pub(super) fn hang_up(&mut self, call: &CallId) {
        self.calls.numbers.remove(call);
        if let Some(placed) = self.calls.placed.get_mut(call) {
            if let Some(tx) = placed.hang_up.take() {
                let _ = tx.send(());
            }
        }
    }

    /// What a call reports, fed to the core.
    pub(super) async fn call_report(&mut self, call: CallId, report: CallReport) {
        let effects = match report {
            CallReport::Ringing => return,
            CallReport::Answered { encrypted } => {
                if !encrypted {
                    info!(meeting = %self.meeting_id, call = %call, "unencrypted phone leg answered");
                    self.calls.unencrypted.insert(call.clone());
                    self.tell_meeting_state();
                }
                self.core.call_answered(&call)
            }
            CallReport::Ended { state, media } => {
                if self.calls.ringing_in.remove(&call).is_some() {
                    // A call-in nobody answered: the chair hears of it.
                    if let Some(chair) = self.core.chair().cloned() {
                        let message = ServerMessage::error(
                            ErrorCode::PhoneNotAnswered,
                            "The phone was not answered.",
                        );
                        self.send(&chair, message);
                    }
                    return;
                }
                if self.calls.unencrypted.remove(&call) {
                    self.tell_meeting_state();
                }
                // (The call's task removes its transport and counts it.)
                if let Some(placed) = self.calls.placed.remove(&call) {
                    self.peers.remove(&placed.peer);
                }
                debug!(call = %call, ?state, ?media, "phone call ended");
                if let Some(stats) = &media {
                    self.registry.metrics.count_phone_media(stats);
                }
                self.core.call_ended(Instant::now(), &call)
            }
        };
        self.apply(effects).await;
    }

    fn tell_meeting_state(&self) {
        let meeting = self.meeting_state();
        self.to_room(
            &ParticipantId::new(""),
            ServerMessage::MeetingStateChanged { meeting },
        );
    }

    /// Every call still up ends with the meeting's loop.
    pub(super) fn hang_up_all(&mut self) {
        for (_, cancel) in self.calls.ringing_in.drain() {
            let _ = cancel.send(());
        }
        let calls: Vec<CallId> = self.calls.placed.keys().cloned().collect();
        for call in calls {
            self.hang_up(&call);
        }
    }
}

/// The `outcome` label of `phone_calls_total`: a small fixed set, never a number or reason text.
fn outcome(state: &LegState) -> &'static str {
    match state {
        LegState::Ended(_) => "hung_up",
        LegState::Cancelled => "cancelled",
        LegState::Failed(FailReason::Rejected(_)) => "rejected",
        LegState::Failed(FailReason::AuthFailed) => "auth_failed",
        LegState::Failed(FailReason::Timeout) => "timeout",
        LegState::Failed(FailReason::Transport) => "transport",
        LegState::Failed(FailReason::NotEncrypted) => "not_encrypted",
        LegState::Failed(FailReason::BadAnswer(_)) => "bad_answer",
        _ => "not_answered",
    }
}

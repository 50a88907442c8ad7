//! One call to the dial-in number (R14), from the answer to the hang-up:
//! 1. answered (R1: SRTP unless the trunk is marked unencrypted), the caller is asked for a
//!    PIN with a tone, and types it; wrong PINs are limited per call, per caller and for the
//!    whole number (the guard in `PhoneService`), and are never read back;
//! 2. the PIN names an invitation: the caller knocks with it like anyone who opens its link
//!    (R3, R4), named to the chair by their masked number, and hears a waiting tone;
//! 3. admitted, the meeting joins the leg to the room (`Live::join_caller`); denied, removed,
//!    or the meeting ended, the meeting closes the connection and the call is hung up;
//!    hanging up the phone leaves the meeting.
//!
//! The caller's number is personal data: it is hashed for the audit trail and the guessing
//! guard, shown masked to the chair, and printed nowhere.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluss_meeting::{DisplayName, LinkId, ParticipantId, Role};
use sluss_phone::call::{answer_call, AnsweredCall};
use sluss_phone::leg_media::LegControl;
use sluss_phone::number::PhoneNumber;
use sluss_phone::pin::{Attempt, CallTries, PinEntry};
use sluss_phone::prompt::Prompt;
use sluss_phone::sip::rsip::{RsipCall, RsipIncoming};
use sluss_phone::sip::IncomingCall;
use sluss_protocol::ClientMessage;
use tracing::{debug, info};

use super::PhoneService;
use crate::live::{conn_channel, JoinArgs, Queued, Registry};
use crate::store::{AuditEvent, LinkRecord};
use crate::{unix_now, AppState};

/// How long a caller has to type a PIN.
const PIN_TIME: Duration = Duration::from_secs(60);
/// How long a call may stay without a single key: a caller who types nothing (or a flood
/// of calls that never will) does not hold a dial-in place for the whole `PIN_TIME`.
const FIRST_KEY_TIME: Duration = Duration::from_secs(20);
/// How long the "wrong PIN" tones play before the caller is asked again.
const WRONG_TONE: Duration = Duration::from_millis(1_300);
/// The longest a caller waits in a lobby; a chair who never answers does not hold a line.
const LOBBY_TIME: Duration = Duration::from_secs(60 * 60);

pub(super) type Call = AnsweredCall<RsipCall>;

pub(super) async fn take_call(service: &PhoneService, state: &AppState, incoming: RsipIncoming) {
    let caller = incoming.caller().cloned();
    // One key for every caller who hides their number: together they get one caller's tries.
    let caller_key = caller
        .as_ref()
        .map_or_else(|| "hidden".to_owned(), |n| service.hashed(n).hmac_hex);
    let metrics = &state.metrics;
    let plan = match service.answer_plan().await {
        Ok(plan) => plan,
        Err(e) => {
            debug!(error = %e, "no media socket for a dial-in call");
            let _ = incoming.reject(503);
            metrics.phone_calls.with_label_values(&["not_placed"]).inc();
            return;
        }
    };
    let mut call = match answer_call(incoming, plan) {
        Ok(call) => call,
        Err(e) => {
            debug!(error = %e, "dial-in call not answered");
            refused(state, "offer_not_acceptable");
            metrics
                .phone_calls
                .with_label_values(&["dial_in_not_acceptable"])
                .inc();
            return;
        }
    };
    metrics.phone_calls_active.inc();
    let outcome = match read_pin(service, state, &mut call, &caller_key).await {
        Ok(link) => {
            let how = Arrival {
                event: "phone_dial_in",
                caller: caller.as_ref(),
            };
            in_meeting(service, &state.registry, &mut call, link, how).await
        }
        Err(outcome) => outcome,
    };
    call.hang_up().await;
    let stats = call.media.stop().await;
    debug!(outcome, ?stats, "dial-in call over");
    if let Some(stats) = &stats {
        metrics.count_phone_media(stats);
    }
    metrics.phone_calls_active.dec();
    metrics.phone_calls.with_label_values(&[outcome]).inc();
}

/// A refused dial-in, counted in the audit trail (R15: a guessing storm is one entry per
/// window and reason, not one per try).
fn refused(state: &AppState, reason: &'static str) {
    let event = AuditEvent {
        event: "phone_dial_in_refused",
        details: serde_json::json!({ "reason": reason }),
        ..AuditEvent::default()
    };
    state.audit_tally.record(event, unix_now());
}

/// Asks for the PIN until a right one names a usable invitation. `Err` is the call's
/// outcome label when it ends here.
async fn read_pin(
    service: &PhoneService,
    state: &AppState,
    call: &mut Call,
    caller_key: &String,
) -> Result<LinkRecord, &'static str> {
    prompt(call, Prompt::EnterPin).await;
    let mut entry = PinEntry::new();
    let mut tries = CallTries::default();
    let deadline = tokio::time::Instant::now() + PIN_TIME;
    let first_key = tokio::time::Instant::now() + FIRST_KEY_TIME;
    let mut typed = false;
    loop {
        let pause = entry.poll_timeout();
        let entered = tokio::select! {
            event = call.events.recv() => {
                let Some(event) = event else { return Err("dial_in_hung_up") };
                if call.on_event(event).await.is_some() {
                    return Err("dial_in_hung_up");
                }
                continue;
            }
            () = call.media.fell_silent() => {
                call.hang_up().await;
                return Err("dial_in_silent");
            }
            digit = call.digits.recv() => match digit {
                Some(digit) => {
                    typed = true;
                    entry.key(Instant::now(), digit)
                }
                None => return Err("dial_in_hung_up"),
            },
            _ = sleep_until(pause), if pause.is_some() => entry.handle_timeout(Instant::now()),
            _ = tokio::time::sleep_until(deadline) => {
                refused(state, "no_pin");
                return Err("dial_in_no_pin");
            }
            _ = tokio::time::sleep_until(first_key), if !typed => {
                refused(state, "no_pin");
                return Err("dial_in_no_pin");
            }
        };
        let Some(entered) = entered else { continue };
        let hash = service.pin_hash(entered.expose());
        drop(entered);
        let found = match state.store.find_link_by_pin(&hash, unix_now()).await {
            Ok(found) => found.filter(|l| l.usable && !l.meeting_ended),
            Err(e) => {
                tracing::error!(error = %e, "PIN lookup failed");
                return Err("dial_in_failed");
            }
        };
        let attempt = service
            .guard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .attempt(&mut tries, caller_key, &(), Instant::now(), || {
                found.is_some()
            });
        match (attempt, found) {
            (Attempt::Accepted, Some(link)) => return Ok(link),
            (Attempt::Wrong { .. }, _) => {
                refused(state, "wrong_pin");
                prompt(call, Prompt::Wrong).await;
                tokio::time::sleep(WRONG_TONE).await;
                prompt(call, Prompt::EnterPin).await;
            }
            (Attempt::Locked, _) => {
                refused(state, "locked");
                return Err("dial_in_locked");
            }
            (_, _) => {
                refused(state, "wrong_pin");
                return Err("dial_in_wrong_pin");
            }
        }
    }
}

/// How a caller came: the audit event that records it, and their number.
pub(super) struct Arrival<'a> {
    pub event: &'static str,
    pub caller: Option<&'a PhoneNumber>,
}

/// The caller knocks with the invitation their PIN names (or the one made for the chair's
/// call) and stays until the call or their place in the meeting ends.
pub(super) async fn in_meeting(
    service: &PhoneService,
    registry: &Arc<Registry>,
    call: &mut Call,
    link: LinkRecord,
    how: Arrival<'_>,
) -> &'static str {
    let caller = how.caller;
    let (role, invitee) = crate::ws::seat_of(link.role);
    if role == Role::Chair {
        // R2, R7: the chair logs in; a chair's link never gets a PIN, and none is taken.
        return "dial_in_refused";
    }
    let shown = caller.map_or_else(|| "dolt nummer".to_owned(), PhoneNumber::masked);
    let Ok(name) = DisplayName::parse(&format!("Telefon {shown}")) else {
        return "dial_in_failed";
    };
    let (conn, mut frames) = conn_channel();
    // The waiting tone first: the chair may admit the knock before this task runs again.
    prompt(call, Prompt::Waiting).await;
    let args = JoinArgs {
        sensitive: link.sensitive,
        link: LinkId::new(link.link_id.clone()),
        role,
        invitee,
        staff: None,
        resume: None,
        citizen: None,
        require_eid: link.require_eid,
        name,
        announce: service.config.media_announce,
        conn,
        phone: Some(call.media.control.clone()),
    };
    let (meeting, joined) = match registry.join(&link.meeting_id, args).await {
        Ok(ok) => ok,
        Err(code) => {
            debug!(?code, "dial-in caller not seated");
            return "dial_in_refused";
        }
    };
    let participant: ParticipantId = joined.participant.clone();
    meeting.delivered(participant.clone(), joined.conn_id);
    let caller_hash = caller.map(|n| service.hashed(n).to_string());
    let event = AuditEvent {
        meeting_id: Some(link.meeting_id.clone()),
        event: how.event,
        actor: None,
        subject: Some(participant.to_string()),
        details: serde_json::json!({ "invitation": link.link_id, "number": caller_hash }),
    };
    if let Err(e) = registry.store.audit(event, unix_now()).await {
        tracing::error!(error = %e, "audit entry for a dial-in not written");
    }
    info!(meeting = %link.meeting_id, %participant, "caller knocked by phone");
    let deadline = tokio::time::Instant::now() + LOBBY_TIME;
    let mut in_room = false;
    let mut keys = InCallKeys::default();
    let tell = |muted: bool| ClientMessage::MediaState {
        audio_muted: muted,
        // A phone has no camera: its tile shows that in words.
        video_muted: true,
    };
    meeting.client(participant.clone(), joined.conn_id, tell(false));
    let outcome = loop {
        tokio::select! {
            event = call.events.recv() => {
                let ended = match event {
                    Some(event) => call.on_event(event).await.is_some(),
                    None => true,
                };
                if ended {
                    meeting.client(participant.clone(), joined.conn_id, ClientMessage::Leave);
                    break "dial_in_ended";
                }
            }
            () = call.media.fell_silent() => {
                // The trunk is gone without a BYE: the seat must not wait on a dead line.
                call.hang_up().await;
                meeting.client(participant.clone(), joined.conn_id, ClientMessage::Leave);
                break "dial_in_silent";
            }
            Some(digit) = call.digits.recv() => {
                // `*6` mutes and unmutes, as on most meeting bridges.
                if let Some(muted) = keys.key(digit.as_char()) {
                    let _ = call.media.control.send(LegControl::Mute(muted)).await;
                    meeting.client(participant.clone(), joined.conn_id, tell(muted));
                }
            }
            frame = frames.recv() => match frame {
                Some(Queued::Text(text)) => match message_type(&text).as_deref() {
                    Some("admitted") => {
                        in_room = true;
                        meeting.client(participant.clone(), joined.conn_id, tell(keys.muted));
                    }
                    // The chair muted the caller: the gateway does it, as a browser would.
                    Some("mute_requested") => {
                        keys.muted = true;
                        let _ = call.media.control.send(LegControl::Mute(true)).await;
                        meeting.client(participant.clone(), joined.conn_id, tell(true));
                    }
                    _ => {}
                },
                // Denied, removed, the meeting ended, or the leg could not join: hang up.
                Some(Queued::Close(_)) | None => break "dial_in_ended",
            },
            _ = tokio::time::sleep_until(deadline), if !in_room => {
                meeting.client(participant.clone(), joined.conn_id, ClientMessage::Leave);
                break "dial_in_ended";
            }
        }
    };
    meeting.closed(participant, joined.conn_id);
    outcome
}

/// The `type` of a message to the caller's connection.
fn message_type(text: &str) -> Option<String> {
    let message: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(message.get("type")?.as_str()?.to_owned())
}

/// The keys a caller presses in the meeting: `*6` toggles their microphone.
#[derive(Default)]
struct InCallKeys {
    star: bool,
    muted: bool,
}

impl InCallKeys {
    /// A key; returns the new mute state when it changed.
    fn key(&mut self, key: char) -> Option<bool> {
        let toggle = self.star && key == '6';
        self.star = key == '*';
        if toggle {
            self.muted = !self.muted;
            return Some(self.muted);
        }
        None
    }
}

async fn prompt(call: &Call, prompt: Prompt) {
    let _ = call.media.control.send(LegControl::Prompt(prompt)).await;
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// The chair calls someone in (R14): once they answer, they knock like a caller with a PIN
/// and wait for the chair in the lobby (R4). `cancel` ends the call while it rings (the
/// meeting ended); an unanswered call is reported on `unanswered`.
pub(crate) async fn call_in(
    service: Arc<PhoneService>,
    registry: Arc<Registry>,
    link: LinkRecord,
    number: PhoneNumber,
    plan: sluss_phone::call::DialPlan,
    cancel: tokio::sync::oneshot::Receiver<()>,
    unanswered: tokio::sync::oneshot::Sender<()>,
) {
    let metrics = registry.metrics.clone();
    metrics.phone_calls_active.inc();
    let outcome = match sluss_phone::call::place_call(service.stack(), plan, cancel).await {
        Ok(mut call) => {
            let how = Arrival {
                event: "phone_called_in",
                caller: Some(&number),
            };
            let outcome = in_meeting(&service, &registry, &mut call, link, how).await;
            call.hang_up().await;
            debug!(outcome, "called-in phone call over");
            if let Some(stats) = call.media.stop().await {
                registry.metrics.count_phone_media(&stats);
            }
            outcome
        }
        Err(state) => {
            debug!(?state, "called-in phone not answered");
            let _ = unanswered.send(());
            "call_in_not_answered"
        }
    };
    metrics.phone_calls_active.dec();
    metrics.phone_calls.with_label_values(&[outcome]).inc();
}

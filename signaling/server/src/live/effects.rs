//! The meeting core's effects, carried out: who is told what, whose media stops, what is kept.

use sluss_meeting::{AudioRoute, RecordingKind, Role};
use sluss_meeting::{ChairAction, Effect, Identification, ParticipantId, Presence};
use sluss_protocol::AudioRoute as WireAudioRoute;
use sluss_protocol::{ClientMessage, Connection, IdentificationMethod, MeetingState};
use sluss_protocol::{ErrorCode, ParticipantInfo, ServerMessage};
use tracing::{error, info};

use std::time::Instant;

use super::{Live, Outbound};
use crate::store::AuditEvent;
use crate::unix_now;

impl Live {
    /// Carries out effects, persisting what must outlive the process first: the audit entry
    /// (R15), and for the end, the end itself.
    pub(super) async fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            if let Effect::Knocked(id) = &effect {
                if let Some(link) = self.core.participant(id).map(|p| p.link.clone()) {
                    self.churn.knocked(Instant::now(), id, &link);
                }
            }
            let counted_under = self.churn.counted_under(&effect);
            if let Some(mut event) = self.audit_event(&effect) {
                if let Some(link) = counted_under {
                    // A link knocking again and again: one counted entry per event and window.
                    event.subject = Some(link.to_string());
                    event.details = serde_json::json!({ "counted_by": "link" });
                    self.registry.tally.record(event, unix_now());
                } else if let Effect::RecordingRefused { .. } = effect {
                    // R9: every attempt is in the trail, repeated ones as a count.
                    self.registry.tally.record(event, unix_now());
                } else if let Err(e) = self.registry.store.audit(event, unix_now()).await {
                    error!(meeting = %self.meeting_id, error = %e, "could not write the audit trail");
                }
            }
            self.note_link(&effect).await;
            if let Effect::Ended { .. } = effect {
                // Links must be dead before anyone is told the meeting is over (R8).
                let ended = self
                    .registry
                    .store
                    .end_meeting(&self.meeting_id, unix_now())
                    .await;
                if let Err(e) = ended {
                    error!(meeting = %self.meeting_id, error = %e, "could not record the end");
                }
            }
            if let Effect::DialOut {
                participant, call, ..
            } = &effect
            {
                // R14: placed once its audit entry (with the number's hash) is written.
                self.dial(participant, call.clone()).await;
            }
            let admitted = match &effect {
                Effect::Admitted { participant, .. } => Some(participant.clone()),
                _ => None,
            };
            self.apply_one(effect);
            if let Some(participant) = admitted {
                // R14: a caller on the phone joins the room through a transport of its own.
                self.join_caller(&participant).await;
            }
        }
    }

    /// For the meeting's page: the first time a link knocked or came in, kept in the store.
    async fn note_link(&self, effect: &Effect) {
        let (id, entered) = match effect {
            Effect::Knocked(id) => (id, false),
            Effect::Arrived(id) => (id, true),
            Effect::Admitted { participant, .. } => (participant, true),
            _ => return,
        };
        let Some(link) = self.core.participant(id).map(|p| p.link.clone()) else {
            return;
        };
        let noted = self
            .registry
            .store
            .note_link(link.as_str(), entered, unix_now())
            .await;
        if let Err(e) = noted {
            error!(meeting = %self.meeting_id, error = %e, "could not note the link's use");
        }
    }

    /// What the audit trail records of an effect: who, what, whom, how; never content.
    fn audit_event(&self, effect: &Effect) -> Option<AuditEvent> {
        let who = |id: &ParticipantId| Some(id.to_string());
        let none = serde_json::json!({});
        let person = |id: &ParticipantId| {
            self.core
                .participant(id)
                .map_or(serde_json::json!({}), |p| {
                    let role = match p.role {
                        Role::Chair => "chair",
                        Role::Guest => "guest",
                    };
                    // For the auditors' "who was in it": the invitation used and, for a staff
                    // login, whose account it was (names, never personal identity numbers: R12
                    // refuses those in a name before anyone knocks).
                    let invitation = crate::ws::invitation_of(p.role, p.invitee);
                    serde_json::json!({
                        "name": p.name.expose(),
                        "link": p.link.as_str(),
                        "role": role,
                        "invitation": invitation.as_str(),
                        "staff_user": p.staff.as_ref().map(|s| s.as_str()),
                    })
                })
        };
        let (event, actor, subject, details) = match effect {
            Effect::Arrived(id) => ("joined", None, who(id), person(id)),
            Effect::Knocked(id) => ("knocked", None, who(id), person(id)),
            Effect::Admitted { participant, by } => ("admitted", who(by), who(participant), none),
            Effect::Denied { participant, by } => ("denied", who(by), who(participant), none),
            Effect::Removed { participant, by } => ("removed", who(by), who(participant), none),
            Effect::Muted { participant, by } => ("muted", who(by), who(participant), none),
            Effect::Departed(id) => ("left", None, who(id), none),
            Effect::ChairChanged { chair } => {
                ("chair_changed", None, chair.as_ref().and_then(who), none)
            }
            Effect::LockChanged { locked, by } => {
                let event = if *locked { "locked" } else { "unlocked" };
                (event, who(by), None, none)
            }
            Effect::Identified {
                participant,
                how,
                by,
            } => {
                let how = serde_json::json!({ "how": wire_identification(*how) });
                ("identified", who(by), who(participant), how)
            }
            Effect::ConsentRecorded { by } => {
                // Whose consent: the patients in the room (by opaque id and role); the one
                // patient, when there is one, is the entry's subject.
                let patients: Vec<&ParticipantId> = self
                    .core
                    .participants()
                    .filter(|p| p.is_admitted() && p.invitee == sluss_meeting::Invitee::Patient)
                    .map(|p| &p.id)
                    .collect();
                let subject = match patients.as_slice() {
                    [one] => who(one),
                    _ => None,
                };
                let whose: Vec<_> = patients
                    .iter()
                    .map(|id| serde_json::json!({ "participant_id": id.to_string(), "role": "patient" }))
                    .collect();
                let details = serde_json::json!({ "whose": whose });
                ("consent_recorded", who(by), subject, details)
            }
            Effect::ChatChanged { enabled, by } => {
                let event = if *enabled { "chat_on" } else { "chat_off" };
                (event, who(by), None, none)
            }
            Effect::RecordingRefused { by, kind } => {
                let kind = match kind {
                    RecordingKind::Recording => "recording",
                    RecordingKind::Transcription => "transcription",
                };
                (
                    "recording_refused",
                    who(by),
                    None,
                    serde_json::json!({ "kind": kind }),
                )
            }
            // R15: never what was said.
            Effect::Chat { .. } => return None,
            Effect::ScreenShareAllowed {
                participant,
                allowed,
                by,
            } => {
                let event = if *allowed {
                    "screen_share_allowed"
                } else {
                    "screen_share_disallowed"
                };
                (event, who(by), who(participant), none)
            }
            Effect::ScreenShareStarted(id) => ("screen_share_started", who(id), None, none),
            Effect::ScreenShareStopped {
                participant,
                reason,
            } => {
                let reason = format!("{reason:?}");
                (
                    "screen_share_stopped",
                    None,
                    who(participant),
                    serde_json::json!({ "reason": reason }),
                )
            }
            Effect::Ended { by } => ("ended", who(by), None, none),
            Effect::Revoked(id) => ("put_out_by_revocation", None, who(id), none),
            Effect::Superseded {
                participant,
                successor,
            } => (
                "superseded",
                None,
                who(participant),
                serde_json::json!({ "successor": successor.as_str() }),
            ),
            Effect::Withdrawn(id) => ("knock_withdrawn", None, who(id), none),
            Effect::StaffLoginEnded {
                participant,
                put_out,
            } => (
                "staff_login_ended",
                None,
                who(participant),
                serde_json::json!({ "put_out": put_out }),
            ),
            // R14: calls by their opaque id; the number is in the trail only as the SIP side
            // records it, hash-masked.
            Effect::DialOut {
                participant,
                call,
                by,
            } => (
                "phone_dial_out",
                who(by),
                who(participant),
                serde_json::json!({ "call": call.as_str(), "number": self.call_number(call) }),
            ),
            Effect::AudioRouted {
                participant,
                by_phone,
            } => {
                let event = if *by_phone {
                    "audio_by_phone"
                } else {
                    "audio_by_browser"
                };
                (event, None, who(participant), none)
            }
            Effect::CallEnded {
                participant,
                call,
                how,
            } => (
                "phone_call_ended",
                None,
                who(participant),
                serde_json::json!({ "call": call.as_str(), "how": format!("{how:?}") }),
            ),
            // Followed by `phone_call_ended` when the SIP side reports the end.
            Effect::HangUp(_) => return None,
            // Recorded by the API as `meeting_cancelled`, with who cancelled.
            Effect::Cancelled => return None,
            Effect::Updated(_) => return None,
        };
        Some(AuditEvent {
            meeting_id: Some(self.meeting_id.clone()),
            event,
            actor,
            subject,
            details,
        })
    }

    fn apply_one(&mut self, effect: Effect) {
        match &effect {
            Effect::Departed(id)
            | Effect::Revoked(id)
            | Effect::Withdrawn(id)
            | Effect::Denied {
                participant: id, ..
            }
            | Effect::Removed {
                participant: id, ..
            }
            | Effect::Superseded {
                participant: id, ..
            }
            | Effect::StaffLoginEnded {
                participant: id,
                put_out: true,
            } => self.forget(&id.clone()),
            Effect::Ended { .. } | Effect::Cancelled => {
                self.citizens.clear();
                self.staff.clear();
            }
            _ => {}
        }
        match effect {
            Effect::Arrived(id) => {
                if let Some(participant) = self.info(&id) {
                    self.to_room(&id, ServerMessage::ParticipantJoined { participant });
                }
            }
            Effect::Knocked(id) => {
                if let Some(participant) = self.info(&id) {
                    self.to_chair(ServerMessage::Knock { participant });
                }
            }
            Effect::Admitted { participant, .. } => {
                let message = ServerMessage::Admitted {
                    participants: self.room_except(&participant),
                    meeting: self.meeting_state(),
                    ice_servers: self.ice_servers(&participant),
                };
                self.send(&participant, message);
                self.tell_speaker(&participant);
                if let Some(info) = self.info(&participant) {
                    self.to_room(
                        &participant,
                        ServerMessage::ParticipantJoined { participant: info },
                    );
                }
            }
            Effect::Denied { participant, .. } => {
                self.close(&participant, ServerMessage::Denied);
                self.tell_left(&participant);
            }
            Effect::Removed { participant, .. } | Effect::Revoked(participant) => {
                self.close(&participant, ServerMessage::Removed);
                self.tell_left(&participant);
            }
            Effect::Superseded { participant, .. } => {
                self.close(&participant, ServerMessage::Superseded);
                self.tell_left(&participant);
            }
            Effect::Withdrawn(participant) => {
                self.close(&participant, ServerMessage::OpenedElsewhere);
                self.tell_left(&participant);
            }
            Effect::StaffLoginEnded {
                participant,
                put_out: true,
            } => {
                let message = ServerMessage::error(
                    ErrorCode::LoginRequired,
                    "Your staff login has ended. Log in again to take part.",
                );
                self.close(&participant, message);
                self.tell_left(&participant);
            }
            // The tile update follows as its own `Updated` effect.
            Effect::StaffLoginEnded { put_out: false, .. } => {}
            Effect::Muted { participant, .. } => {
                self.send(&participant, ServerMessage::MuteRequested)
            }
            Effect::Updated(id) => {
                if let Some(participant) = self.info(&id) {
                    let message = ServerMessage::ParticipantUpdated { participant };
                    if self.core.participant(&id).is_some_and(|p| p.is_admitted()) {
                        self.to_room(&id, message);
                    } else {
                        self.to_chair(message);
                    }
                }
            }
            Effect::Departed(id) => {
                self.drop_conn(&id);
                self.tell_left(&id);
            }
            Effect::Chat { from, text } => {
                // R10: to those in the room at this moment; nothing is kept.
                let display_name = self
                    .core
                    .participant(&from)
                    .map(|p| p.name.expose().to_owned())
                    .unwrap_or_default();
                let message = ServerMessage::Chat {
                    from: from.to_string(),
                    display_name,
                    text: text.expose().to_owned(),
                };
                self.to_room(&ParticipantId::new(""), message);
            }
            Effect::RecordingRefused { .. } => {}
            Effect::ScreenShareAllowed { participant, .. } => {
                if let Some(info) = self.info(&participant) {
                    self.send(
                        &participant,
                        ServerMessage::ParticipantUpdated {
                            participant: info.clone(),
                        },
                    );
                    self.to_room(
                        &participant,
                        ServerMessage::ParticipantUpdated { participant: info },
                    );
                }
            }
            Effect::ScreenShareStarted(ref id)
            | Effect::ScreenShareStopped {
                participant: ref id,
                ..
            } => {
                // R11: the relay forwards the screen only from the moment it is allowed, and
                // not one packet after it is stopped.
                let allowed = matches!(effect, Effect::ScreenShareStarted(_));
                if let Some(peer) = self.conns.get(id).and_then(|c| c.peer) {
                    self.registry.media.send(
                        self.router,
                        sluss_net::Command::SetScreenSharing { peer, allowed },
                    );
                }
                let meeting = self.meeting_state();
                self.to_room(
                    &ParticipantId::new(""),
                    ServerMessage::MeetingStateChanged { meeting },
                );
            }
            Effect::AudioRouted {
                participant,
                by_phone,
            } => {
                // R14: the relay cuts (or restores) the browser's audio both ways; the tile
                // update follows as its own `Updated` effect.
                if let Some(peer) = self.conns.get(&participant).and_then(|c| c.peer) {
                    self.registry.media.send(
                        self.router,
                        sluss_net::Command::SetAudioByPhone { peer, on: by_phone },
                    );
                }
                self.tell_own_audio(&participant);
            }
            // R14: placed in `apply` (it waits for the media worker); the tile follows as
            // its own `Updated` effect.
            Effect::DialOut { .. } => {}
            Effect::CallEnded { participant, .. } => self.tell_own_audio(&participant),
            Effect::HangUp(call) => self.hang_up(&call),
            Effect::ChairChanged { .. } => {
                let meeting = self.meeting_state();
                self.to_room(
                    &ParticipantId::new(""),
                    ServerMessage::MeetingStateChanged { meeting },
                );
                self.brief_chair();
            }
            Effect::LockChanged { .. }
            | Effect::ChatChanged { .. }
            | Effect::ConsentRecorded { .. } => {
                let meeting = self.meeting_state();
                self.to_room(
                    &ParticipantId::new(""),
                    ServerMessage::MeetingStateChanged { meeting },
                );
            }
            // R5: the person is told too how they were identified (everyone else learns it
            // from the `Updated` that follows).
            Effect::Identified { participant, .. } => {
                if let Some(info) = self.info(&participant) {
                    self.send(
                        &participant,
                        ServerMessage::ParticipantUpdated { participant: info },
                    );
                }
            }
            Effect::Ended { .. } | Effect::Cancelled => {
                info!(meeting = %self.meeting_id, "meeting ended");
                // R8: every call ends with the meeting, a call-in still ringing too.
                self.hang_up_all();
                let everyone: Vec<ParticipantId> = self.conns.keys().cloned().collect();
                for id in everyone {
                    self.close(&id, ServerMessage::MeetingEnded);
                }
            }
        }
    }

    /// Sends a last message and closes the participant's connection and media.
    pub(super) fn close(&mut self, id: &ParticipantId, message: ServerMessage) {
        if let Some(conn) = self.conns.get(id) {
            conn.tx.send(Outbound::Close(Some(message)));
        }
        self.drop_conn(id);
    }

    /// R14: the participant's own page hears where their voice goes (the room hears it from
    /// the `Updated` that follows): it shows it, and offers the voice back after a hang-up.
    fn tell_own_audio(&self, id: &ParticipantId) {
        if let Some(participant) = self.info(id) {
            self.send(id, ServerMessage::ParticipantUpdated { participant });
        }
    }

    fn tell_left(&self, id: &ParticipantId) {
        let message = ServerMessage::ParticipantLeft {
            participant_id: id.to_string(),
        };
        for (other, conn) in &self.conns {
            if other != id && self.knows_of(other) {
                conn.tx.send(Outbound::Send(message.clone()));
            }
        }
    }

    /// Whether a participant may hear about the room: admitted people only.
    fn knows_of(&self, id: &ParticipantId) -> bool {
        self.core.participant(id).is_some_and(|p| p.is_admitted())
    }

    pub(super) fn info(&self, id: &ParticipantId) -> Option<ParticipantInfo> {
        let p = self.core.participant(id)?;
        Some(ParticipantInfo {
            participant_id: p.id.to_string(),
            display_name: p.name.expose().to_owned(),
            role: wire_role(p.role),
            audio_muted: p.audio_muted,
            video_muted: p.video_muted,
            connection: match p.presence {
                Presence::Connected => Connection::Connected,
                Presence::Reconnecting { .. } => Connection::Reconnecting,
            },
            admitted: p.is_admitted(),
            identification: p.identification.map(wire_identification),
            staff: p.is_staff(),
            may_share_screen: self.core.may_share_screen(&p.id),
            reopened: p.reopened,
            by_phone: self.conns.get(id).is_some_and(|c| c.phone.is_some()),
            invitation: Some(crate::ws::invitation_of(p.role, p.invitee)),
            audio: match self.core.audio_route(&p.id) {
                _ if self.conns.get(id).is_some_and(|c| c.phone.is_some()) => WireAudioRoute::Phone,
                AudioRoute::Browser => WireAudioRoute::Browser,
                AudioRoute::Ringing(_) => WireAudioRoute::Ringing,
                AudioRoute::Phone(_) => WireAudioRoute::Phone,
                AudioRoute::PhoneHungUp => WireAudioRoute::PhoneHungUp,
            },
        })
    }

    /// Everyone in the room but `except`.
    pub(super) fn room_except(&self, except: &ParticipantId) -> Vec<ParticipantInfo> {
        self.core
            .participants()
            .filter(|p| &p.id != except && p.is_admitted())
            .filter_map(|p| self.info(&p.id))
            .collect()
    }

    pub(super) fn meeting_state(&self) -> MeetingState {
        MeetingState {
            chair_id: self.core.chair().map(|c| c.to_string()),
            locked: self.core.is_locked(),
            consent_recorded: self.core.consent().is_some(),
            sensitive: self.core.is_sensitive(),
            chat_enabled: self.core.chat_enabled(),
            screen_sharer: self.core.screen_sharer().map(|s| s.to_string()),
            unencrypted_leg: self.calls.any_unencrypted(),
        }
    }

    pub(super) fn send(&self, to: &ParticipantId, message: ServerMessage) {
        if let Some(conn) = self.conns.get(to) {
            conn.tx.send(Outbound::Send(message));
        }
    }

    /// To everyone in the room but `except`.
    /// Someone new in the room learns who is speaking.
    pub(super) fn tell_speaker(&self, to: &ParticipantId) {
        let in_room = self.core.participant(to).is_some_and(|p| p.is_admitted());
        if let (true, Some(speaker)) = (in_room, &self.speaker) {
            if self.core.participant(speaker).is_some() {
                let participant_id = speaker.to_string();
                self.send(to, ServerMessage::ActiveSpeaker { participant_id });
            }
        }
    }

    /// TURN credentials for someone in the room, when a TURN server is configured.
    pub(super) fn ice_servers(
        &self,
        participant: &ParticipantId,
    ) -> Vec<sluss_protocol::IceServer> {
        self.registry
            .turn
            .as_ref()
            .map(|t| t.ice_servers(&participant.to_string(), crate::unix_now()))
            .unwrap_or_default()
    }

    /// The chair (new, or back) learns who waits in the lobby and what e-identification
    /// proved of each participant.
    pub(super) fn brief_chair(&self) {
        let Some(chair) = self.core.chair().cloned() else {
            return;
        };
        let waiting: Vec<ParticipantId> = self.core.lobby().map(|p| p.id.clone()).collect();
        for id in waiting {
            if let Some(participant) = self.info(&id) {
                self.send(&chair, ServerMessage::Knock { participant });
            }
        }
        self.tell_chair_identities(None);
    }

    /// Forgets what the meeting kept about someone who is gone (R5: a verified identity is
    /// held only while its person is there).
    fn forget(&mut self, id: &ParticipantId) {
        self.citizens.remove(id);
        self.staff.remove(id);
    }

    /// R5: the chair, and only the chair, learns who e-identified participants proved to be;
    /// `only` limits it to one participant (a new arrival).
    pub(super) fn tell_chair_identities(&self, only: Option<&ParticipantId>) {
        let Some(chair) = self.core.chair().cloned() else {
            return;
        };
        for (id, citizen) in &self.citizens {
            if only.is_some_and(|o| o != id) || self.core.participant(id).is_none() {
                continue;
            }
            self.send(
                &chair,
                ServerMessage::VerifiedIdentity {
                    participant_id: id.to_string(),
                    name: citizen.name.clone(),
                    personal_identity_number: citizen.personal_number.clone(),
                },
            );
        }
    }

    pub(super) fn to_room(&self, except: &ParticipantId, message: ServerMessage) {
        for (id, conn) in &self.conns {
            if id != except && self.knows_of(id) {
                conn.tx.send(Outbound::Send(message.clone()));
            }
        }
    }

    fn to_chair(&self, message: ServerMessage) {
        if let Some(chair) = self.core.chair() {
            self.send(chair, message);
        }
    }
}

/// A chair action carried by a client message, if it is one.
pub(super) fn chair_action(message: &ClientMessage) -> Option<ChairAction> {
    let id = |s: &String| ParticipantId::new(s.clone());
    Some(match message {
        ClientMessage::Admit { participant_id } => ChairAction::Admit(id(participant_id)),
        ClientMessage::Deny { participant_id } => ChairAction::Deny(id(participant_id)),
        ClientMessage::Remove { participant_id } => ChairAction::Remove(id(participant_id)),
        ClientMessage::Mute { participant_id } => ChairAction::Mute(id(participant_id)),
        ClientMessage::Lock { locked } => ChairAction::SetLocked(*locked),
        ClientMessage::Identify {
            participant_id,
            method,
        } => ChairAction::Identify(id(participant_id), core_identification(*method)),
        ClientMessage::RecordConsent => ChairAction::RecordConsent,
        ClientMessage::EndMeeting => ChairAction::End,
        ClientMessage::SetChat { enabled } => ChairAction::SetChat(*enabled),
        ClientMessage::HandOver { participant_id } => ChairAction::HandOver(id(participant_id)),
        ClientMessage::AllowScreenShare {
            participant_id,
            allowed,
        } => ChairAction::AllowScreenShare(id(participant_id), *allowed),
        _ => return None,
    })
}

pub(super) fn wire_role(role: Role) -> sluss_protocol::Role {
    match role {
        Role::Chair => sluss_protocol::Role::Chair,
        Role::Guest => sluss_protocol::Role::Guest,
    }
}

fn core_identification(method: IdentificationMethod) -> Identification {
    match method {
        IdentificationMethod::EIdentification => Identification::EIdentification,
        IdentificationMethod::StaffLogin => Identification::StaffLogin,
        IdentificationMethod::IdShownOnCamera => Identification::IdShownOnCamera,
        IdentificationMethod::KnownFromBefore => Identification::KnownFromBefore,
        IdentificationMethod::VoiceRecognisedByPatient => Identification::VoiceRecognisedByPatient,
    }
}

fn wire_identification(how: Identification) -> IdentificationMethod {
    match how {
        Identification::EIdentification => IdentificationMethod::EIdentification,
        Identification::StaffLogin => IdentificationMethod::StaffLogin,
        Identification::IdShownOnCamera => IdentificationMethod::IdShownOnCamera,
        Identification::KnownFromBefore => IdentificationMethod::KnownFromBefore,
        Identification::VoiceRecognisedByPatient => IdentificationMethod::VoiceRecognisedByPatient,
    }
}

//! Live meetings: one task per meeting owns its policy core and its participants' connections,
//! and turns the core's effects into messages and media commands.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sluss_meeting::{
    ActionError, DisplayName, Effect, JoinError, JoinOutcome, JoinRequest, LinkId, ResumeKey,
    StaffAccount,
};
use sluss_meeting::{AudioRoute, Invitee, RefusalReason, Role};
use sluss_meeting::{ChatText, Meeting, NameError, ParticipantId, RecordingKind};
use sluss_net::Command;
use sluss_phone::leg_media::LegControl;
use sluss_protocol::MAX_TILE_HEIGHT;
use sluss_protocol::{
    ClientMessage, ErrorCode, Kind, MediaSource, ServerMessage, TrackInfo, TrackSource,
};
use sluss_relay::{PeerId, RelayEvent, RouterId, TrackKind};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::api::eid::CitizenIdentity;
use crate::secret::random_id;
use crate::store::AuditEvent;

mod churn;
mod effects;
mod phone;
mod queue;
mod registry;
use effects::{chair_action, wire_role};
pub use queue::{conn_channel, ConnTx, Queued};
pub use registry::Registry;

/// What a connection's writer task is told to do.
#[derive(Debug)]
pub enum Outbound {
    Send(ServerMessage),
    /// Send this (if any) and close the socket.
    Close(Option<ServerMessage>),
}

/// A staff login as a connection carries it (R2): checked again while the connection lasts.
#[derive(Debug, Clone)]
pub struct StaffLogin {
    pub user_id: String,
    /// The hash of the session token, to find its connections when it is logged out.
    pub session_hash: Vec<u8>,
}

/// How often a meeting asks the store whether its staff logins still hold.
const STAFF_RECHECK: std::time::Duration = std::time::Duration::from_secs(15);

/// A successful join, as the connection needs it. No `Debug`: the message carries the
/// seat's resume secret.
pub struct Joined {
    pub participant: ParticipantId,
    pub conn_id: u64,
    pub message: ServerMessage,
}

pub struct JoinArgs {
    /// Whether the meeting is sensitive (R9, R10); used when the live meeting starts.
    pub sensitive: bool,
    pub link: LinkId,
    pub role: Role,
    pub invitee: Invitee,
    /// R2: the staff login of this connection (a session with the staff role), if any.
    pub staff: Option<StaffLogin>,
    /// The seat's resume secret, if the page has one from an earlier `joined`.
    pub resume: Option<String>,
    /// R5: who the person proved to be with e-identification, just before joining.
    pub citizen: Option<CitizenIdentity>,
    /// R5: used when the live meeting starts.
    pub require_eid: bool,
    pub name: DisplayName,
    pub announce: IpAddr,
    pub conn: ConnTx,
    /// R14: a caller on the phone (dial-in): once admitted, the meeting joins its leg to the
    /// room through a direct transport of its own.
    pub phone: Option<mpsc::Sender<LegControl>>,
}

enum Cmd {
    Join(JoinArgs, oneshot::Sender<Result<Joined, ErrorCode>>),
    Client {
        participant: ParticipantId,
        conn_id: u64,
        message: ClientMessage,
    },
    Closed {
        participant: ParticipantId,
        conn_id: u64,
    },
    /// The page has its `joined`, and with it the seat's new resume secret.
    Delivered {
        participant: ParticipantId,
        conn_id: u64,
    },
    /// An invitation was revoked (R3).
    Revoke(LinkId),
    /// The organiser or booking system cancelled the meeting.
    Cancel,
    /// Who is here now, for the meeting's page: each seat's link and whether it is in the
    /// room (else in the lobby).
    Presence(oneshot::Sender<Vec<(String, bool)>>),
    /// A staff session was logged out: its connections lose staff rights at once (R2).
    StaffSessionEnded(Vec<u8>),
    Shutdown,
}

struct Conn {
    id: u64,
    tx: ConnTx,
    announce: IpAddr,
    peer: Option<PeerId>,
    /// A caller on the phone: the leg's control, to join it to the room when admitted.
    phone: Option<mpsc::Sender<LegControl>>,
}

struct Live {
    meeting_id: String,
    router: RouterId,
    core: Meeting,
    conns: HashMap<ParticipantId, Conn>,
    /// R2: the staff login each participant's connection carries, checked again every
    /// [`STAFF_RECHECK`] (an account disabled, a session expired) and dropped at logout.
    staff: HashMap<ParticipantId, StaffLogin>,
    /// R15: which lobby events are counted rather than written.
    churn: churn::LobbyChurn,
    /// R5: verified identities, in memory only, shown to the chair alone.
    citizens: HashMap<ParticipantId, CitizenIdentity>,
    /// Who the relay last heard speaking; told to everyone who comes into the room.
    speaker: Option<ParticipantId>,
    peers: HashMap<PeerId, ParticipantId>,
    events_tx: mpsc::UnboundedSender<RelayEvent>,
    registry: Arc<Registry>,
    participants: Arc<AtomicU64>,
    next_conn: u64,
    /// R14: its phone calls.
    calls: phone::Calls,
}

impl Live {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Cmd>,
        mut events: mpsc::UnboundedReceiver<RelayEvent>,
    ) {
        let mut recheck = tokio::time::interval(STAFF_RECHECK);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let Some(mut call_reports) = self.calls.reports.take() else {
            return;
        };
        loop {
            let deadline = self.core.poll_timeout();
            tokio::select! {
                _ = recheck.tick(), if !self.staff.is_empty() => self.recheck_staff().await,
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Shutdown) | None => {
                        self.hang_up_all();
                        self.close_all();
                        self.registry.forget(&self.meeting_id);
                        break;
                    }
                    Some(cmd) => self.handle(cmd).await,
                },
                Some(event) = events.recv() => self.relay_event(event),
                Some((call, report)) = call_reports.recv() => self.call_report(call, report).await,
                _ = sleep_until(deadline), if deadline.is_some() => {
                    let effects = self.core.handle_timeout(Instant::now());
                    self.apply(effects).await;
                }
            }
            self.participants
                .store(self.core.participants().count() as u64, Ordering::Relaxed);
            if self.core.is_empty()
                && self.conns.is_empty()
                && self.registry.try_retire(&self.meeting_id, &rx)
            {
                break;
            }
        }
        self.registry.metrics.meetings_active.dec();
        info!(meeting = %self.meeting_id, "meeting closed");
    }

    async fn handle(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Join(args, reply) => match self.join(args) {
                Ok((joined, effects)) => {
                    let participant = joined.participant.clone();
                    let _ = reply.send(Ok(joined));
                    self.apply(effects).await;
                    self.tell_chair_identities(Some(&participant));
                    self.tell_speaker(&participant);
                }
                Err(code) => {
                    let _ = reply.send(Err(code));
                }
            },
            Cmd::Client {
                participant,
                conn_id,
                message,
            } => {
                if self.is_current(&participant, conn_id) {
                    self.client_message(participant, message).await;
                }
            }
            Cmd::Closed {
                participant,
                conn_id,
            } => {
                if self.is_current(&participant, conn_id) {
                    self.drop_conn(&participant);
                    let effects = self.core.connection_lost(Instant::now(), &participant);
                    self.apply(effects).await;
                }
            }
            Cmd::Delivered {
                participant,
                conn_id,
            } => {
                if self.is_current(&participant, conn_id) {
                    self.core.resume_delivered(&participant);
                }
            }
            Cmd::Revoke(link) => {
                let effects = self.core.revoke(&link);
                self.apply(effects).await;
            }
            Cmd::Cancel => {
                let effects = self.core.cancel();
                self.apply(effects).await;
            }
            Cmd::Presence(reply) => {
                let seats = self
                    .core
                    .participants()
                    .map(|p| (p.link.as_str().to_owned(), p.is_admitted()))
                    .collect();
                let _ = reply.send(seats);
            }
            Cmd::StaffSessionEnded(hash) => {
                let ended: Vec<ParticipantId> = self
                    .staff
                    .iter()
                    .filter(|(_, login)| login.session_hash == hash)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in ended {
                    self.staff_login_ended(&id).await;
                }
            }
            Cmd::Shutdown => {}
        }
    }

    /// Whether this connection is the participant's current one: a replaced tab or an old
    /// socket acts on nothing and frees nothing.
    fn is_current(&self, participant: &ParticipantId, conn_id: u64) -> bool {
        self.conns.get(participant).is_some_and(|c| c.id == conn_id)
    }

    /// Asks the store whether each staff login in the meeting still holds: an account
    /// disabled or a session expired takes its staff rights (R2).
    async fn recheck_staff(&mut self) {
        let now = crate::unix_now();
        self.staff
            .retain(|id, _| self.core.participant(id).is_some());
        let logins: Vec<(ParticipantId, Vec<u8>)> = self
            .staff
            .iter()
            .map(|(id, l)| (id.clone(), l.session_hash.clone()))
            .collect();
        for (id, hash) in logins {
            let holds = match self.registry.store.session_user(&hash, now).await {
                Ok(user) => user.is_some_and(|u| u.roles.iter().any(|r| r == "staff")),
                // A store that cannot answer takes nothing away; the next check asks again.
                Err(_) => true,
            };
            if !holds {
                self.staff_login_ended(&id).await;
            }
        }
    }

    async fn staff_login_ended(&mut self, id: &ParticipantId) {
        self.staff.remove(id);
        let effects = self.core.staff_login_ended(id);
        self.apply(effects).await;
    }

    /// Seats the participant; the effects are carried out once the join is answered.
    fn join(&mut self, args: JoinArgs) -> Result<(Joined, Vec<Effect>), ErrorCode> {
        let resume = random_id("r_");
        let request = JoinRequest {
            link: args.link,
            role: args.role,
            invitee: args.invitee,
            staff: args
                .staff
                .as_ref()
                .map(|s| StaffAccount::new(s.user_id.clone())),
            name: args.name,
            e_identified: args.citizen.is_some(),
            resume: args.resume.map(ResumeKey::new),
            new_id: ParticipantId::new(random_id("p_")),
            new_resume: ResumeKey::new(resume.clone()),
        };
        let (outcome, effects) = self
            .core
            .join(Instant::now(), request)
            .map_err(|e| match e {
                JoinError::Full => ErrorCode::MeetingFull,
                JoinError::Ended => ErrorCode::MeetingEnded,
                JoinError::IdentificationRequired => ErrorCode::EidRequired,
                JoinError::LoginRequired => ErrorCode::LoginRequired,
                JoinError::TooSoon => ErrorCode::KnockTooSoon,
            })?;
        let participant = outcome.participant().clone();
        match args.staff {
            Some(login) => self.staff.insert(participant.clone(), login),
            None => self.staff.remove(&participant),
        };
        if let Some(citizen) = args.citizen {
            self.citizens.insert(participant.clone(), citizen);
        }
        if let JoinOutcome::Replaced(_) = outcome {
            // The seat was taken back by its secret or its staff login: the newer connection
            // wins.
            if let Some(old) = self.conns.get(&participant) {
                old.tx
                    .send(Outbound::Close(Some(ServerMessage::OpenedElsewhere)));
            }
            self.drop_conn(&participant);
        }
        let conn_id = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(
            participant.clone(),
            Conn {
                id: conn_id,
                tx: args.conn,
                announce: args.announce,
                peer: None,
                phone: args.phone,
            },
        );
        let (role, admitted) = self
            .core
            .participant(&participant)
            .map_or((Role::Guest, false), |p| (p.role, p.is_admitted()));
        // The lobby learns nothing about the room.
        let (others, meeting) = if admitted {
            (self.room_except(&participant), Some(self.meeting_state()))
        } else {
            (Vec::new(), None)
        };
        debug!(meeting = %self.meeting_id, %participant, ?outcome, admitted, "joined");
        self.registry.metrics.joins.inc();
        // A chair coming back is told who is waiting and who they proved to be (a new chair
        // is told when the chair changes).
        let back = !matches!(outcome, JoinOutcome::Joined(_));
        if back && self.core.chair() == Some(&participant) {
            self.brief_chair();
        }
        let joined = Joined {
            participant: participant.clone(),
            conn_id,
            message: ServerMessage::Joined {
                v: sluss_protocol::VERSION,
                participant_id: participant.to_string(),
                resume,
                role: wire_role(role),
                admitted,
                participants: others,
                meeting,
                ice_servers: if admitted {
                    self.ice_servers(&participant)
                } else {
                    Vec::new()
                },
            },
        };
        Ok((joined, effects))
    }

    async fn client_message(&mut self, participant: ParticipantId, message: ClientMessage) {
        let admitted = self
            .core
            .participant(&participant)
            .is_some_and(|p| p.is_admitted());
        let is_media = matches!(
            message,
            ClientMessage::Offer { .. }
                | ClientMessage::Answer { .. }
                | ClientMessage::Candidate { .. }
                | ClientMessage::HiddenVideos { .. }
                | ClientMessage::TileSizes { .. }
        );
        if is_media && !admitted {
            // R4: no media for anyone still in the lobby.
            self.send(
                &participant,
                ServerMessage::error(ErrorCode::NotAdmitted, "Wait until the chair lets you in."),
            );
            return;
        }
        if self.phone_message(&participant, &message).await {
            return;
        }
        if let Some(action) = chair_action(&message) {
            match self.core.act(Instant::now(), &participant, action) {
                Ok(effects) => self.apply(effects).await,
                Err(e) => {
                    let code = match e {
                        ActionError::NotChair | ActionError::NotStaff => ErrorCode::NotChair,
                        _ => ErrorCode::BadRequest,
                    };
                    self.send(
                        &participant,
                        ServerMessage::error(code, format!("Refused: {e}.")),
                    );
                }
            }
            return;
        }
        match &message {
            ClientMessage::Chat { text } => {
                let result = match ChatText::parse(text) {
                    Ok(text) => self.core.chat(&participant, text).map_err(refusal),
                    Err(NameError::PersonalIdentityNumber) => Err((
                        ErrorCode::PersonalIdentityNumber,
                        "The message was refused: personal identity numbers may not be written here.".to_owned(),
                    )),
                    Err(e @ NameError::UnspacedPhoneNumber) => Err((
                        ErrorCode::UnspacedPhoneNumber,
                        format!("The message was refused: {e}."),
                    )),
                    Err(e) => Err((ErrorCode::BadRequest, format!("The message was refused: {e}."))),
                };
                match result {
                    Ok(effects) => self.apply(effects).await,
                    Err((code, message)) => {
                        // R12, R15: refusals are in the trail as counts, never with the text.
                        let event = AuditEvent {
                            meeting_id: Some(self.meeting_id.clone()),
                            event: "chat_refused",
                            actor: Some(participant.to_string()),
                            subject: None,
                            details: serde_json::json!({ "code": code }),
                        };
                        self.registry.tally.record(event, crate::unix_now());
                        self.send(&participant, ServerMessage::error(code, message))
                    }
                }
                return;
            }
            ClientMessage::StartScreenShare => {
                match self.core.start_screen_share(&participant) {
                    Ok(effects) => self.apply(effects).await,
                    Err(reason) => {
                        let (code, message) = refusal(reason);
                        self.send(&participant, ServerMessage::error(code, message));
                    }
                }
                return;
            }
            ClientMessage::StopScreenShare => {
                let effects = self.core.stop_screen_share(&participant);
                self.apply(effects).await;
                return;
            }
            ClientMessage::StartRecording | ClientMessage::StartTranscription => {
                let kind = if matches!(message, ClientMessage::StartRecording) {
                    RecordingKind::Recording
                } else {
                    RecordingKind::Transcription
                };
                let (reason, effects) = self.core.request_recording(&participant, kind);
                self.apply(effects).await;
                let (code, message) = refusal(reason);
                self.send(&participant, ServerMessage::error(code, message));
                return;
            }
            _ => {}
        }
        let media = self.registry.media.clone();
        match message {
            ClientMessage::Offer { sdp, sources } => {
                let Some(conn) = self.conns.get_mut(&participant) else {
                    return;
                };
                let sources = relay_sources(&sources);
                let result = match conn.peer {
                    Some(peer) => media.offer(self.router, peer, sdp, sources).await,
                    None => {
                        let peer = PeerId(self.registry.next_peer.fetch_add(1, Ordering::Relaxed));
                        let result = media
                            .add_peer(
                                self.router,
                                peer,
                                participant.to_string(),
                                conn.announce,
                                sdp,
                                sources,
                                self.events_tx.clone(),
                            )
                            .await;
                        if result.is_ok() {
                            conn.peer = Some(peer);
                            self.peers.insert(peer, participant.clone());
                            // A sharer who reconnected keeps sharing on the new transport.
                            if self.core.screen_sharer() == Some(&participant) {
                                let allowed = true;
                                media
                                    .send(self.router, Command::SetScreenSharing { peer, allowed });
                            }
                            // R14: a voice that goes by phone stays cut on the new transport.
                            let route = self.core.audio_route(&participant);
                            if matches!(route, AudioRoute::Phone(_) | AudioRoute::PhoneHungUp) {
                                media
                                    .send(self.router, Command::SetAudioByPhone { peer, on: true });
                            }
                        }
                        result
                    }
                };
                match result {
                    Ok(sdp) => self.send(&participant, ServerMessage::Answer { sdp }),
                    Err(e) => {
                        debug!(%participant, error = %e, "offer refused");
                        self.send(
                            &participant,
                            ServerMessage::error(
                                ErrorCode::Negotiation,
                                "The offer could not be used.",
                            ),
                        );
                    }
                }
            }
            ClientMessage::Answer { sdp } => {
                let Some(peer) = self.conns.get(&participant).and_then(|c| c.peer) else {
                    return;
                };
                if let Err(e) = media.answer(self.router, peer, sdp).await {
                    debug!(%participant, error = %e, "answer refused");
                    self.send(
                        &participant,
                        ServerMessage::error(
                            ErrorCode::Negotiation,
                            "The answer could not be used.",
                        ),
                    );
                }
            }
            ClientMessage::Candidate { candidate, .. } => {
                if let Some(peer) = self.conns.get(&participant).and_then(|c| c.peer) {
                    media.send(self.router, Command::Candidate { peer, candidate });
                }
            }
            ClientMessage::HiddenVideos { participant_ids } => {
                let Some(peer) = self.conns.get(&participant).and_then(|c| c.peer) else {
                    return;
                };
                let hidden: Vec<PeerId> = participant_ids
                    .iter()
                    .filter_map(|id| self.conns.get(&ParticipantId::new(id.as_str())))
                    .filter_map(|c| c.peer)
                    .collect();
                self.registry
                    .media
                    .send(self.router, Command::SetHiddenVideos { peer, hidden });
            }
            ClientMessage::TileSizes { tiles } => {
                let Some(peer) = self.conns.get(&participant).and_then(|c| c.peer) else {
                    return;
                };
                let tiles: Vec<(PeerId, u32)> = tiles
                    .iter()
                    .filter_map(|t| {
                        let c = self
                            .conns
                            .get(&ParticipantId::new(t.participant_id.as_str()))?;
                        Some((c.peer?, t.height.min(MAX_TILE_HEIGHT)))
                    })
                    .collect();
                self.registry
                    .media
                    .send(self.router, Command::SetTileHeights { peer, tiles });
            }
            ClientMessage::MediaState {
                audio_muted,
                video_muted,
            } => {
                let effects = self
                    .core
                    .set_media_state(&participant, audio_muted, video_muted);
                self.apply(effects).await;
            }
            ClientMessage::Leave => {
                if let Some(conn) = self.conns.get(&participant) {
                    conn.tx.send(Outbound::Close(None));
                }
                self.drop_conn(&participant);
                let effects = self.core.leave(&participant);
                self.apply(effects).await;
            }
            // Pings are answered by the connection, a second join is refused there, and the
            // chair's actions were handled above.
            _ => {}
        }
    }

    fn relay_event(&mut self, event: RelayEvent) {
        match event {
            RelayEvent::Offer { peer, sdp, tracks } => {
                let Some(participant) = self.peers.get(&peer).cloned() else {
                    return;
                };
                let tracks = tracks
                    .into_iter()
                    .map(|t| TrackInfo {
                        mid: t.mid,
                        participant_id: t.label,
                        kind: match (t.kind, t.screen) {
                            (TrackKind::Audio, _) => Kind::Audio,
                            (TrackKind::Video, false) => Kind::Video,
                            (TrackKind::Video, true) => Kind::Screen,
                        },
                    })
                    .collect();
                self.send(&participant, ServerMessage::Offer { sdp, tracks });
            }
            RelayEvent::Closed { peer } => {
                // The transport died (DTLS failure): the browser notices and reconnects.
                if let Some(participant) = self.peers.remove(&peer) {
                    warn!(meeting = %self.meeting_id, %participant, "media transport closed");
                    if let Some(conn) = self.conns.get_mut(&participant) {
                        conn.peer = None;
                    }
                }
                self.registry
                    .media
                    .send(self.router, Command::RemovePeer { peer });
            }
            RelayEvent::ActiveSpeaker { peer } => {
                if let Some(participant) = self.peers.get(&peer).cloned() {
                    self.speaker = Some(participant.clone());
                    self.to_room(
                        &ParticipantId::new(""),
                        ServerMessage::ActiveSpeaker {
                            participant_id: participant.to_string(),
                        },
                    );
                }
            }
            RelayEvent::VideoOffForBandwidth {
                peer,
                publisher,
                off,
            } => {
                if let Some(participant) = self.peers.get(&peer).cloned() {
                    self.send(
                        &participant,
                        ServerMessage::VideoPaused {
                            participant_id: publisher,
                            paused: off,
                        },
                    );
                }
            }
            RelayEvent::Connected { peer } => debug!(%peer, "media connected"),
            RelayEvent::Disconnected { peer } => debug!(%peer, "media consent lost"),
        }
    }

    /// Forgets a participant's connection and its media transport.
    fn drop_conn(&mut self, participant: &ParticipantId) {
        if let Some(conn) = self.conns.remove(participant) {
            if let Some(peer) = conn.peer {
                self.peers.remove(&peer);
                self.registry
                    .media
                    .send(self.router, Command::RemovePeer { peer });
            }
        }
    }

    fn close_all(&mut self) {
        let ids: Vec<_> = self.conns.keys().cloned().collect();
        for id in ids {
            if let Some(conn) = self.conns.get(&id) {
                conn.tx.send(Outbound::Close(None));
            }
            self.drop_conn(&id);
        }
    }
}

/// A refusal from the core as an error for the browser.
fn refusal(reason: RefusalReason) -> (ErrorCode, String) {
    let code = match reason {
        RefusalReason::Sensitive | RefusalReason::NotAvailable => ErrorCode::RecordingForbidden,
        RefusalReason::ChatOff => ErrorCode::ChatOff,
        RefusalReason::NotInRoom => ErrorCode::NotAdmitted,
        RefusalReason::ScreenNotAllowed | RefusalReason::SomeoneUnidentified => {
            ErrorCode::ScreenShareRefused
        }
        RefusalReason::Ended => ErrorCode::MeetingEnded,
    };
    let mut message = reason.to_string();
    if let Some(first) = message.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    (code, format!("{message}."))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

/// What a page declared its m-lines to carry, in the relay's words.
fn relay_sources(sources: &[TrackSource]) -> Vec<(String, sluss_relay::Source)> {
    sources
        .iter()
        .map(|s| {
            let source = match s.source {
                MediaSource::Microphone => sluss_relay::Source::Microphone,
                MediaSource::Camera => sluss_relay::Source::Camera,
                MediaSource::Screen => sluss_relay::Source::Screen,
            };
            (s.mid.clone(), source)
        })
        .collect()
}

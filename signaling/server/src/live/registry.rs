//! Every live meeting on this node, and the handle a connection talks to its meeting through.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sluss_meeting::{LinkId, Meeting, MeetingConfig, ParticipantId};
use sluss_net::Media;
use sluss_protocol::{ClientMessage, ErrorCode};
use sluss_relay::RouterId;
use tokio::sync::{mpsc, oneshot};
use tracing::info;

use super::{churn, Cmd, JoinArgs, Joined, Live};
use crate::metrics::Metrics;
use crate::store::{AuditTally, Store};
use crate::turn::TurnConfig;

/// A handle for sending a live meeting what its connections say.
#[derive(Clone)]
pub struct MeetingHandle {
    pub(super) tx: mpsc::UnboundedSender<Cmd>,
}

impl MeetingHandle {
    pub fn client(&self, participant: ParticipantId, conn_id: u64, message: ClientMessage) {
        let _ = self.tx.send(Cmd::Client {
            participant,
            conn_id,
            message,
        });
    }

    /// The `joined` went out: the seat's previous resume secret is spent.
    pub fn delivered(&self, participant: ParticipantId, conn_id: u64) {
        let _ = self.tx.send(Cmd::Delivered {
            participant,
            conn_id,
        });
    }

    pub fn closed(&self, participant: ParticipantId, conn_id: u64) {
        let _ = self.tx.send(Cmd::Closed {
            participant,
            conn_id,
        });
    }
}

struct Entry {
    handle: MeetingHandle,
    participants: Arc<AtomicU64>,
}

/// Every live meeting on this node.
pub struct Registry {
    meetings: Mutex<HashMap<String, Entry>>,
    pub(super) media: Arc<Media>,
    pub(crate) store: Store,
    pub(super) config: MeetingConfig,
    pub(super) turn: Option<TurnConfig>,
    pub(crate) metrics: Arc<Metrics>,
    /// R15: where repeated events are counted rather than written one row each.
    pub(super) tally: Arc<AuditTally>,
    pub(super) next_peer: AtomicU64,
    /// R14: the telephone trunk, when configured.
    pub(crate) phone: Option<Arc<crate::phone::PhoneService>>,
}

impl Registry {
    pub fn new(
        media: Arc<Media>,
        store: Store,
        config: MeetingConfig,
        turn: Option<TurnConfig>,
        metrics: Arc<Metrics>,
        tally: Arc<AuditTally>,
        phone: Option<Arc<crate::phone::PhoneService>>,
    ) -> Arc<Registry> {
        Arc::new(Registry {
            meetings: Mutex::new(HashMap::new()),
            media,
            store,
            config,
            turn,
            metrics,
            tally,
            next_peer: AtomicU64::new(1),
            phone,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic elsewhere must not take every meeting down with it.
        self.meetings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Joins the live meeting, starting it if nobody is in it yet.
    pub async fn join(
        self: &Arc<Self>,
        meeting_id: &str,
        args: JoinArgs,
    ) -> Result<(MeetingHandle, Joined), ErrorCode> {
        let (reply, rx) = oneshot::channel();
        let handle = {
            let mut meetings = self.lock();
            let entry = meetings
                .entry(meeting_id.to_owned())
                .or_insert_with(|| self.start(meeting_id, args.sensitive, args.require_eid));
            // Sent under the lock, so a meeting that is closing down cannot lose it.
            let _ = entry.handle.tx.send(Cmd::Join(args, reply));
            entry.handle.clone()
        };
        let joined = rx.await.map_err(|_| ErrorCode::Internal)??;
        Ok((handle, joined))
    }

    fn start(self: &Arc<Self>, meeting_id: &str, sensitive: bool, require_eid: bool) -> Entry {
        let (tx, rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let participants = Arc::new(AtomicU64::new(0));
        let mut router_bytes = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut router_bytes);
        let live = Live {
            meeting_id: meeting_id.to_owned(),
            router: RouterId(u64::from_le_bytes(router_bytes)),
            core: Meeting::new(self.config.clone())
                .sensitive(sensitive)
                .require_eid(require_eid),
            conns: HashMap::new(),
            staff: HashMap::new(),
            churn: churn::LobbyChurn::default(),
            citizens: HashMap::new(),
            speaker: None,
            peers: HashMap::new(),
            events_tx,
            registry: self.clone(),
            participants: participants.clone(),
            next_conn: 1,
            calls: super::phone::Calls::default(),
        };
        self.metrics.meetings_active.inc();
        info!(meeting = %meeting_id, "meeting started");
        // R15, and the booking system's `meeting.started` webhook: the meeting is live on
        // this node (its first connection since it was booked, or since a restart).
        let (store, id) = (self.store.clone(), meeting_id.to_owned());
        tokio::spawn(async move {
            let event = crate::store::AuditEvent {
                meeting_id: Some(id),
                event: "meeting_started",
                ..crate::store::AuditEvent::default()
            };
            if let Err(e) = store.audit(event, crate::unix_now()).await {
                tracing::error!(error = %e, "audit: meeting_started not written");
            }
        });
        tokio::spawn(live.run(rx, events_rx));
        Entry {
            handle: MeetingHandle { tx },
            participants,
        }
    }

    pub fn participant_count(&self, meeting_id: &str) -> u64 {
        self.lock()
            .get(meeting_id)
            .map_or(0, |e| e.participants.load(Ordering::Relaxed))
    }

    /// Puts the holder of a revoked invitation out of the live meeting, if it is running.
    pub fn revoke(&self, meeting_id: &str, link_id: &str) {
        if let Some(entry) = self.lock().get(meeting_id) {
            let _ = entry.handle.tx.send(Cmd::Revoke(LinkId::new(link_id)));
        }
    }

    /// Who is in the live meeting now, by link: true for the room, false for the lobby (the
    /// room wins when a link has a seat in both). Empty when it is not running here.
    pub async fn presence(&self, meeting_id: &str) -> HashMap<String, bool> {
        let (reply, rx) = oneshot::channel();
        if let Some(entry) = self.lock().get(meeting_id) {
            let _ = entry.handle.tx.send(Cmd::Presence(reply));
        } else {
            return HashMap::new();
        }
        // A meeting task busy for this long is not one to wait for: the page says nobody.
        let seats = tokio::time::timeout(std::time::Duration::from_secs(2), rx)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let mut by_link = HashMap::new();
        for (link, in_room) in seats {
            *by_link.entry(link).or_insert(false) |= in_room;
        }
        by_link
    }

    /// Ends the live meeting, if it is running, for a cancellation.
    pub fn cancel(&self, meeting_id: &str) {
        if let Some(entry) = self.lock().get(meeting_id) {
            let _ = entry.handle.tx.send(Cmd::Cancel);
        }
    }

    /// A staff session was logged out: every live meeting takes its staff rights (and the
    /// chair) from the connections that carried it, at once.
    pub fn staff_session_ended(&self, session_hash: &[u8]) {
        for entry in self.lock().values() {
            let _ = entry
                .handle
                .tx
                .send(Cmd::StaffSessionEnded(session_hash.to_vec()));
        }
    }

    /// Tells every live meeting to close its connections.
    pub fn shutdown(&self) {
        for entry in self.lock().values() {
            let _ = entry.handle.tx.send(Cmd::Shutdown);
        }
    }

    /// Forgets a meeting whose task has stopped.
    pub(super) fn forget(&self, meeting_id: &str) {
        self.lock().remove(meeting_id);
    }

    /// Ends the task's registration if it has nothing left to do. Under the lock, so no join
    /// can slip in between the check and the removal.
    pub(super) fn try_retire(&self, meeting_id: &str, rx: &mpsc::UnboundedReceiver<Cmd>) -> bool {
        let mut meetings = self.lock();
        if !rx.is_empty() {
            return false;
        }
        meetings.remove(meeting_id);
        true
    }
}

//! Repeated audit events as counts. A flood of failed logins, knocks or refused messages must
//! not write one row each into the five-year trail; events with the same meeting, event name,
//! actor and subject within one window become one entry, written when the window closes, with
//! `count`, `first_at` and `last_at` added to the first event's details. Entries go through
//! [`Store::audit`], so the hash chain is the same as for any other entry.
//!
//! [`AuditTally::record`] only touches memory; [`AuditTally::start`] runs the task that writes
//! closed windows, and [`AuditTally::flush`] writes everything (at shutdown, and in tests).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::{AuditEvent, Store, StoreError};

/// How often the background task looks for closed windows.
const TICK: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TallyKey {
    meeting_id: Option<String>,
    event: &'static str,
    actor: Option<String>,
    subject: Option<String>,
    /// The details as written: events that differ in them (a refusal's reason or kind) are
    /// counted apart.
    details: String,
    /// Events that found the table full, merged per event name.
    overflow: bool,
}

struct Tally {
    details: serde_json::Value,
    count: u64,
    first_at: i64,
    last_at: i64,
}

pub struct AuditTally {
    store: Store,
    window: i64,
    cap: usize,
    open: Mutex<HashMap<TallyKey, Tally>>,
    /// One write at a time: a flush waits for a write under way, so that the last flush
    /// before the store closes finds every taken window written, none in flight.
    writing: tokio::sync::Mutex<()>,
}

impl AuditTally {
    /// `window` is rounded up to whole seconds (the trail's resolution); `cap` bounds the
    /// distinct events held at once.
    pub fn new(store: Store, window: Duration, cap: usize) -> Arc<AuditTally> {
        Arc::new(AuditTally {
            store,
            window: window.as_secs_f64().ceil().max(1.0) as i64,
            cap: cap.max(1),
            open: Mutex::new(HashMap::new()),
            writing: tokio::sync::Mutex::new(()),
        })
    }

    /// Counts an event that happened at `now` (Unix seconds).
    pub fn record(&self, event: AuditEvent, now: i64) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mut key = TallyKey {
            meeting_id: event.meeting_id,
            event: event.event,
            actor: event.actor,
            subject: event.subject,
            details: event.details.to_string(),
            overflow: false,
        };
        let mut details = event.details;
        if open.len() >= self.cap && !open.contains_key(&key) {
            key = TallyKey {
                meeting_id: None,
                event: key.event,
                actor: None,
                subject: None,
                details: String::new(),
                overflow: true,
            };
            details = serde_json::json!({ "overflow": true });
        }
        let tally = open.entry(key).or_insert(Tally {
            details,
            count: 0,
            first_at: now,
            last_at: now,
        });
        tally.count += 1;
        tally.first_at = tally.first_at.min(now);
        tally.last_at = tally.last_at.max(now);
    }

    /// Distinct events being counted now.
    pub fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the entries whose window has closed by `now`; returns how many.
    pub async fn flush_due(&self, now: i64) -> Result<usize, StoreError> {
        let window = self.window;
        self.write(|t| t.first_at + window <= now, now).await
    }

    /// Writes every entry, closed or not; returns how many.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        self.write(|_| true, crate::unix_now()).await
    }

    async fn write(&self, due: impl Fn(&Tally) -> bool, now: i64) -> Result<usize, StoreError> {
        let _one_at_a_time = self.writing.lock().await;
        let closed: Vec<(TallyKey, Tally)> = {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            let keys: Vec<TallyKey> = open
                .iter()
                .filter(|(_, t)| due(t))
                .map(|(k, _)| k.clone())
                .collect();
            keys.into_iter()
                .filter_map(|k| open.remove(&k).map(|t| (k, t)))
                .collect()
        };
        let n = closed.len();
        for (key, tally) in closed {
            let mut details = match tally.details {
                serde_json::Value::Object(map) => map,
                serde_json::Value::Null => serde_json::Map::new(),
                other => serde_json::Map::from_iter([("value".to_owned(), other)]),
            };
            details.insert("count".into(), tally.count.into());
            details.insert("first_at".into(), tally.first_at.into());
            details.insert("last_at".into(), tally.last_at.into());
            let event = AuditEvent {
                meeting_id: key.meeting_id,
                event: key.event,
                actor: key.actor,
                subject: key.subject,
                details: serde_json::Value::Object(details),
            };
            self.store.audit(event, now.max(tally.last_at)).await?;
        }
        Ok(n)
    }

    /// Writes closed windows every second until `shutdown`. The last flush is the owner's,
    /// before it closes the store (a flush here could take windows and then find the store
    /// closed under it, losing them).
    pub fn start(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let tally = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(e) = tally.flush_due(crate::unix_now()).await {
                            tracing::error!(error = %e, "audit tally: cannot write");
                        }
                    }
                    changed = shutdown.changed() => {
                        if changed.is_err() || *shutdown.borrow() {
                            break;
                        }
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        (dir, store)
    }

    fn refused(subject: &str) -> AuditEvent {
        AuditEvent {
            event: "login_refused",
            subject: Some(subject.to_owned()),
            details: serde_json::json!({ "reason": "bad_credentials" }),
            ..AuditEvent::default()
        }
    }

    #[tokio::test]
    async fn repeats_within_the_window_become_one_entry_with_a_count() {
        let (_dir, store) = store().await;
        let tally = AuditTally::new(store.clone(), Duration::from_secs(60), 100);
        for i in 0..300 {
            tally.record(refused("u_anna"), 1_000 + i / 10);
        }
        tally.record(refused("u_bertil"), 1_010);
        assert_eq!(
            tally.flush_due(1_059).await.unwrap(),
            0,
            "the window is open"
        );
        assert_eq!(tally.flush_due(1_060).await.unwrap(), 1, "anna's closed");
        assert_eq!(tally.flush().await.unwrap(), 1, "bertil's at flush");
        let rows = store.audit_entries(None, None, None, None).await.unwrap();
        assert_eq!(rows.len(), 2);
        let anna = rows
            .iter()
            .find(|r| r.subject.as_deref() == Some("u_anna"))
            .unwrap();
        assert_eq!(anna.details["count"], 300);
        assert_eq!(anna.details["first_at"], 1_000);
        assert_eq!(anna.details["last_at"], 1_029);
        assert_eq!(anna.details["reason"], "bad_credentials");
        assert_eq!(
            store.verify_audit_chain().await.unwrap(),
            crate::store::ChainCheck::Intact { entries: 2 }
        );
    }

    #[tokio::test]
    async fn beyond_the_cap_events_merge_into_one_overflow_entry_per_event_name() {
        let (_dir, store) = store().await;
        let tally = AuditTally::new(store.clone(), Duration::from_secs(60), 10);
        for i in 0..1_000 {
            tally.record(refused(&format!("u_{i}")), 1_000);
        }
        assert_eq!(tally.len(), 11);
        tally.flush().await.unwrap();
        let rows = store.audit_entries(None, None, None, None).await.unwrap();
        assert_eq!(rows.len(), 11);
        let overflow = rows.iter().find(|r| r.details["overflow"] == true).unwrap();
        assert_eq!(overflow.details["count"], 990);
        assert_eq!(overflow.subject, None);
    }
}

//! R15: the audit trail, append-only and hash-chained.
//!
//! Every entry's hash is SHA-256 over the previous entry's hash and this entry's fields, so an
//! entry changed, inserted or removed anywhere but at the old end breaks the chain. Retention
//! removes the oldest entries one by one (the database refuses anything else) and records the
//! removal as a new entry that carries the hash the remaining chain starts from.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Store, StoreError};

/// One entry to append. `actor` and `subject` are opaque participant or user ids.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub meeting_id: Option<String>,
    pub event: &'static str,
    pub actor: Option<String>,
    pub subject: Option<String>,
    /// A JSON object; names may appear here (the trail is the auditors' record of who took
    /// part), the content of the meeting never does.
    pub details: serde_json::Value,
}

/// No meeting, actor or subject, and empty details (`{}`, never `null`: readers look into
/// them).
impl Default for AuditEvent {
    fn default() -> Self {
        AuditEvent {
            meeting_id: None,
            event: "",
            actor: None,
            subject: None,
            details: serde_json::json!({}),
        }
    }
}

/// A stored entry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub meeting_id: Option<String>,
    pub event: String,
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub details: serde_json::Value,
    #[serde(serialize_with = "as_hex")]
    pub hash: Vec<u8>,
}

fn as_hex<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

/// The result of walking the chain.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainCheck {
    Intact {
        entries: u64,
    },
    /// The entry with this sequence number does not match its predecessor or its content.
    BrokenAt {
        seq: i64,
    },
}

const GENESIS: [u8; 32] = [0; 32];

#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev: &[u8],
    seq: i64,
    at: i64,
    meeting_id: Option<&str>,
    event: &str,
    actor: Option<&str>,
    subject: Option<&str>,
    details: &str,
) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(at.to_be_bytes());
    for field in [meeting_id, Some(event), actor, subject, Some(details)] {
        // Length-prefixed, so that no two different entries hash alike.
        let bytes = field.map(str::as_bytes);
        match bytes {
            Some(b) => {
                h.update([1]);
                h.update((b.len() as u64).to_be_bytes());
                h.update(b);
            }
            None => h.update([0]),
        }
    }
    h.finalize().to_vec()
}

impl Store {
    /// Appends an entry to the chain.
    pub async fn audit(&self, event: AuditEvent, at: i64) -> Result<(), StoreError> {
        // One writer at a time, so that each entry links to the one before it.
        let _guard = self.audit_lock.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (seq, prev) = match last {
            Some(row) => (row.get::<i64, _>(0) + 1, row.get::<Vec<u8>, _>(1)),
            None => (1, GENESIS.to_vec()),
        };
        let details = event.details.to_string();
        let hash = entry_hash(
            &prev,
            seq,
            at,
            event.meeting_id.as_deref(),
            event.event,
            event.actor.as_deref(),
            event.subject.as_deref(),
            &details,
        );
        sqlx::query(
            "INSERT INTO audit_log (seq, at, meeting_id, event, actor, subject, details, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(seq)
        .bind(at)
        .bind(&event.meeting_id)
        .bind(event.event)
        .bind(&event.actor)
        .bind(&event.subject)
        .bind(&details)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        // The webhooks it makes go in the same transaction: none without the entry.
        if let Some((kind, payload)) = crate::webhooks::from_audit(
            event.event,
            event.meeting_id.as_deref(),
            event.subject.as_deref(),
            &event.details,
            at,
        ) {
            self.queue_webhooks(&mut tx, kind, &payload, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Walks the whole chain from its oldest remaining entry.
    pub async fn verify_audit_chain(&self) -> Result<ChainCheck, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, meeting_id, event, actor, subject, details, prev_hash, hash
             FROM audit_log ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut expected_prev: Option<Vec<u8>> = None;
        let mut count = 0;
        for row in rows {
            let seq: i64 = row.get(0);
            let prev: Vec<u8> = row.get(7);
            let hash: Vec<u8> = row.get(8);
            // The oldest remaining entry may start from any hash (retention removed its
            // predecessors and recorded that hash); every later one links to the one before.
            if expected_prev.as_ref().is_some_and(|e| *e != prev) {
                return Ok(ChainCheck::BrokenAt { seq });
            }
            let computed = entry_hash(
                &prev,
                seq,
                row.get(1),
                row.get::<Option<String>, _>(2).as_deref(),
                &row.get::<String, _>(3),
                row.get::<Option<String>, _>(4).as_deref(),
                row.get::<Option<String>, _>(5).as_deref(),
                &row.get::<String, _>(6),
            );
            if computed != hash {
                return Ok(ChainCheck::BrokenAt { seq });
            }
            expected_prev = Some(hash);
            count += 1;
        }
        Ok(ChainCheck::Intact { entries: count })
    }

    /// Entries matching a meeting, a participant (actor or subject) and a time range.
    pub async fn audit_entries(
        &self,
        meeting_id: Option<&str>,
        person: Option<&str>,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, meeting_id, event, actor, subject, details, hash FROM audit_log
             WHERE (?1 IS NULL OR meeting_id = ?1)
               AND (?2 IS NULL OR actor = ?2 OR subject = ?2)
               AND (?3 IS NULL OR at >= ?3)
               AND (?4 IS NULL OR at <= ?4)
             ORDER BY seq",
        )
        .bind(meeting_id)
        .bind(person)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                seq: r.get(0),
                at: r.get(1),
                meeting_id: r.get(2),
                event: r.get(3),
                actor: r.get(4),
                subject: r.get(5),
                details: serde_json::from_str(&r.get::<String, _>(6)).unwrap_or_default(),
                hash: r.get(7),
            })
            .collect())
    }

    /// Sets the retention period and removes what has outlived it, oldest first. Each removal
    /// run is itself recorded, with the hash the remaining chain now starts from.
    pub async fn apply_audit_retention(
        &self,
        retention_secs: i64,
        now: i64,
    ) -> Result<u64, StoreError> {
        sqlx::query("UPDATE audit_settings SET retention_secs = ? WHERE id = 1")
            .bind(retention_secs)
            .execute(&self.pool)
            .await?;
        let mut removed = 0u64;
        let mut last_removed: Option<(i64, Vec<u8>)> = None;
        {
            let _guard = self.audit_lock.lock().await;
            loop {
                let oldest =
                    sqlx::query("SELECT seq, at, hash FROM audit_log ORDER BY seq LIMIT 1")
                        .fetch_optional(&self.pool)
                        .await?;
                let Some(row) = oldest else { break };
                let (seq, at, hash): (i64, i64, Vec<u8>) = (row.get(0), row.get(1), row.get(2));
                if at > now - retention_secs {
                    break;
                }
                sqlx::query("DELETE FROM audit_log WHERE seq = ?")
                    .bind(seq)
                    .execute(&self.pool)
                    .await?;
                removed += 1;
                last_removed = Some((seq, hash));
            }
        }
        if let Some((seq, hash)) = last_removed {
            self.audit(
                AuditEvent {
                    event: "retention_removed",
                    details: serde_json::json!({
                        "removed": removed,
                        "up_to_seq": seq,
                        "chain_continues_from": hex::encode(hash),
                        "retention_secs": retention_secs,
                    }),
                    ..AuditEvent::default()
                },
                now,
            )
            .await?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Store::open(&dir.path().join("a.db")).await.unwrap(), dir)
    }

    fn event(name: &'static str, meeting: &str) -> AuditEvent {
        AuditEvent {
            meeting_id: Some(meeting.into()),
            event: name,
            actor: Some("p_chair".into()),
            subject: Some("p_guest".into()),
            details: serde_json::json!({"how": "id_shown_on_camera"}),
        }
    }

    #[tokio::test]
    async fn no_entry_is_lost_while_other_connections_write() {
        let (store, _dir) = store().await;
        // Entries and other writes (here: meetings, each in a transaction of its own) at the
        // same moment, from the pool's several connections.
        let mut tasks = Vec::new();
        for i in 0..40 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                s.audit(event("knocked", "m_1"), 1_000 + i).await.unwrap();
            }));
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                s.create_meeting(&format!("m_x{i}"), "Vårdmöte", true, 0, &[])
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            store.verify_audit_chain().await.unwrap(),
            ChainCheck::Intact { entries: 40 }
        );
    }

    #[tokio::test]
    async fn the_chain_holds_and_any_tampering_breaks_it() {
        let (store, _dir) = store().await;
        for (i, name) in ["created", "knocked", "admitted", "identified", "ended"]
            .iter()
            .enumerate()
        {
            store
                .audit(event(name, "m_1"), 1_000 + i as i64)
                .await
                .unwrap();
        }
        assert_eq!(
            store.verify_audit_chain().await.unwrap(),
            ChainCheck::Intact { entries: 5 }
        );
        assert_eq!(
            store
                .audit_entries(Some("m_1"), None, None, None)
                .await
                .unwrap()
                .len(),
            5
        );
        assert_eq!(
            store
                .audit_entries(None, Some("p_guest"), Some(1_002), Some(1_003))
                .await
                .unwrap()
                .len(),
            2
        );

        // The database refuses changes and out-of-retention deletions.
        assert!(
            sqlx::query("UPDATE audit_log SET details = '{}' WHERE seq = 3")
                .execute(&store.pool)
                .await
                .is_err()
        );
        assert!(sqlx::query("DELETE FROM audit_log WHERE seq = 3")
            .execute(&store.pool)
            .await
            .is_err());

        // Someone with raw access to the file drops the triggers and edits an entry: caught.
        sqlx::query("DROP TRIGGER audit_log_no_update")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query(
            "UPDATE audit_log SET details = '{\"how\":\"known_from_before\"}' WHERE seq = 4",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        assert_eq!(
            store.verify_audit_chain().await.unwrap(),
            ChainCheck::BrokenAt { seq: 4 }
        );
    }

    #[tokio::test]
    async fn retention_removes_the_oldest_and_the_chain_still_verifies() {
        let (store, _dir) = store().await;
        let now = 10_000_000;
        for i in 0..6 {
            // Three old entries, three recent ones.
            let at = if i < 3 {
                now - 1_000_000 + i
            } else {
                now - 10 + i
            };
            store.audit(event("knocked", "m_2"), at).await.unwrap();
        }
        // SQLite's clock, not ours, guards deletion: make the old entries old for it too.
        let removed = store.apply_audit_retention(100, now).await;
        // The trigger compares with the real clock; our entries are from 1970, so they may go.
        assert_eq!(removed.unwrap(), 3);
        let entries = store.audit_entries(None, None, None, None).await.unwrap();
        assert_eq!(entries.first().unwrap().seq, 4);
        assert_eq!(entries.last().unwrap().event, "retention_removed");
        assert_eq!(
            store.verify_audit_chain().await.unwrap(),
            ChainCheck::Intact { entries: 4 }
        );
    }
}

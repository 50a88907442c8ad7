//! The webhooks' durable queue: filled in the audit entry's transaction, emptied by the
//! dispatcher.

use std::sync::{Arc, RwLock};

use sqlx::Row;

use super::{Store, StoreError};

/// Which endpoint wants which webhook types.
pub type WebhookRoutes = Arc<RwLock<Vec<(String, Vec<String>)>>>;

/// A webhook waiting to be sent (again).
#[derive(Debug, Clone)]
pub struct PendingWebhook {
    pub id: String,
    pub endpoint: String,
    pub payload: String,
    pub created_at: i64,
    pub attempts: i64,
}

/// Delivered and given-up rows are kept this long, for the operator to look at.
const KEEP_SECS: i64 = 7 * 24 * 3600;

impl Store {
    /// The endpoints and their types; audit entries from now on are queued for them.
    pub fn set_webhook_routes(&self, routes: Vec<(String, Vec<String>)>) {
        *self.webhooks.write().unwrap_or_else(|e| e.into_inner()) = routes;
    }

    /// Queues the webhook an audit entry makes for every endpoint that wants its type
    /// (inside the entry's transaction).
    pub(super) async fn queue_webhooks(
        &self,
        tx: &mut sqlx::SqliteConnection,
        kind: &str,
        payload: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let endpoints: Vec<String> = {
            let routes = self.webhooks.read().unwrap_or_else(|e| e.into_inner());
            routes
                .iter()
                .filter(|(_, types)| types.iter().any(|t| t == kind))
                .map(|(name, _)| name.clone())
                .collect()
        };
        for endpoint in endpoints {
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, endpoint, event_type, payload, created_at,
                                                 next_attempt_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(crate::secret::random_id("msg_"))
            .bind(endpoint)
            .bind(kind)
            .bind(payload)
            .bind(at)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    /// Up to `limit` webhooks due now, oldest first.
    pub async fn due_webhooks(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<PendingWebhook>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, endpoint, payload, created_at, attempts FROM webhook_deliveries
             WHERE delivered_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= ?
             ORDER BY next_attempt_at, created_at LIMIT ?",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| PendingWebhook {
                id: r.get(0),
                endpoint: r.get(1),
                payload: r.get(2),
                created_at: r.get(3),
                attempts: r.get(4),
            })
            .collect())
    }

    /// Records an attempt: delivered, tried again at `retry_at`, or (None) given up.
    pub async fn webhook_attempted(
        &self,
        id: &str,
        status: Option<u16>,
        delivered: bool,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?,
                    delivered_at = CASE WHEN ? THEN ? END,
                    next_attempt_at = COALESCE(?, next_attempt_at),
                    given_up_at = CASE WHEN NOT ? AND ? IS NULL THEN ? END
             WHERE id = ?",
        )
        .bind(status.map(i64::from))
        .bind(delivered)
        .bind(now)
        .bind(retry_at)
        .bind(delivered)
        .bind(retry_at)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Webhooks not yet delivered or given up.
    pub async fn webhooks_pending(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE delivered_at IS NULL AND given_up_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.get(0))
    }

    /// Forgets delivered and given-up webhooks older than a week.
    pub async fn prune_webhooks(&self, now: i64) -> Result<u64, StoreError> {
        let n = sqlx::query(
            "DELETE FROM webhook_deliveries
             WHERE COALESCE(delivered_at, given_up_at) IS NOT NULL
               AND COALESCE(delivered_at, given_up_at) < ?",
        )
        .bind(now - KEEP_SECS)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n)
    }

    /// Every delivery (for tests and the operator): id, endpoint, type, attempts, delivered.
    pub async fn webhook_deliveries(
        &self,
    ) -> Result<Vec<(String, String, String, i64, bool)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, endpoint, event_type, attempts, delivered_at IS NOT NULL
             FROM webhook_deliveries ORDER BY created_at, rowid",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect())
    }
}

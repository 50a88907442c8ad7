//! Durable state: meetings, links, the setup token and organiser sessions, in SQLite.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

use sluss_protocol::InvitationRole;

#[derive(Debug)]
pub struct StoreError(sqlx::Error);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError(sqlx::Error::Migrate(Box::new(e)))
    }
}

/// How a meeting is held.
#[derive(Debug, Clone, Copy)]
pub struct MeetingFlags {
    /// No recording or transcription, chat off until the chair allows it (R9, R10).
    pub sensitive: bool,
    /// Guests identify with e-identification before they knock (R5).
    pub require_eid: bool,
}

/// A link as looked up by its token's hash.
#[derive(Debug, Clone)]
pub struct LinkRecord {
    pub link_id: String,
    pub meeting_id: String,
    pub role: InvitationRole,
    pub usable: bool,
    pub meeting_ended: bool,
    /// When the meeting ended (Unix seconds), if it has.
    pub ended_at: Option<i64>,
    pub sensitive: bool,
    /// Guests identify with e-identification before they knock (R5).
    pub require_eid: bool,
}

/// A link to create with a meeting.
#[derive(Clone)]
pub struct NewLink {
    pub id: String,
    pub token_hash: Vec<u8>,
    pub role: InvitationRole,
    /// Unix seconds after which the link no longer works.
    pub expires_at: Option<i64>,
}

mod accounts;
mod audit;
mod audit_search;
mod invitations;
mod meetings;
mod staff;
mod tally;
mod webhooks;

pub use accounts::{AccountChange, AccountListing, AccountRefusal};
pub use audit::{AuditEntry, AuditEvent, ChainCheck};
pub use audit_search::{AuditFilter, AuditMeeting, AuditPerson};
pub use invitations::{LinkActivity, Reissue, Reissued, MAX_LINKS_PER_MEETING};
pub use meetings::{Asker, Convener, MeetingAccess, NewMeeting, StaffAccount, StaffInvitee};
pub use staff::{EnrollmentRecord, SessionUser, UserRecord};
pub use tally::AuditTally;
pub use webhooks::{PendingWebhook, WebhookRoutes};

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    audit_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Which webhook endpoint wants which types (empty: no webhooks).
    webhooks: WebhookRoutes,
}

/// A meeting as the API describes it.
#[derive(Debug, Clone)]
pub struct MeetingDetails {
    pub id: String,
    pub title: String,
    pub starts_at: Option<i64>,
    pub duration_minutes: Option<i64>,
    pub ended: bool,
    /// Guests identify with e-identification before they knock (R5).
    pub require_eid: bool,
}

/// A token as `sluss api-token list` shows it.
#[derive(Debug, Clone)]
pub struct ApiTokenListing {
    pub id: String,
    pub name: String,
    /// Space-separated.
    pub scopes: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A booking system's API token, as looked up by its hash.
#[derive(Debug, Clone)]
pub struct ApiTokenRecord {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
}

impl Store {
    /// Opens (creating if needed) the database file and runs the migrations.
    ///
    /// Every transaction that reads and then writes begins `IMMEDIATE`: a deferred one that
    /// finds another connection has written since its read fails at once with "database is
    /// locked" (no busy timeout can help it), and an audit entry was lost that way whenever a
    /// login was written at the same moment.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store {
            pool,
            audit_lock: Default::default(),
            webhooks: Default::default(),
        })
    }

    /// A consistent copy of the whole database at `path` (`VACUUM INTO`), safe while the
    /// service runs and writes.
    pub async fn backup_into(&self, path: &Path) -> Result<(), StoreError> {
        let target = path.to_string_lossy().into_owned();
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether the database answers (the readiness probe).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn create_meeting(
        &self,
        id: &str,
        title: &str,
        sensitive: bool,
        now: i64,
        links: &[NewLink],
    ) -> Result<(), StoreError> {
        let meeting = NewMeeting {
            id,
            title,
            flags: MeetingFlags {
                sensitive,
                require_eid: false,
            },
            starts_at: None,
            duration_minutes: None,
            convener: None,
        };
        self.create_convened_meeting(&meeting, links, &[], now)
            .await
    }

    pub async fn find_link(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<LinkRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT l.id, l.meeting_id, l.role, l.expires_at, l.revoked_at, m.ended_at, m.sensitive, m.require_eid
             FROM links l JOIN meetings m ON m.id = l.meeting_id WHERE l.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| {
            let expires_at: Option<i64> = r.get(3);
            let revoked_at: Option<i64> = r.get(4);
            let ended_at: Option<i64> = r.get(5);
            let role: String = r.get(2);
            LinkRecord {
                link_id: r.get(0),
                meeting_id: r.get(1),
                role: InvitationRole::parse(&role).unwrap_or(InvitationRole::Guest),
                usable: revoked_at.is_none() && expires_at.is_none_or(|t| t > now),
                meeting_ended: ended_at.is_some(),
                ended_at,
                sensitive: r.get::<i64, _>(6) != 0,
                require_eid: r.get::<i64, _>(7) != 0,
            }
        }))
    }

    /// The invitation a dial-in PIN (its keyed hash) belongs to.
    pub async fn find_link_by_pin(
        &self,
        pin_hash: &[u8],
        now: i64,
    ) -> Result<Option<LinkRecord>, StoreError> {
        let token: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT l.token_hash FROM dial_in_pins p JOIN links l ON l.id = p.link_id
             WHERE p.pin_hash = ?",
        )
        .bind(pin_hash)
        .fetch_optional(&self.pool)
        .await?;
        match token {
            Some(token) => self.find_link(&token, now).await,
            None => Ok(None),
        }
    }

    /// Gives an invitation its dial-in PIN (its keyed hash). False when the hash is taken
    /// (another invitation drew the same PIN: the caller draws again).
    pub async fn set_link_pin(&self, link_id: &str, pin_hash: &[u8]) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO dial_in_pins (pin_hash, link_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(pin_hash)
        .bind(link_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Adds an invitation to an open meeting. False when the meeting is unknown or ended, or
    /// holds [`MAX_LINKS_PER_MEETING`] links already.
    pub async fn add_link(
        &self,
        meeting_id: &str,
        link: &NewLink,
        now: i64,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO links (id, token_hash, meeting_id, role, created_at, expires_at)
             SELECT ?, ?, id, ?, ?, ? FROM meetings WHERE id = ? AND ended_at IS NULL
               AND (SELECT COUNT(*) FROM links WHERE meeting_id = meetings.id) < ?",
        )
        .bind(&link.id)
        .bind(&link.token_hash)
        .bind(link.role.as_str())
        .bind(now)
        .bind(link.expires_at)
        .bind(meeting_id)
        .bind(MAX_LINKS_PER_MEETING)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Revokes an invitation. False when there is no such live invitation in that meeting.
    pub async fn revoke_link(
        &self,
        meeting_id: &str,
        link_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let revoked = sqlx::query(
            "UPDATE links SET revoked_at = ? WHERE id = ? AND meeting_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(link_id)
        .bind(meeting_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(revoked == 1)
    }

    pub async fn meeting(&self, id: &str) -> Result<Option<MeetingDetails>, StoreError> {
        let row = sqlx::query(
            "SELECT id, title, starts_at, duration_minutes, ended_at, require_eid FROM meetings \
             WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| MeetingDetails {
            id: r.get(0),
            title: r.get(1),
            starts_at: r.get(2),
            duration_minutes: r.get(3),
            ended: r.get::<Option<i64>, _>(4).is_some(),
            require_eid: r.get::<i64, _>(5) != 0,
        }))
    }

    pub async fn create_api_token(
        &self,
        id: &str,
        name: &str,
        token_hash: &[u8],
        scopes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, name, token_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(name)
        .bind(token_hash)
        .bind(scopes.join(" "))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn revoke_api_token(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let n =
            sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(n == 1)
    }

    /// Every token made, newest first: (id, name, scopes, created_at, revoked_at). Never a
    /// token or its hash.
    pub async fn list_api_tokens(&self) -> Result<Vec<ApiTokenListing>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, scopes, created_at, revoked_at FROM api_tokens \
             ORDER BY created_at DESC, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| ApiTokenListing {
                id: r.get(0),
                name: r.get(1),
                scopes: r.get(2),
                created_at: r.get(3),
                revoked_at: r.get(4),
            })
            .collect())
    }

    pub async fn find_api_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<ApiTokenRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, scopes FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| ApiTokenRecord {
            id: r.get(0),
            name: r.get(1),
            scopes: r
                .get::<String, _>(2)
                .split(' ')
                .map(str::to_owned)
                .collect(),
        }))
    }

    /// Marks a meeting ended: from now on none of its links work (R8).
    pub async fn end_meeting(&self, id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE meetings SET ended_at = ? WHERE id = ? AND ended_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

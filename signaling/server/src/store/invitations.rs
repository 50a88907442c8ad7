//! What became of a meeting's invitations (opened, entered, revoked, replaced), and a new link
//! for an invitation: the old one revoked and the new one stored in one transaction.

use sqlx::Row;

use sluss_protocol::InvitationRole;

use super::{Store, StoreError};

/// One invitation as its meeting's page shows it: never its token or the token's hash.
#[derive(Debug, Clone)]
pub struct LinkActivity {
    pub id: String,
    pub role: InvitationRole,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub opened_at: Option<i64>,
    pub entered_at: Option<i64>,
    pub replaces: Option<String>,
    pub staff_user_id: Option<String>,
}

/// A new link for an invitation: its id and token hash, made by the caller.
pub struct Reissue<'a> {
    pub meeting_id: &'a str,
    pub old_id: &'a str,
    pub new_id: &'a str,
    pub token_hash: &'a [u8],
    /// The new link's expiry when the old one's has passed (or it had none).
    pub fresh_expiry: i64,
}

/// What came of a re-issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reissued {
    /// The old link is revoked; the new one has this role and expiry (the old one's while it
    /// had not passed, else the fresh one).
    Done {
        role: InvitationRole,
        expires_at: i64,
    },
    /// No such invitation in that meeting.
    Unknown,
    /// The invitation is revoked already (by hand, or replaced by a newer link).
    Revoked,
    /// The meeting has ended or was cancelled.
    MeetingEnded,
    /// The meeting holds [`MAX_LINKS_PER_MEETING`] links already.
    TooMany,
}

/// The most links (invitations and the links that replaced them) one meeting holds.
pub const MAX_LINKS_PER_MEETING: i64 = 1000;

impl Store {
    /// The meeting's invitations, oldest first, at most [`MAX_LINKS_PER_MEETING`].
    pub async fn meeting_links(&self, meeting_id: &str) -> Result<Vec<LinkActivity>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, role, created_at, expires_at, revoked_at, opened_at, entered_at, replaces,
                    staff_user_id
             FROM links WHERE meeting_id = ? ORDER BY created_at, rowid LIMIT ?",
        )
        .bind(meeting_id)
        .bind(MAX_LINKS_PER_MEETING)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| LinkActivity {
                id: r.get(0),
                role: InvitationRole::parse(&r.get::<String, _>(1))
                    .unwrap_or(InvitationRole::Guest),
                created_at: r.get(2),
                expires_at: r.get(3),
                revoked_at: r.get(4),
                opened_at: r.get(5),
                entered_at: r.get(6),
                replaces: r.get(7),
                staff_user_id: r.get(8),
            })
            .collect())
    }

    /// How many links (invitations and the links that replaced them) the meeting holds.
    pub async fn link_count(&self, meeting_id: &str) -> Result<i64, StoreError> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM links WHERE meeting_id = ?")
            .bind(meeting_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    /// Notes that a link was opened (its page asked about it, or it knocked), and with
    /// `entered` that its holder came into the meeting. Only the first time of each is kept;
    /// nothing is written when both are known already.
    pub async fn note_link(
        &self,
        link_id: &str,
        entered: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE links SET opened_at = COALESCE(opened_at, ?1),
                    entered_at = CASE WHEN ?2 THEN COALESCE(entered_at, ?1) ELSE entered_at END
             WHERE id = ?3 AND (opened_at IS NULL OR (?2 AND entered_at IS NULL))",
        )
        .bind(now)
        .bind(entered)
        .bind(link_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revokes an invitation's link and stores a new one for the same person (role and staff
    /// account copied, `replaces` naming the old one), in one transaction.
    pub async fn reissue_link(&self, r: &Reissue<'_>, now: i64) -> Result<Reissued, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(
            "SELECT l.role, l.expires_at, l.revoked_at, m.ended_at,
                    (SELECT COUNT(*) FROM links c WHERE c.meeting_id = m.id)
             FROM links l JOIN meetings m ON m.id = l.meeting_id
             WHERE l.id = ? AND l.meeting_id = ?",
        )
        .bind(r.old_id)
        .bind(r.meeting_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Reissued::Unknown);
        };
        let role = InvitationRole::parse(&row.get::<String, _>(0)).unwrap_or(InvitationRole::Guest);
        let old_expiry: Option<i64> = row.get(1);
        if row.get::<Option<i64>, _>(3).is_some() {
            return Ok(Reissued::MeetingEnded);
        }
        if row.get::<Option<i64>, _>(2).is_some() {
            return Ok(Reissued::Revoked);
        }
        if row.get::<i64, _>(4) >= MAX_LINKS_PER_MEETING {
            return Ok(Reissued::TooMany);
        }
        let expires_at = old_expiry.filter(|&t| t > now).unwrap_or(r.fresh_expiry);
        sqlx::query("UPDATE links SET revoked_at = ? WHERE id = ?")
            .bind(now)
            .bind(r.old_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO links (id, token_hash, meeting_id, role, created_at, expires_at,
                                staff_user_id, replaces)
             SELECT ?, ?, meeting_id, role, ?, ?, staff_user_id, id FROM links WHERE id = ?",
        )
        .bind(r.new_id)
        .bind(r.token_hash)
        .bind(now)
        .bind(expires_at)
        .bind(r.old_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Reissued::Done { role, expires_at })
    }
}

//! Who convened a meeting, and which staff its invitations name (docs/meeting-ownership.md).

use sqlx::Row;

use super::{MeetingDetails, MeetingFlags, NewLink, Store, StoreError};

/// Who created a meeting: a member of staff or a booking system's API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Convener {
    /// A staff user id.
    Staff(String),
    /// An API token id (never the token).
    Api(String),
}

impl Convener {
    fn kind(&self) -> &'static str {
        match self {
            Convener::Staff(_) => "staff",
            Convener::Api(_) => "api",
        }
    }

    fn id(&self) -> &str {
        match self {
            Convener::Staff(id) | Convener::Api(id) => id,
        }
    }

    fn from_columns(kind: Option<String>, id: Option<String>) -> Option<Convener> {
        match (kind.as_deref(), id) {
            (Some("staff"), Some(id)) => Some(Convener::Staff(id)),
            (Some("api"), Some(id)) => Some(Convener::Api(id)),
            _ => None,
        }
    }
}

/// Who is asking about meetings: who they would be as a convener, and whether they are an
/// administrator (who sees every meeting).
#[derive(Debug, Clone)]
pub struct Asker {
    pub as_convener: Convener,
    pub admin: bool,
}

impl Asker {
    /// The staff user whose name a staff invitation may carry.
    fn staff_user(&self) -> Option<&str> {
        match &self.as_convener {
            Convener::Staff(id) => Some(id),
            Convener::Api(_) => None,
        }
    }
}

/// A meeting to create.
pub struct NewMeeting<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub flags: MeetingFlags,
    pub starts_at: Option<i64>,
    pub duration_minutes: Option<i64>,
    pub convener: Option<&'a Convener>,
}

/// A staff invitation made with a meeting, and the staff account it names.
pub struct StaffInvitee<'a> {
    pub link_id: &'a str,
    pub user_id: &'a str,
}

/// A meeting as an asker sees it.
#[derive(Debug, Clone)]
pub struct MeetingAccess {
    pub details: MeetingDetails,
    pub created_at: i64,
    /// `None` for meetings made before conveners were recorded.
    pub convener: Option<Convener>,
    /// A live (unrevoked) staff invitation names the asker.
    pub invites_asker: bool,
    /// When it ended or was cancelled.
    pub ended_at: Option<i64>,
    /// No recording or transcription, chat off until the chair allows it (R9, R10).
    pub sensitive: bool,
}

/// A staff account as an invitation may name it.
#[derive(Debug, Clone)]
pub struct StaffAccount {
    pub roles: Vec<String>,
    pub enabled: bool,
}

const ACCESS_COLUMNS: &str = "m.id, m.title, m.starts_at, m.duration_minutes, m.ended_at, \
     m.created_at, m.convener_kind, m.convener_id, \
     EXISTS(SELECT 1 FROM links l WHERE l.meeting_id = m.id AND l.staff_user_id = ? \
            AND l.revoked_at IS NULL), m.require_eid, m.sensitive";

fn access_from_row(r: &sqlx::sqlite::SqliteRow) -> MeetingAccess {
    MeetingAccess {
        details: MeetingDetails {
            id: r.get(0),
            title: r.get(1),
            starts_at: r.get(2),
            duration_minutes: r.get(3),
            ended: r.get::<Option<i64>, _>(4).is_some(),
            require_eid: r.get::<i64, _>(9) != 0,
        },
        created_at: r.get(5),
        convener: Convener::from_columns(r.get(6), r.get(7)),
        invites_asker: r.get::<i64, _>(8) != 0,
        ended_at: r.get(4),
        sensitive: r.get::<i64, _>(10) != 0,
    }
}

impl Store {
    /// A meeting, its links and the staff they name, in one transaction.
    pub async fn create_convened_meeting(
        &self,
        meeting: &NewMeeting<'_>,
        links: &[NewLink],
        invitees: &[StaffInvitee<'_>],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO meetings (id, title, created_at, sensitive, starts_at, duration_minutes,
                                   require_eid, convener_kind, convener_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(meeting.id)
        .bind(meeting.title)
        .bind(now)
        .bind(meeting.flags.sensitive)
        .bind(meeting.starts_at)
        .bind(meeting.duration_minutes)
        .bind(meeting.flags.require_eid)
        .bind(meeting.convener.map(Convener::kind))
        .bind(meeting.convener.map(Convener::id))
        .execute(&mut *tx)
        .await?;
        for link in links {
            sqlx::query(
                "INSERT INTO links (id, token_hash, meeting_id, role, created_at, expires_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&link.id)
            .bind(&link.token_hash)
            .bind(meeting.id)
            .bind(link.role.as_str())
            .bind(now)
            .bind(link.expires_at)
            .execute(&mut *tx)
            .await?;
        }
        for invitee in invitees {
            sqlx::query("UPDATE links SET staff_user_id = ? WHERE id = ? AND meeting_id = ?")
                .bind(invitee.user_id)
                .bind(invitee.link_id)
                .bind(meeting.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds an invitation naming a staff account to an open meeting. False when the meeting is
    /// unknown or ended, or holds [`super::MAX_LINKS_PER_MEETING`] links already.
    pub async fn add_staff_link(
        &self,
        meeting_id: &str,
        link: &NewLink,
        staff_user_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO links (id, token_hash, meeting_id, role, created_at, expires_at, staff_user_id)
             SELECT ?, ?, id, ?, ?, ?, ? FROM meetings WHERE id = ? AND ended_at IS NULL
               AND (SELECT COUNT(*) FROM links WHERE meeting_id = meetings.id) < ?",
        )
        .bind(&link.id)
        .bind(&link.token_hash)
        .bind(link.role.as_str())
        .bind(now)
        .bind(link.expires_at)
        .bind(staff_user_id)
        .bind(meeting_id)
        .bind(super::MAX_LINKS_PER_MEETING)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// One meeting (open or ended) as the asker sees it.
    pub async fn meeting_access(
        &self,
        id: &str,
        asker: &Asker,
    ) -> Result<Option<MeetingAccess>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ACCESS_COLUMNS} FROM meetings m WHERE m.id = ?"
        ))
        .bind(asker.staff_user())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(access_from_row))
    }

    /// The open meetings the asker convened or is invited to as staff; every open meeting for
    /// an administrator. With `ended_since`, also those that ended since then. Newest first.
    pub async fn visible_meetings(
        &self,
        asker: &Asker,
        ended_since: Option<i64>,
        limit: i64,
    ) -> Result<Vec<MeetingAccess>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ACCESS_COLUMNS} FROM meetings m
             WHERE (m.ended_at IS NULL OR m.ended_at >= ?)
               AND (? OR (m.convener_kind = ? AND m.convener_id = ?)
                    OR EXISTS(SELECT 1 FROM links l WHERE l.meeting_id = m.id
                              AND l.staff_user_id = ? AND l.revoked_at IS NULL))
             ORDER BY m.created_at DESC LIMIT ?"
        ))
        .bind(asker.staff_user())
        // No meeting ends at or after i64::MAX: without `ended_since`, only open ones.
        .bind(ended_since.unwrap_or(i64::MAX))
        .bind(asker.admin)
        .bind(asker.as_convener.kind())
        .bind(asker.as_convener.id())
        .bind(asker.staff_user())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(access_from_row).collect())
    }

    /// Replaces the fields given of an open meeting. False when it is unknown or ended.
    pub async fn update_meeting(
        &self,
        id: &str,
        title: Option<&str>,
        starts_at: Option<i64>,
        duration_minutes: Option<i64>,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE meetings SET title = COALESCE(?, title), starts_at = COALESCE(?, starts_at),
                    duration_minutes = COALESCE(?, duration_minutes)
             WHERE id = ? AND ended_at IS NULL",
        )
        .bind(title)
        .bind(starts_at)
        .bind(duration_minutes)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// A staff account by user id, as an invitation may name it.
    pub async fn staff_account(&self, user_id: &str) -> Result<Option<StaffAccount>, StoreError> {
        let row = sqlx::query("SELECT roles, disabled_at FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| StaffAccount {
            roles: super::staff::roles(r.get(0)),
            enabled: r.get::<Option<i64>, _>(1).is_none(),
        }))
    }
}

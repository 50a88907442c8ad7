//! R15, for auditors: the meetings to pick from, a search bounded in time and size, the ids of
//! people by the name they had, and who each opaque id in the trail is.
//!
//! Names come from the trail itself (a `knocked` or `joined` entry carries the name a person
//! gave, or their account's name when logged in as staff) and from staff accounts. Personal
//! identity numbers are never in either: R12 refuses them in names before anyone knocks.

use std::collections::HashMap;

use sqlx::Row;

use super::{AuditEntry, Store, StoreError};

/// A meeting as an auditor picks it from a list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditMeeting {
    pub meeting_id: String,
    pub title: String,
    pub created_at: i64,
    pub starts_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// People who knocked or entered, as the trail counts them.
    pub participants: i64,
}

/// What a search of the trail asks for; the API bounds every field before it gets here.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub meeting: Option<String>,
    /// Opaque ids (participant, user, link) whose entries as actor or subject are wanted;
    /// `None` is anyone, an empty list is nobody.
    pub people: Option<Vec<String>>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// At most this many entries, oldest first.
    pub limit: u32,
}

/// Who an opaque id in the trail is.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AuditPerson {
    /// `staff` (logged in), `guest` (came by an invitation, not logged in), `invitation` (a
    /// link, for counted knocks), `system` (the command line, a booking system's token).
    pub kind: &'static str,
    /// The staff account's name, or the name the guest gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The invitation used: chair, patient, relative, staff, professional, guest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation: Option<String>,
    /// The staff account, for someone logged in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// The events whose details say who a participant is.
const INTRODUCTIONS: &str = "('knocked', 'joined')";

fn entry(r: &sqlx::sqlite::SqliteRow) -> AuditEntry {
    AuditEntry {
        seq: r.get(0),
        at: r.get(1),
        meeting_id: r.get(2),
        event: r.get(3),
        actor: r.get(4),
        subject: r.get(5),
        details: serde_json::from_str(&r.get::<String, _>(6)).unwrap_or_default(),
        hash: r.get(7),
    }
}

fn json_list(ids: &[String]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

impl Store {
    /// Meetings whose time (start, or creation when none was set) is in the range, newest
    /// first, at most `limit`.
    pub async fn audit_meetings(
        &self,
        from: Option<i64>,
        to: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditMeeting>, StoreError> {
        let sql = format!(
            "SELECT m.id, m.title, m.created_at, m.starts_at, m.ended_at,
                    (SELECT COUNT(DISTINCT a.subject) FROM audit_log a
                      WHERE a.meeting_id = m.id AND a.event IN {INTRODUCTIONS})
             FROM meetings m
             WHERE (?1 IS NULL OR COALESCE(m.starts_at, m.created_at) >= ?1)
               AND (?2 IS NULL OR COALESCE(m.starts_at, m.created_at) <= ?2)
             ORDER BY COALESCE(m.starts_at, m.created_at) DESC, m.id
             LIMIT ?3"
        );
        let rows = sqlx::query(&sql)
            .bind(from)
            .bind(to)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| AuditMeeting {
                meeting_id: r.get(0),
                title: r.get(1),
                created_at: r.get(2),
                starts_at: r.get(3),
                ended_at: r.get(4),
                participants: r.get(5),
            })
            .collect())
    }

    /// Entries matching the filter, oldest first; true when there were more than the limit.
    pub async fn audit_search(
        &self,
        filter: &AuditFilter,
    ) -> Result<(Vec<AuditEntry>, bool), StoreError> {
        let people = filter.people.as_deref().map(json_list);
        let rows = sqlx::query(
            "SELECT seq, at, meeting_id, event, actor, subject, details, hash FROM audit_log
             WHERE (?1 IS NULL OR meeting_id = ?1)
               AND (?2 IS NULL OR actor IN (SELECT value FROM json_each(?2))
                               OR subject IN (SELECT value FROM json_each(?2)))
               AND (?3 IS NULL OR at >= ?3)
               AND (?4 IS NULL OR at <= ?4)
             ORDER BY seq
             LIMIT ?5",
        )
        .bind(&filter.meeting)
        .bind(people)
        .bind(filter.from)
        .bind(filter.to)
        .bind(i64::from(filter.limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut entries: Vec<AuditEntry> = rows.iter().map(entry).collect();
        let truncated = entries.len() > filter.limit as usize;
        entries.truncate(filter.limit as usize);
        Ok((entries, truncated))
    }

    /// The ids of everyone whose name contains `term` (letter case ignored, Swedish letters
    /// too): participants by the name they gave in a meeting in the time range, staff by
    /// their account's name. At most `limit` ids.
    pub async fn audit_ids_named(
        &self,
        term: &str,
        from: Option<i64>,
        to: Option<i64>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let term = term.to_lowercase();
        let sql = format!(
            "SELECT DISTINCT subject, json_extract(details, '$.name') FROM audit_log
             WHERE event IN {INTRODUCTIONS} AND subject IS NOT NULL
               AND (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at <= ?2)"
        );
        let participants = sqlx::query(&sql)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        let users = sqlx::query("SELECT id, display_name FROM users")
            .fetch_all(&self.pool)
            .await?;
        let mut ids = Vec::new();
        for r in participants.iter().chain(users.iter()) {
            let name: Option<String> = r.try_get(1).ok().flatten();
            if name.is_some_and(|n| n.to_lowercase().contains(&term)) && ids.len() < limit {
                ids.push(r.get::<String, _>(0));
            }
        }
        Ok(ids)
    }

    /// Who each of these ids is, as far as the trail and the accounts tell. `meetings` are
    /// the meetings the ids were seen in: participants are looked up there.
    pub async fn audit_people(
        &self,
        meetings: &[String],
        ids: &[String],
    ) -> Result<HashMap<String, AuditPerson>, StoreError> {
        let mut people = HashMap::new();
        let sql = format!(
            "SELECT subject, details FROM audit_log
             WHERE meeting_id IN (SELECT value FROM json_each(?1))
               AND event IN {INTRODUCTIONS}
               AND subject IN (SELECT value FROM json_each(?2))
             ORDER BY seq"
        );
        let rows = sqlx::query(&sql)
            .bind(json_list(meetings))
            .bind(json_list(ids))
            .fetch_all(&self.pool)
            .await?;
        let mut links: HashMap<String, Vec<String>> = HashMap::new();
        for r in &rows {
            let details: serde_json::Value =
                serde_json::from_str(&r.get::<String, _>(1)).unwrap_or_default();
            let id: String = r.get(0);
            let person = introduced(&details);
            if person.invitation.is_none() {
                if let Some(link) = details["link"].as_str() {
                    links.entry(link.to_owned()).or_default().push(id.clone());
                }
            }
            // The latest introduction wins (a seat taken back keeps its id).
            people.insert(id, person);
        }
        self.invitations_of_links(&mut people, &links, ids).await?;
        self.staff_names(&mut people, ids).await?;
        let mut tokens = HashMap::new();
        if ids.iter().any(|i| i.starts_with("api:")) {
            for t in self.list_api_tokens().await? {
                tokens.insert(format!("api:{}", t.id), t.name);
            }
        }
        for id in ids {
            if !people.contains_key(id)
                && (id == "cli" || id.starts_with("cli:") || id.starts_with("api:"))
            {
                // A booking system by its token's name, the command line by its reader.
                let name = tokens
                    .get(id)
                    .map_or_else(|| id.clone(), |n| format!("{n} ({id})"));
                people.insert(
                    id.clone(),
                    AuditPerson {
                        kind: "system",
                        name: Some(name),
                        ..Default::default()
                    },
                );
            }
        }
        Ok(people)
    }

    /// Entries from before introductions carried the invitation: its link's role. Ids that
    /// are links themselves (counted knocks) become invitations.
    async fn invitations_of_links(
        &self,
        people: &mut HashMap<String, AuditPerson>,
        links: &HashMap<String, Vec<String>>,
        ids: &[String],
    ) -> Result<(), StoreError> {
        let mut wanted: Vec<String> = links.keys().cloned().collect();
        wanted.extend(ids.iter().filter(|i| i.starts_with("l_")).cloned());
        if wanted.is_empty() {
            return Ok(());
        }
        let rows =
            sqlx::query("SELECT id, role FROM links WHERE id IN (SELECT value FROM json_each(?))")
                .bind(json_list(&wanted))
                .fetch_all(&self.pool)
                .await?;
        for r in rows {
            let (link, role): (String, String) = (r.get(0), r.get(1));
            for id in links.get(&link).into_iter().flatten() {
                if let Some(p) = people.get_mut(id) {
                    p.invitation = Some(role.clone());
                }
            }
            if ids.contains(&link) {
                people.insert(
                    link,
                    AuditPerson {
                        kind: "invitation",
                        invitation: Some(role),
                        ..Default::default()
                    },
                );
            }
        }
        Ok(())
    }

    /// Staff accounts by id: their names as the accounts have them now.
    async fn staff_names(
        &self,
        people: &mut HashMap<String, AuditPerson>,
        ids: &[String],
    ) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT id, display_name FROM users WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(json_list(ids))
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let id: String = r.get(0);
            let person = AuditPerson {
                kind: "staff",
                name: Some(r.get(1)),
                user_id: Some(id.clone()),
                ..Default::default()
            };
            people.insert(id, person);
        }
        Ok(())
    }
}

/// Who a `knocked` or `joined` entry's details say the participant is.
fn introduced(details: &serde_json::Value) -> AuditPerson {
    let text = |k: &str| details[k].as_str().map(str::to_owned);
    let user_id = text("staff_user");
    let invitation =
        text("invitation").or_else(|| (details["role"] == "chair").then(|| "chair".to_owned()));
    // Before introductions carried the account, only a chair was surely logged in (R7).
    let staff =
        user_id.is_some() || (details.get("staff_user").is_none() && details["role"] == "chair");
    AuditPerson {
        kind: if staff { "staff" } else { "guest" },
        name: text("name"),
        invitation,
        user_id,
    }
}

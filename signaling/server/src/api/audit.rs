//! R15: auditors search the audit trail; every search is itself an entry.
//!
//! `GET /api/v1/audit/meetings` lists meetings to pick from; `GET /api/v1/audit` searches by
//! meeting, person (an opaque id, or part of a name), time and size, and answers the entries
//! with who each id in them is and, for one meeting, who was in it.

use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sluss_meeting::DisplayName;

use super::attendance::attendance;
use super::{principal, text_refused, Principal};
use crate::error::HttpError;
use crate::store::{AuditEntry, AuditEvent, AuditFilter, AuditPerson};
use crate::{unix_now, AppState};

/// The latest time a search may name: 2100-01-01 (Unix seconds).
const MAX_TIME: i64 = 4_102_444_800;
/// Entries in one answer unless fewer are asked for, and at most.
const DEFAULT_LIMIT: u32 = 1_000;
const MAX_LIMIT: u32 = 10_000;
/// Meetings in one list.
const DEFAULT_MEETINGS: u32 = 200;
const MAX_MEETINGS: u32 = 1_000;
/// People a name search may match; more means the name is too vague.
const MAX_NAMED: usize = 200;
/// Entries of one meeting read for its "who was in it".
const MAX_MEETING_ENTRIES: u32 = 20_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    meeting: Option<String>,
    person: Option<String>,
    name: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    limit: Option<u32>,
    format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingsQuery {
    from: Option<i64>,
    to: Option<i64>,
    limit: Option<u32>,
}

type Rejection = axum::extract::rejection::QueryRejection;

/// The caller, if an auditor: 401 without a session, 403 without the role.
async fn auditor(state: &AppState, headers: &HeaderMap) -> Result<String, HttpError> {
    let who = principal(state, headers).await?;
    let Principal::Staff { user_id, roles, .. } = who else {
        return Err(HttpError::unauthorized());
    };
    if !roles.iter().any(|r| r == "auditor") {
        return Err(HttpError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only auditors read the audit trail.",
        ));
    }
    Ok(user_id)
}

/// A time range within 1970..2100, from before to.
fn time_range(from: Option<i64>, to: Option<i64>) -> Result<(), HttpError> {
    let in_bounds = |t: Option<i64>| t.is_none_or(|t| (0..=MAX_TIME).contains(&t));
    if !in_bounds(from) || !in_bounds(to) || from.zip(to).is_some_and(|(f, t)| f > t) {
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "bad_time_range",
            "from and to are Unix seconds between 1970 and 2100, from not after to.",
        ));
    }
    Ok(())
}

fn limit(asked: Option<u32>, default: u32, max: u32) -> Result<u32, HttpError> {
    match asked {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "bad_limit",
            format!("limit is between 1 and {max}."),
        )),
    }
}

/// An opaque id as the trail has them: at most 64 letters, digits, `_`, `-` or `:`.
fn opaque_id(id: &Option<String>) -> Result<(), HttpError> {
    let fine = |s: &String| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-:".contains(&b))
    };
    if id.as_ref().is_some_and(|s| !fine(s)) {
        return Err(HttpError::bad_request(
            "Ids are 1 to 64 letters, digits, '_', '-' or ':'.",
        ));
    }
    Ok(())
}

pub async fn meetings(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<MeetingsQuery>, Rejection>,
) -> Result<Response, HttpError> {
    let user_id = auditor(&state, &headers).await?;
    let Query(q) =
        query.map_err(|_| HttpError::bad_request("Unknown or malformed search parameters."))?;
    time_range(q.from, q.to)?;
    let limit = limit(q.limit, DEFAULT_MEETINGS, MAX_MEETINGS)?;
    let meetings = state.store.audit_meetings(q.from, q.to, limit).await?;
    // Titles are for staff and auditors only; reading them is in the trail too.
    let event = AuditEvent {
        event: "audit_meetings_listed",
        actor: Some(user_id),
        details: serde_json::json!({ "from": q.from, "to": q.to, "meetings": meetings.len() }),
        ..AuditEvent::default()
    };
    state.store.audit(event, unix_now()).await?;
    Ok(Json(serde_json::json!({ "meetings": meetings })).into_response())
}

pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, Rejection>,
) -> Result<Response, HttpError> {
    let user_id = auditor(&state, &headers).await?;
    let Query(q) =
        query.map_err(|_| HttpError::bad_request("Unknown or malformed search parameters."))?;
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv") {
        return Err(HttpError::bad_request("format is json or csv."));
    }
    opaque_id(&q.meeting)?;
    opaque_id(&q.person)?;
    time_range(q.from, q.to)?;
    let limit = limit(q.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    // A name is checked like any name people type (R12): a personal identity number typed
    // here would otherwise end up in the trail's record of this search.
    let name = match q.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => Some(DisplayName::parse(n).map_err(|e| text_refused("name", e))?),
        None => None,
    };
    let people = people_wanted(&state, &q, name.as_ref()).await?;
    let filter = AuditFilter {
        meeting: q.meeting.clone(),
        people,
        from: q.from,
        to: q.to,
        limit,
    };
    let (entries, truncated) = state.store.audit_search(&filter).await?;
    let meeting_view = match &q.meeting {
        Some(m) => Some(meeting_view(&state, m).await?),
        None => None,
    };
    let people = who_is_who(&state, &entries, meeting_view.as_ref()).await?;
    // Every read of the trail is itself in the trail.
    let event = AuditEvent {
        meeting_id: q.meeting.clone(),
        event: "audit_read",
        actor: Some(user_id),
        subject: q.person.clone(),
        details: serde_json::json!({
            "from": q.from, "to": q.to, "format": format, "entries": entries.len(),
            "name": name.as_ref().map(|n| n.expose()), "truncated": truncated,
        }),
    };
    state.store.audit(event, unix_now()).await?;
    if format == "csv" {
        return Ok(csv_response(&entries, &people, truncated));
    }
    let mut body =
        serde_json::json!({ "entries": entries, "truncated": truncated, "people": people });
    if let Some(view) = meeting_view {
        body["meeting"] = view.meeting;
        body["attendance"] =
            serde_json::to_value(attendance(&view.entries)).map_err(HttpError::internal)?;
    }
    Ok(Json(body).into_response())
}

/// The ids whose entries are wanted: the person asked for, those whose name matches, both
/// (only those that are both), or anyone (`None`).
async fn people_wanted(
    state: &AppState,
    q: &AuditQuery,
    name: Option<&DisplayName>,
) -> Result<Option<Vec<String>>, HttpError> {
    let person = q.person.clone().map(|p| vec![p]);
    let Some(name) = name else {
        return Ok(person);
    };
    let named = state
        .store
        .audit_ids_named(name.expose(), q.from, q.to, MAX_NAMED + 1)
        .await?;
    if named.len() > MAX_NAMED {
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "name_too_vague",
            "The name matches too many people; write more of it.",
        ));
    }
    Ok(Some(match person {
        Some(ids) => ids.into_iter().filter(|i| named.contains(i)).collect(),
        None => named,
    }))
}

fn csv_response(
    entries: &[AuditEntry],
    people: &std::collections::HashMap<String, AuditPerson>,
    truncated: bool,
) -> Response {
    let mut response = (
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"audit.csv\""),
        ],
        to_csv_named(entries, people),
    )
        .into_response();
    if truncated {
        response
            .headers_mut()
            .insert("x-sluss-truncated", HeaderValue::from_static("true"));
    }
    response
}

/// One meeting as a whole: its details and all its entries (for "who was in it"), whatever
/// narrower search was asked for.
struct MeetingView {
    meeting: serde_json::Value,
    entries: Vec<AuditEntry>,
}

async fn meeting_view(state: &AppState, meeting_id: &str) -> Result<MeetingView, HttpError> {
    let filter = AuditFilter {
        meeting: Some(meeting_id.to_owned()),
        limit: MAX_MEETING_ENTRIES,
        ..AuditFilter::default()
    };
    let (entries, _) = state.store.audit_search(&filter).await?;
    let mut meeting = match state.store.meeting(meeting_id).await? {
        Some(m) => serde_json::json!({
            "meeting_id": m.id, "title": m.title, "starts_at": m.starts_at, "ended": m.ended,
        }),
        None => serde_json::json!({ "meeting_id": meeting_id }),
    };
    // When it ran and when consent was recorded, by whom: the first of each in the trail.
    for (event, at, by) in [
        ("meeting_started", "started_at", None),
        ("ended", "ended_at", Some("ended_by")),
        ("consent_recorded", "consent_at", Some("consent_by")),
    ] {
        if let Some(e) = entries.iter().find(|e| e.event == event) {
            meeting[at] = e.at.into();
            if let Some(by) = by {
                meeting[by] = e.actor.clone().into();
            }
        }
    }
    Ok(MeetingView { meeting, entries })
}

/// Who every id named in these entries (and in the meeting's "who was in it") is.
async fn who_is_who(
    state: &AppState,
    entries: &[AuditEntry],
    view: Option<&MeetingView>,
) -> Result<std::collections::HashMap<String, AuditPerson>, HttpError> {
    let all = entries
        .iter()
        .chain(view.into_iter().flat_map(|v| v.entries.iter()));
    let mut meetings = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    for e in all {
        meetings.extend(e.meeting_id.iter().cloned());
        ids.extend([&e.actor, &e.subject].into_iter().flatten().cloned());
    }
    let meetings: Vec<String> = meetings.into_iter().collect();
    let ids: Vec<String> = ids.into_iter().collect();
    Ok(state.store.audit_people(&meetings, &ids).await?)
}

/// The trail as CSV, one entry a line.
pub fn to_csv(entries: &[AuditEntry]) -> String {
    let mut out = String::from("seq,at,meeting_id,event,actor,subject,details,hash\n");
    for e in entries {
        out.push_str(&csv_line(&entry_fields(e)));
    }
    out
}

/// As [`to_csv`], with who the actor and the subject are in two more columns.
pub fn to_csv_named(
    entries: &[AuditEntry],
    people: &std::collections::HashMap<String, AuditPerson>,
) -> String {
    let mut out = String::from(
        "seq,at,meeting_id,event,actor,subject,details,hash,actor_name,subject_name\n",
    );
    let named = |id: &Option<String>| {
        let p = id.as_ref().and_then(|i| people.get(i));
        match p {
            Some(p) => match (&p.name, &p.invitation) {
                (Some(n), Some(i)) => format!("{n} ({i})"),
                (Some(n), None) => n.clone(),
                (None, Some(i)) => format!("({i})"),
                (None, None) => String::new(),
            },
            None => String::new(),
        }
    };
    for e in entries {
        let mut fields = entry_fields(e);
        fields.push(named(&e.actor));
        fields.push(named(&e.subject));
        out.push_str(&csv_line(&fields));
    }
    out
}

fn entry_fields(e: &AuditEntry) -> Vec<String> {
    vec![
        e.seq.to_string(),
        e.at.to_string(),
        e.meeting_id.clone().unwrap_or_default(),
        e.event.clone(),
        e.actor.clone().unwrap_or_default(),
        e.subject.clone().unwrap_or_default(),
        e.details.to_string(),
        hex::encode(&e.hash),
    ]
}

fn csv_line(fields: &[String]) -> String {
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    format!("{}\n", line.join(","))
}

/// One CSV field, quoted when needed; a leading formula character is neutralised so that a
/// spreadsheet does not execute a name someone typed.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }
}

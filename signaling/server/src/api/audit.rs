//! R15: auditors search the audit trail; every search is itself an entry.

use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{principal, Principal};
use crate::error::HttpError;
use crate::store::{AuditEntry, AuditEvent};
use crate::{unix_now, AppState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    meeting: Option<String>,
    person: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    format: Option<String>,
}

pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let Query(q) =
        query.map_err(|_| HttpError::bad_request("Unknown or malformed search parameters."))?;
    let who = principal(&state, &headers).await?;
    let Principal::Staff { user_id, roles, .. } = &who else {
        return Err(HttpError::unauthorized());
    };
    if !roles.iter().any(|r| r == "auditor") {
        return Err(HttpError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only auditors read the audit trail.",
        ));
    }
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv")
        || q.meeting.as_ref().is_some_and(|m| m.len() > 64)
        || q.person.as_ref().is_some_and(|p| p.len() > 64)
    {
        return Err(HttpError::bad_request(
            "format is json or csv; ids are at most 64 characters.",
        ));
    }
    let entries = state
        .store
        .audit_entries(q.meeting.as_deref(), q.person.as_deref(), q.from, q.to)
        .await?;
    // Every read of the trail is itself in the trail.
    state
        .store
        .audit(
            AuditEvent {
                meeting_id: q.meeting.clone(),
                event: "audit_read",
                actor: Some(user_id.clone()),
                subject: q.person.clone(),
                details: serde_json::json!({ "from": q.from, "to": q.to, "format": format, "entries": entries.len() }),
            },
            unix_now(),
        )
        .await?;
    if format == "csv" {
        return Ok((
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8"),
                (CONTENT_DISPOSITION, "attachment; filename=\"audit.csv\""),
            ],
            to_csv(&entries),
        )
            .into_response());
    }
    Ok(Json(serde_json::json!({ "entries": entries })).into_response())
}

/// The trail as CSV, one entry a line.
pub fn to_csv(entries: &[AuditEntry]) -> String {
    let mut out = String::from("seq,at,meeting_id,event,actor,subject,details,hash\n");
    for e in entries {
        let fields = [
            e.seq.to_string(),
            e.at.to_string(),
            e.meeting_id.clone().unwrap_or_default(),
            e.event.clone(),
            e.actor.clone().unwrap_or_default(),
            e.subject.clone().unwrap_or_default(),
            e.details.to_string(),
            hex::encode(&e.hash),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
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

//! The REST endpoints the pages use.

use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sluss_meeting::{MeetingTitle, NameError, Role};
use sluss_protocol::{
    ClaimSetup, CreateMeeting, CreatedMeeting, InspectLink, LinkInfo, MeetingList, MeetingSummary,
};

use crate::error::{ApiJson, HttpError};
use crate::secret::{random_id, Secret};
use crate::store::{AuditEvent, NewLink};
use crate::{unix_now, AppState};

const SESSION_COOKIE: &str = "sluss_session";
const MAX_GUEST_LINKS: u32 = 20;

pub async fn claim_setup(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ClaimSetup>,
) -> Result<Response, HttpError> {
    let token = Secret::from_wire(&body.token);
    let session = Secret::generate();
    let now = unix_now();
    let ttl = state.config.session_ttl.as_secs() as i64;
    if !state
        .store
        .claim_setup(&token.hash(), &session.hash(), now, now + ttl)
        .await?
    {
        return Err(HttpError::new(
            StatusCode::UNAUTHORIZED,
            "link_invalid",
            "This setup link is unknown or has already been used.",
        ));
    }
    tracing::info!("setup link claimed; an organiser session was opened");
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={ttl}",
        session.expose()
    );
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, cookie)]).into_response())
}

pub async fn session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    require_session(&state, &headers).await?;
    Ok(Json(serde_json::json!({ "organiser": true })).into_response())
}

pub async fn create_meeting(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateMeeting>,
) -> Result<Response, HttpError> {
    require_session(&state, &headers).await?;
    let title = MeetingTitle::parse(&body.title).map_err(|e| text_refused("title", e))?;
    let title = title.as_str();
    if body.guests > MAX_GUEST_LINKS {
        return Err(HttpError::bad_request(format!(
            "At most {MAX_GUEST_LINKS} guest links per meeting."
        )));
    }
    let meeting_id = random_id("m_");
    let expires_at = unix_now() + state.config.link_ttl.as_secs() as i64;
    let chair = Secret::generate();
    let guests: Vec<Secret> = (0..body.guests).map(|_| Secret::generate()).collect();
    let mut links = vec![NewLink {
        id: random_id("l_"),
        token_hash: chair.hash(),
        role: Role::Chair,
        expires_at: Some(expires_at),
    }];
    links.extend(guests.iter().map(|g| NewLink {
        id: random_id("l_"),
        token_hash: g.hash(),
        role: Role::Guest,
        expires_at: Some(expires_at),
    }));
    state
        .store
        .create_meeting(&meeting_id, title, body.sensitive, unix_now(), &links)
        .await?;
    tracing::info!(meeting = %meeting_id, guests = body.guests, "meeting created");
    let event = AuditEvent {
        meeting_id: Some(meeting_id.clone()),
        event: "meeting_created",
        actor: Some("organiser".into()),
        subject: None,
        details: serde_json::json!({
            "links": links.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
            "sensitive": body.sensitive,
        }),
    };
    state.store.audit(event, unix_now()).await?;
    let link = |s: &Secret| format!("{}/join#{}", state.config.public_url, s.expose());
    let created = CreatedMeeting {
        meeting_id,
        title: title.to_owned(),
        chair_link: link(&chair),
        guest_links: guests.iter().map(link).collect(),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub async fn list_meetings(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    require_session(&state, &headers).await?;
    let meetings = state
        .store
        .list_meetings(200)
        .await?
        .into_iter()
        .map(|m| MeetingSummary {
            participants: state.registry.participant_count(&m.id) as u32,
            meeting_id: m.id,
            title: m.title,
            created_at: m.created_at,
        })
        .collect();
    Ok(Json(MeetingList { meetings }).into_response())
}

pub async fn inspect_link(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<InspectLink>,
) -> Result<Response, HttpError> {
    let Some(link) = state
        .store
        .find_link(&Secret::from_wire(&body.token).hash(), unix_now())
        .await?
    else {
        return Err(link_invalid());
    };
    if !link.usable {
        return Err(link_invalid());
    }
    let info = LinkInfo {
        role: match link.role {
            Role::Chair => sluss_protocol::Role::Chair,
            Role::Guest => sluss_protocol::Role::Guest,
        },
        meeting: if link.meeting_ended { "ended" } else { "open" }.to_owned(),
    };
    Ok(Json(info).into_response())
}

fn link_invalid() -> HttpError {
    HttpError::new(
        StatusCode::NOT_FOUND,
        "link_invalid",
        "This link is not valid. Ask the person who invited you for a new one.",
    )
}

async fn require_session(state: &AppState, headers: &HeaderMap) -> Result<(), HttpError> {
    let token = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| Secret::from_wire(v))
        .ok_or_else(HttpError::unauthorized)?;
    if state.store.session_valid(&token.hash(), unix_now()).await? {
        Ok(())
    } else {
        Err(HttpError::unauthorized())
    }
}

/// A refused free-text field, with the reason (R12 says the error must say why).
fn text_refused(field: &str, e: NameError) -> HttpError {
    let code = match e {
        NameError::PersonalIdentityNumber => "personal_identity_number",
        _ => "bad_request",
    };
    HttpError::new(
        StatusCode::BAD_REQUEST,
        code,
        format!("The {field} was refused: {e}."),
    )
}

//! One browser's signaling WebSocket: authenticate the first message, then relay messages to
//! and from the live meeting.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use sluss_meeting::{DisplayName, Invitee, LinkId, Role};
use sluss_protocol::InvitationRole;
use sluss_protocol::{ClientMessage, ErrorCode, ServerMessage, MAX_FRAME_BYTES};
use tracing::debug;

use crate::live::{conn_channel, JoinArgs, Queued, StaffLogin};
use crate::secret::Secret;
use crate::store::SessionUser;
use crate::{unix_now, AppState};

/// The join message must come this soon after the socket opens.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// A silent socket is closed after this long (the client pings every 20 s).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one message may take to go out before the page counts as a slow consumer.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many messages in a window of `RATE_WINDOW`.
const RATE_LIMIT: u32 = 200;
const RATE_WINDOW: Duration = Duration::from_secs(10);

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    let announce = state.announce_ip(&headers).await;
    // The staff session, if the browser has one (the cookie comes with the upgrade request),
    // and only from a page of this site: a cross-site page never borrows a staff login.
    let same_origin = match (
        headers.get(axum::http::header::ORIGIN),
        headers.get(axum::http::header::HOST),
    ) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .to_str()
            .ok()
            .and_then(|o| {
                o.strip_prefix("https://")
                    .or_else(|| o.strip_prefix("http://"))
            })
            .zip(host.to_str().ok())
            .is_some_and(|(o, h)| o.eq_ignore_ascii_case(h)),
        (Some(_), None) => false,
    };
    let cookie = crate::api::session_token(&headers).filter(|_| same_origin);
    let eid_cookie =
        crate::api::cookie(&headers, crate::api::eid::EID_COOKIE).filter(|_| same_origin);
    // R2: "logged-in staff" in a meeting is a session with the staff role, on this very
    // connection; an account that is only an auditor or administrator is not staff here.
    let staff = match cookie {
        Some(token) => {
            let hash = token.hash();
            state
                .store
                .session_user(&hash, unix_now())
                .await
                .ok()
                .flatten()
                .filter(|user| user.roles.iter().any(|r| r == "staff"))
                .map(|user| (user, hash))
        }
        None => None,
    };
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| session(socket, state, announce, staff, eid_cookie))
}

async fn session(
    socket: WebSocket,
    state: AppState,
    announce: IpAddr,
    staff: Option<(SessionUser, Vec<u8>)>,
    eid_cookie: Option<String>,
) {
    state.metrics.ws_connections.inc();
    run(socket, &state, announce, staff, eid_cookie).await;
    state.metrics.ws_connections.dec();
}

async fn run(
    socket: WebSocket,
    state: &AppState,
    announce: IpAddr,
    staff: Option<(SessionUser, Vec<u8>)>,
    eid_cookie: Option<String>,
) {
    let (mut sink, mut stream) = socket.split();
    let refuse = |code: ErrorCode, message: &str| {
        state
            .metrics
            .ws_refusals
            .with_label_values(&[code_name(code)])
            .inc();
        Message::Text(ServerMessage::error(code, message).to_json().into())
    };

    // 1. The first message must be a join with a valid link.
    let first = match tokio::time::timeout(JOIN_TIMEOUT, stream.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => ClientMessage::parse(&text),
        Ok(Some(Ok(_))) => Err(sluss_protocol::ParseError::NotJson),
        _ => return,
    };
    let arrived = Instant::now();
    let (token, name, resume) = match first {
        Ok(ClientMessage::Join {
            v,
            token,
            display_name,
            resume,
        }) => {
            if v != sluss_protocol::VERSION {
                let _ = send_within(
                    &mut sink,
                    refuse(
                        ErrorCode::UnsupportedVersion,
                        "This page is out of date; reload it.",
                    ),
                )
                .await;
                return;
            }
            match DisplayName::parse(&display_name) {
                Ok(name) => (Secret::from_wire(&token), name, resume),
                Err(e) => {
                    let code = match e {
                        sluss_meeting::NameError::PersonalIdentityNumber => {
                            ErrorCode::PersonalIdentityNumber
                        }
                        sluss_meeting::NameError::UnspacedPhoneNumber => {
                            ErrorCode::UnspacedPhoneNumber
                        }
                        _ => ErrorCode::BadRequest,
                    };
                    state
                        .metrics
                        .ws_refusals
                        .with_label_values(&[code_name(code)])
                        .inc();
                    // Fatal whatever the code: the same name would be refused again.
                    let refusal =
                        ServerMessage::join_refused(code, format!("The name was refused: {e}."));
                    let _ = send_within(&mut sink, Message::Text(refusal.to_json().into())).await;
                    return;
                }
            }
        }
        Ok(_) | Err(_) => {
            let _ = send_within(
                &mut sink,
                refuse(ErrorCode::Protocol, "The first message must be a join."),
            )
            .await;
            return;
        }
    };
    let link = match state.store.find_link(&token.hash(), unix_now()).await {
        Ok(Some(link)) if link.usable => link,
        Ok(_) => {
            let _ = send_within(
                &mut sink,
                refuse(ErrorCode::LinkInvalid, "This link is not valid."),
            )
            .await;
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "link lookup failed");
            let _ = send_within(
                &mut sink,
                refuse(ErrorCode::Internal, "Something went wrong on the server."),
            )
            .await;
            return;
        }
    };
    if link.meeting_ended {
        let _ = send_within(
            &mut sink,
            refuse(ErrorCode::MeetingEnded, "This meeting has ended."),
        )
        .await;
        return;
    }
    let (out_tx, mut out_rx) = conn_channel();
    let (role, invitee) = seat_of(link.role);
    if role == Role::Chair && staff.is_none() {
        // R2, R7: whoever chairs has logged in as staff.
        let _ = send_within(
            &mut sink,
            refuse(
                ErrorCode::LoginRequired,
                "The chair's link needs a staff login. Log in first.",
            ),
        )
        .await;
        return;
    }
    // A logged-in member of staff is known by their account's name, not what they type.
    // The login is checked again now: a logout since the socket opened counts.
    let staff = match staff {
        Some((user, hash)) => match state.store.session_user(&hash, unix_now()).await {
            Ok(Some(now)) if now.roles.iter().any(|r| r == "staff") => Some((user, hash)),
            _ => None,
        },
        None => None,
    };
    let name = match &staff {
        Some((user, _)) => DisplayName::parse(&user.display_name).unwrap_or(name),
        None => name,
    };
    let staff = staff.map(|(user, session_hash)| StaffLogin {
        user_id: user.user_id,
        session_hash,
    });
    // R5: what this browser proved with e-identification for this very invitation.
    let citizen = eid_cookie.and_then(|c| state.eid_proofs.get(&c, &link.link_id));
    let args = JoinArgs {
        staff,
        resume,
        citizen,
        require_eid: link.require_eid,
        sensitive: link.sensitive,
        link: LinkId::new(link.link_id),
        role,
        invitee,
        name,
        announce,
        conn: out_tx,
        phone: None,
    };
    let (meeting, joined) = match state.registry.join(&link.meeting_id, args).await {
        Ok(ok) => ok,
        Err(code) => {
            let message = match code {
                ErrorCode::EidRequired => {
                    "This meeting asks you to identify yourself with e-identification first."
                }
                ErrorCode::LoginRequired => "The chair's link needs a staff login. Log in first.",
                ErrorCode::KnockTooSoon => {
                    "You were not let in a moment ago. Wait a while before you knock again."
                }
                _ => "You cannot join this meeting now.",
            };
            let _ = send_within(&mut sink, refuse(code, message)).await;
            return;
        }
    };
    if !send_within(&mut sink, Message::Text(joined.message.to_json().into())).await {
        meeting.closed(joined.participant, joined.conn_id);
        return;
    }
    meeting.delivered(joined.participant.clone(), joined.conn_id);
    state
        .metrics
        .join_seconds
        .observe(arrived.elapsed().as_secs_f64());

    // 2. Relay both ways until either side closes.
    let mut shutdown = state.shutdown.clone();
    let mut window_start = Instant::now();
    let mut window_count = 0u32;
    let mut left = false;
    loop {
        tokio::select! {
            incoming = tokio::time::timeout(IDLE_TIMEOUT, stream.next()) => {
                let text = match incoming {
                    Ok(Some(Ok(Message::Text(text)))) => text,
                    Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                    Ok(Some(Ok(Message::Binary(_)))) => {
                        let _ = send_within(&mut sink, refuse(ErrorCode::Protocol, "Binary frames are not used.")).await;
                        break;
                    }
                    // Closed, broken, oversized (the socket refuses it) or idle.
                    _ => break,
                };
                if window_start.elapsed() > RATE_WINDOW {
                    window_start = Instant::now();
                    window_count = 0;
                }
                window_count += 1;
                if window_count > RATE_LIMIT {
                    let _ = send_within(&mut sink, refuse(ErrorCode::Protocol, "Too many messages.")).await;
                    break;
                }
                match ClientMessage::parse(&text) {
                    Ok(ClientMessage::Ping) => {
                        let _ = send_within(&mut sink, Message::Text(ServerMessage::Pong.to_json().into())).await;
                    }
                    Ok(ClientMessage::Join { .. }) => {
                        let _ = send_within(&mut sink, refuse(ErrorCode::BadRequest, "Already joined.")).await;
                    }
                    Ok(ClientMessage::Leave) => {
                        left = true;
                        meeting.client(joined.participant.clone(), joined.conn_id, ClientMessage::Leave);
                    }
                    Ok(message) => meeting.client(joined.participant.clone(), joined.conn_id, message),
                    Err(e) => {
                        debug!(error = %e, "message refused");
                        let _ = send_within(&mut sink, refuse(ErrorCode::BadRequest, &format!("Message refused: {e}."))).await;
                    }
                }
            }
            outbound = out_rx.recv() => match outbound {
                // The meeting had to drop a message for this page: it is not reading.
                Some(_) if out_rx.overflowed() => {
                    let message = refuse(ErrorCode::SlowConsumer, "This page fell behind; reconnect.");
                    let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(message)).await;
                    break;
                }
                Some(Queued::Text(text)) => {
                    if !send_within(&mut sink, Message::Text(text.into())).await {
                        break;
                    }
                }
                Some(Queued::Close(message)) => {
                    if let Some(text) = message {
                        let _ = send_within(&mut sink, Message::Text(text.into())).await;
                    }
                    left = true;
                    break;
                }
                None => break,
            },
            _ = shutdown.changed() => {
                let _ = send_within(&mut sink, Message::Text(ServerMessage::error(ErrorCode::Internal, "The server is restarting.").to_json().into())).await;
                break;
            }
        }
    }
    let _ = send_within(&mut sink, Message::Close(None)).await;
    if !left {
        meeting.closed(joined.participant, joined.conn_id);
    }
}

/// Sends one frame, giving up after [`SEND_TIMEOUT`]: a page that does not read cannot hold
/// its connection task (or the memory queued for it) for longer. True when it went out.
async fn send_within(sink: &mut SplitSink<WebSocket, Message>, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await,
        Ok(Ok(()))
    )
}

fn code_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Protocol => "protocol",
        ErrorCode::BadRequest => "bad_request",
        ErrorCode::LinkInvalid => "link_invalid",
        ErrorCode::MeetingEnded => "meeting_ended",
        ErrorCode::UnsupportedVersion => "unsupported_version",
        ErrorCode::MeetingFull => "meeting_full",
        ErrorCode::Negotiation => "negotiation",
        ErrorCode::Internal => "internal",
        ErrorCode::PersonalIdentityNumber => "personal_identity_number",
        ErrorCode::UnspacedPhoneNumber => "unspaced_phone_number",
        ErrorCode::NotChair => "not_chair",
        ErrorCode::NotAdmitted => "not_admitted",
        ErrorCode::RecordingForbidden => "recording_forbidden",
        ErrorCode::ChatOff => "chat_off",
        ErrorCode::LoginRequired => "login_required",
        ErrorCode::ScreenShareRefused => "screen_share_refused",
        ErrorCode::EidRequired => "eid_required",
        ErrorCode::KnockTooSoon => "knock_too_soon",
        ErrorCode::SlowConsumer => "slow_consumer",
        ErrorCode::PhoneUnavailable => "phone_unavailable",
        ErrorCode::PhoneNumberRefused => "phone_number_refused",
        ErrorCode::PhoneRefused => "phone_refused",
        ErrorCode::PhoneNotAnswered => "phone_not_answered",
        ErrorCode::PhoneEidRequired => "phone_eid_required",
    }
}

/// The invitation a participant came in with, from what it made them.
pub(crate) fn invitation_of(role: Role, invitee: Invitee) -> InvitationRole {
    match (role, invitee) {
        (Role::Chair, _) => InvitationRole::Chair,
        (_, Invitee::Patient) => InvitationRole::Patient,
        (_, Invitee::Relative) => InvitationRole::Relative,
        (_, Invitee::Staff) => InvitationRole::Staff,
        (_, Invitee::Professional) => InvitationRole::Professional,
        (_, Invitee::Other) => InvitationRole::Guest,
    }
}

/// What an invitation makes its holder in the meeting (R3).
pub(crate) fn seat_of(role: InvitationRole) -> (Role, Invitee) {
    match role {
        InvitationRole::Chair => (Role::Chair, Invitee::Staff),
        InvitationRole::Patient => (Role::Guest, Invitee::Patient),
        InvitationRole::Relative => (Role::Guest, Invitee::Relative),
        InvitationRole::Staff => (Role::Guest, Invitee::Staff),
        InvitationRole::Professional => (Role::Guest, Invitee::Professional),
        InvitationRole::Guest => (Role::Guest, Invitee::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invitation_a_participant_came_with_is_read_back_from_their_seat() {
        for role in [
            InvitationRole::Chair,
            InvitationRole::Patient,
            InvitationRole::Relative,
            InvitationRole::Staff,
            InvitationRole::Professional,
            InvitationRole::Guest,
        ] {
            let (seat, invitee) = seat_of(role);
            assert_eq!(invitation_of(seat, invitee), role);
        }
    }
}

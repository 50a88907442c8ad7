//! A seat is not a credential: a link opened again (a second tab, a forwarded link) carries
//! over nothing its own connection does not prove, staff rights come from the connection's
//! own login, and a page that stops reading cannot hold the meeting up.

mod common;

use common::{admit, join, join_on, recv, recv_type, send, start, Ws};
use serde_json::json;

/// The chair's page and a patient admitted and identified by ID shown on camera.
async fn patient_in_the_room(server: &common::Server) -> (Ws, Ws, serde_json::Value, Vec<String>) {
    let (chair_token, guests) = server.meeting(1).await;
    let (mut chair, _) = join(server, &chair_token, "Anna").await;
    let (mut patient, joined) = join(server, &guests[0], "Bertil").await;
    admit(&mut chair, &mut patient, &joined).await;
    let id = joined["participant_id"].as_str().unwrap();
    send(
        &mut chair,
        &json!({"type": "identify", "participant_id": id, "method": "id_shown_on_camera"})
            .to_string(),
    )
    .await;
    let update = recv_type(&mut chair, "participant_updated").await;
    assert_eq!(
        update["participant"]["identification"],
        "id_shown_on_camera"
    );
    (chair, patient, joined, guests)
}

/// The page answers a ping: its connection is alive.
async fn answers_ping(ws: &mut Ws) {
    send(ws, r#"{"type":"ping"}"#).await;
    recv_type(ws, "pong").await;
}

#[tokio::test]
async fn a_forwarded_link_knocks_in_the_lobby_unidentified_and_the_patient_stays() {
    let server = start().await;
    let (mut chair, mut patient, joined, guests) = patient_in_the_room(&server).await;

    // The link, forwarded to someone else's browser: no resume secret.
    let (mut other, answer) = join_on(server.ws().await, &guests[0], "Bertil", None).await;
    assert_eq!(answer["type"], "joined");
    assert_eq!(answer["admitted"], false, "in the lobby");
    assert_ne!(answer["participant_id"], joined["participant_id"]);
    assert!(answer["participants"].as_array().unwrap().is_empty());
    let knock = recv_type(&mut chair, "knock").await;
    assert_eq!(knock["participant"]["reopened"], true, "the chair is told");
    assert!(knock["participant"]["identification"].is_null());

    // The patient is still in the room, identified, and connected.
    answers_ping(&mut patient).await;

    // Denied: the newcomer is turned away, the patient stays, and the link cannot knock
    // again at once.
    let id = answer["participant_id"].as_str().unwrap();
    send(
        &mut chair,
        &json!({"type": "deny", "participant_id": id}).to_string(),
    )
    .await;
    assert_eq!(recv(&mut other).await.unwrap()["type"], "denied");
    answers_ping(&mut patient).await;
    let (_again, answer) = join_on(server.ws().await, &guests[0], "Bertil", None).await;
    assert_eq!(answer["code"], "knock_too_soon");
}

#[tokio::test]
async fn admitting_the_newcomer_closes_the_old_connection() {
    let server = start().await;
    let (mut chair, mut patient, joined, guests) = patient_in_the_room(&server).await;
    let (mut other, answer) = join_on(server.ws().await, &guests[0], "Bertil", None).await;
    admit(&mut chair, &mut other, &answer).await;
    assert_eq!(
        recv_type(&mut patient, "superseded").await["type"],
        "superseded"
    );
    let (mut left, mut arrived) = (None, None);
    while left.is_none() || arrived.is_none() {
        let m = recv(&mut chair)
            .await
            .expect("the chair's socket stays open");
        match m["type"].as_str() {
            Some("participant_left") => left = Some(m),
            Some("participant_joined") => arrived = Some(m),
            _ => {}
        }
    }
    assert_eq!(left.unwrap()["participant_id"], joined["participant_id"]);
    // The newcomer has nothing of the old seat's identification.
    assert!(arrived.unwrap()["participant"]["identification"].is_null());
}

#[tokio::test]
async fn a_spent_resume_secret_takes_nothing_back() {
    let server = start().await;
    let (mut chair, patient, joined, guests) = patient_in_the_room(&server).await;
    let first = joined["resume"].as_str().unwrap().to_owned();
    drop(patient);
    recv_type(&mut chair, "participant_updated").await;
    let (_back, answer) = join_on(server.ws().await, &guests[0], "B", Some(&first)).await;
    assert_eq!(answer["participant_id"], joined["participant_id"]);
    assert_eq!(answer["admitted"], true);
    // The same secret again (copied out of the first page): a newcomer in the lobby.
    let (_copy, answer) = join_on(server.ws().await, &guests[0], "B", Some(&first)).await;
    assert_eq!(answer["admitted"], false);
    assert_ne!(answer["participant_id"], joined["participant_id"]);
}

#[tokio::test]
async fn the_chair_cannot_record_an_e_identification_by_hand() {
    let server = start().await;
    let (mut chair, _patient, joined, _) = patient_in_the_room(&server).await;
    let id = joined["participant_id"].as_str().unwrap();
    for method in ["e_identification", "staff_login"] {
        send(
            &mut chair,
            &json!({"type": "identify", "participant_id": id, "method": method}).to_string(),
        )
        .await;
        let error = recv_type(&mut chair, "error").await;
        assert_eq!(error["code"], "bad_request", "{method}");
    }
    // Nothing changed: the next update still says ID shown on camera.
    send(
        &mut chair,
        &json!({"type": "mute", "participant_id": id}).to_string(),
    )
    .await;
    let update = recv_type(&mut chair, "participant_updated").await;
    assert_eq!(
        update["participant"]["identification"],
        "id_shown_on_camera"
    );
}

#[tokio::test]
async fn only_a_session_with_the_staff_role_is_staff_in_a_meeting() {
    let server = start().await;
    let (chair_token, _) = server.meeting(0).await;
    for roles in [&["auditor"][..], &["admin"][..]] {
        let cookie = server.session_with_roles(roles[0], roles).await;
        let ws = server.ws_with_cookie(&cookie).await;
        let (_ws, answer) = join_on(ws, &chair_token, "X", None).await;
        assert_eq!(answer["code"], "login_required", "{roles:?}");
    }
}

#[tokio::test]
async fn logging_out_takes_the_chair_and_staff_rights_at_once() {
    let server = start().await;
    let (chair_token, guests) = server.meeting(1).await;
    let cookie = server.session_with_roles("karin", &["staff"]).await;
    let (mut chair, _) = join_on(
        server.ws_with_cookie(&cookie).await,
        &chair_token,
        "K",
        None,
    )
    .await;
    let (mut guest, joined) = join(&server, &guests[0], "Bertil").await;
    admit(&mut chair, &mut guest, &joined).await;
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let error = recv_type(&mut chair, "error").await;
    assert_eq!(error["code"], "login_required");
    assert!(
        recv(&mut chair).await.is_none(),
        "the chair's page is closed"
    );
    let state = recv_type(&mut guest, "meeting_state_changed").await;
    assert!(state["meeting"]["chair_id"].is_null(), "nobody chairs now");
}

#[tokio::test]
async fn a_burst_reaches_every_page_that_reads_and_nobody_is_let_go_as_slow() {
    let server = start().await;
    let (chair_token, guests) = server.meeting(2).await;
    let (mut chair, _) = join(&server, &chair_token, "Anna").await;
    let (mut busy, joined) = join(&server, &guests[0], "Bertil").await;
    admit(&mut chair, &mut busy, &joined).await;
    let (mut other, other_joined) = join(&server, &guests[1], "Cecilia").await;
    admit(&mut chair, &mut other, &other_joined).await;
    send(&mut chair, r#"{"type":"set_chat","enabled":true}"#).await;
    // 150 messages of a kilobyte at once, far more than a page reads in the same instant.
    let text = "a".repeat(1000);
    for _ in 0..150 {
        send(
            &mut busy,
            &json!({"type": "chat", "text": text}).to_string(),
        )
        .await;
    }
    for page in [&mut chair, &mut other] {
        let mut chats = 0;
        while chats < 150 {
            let m = recv(page).await.expect("the page stays connected");
            assert_ne!(m["code"], "slow_consumer");
            if m["type"] == "chat" {
                chats += 1;
            }
        }
        answers_ping(page).await;
    }
}

#[tokio::test]
async fn a_link_that_keeps_knocking_leaves_counts_in_the_trail_not_a_row_each() {
    let server = start().await;
    let (chair_token, guests) = server.meeting(1).await;
    let (mut chair, _) = join(&server, &chair_token, "Anna").await;
    // Nine arrivals: below the ten in ten minutes after which the link is held back.
    let knocks = 9;
    for _ in 0..knocks {
        let (mut ws, joined) = join(&server, &guests[0], "Bertil").await;
        assert_eq!(joined["admitted"], false);
        send(&mut ws, r#"{"type":"leave"}"#).await;
        while recv(&mut ws).await.is_some() {}
        recv_type(&mut chair, "participant_left").await;
    }
    // Refused chat messages are counted too, without their text.
    send(&mut chair, r#"{"type":"chat","text":"hej"}"#).await; // chat is off
    send(&mut chair, r#"{"type":"chat","text":"hej igen"}"#).await;
    recv_type(&mut chair, "error").await;
    recv_type(&mut chair, "error").await;
    server.state.audit_tally.flush().await.unwrap();
    let entries = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap();
    let rows = |event: &str| {
        entries
            .iter()
            .filter(|e| e.event == event)
            .collect::<Vec<_>>()
    };
    let count = |event: &str| -> u64 {
        rows(event)
            .iter()
            .map(|e| e.details["count"].as_u64().unwrap_or(1))
            .sum()
    };
    assert_eq!(count("knocked"), knocks, "every knock is in the trail");
    assert!(
        rows("knocked").len() <= 4,
        "{} knock rows",
        rows("knocked").len()
    );
    assert!(
        rows("left").len() <= 4,
        "{} rows for leaving the lobby",
        rows("left").len()
    );
    assert_eq!(count("chat_refused"), 2);
    assert_eq!(rows("chat_refused").len(), 1);
    assert!(!format!("{:?}", rows("chat_refused")).contains("hej"));
    assert!(matches!(
        server.store.verify_audit_chain().await.unwrap(),
        sluss_signaling::store::ChainCheck::Intact { .. }
    ));
}

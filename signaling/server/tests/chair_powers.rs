//! R4, R7, R8 on the server: only the chair admits, denies, removes, mutes, locks, identifies,
//! records consent and ends; a guest's connection asking for any of it is refused; the end
//! disconnects everyone and kills every link.

mod common;

use common::{admit, join, recv, recv_type, send, start};

#[tokio::test]
async fn a_guest_cannot_act_as_chair_and_the_lobby_gets_no_media() {
    let server = start().await;
    let (chair, guests) = server.meeting(2).await;
    let (mut a, joined_a) = join(&server, &chair, "Anna").await;
    let (mut b, joined_b) = join(&server, &guests[0], "Bertil").await;
    let (mut c, joined_c) = join(&server, &guests[1], "Cecilia").await;
    // c, still in the lobby, tries to start media and to let itself in.
    send(&mut c, r#"{"type":"offer","sdp":"v=0"}"#).await;
    assert_eq!(recv_type(&mut c, "error").await["code"], "not_admitted");
    let c_id = joined_c["participant_id"].as_str().unwrap();
    send(
        &mut c,
        &serde_json::json!({"type":"admit","participant_id":c_id}).to_string(),
    )
    .await;
    assert_eq!(recv_type(&mut c, "error").await["code"], "not_chair");

    admit(&mut a, &mut b, &joined_b).await;
    // b, admitted but not chair, tries every chair action.
    let a_id = joined_a["participant_id"].as_str().unwrap();
    for action in [
        serde_json::json!({"type":"admit","participant_id":c_id}),
        serde_json::json!({"type":"deny","participant_id":c_id}),
        serde_json::json!({"type":"remove","participant_id":a_id}),
        serde_json::json!({"type":"mute","participant_id":a_id}),
        serde_json::json!({"type":"lock","locked":true}),
        serde_json::json!({"type":"identify","participant_id":c_id,"method":"known_from_before"}),
        serde_json::json!({"type":"record_consent"}),
        serde_json::json!({"type":"end_meeting"}),
    ] {
        send(&mut b, &action.to_string()).await;
        assert_eq!(
            recv_type(&mut b, "error").await["code"],
            "not_chair",
            "{action}"
        );
    }
    // Nothing happened: c still waits, and the meeting goes on.
    send(
        &mut a,
        &serde_json::json!({"type":"admit","participant_id":c_id}).to_string(),
    )
    .await;
    recv_type(&mut c, "admitted").await;
}

#[tokio::test]
async fn the_chair_denies_removes_mutes_and_identifies() {
    let server = start().await;
    let (chair, guests) = server.meeting(3).await;
    let (mut a, _) = join(&server, &chair, "Anna").await;
    let (mut b, joined_b) = join(&server, &guests[0], "Bertil").await;
    admit(&mut a, &mut b, &joined_b).await;
    recv_type(&mut a, "participant_joined").await;
    let b_id = joined_b["participant_id"].as_str().unwrap().to_owned();

    // Deny a knocker: it is told, and its socket closes.
    let (mut d, joined_d) = join(&server, &guests[1], "Dan").await;
    let knock = recv_type(&mut a, "knock").await;
    assert_eq!(knock["participant"]["display_name"], "Dan");
    let d_id = joined_d["participant_id"].as_str().unwrap();
    send(
        &mut a,
        &serde_json::json!({"type":"deny","participant_id":d_id}).to_string(),
    )
    .await;
    assert_eq!(recv(&mut d).await.unwrap()["type"], "denied");
    assert!(recv(&mut d).await.is_none());

    // Identify b: the room sees it on b's tile.
    send(
        &mut a,
        &serde_json::json!({"type":"identify","participant_id":b_id,"method":"id_shown_on_camera"})
            .to_string(),
    )
    .await;
    let update = recv_type(&mut a, "participant_updated").await;
    assert_eq!(
        update["participant"]["identification"],
        "id_shown_on_camera"
    );

    // Mute b: b's page is asked to mute.
    send(
        &mut a,
        &serde_json::json!({"type":"mute","participant_id":b_id}).to_string(),
    )
    .await;
    recv_type(&mut b, "mute_requested").await;

    // Consent and lock reach the room.
    send(&mut a, r#"{"type":"record_consent"}"#).await;
    let state = recv_type(&mut b, "meeting_state_changed").await;
    assert_eq!(state["meeting"]["consent_recorded"], true);

    // Remove b.
    send(
        &mut a,
        &serde_json::json!({"type":"remove","participant_id":b_id}).to_string(),
    )
    .await;
    assert_eq!(recv_type(&mut b, "removed").await["type"], "removed");
    assert_eq!(
        recv_type(&mut a, "participant_left").await["participant_id"],
        b_id.as_str()
    );
}

#[tokio::test]
async fn ending_the_meeting_disconnects_everyone_and_kills_every_link() {
    let server = start().await;
    let (chair, guests) = server.meeting(2).await;
    let (mut a, _) = join(&server, &chair, "Anna").await;
    let (mut b, joined_b) = join(&server, &guests[0], "Bertil").await;
    admit(&mut a, &mut b, &joined_b).await;
    let (mut c, _) = join(&server, &guests[1], "Cecilia").await; // waits in the lobby
    recv_type(&mut a, "knock").await;

    send(&mut a, r#"{"type":"end_meeting"}"#).await;
    for ws in [&mut a, &mut b, &mut c] {
        recv_type(ws, "meeting_ended").await;
        assert!(recv(ws).await.is_none(), "the socket closes");
    }
    // Every link is dead now, the chair's too.
    for token in [&chair, &guests[0], &guests[1]] {
        let mut ws = server.ws().await;
        send(
            &mut ws,
            &serde_json::json!({"type":"join","v":1,"token":token,"display_name":"X"}).to_string(),
        )
        .await;
        assert_eq!(recv(&mut ws).await.unwrap()["code"], "meeting_ended");
        let info: serde_json::Value = reqwest::Client::new()
            .post(server.url("/api/v1/links/inspect"))
            .json(&serde_json::json!({ "token": token }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["meeting"], "ended");
    }
}

#[tokio::test]
async fn the_chair_needs_a_staff_login_and_can_hand_over_to_logged_in_staff() {
    let server = start().await;
    let (chair, guests) = server.meeting(1).await;
    // Without a staff session, the chair's link is refused.
    let mut anonymous = server.ws().await;
    send(
        &mut anonymous,
        &serde_json::json!({"type":"join","v":1,"token":chair,"display_name":"Eve"}).to_string(),
    )
    .await;
    assert_eq!(
        recv(&mut anonymous).await.unwrap()["code"],
        "login_required"
    );

    let (mut a, joined_a) = join(&server, &chair, "typed name").await;
    assert_eq!(joined_a["role"], "chair");
    // A logged-in member of staff on a staff invitation enters directly, identified by login.
    let staff_link = sluss_signaling::secret::Secret::generate();
    let meeting_id = server
        .store
        .find_link(
            &sluss_signaling::secret::Secret::from_wire(&chair).hash(),
            0,
        )
        .await
        .unwrap()
        .unwrap()
        .meeting_id;
    server
        .store
        .add_link(
            &meeting_id,
            &sluss_signaling::store::NewLink {
                id: "l_staff".into(),
                token_hash: staff_link.hash(),
                role: sluss_protocol::InvitationRole::Staff,
                expires_at: None,
            },
            0,
        )
        .await
        .unwrap();
    let mut s = server.ws_as_staff().await;
    send(
        &mut s,
        &serde_json::json!({"type":"join","v":1,"token":staff_link.expose(),"display_name":"x"})
            .to_string(),
    )
    .await;
    let joined_s = recv_type(&mut s, "joined").await;
    assert_eq!(joined_s["admitted"], true, "logged-in staff enter directly");
    let arrived = recv_type(&mut a, "participant_joined").await;
    assert_eq!(arrived["participant"]["identification"], "staff_login");
    assert_eq!(
        arrived["participant"]["display_name"], "Anna",
        "the account's name, not the typed one"
    );
    assert_eq!(arrived["participant"]["staff"], true);

    // Hand-over goes to logged-in staff only.
    let (mut b, joined_b) = join(&server, &guests[0], "Bertil").await;
    admit(&mut a, &mut b, &joined_b).await;
    let b_id = joined_b["participant_id"].as_str().unwrap();
    send(
        &mut a,
        &serde_json::json!({"type":"hand_over","participant_id":b_id}).to_string(),
    )
    .await;
    assert_eq!(recv_type(&mut a, "error").await["code"], "not_chair");
    let s_id = joined_s["participant_id"].as_str().unwrap();
    send(
        &mut a,
        &serde_json::json!({"type":"hand_over","participant_id":s_id}).to_string(),
    )
    .await;
    let state = recv_type(&mut s, "meeting_state_changed").await;
    assert_eq!(state["meeting"]["chair_id"], s_id);
    send(&mut a, r#"{"type":"end_meeting"}"#).await;
    assert_eq!(
        recv_type(&mut a, "error").await["code"],
        "not_chair",
        "the former chair has no powers"
    );
}

#[tokio::test]
async fn a_cross_site_page_cannot_borrow_a_staff_login() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = start().await;
    let (chair, _) = server.meeting(0).await;
    let mut request = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", server.staff_cookie().await.parse().unwrap());
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(
        &mut ws,
        &serde_json::json!({"type":"join","v":1,"token":chair,"display_name":"Eve"}).to_string(),
    )
    .await;
    assert_eq!(recv(&mut ws).await.unwrap()["code"], "login_required");
}

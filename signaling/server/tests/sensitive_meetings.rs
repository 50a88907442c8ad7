//! R9 and R10 on the server: a sensitive meeting cannot be recorded or transcribed whatever a
//! client sends; chat is off until the chair turns it on, is never stored, and reaches only
//! those in the room when it is sent.

mod common;

use common::{admit, join, recv_type, send, start};

#[tokio::test]
async fn recording_and_transcription_are_refused_whoever_asks() {
    let server = start().await;
    let (chair, guests) = server.meeting(1).await;
    let (mut a, _) = join(&server, &chair, "Anna").await;
    let (mut b, joined_b) = join(&server, &guests[0], "Bertil").await;
    admit(&mut a, &mut b, &joined_b).await;
    for ws in [&mut a, &mut b] {
        for kind in ["start_recording", "start_transcription"] {
            send(ws, &format!(r#"{{"type":"{kind}"}}"#)).await;
            let error = recv_type(ws, "error").await;
            assert_eq!(error["code"], "recording_forbidden");
            assert!(error["message"].as_str().unwrap().contains("sensitive"));
        }
    }
    // The meeting goes on, and the attempts are in the audit trail.
    send(&mut b, r#"{"type":"ping"}"#).await;
    recv_type(&mut b, "pong").await;
    // Repeated attempts are counted (a flood cannot fill the trail): one entry per person and
    // kind here, each with its count.
    server.state.audit_tally.flush().await.unwrap();
    let refused = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap();
    let refused: Vec<_> = refused
        .iter()
        .filter(|e| e.event == "recording_refused")
        .collect();
    assert_eq!(refused.len(), 4);
    assert!(refused.iter().all(|e| e.details["count"] == 1));
}

#[tokio::test]
async fn chat_is_off_until_the_chair_allows_it_and_reaches_only_those_present() {
    let server = start().await;
    let (chair, guests) = server.meeting(3).await;
    let (mut a, _) = join(&server, &chair, "Anna").await;
    let (mut b, joined_b) = join(&server, &guests[0], "Bertil").await;
    admit(&mut a, &mut b, &joined_b).await;
    let (mut c, joined_c) = join(&server, &guests[1], "Cecilia").await;
    admit(&mut a, &mut c, &joined_c).await;
    let (mut lobby, _) = join(&server, &guests[2], "Dan").await; // stays in the lobby

    send(&mut b, r#"{"type":"chat","text":"Hej"}"#).await;
    assert_eq!(recv_type(&mut b, "error").await["code"], "chat_off");
    send(&mut b, r#"{"type":"set_chat","enabled":true}"#).await;
    assert_eq!(recv_type(&mut b, "error").await["code"], "not_chair");
    send(&mut a, r#"{"type":"set_chat","enabled":true}"#).await;
    assert_eq!(
        recv_type(&mut b, "meeting_state_changed").await["meeting"]["chat_enabled"],
        true
    );

    let secret = "Mötet-hemlighet-4711";
    send(
        &mut b,
        &serde_json::json!({"type":"chat","text":secret}).to_string(),
    )
    .await;
    for ws in [&mut a, &mut b, &mut c] {
        let m = recv_type(ws, "chat").await;
        assert_eq!(m["text"], secret);
        assert_eq!(m["display_name"], "Bertil");
    }
    send(&mut lobby, r#"{"type":"chat","text":"släpp in mig"}"#).await;
    assert_eq!(recv_type(&mut lobby, "error").await["code"], "not_admitted");

    // c leaves; what is said afterwards never reaches c, even when c comes back and asks.
    send(&mut c, r#"{"type":"leave"}"#).await;
    recv_type(&mut a, "participant_left").await;
    send(&mut b, r#"{"type":"chat","text":"efter att Cecilia gick"}"#).await;
    recv_type(&mut a, "chat").await;
    let (mut c, joined_c) = join(&server, &guests[1], "Cecilia").await;
    let admitted = admit(&mut a, &mut c, &joined_c).await;
    assert!(
        !admitted.to_string().contains("efter att"),
        "no history in the admission"
    );
    send(&mut c, r#"{"type":"chat_history"}"#).await;
    assert_eq!(
        recv_type(&mut c, "error").await["code"],
        "bad_request",
        "there is no history to ask for"
    );
    // c only sees what is sent from now on.
    send(&mut a, r#"{"type":"chat","text":"välkommen tillbaka"}"#).await;
    assert_eq!(
        recv_type(&mut c, "chat").await["text"],
        "välkommen tillbaka"
    );

    // R12 applies to chat too.
    send(
        &mut b,
        r#"{"type":"chat","text":"mitt pnr är 19811218-9876"}"#,
    )
    .await;
    assert_eq!(
        recv_type(&mut b, "error").await["code"],
        "personal_identity_number"
    );

    // Never stored: the text is in no database file.
    for entry in std::fs::read_dir(server.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a chat message was written to disk"
        );
    }
}

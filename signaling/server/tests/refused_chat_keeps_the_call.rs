//! R12 in chat: a message with a personnummer, however it is typed, is refused with a clear,
//! non-fatal error; it reaches nobody, and the sender stays in the call and can chat on.

mod common;

use common::{admit, join, recv, recv_type, send, start, Ws};

async fn chat(ws: &mut Ws, text: &str) {
    send(
        ws,
        &serde_json::json!({"type": "chat", "text": text}).to_string(),
    )
    .await;
}

/// A meeting with chat on: the chair `a` and the admitted guest `b`.
async fn room_with_chat(server: &common::Server) -> (Ws, Ws) {
    let (chair, guests) = server.meeting(1).await;
    let (mut a, _) = join(server, &chair, "Anna").await;
    let (mut b, joined_b) = join(server, &guests[0], "Bertil").await;
    admit(&mut a, &mut b, &joined_b).await;
    send(&mut a, r#"{"type":"set_chat","enabled":true}"#).await;
    let state = recv_type(&mut b, "meeting_state_changed").await;
    assert_eq!(state["meeting"]["chat_enabled"], true);
    (a, b)
}

#[tokio::test]
async fn a_personnummer_typed_with_an_en_dash_is_refused_and_the_sender_chats_on() {
    let server = start().await;
    let (mut a, mut b) = room_with_chat(&server).await;

    chat(&mut b, "mitt pnr är 811218\u{2013}9876").await;
    let error = recv_type(&mut b, "error").await;
    assert_eq!(error["code"], "personal_identity_number");
    assert_eq!(error["fatal"], false, "the page must keep the call");

    // The socket is still open and the call goes on: the next message reaches both, and it
    // is the first chat the chair sees (the refused one reached nobody).
    chat(&mut b, "förlåt, fel ruta").await;
    assert_eq!(recv_type(&mut a, "chat").await["text"], "förlåt, fel ruta");
    assert_eq!(recv_type(&mut b, "chat").await["text"], "förlåt, fel ruta");
    send(&mut b, r#"{"type":"ping"}"#).await;
    assert_eq!(recv(&mut b).await.expect("still open")["type"], "pong");
}

#[tokio::test]
async fn an_unspaced_mobile_number_is_refused_with_how_to_write_it_and_that_way_goes_through() {
    let server = start().await;
    let (mut a, mut b) = room_with_chat(&server).await;

    chat(&mut b, "ring mig på 0701151235").await;
    let error = recv_type(&mut b, "error").await;
    assert_eq!(error["code"], "unspaced_phone_number");
    assert_eq!(error["fatal"], false);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(sluss_meeting::PHONE_NUMBER_EXAMPLE),
        "{message}"
    );

    // Written the way the refusal says, it goes through.
    let spaced = format!("ring mig på {}", sluss_meeting::PHONE_NUMBER_EXAMPLE);
    chat(&mut b, &spaced).await;
    assert_eq!(recv_type(&mut a, "chat").await["text"], spaced.as_str());
}

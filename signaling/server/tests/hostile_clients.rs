//! Forged, malformed and oversized input on the signaling WebSocket and the REST API is refused
//! with a clear error, and the meeting goes on for the others.

mod common;

use common::{admit, join, recv, recv_type, send, start};
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn unknown_forged_and_malformed_join_attempts_are_refused() {
    let server = start().await;
    let (chair, _) = server.meeting(0).await;
    let cases = [
        (
            r#"{"type":"join","v":1,"token":"not-a-real-token","display_name":"Eve"}"#.to_string(),
            "link_invalid",
        ),
        (
            format!(r#"{{"type":"join","v":2,"token":"{chair}","display_name":"Eve"}}"#),
            "unsupported_version",
        ),
        (
            format!(r#"{{"type":"join","v":1,"token":"{chair}","display_name":"a\u0000b"}}"#),
            "bad_request",
        ),
        (
            format!(r#"{{"type":"join","v":1,"token":"{chair}","display_name":"   "}}"#),
            "bad_request",
        ),
        (
            format!(
                r#"{{"type":"join","v":1,"token":"{chair}","display_name":"Eve 19811218-9876"}}"#
            ),
            "personal_identity_number",
        ),
        (r#"{"type":"offer","sdp":"v=0"}"#.to_string(), "protocol"),
        ("this is not json".to_string(), "protocol"),
        (r#"{"type":"record"}"#.to_string(), "protocol"),
        (
            format!(
                r#"{{"type":"join","v":1,"token":"{}","display_name":"Eve"}}"#,
                "x".repeat(500)
            ),
            "protocol",
        ),
    ];
    for (text, code) in cases {
        let mut ws = server.ws().await;
        send(&mut ws, &text).await;
        let reply = recv(&mut ws).await.expect("an error before closing");
        assert_eq!(reply["type"], "error", "{text}");
        assert_eq!(reply["code"], code, "{text}");
        assert_eq!(reply["fatal"], true, "a refused join ends it: {text}");
        assert!(
            recv(&mut ws).await.is_none(),
            "the socket is closed after a refused join"
        );
    }
    // A binary first frame and an oversized frame close the socket too.
    let mut ws = server.ws().await;
    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(recv(&mut ws).await.unwrap()["code"], "protocol");
    let mut ws = server.ws().await;
    let oversized = "x".repeat(sluss_protocol::MAX_FRAME_BYTES + 1024);
    let _ = ws.send(Message::Text(oversized.into())).await;
    assert!(recv(&mut ws).await.is_none());
    // And the real chair can still join.
    let (_ws, joined) = join(&server, &chair, "Anna").await;
    assert_eq!(joined["role"], "chair");
}

#[tokio::test]
async fn garbage_after_joining_is_answered_and_the_connection_survives() {
    let server = start().await;
    let (chair, guests) = server.meeting(1).await;
    let (mut a, _) = join(&server, &chair, "Anna").await;
    let (mut b, joined_b) = join(&server, &guests[0], "Bertil").await;
    admit(&mut a, &mut b, &joined_b).await;
    recv_type(&mut a, "participant_joined").await;

    for text in [
        "nonsense",
        "{}",
        r#"{"type":"join","v":1,"token":"x","display_name":"y"}"#,
        r#"{"type":"media_state","audio_muted":"yes"}"#,
    ] {
        send(&mut b, text).await;
        let reply = recv_type(&mut b, "error").await;
        assert_eq!(reply["code"], "bad_request", "{text}");
    }
    // An offer that is no SDP is refused without harm.
    send(
        &mut b,
        r#"{"type":"offer","sdp":"v=0\r\nthis is not sdp\r\n"}"#,
    )
    .await;
    assert_eq!(recv_type(&mut b, "error").await["code"], "negotiation");
    // An answer with no offer outstanding, and a broken candidate, likewise.
    send(&mut b, r#"{"type":"answer","sdp":"v=0"}"#).await;
    send(
        &mut b,
        r#"{"type":"candidate","candidate":"candidate:garbage"}"#,
    )
    .await;
    send(&mut b, r#"{"type":"ping"}"#).await;
    recv_type(&mut b, "pong").await;
    // Everyone is still there: a mute from b reaches a.
    send(
        &mut b,
        r#"{"type":"media_state","audio_muted":true,"video_muted":false}"#,
    )
    .await;
    let update = recv_type(&mut a, "participant_updated").await;
    assert_eq!(update["participant"]["audio_muted"], true);
}

#[tokio::test]
async fn a_flood_of_messages_closes_only_that_connection() {
    let server = start().await;
    let (chair, guests) = server.meeting(1).await;
    let (mut a, _) = join(&server, &chair, "Anna").await;
    let (mut b, joined_b) = join(&server, &guests[0], "Bertil").await;
    admit(&mut a, &mut b, &joined_b).await;
    recv_type(&mut a, "participant_joined").await;
    for _ in 0..300 {
        if b.send(Message::Text(r#"{"type":"ping"}"#.into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut closed = false;
    for _ in 0..400 {
        match recv(&mut b).await {
            None => {
                closed = true;
                break;
            }
            Some(m) if m["type"] == "error" => assert_eq!(m["code"], "protocol"),
            Some(_) => {}
        }
    }
    assert!(closed, "the flooding connection is closed");
    // a is told b is reconnecting, and can still talk to the server.
    let update = recv_type(&mut a, "participant_updated").await;
    assert_eq!(update["participant"]["connection"], "reconnecting");
    send(&mut a, r#"{"type":"ping"}"#).await;
    recv_type(&mut a, "pong").await;
}

#[tokio::test]
async fn the_rest_api_refuses_bad_input_in_its_error_shape() {
    let server = start().await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: String, content_type: &str| {
        http.post(server.url(path))
            .header("content-type", content_type.to_owned())
            .body(body)
            .send()
    };
    let cases = [
        (
            "/api/v1/links/inspect",
            "{not json".to_string(),
            "application/json",
            400,
            "bad_request",
        ),
        (
            "/api/v1/links/inspect",
            r#"{"token":"nope"}"#.to_string(),
            "application/json",
            404,
            "link_invalid",
        ),
        (
            "/api/v1/links/inspect",
            r#"{"token":"x","extra":1}"#.to_string(),
            "application/json",
            400,
            "bad_request",
        ),
        (
            "/api/v1/links/inspect",
            r#"{"token":"x"}"#.to_string(),
            "text/plain",
            415,
            "bad_request",
        ),
        (
            "/api/v1/links/inspect",
            format!(r#"{{"token":"{}"}}"#, "x".repeat(20_000)),
            "application/json",
            413,
            "payload_too_large",
        ),
        (
            "/api/v1/enroll/begin",
            r#"{"token":"guess"}"#.to_string(),
            "application/json",
            401,
            "link_invalid",
        ),
        (
            "/api/v1/meetings",
            r#"{"title":"x","guests":1}"#.to_string(),
            "application/json",
            401,
            "unauthorized",
        ),
    ];
    for (path, body, ct, status, code) in cases {
        let resp = post(path, body, ct).await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{path}");
        let json: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(json["error"]["code"], code, "{path}");
        assert!(json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    let resp = http
        .get(server.url("/api/v1/login/methods"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "still up");
    let resp = http.get(server.ops_url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "and ready");
}

#[tokio::test]
async fn an_expired_link_is_refused_on_the_socket_and_the_api() {
    let server = start().await;
    let expired = server.expired_link().await;
    let mut ws = server.ws().await;
    send(
        &mut ws,
        &serde_json::json!({"type":"join","v":1,"token":expired,"display_name":"Bertil"})
            .to_string(),
    )
    .await;
    assert_eq!(recv(&mut ws).await.unwrap()["code"], "link_invalid");
    let resp = reqwest::Client::new()
        .post(server.url("/api/v1/links/inspect"))
        .json(&serde_json::json!({ "token": expired }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

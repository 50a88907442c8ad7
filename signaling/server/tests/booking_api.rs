//! R3, R13, R16: a booking system with a scoped API token creates and cancels meetings and
//! makes and revokes personal invitations, whose text and calendar file stay neutral.

mod common;

use common::{admit, join, recv, recv_type, send, start, start_with_webhooks, Server};
use sluss_signaling::secret::Secret;

async fn token(server: &Server, scopes: &[&str]) -> String {
    let secret = Secret::generate();
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    server
        .store
        .create_api_token(
            &sluss_signaling::secret::random_id("t_"),
            "booking",
            &secret.hash(),
            &scopes,
            0,
        )
        .await
        .unwrap();
    secret.expose().to_owned()
}

async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new().request(method, server.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let json = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, json)
}

fn token_of(link: &serde_json::Value) -> String {
    link.as_str()
        .unwrap()
        .rsplit_once('#')
        .unwrap()
        .1
        .to_owned()
}

#[tokio::test]
async fn a_booking_system_creates_a_meeting_with_neutral_invitations() {
    let server = start().await;
    let t = token(&server, &["meetings:write", "invitations:write"]).await;
    let title = "Uppföljning diabetes";
    let (status, created) = call(
        &server,
        reqwest::Method::POST,
        "/api/v1/meetings",
        Some(&t),
        Some(serde_json::json!({
            "title": title,
            "starts_at": 1_800_000_000,
            "duration_minutes": 45,
            "invitations": [{"role": "patient"}, {"role": "relative"}, {"role": "professional"}]
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let invitations = created["invitations"].as_array().unwrap();
    assert_eq!(invitations.len(), 3);
    assert_eq!(invitations[1]["role"], "relative");
    for inv in invitations {
        let text = inv["text"].as_str().unwrap();
        let ics = inv["ics"].as_str().unwrap();
        let link = inv["link"].as_str().unwrap();
        assert_eq!(
            text,
            format!("Klicka för att delta i ditt bokade vårdmöte.\n{link}\n")
        );
        for neutral in [text, ics] {
            assert!(
                !neutral.contains("diabetes") && !neutral.contains("Uppföljning"),
                "R13: no title"
            );
        }
        assert!(ics.contains("SUMMARY:Vårdmöte") && ics.contains("DTSTART:20270115T080000Z"));
    }
    // The links work, with their roles.
    let (_a, joined) = join(&server, &token_of(&invitations[0]["link"]), "Petra").await;
    assert_eq!(joined["admitted"], false);
}

#[tokio::test]
async fn tokens_and_scopes_are_enforced() {
    let server = start().await;
    let body = serde_json::json!({"title": "Möte", "guests": 1});
    let post = reqwest::Method::POST;
    let (status, json) = call(
        &server,
        post.clone(),
        "/api/v1/meetings",
        None,
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, _) = call(
        &server,
        post.clone(),
        "/api/v1/meetings",
        Some("forged-token"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 401);
    let invitations_only = token(&server, &["invitations:write"]).await;
    let (status, json) = call(
        &server,
        post.clone(),
        "/api/v1/meetings",
        Some(&invitations_only),
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let meetings_only = token(&server, &["meetings:write"]).await;
    let (status, created) = call(
        &server,
        post.clone(),
        "/api/v1/meetings",
        Some(&meetings_only),
        Some(body),
    )
    .await;
    assert_eq!(status, 201);
    let path = format!(
        "/api/v1/meetings/{}/invitations",
        created["meeting_id"].as_str().unwrap()
    );
    let (status, _) = call(
        &server,
        post,
        &path,
        Some(&meetings_only),
        Some(serde_json::json!({"role": "patient"})),
    )
    .await;
    assert_eq!(status, 403, "a meetings-only token cannot invite");
}

#[tokio::test]
async fn bad_input_is_refused_with_a_reason() {
    let server = start().await;
    let t = token(&server, &["meetings:write", "invitations:write"]).await;
    let post = reqwest::Method::POST;
    let cases = [
        (
            serde_json::json!({"title": "Möte för 19811218-9876"}),
            "personal_identity_number",
        ),
        (
            serde_json::json!({"title": "Möte", "invitations": [{"role": "surgeon"}]}),
            "bad_request",
        ),
        (
            serde_json::json!({"title": "Möte", "invitations": [{"role": "chair"}]}),
            "bad_request",
        ),
        (
            serde_json::json!({"title": "Möte", "invitations": [{"role": "patient", "expires_at": 5}]}),
            "out_of_range",
        ),
        (
            serde_json::json!({"title": "Möte", "guests": 101}),
            "out_of_range",
        ),
        (
            serde_json::json!({"title": "Möte", "duration_minutes": 0}),
            "out_of_range",
        ),
        (serde_json::json!({"title": ""}), "bad_request"),
        (
            serde_json::json!({"title": "Möte", "owner": "x"}),
            "bad_request",
        ),
    ];
    for (body, code) in cases {
        let (status, json) = call(
            &server,
            post.clone(),
            "/api/v1/meetings",
            Some(&t),
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (status, json["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    let (status, _) = call(
        &server,
        post,
        "/api/v1/meetings/m_nope/invitations",
        Some(&t),
        Some(serde_json::json!({"role": "patient"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/api/v1/meetings/{}", "x".repeat(5000)),
        Some(&t),
        None,
    )
    .await;
    assert!(status == 400 || status == 414, "{status}");
}

#[tokio::test]
async fn revoking_puts_the_holder_out_and_cancelling_ends_the_meeting() {
    let server = start().await;
    let t = token(&server, &["meetings:write", "invitations:write"]).await;
    let (_, created) = call(
        &server,
        reqwest::Method::POST,
        "/api/v1/meetings",
        Some(&t),
        Some(serde_json::json!({"title": "Möte", "invitations": [{"role": "relative"}]})),
    )
    .await;
    let meeting = created["meeting_id"].as_str().unwrap().to_owned();
    let chair_token = token_of(&created["chair_link"]);
    server.mark_chair(&chair_token);
    let (mut chair, _) = join(&server, &chair_token, "Anna").await;
    let (status, added) = call(
        &server,
        reqwest::Method::POST,
        &format!("/api/v1/meetings/{meeting}/invitations"),
        Some(&t),
        Some(serde_json::json!({"role": "patient"})),
    )
    .await;
    assert_eq!(status, 201);
    let patient = token_of(&added["link"]);
    let (mut p, _) = join(&server, &patient, "Petra").await;
    recv_type(&mut chair, "knock").await;

    // Revoked while waiting: put out at once, and the link is dead.
    let path = format!(
        "/api/v1/meetings/{meeting}/invitations/{}",
        added["invitation_id"].as_str().unwrap()
    );
    let (status, _) = call(&server, reqwest::Method::DELETE, &path, Some(&t), None).await;
    assert_eq!(status, 204);
    assert_eq!(recv_type(&mut p, "removed").await["type"], "removed");
    let mut again = server.ws().await;
    common::send(
        &mut again,
        &serde_json::json!({"type":"join","v":1,"token":patient,"display_name":"Petra"})
            .to_string(),
    )
    .await;
    assert_eq!(recv(&mut again).await.unwrap()["code"], "link_invalid");
    let (status, _) = call(&server, reqwest::Method::DELETE, &path, Some(&t), None).await;
    assert_eq!(status, 404, "revoking twice");

    // Cancelled: the chair is disconnected and every link is dead.
    let (status, _) = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/api/v1/meetings/{meeting}"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(status, 204);
    recv_type(&mut chair, "meeting_ended").await;
    let (_, info) = call(
        &server,
        reqwest::Method::POST,
        "/api/v1/links/inspect",
        None,
        Some(serde_json::json!({"token": token_of(&created["invitations"][0]["link"])})),
    )
    .await;
    assert_eq!(info["meeting"], "ended");
    let trail = server
        .store
        .audit_entries(Some(&meeting), None, None, None)
        .await
        .unwrap();
    for event in [
        "meeting_created",
        "invited",
        "invitation_revoked",
        "put_out_by_revocation",
        "meeting_cancelled",
    ] {
        assert!(
            trail.iter().any(|e| e.event == event),
            "audit lacks {event}"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let server = start().await;
    let doc: serde_json::Value = reqwest::get(server.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/meetings",
        "/meetings/{meeting_id}",
        "/meetings/{meeting_id}/invitations",
        "/meetings/{meeting_id}/invitations/{invitation_id}",
        "/links/inspect",
        "/audit",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
}

type Lines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

/// The receiver's next line, within 30 s.
async fn next_line(lines: &mut Lines) -> String {
    tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("the receiver says something within 30 s")
        .unwrap()
        .expect("the receiver runs")
}

/// A booking system's receiver gets signed webhooks, checked by the Standard Webhooks
/// reference library (tests/browser/webhook-receiver.mjs): meeting started, participant
/// admitted, meeting ended, opaque ids only. Its first answer is a 503, and that webhook
/// arrives on the retry.
#[tokio::test]
async fn booking_systems_get_signed_metadata_only_webhooks_with_retries() {
    use tokio::io::AsyncBufReadExt;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut receiver = tokio::process::Command::new("node")
        .args(["webhook-receiver.mjs", &port.to_string(), secret, "1"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/browser"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs the receiver (scripts/test installs it)");
    let mut lines = tokio::io::BufReader::new(receiver.stdout.take().unwrap()).lines();
    assert!(next_line(&mut lines).await.contains("listening"));

    let endpoint = sluss_signaling::webhooks::Endpoint {
        name: "booking".into(),
        url: format!("http://127.0.0.1:{port}/sluss"),
        secret: sluss_signaling::webhooks::parse_secret(secret).unwrap(),
        events: sluss_signaling::webhooks::TYPES.map(String::from).to_vec(),
    };
    let server = start_with_webhooks(vec![endpoint]).await;
    let (chair, guests) = server.meeting(1).await;
    let (mut a, _) = join(&server, &chair, "Anna Andersson").await;
    let (mut b, joined) = join(&server, &guests[0], "Bertil Berg").await;
    admit(&mut a, &mut b, &joined).await;
    send(&mut a, r#"{"type":"end_meeting"}"#).await;

    let mut verified = Vec::new();
    let mut refused = 0;
    while verified.len() < 3 {
        let line = next_line(&mut lines).await;
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        if json["refused"] == 503 {
            refused += 1;
            continue;
        }
        assert_eq!(json["verified"], true, "the signature checks out: {line}");
        assert!(!line.contains("Anna") && !line.contains("Bertil"), "{line}");
        verified.push(json["payload"].clone());
    }
    assert_eq!(refused, 1);
    let mut types: Vec<&str> = verified
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(
        types,
        ["meeting.ended", "meeting.started", "participant.admitted"]
    );
    let admitted = verified
        .iter()
        .find(|p| p["type"] == "participant.admitted")
        .unwrap();
    assert_eq!(admitted["data"]["participant_id"], joined["participant_id"]);
    for payload in &verified {
        let keys: Vec<&String> = payload["data"].as_object().unwrap().keys().collect();
        assert!(
            keys.iter()
                .all(|k| ["meeting_id", "participant_id", "reason"].contains(&k.as_str())),
            "{payload}"
        );
        assert!(payload["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    // The receiver may print before the dispatcher records the answer.
    let mut deliveries = Vec::new();
    for _ in 0..50 {
        deliveries = server.store.webhook_deliveries().await.unwrap();
        if deliveries.iter().all(|d| d.4) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    assert!(
        deliveries.iter().all(|d| d.4),
        "all delivered: {deliveries:?}"
    );
    assert_eq!(
        deliveries.iter().map(|d| d.3).sum::<i64>(),
        4,
        "one retry: {deliveries:?}"
    );
}

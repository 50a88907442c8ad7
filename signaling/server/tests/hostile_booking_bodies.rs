//! Issue 11, item 2 (REST): every number, time, count and id in a booking-API body is bounded
//! before use. The extreme value of each field is a 400 with a stable code, nothing is stored,
//! and the server keeps serving. (`guests: 4294967295` once aborted the whole process.)

mod common;

use common::rest::{api_token, call, create, listed, As};
use common::start;
use reqwest::Method;
use serde_json::json;

const SCOPES: [&str; 2] = ["meetings:write", "invitations:write"];

fn in_a_year() -> i64 {
    sluss_signaling::unix_now() + 365 * 24 * 3600
}

#[tokio::test]
async fn the_extreme_value_of_every_field_is_refused_and_the_server_keeps_serving() {
    let server = start().await;
    let t = api_token(&server, &SCOPES).await;
    let who = As::Token(&t.secret);
    let too_many = vec![json!({"role": "patient"}); 101];
    let cases = [
        json!({"title": "Möte", "guests": u32::MAX}),
        json!({"title": "Möte", "guests": 100, "invitations": [{"role": "patient"}]}),
        json!({"title": "Möte", "invitations": too_many}),
        json!({"title": "Möte", "starts_at": i64::MAX}),
        json!({"title": "Möte", "starts_at": i64::MIN}),
        json!({"title": "Möte", "starts_at": sluss_signaling::unix_now() - 2 * 24 * 3600}),
        json!({"title": "Möte", "starts_at": in_a_year() + 2 * 365 * 24 * 3600}),
        json!({"title": "Möte", "starts_at": in_a_year(), "duration_minutes": u32::MAX}),
        json!({"title": "Möte", "duration_minutes": 0}),
        json!({"title": "Möte", "invitations": [{"role": "patient", "expires_at": i64::MAX}]}),
        json!({"title": "Möte", "invitations": [{"role": "patient", "expires_at": i64::MIN}]}),
        json!({"title": "Möte", "invitations": [{"role": "staff", "staff_user_id": "u".repeat(65)}]}),
    ];
    for body in cases {
        let (status, answer) =
            call(&server, Method::POST, "/meetings", who, Some(body.clone())).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("out_of_range")),
            "{body}: {answer}"
        );
        assert!(answer["error"]["message"].as_str().unwrap().len() > 10);
    }
    // A megabyte of title or ten thousand invitations never reach the handler.
    let huge_title = json!({"title": "a".repeat(1 << 20)});
    let many = json!({"title": "Möte", "invitations": vec![json!({"role": "guest"}); 10_000]});
    for body in [huge_title, many] {
        let (status, answer) = call(&server, Method::POST, "/meetings", who, Some(body)).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (413, Some("payload_too_large"))
        );
    }
    assert!(listed(&server, who).await.is_empty(), "nothing was stored");
    // A u64 that does not fit the field is malformed JSON for it, not a crash either.
    let (status, _) = call(
        &server,
        Method::POST,
        "/meetings",
        who,
        Some(json!({"title": "M", "guests": u64::MAX})),
    )
    .await;
    assert_eq!(status, 400);
    let id = create(
        &server,
        who,
        json!({"title": "Möte", "guests": 2, "starts_at": in_a_year(), "duration_minutes": 1440}),
    )
    .await;
    assert_eq!(listed(&server, who).await.len(), 1, "{id}");
}

#[tokio::test]
async fn a_change_is_bounded_like_a_new_meeting_and_a_refused_one_changes_nothing() {
    let server = start().await;
    let t = api_token(&server, &SCOPES).await;
    let who = As::Token(&t.secret);
    let start_at = in_a_year();
    let id = create(
        &server,
        who,
        json!({"title": "Möte", "starts_at": start_at, "duration_minutes": 30}),
    )
    .await;
    let path = format!("/meetings/{id}");
    for (body, code) in [
        (json!({"starts_at": i64::MAX}), "out_of_range"),
        (json!({"starts_at": i64::MIN}), "out_of_range"),
        (json!({"duration_minutes": u32::MAX}), "out_of_range"),
        (json!({"duration_minutes": 0}), "out_of_range"),
        (json!({}), "bad_request"),
        (
            json!({"title": "Möte för 19811218-9876"}),
            "personal_identity_number",
        ),
        (json!({"title": "a".repeat(121)}), "bad_request"),
        (json!({"title": "Möte", "owner": "x"}), "bad_request"),
    ] {
        let (status, answer) = call(&server, Method::PATCH, &path, who, Some(body.clone())).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    let (status, changed) = call(
        &server,
        Method::PATCH,
        &path,
        who,
        Some(json!({"duration_minutes": 45})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["title"], "Möte");
    assert_eq!(
        changed["starts_at"], start_at,
        "the refused changes changed nothing"
    );
    assert_eq!(changed["duration_minutes"], 45);
}

#[tokio::test]
async fn long_ids_and_tokens_are_refused_before_any_lookup() {
    let server = start().await;
    let t = api_token(&server, &SCOPES).await;
    let who = As::Token(&t.secret);
    let id = create(&server, who, json!({"title": "Möte"})).await;
    let long = "x".repeat(65);
    for (method, path, body) in [
        (Method::DELETE, format!("/meetings/{long}"), None),
        (
            Method::PATCH,
            format!("/meetings/{long}"),
            Some(json!({"title": "Nytt"})),
        ),
        (
            Method::POST,
            format!("/meetings/{long}/invitations"),
            Some(json!({"role": "patient"})),
        ),
        (
            Method::DELETE,
            format!("/meetings/{id}/invitations/{long}"),
            None,
        ),
        (
            Method::POST,
            "/links/inspect".to_owned(),
            Some(json!({"token": "a".repeat(10_000)})),
        ),
    ] {
        let (status, answer) = call(&server, method, &path, who, body).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("out_of_range")),
            "{path}"
        );
    }
    assert_eq!(listed(&server, who).await.len(), 1);
}

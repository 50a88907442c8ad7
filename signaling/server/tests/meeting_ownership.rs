//! Issue 11, item 5: meetings belong to someone. A member of staff lists, changes and cancels
//! the meetings they convened and sees those a staff invitation names them in; an
//! administrator acts on all; an API token acts on the meetings it created. Others get a 404
//! (the meeting's existence is not confirmed) or, when they may see it, a 403.

mod common;

use common::rest::{api_token, call, create, listed, staff_user, As};
use common::start;
use reqwest::Method;
use serde_json::json;

const SCOPES: [&str; 2] = ["meetings:write", "invitations:write"];

/// Every change a caller might try on a meeting, with the status each gets.
async fn changes_get(server: &common::Server, who: As<'_>, meeting: &str) -> [u16; 4] {
    let path = format!("/meetings/{meeting}");
    let invite = format!("{path}/invitations");
    let (patch, _) = call(
        server,
        Method::PATCH,
        &path,
        who,
        Some(json!({"title": "Nytt"})),
    )
    .await;
    let (add, _) = call(
        server,
        Method::POST,
        &invite,
        who,
        Some(json!({"role": "staff"})),
    )
    .await;
    let (revoke, _) = call(server, Method::DELETE, &format!("{invite}/l_x"), who, None).await;
    let (cancel, _) = call(server, Method::DELETE, &path, who, None).await;
    [patch, add, revoke, cancel]
}

#[tokio::test]
async fn staff_act_only_on_meetings_they_convened_and_an_administrator_on_all() {
    let server = start().await;
    let anna = staff_user(&server, "anna", &["staff"]).await;
    let bo = staff_user(&server, "bo", &["staff"]).await;
    let admin = staff_user(&server, "root", &["admin"]).await;
    let meeting = create(
        &server,
        As::Cookie(&anna.cookie),
        json!({"title": "Annas möte"}),
    )
    .await;

    assert_eq!(
        listed(&server, As::Cookie(&anna.cookie)).await,
        [(meeting.clone(), "convener".to_owned())]
    );
    assert!(listed(&server, As::Cookie(&bo.cookie)).await.is_empty());
    assert_eq!(
        changes_get(&server, As::Cookie(&bo.cookie), &meeting).await,
        [404; 4],
        "Bo learns nothing of Anna's meeting"
    );
    assert_eq!(
        listed(&server, As::Cookie(&admin.cookie)).await,
        [(meeting.clone(), "admin".to_owned())]
    );
    // The administrator changes, invites, and (the unknown invitation aside) cancels.
    assert_eq!(
        changes_get(&server, As::Cookie(&admin.cookie), &meeting).await,
        [200, 201, 404, 204]
    );
    assert!(
        listed(&server, As::Cookie(&anna.cookie)).await.is_empty(),
        "cancelled"
    );
    let trail = server
        .store
        .audit_entries(Some(&meeting), None, None, None)
        .await
        .unwrap();
    let changed = trail
        .iter()
        .find(|e| e.event == "meeting_changed")
        .expect("audited");
    assert_eq!(changed.actor.as_deref(), Some(admin.id.as_str()));
    assert_eq!(changed.details["fields"], json!(["title"]));
}

#[tokio::test]
async fn staff_named_by_an_invitation_see_the_meeting_but_cannot_change_it() {
    let server = start().await;
    let anna = staff_user(&server, "anna", &["staff"]).await;
    let bo = staff_user(&server, "bo", &["staff"]).await;
    let cecilia = staff_user(&server, "cecilia", &["staff"]).await;
    let body = json!({"title": "Vårdplanering", "invitations": [{"role": "staff", "staff_user_id": bo.id}]});
    let meeting = create(&server, As::Cookie(&anna.cookie), body).await;
    assert_eq!(
        listed(&server, As::Cookie(&bo.cookie)).await,
        [(meeting.clone(), "invited".to_owned())]
    );
    assert_eq!(
        changes_get(&server, As::Cookie(&bo.cookie), &meeting).await,
        [403; 4]
    );
    let (_, refusal) = call(
        &server,
        Method::DELETE,
        &format!("/meetings/{meeting}"),
        As::Cookie(&bo.cookie),
        None,
    )
    .await;
    assert_eq!(refusal["error"]["code"], "not_convener");
    // Added later by the convener, Cecilia sees it too.
    assert!(listed(&server, As::Cookie(&cecilia.cookie))
        .await
        .is_empty());
    let (status, _) = call(
        &server,
        Method::POST,
        &format!("/meetings/{meeting}/invitations"),
        As::Cookie(&anna.cookie),
        Some(json!({"role": "staff", "staff_user_id": cecilia.id})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        listed(&server, As::Cookie(&cecilia.cookie)).await,
        [(meeting, "invited".to_owned())]
    );
}

#[tokio::test]
async fn an_api_token_acts_only_on_the_meetings_it_created() {
    let server = start().await;
    let t1 = api_token(&server, &SCOPES).await;
    let t2 = api_token(&server, &SCOPES).await;
    let anna = staff_user(&server, "anna", &["staff"]).await;
    let by_t1 = create(
        &server,
        As::Token(&t1.secret),
        json!({"title": "Bokat möte"}),
    )
    .await;
    assert!(listed(&server, As::Token(&t2.secret)).await.is_empty());
    assert!(listed(&server, As::Cookie(&anna.cookie)).await.is_empty());
    assert_eq!(
        changes_get(&server, As::Token(&t2.secret), &by_t1).await,
        [404; 4]
    );
    assert_eq!(
        changes_get(&server, As::Cookie(&anna.cookie), &by_t1).await,
        [404; 4]
    );
    assert_eq!(
        listed(&server, As::Token(&t1.secret)).await,
        [(by_t1.clone(), "convener".to_owned())]
    );
    assert_eq!(
        changes_get(&server, As::Token(&t1.secret), &by_t1).await,
        [200, 201, 404, 204]
    );
    let trail = server
        .store
        .audit_entries(Some(&by_t1), None, None, None)
        .await
        .unwrap();
    let created = trail.iter().find(|e| e.event == "meeting_created").unwrap();
    assert_eq!(created.actor, Some(format!("api:{}", t1.id)));
}

#[tokio::test]
async fn a_staff_invitation_names_only_an_enabled_staff_account() {
    let server = start().await;
    let anna = staff_user(&server, "anna", &["staff"]).await;
    let gone = staff_user(&server, "gone", &["staff"]).await;
    let auditor = staff_user(&server, "revisor", &["auditor"]).await;
    assert!(server.store.disable_user(&gone.id, 0).await.unwrap());
    let who = As::Cookie(&anna.cookie);
    for user in ["u_nobody", gone.id.as_str(), auditor.id.as_str()] {
        let body =
            json!({"title": "Möte", "invitations": [{"role": "staff", "staff_user_id": user}]});
        let (status, answer) = call(&server, Method::POST, "/meetings", who, Some(body)).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("unknown_staff_user")),
            "{user}"
        );
    }
    assert!(listed(&server, who).await.is_empty(), "nothing was stored");
    let meeting = create(&server, who, json!({"title": "Möte"})).await;
    let invite = format!("/meetings/{meeting}/invitations");
    for (body, code) in [
        (
            json!({"role": "staff", "staff_user_id": gone.id}),
            "unknown_staff_user",
        ),
        (
            json!({"role": "staff", "staff_user_id": "u_nobody"}),
            "unknown_staff_user",
        ),
        (
            json!({"role": "patient", "staff_user_id": anna.id}),
            "bad_request",
        ),
    ] {
        let (status, answer) = call(&server, Method::POST, &invite, who, Some(body)).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some(code))
        );
    }
    let trail = server
        .store
        .audit_entries(Some(&meeting), None, None, None)
        .await
        .unwrap();
    assert!(
        !trail.iter().any(|e| e.event == "invited"),
        "no invitation was made"
    );
}

#[tokio::test]
async fn a_meeting_from_before_conveners_is_left_to_administrators() {
    let server = start().await;
    let anna = staff_user(&server, "anna", &["staff"]).await;
    let admin = staff_user(&server, "root", &["staff", "admin"]).await;
    server
        .store
        .create_meeting("m_old", "Gammalt", true, 0, &[])
        .await
        .unwrap();
    assert!(listed(&server, As::Cookie(&anna.cookie)).await.is_empty());
    assert_eq!(
        changes_get(&server, As::Cookie(&anna.cookie), "m_old").await,
        [404; 4]
    );
    assert_eq!(
        listed(&server, As::Cookie(&admin.cookie)).await,
        [("m_old".to_owned(), "admin".to_owned())]
    );
    let (status, _) = call(
        &server,
        Method::DELETE,
        "/meetings/m_old",
        As::Cookie(&admin.cookie),
        None,
    )
    .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn the_openapi_document_describes_changes_and_ownership() {
    let server = start().await;
    let (_, doc) = call(&server, Method::GET, "/openapi.json", As::Nobody, None).await;
    assert!(doc["paths"]["/meetings/{meeting_id}"]["patch"].is_object());
    let summary = &doc["components"]["schemas"]["MeetingSummary"]["properties"];
    assert_eq!(
        summary["caller_role"]["enum"],
        json!(["convener", "invited", "admin"])
    );
    let invitation = &doc["components"]["schemas"]["NewInvitation"]["properties"];
    assert!(invitation["staff_user_id"].is_object());
}

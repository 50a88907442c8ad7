//! Issue 13, item 4: a meeting's page for staff. Each invitation's state follows its holder
//! (not opened, opened, waiting, in the meeting, left; revoked, expired); "new link" revokes
//! the old link (refused at once, its holder put out) and answers a new one once, audited;
//! only the convener or an administrator renews a link; hostile ids get a clean 4xx.

mod common;

use common::rest::{api_token, call, create, staff_user, As, StaffUser};
use common::{admit, join_on, recv, recv_type, send, start, Server};
use reqwest::Method;
use serde_json::{json, Value};
use sluss_signaling::secret::{random_id, Secret};
use sluss_signaling::store::NewLink;

fn token_of(link: &Value) -> String {
    let link = link.as_str().expect("a link");
    link.rsplit_once('#').unwrap().1.to_owned()
}

/// Creates a meeting with a patient and a relative invitation; answers its id and the
/// creation answer.
async fn booked(server: &Server, by: &StaffUser) -> (String, Value) {
    let body = json!({"title": "Uppföljning", "starts_at": sluss_signaling::unix_now() + 3_600,
        "duration_minutes": 30, "invitations": [{"role": "patient"}, {"role": "relative"}]});
    let (status, created) = call(
        server,
        Method::POST,
        "/meetings",
        As::Cookie(&by.cookie),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    (created["meeting_id"].as_str().unwrap().to_owned(), created)
}

async fn page(server: &Server, who: As<'_>, meeting: &str) -> Value {
    let (status, page) = call(
        server,
        Method::GET,
        &format!("/meetings/{meeting}"),
        who,
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page
}

/// Each invitation's (role, state), in the page's order.
async fn states(server: &Server, who: As<'_>, meeting: &str) -> Vec<(String, String)> {
    page(server, who, meeting).await["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["role"].as_str().unwrap().to_owned(),
                i["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn inspect(server: &Server, token: &str) -> (u16, Value) {
    let body = json!({ "token": token });
    call(
        server,
        Method::POST,
        "/links/inspect",
        As::Nobody,
        Some(body),
    )
    .await
}

async fn reissue(server: &Server, who: As<'_>, meeting: &str, invitation: &str) -> (u16, Value) {
    let path = format!("/meetings/{meeting}/invitations/{invitation}/reissue");
    call(server, Method::POST, &path, who, None).await
}

#[tokio::test]
async fn an_invitation_goes_from_not_opened_to_waiting_to_in_the_meeting_and_out() {
    let server = start().await;
    let sara = staff_user(&server, "sara", &["staff"]).await;
    let (meeting, created) = booked(&server, &sara).await;
    let who = As::Cookie(&sara.cookie);
    let shown = page(&server, who, &meeting).await;
    assert_eq!(shown["caller_role"], "convener");
    assert_eq!(shown["status"], "coming");
    assert_eq!(shown["title"], "Uppföljning");
    let text = shown.to_string();
    assert!(
        !text.contains("link") && !text.contains("token"),
        "no links: {text}"
    );
    assert_eq!(
        states(&server, who, &meeting).await,
        pairs(&[
            ("chair", "not_opened"),
            ("patient", "not_opened"),
            ("relative", "not_opened")
        ])
    );
    let patient = token_of(&created["invitations"][0]["link"]);
    // The join page asks about the link: it has been opened.
    assert_eq!(inspect(&server, &patient).await.0, 200);
    assert_eq!(states(&server, who, &meeting).await[1].1, "opened");
    // The patient knocks and waits in the lobby.
    let (mut guest, joined) = join_on(server.ws().await, &patient, "Pia", None).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    assert_eq!(states(&server, who, &meeting).await[1].1, "waiting");
    // The convener opens the chair's link (logged in), and lets her in.
    let chair_token = token_of(&created["chair_link"]);
    let (mut chair, chair_joined) = join_on(
        server.ws_with_cookie(&sara.cookie).await,
        &chair_token,
        "x",
        None,
    )
    .await;
    assert_eq!(chair_joined["role"], "chair", "{chair_joined}");
    admit(&mut chair, &mut guest, &joined).await;
    assert_eq!(
        states(&server, who, &meeting).await,
        pairs(&[
            ("chair", "in_meeting"),
            ("patient", "in_meeting"),
            ("relative", "not_opened")
        ])
    );
    let live = page(&server, who, &meeting).await;
    assert_eq!(live["status"], "ongoing");
    assert_eq!(live["participants"], 2);
    // She leaves: she was in the meeting.
    send(&mut guest, r#"{"type":"leave"}"#).await;
    recv_type(&mut chair, "participant_left").await;
    let shown = page(&server, who, &meeting).await;
    assert_eq!(shown["invitations"][1]["state"], "left");
    assert!(shown["invitations"][1]["entered_at"].as_i64().is_some());
    // Revoked by hand, and expired.
    let relative = shown["invitations"][2]["invitation_id"].as_str().unwrap();
    let path = format!("/meetings/{meeting}/invitations/{relative}");
    assert_eq!(call(&server, Method::DELETE, &path, who, None).await.0, 204);
    let now = sluss_signaling::unix_now();
    let expired = NewLink {
        id: random_id("l_"),
        token_hash: Secret::generate().hash(),
        role: sluss_protocol::InvitationRole::Professional,
        expires_at: Some(now - 60),
    };
    assert!(server
        .store
        .add_link(&meeting, &expired, now)
        .await
        .unwrap());
    assert_eq!(
        states(&server, who, &meeting).await,
        pairs(&[
            ("chair", "in_meeting"),
            ("patient", "left"),
            ("relative", "revoked"),
            ("professional", "expired")
        ])
    );
}

#[tokio::test]
async fn a_new_link_refuses_the_old_one_works_once_shown_and_is_audited() {
    let server = start().await;
    let sara = staff_user(&server, "sara", &["staff"]).await;
    let (meeting, created) = booked(&server, &sara).await;
    let who = As::Cookie(&sara.cookie);
    let old = token_of(&created["invitations"][0]["link"]);
    let old_id = created["invitations"][0]["invitation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The old link's holder waits in the lobby when the new link is made.
    let (mut holder, joined) = join_on(server.ws().await, &old, "Pia", None).await;
    assert_eq!(joined["type"], "joined");
    let (status, renewed) = reissue(&server, who, &meeting, &old_id).await;
    assert_eq!(status, 201, "{renewed}");
    assert_eq!(renewed["role"], "patient");
    assert_eq!(renewed["replaces"], old_id.as_str());
    let new_id = renewed["invitation_id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, old_id);
    let new = token_of(&renewed["link"]);
    assert_ne!(new, old);
    // The neutral text and calendar file come with it (R13).
    let text = renewed["text"].as_str().unwrap();
    assert!(text.starts_with("Klicka för att delta i ditt bokade vårdmöte.\n"));
    assert!(text.contains(&new) && !text.contains("Uppföljning"));
    let ics = renewed["ics"].as_str().unwrap();
    assert!(ics.contains("SUMMARY:Vårdmöte") && !ics.contains("Uppföljning"));
    // The holder of the old link is put out at once; the old link is refused everywhere.
    let mut put_out = false;
    while let Some(m) = recv(&mut holder).await {
        put_out |= m["type"] == "removed";
    }
    assert!(put_out, "the old link's holder is put out");
    let (status, refusal) = inspect(&server, &old).await;
    assert_eq!(
        (status, refusal["error"]["code"].as_str()),
        (404, Some("link_invalid"))
    );
    let (_, again) = join_on(server.ws().await, &old, "Pia", None).await;
    assert_eq!(again["code"], "link_invalid", "{again}");
    // The new one works.
    assert_eq!(inspect(&server, &new).await.0, 200);
    let (_new_holder, joined) = join_on(server.ws().await, &new, "Pia", None).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    // The page: the old one revoked and replaced, the new one right after it.
    let shown = page(&server, who, &meeting).await;
    let invitations = shown["invitations"].as_array().unwrap();
    assert_eq!(invitations.len(), 4);
    assert_eq!(invitations[1]["invitation_id"], old_id.as_str());
    assert_eq!(invitations[1]["state"], "revoked");
    assert_eq!(invitations[1]["replaced_by"], new_id.as_str());
    assert_eq!(invitations[2]["invitation_id"], new_id.as_str());
    assert_eq!(invitations[2]["state"], "waiting");
    assert_eq!(invitations[2]["replaces"], old_id.as_str());
    // A replaced link is not renewed again: the newer one is.
    let (status, refusal) = reissue(&server, who, &meeting, &old_id).await;
    assert_eq!(
        (status, refusal["error"]["code"].as_str()),
        (409, Some("invitation_revoked"))
    );
    // Audited: who, which invitation, which new one; never a token.
    let trail = server
        .store
        .audit_entries(Some(&meeting), None, None, None)
        .await
        .unwrap();
    let entry = trail
        .iter()
        .find(|e| e.event == "invitation_reissued")
        .expect("audited");
    assert_eq!(entry.actor.as_deref(), Some(sara.id.as_str()));
    assert_eq!(entry.subject.as_deref(), Some(old_id.as_str()));
    assert_eq!(entry.details["new_invitation_id"], new_id.as_str());
    assert_eq!(entry.details["role"], "patient");
    assert!(trail.iter().any(|e| e.event == "put_out_by_revocation"));
    for e in &trail {
        let all = format!("{:?} {}", e.subject, e.details);
        assert!(
            !all.contains(&new) && !all.contains(&old),
            "no token in the trail"
        );
    }
}

#[tokio::test]
async fn the_convener_gets_a_new_chair_link_and_an_expired_link_gets_a_fresh_expiry() {
    let server = start().await;
    let sara = staff_user(&server, "sara", &["staff"]).await;
    let (meeting, created) = booked(&server, &sara).await;
    let who = As::Cookie(&sara.cookie);
    let shown = page(&server, who, &meeting).await;
    let chair_id = shown["invitations"][0]["invitation_id"].as_str().unwrap();
    let (status, renewed) = reissue(&server, who, &meeting, chair_id).await;
    assert_eq!(status, 201, "{renewed}");
    assert_eq!(renewed["role"], "chair");
    assert!(
        renewed.get("dial_in").is_none(),
        "never a PIN for the chair"
    );
    let old_chair = token_of(&created["chair_link"]);
    let (_, refused) = join_on(
        server.ws_with_cookie(&sara.cookie).await,
        &old_chair,
        "x",
        None,
    )
    .await;
    assert_eq!(refused["code"], "link_invalid");
    let (_, joined) = join_on(
        server.ws_with_cookie(&sara.cookie).await,
        &token_of(&renewed["link"]),
        "x",
        None,
    )
    .await;
    assert_eq!(
        (joined["role"].as_str(), joined["admitted"].as_bool()),
        (Some("chair"), Some(true))
    );
    // An expired link is renewed with a fresh expiry, and then works.
    let now = sluss_signaling::unix_now();
    let expired = NewLink {
        id: random_id("l_"),
        token_hash: Secret::generate().hash(),
        role: sluss_protocol::InvitationRole::Relative,
        expires_at: Some(now - 60),
    };
    assert!(server
        .store
        .add_link(&meeting, &expired, now)
        .await
        .unwrap());
    let (status, renewed) = reissue(&server, who, &meeting, &expired.id).await;
    assert_eq!(status, 201, "{renewed}");
    assert!(renewed["expires_at"].as_i64().unwrap() > now + 3_000);
    assert_eq!(inspect(&server, &token_of(&renewed["link"])).await.0, 200);
}

#[tokio::test]
async fn only_the_convener_or_an_administrator_renews_a_link() {
    let server = start().await;
    let sara = staff_user(&server, "sara", &["staff"]).await;
    let bo = staff_user(&server, "bo", &["staff"]).await;
    let cilla = staff_user(&server, "cilla", &["staff"]).await;
    let admin = staff_user(&server, "root", &["admin"]).await;
    let other = api_token(&server, &["meetings:write", "invitations:write"]).await;
    let body = json!({"title": "Vårdplanering",
        "invitations": [{"role": "patient"}, {"role": "staff", "staff_user_id": cilla.id}]});
    let meeting = create(&server, As::Cookie(&sara.cookie), body).await;
    let shown = page(&server, As::Cookie(&sara.cookie), &meeting).await;
    let patient = shown["invitations"][1]["invitation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(shown["invitations"][2]["staff_user_id"], cilla.id.as_str());
    // The page names her: her account's name, not its id.
    assert_eq!(shown["invitations"][2]["staff_name"], "cilla");
    // Bo and another booking system learn nothing of it.
    for who in [As::Cookie(&bo.cookie), As::Token(&other.secret)] {
        let (status, answer) = call(
            &server,
            Method::GET,
            &format!("/meetings/{meeting}"),
            who,
            None,
        )
        .await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (404, Some("not_found"))
        );
        let (status, _) = reissue(&server, who, &meeting, &patient).await;
        assert_eq!(status, 404);
    }
    assert_eq!(
        call(&server, Method::GET, "/meetings/m_x", As::Nobody, None)
            .await
            .0,
        401
    );
    // Cilla, invited as staff, sees the page but may not renew a link.
    let seen = page(&server, As::Cookie(&cilla.cookie), &meeting).await;
    assert_eq!(seen["caller_role"], "invited");
    let (status, refusal) = reissue(&server, As::Cookie(&cilla.cookie), &meeting, &patient).await;
    assert_eq!(
        (status, refusal["error"]["code"].as_str()),
        (403, Some("not_convener"))
    );
    // The administrator may; the trail names the administrator.
    let (status, _) = reissue(&server, As::Cookie(&admin.cookie), &meeting, &patient).await;
    assert_eq!(status, 201);
    let trail = server
        .store
        .audit_entries(Some(&meeting), None, None, None)
        .await
        .unwrap();
    let entry = trail
        .iter()
        .find(|e| e.event == "invitation_reissued")
        .unwrap();
    assert_eq!(entry.actor.as_deref(), Some(admin.id.as_str()));
    let renewals = trail
        .iter()
        .filter(|e| e.event == "invitation_reissued")
        .count();
    assert_eq!(renewals, 1, "refusals change nothing");
}

#[tokio::test]
async fn a_cancelled_meeting_is_past_and_its_links_are_not_renewed() {
    let server = start().await;
    let sara = staff_user(&server, "sara", &["staff"]).await;
    let (meeting, created) = booked(&server, &sara).await;
    let who = As::Cookie(&sara.cookie);
    let patient = created["invitations"][0]["invitation_id"].as_str().unwrap();
    let path = format!("/meetings/{meeting}");
    assert_eq!(call(&server, Method::DELETE, &path, who, None).await.0, 204);
    let (status, refusal) = reissue(&server, who, &meeting, patient).await;
    assert_eq!(
        (status, refusal["error"]["code"].as_str()),
        (409, Some("meeting_ended"))
    );
    // The page still shows it, as past; the plain list does not, the longer one does.
    let shown = page(&server, who, &meeting).await;
    assert_eq!(shown["status"], "past");
    assert!(shown["ended_at"].as_i64().is_some());
    let (_, list) = call(&server, Method::GET, "/meetings", who, None).await;
    assert!(list["meetings"].as_array().unwrap().is_empty());
    let (status, list) = call(
        &server,
        Method::GET,
        "/meetings?include_ended=true",
        who,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["meetings"][0]["meeting_id"], meeting.as_str());
    assert_eq!(list["meetings"][0]["status"], "past");
}

#[tokio::test]
async fn hostile_ids_and_parameters_get_a_clean_refusal() {
    let server = start().await;
    let sara = staff_user(&server, "sara", &["staff"]).await;
    let (meeting, _) = booked(&server, &sara).await;
    let who = As::Cookie(&sara.cookie);
    let long = "m".repeat(65);
    for (method, path, expected) in [
        (Method::GET, format!("/meetings/{long}"), 400),
        (Method::GET, "/meetings/m_nonexistent".to_owned(), 404),
        // Not UTF-8: refused by the router before any handler (plain text).
        (Method::GET, "/meetings/%00%ff".to_owned(), 400),
        (Method::GET, "/meetings/..%2F..%2Fetc".to_owned(), 404),
        (
            Method::GET,
            "/meetings/%E2%80%AE%F0%9F%92%A3".to_owned(),
            404,
        ),
        (Method::GET, "/meetings?include_ended=maybe".to_owned(), 400),
        (
            Method::GET,
            "/meetings?include_ended=true&x=1".to_owned(),
            400,
        ),
        (
            Method::POST,
            format!("/meetings/{meeting}/invitations/{long}/reissue"),
            400,
        ),
        (
            Method::POST,
            format!("/meetings/{long}/invitations/l_x/reissue"),
            400,
        ),
        (
            Method::POST,
            format!("/meetings/{meeting}/invitations/l_nope/reissue"),
            404,
        ),
        (
            Method::POST,
            format!("/meetings/{meeting}/invitations/%27%3B--/reissue"),
            404,
        ),
        (
            Method::GET,
            format!("/meetings/{meeting}/invitations/l_x/reissue"),
            405,
        ),
    ] {
        let (status, answer) = call(&server, method.clone(), &path, who, None).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        if status != 405 && !path.contains("%ff") {
            assert!(answer["error"]["code"].is_string(), "{path}: {answer}");
        }
    }
    // Nothing above changed the meeting.
    let shown = page(&server, who, &meeting).await;
    assert_eq!(shown["invitations"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_openapi_document_describes_the_page_and_the_new_link() {
    let server = start().await;
    let (_, doc) = call(&server, Method::GET, "/openapi.json", As::Nobody, None).await;
    let paths = &doc["paths"];
    assert!(paths["/meetings/{meeting_id}"]["get"].is_object());
    let reissue = &paths["/meetings/{meeting_id}/invitations/{invitation_id}/reissue"]["post"];
    assert!(reissue["responses"]["409"].is_object(), "{reissue}");
    let states = &doc["components"]["schemas"]["InvitationStatus"]["properties"]["state"]["enum"];
    assert_eq!(
        states,
        &json!([
            "not_opened",
            "opened",
            "waiting",
            "in_meeting",
            "left",
            "revoked",
            "expired"
        ])
    );
    let status = &doc["components"]["schemas"]["MeetingSummary"]["properties"]["status"]["enum"];
    assert_eq!(status, &json!(["coming", "ongoing", "past"]));
    // The wire's own names, so that the document cannot drift from the code.
    for state in [
        sluss_protocol::InvitationState::NotOpened,
        sluss_protocol::InvitationState::Expired,
    ] {
        let name = serde_json::to_value(state).unwrap();
        assert!(states.as_array().unwrap().contains(&name), "{name}");
    }
}

#[tokio::test]
async fn a_meeting_holds_at_most_a_thousand_links() {
    let server = start().await;
    let sara = staff_user(&server, "sara", &["staff"]).await;
    let (meeting, created) = booked(&server, &sara).await;
    let who = As::Cookie(&sara.cookie);
    let now = sluss_signaling::unix_now();
    // Three made with the meeting; the rest straight into the store.
    for _ in 3..sluss_signaling::store::MAX_LINKS_PER_MEETING {
        let link = NewLink {
            id: random_id("l_"),
            token_hash: Secret::generate().hash(),
            role: sluss_protocol::InvitationRole::Guest,
            expires_at: Some(now + 60),
        };
        assert!(server.store.add_link(&meeting, &link, now).await.unwrap());
    }
    let path = format!("/meetings/{meeting}/invitations");
    for body in [
        json!({"role": "patient"}),
        json!({"role": "staff", "staff_user_id": sara.id}),
    ] {
        let (status, refusal) = call(&server, Method::POST, &path, who, Some(body)).await;
        assert_eq!(
            (status, refusal["error"]["code"].as_str()),
            (409, Some("too_many_invitations"))
        );
    }
    let patient = created["invitations"][0]["invitation_id"].as_str().unwrap();
    let (status, refusal) = reissue(&server, who, &meeting, patient).await;
    assert_eq!(
        (status, refusal["error"]["code"].as_str()),
        (409, Some("too_many_invitations"))
    );
    // Refused, the old link still works; the page lists all thousand.
    let old = token_of(&created["invitations"][0]["link"]);
    assert_eq!(inspect(&server, &old).await.0, 200);
    let shown = page(&server, who, &meeting).await;
    assert_eq!(shown["invitations"].as_array().unwrap().len(), 1000);
}

/// The rules hold on the API as on the page: the chair's link is renewed, never only revoked
/// (a meeting without one could not be opened again); an ended meeting's links are not
/// revoked (nothing to audit); a booking token reads invitations only with their scope.
#[tokio::test]
async fn the_api_refuses_what_the_page_does_not_offer() {
    let server = start().await;
    let sara = staff_user(&server, "sara", &["staff"]).await;
    let body = json!({"title": "Uppföljning", "invitations": [{"role": "patient"}]});
    let meeting = create(&server, As::Cookie(&sara.cookie), body).await;
    let shown = page(&server, As::Cookie(&sara.cookie), &meeting).await;
    let id_of = |i: usize| {
        shown["invitations"][i]["invitation_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(shown["invitations"][0]["role"], "chair");
    let revoke = |invitation: String| {
        let path = format!("/meetings/{meeting}/invitations/{invitation}");
        let cookie = sara.cookie.clone();
        let server = &server;
        async move { call(server, Method::DELETE, &path, As::Cookie(&cookie), None).await }
    };
    let (status, answer) = revoke(id_of(0)).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("chair_link_renew_only"))
    );
    // Ended: the patient's link is not revoked again.
    let (status, _) = call(
        &server,
        Method::DELETE,
        &format!("/meetings/{meeting}"),
        As::Cookie(&sara.cookie),
        None,
    )
    .await;
    assert!(status < 300, "{status}");
    assert_eq!(revoke(id_of(1)).await.0, 404);
    // A token that may make meetings but not invitations does not read them.
    let booking = api_token(&server, &["meetings:write"]).await;
    let body = json!({"title": "Uppföljning", "invitations": []});
    let theirs = create(&server, As::Token(&booking.secret), body).await;
    let (status, answer) = call(
        &server,
        Method::GET,
        &format!("/meetings/{theirs}"),
        As::Token(&booking.secret),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
}

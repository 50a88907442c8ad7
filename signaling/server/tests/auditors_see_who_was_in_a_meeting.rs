//! R15, for auditors: a meeting picked from a list, "who was in it" with staff by name and
//! guests by invitation and the name they gave, search by part of a name and by time, bounded
//! answers, and every hostile parameter a clean 400 with nothing read.

mod common;

use common::rest::{api_token, call, create, As};
use common::{recv_type, send, Server, Ws};
use reqwest::Method;
use serde_json::{json, Value};

const PERSONNUMMER: &str = "19121212-1212";

/// Sends a join for this token on this socket; answers the `joined` message.
async fn join_with(server: &Server, cookie: Option<&str>, link: &str, name: &str) -> (Ws, Value) {
    let token = link.split_once('#').unwrap().1;
    let mut ws = match cookie {
        Some(c) => server.ws_with_cookie(c).await,
        None => server.ws().await,
    };
    let join = json!({"type": "join", "v": 1, "token": token, "display_name": name});
    send(&mut ws, &join.to_string()).await;
    let joined = recv_type(&mut ws, "joined").await;
    (ws, joined)
}

async fn admit_or_deny(chair: &mut Ws, guest: &Value, admit: bool) {
    let id = guest["participant_id"].as_str().unwrap();
    let knock = recv_type(chair, "knock").await;
    assert_eq!(knock["participant"]["participant_id"], id);
    let kind = if admit { "admit" } else { "deny" };
    send(
        chair,
        &json!({"type": kind, "participant_id": id}).to_string(),
    )
    .await;
}

async fn get(server: &Server, path: &str, cookie: Option<&str>) -> (u16, Value) {
    let who = cookie.map_or(As::Nobody, As::Cookie);
    let path = path.strip_prefix("/api/v1").unwrap();
    call(server, Method::GET, path, who, None).await
}

/// A meeting chaired by Karin Lind with a patient (admitted), a relative (Åsa Öberg,
/// admitted) and a second patient link (denied). Answers the meeting id and the ids.
async fn a_meeting(server: &Server) -> (String, [String; 4]) {
    let karin = server
        .session_named("karin", "Karin Lind", &["staff"])
        .await;
    let (status, created) = call(
        server,
        Method::POST,
        "/meetings",
        As::Cookie(&karin),
        Some(json!({"title": "Vårdplanering hjärta", "invitations": [
            {"role": "patient"}, {"role": "relative"}, {"role": "patient"}]})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let meeting = created["meeting_id"].as_str().unwrap().to_owned();
    let link = |i: usize| {
        created["invitations"][i]["link"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let chair_link = created["chair_link"].as_str().unwrap().to_owned();
    let (mut chair, chair_joined) = join_with(server, Some(&karin), &chair_link, "x").await;
    let (_maja, maja) = join_with(server, None, &link(0), "Maja Svensson").await;
    admit_or_deny(&mut chair, &maja, true).await;
    let (_asa, asa) = join_with(server, None, &link(1), "Åsa Öberg").await;
    admit_or_deny(&mut chair, &asa, true).await;
    let (_other, other) = join_with(server, None, &link(2), "Okänd Person").await;
    admit_or_deny(&mut chair, &other, false).await;
    let id = |v: &Value| v["participant_id"].as_str().unwrap().to_owned();
    let ids = [id(&chair_joined), id(&maja), id(&asa), id(&other)];
    // The meeting's task writes its entries as it goes: wait for the denial.
    for _ in 0..50 {
        let trail = server
            .store
            .audit_entries(Some(&meeting), None, None, None)
            .await
            .unwrap();
        if trail.iter().any(|e| e.event == "denied") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    send(&mut chair, &json!({"type": "leave"}).to_string()).await;
    (meeting, ids)
}

#[tokio::test]
async fn an_auditor_picks_the_meeting_and_sees_who_was_in_it() {
    let server = common::start().await;
    let (meeting, [chair, maja, asa, other]) = a_meeting(&server).await;
    let auditor = server
        .session_named("granskare", "Gun Granskare", &["auditor"])
        .await;

    let (status, list) = get(&server, "/api/v1/audit/meetings", Some(&auditor)).await;
    assert_eq!(status, 200, "{list}");
    let listed = list["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["meeting_id"] == meeting.as_str())
        .expect("the meeting is in the list");
    assert_eq!(listed["title"], "Vårdplanering hjärta");
    assert_eq!(listed["participants"], 4, "{listed}");
    let trail = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap();
    assert!(trail
        .iter()
        .any(|e| e.event == "audit_meetings_listed" && e.actor.as_deref() == Some("u_granskare")));
    // The list follows a time range: nothing made after 2099.
    let (status, later) = get(
        &server,
        "/api/v1/audit/meetings?from=4070908800",
        Some(&auditor),
    )
    .await;
    assert_eq!(
        (status, later["meetings"].as_array().unwrap().len()),
        (200, 0)
    );
    let (_, one) = get(
        &server,
        "/api/v1/audit/meetings?limit=1&from=0&to=4102444800",
        Some(&auditor),
    )
    .await;
    assert_eq!(one["meetings"].as_array().unwrap().len(), 1);

    let (status, body) = get(
        &server,
        &format!("/api/v1/audit?meeting={meeting}"),
        Some(&auditor),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meeting"]["title"], "Vårdplanering hjärta");
    assert!(
        body["meeting"]["started_at"].is_i64(),
        "{}",
        body["meeting"]
    );
    assert_eq!(
        body["meeting"]["consent_at"],
        Value::Null,
        "no consent was recorded"
    );
    let people = &body["people"];
    assert_eq!(people[&chair]["kind"], "staff", "{people}");
    assert_eq!(people[&chair]["name"], "Karin Lind");
    assert_eq!(people[&chair]["user_id"], "u_karin");
    assert_eq!(people[&maja]["kind"], "guest");
    assert_eq!(people[&maja]["name"], "Maja Svensson");
    assert_eq!(people[&maja]["invitation"], "patient");
    assert_eq!(people[&asa]["invitation"], "relative");
    assert_eq!(
        people["u_karin"]["name"], "Karin Lind",
        "the convener's account"
    );
    let attendance = body["attendance"].as_array().unwrap();
    let of = |id: &str| {
        attendance
            .iter()
            .find(|a| a["participant_id"] == id)
            .unwrap()
            .clone()
    };
    assert!(of(&chair)["joined_at"].is_i64());
    assert_eq!(of(&maja)["admitted_by"], chair.as_str());
    // Both recorded (an Option compared with None would pass), the knock first.
    let knocked = of(&maja)["knocked_at"].as_i64().expect("knocked_at");
    assert!(knocked <= of(&maja)["admitted_at"].as_i64().expect("admitted_at"));
    assert_eq!(of(&other)["left_how"], "denied");
    assert_eq!(of(&other)["admitted_at"], Value::Null);
    assert_eq!(body["truncated"], false);

    // A booking system is named by its token's name, never the token.
    let token = api_token(&server, &["meetings:write"]).await;
    let booked = create(
        &server,
        As::Token(&token.secret),
        json!({"title": "Bokat möte"}),
    )
    .await;
    let (_, body) = get(
        &server,
        &format!("/api/v1/audit?meeting={booked}"),
        Some(&auditor),
    )
    .await;
    let system = &body["people"][format!("api:{}", token.id)];
    assert_eq!(system["kind"], "system", "{body}");
    assert_eq!(system["name"], format!("booking (api:{})", token.id));
    assert!(!body.to_string().contains(&token.secret));

    // By part of a name, letter case and Swedish letters ignored.
    for name in ["maja", "MAJA SV", "åsa", "ÖBERG"] {
        let (status, found) = get(
            &server,
            &format!("/api/v1/audit?name={}", urlencode(name)),
            Some(&auditor),
        )
        .await;
        assert_eq!(status, 200, "{found}");
        let entries = found["entries"].as_array().unwrap();
        assert!(!entries.is_empty(), "{name}");
        let whom = if name.to_lowercase().contains("maja") {
            &maja
        } else {
            &asa
        };
        assert!(
            entries
                .iter()
                .all(|e| e["actor"] == whom.as_str() || e["subject"] == whom.as_str()),
            "{name}: {found}"
        );
    }
    // A name and an id that do not go together find nothing.
    let (_, none) = get(
        &server,
        &format!("/api/v1/audit?name=maja&person={asa}"),
        Some(&auditor),
    )
    .await;
    assert_eq!(none["entries"].as_array().unwrap().len(), 0);

    // By time: nothing before 1971, everything the meeting did up to 2100.
    let (_, early) = get(
        &server,
        &format!("/api/v1/audit?meeting={meeting}&from=0&to=31536000"),
        Some(&auditor),
    )
    .await;
    assert_eq!(early["entries"].as_array().unwrap().len(), 0);
    assert!(
        early["attendance"].as_array().unwrap().len() >= 4,
        "who was in it is the whole meeting's"
    );

    // Bounded: one entry, and told there are more.
    let (_, one) = get(
        &server,
        &format!("/api/v1/audit?meeting={meeting}&limit=1"),
        Some(&auditor),
    )
    .await;
    assert_eq!(one["entries"].as_array().unwrap().len(), 1);
    assert_eq!(one["truncated"], true);

    // The export names people too.
    let csv = reqwest::Client::new()
        .get(server.url(&format!("/api/v1/audit?meeting={meeting}&format=csv")))
        .header("cookie", &auditor)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with(
        "seq,at,meeting_id,event,actor,subject,details,hash,actor_name,subject_name\n"
    ));
    assert!(
        csv.contains(",Karin Lind (chair),Maja Svensson (patient)\n"),
        "{csv}"
    );
}

#[tokio::test]
async fn hostile_searches_get_a_clean_refusal_and_read_nothing() {
    let server = common::start().await;
    let (meeting, _) = a_meeting(&server).await;
    let auditor = server.session_with_roles("granskare", &["auditor"]).await;
    let staff = server.session_with_roles("sara", &["staff", "admin"]).await;
    for path in [
        "/api/v1/audit/meetings",
        "/api/v1/audit",
        "/api/v1/audit?meeting=x",
    ] {
        assert_eq!(get(&server, path, None).await.0, 401, "{path}");
        assert_eq!(
            get(&server, path, Some("sluss_session=made-up")).await.0,
            401,
            "{path}"
        );
        let (status, body) = get(&server, path, Some(&staff)).await;
        assert_eq!(status, 403, "{path}");
        assert!(body.get("meetings").is_none() && body.get("entries").is_none());
    }
    let long = "a".repeat(65);
    let huge = "b".repeat(5000);
    let refused = [
        ("/api/v1/audit?from=-1", "bad_time_range"),
        ("/api/v1/audit?to=4102444801", "bad_time_range"),
        ("/api/v1/audit?from=200&to=100", "bad_time_range"),
        ("/api/v1/audit?from=99999999999999999999999", "bad_request"),
        ("/api/v1/audit?limit=0", "bad_limit"),
        ("/api/v1/audit?limit=10001", "bad_limit"),
        ("/api/v1/audit?limit=-5", "bad_request"),
        ("/api/v1/audit?meeting=%27%20OR%201%3D1%20--", "bad_request"),
        (&format!("/api/v1/audit?meeting={long}"), "bad_request"),
        (&format!("/api/v1/audit?person={long}"), "bad_request"),
        ("/api/v1/audit?person=", "bad_request"),
        (&format!("/api/v1/audit?name={huge}"), "bad_request"),
        ("/api/v1/audit?name=%00%01", "bad_request"),
        (
            &format!("/api/v1/audit?name={PERSONNUMMER}"),
            "personal_identity_number",
        ),
        (
            "/api/v1/audit?name=Maja%20191212121212",
            "personal_identity_number",
        ),
        ("/api/v1/audit?format=xml", "bad_request"),
        ("/api/v1/audit?sql=drop", "bad_request"),
        ("/api/v1/audit?meeting=a&meeting=b", "bad_request"),
        ("/api/v1/audit/meetings?limit=1001", "bad_limit"),
        ("/api/v1/audit/meetings?from=5&to=4", "bad_time_range"),
        ("/api/v1/audit/meetings?title=x", "bad_request"),
    ];
    // Reads are what a refused search must not make (the meeting's own task may still be
    // writing its last entries meanwhile).
    let reads = |trail: &[sluss_signaling::store::AuditEntry]| {
        trail
            .iter()
            .filter(|e| e.event.starts_with("audit_"))
            .count()
    };
    let before = reads(
        &server
            .store
            .audit_entries(None, None, None, None)
            .await
            .unwrap(),
    );
    for (path, code) in refused {
        let (status, body) = get(&server, path, Some(&auditor)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some(code)),
            "{path}: {body}"
        );
        assert!(body.get("entries").is_none());
    }
    let trail = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap();
    assert_eq!(
        reads(&trail),
        before,
        "a refused search reads nothing and so records nothing"
    );
    // A vague name matches nobody here, but is fine; a meeting id that does not exist is empty.
    let (status, body) = get(
        &server,
        "/api/v1/audit?meeting=m_nonexistent",
        Some(&auditor),
    )
    .await;
    assert_eq!(
        (status, body["entries"].as_array().unwrap().len()),
        (200, 0)
    );
    assert_eq!(body["attendance"].as_array().unwrap().len(), 0);
    let (status, _) = get(&server, &format!("/api/v1/audit?meeting={meeting}&name=Karin&from=0&to=4102444800&limit=10000&format=json"), Some(&auditor)).await;
    assert_eq!(status, 200);

    // A name that fits more than 200 people is too vague to search by.
    for i in 0..201 {
        let knock = sluss_signaling::store::AuditEvent {
            meeting_id: Some("m_many".into()),
            event: "knocked",
            subject: Some(format!("p_many{i}")),
            details: json!({"name": format!("Anna Andersson {i}"), "role": "guest"}),
            ..Default::default()
        };
        server.store.audit(knock, 1_000).await.unwrap();
    }
    let (status, body) = get(
        &server,
        "/api/v1/audit?name=anna%20andersson",
        Some(&auditor),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("name_too_vague"))
    );
    let (status, body) = get(
        &server,
        "/api/v1/audit?name=Anna%20Andersson%20200",
        Some(&auditor),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["entries"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["people"]["p_many200"]["name"], "Anna Andersson 200");

    // No personal identity number anywhere in the trail; every read and listing is in it.
    let trail = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap();
    for e in &trail {
        let text = format!("{} {:?} {:?}", e.details, e.actor, e.subject);
        assert!(!text.contains("1212"), "{text}");
    }
    // Each read records the name searched for.
    assert!(trail
        .iter()
        .any(|e| e.event == "audit_read" && e.details["name"] == "Karin"));
    assert_eq!(
        server.store.verify_audit_chain().await.unwrap(),
        sluss_signaling::store::ChainCheck::Intact {
            entries: trail.len() as u64
        }
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

//! R2, embedded default: staff log in with a password and a TOTP code; neither alone is enough,
//! a code works once, repeated failures from one address make it wait, and only administrators
//! add staff.

mod common;

use common::{admit, join, join_on, recv_type, start, Server};
use sluss_signaling::secret::Secret;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn code(secret: &str, at: u64) -> String {
    let key = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret).unwrap();
    totp_rs::Builder::new()
        .with_secret(key)
        .with_account_name("x")
        .build()
        .unwrap()
        .generate(at)
        .to_string()
}

struct Browser {
    http: reqwest::Client,
}

impl Browser {
    fn new() -> Browser {
        // A cookie jar, as a browser has; the cookie is `Secure`, so carry it by hand.
        Browser {
            http: reqwest::Client::new(),
        }
    }

    async fn post(
        &self,
        server: &Server,
        path: &str,
        body: serde_json::Value,
        cookie: Option<&str>,
    ) -> (u16, Option<String>, serde_json::Value) {
        let mut req = self.http.post(server.url(path)).json(&body);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let json = resp.json().await.unwrap_or(serde_json::Value::Null);
        (status, cookie, json)
    }
}

/// Enrols through a link; returns the session cookie, the TOTP key and the code it used.
async fn enroll(
    server: &Server,
    b: &Browser,
    token: &str,
    username: &str,
) -> (String, String, String) {
    let (status, _, begin) = b
        .post(
            server,
            "/api/v1/enroll/begin",
            serde_json::json!({"token": token}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{begin}");
    let key = begin["secret"].as_str().unwrap().to_owned();
    let used = code(&key, now());
    let (status, cookie, body) = b
        .post(
            server,
            "/api/v1/enroll/complete",
            serde_json::json!({
                "token": token, "username": username, "display_name": "Anna Admin",
                "password": "ett långt lösenord", "code": used,
            }),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    (cookie.unwrap(), key, used)
}

async fn first_admin(server: &Server) -> String {
    let token = Secret::generate();
    let n = now() as i64;
    server
        .store
        .reset_first_enrollment(&token.hash(), n, n + 3600)
        .await
        .unwrap();
    token.expose().to_owned()
}

#[tokio::test]
async fn a_password_alone_never_suffices_and_a_code_works_once() {
    let server = start().await;
    let b = Browser::new();
    let token = first_admin(&server).await;
    let (_cookie, key, used) = enroll(&server, &b, &token, "anna").await;
    let login = |password: &str, code: &str| serde_json::json!({"username": "anna", "password": password, "code": code});
    for (body, why) in [
        (login("ett långt lösenord", ""), "no code"),
        (login("ett långt lösenord", "000000"), "wrong code"),
        (
            login("fel lösenord helt", &code(&key, now())),
            "wrong password",
        ),
        (
            serde_json::json!({"username": "nobody", "password": "ett långt lösenord", "code": "123456"}),
            "unknown user",
        ),
    ] {
        let (status, cookie, json) = b.post(&server, "/api/v1/login", body, None).await;
        assert_eq!(
            (status, json["error"]["code"].as_str()),
            (401, Some("login_failed")),
            "{why}"
        );
        assert!(cookie.is_none(), "{why}");
    }
    // The enrolment used the current step's code: it cannot log in again (a code works once).
    let (status, cookie, _) = b
        .post(
            &server,
            "/api/v1/login",
            login("ett långt lösenord", &used),
            None,
        )
        .await;
    assert_eq!(status, 401, "a code works once");
    assert!(cookie.is_none());
    // The next step's code (within the allowed clock skew) with the password: in.
    let next = code(&key, now() + 30);
    let (status, cookie, _) = b
        .post(
            &server,
            "/api/v1/login",
            login("ett långt lösenord", &next),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let cookie = cookie.expect("a session cookie");
    let me: serde_json::Value = b
        .http
        .get(server.url("/api/v1/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["roles"], serde_json::json!(["staff", "admin"]));
    // And the same code a second time: refused.
    let (status, _, _) = b
        .post(
            &server,
            "/api/v1/login",
            login("ett långt lösenord", &next),
            None,
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn five_failures_make_that_address_wait_and_are_audited_as_counts() {
    let server = start().await;
    let b = Browser::new();
    let token = first_admin(&server).await;
    let (_cookie, key, _) = enroll(&server, &b, &token, "bertil").await;
    for _ in 0..5 {
        let body = serde_json::json!({"username": "bertil", "password": "fel fel fel fel", "code": "111111"});
        assert_eq!(b.post(&server, "/api/v1/login", body, None).await.0, 401);
    }
    // Now even the right password and a fresh code are refused from this address.
    let body = serde_json::json!({"username": "bertil", "password": "ett långt lösenord", "code": code(&key, now() + 30)});
    assert_eq!(b.post(&server, "/api/v1/login", body, None).await.0, 401);
    server.state.audit_tally.flush().await.unwrap();
    let trail = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap();
    let refused: Vec<_> = trail
        .iter()
        .filter(|e| e.event == "login_refused")
        .collect();
    assert_eq!(refused.len(), 1, "one entry for the five");
    assert_eq!(refused[0].details["count"], 5);
    assert!(trail
        .iter()
        .any(|e| e.event == "login_locked" && e.details["count"] == 1));
}

#[tokio::test]
async fn only_an_administrator_adds_staff_who_then_enrol() {
    let server = start().await;
    let b = Browser::new();
    let token = first_admin(&server).await;
    let (admin_cookie, _, _) = enroll(&server, &b, &token, "admin").await;
    let new_user = serde_json::json!({"username": "cecilia", "display_name": "Cecilia Sköterska", "roles": ["staff"]});
    let (status, _, created) = b
        .post(&server, "/api/v1/users", new_user, Some(&admin_cookie))
        .await;
    assert_eq!(status, 201, "{created}");
    let link = created["enrollment_link"].as_str().unwrap();
    let staff_token = link.rsplit_once('#').unwrap().1;
    let (staff_cookie, _, _) = enroll(&server, &b, staff_token, "ignored-preset-wins").await;
    // Staff can create meetings but not users.
    let body = serde_json::json!({"username": "dan", "display_name": "Dan", "roles": ["admin"]});
    let (status, _, _) = b
        .post(&server, "/api/v1/users", body, Some(&staff_cookie))
        .await;
    assert_eq!(status, 403);
    let (status, _, _) = b
        .post(
            &server,
            "/api/v1/meetings",
            serde_json::json!({"title": "Möte", "guests": 1}),
            Some(&staff_cookie),
        )
        .await;
    assert_eq!(status, 201);
    // Bad input is refused with a reason.
    for body in [
        serde_json::json!({"username": "x y", "display_name": "D", "roles": ["staff"]}),
        serde_json::json!({"username": "dan", "display_name": "Dan 19811218-9876", "roles": ["staff"]}),
        serde_json::json!({"username": "dan", "display_name": "Dan", "roles": ["root"]}),
    ] {
        let (status, _, json) = b
            .post(&server, "/api/v1/users", body.clone(), Some(&admin_cookie))
            .await;
        assert_eq!(status, 400, "{body} {json}");
    }
    // Logout ends the session.
    let (status, _, _) = b
        .post(
            &server,
            "/api/v1/logout",
            serde_json::json!({}),
            Some(&staff_cookie),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _, _) = b
        .post(
            &server,
            "/api/v1/meetings",
            serde_json::json!({"title": "Möte"}),
            Some(&staff_cookie),
        )
        .await;
    assert_eq!(status, 401);
}

/// A JSON request with a cookie: the status and the body.
async fn call(
    method: reqwest::Method,
    server: &Server,
    path: &str,
    cookie: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new().request(method, server.url(path));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn administrators_manage_accounts_audited_and_in_force_at_once() {
    use reqwest::Method;
    let server = start().await;
    let admin = server.session_with_roles("ada", &["admin"]).await;
    let karin = server.session_with_roles("karin", &["staff"]).await;
    let patch = |body: serde_json::Value| {
        let admin = admin.clone();
        let server = &server;
        async move {
            call(
                Method::PATCH,
                server,
                "/api/v1/users/u_karin",
                Some(&admin),
                Some(body),
            )
            .await
        }
    };

    // Only an administrator sees the accounts.
    assert_eq!(
        call(Method::GET, &server, "/api/v1/users", Some(&karin), None)
            .await
            .0,
        403
    );
    assert_eq!(
        call(Method::GET, &server, "/api/v1/users", None, None)
            .await
            .0,
        401
    );
    let (status, list) = call(Method::GET, &server, "/api/v1/users", Some(&admin), None).await;
    assert_eq!(status, 200, "{list}");
    let users = list["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    let k = users.iter().find(|u| u["id"] == "u_karin").unwrap();
    assert_eq!(k["roles"], serde_json::json!(["staff"]));
    assert_eq!(k["login"], "password_and_authenticator");
    assert_eq!(k["disabled"], false);
    assert!(k["last_login_at"].as_i64().is_some(), "{k}");
    assert!(!list.to_string().contains("password_hash") && !list.to_string().contains("totp"));

    // Karin chairs a meeting with a guest in it.
    let (chair_token, guests) = server.meeting(1).await;
    let (mut chair, _) =
        join_on(server.ws_with_cookie(&karin).await, &chair_token, "K", None).await;
    let (mut guest, joined) = join(&server, &guests[0], "Bertil").await;
    admit(&mut chair, &mut guest, &joined).await;

    // Disabled: her page loses the chair at once, her session is gone.
    let (status, body) = patch(serde_json::json!({"disabled": true})).await;
    assert_eq!(
        (status, body["disabled"].clone()),
        (200, true.into()),
        "{body}"
    );
    assert_eq!(
        recv_type(&mut chair, "error").await["code"],
        "login_required"
    );
    let state = recv_type(&mut guest, "meeting_state_changed").await;
    assert!(state["meeting"]["chair_id"].is_null(), "nobody chairs now");
    let (status, _) = call(Method::GET, &server, "/api/v1/meetings", Some(&karin), None).await;
    assert_eq!(status, 401, "her session ended");

    // The last administrator stays one, and nobody disables themselves.
    let last = call(
        Method::PATCH,
        &server,
        "/api/v1/users/u_ada",
        Some(&admin),
        Some(serde_json::json!({"roles": ["staff"]})),
    )
    .await;
    assert_eq!(
        (last.0, last.1["error"]["code"].clone()),
        (409, "last_administrator".into())
    );
    let own = call(
        Method::PATCH,
        &server,
        "/api/v1/users/u_ada",
        Some(&admin),
        Some(serde_json::json!({"disabled": true})),
    )
    .await;
    assert_eq!(
        (own.0, own.1["error"]["code"].clone()),
        (409, "own_account".into())
    );

    // Enabled again with another role, unlocked.
    let (status, body) = patch(
        serde_json::json!({"disabled": false, "roles": ["staff", "auditor"], "unlock": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["roles"], serde_json::json!(["staff", "auditor"]));
    assert_eq!(body["disabled"], false);

    // Hostile and mistaken input: a clear refusal, nothing changed.
    for (body, expected) in [
        (serde_json::json!({"roles": ["root"]}), 400),
        (serde_json::json!({"roles": []}), 400),
        (serde_json::json!({"disabled": "yes"}), 400),
        (serde_json::json!({"owner": true}), 400),
    ] {
        let (status, json) = patch(body.clone()).await;
        assert_eq!(status, expected, "{body} {json}");
    }
    let long = format!("/api/v1/users/{}", "x".repeat(5000));
    assert_eq!(
        call(
            Method::PATCH,
            &server,
            &long,
            Some(&admin),
            Some(serde_json::json!({"unlock": true}))
        )
        .await
        .0,
        404
    );
    let nobody = call(
        Method::PATCH,
        &server,
        "/api/v1/users/u_nobody",
        Some(&admin),
        Some(serde_json::json!({"unlock": true})),
    )
    .await;
    assert_eq!(nobody.0, 404);

    // A lost phone: a reset link gives the same account a new password and authenticator.
    let (status, reset) = call(
        Method::POST,
        &server,
        "/api/v1/users/u_karin/authenticator",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 201, "{reset}");
    let token = reset["enrollment_link"]
        .as_str()
        .unwrap()
        .rsplit_once('#')
        .unwrap()
        .1
        .to_owned();
    let (new_cookie, _, _) = enroll(&server, &Browser::new(), &token, "someone-else").await;
    let (status, list) = call(Method::GET, &server, "/api/v1/users", Some(&admin), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        list["users"].as_array().unwrap().len(),
        2,
        "the same account, not a new one"
    );
    let (status, me) = call(
        Method::GET,
        &server,
        "/api/v1/session",
        Some(&new_cookie),
        None,
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert!(me.to_string().contains("karin"), "{me}");
    // Another reset (the phone lost again): her session ends at once, not when the link is used.
    let (status, _) = call(
        Method::POST,
        &server,
        "/api/v1/users/u_karin/authenticator",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = call(
        Method::GET,
        &server,
        "/api/v1/meetings",
        Some(&new_cookie),
        None,
    )
    .await;
    assert_eq!(status, 401, "the reset ended her session");

    // Every change is in the audit trail: who did it, to whom.
    let trail = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap();
    for event in [
        "staff_disabled",
        "staff_enabled",
        "staff_roles_changed",
        "staff_unlocked",
        "staff_authenticator_reset",
    ] {
        let entry = trail
            .iter()
            .find(|e| e.event == event)
            .unwrap_or_else(|| panic!("{event} audited"));
        assert_eq!(entry.actor.as_deref(), Some("u_ada"), "{event}");
        assert_eq!(entry.subject.as_deref(), Some("u_karin"), "{event}");
    }
}

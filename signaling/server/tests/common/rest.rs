//! REST calls as a booking system (API token) or a member of staff (session cookie).

use sluss_signaling::secret::{random_id, Secret};

use super::Server;

/// Who makes a call.
#[derive(Clone, Copy)]
pub enum As<'a> {
    Nobody,
    Token(&'a str),
    Cookie(&'a str),
}

/// A booking system's API token: its id (as the audit trail names it) and its secret.
pub struct ApiToken {
    pub id: String,
    pub secret: String,
}

pub async fn api_token(server: &Server, scopes: &[&str]) -> ApiToken {
    let secret = Secret::generate();
    let id = random_id("t_");
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    server
        .store
        .create_api_token(&id, "booking", &secret.hash(), &scopes, 0)
        .await
        .unwrap();
    ApiToken {
        id,
        secret: secret.expose().to_owned(),
    }
}

/// A staff account with these roles and a logged-in session, made directly in the store.
pub struct StaffUser {
    pub id: String,
    pub cookie: String,
}

pub async fn staff_user(server: &Server, username: &str, roles: &[&str]) -> StaffUser {
    StaffUser {
        id: format!("u_{username}"),
        cookie: server.session_with_roles(username, roles).await,
    }
}

/// A call to the API; answers the status and the JSON body (Null when there is none).
pub async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    who: As<'_>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new().request(method, server.url(&format!("/api/v1{path}")));
    match who {
        As::Nobody => {}
        As::Token(t) => req = req.bearer_auth(t),
        As::Cookie(c) => req = req.header("cookie", c),
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let json = resp.json().await.unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// The ids of the meetings the caller's list shows, with the caller's role in each.
pub async fn listed(server: &Server, who: As<'_>) -> Vec<(String, String)> {
    let (status, list) = call(server, reqwest::Method::GET, "/meetings", who, None).await;
    assert_eq!(status, 200, "{list}");
    list["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["meeting_id"].as_str().unwrap().to_owned(),
                m["caller_role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Creates a meeting and answers its id.
pub async fn create(server: &Server, who: As<'_>, body: serde_json::Value) -> String {
    let (status, created) = call(server, reqwest::Method::POST, "/meetings", who, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created["meeting_id"].as_str().unwrap().to_owned()
}

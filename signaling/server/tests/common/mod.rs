//! Starts the real signaling app (store, media workers, WebSocket) on loopback for a test.
#![allow(dead_code)]

pub mod rest;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sluss_meeting::MeetingConfig;
use sluss_net::{Media, MediaConfig};
use sluss_protocol::InvitationRole;
use sluss_relay::RelayConfig;
use sluss_signaling::secret::Secret;
use sluss_signaling::store::NewLink;
use sluss_signaling::{AppState, SignalingConfig, Store};
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Server {
    pub addr: SocketAddr,
    /// The operations listener (`/metrics`, `/healthz`, `/readyz`).
    pub ops_addr: SocketAddr,
    pub store: Store,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    /// Chair tokens: their holder joins with a staff session, as the chair must (R2).
    chairs: std::sync::Mutex<std::collections::HashSet<String>>,
    staff_cookie: tokio::sync::OnceCell<String>,
    _shutdown: tokio::sync::watch::Sender<bool>,
}

pub async fn start() -> Server {
    start_with(MeetingConfig::default()).await
}

pub async fn start_with(meeting: MeetingConfig) -> Server {
    start_configured(meeting, None).await
}

pub async fn start_configured(
    meeting: MeetingConfig,
    turn: Option<sluss_signaling::turn::TurnConfig>,
) -> Server {
    start_full(
        meeting,
        turn,
        None,
        sluss_signaling::limits::Limits::default(),
    )
    .await
}

/// With these abuse limits (and optionally a staff identity provider).
pub async fn start_limited(
    limits: sluss_signaling::limits::Limits,
    staff_oidc: Option<sluss_signaling::oidc::OidcConfig>,
) -> Server {
    start_full(MeetingConfig::default(), None, staff_oidc, limits).await
}

pub async fn start_full(
    meeting: MeetingConfig,
    turn: Option<sluss_signaling::turn::TurnConfig>,
    staff_oidc: Option<sluss_signaling::oidc::OidcConfig>,
    limits: sluss_signaling::limits::Limits,
) -> Server {
    start_all(meeting, turn, staff_oidc, limits, None, vec![]).await
}

/// With a telephone trunk (R14).
pub async fn start_with_phone(phone: Arc<sluss_signaling::phone::PhoneService>) -> Server {
    let limits = sluss_signaling::limits::Limits::default();
    start_all(
        MeetingConfig::default(),
        None,
        None,
        limits,
        Some(phone),
        vec![],
    )
    .await
}

/// A server that sends signed webhooks to these endpoints.
pub async fn start_with_webhooks(webhooks: Vec<sluss_signaling::webhooks::Endpoint>) -> Server {
    let limits = sluss_signaling::limits::Limits::default();
    start_all(MeetingConfig::default(), None, None, limits, None, webhooks).await
}

async fn start_all(
    meeting: MeetingConfig,
    turn: Option<sluss_signaling::turn::TurnConfig>,
    staff_oidc: Option<sluss_signaling::oidc::OidcConfig>,
    limits: sluss_signaling::limits::Limits,
    phone: Option<Arc<sluss_signaling::phone::PhoneService>>,
    webhooks: Vec<sluss_signaling::webhooks::Endpoint>,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).await.unwrap();
    let media = Arc::new(
        Media::start(&MediaConfig {
            batched_io: true,
            bind_ip: [127, 0, 0, 1].into(),
            port: 0,
            workers: 1,
            relay: RelayConfig::default(),
        })
        .unwrap(),
    );
    let (tx, rx) = tokio::sync::watch::channel(false);
    let state = AppState::new(
        SignalingConfig {
            public_url: "https://localhost:1".into(),
            announce_ip: Some([127, 0, 0, 1].into()),
            meeting,
            session_ttl: Duration::from_secs(3600),
            link_ttl: Duration::from_secs(3600),
            staff_oidc,
            citizen_eid: None,
            turn,
            limits,
            phone,
            data_dir: Some(dir.path().to_owned()),
            webhooks,
        },
        store.clone(),
        media,
        rx,
    );
    let app = sluss_signaling::app(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        // As the binary serves it: with the peer address, which the rate limits key on.
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, app).await;
    });
    let ops = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ops_addr = ops.local_addr().unwrap();
    let ops_app = sluss_signaling::ops_app(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(ops, ops_app).await;
    });
    Server {
        addr,
        ops_addr,
        store,
        state,
        dir,
        chairs: Default::default(),
        staff_cookie: Default::default(),
        _shutdown: tx,
    }
}

impl Server {
    /// A meeting with a chair link and `guests` guest links; returns the tokens.
    pub async fn meeting(&self, guests: usize) -> (String, Vec<String>) {
        let chair = Secret::generate();
        let guest: Vec<Secret> = (0..guests).map(|_| Secret::generate()).collect();
        let mut links = vec![NewLink {
            id: sluss_signaling::secret::random_id("l_"),
            token_hash: chair.hash(),
            role: InvitationRole::Chair,
            expires_at: None,
        }];
        for g in &guest {
            links.push(NewLink {
                id: sluss_signaling::secret::random_id("l_"),
                token_hash: g.hash(),
                role: InvitationRole::Guest,
                expires_at: None,
            });
        }
        let id = sluss_signaling::secret::random_id("m_");
        self.store
            .create_meeting(&id, "Vårdplanering", true, 0, &links)
            .await
            .unwrap();
        self.mark_chair(chair.expose());
        (
            chair.expose().to_owned(),
            guest.iter().map(|g| g.expose().to_owned()).collect(),
        )
    }

    pub async fn ws(&self) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", self.addr))
            .await
            .unwrap();
        ws
    }

    pub fn mark_chair(&self, token: &str) {
        self.chairs.lock().unwrap().insert(token.to_owned());
    }

    fn is_chair(&self, token: &str) -> bool {
        self.chairs.lock().unwrap().contains(token)
    }

    /// A logged-in staff member's session cookie (made directly in the store).
    pub async fn staff_cookie(&self) -> String {
        self.staff_cookie
            .get_or_init(|| self.session_named("anna", "Anna", &["staff"]))
            .await
            .clone()
    }

    /// A WebSocket with the staff session cookie.
    pub async fn ws_as_staff(&self) -> Ws {
        let cookie = self.staff_cookie().await;
        self.ws_with_cookie(&cookie).await
    }

    /// A session for a new account with these roles; returns the cookie.
    pub async fn session_with_roles(&self, username: &str, roles: &[&str]) -> String {
        self.session_named(username, username, roles).await
    }

    /// A session for a new account `u_<username>` with this display name and these roles.
    pub async fn session_named(&self, username: &str, display: &str, roles: &[&str]) -> String {
        let enrollment = Secret::generate();
        let now = sluss_signaling::unix_now();
        self.store
            .create_enrollment(
                &enrollment.hash(),
                Some(username),
                Some(display),
                roles,
                now,
                now + 60,
            )
            .await
            .unwrap();
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        let user_id = format!("u_{username}");
        assert!(self
            .store
            .complete_enrollment(
                &enrollment.hash(),
                &user_id,
                username,
                display,
                "x",
                &[0; 20],
                &roles,
                now
            )
            .await
            .unwrap());
        let session = Secret::generate();
        self.store
            .create_session(&session.hash(), &user_id, now, now + 3600)
            .await
            .unwrap();
        format!("sluss_session={}", session.expose())
    }

    /// A WebSocket carrying this cookie (a staff session), from a page of the same site.
    pub async fn ws_with_cookie(&self, cookie: &str) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{}/ws", self.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("cookie", cookie.parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        ws
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// As at SIGTERM: the service drains (the socket's senders are told to stop).
    pub fn drain(&self) {
        let _ = self._shutdown.send(true);
    }

    /// A URL on the operations listener.
    pub fn ops_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.ops_addr)
    }
}

pub async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::Text(text.into())).await.unwrap();
}

/// The next JSON message, or None when the socket closed; panics after 5 s.
pub async fn recv(ws: &mut Ws) -> Option<serde_json::Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s");
        match msg {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => continue,
        }
    }
}

/// Waits for a message of this type, skipping others.
pub async fn recv_type(ws: &mut Ws, kind: &str) -> serde_json::Value {
    for _ in 0..20 {
        let m = recv(ws)
            .await
            .unwrap_or_else(|| panic!("socket closed while waiting for {kind}"));
        if m["type"] == kind {
            return m;
        }
    }
    panic!("no {kind} message");
}

pub async fn join(server: &Server, token: &str, name: &str) -> (Ws, serde_json::Value) {
    let mut ws = if server.is_chair(token) {
        server.ws_as_staff().await
    } else {
        server.ws().await
    };
    send(
        &mut ws,
        &serde_json::json!({"type": "join", "v": 1, "token": token, "display_name": name})
            .to_string(),
    )
    .await;
    let joined = recv_type(&mut ws, "joined").await;
    (ws, joined)
}

impl Server {
    /// A meeting whose only (guest) link expired a minute ago; returns the token.
    pub async fn expired_link(&self) -> String {
        let token = Secret::generate();
        let links = vec![NewLink {
            id: sluss_signaling::secret::random_id("l_"),
            token_hash: token.hash(),
            role: InvitationRole::Guest,
            expires_at: Some(sluss_signaling::unix_now() - 60),
        }];
        let id = sluss_signaling::secret::random_id("m_");
        self.store
            .create_meeting(&id, "Gammalt möte", true, 0, &links)
            .await
            .unwrap();
        token.expose().to_owned()
    }
}

/// The chair lets the guest in; returns the guest's `admitted` message.
pub async fn admit(
    chair: &mut Ws,
    guest: &mut Ws,
    guest_joined: &serde_json::Value,
) -> serde_json::Value {
    let id = guest_joined["participant_id"].as_str().unwrap().to_owned();
    let knock = recv_type(chair, "knock").await;
    assert_eq!(knock["participant"]["participant_id"], id.as_str());
    send(
        chair,
        &serde_json::json!({"type": "admit", "participant_id": id}).to_string(),
    )
    .await;
    recv_type(guest, "admitted").await
}

/// Sends a join on this socket (with a resume secret, if given) and returns the first answer:
/// `joined`, or an `error`.
pub async fn join_on(
    mut ws: Ws,
    token: &str,
    name: &str,
    resume: Option<&str>,
) -> (Ws, serde_json::Value) {
    let mut join =
        serde_json::json!({"type": "join", "v": 1, "token": token, "display_name": name});
    if let Some(r) = resume {
        join["resume"] = r.into();
    }
    send(&mut ws, &join.to_string()).await;
    let first = recv(&mut ws).await.expect("an answer to the join");
    (ws, first)
}

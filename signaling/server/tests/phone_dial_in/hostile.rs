//! Hostile SIP against the dial-in listener, over TLS as any client on the network can reach
//! it, while a real caller (baresip) is in a meeting:
//! - enumeration: REGISTER and OPTIONS to many users get the same answer for every user;
//! - an INVITE flood from ten connections: at most the free dial-in places are answered,
//!   the rest are refused busy at once, and the caller's call goes on untouched;
//! - garbage, a huge message and a header flood: the connection is dropped, the listener
//!   keeps answering.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::sip_peers::World;

/// How long a connection is read for answers at most.
const LISTEN: Duration = Duration::from_secs(8);
/// How long a connection sent garbage is read for an answer.
const GARBAGE: Duration = Duration::from_secs(2);

pub struct Attacker {
    connector: TlsConnector,
    port: u16,
}

impl Attacker {
    pub fn new(world: &World, port: u16) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        let ca = CertificateDer::from_pem_slice(world.ca_pem().as_bytes()).expect("CA");
        roots.add(ca).expect("CA added");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            connector: TlsConnector::from(Arc::new(config)),
            port,
        }
    }

    pub async fn connect(&self) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        self.connector.connect(name, tcp).await.expect("TLS")
    }

    /// Sends `requests` on one connection and reads the answers until each has its final
    /// status, or `wait` is over: the first final status of each call, in order. (A 200 to
    /// an INVITE is repeated until acknowledged; it counts once.)
    pub async fn exchange(&self, requests: &[String], wait: Duration) -> Vec<u16> {
        let mut tls = self.connect().await;
        for r in requests {
            if tls.write_all(r.as_bytes()).await.is_err() {
                break;
            }
        }
        let _ = tls.flush().await;
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, tls.read(&mut buf)).await {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if final_codes(&String::from_utf8_lossy(&got)).len() >= requests.len() {
                break;
            }
        }
        final_codes(&String::from_utf8_lossy(&got))
    }
}

/// The first final status code (200 and up) of each call in a stream of SIP responses.
fn final_codes(text: &str) -> Vec<u16> {
    let mut seen = std::collections::HashSet::new();
    let mut codes = Vec::new();
    for response in text.split("SIP/2.0 ").skip(1) {
        let Some(code) = response.get(..3).and_then(|c| c.parse::<u16>().ok()) else {
            continue;
        };
        let call = response
            .lines()
            .find_map(|l| l.strip_prefix("Call-ID: "))
            .unwrap_or_default()
            .to_owned();
        if code >= 200 && seen.insert(call) {
            codes.push(code);
        }
    }
    codes
}

pub fn request(method: &str, user: &str, port: u16, id: &str, body: &str) -> String {
    let content_type = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/sdp\r\n".to_owned()
    };
    format!(
        "{method} sip:{user}@127.0.0.1:{port};transport=tls SIP/2.0\r\n\
         Via: SIP/2.0/TLS 127.0.0.1:5099;branch=z9hG4bK-{id}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:+4670000{id_digits}@127.0.0.1>;tag=t{id}\r\n\
         To: <sip:{user}@127.0.0.1>\r\n\
         Call-ID: {id}@attacker\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:scan@127.0.0.1:5099;transport=tls>\r\n\
         {content_type}Content-Length: {len}\r\n\r\n{body}",
        id_digits = id
            .bytes()
            .map(|b| b % 10)
            .fold(0u32, |a, d| (a * 10 + u32::from(d)) % 10_000),
        len = body.len(),
    )
}

/// An offer a dial-in would answer: PCMA with SRTP.
pub const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
    m=audio 40000 RTP/SAVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
    a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:YIyvUXYvGLT9g9NI34RlHa6Xbq5UVFpWpOMnL12Y\r\n";

/// REGISTER and OPTIONS to many users: for each method, one answer for all of them.
pub async fn enumeration_learns_nothing(attacker: &Attacker, port: u16) {
    let users = [
        "100",
        "101",
        "200",
        "admin",
        "dialin",
        "sluss",
        "+46701234567",
        "operator",
    ];
    for method in ["REGISTER", "OPTIONS"] {
        let mut answers = BTreeMap::new();
        for (i, user) in users.iter().enumerate() {
            let codes = attacker
                .exchange(
                    &[request(method, user, port, &format!("enum{method}{i}"), "")],
                    LISTEN,
                )
                .await;
            answers.insert(*user, codes);
        }
        let first = answers.values().next().cloned().unwrap_or_default();
        assert!(!first.is_empty(), "{method}: no answer at all");
        assert!(
            answers.values().all(|a| *a == first),
            "{method}: users answered differently: {answers:?}"
        );
    }
}

/// Two hundred INVITEs from ten connections at once: answered no more than the free places,
/// the rest refused busy (486). Returns how many were refused busy.
pub async fn invite_flood(attacker: &Attacker, port: u16, free: usize) -> usize {
    let mut tasks = Vec::new();
    for c in 0..10 {
        let requests: Vec<String> = (0..20)
            .map(|i| request("INVITE", "dialin", port, &format!("flood{c}x{i}"), OFFER))
            .collect();
        let attacker = Attacker {
            connector: attacker.connector.clone(),
            port,
        };
        tasks.push(tokio::spawn(async move {
            attacker.exchange(&requests, LISTEN).await
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.extend(t.await.unwrap());
    }
    let answered = codes.iter().filter(|c| **c == 200).count();
    // 486 from the dial-in's bound, 480 when even the queue before it is full.
    let busy = codes.iter().filter(|c| **c == 486 || **c == 480).count();
    assert!(
        answered <= free,
        "{answered} flood calls answered, {free} places: {codes:?}"
    );
    assert!(busy >= 150, "only {busy} of 200 refused busy: {codes:?}");
    busy
}

/// Garbage, a huge message and a header flood: each connection is dropped or refused, and
/// a fresh OPTIONS is still answered.
pub async fn garbage_is_dropped(attacker: &Attacker, port: u16) {
    let noise: String = (0..70_000u32)
        .map(|i| char::from(b'!' + (i * 7 % 90) as u8))
        .collect();
    let headers: String = (0..5_000).map(|i| format!("X-Flood-{i}: y\r\n")).collect();
    let flood = request("OPTIONS", "dialin", port, "headers", "").replacen(
        "Max-Forwards",
        &format!("{headers}Max-Forwards"),
        1,
    );
    let huge = request("INVITE", "dialin", port, "huge", &"v".repeat(2_000_000));
    for hostile in [noise, flood, huge, "INVITE\r\n\r\n".to_owned()] {
        let codes = attacker.exchange(&[hostile], GARBAGE).await;
        assert!(
            codes.iter().all(|c| *c >= 400 || *c == 200),
            "an odd answer to garbage: {codes:?}"
        );
    }
    let codes = attacker
        .exchange(&[request("OPTIONS", "dialin", port, "after", "")], LISTEN)
        .await;
    assert_eq!(codes, vec![200], "the listener stopped answering");
}

/// One dialog's worth of requests from the attacker's side, on one connection: what a trunk
/// does in a call. Reads until the final answer to each request.
pub struct Dialogue {
    tls: TlsStream<TcpStream>,
    got: String,
}

impl Dialogue {
    pub async fn open(attacker: &Attacker) -> Self {
        Self {
            tls: attacker.connect().await,
            got: String::new(),
        }
    }

    /// Sends `request` and returns the whole final response to it (the one whose CSeq names
    /// `cseq`), or panics after `LISTEN`.
    pub async fn ask(&mut self, request: &str, cseq: &str) -> String {
        self.tls.write_all(request.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 16 * 1024];
        let deadline = tokio::time::Instant::now() + LISTEN;
        loop {
            for response in self.got.split("SIP/2.0 ").skip(1) {
                let final_code = response.get(..3).and_then(|c| c.parse::<u16>().ok());
                let names = response.lines().any(|l| l == format!("CSeq: {cseq}"));
                if final_code.is_some_and(|c| c >= 200) && names {
                    let answer = format!("SIP/2.0 {response}");
                    self.got.clear();
                    return answer;
                }
            }
            match tokio::time::timeout_at(deadline, self.tls.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => self.got.push_str(&String::from_utf8_lossy(&buf[..n])),
                _ => panic!("no final answer to {cseq}: {}", self.got),
            }
        }
    }

    pub async fn send(&mut self, request: &str) {
        self.tls.write_all(request.as_bytes()).await.unwrap();
    }
}

/// The tag of the To header of a response.
pub fn to_tag(response: &str) -> String {
    response
        .lines()
        .find(|l| l.starts_with("To:"))
        .and_then(|l| l.split(";tag=").nth(1))
        .map(|t| t.trim().to_owned())
        .expect("a To tag")
}

/// An in-dialog request after our INVITE (`id` as in `request`).
pub fn in_dialog(method: &str, port: u16, id: &str, tag: &str, cseq: u32) -> String {
    format!(
        "{method} sip:sluss@127.0.0.1:{port};transport=tls SIP/2.0\r\n\
         Via: SIP/2.0/TLS 127.0.0.1:5099;branch=z9hG4bK-{id}-{cseq}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:+46700001234@127.0.0.1>;tag=t{id}\r\n\
         To: <sip:dialin@127.0.0.1>;tag={tag}\r\n\
         Call-ID: {id}@attacker\r\n\
         CSeq: {cseq} {method}\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

//! Issue 11, item 3: the unauthenticated endpoints hold against floods. Limits are per client
//! address (the tests speak from several loopback addresses), a login lockout is per address
//! and account and wears off, pending identity-provider logins are capped per client, repeated
//! failures become counts in the audit trail, and callback parameters are bounded.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{start, start_limited, Server};
use sluss_signaling::limits::{Limits, LockoutPolicy};

const PASSWORD: &str = "ett långt lösenord";
const TOTP_KEY: [u8; 20] = [7; 20];

fn from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, last]))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn code(step_offset: i64) -> String {
    let at = sluss_signaling::unix_now() + step_offset * 30;
    totp_rs::Builder::new()
        .with_secret(TOTP_KEY.to_vec())
        .with_account_name("x")
        .build()
        .unwrap()
        .generate(at as u64)
        .to_string()
}

/// An account `cecilia` with `PASSWORD` and `TOTP_KEY`, made directly in the store.
async fn account(server: &Server) -> String {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
    let token = sluss_signaling::secret::Secret::generate();
    let now = sluss_signaling::unix_now();
    let store = &server.store;
    store
        .create_enrollment(
            &token.hash(),
            Some("cecilia"),
            None,
            &["staff"],
            now,
            now + 60,
        )
        .await
        .unwrap();
    let roles = vec!["staff".to_owned()];
    assert!(store
        .complete_enrollment(
            &token.hash(),
            "u_cecilia",
            "cecilia",
            "Cecilia",
            &hash,
            &TOTP_KEY,
            &roles,
            now
        )
        .await
        .unwrap());
    "u_cecilia".into()
}

async fn login(
    server: &Server,
    client: &reqwest::Client,
    password: &str,
    code: &str,
) -> reqwest::Response {
    client
        .post(server.url("/api/v1/login"))
        .json(&serde_json::json!({"username": "cecilia", "password": password, "code": code}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_burst_of_logins_from_one_address_is_limited_while_another_address_gets_through() {
    let server = start_limited(
        Limits {
            per_address_per_minute: 1,
            per_address_burst: 3,
            ..Limits::default()
        },
        None,
    )
    .await;
    let attacker = from(2);
    for _ in 0..3 {
        assert_eq!(
            login(&server, &attacker, "fel", "000000").await.status(),
            401
        );
    }
    let limited = login(&server, &attacker, "fel", "000000").await;
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another address is not affected, nor is another group of endpoints from the attacker.
    assert_eq!(
        login(&server, &from(3), "fel", "000000").await.status(),
        401
    );
    let inspect = attacker
        .post(server.url("/api/v1/links/inspect"))
        .json(&serde_json::json!({"token": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(inspect.status(), 404);
}

#[tokio::test]
async fn an_account_locked_from_one_address_logs_in_from_another_and_unlocks_after_the_wait() {
    let server = start_limited(
        Limits {
            lockout: LockoutPolicy {
                free_failures: 3,
                base_delay: Duration::from_millis(400),
                max_delay: Duration::from_millis(400),
                ..LockoutPolicy::default()
            },
            ..Limits::default()
        },
        None,
    )
    .await;
    account(&server).await;
    let attacker = from(2);
    for _ in 0..3 {
        assert_eq!(
            login(&server, &attacker, "fel lösenord", "000000")
                .await
                .status(),
            401
        );
    }
    let locked_at = Instant::now();
    let refused = login(&server, &attacker, PASSWORD, &code(0)).await;
    assert_eq!(refused.status(), 401, "locked for this address");
    assert!(refused.headers().contains_key("retry-after"));
    // The owner, elsewhere, is not locked out by someone else's attempts.
    assert_eq!(
        login(&server, &from(3), PASSWORD, &code(0)).await.status(),
        204
    );
    // And the lock wears off for the attacker's address too (a shared office network).
    tokio::time::sleep(Duration::from_millis(450).saturating_sub(locked_at.elapsed())).await;
    assert_eq!(
        login(&server, &attacker, PASSWORD, &code(1)).await.status(),
        204
    );
}

#[tokio::test]
async fn an_administrators_unlock_lets_the_locked_address_in_at_once() {
    let server = start_limited(
        Limits {
            lockout: LockoutPolicy {
                free_failures: 3,
                base_delay: Duration::from_secs(600),
                max_delay: Duration::from_secs(600),
                ..LockoutPolicy::default()
            },
            ..Limits::default()
        },
        None,
    )
    .await;
    let user = account(&server).await;
    let office = from(2);
    for _ in 0..3 {
        login(&server, &office, "fel lösenord", "000000").await;
    }
    assert_eq!(
        login(&server, &office, PASSWORD, &code(0)).await.status(),
        401
    );
    // The lock is where the administrators look: the account reads as locked.
    let listed = server.store.find_account(&user).await.unwrap().unwrap();
    assert!(listed
        .locked_until
        .is_some_and(|t| t > sluss_signaling::unix_now() + 500));
    // The owner logging in elsewhere leaves the office's lock in place.
    assert_eq!(
        login(&server, &from(3), PASSWORD, &code(0)).await.status(),
        204
    );
    assert_eq!(
        login(&server, &office, PASSWORD, &code(1)).await.status(),
        401
    );
    // Unlocked in the store (as `sluss staff unlock` and the start page do): the office's
    // next right login goes through at once, not in ten minutes.
    assert!(server.store.unlock_account(&user).await.unwrap().is_ok());
    assert_eq!(
        login(&server, &office, PASSWORD, &code(1)).await.status(),
        204
    );
    let listed = server.store.find_account(&user).await.unwrap().unwrap();
    assert_eq!(listed.locked_until, None);
}

#[tokio::test]
async fn five_hundred_failed_logins_make_a_handful_of_audit_entries_that_count_them_all() {
    let server = start_limited(
        Limits {
            per_address_burst: 1000,
            ..Limits::default()
        },
        None,
    )
    .await;
    let user = account(&server).await;
    let client = from(1);
    for _ in 0..500 {
        assert_eq!(
            login(&server, &client, "fel lösenord", "000000")
                .await
                .status(),
            401
        );
    }
    for _ in 0..50 {
        let r = client
            .post(server.url("/api/v1/links/inspect"))
            .json(&serde_json::json!({"token": "gissning"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    server.state.audit_tally.flush().await.unwrap();
    let trail = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap();
    let failed: Vec<_> = trail
        .iter()
        .filter(|e| e.event.starts_with("login_") && e.subject.as_deref() == Some(user.as_str()))
        .collect();
    assert!(failed.len() <= 3, "{} entries", failed.len());
    let total: u64 = failed
        .iter()
        .map(|e| e.details["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 500);
    let links: Vec<_> = trail.iter().filter(|e| e.event == "link_refused").collect();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].details["count"], 50);
    assert_eq!(
        server.store.verify_audit_chain().await.unwrap(),
        sluss_signaling::store::ChainCheck::Intact {
            entries: trail.len() as u64
        }
    );
}

/// A provider's discovery document and an empty key set at `issuer`.
fn describes_itself(issuer: &str) -> axum::Router {
    let metadata = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || async move { axum::Json(metadata) }),
        )
        .route(
            "/jwks",
            axum::routing::get(|| async { axum::Json(serde_json::json!({"keys": []})) }),
        )
}

/// A provider that only describes itself: enough to start logins, never to finish one.
async fn identity_provider() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let app = describes_itself(&issuer);
    tokio::spawn(async move { axum::serve(listener, app).await });
    issuer
}

fn provider(issuer: String) -> sluss_signaling::oidc::OidcConfig {
    sluss_signaling::oidc::OidcConfig {
        issuer,
        client_id: "sluss".into(),
        client_secret: None,
        scopes: vec![],
        allowed_acr: vec!["loa3".into()],
        roles_claim: "roles".into(),
        name_claim: "name".into(),
        personal_number_claim: "pnr".into(),
        ca_certs: vec![],
    }
}

#[tokio::test]
async fn made_up_callbacks_are_counted_in_one_audit_entry() {
    let provider = provider(identity_provider().await);
    let server = start_limited(
        Limits {
            per_address_burst: 1000,
            ..Limits::default()
        },
        Some(provider),
    )
    .await;
    let client = from(2);
    for i in 0..200 {
        let url = server.url(&format!("/auth/callback?code=c&state=gissat{i}"));
        assert_eq!(client.get(url).send().await.unwrap().status(), 403);
    }
    server.state.audit_tally.flush().await.unwrap();
    let trail = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].event, "login_refused");
    assert_eq!(trail[0].details["reason"], "unknown_state");
    assert_eq!(trail[0].details["count"], 200);
}

#[tokio::test]
async fn ten_thousand_identity_provider_logins_from_one_client_stay_within_its_share() {
    let provider = provider(identity_provider().await);
    let server = start_limited(
        Limits {
            per_address_per_minute: 100_000,
            per_address_burst: 100_000,
            pending_per_address: 10,
            ..Limits::default()
        },
        Some(provider),
    )
    .await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (client, url) = (from(2), server.url("/auth/login"));
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..1250 {
                    statuses.push(client.get(&url).send().await.unwrap().status().as_u16());
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.extend(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 10);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 9_990);
    assert_eq!(server.state.pending_staff_logins(), 10);
    // Another client still starts a login.
    let other = from(3).get(server.url("/auth/login")).send().await.unwrap();
    assert_eq!(other.status(), 303);
    assert_eq!(server.state.pending_staff_logins(), 11);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_oversized_callback_parameter_is_a_400() {
    let server = start().await;
    let http = from(1);
    let long = "a".repeat(3000);
    for path in ["/auth/callback", "/auth/eid/callback"] {
        for query in [
            format!("code={long}&state=s"),
            format!("code=c&state={}", &long[..300]),
            format!("error={}", &long[..300]),
            format!("error_description={long}"),
            format!("code=c&state=s&junk={}", "b".repeat(5000)),
        ] {
            let r = http
                .get(server.url(&format!("{path}?{query}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{path}?{}", &query[..20]);
        }
        // Within the bounds the request goes on (to "no provider configured" here).
        let r = http
            .get(server.url(&format!("{path}?code=c&state=s")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
}

/// The same provider over HTTPS, its certificate signed by a CA of the region's own: the
/// issuer, and the CA certificate in DER.
async fn identity_provider_with_own_ca() -> (String, Vec<u8>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Region Testland CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        cert.pem().into_bytes(),
        key.serialize_pem().into_bytes(),
    )
    .await
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("https://{}", listener.local_addr().unwrap());
    let app = describes_itself(&issuer);
    let server = axum_server::from_tcp_rustls(listener, tls).serve(app.into_make_service());
    tokio::spawn(server);
    (issuer, ca.der().to_vec())
}

#[tokio::test]
async fn a_provider_behind_the_regions_own_ca_is_trusted_with_that_ca_only() {
    let (issuer, ca) = identity_provider_with_own_ca().await;
    for trusted in [false, true] {
        let mut provider = provider(issuer.clone());
        if trusted {
            provider.ca_certs = vec![ca.clone()];
        }
        let server = start_limited(Limits::default(), Some(provider)).await;
        let resp = from(1).get(server.url("/auth/login")).send().await.unwrap();
        if trusted {
            assert_eq!(resp.status(), 303, "off to the provider");
            let location = resp.headers()["location"].to_str().unwrap();
            assert!(
                location.starts_with(&format!("{issuer}/authorize?")),
                "{location}"
            );
        } else {
            assert_eq!(
                resp.status(),
                503,
                "a certificate from an unknown CA is not trusted"
            );
        }
    }
}

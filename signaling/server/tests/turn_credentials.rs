//! Patients behind networks that block UDP reach the relay through the region's TURN server:
//! those in the room get its URLs with a short-lived credential that coturn's
//! `use-auth-secret` accepts; those in the lobby get nothing.

mod common;

use std::time::Duration;

use common::{admit, join, start_configured};
use sluss_meeting::MeetingConfig;
use sluss_signaling::turn::{credential, TurnConfig};

fn check(servers: &serde_json::Value, participant: &str) {
    let server = &servers[0];
    assert_eq!(server["urls"][0], "turn:127.0.0.1:3478?transport=udp");
    let username = server["username"].as_str().unwrap();
    let (expiry, who) = username.split_once(':').unwrap();
    assert_eq!(
        who, participant,
        "the username names only the opaque participant id"
    );
    let expiry: i64 = expiry.parse().unwrap();
    let now = sluss_signaling::unix_now();
    assert!(
        (now + 590..=now + 610).contains(&expiry),
        "valid for the configured ten minutes"
    );
    assert_eq!(
        server["credential"],
        credential("delad-hemlighet", username)
    );
}

#[tokio::test]
async fn those_in_the_room_get_a_turn_credential_and_the_lobby_does_not() {
    let turn = TurnConfig {
        urls: vec!["turn:127.0.0.1:3478?transport=udp".into()],
        shared_secret: "delad-hemlighet".into(),
        ttl: Duration::from_secs(600),
    };
    let server = start_configured(MeetingConfig::default(), Some(turn)).await;
    let (chair, guests) = server.meeting(1).await;
    let (mut a, joined_a) = join(&server, &chair, "Anna").await;
    check(
        &joined_a["ice_servers"],
        joined_a["participant_id"].as_str().unwrap(),
    );
    let (mut b, joined_b) = join(&server, &guests[0], "Bertil").await;
    assert_eq!(joined_b["admitted"], false);
    assert!(
        joined_b.get("ice_servers").is_none(),
        "the lobby learns nothing"
    );
    let admitted = admit(&mut a, &mut b, &joined_b).await;
    check(
        &admitted["ice_servers"],
        joined_b["participant_id"].as_str().unwrap(),
    );
}

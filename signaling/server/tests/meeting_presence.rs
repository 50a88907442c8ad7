//! People come, wait in the lobby, are let in, drop out, come back and go; the others are told,
//! and a link is one seat.

mod common;

use common::{admit, join, join_on, recv_type, send, start, start_with};
use sluss_meeting::MeetingConfig;

#[tokio::test]
async fn arrivals_departures_and_reconnections_reach_the_others() {
    let server = start().await;
    let (chair, guests) = server.meeting(2).await;
    let (mut a, joined_a) = join(&server, &chair, "Anna").await;
    assert_eq!(joined_a["admitted"], true, "the convener enters directly");
    assert_eq!(joined_a["participants"].as_array().unwrap().len(), 0);

    let (mut b, joined_b) = join(&server, &guests[0], "Bertil").await;
    assert_eq!(joined_b["role"], "guest");
    assert_eq!(joined_b["admitted"], false, "a guest waits in the lobby");
    assert_eq!(
        joined_b["participants"].as_array().unwrap().len(),
        0,
        "the lobby learns nothing about the room"
    );
    let admitted = admit(&mut a, &mut b, &joined_b).await;
    assert_eq!(admitted["participants"][0]["display_name"], "Anna");
    let arrived = recv_type(&mut a, "participant_joined").await;
    assert_eq!(arrived["participant"]["display_name"], "Bertil");
    let b_id = joined_b["participant_id"].clone();

    // b's connection drops: a sees "reconnecting"; b's page comes back with its resume
    // secret and takes the same seat, straight into the room.
    drop(b);
    let update = recv_type(&mut a, "participant_updated").await;
    assert_eq!(update["participant"]["connection"], "reconnecting");
    let secret = joined_b["resume"].as_str().unwrap();
    let (mut b, rejoined) = join_on(server.ws().await, &guests[0], "Bertil", Some(secret)).await;
    assert_eq!(rejoined["participant_id"], b_id, "the same seat");
    assert_eq!(
        rejoined["admitted"], true,
        "a returning participant is not sent back to the lobby"
    );
    let update = recv_type(&mut a, "participant_updated").await;
    assert_eq!(update["participant"]["connection"], "connected");

    // b leaves on purpose: a is told at once.
    send(&mut b, r#"{"type":"leave"}"#).await;
    let left = recv_type(&mut a, "participant_left").await;
    assert_eq!(left["participant_id"], b_id);
}

#[tokio::test]
async fn the_page_that_holds_the_resume_secret_takes_the_seat_and_closes_the_older_page() {
    let server = start().await;
    let (chair, guests) = server.meeting(1).await;
    let (mut a, _) = join(&server, &chair, "Anna").await;
    let (mut b1, j1) = join(&server, &guests[0], "Bertil").await;
    admit(&mut a, &mut b1, &j1).await;
    let secret = j1["resume"].as_str().unwrap();
    let (_b2, j2) = join_on(server.ws().await, &guests[0], "Bertil", Some(secret)).await;
    assert_eq!(j1["participant_id"], j2["participant_id"]);
    assert_ne!(j1["resume"], j2["resume"], "the secret is rotated");
    recv_type(&mut b1, "opened_elsewhere").await;
    assert_eq!(
        j2["participants"].as_array().unwrap().len(),
        1,
        "only Anna besides me"
    );
}

#[tokio::test]
async fn a_full_meeting_refuses_the_next_person() {
    let server = start_with(MeetingConfig {
        max_participants: 1,
        ..MeetingConfig::default()
    })
    .await;
    let (chair, guests) = server.meeting(1).await;
    let (_a, _) = join(&server, &chair, "Anna").await;
    let mut b = server.ws().await;
    send(
        &mut b,
        &serde_json::json!({"type":"join","v":1,"token":guests[0],"display_name":"Bertil"})
            .to_string(),
    )
    .await;
    assert_eq!(recv_type(&mut b, "error").await["code"], "meeting_full");
}

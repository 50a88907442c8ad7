//! R11 on the server: a window or tab is shared only by someone the chair allows, only while
//! everyone in the room is identified, and a running share stops the moment someone
//! unidentified is let in.

mod common;

use common::{admit, join, recv_type, send, start};
use serde_json::json;

fn pid(joined: &serde_json::Value) -> String {
    joined["participant_id"].as_str().unwrap().to_owned()
}

/// The next meeting state whose `screen_sharer` is set as `expected`.
async fn sharer_becomes(ws: &mut common::Ws, expected: Option<&str>) {
    for _ in 0..10 {
        let m = recv_type(ws, "meeting_state_changed").await;
        if m["meeting"]["screen_sharer"].as_str() == expected {
            return;
        }
    }
    panic!("screen_sharer never became {expected:?}");
}

#[tokio::test]
async fn a_share_needs_the_chairs_leave_and_an_identified_room() {
    let server = start().await;
    let (chair, guests) = server.meeting(3).await;
    let (mut a, _) = join(&server, &chair, "Anna").await;
    let (mut b, joined_b) = join(&server, &guests[0], "Bertil").await;
    admit(&mut a, &mut b, &joined_b).await;
    let (mut c, joined_c) = join(&server, &guests[1], "Cecilia").await;
    admit(&mut a, &mut c, &joined_c).await;
    let (b_id, c_id) = (pid(&joined_b), pid(&joined_c));

    // Not allowed yet.
    send(&mut b, r#"{"type":"start_screen_share"}"#).await;
    assert_eq!(
        recv_type(&mut b, "error").await["code"],
        "screen_share_refused"
    );
    // A guest cannot give leave, to others or to themself.
    let allow_b = json!({"type":"allow_screen_share","participant_id":b_id,"allowed":true});
    send(&mut c, &allow_b.to_string()).await;
    assert_eq!(recv_type(&mut c, "error").await["code"], "not_chair");
    send(&mut b, &allow_b.to_string()).await;
    assert_eq!(recv_type(&mut b, "error").await["code"], "not_chair");

    // The chair allows Bertil, but Cecilia is not identified: still refused, and the error says why.
    send(&mut a, &allow_b.to_string()).await;
    loop {
        let m = recv_type(&mut b, "participant_updated").await;
        if m["participant"]["participant_id"] == b_id.as_str() {
            assert_eq!(m["participant"]["may_share_screen"], true);
            break;
        }
    }
    send(&mut b, r#"{"type":"start_screen_share"}"#).await;
    let refused = recv_type(&mut b, "error").await;
    assert_eq!(refused["code"], "screen_share_refused");
    assert!(refused["message"].as_str().unwrap().contains("identified"));

    // Everyone identified: the share starts and the whole room is told who shares.
    for id in [&b_id, &c_id] {
        send(
            &mut a,
            &json!({"type":"identify","participant_id":id,"method":"known_from_before"})
                .to_string(),
        )
        .await;
    }
    // (Bertil waits to see Cecilia identified: the chair's messages travel on another socket.)
    loop {
        let m = recv_type(&mut b, "participant_updated").await;
        if m["participant"]["participant_id"] == c_id.as_str()
            && m["participant"]["identification"] == "known_from_before"
        {
            break;
        }
    }
    send(&mut b, r#"{"type":"start_screen_share"}"#).await;
    sharer_becomes(&mut c, Some(&b_id)).await;
    sharer_becomes(&mut a, Some(&b_id)).await;

    // An unidentified person is let in: the share stops for everyone at once.
    let (mut d, joined_d) = join(&server, &guests[2], "Dan").await;
    admit(&mut a, &mut d, &joined_d).await;
    sharer_becomes(&mut c, None).await;
    // And Bertil cannot start again while Dan is unidentified.
    send(&mut b, r#"{"type":"start_screen_share"}"#).await;
    assert_eq!(
        recv_type(&mut b, "error").await["code"],
        "screen_share_refused"
    );

    // The trail records the leave, the start and the stop; never what was shown.
    let events: Vec<String> = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    for e in [
        "screen_share_allowed",
        "screen_share_started",
        "screen_share_stopped",
    ] {
        assert!(events.iter().any(|x| x == e), "{e} missing from {events:?}");
    }
}

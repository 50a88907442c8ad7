//! R14 from the chair's and the guest's connections, against a real phone: the chair moves a
//! guest's voice to their phone (baresip answers over TLS with SRTP), everyone's tile says so,
//! the guest takes their voice back to the browser (the call is hung up), and a removal hangs
//! up a call too. A guest cannot dial; a number outside the configured patterns is refused;
//! the audit trail names the call and the number's keyed hash, never the number.

mod common;
#[path = "../../../gateway/phone/tests/sip_peers/mod.rs"]
mod sip_peers;

use common::{admit, join, recv_type, send, Ws};
use serde_json::json;
use sip_peers::{peers_available, Phone, World, PHONE_NUMBER, PLAIN_NUMBER};
use sluss_phone::sip::Peer;
use sluss_signaling::phone::{PhoneConfig, PhoneService};

fn pid(joined: &serde_json::Value) -> String {
    joined["participant_id"].as_str().unwrap().to_owned()
}

/// Waits for an update of `who` whose audio route is `route`.
async fn audio_becomes(ws: &mut Ws, who: &str, route: &str) {
    for _ in 0..20 {
        let m = recv_type(ws, "participant_updated").await;
        if m["participant"]["participant_id"] == who && m["participant"]["audio"] == route {
            return;
        }
    }
    panic!("{who}'s audio never became {route}");
}

/// A meeting on a gateway whose trunk is baresip (answering by itself), with the chair Anna
/// (`a`) and the guest Bertil (`b`) in the room. None (and a line saying why) without baresip.
struct Room {
    world: World,
    phone: Phone,
    server: common::Server,
    a: Ws,
    b: Ws,
    b_id: String,
    /// Our SIP listener's TLS port.
    sip_port: u16,
}

async fn room_with_phone(unencrypted: bool) -> Option<Room> {
    if let Err(reason) = peers_available(&["baresip"]) {
        eprintln!("SKIPPED: {reason}");
        return None;
    }
    let mut world = World::new();
    let phone = world.start_baresip();
    let (stack, sip_port) = world.start_stack_on().await;
    let config = PhoneConfig {
        trunk: Peer::new("127.0.0.1", phone.tls_port),
        credentials: None,
        allowed_numbers: vec!["+4670*".into()],
        media_bind: [127, 0, 0, 1].into(),
        media_announce: [127, 0, 0, 1].into(),
        unencrypted,
        dial_in: None,
        codecs: sluss_phone::call::DEFAULT_CODECS.to_vec(),
        media_timeout: sluss_phone::call::DEFAULT_MEDIA_TIMEOUT,
    };
    let service = PhoneService::new(stack, config, &[7; 32]).unwrap();
    let server = common::start_with_phone(service).await;
    let (chair, guests) = server.meeting(2).await;
    let (mut a, _) = join(&server, &chair, "Anna").await;
    let (mut b, joined_b) = join(&server, &guests[0], "Bertil").await;
    admit(&mut a, &mut b, &joined_b).await;
    let b_id = pid(&joined_b);
    Some(Room {
        world,
        phone,
        server,
        a,
        b,
        b_id,
        sip_port,
    })
}

fn move_to_phone(who: &str, number: &str) -> String {
    json!({"type":"move_audio_to_phone","participant_id":who,"number":number}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chair_moves_a_voice_to_the_phone_and_it_comes_back_on_request() {
    let Some(Room {
        world,
        phone,
        server,
        mut a,
        mut b,
        b_id,
        sip_port,
    }) = room_with_phone(false).await
    else {
        return;
    };

    // A guest cannot dial, not even their own phone.
    send(&mut b, &move_to_phone(&b_id, "070-123 45 67")).await;
    assert_eq!(recv_type(&mut b, "error").await["code"], "not_chair");
    // Numbers outside the patterns, or no number at all, are refused with a code.
    for number in ["08-123 456 78", "ring mig", ""] {
        send(&mut a, &move_to_phone(&b_id, number)).await;
        let refused = recv_type(&mut a, "error").await;
        assert_eq!(
            refused["code"], "phone_number_refused",
            "{number}: {refused}"
        );
    }
    // A number far too long is refused before anything reads it.
    send(&mut a, &move_to_phone(&b_id, &"7".repeat(5_000))).await;
    assert!(recv_type(&mut a, "error").await["code"].is_string());

    // Without dial-in configured, a call to the gateway is refused at once, not left ringing.
    phone.command(&format!(
        "dial sip:sluss@127.0.0.1:{sip_port};transport=tls"
    ));
    phone.wait_for_event(&world, "CALL_CLOSED");
    let closed_before = 1;

    // The chair moves Bertil's voice to his phone; the phone rings and answers.
    send(&mut a, &move_to_phone(&b_id, "070-123 45 67")).await;
    audio_becomes(&mut a, &b_id, "phone").await;
    phone.wait_for_event(&world, "CALL_ESTABLISHED");
    audio_becomes(&mut b, &b_id, "phone").await;
    // A second call for the same voice is refused.
    send(&mut a, &move_to_phone(&b_id, "070-123 45 67")).await;
    assert_eq!(recv_type(&mut a, "error").await["code"], "phone_refused");

    // Bertil asks for his voice back in the browser: the call is hung up.
    let back = json!({"type":"audio_to_browser","participant_id":b_id}).to_string();
    send(&mut b, &back).await;
    phone.wait_for_nth_event(&world, "CALL_CLOSED", closed_before + 1);
    audio_becomes(&mut a, &b_id, "browser").await;

    // Moved again, then removed by the chair: the call ends with him.
    send(&mut a, &move_to_phone(&b_id, "0701234567")).await;
    phone.wait_for_nth_event(&world, "CALL_ESTABLISHED", 2);
    let remove = json!({"type":"remove","participant_id":b_id}).to_string();
    send(&mut a, &remove).await;
    phone.wait_for_nth_event(&world, "CALL_CLOSED", closed_before + 2);

    // Metrics: two calls placed and hung up, none up now; never a number. (Our side hears
    // the end of the second a moment after the phone reports it: asked again for up to 5 s.)
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = reqwest::get(server.ops_url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("sluss_phone_calls_total{outcome=\"hung_up\"} 2") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        metrics.contains("sluss_phone_calls_total{outcome=\"hung_up\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("sluss_phone_calls_active 0"), "{metrics}");
    assert!(!metrics.contains("70123"), "a number in the metrics");
    // The mixers' time was counted: more than nothing, less than the calls lasted.
    let mixer: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sluss_phone_mixer_seconds_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the mixer's time in the metrics");
    assert!(mixer > 0.0 && mixer < 5.0, "{mixer} s of mixing");

    // The trail: who moved whose voice, the call, the number's hash; never the number.
    let meeting = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap();
    let dialled: Vec<_> = meeting
        .iter()
        .filter(|e| e.event == "phone_dial_out")
        .collect();
    assert_eq!(dialled.len(), 2, "{meeting:?}");
    let hashed = dialled[0].details["number"].as_str().unwrap_or_default();
    assert!(hashed.starts_with("hmac-sha256:"), "{hashed}");
    assert_eq!(dialled[0].details["number"], dialled[1].details["number"]);
    for event in ["audio_by_phone", "audio_by_browser", "phone_call_ended"] {
        assert!(meeting.iter().any(|e| e.event == event), "no {event}");
    }
    let printed = format!("{meeting:?}");
    for plain in [PHONE_NUMBER, "701234567", "070-123"] {
        assert!(!printed.contains(plain), "{plain} in the audit trail");
    }
}

/// Waits for a meeting state whose `unencrypted_leg` is `expected`.
async fn unencrypted_becomes(ws: &mut Ws, expected: bool) {
    for _ in 0..20 {
        let m = recv_type(ws, "meeting_state_changed").await;
        if m["meeting"]["unencrypted_leg"] == expected {
            return;
        }
    }
    panic!("unencrypted_leg never became {expected}");
}

/// R1 on a trunk marked unencrypted: the call is placed with plain RTP, and everyone in the
/// room is told that a leg of the meeting is unencrypted for exactly as long as it lasts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unencrypted_leg_is_shown_to_everyone_while_it_lasts() {
    let Some(Room {
        world,
        phone,
        server: _server,
        mut a,
        mut b,
        b_id,
        ..
    }) = room_with_phone(true).await
    else {
        return;
    };
    send(&mut a, &move_to_phone(&b_id, PLAIN_NUMBER)).await;
    phone.wait_for_event(&world, "CALL_ESTABLISHED");
    unencrypted_becomes(&mut a, true).await;
    unencrypted_becomes(&mut b, true).await;
    let back = json!({"type":"audio_to_browser","participant_id":b_id}).to_string();
    send(&mut a, &back).await;
    phone.wait_for_event(&world, "CALL_CLOSED");
    unencrypted_becomes(&mut a, false).await;
    unencrypted_becomes(&mut b, false).await;
}

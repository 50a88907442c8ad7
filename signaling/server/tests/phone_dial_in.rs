//! R14 dial-in and R4 for callers, against a real phone: baresip rings our SIP listener over
//! TLS with SRTP from a Swedish mobile number and types its PIN as RFC 4733 events.
//! - The booking API gives every invitation but the chair's a PIN and the number to ring,
//!   shown once, in the invitation text too.
//! - A wrong PIN is told with a tone and may be typed again; too many end the call.
//! - The right PIN seats the caller in the lobby under the invitation's role, named by their
//!   masked number; the chair admits them, and they are in the room by phone; the chair's
//!   removal hangs up the call.
//! - The audit trail has the dial-in with the number's keyed hash and the refusals as a
//!   count; neither it nor the metrics ever hold the number or a PIN.

mod common;
#[path = "phone_dial_in/hostile.rs"]
mod hostile;
#[path = "../../../gateway/phone/tests/sip_peers/mod.rs"]
mod sip_peers;

use std::time::Duration;

use common::{join, recv_type, send, Server, Ws};
use serde_json::json;
use sip_peers::{peers_available, Phone, World, PHONE_NUMBER, PLAIN_NUMBER, WIDEBAND_NUMBER};
use sluss_phone::pin::{PinPolicy, Rate};
use sluss_phone::sip::Peer;
use sluss_signaling::phone::{DialInConfig, PhoneConfig, PhoneService};
use sluss_signaling::secret::Secret;

const DIAL_IN: &str = "010-123 45 67";

/// A gateway whose dial-in takes calls on `sip_port`; baresip is the phone.
async fn gateway(world: &mut World) -> (Server, Phone, u16) {
    let (server, phone, sip_port, _) = gateway_with(world, false).await;
    (server, phone, sip_port)
}

/// The same, with a plain UDP listener too when asked; its port last.
async fn gateway_with(world: &mut World, udp: bool) -> (Server, Phone, u16, Option<u16>) {
    let phone = world.start_baresip();
    let (stack, sip_port, udp_port) = world.start_stack_with(udp).await;
    let config = PhoneConfig {
        trunk: Peer::new("127.0.0.1", phone.tls_port),
        credentials: None,
        allowed_numbers: vec!["+4670*".into()],
        media_bind: [127, 0, 0, 1].into(),
        media_announce: [127, 0, 0, 1].into(),
        unencrypted: false,
        dial_in: Some(DialInConfig {
            number: DIAL_IN.into(),
            pin_digits: 9,
            policy: PinPolicy {
                per_call: 2,
                per_caller: Rate {
                    tries: 10,
                    window: Duration::from_secs(1_800),
                },
                per_meeting: Rate {
                    tries: 20,
                    window: Duration::from_secs(600),
                },
            },
            max_calls: 4,
        }),
        codecs: sluss_phone::call::DEFAULT_CODECS.to_vec(),
        media_timeout: sluss_phone::call::DEFAULT_MEDIA_TIMEOUT,
    };
    let service = PhoneService::new(stack, config, &[9; 32]).unwrap();
    let server = common::start_with_phone(service).await;
    (server, phone, sip_port, udp_port)
}

/// A meeting made through the booking API with one patient invitation: the chair's link and
/// the patient's invitation as answered.
async fn booked(server: &Server) -> (String, serde_json::Value) {
    let secret = Secret::generate();
    let scopes = vec!["meetings:write".to_owned()];
    let id = sluss_signaling::secret::random_id("t_");
    server
        .store
        .create_api_token(&id, "booking", &secret.hash(), &scopes, 0)
        .await
        .unwrap();
    let created: serde_json::Value = reqwest::Client::new()
        .post(server.url("/api/v1/meetings"))
        .bearer_auth(secret.expose())
        .json(&json!({"title": "Uppföljning", "invitations": [{"role": "patient"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let chair = created["chair_link"].as_str().unwrap();
    let chair = chair.rsplit('#').next().unwrap().to_owned();
    server.mark_chair(&chair);
    (chair, created["invitations"][0].clone())
}

/// Waits (bounded) for a knock in the chair's lobby list; returns the participant.
async fn knock(chair: &mut Ws) -> serde_json::Value {
    recv_type(chair, "knock").await["participant"].clone()
}

/// Asks the metrics (for up to 5 s) until `line` is there.
async fn metrics_with(server: &Server, line: &str) -> String {
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = reqwest::get(server.ops_url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains(line) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    metrics
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_types_the_pin_waits_in_the_lobby_and_the_chair_admits_them() {
    if let Err(reason) = peers_available(&["baresip"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let mut world = World::new();
    let (server, phone, sip_port) = gateway(&mut world).await;

    // The invitation carries the number and a PIN of nine digits, in its text too.
    let (chair, invitation) = booked(&server).await;
    let pin = invitation["dial_in"]["pin"].as_str().unwrap().to_owned();
    assert_eq!(invitation["dial_in"]["number"], DIAL_IN);
    assert!(
        pin.len() == 9 && pin.bytes().all(|b| b.is_ascii_digit()),
        "{pin}"
    );
    let text = invitation["text"].as_str().unwrap();
    let grouped = format!("{} {} {}", &pin[..3], &pin[3..6], &pin[6..]);
    assert!(text.contains(DIAL_IN) && text.contains(&grouped), "{text}");
    let (mut anna, _) = join(&server, &chair, "Anna").await;

    // The phone rings in from a mobile number. A wrong PIN: the call stays, nobody knocks.
    ring_in(&world, &phone, sip_port, 1, &["000000000", &pin]).await;

    // The right PIN: a knock in the chair's lobby, as the patient, by masked number.
    let caller = knock(&mut anna).await;
    assert_eq!(caller["admitted"], false);
    assert_eq!(caller["by_phone"], true, "{caller}");
    let name = caller["display_name"].as_str().unwrap();
    assert_eq!(name, "Telefon +46 70*** **67");
    assert!(
        caller["identification"].is_null(),
        "a caller is unidentified"
    );
    let caller_id = caller["participant_id"].as_str().unwrap().to_owned();

    // Admitted: in the room by phone. The patient is known to the nurse from before.
    let admit = json!({"type":"admit","participant_id":caller_id}).to_string();
    send(&mut anna, &admit).await;
    let joined = recv_type(&mut anna, "participant_joined").await;
    assert_eq!(joined["participant"]["participant_id"], caller_id.as_str());
    assert_eq!(joined["participant"]["audio"], "phone");
    let identify = json!({"type":"identify","participant_id":caller_id,
        "method":"known_from_before"})
    .to_string();
    send(&mut anna, &identify).await;
    // (Other updates may come first: the gateway tells the meeting the phone has no camera.)
    let mut identified = serde_json::Value::Null;
    for _ in 0..5 {
        let updated = recv_type(&mut anna, "participant_updated").await;
        identified = updated["participant"]["identification"].clone();
        if !identified.is_null() {
            break;
        }
    }
    assert_eq!(identified, "known_from_before");
    let metrics = metrics_with(&server, "sluss_phone_calls_active 1").await;
    assert!(metrics.contains("sluss_phone_calls_active 1"), "{metrics}");

    // A second in the room, so that the caller's voice goes into the meeting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Removed by the chair: the call is hung up.
    let remove = json!({"type":"remove","participant_id":caller_id}).to_string();
    send(&mut anna, &remove).await;
    phone.wait_for_event(&world, "CALL_CLOSED");
    let metrics = metrics_with(&server, "outcome=\"dial_in_ended\"} 1").await;
    assert!(metrics.contains("sluss_phone_calls_active 0"), "{metrics}");
    // The leg's media was counted as it ended: frames both ways, nothing refused.
    let count = |what: &str| -> u64 {
        let key = format!("sluss_phone_media_total{{what=\"{what}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(key.as_str())?.parse().ok())
            .unwrap_or(0)
    };
    assert!(count("frames_to_phone") > 50, "{metrics}");
    assert!(count("frames_to_meeting") > 0, "{metrics}");
    assert_eq!(count("refused"), 0, "{metrics}");

    // A caller who keeps getting it wrong is hung up after the call's tries.
    ring_in(&world, &phone, sip_port, 2, &["111111111", "222222222"]).await;
    phone.wait_for_nth_event(&world, "CALL_CLOSED", 2);
    let metrics = metrics_with(&server, "outcome=\"dial_in_wrong_pin\"} 1").await;
    assert!(
        metrics.contains("outcome=\"dial_in_wrong_pin\"} 1"),
        "{metrics}"
    );

    // The trail: the dial-in with the number's hash; the refusals counted; never the
    // number or a PIN, there or in the metrics.
    server.state.audit_tally.flush().await.unwrap();
    let trail = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap();
    let dialled: Vec<_> = trail
        .iter()
        .filter(|e| e.event == "phone_dial_in")
        .collect();
    assert_eq!(dialled.len(), 1, "{trail:?}");
    let number = dialled[0].details["number"].as_str().unwrap_or_default();
    assert!(number.starts_with("hmac-sha256:"), "{number}");
    assert!(trail.iter().any(|e| e.event == "phone_dial_in_refused"));
    assert!(trail.iter().any(|e| e.event == "identified"));
    let printed = format!("{trail:?}{metrics}");
    for secret in [PHONE_NUMBER, "701234567", &pin, "111111111"] {
        assert!(
            !printed.contains(secret),
            "{secret} in the trail or metrics"
        );
    }
}

/// The phone (from the mobile number) rings the dial-in at `port` (Sluss's, or the trunk's)
/// for the `nth` time and, once answered and prompted, types each of `entries` (then `#`),
/// three seconds apart.
async fn ring_in(world: &World, phone: &Phone, port: u16, nth: usize, entries: &[&str]) {
    phone.command("uafind sip:+46701234567@127.0.0.1");
    phone.command(&format!("dial sip:dialin@127.0.0.1:{port};transport=tls"));
    phone.wait_for_nth_event(world, "CALL_ESTABLISHED", nth);
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        phone.command(&format!("sndcode {entry}#"));
    }
}

/// The caller `phone` rings in with `pin` and the chair admits them; returns their id.
async fn caller_in_the_room(
    world: &World,
    phone: &Phone,
    sip_port: u16,
    anna: &mut Ws,
    pin: &str,
) -> String {
    ring_in(world, phone, sip_port, 1, &[pin]).await;
    let caller = knock(anna).await;
    let id = caller["participant_id"].as_str().unwrap().to_owned();
    send(
        anna,
        &json!({"type":"admit","participant_id":id}).to_string(),
    )
    .await;
    let joined = recv_type(anna, "participant_joined").await;
    assert_eq!(joined["participant"]["participant_id"], id.as_str());
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sip_learns_nothing_and_a_flood_leaves_the_caller_in_the_meeting() {
    if let Err(reason) = peers_available(&["baresip"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let mut world = World::new();
    let (server, phone, sip_port) = gateway(&mut world).await;
    let (chair, invitation) = booked(&server).await;
    let pin = invitation["dial_in"]["pin"].as_str().unwrap().to_owned();
    let (mut anna, _) = join(&server, &chair, "Anna").await;
    let caller = caller_in_the_room(&world, &phone, sip_port, &mut anna, &pin).await;

    let attacker = hostile::Attacker::new(&world, sip_port);
    hostile::enumeration_learns_nothing(&attacker, sip_port).await;
    // Four places, one taken by the caller.
    let busy = hostile::invite_flood(&attacker, sip_port, 3).await;
    hostile::garbage_is_dropped(&attacker, sip_port).await;

    // The caller's call went on through all of it, and the meeting still answers the chair.
    assert_eq!(
        phone.events("CALL_CLOSED"),
        0,
        "the flood ended the caller's call"
    );
    // Every refusal is counted: the dial-in's 486s and the 480s of the queue before it.
    let outcome = |metrics: &str, name: &str| -> usize {
        let line = format!("sluss_phone_calls_total{{outcome=\"{name}\"}}");
        metrics
            .lines()
            .find(|l| l.starts_with(&line))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    };
    let mut counted = 0;
    for _ in 0..50 {
        let metrics = metrics_with(&server, "dial_in_busy").await;
        counted = outcome(&metrics, "dial_in_busy") + outcome(&metrics, "dial_in_queue_full");
        if counted == busy {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(counted, busy, "{counted} refusals counted, {busy} seen");
    let remove = json!({"type":"remove","participant_id":caller}).to_string();
    send(&mut anna, &remove).await;
    phone.wait_for_event(&world, "CALL_CLOSED");
}

/// The sipvicious tools (UDP only, so against a listener with UDP, as a trunk marked
/// unencrypted would have): the map finds a SIP device and nothing more, the extension
/// scan lists no extension, the password guesser finds no password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipvicious_maps_enumerates_and_guesses_and_learns_nothing() {
    if let Err(reason) = peers_available(&["baresip", "svwar"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let mut world = World::new();
    let (_server, _phone, _, udp) = gateway_with(&mut world, true).await;
    let port = udp.unwrap().to_string();
    let run = |tool: &str, args: &[&str]| {
        let out = std::process::Command::new("timeout")
            .arg("60")
            .arg(tool)
            .args(args)
            .output()
            .expect("sipvicious runs");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let map = run("svmap", &["-p", &port, "127.0.0.1"]);
    assert!(
        map.contains("127.0.0.1"),
        "svmap found no SIP device: {map}"
    );
    assert!(
        !map.contains(env!("CARGO_PKG_VERSION")),
        "the release shows: {map}"
    );
    let war = run("svwar", &["-p", &port, "-e", "100-149", "127.0.0.1"]);
    assert!(
        war.contains("found nothing"),
        "svwar listed extensions: {war}"
    );
    let war = run(
        "svwar",
        &["-p", &port, "-e", "100-149", "-m", "INVITE", "127.0.0.1"],
    );
    assert!(
        war.contains("found nothing") || war.contains("same response"),
        "svwar (INVITE) listed extensions: {war}"
    );
    let crack = run(
        "svcrack",
        &["-p", &port, "-u", "100", "-r", "1000-1100", "127.0.0.1"],
    );
    assert!(
        crack.contains("found nothing"),
        "svcrack found a password: {crack}"
    );
}

/// Dial-in as the region runs it: the phone calls the trunk's dial-in number, the trunk
/// (kamailio, TLS) routes it to Sluss; the caller types the PIN, waits in the lobby, is
/// admitted, and the chair's removal hangs up through the trunk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_rings_in_through_the_trunk() {
    if let Err(reason) = peers_available(&["baresip", "kamailio"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let mut world = World::new();
    let (server, phone, sip_port) = gateway(&mut world).await;
    let trunk = world.start_kamailio_with(phone.tls_port, Some(sip_port));
    let (chair, invitation) = booked(&server).await;
    let pin = invitation["dial_in"]["pin"].as_str().unwrap().to_owned();
    let (mut anna, _) = join(&server, &chair, "Anna").await;
    ring_in(&world, &phone, trunk, 1, &[&pin]).await;
    let caller = knock(&mut anna).await;
    assert_eq!(caller["display_name"], "Telefon +46 70*** **67");
    let id = caller["participant_id"].as_str().unwrap().to_owned();
    send(
        &mut anna,
        &json!({"type":"admit","participant_id":id}).to_string(),
    )
    .await;
    let joined = recv_type(&mut anna, "participant_joined").await;
    assert_eq!(joined["participant"]["by_phone"], true);
    send(
        &mut anna,
        &json!({"type":"remove","participant_id":id}).to_string(),
    )
    .await;
    phone.wait_for_event(&world, "CALL_CLOSED");
    let routed = world.log("kamailio");
    assert!(
        routed.contains("sluss-test: INVITE"),
        "the call did not go through the trunk"
    );
}

/// The chair calls someone in (R14): they answer, knock under their masked number, and the
/// chair lets them in; a number outside the patterns is refused, a call that cannot be
/// encrypted counts as not answered, and ending the meeting hangs up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chair_calls_someone_in_who_then_waits_in_the_lobby() {
    if let Err(reason) = peers_available(&["baresip"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let mut world = World::new();
    let (server, phone, _) = gateway(&mut world).await;
    let (chair, _) = booked(&server).await;
    let (mut anna, _) = join(&server, &chair, "Anna").await;
    let call_in = |number: &str| json!({"type":"call_in","number":number}).to_string();

    send(&mut anna, &call_in("08-123 456 78")).await;
    assert_eq!(
        recv_type(&mut anna, "error").await["code"],
        "phone_number_refused"
    );
    // R5: in a meeting whose guests must use e-identification, nobody is called in.
    let eid_chair = Secret::generate();
    let link = sluss_signaling::store::NewLink {
        id: "l_eid_chair".into(),
        token_hash: eid_chair.hash(),
        role: sluss_protocol::InvitationRole::Chair,
        expires_at: None,
    };
    let meeting = sluss_signaling::store::NewMeeting {
        id: "m_eid",
        title: "Med e-legitimation",
        flags: sluss_signaling::store::MeetingFlags {
            sensitive: true,
            require_eid: true,
        },
        starts_at: None,
        duration_minutes: None,
        convener: None,
    };
    server
        .store
        .create_convened_meeting(&meeting, &[link], &[], sluss_signaling::unix_now())
        .await
        .unwrap();
    server.mark_chair(eid_chair.expose());
    let (mut karin, _) = join(&server, eid_chair.expose(), "Karin").await;
    let rang_before = phone.events("CALL_INCOMING");
    send(&mut karin, &call_in("070-123 45 67")).await;
    let refused = recv_type(&mut karin, "error").await;
    assert_eq!(refused["code"], "phone_eid_required");
    assert_eq!(refused["fatal"], false);
    assert_eq!(phone.events("CALL_INCOMING"), rang_before);
    // baresip answers this number without SRTP: the call is ended, and the chair told.
    send(&mut anna, &call_in(PLAIN_NUMBER)).await;
    assert_eq!(
        recv_type(&mut anna, "error").await["code"],
        "phone_not_answered"
    );

    send(&mut anna, &call_in("070-123 45 67")).await;
    let caller = knock(&mut anna).await;
    assert_eq!(caller["display_name"], "Telefon +46 70*** **67");
    assert_eq!(caller["by_phone"], true);
    let id = caller["participant_id"].as_str().unwrap().to_owned();
    send(
        &mut anna,
        &json!({"type":"admit","participant_id":id}).to_string(),
    )
    .await;
    let joined = recv_type(&mut anna, "participant_joined").await;
    assert_eq!(joined["participant"]["audio"], "phone");
    // A phone that speaks only G.722 is bridged in wideband.
    send(&mut anna, &call_in(WIDEBAND_NUMBER)).await;
    let wide = knock(&mut anna).await;
    let wide_id = wide["participant_id"].as_str().unwrap().to_owned();
    send(
        &mut anna,
        &json!({"type":"admit","participant_id":wide_id}).to_string(),
    )
    .await;
    recv_type(&mut anna, "participant_joined").await;
    let closed = phone.events("CALL_CLOSED");
    send(&mut anna, &json!({"type":"end_meeting"}).to_string()).await;
    phone.wait_for_nth_event(&world, "CALL_CLOSED", closed + 2);
    // baresip says which codec the call runs in.
    let log = world.log("baresip");
    assert!(
        log.contains("Set audio encoder: G722"),
        "no G.722 call in baresip's log"
    );

    let trail = server
        .store
        .audit_entries(None, None, None, None)
        .await
        .unwrap();
    for event in ["phone_call_in", "phone_called_in"] {
        assert!(trail.iter().any(|e| e.event == event), "no {event}");
    }
    let printed = format!("{trail:?}");
    assert!(!printed.contains("701234567"), "a number in the trail");
}

/// A trunk that keeps the session alive with UPDATEs without an offer (RFC 4028 refreshes)
/// gets 200 for each, and the call goes on until its BYE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_refresh_by_update_is_answered() {
    if let Err(reason) = peers_available(&["baresip"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let mut world = World::new();
    let (_server, _phone, sip_port) = gateway(&mut world).await;
    let attacker = hostile::Attacker::new(&world, sip_port);
    let mut trunk = hostile::Dialogue::open(&attacker).await;
    // The trunk asks for session timers (RFC 4028): it is made the refresher.
    let invite = hostile::request("INVITE", "dialin", sip_port, "refresh", hostile::OFFER)
        .replacen(
            "Max-Forwards: 70\r\n",
            "Max-Forwards: 70\r\nSupported: timer\r\nSession-Expires: 1800\r\n",
            1,
        );
    let ok = trunk.ask(&invite, "1 INVITE").await;
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    assert!(
        ok.contains("Session-Expires: 1800;refresher=uac") && ok.contains("Require: timer"),
        "{ok}"
    );
    let tag = hostile::to_tag(&ok);
    trunk
        .send(&hostile::in_dialog("ACK", sip_port, "refresh", &tag, 1))
        .await;
    for cseq in 2..4 {
        let update = hostile::in_dialog("UPDATE", sip_port, "refresh", &tag, cseq);
        let answer = trunk.ask(&update, &format!("{cseq} UPDATE")).await;
        assert!(
            answer.starts_with("SIP/2.0 200"),
            "refresh {cseq}: {answer}"
        );
    }
    let bye = hostile::in_dialog("BYE", sip_port, "refresh", &tag, 4);
    let answer = trunk.ask(&bye, "4 BYE").await;
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
}

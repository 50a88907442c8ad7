//! Dial-out against real SIP peers on loopback: baresip as the phone (auto-answer, SRTP
//! mandatory, PCMA, its own TLS listener), and kamailio as a trunk that challenges with digest
//! authentication and relays to baresip.
//!
//! The peers and their harness are in `sip_peers/`: installed as root when missing, skipped
//! with the reason printed otherwise; every wait bounded, every child killed at the end.

mod sip_peers;

use std::time::Instant;

use sip_peers::{
    baresip_requests, baresip_trace, free_udp_port, kamailio_requests, peers_available, World,
    STEP, TRUNK_PASSWORD, TRUNK_USER,
};
use sluss_phone::sdp::{self, Codec, Direction, LocalMedia, MasterKey, RemoteSdp};
use sluss_phone::sip::leg::{Action, DialOut, FailReason, LegState};
use sluss_phone::sip::{
    CallControl, Credentials, DialRequest, DialTarget, EndReason, IncomingCall, LegEvent,
    LegEvents, Peer, SdpBody, SipError, SipStack,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dial_out_over_tls_to_baresip_is_answered_with_srtp_and_hung_up() {
    if let Err(reason) = peers_available(&["baresip"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let started = Instant::now();
    let mut world = World::new();
    let phone = world.start_baresip();
    let stack = world.start_stack().await;

    let mut leg = leg();
    let offer = leg.dial().expect("offer");
    let target = DialTarget::account("alice", Peer::new("127.0.0.1", phone.tls_port));
    let (call, mut events) = stack
        .dial(DialRequest::new(target, offer))
        .await
        .expect("INVITE sent");
    drive_until(&mut leg, &mut events, &call, |s| *s == LegState::Answered).await;
    let agreed = leg.negotiated().expect("media agreed");
    assert_eq!(agreed.codec.codec, Codec::Pcma);
    assert!(
        agreed.crypto.is_some(),
        "baresip's answer has an a=crypto line we accept"
    );
    phone.wait_for_event(&world, "CALL_ESTABLISHED");

    assert_eq!(leg.hang_up(), Some(Action::HangUp));
    call.hang_up().await.expect("BYE sent");
    drive_until(&mut leg, &mut events, &call, LegState::is_over).await;
    assert_eq!(leg.state(), &LegState::Ended(EndReason::LocalHangUp));
    phone.wait_for_event(&world, "CALL_CLOSED");
    // TESTING.md's trap: ACK and BYE on the connection the INVITE came in on.
    let requests = baresip_requests(&world.log("baresip"));
    let methods: Vec<&str> = requests.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(methods, ["INVITE", "ACK", "BYE"], "{requests:?}");
    assert!(
        requests.iter().all(|(_, from)| *from == requests[0].1),
        "{requests:?}"
    );
    eprintln!("dial-out to baresip took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dial_out_through_kamailio_passes_its_digest_challenge_and_a_wrong_password_is_refused() {
    if let Err(reason) = peers_available(&["baresip", "kamailio"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let started = Instant::now();
    let mut world = World::new();
    let phone = world.start_baresip();
    let trunk_port = world.start_kamailio(phone.tls_port);
    let stack = world.start_stack().await;
    let trunk = Peer::new("127.0.0.1", trunk_port);

    // REGISTER answers the registrar's challenge; a wrong password is refused, typed.
    let right = Credentials::new(TRUNK_USER, TRUNK_PASSWORD);
    let wrong = Credentials::new(TRUNK_USER, "wrong password");
    stack
        .register(&trunk, &right, 60)
        .await
        .expect("registered");
    assert_eq!(
        stack.register(&trunk, &wrong, 60).await,
        Err(SipError::AuthFailed)
    );

    // The wrong password first: the trunk challenges again and the call fails, typed.
    let mut leg_refused = leg();
    let mut request = DialRequest::new(
        DialTarget::account("alice", trunk.clone()),
        leg_refused.dial().expect("offer"),
    );
    request.credentials = Some(Credentials::new(TRUNK_USER, "wrong password"));
    let (call, mut events) = stack.dial(request).await.expect("INVITE sent");
    drive_until(&mut leg_refused, &mut events, &call, LegState::is_over).await;
    assert_eq!(
        leg_refused.state(),
        &LegState::Failed(FailReason::AuthFailed)
    );
    let message = match leg_refused.state() {
        LegState::Failed(reason) => reason.to_string(),
        other => panic!("not failed: {other:?}"),
    };
    assert_eq!(message, "the trunk refused our credentials");

    // The right one: answered through the trunk, with SRTP, then hung up.
    let mut leg = leg();
    let mut request = DialRequest::new(
        DialTarget::account("alice", trunk),
        leg.dial().expect("offer"),
    );
    request.credentials = Some(Credentials::new(TRUNK_USER, TRUNK_PASSWORD));
    let (call, mut events) = stack.dial(request).await.expect("INVITE sent");
    drive_until(&mut leg, &mut events, &call, |s| *s == LegState::Answered).await;
    assert!(leg.negotiated().is_some_and(|n| n.crypto.is_some()));
    phone.wait_for_event(&world, "CALL_ESTABLISHED");
    leg.hang_up();
    call.hang_up().await.expect("BYE sent");
    drive_until(&mut leg, &mut events, &call, LegState::is_over).await;
    assert_eq!(leg.state(), &LegState::Ended(EndReason::LocalHangUp));
    phone.wait_for_event(&world, "CALL_CLOSED");
    // Every request, challenged or not, came over our one TLS connection, and the BYE
    // followed the trunk's Record-Route over it.
    let requests = kamailio_requests(&world.log("kamailio"));
    let methods: Vec<&str> = requests.iter().map(|(m, _)| m.as_str()).collect();
    // Each REGISTER and INVITE twice: challenged, then with credentials.
    let expected = [
        "REGISTER", "REGISTER", "REGISTER", "REGISTER", "INVITE", "INVITE", "INVITE", "INVITE",
        "ACK", "BYE",
    ];
    assert_eq!(methods, expected, "{requests:?}");
    assert!(
        requests.iter().all(|(_, from)| *from == requests[0].1),
        "{requests:?}"
    );
    eprintln!("dial-out through kamailio took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dial_out_cancelled_while_ringing_ends_as_cancelled() {
    if let Err(reason) = peers_available(&["baresip"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let mut world = World::new();
    let phone = world.start_baresip();
    let stack = world.start_stack().await;
    let mut leg = leg();
    // bob answers by hand, that is never.
    let target = DialTarget::account("bob", Peer::new("127.0.0.1", phone.tls_port));
    let (call, mut events) = stack
        .dial(DialRequest::new(target, leg.dial().expect("offer")))
        .await
        .expect("INVITE sent");
    drive_until(&mut leg, &mut events, &call, |s| *s == LegState::Ringing).await;
    assert_eq!(leg.hang_up(), Some(Action::Cancel));
    call.cancel().await.expect("CANCEL sent");
    drive_until(&mut leg, &mut events, &call, LegState::is_over).await;
    assert_eq!(leg.state(), &LegState::Cancelled);
    phone.wait_for_event(&world, "CALL_CLOSED");
    let requests = baresip_requests(&world.log("baresip"));
    let methods: Vec<&str> = requests.iter().map(|(m, _)| m.as_str()).collect();
    // The 487's ACK may come after baresip reports the end.
    assert_eq!(methods[..2], ["INVITE", "CANCEL"], "{requests:?}");
    assert!(
        requests.iter().all(|(_, from)| *from == requests[0].1),
        "{requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_from_baresip_is_taken_with_srtp_and_our_bye_goes_back_on_its_connection() {
    if let Err(reason) = peers_available(&["baresip"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let mut world = World::new();
    let phone = world.start_baresip();
    let (stack, port) = world.start_stack_on().await;
    phone.command(&format!("dial sip:sluss@127.0.0.1:{port};transport=tls"));
    let incoming = tokio::time::timeout(STEP, stack.incoming())
        .await
        .expect("baresip's INVITE within the step")
        .expect("stack running");
    let offer = RemoteSdp::parse(incoming.offer().as_bytes()).expect("baresip's offer parses");
    let mut local = LocalMedia::new("127.0.0.1".parse().unwrap(), free_udp_port());
    local.codecs = vec![Codec::Pcma];
    let (answer, agreed) = sdp::answer(&offer, &local, &MasterKey::new([5; 30])).expect("answer");
    assert!(agreed.crypto.is_some(), "baresip offers SRTP");
    let (call, mut events) = incoming.accept(SdpBody::new(answer)).expect("200 sent");
    phone.wait_for_event(&world, "CALL_ESTABLISHED");
    call.hang_up().await.expect("BYE sent");
    let end = tokio::time::timeout(STEP, async {
        while let Some(event) = events.recv().await {
            if let LegEvent::Ended { reason } = event {
                return Some(reason);
            }
        }
        None
    })
    .await
    .expect("the end within the step");
    assert_eq!(end, Some(EndReason::LocalHangUp));
    phone.wait_for_event(&world, "CALL_CLOSED");
    // The BYE came from our listener's side of the connection baresip opened, not from a
    // new connection (TESTING.md's trap).
    let requests = baresip_requests(&world.log("baresip"));
    let ours = format!("127.0.0.1:{port}");
    assert!(
        requests.contains(&("BYE".to_owned(), ours.clone())),
        "no BYE from {ours}: {requests:?}"
    );
    assert_eq!(call.hang_up().await, Err(SipError::CallOver));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dial_out_answered_without_srtp_is_hung_up_as_not_encrypted() {
    if let Err(reason) = peers_available(&["baresip", "kamailio"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let mut world = World::new();
    let phone = world.start_baresip();
    let trunk_port = world.start_kamailio(phone.tls_port);
    let stack = world.start_stack().await;
    let mut leg = leg();
    // The trunk relays "plain" to baresip and strips SRTP out of its answer.
    let mut request = DialRequest::new(
        DialTarget::account("plain", Peer::new("127.0.0.1", trunk_port)),
        leg.dial().expect("offer"),
    );
    request.credentials = Some(Credentials::new(TRUNK_USER, TRUNK_PASSWORD));
    let (call, mut events) = stack.dial(request).await.expect("INVITE sent");
    drive_until(&mut leg, &mut events, &call, LegState::is_over).await;
    assert_eq!(leg.state(), &LegState::Failed(FailReason::NotEncrypted));
    assert!(
        leg.negotiated().is_none(),
        "no media for an unencrypted answer"
    );
    let LegState::Failed(reason) = leg.state() else {
        unreachable!()
    };
    assert_eq!(
        reason.to_string(),
        "the answer does not encrypt the audio (SRTP) and the trunk is not marked unencrypted"
    );
    // Hung up at once: baresip had answered, and saw our BYE.
    phone.wait_for_event(&world, "CALL_CLOSED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_from_baresip_that_nobody_takes_is_refused_480() {
    if let Err(reason) = peers_available(&["baresip"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let mut world = World::new();
    let phone = world.start_baresip();
    let (stack, port) = world.start_stack_on().await;
    phone.command(&format!("dial sip:sluss@127.0.0.1:{port};transport=tls"));
    let incoming = tokio::time::timeout(STEP, stack.incoming())
        .await
        .expect("baresip's INVITE within the step")
        .expect("stack running");
    assert!(incoming.caller().is_none(), "alice is not a phone number");
    drop(incoming);
    phone.wait_for_event(&world, "CALL_CLOSED");
    assert!(
        world.log("baresip").contains("SIP/2.0 480 "),
        "baresip got no 480"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_and_hang_up_from_baresip_are_answered_on_their_connection() {
    if let Err(reason) = peers_available(&["baresip"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let mut world = World::new();
    let phone = world.start_baresip();
    let (stack, port) = world.start_stack_on().await;
    let mut leg = leg();
    let target = DialTarget::account("alice", Peer::new("127.0.0.1", phone.tls_port));
    let (call, mut events) = stack
        .dial(DialRequest::new(target, leg.dial().expect("offer")))
        .await
        .expect("INVITE sent");
    drive_until(&mut leg, &mut events, &call, |s| *s == LegState::Answered).await;
    phone.wait_for_event(&world, "CALL_ESTABLISHED");

    phone.command("hold");
    let event = tokio::time::timeout(STEP, events.recv())
        .await
        .expect("the re-INVITE within the step")
        .expect("events open");
    assert!(matches!(event, LegEvent::ReOffer { .. }), "{event:?}");
    let actions = leg.on_event(event);
    let [Action::AnswerReOffer(answer), Action::UpdateMedia(agreed)] = actions.as_slice() else {
        panic!("expected an answer and a media update, got {actions:?}");
    };
    assert_eq!(
        agreed.direction,
        Direction::RecvOnly,
        "baresip holds: we only receive"
    );
    call.answer_reoffer(Ok(answer.clone()))
        .await
        .expect("200 sent");
    assert_eq!(leg.state(), &LegState::Answered);

    // baresip hangs up: its BYE reaches us too.
    phone.command("hangup");
    drive_until(&mut leg, &mut events, &call, LegState::is_over).await;
    assert_eq!(leg.state(), &LegState::Ended(EndReason::RemoteHangUp));
    phone.wait_for_event(&world, "CALL_CLOSED");
    // baresip sends its in-dialog requests to our Contact (our listener), all on the one
    // connection it opened, and the 200 to its re-INVITE went back on that connection.
    let trace = baresip_trace(&world.log("baresip"));
    let listener = format!("127.0.0.1:{port}");
    let to_us: Vec<_> = trace
        .iter()
        .filter(|(kind, _, to)| !kind.starts_with("SIP/") && *to == listener)
        .collect();
    let kinds: Vec<&str> = to_us.iter().map(|(kind, _, _)| kind.as_str()).collect();
    assert_eq!(kinds, ["INVITE", "ACK", "BYE"], "{trace:?}");
    let connection = &to_us[0].1;
    assert!(
        to_us.iter().all(|(_, from, _)| from == connection),
        "{trace:?}"
    );
    assert!(
        trace
            .iter()
            .any(|(k, f, t)| k == "SIP/2.0 200" && *f == listener && t == connection),
        "no 200 to the re-INVITE on its connection: {trace:?}"
    );
}

/// A dial-out leg offering PCMA with SRTP from a loopback media port nobody reads yet.
fn leg() -> DialOut {
    let mut local = LocalMedia::new("127.0.0.1".parse().unwrap(), free_udp_port());
    local.codecs = vec![Codec::Pcma];
    let mut key = [0u8; 30];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    DialOut::new(local, MasterKey::new(key))
}

/// Feeds the call's events to the leg, carrying out its actions, until `done` holds.
async fn drive_until<C: CallControl>(
    leg: &mut DialOut,
    events: &mut LegEvents,
    call: &C,
    done: impl Fn(&LegState) -> bool,
) {
    while !done(leg.state()) {
        let event = tokio::time::timeout(STEP, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no leg event within {STEP:?} in {:?}", leg.state()))
            .unwrap_or_else(|| panic!("events closed in {:?}", leg.state()));
        for action in leg.on_event(event) {
            match action {
                Action::HangUp | Action::Cancel => call.hang_up().await.expect("hang up"),
                Action::AnswerReOffer(sdp) => call.answer_reoffer(Ok(sdp)).await.expect("200"),
                Action::RefuseReOffer(code) => call.answer_reoffer(Err(code)).await.expect("4xx"),
                Action::StartMedia(_) | Action::UpdateMedia(_) => {}
            }
        }
        assert!(
            done(leg.state()) || !leg.state().is_over(),
            "the call ended in {:?}",
            leg.state()
        );
    }
}

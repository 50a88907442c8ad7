//! A trunk marked unencrypted that speaks plain SIP over UDP (sipp, with a phone behind it):
//! the call goes out over UDP with plain RTP (R1 allows that only on such a trunk), and the
//! leg's media timeout hangs up a call whose trunk sends nothing, while a call that hears its
//! phone stays up until we hang up.

mod sip_peers;

use std::net::Ipv4Addr;
use std::time::Duration;

use sip_peers::{answered, ended, peers_available, World, STEP};
use sluss_phone::call::{self, DialPlan, MeetingSide};
use sluss_phone::leg_media::LegMediaStats;
use sluss_phone::number::PhoneNumber;
use sluss_phone::sdp::Codec;
use sluss_phone::sip::config::SourceNet;
use sluss_phone::sip::leg::LegState;
use sluss_phone::sip::{DialTarget, EndReason, Peer};
use sluss_relay::DirectMedia;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

/// The media timeout of these calls.
const SILENCE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_hears_nothing_is_hung_up_and_one_that_hears_its_phone_stays() {
    if let Err(reason) = peers_available(&["sipp"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    // The phone echoes what it hears: the call stays up past several timeouts.
    let (end, stats) = call_sipp(true, Some(SILENCE * 4)).await;
    assert_eq!(end, LegState::Ended(EndReason::LocalHangUp));
    assert!(!stats.fell_silent, "{stats:?}");
    assert!(stats.datagrams_in >= 100, "the echo was heard: {stats:?}");
    assert!(stats.bridge.frames_to_meeting >= 100, "{stats:?}");

    // The phone says nothing: we hang up after the timeout, by ourselves.
    let (end, stats) = call_sipp(false, None).await;
    assert_eq!(end, LegState::Ended(EndReason::LocalHangUp));
    assert!(stats.fell_silent, "{stats:?}");
    assert_eq!(stats.datagrams_in, 0, "{stats:?}");
}

#[tokio::test]
async fn requests_from_outside_the_trunks_addresses_get_no_answer() {
    let world = World::new();
    let loopback = SourceNet::parse("127.0.0.0/8").unwrap();
    let elsewhere = SourceNet::parse("192.0.2.0/24").unwrap();
    let (_stack, port) = world.start_stack_for_udp_trunk(vec![loopback]).await;
    let answer = options(port).await;
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with("SIP/2.0 200")),
        "{answer:?}"
    );
    let (_stack, port) = world.start_stack_for_udp_trunk(vec![elsewhere]).await;
    assert_eq!(options(port).await, None, "a stranger hears nothing");
}

/// Sends an OPTIONS over UDP from loopback; the answer's text, if one comes in a second.
async fn options(port: u16) -> Option<String> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let me = socket.local_addr().unwrap();
    let request = format!(
        "OPTIONS sip:sluss@127.0.0.1:{port} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK-src-{port}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:scan@{me}>;tag=s1\r\nTo: <sip:sluss@127.0.0.1>\r\n\
         Call-ID: src-{port}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    socket
        .send_to(request.as_bytes(), ("127.0.0.1", port))
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let received = tokio::time::timeout(Duration::from_secs(1), socket.recv(&mut buf)).await;
    let n = received.ok()?.ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Calls sipp over UDP and returns how the call ended and what its media counted. With
/// `hang_up_after`, we hang up then (and the call must not end before); without, the call
/// must end by itself within a few timeouts.
async fn call_sipp(echo: bool, hang_up_after: Option<Duration>) -> (LegState, LegMediaStats) {
    let mut world = World::new();
    let sipp = world.start_sipp_phone(echo);
    let (stack, _) = world.start_stack_for_udp_trunk(Vec::new()).await;
    let (_meeting_voices, voices) = mpsc::channel(8);
    let (digits, _keys) = mpsc::channel(8);
    let (reports_tx, mut reports) = mpsc::channel(8);
    let (hang_up, hang_up_rx) = oneshot::channel();
    let number = PhoneNumber::parse("+46701234567").expect("a number");
    let plan = DialPlan {
        target: DialTarget::number(&number, Peer::new("127.0.0.1", sipp)),
        credentials: None,
        socket: UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap(),
        announce: Ipv4Addr::LOCALHOST.into(),
        unencrypted: true,
        key: [0x17; 30],
        ssrc: 0x0dd,
        codecs: vec![Codec::Pcma],
        media_timeout: SILENCE,
    };
    let side = MeetingSide {
        voices,
        send: |_: DirectMedia| {},
        digits,
    };
    let call =
        tokio::spawn(
            async move { call::dial_out(&stack, plan, side, reports_tx, hang_up_rx).await },
        );
    let answered = tokio::time::timeout(STEP, answered(&mut reports)).await;
    if answered.is_err() {
        world.print_logs();
        panic!("sipp did not answer within the step");
    }
    assert_eq!(
        answered,
        Ok(false),
        "plain RTP on the trunk marked unencrypted"
    );
    let end = match hang_up_after {
        Some(after) => {
            let early = tokio::time::timeout(after, ended(&mut reports)).await;
            assert!(early.is_err(), "the call ended early: {early:?}");
            let _ = hang_up.send(());
            tokio::time::timeout(STEP, ended(&mut reports)).await
        }
        None => tokio::time::timeout(SILENCE * 5, ended(&mut reports)).await,
    };
    let end = end.expect("the call ended in time");
    call.await.expect("the call task");
    end
}

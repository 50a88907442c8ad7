//! A phone joined to a meeting, end to end: we dial baresip over TLS (it answers by itself,
//! insists on SRTP and says a 440 Hz tone), the call's media task bridges it into a meeting on
//! a real media worker, and another participant of that meeting (a second direct transport)
//! hears the tone through the relay as Opus, while the phone receives the participant's voice.
//! Then the meeting side hangs up.

mod audio;
mod sip_peers;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use sip_peers::{answered, ended, peers_available, World, STEP};
use sluss_phone::call::{self, DialPlan, MeetingSide};
use sluss_phone::sip::leg::LegState;
use sluss_phone::sip::{DialTarget, EndReason, Peer};
use sluss_relay::{DirectMedia, PeerId, RouterId};

use audio::{power, Participant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_dialled_out_is_heard_in_the_meeting_and_hung_up_from_it() {
    if let Err(reason) = peers_available(&["baresip"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let started = Instant::now();
    let mut world = World::new();
    let phone = world.start_baresip();
    let stack = world.start_stack().await;
    let router = RouterId(3);
    let (leg_id, other_id) = (PeerId(10), PeerId(11));
    let (media, leg_voices, mut other_hears) =
        audio::meeting_of_two(router, leg_id, other_id).await;

    let (reports_tx, mut reports) = mpsc::channel(8);
    let (digits, _digits_rx) = mpsc::channel(8);
    let (hang_up, hang_up_rx) = oneshot::channel();
    let sender = media.clone();
    let plan = DialPlan {
        target: DialTarget::account("alice", Peer::new("127.0.0.1", phone.tls_port)),
        credentials: None,
        socket: UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap(),
        announce: Ipv4Addr::LOCALHOST.into(),
        unencrypted: false,
        key: [0x42; 30],
        ssrc: 0x5eed,
        codecs: call::DEFAULT_CODECS.to_vec(),
        media_timeout: call::DEFAULT_MEDIA_TIMEOUT,
    };
    let side = MeetingSide {
        voices: leg_voices,
        send: move |m: DirectMedia| sender.send_direct(router, leg_id, m),
        digits,
    };
    let call =
        tokio::spawn(
            async move { call::dial_out(&stack, plan, side, reports_tx, hang_up_rx).await },
        );
    let answered = tokio::time::timeout(STEP, answered(&mut reports))
        .await
        .expect("answered within the step");
    assert!(answered, "answered, with SRTP");
    phone.wait_for_event(&world, "CALL_ESTABLISHED");

    // Two seconds of the meeting: the other participant speaks (1 kHz) and listens.
    let mut other = Participant::new(router, other_id);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for k in 0..100usize {
        tick.tick().await;
        other.say(&media, k, 1_000.0);
        other.listen(&mut other_hears, leg_id);
    }
    let heard = &other.heard;
    // baresip's tone, through SRTP, the jitter buffer, G.711 and Opus.
    assert!(heard.len() >= 960 * 60, "{} samples heard", heard.len());
    let tail = &heard[960 * 20..];
    let (p440, p1000) = (power(tail, 48_000.0, 440.0), power(tail, 48_000.0, 1_000.0));
    assert!(
        p440 > 100.0 && p440 > 10.0 * p1000,
        "440 Hz {p440}, 1 kHz {p1000}"
    );

    // The meeting side hangs up: BYE, and the call's last report counts its media.
    let _ = hang_up.send(());
    let end = tokio::time::timeout(STEP, ended(&mut reports))
        .await
        .expect("ended within the step");
    assert_eq!(end.0, LegState::Ended(EndReason::LocalHangUp));
    let stats = end.1;
    assert!(stats.bridge.frames_to_phone >= 90, "{stats:?}");
    assert!(stats.bridge.frames_to_meeting >= 80, "{stats:?}");
    assert_eq!(stats.refused, 0, "{stats:?}");
    assert_eq!(call.await.unwrap(), LegState::Ended(EndReason::LocalHangUp));
    phone.wait_for_event(&world, "CALL_CLOSED");
    media.shutdown();
    eprintln!("phone in a meeting took {:?}", started.elapsed());
}

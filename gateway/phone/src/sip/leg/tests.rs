//! The placed call's state machine, driven by hand: no network, no clock.

use super::*;
use crate::sdp::{Direction, LocalMedia, MasterKey};

fn local(unencrypted: bool) -> LocalMedia {
    let mut local = LocalMedia::new("192.0.2.1".parse().unwrap(), 30000);
    local.unencrypted = unencrypted;
    local
}

fn leg() -> DialOut {
    DialOut::new(local(false), MasterKey::new([7; 30]))
}

/// An answer in baresip's shape: SRTP, PCMA, telephone-event, our suite under tag 1.
fn answer(profile: &str, crypto: bool, direction: &str) -> SdpBody {
    let mut sdp = format!(
        "v=0\r\no=- 1 2 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n\
         m=audio 40000 {profile} 8 101\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na={direction}\r\n"
    );
    if crypto {
        sdp.push_str(
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk\r\n",
        );
    }
    SdpBody::new(sdp.into_bytes())
}

fn srtp_answer() -> SdpBody {
    answer("RTP/SAVP", true, "sendrecv")
}

fn answered() -> DialOut {
    let mut leg = leg();
    leg.dial().unwrap();
    leg.on_event(LegEvent::Ringing);
    let actions = leg.on_event(LegEvent::Answered { sdp: srtp_answer() });
    assert!(matches!(actions.as_slice(), [Action::StartMedia(_)]));
    leg
}

#[test]
fn offer_is_srtp_with_sdes_keys_on_an_encrypted_trunk() {
    let mut leg = leg();
    let offer = leg.dial().unwrap();
    let text = std::str::from_utf8(offer.as_bytes()).unwrap();
    assert!(text.contains("m=audio 30000 RTP/SAVP"), "{text}");
    assert!(
        text.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"),
        "{text}"
    );
    assert_eq!(leg.state(), &LegState::Calling);
    assert_eq!(leg.dial(), Err(LegError::AlreadyDialled));
}

#[test]
fn offer_is_plain_rtp_only_on_a_trunk_marked_unencrypted() {
    let mut leg = DialOut::new(local(true), MasterKey::new([7; 30]));
    let offer = leg.dial().unwrap();
    let text = std::str::from_utf8(offer.as_bytes()).unwrap();
    assert!(text.contains("RTP/AVP"), "{text}");
    assert!(!text.contains("a=crypto"), "{text}");
}

#[test]
fn srtp_answer_starts_media_with_both_keys() {
    let mut leg = leg();
    leg.dial().unwrap();
    leg.on_event(LegEvent::Ringing);
    assert_eq!(leg.state(), &LegState::Ringing);
    let actions = leg.on_event(LegEvent::Answered { sdp: srtp_answer() });
    let [Action::StartMedia(agreed)] = actions.as_slice() else {
        panic!("expected media to start, got {actions:?}");
    };
    assert_eq!(leg.state(), &LegState::Answered);
    let crypto = agreed.crypto.as_ref().expect("SRTP agreed");
    assert_eq!(crypto.tag, 1);
    assert_eq!(agreed.remote, Some("198.51.100.7:40000".parse().unwrap()));
    assert_eq!(agreed.telephone_event, Some(101));
}

#[test]
fn answer_without_srtp_on_an_encrypted_trunk_is_hung_up_as_not_encrypted() {
    let mut leg = leg();
    leg.dial().unwrap();
    let actions = leg.on_event(LegEvent::Answered {
        sdp: answer("RTP/AVP", false, "sendrecv"),
    });
    assert_eq!(actions, vec![Action::HangUp]);
    assert!(leg.negotiated().is_none());
    leg.on_event(LegEvent::Ended {
        reason: EndReason::LocalHangUp,
    });
    assert_eq!(leg.state(), &LegState::Failed(FailReason::NotEncrypted));
}

#[test]
fn answer_without_srtp_is_accepted_on_a_trunk_marked_unencrypted() {
    let mut leg = DialOut::new(local(true), MasterKey::new([7; 30]));
    leg.dial().unwrap();
    let actions = leg.on_event(LegEvent::Answered {
        sdp: answer("RTP/AVP", false, "sendrecv"),
    });
    assert!(matches!(actions.as_slice(), [Action::StartMedia(n)] if n.crypto.is_none()));
    assert_eq!(leg.state(), &LegState::Answered);
}

#[test]
fn garbage_answer_is_hung_up_with_the_sdp_error() {
    let mut leg = leg();
    leg.dial().unwrap();
    let actions = leg.on_event(LegEvent::Answered {
        sdp: SdpBody::new(b"\xff\xfe not sdp".to_vec()),
    });
    assert_eq!(actions, vec![Action::HangUp]);
    leg.on_event(LegEvent::Ended {
        reason: EndReason::RemoteHangUp,
    });
    assert!(matches!(
        leg.state(),
        LegState::Failed(FailReason::BadAnswer(_))
    ));
}

#[test]
fn hang_up_before_the_answer_cancels() {
    let mut leg = leg();
    leg.dial().unwrap();
    leg.on_event(LegEvent::Ringing);
    assert_eq!(leg.hang_up(), Some(Action::Cancel));
    assert_eq!(leg.state(), &LegState::Cancelling);
    // A 200 crossing the CANCEL is not taken up.
    assert!(leg
        .on_event(LegEvent::Answered { sdp: srtp_answer() })
        .is_empty());
    leg.on_event(LegEvent::Ended {
        reason: EndReason::Rejected(487),
    });
    assert_eq!(leg.state(), &LegState::Cancelled);
    assert_eq!(leg.hang_up(), None);
}

#[test]
fn hang_up_after_the_answer_sends_bye_and_ends() {
    let mut leg = answered();
    assert_eq!(leg.hang_up(), Some(Action::HangUp));
    assert_eq!(leg.state(), &LegState::Ending { failure: None });
    leg.on_event(LegEvent::Ended {
        reason: EndReason::LocalHangUp,
    });
    assert_eq!(leg.state(), &LegState::Ended(EndReason::LocalHangUp));
    assert!(leg.state().is_over());
}

#[test]
fn remote_bye_ends_an_answered_call() {
    let mut leg = answered();
    leg.on_event(LegEvent::Ended {
        reason: EndReason::RemoteHangUp,
    });
    assert_eq!(leg.state(), &LegState::Ended(EndReason::RemoteHangUp));
}

#[test]
fn refusals_before_the_answer_fail_with_their_reason() {
    for (reason, expected) in [
        (EndReason::Rejected(486), FailReason::Rejected(486)),
        (EndReason::AuthFailed, FailReason::AuthFailed),
        (EndReason::Timeout, FailReason::Timeout),
        (EndReason::Transport, FailReason::Transport),
        (EndReason::RemoteHangUp, FailReason::EndedUnanswered),
    ] {
        let mut leg = leg();
        leg.dial().unwrap();
        leg.on_event(LegEvent::Ended { reason });
        assert_eq!(leg.state(), &LegState::Failed(expected));
        // Late events change nothing.
        leg.on_event(LegEvent::Ended {
            reason: EndReason::Timeout,
        });
        assert!(matches!(leg.state(), LegState::Failed(_)));
    }
}

#[test]
fn reoffer_to_hold_is_answered_and_updates_media() {
    let mut leg = answered();
    let actions = leg.on_event(LegEvent::ReOffer {
        sdp: answer("RTP/SAVP", true, "sendonly"),
    });
    let [Action::AnswerReOffer(body), Action::UpdateMedia(agreed)] = actions.as_slice() else {
        panic!("expected an answer and a media update, got {actions:?}");
    };
    let text = std::str::from_utf8(body.as_bytes()).unwrap();
    assert!(text.contains("a=recvonly"), "{text}");
    assert!(
        text.contains(" 1 2 IN IP4 192.0.2.1"),
        "the session version grows: {text}"
    );
    assert_eq!(agreed.direction, Direction::RecvOnly);
}

#[test]
fn reoffer_without_srtp_is_refused_and_the_call_goes_on() {
    let mut leg = answered();
    let actions = leg.on_event(LegEvent::ReOffer {
        sdp: answer("RTP/AVP", false, "sendrecv"),
    });
    assert_eq!(actions, vec![Action::RefuseReOffer(488)]);
    assert_eq!(leg.state(), &LegState::Answered);
    assert!(leg.negotiated().and_then(|n| n.crypto.as_ref()).is_some());
}

#[test]
fn reoffer_before_the_answer_is_refused_as_pending() {
    let mut leg = leg();
    leg.dial().unwrap();
    let actions = leg.on_event(LegEvent::ReOffer { sdp: srtp_answer() });
    assert_eq!(actions, vec![Action::RefuseReOffer(491)]);
    assert_eq!(leg.state(), &LegState::Calling);
}

#[test]
fn debug_of_the_leg_shows_no_keys() {
    let leg = answered();
    let printed = format!("{leg:?} {:?}", leg.negotiated());
    assert!(printed.contains("Answered"), "{printed}");
    assert!(!printed.contains("inline:"), "{printed}");
    assert!(!printed.contains("QUJDREVG"), "{printed}");
}

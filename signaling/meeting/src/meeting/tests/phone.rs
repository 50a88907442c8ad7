//! R14: the chair moves a participant's voice to their phone, and the call ends with them.

use super::*;
use crate::CallId;

fn call(s: &str) -> CallId {
    CallId::new(s)
}

/// The convener "c" with guest "g" admitted.
fn in_room() -> (Meeting, Instant) {
    let (mut m, now) = convened();
    m.act(now, &pid("c"), ChairAction::Admit(pid("g"))).unwrap();
    (m, now)
}

fn to_phone(
    m: &mut Meeting,
    now: Instant,
    who: &str,
    id: &str,
) -> Result<Vec<Effect>, ActionError> {
    m.act(
        now,
        &pid("c"),
        ChairAction::MoveAudioToPhone {
            participant: pid(who),
            call: call(id),
        },
    )
}

fn hung_up(effects: &[Effect], id: &str) -> bool {
    effects.contains(&Effect::HangUp(call(id)))
}

#[test]
fn the_chair_moves_a_voice_to_the_phone_and_it_is_cut_from_the_browser_once_answered() {
    let (mut m, now) = in_room();
    let effects = to_phone(&mut m, now, "g", "k1").unwrap();
    assert_eq!(
        effects[0],
        Effect::DialOut {
            participant: pid("g"),
            call: call("k1"),
            by: pid("c")
        }
    );
    // Ringing: the browser still carries the voice.
    assert_eq!(m.audio_route(&pid("g")), AudioRoute::Ringing(call("k1")));
    assert_eq!(
        to_phone(&mut m, now, "g", "k2"),
        Err(ActionError::AlreadyByPhone)
    );
    let effects = m.call_answered(&call("k1"));
    assert_eq!(
        effects[0],
        Effect::AudioRouted {
            participant: pid("g"),
            by_phone: true
        }
    );
    assert_eq!(m.audio_route(&pid("g")), AudioRoute::Phone(call("k1")));
    // The phone hangs up: the browser's audio stays cut until someone asks for it.
    let effects = m.call_ended(now, &call("k1"));
    assert!(matches!(
        effects[0],
        Effect::CallEnded {
            how: CallEnd::HungUp,
            ..
        }
    ));
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::AudioRouted { .. })));
    assert_eq!(m.audio_route(&pid("g")), AudioRoute::PhoneHungUp);
    // The participant asks for it back.
    let effects = m.audio_to_browser(&pid("g")).unwrap();
    assert_eq!(
        effects[0],
        Effect::AudioRouted {
            participant: pid("g"),
            by_phone: false
        }
    );
    assert_eq!(m.audio_route(&pid("g")), AudioRoute::Browser);
    assert_eq!(m.audio_to_browser(&pid("g")), Err(ActionError::NotByPhone));
}

#[test]
fn only_the_chair_dials_and_only_to_someone_in_the_room() {
    let (mut m, now) = convened();
    // "g" waits in the lobby: no call to the lobby.
    assert_eq!(
        to_phone(&mut m, now, "g", "k1"),
        Err(ActionError::NotInRoom)
    );
    m.act(now, &pid("c"), ChairAction::Admit(pid("g"))).unwrap();
    let by_guest = m.act(
        now,
        &pid("g"),
        ChairAction::MoveAudioToPhone {
            participant: pid("g"),
            call: call("k1"),
        },
    );
    assert_eq!(by_guest, Err(ActionError::NotChair));
    assert_eq!(
        to_phone(&mut m, now, "nobody", "k1"),
        Err(ActionError::NoSuchParticipant)
    );
    assert_eq!(m.audio_route(&pid("g")), AudioRoute::Browser);
}

#[test]
fn a_call_not_answered_leaves_the_browser_audio_as_it_was() {
    let (mut m, now) = in_room();
    to_phone(&mut m, now, "g", "k1").unwrap();
    let effects = m.call_ended(now, &call("k1"));
    assert!(matches!(
        effects[0],
        Effect::CallEnded {
            how: CallEnd::NotAnswered,
            ..
        }
    ));
    assert_eq!(m.audio_route(&pid("g")), AudioRoute::Browser);
    // A late answer of a call that is gone is hung up, never routed.
    assert_eq!(
        m.call_answered(&call("k1")),
        vec![Effect::HangUp(call("k1"))]
    );
}

#[test]
fn the_call_ends_with_its_participant_on_every_way_out() {
    // Removed by the chair.
    let (mut m, now) = in_room();
    to_phone(&mut m, now, "g", "k1").unwrap();
    m.call_answered(&call("k1"));
    let effects = m
        .act(now, &pid("c"), ChairAction::Remove(pid("g")))
        .unwrap();
    assert!(hung_up(&effects, "k1"), "{effects:?}");
    // Left on purpose.
    let (mut m, now) = in_room();
    to_phone(&mut m, now, "g", "k1").unwrap();
    assert!(hung_up(&m.leave(&pid("g")), "k1"));
    // Invitation revoked.
    let (mut m, now) = in_room();
    to_phone(&mut m, now, "g", "k1").unwrap();
    assert!(hung_up(&m.revoke(&LinkId::new("lg")), "k1"));
    // The meeting ends, or is cancelled: every call.
    let (mut m, now) = in_room();
    to_phone(&mut m, now, "g", "k1").unwrap();
    m.call_answered(&call("k1"));
    let effects = m.act(now, &pid("c"), ChairAction::End).unwrap();
    assert!(hung_up(&effects, "k1"), "{effects:?}");
    let (mut m, now) = in_room();
    to_phone(&mut m, now, "g", "k1").unwrap();
    assert!(hung_up(&m.cancel(), "k1"));
    // The chair's own voice by phone ends when the chair's login ends and puts them out.
    let (mut m, now) = in_room();
    to_phone(&mut m, now, "c", "k9").unwrap();
    let effects = m.staff_login_ended(&pid("c"));
    assert!(hung_up(&effects, "k9"), "{effects:?}");
}

#[test]
fn someone_on_the_phone_keeps_the_seat_while_the_browser_is_gone() {
    let (mut m, now) = in_room();
    to_phone(&mut m, now, "g", "k1").unwrap();
    m.call_answered(&call("k1"));
    m.connection_lost(now, &pid("g"));
    let later = now + MeetingConfig::default().reconnect_grace * 3;
    assert!(m.handle_timeout(later).is_empty());
    assert!(
        m.participant(&pid("g")).is_some(),
        "still in the meeting by phone"
    );
    assert_eq!(
        m.poll_timeout(),
        None,
        "nothing to wait for while the call is up"
    );
    // When the call ends too, the seat goes at once: the grace ran out long ago.
    let effects = m.call_ended(later, &call("k1"));
    assert!(effects.contains(&Effect::Departed(pid("g"))), "{effects:?}");
}

#[test]
fn a_meeting_places_a_bounded_number_of_calls() {
    let (mut m, now) = in_room();
    // Ringing calls that never end: at most MAX_CALLS at once (to the same person once).
    let mut placed = 0;
    for i in 0..MAX_CALLS + 2 {
        let id = format!("p{i}");
        m.join(now, request(&format!("l{i}"), &id, Role::Guest))
            .unwrap();
        m.act(now, &pid("c"), ChairAction::Admit(pid(&id))).unwrap();
        match to_phone(&mut m, now, &id, &format!("k{i}")) {
            Ok(_) => placed += 1,
            Err(e) => assert_eq!(e, ActionError::TooManyCalls),
        }
    }
    assert_eq!(placed, MAX_CALLS);
    // Calls that end at once: at most MAX_DIALS_PER_WINDOW in ten minutes.
    let (mut m, now) = in_room();
    let mut placed = 0;
    for i in 0..MAX_DIALS_PER_WINDOW + 3 {
        if to_phone(&mut m, now, "g", &format!("k{i}")).is_ok() {
            placed += 1;
            m.call_ended(now, &call(&format!("k{i}")));
        }
    }
    assert_eq!(placed, MAX_DIALS_PER_WINDOW);
    assert!(to_phone(&mut m, now + Duration::from_secs(601), "g", "again").is_ok());
}

#[test]
fn calls_in_and_splits_share_the_meetings_one_rate_of_calls() {
    let (mut m, now) = in_room();
    // The chair called people in until one dial was left.
    for _ in 0..MAX_DIALS_PER_WINDOW - 1 {
        assert!(m.dials_left(now) > 0);
        m.count_dial(now);
    }
    assert_eq!(m.dials_left(now), 1);
    // The split takes the last one; after it, neither kind of call is placed.
    to_phone(&mut m, now, "g", "k1").unwrap();
    m.call_ended(now, &call("k1"));
    assert_eq!(m.dials_left(now), 0);
    assert_eq!(
        to_phone(&mut m, now, "g", "k2"),
        Err(ActionError::TooManyCalls)
    );
    // Counting past the window's end does nothing; ten minutes later it is open again.
    m.count_dial(now);
    assert_eq!(m.dials_left(now), 0);
    assert_eq!(
        m.dials_left(now + Duration::from_secs(601)),
        MAX_DIALS_PER_WINDOW
    );
}

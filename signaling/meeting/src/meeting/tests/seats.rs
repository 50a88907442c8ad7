//! Seats: taking one back, a link opened again, staff logins that end, knock floods.

use super::*;

/// The chair admits "g" and identifies them by ID shown on camera.
fn with_patient_in_the_room() -> (Meeting, Instant) {
    let (mut m, now) = convened();
    m.act(now, &pid("c"), ChairAction::Admit(pid("g"))).unwrap();
    m.act(
        now,
        &pid("c"),
        ChairAction::Identify(pid("g"), Identification::IdShownOnCamera),
    )
    .unwrap();
    (m, now)
}

#[test]
fn a_forwarded_link_knocks_as_a_newcomer_and_the_patient_keeps_the_seat() {
    let (mut m, now) = with_patient_in_the_room();
    let (outcome, effects) = m.join(now, request("lg", "x", Role::Guest)).unwrap();
    assert_eq!(outcome, JoinOutcome::Joined(pid("x")));
    assert_eq!(effects, vec![Effect::Knocked(pid("x"))]);
    let x = m.participant(&pid("x")).unwrap();
    assert!(!x.is_admitted() && x.reopened);
    assert_eq!(x.identification, None, "nothing of the seat carried over");
    let g = m.participant(&pid("g")).unwrap();
    assert!(
        g.is_admitted() && g.presence == Presence::Connected,
        "the patient stays"
    );
    assert_eq!(g.identification, Some(Identification::IdShownOnCamera));
    // Denied, the newcomer is held back from knocking again at once.
    m.act(now, &pid("c"), ChairAction::Deny(pid("x"))).unwrap();
    assert!(m.participant(&pid("g")).unwrap().is_admitted());
    assert_eq!(
        m.join(now, request("lg", "y", Role::Guest)).unwrap_err(),
        JoinError::TooSoon
    );
    // The patient's own page still takes its seat back with its secret.
    m.connection_lost(now, &pid("g"));
    let (outcome, _) = m.join(now, resuming("lg", "z", "r_g")).unwrap();
    assert_eq!(outcome, JoinOutcome::Resumed(pid("g")));
}

#[test]
fn admitting_the_newcomer_closes_the_old_seat() {
    let (mut m, now) = with_patient_in_the_room();
    m.join(now, request("lg", "x", Role::Guest)).unwrap();
    // A third opening replaces the waiting newcomer, not the patient.
    let (_, effects) = m.join(now, request("lg", "y", Role::Guest)).unwrap();
    assert_eq!(
        effects,
        vec![Effect::Withdrawn(pid("x")), Effect::Knocked(pid("y"))]
    );
    let effects = m.act(now, &pid("c"), ChairAction::Admit(pid("y"))).unwrap();
    assert!(effects.contains(&Effect::Superseded {
        participant: pid("g"),
        successor: pid("y")
    }));
    assert!(m.participant(&pid("g")).is_none());
    assert_eq!(m.participant(&pid("y")).unwrap().identification, None);
}

#[test]
fn the_resume_secret_is_rotated_on_use_and_dies_with_the_seat() {
    let (mut m, now) = with_patient_in_the_room();
    m.connection_lost(now, &pid("g"));
    let mut back = resuming("lg", "g2", "r_g");
    back.new_resume = ResumeKey::new("r_next");
    assert_eq!(m.join(now, back).unwrap().0, JoinOutcome::Resumed(pid("g")));
    m.resume_delivered(&pid("g"));
    // The spent secret takes nothing back: it knocks as a newcomer.
    let (outcome, _) = m.join(now, resuming("lg", "g3", "r_g")).unwrap();
    assert_eq!(outcome, JoinOutcome::Joined(pid("g3")));
    m.act(now, &pid("c"), ChairAction::Deny(pid("g3"))).unwrap();
    // The new one does, while the seat is there.
    let (outcome, _) = m.join(now, resuming("lg", "g4", "r_next")).unwrap();
    assert_eq!(outcome, JoinOutcome::Replaced(pid("g")));
    // Once the seat is left, nothing comes back with it.
    m.leave(&pid("g"));
    let later = now + Duration::from_secs(3600);
    let (outcome, effects) = m.join(later, resuming("lg", "g5", "r_g4")).unwrap();
    assert_eq!(outcome, JoinOutcome::Joined(pid("g5")));
    assert_eq!(effects, vec![Effect::Knocked(pid("g5"))]);
}

#[test]
fn what_a_login_proves_cannot_be_recorded_by_hand() {
    let (mut m, now) = with_patient_in_the_room();
    for how in [Identification::EIdentification, Identification::StaffLogin] {
        assert_eq!(
            m.act(now, &pid("c"), ChairAction::Identify(pid("g"), how)),
            Err(ActionError::NotAttestable)
        );
    }
    assert_eq!(
        m.participant(&pid("g")).unwrap().identification,
        Some(Identification::IdShownOnCamera)
    );
}

#[test]
fn a_seat_never_lends_its_staff_login() {
    let (mut m, now) = convened();
    let staff = JoinRequest {
        invitee: Invitee::Staff,
        staff: Some(StaffAccount::new("u_s")),
        ..request("ls", "s", Role::Guest)
    };
    m.join(now, staff).unwrap();
    // The staff invitation forwarded to someone without a login, even with the secret.
    let (outcome, effects) = m.join(now, resuming("ls", "x", "r_s")).unwrap();
    assert_eq!(outcome, JoinOutcome::Joined(pid("x")));
    assert_eq!(effects, vec![Effect::Knocked(pid("x"))]);
    assert!(!m.participant(&pid("x")).unwrap().is_staff());
    // The chair's link needs a login on the connection itself.
    let no_login = JoinRequest {
        staff: None,
        ..request("lc", "y", Role::Chair)
    };
    assert_eq!(m.join(now, no_login).unwrap_err(), JoinError::LoginRequired);
    // The same staff login takes its own seat back.
    let again = JoinRequest {
        invitee: Invitee::Staff,
        staff: Some(StaffAccount::new("u_s")),
        ..request("ls", "s2", Role::Guest)
    };
    assert_eq!(
        m.join(now, again).unwrap().0,
        JoinOutcome::Replaced(pid("s"))
    );
}

#[test]
fn a_staff_login_that_ends_takes_the_chair_and_the_direct_entry_with_it() {
    let (mut m, now) = convened();
    let staff = |link: &str, id: &str| JoinRequest {
        invitee: Invitee::Staff,
        staff: Some(StaffAccount::new(format!("u_{id}"))),
        ..request(link, id, Role::Guest)
    };
    m.join(now, staff("ls", "s")).unwrap();
    m.act(now, &pid("c"), ChairAction::SetLocked(true)).unwrap();
    m.join(now, staff("lt", "t")).unwrap();
    m.act(now, &pid("c"), ChairAction::Admit(pid("t"))).unwrap();
    // Admitted by the chair: stays, without staff rights or the login's identification.
    let effects = m.staff_login_ended(&pid("t"));
    assert!(effects.contains(&Effect::StaffLoginEnded {
        participant: pid("t"),
        put_out: false
    }));
    let t = m.participant(&pid("t")).unwrap();
    assert!(!t.is_staff() && t.identification.is_none() && t.is_admitted());
    // The convener is present by the login alone: out, and the chair goes to other staff.
    let effects = m.staff_login_ended(&pid("c"));
    assert!(effects.contains(&Effect::StaffLoginEnded {
        participant: pid("c"),
        put_out: true
    }));
    assert!(m.participant(&pid("c")).is_none());
    assert_eq!(m.chair(), Some(&pid("s")));
    m.staff_login_ended(&pid("s"));
    assert_eq!(
        m.chair(),
        None,
        "never to someone who is not logged-in staff now"
    );
}

#[test]
fn a_link_turned_away_again_and_again_waits_longer_each_time() {
    let (mut m, mut now) = convened();
    let mut waits = Vec::new();
    for round in 0..4 {
        let id = format!("g{round}");
        m.join(now, request("lx", &id, Role::Guest)).unwrap();
        m.act(now, &pid("c"), ChairAction::Deny(pid(&id))).unwrap();
        let mut waited = Duration::ZERO;
        while m.join(now, request("lx", "probe", Role::Guest)) == Err(JoinError::TooSoon) {
            now += Duration::from_secs(5);
            waited += Duration::from_secs(5);
        }
        m.leave(&pid("probe"));
        waits.push(waited.as_secs());
    }
    assert_eq!(waits, vec![30, 60, 120, 240]);
}

#[test]
fn a_chair_link_let_in_by_the_chair_still_goes_with_its_login() {
    let (mut m, now) = convened();
    // The convener's link, opened by a colleague with a login of her own: she knocks.
    let colleague = JoinRequest {
        staff: Some(StaffAccount::new("u_colleague")),
        ..request("lc", "s", Role::Chair)
    };
    m.join(now, colleague).unwrap();
    m.act(now, &pid("c"), ChairAction::Admit(pid("s"))).unwrap();
    assert_eq!(m.chair(), Some(&pid("s")), "the chair follows the link");
    let effects = m.staff_login_ended(&pid("s"));
    assert!(effects.contains(&Effect::StaffLoginEnded {
        participant: pid("s"),
        put_out: true
    }));
    // The seat is free again: the convener's link comes back and chairs.
    let (outcome, _) = m.join(now, request("lc", "c2", Role::Chair)).unwrap();
    assert_eq!(outcome, JoinOutcome::Joined(pid("c2")));
    assert_eq!(m.chair(), Some(&pid("c2")));
}

#[test]
fn the_secret_before_a_rotation_holds_until_the_page_has_the_new_one() {
    let (mut m, now) = with_patient_in_the_room();
    m.connection_lost(now, &pid("g"));
    // The `joined` carrying the new secret never reaches the page...
    m.join(now, resuming("lg", "g2", "r_g")).unwrap();
    m.connection_lost(now, &pid("g"));
    // ...so it comes back with the old one, and still gets its seat.
    let (outcome, _) = m.join(now, resuming("lg", "g3", "r_g")).unwrap();
    assert_eq!(outcome, JoinOutcome::Resumed(pid("g")));
    // Once the page has the new secret, the old one is spent.
    m.resume_delivered(&pid("g"));
    let (outcome, _) = m.join(now, resuming("lg", "g4", "r_g")).unwrap();
    assert_eq!(outcome, JoinOutcome::Joined(pid("g4")));
}

#[test]
fn a_link_that_knocks_and_drops_over_and_over_is_held_back() {
    let (mut m, now) = convened();
    let mut refused_at = None;
    for i in 0..12 {
        match m.join(now, request("lx", &format!("x{i}"), Role::Guest)) {
            Ok(_) => {
                m.connection_lost(now, &pid(&format!("x{i}")));
            }
            Err(e) => {
                assert_eq!(e, JoinError::TooSoon);
                refused_at = Some(i);
                break;
            }
        }
    }
    assert_eq!(refused_at, Some(10), "ten arrivals, then a wait");
}

use super::*;
use crate::{DisplayName, ResumeKey, StaffAccount};
use proptest::prelude::*;
use std::time::Duration;

fn request(link: &str, id: &str, role: Role) -> JoinRequest {
    JoinRequest {
        link: LinkId::new(link),
        role,
        invitee: Invitee::Patient,
        staff: (role == Role::Chair).then(|| StaffAccount::new("u_chair")),
        name: DisplayName::parse("Bertil").unwrap(),
        e_identified: false,
        resume: None,
        new_id: ParticipantId::new(id),
        new_resume: ResumeKey::new(format!("r_{id}")),
    }
}

/// A guest's join that presents a resume secret.
fn resuming(link: &str, id: &str, secret: &str) -> JoinRequest {
    JoinRequest {
        resume: Some(ResumeKey::new(secret)),
        ..request(link, id, Role::Guest)
    }
}

fn pid(s: &str) -> ParticipantId {
    ParticipantId::new(s)
}

/// A meeting with the convener "c" in the room and guest "g" in the lobby.
fn convened() -> (Meeting, Instant) {
    let now = Instant::now();
    let mut m = Meeting::new(MeetingConfig::default());
    m.join(now, request("lc", "c", Role::Chair)).unwrap();
    m.join(now, request("lg", "g", Role::Guest)).unwrap();
    (m, now)
}

#[test]
fn the_convener_enters_and_chairs_guests_knock() {
    let now = Instant::now();
    let mut m = Meeting::new(MeetingConfig::default());
    let (_, effects) = m.join(now, request("lg", "g", Role::Guest)).unwrap();
    assert_eq!(effects, vec![Effect::Knocked(pid("g"))]);
    let (_, effects) = m.join(now, request("lc", "c", Role::Chair)).unwrap();
    assert_eq!(
        effects,
        vec![
            Effect::Arrived(pid("c")),
            Effect::ChairChanged {
                chair: Some(pid("c"))
            }
        ]
    );
    // The chair's arrival lets nobody in.
    assert!(!m.participant(&pid("g")).unwrap().is_admitted());
    assert_eq!(m.lobby().count(), 1);
}

#[test]
fn the_chair_admits_and_denies_one_by_one() {
    let (mut m, now) = convened();
    m.join(now, request("lh", "h", Role::Guest)).unwrap();
    let effects = m.act(now, &pid("c"), ChairAction::Admit(pid("g"))).unwrap();
    assert_eq!(
        effects,
        vec![Effect::Admitted {
            participant: pid("g"),
            by: pid("c")
        }]
    );
    assert_eq!(
        m.participant(&pid("g")).unwrap().admission,
        Admission::Admitted { by: Some(pid("c")) }
    );
    assert_eq!(
        m.act(now, &pid("c"), ChairAction::Admit(pid("g"))),
        Err(ActionError::NotWaiting)
    );
    let effects = m.act(now, &pid("c"), ChairAction::Deny(pid("h"))).unwrap();
    assert_eq!(
        effects,
        vec![Effect::Denied {
            participant: pid("h"),
            by: pid("c")
        }]
    );
    assert!(m.participant(&pid("h")).is_none());
    assert_eq!(
        m.act(now, &pid("c"), ChairAction::Deny(pid("g"))),
        Err(ActionError::NotWaiting)
    );
}

#[test]
fn nobody_but_the_chair_may_act() {
    let (mut m, now) = convened();
    m.act(now, &pid("c"), ChairAction::Admit(pid("g"))).unwrap();
    for action in [
        ChairAction::Admit(pid("g")),
        ChairAction::Remove(pid("c")),
        ChairAction::Mute(pid("c")),
        ChairAction::SetLocked(true),
        ChairAction::RecordConsent,
        ChairAction::End,
        ChairAction::Identify(pid("g"), Identification::KnownFromBefore),
    ] {
        assert_eq!(
            m.act(now, &pid("g"), action.clone()),
            Err(ActionError::NotChair),
            "{action:?}"
        );
        assert_eq!(
            m.act(now, &pid("nobody"), action),
            Err(ActionError::NotChair)
        );
    }
    assert!(!m.is_ended());
    assert!(!m.is_locked());
}

#[test]
fn ending_empties_everything_and_nobody_comes_back() {
    let (mut m, now) = convened();
    let effects = m.act(now, &pid("c"), ChairAction::End).unwrap();
    assert_eq!(effects, vec![Effect::Ended { by: pid("c") }]);
    assert!(m.is_empty());
    assert_eq!(
        m.join(now, request("lg", "x", Role::Guest)).unwrap_err(),
        JoinError::Ended
    );
    assert_eq!(
        m.join(now, request("lc", "y", Role::Chair)).unwrap_err(),
        JoinError::Ended
    );
    assert_eq!(
        m.act(now, &pid("c"), ChairAction::RecordConsent),
        Err(ActionError::Ended)
    );
}

#[test]
fn identification_consent_mute_and_remove_are_recorded() {
    let (mut m, now) = convened();
    m.act(now, &pid("c"), ChairAction::Admit(pid("g"))).unwrap();
    m.act(
        now,
        &pid("c"),
        ChairAction::Identify(pid("g"), Identification::IdShownOnCamera),
    )
    .unwrap();
    assert_eq!(
        m.participant(&pid("g")).unwrap().identification,
        Some(Identification::IdShownOnCamera)
    );
    m.act(now, &pid("c"), ChairAction::RecordConsent).unwrap();
    assert_eq!(m.consent(), Some(&pid("c")));
    m.act(now, &pid("c"), ChairAction::Mute(pid("g"))).unwrap();
    assert!(m.participant(&pid("g")).unwrap().audio_muted);
    let effects = m
        .act(now, &pid("c"), ChairAction::Remove(pid("g")))
        .unwrap();
    assert_eq!(
        effects,
        vec![Effect::Removed {
            participant: pid("g"),
            by: pid("c")
        }]
    );
    assert_eq!(
        m.act(now, &pid("c"), ChairAction::Remove(pid("c"))),
        Err(ActionError::NoSuchParticipant)
    );
}

#[test]
fn a_dropped_guest_in_the_lobby_knocks_again_and_an_admitted_one_keeps_the_seat() {
    let (mut m, now) = convened();
    assert_eq!(
        m.connection_lost(now, &pid("g")),
        vec![Effect::Departed(pid("g"))]
    );
    m.join(now, request("lg", "g2", Role::Guest)).unwrap();
    m.act(now, &pid("c"), ChairAction::Admit(pid("g2")))
        .unwrap();
    m.connection_lost(now, &pid("g2"));
    let (outcome, _) = m.join(now, resuming("lg", "g3", "r_g2")).unwrap();
    assert_eq!(outcome, JoinOutcome::Resumed(pid("g2")));
    assert!(
        m.participant(&pid("g2")).unwrap().is_admitted(),
        "still admitted after the drop"
    );
}

#[test]
fn without_a_chair_nobody_is_admitted_until_the_convener_returns() {
    let (mut m, now) = convened();
    let effects = m.leave(&pid("c"));
    assert!(effects.contains(&Effect::ChairChanged { chair: None }));
    assert_eq!(
        m.act(now, &pid("c"), ChairAction::Admit(pid("g"))),
        Err(ActionError::NotChair)
    );
    m.join(now, request("lc", "c2", Role::Chair)).unwrap();
    assert_eq!(m.chair(), Some(&pid("c2")));
    assert!(
        !m.participant(&pid("g")).unwrap().is_admitted(),
        "the return admits nobody"
    );
}

#[test]
fn a_reconnecting_chair_still_chairs_until_the_grace_runs_out() {
    let (mut m, now) = convened();
    m.connection_lost(now, &pid("c"));
    assert_eq!(m.chair(), Some(&pid("c")));
    let effects = m.handle_timeout(now + Duration::from_secs(61));
    assert!(effects.contains(&Effect::Departed(pid("c"))));
    assert_eq!(m.chair(), None);
}

#[test]
fn a_link_that_joins_again_takes_back_its_seat() {
    let now = Instant::now();
    let mut m = Meeting::new(MeetingConfig::default());
    m.join(now, request("l1", "p1", Role::Chair)).unwrap();
    let (outcome, _) = m.join(now, request("l1", "p2", Role::Chair)).unwrap();
    assert_eq!(outcome, JoinOutcome::Replaced(pid("p1")));
    m.connection_lost(now, &pid("p1"));
    let (outcome, _) = m.join(now, request("l1", "p3", Role::Chair)).unwrap();
    assert_eq!(outcome, JoinOutcome::Resumed(pid("p1")));
    assert_eq!(m.participants().count(), 1);
}

#[test]
fn a_full_meeting_refuses_newcomers_but_not_returning_links() {
    let now = Instant::now();
    let mut m = Meeting::new(MeetingConfig {
        max_participants: 1,
        ..MeetingConfig::default()
    });
    m.join(now, request("l1", "p1", Role::Chair)).unwrap();
    assert_eq!(
        m.join(now, request("l2", "p2", Role::Guest)).unwrap_err(),
        JoinError::Full
    );
    assert!(m.join(now, request("l1", "p3", Role::Chair)).is_ok());
}

#[test]
fn a_sensitive_meeting_refuses_recording_and_transcription_whoever_asks() {
    let (mut m, _now) = convened();
    for kind in [RecordingKind::Recording, RecordingKind::Transcription] {
        for who in ["c", "g", "stranger"] {
            let (reason, effects) = m.request_recording(&pid(who), kind);
            assert_eq!(reason, RefusalReason::Sensitive);
            assert_eq!(
                effects,
                vec![Effect::RecordingRefused { by: pid(who), kind }]
            );
        }
    }
    let mut open = Meeting::new(MeetingConfig::default()).sensitive(false);
    assert_eq!(
        open.request_recording(&pid("c"), RecordingKind::Recording)
            .0,
        RefusalReason::NotAvailable
    );
}

#[test]
fn chat_is_off_in_a_sensitive_meeting_until_the_chair_turns_it_on() {
    let (mut m, now) = convened();
    let text = || ChatText::parse("Hej").unwrap();
    assert_eq!(m.chat(&pid("c"), text()), Err(RefusalReason::ChatOff));
    assert_eq!(
        m.act(now, &pid("g"), ChairAction::SetChat(true)),
        Err(ActionError::NotChair)
    );
    m.act(now, &pid("c"), ChairAction::SetChat(true)).unwrap();
    assert!(m.chat(&pid("c"), text()).is_ok());
    // Someone in the lobby cannot chat, nor read: the shell only delivers to the room.
    assert_eq!(m.chat(&pid("g"), text()), Err(RefusalReason::NotInRoom));
    assert!(Meeting::new(MeetingConfig::default())
        .sensitive(false)
        .chat_enabled());
}

#[test]
fn only_a_relative_is_identified_by_voice() {
    let (mut m, now) = convened();
    let voice = |id: &str| ChairAction::Identify(pid(id), Identification::VoiceRecognisedByPatient);
    assert_eq!(
        m.act(now, &pid("c"), voice("g")),
        Err(ActionError::OnlyForRelatives)
    );
    let mut relative = request("lr", "r", Role::Guest);
    relative.invitee = Invitee::Relative;
    m.join(now, relative).unwrap();
    assert!(m.act(now, &pid("c"), voice("r")).is_ok());
}

#[test]
fn a_revoked_invitation_puts_its_holder_out_and_cancelling_ends_the_meeting() {
    let (mut m, now) = convened();
    m.act(now, &pid("c"), ChairAction::Admit(pid("g"))).unwrap();
    assert_eq!(
        m.revoke(&LinkId::new("lg")),
        vec![Effect::Revoked(pid("g"))]
    );
    assert!(m.participant(&pid("g")).is_none());
    assert!(m.revoke(&LinkId::new("nobody")).is_empty());
    assert_eq!(m.cancel(), vec![Effect::Cancelled]);
    assert!(m.is_ended() && m.is_empty());
    assert_eq!(
        m.join(now, request("lc", "x", Role::Chair)).unwrap_err(),
        JoinError::Ended
    );
}

#[test]
fn logged_in_staff_enter_directly_unless_locked_and_can_take_the_chair() {
    let (mut m, now) = convened();
    let staff = |link: &str, id: &str| JoinRequest {
        invitee: Invitee::Staff,
        staff: Some(StaffAccount::new(format!("u_{id}"))),
        ..request(link, id, Role::Guest)
    };
    let (_, effects) = m.join(now, staff("ls", "s")).unwrap();
    assert_eq!(effects, vec![Effect::Arrived(pid("s"))]);
    assert_eq!(
        m.participant(&pid("s")).unwrap().identification,
        Some(Identification::StaffLogin)
    );
    // A staff invitation without a login waits like anyone.
    let (_, effects) = m
        .join(
            now,
            JoinRequest {
                staff: None,
                ..staff("lt", "t")
            },
        )
        .unwrap();
    assert_eq!(effects, vec![Effect::Knocked(pid("t"))]);
    // Locked: staff wait too.
    m.act(now, &pid("c"), ChairAction::SetLocked(true)).unwrap();
    let (_, effects) = m.join(now, staff("lu", "u")).unwrap();
    assert_eq!(effects, vec![Effect::Knocked(pid("u"))]);
    // The chair goes to logged-in staff only.
    m.act(now, &pid("c"), ChairAction::Admit(pid("g"))).unwrap();
    assert_eq!(
        m.act(now, &pid("c"), ChairAction::HandOver(pid("g"))),
        Err(ActionError::NotStaff)
    );
    assert_eq!(
        m.act(now, &pid("c"), ChairAction::HandOver(pid("s")))
            .unwrap(),
        vec![Effect::ChairChanged {
            chair: Some(pid("s"))
        }]
    );
    assert_eq!(
        m.act(now, &pid("c"), ChairAction::End),
        Err(ActionError::NotChair),
        "the old chair has no powers"
    );
    // When the chair leaves, the role passes to other logged-in staff in the room.
    let effects = m.leave(&pid("s"));
    assert!(effects.contains(&Effect::ChairChanged {
        chair: Some(pid("c"))
    }));
}

#[test]
fn screen_sharing_needs_permission_and_everyone_identified() {
    let (mut m, now) = convened();
    m.act(now, &pid("c"), ChairAction::Admit(pid("g"))).unwrap();
    // The guest is not identified: nobody may share, not even the chair.
    assert_eq!(
        m.start_screen_share(&pid("c")),
        Err(RefusalReason::SomeoneUnidentified)
    );
    m.act(
        now,
        &pid("c"),
        ChairAction::Identify(pid("g"), Identification::KnownFromBefore),
    )
    .unwrap();
    assert_eq!(
        m.start_screen_share(&pid("g")),
        Err(RefusalReason::ScreenNotAllowed)
    );
    m.act(
        now,
        &pid("c"),
        ChairAction::AllowScreenShare(pid("g"), true),
    )
    .unwrap();
    assert_eq!(
        m.start_screen_share(&pid("g")).unwrap(),
        vec![Effect::ScreenShareStarted(pid("g"))]
    );
    // Someone unidentified is admitted: the share stops at once.
    m.join(now, request("lh", "h", Role::Guest)).unwrap();
    let effects = m.act(now, &pid("c"), ChairAction::Admit(pid("h"))).unwrap();
    assert!(effects.contains(&Effect::ScreenShareStopped {
        participant: pid("g"),
        reason: ScreenStopReason::UnidentifiedAdmitted
    }));
    assert_eq!(m.screen_sharer(), None);
    // Revoking the permission stops a running share.
    m.act(
        now,
        &pid("c"),
        ChairAction::Identify(pid("h"), Identification::IdShownOnCamera),
    )
    .unwrap();
    m.start_screen_share(&pid("g")).unwrap();
    let effects = m
        .act(
            now,
            &pid("c"),
            ChairAction::AllowScreenShare(pid("g"), false),
        )
        .unwrap();
    assert!(effects.contains(&Effect::ScreenShareStopped {
        participant: pid("g"),
        reason: ScreenStopReason::PermissionRevoked
    }));
    assert_eq!(
        m.act(
            now,
            &pid("g"),
            ChairAction::AllowScreenShare(pid("g"), true)
        ),
        Err(ActionError::NotChair)
    );
}

#[test]
fn a_meeting_that_requires_e_identification_lets_only_the_identified_knock() {
    let now = Instant::now();
    let mut m = Meeting::new(MeetingConfig::default()).require_eid(true);
    m.join(now, request("chair", "c", Role::Chair)).unwrap();
    assert_eq!(
        m.join(now, request("g", "g", Role::Guest)).unwrap_err(),
        JoinError::IdentificationRequired
    );
    assert!(m.lobby().next().is_none());
    // Identified, the guest knocks (and still waits for the chair) and is shown identified.
    let mut identified = request("g", "g", Role::Guest);
    identified.e_identified = true;
    m.join(now, identified).unwrap();
    let g = m.participant(&pid("g")).unwrap();
    assert!(!g.is_admitted());
    assert_eq!(g.identification, Some(Identification::EIdentification));
    // Logged-in staff are identified by their login.
    let mut staff = request("s", "s", Role::Guest);
    staff.staff = Some(StaffAccount::new("u_s"));
    staff.invitee = Invitee::Staff;
    m.join(now, staff).unwrap();
}

mod phone;
mod rules;
mod seats;

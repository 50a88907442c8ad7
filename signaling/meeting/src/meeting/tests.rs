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

#[derive(Debug, Clone)]
enum Op {
    /// Link, who the connection is (0 nobody, 1 e-identified, 2 staff A, 3 staff B), and
    /// whether it presents the resume secret of the link's first seat.
    Join(u8, u8, bool),
    Lost(u8),
    Leave(u8),
    Mute(u8, bool),
    Act(u8, u8, u8),
    Advance(u8),
    Share(u8),
    StaffEnded(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        ((0u8..6), (0u8..4), any::<bool>()).prop_map(|(l, w, r)| Op::Join(l, w, r)),
        (0u8..12).prop_map(Op::Lost),
        (0u8..12).prop_map(Op::Leave),
        ((0u8..12), any::<bool>()).prop_map(|(p, b)| Op::Mute(p, b)),
        ((0u8..13), (0u8..12), (0u8..13)).prop_map(|(a, k, t)| Op::Act(a, k, t)),
        (0u8..90).prop_map(Op::Advance),
        (0u8..12).prop_map(Op::Share),
        (0u8..12).prop_map(Op::StaffEnded),
    ]
}

/// Link 0 is the convener's; links 1-5 are guests' (4 and 5 staff invitations).
fn link_of(l: u8) -> (String, Role) {
    (
        format!("l{l}"),
        if l == 0 { Role::Chair } else { Role::Guest },
    )
}

/// Target `t`: link `t % 6`, its first seat for `t < 6`, its last one otherwise.
fn id_of(m: &Meeting, t: u8) -> ParticipantId {
    let link = format!("l{}", t % 6);
    let mut seats = m.participants().filter(|p| p.link.as_str() == link);
    let found = if t < 6 { seats.next() } else { seats.last() };
    found
        .map(|p| p.id.clone())
        .unwrap_or_else(|| ParticipantId::new(format!("absent{t}")))
}

fn action(kind: u8, target: ParticipantId) -> ChairAction {
    match kind {
        0 => ChairAction::Admit(target),
        1 => ChairAction::Deny(target),
        2 => ChairAction::Remove(target),
        3 => ChairAction::Mute(target),
        4 => ChairAction::SetLocked(target.as_str().len().is_multiple_of(2)),
        5 => ChairAction::Identify(target, Identification::KnownFromBefore),
        6 => ChairAction::RecordConsent,
        7 => ChairAction::HandOver(target),
        8 => ChairAction::AllowScreenShare(target, true),
        9 => ChairAction::Identify(target, Identification::EIdentification),
        10 => ChairAction::Identify(target, Identification::StaffLogin),
        _ => ChairAction::End,
    }
}

/// What the test remembers of what each participant went through.
#[derive(Default)]
struct Ledger {
    counter: u32,
    /// The resume secret each seat's connection was last given.
    resume: std::collections::HashMap<ParticipantId, ResumeKey>,
    /// Seats that went through e-identification on their connection or a taken-back one.
    e_identified: std::collections::HashSet<ParticipantId>,
}

impl Ledger {
    fn join(
        &mut self,
        m: &mut Meeting,
        now: Instant,
        l: u8,
        who: u8,
        resume: bool,
    ) -> Result<Vec<Effect>, JoinError> {
        self.counter += 1;
        let (link, role) = link_of(l);
        let presented = resume
            .then(|| self.resume.get(&id_of(m, l)).cloned())
            .flatten();
        let new_resume = ResumeKey::new(format!("r{}", self.counter));
        let e_identified = who == 1;
        let (outcome, effects) = m.join(
            now,
            JoinRequest {
                link: LinkId::new(link),
                role,
                invitee: if l >= 4 {
                    Invitee::Staff
                } else {
                    Invitee::Relative
                },
                staff: match who {
                    2 => Some(StaffAccount::new("u_a")),
                    3 => Some(StaffAccount::new("u_b")),
                    _ => None,
                },
                name: DisplayName::parse("N").unwrap(),
                e_identified,
                resume: presented,
                new_id: ParticipantId::new(format!("p{}", self.counter)),
                new_resume: new_resume.clone(),
            },
        )?;
        let id = outcome.participant().clone();
        self.resume.insert(id.clone(), new_resume);
        if e_identified {
            self.e_identified.insert(id);
        }
        Ok(effects)
    }
}

proptest! {
    /// Whatever anyone does, in any order, with links opened again with and without their
    /// resume secret and from other identities:
    /// - at most one seat in the room per link, at most two seats per link, never more
    ///   people than allowed;
    /// - nobody but the convener and logged-in staff is in the room without an admission by
    ///   the chair of the time;
    /// - only the chair's actions take effect, and only logged-in staff chair;
    /// - nobody is identified by e-identification they did not go through on their
    ///   connection or the seat they took back, nor by a staff login they do not have now;
    /// - after the end nothing is admitted and no link joins;
    /// - nobody is kept past the reconnection grace;
    /// - where e-identification is required, no guest is present (lobby or room) without it
    ///   or a staff login.
    #[test]
    fn the_meeting_rules_hold(ops in proptest::collection::vec(op(), 1..250), require_eid in any::<bool>()) {
        let start = Instant::now();
        let mut now = start;
        let config = MeetingConfig { max_participants: 5, reconnect_grace: Duration::from_secs(30) };
        let mut m = Meeting::new(config.clone()).require_eid(require_eid);
        let mut ledger = Ledger::default();
        for op in ops {
            let chair_before = m.chair().cloned();
            let ended_before = m.is_ended();
            let mut effects = Vec::new();
            match op {
                Op::Join(l, who, resume) => {
                    let result = ledger.join(&mut m, now, l, who, resume);
                    if ended_before {
                        prop_assert_eq!(result.clone().unwrap_err(), JoinError::Ended);
                    }
                    if l == 0 && who < 2 {
                        prop_assert!(result.is_err(), "a chair link joined without a staff login");
                    }
                    if let Ok(e) = result { effects = e; }
                }
                Op::Lost(t) => { let id = id_of(&m, t); effects = m.connection_lost(now, &id); }
                Op::Leave(t) => { let id = id_of(&m, t); effects = m.leave(&id); }
                Op::Mute(t, b) => { let id = id_of(&m, t); effects = m.set_media_state(&id, b, !b); }
                Op::Act(actor, kind, target) => {
                    let actor_id = if actor == 12 { ParticipantId::new("stranger") } else { id_of(&m, actor) };
                    let target = id_of(&m, target);
                    let result = m.act(now, &actor_id, action(kind, target));
                    if chair_before.as_ref() != Some(&actor_id) {
                        prop_assert!(result.is_err(), "a non-chair action took effect");
                    }
                    if kind == 9 || kind == 10 {
                        prop_assert!(result.is_err(), "a login's identification recorded by hand");
                    }
                    if let Ok(e) = result { effects = e; }
                }
                Op::Advance(s) => {
                    now += Duration::from_secs(u64::from(s));
                    effects = m.handle_timeout(now);
                }
                Op::Share(t) => {
                    let id = id_of(&m, t);
                    if let Ok(e) = m.start_screen_share(&id) { effects = e; }
                }
                Op::StaffEnded(t) => { let id = id_of(&m, t); effects = m.staff_login_ended(&id); }
            }
            for e in &effects {
                if let Effect::Admitted { by, .. } = e {
                    prop_assert_eq!(Some(by), chair_before.as_ref(), "admitted by someone not chairing");
                }
            }
            prop_assert!(m.participants().count() <= config.max_participants);
            for l in 0..6 {
                let link = format!("l{l}");
                let seats: Vec<_> = m.participants().filter(|p| p.link.as_str() == link).collect();
                prop_assert!(seats.len() <= 2, "more than two seats on one link");
                prop_assert!(seats.iter().filter(|p| p.is_admitted()).count() <= 1, "two in the room on one link");
            }
            for p in m.participants() {
                match &p.admission {
                    Admission::Admitted { by: None } => prop_assert!(
                        p.is_staff() && (p.role == Role::Chair || p.invitee == Invitee::Staff),
                        "entered without admission"
                    ),
                    Admission::Admitted { by: Some(_) } => {}
                    Admission::Waiting { .. } => prop_assert!(p.role == Role::Guest || p.reopened),
                }
                if let Presence::Reconnecting { since } = p.presence {
                    prop_assert!(now.saturating_duration_since(since) < config.reconnect_grace);
                }
                match p.identification {
                    Some(Identification::EIdentification) => prop_assert!(
                        ledger.e_identified.contains(&p.id),
                        "identified by an e-identification that never happened"
                    ),
                    Some(Identification::StaffLogin) => prop_assert!(p.is_staff(), "identified by a staff login it does not have"),
                    _ => {}
                }
            }
            if let Some(chair) = m.chair() {
                let p = m.participant(chair);
                prop_assert!(p.is_some_and(|p| p.is_admitted() && p.is_staff()), "only logged-in staff chair");
            }
            // R11: a screen is never shown while anyone in the room is unidentified.
            if m.screen_sharer().is_some() {
                prop_assert!(m.participants().filter(|p| p.is_admitted()).all(|p| p.identification.is_some()), "screen shared with someone unidentified present");
                prop_assert!(m.participant(m.screen_sharer().unwrap()).is_some_and(|p| p.is_admitted()));
            }
            if require_eid {
                prop_assert!(
                    m.participants().all(|p| p.is_staff() || p.identification.is_some()),
                    "a guest present without e-identification"
                );
            }
            if m.is_ended() {
                prop_assert!(m.is_empty());
                prop_assert!(m.chair().is_none());
            }
        }
    }
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

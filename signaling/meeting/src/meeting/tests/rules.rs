//! The property test: random command sequences against the meeting's invariants.

use super::*;
use crate::CallId;

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
    /// R14: the shell reports a call (picked among those placed, or one never placed)
    /// answered (`true`) or ended.
    Call(u8, bool),
    /// R14: a participant asks for their voice back in the browser.
    OwnAudio(u8),
    /// R14: the chair of the moment moves someone's voice to the phone.
    Dial(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        ((0u8..6), (0u8..4), any::<bool>()).prop_map(|(l, w, r)| Op::Join(l, w, r)),
        (0u8..12).prop_map(Op::Lost),
        (0u8..12).prop_map(Op::Leave),
        ((0u8..12), any::<bool>()).prop_map(|(p, b)| Op::Mute(p, b)),
        ((0u8..13), (0u8..14), (0u8..13)).prop_map(|(a, k, t)| Op::Act(a, k, t)),
        (0u8..90).prop_map(Op::Advance),
        (0u8..12).prop_map(Op::Share),
        (0u8..12).prop_map(Op::StaffEnded),
        ((0u8..8), any::<bool>()).prop_map(|(c, a)| Op::Call(c, a)),
        (0u8..12).prop_map(Op::OwnAudio),
        (0u8..12).prop_map(Op::Dial),
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

fn action(kind: u8, target: ParticipantId, call: CallId) -> ChairAction {
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
        12 => ChairAction::MoveAudioToPhone {
            participant: target,
            call,
        },
        13 => ChairAction::AudioToBrowser(target),
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
    /// Calls placed (`DialOut`) and not yet hung up or ended, with whose they are.
    calls: Vec<(CallId, ParticipantId)>,
    /// Calls hung up (`HangUp`) whose end is not reported yet.
    ending: Vec<CallId>,
}

impl Ledger {
    /// Follows the calls through the effects: placed, hung up, ended.
    fn follow_calls(&mut self, effects: &[Effect]) {
        for e in effects {
            match e {
                Effect::DialOut {
                    participant, call, ..
                } => {
                    self.calls.push((call.clone(), participant.clone()));
                }
                // (A hang-up of a call never placed, answered late, holds no line.)
                Effect::HangUp(call) if self.calls.iter().any(|(c, _)| c == call) => {
                    self.calls.retain(|(c, _)| c != call);
                    self.ending.push(call.clone());
                }
                Effect::CallEnded { call, .. } => {
                    self.calls.retain(|(c, _)| c != call);
                    self.ending.retain(|c| c != call);
                }
                _ => {}
            }
        }
    }
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
    ///   or a staff login;
    /// - R14: a phone call is only for someone in the room, never outlives its participant
    ///   (whatever took them out) nor the meeting, and a call never placed changes nothing.
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
                    ledger.counter += 1;
                    let call = CallId::new(format!("k{}", ledger.counter));
                    let result = m.act(now, &actor_id, action(kind, target, call));
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
                Op::Call(c, answered) => {
                    let known: Vec<CallId> = ledger.calls.iter().map(|(k, _)| k.clone()).chain(ledger.ending.iter().cloned()).collect();
                    let call = known.get(usize::from(c)).cloned().unwrap_or_else(|| CallId::new("never"));
                    effects = if answered { m.call_answered(&call) } else { m.call_ended(now, &call) };
                    if !known.contains(&call) {
                        prop_assert!(
                            effects.iter().all(|e| matches!(e, Effect::HangUp(_))),
                            "a call never placed (or already over) changed the meeting"
                        );
                    }
                }
                Op::Dial(t) => {
                    if let Some(chair) = chair_before.clone() {
                        ledger.counter += 1;
                        let call = CallId::new(format!("k{}", ledger.counter));
                        let target = id_of(&m, t);
                        if let Ok(e) = m.act(now, &chair, action(12, target, call)) { effects = e; }
                    }
                }
                Op::OwnAudio(t) => {
                    let id = id_of(&m, t);
                    if let Ok(e) = m.audio_to_browser(&id) { effects = e; }
                }
            }
            ledger.follow_calls(&effects);
            // R14: a call never outlives its participant, and none is left after the end.
            for (call, who) in &ledger.calls {
                prop_assert!(m.participant(who).is_some_and(|p| p.is_admitted()), "call {call:?} outlived its participant");
            }
            if m.is_ended() {
                prop_assert!(ledger.calls.is_empty(), "a call survived the end");
            }
            prop_assert!(ledger.calls.len() + ledger.ending.len() <= MAX_CALLS, "more lines than a meeting may hold");
            for p in m.participants() {
                if let AudioRoute::Phone(call) | AudioRoute::Ringing(call) = m.audio_route(&p.id) {
                    prop_assert!(p.is_admitted(), "a phone call for someone not in the room");
                    prop_assert!(ledger.calls.iter().any(|(c, who)| c == &call && who == &p.id), "a route to a call never placed");
                }
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
                // (Someone on the phone is in the meeting by phone: no grace runs out for them
                // while the line is up, a hang-up not yet confirmed included.)
                let by_phone = m.phones.on_call(&p.id);
                if let Presence::Reconnecting { since } = p.presence {
                    prop_assert!(by_phone || now.saturating_duration_since(since) < config.reconnect_grace);
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

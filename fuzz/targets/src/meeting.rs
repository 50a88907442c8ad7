//! A random sequence of commands against the meeting core, with its rules checked after every
//! step. The same rules as the property test in `sluss_meeting` (`the_meeting_rules_hold`),
//! and a few about effects: who may cause them and that nobody is admitted twice.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use sluss_meeting::{
    Admission, ChairAction, ChatText, DisplayName, Effect, Identification, Invitee, JoinError,
    JoinRequest, LinkId, Meeting, MeetingConfig, ParticipantId, Presence, RecordingKind, ResumeKey,
    Role, StaffAccount,
};

use crate::input::Bytes;

/// Link 0 is the convener's; links 1-6 are guests'.
const LINKS: u8 = 7;

/// What the fuzzer's bytes say to do next.
#[derive(Debug)]
enum Op {
    Join { link: u8, flags: u8 },
    Lost(u8),
    Leave(u8),
    Media(u8, u8),
    Act { actor: u8, kind: u8, target: u8 },
    Advance(u8),
    StartShare(u8),
    StopShare(u8),
    Chat(u8),
    Record(u8),
    Revoke(u8),
    Cancel,
}

fn op(b: &mut Bytes) -> Op {
    let kind = b.u8();
    let link = b.u8() % LINKS;
    match kind % 12 {
        0 => Op::Join {
            link,
            flags: b.u8(),
        },
        1 => Op::Lost(link),
        2 => Op::Leave(link),
        3 => Op::Media(link, b.u8()),
        4 => Op::Act {
            actor: link,
            kind: b.u8(),
            target: b.u8(),
        },
        5 => Op::Advance(b.u8()),
        6 => Op::StartShare(link),
        7 => Op::StopShare(link),
        8 => Op::Chat(link),
        9 => Op::Record(link),
        10 => Op::Revoke(link),
        _ => Op::Cancel,
    }
}

/// The seat a link holds now, or an id nobody has (an action on someone who is not there).
fn id_of(m: &Meeting, link: u8) -> ParticipantId {
    let link = format!("l{link}");
    m.participants()
        .find(|p| p.link.as_str() == link)
        .map(|p| p.id.clone())
        .unwrap_or_else(|| ParticipantId::new(format!("absent-{link}")))
}

fn action(kind: u8, target: ParticipantId) -> ChairAction {
    // Every method, those only a login proves too: the core must refuse those, and the rules
    // below check that nobody is shown identified by a login they did not go through.
    let method = [
        Identification::IdShownOnCamera,
        Identification::KnownFromBefore,
        Identification::VoiceRecognisedByPatient,
        Identification::EIdentification,
        Identification::StaffLogin,
    ][usize::from(kind / 16) % 5];
    match kind % 12 {
        0 => ChairAction::Admit(target),
        1 => ChairAction::Deny(target),
        2 => ChairAction::Remove(target),
        3 => ChairAction::Mute(target),
        4 => ChairAction::SetLocked(kind & 0x80 != 0),
        5 => ChairAction::Identify(target, method),
        6 => ChairAction::RecordConsent,
        7 => ChairAction::HandOver(target),
        8 => ChairAction::AllowScreenShare(target, kind & 0x80 != 0),
        9 => ChairAction::SetChat(kind & 0x80 != 0),
        10 => ChairAction::SetLocked(false),
        _ => ChairAction::End,
    }
}

/// What the checks remember between steps.
struct Seen {
    config: MeetingConfig,
    require_eid: bool,
    /// Everyone who was ever admitted by the chair.
    admitted: HashSet<ParticipantId>,
    /// Seats that went through e-identification on their connection or a taken-back one.
    e_identified: HashSet<ParticipantId>,
    /// The resume secret each seat's connection was last given.
    resume: std::collections::HashMap<ParticipantId, ResumeKey>,
}

/// Decodes the input into a meeting and a command sequence, runs it, and checks the rules.
pub fn meeting_commands(data: &[u8]) {
    let mut b = Bytes::new(data);
    let head = b.u8();
    let config = MeetingConfig {
        max_participants: usize::from(head % 6) + 1,
        reconnect_grace: Duration::from_secs(u64::from(b.u8() % 64) + 1),
    };
    let require_eid = head & 0x40 != 0;
    let mut m = Meeting::new(config.clone())
        .require_eid(require_eid)
        .sensitive(head & 0x80 != 0);
    let mut seen = Seen {
        config,
        require_eid,
        admitted: HashSet::new(),
        e_identified: HashSet::new(),
        resume: std::collections::HashMap::new(),
    };
    let mut now = Instant::now();
    let mut counter = 0u32;
    let mut steps = 0;
    while !b.is_empty() && steps < 1000 {
        steps += 1;
        let op = op(&mut b);
        let chair_before = m.chair().cloned();
        let lobby_before: HashSet<ParticipantId> = m.lobby().map(|p| p.id.clone()).collect();
        let in_room_before: HashSet<ParticipantId> = m
            .participants()
            .filter(|p| p.is_admitted())
            .map(|p| p.id.clone())
            .collect();
        let ended_before = m.is_ended();
        let effects = match op {
            Op::Join { link, flags } => {
                counter += 1;
                join(&mut m, &mut seen, now, link, flags, counter, ended_before)
            }
            Op::Lost(l) => m.connection_lost(now, &id_of(&m, l)),
            Op::Leave(l) => m.leave(&id_of(&m, l)),
            Op::Media(l, f) => m.set_media_state(&id_of(&m, l), f & 1 != 0, f & 2 != 0),
            Op::Act {
                actor,
                kind,
                target,
            } => {
                let actor = if actor == 0 && kind & 0x40 != 0 {
                    ParticipantId::new("stranger")
                } else {
                    id_of(&m, actor)
                };
                let result = m.act(now, &actor, action(kind, id_of(&m, target % LINKS)));
                if chair_before.as_ref() != Some(&actor) {
                    assert!(result.is_err(), "a non-chair action took effect");
                }
                result.unwrap_or_default()
            }
            Op::Advance(s) => {
                now += Duration::from_secs(u64::from(s));
                m.handle_timeout(now)
            }
            Op::StartShare(l) => m.start_screen_share(&id_of(&m, l)).unwrap_or_default(),
            Op::StopShare(l) => m.stop_screen_share(&id_of(&m, l)),
            Op::Chat(l) => {
                let text = ChatText::parse("hej").expect("a chat text");
                m.chat(&id_of(&m, l), text).unwrap_or_default()
            }
            Op::Record(l) => {
                let kind = if l % 2 == 0 {
                    RecordingKind::Recording
                } else {
                    RecordingKind::Transcription
                };
                m.request_recording(&id_of(&m, l), kind).1
            }
            Op::Revoke(l) => m.revoke(&LinkId::new(format!("l{l}"))),
            Op::Cancel => m.cancel(),
        };
        check_effects(
            &effects,
            &chair_before,
            &lobby_before,
            &in_room_before,
            &mut seen,
        );
        check_state(&m, &seen, now);
    }
}

fn join(
    m: &mut Meeting,
    seen: &mut Seen,
    now: Instant,
    link: u8,
    flags: u8,
    counter: u32,
    ended_before: bool,
) -> Vec<Effect> {
    let chair = link == 0;
    let e_identified = flags & 2 != 0;
    // Bit 2: present the resume secret of the link's first seat (the page's own reconnect);
    // bit 3: which staff account, if the connection has a staff login (bit 0).
    let presented = (flags & 4 != 0)
        .then(|| seen.resume.get(&id_of(m, link)).cloned())
        .flatten();
    let new_resume = ResumeKey::new(format!("r{counter}"));
    let request = JoinRequest {
        link: LinkId::new(format!("l{link}")),
        role: if chair { Role::Chair } else { Role::Guest },
        invitee: [
            Invitee::Patient,
            Invitee::Relative,
            Invitee::Staff,
            Invitee::Professional,
            Invitee::Other,
        ][usize::from(flags >> 4) % 5],
        staff: (flags & 1 != 0)
            .then(|| StaffAccount::new(if flags & 8 != 0 { "u_a" } else { "u_b" })),
        name: DisplayName::parse("N").expect("a name"),
        e_identified,
        resume: presented,
        new_id: ParticipantId::new(format!("p{counter}")),
        new_resume: new_resume.clone(),
    };
    let result = m.join(now, request);
    if ended_before {
        assert_eq!(result.as_ref().err(), Some(&JoinError::Ended));
    }
    match result {
        Ok((outcome, effects)) => {
            let id = outcome.participant().clone();
            seen.resume.insert(id.clone(), new_resume);
            if e_identified {
                seen.e_identified.insert(id);
            }
            effects
        }
        Err(_) => Vec::new(),
    }
}

/// Effects name only what the step could cause.
fn check_effects(
    effects: &[Effect],
    chair_before: &Option<ParticipantId>,
    lobby_before: &HashSet<ParticipantId>,
    in_room_before: &HashSet<ParticipantId>,
    seen: &mut Seen,
) {
    for e in effects {
        let by = match e {
            Effect::Admitted { participant, by } => {
                assert!(
                    lobby_before.contains(participant),
                    "admitted from outside the lobby"
                );
                assert!(seen.admitted.insert(participant.clone()), "admitted twice");
                Some(by)
            }
            Effect::Denied { by, .. }
            | Effect::Removed { by, .. }
            | Effect::Muted { by, .. }
            | Effect::LockChanged { by, .. }
            | Effect::Identified { by, .. }
            | Effect::ConsentRecorded { by }
            | Effect::Ended { by }
            | Effect::ChatChanged { by, .. }
            | Effect::ScreenShareAllowed { by, .. } => Some(by),
            Effect::Chat { from, .. } => {
                assert!(in_room_before.contains(from), "chat from outside the room");
                None
            }
            _ => None,
        };
        if let Some(by) = by {
            assert_eq!(
                Some(by),
                chair_before.as_ref(),
                "{e:?} by someone not chairing"
            );
        }
    }
}

/// The rules that hold between any two steps.
fn check_state(m: &Meeting, seen: &Seen, now: Instant) {
    let everyone: Vec<_> = m.participants().collect();
    for p in &everyone {
        let same_link = everyone.iter().filter(|q| q.link == p.link);
        assert!(
            same_link.clone().count() <= 2,
            "more than two seats for one link"
        );
        assert!(
            same_link.filter(|q| q.is_admitted()).count() <= 1,
            "two in the room on one link"
        );
    }
    assert!(everyone.len() <= seen.config.max_participants);
    for p in &everyone {
        match &p.admission {
            Admission::Admitted { by: None } => assert!(
                p.is_staff() && (p.role == Role::Chair || p.invitee == Invitee::Staff),
                "in the room without an admission"
            ),
            Admission::Admitted { by: Some(_) } => {}
            Admission::Waiting { .. } => assert!(p.role == Role::Guest || p.reopened),
        }
        if let Presence::Reconnecting { since } = p.presence {
            assert!(now.saturating_duration_since(since) < seen.config.reconnect_grace);
        }
        match p.identification {
            Some(Identification::StaffLogin) => assert!(p.is_staff(), "staff login claimed"),
            Some(Identification::EIdentification) => assert!(
                seen.e_identified.contains(&p.id),
                "e-identification claimed"
            ),
            _ => {}
        }
        if seen.require_eid {
            assert!(
                p.is_staff() || p.identification.is_some(),
                "a guest present without e-identification"
            );
        }
    }
    if let Some(chair) = m.chair() {
        let p = m.participant(chair);
        assert!(
            p.is_some_and(|p| p.is_admitted() && p.is_staff()),
            "only logged-in staff in the room chair"
        );
    }
    if let Some(sharer) = m.screen_sharer() {
        assert!(
            everyone
                .iter()
                .filter(|p| p.is_admitted())
                .all(|p| p.identification.is_some()),
            "a screen shown to someone unidentified"
        );
        assert!(m.participant(sharer).is_some_and(|p| p.is_admitted()));
    }
    if m.is_ended() {
        assert!(m.is_empty() && m.chair().is_none());
    }
}

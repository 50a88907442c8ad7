//! "Who was in this meeting", from its trail: per person, when they knocked, were let in (and
//! by whom), entered, were identified and left (and how). A pure function of the entries, so
//! that a test needs no server.

use crate::store::AuditEntry;

/// One person's way through a meeting.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Attendance {
    pub participant_id: String,
    pub knocked_at: Option<i64>,
    /// Let in from the lobby, and by whom (a participant id).
    pub admitted_at: Option<i64>,
    pub admitted_by: Option<String>,
    /// Entered the room directly (the convener, logged-in staff).
    pub joined_at: Option<i64>,
    /// How the chair recorded their identity (R5), and who did.
    pub identified: Option<String>,
    pub identified_by: Option<String>,
    /// When and how they went: `left`, `removed`, `denied`, `knock_withdrawn`,
    /// `put_out_by_revocation`, `superseded`, `staff_login_ended`, `ended` (still there when
    /// the meeting ended).
    pub left_at: Option<i64>,
    pub left_how: Option<String>,
    /// Who removed or denied them, when someone did.
    pub left_by: Option<String>,
}

/// Every participant seen in these entries of one meeting, in order of first appearance.
pub fn attendance(entries: &[AuditEntry]) -> Vec<Attendance> {
    let mut people: Vec<Attendance> = Vec::new();
    let mut ended_at = None;
    for e in entries {
        if e.event == "ended" {
            ended_at = Some(e.at);
            continue;
        }
        // Counted knocks name the link, not a participant.
        if e.details.get("counted_by").is_some() {
            continue;
        }
        let Some(subject) = e.subject.as_deref() else {
            continue;
        };
        let introduces = matches!(e.event.as_str(), "knocked" | "joined");
        let index = match people.iter().position(|p| p.participant_id == subject) {
            Some(i) => i,
            None if introduces => {
                people.push(Attendance {
                    participant_id: subject.to_owned(),
                    ..Attendance::default()
                });
                people.len() - 1
            }
            None => continue,
        };
        record(&mut people[index], e);
    }
    if let Some(at) = ended_at {
        // Everyone listed knocked or joined (only those entries list a person).
        for p in people.iter_mut().filter(|p| p.left_at.is_none()) {
            p.left_at = Some(at);
            p.left_how = Some("ended".into());
        }
    }
    people
}

fn record(p: &mut Attendance, e: &AuditEntry) {
    let at = Some(e.at);
    match e.event.as_str() {
        "knocked" => {
            p.knocked_at = p.knocked_at.or(at);
        }
        "joined" => {
            p.joined_at = p.joined_at.or(at);
        }
        "admitted" => {
            p.admitted_at = p.admitted_at.or(at);
            p.admitted_by = p.admitted_by.take().or_else(|| e.actor.clone());
        }
        "identified" => {
            p.identified = e.details["how"].as_str().map(str::to_owned);
            p.identified_by = e.actor.clone();
        }
        "left"
        | "removed"
        | "denied"
        | "knock_withdrawn"
        | "put_out_by_revocation"
        | "superseded" => {
            p.left_at = at;
            p.left_how = Some(e.event.clone());
            p.left_by = e.actor.clone();
        }
        "staff_login_ended" if e.details["put_out"] == true => {
            p.left_at = at;
            p.left_how = Some(e.event.clone());
            p.left_by = None;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(at: i64, event: &str, actor: Option<&str>, subject: Option<&str>) -> AuditEntry {
        AuditEntry {
            seq: at,
            at,
            meeting_id: Some("m_1".into()),
            event: event.into(),
            actor: actor.map(Into::into),
            subject: subject.map(Into::into),
            details: serde_json::json!({}),
            hash: vec![],
        }
    }

    #[test]
    fn the_chair_the_admitted_guest_the_denied_one_and_the_end() {
        let mut identified = e(40, "identified", Some("p_c"), Some("p_g"));
        identified.details = serde_json::json!({ "how": "id_shown_on_camera" });
        let mut counted = e(25, "knocked", None, Some("l_x"));
        counted.details = serde_json::json!({ "counted_by": "link" });
        let trail = [
            e(10, "joined", None, Some("p_c")),
            e(20, "knocked", None, Some("p_g")),
            e(21, "knocked", None, Some("p_d")),
            counted,
            e(30, "admitted", Some("p_c"), Some("p_g")),
            e(31, "denied", Some("p_c"), Some("p_d")),
            identified,
            e(50, "left", None, Some("p_c")),
            e(60, "ended", Some("p_g"), None),
        ];
        let people = attendance(&trail);
        assert_eq!(people.len(), 3, "{people:?}");
        assert_eq!(people[0].joined_at, Some(10));
        assert_eq!(people[0].left_how.as_deref(), Some("left"));
        let guest = &people[1];
        assert_eq!((guest.knocked_at, guest.admitted_at), (Some(20), Some(30)));
        assert_eq!(guest.admitted_by.as_deref(), Some("p_c"));
        assert_eq!(guest.identified.as_deref(), Some("id_shown_on_camera"));
        assert_eq!(
            (guest.left_at, guest.left_how.as_deref()),
            (Some(60), Some("ended"))
        );
        let denied = &people[2];
        assert_eq!(denied.left_how.as_deref(), Some("denied"));
        assert_eq!(denied.left_by.as_deref(), Some("p_c"));
        assert_eq!(denied.admitted_at, None);
    }
}

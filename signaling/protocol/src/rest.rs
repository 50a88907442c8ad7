//! REST bodies.

use serde::{Deserialize, Serialize};

/// `{"error": {...}}`, the shape of every REST error.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSetup {
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectLink {
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkInfo {
    pub role: crate::Role,
    /// "open" or "ended".
    pub meeting: String,
    /// R5: guests identify with e-identification before they knock.
    #[serde(default)]
    pub require_eid: bool,
    /// The name this browser proved with e-identification for this link, if it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identified_as: Option<String>,
    /// When the meeting ended (Unix seconds), for a link opened again afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
}

/// Whom an invitation is for (R3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationRole {
    Chair,
    Patient,
    /// A relative (närstående).
    Relative,
    Staff,
    /// A professional from another organisation.
    Professional,
    Guest,
}

impl InvitationRole {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationRole::Chair => "chair",
            InvitationRole::Patient => "patient",
            InvitationRole::Relative => "relative",
            InvitationRole::Staff => "staff",
            InvitationRole::Professional => "professional",
            InvitationRole::Guest => "guest",
        }
    }

    pub fn parse(s: &str) -> Option<InvitationRole> {
        Some(match s {
            "chair" => InvitationRole::Chair,
            "patient" => InvitationRole::Patient,
            "relative" => InvitationRole::Relative,
            "staff" => InvitationRole::Staff,
            "professional" => InvitationRole::Professional,
            "guest" => InvitationRole::Guest,
            _ => return None,
        })
    }
}

/// One invitation to make.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    pub role: InvitationRole,
    /// Unix seconds; defaults to the server's link lifetime.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// For the role `staff` only: the staff account this invitation is for. The meeting then
    /// shows in that person's list of meetings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_user_id: Option<String>,
}

/// An invitation as made: the link is shown this once (only its hash is kept), with the
/// neutral text and calendar file to send (R13).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invitation {
    pub invitation_id: String,
    pub role: InvitationRole,
    pub link: String,
    pub expires_at: i64,
    /// The neutral invitation text: one sentence and the link, nothing else.
    pub text: String,
    /// An iCalendar file for the invitee's calendar, when the meeting has a start time.
    pub ics: Option<String>,
    /// R14: how to take part by phone, when the gateway takes calls (never for the chair).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial_in: Option<DialIn>,
    /// For a new link: the invitation it replaces (revoked by the re-issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// The number to ring and the invitation's PIN, shown this once like the link (only the
/// PIN's keyed hash is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialIn {
    pub number: String,
    pub pin: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateMeeting {
    pub title: String,
    /// Shorthand for this many invitations with the role `guest`.
    #[serde(default)]
    pub guests: u32,
    #[serde(default)]
    pub invitations: Vec<NewInvitation>,
    /// Unix seconds.
    #[serde(default)]
    pub starts_at: Option<i64>,
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// Care meetings are sensitive (R9, R10) unless the organiser says otherwise.
    #[serde(default = "sensitive_by_default")]
    pub sensitive: bool,
    /// Guests identify with e-identification (BankID, Freja through the region's IdP) before
    /// they knock; the chair sees their verified name and personal identity number (R5).
    #[serde(default)]
    pub require_eid: bool,
}

fn sensitive_by_default() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedMeeting {
    pub meeting_id: String,
    pub title: String,
    pub chair_link: String,
    /// The links of every invitation but the chair's, in order.
    pub guest_links: Vec<String>,
    pub invitations: Vec<Invitation>,
}

/// A change to a meeting: the fields given are replaced, the others kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeeting {
    #[serde(default)]
    pub title: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub starts_at: Option<i64>,
    #[serde(default)]
    pub duration_minutes: Option<u32>,
}

/// Why the caller may see a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerRole {
    /// The caller convened it (the member of staff or the API token that created it).
    Convener,
    /// A staff invitation names the caller.
    Invited,
    /// An administrator, who may act on every meeting.
    Admin,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeetingSummary {
    pub meeting_id: String,
    pub title: String,
    pub created_at: i64,
    pub participants: u32,
    /// Unix seconds, when the meeting has a start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<u32>,
    pub caller_role: CallerRole,
    /// Coming, ongoing or past, for the start page's three lists.
    #[serde(default)]
    pub status: MeetingStatus,
    /// When it was cancelled or ended (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
}

/// Where a meeting stands: `past` once it ended or was cancelled, or its booked time is over
/// and nobody is in it; `ongoing` while someone is in it or within its booked time (from a
/// quarter of an hour before); `coming` otherwise, a meeting without a time included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    #[default]
    Coming,
    Ongoing,
    Past,
}

/// What has become of an invitation, as its meeting's page shows it. The live states
/// (`waiting`, `in_meeting`) come from the meeting as it runs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    /// Nobody has opened the link yet.
    NotOpened,
    /// The link was opened, and its holder is not in the meeting and never was.
    Opened,
    /// Its holder is in the lobby.
    Waiting,
    /// Its holder is in the meeting.
    InMeeting,
    /// Its holder was in the meeting and is not now.
    Left,
    /// Revoked (by hand, or replaced by a new link); it works no more.
    Revoked,
    /// Past its expiry; it works no more.
    Expired,
}

/// One invitation of a meeting, never its link (only the token's hash is kept).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvitationStatus {
    pub invitation_id: String,
    pub role: InvitationRole,
    pub state: InvitationState,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// When the link was first opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<i64>,
    /// When its holder first came into the meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entered_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// The invitation this one's link replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// The invitation whose new link replaced this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// For a staff invitation naming an account: that account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_user_id: Option<String>,
    /// And that account's name, for the page ("Personal 1 · Karin Lind").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_name: Option<String>,
}

/// A meeting and its invitations, for its page (`GET /meetings/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeetingDetail {
    #[serde(flatten)]
    pub meeting: MeetingSummary,
    pub sensitive: bool,
    pub require_eid: bool,
    /// Every invitation, the chair's too, replaced ones included; originals in the order
    /// they were made, each new link where the one it replaced stood.
    pub invitations: Vec<InvitationStatus>,
}

/// `GET /meetings` query: `include_ended=true` adds the meetings that ended in the last 30
/// days.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListMeetings {
    #[serde(default)]
    pub include_ended: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeetingList {
    pub meetings: Vec<MeetingSummary>,
}

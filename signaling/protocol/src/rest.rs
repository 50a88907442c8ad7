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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateMeeting {
    pub title: String,
    #[serde(default)]
    pub guests: u32,
    /// Care meetings are sensitive (R9, R10) unless the organiser says otherwise.
    #[serde(default = "sensitive_by_default")]
    pub sensitive: bool,
}

fn sensitive_by_default() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedMeeting {
    pub meeting_id: String,
    pub title: String,
    pub chair_link: String,
    pub guest_links: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeetingSummary {
    pub meeting_id: String,
    pub title: String,
    pub created_at: i64,
    pub participants: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeetingList {
    pub meetings: Vec<MeetingSummary>,
}

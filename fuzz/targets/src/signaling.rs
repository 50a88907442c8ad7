//! What browsers and booking systems send to the signaling server: WebSocket messages, REST
//! bodies, and the free text people type (names, chat, titles) with its personnummer guard.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluss_meeting::{contains_personal_identity_number, ChatText, DisplayName, MeetingTitle};
use sluss_protocol::{
    ClaimSetup, ClientMessage, CreateMeeting, CreatedMeeting, ErrorBody, InspectLink, Invitation,
    InvitationRole, LinkInfo, MeetingList, MeetingSummary, NewInvitation, MAX_FRAME_BYTES,
};

/// One WebSocket text frame from a browser, through the one parser the server uses.
///
/// A message that parses is written out again and must parse to the same message: what the
/// server accepts is exactly what the protocol types can say.
pub fn ws_message(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(msg) = ClientMessage::parse(text) else {
        return;
    };
    let again = serde_json::to_string(&msg).expect("a parsed message serialises");
    assert!(again.len() <= MAX_FRAME_BYTES);
    assert_eq!(
        ClientMessage::parse(&again).as_ref(),
        Ok(&msg),
        "a parsed message does not survive being written out"
    );
}

/// One REST body, into the protocol type the first byte picks (every request and response
/// body of `sluss_protocol`). A body that parses is written out and must parse back to the
/// same JSON.
pub fn rest_body(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    match which % 11 {
        0 => round_trip::<CreateMeeting>(text),
        1 => round_trip::<NewInvitation>(text),
        2 => round_trip::<ClaimSetup>(text),
        3 => round_trip::<InspectLink>(text),
        4 => round_trip::<LinkInfo>(text),
        5 => round_trip::<Invitation>(text),
        6 => round_trip::<CreatedMeeting>(text),
        7 => round_trip::<MeetingSummary>(text),
        8 => round_trip::<MeetingList>(text),
        9 => round_trip::<ErrorBody>(text),
        _ => {
            round_trip::<InvitationRole>(text);
            // The role's path and query form.
            if let Some(role) = InvitationRole::parse(text) {
                assert_eq!(role.as_str(), text);
            }
        }
    }
}

fn round_trip<T: Serialize + DeserializeOwned>(text: &str) {
    let Ok(value) = serde_json::from_str::<T>(text) else {
        return;
    };
    let json = serde_json::to_value(&value).expect("a parsed body serialises");
    let again: T = serde_json::from_value(json.clone()).expect("a written body parses again");
    assert_eq!(serde_json::to_value(&again).expect("serialises"), json);
}

/// The R12 guard and the free-text types built on it: display names, chat messages and
/// meeting titles.
pub fn personnummer(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let found = contains_personal_identity_number(text);
    if found {
        // A number found is found wherever the text is put.
        assert!(contains_personal_identity_number(&format!(" {text} ")));
    }
    if let Ok(name) = DisplayName::parse(text) {
        assert!(!contains_personal_identity_number(name.expose()));
        assert!(name.expose().chars().count() <= 64);
        // Personal data never shows through `Debug`.
        let redacted = format!("{:?}", DisplayName::parse("x").expect("a name"));
        assert_eq!(format!("{name:?}"), redacted);
    }
    if let Ok(chat) = ChatText::parse(text) {
        assert!(!found && !contains_personal_identity_number(chat.expose()));
        let redacted = format!("{:?}", ChatText::parse("x").expect("a text"));
        assert_eq!(format!("{chat:?}"), redacted);
    }
    if let Ok(title) = MeetingTitle::parse(text) {
        assert!(!title.as_str().is_empty());
    }
}

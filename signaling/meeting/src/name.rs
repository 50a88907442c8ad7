use std::fmt;

use crate::personnummer::IdentityNumberFound;

/// The most characters a display name may have.
pub const MAX_NAME_CHARS: usize = 64;

/// A person's name as they typed it. Personal data: `Debug` and `Display` print it redacted,
/// so it cannot reach a log by accident; [`DisplayName::expose`] is the one way out.
#[derive(Clone, PartialEq, Eq)]
pub struct DisplayName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    ControlCharacter,
    /// R12: free text may not carry a personnummer or samordningsnummer.
    PersonalIdentityNumber,
    /// R12: ten digits starting with 07 and no separator pass as a personnummer, though they
    /// are most likely a mobile number; written with spaces or a hyphen they go through.
    UnspacedPhoneNumber,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => write!(f, "the text is empty"),
            NameError::TooLong => write!(f, "the text is too long"),
            NameError::ControlCharacter => write!(f, "the text contains control characters"),
            NameError::PersonalIdentityNumber => write!(
                f,
                "personal identity numbers (personnummer or samordningsnummer) may not be written here"
            ),
            NameError::UnspacedPhoneNumber => write!(
                f,
                "a phone number written without spaces reads as a personal identity number; \
                 write it with spaces or a hyphen, for example {PHONE_NUMBER_EXAMPLE}"
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// How to write a mobile number so that R12 lets it through, as the refusal shows it.
pub const PHONE_NUMBER_EXAMPLE: &str = "070-115 12 35";

/// R12, the same for every kind of free text.
fn check_identity_numbers(text: &str) -> Result<(), NameError> {
    match crate::personnummer::find_personal_identity_number(text) {
        None => Ok(()),
        Some(IdentityNumberFound::IdentityNumber) => Err(NameError::PersonalIdentityNumber),
        Some(IdentityNumberFound::UnspacedMobileNumber) => Err(NameError::UnspacedPhoneNumber),
    }
}

impl DisplayName {
    /// Trims surrounding space and checks length and characters.
    pub fn parse(raw: &str) -> Result<DisplayName, NameError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(NameError::TooLong);
        }
        // Control and bidirectional-override characters can disguise a name on screen.
        let disguising = |c: char| {
            c.is_control()
                || ('\u{202A}'..='\u{202E}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        };
        if name.chars().any(disguising) {
            return Err(NameError::ControlCharacter);
        }
        check_identity_numbers(name)?;
        Ok(DisplayName(name.to_owned()))
    }

    /// The name itself, for the wire to other participants. Never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisplayName([redacted])")
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_print_redacted() {
        let name = DisplayName::parse("Anna Andersson").unwrap();
        assert_eq!(format!("{name}"), "[redacted]");
        assert!(!format!("{name:?}").contains("Anna"));
        assert_eq!(name.expose(), "Anna Andersson");
    }

    #[test]
    fn bad_names_are_refused() {
        assert_eq!(DisplayName::parse("   "), Err(NameError::Empty));
        assert_eq!(DisplayName::parse(&"å".repeat(65)), Err(NameError::TooLong));
        assert!(DisplayName::parse(&"å".repeat(64)).is_ok());
        assert_eq!(
            DisplayName::parse("a\u{0}b"),
            Err(NameError::ControlCharacter)
        );
        assert_eq!(
            DisplayName::parse("a\u{202E}b"),
            Err(NameError::ControlCharacter)
        );
        assert_eq!(
            DisplayName::parse("  Åsa Öberg ").unwrap().expose(),
            "Åsa Öberg"
        );
    }
}

/// The most characters a meeting title may have.
pub const MAX_TITLE_CHARS: usize = 120;

/// A meeting's title: shown to staff only, never in invitations (R13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingTitle(String);

impl MeetingTitle {
    pub fn parse(raw: &str) -> Result<MeetingTitle, NameError> {
        let title = raw.trim();
        if title.is_empty() {
            return Err(NameError::Empty);
        }
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(NameError::TooLong);
        }
        if title.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter);
        }
        check_identity_numbers(title)?;
        Ok(MeetingTitle(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod title_tests {
    use super::*;

    #[test]
    fn titles_are_checked_like_names() {
        assert_eq!(
            MeetingTitle::parse(" SIP-möte ").unwrap().as_str(),
            "SIP-möte"
        );
        assert_eq!(MeetingTitle::parse(""), Err(NameError::Empty));
        assert_eq!(
            MeetingTitle::parse(&"x".repeat(121)),
            Err(NameError::TooLong)
        );
        assert_eq!(
            MeetingTitle::parse("Uppföljning 121212-1212"),
            Err(NameError::PersonalIdentityNumber)
        );
        assert!(MeetingTitle::parse("Uppföljning 121212-1213").is_ok());
    }
}

/// The most characters a chat message may have.
pub const MAX_CHAT_CHARS: usize = 1000;

/// A chat message's text (R10). Never stored and never logged: `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct ChatText(String);

impl ChatText {
    pub fn parse(raw: &str) -> Result<ChatText, NameError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(NameError::Empty);
        }
        if text.chars().count() > MAX_CHAT_CHARS {
            return Err(NameError::TooLong);
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(NameError::ControlCharacter);
        }
        check_identity_numbers(text)?;
        Ok(ChatText(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ChatText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChatText([redacted])")
    }
}

#[cfg(test)]
mod chat_tests {
    use super::*;

    #[test]
    fn chat_text_is_checked_and_prints_redacted() {
        let t = ChatText::parse("Hej!\nVi börjar nu.").unwrap();
        assert_eq!(format!("{t:?}"), "ChatText([redacted])");
        assert_eq!(
            ChatText::parse("pnr 19811218-9876"),
            Err(NameError::PersonalIdentityNumber)
        );
        assert_eq!(ChatText::parse(&"x".repeat(1001)), Err(NameError::TooLong));
        assert_eq!(ChatText::parse("a\u{7}b"), Err(NameError::ControlCharacter));
    }

    #[test]
    fn a_personnummer_typed_with_an_en_dash_or_fullwidth_digits_is_refused_everywhere() {
        // A line break is a control character in a name or title; chat may have one.
        assert_eq!(
            ChatText::parse("pnr 811218\n9876"),
            Err(NameError::PersonalIdentityNumber)
        );
        for text in [
            "pnr 811218\u{2013}9876",
            "８１１２１８－９８７６",
            "811218 / 9876",
        ] {
            assert_eq!(
                ChatText::parse(text),
                Err(NameError::PersonalIdentityNumber)
            );
            assert_eq!(
                DisplayName::parse(text),
                Err(NameError::PersonalIdentityNumber)
            );
            assert_eq!(
                MeetingTitle::parse(text),
                Err(NameError::PersonalIdentityNumber)
            );
        }
    }

    #[test]
    fn an_unspaced_mobile_number_is_refused_with_how_to_write_it() {
        let refused = ChatText::parse("Ring mig på 0701151235");
        assert_eq!(refused, Err(NameError::UnspacedPhoneNumber));
        assert_eq!(
            DisplayName::parse("Anna 0701151235"),
            Err(NameError::UnspacedPhoneNumber)
        );
        let message = refused.unwrap_err().to_string();
        assert!(message.contains(PHONE_NUMBER_EXAMPLE), "{message}");
        // The way the refusal suggests really goes through.
        let suggested = format!("Ring mig på {PHONE_NUMBER_EXAMPLE}");
        assert!(ChatText::parse(&suggested).is_ok());
        assert!(DisplayName::parse(&format!("Anna {PHONE_NUMBER_EXAMPLE}")).is_ok());
        assert!(MeetingTitle::parse(&suggested).is_ok());
    }
}

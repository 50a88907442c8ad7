//! Collecting a PIN from the keys a caller presses: digits, `#` to finish, `*` to start over.
//! Sans-IO: keys and the time go in; a finished entry comes out. Bounded: a caller who keeps
//! pressing keys gets an entry of at most [`MAX_PIN_DIGITS`] + 1 digits (which matches no PIN),
//! never a growing buffer.

use std::fmt;
use std::time::{Duration, Instant};

use super::MAX_PIN_DIGITS;
use crate::dtmf::Digit;

/// A pause this long after the last digit finishes the entry as if `#` was pressed.
pub const DIGIT_PAUSE: Duration = Duration::from_secs(5);

/// What was typed. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Entered(String);

impl Entered {
    /// The digits, for comparing with a PIN: never for a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Entered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Entered({} digits)", self.0.len())
    }
}

/// One caller's PIN being typed.
#[derive(Default)]
pub struct PinEntry {
    digits: String,
    last_key: Option<Instant>,
}

impl fmt::Debug for PinEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinEntry({} digits)", self.digits.len())
    }
}

impl PinEntry {
    pub fn new() -> Self {
        Self::default()
    }

    /// A key pressed. Returns the entry when `#` finishes it (an empty entry is ignored).
    pub fn key(&mut self, now: Instant, key: Digit) -> Option<Entered> {
        self.last_key = Some(now);
        match key.as_char() {
            '#' => self.finish(),
            '*' => {
                self.digits.clear();
                None
            }
            c if c.is_ascii_digit() => {
                // One past the longest PIN is kept, so that a long entry stays wrong.
                if self.digits.len() <= MAX_PIN_DIGITS {
                    self.digits.push(c);
                }
                None
            }
            _ => None,
        }
    }

    /// When [`PinEntry::handle_timeout`] wants to be called: a pause after some digits.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.digits.is_empty() {
            return None;
        }
        self.last_key.map(|t| t + DIGIT_PAUSE)
    }

    /// The entry, if the caller paused long enough after typing.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Entered> {
        match self.poll_timeout() {
            Some(due) if now >= due => self.finish(),
            _ => None,
        }
    }

    fn finish(&mut self) -> Option<Entered> {
        if self.digits.is_empty() {
            return None;
        }
        Some(Entered(std::mem::take(&mut self.digits)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(entry: &mut PinEntry, now: Instant, typed: &str) -> Option<Entered> {
        let mut done = None;
        for c in typed.chars() {
            if let Some(e) = entry.key(now, Digit::from_char(c).unwrap()) {
                done = Some(e);
            }
        }
        done
    }

    #[test]
    fn hash_finishes_star_starts_over_and_a_pause_finishes_too() {
        let now = Instant::now();
        let mut entry = PinEntry::new();
        assert_eq!(
            keys(&mut entry, now, "#"),
            None,
            "an empty entry is no entry"
        );
        let done = keys(&mut entry, now, "12*123456789#").unwrap();
        assert_eq!(done.expose(), "123456789");
        assert_eq!(entry.poll_timeout(), None);
        assert_eq!(keys(&mut entry, now, "98765A4321"), None);
        assert_eq!(entry.handle_timeout(now + DIGIT_PAUSE / 2), None);
        let done = entry.handle_timeout(now + DIGIT_PAUSE).unwrap();
        assert_eq!(done.expose(), "987654321", "letters are not digits");
    }

    #[test]
    fn an_endless_entry_stays_bounded_and_wrong() {
        let now = Instant::now();
        let mut entry = PinEntry::new();
        let long = "7".repeat(10_000) + "#";
        let done = keys(&mut entry, now, &long).unwrap();
        assert_eq!(done.expose().len(), MAX_PIN_DIGITS + 1);
        assert!(!format!("{done:?} {entry:?}").contains("77"));
    }
}

//! R12: no Swedish personal identity number (personnummer or samordningsnummer) in free text.
//!
//! A number is refused when it is written the way people write them — `YYMMDD-NNNC`,
//! `YYMMDD+NNNC`, `YYYYMMDD-NNNC`, with a space or with no separator — its date is a real
//! date (for a samordningsnummer the day is the birth day plus 60) and its last digit is the
//! Luhn check digit of the ten digits. Numbers that fail the check are someone's order number,
//! phone number or reference, and are allowed.
//!
//! What people type is normalised first, so a number is caught however a keyboard, a phone or
//! a copy from another program wrote it: every Unicode decimal digit counts as its value
//! (fullwidth `１２`, Arabic-Indic, Devanagari, mathematical digits), and between the date and
//! the last four digits any dash, hyphen or minus sign, `+`, `.`, `/`, `_`, any space (no-break
//! and narrow ones too), a tab or a line break may stand, with spaces on either side of it.
//! The scan reads the text once, without copying it.

use std::str::Chars;

/// What [`find_personal_identity_number`] found in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityNumberFound {
    /// A personnummer or samordningsnummer.
    IdentityNumber,
    /// Only ten digits with no separator that start with `07`: most likely a Swedish mobile
    /// number (070 115 12 35) that also happens to pass the date and check-digit test. Written
    /// with spaces or a hyphen it is no longer read as a personnummer.
    UnspacedMobileNumber,
}

/// Whether `text` contains a valid personnummer or samordningsnummer anywhere.
pub fn contains_personal_identity_number(text: &str) -> bool {
    find_personal_identity_number(text).is_some()
}

/// What kind of personnummer, if any, `text` contains. A real-looking personnummer anywhere
/// wins over a number that looks like an unspaced mobile number.
pub fn find_personal_identity_number(text: &str) -> Option<IdentityNumberFound> {
    let mut chars = text.chars();
    let mut found = None;
    // Each character is read at most twice: once in its own run, once as a candidate's tail.
    while skip_to_digit(&mut chars) {
        let run = read_run(&mut chars);
        match run.len {
            10 | 12 if is_valid(run.as_slice()) => {
                let mobile = run.len == 10 && run.digits[..2] == [0, 7];
                if !mobile {
                    return Some(IdentityNumberFound::IdentityNumber);
                }
                found = Some(IdentityNumberFound::UnspacedMobileNumber);
            }
            6 | 8 => {
                // A separator, then exactly four digits. The tail is read on a copy of the
                // position: it is also the next run the loop looks at.
                let mut ahead = chars.clone();
                if skip_separator(&mut ahead) {
                    let tail = read_run(&mut ahead);
                    if tail.len == 4 {
                        let mut digits = run.digits;
                        digits[run.len..run.len + 4].copy_from_slice(&tail.digits[..4]);
                        if is_valid(&digits[..run.len + 4]) {
                            return Some(IdentityNumberFound::IdentityNumber);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// One run of consecutive digits: its length, and its first twelve digits.
struct Run {
    digits: [u8; 12],
    len: usize,
}

impl Run {
    /// The run as a number to check (more than twelve digits never is one).
    fn as_slice(&self) -> &[u8] {
        &self.digits[..self.len.min(12)]
    }
}

/// Moves `chars` to the next digit; false at the end of the text.
fn skip_to_digit(chars: &mut Chars<'_>) -> bool {
    loop {
        let mut ahead = chars.clone();
        match ahead.next() {
            None => return false,
            Some(c) if digit_value(c).is_some() => return true,
            Some(_) => *chars = ahead,
        }
    }
}

/// Reads the digits at `chars`, leaving it on the first character that is not one.
fn read_run(chars: &mut Chars<'_>) -> Run {
    let mut run = Run {
        digits: [0; 12],
        len: 0,
    };
    loop {
        let mut ahead = chars.clone();
        let Some(d) = ahead.next().and_then(digit_value) else {
            return run;
        };
        if let Some(slot) = run.digits.get_mut(run.len) {
            *slot = d;
        }
        run.len += 1;
        *chars = ahead;
    }
}

/// Skips what may stand between the date and the last four digits: spaces, at most one
/// separator, spaces. True if anything was skipped.
fn skip_separator(chars: &mut Chars<'_>) -> bool {
    let before = chars.as_str().len();
    skip_spaces(chars);
    let mut ahead = chars.clone();
    if ahead.next().is_some_and(is_separator) {
        *chars = ahead;
        skip_spaces(chars);
    }
    chars.as_str().len() < before
}

fn skip_spaces(chars: &mut Chars<'_>) {
    loop {
        let mut ahead = chars.clone();
        match ahead.next() {
            Some(c) if is_space(c) => *chars = ahead,
            _ => return,
        }
    }
}

/// Any Unicode space (no-break, narrow no-break, figure, ideographic), tab and line break, and
/// the invisible ones a copy from a web page or a word processor brings along.
fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Dashes, hyphens and minus signs of every kind, and the other marks people put there; with
/// their fullwidth forms, which a phone's Japanese or Chinese keyboard types with its digits.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        '-' | '+'
            | '.'
            | '/'
            | '_'
            | '\u{00AD}' // soft hyphen
            | '\u{2010}'
            ..='\u{2015}' // hyphen, non-breaking hyphen, figure dash, en and em dash, bar
            | '\u{2043}' // hyphen bullet
            | '\u{2044}' // fraction slash
            | '\u{2212}' // minus sign
            | '\u{2215}' // division slash
            | '\u{FE58}' // small em dash
            | '\u{FE62}' // small plus
            | '\u{FE63}' // small hyphen-minus
            | '\u{FF0B}' // fullwidth plus
            | '\u{FF0D}' // fullwidth hyphen-minus
            | '\u{FF0E}' // fullwidth full stop
            | '\u{FF0F}' // fullwidth solidus
            | '\u{FF3F}' // fullwidth low line
    )
}

/// The zero of every block of decimal digits (general category Nd) in Unicode 17, in order.
/// Each block holds the ten digits zero to nine in a row, so a digit's value is its distance
/// from the zero before it.
const DIGIT_ZEROS: [u32; 77] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x10D40, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0,
    0x11650, 0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0, 0x11C50, 0x11D50,
    0x11DA0, 0x11DE0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70, 0x1CCF0, 0x1D7CE,
    0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E5F1, 0x1E950, 0x1FBF0,
];

/// The value of a decimal digit of any script.
fn digit_value(c: char) -> Option<u8> {
    if c.is_ascii_digit() {
        return Some(c as u8 - b'0');
    }
    let code = u32::from(c);
    let block = DIGIT_ZEROS.partition_point(|&zero| zero <= code);
    let zero = DIGIT_ZEROS[block.checked_sub(1)?];
    u8::try_from(code - zero).ok().filter(|d| *d < 10)
}

/// Ten or twelve digits: a real date and a correct check digit.
fn is_valid(digits: &[u8]) -> bool {
    let (century, ten) = match digits.len() {
        12 => (
            Some(u32::from(digits[0]) * 10 + u32::from(digits[1])),
            &digits[2..],
        ),
        10 => (None, digits),
        _ => return false,
    };
    let num = |a: usize| u32::from(ten[a]) * 10 + u32::from(ten[a + 1]);
    let (yy, month, mut day) = (num(0), num(2), num(4));
    if day > 60 {
        day -= 60; // samordningsnummer
    }
    if !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = match century {
        Some(c) => is_leap(c * 100 + yy),
        // Without the century, Feb 29 is real if it was in any century people are alive in.
        None => is_leap(1900 + yy) || is_leap(2000 + yy),
    };
    if let Some(c) = century {
        if !(18..=20).contains(&c) {
            return false;
        }
    }
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days_in_month && luhn_ok(ten)
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn luhn_ok(ten: &[u8]) -> bool {
    let sum: u32 = ten[..9]
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let v = u32::from(*d) * if i % 2 == 0 { 2 } else { 1 };
            v / 10 + v % 10
        })
        .sum();
    (10 - sum % 10) % 10 == u32::from(ten[9])
}

#[cfg(test)]
mod tests;

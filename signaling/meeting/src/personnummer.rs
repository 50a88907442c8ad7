//! R12: no Swedish personal identity number (personnummer or samordningsnummer) in free text.
//!
//! A number is refused when it is written the way people write them — `YYMMDD-NNNC`,
//! `YYMMDD+NNNC`, `YYYYMMDD-NNNC`, with a space or with no separator — its date is a real
//! date (for a samordningsnummer the day is the birth day plus 60) and its last digit is the
//! Luhn check digit of the ten digits. Numbers that fail the check are someone's order number,
//! phone number or reference, and are allowed.

/// Whether `text` contains a valid personnummer or samordningsnummer anywhere.
pub fn contains_personal_identity_number(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let run = digits_from(&chars, i);
        let candidate = match run.len() {
            10 | 12 => Some(run.clone()),
            6 | 8 => {
                // A separator, then exactly four digits.
                let after = i + run.len();
                match chars.get(after) {
                    Some('-' | '+' | ' ') => {
                        let tail = digits_from(&chars, after + 1);
                        (tail.len() == 4).then(|| [run.clone(), tail].concat())
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if candidate.is_some_and(|d| is_valid(&d)) {
            return true;
        }
        i += run.len().max(1);
    }
    false
}

fn digits_from(chars: &[char], start: usize) -> Vec<u8> {
    chars[start..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .map(|c| *c as u8 - b'0')
        .collect()
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
mod tests {
    use super::*;

    // Skatteverket's published test numbers and hand-checked ones.
    const VALID: &[&str] = &[
        "811218-9876",
        "8112189876",
        "19811218-9876",
        "198112189876",
        "811218+9876",
        "811218 9876",
        "20121212-1212",
        "121212-1212",
        "701063-2391", // samordningsnummer: day 63 = the 3rd
        "19701063-2391",
        "000229-0005", // Feb 29 2000
    ];

    #[test]
    fn valid_numbers_are_found_in_every_written_form() {
        for n in VALID {
            assert!(contains_personal_identity_number(n), "{n}");
            assert!(
                contains_personal_identity_number(&format!("Anna {n} Andersson")),
                "{n} in text"
            );
            assert!(
                contains_personal_identity_number(&format!("pnr:{n}.")),
                "{n} with punctuation"
            );
        }
    }

    #[test]
    fn numbers_failing_the_check_are_allowed() {
        for n in [
            "811218-9875",     // wrong check digit
            "811318-9876",     // month 13
            "810230-1234",     // Feb 30
            "811232-9876",     // day 32
            "011329-0000",     // month 13
            "17811218-9876",   // century 17
            "0701234567",      // a phone number
            "08-123 456 78",   // a Stockholm phone number
            "123456",          // short
            "81121898761",     // eleven digits
            "2026-11-22",      // a date
            "Rum 4, våning 2", // ordinary text
        ] {
            assert!(!contains_personal_identity_number(n), "{n}");
        }
    }

    #[test]
    fn never_panics_on_odd_text() {
        for t in [
            "",
            "-",
            "++++",
            "١٢٣٤٥٦٧٨٩٠",
            "8112189876\u{0}",
            "811218-",
            "811218- 9876",
            "ÅÄÖ811218-9876",
        ] {
            let _ = contains_personal_identity_number(t);
        }
        assert!(contains_personal_identity_number("ÅÄÖ811218-9876"));
    }
}

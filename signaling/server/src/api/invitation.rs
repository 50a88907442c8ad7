//! R13: what an invitation says. One neutral sentence and the link: no meeting title, no
//! diagnosis, no name, in the text and in the calendar file alike.

/// The sentence every invitation carries.
pub const NEUTRAL_SENTENCE: &str = "Klicka för att delta i ditt bokade vårdmöte.";
/// The calendar entry's title.
const NEUTRAL_SUMMARY: &str = "Vårdmöte";

pub fn text(link: &str, dial_in: Option<&sluss_protocol::DialIn>) -> String {
    match dial_in {
        Some(d) => format!(
            "{NEUTRAL_SENTENCE}\n{link}\n\nDu kan också delta per telefon: ring {} och slå koden {} följd av #.\n",
            d.number,
            grouped(&d.pin)
        ),
        None => format!("{NEUTRAL_SENTENCE}\n{link}\n"),
    }
}

/// A PIN in groups of three digits, easier to read out and type.
fn grouped(pin: &str) -> String {
    let digits: Vec<char> = pin.chars().collect();
    digits
        .chunks(3)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// An iCalendar (RFC 5545) file for one invitation.
pub fn ics(uid: &str, link: &str, starts_at: i64, duration_minutes: i64, now: i64) -> String {
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Sluss//Sluss//SV".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{uid}@sluss"),
        format!("DTSTAMP:{}", utc(now)),
        format!("DTSTART:{}", utc(starts_at)),
        // Saturating: the API bounds both, and a stored row must still never overflow here.
        format!(
            "DTEND:{}",
            utc(starts_at.saturating_add(duration_minutes.clamp(1, 1 << 40) * 60))
        ),
        format!("SUMMARY:{NEUTRAL_SUMMARY}"),
        format!(
            "DESCRIPTION:{}",
            escape(&format!("{NEUTRAL_SENTENCE}\n{link}"))
        ),
        format!("URL:{link}"),
        "CLASS:PRIVATE".to_owned(),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    lines
        .iter()
        .map(|l| fold(l))
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

/// `YYYYMMDDTHHMMSSZ` for Unix seconds.
fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1).
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_one_neutral_sentence_and_the_link() {
        assert_eq!(
            text("https://m.example.se/join#abc", None),
            "Klicka för att delta i ditt bokade vårdmöte.\nhttps://m.example.se/join#abc\n"
        );
    }

    #[test]
    fn the_calendar_file_is_valid_and_neutral() {
        let link = format!("https://m.example.se/join#{}", "A".repeat(43));
        // 2026-11-23 09:30 UTC
        let ics = ics("inv1", &link, 1_795_426_200, 45, 1_795_000_000);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.contains("DTSTART:20261123T093000Z\r\n"), "{ics}");
        assert!(ics.contains("DTEND:20261123T101500Z\r\n"));
        assert!(ics.contains("SUMMARY:Vårdmöte\r\n"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "folded: {line}");
        }
        // Unfolded, the link is whole.
        assert!(ics.replace("\r\n ", "").contains(&link));
    }

    #[test]
    fn dates_convert_correctly() {
        assert_eq!(utc(0), "19700101T000000Z");
        assert_eq!(utc(951_782_400), "20000229T000000Z");
        assert_eq!(utc(1_709_164_799), "20240228T235959Z");
    }
}

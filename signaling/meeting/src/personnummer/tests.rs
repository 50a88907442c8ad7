use super::*;
use proptest::prelude::*;

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

/// `text` with every ASCII digit written in the script whose zero is `zero`.
fn in_script(text: &str, zero: u32) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(zero + d).unwrap(),
            None => c,
        })
        .collect()
}

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
fn fullwidth_and_other_scripts_digits_are_read_as_digits() {
    for n in [
        "８１１２１８－９８７６", // fullwidth digits and hyphen, as a phone's CJK keyboard types them
        "８１１２１８-９８７６",
        "１９８１１２１８９８７６",
        "٨١١٢١٨-٩٨٧٦",    // Arabic-Indic
        "۸۱۱۲۱۸-۹۸۷۶",    // Persian
        "८११२१८-९८७६",    // Devanagari
        "811２１８-9876", // mixed
    ] {
        assert!(contains_personal_identity_number(n), "{n}");
    }
    // Mathematical bold, double-struck and monospace digits.
    for zero in [0x1D7CE, 0x1D7D8, 0x1D7F6] {
        let n = in_script("pnr 811218-9876", zero);
        assert!(contains_personal_identity_number(&n), "{n}");
    }
}

#[test]
fn every_separator_people_type_is_caught() {
    for sep in [
        "\u{2013}", // en dash
        "\u{2014}", // em dash
        "\u{2212}", // minus sign
        "\u{2010}", // hyphen
        "\u{2011}", // non-breaking hyphen
        "\u{00A0}", // no-break space
        "\u{202F}", // narrow no-break space
        "\u{2007}", // figure space
        "\t",
        "\n",
        "\r\n",
        ".",
        "/",
        "_",
        " - ",
        "  \u{2013}  ",
        " / ",
        "\u{00A0}-\u{00A0}",
        "-\n",
    ] {
        for n in [format!("811218{sep}9876"), format!("19811218{sep}9876")] {
            assert!(contains_personal_identity_number(&n), "{n:?}");
            let in_text = format!("Hej, mitt nummer är {n}, tack.");
            assert!(contains_personal_identity_number(&in_text), "{in_text:?}");
        }
    }
    assert!(contains_personal_identity_number("19121212 - 1212"));
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
fn normalised_numbers_failing_the_check_are_still_allowed() {
    for n in [
        "811218\u{2013}9875",     // en dash, wrong check digit
        "８１１２１８－９８７５", // fullwidth, wrong check digit
        "811218 . 9875",
        "811318\u{00A0}9876", // month 13
        "811218\n98765",      // five digits after the line break
        "2026/11/22",
        "2026.11.22 14.30",
        "Beställning 123456_7890",
    ] {
        assert!(!contains_personal_identity_number(n), "{n:?}");
    }
}

#[test]
fn an_unspaced_mobile_number_is_refused_with_its_own_finding() {
    // 070-115 12 35 reads as 7 January 2007 with a right check digit.
    for n in [
        "0701151235",
        "Ring mig på 0701151235!",
        "０７０１１５１２３５",
    ] {
        assert_eq!(
            find_personal_identity_number(n),
            Some(IdentityNumberFound::UnspacedMobileNumber),
            "{n}"
        );
    }
    // A real personnummer beside it is the finding that counts, before or after it.
    for n in [
        "0701151235 eller 811218-9876",
        "811218-9876 eller 0701151235",
    ] {
        assert_eq!(
            find_personal_identity_number(n),
            Some(IdentityNumberFound::IdentityNumber),
            "{n}"
        );
    }
    // Written with a separator after the date it reads as a personnummer.
    assert_eq!(
        find_personal_identity_number("070115-1235"),
        Some(IdentityNumberFound::IdentityNumber)
    );
}

#[test]
fn a_mobile_number_written_as_the_hint_says_goes_through() {
    for n in [
        "070-115 12 35",
        "070 115 12 35",
        "070-1151235",
        "070\u{2013}115\u{00A0}12\u{00A0}35",
        "+46 70 115 12 35",
        "+46701151235",
    ] {
        assert_eq!(find_personal_identity_number(n), None, "{n}");
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
        "811218- ",
        "811218 \u{2013}",
        "1234567890123456789012345",
        "\u{10FFFF}\u{1FBF9}\u{1FBFA}",
    ] {
        let _ = contains_personal_identity_number(t);
    }
    assert!(contains_personal_identity_number("ÅÄÖ811218-9876"));
}

#[test]
fn the_digit_table_holds_ten_digits_from_each_zero() {
    assert!(DIGIT_ZEROS.windows(2).all(|w| w[0] + 10 <= w[1]));
    for zero in DIGIT_ZEROS {
        for d in 0..10u8 {
            let c = char::from_u32(zero + u32::from(d)).unwrap();
            assert!(c.is_numeric(), "{:X}", zero + u32::from(d));
            assert_eq!(digit_value(c), Some(d), "{:X}", zero + u32::from(d));
        }
    }
    for c in ['a', 'Å', '½', '²', '\u{2160}', '\u{FF1A}'] {
        assert_eq!(digit_value(c), None, "{c}");
    }
}

/// A form of one of the valid numbers: its digits in random scripts, a random separator zone
/// (or none), inside random text that does not touch it with a digit.
fn written_forms(check_delta: u8) -> impl Strategy<Value = String> {
    let numbers = prop::sample::select(vec![
        "8112189876",
        "198112189876",
        "1212121212",
        "201212121212",
        "7010632391",
        "0002290005",
    ]);
    let space = prop::sample::select(vec![
        " ", "\u{00A0}", "\u{202F}", "\u{2007}", "\u{3000}", "\t", "\n", "\r\n",
    ]);
    let sep = prop::sample::select(vec![
        "-", "+", "\u{2013}", "\u{2014}", "\u{2212}", "\u{2010}", "\u{2011}", ".", "/", "_",
        "\u{FF0D}",
    ]);
    let zone = (
        prop::collection::vec(space.clone(), 0..3),
        prop::option::of(sep),
        prop::collection::vec(space, 0..3),
    )
        .prop_map(|(a, s, b)| format!("{}{}{}", a.concat(), s.unwrap_or(""), b.concat()));
    let scripts = prop::collection::vec(prop::sample::select(DIGIT_ZEROS.to_vec()), 12);
    let around = "[a-zåäö ,.:()]{0,8}";
    (numbers, prop::option::of(zone), scripts, around, around).prop_map(
        move |(n, zone, scripts, before, after)| {
            let mut digits: Vec<u32> = n.chars().map(|c| c.to_digit(10).unwrap()).collect();
            let last = digits.len() - 1;
            digits[last] = (digits[last] + u32::from(check_delta)) % 10;
            let split = digits.len() - 4;
            let mut out = before;
            for (i, d) in digits.iter().enumerate() {
                if i == split {
                    out.push_str(zone.as_deref().unwrap_or(""));
                }
                out.push(char::from_u32(scripts[i] + d).unwrap());
            }
            out + &after
        },
    )
}

proptest! {
    #[test]
    fn random_text_never_panics(text in any::<String>()) {
        let _ = find_personal_identity_number(&text);
    }

    #[test]
    fn random_digits_and_separators_never_panic(
        text in "[0-9０-９٠-٩\\-\u{2013}\u{2014} .\u{00A0}/_\n+]{0,60}"
    ) {
        let _ = find_personal_identity_number(&text);
    }

    #[test]
    fn a_valid_number_is_caught_however_it_is_written(text in written_forms(0)) {
        prop_assert_eq!(
            find_personal_identity_number(&text),
            Some(IdentityNumberFound::IdentityNumber),
            "{:?}", text
        );
    }

    #[test]
    fn a_wrong_check_digit_passes_however_it_is_written(
        (_delta, text) in (1u8..10).prop_flat_map(|d| (Just(d), written_forms(d)))
    ) {
        prop_assert_eq!(find_personal_identity_number(&text), None, "{:?}", text);
    }
}

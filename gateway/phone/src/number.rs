//! Dialled numbers: what a nurse types, made E.164; which numbers dial-out may call; and the
//! form the audit trail keeps.
//!
//! A number is personal data (issue 12 item 4): [`PhoneNumber`] prints as `PhoneNumber(…)`
//! in both `Debug` and `Display`; the chair sees [`PhoneNumber::masked`]; the audit trail
//! keeps [`PhoneNumber::hashed`], a keyed hash that recognises the same number again without
//! storing it. No error here quotes the input.
//!
//! ```
//! use sluss_phone::number::{AuditKey, NumberPolicy, PhoneNumber};
//!
//! let number = PhoneNumber::parse("070-123 45 35")?;
//! assert_eq!(number.masked(), "+46 70*** **35");
//! assert_eq!(format!("{number:?}"), "PhoneNumber(…)");
//! assert!(NumberPolicy::new(["+4670*"])?.allows(&number));
//! let trail = number.hashed(&AuditKey::new(b"the audit trail's secret key"));
//! assert_eq!(trail.last_two, "35");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

/// Longest input we read, in bytes: a number with every separator a person might type.
pub const MAX_INPUT_BYTES: usize = 64;
/// E.164 allows at most 15 digits, country code included.
pub const MAX_DIGITS: usize = 15;
/// Fewest digits, country code included (a Swedish number has at least 9).
pub const MIN_DIGITS: usize = 8;
/// Most patterns in a dial-out policy.
pub const MAX_PATTERNS: usize = 256;

/// Why a typed number or a policy pattern was refused. Never quotes the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    #[error("the number is longer than {MAX_INPUT_BYTES} characters")]
    TooLong,
    #[error("the number is empty")]
    Empty,
    #[error("the number has letters")]
    Letters,
    #[error("the number has a character that is neither a digit nor a separator")]
    InvalidCharacter,
    #[error("a + may only begin the number")]
    MisplacedPlus,
    #[error("the number has no area or country prefix (begin with 0, 00 or +)")]
    MissingPrefix,
    #[error("the number has fewer than {MIN_DIGITS} digits")]
    TooShort,
    #[error("the number has more than {MAX_DIGITS} digits")]
    TooManyDigits,
    #[error("a country code cannot begin with 0")]
    BadCountryCode,
    #[error("dial-out pattern {0} is not +digits, ? or a final *")]
    BadPattern(usize),
    #[error("the dial-out policy has more than {MAX_PATTERNS} patterns")]
    TooManyPatterns,
}

/// A phone number in E.164 form (`+` and up to 15 digits). Prints as `PhoneNumber(…)`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Reads a number as a person types it: spaces, hyphens, dots, slashes and parentheses
    /// are separators; `+` or `00` begins an international number, a single `0` a Swedish one
    /// (`070-123 45 35` is `+46701234535`); `+46 (0)70…` drops the bracketed trunk zero.
    pub fn parse(typed: &str) -> Result<Self, NumberError> {
        if typed.len() > MAX_INPUT_BYTES {
            return Err(NumberError::TooLong);
        }
        let typed = typed.trim();
        if typed.is_empty() {
            return Err(NumberError::Empty);
        }
        let (international, rest) = match typed.strip_prefix('+') {
            Some(rest) => (true, rest.replace("(0)", "")),
            None => (false, typed.to_owned()),
        };
        let mut digits = String::with_capacity(MAX_DIGITS + 2);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '\u{a0}' | '-' | '.' | '/' | '(' | ')' => {}
                '+' => return Err(NumberError::MisplacedPlus),
                c if c.is_alphabetic() => return Err(NumberError::Letters),
                _ => return Err(NumberError::InvalidCharacter),
            }
        }
        let e164 = if international {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_owned()
        } else if let Some(rest) = digits.strip_prefix('0') {
            format!("46{rest}")
        } else {
            return Err(NumberError::MissingPrefix);
        };
        if e164.starts_with('0') {
            return Err(NumberError::BadCountryCode);
        }
        if e164.len() < MIN_DIGITS {
            return Err(NumberError::TooShort);
        }
        if e164.len() > MAX_DIGITS {
            return Err(NumberError::TooManyDigits);
        }
        Ok(Self(format!("+{e164}")))
    }

    /// The E.164 form, for the SIP request URI only: never for a log or a message.
    pub fn expose_e164(&self) -> &str {
        &self.0
    }

    fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// What the chair sees: the country code and the next digits, then stars, then the last
    /// two digits, e.g. `+46 70*** **35`. At least four digits are always hidden.
    pub fn masked(&self) -> String {
        let digits = self.digits().as_bytes();
        let n = digits.len();
        let shown = n.saturating_sub(6).min(4);
        let masked: Vec<u8> = digits
            .iter()
            .enumerate()
            .map(|(i, d)| if i < shown || i >= n - 2 { *d } else { b'*' })
            .collect();
        // Digits are ASCII, so every index is a character boundary.
        let masked = String::from_utf8_lossy(&masked);
        let (head, tail) = masked.split_at(2);
        let (middle, last) = tail.split_at(tail.len().saturating_sub(4));
        format!("+{head} {middle} {last}")
    }

    /// The audit trail's form: a keyed HMAC-SHA256 of the E.164 number, and its last two
    /// digits for a person reading the trail.
    pub fn hashed(&self, key: &AuditKey) -> HashedNumber {
        let tag = ring::hmac::sign(&key.0, self.0.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in tag.as_ref() {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        let digits = self.digits();
        HashedNumber {
            hmac_hex: hex,
            last_two: digits[digits.len() - 2..].to_owned(),
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneNumber(…)")
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneNumber(…)")
    }
}

/// The key of the audit trail's number hashes, from the caller's secret (at least 32 bytes
/// are wise). Prints as `AuditKey(…)`.
pub struct AuditKey(ring::hmac::Key);

impl AuditKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret))
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey(…)")
    }
}

/// A number as the audit trail keeps it: the same number under the same key gives the same
/// hash; the last two digits help a person tell entries apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedNumber {
    /// 64 lowercase hex digits.
    pub hmac_hex: String,
    pub last_two: String,
}

impl fmt::Display for HashedNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hmac-sha256:{} …{}", self.hmac_hex, self.last_two)
    }
}

/// One allowed pattern, in E.164 digits: a digit matches itself, `?` any one digit, and a
/// final `*` any rest.
#[derive(Clone, PartialEq, Eq)]
struct Pattern {
    digits: Vec<u8>,
    open: bool,
}

impl Pattern {
    fn parse(s: &str) -> Option<Self> {
        let body = s.trim().strip_prefix('+')?;
        let (body, open) = match body.strip_suffix('*') {
            Some(body) => (body, true),
            None => (body, false),
        };
        let ok = body.bytes().all(|c| c.is_ascii_digit() || c == b'?');
        if !ok || body.len() > MAX_DIGITS || (body.is_empty() && !open) {
            return None;
        }
        Some(Self {
            digits: body.bytes().collect(),
            open,
        })
    }

    fn matches(&self, number: &[u8]) -> bool {
        let length_fits = if self.open {
            number.len() >= self.digits.len()
        } else {
            number.len() == self.digits.len()
        };
        length_fits
            && self
                .digits
                .iter()
                .zip(number)
                .all(|(p, d)| *p == b'?' || p == d)
    }
}

/// Which numbers dial-out may call, from the `[sip]` configuration: `+46*` (all of
/// Sweden), `+4670*` (Swedish mobiles), `+46701234535` (one number), `?` for one digit. An
/// empty policy allows nothing. Prints only its size: an exact pattern is a number.
#[derive(Clone, PartialEq, Eq)]
pub struct NumberPolicy {
    patterns: Vec<Pattern>,
}

impl NumberPolicy {
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<Self, NumberError> {
        let mut parsed = Vec::new();
        for (i, pattern) in patterns.into_iter().enumerate() {
            if i == MAX_PATTERNS {
                return Err(NumberError::TooManyPatterns);
            }
            parsed.push(Pattern::parse(pattern).ok_or(NumberError::BadPattern(i))?);
        }
        Ok(Self { patterns: parsed })
    }

    /// Whether dial-out may call `number`.
    pub fn allows(&self, number: &PhoneNumber) -> bool {
        let digits = number.digits().as_bytes();
        self.patterns.iter().any(|p| p.matches(digits))
    }
}

impl fmt::Debug for NumberPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NumberPolicy({} patterns)", self.patterns.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(typed: &str) -> PhoneNumber {
        PhoneNumber::parse(typed).expect("a number")
    }

    #[test]
    fn what_a_nurse_types_becomes_e164() {
        for typed in [
            "070-123 45 35",
            "070 123 45 35",
            "(070) 123 45 35",
            "0701234535",
            "+46 70 123 45 35",
            "+46 (0)70-123 45 35",
            "0046 70 123 45 35",
            " 070.123.45.35 ",
            "070/1234535",
            "070\u{a0}123\u{a0}45\u{a0}35",
        ] {
            assert_eq!(n(typed).expose_e164(), "+46701234535", "{typed}");
        }
        assert_eq!(n("08-123 456 78").expose_e164(), "+46812345678");
        assert_eq!(n("+47 22 12 34 56").expose_e164(), "+4722123456");
        assert_eq!(n("00 358 40 123 4567").expose_e164(), "+358401234567");
    }

    #[test]
    fn what_is_not_a_number_is_refused() {
        let cases = [
            ("", NumberError::Empty),
            ("   ", NumberError::Empty),
            ("070-CALL-NOW", NumberError::Letters),
            ("07012345ä5", NumberError::Letters),
            ("070#1234535", NumberError::InvalidCharacter),
            ("070;1234535", NumberError::InvalidCharacter),
            ("070+1234535", NumberError::MisplacedPlus),
            ("++46701234535", NumberError::MisplacedPlus),
            ("701234535", NumberError::MissingPrefix),
            ("112", NumberError::MissingPrefix),
            ("+0701234535", NumberError::BadCountryCode),
            ("000701234535", NumberError::BadCountryCode),
            ("070123", NumberError::TooShort),
            ("+46 70 123 45 35 12345", NumberError::TooManyDigits),
        ];
        for (typed, error) in cases {
            assert_eq!(PhoneNumber::parse(typed), Err(error), "{typed:?}");
        }
        let long = format!("070{}", " ".repeat(MAX_INPUT_BYTES));
        assert_eq!(PhoneNumber::parse(&long), Err(NumberError::TooLong));
    }

    #[test]
    fn debug_display_and_errors_never_show_the_number() {
        let number = n("070-123 45 35");
        for shown in [format!("{number:?}"), format!("{number}")] {
            assert_eq!(shown, "PhoneNumber(…)");
        }
        let err = PhoneNumber::parse("070-123 45 35x").unwrap_err();
        assert!(!err.to_string().contains("123") && !format!("{err:?}").contains("123"));
        let policy = NumberPolicy::new(["+46701234535"]).unwrap();
        assert!(!format!("{policy:?}").contains("4670"));
    }

    #[test]
    fn masked_form_shows_prefix_and_last_two_digits_only() {
        assert_eq!(n("070-123 45 35").masked(), "+46 70*** **35");
        assert_eq!(n("08-123 456 78").masked(), "+46 81*** **78");
        // A short number hides more of its beginning: at least four digits stay hidden.
        let short = n("+4612345678").masked();
        assert_eq!(short, "+46 12** **78");
        let eight = n("+12345678").masked();
        assert_eq!(eight, "+12 ** **78");
        for masked in [short, eight] {
            assert!(masked.matches('*').count() >= 4, "{masked}");
        }
    }

    #[test]
    fn audit_hash_recognises_the_same_number_under_the_same_key_only() {
        let key = AuditKey::new(b"a secret of the audit trail, 32+ bytes long");
        let a = n("070-123 45 35").hashed(&key);
        let b = n("+46 (0)70 123 45 35").hashed(&key);
        assert_eq!(a, b);
        assert_eq!(a.hmac_hex.len(), 64);
        assert!(a.hmac_hex.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a.last_two, "35");
        assert!(!a.to_string().contains("4670"));
        assert_ne!(a, n("070-123 45 36").hashed(&key));
        assert_ne!(a, n("070-123 45 35").hashed(&AuditKey::new(b"another key")));
        assert_eq!(format!("{key:?}"), "AuditKey(…)");
    }

    #[test]
    fn audit_hash_is_hmac_sha256_of_the_e164_form() {
        // RFC 4231 test case 2 ("Jefe") fixes that this is HMAC-SHA256 itself.
        let key = AuditKey::new(b"Jefe");
        let tag = ring::hmac::sign(&key.0, b"what do ya want for nothing?");
        assert_eq!(
            tag.as_ref()[..4],
            [0x5b, 0xdc, 0xc1, 0x46],
            "HMAC-SHA256 per RFC 4231"
        );
        let ours = n("+46701234535").hashed(&key);
        let direct = ring::hmac::sign(&key.0, b"+46701234535");
        let hex: String = direct.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(ours.hmac_hex, hex);
    }

    #[test]
    fn policy_allows_prefixes_exact_numbers_and_single_digit_wildcards() {
        let policy = NumberPolicy::new(["+4670*", "+46812345678", "+4619??????"]).unwrap();
        assert!(policy.allows(&n("070-123 45 35")));
        assert!(policy.allows(&n("08-123 456 78")));
        assert!(!policy.allows(&n("08-123 456 79")));
        assert!(policy.allows(&n("019-123 456")));
        assert!(
            !policy.allows(&n("019-123 4567")),
            "? is one digit, no more"
        );
        assert!(!policy.allows(&n("073-123 45 35")));
        assert!(!policy.allows(&n("+47 22 12 34 56")));
        let sweden = NumberPolicy::new(["+46*"]).unwrap();
        assert!(sweden.allows(&n("073-123 45 35")));
        assert!(!sweden.allows(&n("+4722123456")));
    }

    #[test]
    fn empty_policy_allows_nothing() {
        let none = NumberPolicy::new([]).unwrap();
        assert!(!none.allows(&n("070-123 45 35")));
    }

    #[test]
    fn bad_patterns_are_refused_with_their_position() {
        for (i, bad) in ["46*", "+46*7", "+4670x", "+", "+1234567890123456", "*"]
            .into_iter()
            .enumerate()
        {
            let mut patterns = vec!["+46*"];
            patterns.push(bad);
            assert_eq!(
                NumberPolicy::new(patterns),
                Err(NumberError::BadPattern(1)),
                "{i}: {bad}"
            );
        }
        let many = vec!["+46*"; MAX_PATTERNS + 1];
        assert_eq!(NumberPolicy::new(many), Err(NumberError::TooManyPatterns));
    }
}

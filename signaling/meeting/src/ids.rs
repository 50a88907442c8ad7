use std::fmt;

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

opaque_id!(
    /// A meeting: random, opaque, safe to log.
    MeetingId
);
opaque_id!(
    /// A participant within a meeting: random, opaque, safe to log and to show other browsers.
    ParticipantId
);
opaque_id!(
    /// A personal invitation link (its database id, never its token).
    LinkId
);
opaque_id!(
    /// A staff account (its opaque id in the store): whose staff login a connection carries.
    StaffAccount
);
opaque_id!(
    /// A telephone call of the meeting (R14): random, opaque, safe to log. The number it
    /// dials is the shell's, never the core's.
    CallId
);

/// The secret that takes a seat back after a dropped connection. The shell makes a fresh one
/// for every join and hands it only to that connection; the core keeps the seat's current one
/// and forgets it when the seat goes. It prints redacted.
#[derive(Clone)]
pub struct ResumeKey(String);

impl ResumeKey {
    pub fn new(secret: impl Into<String>) -> ResumeKey {
        ResumeKey(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares without an early exit, so the time taken does not tell how much matched.
    pub fn matches(&self, other: &ResumeKey) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        if a.len() != b.len() || a.is_empty() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for ResumeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResumeKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_key_prints_redacted_and_matches_only_itself() {
        let key = ResumeKey::new("r_secret123");
        assert!(!format!("{key:?}").contains("secret"));
        assert!(key.matches(&ResumeKey::new("r_secret123")));
        assert!(!key.matches(&ResumeKey::new("r_secret124")));
        assert!(!key.matches(&ResumeKey::new("r_secret12")));
        assert!(!ResumeKey::new("").matches(&ResumeKey::new("")));
    }
}

//! The dial-in PIN and the guard against guessing it.
//!
//! A [`Pin`] has 9 to 16 digits, is made from the caller's random bytes, compares in
//! constant time, and prints as `Pin(…)`. The [`PinGuard`] is sans-IO (the time is passed
//! in) and counts wrong PINs three ways:
//! - per call: after [`PinPolicy::per_call`] wrong tries the call is hung up;
//! - per caller (the key the caller passes, e.g. the hashed caller number): a decaying limit
//!   across calls, so redialling does not buy fresh tries;
//! - per meeting (or per dial-in number when the PIN alone names the meeting): a decaying
//!   limit across callers. Caller numbers are trivial to forge in SIP, so this is the limit
//!   that holds; its cost is that a guessing storm locks legitimate callers out too, for a
//!   while that decays by one try per `window / tries`.
//!
//! A locked-out attempt is refused before the PIN is looked at, so a locked caller learns
//! nothing from it. Memory is bounded: each map holds at most a fixed number of keys and,
//! when full, forgets first the keys whose count has decayed furthest.
//!
//! ```
//! use std::time::Instant;
//! use sluss_phone::pin::{Attempt, CallTries, Pin, PinGuard, PinPolicy};
//!
//! let pin = Pin::generate(&[3; 32], 9)?; // bytes from a cryptographic random source
//! let mut guard: PinGuard<String, u64> = PinGuard::new(PinPolicy::default());
//! let mut call = CallTries::default(); // one per call
//! let (caller, meeting, now) = ("hashed caller".to_owned(), 7, Instant::now());
//! let wrong = guard.attempt(&mut call, &caller, &meeting, now, || pin.matches("000000000"));
//! assert_eq!(wrong, Attempt::Wrong { left: 2 });
//! let right = guard.attempt(&mut call, &caller, &meeting, now, || pin.matches("333333333"));
//! assert_eq!(right, Attempt::Accepted);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod entry;
pub use entry::{Entered, PinEntry, DIGIT_PAUSE};

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Fewest digits of a PIN (issue 12: at least 9).
pub const MIN_PIN_DIGITS: usize = 9;
/// Most digits of a PIN.
pub const MAX_PIN_DIGITS: usize = 16;
/// Most callers the guard remembers.
pub const MAX_CALLERS: usize = 4096;
/// Most meetings the guard remembers.
pub const MAX_MEETINGS: usize = 1024;

/// Why a PIN could not be made or a policy is refused. Never quotes a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    #[error("a PIN has {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits")]
    Length,
    #[error("a PIN has only digits")]
    NotDigits,
    #[error("not enough random bytes for the PIN")]
    NotEnoughRandom,
    #[error("a PIN rate needs at least one try and a window of at least one second")]
    BadRate,
}

/// A dial-in PIN. Prints as `Pin(…)`; compare it with [`Pin::matches`] only.
#[derive(Clone)]
pub struct Pin(String);

impl Pin {
    /// A PIN of `digits` digits from uniformly random bytes (bytes of 250 and above are
    /// skipped so that every digit is equally likely; twice `digits` bytes is plenty).
    pub fn generate(random: &[u8], digits: usize) -> Result<Self, PinError> {
        if !(MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&digits) {
            return Err(PinError::Length);
        }
        let pin: String = random
            .iter()
            .filter(|b| **b < 250)
            .take(digits)
            .map(|b| char::from(b'0' + b % 10))
            .collect();
        if pin.len() < digits {
            return Err(PinError::NotEnoughRandom);
        }
        Ok(Self(pin))
    }

    /// A PIN as configured or stored.
    pub fn parse(digits: &str) -> Result<Self, PinError> {
        if !(MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&digits.len()) {
            return Err(PinError::Length);
        }
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(PinError::NotDigits);
        }
        Ok(Self(digits.to_owned()))
    }

    /// Whether `entered` (the DTMF digits, terminator removed) is this PIN, in time that
    /// depends on the lengths only.
    pub fn matches(&self, entered: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), entered.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
        std::hint::black_box(diff) == 0
    }

    /// The digits, for the invitation that tells the participant: never for a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(…)")
    }
}

/// At most `tries` wrong PINs per `window`, regained one by one as the window slides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub tries: u32,
    pub window: Duration,
}

impl Rate {
    fn interval(self) -> Duration {
        self.window / self.tries.max(1)
    }
}

/// How many wrong PINs are allowed where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinPolicy {
    /// Wrong tries in one call before it is hung up.
    pub per_call: u32,
    pub per_caller: Rate,
    pub per_meeting: Rate,
}

impl Default for PinPolicy {
    fn default() -> Self {
        Self {
            per_call: 3,
            per_caller: Rate {
                tries: 6,
                window: Duration::from_secs(30 * 60),
            },
            per_meeting: Rate {
                tries: 10,
                window: Duration::from_secs(10 * 60),
            },
        }
    }
}

impl PinPolicy {
    /// Checks the policy from the configuration.
    pub fn validate(&self) -> Result<(), PinError> {
        let ok = |r: Rate| r.tries >= 1 && r.window >= Duration::from_secs(1);
        if self.per_call >= 1 && ok(self.per_caller) && ok(self.per_meeting) {
            Ok(())
        } else {
            Err(PinError::BadRate)
        }
    }
}

/// The wrong tries of one call; the call leg keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallTries {
    wrong: u32,
}

/// What came of one entered PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The PIN is right: the caller goes to the lobby.
    Accepted,
    /// Wrong; the caller may try again this many times in this call.
    Wrong { left: u32 },
    /// Wrong too often in this call: hang up.
    HangUp,
    /// The caller or the meeting is locked out for now; the PIN was not looked at. Hang up.
    Locked,
}

/// The PIN guessing guard of the dial-in number. `C` names a caller, `M` a meeting.
pub struct PinGuard<C, M> {
    policy: PinPolicy,
    callers: Buckets<C>,
    meetings: Buckets<M>,
}

impl<C: Hash + Eq + Clone, M: Hash + Eq + Clone> PinGuard<C, M> {
    pub fn new(policy: PinPolicy) -> Self {
        Self {
            policy,
            callers: Buckets::new(MAX_CALLERS),
            meetings: Buckets::new(MAX_MEETINGS),
        }
    }

    /// One entered PIN. `is_right` is asked only when nobody is locked out; it compares the
    /// entry with the meeting's PIN ([`Pin::matches`]).
    pub fn attempt(
        &mut self,
        call: &mut CallTries,
        caller: &C,
        meeting: &M,
        now: Instant,
        is_right: impl FnOnce() -> bool,
    ) -> Attempt {
        if call.wrong >= self.policy.per_call {
            return Attempt::HangUp;
        }
        if self.callers.locked(caller, now, self.policy.per_caller)
            || self.meetings.locked(meeting, now, self.policy.per_meeting)
        {
            return Attempt::Locked;
        }
        if is_right() {
            return Attempt::Accepted;
        }
        call.wrong += 1;
        self.callers.fail(caller, now, self.policy.per_caller);
        self.meetings.fail(meeting, now, self.policy.per_meeting);
        match self.policy.per_call - call.wrong {
            0 => Attempt::HangUp,
            left => Attempt::Wrong { left },
        }
    }

    /// How many callers and meetings it remembers.
    pub fn remembered(&self) -> (usize, usize) {
        (self.callers.map.len(), self.meetings.map.len())
    }
}

impl<C, M> fmt::Debug for PinGuard<C, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinGuard")
            .field("policy", &self.policy)
            .field("callers", &self.callers.map.len())
            .field("meetings", &self.meetings.map.len())
            .finish()
    }
}

/// Decaying counters by key, as a theoretical arrival time (GCRA): each wrong try pushes the
/// key's time one interval further; the key is locked while that time is a whole window
/// (less one interval) ahead of now.
struct Buckets<K> {
    map: HashMap<K, Instant>,
    cap: usize,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            cap,
        }
    }

    fn locked(&self, key: &K, now: Instant, rate: Rate) -> bool {
        let Some(tat) = self.map.get(key) else {
            return false;
        };
        let ahead = tat.saturating_duration_since(now);
        ahead > rate.window.saturating_sub(rate.interval())
    }

    fn fail(&mut self, key: &K, now: Instant, rate: Rate) {
        if !self.map.contains_key(key) && self.map.len() >= self.cap {
            self.make_room(now);
        }
        let tat = self.map.get(key).copied().unwrap_or(now).max(now);
        let next = tat.checked_add(rate.interval()).unwrap_or(tat);
        self.map.insert(key.clone(), next);
    }

    /// Forgets every key that has decayed to nothing; if none has, the one nearest to it.
    fn make_room(&mut self, now: Instant) {
        self.map.retain(|_, tat| *tat > now);
        if self.map.len() < self.cap {
            return;
        }
        let oldest = self
            .map
            .iter()
            .min_by_key(|(_, tat)| **tat)
            .map(|(k, _)| k.clone());
        if let Some(key) = oldest {
            self.map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RIGHT: &str = "123456789";

    fn pin() -> Pin {
        Pin::parse(RIGHT).unwrap()
    }

    fn guard() -> PinGuard<&'static str, u32> {
        PinGuard::new(PinPolicy::default())
    }

    /// One entry `entered` by `caller` into `meeting` 1.
    fn try_pin(
        g: &mut PinGuard<&'static str, u32>,
        call: &mut CallTries,
        caller: &'static str,
        entered: &str,
        now: Instant,
    ) -> Attempt {
        let pin = pin();
        g.attempt(call, &caller, &1, now, || pin.matches(entered))
    }

    #[test]
    fn generated_pin_has_the_asked_digits_and_uses_the_random_bytes() {
        let random: Vec<u8> = (0..=255).collect();
        let p = Pin::generate(&random, 12).unwrap();
        assert_eq!(p.expose(), "012345678901");
        let other = Pin::generate(&[9; 16], 9).unwrap();
        assert_eq!(other.expose(), "999999999");
    }

    #[test]
    fn generation_skips_biased_bytes_and_refuses_too_few() {
        let mut random = vec![250, 251, 255];
        random.extend([1; 9]);
        assert_eq!(Pin::generate(&random, 9).unwrap().expose(), "111111111");
        assert_eq!(
            Pin::generate(&[255; 64], 9).unwrap_err(),
            PinError::NotEnoughRandom
        );
        assert_eq!(
            Pin::generate(&[1; 8], 9).unwrap_err(),
            PinError::NotEnoughRandom
        );
    }

    #[test]
    fn pin_length_is_bounded_9_to_16() {
        for digits in [0, 8, 17, 100] {
            assert_eq!(
                Pin::generate(&[1; 200], digits).unwrap_err(),
                PinError::Length
            );
        }
        assert_eq!(Pin::parse("12345678").unwrap_err(), PinError::Length);
        assert_eq!(
            Pin::parse("12345678901234567").unwrap_err(),
            PinError::Length
        );
        assert_eq!(Pin::parse("12345678a").unwrap_err(), PinError::NotDigits);
        assert!(Pin::parse("1234567890123456").is_ok());
    }

    #[test]
    fn matches_only_the_same_digits() {
        let p = pin();
        assert!(p.matches(RIGHT));
        assert!(!p.matches("123456780"));
        assert!(!p.matches("12345678"));
        assert!(!p.matches("1234567890"));
        assert!(!p.matches(""));
    }

    #[test]
    fn pin_never_shows_in_debug() {
        let p = pin();
        assert_eq!(format!("{p:?}"), "Pin(…)");
        let err = Pin::parse("12345678a").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("1234"));
        let mut g = guard();
        let mut call = CallTries::default();
        try_pin(&mut g, &mut call, "caller", "987654321", Instant::now());
        let shown = format!("{g:?} {call:?}");
        assert!(
            !shown.contains("98765") && !shown.contains(RIGHT),
            "{shown}"
        );
    }

    #[test]
    fn three_wrong_in_a_call_hang_up() {
        let (mut g, now) = (guard(), Instant::now());
        let mut call = CallTries::default();
        assert_eq!(
            try_pin(&mut g, &mut call, "a", "1", now),
            Attempt::Wrong { left: 2 }
        );
        assert_eq!(
            try_pin(&mut g, &mut call, "a", "2", now),
            Attempt::Wrong { left: 1 }
        );
        assert_eq!(try_pin(&mut g, &mut call, "a", "3", now), Attempt::HangUp);
        // Even the right PIN is not taken in that call any more.
        assert_eq!(try_pin(&mut g, &mut call, "a", RIGHT, now), Attempt::HangUp);
    }

    #[test]
    fn right_pin_is_accepted() {
        let (mut g, now) = (guard(), Instant::now());
        let mut call = CallTries::default();
        try_pin(&mut g, &mut call, "a", "1", now);
        assert_eq!(
            try_pin(&mut g, &mut call, "a", RIGHT, now),
            Attempt::Accepted
        );
    }

    #[test]
    fn redialling_caller_is_locked_out_and_the_lock_decays() {
        let (mut g, t0) = (guard(), Instant::now());
        // 6 per 30 minutes: two calls of three wrong tries.
        for _ in 0..2 {
            let mut call = CallTries::default();
            for _ in 0..3 {
                try_pin(&mut g, &mut call, "a", "1", t0);
            }
        }
        let mut call = CallTries::default();
        let mut asked = false;
        let verdict = g.attempt(&mut call, &"a", &2, t0, || {
            asked = true;
            true
        });
        assert_eq!(verdict, Attempt::Locked);
        assert!(!asked, "a locked caller's PIN is not even looked at");
        // Another caller is not locked by it.
        assert_eq!(
            try_pin(&mut g, &mut call, "b", RIGHT, t0),
            Attempt::Accepted
        );
        // One interval (5 minutes) later, one try is back; a wrong one locks again.
        let later = t0 + Duration::from_secs(5 * 60);
        let mut call = CallTries::default();
        assert_eq!(
            try_pin(&mut g, &mut call, "a", "1", later),
            Attempt::Wrong { left: 2 }
        );
        assert_eq!(
            try_pin(&mut g, &mut call, "a", RIGHT, later),
            Attempt::Locked
        );
        let much_later = t0 + Duration::from_secs(3600);
        assert_eq!(
            try_pin(&mut g, &mut call, "a", RIGHT, much_later),
            Attempt::Accepted
        );
    }

    #[test]
    fn many_callers_guessing_lock_the_meeting() {
        let (mut g, t0) = (guard(), Instant::now());
        let callers = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"];
        for caller in callers {
            let mut call = CallTries::default();
            assert!(matches!(
                try_pin(&mut g, &mut call, caller, "1", t0),
                Attempt::Wrong { .. }
            ));
        }
        let mut call = CallTries::default();
        assert_eq!(
            try_pin(&mut g, &mut call, "fresh", RIGHT, t0),
            Attempt::Locked
        );
        // Another meeting is not locked.
        let pin = pin();
        let other = g.attempt(&mut call, &"fresh", &2, t0, || pin.matches(RIGHT));
        assert_eq!(other, Attempt::Accepted);
        // One minute later (10 per 10 minutes) one try is back.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(
            try_pin(&mut g, &mut call, "fresh", RIGHT, later),
            Attempt::Accepted
        );
    }

    #[test]
    fn memory_stays_bounded_under_forged_callers_and_locks_survive() {
        let (mut g, t0) = (guard(), Instant::now());
        // A caller locked out first.
        for _ in 0..2 {
            let mut call = CallTries::default();
            for _ in 0..3 {
                try_pin(&mut g, &mut call, "victim", "1", t0);
            }
        }
        // Then a flood of forged caller numbers, each one wrong try, in many meetings.
        let mut callers: PinGuard<u32, u32> = PinGuard::new(PinPolicy::default());
        for i in 0..(MAX_CALLERS as u32 * 3) {
            let mut call = CallTries::default();
            let _ = callers.attempt(&mut call, &i, &(i % 5000), t0, || false);
        }
        let (c, m) = callers.remembered();
        assert!(c <= MAX_CALLERS && m <= MAX_MEETINGS, "{c} {m}");
        // The locked caller, flooded with fresh keys in the same guard, stays locked: the
        // evicted keys are the ones least locked.
        for i in 0..MAX_CALLERS {
            let name: &'static str = Box::leak(format!("f{i}").into_boxed_str());
            let mut call = CallTries::default();
            let _ = g.attempt(&mut call, &name, &(i as u32 + 10), t0, || false);
        }
        let mut call = CallTries::default();
        let verdict = g.attempt(&mut call, &"victim", &99_999, t0, || true);
        assert_eq!(verdict, Attempt::Locked);
    }

    #[test]
    fn policy_validation_refuses_zero_rates() {
        assert!(PinPolicy::default().validate().is_ok());
        let p = PinPolicy {
            per_call: 0,
            ..PinPolicy::default()
        };
        assert_eq!(p.validate(), Err(PinError::BadRate));
        let mut p = PinPolicy::default();
        p.per_meeting.tries = 0;
        assert_eq!(p.validate(), Err(PinError::BadRate));
        let mut p = PinPolicy::default();
        p.per_caller.window = Duration::ZERO;
        assert_eq!(p.validate(), Err(PinError::BadRate));
    }
}

//! Failed-login lockout per (client address, username), in memory, decaying.
//!
//! A lock that follows the account alone lets anyone who knows a username keep its owner out
//! for good. Here the failures are counted for the address they come from: after
//! `free_failures` wrong attempts that address must wait `base_delay`, doubled for every
//! further failure up to `max_delay`, and a quiet `forget_after` clears the count. The owner
//! logging in from anywhere else is not affected. The username is kept only as a hash, and
//! unknown usernames lock alike, so the lock tells nothing about which accounts exist.
//!
//! Driven with the current `Instant`; no clock or IO inside.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::ClientKey;

#[derive(Debug, Clone)]
pub struct LockoutPolicy {
    /// Wrong attempts after which the address must wait.
    pub free_failures: u32,
    /// The first wait; each further failure doubles it.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// After this long without a failure, the count starts over.
    pub forget_after: Duration,
    /// (address, account) pairs remembered; the least recently failed is dropped first.
    pub max_entries: usize,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            free_failures: 5,
            base_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(3600),
            max_entries: 10_000,
        }
    }
}

/// An address and the hash of a username.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockKey {
    client: ClientKey,
    account: [u8; 16],
}

impl LockKey {
    pub fn new(client: ClientKey, username: &str) -> LockKey {
        LockKey {
            client,
            account: account_hash(username),
        }
    }
}

fn account_hash(username: &str) -> [u8; 16] {
    let digest = Sha256::digest(username.as_bytes());
    let mut account = [0; 16];
    account.copy_from_slice(&digest[..16]);
    account
}

struct Entry {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

pub struct Lockout {
    policy: LockoutPolicy,
    entries: HashMap<LockKey, Entry>,
}

impl Lockout {
    pub fn new(policy: LockoutPolicy) -> Lockout {
        Lockout {
            policy,
            entries: HashMap::new(),
        }
    }

    /// `Err(wait)` while this address may not try this account.
    pub fn check(&mut self, key: &LockKey, now: Instant) -> Result<(), Duration> {
        let Some(entry) = self.entries.get(key) else {
            return Ok(());
        };
        if now.duration_since(entry.last_failure) >= self.policy.forget_after {
            self.entries.remove(key);
            return Ok(());
        }
        match entry.locked_until {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a wrong attempt; returns the wait it starts, if any.
    pub fn failure(&mut self, key: LockKey, now: Instant) -> Option<Duration> {
        let forget_after = self.policy.forget_after;
        if !self.entries.contains_key(&key) {
            self.make_room(now);
        }
        let entry = self.entries.entry(key).or_insert(Entry {
            failures: 0,
            last_failure: now,
            locked_until: None,
        });
        if now.duration_since(entry.last_failure) >= forget_after {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        if entry.failures < self.policy.free_failures {
            return None;
        }
        let factor = 1u32 << (entry.failures - self.policy.free_failures).min(20);
        let wait = self
            .policy
            .base_delay
            .saturating_mul(factor)
            .min(self.policy.max_delay);
        entry.locked_until = Some(now + wait);
        Some(wait)
    }

    /// An administrator lifted the account's lock: every address may try it again.
    pub fn forget_account(&mut self, username: &str) {
        let account = account_hash(username);
        self.entries.retain(|key, _| key.account != account);
    }

    /// The right credentials from this address: its count starts over.
    pub fn success(&mut self, key: &LockKey) {
        self.entries.remove(key);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Before a new entry: forget the quiet ones, and if still full, the least recent.
    fn make_room(&mut self, now: Instant) {
        let cap = self.policy.max_entries.max(1);
        if self.entries.len() < cap {
            return;
        }
        let forget_after = self.policy.forget_after;
        self.entries
            .retain(|_, e| now.duration_since(e.last_failure) < forget_after);
        while self.entries.len() >= cap {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_failure)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => self.entries.remove(&k),
                None => break,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LockoutPolicy {
        LockoutPolicy {
            free_failures: 3,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(40),
            forget_after: Duration::from_secs(600),
            max_entries: 4,
        }
    }

    fn key(last: u8, user: &str) -> LockKey {
        LockKey::new(ClientKey::new([192, 0, 2, last].into()), user)
    }

    #[test]
    fn failures_lock_only_that_address_with_a_growing_wait() {
        let mut lock = Lockout::new(policy());
        let t0 = Instant::now();
        let attacker = key(1, "anna");
        for _ in 0..2 {
            assert_eq!(lock.failure(attacker, t0), None);
        }
        assert_eq!(lock.failure(attacker, t0), Some(Duration::from_secs(10)));
        assert!(lock.check(&attacker, t0).is_err());
        assert!(lock.check(&key(2, "anna"), t0).is_ok(), "another address");
        assert!(lock.check(&key(1, "bertil"), t0).is_ok(), "another account");
        let t1 = t0 + Duration::from_secs(11);
        assert!(lock.check(&attacker, t1).is_ok(), "the wait is over");
        assert_eq!(lock.failure(attacker, t1), Some(Duration::from_secs(20)));
        assert_eq!(lock.failure(attacker, t1), Some(Duration::from_secs(40)));
        assert_eq!(
            lock.failure(attacker, t1),
            Some(Duration::from_secs(40)),
            "capped"
        );
    }

    #[test]
    fn a_quiet_period_forgets_the_failures() {
        let mut lock = Lockout::new(policy());
        let t0 = Instant::now();
        let k = key(1, "anna");
        for _ in 0..4 {
            lock.failure(k, t0);
        }
        let later = t0 + Duration::from_secs(601);
        assert!(lock.check(&k, later).is_ok());
        assert_eq!(lock.failure(k, later), None, "counting starts over");
    }

    #[test]
    fn the_table_is_capped_and_the_least_recent_goes_first() {
        let mut lock = Lockout::new(policy());
        let t0 = Instant::now();
        for i in 0..10u8 {
            let k = key(i, "anna");
            for _ in 0..4 {
                lock.failure(k, t0 + Duration::from_secs(u64::from(i)));
            }
            assert!(lock.len() <= 4);
        }
        let now = t0 + Duration::from_secs(10);
        assert!(
            lock.check(&key(9, "anna"), now).is_err(),
            "the newest stays"
        );
        assert!(lock.check(&key(0, "anna"), now).is_ok(), "the oldest went");
    }
}

//! Logins under way at an identity provider, between the redirect there and the callback.
//! One client can hold only a few (`per_client`), all clients together at most `max`, and each
//! expires after `ttl`; the memory is bounded by `max` entries whatever the traffic.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::limits::ClientKey;

pub(crate) struct Pending<T> {
    pub verifier: String,
    pub nonce: String,
    pub data: T,
}

struct Entry<T> {
    pending: Pending<T>,
    client: ClientKey,
    started: Instant,
}

/// Why a login could not start.
#[derive(Debug, PartialEq, Eq)]
pub enum Full {
    /// This client already has its share under way.
    Client,
    /// Every slot is taken.
    All,
}

pub(crate) struct PendingLogins<T> {
    ttl: Duration,
    per_client: usize,
    max: usize,
    by_state: HashMap<String, Entry<T>>,
    per_client_count: HashMap<ClientKey, usize>,
    /// States in the order they started, for expiry; may hold states already finished.
    order: VecDeque<(Instant, String)>,
}

impl<T> PendingLogins<T> {
    pub fn new(ttl: Duration, per_client: usize, max: usize) -> PendingLogins<T> {
        PendingLogins {
            ttl,
            per_client: per_client.max(1),
            max: max.max(1),
            by_state: HashMap::new(),
            per_client_count: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn insert(
        &mut self,
        state: String,
        pending: Pending<T>,
        client: ClientKey,
        now: Instant,
    ) -> Result<(), Full> {
        self.expire(now);
        if self.per_client_count.get(&client).copied().unwrap_or(0) >= self.per_client {
            return Err(Full::Client);
        }
        if self.by_state.len() >= self.max {
            return Err(Full::All);
        }
        *self.per_client_count.entry(client).or_insert(0) += 1;
        self.order.push_back((now, state.clone()));
        let entry = Entry {
            pending,
            client,
            started: now,
        };
        if let Some(old) = self.by_state.insert(state, entry) {
            // A repeated random state: never in practice; keep the counts right anyway.
            self.release(old.client);
        }
        Ok(())
    }

    /// The login started with `state`, once, if it has not expired.
    pub fn take(&mut self, state: &str, now: Instant) -> Option<Pending<T>> {
        let entry = self.by_state.remove(state)?;
        self.release(entry.client);
        (now.duration_since(entry.started) < self.ttl).then_some(entry.pending)
    }

    pub fn len(&self) -> usize {
        self.by_state.len()
    }

    fn release(&mut self, client: ClientKey) {
        if let Some(n) = self.per_client_count.get_mut(&client) {
            *n -= 1;
            if *n == 0 {
                self.per_client_count.remove(&client);
            }
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some((started, _)) = self.order.front() {
            if now.duration_since(*started) < self.ttl {
                break;
            }
            let Some((started, state)) = self.order.pop_front() else {
                break;
            };
            let current = self
                .by_state
                .get(&state)
                .is_some_and(|e| e.started == started);
            if current {
                if let Some(entry) = self.by_state.remove(&state) {
                    self.release(entry.client);
                }
            }
        }
        // Finished logins leave their state in `order`; keep it within twice the cap.
        if self.order.len() > 2 * self.max {
            let by_state = &self.by_state;
            self.order.retain(|(_, s)| by_state.contains_key(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> Pending<()> {
        Pending {
            verifier: String::new(),
            nonce: String::new(),
            data: (),
        }
    }

    fn client(last: u8) -> ClientKey {
        ClientKey::new([192, 0, 2, last].into())
    }

    #[test]
    fn ten_thousand_starts_from_one_client_hold_only_its_share() {
        let mut table = PendingLogins::new(Duration::from_secs(600), 10, 100);
        let now = Instant::now();
        let mut refused = 0;
        for i in 0..10_000 {
            if table.insert(format!("s{i}"), pending(), client(1), now) == Err(Full::Client) {
                refused += 1;
            }
        }
        assert_eq!(table.len(), 10);
        assert_eq!(refused, 9_990);
        assert!(table
            .insert("other".into(), pending(), client(2), now)
            .is_ok());
    }

    #[test]
    fn the_global_cap_holds_and_expiry_frees_the_slots() {
        let mut table = PendingLogins::new(Duration::from_secs(600), 1, 50);
        let t0 = Instant::now();
        for i in 0..200u8 {
            let _ = table.insert(format!("s{i}"), pending(), client(i), t0);
        }
        assert_eq!(table.len(), 50);
        let later = t0 + Duration::from_secs(601);
        assert!(table.take("s0", later).is_none(), "expired");
        assert!(table
            .insert("new".into(), pending(), client(0), later)
            .is_ok());
        assert_eq!(table.len(), 1, "the expired ones went");
    }

    #[test]
    fn a_state_is_taken_once_and_frees_its_clients_slot() {
        let mut table = PendingLogins::new(Duration::from_secs(600), 1, 50);
        let now = Instant::now();
        table.insert("a".into(), pending(), client(1), now).unwrap();
        assert_eq!(
            table.insert("b".into(), pending(), client(1), now),
            Err(Full::Client)
        );
        assert!(table.take("a", now).is_some());
        assert!(table.take("a", now).is_none());
        assert!(table.insert("b".into(), pending(), client(1), now).is_ok());
    }
}

//! Requests per client address on the unauthenticated endpoints, with `governor`'s GCRA: a
//! burst, then a steady rate. Each group of endpoints has its own budget, so that opening a
//! few links does not spend the budget for logging in.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::{ClientKey, Limits};
use crate::error::HttpError;

/// How often forgotten addresses are swept from the table.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Endpoints that share one budget per address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateGroup {
    /// Password and code login.
    Login,
    /// Enrolment and the first administrator's setup (both claim a one-time link).
    Enrolment,
    /// Link inspection from the join page.
    Link,
    /// Starting and finishing a citizen's e-identification.
    Eid,
    /// Starting and finishing a staff login at the identity provider.
    Oidc,
}

type Limiter = DefaultKeyedRateLimiter<(RateGroup, ClientKey)>;

pub struct RateLimits {
    quota: Quota,
    /// Replaced by a fresh one when a sweep leaves it over its cap.
    limiter: RwLock<Limiter>,
    clock: DefaultClock,
    max_entries: usize,
    last_sweep: Mutex<Instant>,
}

impl RateLimits {
    pub fn new(limits: &Limits) -> RateLimits {
        let per_minute = NonZeroU32::new(limits.per_address_per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.per_address_burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        RateLimits {
            quota,
            limiter: RwLock::new(RateLimiter::keyed(quota)),
            clock: DefaultClock::default(),
            max_entries: limits.rate_table_size.max(1),
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    /// `Err(wait)` when this client has spent its budget for the group.
    pub fn check(&self, group: RateGroup, client: ClientKey) -> Result<(), Duration> {
        self.sweep();
        self.limiter()
            .check_key(&(group, client))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Addresses currently remembered.
    pub fn len(&self) -> usize {
        self.limiter().len()
    }

    fn limiter(&self) -> std::sync::RwLockReadGuard<'_, Limiter> {
        self.limiter.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops addresses whose budget is full again. If the table is still over its cap (a wide
    /// attack from very many addresses), everything is forgotten: the memory bound wins over
    /// exact budgets, and the lockout and hashing limits still hold.
    fn sweep(&self) {
        let Ok(mut last) = self.last_sweep.try_lock() else {
            return;
        };
        let full = self.len() >= self.max_entries;
        if last.elapsed() < SWEEP_EVERY && !full {
            return;
        }
        *last = Instant::now();
        self.limiter().retain_recent();
        if self.len() >= self.max_entries {
            tracing::warn!(entries = self.len(), "rate-limit table full: starting over");
            let mut limiter = self.limiter.write().unwrap_or_else(|e| e.into_inner());
            *limiter = RateLimiter::keyed(self.quota);
        } else {
            self.limiter().shrink_to_fit();
        }
    }
}

/// The state of the middleware on one route: the shared limits and the route's group.
#[derive(Clone)]
pub struct Limited {
    pub limits: Arc<RateLimits>,
    pub group: RateGroup,
}

/// A request over its client's budget gets 429 with `Retry-After`, and never reaches the
/// handler.
pub async fn per_address(State(limited): State<Limited>, req: Request, next: Next) -> Response {
    let client = ClientKey::of(req.extensions());
    match limited.limits.check(limited.group, client) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            tracing::debug!(group = ?limited.group, "rate limited");
            // Read the (small) body first: an HTTP/2 answer before the request's body is in
            // resets the stream, and clients then see an error instead of the 429.
            let _ = axum::body::to_bytes(req.into_body(), crate::MAX_BODY_BYTES).await;
            HttpError::rate_limited(wait).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(burst: u32) -> RateLimits {
        RateLimits::new(&Limits {
            per_address_per_minute: 1,
            per_address_burst: burst,
            ..Limits::default()
        })
    }

    #[test]
    fn a_burst_is_allowed_then_the_address_waits_while_others_and_other_groups_do_not() {
        let rate = limits(3);
        let a = ClientKey::new([192, 0, 2, 1].into());
        let b = ClientKey::new([192, 0, 2, 2].into());
        for _ in 0..3 {
            assert!(rate.check(RateGroup::Login, a).is_ok());
        }
        let wait = rate.check(RateGroup::Login, a).unwrap_err();
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        assert!(rate.check(RateGroup::Login, b).is_ok());
        assert!(rate.check(RateGroup::Link, a).is_ok());
    }

    #[test]
    fn the_table_never_holds_more_than_its_cap() {
        let rate = RateLimits::new(&Limits {
            rate_table_size: 100,
            ..Limits::default()
        });
        for i in 0..1000u32 {
            let _ = rate.check(RateGroup::Link, ClientKey::new(i.to_be_bytes().into()));
            assert!(rate.len() <= 100, "{} entries", rate.len());
        }
    }
}

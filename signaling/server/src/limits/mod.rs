//! Abuse limits on the unauthenticated edge: requests per client address ([`rate`]), password
//! hashing under a small concurrency limit ([`hashing`]), and failed-login lockout per address
//! and account that decays ([`lockout`]). Every table here has a cap on its entries.
//!
//! The client is the TCP peer address (`ConnectInfo`), IPv6 taken by its /64 prefix, since one
//! host usually holds a whole /64. Behind a reverse proxy every client shares the proxy's
//! address; Sluss is meant to terminate TLS itself.

pub mod hashing;
pub mod lockout;
pub mod rate;

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

pub use hashing::HashGate;
pub use lockout::{Lockout, LockoutPolicy};
pub use rate::{RateGroup, RateLimits};

/// Every abuse limit, with defaults fit for a region's service; the gateway reads them from
/// the `[limits]` section.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests one address may make to one group of unauthenticated endpoints per minute,
    /// once its burst is spent.
    pub per_address_per_minute: u32,
    /// Requests one address may make at once before the per-minute rate applies.
    pub per_address_burst: u32,
    /// Addresses the rate limiter remembers; beyond this it forgets them all and starts over.
    pub rate_table_size: usize,
    /// Password hashes computed at the same time (each takes a core for tens of ms).
    pub hash_concurrency: usize,
    /// How long a login waits for a hashing slot before it is answered "busy".
    pub hash_wait: Duration,
    pub lockout: LockoutPolicy,
    /// Unfinished OIDC logins and e-identifications one address may have at a time.
    pub pending_per_address: usize,
    /// Unfinished OIDC logins (and, separately, e-identifications) in all.
    pub pending_max: usize,
    /// Repeated audit events within this window become one entry with a count.
    pub audit_window: Duration,
    /// Distinct repeated events held at once; beyond it they merge per event name.
    pub audit_tally_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_address_per_minute: 60,
            per_address_burst: 30,
            rate_table_size: 100_000,
            hash_concurrency: 2,
            hash_wait: Duration::from_secs(2),
            lockout: LockoutPolicy::default(),
            pending_per_address: 10,
            pending_max: 10_000,
            audit_window: Duration::from_secs(60),
            audit_tally_size: 1_000,
        }
    }
}

/// The client a request comes from, as the limits count it: an IPv4 address, or the /64
/// prefix of an IPv6 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    pub fn new(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(_) => ClientKey(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    ClientKey(IpAddr::V6(Ipv6Addr::from(bits)))
                }
            },
        }
    }

    /// The peer of a request served with `into_make_service_with_connect_info`. Without it
    /// (a server wired wrongly) every request counts as one client: limits then bite early
    /// rather than never.
    pub fn of(extensions: &axum::http::Extensions) -> ClientKey {
        match extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => ClientKey::new(addr.ip()),
            None => {
                static WARNED: std::sync::Once = std::sync::Once::new();
                WARNED.call_once(|| {
                    tracing::error!("served without the peer address: all clients share one limit")
                });
                ClientKey(IpAddr::from([0, 0, 0, 0]))
            }
        }
    }
}

/// Extracts the [`ClientKey`]; never fails.
impl<S: Send + Sync> FromRequestParts<S> for ClientKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientKey::of(&parts.extensions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_host_counts_by_its_64_prefix_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::new(a), ClientKey::new(b));
        assert_ne!(ClientKey::new(a), ClientKey::new(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            ClientKey::new(mapped),
            ClientKey::new(IpAddr::from([192, 0, 2, 7]))
        );
    }
}

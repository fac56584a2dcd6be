//! Sign-in throttling: after [`LOGIN_LIMIT`] failed sign-ins for one login, or
//! [`ADDRESS_LIMIT`] from one client address, within [`WINDOW`], further attempts are refused
//! (429) without checking the password, until the oldest failure leaves the window.
//!
//! Kept in this process's memory: a restart forgets it, and with several web processes each
//! counts on its own (so an attacker gets that many times the limit). Both are acceptable for
//! slowing password guessing against argon2id hashes; a database table would be the next step
//! if it were not. The per-login limit also lets a stranger lock a known login out for
//! [`WINDOW`]; that is the usual price, and signing in from elsewhere does not bypass it.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

/// Failed sign-ins allowed for one login within [`WINDOW`].
pub const LOGIN_LIMIT: usize = 5;
/// Failed sign-ins allowed from one address within [`WINDOW`], whatever the login.
pub const ADDRESS_LIMIT: usize = 20;
/// How far back failures count.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys kept at most; past this, keys whose failures are all old are dropped.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Login(String),
    Address(IpAddr),
}

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl Throttle {
    pub fn new() -> Self {
        Self::default()
    }

    fn keys(login: &str, address: Option<IpAddr>) -> Vec<(Key, usize)> {
        let mut keys = vec![(Key::Login(login.trim().to_lowercase()), LOGIN_LIMIT)];
        if let Some(address) = address {
            keys.push((Key::Address(address), ADDRESS_LIMIT));
        }
        keys
    }

    /// How long until another attempt is allowed, if one is refused now.
    pub fn refused(&self, login: &str, address: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        Self::keys(login, address)
            .into_iter()
            .filter_map(|(key, limit)| {
                let times = failures.get_mut(&key)?;
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > WINDOW)
                {
                    times.pop_front();
                }
                if times.len() < limit {
                    return None;
                }
                // Allowed again once the failure that reached the limit ages out.
                let oldest = times.get(times.len() - limit)?;
                Some(WINDOW.saturating_sub(now.duration_since(*oldest)))
            })
            .max()
    }

    pub fn record_failure(&self, login: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) <= WINDOW)
            });
        }
        for (key, limit) in Self::keys(login, address) {
            let times = failures.entry(key).or_default();
            times.push_back(now);
            // Older failures than the limit needs are never looked at.
            while times.len() > limit {
                times.pop_front();
            }
        }
    }

    /// A successful sign-in clears the login's failures (not the address's: one good
    /// password must not reset the count of an address that is guessing others).
    pub fn record_success(&self, login: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.remove(&Key::Login(login.trim().to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_refused_after_its_limit() {
        let throttle = Throttle::new();
        let address: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..LOGIN_LIMIT {
            assert!(throttle.refused("Ana", Some(address)).is_none());
            throttle.record_failure("Ana", Some(address));
        }
        assert!(
            throttle.refused("ana", None).is_some(),
            "case does not matter"
        );
        assert!(
            throttle.refused("bob", Some(address)).is_none(),
            "others may"
        );
        throttle.record_success("ana");
        assert!(throttle.refused("ana", None).is_none());
    }

    #[test]
    fn an_address_is_refused_after_its_limit_whatever_the_login() {
        let throttle = Throttle::new();
        let address: IpAddr = "192.0.2.1".parse().unwrap();
        for n in 0..ADDRESS_LIMIT {
            throttle.record_failure(&format!("user{n}"), Some(address));
        }
        let wait = throttle.refused("someone-new", Some(address)).unwrap();
        assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(60));
        assert!(
            throttle
                .refused("someone-new", Some("192.0.2.2".parse().unwrap()))
                .is_none()
        );
    }
}

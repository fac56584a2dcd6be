//! A per-host limit on inbox requests: a token bucket per remote host, kept in memory by each
//! web process (several web processes each allow the full rate).
//!
//! The host is the one in the signature's `keyId`, read before the signature is verified, so
//! a flood costs no actor fetch and no RSA check. The price is that forged requests naming a
//! host can use up that host's allowance; the real server then gets 429 and, as every
//! fediverse server does with 429, retries later, so nothing is lost.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

/// Requests one host may make in a burst, refilled evenly over [`INBOX_WINDOW`].
pub const INBOX_BURST: u32 = 100;
/// The time in which a host's whole allowance is refilled.
pub const INBOX_WINDOW: Duration = Duration::from_secs(10);
/// Hosts remembered at most; beyond that, hosts whose bucket has refilled are forgotten
/// (a full bucket is the same as a new one), and if none has, all are.
const MAX_HOSTS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by host.
#[derive(Debug)]
pub struct RateLimiter {
    capacity: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Allows `burst` requests at once and `burst` per `window` on average.
    pub fn new(burst: u32, window: Duration) -> Self {
        let capacity = f64::from(burst.max(1));
        Self {
            capacity,
            per_second: capacity / window.as_secs_f64().max(0.001),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The inbox's limit: [`INBOX_BURST`] per [`INBOX_WINDOW`].
    pub fn inbox() -> Self {
        Self::new(INBOX_BURST, INBOX_WINDOW)
    }

    /// Counts one request from `host`; when its allowance is used up, the wait until the
    /// next request would be allowed.
    pub fn check(&self, host: &str) -> Result<(), Duration> {
        self.check_at(host, Instant::now())
    }

    fn check_at(&self, host: &str, now: Instant) -> Result<(), Duration> {
        // A panic elsewhere while holding the lock leaves the map usable: worst case one
        // bucket is a little off.
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if !buckets.contains_key(host) && buckets.len() >= MAX_HOSTS {
            buckets.retain(|_, bucket| self.level(bucket, now) < self.capacity);
            if buckets.len() >= MAX_HOSTS {
                tracing::warn!(
                    hosts = buckets.len(),
                    "inbox rate limiter full; forgetting all hosts"
                );
                buckets.clear();
            }
        }
        let bucket = buckets.entry(host.to_owned()).or_insert(Bucket {
            tokens: self.capacity,
            at: now,
        });
        let tokens = self.level(bucket, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            *bucket = Bucket { tokens, at: now };
            Err(Duration::from_secs_f64((1.0 - tokens) / self.per_second))
        }
    }

    /// The tokens in `bucket` at `now`, after refilling since it was last used.
    fn level(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.capacity)
    }
}

/// Whole seconds to put in `Retry-After` for a wait: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_over_the_limit_is_refused_until_tokens_come_back() {
        let limiter = RateLimiter::new(100, Duration::from_secs(10));
        let start = Instant::now();
        for n in 0..100 {
            assert!(limiter.check_at("a.example", start).is_ok(), "request {n}");
        }
        let wait = limiter.check_at("a.example", start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100), "one token per 100 ms");
        assert_eq!(retry_after_secs(wait), 1);
        // Another host has its own allowance.
        assert!(limiter.check_at("b.example", start).is_ok());
        // A refused request does not use a token: 100 ms later one is back.
        let later = start + Duration::from_millis(100);
        assert!(limiter.check_at("a.example", later).is_ok());
        assert!(limiter.check_at("a.example", later).is_err());
        // After the whole window the full burst is available again, and no more.
        let refilled = later + Duration::from_secs(60);
        for _ in 0..100 {
            assert!(limiter.check_at("a.example", refilled).is_ok());
        }
        assert!(limiter.check_at("a.example", refilled).is_err());
    }

    #[test]
    fn idle_hosts_are_forgotten_when_the_map_is_full() {
        let limiter = RateLimiter::new(2, Duration::from_secs(1));
        let start = Instant::now();
        for n in 0..MAX_HOSTS {
            let _ = limiter.check_at(&format!("h{n}.example"), start);
        }
        let later = start + Duration::from_secs(5);
        assert!(limiter.check_at("new.example", later).is_ok());
        let buckets = limiter.buckets.lock().unwrap();
        assert_eq!(buckets.len(), 1, "every refilled bucket was dropped");
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}

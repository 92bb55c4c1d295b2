//! Fixed-window rate limits per key (device MAC, client source, phone
//! number), in memory. Every attempt counts, successful or not, so
//! guessing is bounded even when some guesses succeed.
//!
//! Memory is bounded: each limiter keeps at most `capacity` keys and
//! forgets the least recently used one to take a new key, in O(1). A
//! client rotating keys (MACs, addresses) therefore gains nothing beyond
//! the per-account lockout, which it cannot rotate away.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;

/// Keys a limiter remembers at most.
pub const DEFAULT_CAPACITY: usize = 65_536;

pub struct RateLimiter<K: Hash + Eq> {
    window: Duration,
    max: u32,
    map: Mutex<LruCache<K, (Instant, u32)>>,
}

impl<K: Hash + Eq> RateLimiter<K> {
    pub fn new(max: u32, window: Duration) -> Self {
        Self::with_capacity(max, window, DEFAULT_CAPACITY)
    }

    pub fn with_capacity(max: u32, window: Duration, capacity: usize) -> Self {
        RateLimiter {
            window,
            max,
            map: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// Counts one attempt for `key`; false when the key is over its limit.
    pub fn allow(&self, key: K) -> bool {
        self.allow_at(key, Instant::now())
    }

    pub fn allow_at(&self, key: K, now: Instant) -> bool {
        let Ok(mut map) = self.map.lock() else {
            return false;
        };
        let entry = map.get_or_insert_mut(key, || (now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What counts as one source: an IPv4 address, or the /64 of an IPv6
/// address (one subscriber's prefix; its host bits are the client's to
/// choose). IPv4-mapped IPv6 addresses count as their IPv4 address.
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_resets() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(l.allow_at("a", t0));
        assert!(l.allow_at("a", t0));
        assert!(!l.allow_at("a", t0));
        assert!(l.allow_at("b", t0));
        assert!(l.allow_at("a", t0 + Duration::from_secs(61)));
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_key_goes() {
        let l = RateLimiter::with_capacity(1, Duration::from_secs(60), 100);
        let t0 = Instant::now();
        assert!(l.allow_at(0u32, t0));
        for k in 1..1_000u32 {
            assert!(l.allow_at(k, t0));
        }
        assert_eq!(l.len(), 100);
        // Recent keys are still limited; the evicted first one starts over.
        assert!(!l.allow_at(999, t0));
        assert!(l.allow_at(0, t0));
    }

    #[test]
    fn sources_are_ipv4_addresses_and_ipv6_prefixes() {
        let k = |s: &str| source_key(s.parse().unwrap());
        assert_eq!(k("192.0.2.7"), k("192.0.2.7"));
        assert_ne!(k("192.0.2.7"), k("192.0.2.8"));
        assert_eq!(k("2001:db8:1:2::1"), k("2001:db8:1:2:ffff::9"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::ffff:192.0.2.7"), k("192.0.2.7"));
    }
}

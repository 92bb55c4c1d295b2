//! Fixed-window rate limits per key (MAC, IP, phone number), in memory.
//! Every attempt counts, successful or not, so guessing is bounded even
//! when some guesses succeed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept before expired windows are swept.
const SWEEP_AT: usize = 100_000;

pub struct RateLimiter {
    window: Duration,
    max: u32,
    map: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        RateLimiter {
            window,
            max,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt for `key`; false when the key is over its limit.
    pub fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }

    pub fn allow_at(&self, key: &str, now: Instant) -> bool {
        let Ok(mut map) = self.map.lock() else {
            return false;
        };
        if map.len() >= SWEEP_AT {
            let window = self.window;
            map.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            return false;
        }
        entry.1 += 1;
        true
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
}

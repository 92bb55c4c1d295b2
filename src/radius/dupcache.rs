//! Duplicate detection (RFC 5080 s2.2.2): a retransmission, same source
//! address and port, identifier and Request Authenticator within the window,
//! gets the reply already sent instead of a second authentication.
//!
//! Each shard keeps its keys in arrival order as well as in a map, so
//! expiry and the size bound cost O(1) per request: no periodic sweep that
//! would stall every request queued behind it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestKey {
    pub peer: SocketAddr,
    pub identifier: u8,
    pub authenticator: [u8; 16],
}

struct Entry {
    /// When the request arrived; the queue entry carries the same instant,
    /// which tells a stale queue entry from a newer request with this key.
    arrived: Instant,
    /// None while the request is being handled.
    reply: Option<Vec<u8>>,
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// First time: handle it, then call `complete` or `abandon`.
    New,
    /// Already being handled: drop this copy.
    InProgress,
    /// Already answered: send this again.
    Replay(Vec<u8>),
}

const SHARDS: usize = 16;

#[derive(Default)]
struct Shard {
    entries: HashMap<RequestKey, Entry>,
    arrivals: VecDeque<(RequestKey, Instant)>,
}

impl Shard {
    /// Forgets the oldest arrival; its map entry only if it is still that one.
    fn pop_oldest(&mut self) {
        if let Some((key, arrived)) = self.arrivals.pop_front() {
            if self.entries.get(&key).is_some_and(|e| e.arrived == arrived) {
                self.entries.remove(&key);
            }
        }
    }
}

pub struct DuplicateCache {
    window: Duration,
    max_entries_per_shard: usize,
    shards: Vec<Mutex<Shard>>,
}

impl DuplicateCache {
    /// How many requests each listener remembers: every request in flight
    /// (at most `max_in_flight`) for as many seconds of the window as a NAS
    /// keeps retransmitting (RADIUS clients give up after a few tries a
    /// few seconds apart, so at most 8). The default 4,096 in flight and
    /// 30 s window give 32,768 entries, about 8 MiB. Past that the oldest
    /// answered requests are forgotten first; a late retransmission of one
    /// is then handled again, which authentication and the accounting
    /// upsert both tolerate.
    pub fn entries_for(max_in_flight: usize, window: Duration) -> usize {
        let secs = usize::try_from(window.as_secs().clamp(1, 8)).unwrap_or(8);
        max_in_flight.saturating_mul(secs).clamp(1024, 1 << 18)
    }

    pub fn new(window: Duration, max_entries: usize) -> Self {
        DuplicateCache {
            window,
            max_entries_per_shard: (max_entries / SHARDS).max(16),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    fn shard(&self, key: &RequestKey) -> std::sync::MutexGuard<'_, Shard> {
        let i = (key.authenticator[0] as usize ^ key.identifier as usize) % SHARDS;
        match self.shards[i].lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub fn check(&self, key: &RequestKey, now: Instant) -> Seen {
        let mut shard = self.shard(key);
        if let Some(entry) = shard.entries.get(key) {
            if now.saturating_duration_since(entry.arrived) < self.window {
                return match &entry.reply {
                    None => Seen::InProgress,
                    Some(reply) => Seen::Replay(reply.clone()),
                };
            }
        }
        // Expire from the old end; under a flood the bound forgets the
        // oldest requests first rather than growing without limit.
        while let Some((_, arrived)) = shard.arrivals.front() {
            let expired = now.saturating_duration_since(*arrived) >= self.window;
            if !expired && shard.arrivals.len() < self.max_entries_per_shard {
                break;
            }
            shard.pop_oldest();
        }
        shard.entries.insert(
            key.clone(),
            Entry {
                arrived: now,
                reply: None,
            },
        );
        shard.arrivals.push_back((key.clone(), now));
        Seen::New
    }

    pub fn complete(&self, key: RequestKey, reply: Vec<u8>) {
        let mut shard = self.shard(&key);
        if let Some(entry) = shard.entries.get_mut(&key) {
            entry.reply = Some(reply);
        }
    }

    /// The request was dropped without a reply: let a retransmission retry.
    /// (Its queue entry goes when it reaches the old end.)
    pub fn abandon(&self, key: &RequestKey) {
        self.shard(key).entries.remove(key);
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|s| s.entries.len()).unwrap_or(0))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn capacity_follows_the_in_flight_bound_and_the_window() {
        let w = |s| Duration::from_secs(s);
        assert_eq!(DuplicateCache::entries_for(4096, w(30)), 32_768);
        assert_eq!(DuplicateCache::entries_for(4096, w(2)), 8_192);
        assert_eq!(DuplicateCache::entries_for(10, w(30)), 1024, "a floor");
        assert_eq!(
            DuplicateCache::entries_for(1 << 20, w(30)),
            1 << 18,
            "a ceiling"
        );
    }

    use super::*;

    fn key(id: u8) -> RequestKey {
        RequestKey {
            peer: "127.0.0.1:5000".parse().unwrap(),
            identifier: id,
            authenticator: [id; 16],
        }
    }

    #[test]
    fn new_in_progress_replay_expire() {
        let c = DuplicateCache::new(Duration::from_secs(30), 1000);
        let t0 = Instant::now();
        assert_eq!(c.check(&key(1), t0), Seen::New);
        assert_eq!(c.check(&key(1), t0), Seen::InProgress);
        c.complete(key(1), vec![9]);
        assert_eq!(
            c.check(&key(1), t0 + Duration::from_secs(5)),
            Seen::Replay(vec![9])
        );
        assert_eq!(c.check(&key(1), t0 + Duration::from_secs(31)), Seen::New);
        assert_eq!(c.check(&key(2), t0), Seen::New);
        c.abandon(&key(2));
        assert_eq!(c.check(&key(2), t0), Seen::New);
    }

    #[test]
    fn a_stale_arrival_does_not_evict_a_newer_request_with_the_same_key() {
        let c = DuplicateCache::new(Duration::from_secs(30), 16 * SHARDS);
        let t0 = Instant::now();
        assert_eq!(c.check(&key(1), t0), Seen::New);
        c.complete(key(1), vec![1]);
        // Same key again after the window: a new request, answered anew.
        let t1 = t0 + Duration::from_secs(40);
        assert_eq!(c.check(&key(1), t1), Seen::New);
        c.complete(key(1), vec![2]);
        assert_eq!(c.check(&key(1), t1), Seen::Replay(vec![2]));
    }

    #[test]
    fn expired_entries_leave_without_a_sweep() {
        let c = DuplicateCache::new(Duration::from_secs(30), 1000);
        let t0 = Instant::now();
        for id in 0..16u8 {
            let mut k = key(id);
            k.authenticator[0] = 0; // one shard
            k.identifier = 0;
            k.authenticator[1] = id;
            c.check(&k, t0);
        }
        assert_eq!(c.len(), 16);
        let mut later = key(0);
        later.authenticator[0] = 0;
        later.identifier = 0;
        later.authenticator[1] = 200;
        c.check(&later, t0 + Duration::from_secs(31));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn bounded_under_flood() {
        let c = DuplicateCache::new(Duration::from_secs(30), 256);
        let t0 = Instant::now();
        for i in 0..100_000u32 {
            let mut k = key(0);
            k.authenticator[..4].copy_from_slice(&i.to_be_bytes());
            k.identifier = i as u8;
            c.check(&k, t0 + Duration::from_micros(i as u64));
            if i % 3 == 0 {
                c.abandon(&k);
            }
        }
        assert!(c.len() <= 256, "len {}", c.len());
        let queued: usize = c
            .shards
            .iter()
            .map(|s| s.lock().map(|s| s.arrivals.len()).unwrap_or(0))
            .sum();
        assert!(queued <= 256, "queued {queued}");
    }
}

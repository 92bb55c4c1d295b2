//! Duplicate detection (RFC 5080 s2.2.2): a retransmission, same source
//! address and port, identifier and Request Authenticator within the window,
//! gets the reply already sent instead of a second authentication.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestKey {
    pub peer: SocketAddr,
    pub identifier: u8,
    pub authenticator: [u8; 16],
}

enum Entry {
    InProgress(Instant),
    Done(Instant, Vec<u8>),
}

impl Entry {
    fn at(&self) -> Instant {
        match self {
            Entry::InProgress(t) | Entry::Done(t, _) => *t,
        }
    }
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

pub struct DuplicateCache {
    window: Duration,
    max_entries_per_shard: usize,
    shards: Vec<Mutex<HashMap<RequestKey, Entry>>>,
}

impl DuplicateCache {
    pub fn new(window: Duration, max_entries: usize) -> Self {
        DuplicateCache {
            window,
            max_entries_per_shard: (max_entries / SHARDS).max(16),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, key: &RequestKey) -> &Mutex<HashMap<RequestKey, Entry>> {
        let i = (key.authenticator[0] as usize ^ key.identifier as usize) % SHARDS;
        &self.shards[i]
    }

    pub fn check(&self, key: &RequestKey, now: Instant) -> Seen {
        let mut map = match self.shard(key).lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if let Some(entry) = map.get(key) {
            if now.duration_since(entry.at()) < self.window {
                return match entry {
                    Entry::InProgress(_) => Seen::InProgress,
                    Entry::Done(_, reply) => Seen::Replay(reply.clone()),
                };
            }
        }
        if map.len() >= self.max_entries_per_shard {
            let window = self.window;
            map.retain(|_, e| now.duration_since(e.at()) < window);
            if map.len() >= self.max_entries_per_shard {
                // Still full of live entries: forget the oldest half rather
                // than grow without bound (a flood must not exhaust memory).
                let mut ages: Vec<Instant> = map.values().map(Entry::at).collect();
                ages.sort();
                let cutoff = ages[ages.len() / 2];
                map.retain(|_, e| e.at() > cutoff);
            }
        }
        map.insert(key.clone(), Entry::InProgress(now));
        Seen::New
    }

    pub fn complete(&self, key: RequestKey, reply: Vec<u8>, now: Instant) {
        let mut map = match self.shard(&key).lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.insert(key, Entry::Done(now, reply));
    }

    /// The request was dropped without a reply: let a retransmission retry.
    pub fn abandon(&self, key: &RequestKey) {
        let mut map = match self.shard(key).lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.remove(key);
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|m| m.len()).unwrap_or(0))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
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
        c.complete(key(1), vec![9], t0);
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
    fn bounded_under_flood() {
        let c = DuplicateCache::new(Duration::from_secs(30), 256);
        let t0 = Instant::now();
        for i in 0..100_000u32 {
            let mut k = key(0);
            k.authenticator[..4].copy_from_slice(&i.to_be_bytes());
            k.identifier = i as u8;
            c.check(&k, t0 + Duration::from_micros(i as u64));
        }
        assert!(c.len() <= 256 + 16 * 2, "len {}", c.len());
    }
}

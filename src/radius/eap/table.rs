//! Open conversations keyed by the RADIUS State we handed out. Bounded in
//! total and per NAS; idle ones are evicted; a conversation being worked
//! on is checked out so two requests never run it at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;

use super::conversation::Conversation;

pub type StateId = [u8; 16];

struct Slot {
    nas: String,
    touched: Instant,
    /// None while a request is working on it.
    conv: Option<Box<Conversation>>,
}

#[derive(Default)]
struct Table {
    slots: HashMap<StateId, Slot>,
    per_nas: HashMap<String, usize>,
}

impl Table {
    fn remove(&mut self, id: &StateId) -> Option<Slot> {
        let slot = self.slots.remove(id)?;
        if let Some(n) = self.per_nas.get_mut(&slot.nas) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_nas.remove(&slot.nas);
            }
        }
        Some(slot)
    }

    fn sweep(&mut self, now: Instant, idle: Duration) -> usize {
        let expired: Vec<StateId> = self
            .slots
            .iter()
            .filter(|(_, s)| now.saturating_duration_since(s.touched) >= idle)
            .map(|(k, _)| *k)
            .collect();
        for id in &expired {
            self.remove(id);
        }
        expired.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Total,
    PerNas,
}

pub enum Checkout {
    Found(Box<Conversation>),
    Unknown,
    Busy,
}

pub struct Conversations {
    table: Mutex<Table>,
    max_total: usize,
    max_per_nas: usize,
    idle: Duration,
}

impl Conversations {
    pub fn new(max_total: usize, max_per_nas: usize, idle: Duration) -> Self {
        Conversations {
            table: Mutex::new(Table::default()),
            max_total: max_total.max(1),
            max_per_nas: max_per_nas.max(1),
            idle,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        match self.table.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Stores a new conversation under a fresh random State. When full,
    /// idle conversations are evicted first; if that frees nothing the new
    /// one is refused (the ones in progress are worth more than a flood).
    pub fn insert(
        &self,
        nas: &str,
        conv: Box<Conversation>,
        now: Instant,
    ) -> Result<StateId, Full> {
        let mut t = self.lock();
        let nas_count = |t: &Table| t.per_nas.get(nas).copied().unwrap_or(0);
        if t.slots.len() >= self.max_total || nas_count(&t) >= self.max_per_nas {
            t.sweep(now, self.idle);
        }
        if t.slots.len() >= self.max_total {
            return Err(Full::Total);
        }
        if nas_count(&t) >= self.max_per_nas {
            return Err(Full::PerNas);
        }
        let mut rng = rand::thread_rng();
        let mut id: StateId = rng.gen();
        while t.slots.contains_key(&id) {
            id = rng.gen();
        }
        t.slots.insert(
            id,
            Slot {
                nas: nas.to_string(),
                touched: now,
                conv: Some(conv),
            },
        );
        *t.per_nas.entry(nas.to_string()).or_insert(0) += 1;
        Ok(id)
    }

    /// Checks a conversation out for one request. A State from another NAS
    /// is unknown: a conversation never moves between NASes.
    pub fn checkout(&self, state: &[u8], nas: &str, now: Instant) -> Checkout {
        let Ok(id) = StateId::try_from(state) else {
            return Checkout::Unknown;
        };
        let mut t = self.lock();
        let idle = self.idle;
        let expired = match t.slots.get(&id) {
            None => return Checkout::Unknown,
            Some(s) if s.nas != nas => return Checkout::Unknown,
            Some(s) => now.saturating_duration_since(s.touched) >= idle,
        };
        if expired {
            t.remove(&id);
            return Checkout::Unknown;
        }
        match t.slots.get_mut(&id) {
            Some(slot) => match slot.conv.take() {
                Some(c) => {
                    slot.touched = now;
                    Checkout::Found(c)
                }
                None => Checkout::Busy,
            },
            None => Checkout::Unknown,
        }
    }

    /// Returns a checked-out conversation that goes on.
    pub fn put_back(&self, state: &[u8], conv: Box<Conversation>, now: Instant) {
        let Ok(id) = StateId::try_from(state) else {
            return;
        };
        let mut t = self.lock();
        if let Some(slot) = t.slots.get_mut(&id) {
            slot.conv = Some(conv);
            slot.touched = now;
        }
    }

    /// Ends a conversation (accepted, rejected or abandoned).
    pub fn finish(&self, state: &[u8]) {
        if let Ok(id) = StateId::try_from(state) {
            self.lock().remove(&id);
        }
    }

    /// Evicts idle conversations; returns how many.
    pub fn sweep(&self, now: Instant) -> usize {
        self.lock().sweep(now, self.idle)
    }

    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radius::directory::Snapshot;
    use crate::radius::eap::conversation::{Conversation, Settings};

    fn conv() -> Box<Conversation> {
        let settings = test_settings();
        let (c, _) = Conversation::start("anonymous", 1, 1024, &settings, &Snapshot::default(), 0);
        Box::new(c)
    }

    fn test_settings() -> Settings {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["t".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], der)
        .unwrap();
        Settings {
            methods: vec![crate::radius::eap::conversation::MethodKind::Peap],
            server_name: "t".into(),
            tunnel: std::sync::Arc::new(config),
            tls: None,
            identity_rule: crate::pki::names::IdentityRule {
                fields: vec![crate::pki::names::IdentityField::Upn],
                domains: vec![],
            },
        }
    }

    #[test]
    fn caps_checkout_and_idle_eviction() {
        let t0 = Instant::now();
        let table = Conversations::new(3, 2, Duration::from_secs(30));
        let a = table.insert("ap1", conv(), t0).unwrap();
        let _b = table.insert("ap1", conv(), t0).unwrap();
        assert_eq!(table.insert("ap1", conv(), t0).err(), Some(Full::PerNas));
        let _c = table.insert("ap2", conv(), t0).unwrap();
        assert_eq!(table.insert("ap3", conv(), t0).err(), Some(Full::Total));

        // Another NAS cannot use the State; a checked-out one is busy.
        assert!(matches!(table.checkout(&a, "ap2", t0), Checkout::Unknown));
        let Checkout::Found(c) = table.checkout(&a, "ap1", t0) else {
            panic!("found")
        };
        assert!(matches!(table.checkout(&a, "ap1", t0), Checkout::Busy));
        table.put_back(&a, c, t0);
        table.finish(&a);
        assert!(matches!(table.checkout(&a, "ap1", t0), Checkout::Unknown));
        assert!(matches!(
            table.checkout(b"short", "ap1", t0),
            Checkout::Unknown
        ));

        table.insert("ap1", conv(), t0).unwrap();
        assert_eq!(table.len(), 3);
        // When full, the idle ones are evicted to make room.
        let later = t0 + Duration::from_secs(31);
        assert!(table.insert("ap3", conv(), later).is_ok());
        assert_eq!(table.len(), 1);
        assert_eq!(table.sweep(later + Duration::from_secs(31)), 1);
        assert!(table.is_empty());
    }
}

//! In-memory snapshot of what every RADIUS request consults: NAS clients,
//! users, groups and registered devices. Requests never wait for the store;
//! a refresher reloads the snapshot when the store's change counter moves
//! (changes from the CLI, the dashboard or another node show up within
//! `radius.refresh_interval`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use ipnet::IpNet;

use crate::domain::MacAddr;
use crate::store::devices::Device;
use crate::store::groups::Group;
use crate::store::users::User;
use crate::store::{Store, StoreError};

/// A NAS client as the listeners need it.
#[derive(Debug, Clone)]
pub struct NasEntry {
    pub name: String,
    pub net: IpNet,
    pub secret: Vec<u8>,
    pub profile: String,
    pub coa_port: u16,
    pub require_message_authenticator: bool,
}

/// NAS clients by address; the most specific prefix wins.
#[derive(Debug, Default, Clone)]
pub struct NasTable {
    by_prefix: Vec<Arc<NasEntry>>,
}

impl NasTable {
    pub fn new(mut entries: Vec<NasEntry>) -> Self {
        entries.sort_by_key(|e| std::cmp::Reverse(e.net.prefix_len()));
        NasTable {
            by_prefix: entries.into_iter().map(Arc::new).collect(),
        }
    }

    pub fn lookup(&self, addr: IpAddr) -> Option<Arc<NasEntry>> {
        let addr = canonical_ip(addr);
        self.by_prefix
            .iter()
            .find(|n| n.net.contains(&addr))
            .cloned()
    }

    pub fn by_name(&self, name: &str) -> Option<Arc<NasEntry>> {
        self.by_prefix.iter().find(|n| n.name == name).cloned()
    }

    pub fn len(&self) -> usize {
        self.by_prefix.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_prefix.is_empty()
    }
}

pub use crate::domain::canonical_ip;

#[derive(Default)]
pub struct Snapshot {
    pub seq: i64,
    pub nas: NasTable,
    pub users: HashMap<String, Arc<User>>,
    pub groups: HashMap<String, Arc<Group>>,
    pub devices: HashMap<MacAddr, Arc<Device>>,
}

impl Snapshot {
    pub async fn load(store: &Store) -> Result<Snapshot, StoreError> {
        // Read the counter first: a change racing with the load bumps it
        // again and the next refresh picks it up.
        let seq = store.change_seq().await?;
        let nas = store
            .nas()
            .list()
            .await?
            .into_iter()
            .map(|n| NasEntry {
                name: n.name,
                net: n.address,
                secret: n.secret.into_bytes(),
                profile: n.profile,
                coa_port: n.coa_port,
                require_message_authenticator: n.require_message_authenticator,
            })
            .collect();
        let users = store
            .users()
            .list()
            .await?
            .into_iter()
            .map(|u| (u.username.clone(), Arc::new(u)))
            .collect();
        let groups = store
            .groups()
            .list()
            .await?
            .into_iter()
            .map(|g| (g.name.clone(), Arc::new(g)))
            .collect();
        let devices = store
            .devices()
            .list()
            .await?
            .into_iter()
            .map(|d| (d.mac, Arc::new(d)))
            .collect();
        Ok(Snapshot {
            seq,
            nas: NasTable::new(nas),
            users,
            groups,
            devices,
        })
    }
}

/// The current snapshot, swapped whole on refresh.
#[derive(Default)]
pub struct Directory {
    current: RwLock<Arc<Snapshot>>,
}

impl Directory {
    pub fn new(snapshot: Snapshot) -> Self {
        Directory {
            current: RwLock::new(Arc::new(snapshot)),
        }
    }

    pub fn get(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace(&self, snapshot: Snapshot) {
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(snapshot);
    }

    /// Reload if the store changed since the current snapshot.
    pub async fn refresh(&self, store: &Store) -> Result<bool, StoreError> {
        let seq = store.change_seq().await?;
        if seq == self.get().seq {
            return Ok(false);
        }
        self.replace(Snapshot::load(store).await?);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, net: &str) -> NasEntry {
        NasEntry {
            name: name.into(),
            net: net.parse().unwrap(),
            secret: b"s".to_vec(),
            profile: "generic".into(),
            coa_port: 3799,
            require_message_authenticator: true,
        }
    }

    #[test]
    fn most_specific_prefix_wins_and_mapped_v4_matches() {
        let t = NasTable::new(vec![
            entry("floor", "10.3.0.0/16"),
            entry("ap1", "10.3.0.7/32"),
        ]);
        assert_eq!(t.lookup("10.3.0.7".parse().unwrap()).unwrap().name, "ap1");
        assert_eq!(t.lookup("10.3.9.9".parse().unwrap()).unwrap().name, "floor");
        assert_eq!(
            t.lookup("::ffff:10.3.0.7".parse().unwrap()).unwrap().name,
            "ap1"
        );
        assert!(t.lookup("10.4.0.1".parse().unwrap()).is_none());
        assert_eq!(t.by_name("floor").unwrap().net.to_string(), "10.3.0.0/16");
    }
}

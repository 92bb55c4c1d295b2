//! Body of the `radius_packet` fuzz target. The fuzz target
//! (`fuzz/fuzz_targets/radius_packet.rs`) and the stable-toolchain test
//! (`tests/it/fuzz_corpus.rs`) both include this file by path, so `cargo
//! test` replays the seed corpus through exactly what libFuzzer runs.
//!
//! One input goes through:
//! 1. the pure codecs and adapters (`wire`, `request`, `accounting`, `mschap`);
//! 2. `server::process` of both listeners with the bytes as they are, from
//!    the configured NAS and from an unknown address;
//! 3. `server::process` again with the bytes re-signed with the NAS secret
//!    (Message-Authenticator and, for accounting, Request Authenticator), so
//!    mutations reach the handlers behind the authenticity checks; the signed
//!    Access-Request is sent twice to exercise the duplicate cache, and an
//!    unsigned copy goes to a NAS that does not require Message-Authenticator.
//!    EAP is on (PEAP, TTLS, TLS with a throw-away certificate), so
//!    EAP-Message payloads reach the EAP methods too.
//!
//! Nothing may panic, and every reply must verify against its request with
//! the NAS secret.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use portico::domain::MacAddr;
use portico::metrics::Metrics;
use portico::profiles::Profiles;
use portico::radius::accounting::{self, AccountingWriter, AuthLogWriter};
use portico::radius::auth::AuthService;
use portico::radius::directory::{Directory, Snapshot};
use portico::radius::dupcache::DuplicateCache;
use portico::radius::eap::EapService;
use portico::radius::server::{self, ListenerKind, RadiusContext, RateLimitedLog};
use portico::radius::wire::{self, code};
use portico::radius::{mschap, request};
use portico::store::devices::Device;
use portico::store::groups::Group;
use portico::store::nas::NewNas;
use portico::store::one_time::OneTimeCredential;
use portico::store::users::NewUser;
use portico::store::{Store, StoreError};

/// Shared secret of the NAS on 127.0.0.1, which requires Message-Authenticator.
pub const SECRET: &[u8] = b"fuzz-secret";
/// Shared secret of the NAS on 127.0.0.2, which does not (a "legacy" NAS).
pub const LEGACY_SECRET: &[u8] = b"fuzz-legacy-secret";
pub const NAS_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
pub const LEGACY_NAS_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// No NAS is configured here (TEST-NET-1).
pub const UNKNOWN_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// Accounts the seeds use: (username, password). alice is staff (PAP and
/// MS-CHAPv2), bob is disabled, carol expired, dave a guest limited to PAP.
pub const USERS: &[(&str, &str)] = &[
    ("alice", "alice-password"),
    ("bob", "bob-password"),
    ("carol", "carol-password"),
    ("dave", "dave-password"),
];
/// A MAC registered as a device (MAC authentication).
pub const DEVICE_MAC: &str = "aa:bb:cc:dd:ee:ff";
/// A MAC with a portal authorization.
pub const AUTHORIZED_MAC: &str = "02:00:00:00:00:01";
/// A one-time credential (CHAP and PAP post-back from the portal).
pub const ONE_TIME_USER: &str = "portal-7f3a";
pub const ONE_TIME_SECRET: &str = "ot-secret-9c1d";

const ATTR_PROXY_STATE: u8 = 33;
const FAR_FUTURE_MS: i64 = 4_102_444_800_000; // 2100-01-01

#[derive(Debug)]
pub enum HarnessError {
    Io(std::io::Error),
    Store(StoreError),
    Setup(String),
}

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HarnessError::Io(e) => write!(f, "io: {e}"),
            HarnessError::Store(e) => write!(f, "store: {e}"),
            HarnessError::Setup(e) => write!(f, "setup: {e}"),
        }
    }
}

impl From<StoreError> for HarnessError {
    fn from(e: StoreError) -> Self {
        HarnessError::Store(e)
    }
}

/// A RADIUS request path with a SQLite store in a temporary directory, a
/// strict NAS, a legacy NAS, users, groups, a device, a portal
/// authorization and a one-time credential.
pub struct Harness {
    rt: tokio::runtime::Runtime,
    ctx: Option<RadiusContext>,
    store: Store,
    auth_dups: DuplicateCache,
    acct_dups: DuplicateCache,
    /// Each send comes from a fresh source port, so the duplicate cache
    /// does not hide a mutated packet behind an earlier one that shares
    /// its Identifier and Authenticator.
    next_port: AtomicU16,
    data_dir: PathBuf,
}

impl Harness {
    /// `profiles_dir` is the repository's `ap-profiles/` (the strict NAS
    /// uses the aruba profile for vendor reply attributes); without it the
    /// built-in generic profile serves.
    pub fn new(profiles_dir: &Path) -> Result<Harness, HarnessError> {
        sweep_stale_data_dirs();
        static INSTANCE: AtomicUsize = AtomicUsize::new(0);
        let data_dir = std::env::temp_dir().join(format!(
            "portico-fuzz-{}-{}",
            std::process::id(),
            INSTANCE.fetch_add(1, Ordering::Relaxed)
        ));
        // A current-thread runtime: the writers run whenever `run` blocks.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(HarnessError::Io)?;
        let profiles =
            Profiles::load_dir(profiles_dir).unwrap_or_else(|_| Profiles::builtin_generic());
        let (store, ctx) = rt.block_on(async {
            let store = Store::open("", &data_dir, 4).await?;
            populate(&store).await?;
            let metrics = Arc::new(Metrics::new());
            let eap = EapService::ephemeral(metrics.clone())
                .map_err(|e| HarnessError::Setup(format!("EAP: {e}")))?;
            let directory = Arc::new(Directory::new(Snapshot::load(&store).await?));
            let (accounting, _) = AccountingWriter::spawn(store.clone(), 64, metrics.clone());
            let (auth_log, _) = AuthLogWriter::spawn(store.clone(), metrics.clone());
            let ctx = RadiusContext {
                directory,
                profiles: Arc::new(profiles),
                metrics: metrics.clone(),
                auth: AuthService::new(store.clone(), true, metrics.clone()),
                // PEAP, TTLS and TLS with a throw-away certificate.
                eap: Some(Arc::new(eap)),
                accounting,
                auth_log,
                in_flight: Arc::new(tokio::sync::Semaphore::new(64)),
                max_in_flight: 64,
                request_timeout: Duration::from_secs(10),
                unknown_nas_log: RateLimitedLog::new(Duration::from_secs(3600)),
            };
            Ok::<_, HarnessError>((store, ctx))
        })?;
        Ok(Harness {
            rt,
            ctx: Some(ctx),
            store,
            // Small, so eviction runs too.
            auth_dups: DuplicateCache::new(Duration::from_secs(5), 512),
            acct_dups: DuplicateCache::new(Duration::from_secs(5), 512),
            next_port: AtomicU16::new(1024),
            data_dir,
        })
    }

    /// Drives one input through everything; panics on a broken invariant.
    pub fn run(&self, data: &[u8]) {
        exercise_codecs(data);
        // The listener drops larger datagrams before `process`.
        if data.len() > wire::MAX_PACKET_LEN {
            return;
        }
        self.rt.block_on(async {
            let unknown = self.send(ListenerKind::Auth, data, self.peer(UNKNOWN_IP), b"");
            assert!(unknown.await.is_none(), "answered an unknown NAS");
            for kind in [ListenerKind::Auth, ListenerKind::Acct] {
                self.send(kind, data, self.peer(NAS_IP), SECRET).await;
                let Some(signed) = sign(kind, data, SECRET) else {
                    continue;
                };
                let peer = self.peer(NAS_IP);
                let first = self.send(kind, &signed, peer, SECRET).await;
                if first.is_none() && must_answer(kind, &signed) {
                    panic!("authentic request not answered on {}", kind.name());
                }
                if kind == ListenerKind::Auth {
                    // A retransmission gets the same reply from the cache.
                    let again = self.process(kind, &signed, peer).await;
                    if let Some(first) = first {
                        assert_eq!(again, Some(first), "retransmission answered differently");
                    }
                }
            }
            if let Some(unsigned) = legacy_variant(data) {
                let peer = self.peer(LEGACY_NAS_IP);
                self.send(ListenerKind::Auth, &unsigned, peer, LEGACY_SECRET)
                    .await;
            }
        });
    }

    /// One request from `ip` (a fresh port) with the reply checks; for
    /// tests that the harness reaches the handlers at all.
    #[allow(dead_code)] // the fuzz target only calls `run`
    pub fn exchange(&self, kind: ListenerKind, datagram: &[u8], ip: Ipv4Addr) -> Option<Vec<u8>> {
        let secret = if ip == LEGACY_NAS_IP {
            LEGACY_SECRET
        } else {
            SECRET
        };
        let peer = self.peer(ip);
        self.rt.block_on(self.send(kind, datagram, peer, secret))
    }

    fn peer(&self, ip: Ipv4Addr) -> SocketAddr {
        let port = match self.next_port.fetch_add(1, Ordering::Relaxed) {
            0 => 1024,
            p => p,
        };
        SocketAddr::new(IpAddr::V4(ip), port)
    }

    fn ctx(&self) -> &RadiusContext {
        match &self.ctx {
            Some(c) => c,
            None => unreachable!("the context lives until drop"),
        }
    }

    /// `process`, then the reply checks.
    async fn send(
        &self,
        kind: ListenerKind,
        datagram: &[u8],
        peer: SocketAddr,
        secret: &[u8],
    ) -> Option<Vec<u8>> {
        let reply = self.process(kind, datagram, peer).await;
        if let Some(r) = &reply {
            check_reply(kind, datagram, r, secret);
        }
        reply
    }

    async fn process(
        &self,
        kind: ListenerKind,
        datagram: &[u8],
        peer: SocketAddr,
    ) -> Option<Vec<u8>> {
        let dups = match kind {
            ListenerKind::Auth => &self.auth_dups,
            ListenerKind::Acct => &self.acct_dups,
        };
        match server::process(kind, self.ctx(), dups, datagram, peer, Instant::now()).await {
            server::Outcome::Reply(reply) => Some(reply),
            server::Outcome::Drop(_) => None,
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // Dropping the context closes the writers' queues; they flush and
        // stop, then the pool closes and the files can go.
        drop(self.ctx.take());
        self.rt.block_on(async {
            tokio::task::yield_now().await;
            self.store.close().await;
        });
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A fuzzing process ends through `exit` and never drops its harness:
/// remove the data directories of processes that are gone.
fn sweep_stale_data_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("portico-fuzz-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Cheap argon2id parameters: the fuzzer must not spend its time hashing.
/// (Verification takes the parameters from the PHC string.)
fn cheap_hash(password: &str) -> Result<String, HarnessError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(8, 1, 1, None).map_err(|e| HarnessError::Setup(e.to_string()))?;
    let salt = SaltString::encode_b64(b"portico-fuzzing")
        .map_err(|e| HarnessError::Setup(e.to_string()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HarnessError::Setup(e.to_string()))
}

fn mac(s: &str) -> Result<MacAddr, HarnessError> {
    MacAddr::parse(s).map_err(|e| HarnessError::Setup(format!("{e:?}")))
}

async fn populate(store: &Store) -> Result<(), HarnessError> {
    let groups = [
        Group {
            name: "staff".into(),
            vlan: Some("100".into()),
            session_timeout: Some(28_800),
            idle_timeout: Some(900),
            filter_id: Some("staff-acl".into()),
            class: Some("staff".into()),
            reply_attributes: vec![
                ("Aruba-User-Role".into(), "staff".into()),
                ("Reply-Message".into(), "welcome".into()),
                ("No-Such-Attribute".into(), "x".into()),
            ],
            allowed_methods: vec![],
        },
        Group {
            name: "guests".into(),
            session_timeout: Some(3_600),
            allowed_methods: vec!["pap".into(), "mac".into()],
            ..Group::default()
        },
        Group {
            name: "printers".into(),
            vlan: Some("30".into()),
            ..Group::default()
        },
    ];
    for g in &groups {
        store.groups().upsert(g).await?;
    }
    for (name, password) in USERS {
        let groups = match *name {
            "dave" => vec!["guests".to_string()],
            _ => vec!["staff".to_string()],
        };
        store
            .users()
            .add(&NewUser {
                username: name.to_string(),
                display_name: None,
                password_hash: Some(cheap_hash(password)?),
                nt_hash: (*name != "dave").then(|| mschap::nt_password_hash(password)),
                groups,
                valid_until: (*name == "carol").then_some(1),
            })
            .await?;
    }
    store.users().set_enabled("bob", false).await?;
    for (name, ip, secret, profile, strict) in [
        ("fuzz-ap", "127.0.0.1/32", SECRET, "aruba", true),
        (
            "fuzz-legacy",
            "127.0.0.2/32",
            LEGACY_SECRET,
            "generic",
            false,
        ),
    ] {
        store
            .nas()
            .add(&NewNas {
                name: name.into(),
                // `IpNet` by inference: the fuzz crate does not name ipnet.
                address: ip
                    .parse()
                    .map_err(|_| HarnessError::Setup(format!("bad prefix {ip}")))?,
                secret: String::from_utf8_lossy(secret).into_owned(),
                profile: profile.into(),
                coa_port: 3799,
                require_message_authenticator: strict,
            })
            .await?;
    }
    store
        .devices()
        .add(&Device {
            mac: mac(DEVICE_MAC)?,
            owner: Some("facilities".into()),
            description: Some("printer".into()),
            groups: vec!["printers".into()],
            created_at: 0,
        })
        .await?;
    store
        .authorizations()
        .grant(
            mac(AUTHORIZED_MAC)?,
            "visitor",
            "voucher",
            &["guests".into()],
            FAR_FUTURE_MS,
        )
        .await?;
    store
        .one_time()
        .create(&OneTimeCredential {
            username: ONE_TIME_USER.into(),
            secret: ONE_TIME_SECRET.into(),
            identity: "visitor".into(),
            expires_at: FAR_FUTURE_MS,
            // Never used up within a fuzzing run.
            uses_left: 1 << 40,
            mac: None,
            nas_name: None,
        })
        .await?;
    Ok(())
}

/// The pure layers on arbitrary bytes, with invariants between them.
fn exercise_codecs(data: &[u8]) {
    let _ = wire::attributes(data).count();
    let _ = wire::vendor_attributes(data).count();
    let _ = wire::join_attribute(data, request::ATTR_EAP_MESSAGE);
    let ma = wire::verify_request_message_authenticator(data, SECRET);
    let acct_ok = wire::verify_accounting_request_authenticator(data, SECRET);
    let _ = wire::verify_reply(data, &[0; 16], SECRET);
    let _ = wire::packet_code(data);
    let _ = wire::packet_identifier(data);
    let _ = wire::packet_authenticator(data);
    let Ok(packet) = wire::check_structure(data) else {
        assert_eq!(ma, wire::MessageAuthenticator::Invalid);
        assert!(!acct_ok);
        return;
    };
    // The attribute walk covers a checked packet exactly.
    let covered: usize = wire::attributes(packet).map(|(_, v)| v.len() + 2).sum();
    assert_eq!(
        covered + wire::HEADER_LEN,
        packet.len(),
        "attributes do not cover the packet"
    );

    let req = request::parse_access_request(packet);
    let _ = req.method();
    let _ = req.mac_identity();
    let _ = req.calling_mac();
    let _ = req.user_name_str();
    let _ = req.called_station_str();
    if let Some(hidden) = req.user_password {
        if let Ok(pw) = wire::decrypt_user_password(hidden, SECRET, &req.authenticator) {
            assert!(pw.len() <= wire::MAX_PASSWORD_LEN);
        }
    }
    if let Some(r) = req.ms_chap2_response {
        let _ = mschap::MsChap2Response::parse(r);
    }
    for (_, _, value) in wire::vendor_attributes(packet) {
        let _ = wire::salt_decrypt(value, SECRET, &req.authenticator);
    }
    let _ = accounting::parse_accounting_request(
        packet,
        "fuzz-ap",
        IpAddr::V4(NAS_IP),
        portico::clock::now_ms(),
    );
}

/// The reply must be one the NAS accepts: right code for the listener, same
/// Identifier, valid Response Authenticator and Message-Authenticator.
fn check_reply(kind: ListenerKind, datagram: &[u8], reply: &[u8], secret: &[u8]) {
    let request = match wire::check_structure(datagram) {
        Ok(p) => p,
        Err(e) => panic!("replied to a malformed datagram ({e})"),
    };
    let auth = wire::packet_authenticator(request).unwrap_or_default();
    assert!(
        reply.len() <= wire::MAX_PACKET_LEN,
        "reply of {} bytes",
        reply.len()
    );
    assert_eq!(
        wire::packet_identifier(reply),
        wire::packet_identifier(request)
    );
    let reply_code = wire::packet_code(reply).unwrap_or_default();
    let allowed: &[u8] = match kind {
        ListenerKind::Auth => &[
            code::ACCESS_ACCEPT,
            code::ACCESS_REJECT,
            code::ACCESS_CHALLENGE,
        ],
        ListenerKind::Acct => &[code::ACCOUNTING_RESPONSE],
    };
    assert!(
        allowed.contains(&reply_code),
        "reply code {reply_code} on {}",
        kind.name()
    );
    if let Err(e) = wire::verify_reply(reply, &auth, secret) {
        panic!("reply does not verify: {e}");
    }
}

/// Whether an authentic request must get a reply: every Access-Request
/// without EAP, every Status-Server, and every Accounting-Request the adapter accepts (its
/// record must commit), unless echoing its Proxy-State attributes cannot fit
/// in one packet.
fn must_answer(kind: ListenerKind, packet: &[u8]) -> bool {
    let echoed: usize = wire::attributes(packet)
        .filter(|(t, _)| *t == ATTR_PROXY_STATE)
        .map(|(_, v)| v.len() + 2)
        .sum();
    if wire::HEADER_LEN + 18 + echoed > wire::MAX_PACKET_LEN {
        return false;
    }
    match (kind, wire::packet_code(packet)) {
        (ListenerKind::Acct, Some(code::ACCOUNTING_REQUEST)) => {
            accounting::parse_accounting_request(packet, "fuzz-ap", IpAddr::V4(NAS_IP), 0).is_ok()
        }
        // An EAP conversation may drop what it cannot use (RFC 3579 s2.6.2).
        (ListenerKind::Auth, _) => {
            wire::find_attribute(packet, request::ATTR_EAP_MESSAGE).is_none()
        }
        _ => true,
    }
}

type HmacMd5 = Hmac<Md5>;

/// Value offsets and lengths of every Message-Authenticator attribute of a
/// structurally checked packet.
fn message_authenticators(packet: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = wire::HEADER_LEN;
    while let (Some(&typ), Some(&len)) = (packet.get(i), packet.get(i + 1)) {
        let len = usize::from(len);
        if len < 2 {
            break;
        }
        if typ == wire::ATTR_MESSAGE_AUTHENTICATOR {
            out.push((i + 2, len - 2));
        }
        i += len;
    }
    out
}

/// Header plus attributes, with the Length field set.
fn assemble(
    packet_code: u8,
    identifier: u8,
    authenticator: &[u8; 16],
    attrs: &[u8],
) -> Option<Vec<u8>> {
    let len = u16::try_from(wire::HEADER_LEN + attrs.len()).ok()?;
    if usize::from(len) > wire::MAX_PACKET_LEN {
        return None;
    }
    let mut p = Vec::with_capacity(usize::from(len));
    p.extend_from_slice(&[packet_code, identifier]);
    p.extend_from_slice(&len.to_be_bytes());
    p.extend_from_slice(authenticator);
    p.extend_from_slice(attrs);
    Some(p)
}

/// Attributes of a checked packet without any Message-Authenticator.
fn attributes_without_ma(packet: &[u8]) -> Vec<u8> {
    let mut attrs = Vec::with_capacity(packet.len());
    for (typ, value) in wire::attributes(packet) {
        if typ != wire::ATTR_MESSAGE_AUTHENTICATOR {
            // Cannot fail: the value came out of one attribute.
            let _ = wire::push_attribute(&mut attrs, typ, value);
        }
    }
    attrs
}

/// The input made authentic for `kind`'s listener: the code forced to one
/// the listener takes (Status-Server kept), a Message-Authenticator computed
/// in place (or added first when absent or malformed; an Accounting-Request
/// without one stays without), and the Accounting-Request's Request
/// Authenticator computed. None when the bytes are not a structurally valid
/// packet (those are dropped before any authenticity check anyway).
pub fn sign(kind: ListenerKind, data: &[u8], secret: &[u8]) -> Option<Vec<u8>> {
    let packet = wire::check_structure(data).ok()?;
    let forced = match (kind, packet.first()?) {
        (_, &code::STATUS_SERVER) => code::STATUS_SERVER,
        (ListenerKind::Auth, _) => code::ACCESS_REQUEST,
        (ListenerKind::Acct, _) => code::ACCOUNTING_REQUEST,
    };
    let identifier = wire::packet_identifier(packet)?;
    let authenticator = wire::packet_authenticator(packet)?;
    let computed_auth = forced == code::ACCOUNTING_REQUEST;
    let mas = message_authenticators(packet);
    match mas.as_slice() {
        [(offset, 16)] => {
            let mut p = packet.to_vec();
            *p.first_mut()? = forced;
            if computed_auth {
                p.get_mut(4..20)?.fill(0);
            }
            p.get_mut(*offset..offset + 16)?.fill(0);
            let mut mac = <HmacMd5 as Mac>::new_from_slice(secret).ok()?;
            mac.update(&p);
            p.get_mut(*offset..offset + 16)?
                .copy_from_slice(&mac.finalize().into_bytes());
            if computed_auth {
                set_request_authenticator(&mut p, secret)?;
            }
            Some(p)
        }
        [] if computed_auth => {
            let mut p = packet.to_vec();
            *p.first_mut()? = forced;
            p.get_mut(4..20)?.fill(0);
            set_request_authenticator(&mut p, secret)?;
            Some(p)
        }
        _ => {
            let attrs = attributes_without_ma(packet);
            wire::encode_request(forced, identifier, &authenticator, &attrs, secret).ok()
        }
    }
}

/// RFC 2866 Request Authenticator over a packet whose authenticator field
/// is zero.
fn set_request_authenticator(p: &mut [u8], secret: &[u8]) -> Option<()> {
    let digest = Md5::new().chain_update(&*p).chain_update(secret).finalize();
    p.get_mut(4..20)?.copy_from_slice(&digest);
    Some(())
}

/// An Access-Request without Message-Authenticator, for the legacy NAS.
fn legacy_variant(data: &[u8]) -> Option<Vec<u8>> {
    let packet = wire::check_structure(data).ok()?;
    let attrs = attributes_without_ma(packet);
    assemble(
        code::ACCESS_REQUEST,
        wire::packet_identifier(packet)?,
        &wire::packet_authenticator(packet)?,
        &attrs,
    )
}

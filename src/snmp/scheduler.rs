//! The poll scheduler: every AP at its interval, spread over the interval
//! by a per-AP offset (jitter), with bounded concurrency. A cycle that
//! comes due while the AP's previous poll still runs is skipped and
//! counted as missed. Results go to one writer task in batches.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::alerts::{self, OpenSet, Thresholds};
use super::client::{Client, Credentials, RequestOptions, SnmpStats};
use super::collect::{self, PollResult};
use super::credentials_of;
use super::events::{EventRecord, EventSink};
use super::icmp::Pinger;
use super::reach::{self, Status};
use super::trap::{Source, Sources};
use crate::clock::now_ms;
use crate::profiles::{Profile, Profiles, AUTO_PROFILE, GENERIC_PROFILE};
use crate::store::aps::{Ap, ApKind, Discovered, PollUpdate, SnmpSecret};
use crate::store::samples::{ClientSample, IfSample, PollRecord, RadioSample, SampleRetention};
use crate::store::Store;

/// How reachability is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reachability {
    /// ICMP when the process may open a raw socket, else SNMP.
    Auto,
    Icmp,
    Snmp,
}

#[derive(Clone, Debug)]
pub struct MonitorConfig {
    pub interval: Duration,
    pub concurrency: usize,
    pub down_after: u32,
    pub request: RequestOptions,
    pub refresh: Duration,
    pub reachability: Reachability,
    pub thresholds: Thresholds,
    pub retention: SampleRetention,
    pub downsample_every: Duration,
    /// `http://host:port/path` that gets each raised and cleared alert.
    pub webhook: Option<String>,
}

/// Resolves `HOST`, `HOST:PORT`, `[v6]:PORT` (default port 161).
pub async fn resolve(address: &str) -> Option<SocketAddr> {
    let a = address.trim();
    if let Ok(sa) = a.parse::<SocketAddr>() {
        return Some(sa);
    }
    if let Ok(ip) = a.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 161));
    }
    let with_port = if a.contains(':') {
        a.to_string()
    } else {
        format!("{a}:161")
    };
    tokio::net::lookup_host(with_port).await.ok()?.next()
}

struct PollState {
    status: Status,
    failures: u32,
}

struct Target {
    ap: Arc<Ap>,
    addr: Option<SocketAddr>,
    next_due: Instant,
    running: Arc<AtomicBool>,
    state: Arc<Mutex<PollState>>,
}

/// Shared by the poll tasks.
struct PollCtx {
    store: Store,
    profiles: Arc<Profiles>,
    cfg: MonitorConfig,
    stats: Arc<SnmpStats>,
    events: EventSink,
    records: mpsc::Sender<PollRecord>,
    alerts: Mutex<OpenSet>,
    pinger: Option<Arc<Pinger>>,
    /// Controller name -> the inventory APs it manages.
    managed: RwLock<HashMap<String, Vec<Arc<Ap>>>>,
}

pub struct Monitor {
    pub store: Store,
    pub profiles: Arc<Profiles>,
    pub cfg: MonitorConfig,
    pub stats: Arc<SnmpStats>,
    pub events: EventSink,
    pub sources: Arc<Sources>,
}

fn offset(id: i64, interval: Duration) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    let ms = u64::try_from(interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    Duration::from_millis(h.finish() % ms)
}

impl Monitor {
    pub async fn run(self, shutdown: CancellationToken) {
        let Monitor {
            store,
            profiles,
            cfg,
            stats,
            events,
            sources,
        } = self;
        let pinger = match cfg.reachability {
            Reachability::Snmp => None,
            Reachability::Auto | Reachability::Icmp => match Pinger::open() {
                Ok(p) => Some(Arc::new(p)),
                Err(e) => {
                    if cfg.reachability == Reachability::Icmp {
                        tracing::warn!(error = %e, "ICMP reachability unavailable; using SNMP");
                    } else {
                        tracing::info!(error = %e, "no raw ICMP socket; reachability by SNMP");
                    }
                    None
                }
            },
        };
        let mut open = OpenSet::default();
        match store.alerts().open().await {
            Ok(list) => {
                for a in list {
                    open.insert(&a.kind, &a.subject);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot load open alerts"),
        }
        let (records, rx) = mpsc::channel::<PollRecord>(16_384);
        let writer = tokio::spawn(write_loop(store.clone(), rx));
        let ctx = Arc::new(PollCtx {
            store: store.clone(),
            profiles,
            cfg: cfg.clone(),
            stats: stats.clone(),
            events,
            records,
            alerts: Mutex::new(open),
            pinger,
            managed: RwLock::new(HashMap::new()),
        });
        let sem = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
        let mut targets: HashMap<i64, Target> = HashMap::new();
        let mut refresh = tokio::time::interval(cfg.refresh);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut downsample = tokio::time::interval(cfg.downsample_every);
        downsample.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = refresh.tick() => reload(&ctx, &sources, &mut targets).await,
                _ = downsample.tick() => {
                    let s = store.clone();
                    let keep = cfg.retention;
                    tokio::spawn(async move {
                        match s.samples().downsample(now_ms(), &keep).await {
                            Ok(r) => tracing::debug!(rolled_up = r.rolled_up, deleted = r.deleted, "downsampled SNMP samples"),
                            Err(e) => tracing::warn!(error = %e, "downsampling failed"),
                        }
                    });
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    for t in targets.values_mut() {
                        if t.next_due > now {
                            continue;
                        }
                        t.next_due += cfg.interval;
                        if t.next_due <= now {
                            // The loop itself fell behind by a whole interval.
                            t.next_due = now + cfg.interval;
                            stats.missed_cycles.inc();
                        }
                        if t.running.swap(true, Ordering::AcqRel) {
                            stats.missed_cycles.inc();
                            continue;
                        }
                        let (ap, addr, running, state) = (t.ap.clone(), t.addr, t.running.clone(), t.state.clone());
                        let (ctx, sem) = (ctx.clone(), sem.clone());
                        tokio::spawn(async move {
                            if let Ok(_permit) = sem.acquire_owned().await {
                                poll_target(&ctx, &ap, addr, &state).await;
                            }
                            running.store(false, Ordering::Release);
                        });
                    }
                }
            }
        }
        drop(ctx);
        // Give polls in flight a moment, then let the writer drain.
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            sem.acquire_many(cfg.concurrency.max(1) as u32),
        )
        .await;
        let _ = tokio::time::timeout(Duration::from_secs(10), writer).await;
    }
}

async fn reload(ctx: &Arc<PollCtx>, sources: &Sources, targets: &mut HashMap<i64, Target>) {
    let list = match ctx.store.aps().list().await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "cannot load the AP inventory; keeping the last one");
            return;
        }
    };
    let now = Instant::now();
    let mut seen = std::collections::HashSet::new();
    let mut src_map = HashMap::new();
    let mut managed: HashMap<String, Vec<Arc<Ap>>> = HashMap::new();
    let names: std::collections::HashSet<String> =
        list.iter().map(|a| a.spec.name.clone()).collect();
    for ap in list {
        let ap = Arc::new(ap);
        let addr = resolve(&ap.spec.address).await;
        if let Some(a) = addr {
            // Several entries on one address (agents on different ports):
            // traps are credited to the first by name.
            src_map
                .entry(super::trap::canonical(a.ip()))
                .or_insert_with(|| Source {
                    name: ap.spec.name.clone(),
                    profile: ap.spec.profile.clone(),
                    community: ap.spec.snmp.community().map(str::to_string),
                });
        }
        if let Some(c) = &ap.spec.controller {
            managed.entry(c.clone()).or_default().push(ap.clone());
        }
        if ap.spec.snmp == SnmpSecret::None {
            // Polled through its controller, or inventory only.
            continue;
        }
        seen.insert(ap.id);
        match targets.get_mut(&ap.id) {
            Some(t) => {
                t.ap = ap;
                t.addr = addr;
            }
            None => {
                let state = PollState {
                    status: Status::parse(&ap.status),
                    failures: u32::try_from(ap.failures).unwrap_or(0),
                };
                targets.insert(
                    ap.id,
                    Target {
                        next_due: now + offset(ap.id, ctx.cfg.interval),
                        ap,
                        addr,
                        running: Arc::new(AtomicBool::new(false)),
                        state: Arc::new(Mutex::new(state)),
                    },
                );
            }
        }
    }
    targets.retain(|id, _| seen.contains(id));
    ctx.stats.devices.retain(&names);
    sources.replace(src_map);
    if let Ok(mut m) = ctx.managed.write() {
        *m = managed;
    }
}

async fn write_loop(store: Store, mut rx: mpsc::Receiver<PollRecord>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        if let Err(e) = store.samples().record(&batch).await {
            tracing::warn!(error = %e, polls = batch.len(), "cannot store poll results");
        }
    }
}

fn profile_for<'a>(profiles: &'a Profiles, name: &str) -> Option<&'a Profile> {
    profiles.get(name).or_else(|| profiles.get(GENERIC_PROFILE))
}

/// Polls one device once and records what it found.
#[tracing::instrument(level = "debug", skip_all, fields(ap = %addr, profile = %profile.name))]
pub async fn poll_device(
    addr: SocketAddr,
    creds: &Credentials,
    profile: &Profile,
    opts: RequestOptions,
    stats: Arc<SnmpStats>,
) -> Result<PollResult, super::client::SnmpError> {
    let mut opts = opts;
    if let Some(m) = profile.snmp.max_repetitions {
        opts.max_repetitions = m;
    }
    let mut client = Client::connect(addr, creds, opts, stats).await?;
    collect::poll(&mut client, &profile.snmp).await
}

async fn poll_target(ctx: &PollCtx, ap: &Ap, addr: Option<SocketAddr>, state: &Mutex<PollState>) {
    let at_ms = now_ms();
    let name = ap.spec.name.as_str();
    let result = match (
        addr,
        credentials_of(&ap.spec.snmp),
        profile_for(&ctx.profiles, &ap.spec.profile),
    ) {
        (None, _, _) => Err(format!("cannot resolve {}", ap.spec.address)),
        (_, None, _) => Err("no SNMP credentials".to_string()),
        (_, _, None) => Err(format!("unknown profile {}", ap.spec.profile)),
        (Some(a), Some(creds), Some(p)) => {
            poll_device(a, &creds, p, ctx.cfg.request, ctx.stats.clone())
                .await
                .map_err(|e| e.to_string())
        }
    };
    let counter = if result.is_ok() {
        &ctx.stats.polls_ok
    } else {
        &ctx.stats.polls_failed
    };
    counter.inc();
    let mut reachable = result.is_ok();
    if !reachable {
        if let (Some(p), Some(a)) = (&ctx.pinger, addr) {
            reachable = p.ping(a.ip(), Duration::from_secs(1)).await;
        }
    }
    let (status, failures, changed) = {
        let Ok(mut s) = state.lock() else { return };
        let (st, f, ch) = reach::next(s.status, s.failures, reachable, ctx.cfg.down_after);
        s.status = st;
        s.failures = f;
        (st, f, ch)
    };
    if changed && status != Status::Unknown {
        let (kind, severity, message) = match status {
            Status::Up => ("ap-up", "info", format!("AP {name} is up")),
            _ => (
                "ap-down",
                "critical",
                format!(
                    "AP {name} is down after {failures} failed polls: {}",
                    result
                        .as_ref()
                        .err()
                        .map(String::as_str)
                        .unwrap_or("unreachable")
                ),
            ),
        };
        ctx.events.emit(EventRecord {
            at_ms,
            kind: kind.into(),
            source: name.into(),
            severity: severity.into(),
            message,
        });
    }
    let mut record = PollRecord {
        update: PollUpdate {
            ap_id: ap.id,
            at_ms,
            ok: result.is_ok(),
            status: status.as_str().into(),
            failures: i64::from(failures),
            error: result.as_ref().err().cloned(),
            ..PollUpdate::default()
        },
        ..PollRecord::default()
    };
    let mut radios_for_alerts = Vec::new();
    if let Ok(r) = &result {
        if ap.spec.profile == AUTO_PROFILE {
            detect_profile(ctx, ap, r, at_ms).await;
        }
        fill_record(&mut record, r, None);
        record.neighbours = neighbour_samples(r, at_ms);
        if ap.spec.kind == ApKind::Controller {
            controller_aps(ctx, ap, r, at_ms, &mut record).await;
        }
        radios_for_alerts = record.radios.clone();
    }
    let up = match status {
        Status::Unknown => None,
        s => Some(s == Status::Up),
    };
    alert(ctx, name, up, &radios_for_alerts, at_ms).await;
    gauges(ctx, name, up, &record);
    if ctx.records.try_send(record).is_err() {
        tracing::warn!(ap = name, "poll result queue full; result dropped");
    }
}

/// A controller's RRM neighbour rows, each reporter named by its MAC
/// (from the AP table where the row joins it), else its name.
fn neighbour_samples(r: &PollResult, at_ms: i64) -> Vec<crate::store::samples::NeighbourSample> {
    r.neighbours
        .iter()
        .filter_map(|n| {
            let row = r.aps.iter().find(|a| n.ap.matches(a));
            let reporter = row
                .and_then(|a| a.mac.clone().or(a.name.clone()))
                .or(n.ap.mac.clone())
                .or(n.ap.name.clone())?;
            let band = match n.channel? {
                1..=14 => "2.4",
                32..=177 => "5",
                _ => return None,
            };
            Some(crate::store::samples::NeighbourSample {
                reporter,
                neighbour: n.neighbour.clone()?,
                band: band.into(),
                channel: n.channel,
                rssi: n.rssi?,
                at_ms,
            })
        })
        .collect()
}

/// Copies a poll's findings into a record. `only` limits radios to one AP
/// row of a controller.
fn fill_record(record: &mut PollRecord, r: &PollResult, only: Option<&collect::ApRow>) {
    let u = &mut record.update;
    u.sys_name = r.system.name.clone();
    u.sys_descr = r.system.descr.clone();
    u.sys_object_id = r.system.object_id.clone();
    u.uptime_ticks = r.system.uptime_ticks.map(i64::from);
    u.model = r.system.model.clone();
    u.serial = r.system.serial.clone();
    u.firmware = r.system.firmware.clone();
    record.uptime_s = r.system.uptime_ticks.map(|t| i64::from(t) / 100);
    record.radios = r
        .radios
        .iter()
        .filter(|x| only.is_none_or(|ap| x.ap.matches(ap)))
        .map(|x| RadioSample {
            // On the AP's own record the radio is just its number or name.
            radio: if only.is_some() {
                x.radio.clone()
            } else {
                r.radio_label(x)
            },
            channel: x.channel,
            tx_power: x.tx_power,
            noise: x.noise,
            utilization: x.utilization,
            clients: x.clients,
        })
        .collect();
    // Two radios under one name (two 5 GHz radios named by band) stay two.
    let mut seen: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for r in &mut record.radios {
        let n = seen.entry(r.radio.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            r.radio = format!("{}#{n}", r.radio);
        }
    }
    record.update.clients = match only {
        Some(ap) => r.clients_of_ap(ap),
        None => r.total_clients(),
    };
    record.update.vaps = vaps_json(r, only);
    if only.is_none() {
        record.interfaces = r
            .interfaces
            .iter()
            .map(|i| IfSample {
                if_index: i.index.clone(),
                up: i.up,
                in_octets: i.in_octets.and_then(|n| i64::try_from(n).ok()),
                out_octets: i.out_octets.and_then(|n| i64::try_from(n).ok()),
            })
            .collect();
        record.clients = r
            .clients
            .iter()
            .map(|c| ClientSample {
                mac: c.mac.clone(),
                ip: c.ip.clone(),
                username: c.user.clone(),
                ap: c.ap.clone(),
                ssid: c.ssid.clone(),
                rssi: c.rssi,
                snr: c.snr,
            })
            .collect();
    }
}

/// The SSIDs a record's AP serves (its VAP rows; a controller's own record
/// also lists its WLANs), as JSON; None when the profile reads none.
fn vaps_json(r: &PollResult, only: Option<&collect::ApRow>) -> Option<String> {
    let mut list: Vec<serde_json::Value> = r
        .vaps
        .iter()
        .filter(|v| only.is_none_or(|ap| v.ap.matches(ap)))
        .map(|v| {
            serde_json::json!({
                "ap": if only.is_none() { r.ap_label(&v.ap) } else { None },
                "radio": v.radio, "ssid": v.ssid, "bssid": v.bssid,
                "clients": v.clients, "channel": v.channel,
            })
        })
        .collect();
    if only.is_none() {
        list.extend(r.wlans.iter().map(|w| {
            serde_json::json!({"ap": null, "radio": null, "ssid": w.ssid, "bssid": null,
                "clients": w.clients, "channel": null})
        }));
    }
    (!list.is_empty()).then(|| serde_json::Value::Array(list).to_string())
}

/// A profile found for an AP added without one (`auto`), from what its
/// first poll answered.
async fn detect_profile(ctx: &PollCtx, ap: &Ap, r: &PollResult, at_ms: i64) {
    let Some((p, why)) = collect::detect(
        &ctx.profiles,
        r.system.object_id.as_deref(),
        r.system.descr.as_deref(),
    ) else {
        return;
    };
    let kind = match p.snmp.role {
        crate::profiles::snmp::Role::Controller => ApKind::Controller,
        crate::profiles::snmp::Role::Ap => ApKind::Ap,
    };
    match ctx
        .store
        .aps()
        .set_detected_profile(ap.id, &p.name, kind)
        .await
    {
        Ok(true) => {}
        // Set meanwhile (by a person, or an earlier poll).
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot store the detected profile");
            return;
        }
    }
    ctx.events.emit(EventRecord {
        at_ms,
        kind: "profile-detected".into(),
        source: ap.spec.name.clone(),
        severity: "info".into(),
        message: format!("AP {} uses profile {} ({why})", ap.spec.name, p.name),
    });
}

/// A controller's AP table: adopted APs get their own status and radios;
/// the others are listed as discovered.
async fn controller_aps(
    ctx: &PollCtx,
    controller: &Ap,
    r: &PollResult,
    at_ms: i64,
    _own: &mut PollRecord,
) {
    let managed: Vec<Arc<Ap>> = ctx
        .managed
        .read()
        .ok()
        .and_then(|m| m.get(&controller.spec.name).cloned())
        .unwrap_or_default();
    for row in &r.aps {
        let adopted = managed.iter().find(|a| {
            (a.spec.mac.is_some() && a.spec.mac == row.mac)
                || (row.name.is_some() && row.name.as_deref() == Some(a.spec.name.as_str()))
        });
        match adopted {
            Some(a) => {
                // A controller that gives no status leaves the AP unknown.
                let status = match row.up {
                    Some(true) => "up",
                    Some(false) => "down",
                    None => "unknown",
                };
                let up = row.up;
                let mut rec = PollRecord {
                    update: PollUpdate {
                        ap_id: a.id,
                        at_ms,
                        // Unknown is not down: the radios are still stored.
                        ok: up != Some(false),
                        status: status.into(),
                        failures: i64::from(up == Some(false)),
                        error: (up == Some(false)).then(|| {
                            format!("controller reports status {}", row.status_raw.unwrap_or(0))
                        }),
                        ..PollUpdate::default()
                    },
                    ..PollRecord::default()
                };
                fill_record(&mut rec, r, Some(row));
                // The AP's own identity, not the controller's.
                rec.update.sys_name = row.name.clone();
                rec.update.sys_descr = None;
                rec.update.sys_object_id = None;
                rec.update.uptime_ticks = None;
                rec.uptime_s = None;
                rec.update.model = row.model.clone();
                rec.update.serial = row.serial.clone();
                rec.update.firmware = row.firmware.clone();
                if let (Some(up), true) =
                    (up, a.status != rec.update.status && a.status != "unknown")
                {
                    ctx.events.emit(EventRecord {
                        at_ms,
                        kind: if up { "ap-up" } else { "ap-down" }.into(),
                        source: a.spec.name.clone(),
                        severity: if up { "info" } else { "critical" }.into(),
                        message: format!(
                            "AP {} is {} (per controller {})",
                            a.spec.name, rec.update.status, controller.spec.name
                        ),
                    });
                }
                alert(ctx, &a.spec.name, up, &rec.radios.clone(), at_ms).await;
                gauges(ctx, &a.spec.name, up, &rec);
                let _ = ctx.records.try_send(rec);
            }
            None => {
                let d = Discovered {
                    id: 0,
                    kind: Some("ap".into()),
                    serial: row.serial.clone(),
                    address: row
                        .ip
                        .clone()
                        .unwrap_or_else(|| format!("{}/{}", controller.spec.name, row.index)),
                    via: controller.spec.name.clone(),
                    profile: Some(controller.spec.profile.clone()),
                    mac: row.mac.clone(),
                    sys_name: row.name.clone(),
                    sys_descr: None,
                    sys_object_id: None,
                    model: row.model.clone(),
                    seen_ms: at_ms,
                };
                if let Err(e) = ctx.store.aps().upsert_discovered(&d).await {
                    tracing::warn!(error = %e, "cannot record a discovered AP");
                }
            }
        }
    }
}

/// Exports a record's AP and radio values on `/metrics`.
fn gauges(ctx: &PollCtx, ap: &str, up: Option<bool>, record: &PollRecord) {
    let radios: Vec<(String, Option<i64>, Option<i64>)> = record
        .radios
        .iter()
        .map(|r| (r.radio.clone(), r.clients, r.utilization))
        .collect();
    ctx.stats
        .devices
        .observe(ap, up, record.update.clients, &radios);
}

async fn alert(ctx: &PollCtx, ap: &str, up: Option<bool>, radios: &[RadioSample], at_ms: i64) {
    let conditions = alerts::evaluate(ap, up, radios, &ctx.cfg.thresholds);
    let t = match ctx.alerts.lock() {
        Ok(mut open) => open.apply(conditions),
        Err(_) => return,
    };
    for c in t.raise {
        match ctx
            .store
            .alerts()
            .raise(ap, c.kind, &c.subject, c.severity, &c.message, at_ms)
            .await
        {
            Ok(true) => {
                ctx.events.emit(EventRecord {
                    at_ms,
                    kind: "alert-raised".into(),
                    source: ap.into(),
                    severity: c.severity.into(),
                    message: c.message.clone(),
                });
                notify(ctx, "raised", &c, ap, at_ms);
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot store alert"),
        }
    }
    for c in t.clear {
        match ctx
            .store
            .alerts()
            .clear(ap, c.kind, &c.subject, at_ms)
            .await
        {
            Ok(true) => {
                ctx.events.emit(EventRecord {
                    at_ms,
                    kind: "alert-cleared".into(),
                    source: ap.into(),
                    severity: "info".into(),
                    message: c.message.clone(),
                });
                notify(ctx, "cleared", &c, ap, at_ms);
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot clear alert"),
        }
    }
}

fn notify(ctx: &PollCtx, state: &str, c: &alerts::Condition, ap: &str, at_ms: i64) {
    let Some(url) = ctx.cfg.webhook.clone() else {
        return;
    };
    let body = serde_json::json!({
        "state": state, "kind": c.kind, "source": ap, "subject": c.subject,
        "severity": c.severity, "message": c.message, "at_ms": at_ms,
    })
    .to_string();
    tokio::spawn(async move {
        if let Err(e) = super::webhook::post(&url, &body, Duration::from_secs(5)).await {
            tracing::warn!(error = %e, "alert webhook failed");
        }
    });
}

//! Prometheus metrics, one registry per application instance (no globals,
//! so parallel tests each see their own counters).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NasCodeLabels {
    /// NAS name from the store (`unknown` for sources that are no NAS).
    pub nas: String,
    /// RADIUS code name, e.g. `Access-Accept`.
    pub code: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabels {
    pub listener: Cow<'static, str>,
    /// Why: unknown_nas, malformed, bad_authenticator, missing_message_authenticator,
    /// bad_message_authenticator, overload, timeout, unexpected_code, duplicate_in_progress.
    pub reason: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    pub listener: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub method: Cow<'static, str>,
    pub outcome: Cow<'static, str>,
}

/// One NAS's request and reply counters, one slot per RADIUS code below
/// 64: found once, then counted without building label strings and
/// hashing them for every packet.
pub struct NasCounters {
    nas: String,
    /// The last Access-Request's time (the BlastRADIUS view).
    pub last_request_ms: AtomicI64,
    /// Access-Requests, and those with a valid Message-Authenticator,
    /// counted since the last flush to the store (swapped to 0 by it).
    unflushed_requests: AtomicU64,
    unflushed_with_ma: AtomicU64,
    requests: Family<NasCodeLabels, Counter>,
    replies: Family<NasCodeLabels, Counter>,
    request_slots: [OnceLock<Counter>; 64],
    reply_slots: [OnceLock<Counter>; 64],
}

impl NasCounters {
    pub fn nas(&self) -> &str {
        &self.nas
    }

    /// One Access-Request; `with_ma`: it carried a valid
    /// Message-Authenticator.
    pub fn access_request(&self, with_ma: bool, now_ms: i64) {
        self.unflushed_requests.fetch_add(1, Ordering::Relaxed);
        if with_ma {
            self.unflushed_with_ma.fetch_add(1, Ordering::Relaxed);
        }
        self.last_request_ms.store(now_ms, Ordering::Relaxed);
    }

    /// (requests, with a valid Message-Authenticator) since the last call.
    pub fn take_unflushed(&self) -> (u64, u64) {
        (
            self.unflushed_requests.swap(0, Ordering::Relaxed),
            self.unflushed_with_ma.swap(0, Ordering::Relaxed),
        )
    }

    /// Gives back counts a failed flush could not store.
    pub fn restore_unflushed(&self, requests: u64, with_ma: u64) {
        self.unflushed_requests
            .fetch_add(requests, Ordering::Relaxed);
        self.unflushed_with_ma.fetch_add(with_ma, Ordering::Relaxed);
    }

    pub fn request(&self, code: u8) {
        self.count(&self.requests, &self.request_slots, code);
    }

    pub fn reply(&self, code: u8) {
        self.count(&self.replies, &self.reply_slots, code);
    }

    fn count(
        &self,
        family: &Family<NasCodeLabels, Counter>,
        slots: &[OnceLock<Counter>],
        code: u8,
    ) {
        let labels = || NasCodeLabels {
            nas: self.nas.clone(),
            code: Cow::Borrowed(radius::core::code::Code::from(code).string()),
        };
        match slots.get(usize::from(code)) {
            Some(slot) => slot
                .get_or_init(|| family.get_or_create(&labels()).clone())
                .inc(),
            None => family.get_or_create(&labels()).inc(),
        };
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CertLabels {
    /// Which certificate, e.g. `eap-server`.
    pub certificate: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApLabels {
    pub ap: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RadioLabels {
    pub ap: String,
    pub radio: String,
}

/// Per-AP and per-radio series at most (each); past the cap new APs and
/// radios are not exported and `snmp_series_dropped` counts them.
pub const MAX_DEVICE_SERIES: usize = 20_000;

/// The latest polled values of APs and radios as gauges. A value that is
/// unknown has no series (absent, never 0).
#[derive(Debug, Clone, Default)]
pub struct DeviceGauges {
    pub ap_up: Family<ApLabels, Gauge>,
    pub ap_clients: Family<ApLabels, Gauge>,
    pub radio_clients: Family<RadioLabels, Gauge>,
    pub radio_utilization: Family<RadioLabels, Gauge>,
    pub series_dropped: Counter,
    /// Series per family at most (0: [`MAX_DEVICE_SERIES`]).
    pub(crate) cap: usize,
    aps: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    radios: Arc<std::sync::Mutex<std::collections::HashSet<(String, String)>>>,
}

fn set_or_clear<L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug>(
    family: &Family<L, Gauge>,
    labels: &L,
    value: Option<i64>,
) {
    match value {
        Some(v) => {
            family.get_or_create(labels).set(v);
        }
        None => {
            family.remove(labels);
        }
    }
}

impl DeviceGauges {
    /// Drops the series of APs no longer in the inventory.
    pub fn retain(&self, inventory: &std::collections::HashSet<String>) {
        let gone_aps: Vec<String> = match self.aps.lock() {
            Ok(mut set) => {
                let gone: Vec<String> = set
                    .iter()
                    .filter(|a| !inventory.contains(*a))
                    .cloned()
                    .collect();
                for a in &gone {
                    set.remove(a);
                }
                gone
            }
            Err(_) => return,
        };
        for a in &gone_aps {
            let l = ApLabels { ap: a.clone() };
            self.ap_up.remove(&l);
            self.ap_clients.remove(&l);
        }
        self.forget_radios(|a, _| !inventory.contains(a));
    }

    /// Removes the radio series `gone` picks.
    fn forget_radios(&self, gone: impl Fn(&str, &str) -> bool) {
        let Ok(mut set) = self.radios.lock() else {
            return;
        };
        let old: Vec<(String, String)> = set.iter().filter(|(a, r)| gone(a, r)).cloned().collect();
        for k in old {
            set.remove(&k);
            let l = RadioLabels {
                ap: k.0,
                radio: k.1,
            };
            self.radio_clients.remove(&l);
            self.radio_utilization.remove(&l);
        }
    }

    /// After a poll: the AP's status (None = unknown), clients and radios
    /// (label, clients, utilization).
    pub fn observe(
        &self,
        ap: &str,
        up: Option<bool>,
        clients: Option<i64>,
        radios: &[(String, Option<i64>, Option<i64>)],
    ) {
        let cap = if self.cap == 0 {
            MAX_DEVICE_SERIES
        } else {
            self.cap
        };
        let admitted = match self.aps.lock() {
            Ok(mut set) => set.contains(ap) || (set.len() < cap && set.insert(ap.to_string())),
            Err(_) => false,
        };
        if !admitted {
            self.series_dropped.inc();
            return;
        }
        let labels = ApLabels { ap: ap.to_string() };
        set_or_clear(&self.ap_up, &labels, up.map(i64::from));
        set_or_clear(&self.ap_clients, &labels, clients);
        // Radios this AP no longer reports (or a failed poll): their series go.
        self.forget_radios(|a, r| a == ap && !radios.iter().any(|(x, _, _)| x == r));
        for (radio, clients, utilization) in radios {
            let key = (ap.to_string(), radio.clone());
            let admitted = match self.radios.lock() {
                Ok(mut set) => set.contains(&key) || (set.len() < cap && set.insert(key.clone())),
                Err(_) => false,
            };
            if !admitted {
                self.series_dropped.inc();
                continue;
            }
            let labels = RadioLabels {
                ap: key.0,
                radio: key.1,
            };
            set_or_clear(&self.radio_clients, &labels, *clients);
            set_or_clear(&self.radio_utilization, &labels, *utilization);
        }
    }
}

/// The SNMP poller's and trap receiver's counters (shared by cloning:
/// each `Counter` is one atomic).
#[derive(Debug, Clone, Default)]
pub struct SnmpCounters {
    /// The latest values per AP and radio.
    pub devices: DeviceGauges,
    pub requests: Counter,
    pub timeouts: Counter,
    pub retries: Counter,
    /// Replies that did not decode (bad BER, wrong lengths, ...).
    pub malformed: Counter,
    /// Replies to another request (wrong request id).
    pub stale: Counter,
    pub auth_failures: Counter,
    pub polls_ok: Counter,
    pub polls_failed: Counter,
    /// Poll cycles that started while the previous one still ran.
    pub missed_cycles: Counter,
    pub traps_received: Counter,
    pub traps_unknown_source: Counter,
    pub traps_malformed: Counter,
    pub traps_dropped: Counter,
}

impl SnmpCounters {
    fn register(&self, registry: &mut Registry) {
        let rows: [(&str, &Counter, &str); 13] = [
            (
                "snmp_requests",
                &self.requests,
                "SNMP requests sent (each attempt)",
            ),
            (
                "snmp_timeouts",
                &self.timeouts,
                "SNMP requests that timed out",
            ),
            ("snmp_retries", &self.retries, "SNMP requests retried"),
            (
                "snmp_malformed_replies",
                &self.malformed,
                "SNMP replies dropped as malformed",
            ),
            (
                "snmp_stale_replies",
                &self.stale,
                "SNMP replies dropped for a wrong request id",
            ),
            (
                "snmp_auth_failures",
                &self.auth_failures,
                "SNMPv3 security failures",
            ),
            ("snmp_polls_ok", &self.polls_ok, "AP polls that completed"),
            (
                "snmp_polls_failed",
                &self.polls_failed,
                "AP polls that failed",
            ),
            (
                "snmp_missed_cycles",
                &self.missed_cycles,
                "Poll cycles due while the previous still ran",
            ),
            (
                "snmp_traps_received",
                &self.traps_received,
                "Traps accepted",
            ),
            (
                "snmp_traps_unknown_source",
                &self.traps_unknown_source,
                "Traps dropped from unknown sources",
            ),
            (
                "snmp_traps_malformed",
                &self.traps_malformed,
                "Traps dropped as malformed",
            ),
            (
                "snmp_traps_dropped",
                &self.traps_dropped,
                "Traps dropped under overload",
            ),
        ];
        for (name, counter, help) in rows {
            registry.register(name, help, counter.clone());
        }
        let d = &self.devices;
        registry.register(
            "ap_up",
            "1 when the AP answered its last poll (or its controller says up), 0 when down; absent when unknown",
            d.ap_up.clone(),
        );
        registry.register(
            "ap_clients",
            "Clients on the AP at its last poll; absent when the device does not say",
            d.ap_clients.clone(),
        );
        registry.register(
            "radio_clients",
            "Clients on the radio at its last poll; absent when unknown",
            d.radio_clients.clone(),
        );
        registry.register(
            "radio_utilization_percent",
            "Channel utilization of the radio at its last poll; absent when unknown",
            d.radio_utilization.clone(),
        );
        registry.register(
            "snmp_series_dropped",
            "AP and radio series not exported because of the cardinality cap",
            d.series_dropped.clone(),
        );
    }
}

/// Every counter an operator would graph.
pub struct Metrics {
    registry: Registry,
    /// The SNMP counters alone, for `/metrics/snmp`.
    snmp_registry: Registry,
    pub snmp: SnmpCounters,
    pub radius_requests: Family<NasCodeLabels, Counter>,
    pub radius_replies: Family<NasCodeLabels, Counter>,
    pub radius_dropped: Family<DropLabels, Counter>,
    pub radius_duplicates: Family<ListenerLabels, Counter>,
    pub radius_latency: Family<ListenerLabels, Histogram>,
    pub radius_in_flight: Gauge,
    nas_counters: RwLock<HashMap<String, Arc<NasCounters>>>,
    pub auth_outcomes: Family<OutcomeLabels, Counter>,
    pub accounting_batches: Counter,
    pub accounting_rows: Counter,
    pub credential_cache_hits: Counter,
    pub credential_cache_misses: Counter,
    pub coa_results: Family<NasCodeLabels, Counter>,
    pub store_errors: Counter,
    pub eap_conversations: Gauge,
    pub eap_errors: Family<KindLabels, Counter>,
    pub certificate_days_left: Family<CertLabels, Gauge>,
    /// Audit rows not copied to syslog because the queue was full.
    pub audit_syslog_dropped: Counter,
    /// Every RADIUS request accepted from a NAS (the overview's rate).
    pub radius_requests_all: AtomicU64,
}

fn latency_histogram() -> Histogram {
    // 50 us .. ~3.3 s, doubling.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.00005, 2.0, 17,
    ))
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("portico");
        let snmp = SnmpCounters::default();
        snmp.register(&mut registry);
        let mut snmp_registry = Registry::with_prefix("portico");
        snmp.register(&mut snmp_registry);
        let radius_requests = Family::<NasCodeLabels, Counter>::default();
        let radius_replies = Family::<NasCodeLabels, Counter>::default();
        let radius_dropped = Family::<DropLabels, Counter>::default();
        let radius_duplicates = Family::<ListenerLabels, Counter>::default();
        let radius_latency = Family::<ListenerLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let radius_in_flight = Gauge::default();
        let auth_outcomes = Family::<OutcomeLabels, Counter>::default();
        let accounting_batches = Counter::default();
        let accounting_rows = Counter::default();
        let credential_cache_hits = Counter::default();
        let credential_cache_misses = Counter::default();
        let coa_results = Family::<NasCodeLabels, Counter>::default();
        let store_errors = Counter::default();
        let eap_conversations = Gauge::default();
        let eap_errors = Family::<KindLabels, Counter>::default();
        let certificate_days_left = Family::<CertLabels, Gauge>::default();
        let audit_syslog_dropped = Counter::default();
        registry.register(
            "audit_syslog_dropped",
            "Audit rows not copied to the syslog collector (queue full)",
            audit_syslog_dropped.clone(),
        );
        registry.register(
            "eap_conversations",
            "EAP conversations open now",
            eap_conversations.clone(),
        );
        registry.register(
            "eap_errors",
            "EAP messages rejected or dropped, per kind (malformed, unknown_state, wrong_identifier, ...)",
            eap_errors.clone(),
        );
        registry.register(
            "certificate_days_left",
            "Days until a certificate expires",
            certificate_days_left.clone(),
        );
        registry.register(
            "radius_requests",
            "RADIUS requests received, per NAS and code",
            radius_requests.clone(),
        );
        registry.register(
            "radius_replies",
            "RADIUS replies sent, per NAS and code",
            radius_replies.clone(),
        );
        registry.register(
            "radius_dropped",
            "RADIUS datagrams dropped, per listener and reason",
            radius_dropped.clone(),
        );
        registry.register(
            "radius_duplicates",
            "Retransmitted RADIUS requests answered from the reply cache",
            radius_duplicates.clone(),
        );
        registry.register(
            "radius_request_duration_seconds",
            "Time from datagram received to reply sent",
            radius_latency.clone(),
        );
        registry.register(
            "radius_in_flight",
            "RADIUS requests being handled now",
            radius_in_flight.clone(),
        );
        registry.register(
            "auth_results",
            "Authentication outcomes per method",
            auth_outcomes.clone(),
        );
        registry.register(
            "accounting_commits",
            "Accounting transactions committed",
            accounting_batches.clone(),
        );
        registry.register(
            "accounting_rows",
            "Accounting records committed",
            accounting_rows.clone(),
        );
        registry.register(
            "credential_cache_hits",
            "Password checks answered by the verified-credential cache",
            credential_cache_hits.clone(),
        );
        registry.register(
            "credential_cache_misses",
            "Password checks that needed the argon2id hash",
            credential_cache_misses.clone(),
        );
        registry.register(
            "coa_results",
            "CoA/Disconnect outcomes per NAS",
            coa_results.clone(),
        );
        registry.register(
            "store_errors",
            "Store operations that failed",
            store_errors.clone(),
        );
        Metrics {
            registry,
            snmp_registry,
            snmp,
            radius_requests,
            radius_replies,
            radius_dropped,
            radius_duplicates,
            radius_latency,
            radius_in_flight,
            nas_counters: RwLock::new(HashMap::new()),
            audit_syslog_dropped,
            radius_requests_all: AtomicU64::new(0),
            auth_outcomes,
            accounting_batches,
            accounting_rows,
            credential_cache_hits,
            credential_cache_misses,
            coa_results,
            store_errors,
            eap_conversations,
            eap_errors,
            certificate_days_left,
        }
    }

    pub fn dropped(&self, listener: &'static str, reason: &'static str) {
        self.radius_dropped
            .get_or_create(&DropLabels {
                listener: Cow::Borrowed(listener),
                reason: Cow::Borrowed(reason),
            })
            .inc();
    }

    /// Every NAS's counters seen since start, by name.
    pub fn all_nas_counters(&self) -> Vec<Arc<NasCounters>> {
        match self.nas_counters.read() {
            Ok(k) => k.values().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().values().cloned().collect(),
        }
    }

    /// The request/reply counters of the NAS called `nas`.
    pub fn nas_counters(&self, nas: &str) -> Arc<NasCounters> {
        if let Ok(known) = self.nas_counters.read() {
            if let Some(c) = known.get(nas) {
                return c.clone();
            }
        }
        let mut known = match self.nas_counters.write() {
            Ok(k) => k,
            Err(poisoned) => poisoned.into_inner(),
        };
        known
            .entry(nas.to_string())
            .or_insert_with(|| {
                Arc::new(NasCounters {
                    nas: nas.to_string(),
                    last_request_ms: AtomicI64::new(0),
                    unflushed_requests: AtomicU64::new(0),
                    unflushed_with_ma: AtomicU64::new(0),
                    requests: self.radius_requests.clone(),
                    replies: self.radius_replies.clone(),
                    request_slots: std::array::from_fn(|_| OnceLock::new()),
                    reply_slots: std::array::from_fn(|_| OnceLock::new()),
                })
            })
            .clone()
    }

    pub fn eap_error(&self, kind: &str) {
        self.eap_errors
            .get_or_create(&KindLabels {
                kind: kind.to_string(),
            })
            .inc();
    }

    /// Adds a module's own counters (already in exposition format, e.g. the
    /// SNMP poller's) to what `/metrics` serves.
    /// OpenMetrics text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// The SNMP counters alone.
    pub fn render_snmp(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.snmp_registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn device_series_are_absent_when_unknown_and_capped() {
        let d = DeviceGauges {
            cap: 2,
            ..DeviceGauges::default()
        };
        let mut registry = Registry::default();
        SnmpCounters {
            devices: d.clone(),
            ..SnmpCounters::default()
        }
        .register(&mut registry);
        let text = |r: &Registry| {
            let mut out = String::new();
            prometheus_client::encoding::text::encode(&mut out, r).unwrap();
            out
        };
        d.observe(
            "lobby",
            Some(true),
            Some(7),
            &[("1".into(), Some(3), Some(41)), ("2".into(), None, Some(9))],
        );
        let t = text(&registry);
        assert!(t.contains("ap_clients{ap=\"lobby\"} 7"), "{t}");
        assert!(
            t.contains("radio_clients{ap=\"lobby\",radio=\"1\"} 3"),
            "{t}"
        );
        assert!(
            !t.contains("radio_clients{ap=\"lobby\",radio=\"2\"}"),
            "{t}"
        );
        // Now unknown: the series goes rather than showing 0.
        d.observe("lobby", None, None, &[("1".into(), None, Some(40))]);
        let t = text(&registry);
        assert!(
            !t.contains("ap_clients{ap=\"lobby\"}") && !t.contains("ap_up{ap=\"lobby\"}"),
            "{t}"
        );
        // The cap: a third AP and a third radio are counted, not exported.
        d.observe("hall", Some(false), Some(0), &[]);
        d.observe("attic", Some(true), Some(1), &[]);
        d.observe(
            "lobby",
            Some(true),
            Some(1),
            &[
                ("1".into(), Some(1), None),
                ("2".into(), Some(1), None),
                ("3".into(), Some(1), None),
            ],
        );
        let t = text(&registry);
        assert!(
            t.contains("ap_up{ap=\"hall\"} 0") && !t.contains("attic"),
            "{t}"
        );
        assert!(!t.contains("radio=\"3\""), "{t}");
        assert_eq!(d.series_dropped.get(), 2);
        // An AP removed from the inventory takes its series with it.
        d.retain(&["hall".to_string()].into_iter().collect());
        let t = text(&registry);
        assert!(
            !t.contains("lobby") && t.contains("ap_up{ap=\"hall\"} 0"),
            "{t}"
        );
    }
    use super::*;

    #[test]
    fn snmp_counters_are_series_of_the_one_registry() {
        let m = Metrics::new();
        let shared = m.snmp.clone();
        shared.polls_ok.inc();
        shared.traps_received.inc();
        let text = m.render();
        assert!(text.contains("portico_snmp_polls_ok_total 1"), "{text}");
        assert!(
            text.contains("# HELP portico_snmp_traps_received Traps accepted."),
            "{text}"
        );
        assert_eq!(text.matches("# EOF").count(), 1);
        let snmp = m.render_snmp();
        assert!(snmp.contains("portico_snmp_polls_ok_total 1"), "{snmp}");
        assert!(!snmp.contains("radius"), "{snmp}");
    }
}

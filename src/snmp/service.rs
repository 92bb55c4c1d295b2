//! Wiring for `serve`: the monitor (scheduler), the trap receiver and the
//! event writer, started together and stopped by one token.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::alerts::Thresholds;
use super::client::{AuthProtocol, PrivProtocol, RequestOptions, SnmpStats};
use super::events;
use super::scheduler::{Monitor, MonitorConfig, Reachability};
use super::trap::{Sources, TrapReceiver};
use crate::config::{ReachabilityMode, SnmpConfig, SnmpTrapUser};
use crate::profiles::Profiles;
use crate::store::samples::SampleRetention;
use crate::store::Store;

pub struct SnmpService {
    pub stats: Arc<SnmpStats>,
    metrics: Arc<crate::metrics::Metrics>,
    tasks: Vec<JoinHandle<()>>,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn nonzero(v: i64) -> Option<i64> {
    (v != 0).then_some(v)
}

pub fn monitor_config(c: &SnmpConfig) -> MonitorConfig {
    MonitorConfig {
        interval: c.poll_interval,
        concurrency: c.concurrency,
        down_after: c.down_after,
        request: RequestOptions {
            timeout: c.timeout,
            retries: c.retries,
            max_repetitions: c.max_repetitions,
            ..RequestOptions::default()
        },
        refresh: c.refresh_interval,
        reachability: match c.reachability {
            ReachabilityMode::Auto => Reachability::Auto,
            ReachabilityMode::Icmp => Reachability::Icmp,
            ReachabilityMode::Snmp => Reachability::Snmp,
        },
        thresholds: Thresholds {
            utilization: nonzero(c.alert_utilization),
            clients_per_radio: nonzero(c.alert_clients_per_radio),
            noise_floor: nonzero(c.alert_noise_floor),
        },
        retention: SampleRetention {
            raw_ms: ms(c.keep_raw),
            five_min_ms: ms(c.keep_five_minute),
            hourly_ms: ms(c.keep_hourly),
        },
        downsample_every: Duration::from_secs(600),
        webhook: c.alert_webhook.clone(),
    }
}

/// The codec's security for a configured trap user.
pub fn trap_security(u: &SnmpTrapUser) -> Option<snmp2::v3::Security> {
    let auth = if u.auth_protocol.is_empty() {
        None
    } else {
        Some((
            AuthProtocol::parse(&u.auth_protocol)?,
            u.auth_password.expose().to_string(),
        ))
    };
    let privacy = if u.priv_protocol.is_empty() {
        None
    } else {
        Some((
            PrivProtocol::parse(&u.priv_protocol)?,
            u.priv_password.expose().to_string(),
        ))
    };
    let user = super::client::V3User {
        user: u.user.clone(),
        auth,
        privacy,
    };
    super::client::Credentials::security_for(&user).ok()
}

impl SnmpService {
    /// Starts polling and, when a socket is given, the trap receiver.
    pub fn start(
        config: &SnmpConfig,
        store: Store,
        profiles: Arc<Profiles>,
        trap_socket: Option<Arc<UdpSocket>>,
        metrics: Arc<crate::metrics::Metrics>,
        shutdown: CancellationToken,
    ) -> SnmpService {
        let stats = Arc::new(metrics.snmp.clone());
        let sources = Arc::new(Sources::default());
        let (sink, writer) = events::spawn_writer(store.clone(), 65_536);
        let mut tasks = vec![writer];
        let monitor = Monitor {
            store,
            profiles: profiles.clone(),
            cfg: monitor_config(config),
            stats: stats.clone(),
            events: sink.clone(),
            sources: sources.clone(),
        };
        tasks.push(tokio::spawn(monitor.run(shutdown.clone())));
        if let Some(socket) = trap_socket {
            let users = config.trap_users.iter().filter_map(trap_security).collect();
            let receiver = TrapReceiver {
                socket,
                sources,
                profiles,
                users,
                stats: stats.clone(),
                events: sink,
            };
            tasks.push(tokio::spawn(receiver.run(shutdown)));
        }
        SnmpService {
            stats,
            tasks,
            metrics,
        }
    }

    /// `GET /metrics/snmp`: the SNMP counters alone (they are also in
    /// `/metrics`).
    pub fn routes(&self) -> Router {
        let metrics = self.metrics.clone();
        Router::new().route(
            "/metrics/snmp",
            get(move || {
                let metrics = metrics.clone();
                async move { metrics.render_snmp() }
            }),
        )
    }

    /// Waits for the tasks (after the shutdown token fired).
    pub async fn join(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

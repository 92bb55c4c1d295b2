//! Wiring: builds the store, services and listeners, runs them, and shuts
//! them down in order (listeners drain, then the writers flush).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::admin::accounts::{Accounts, Created};
use crate::admin::audit::Auditor;
use crate::admin::syslog::SyslogForwarder;
use crate::clock::Clock;
use crate::config::{Config, Secret};
pub mod http;

use crate::metrics::{CertLabels, Metrics};
use crate::pki::certs as tls_certs;
use crate::profiles::{ProfileError, Profiles};
use crate::radius::accounting::{AccountingWriter, AuthLogWriter};
use crate::radius::auth::AuthService;
use crate::radius::directory::{Directory, Snapshot};
use crate::radius::dupcache::DuplicateCache;
use crate::radius::eap::EapService;
use crate::radius::server::{self, ListenerKind, RadiusContext, RateLimitedLog};
use crate::store::{PoolSettings, Store, StoreError};
use http::HttpState;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen for {name} on {addr}: {source}")]
    Bind {
        name: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("vendor profiles: {0}")]
    Profiles(#[from] ProfileError),
    #[error("dictionary: {0}")]
    Dictionary(#[from] crate::radius::dictionary::DictionaryError),
    #[error("EAP certificates: {0}")]
    Certificates(#[from] crate::pki::certs::CertError),
    #[error("EAP: {0}")]
    Eap(#[from] crate::radius::eap::EapSetupError),
    #[error("{0}")]
    Other(String),
}

pub struct Application {
    config: Config,
    store: Store,
    metrics: Arc<Metrics>,
    profiles: Arc<Profiles>,
    directory: Arc<Directory>,
    http: TcpListener,
    radius_auth: Arc<UdpSocket>,
    radius_acct: Arc<UdpSocket>,
    eap: Option<Arc<EapService>>,
    /// The portal's HTTPS listener and its TLS configuration.
    portal_https: Option<(TcpListener, Arc<rustls::ServerConfig>)>,
    /// The management listener, and its TLS configuration unless
    /// `admin.tls = false`.
    admin: (TcpListener, Option<Arc<rustls::ServerConfig>>),
    /// SNMP trap receiver (when `snmp.enabled`).
    snmp_trap: Option<Arc<UdpSocket>>,
    /// Set on the first start only: the administrator accounts made and
    /// their generated passwords, to be shown once.
    pub initial_admins: Vec<Created>,
    auditor: Auditor,
}

/// Opens the store named by the config (creating and migrating it).
pub async fn open_store(config: &Config) -> Result<Store, StoreError> {
    Store::open_with(
        config
            .database
            .url
            .as_ref()
            .map(Secret::expose)
            .unwrap_or(""),
        &config.data_dir,
        PoolSettings {
            max_connections: config.database.max_connections,
            sqlite_thread_nice: config.database.sqlite_thread_nice,
        },
    )
    .await
}

/// The compiled-in vendor profiles, with the files of `profiles.dir` added
/// or replacing built-in ones of the same file name. Dictionaries named in
/// `radius.dictionaries` extend the built-in standard attributes.
pub fn load_profiles(config: &Config) -> Result<Profiles, AppError> {
    let dir = &config.profiles.dir;
    let dir = (!dir.as_os_str().is_empty()).then_some(dir.as_path());
    let system = if config.radius.dictionaries.is_empty() {
        None
    } else {
        let mut dict = crate::radius::dictionary::standard().clone();
        for path in &config.radius.dictionaries {
            dict.merge(crate::radius::dictionary::Dictionary::load_file(path)?);
        }
        Some(Arc::new(dict))
    };
    Ok(Profiles::load(dir, system)?)
}

/// The audit writer, with its syslog copy when `admin.audit_syslog` is set.
pub fn auditor(config: &Config, store: &Store, metrics: &Metrics) -> Auditor {
    let forward = config
        .admin
        .audit_syslog
        .clone()
        .map(|target| SyslogForwarder::start(target, metrics.audit_syslog_dropped.clone()));
    Auditor::new(store.clone(), Clock::System, forward)
}

async fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, AppError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| AppError::Bind {
            name: "http",
            addr,
            source,
        })
}

fn bind_udp(name: &'static str, addr: SocketAddr) -> Result<Arc<UdpSocket>, AppError> {
    server::bind_udp(addr)
        .or_else(|e| {
            // A host without IPv6 still serves IPv4 on the default "[::]".
            if addr.ip().is_unspecified() && addr.is_ipv6() {
                server::bind_udp(SocketAddr::from(([0, 0, 0, 0], addr.port())))
            } else {
                Err(e)
            }
        })
        .map(Arc::new)
        .map_err(|source| AppError::Bind { name, addr, source })
}

impl Application {
    /// Binds every socket; port 0 picks a free port (see `listeners`).
    pub async fn build(config: Config) -> Result<Application, AppError> {
        let store = open_store(&config).await?;
        let metrics = Arc::new(Metrics::new());
        let auditor = auditor(&config, &store, &metrics);
        let initial_admins =
            Accounts::new(store.clone(), auditor.clone(), config.admin.role_separation)
                .ensure_initial()
                .await
                .map_err(|e| AppError::Other(format!("first administrator accounts: {e}")))?;
        let profiles = Arc::new(load_profiles(&config)?);
        let directory = Arc::new(Directory::new(Snapshot::load(&store).await?));
        let http = bind_tcp(config.http.listen).await?;
        let radius_auth = bind_udp("radius-auth", config.radius.auth_listen)?;
        let radius_acct = bind_udp("radius-acct", config.radius.acct_listen)?;
        let eap = build_eap(&config, &metrics)?;
        let portal_https = bind_portal_https(&config).await?;
        let admin = bind_admin(&config).await?;
        if config.portal.enabled
            && config.portal.client_check == crate::config::portal::ClientCheck::Off
        {
            tracing::warn!(
                "portal.client_check = \"off\": a sign-in link naming another device's MAC lets that device in \
                 (RADIUS MAC and gateway profiles); use it only where the portal cannot see client addresses"
            );
        }
        let snmp_trap = if config.snmp.enabled {
            Some(bind_udp("snmp-trap", config.snmp.trap_listen)?)
        } else {
            None
        };
        Ok(Application {
            config,
            store,
            metrics,
            profiles,
            directory,
            http,
            radius_auth,
            radius_acct,
            eap,
            portal_https,
            admin,
            snmp_trap,
            initial_admins,
            auditor,
        })
    }

    /// `(name, address)` of every listener, as bound.
    pub fn listeners(&self) -> Vec<(&'static str, SocketAddr)> {
        let mut out = Vec::new();
        if let Ok(a) = self.http.local_addr() {
            out.push(("http", a));
        }
        if let Ok(a) = self.radius_auth.local_addr() {
            out.push((ListenerKind::Auth.name(), a));
        }
        if let Ok(a) = self.radius_acct.local_addr() {
            out.push((ListenerKind::Acct.name(), a));
        }
        if let Some(Ok(a)) = self.portal_https.as_ref().map(|(l, _)| l.local_addr()) {
            out.push(("portal-https", a));
        }
        if let Ok(a) = self.admin.0.local_addr() {
            out.push(("admin", a));
        }
        if let Some(Ok(a)) = self.snmp_trap.as_ref().map(|s| s.local_addr()) {
            out.push(("snmp-trap", a));
        }
        out
    }

    /// Where the dashboard answers (the management listener), e.g.
    /// `https://127.0.0.1:8443/`; an unspecified bind address shows as
    /// this host's loopback address.
    pub fn dashboard_url(&self) -> Option<String> {
        let mut addr = self.admin.0.local_addr().ok()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        let scheme = if self.admin.1.is_some() {
            "https"
        } else {
            "http"
        };
        Some(format!("{scheme}://{addr}/"))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), AppError> {
        let Application {
            config,
            store,
            metrics,
            profiles,
            directory,
            http,
            radius_auth,
            radius_acct,
            eap,
            portal_https,
            admin,
            snmp_trap,
            auditor,
            ..
        } = self;
        let portal_profiles = profiles.clone();
        let snmp = config.snmp.enabled.then(|| {
            crate::snmp::service::SnmpService::start(
                &config.snmp,
                store.clone(),
                profiles.clone(),
                snmp_trap,
                metrics.clone(),
                shutdown.clone(),
            )
        });
        let rc = &config.radius;
        let (accounting, acct_writer) =
            AccountingWriter::spawn(store.clone(), rc.accounting_batch, metrics.clone());
        let (auth_log, log_writer) = AuthLogWriter::spawn(store.clone(), metrics.clone());
        let ctx = Arc::new(RadiusContext {
            directory: directory.clone(),
            profiles,
            metrics: metrics.clone(),
            auth: AuthService::new(store.clone(), rc.credential_cache, metrics.clone())
                .with_lockout(crate::lockout::AccountLockout::new(
                    store.clone(),
                    (&config.portal.account_lockout).into(),
                )),
            eap: eap.clone(),
            accounting,
            auth_log,
            in_flight: Arc::new(Semaphore::new(rc.max_in_flight)),
            max_in_flight: rc.max_in_flight,
            request_timeout: rc.request_timeout,
            unknown_nas_log: RateLimitedLog::new(Duration::from_secs(10)),
        });
        let background = CancellationToken::new();
        let refresher = tokio::spawn(refresh_loop(
            store.clone(),
            directory,
            rc.refresh_interval,
            background.clone(),
        ));
        let pruner = tokio::spawn(prune_loop(
            store.clone(),
            auditor.clone(),
            config.admin.idle_timeout,
            config.retention.days,
            config.retention.prune_interval,
            background.clone(),
        ));
        tokio::spawn(coverage_alert_loop(
            store.clone(),
            config.coverage.clone(),
            background.clone(),
        ));
        let nas_stats = tokio::spawn(nas_stats_loop(
            store.clone(),
            metrics.clone(),
            background.clone(),
        ));
        let eap_sweeper = eap.map(|eap| {
            tokio::spawn(eap_sweep_loop(
                eap,
                config.eap.clone(),
                metrics.clone(),
                background.clone(),
            ))
        });
        let dup_entries = DuplicateCache::entries_for(rc.max_in_flight, rc.duplicate_window);
        let auth_dups = Arc::new(DuplicateCache::new(rc.duplicate_window, dup_entries));
        let acct_dups = Arc::new(DuplicateCache::new(rc.duplicate_window, dup_entries));
        let auth_listener = tokio::spawn(server::serve(
            ListenerKind::Auth,
            radius_auth,
            ctx.clone(),
            auth_dups,
            shutdown.clone(),
        ));
        let acct_listener = tokio::spawn(server::serve(
            ListenerKind::Acct,
            radius_acct,
            ctx.clone(),
            acct_dups,
            shutdown.clone(),
        ));
        drop(ctx);
        let https_port = portal_https
            .as_ref()
            .and_then(|(l, _)| l.local_addr().ok())
            .map(|a| a.port());
        let sso_state = sso_state(&config, &store).await?;
        if let Some(sso) = &sso_state {
            tokio::spawn(crate::sso::backchannel::run(
                sso.clone(),
                background.clone(),
            ));
        }
        let portal = portal_state(
            &config,
            &store,
            portal_profiles,
            https_port,
            sso_state.clone(),
        )
        .await?;
        if portal.is_some() {
            tokio::spawn(crate::portal::maintenance(
                store.clone(),
                config.retention.days,
                config.retention.prune_interval,
                config.portal.expiry_check,
                shutdown.clone(),
            ));
        }
        let http_state = HttpState {
            store: store.clone(),
            metrics,
        };
        // With an https issuer and Portico's own HTTPS listener, the
        // provider (passwords, tokens) is served only there; plain HTTP
        // is sent on to the issuer (308). Without an HTTPS listener a
        // reverse proxy terminates TLS and forwards plain HTTP: served.
        let https_only = portal_https.is_some()
            && sso_state
                .as_ref()
                .is_some_and(|s| s.issuer.starts_with("https://"));
        let sso_http = match &sso_state {
            Some(s) if https_only => crate::sso::https_redirect(s),
            Some(s) => crate::sso::router(s.clone()),
            None => axum::Router::new(),
        };
        let sso = sso_state.map(crate::sso::router).unwrap_or_default();
        let portal_https_task = portal_https.map(|(listener, tls)| {
            let router = http::portal_router(http_state.clone(), portal.clone(), true, sso, true);
            spawn_https("portal-https", listener, tls, router, shutdown.clone())
        });
        let router = http::portal_router(http_state.clone(), portal, false, sso_http, !https_only);
        let http_task = spawn_http("http", http, router, shutdown.clone());
        let dashboard = crate::admin::web::router(crate::admin::web::AdminState::new(
            store.clone(),
            Arc::new(config.clone()),
            auditor.clone(),
            http_state.metrics.clone(),
        ));
        let admin_router = http::admin_router(
            http_state,
            config
                .admin
                .metrics_token
                .as_ref()
                .map(|t| t.expose().to_string()),
            snmp.as_ref().map(|s| s.routes()).unwrap_or_default(),
        )
        .merge(dashboard);
        let (admin_listener, admin_tls) = admin;
        let admin_task = match admin_tls {
            Some(tls) => spawn_https("admin", admin_listener, tls, admin_router, shutdown.clone()),
            None => spawn_http("admin", admin_listener, admin_router, shutdown.clone()),
        };

        shutdown.cancelled().await;
        tracing::info!("shutting down: draining requests in flight");
        let _ = auth_listener.await;
        let _ = acct_listener.await;
        // The listeners held the writers' senders; with them gone the
        // writers commit what is queued and stop.
        let _ = acct_writer.await;
        let _ = log_writer.await;
        background.cancel();
        let _ = refresher.await;
        let _ = pruner.await;
        let _ = nas_stats.await;
        if let Some(s) = snmp {
            s.join().await;
        }
        if let Some(t) = eap_sweeper {
            let _ = t.await;
        }
        for task in [Some(http_task), Some(admin_task), portal_https_task]
            .into_iter()
            .flatten()
        {
            if tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .is_err()
            {
                tracing::warn!("an HTTP listener did not stop in time");
            }
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Loads (or on first start creates) the EAP certificates and says where
/// the CA for devices is.
fn build_eap(config: &Config, metrics: &Arc<Metrics>) -> Result<Option<Arc<EapService>>, AppError> {
    if !config.eap.enabled {
        return Ok(None);
    }
    let material = tls_certs::load(&config.eap, &config.data_dir)?;
    if let Some(ca) = &material.generated_ca {
        tracing::info!(ca = %ca.display(), "EAP uses the private CA; install this file on devices as the trusted CA");
    }
    check_certificate_expiry(&config.eap, material.server_not_after, metrics);
    Ok(Some(Arc::new(EapService::new(
        &config.eap,
        &material,
        metrics.clone(),
    )?)))
}

/// Days left on the EAP server certificate: always in the metric, in the
/// log when within the warning period.
fn check_certificate_expiry(
    eap: &crate::config::EapConfig,
    not_after: Option<i64>,
    metrics: &Metrics,
) {
    let Some(not_after) = not_after else {
        return;
    };
    let days = tls_certs::days_left(not_after, chrono::Utc::now().timestamp());
    metrics
        .certificate_days_left
        .get_or_create(&CertLabels {
            certificate: "eap-server".into(),
        })
        .set(days);
    if days < 0 {
        tracing::error!(
            days_ago = -days,
            "the EAP server certificate has expired; devices will refuse it"
        );
    } else if days <= i64::from(eap.expiry_warning_days) {
        tracing::warn!(
            days_left = days,
            "the EAP server certificate expires soon; renew it"
        );
    }
}

async fn eap_sweep_loop(
    eap: Arc<EapService>,
    config: crate::config::EapConfig,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    let period = crate::radius::eap::sweep_interval(config.idle_timeout);
    let mut last_expiry_check = std::time::Instant::now();
    crate::periodic::every(period, stop, || {
        let evicted = eap.sweep();
        if evicted > 0 {
            tracing::debug!(evicted, "idle EAP conversations dropped");
        }
        if last_expiry_check.elapsed() >= Duration::from_secs(86_400) {
            last_expiry_check = std::time::Instant::now();
            check_certificate_expiry(&config, eap.certificate_not_after(), &metrics);
        }
        std::future::ready(())
    })
    .await;
}

async fn refresh_loop(
    store: Store,
    directory: Arc<Directory>,
    every: Duration,
    stop: CancellationToken,
) {
    crate::periodic::every(every, stop, || async {
        match directory.refresh(&store).await {
            Ok(true) => tracing::debug!("reloaded users, groups, NAS clients and devices"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "refreshing the directory failed; keeping the last snapshot")
            }
        }
    })
    .await;
}

/// How often each node adds its per-NAS Access-Request counts to the store.
const NAS_STATS_EVERY: Duration = Duration::from_secs(10);

/// Adds this node's Access-Request counts (and how many carried a valid
/// Message-Authenticator) since the last flush to the NAS's hour in the
/// store, where every node's add up (the dashboard's BlastRADIUS view).
pub async fn flush_nas_stats(store: &Store, metrics: &Metrics) {
    let now = crate::clock::now_ms();
    let hour = now - now.rem_euclid(3_600_000);
    for c in metrics.all_nas_counters() {
        let (requests, with_ma) = c.take_unflushed();
        if requests == 0 {
            continue;
        }
        let stats = crate::store::nas::RequestStats {
            requests: i64::try_from(requests).unwrap_or(i64::MAX),
            with_ma: i64::try_from(with_ma).unwrap_or(i64::MAX),
            last_ms: c.last_request_ms.load(std::sync::atomic::Ordering::Relaxed),
        };
        if let Err(e) = store.nas().add_request_stats(c.nas(), hour, stats).await {
            tracing::debug!(nas = c.nas(), error = %e, "storing NAS request counts failed; kept for the next try");
            c.restore_unflushed(requests, with_ma);
        }
    }
}

async fn nas_stats_loop(store: Store, metrics: Arc<Metrics>, stop: CancellationToken) {
    crate::periodic::every(NAS_STATS_EVERY, stop, || flush_nas_stats(&store, &metrics)).await;
    flush_nas_stats(&store, &metrics).await;
}

/// The OpenID Connect provider when the portal runs and an issuer is
/// known; its first signing key is made here.
async fn sso_state(
    config: &Config,
    store: &Store,
) -> Result<Option<Arc<crate::sso::SsoState>>, AppError> {
    let issuer = config.sso.issuer_of(config.portal.public_url.as_deref());
    let (true, Some(issuer)) = (config.portal.enabled, issuer) else {
        return Ok(None);
    };
    if crate::sso::ensure_key(store)
        .await
        .map_err(|e| AppError::Other(format!("sso: {e}")))?
    {
        tracing::info!("made the OpenID Connect provider's first signing key");
    }
    tracing::info!(%issuer, "OpenID Connect provider");
    Ok(Some(Arc::new(crate::sso::SsoState::new(
        store.clone(),
        issuer,
        &config.sso,
        crate::clock::Clock::System,
    ))))
}

/// Holes in the floors' coverage as alerts, raised and cleared.
async fn coverage_alert_loop(
    store: Store,
    cfg: crate::config::CoverageConfig,
    stop: CancellationToken,
) {
    crate::periodic::every(cfg.alert_interval, stop, || async {
        match crate::coverage::service::sync_hole_alerts(&store, &cfg, crate::clock::now_ms()).await
        {
            Ok(s) if s.raised + s.cleared > 0 => {
                tracing::info!(
                    floors = s.floors,
                    raised = s.raised,
                    cleared = s.cleared,
                    "coverage hole alerts"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "coverage hole alerts failed"),
        }
    })
    .await;
}

async fn prune_loop(
    store: Store,
    auditor: Auditor,
    admin_idle: Duration,
    days: u32,
    every: Duration,
    stop: CancellationToken,
) {
    crate::periodic::every(every, stop, || async {
        let before = crate::clock::now_ms() - i64::from(days) * 86_400_000;
        // The audit trail is kept as long as the logs; its prune is a row.
        match auditor.prune(before).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, days, "pruned audit rows past retention"),
            Err(e) => tracing::warn!(error = %e, "pruning the audit trail failed"),
        }
        let idle_ms = i64::try_from(admin_idle.as_millis()).unwrap_or(i64::MAX);
        if let Err(e) = store
            .admin_sessions()
            .prune(crate::clock::now_ms(), idle_ms)
            .await
        {
            tracing::debug!(error = %e, "pruning ended dashboard sessions failed");
        }
        // The BlastRADIUS view looks back 24 hours; a month is kept.
        let month_ago = crate::clock::now_ms() - 31 * 86_400_000;
        if let Err(e) = store.nas().prune_request_stats(month_ago).await {
            tracing::debug!(error = %e, "pruning NAS request counts failed");
        }
        match store.prune(before).await {
            Ok(r) => tracing::info!(
                auth_log = r.auth_log,
                sessions = r.sessions,
                accounting_records = r.accounting_records,
                events = r.events,
                days,
                "pruned records past retention"
            ),
            Err(e) => tracing::warn!(error = %e, "pruning failed"),
        }
    })
    .await;
}

/// The portal's shared state (None when `portal.enabled` is false).
async fn portal_state(
    config: &Config,
    store: &Store,
    profiles: Arc<Profiles>,
    https_port: Option<u16>,
    sso: Option<Arc<crate::sso::SsoState>>,
) -> Result<Option<Arc<crate::portal::PortalState>>, AppError> {
    if !config.portal.enabled {
        return Ok(None);
    }
    let keys = crate::portal::tokens::PortalKeys::load_or_create(&config.data_dir)
        .map_err(|e| AppError::Other(e.to_string()))?;
    let mut state =
        crate::portal::PortalState::new(store.clone(), profiles, config.portal.clone(), keys);
    state.coa_timeout = config.radius.coa_timeout;
    state.https_port = https_port;
    state.coa_attempts = config.radius.coa_attempts;
    state.coverage = config.coverage.clone();
    state.sso = sso;
    let gw = &config.portal.gateway;
    if gw.enabled {
        let gateway = crate::gateway::Gateway::new(
            &gw.interface,
            &gw.nft_table,
            gw.portal_port,
            &gw.walled_garden,
        )
        .map_err(|e| AppError::Other(format!("portal gateway: {e}")))?;
        gateway
            .install()
            .await
            .map_err(|e| AppError::Other(format!("portal gateway: {e}")))?;
        tracing::info!(interface = %gw.interface, table = %gw.nft_table, "gateway mode: nftables table installed");
        state.gateway = Some(gateway);
    }
    Ok(Some(Arc::new(state)))
}

/// Binds the portal's HTTPS listener and loads its certificate.
async fn bind_portal_https(
    config: &Config,
) -> Result<Option<(TcpListener, Arc<rustls::ServerConfig>)>, AppError> {
    let Some(addr) = config.portal.https_listen else {
        return Ok(None);
    };
    if !config.portal.enabled {
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (&config.portal.tls_cert, &config.portal.tls_key) else {
        return Err(AppError::Other(
            "portal.https_listen needs portal.tls_cert and portal.tls_key".into(),
        ));
    };
    let tls = crate::tls::server_config(cert, key)
        .map_err(|e| AppError::Other(format!("portal HTTPS: {e}")))?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| AppError::Bind {
            name: "portal-https",
            addr,
            source,
        })?;
    Ok(Some((listener, tls)))
}

/// Serves `router` over TLS on `listener` until shutdown.
fn spawn_https(
    name: &'static str,
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: axum::Router,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let tls_listener = match crate::tls::TlsListener::spawn(listener, tls, shutdown.clone()) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(listener = name, error = %e, "HTTPS listener failed");
                return;
            }
        };
        let served = axum::serve(
            tls_listener,
            router.into_make_service_with_connect_info::<crate::tls::TlsPeer>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
        if let Err(e) = served {
            tracing::warn!(listener = name, error = %e, "HTTPS server ended with an error");
        }
    })
}

/// Serves `router` over plain HTTP on `listener` until shutdown.
fn spawn_http(
    name: &'static str,
    listener: TcpListener,
    router: axum::Router,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
        if let Err(e) = served {
            tracing::warn!(listener = name, error = %e, "HTTP server ended with an error");
        }
    })
}

/// Binds the management listener and loads (or issues from the private
/// CA) its certificate.
async fn bind_admin(
    config: &Config,
) -> Result<(TcpListener, Option<Arc<rustls::ServerConfig>>), AppError> {
    let a = &config.admin;
    let tls = if a.tls {
        let (cert, key) = match (&a.tls_cert, &a.tls_key) {
            (Some(cert), Some(key)) => (cert.clone(), key.clone()),
            _ => tls_certs::ensure_admin_certificate(&config.data_dir, &a.server_names)?,
        };
        Some(
            crate::tls::server_config(&cert, &key)
                .map_err(|e| AppError::Other(format!("admin HTTPS: {e}")))?,
        )
    } else {
        None
    };
    let listener = TcpListener::bind(a.listen)
        .await
        .map_err(|source| AppError::Bind {
            name: "admin",
            addr: a.listen,
            source,
        })?;
    Ok((listener, tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn request_counts_reach_the_store_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open("", dir.path(), 2).await.unwrap();
        let metrics = Metrics::new();
        let c = metrics.nas_counters("ap-1");
        let now = crate::clock::now_ms();
        for with_ma in [true, true, true, false] {
            c.access_request(with_ma, now);
        }
        flush_nas_stats(&store, &metrics).await;
        // Nothing new: a second flush adds nothing.
        flush_nas_stats(&store, &metrics).await;
        let stats = store
            .nas()
            .request_stats_since(now - 3_600_000)
            .await
            .unwrap();
        assert_eq!(stats["ap-1"].requests, 4);
        assert_eq!(stats["ap-1"].share(), Some(75.0));
        assert_eq!(stats["ap-1"].last_ms, now);
    }
}

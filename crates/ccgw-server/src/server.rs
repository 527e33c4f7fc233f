//! Starting and stopping a gateway: listeners, background tasks, shut-down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use ccgw_store::{MemoryStore, RedisStore, Store};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::gateway::Gateway;
use crate::listener::{self, ListenerLimits};
use crate::{admin, api, cors, fdlimit, telemetry, telephony_sip, tls};

/// Connection cap of the admin listener (before fitting to the open-files limit).
const ADMIN_MAX_CONNECTIONS: usize = 256;

/// A running gateway (on the memory store unless said otherwise).
pub struct Server<S: Store = MemoryStore> {
    pub api_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    /// SHA-256 fingerprint of the TLS certificate (None in plain-HTTP mode).
    pub fingerprint: Option<String>,
    pub gateway: Arc<Gateway<S>>,
    /// The SIP side in SIP mode (`[telephony] kind = "sip"`), for diagnostics and tests: its
    /// legs and dialogs (`leg_count`, `dialog_count`).
    pub sip_side: Option<ccgw_sip::SipSide>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Writes the access log's last lines when the server shuts down.
    access_log: Option<telemetry::AccessLogWriter>,
}

/// Start the gateway described by `config` on the embedded in-memory store.
///
/// Raises the process's soft open-files limit to its hard limit, and lowers
/// `server.max_connections` (logged) when the connections would not fit in it.
pub async fn start(mut config: Config) -> anyhow::Result<Server> {
    config.validate()?;
    let admin_max_connections = fit_to_open_files_limit(&mut config);
    let config = Arc::new(config);
    let (reports_tx, reports_rx) = mpsc::unbounded_channel();
    let (telephony, sip) = telephony_sip::build(&config, reports_tx).await?;
    let gw = Gateway::in_memory(config.clone(), telephony)?;
    launch(config, gw, reports_rx, sip, admin_max_connections, |_| {}).await
}

/// Start the gateway described by `config` as a node of a cluster on Redis
/// (`[store] backend = "redis"`): fails if Redis cannot be reached at start.
pub async fn start_redis(mut config: Config) -> anyhow::Result<Server<RedisStore>> {
    config.validate()?;
    let admin_max_connections = fit_to_open_files_limit(&mut config);
    let config = Arc::new(config);
    let (reports_tx, reports_rx) = mpsc::unbounded_channel();
    // SIP: the SIP side on the node `[telephony.sip] node` names, no telephony on the others.
    let (telephony, sip) = telephony_sip::build(&config, reports_tx).await?;
    let (gw, cell) = Gateway::on_redis(config.clone(), telephony).await?;
    let server = launch(config, gw, reports_rx, sip, admin_max_connections, |gw| {
        let _ = cell.set(Arc::downgrade(gw));
    })
    .await?;
    if let Some(c) = &server.gateway.cluster {
        c.start();
    }
    tracing::info!(node = %server.gateway.config.server.node_name, "cluster node on Redis");
    Ok(server)
}

/// The listeners and background tasks of a gateway built on any store; `bind` sees the
/// gateway in its `Arc` before anything is served.
async fn launch<S: Store>(
    config: Arc<Config>,
    mut gw: Gateway<S>,
    mut reports_rx: mpsc::UnboundedReceiver<crate::telephony::TelephonyReport>,
    sip: Option<telephony_sip::SipRunner>,
    admin_max_connections: usize,
    bind: impl FnOnce(&Arc<Gateway<S>>),
) -> anyhow::Result<Server<S>> {
    let metrics = telemetry::init_metrics();
    let (access_log, access_writer) = telemetry::AccessLog::open(&config.log.access_log)?.unzip();
    gw.access_log = access_log;
    let gw = Arc::new(gw);
    bind(&gw);
    if config.is_demo() {
        tracing::warn!(
            "DEMO PROVISIONING: no agents configured, so VDN 1 (agents 101-600) and VDN 2 (agents 601-700) exist with the \
             well-known password '{}'. Never expose this to a network you do not trust; configure [[agent]]s instead.",
            crate::gateway::DEMO_PASSWORD
        );
    }

    let (stop, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut tasks = Vec::new();
    let sip_side = sip.as_ref().map(|s| s.side());
    if let Some(sip) = sip {
        tasks.push(sip.spawn(gw.clone(), stop_rx.clone()));
    }

    let g = gw.clone();
    let mut rx = stop_rx.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                report = reports_rx.recv() => match report {
                    Some(r) => g.apply_report(r),
                    None => return,
                },
                _ = rx.wait_for(|s| *s) => return,
            }
        }
    }));

    let g = gw.clone();
    let mut rx = stop_rx.clone();
    let tick = Duration::from_millis(config.engine.tick_ms.max(10));
    tasks.push(tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = interval.tick() => g.tick(),
                _ = rx.wait_for(|s| *s) => return,
            }
        }
    }));

    let (tls_config, fingerprint) = if config.server.plain_http {
        tracing::warn!("plain HTTP mode: TLS must be terminated in front of ccgw");
        if config.server.max_connections_per_source > 0 {
            tracing::warn!(
                max_connections_per_source = config.server.max_connections_per_source,
                "behind a proxy every client has the proxy's address: raise server.max_connections_per_source or set \
                 it to 0"
            );
        }
        (None, None)
    } else {
        let (cfg, fp) = tls::server_config(&config.server)?;
        tracing::info!(fingerprint = %fp, "TLS certificate");
        (Some(cfg), Some(fp))
    };

    let api_listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let api_addr = api_listener.local_addr()?;
    let cors = cors::Cors::new(&config.server.cors_origins);
    if cors.is_some() {
        tracing::info!(origins = ?config.server.cors_origins, "CORS enabled");
    }
    // The agent interface is called straight from the listener's HTTP/1 loop (no router).
    let app = Arc::new(api::AgentApp { gw: gw.clone(), cors });
    let limits = ListenerLimits::from_config(&config.server);
    tasks.push(tokio::spawn({
        let stop = stopped(stop_rx.clone());
        // Woken only once every connection has been told to close after its current request,
        // so that the polls' answers carry `Connection: close`.
        let g = gw.clone();
        let wake_polls = move || g.shut_down();
        async move {
            if let Err(e) = listener::serve_lean(api_listener, tls_config, app, limits, stop, wake_polls).await {
                tracing::error!(error = %e, "agent interface listener failed");
            }
        }
    }));
    tracing::info!(addr = %api_addr, tls = fingerprint.is_some(), "agent interface listening");

    let admin_addr = match config.admin.listen {
        None => None,
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding admin {addr}"))?;
            let a = l.local_addr()?;
            let app = admin::router(gw.clone(), metrics, stop_rx.clone());
            let limits = ListenerLimits {
                name: "admin",
                max_connections: admin_max_connections,
                max_connections_per_source: 0,
                ..ListenerLimits::from_config(&config.server)
            };
            tasks.push(tokio::spawn({
                let stop = stopped(stop_rx.clone());
                async move {
                    if let Err(e) = listener::serve(l, None, app, limits, stop).await {
                        tracing::error!(error = %e, "admin listener failed");
                    }
                }
            }));
            tracing::info!(addr = %a, operator_api = config.admin.token.is_some(), "admin listening (/health, /metrics)");
            Some(a)
        }
    };

    Ok(Server { api_addr, admin_addr, fingerprint, gateway: gw, sip_side, stop, tasks, access_log: access_writer })
}

/// Raises the open-files limit and fits the connection caps into it (see [`fdlimit`]); returns
/// the admin listener's cap.
fn fit_to_open_files_limit(config: &mut Config) -> usize {
    let admin = if config.admin.listen.is_some() { ADMIN_MAX_CONNECTIONS } else { 0 };
    let Some(limit) = fdlimit::raise_nofile_limit() else { return admin };
    if limit.soft != limit.soft_before {
        tracing::info!(
            soft_before = limit.soft_before,
            soft = limit.soft,
            hard = limit.hard,
            "open-files limit raised"
        );
    }
    let configured = config.server.max_connections;
    let (agent, admin_fitted) = fdlimit::fit_connections(limit.soft, configured, admin);
    if agent < configured || admin_fitted < admin {
        tracing::warn!(
            configured,
            max_connections = agent,
            admin_max_connections = admin_fitted,
            open_files_limit = limit.soft,
            reserved = fdlimit::RESERVED_FDS,
            "server.max_connections lowered from {configured} to {agent} to fit the open-files limit of {} \
             (raise it with `ulimit -n` / LimitNOFILE)",
            limit.soft
        );
        config.server.max_connections = agent;
    }
    admin_fitted
}

impl<S: Store> Server<S> {
    /// Stop accepting, tell every connection to close after its current request, wake every
    /// waiting poll (in that order, so that their answers say `Connection: close`), drain
    /// connections and stop background tasks.
    pub async fn shut_down(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        // Done by the agent listener as it starts draining; again in case it had stopped.
        self.gateway.shut_down();
        // Cluster mode: hand the leases over now rather than after they expire.
        if let Some(c) = &self.gateway.cluster {
            c.release().await;
        }
        if let Some(writer) = self.access_log {
            // Joins a thread that only writes what is buffered (bounded), off the async threads.
            let _ = tokio::task::spawn_blocking(move || writer.finish()).await;
        }
    }
}

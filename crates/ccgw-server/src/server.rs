//! Starting and stopping a gateway: listeners, background tasks, shut-down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use ccgw_store::MemoryStore;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::gateway::Gateway;
use crate::listener::{self, ListenerLimits};
use crate::telephony::SimulatedTelephony;
use crate::{admin, api, telemetry, tls};

/// A running gateway.
pub struct Server {
    pub api_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    /// SHA-256 fingerprint of the TLS certificate (None in plain-HTTP mode).
    pub fingerprint: Option<String>,
    pub gateway: Arc<Gateway<MemoryStore>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Start the gateway described by `config` on the embedded in-memory store.
pub async fn start(config: Config) -> anyhow::Result<Server> {
    config.validate()?;
    let config = Arc::new(config);
    let metrics = telemetry::init_metrics();
    let (reports_tx, mut reports_rx) = mpsc::unbounded_channel();
    let telephony = Box::new(SimulatedTelephony::new(config.telephony.clone(), reports_tx));
    let gw = Arc::new(Gateway::in_memory(config.clone(), telephony)?);
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
    let app = Router::new().fallback(api::entry::<MemoryStore>).with_state(gw.clone());
    let limits = ListenerLimits::from_config(&config.server);
    tasks.push(tokio::spawn({
        let stop = stopped(stop_rx.clone());
        async move {
            if let Err(e) = listener::serve_lean(api_listener, tls_config, app, limits, stop).await {
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
            let app = admin::router(gw.clone(), metrics);
            let limits = ListenerLimits { max_connections: 256, ..ListenerLimits::from_config(&config.server) };
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

    Ok(Server { api_addr, admin_addr, fingerprint, gateway: gw, stop, tasks })
}

impl Server {
    /// Stop accepting, wake every waiting poll, drain connections and stop background tasks.
    pub async fn shut_down(self) {
        self.gateway.shut_down();
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

//! Logging, access log and Prometheus metrics.
//!
//! Application logs go through `tracing`; the access log does not: it is its own batched,
//! allocation-free writer ([`access`]), opened by the server, so one JSON line per request costs
//! little and can never stall a request on a slow stdout/disk (lines are dropped and counted).

mod access;

pub use access::{AccessLog, AccessLogWriter, Line as AccessLine};

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::layer::{Context as LayerContext, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::config::LogConfig;

/// Request-duration histogram buckets, 50 µs … 10 s.
pub const DURATION_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const REQUESTS_TOTAL: &str = "ccgw_requests_total";
const REQUEST_DURATION: &str = "ccgw_request_duration_seconds";
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Keeps the log writer threads alive; drop it last in `main` so buffered lines are flushed.
#[must_use = "dropping LogGuards stops the log writers"]
pub struct LogGuards {
    _guards: Vec<WorkerGuard>,
    installed: bool,
}

impl LogGuards {
    /// False when a global subscriber was already set (e.g. a second server in one test
    /// process); logging then goes to that earlier subscriber.
    pub fn is_installed(&self) -> bool {
        self.installed
    }
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The SIP stack (rsipstack) logs every datagram it sends or receives, raw message included, at
/// INFO: at 500 calls/s that was ~3 600 lines (4.5 MB) a second. Unless the filter names it,
/// only its warnings are logged (`rsipstack=info` or `RUST_LOG` naming it brings them back).
fn with_quiet_sip_stack(directives: &str) -> String {
    if directives.contains("rsipstack") {
        directives.to_owned()
    } else if directives.trim().is_empty() {
        "rsipstack=warn".to_owned()
    } else {
        format!("{directives},rsipstack=warn")
    }
}

/// Installs the global subscriber. Safe to call more than once: later calls are no-ops.
/// `RUST_LOG`, when set, replaces `cfg.level`.
pub fn init_logging(cfg: &LogConfig) -> anyhow::Result<LogGuards> {
    let directives = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => cfg.level.clone(),
    };
    let directives = with_quiet_sip_stack(&directives);
    let app_filter = EnvFilter::try_new(&directives).with_context(|| format!("invalid log filter {directives:?}"))?;

    let mut guards = Vec::new();
    let mut layers: Vec<BoxedLayer> = Vec::new();

    let (app_writer, app_guard) =
        NonBlockingBuilder::default().lossy(false).thread_name("ccgw-log").finish(std::io::stdout());
    guards.push(app_guard);
    let app_layer: BoxedLayer = match cfg.format.as_str() {
        "text" => tracing_subscriber::fmt::layer()
            .with_writer(app_writer)
            .with_ansi(std::io::stdout().is_terminal())
            .with_filter(app_filter)
            .with_filter(QuietSniWarning)
            .boxed(),
        _ => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(app_writer)
            .with_filter(app_filter)
            .with_filter(QuietSniWarning)
            .boxed(),
    };
    layers.push(app_layer);

    let installed = tracing_subscriber::registry().with(layers).try_init().is_ok();
    Ok(LogGuards { _guards: guards, installed })
}

/// Drops one warning of rustls (forwarded from the `log` crate): "Illegal SNI extension: ignoring
/// IP address presented as hostname". Clients that connect by IP address and send it as SNI,
/// which RFC 6066 forbids, are common (Java's and OpenSSL's clients do it when told to); rustls
/// ignores the SNI and the handshake goes on, so the warning would only flood the log, once per
/// connection. Every other rustls message passes, its other SNI warnings included.
struct QuietSniWarning;

/// Where rustls logs it, and how the message starts.
const SNI_IP_TARGET: &str = "rustls::msgs::handshake";
const SNI_IP_MESSAGE: &str = "Illegal SNI extension: ignoring IP address";

impl<S> Filter<S> for QuietSniWarning {
    fn enabled(&self, _meta: &tracing::Metadata<'_>, _cx: &LayerContext<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &tracing::Event<'_>, _cx: &LayerContext<'_, S>) -> bool {
        let meta = event.metadata();
        // Records of the `log` crate arrive with target "log" and their own in `log.target`.
        let from_log = meta.target() == "log";
        if *meta.level() != tracing::Level::WARN || !(from_log || meta.target() == SNI_IP_TARGET) {
            return true;
        }
        struct Fields {
            target: bool,
            message: bool,
        }
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.message = format!("{value:?}").starts_with(SNI_IP_MESSAGE);
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                match field.name() {
                    "message" => self.message = value.starts_with(SNI_IP_MESSAGE),
                    "log.target" => self.target = value == SNI_IP_TARGET,
                    _ => {}
                }
            }
        }
        let mut f = Fields { target: !from_log, message: false };
        event.record(&mut f);
        !(f.target && f.message)
    }
}

/// Records one finished request: an access-log line (when `log` is on) plus the request counter
/// and histogram. Works (as a metrics no-op) when no recorder is installed.
#[allow(clippy::too_many_arguments)]
pub fn access_log(
    log: Option<&AccessLog>,
    method_name: &'static str,
    http_method: &str,
    agent: Option<u32>,
    retcode: &'static str,
    status: u16,
    latency_us: u64,
    peer: Option<SocketAddr>,
) {
    if let Some(log) = log {
        log.record(&AccessLine { method: method_name, http_method, agent, retcode, status, latency_us, peer });
    }
    REQUEST_METRICS.with_borrow_mut(|cache| {
        let key = (method_name.as_ptr() as usize, method_name.len(), retcode.as_ptr() as usize, retcode.len());
        let (requests, duration) = cache.entry(key).or_insert_with(|| {
            (
                metrics::counter!(REQUESTS_TOTAL, "method" => method_name, "retcode" => retcode),
                metrics::histogram!(REQUEST_DURATION, "method" => method_name),
            )
        });
        requests.increment(1);
        duration.record(latency_us as f64 / 1_000_000.0);
    });
}

/// Marks, in the access log, a request accepted without a `Guid` header because it came from a
/// network in `auth.trusted_without_guid`: an extra line `{"event":"guid_bypass",...}` just
/// before the request's own line, and the `ccgw_guid_bypass_total` counter.
pub fn guid_bypass(log: Option<&AccessLog>, agent: u32, peer: Option<std::net::IpAddr>) {
    if let Some(log) = log {
        log.record_guid_bypass(agent, peer);
    }
    metrics::counter!("ccgw_guid_bypass_total").increment(1);
}

/// Metric handles of one (interface, retcode) pair, keyed by the two static strings' addresses
/// and lengths (hashing the text cost a SipHash of ~40 bytes per request; one text in two places
/// is two keys for the same handles, which is harmless).
type RequestMetrics = std::collections::HashMap<
    (usize, usize, usize, usize),
    (metrics::Counter, metrics::Histogram),
    std::hash::BuildHasherDefault<WordHasher>,
>;

/// A multiply-rotate hash of a few machine words (the keys are addresses, not attacker input).
#[derive(Default)]
struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

thread_local! {
    /// Metric handles per (interface, retcode), so a request does not build a registry key and
    /// look it up on every call; both are static strings from a small closed set.
    static REQUEST_METRICS: std::cell::RefCell<RequestMetrics> = Default::default();
}

/// Installs the global Prometheus recorder once per process and returns its handle (the same
/// handle on every call). Spawns the upkeep thread that the `install_recorder` path omits;
/// without it histogram samples accumulate until the next scrape.
pub fn init_metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.into()), DURATION_BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let handle = match builder.install_recorder() {
                Ok(handle) => handle,
                Err(e) => {
                    // Another recorder owns the global slot; keep a private one so
                    // /metrics still renders (empty) instead of failing start-up.
                    tracing::warn!(error = %e, "could not install Prometheus recorder");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            };
            metrics::describe_counter!(REQUESTS_TOTAL, "Requests by API method and retcode.");
            metrics::describe_histogram!(REQUEST_DURATION, metrics::Unit::Seconds, "Request latency by API method.");
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new().name("ccgw-metrics-upkeep".into()).spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_INTERVAL);
                    upkeep.run_upkeep();
                }
            });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "could not spawn metrics upkeep thread");
            }
            handle
        })
        .clone()
}

/// Short, stable identifier of a GUID for logs (GUIDs are credentials, never logged in clear).
pub fn guid_fingerprint(guid: &str) -> String {
    let mut hex = hex::encode(Sha256::digest(guid.as_bytes()));
    hex.truncate(12);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sip_stack_logs_warnings_only_unless_named() {
        assert_eq!(with_quiet_sip_stack("info"), "info,rsipstack=warn");
        assert_eq!(with_quiet_sip_stack("debug,ccgw=trace"), "debug,ccgw=trace,rsipstack=warn");
        assert_eq!(with_quiet_sip_stack("info,rsipstack=info"), "info,rsipstack=info");
        assert_eq!(with_quiet_sip_stack(""), "rsipstack=warn");
        EnvFilter::try_new(with_quiet_sip_stack("info")).unwrap();
    }

    #[test]
    fn access_log_without_subscriber_or_recorder_is_fine() {
        access_log(None, "test.noop", "GET", None, "0", 200, 12, None);
        let peer = Some("127.0.0.1:5000".parse().unwrap());
        access_log(None, "test.noop", "PUT", Some(101), "100-006", 200, 1_234, peer);
    }

    #[test]
    fn metrics_render_after_access_log() {
        let handle = init_metrics();
        let again = init_metrics();
        access_log(None, "test.render", "GET", Some(101), "0", 200, 250, None);
        access_log(None, "test.render", "GET", Some(101), "000-002", 200, 3_000_000, None);
        let text = handle.render();
        assert!(text.contains(REQUESTS_TOTAL), "{text}");
        assert!(text.contains("method=\"test.render\""), "{text}");
        assert!(text.contains("retcode=\"000-002\""), "{text}");
        // Rendered as a histogram (buckets), not a summary.
        assert!(text.contains("ccgw_request_duration_seconds_bucket"), "{text}");
        assert!(again.render().contains(REQUESTS_TOTAL));
    }

    #[test]
    fn init_logging_twice_is_ok() {
        let cfg = LogConfig { level: "off".into(), access_log: "off".into(), format: "json".into() };
        let _a = init_logging(&cfg).unwrap();
        let b = init_logging(&cfg).unwrap();
        assert!(!b.is_installed());
        let bad = LogConfig { level: "info,=[".into(), ..cfg };
        // Only fails when RUST_LOG does not override the level.
        if std::env::var("RUST_LOG").is_err() {
            assert!(init_logging(&bad).is_err());
        }
    }

    #[test]
    fn the_sni_ip_warning_of_rustls_is_dropped_and_nothing_else() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Collect(Arc<Mutex<Vec<String>>>);
        impl<S: tracing::Subscriber> Layer<S> for Collect {
            fn on_event(&self, event: &tracing::Event<'_>, _cx: tracing_subscriber::layer::Context<'_, S>) {
                struct V(String);
                impl tracing::field::Visit for V {
                    fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                        if f.name() == "message" {
                            self.0 = format!("{v:?}");
                        }
                    }
                }
                let mut v = V(String::new());
                event.record(&mut v);
                self.0.lock().unwrap().push(format!("{} {}", event.metadata().target(), v.0));
            }
        }
        let seen = Collect::default();
        let subscriber = tracing_subscriber::registry().with(seen.clone().with_filter(QuietSniWarning));
        tracing::subscriber::with_default(subscriber, || {
            // What rustls 0.23 logs (src/msgs/handshake.rs), as the log bridge forwards it.
            let ip = "PayloadU16([49, 50, 55, 46, 48, 46, 48, 46, 49])";
            tracing::warn!(
                target: "rustls::msgs::handshake",
                "Illegal SNI extension: ignoring IP address presented as hostname ({ip})"
            );
            tracing::warn!(target: "rustls::msgs::handshake", "Illegal SNI extension: duplicate host_name received");
            tracing::warn!(target: "rustls::msgs::handshake", "Illegal SNI hostname received \"a_b\"");
            tracing::warn!(target: "rustls::server::hs", "Illegal SNI extension: ignoring IP address (elsewhere)");
            tracing::error!(
                target: "rustls::msgs::handshake",
                "Illegal SNI extension: ignoring IP address presented as hostname"
            );
            // Through the `log` bridge, as rustls's records arrive (target "log", the real one
            // in the `log.target` field).
            let log = |target: &str, args: std::fmt::Arguments<'_>| {
                let record = log::Record::builder().level(log::Level::Warn).target(target).args(args).build();
                tracing_log::format_trace(&record).unwrap();
            };
            log(
                "rustls::msgs::handshake",
                format_args!("Illegal SNI extension: ignoring IP address presented as hostname (3132372e302e302e31)"),
            );
            log("rustls::msgs::handshake", format_args!("Illegal SNI extension: duplicate host_name received"));
            log("other", format_args!("Illegal SNI extension: ignoring IP address"));
        });
        let seen = seen.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                "rustls::msgs::handshake Illegal SNI extension: duplicate host_name received",
                "rustls::msgs::handshake Illegal SNI hostname received \"a_b\"",
                "rustls::server::hs Illegal SNI extension: ignoring IP address (elsewhere)",
                "rustls::msgs::handshake Illegal SNI extension: ignoring IP address presented as hostname",
                "log Illegal SNI extension: duplicate host_name received",
                "log Illegal SNI extension: ignoring IP address",
            ]
        );
    }

    #[test]
    fn guid_fingerprint_is_short_and_stable() {
        let a = guid_fingerprint("0f5c1e2a-1111-2222-3333-444455556666.AgentGateway0");
        assert_eq!(a.len(), 12);
        assert_eq!(a, guid_fingerprint("0f5c1e2a-1111-2222-3333-444455556666.AgentGateway0"));
        assert_ne!(a, guid_fingerprint("other"));
    }
}

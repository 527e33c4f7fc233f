//! Gateway configuration.
//!
//! Layering: compiled defaults → optional TOML file → `CCGW_*` environment variables
//! (`__` separates sections, e.g. `CCGW_SERVER__LISTEN=127.0.0.1:9000`). Every struct denies
//! unknown keys, and an unknown `CCGW_*` variable is an error too, so typos never pass silently.
//! The layering is done by hand on `toml::Value` (no figment) so the rules stay small and exact.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};

/// Prefix of environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "CCGW_";

/// `CCGW_*` variables that are not configuration keys (read by the CLI), so the
/// unknown-variable check must skip them.
pub const RESERVED_ENV_VARS: &[&str] = &["CCGW_CONFIG"];

/// Lowest agent id accepted by the vendor route regex.
pub const MIN_WORKNO: u32 = 101;
/// Highest agent id with `wide_agent_ids = false` (old vendor builds).
pub const MAX_WORKNO_NARROW: u32 = 59_999;
/// Highest agent id with `wide_agent_ids = true` (new vendor builds).
pub const MAX_WORKNO_WIDE: u32 = 999_999;

/// A secret string (password hash, token) whose `Debug` output is redacted so it can never
/// leak into logs through `{:?}` of a config struct.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The clear value; call only where it is actually needed (e.g. argon2 verify).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Complete gateway configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub admin: AdminConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub engine: EngineConfig,
    pub telephony: Telephony,
    pub log: LogConfig,
    pub recording: RecordingConfig,
    pub stats: StatsConfig,
    pub push: PushConfig,
    pub store: StoreConfig,
    pub cluster: ClusterConfig,
    /// `[[vdn]]` tables.
    #[serde(rename = "vdn")]
    pub vdns: Vec<VdnConfig>,
    /// `[[skill]]` tables.
    #[serde(rename = "skill")]
    pub skills: Vec<SkillConfig>,
    /// `[[agent]]` tables.
    #[serde(rename = "agent")]
    pub agents: Vec<AgentConfig>,
    /// `[[ivr]]` tables.
    #[serde(rename = "ivr")]
    pub ivrs: Vec<IvrConfig>,
    /// `[[group]]` tables (agent groups).
    #[serde(rename = "group")]
    pub groups: Vec<GroupConfig>,
    /// `[[rest_reason]]` tables.
    #[serde(rename = "rest_reason")]
    pub rest_reasons: Vec<RestReasonConfig>,
    /// `[[supervisor]]` tables (quality control: who supervises whom).
    #[serde(rename = "supervisor")]
    pub supervisors: Vec<SupervisorConfig>,
}

/// `[server]`: the agent-facing HTTPS listener.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Serve plain HTTP (for use behind a TLS-terminating proxy).
    pub plain_http: bool,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Where the generated self-signed certificate lives.
    pub data_dir: PathBuf,
    /// Node name: suffix of issued GUIDs (`….AgentGateway0`).
    pub node_name: String,
    /// Cluster name: `serverName` in the sign-in response.
    pub cluster_name: String,
    /// Live connections in all; lowered at start to fit the open-files limit.
    pub max_connections: usize,
    /// Live connections from one source (IPv4 address or IPv6 /64); 0 = no limit.
    pub max_connections_per_source: usize,
    pub max_body_bytes: usize,
    pub max_header_bytes: usize,
    pub tls_handshake_timeout_ms: u64,
    /// Keep-alive connections idle for this long are closed.
    pub idle_timeout_ms: u64,
    /// A request head must be complete this long after its first byte (after the start of the
    /// connection for the first request).
    pub head_timeout_ms: u64,
    /// Browser origins (`https://crm.example.com`) allowed to call the agent interface (CORS);
    /// empty = none.
    pub cors_origins: Vec<String>,
    /// Tokio worker threads; `None` = number of CPUs.
    pub worker_threads: Option<usize>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8043)),
            plain_http: false,
            cert_file: None,
            key_file: None,
            data_dir: PathBuf::from("ccgw-data"),
            node_name: "AgentGateway0".into(),
            cluster_name: "AgentGateway".into(),
            max_connections: 20_000,
            max_connections_per_source: 64,
            max_body_bytes: 65_536,
            max_header_bytes: 16_384,
            tls_handshake_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            head_timeout_ms: 10_000,
            cors_origins: Vec::new(),
            worker_threads: None,
        }
    }
}

impl ServerConfig {
    /// Worker thread count to build the runtime with.
    pub fn effective_worker_threads(&self) -> usize {
        self.worker_threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
    }

    pub fn tls_handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.tls_handshake_timeout_ms)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub fn head_timeout(&self) -> Duration {
        Duration::from_millis(self.head_timeout_ms)
    }
}

/// Whether `s` is a serialized web origin as browsers send it in `Origin`:
/// `http(s)://host[:port]`, lower case, no path.
fn valid_origin(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")) else { return false };
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, after)) if addr.parse::<std::net::Ipv6Addr>().is_ok() => ("v6", after),
            _ => return false,
        },
        None => {
            let end = rest.find(':').unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        }
    };
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let port_ok = match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(p) => !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()),
    };
    host_ok && port_ok
}

/// `[admin]`: the operator listener (health, metrics, operator API).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// `None` (written `"off"` in TOML/env) disables the admin listener.
    #[serde(with = "opt_addr")]
    pub listen: Option<SocketAddr>,
    /// Bearer token for the operator API; `None` disables the operator API
    /// (`/health` and `/metrics` need no token).
    pub token: Option<Secret>,
    /// Read-only token for the wallboard (`/wallboard`) alone; the operator token opens it too.
    pub wallboard_token: Option<Secret>,
    /// Live wallboard feeds (server-sent events) open at once; more are refused (503).
    pub wallboard_max_clients: usize,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 9043))),
            token: None,
            wallboard_token: None,
            wallboard_max_clients: 32,
        }
    }
}

/// `[stats]`: the traffic statistics the wallboard shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsConfig {
    /// A call answered within this wait counts towards the service level.
    pub service_level_ms: u64,
    /// Length of a reporting interval.
    pub interval_ms: u64,
    /// Length of the rolling window ("now").
    pub window_ms: u64,
}

impl Default for StatsConfig {
    fn default() -> Self {
        let p = ccgw_domain::TrafficPolicy::default();
        Self { service_level_ms: p.service_level_ms, interval_ms: p.interval_ms, window_ms: p.window_ms }
    }
}

impl StatsConfig {
    pub fn policy(&self) -> ccgw_domain::TrafficPolicy {
        ccgw_domain::TrafficPolicy {
            service_level_ms: self.service_level_ms,
            interval_ms: self.interval_ms,
            window_ms: self.window_ms,
        }
    }
}

/// `[auth]`: sign-in, GUID and heartbeat rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Vendor AUTHMODE: 1 or 2.
    pub mode: u8,
    pub guid_interval_ms: u64,
    pub guid_timeout_ms: u64,
    /// Vendor MAXTIME: session dropped when the agent neither polls nor calls for this long.
    pub heartbeat_timeout_ms: u64,
    pub poll_wait_ms: u64,
    /// Failed sign-ins of one agent id from one source address (within `failure_window_ms`)
    /// that lock that source out of that agent for `lockout_ms`; 0 = off. See docs/compat.md.
    pub max_failed_logins: u32,
    /// Failed sign-ins from one source address, whatever the agent ids, that lock the source
    /// out of every agent whose usual source it is not; 0 = off.
    pub max_failed_logins_per_source: u32,
    /// Failed sign-ins of one agent id from all sources together that lock it for every source
    /// but its usual one (where it last signed in); 0 = off.
    pub max_failed_logins_per_agent: u32,
    /// Failures age out: each count decays steadily and is back to zero after this window.
    pub failure_window_ms: u64,
    pub lockout_ms: u64,
    /// Entries each failure table holds at most; beyond, the oldest are dropped.
    pub failure_table_size: usize,
    /// Every agent may sign in with an empty password (sites that do not check passwords at
    /// the gateway); per agent: `[[agent]] password_optional`. Off by default.
    pub allow_empty_password: bool,
    /// Networks whose requests may leave out the `Guid` header (they then act as the agent's
    /// current session). Not a vendor mode; empty (off) by default. See docs/compat.md.
    pub trusted_without_guid: Vec<Cidr>,
    /// false: agent ids 101–59999; true: 101–999999.
    pub wide_agent_ids: bool,
    pub allow_force_login: bool,
    /// argon2 verifications allowed in parallel (each costs ~20 ms of CPU).
    pub sign_in_concurrency: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: 2,
            guid_interval_ms: 60_000,
            guid_timeout_ms: 120_000,
            heartbeat_timeout_ms: 120_000,
            poll_wait_ms: 10_000,
            max_failed_logins: 5,
            max_failed_logins_per_source: 100,
            max_failed_logins_per_agent: 50,
            failure_window_ms: 900_000,
            lockout_ms: 600_000,
            failure_table_size: 50_000,
            allow_empty_password: false,
            trusted_without_guid: Vec::new(),
            wide_agent_ids: false,
            allow_force_login: true,
            sign_in_concurrency: 2,
        }
    }
}

impl AuthConfig {
    /// Highest agent id accepted.
    pub fn max_workno(&self) -> u32 {
        if self.wide_agent_ids { MAX_WORKNO_WIDE } else { MAX_WORKNO_NARROW }
    }

    pub fn workno_in_range(&self, workno: u32) -> bool {
        (MIN_WORKNO..=self.max_workno()).contains(&workno)
    }

    /// Whether any of the failed-sign-in limits is on.
    pub fn lockout_enabled(&self) -> bool {
        self.max_failed_logins > 0 || self.max_failed_logins_per_source > 0 || self.max_failed_logins_per_agent > 0
    }

    /// Whether a request from `ip` may leave out the `Guid` header.
    pub fn trusted_without_guid(&self, ip: std::net::IpAddr) -> bool {
        self.trusted_without_guid.iter().any(|n| n.contains(ip))
    }
}

/// An IP network, written `address/prefix` (`10.0.0.0/8`, `::1/128`) or as a bare address
/// (a single host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::{V4, V6};
        let ip = match ip {
            V6(v6) => v6.to_ipv4_mapped().map_or(V6(v6), V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (V4(net), V4(ip)) => prefix_eq(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32),
            (V6(net), V6(ip)) => prefix_eq(u128::from(net), u128::from(ip), self.prefix, 128),
            _ => false,
        }
    }
}

/// Whether the first `prefix` of the `bits` low bits of `a` and `b` agree.
fn prefix_eq(a: u128, b: u128, prefix: u8, bits: u8) -> bool {
    let shift = u32::from(bits - prefix.min(bits));
    a.checked_shr(shift).unwrap_or(0) == b.checked_shr(shift).unwrap_or(0)
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: std::net::IpAddr = addr.parse().map_err(|_| format!("{s:?} is not an address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(format!("{s:?}: the prefix length must be 0-{max}")),
            },
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// `[limits]`: vendor calldata overload control.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// calldata queries per agent per window; 0 = off.
    pub calldata_per_agent: u32,
    /// calldata queries per node per window; 0 = off.
    pub calldata_system: u32,
    pub calldata_window_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self { calldata_per_agent: 5, calldata_system: 15_000, calldata_window_ms: 2_000 }
    }
}

/// `[engine]`: call-routing engine timing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// An offered call not answered within this goes back to the queue.
    pub ring_timeout_ms: u64,
    pub max_events_per_agent: usize,
    pub tick_ms: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { ring_timeout_ms: 20_000, max_events_per_agent: 10_000, tick_ms: 200 }
    }
}

// --- push mode ---

/// `[push]`: push mode (sign-in with `callBackUri` + `serviceToken`: events POSTed to the client)
/// and the all-agents event query (`allagentevent`). See docs/compat.md "Push mode".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushConfig {
    /// PEM file of the certificate authorities a receiver's certificate must chain to; unset:
    /// the system's roots.
    pub ca_file: Option<PathBuf>,
    /// `callBackUri` prefixes a sign-in may name (the vendor's `EVENT_PUST_WHILTELIST_CALLBACKURI`);
    /// empty: any `https://` URL.
    pub allowed_uri_prefixes: Vec<String>,
    /// Connecting (TCP + TLS) to the receiver.
    pub connect_timeout_ms: u64,
    /// Writing a batch and reading the receiver's answer.
    pub request_timeout_ms: u64,
    /// The first retry's delay after a failed push; doubled per failure up to `retry_max_ms`.
    pub retry_min_ms: u64,
    pub retry_max_ms: u64,
    /// A receiver failing for this long signs the agent out (the vendor's
    /// `EVENT_PUSH_FAIL_TOTALTIME`); 0: never.
    pub fail_total_ms: u64,
    /// Events per POST at most.
    pub max_batch: usize,
    /// Events waiting for a receiver that is down, per agent: beyond it the oldest are dropped and
    /// counted (`ccgw_push_events_dropped_total`).
    pub max_queued_events: usize,
    /// `allagentevent`: the events kept per VDN for its consumers (0: the interface is off, `000-003`).
    pub all_agent_event_ring: usize,
    /// `allagentevent`: events per answer at most.
    pub all_agent_event_max: usize,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            ca_file: None,
            allowed_uri_prefixes: Vec::new(),
            connect_timeout_ms: 5_000,
            request_timeout_ms: 10_000,
            retry_min_ms: 500,
            retry_max_ms: 10_000,
            fail_total_ms: 120_000,
            max_batch: 50,
            max_queued_events: 1_000,
            all_agent_event_ring: 4_096,
            all_agent_event_max: 100,
        }
    }
}

impl PushConfig {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// `[store]`: where the state lives (issue 9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub backend: StoreBackend,
    /// The Redis URL (`backend = "redis"` only): `redis://host:port/db`, `rediss://` for TLS,
    /// with `user:password@` when Redis asks for them.
    pub url: Option<String>,
    /// How long a write may take to be ordered by Redis and applied by this node before it
    /// answers `000-004` (`backend = "redis"`).
    pub timeout_ms: u64,
    /// Entries of a VDN's log between two snapshots (`backend = "redis"`): the stream is trimmed
    /// to the newest snapshot, so this bounds what a starting node replays.
    pub snapshot_every: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { backend: StoreBackend::Memory, url: None, timeout_ms: 2_000, snapshot_every: 1_000 }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// In this process's memory (volatile), through the in-process command log.
    #[default]
    Memory,
    /// Redis (cluster mode): every node applies one log per VDN, kept in Redis (`ccgw-store`).
    Redis,
}

/// `[cluster]`: node coordination in cluster mode (`[store] backend = "redis"` only; `cluster.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// A VDN's lease (`ccgw:{<vdn>}:lease`) expires this long after its last renewal.
    pub lease_ms: u64,
    /// The holder renews its leases (and a node without one tries to take it) this often.
    pub renew_ms: u64,
    /// Each node publishes the heartbeats it heard (`ccgw:{<vdn>}:seen`) this often.
    pub seen_publish_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self { lease_ms: 3_000, renew_ms: 1_000, seen_publish_ms: 1_000 }
    }
}

// --- recordplay ---

/// `[recording]`: recording and playback (recordplay).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    /// Where record files are downloaded from: `recordfileurl` answers
    /// `<url_base>/<vdn>/<percent-encoded file name>`, `recordzipfileurl` the same with `.zip`.
    pub url_base: String,
    /// How long the simulated telephony plays a file (`beginPlay`) before it ends by itself.
    pub play_length_ms: u64,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        Self { url_base: "https://127.0.0.1:8043/recordfiles".into(), play_length_ms: 60_000 }
    }
}

/// What the simulated far end does with an outbound call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    #[default]
    Answer,
    Busy,
    NoAnswer,
}

/// One simulated-telephony rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelephonyRule {
    /// Exact number, or a prefix followed by a single trailing `*` (`"9*"`, `"*"`).
    pub pattern: String,
    pub outcome: Outcome,
    pub answer_after_ms: u64,
    /// Far end hangs up this long after answering; `None` = never.
    pub hangup_after_ms: Option<u64>,
}

impl Default for TelephonyRule {
    fn default() -> Self {
        Self { pattern: "*".into(), outcome: Outcome::Answer, answer_after_ms: 1_000, hangup_after_ms: None }
    }
}

impl TelephonyRule {
    pub fn matches(&self, number: &str) -> bool {
        match self.pattern.strip_suffix('*') {
            Some(prefix) => number.starts_with(prefix),
            None => number == self.pattern,
        }
    }
}

/// `[telephony]`: which telephony ccgw drives (`kind`), the simulated far-end behaviour for
/// outbound calls (`default`, `rules`; simulated mode only) and the SIP side (`[telephony.sip]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Telephony {
    /// `"simulated"` (the default) or `"sip"` (real phones, `[telephony.sip]`).
    pub kind: TelephonyKind,
    /// Used when no rule matches (its `pattern` is ignored).
    pub default: TelephonyRule,
    /// Tried in order; first match wins.
    pub rules: Vec<TelephonyRule>,
    /// `[telephony.sip]`: read only with `kind = "sip"`.
    pub sip: SipSettings,
}

/// `[telephony] kind`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelephonyKind {
    /// The embedded simulation: agents' phones are implied, remote numbers follow `rules`.
    #[default]
    Simulated,
    /// A signalling B2BUA with a registrar (`crates/ccgw-sip`): agents' phones register,
    /// customers call access codes from the trunk, callouts go to the trunk.
    Sip,
}

/// `[telephony.sip]`: the SIP side (`kind = "sip"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipSettings {
    /// Where SIP listens, UDP and TCP on the same port (port 0: any free port).
    pub listen: SocketAddr,
    /// The registrar's digest realm.
    pub realm: String,
    /// The outbound trunk (UDP) that callouts go to; `"off"` (the default): callouts fail
    /// (`CallOutFail`).
    #[serde(with = "opt_addr")]
    pub trunk: Option<SocketAddr>,
    /// Ring every agent's phone with `Call-Info: answer-after=0` (phones that honour it pick up
    /// by themselves), not only those of agents signed in with `autoanswer`.
    pub auto_answer: bool,
    /// The shortest registration accepted (seconds; shorter: 423).
    pub min_expires: u32,
    /// The longest registration granted (seconds; longer requests are clamped).
    pub max_expires: u32,
    /// How often (ms) an answered leg's far end is asked with an in-dialog OPTIONS whether the
    /// call still exists; no answer within that time (at most 32 s), 408 or 481 end the leg
    /// (a vanished phone: the agent's release; a vanished customer: the call's end). 0: never.
    pub keepalive_ms: u64,
    /// Cluster mode (`[store] backend = "redis"`): the `[server] node_name` of the node that runs
    /// the SIP side and carries out every VDN's telephony; the other nodes serve the REST
    /// interface only. Required in cluster mode, ignored on the memory backend.
    pub node: String,
    /// `[[telephony.sip.phone]]`: the phones that may register (number = digest user name).
    /// With the demo provisioning (no `[[agent]]`), every demo agent's phone `7<workno>` may
    /// also register with the demo password.
    #[serde(rename = "phone")]
    pub phones: Vec<SipPhone>,
}

impl Default for SipSettings {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:5060".parse().expect("literal address"),
            realm: "ccgw".into(),
            trunk: None,
            auto_answer: false,
            min_expires: 60,
            max_expires: 3600,
            keepalive_ms: 30_000,
            node: String::new(),
            phones: Vec::new(),
        }
    }
}

/// `[[telephony.sip.phone]]`: a phone allowed to register.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipPhone {
    /// The phone number (the agent's `phone`, or the `phonenum` it signs in with).
    pub number: String,
    /// The digest password, in clear (SIP digest needs it; keep the file private).
    pub password: Secret,
}

impl Telephony {
    /// First matching rule, else the default.
    pub fn rule_for(&self, number: &str) -> &TelephonyRule {
        self.rules.iter().find(|r| r.matches(number)).unwrap_or(&self.default)
    }
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `EnvFilter` directive for application logs; `RUST_LOG` overrides it.
    pub level: String,
    /// `"stdout"`, `"off"`, or a file path (appended to).
    pub access_log: String,
    /// `"json"` or `"text"`.
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: "info".into(), access_log: "stdout".into(), format: "json".into() }
    }
}

/// `[[vdn]]`: a virtual call center (tenant).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VdnConfig {
    pub id: u32,
    pub name: String,
}

/// `[[skill]]`: a skill queue inside a VDN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SkillConfig {
    pub id: u32,
    pub vdn: u32,
    pub name: String,
    /// Numbers that route inbound calls into this skill.
    pub access_codes: Vec<String>,
    /// Vendor media type (5 = voice).
    pub media_type: u8,
}

impl Default for SkillConfig {
    fn default() -> Self {
        Self { id: 0, vdn: 0, name: String::new(), access_codes: Vec::new(), media_type: 5 }
    }
}

/// `[[ivr]]`: an IVR flow of a VDN (listed by `queryIVRInfoOnVdn`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IvrConfig {
    pub id: u32,
    pub vdn: u32,
    /// The flow's access code (digits; distinct from every skill's access codes).
    pub access_code: String,
    pub description: String,
}

/// `[[agent]]`: a provisioned agent. `Debug` redacts the password hash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    pub workno: u32,
    pub vdn: u32,
    pub name: String,
    /// PHC-format argon2 hash (`$argon2id$v=19$...`). May be left out when the agent signs in
    /// without a password (`password_optional`, or `auth.allow_empty_password`).
    pub password_hash: Secret,
    /// This agent may sign in with an empty password (a non-empty one is still checked against
    /// `password_hash`, and is wrong when there is none). Off by default.
    pub password_optional: bool,
    pub skills: Vec<u32>,
    /// The agent's phone number (softphone extension).
    pub phone: Option<String>,
    /// What the agent may do, as the agentgroup permission probes report it.
    pub rights: AgentRightsConfig,
    /// Free-form attributes the agentgroup `…byattribute` queries filter on (e.g. a language).
    pub attributes: Vec<String>,
}

/// `[[agent]] rights = { … }`: the agent's rights (the agentgroup `is*` probes). A supervisor's
/// (`[[supervisor]]`) quality-control operations need `censor`, `spy_monitor` or `monitor`
/// (docs/compat.md); the others are reported only. Default: an ordinary agent (may call out and
/// pick up, nothing else).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentRightsConfig {
    pub callout: bool,
    pub censor: bool,
    pub spy_monitor: bool,
    pub monitor: bool,
    pub report_manager: bool,
    pub system: bool,
    pub pickup: bool,
}

impl Default for AgentRightsConfig {
    /// The domain's default (`AgentRights::default`): the defaults live in one place.
    fn default() -> Self {
        let r = ccgw_domain::AgentRights::default();
        Self {
            callout: r.callout,
            censor: r.censor,
            spy_monitor: r.spy_monitor,
            monitor: r.monitor,
            report_manager: r.report_manager,
            system: r.system,
            pickup: r.pickup,
        }
    }
}

impl From<&AgentRightsConfig> for ccgw_domain::AgentRights {
    fn from(r: &AgentRightsConfig) -> Self {
        ccgw_domain::AgentRights {
            callout: r.callout,
            censor: r.censor,
            spy_monitor: r.spy_monitor,
            monitor: r.monitor,
            report_manager: r.report_manager,
            system: r.system,
            pickup: r.pickup,
        }
    }
}

/// `[[group]]`: an agent group (the vendor's work group) of a VDN. An agent is a member of at
/// most one group ("my group" of `agentongroup`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupConfig {
    pub id: u32,
    pub vdn: u32,
    pub name: String,
    /// Work numbers of the members (provisioned agents of the same VDN).
    pub members: Vec<u32>,
}

/// `[[supervisor]]`: a provisioned agent that supervises agents of its own VDN (quality
/// control, monitoring): those of `groups` and those with one of `skills`; both empty = every
/// agent of the VDN. What it may do to them is its `rights` (docs/compat.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisorConfig {
    pub workno: u32,
    pub groups: Vec<u32>,
    pub skills: Vec<u32>,
}

/// `[[rest_reason]]`: a rest reason of a VDN (the `restcause` of `rest/{time}/{restcause}`),
/// listed by agentgroup `restreason`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestReasonConfig {
    pub vdn: u32,
    pub code: u8,
    pub name: String,
}

impl Config {
    /// Loads defaults → `path` (if any) → `CCGW_*` variables from the process environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut env = Vec::new();
        for (k, v) in std::env::vars_os() {
            let Some(key) = k.to_str() else { continue };
            if !key.starts_with(ENV_PREFIX) {
                continue;
            }
            let value =
                v.into_string().map_err(|_| anyhow::anyhow!("environment variable {key} is not valid UTF-8"))?;
            env.push((key.to_owned(), value));
        }
        Self::load_from(path, env)
    }

    /// Like [`Config::load`] with an explicit environment (testable). Variables without the
    /// `CCGW_` prefix are ignored; does not call [`Config::validate`].
    pub fn load_from(path: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Config> {
        let mut root = toml::Table::new();
        if let Some(path) = path {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
            // Typed parse first: its errors carry line/column and the offending key.
            toml::from_str::<Config>(&text).with_context(|| format!("invalid config file {}", path.display()))?;
            root = toml::from_str::<toml::Table>(&text)
                .with_context(|| format!("invalid config file {}", path.display()))?;
        }

        let vars: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && !RESERVED_ENV_VARS.contains(&k.as_str()))
            .collect();
        for (name, raw) in &vars {
            apply_env_var(&mut root, name, raw)?;
        }

        Config::deserialize(toml::Value::Table(root)).context("invalid configuration")
    }

    /// Parses a TOML document (no environment layering).
    pub fn from_toml_str(text: &str) -> anyhow::Result<Config> {
        Ok(toml::from_str(text)?)
    }

    /// True when no agents are provisioned: the gateway then runs with demo provisioning.
    pub fn is_demo(&self) -> bool {
        self.agents.is_empty()
    }

    /// Demo tenants: VDN 1 (agents 101–600, skills 1 "voice"/10086 and 2 "vip"/10087 for
    /// agents 101–150) and VDN 2 (agents 601–700, skill 3 "voice2"/20086). All agents share
    /// `password_hash`.
    pub fn demo_provisioning(password_hash: String) -> (Vec<VdnConfig>, Vec<SkillConfig>, Vec<AgentConfig>) {
        let vdns = vec![VdnConfig { id: 1, name: "Demo VDN 1".into() }, VdnConfig { id: 2, name: "Demo VDN 2".into() }];
        let skill = |id: u32, vdn: u32, name: &str, code: &str| SkillConfig {
            id,
            vdn,
            name: name.into(),
            access_codes: vec![code.into()],
            media_type: 5,
        };
        let skills = vec![skill(1, 1, "voice", "10086"), skill(2, 1, "vip", "10087"), skill(3, 2, "voice2", "20086")];
        let hash = Secret::new(password_hash);
        let agents = (101..=700u32)
            .map(|workno| {
                let (vdn, skills) = match workno {
                    101..=150 => (1, vec![1, 2]),
                    151..=600 => (1, vec![1]),
                    _ => (2, vec![3]),
                };
                AgentConfig {
                    workno,
                    vdn,
                    name: format!("Agent {workno}"),
                    password_hash: hash.clone(),
                    password_optional: false,
                    skills,
                    phone: Some(format!("7{workno}")),
                    rights: demo_rights(workno),
                    attributes: demo_attributes(workno),
                }
            })
            .collect();
        (vdns, skills, agents)
    }

    /// Demo agent groups: 1 "Team 1" (101–110) and 2 "Team 2" (111–120) in VDN 1, 3 "Team 3"
    /// (601–610) in VDN 2; every other demo agent is in no group.
    pub fn demo_groups() -> Vec<GroupConfig> {
        let group = |id: u32, vdn: u32, members: std::ops::RangeInclusive<u32>| GroupConfig {
            id,
            vdn,
            name: format!("Team {id}"),
            members: members.collect(),
        };
        vec![group(1, 1, 101..=110), group(2, 1, 111..=120), group(3, 2, 601..=610)]
    }

    /// Demo supervisors: 591–600 supervise all of VDN 1, 101 supervises its group 1 ("Team 1")
    /// and 601 its group 3 ("Team 3", VDN 2).
    pub fn demo_supervisors() -> Vec<SupervisorConfig> {
        let whole = |workno| SupervisorConfig { workno, ..SupervisorConfig::default() };
        let mut v: Vec<_> = (591..=600).map(whole).collect();
        v.push(SupervisorConfig { workno: 101, groups: vec![1], skills: vec![] });
        v.push(SupervisorConfig { workno: 601, groups: vec![3], skills: vec![] });
        v
    }

    /// Demo rest reasons: 1 "Lunch" and 2 "Training" in VDN 1, 1 "Break" in VDN 2.
    pub fn demo_rest_reasons() -> Vec<RestReasonConfig> {
        let reason = |vdn: u32, code: u8, name: &str| RestReasonConfig { vdn, code, name: name.into() };
        vec![reason(1, 1, "Lunch"), reason(1, 2, "Training"), reason(2, 1, "Break")]
    }

    /// Demo IVR flows: 1 "Main menu"/10080 and 2 "Self service"/10081 in VDN 1.
    pub fn demo_ivrs() -> Vec<IvrConfig> {
        let ivr = |id: u32, code: &str, description: &str| IvrConfig {
            id,
            vdn: 1,
            access_code: code.into(),
            description: description.into(),
        };
        vec![ivr(1, "10080", "Main menu"), ivr(2, "10081", "Self service")]
    }

    /// Cross-field and range checks that serde cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.validate_server().context("[server]")?;
        self.validate_admin().context("[admin]")?;
        self.validate_auth().context("[auth]")?;
        self.validate_limits().context("[limits]")?;
        self.validate_engine().context("[engine]")?;
        self.validate_telephony().context("[telephony]")?;
        self.validate_log().context("[log]")?;
        self.validate_recording().context("[recording]")?;
        self.validate_stats().context("[stats]")?;
        self.validate_push().context("[push]")?;
        self.validate_store().context("[store]")?;
        self.validate_cluster().context("[cluster]")?;
        self.validate_provisioning().context(
            "provisioning ([[vdn]], [[skill]], [[ivr]], [[agent]], [[group]], [[rest_reason]], [[supervisor]])",
        )?;
        Ok(())
    }

    fn validate_server(&self) -> anyhow::Result<()> {
        let s = &self.server;
        ensure!(s.cert_file.is_some() == s.key_file.is_some(), "cert_file and key_file must be set together");
        ensure!(
            !(s.plain_http && s.cert_file.is_some()),
            "cert_file/key_file are set but plain_http = true would ignore them"
        );
        ensure!(valid_name(&s.node_name), "node_name must be 1-64 chars of [A-Za-z0-9_-]");
        ensure!(!s.cluster_name.trim().is_empty(), "cluster_name must not be empty");
        ensure!(s.max_connections > 0, "max_connections must be > 0");
        ensure!(s.max_connections <= 1_000_000, "max_connections must be <= 1000000");
        ensure!(s.max_body_bytes > 0, "max_body_bytes must be > 0");
        ensure!(s.max_header_bytes >= 1024, "max_header_bytes must be >= 1024");
        ensure!(s.tls_handshake_timeout_ms > 0, "tls_handshake_timeout_ms must be > 0");
        ensure!(s.idle_timeout_ms > 0, "idle_timeout_ms must be > 0");
        ensure!(s.head_timeout_ms > 0, "head_timeout_ms must be > 0");
        for origin in &s.cors_origins {
            ensure!(
                valid_origin(origin),
                "cors_origins: {origin:?} is not an origin as browsers send it (scheme://host[:port], lower case, no \
                 path or trailing slash)"
            );
        }
        ensure!(s.worker_threads != Some(0), "worker_threads must be > 0");
        Ok(())
    }

    fn validate_admin(&self) -> anyhow::Result<()> {
        if let Some(addr) = self.admin.listen {
            ensure!(addr.port() == 0 || addr != self.server.listen, "admin.listen must differ from server.listen");
        }
        if let Some(token) = &self.admin.token {
            ensure!(
                token.expose().len() >= 16,
                "token must be at least 16 characters (unset it to disable the operator API)"
            );
        }
        if let Some(token) = &self.admin.wallboard_token {
            ensure!(
                token.expose().len() >= 16,
                "wallboard_token must be at least 16 characters (unset it to open the wallboard with admin.token only)"
            );
            ensure!(
                token.expose().bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)),
                "wallboard_token must be URL-safe ([A-Za-z0-9-._~]): it travels as ?token="
            );
        }
        ensure!(self.admin.wallboard_max_clients > 0, "wallboard_max_clients must be > 0");
        Ok(())
    }

    fn validate_stats(&self) -> anyhow::Result<()> {
        let s = &self.stats;
        ensure!(s.service_level_ms > 0, "service_level_ms must be > 0");
        ensure!(s.interval_ms >= 1000, "interval_ms must be >= 1000");
        ensure!(s.window_ms >= 30_000, "window_ms must be >= 30000");
        Ok(())
    }

    fn validate_auth(&self) -> anyhow::Result<()> {
        let a = &self.auth;
        ensure!(matches!(a.mode, 1 | 2), "mode must be 1 or 2, got {}", a.mode);
        ensure!(a.guid_interval_ms > 0, "guid_interval_ms must be > 0");
        ensure!(
            a.guid_interval_ms < a.guid_timeout_ms,
            "guid_interval_ms ({}) must be less than guid_timeout_ms ({})",
            a.guid_interval_ms,
            a.guid_timeout_ms
        );
        ensure!(a.heartbeat_timeout_ms > 0, "heartbeat_timeout_ms must be > 0");
        ensure!(a.poll_wait_ms > 0, "poll_wait_ms must be > 0");
        ensure!(a.poll_wait_ms < a.heartbeat_timeout_ms, "poll_wait_ms must be less than heartbeat_timeout_ms");
        if a.lockout_enabled() {
            ensure!(a.lockout_ms > 0, "lockout_ms must be > 0 when a max_failed_logins* limit is on");
            ensure!(a.failure_window_ms > 0, "failure_window_ms must be > 0 when a max_failed_logins* limit is on");
            ensure!(a.failure_table_size >= 16, "failure_table_size must be >= 16");
        }
        ensure!((1..=256).contains(&a.sign_in_concurrency), "sign_in_concurrency must be 1..=256");
        Ok(())
    }

    fn validate_limits(&self) -> anyhow::Result<()> {
        let l = &self.limits;
        if l.calldata_per_agent > 0 || l.calldata_system > 0 {
            ensure!(l.calldata_window_ms > 0, "calldata_window_ms must be > 0");
        }
        Ok(())
    }

    fn validate_engine(&self) -> anyhow::Result<()> {
        let e = &self.engine;
        ensure!(e.ring_timeout_ms > 0, "ring_timeout_ms must be > 0");
        ensure!(e.max_events_per_agent > 0, "max_events_per_agent must be > 0");
        ensure!(e.tick_ms > 0, "tick_ms must be > 0");
        ensure!(e.tick_ms <= e.ring_timeout_ms, "tick_ms must not exceed ring_timeout_ms");
        Ok(())
    }

    fn validate_push(&self) -> anyhow::Result<()> {
        let p = &self.push;
        ensure!(p.connect_timeout_ms > 0, "connect_timeout_ms must be > 0");
        ensure!(p.request_timeout_ms > 0, "request_timeout_ms must be > 0");
        ensure!(p.retry_min_ms > 0, "retry_min_ms must be > 0");
        ensure!(p.retry_min_ms <= p.retry_max_ms, "retry_min_ms must not exceed retry_max_ms");
        ensure!((1..=1000).contains(&p.max_batch), "max_batch must be 1..=1000");
        ensure!(p.max_queued_events >= p.max_batch, "max_queued_events must be >= max_batch");
        ensure!(p.all_agent_event_max > 0, "all_agent_event_max must be > 0");
        for prefix in &p.allowed_uri_prefixes {
            ensure!(prefix.starts_with("https://"), "allowed_uri_prefixes: {prefix:?} is not an https:// URL");
        }
        Ok(())
    }

    fn validate_recording(&self) -> anyhow::Result<()> {
        let r = &self.recording;
        ensure!(
            r.url_base.starts_with("https://") || r.url_base.starts_with("http://"),
            "url_base must be an http:// or https:// URL"
        );
        ensure!(!r.url_base.ends_with('/'), "url_base must not end with '/'");
        ensure!(r.play_length_ms > 0, "play_length_ms must be > 0");
        Ok(())
    }

    fn validate_store(&self) -> anyhow::Result<()> {
        let st = &self.store;
        match st.backend {
            StoreBackend::Memory => ensure!(st.url.is_none(), "url is only for backend = \"redis\""),
            StoreBackend::Redis => {
                let url = st.url.as_deref().unwrap_or("");
                ensure!(!url.is_empty(), "backend = \"redis\" needs url (e.g. url = \"redis://127.0.0.1:6379\")");
                ensure!(
                    url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("redis+unix://"),
                    "url must start with redis://, rediss:// or redis+unix://"
                );
            }
        }
        ensure!((10..=60_000).contains(&st.timeout_ms), "timeout_ms must be within 10..=60000");
        ensure!(st.snapshot_every >= 1, "snapshot_every must be >= 1");
        Ok(())
    }

    /// The lease's invariant (`cluster.rs`): a holder counts itself holding for `lease_ms - renew_ms`
    /// after it sent its last successful renewal, so it stops before the lease can expire in Redis,
    /// and one renewal may fail without losing the lease: hence `2 * renew_ms <= lease_ms`.
    fn validate_cluster(&self) -> anyhow::Result<()> {
        let c = &self.cluster;
        ensure!(c.renew_ms >= 10, "renew_ms must be >= 10");
        ensure!(c.renew_ms.saturating_mul(2) <= c.lease_ms, "lease_ms must be at least 2 * renew_ms");
        ensure!(c.lease_ms <= 600_000, "lease_ms must be <= 600000");
        ensure!(c.seen_publish_ms >= 10, "seen_publish_ms must be >= 10");
        // Only cluster mode publishes heartbeats; a memory-backend gateway may use a short one.
        ensure!(
            self.store.backend != StoreBackend::Redis || c.seen_publish_ms < self.auth.heartbeat_timeout_ms,
            "seen_publish_ms must be below auth.heartbeat_timeout_ms (else a node's heartbeats reach the lease holder \
             after their agents expired)"
        );
        Ok(())
    }

    fn validate_telephony(&self) -> anyhow::Result<()> {
        if self.telephony.kind == TelephonyKind::Sip {
            self.validate_sip().context("[telephony.sip]")?;
        }
        for (i, rule) in self.telephony.rules.iter().enumerate() {
            let p = &rule.pattern;
            ensure!(!p.is_empty(), "rules[{i}]: pattern must not be empty");
            let star_ok = match p.find('*') {
                None => true,
                Some(pos) => pos == p.len() - 1,
            };
            ensure!(star_ok, "rules[{i}]: '*' is only allowed at the end of pattern {p:?}");
        }
        Ok(())
    }

    fn validate_sip(&self) -> anyhow::Result<()> {
        let sip = &self.telephony.sip;
        ensure!(
            self.store.backend != StoreBackend::Redis || !sip.node.is_empty(),
            "with [store] backend = \"redis\", node must name the node that runs the SIP side (its [server] node_name)"
        );
        ensure!(!sip.realm.is_empty(), "realm must not be empty");
        ensure!(sip.min_expires > 0, "min_expires must be > 0");
        ensure!(sip.min_expires <= sip.max_expires, "min_expires must not exceed max_expires");
        ensure!(
            sip.keepalive_ms == 0 || (100..=86_400_000).contains(&sip.keepalive_ms),
            "keepalive_ms must be 0 (off) or 100 to 86400000"
        );
        if let Some(trunk) = sip.trunk {
            ensure!(!trunk.ip().is_unspecified() && trunk.port() != 0, "trunk must be a concrete address, not {trunk}");
        }
        let mut seen = HashSet::new();
        for (i, p) in sip.phones.iter().enumerate() {
            let n = &p.number;
            ensure!(
                !n.is_empty() && n.len() <= 24 && n.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#'),
                "phone[{i}]: number {n:?} must be 1-24 digits, '*' or '#'"
            );
            ensure!(!p.password.is_empty(), "phone[{i}] ({n}): password must not be empty");
            ensure!(seen.insert(n.as_str()), "phone[{i}]: number {n} is listed twice");
        }
        ensure!(
            self.is_demo() || !sip.phones.is_empty(),
            "no [[telephony.sip.phone]]: no agent's phone could register (the demo password applies only to the demo \
             provisioning)"
        );
        Ok(())
    }

    fn validate_log(&self) -> anyhow::Result<()> {
        let l = &self.log;
        tracing_subscriber::EnvFilter::try_new(&l.level).with_context(|| format!("invalid level {:?}", l.level))?;
        ensure!(
            matches!(l.format.as_str(), "json" | "text"),
            "format must be \"json\" or \"text\", got {:?}",
            l.format
        );
        ensure!(!l.access_log.trim().is_empty(), "access_log must be \"stdout\", \"off\" or a file path");
        Ok(())
    }

    fn validate_provisioning(&self) -> anyhow::Result<()> {
        let mut vdns = HashSet::new();
        for v in &self.vdns {
            ensure!(v.id > 0, "vdn id must be > 0");
            ensure!(vdns.insert(v.id), "duplicate vdn id {}", v.id);
        }

        let mut skills: HashMap<u32, u32> = HashMap::new();
        let mut codes = HashSet::new();
        for s in &self.skills {
            ensure!(s.id > 0, "skill id must be > 0");
            ensure!(skills.insert(s.id, s.vdn).is_none(), "duplicate skill id {}", s.id);
            ensure!(vdns.contains(&s.vdn), "skill {} refers to unknown vdn {}", s.id, s.vdn);
            for code in &s.access_codes {
                ensure!(
                    !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()),
                    "skill {}: access code {code:?} must be digits",
                    s.id
                );
                ensure!(codes.insert(code.as_str()), "duplicate access code {code}");
            }
        }

        let mut ivrs = HashSet::new();
        for i in &self.ivrs {
            ensure!(i.id > 0, "ivr id must be > 0");
            ensure!(ivrs.insert(i.id), "duplicate ivr id {}", i.id);
            ensure!(vdns.contains(&i.vdn), "ivr {} refers to unknown vdn {}", i.id, i.vdn);
            let code = &i.access_code;
            ensure!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()),
                "ivr {}: access code {code:?} must be digits",
                i.id
            );
            ensure!(codes.insert(code.as_str()), "duplicate access code {code}");
        }

        let mut agents = HashSet::new();
        let mut phones = HashSet::new();
        for a in &self.agents {
            if !self.auth.workno_in_range(a.workno) {
                bail!(
                    "agent workno {} out of range {MIN_WORKNO}..={} (see auth.wide_agent_ids)",
                    a.workno,
                    self.auth.max_workno()
                );
            }
            ensure!(agents.insert(a.workno), "duplicate agent workno {}", a.workno);
            ensure!(vdns.contains(&a.vdn), "agent {} refers to unknown vdn {}", a.workno, a.vdn);
            ensure!(
                !a.password_hash.is_empty() || a.password_optional || self.auth.allow_empty_password,
                "agent {} has no password_hash (set password_optional = true for an agent without a password)",
                a.workno
            );
            for skill in &a.skills {
                match skills.get(skill) {
                    None => bail!("agent {} refers to unknown skill {skill}", a.workno),
                    Some(&vdn) if vdn != a.vdn => {
                        bail!("agent {} (vdn {}) has skill {skill} of vdn {vdn}", a.workno, a.vdn)
                    }
                    Some(_) => {}
                }
            }
            if let Some(phone) = &a.phone {
                ensure!(!phone.is_empty(), "agent {} has an empty phone", a.workno);
                ensure!(phones.insert(phone.as_str()), "agent {}: phone {phone} is used by another agent", a.workno);
            }
            for attribute in &a.attributes {
                ensure!(!attribute.trim().is_empty(), "agent {} has an empty attribute", a.workno);
            }
        }
        self.validate_groups()?;
        self.validate_rest_reasons()?;
        self.validate_supervisors()
    }

    /// `[[supervisor]]`: a provisioned agent, listed once, whose groups and skills are of its VDN.
    fn validate_supervisors(&self) -> anyhow::Result<()> {
        let agent_vdn: HashMap<u32, u32> = self.agents.iter().map(|a| (a.workno, a.vdn)).collect();
        let group_vdn: HashMap<u32, u32> = self.groups.iter().map(|g| (g.id, g.vdn)).collect();
        let skill_vdn: HashMap<u32, u32> = self.skills.iter().map(|s| (s.id, s.vdn)).collect();
        let mut seen = HashSet::new();
        for s in &self.supervisors {
            let Some(&vdn) = agent_vdn.get(&s.workno) else {
                bail!("supervisor {} is not a provisioned agent", s.workno)
            };
            ensure!(seen.insert(s.workno), "supervisor {} is listed twice", s.workno);
            for g in &s.groups {
                match group_vdn.get(g) {
                    None => bail!("supervisor {}: unknown group {g}", s.workno),
                    Some(&v) if v != vdn => bail!("supervisor {} (vdn {vdn}): group {g} is of vdn {v}", s.workno),
                    Some(_) => {}
                }
            }
            for k in &s.skills {
                match skill_vdn.get(k) {
                    None => bail!("supervisor {}: unknown skill {k}", s.workno),
                    Some(&v) if v != vdn => bail!("supervisor {} (vdn {vdn}): skill {k} is of vdn {v}", s.workno),
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// `[[group]]`: unique ids, a known VDN, members that are provisioned agents of that VDN and
    /// in no other group.
    fn validate_groups(&self) -> anyhow::Result<()> {
        let agent_vdn: HashMap<u32, u32> = self.agents.iter().map(|a| (a.workno, a.vdn)).collect();
        let vdns: HashSet<u32> = self.vdns.iter().map(|v| v.id).collect();
        let mut ids = HashSet::new();
        let mut member_of: HashMap<u32, u32> = HashMap::new();
        for g in &self.groups {
            ensure!(g.id > 0, "group id must be > 0");
            ensure!(ids.insert(g.id), "duplicate group id {}", g.id);
            ensure!(vdns.contains(&g.vdn), "group {} refers to unknown vdn {}", g.id, g.vdn);
            ensure!(!g.name.trim().is_empty(), "group {} has no name", g.id);
            for &m in &g.members {
                match agent_vdn.get(&m) {
                    None => bail!("group {}: member {m} is not a provisioned agent", g.id),
                    Some(&v) if v != g.vdn => {
                        bail!("group {} (vdn {}): member {m} is an agent of vdn {v}", g.id, g.vdn)
                    }
                    Some(_) => {}
                }
                if let Some(other) = member_of.insert(m, g.id) {
                    if other == g.id {
                        bail!("group {}: member {m} is listed twice", g.id);
                    }
                    bail!(
                        "agent {m} is a member of groups {other} and {}: an agent belongs to at most one group",
                        g.id
                    );
                }
            }
        }
        Ok(())
    }

    /// `[[rest_reason]]`: a known VDN, a code unique within it, a name.
    fn validate_rest_reasons(&self) -> anyhow::Result<()> {
        let vdns: HashSet<u32> = self.vdns.iter().map(|v| v.id).collect();
        let mut seen = HashSet::new();
        for r in &self.rest_reasons {
            ensure!(vdns.contains(&r.vdn), "rest reason {} refers to unknown vdn {}", r.code, r.vdn);
            ensure!(seen.insert((r.vdn, r.code)), "duplicate rest reason {} in vdn {}", r.code, r.vdn);
            ensure!(!r.name.trim().is_empty(), "rest reason {} of vdn {} has no name", r.code, r.vdn);
        }
        Ok(())
    }
}

/// Demo rights: 101 and 591–600 (VDN 1) and 601 (VDN 2) are supervisors (monitor, spy-monitor,
/// inspect, reports; see `demo_supervisors`); every other demo agent is an ordinary agent.
fn demo_rights(workno: u32) -> AgentRightsConfig {
    let supervisor = matches!(workno, 101 | 601 | 591..=600);
    AgentRightsConfig {
        censor: supervisor,
        spy_monitor: supervisor,
        monitor: supervisor,
        report_manager: supervisor,
        ..AgentRightsConfig::default()
    }
}

/// Demo attributes: agents 101–120 and 601–610 speak `english` (odd work numbers) or `chinese`
/// (even ones); the others have none.
fn demo_attributes(workno: u32) -> Vec<String> {
    match workno {
        101..=120 | 601..=610 => vec![if workno % 2 == 1 { "english" } else { "chinese" }.to_owned()],
        _ => Vec::new(),
    }
}

fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Applies one `CCGW_A__B=value` override onto `root`.
///
/// The value is first tried as a TOML value (number, bool, array…) and, if the resulting
/// configuration does not deserialize, as a plain string; so `CCGW_ADMIN__TOKEN=123456…`
/// stays a string while `CCGW_AUTH__MODE=1` becomes an integer.
fn apply_env_var(root: &mut toml::Table, name: &str, raw: &str) -> anyhow::Result<()> {
    let rest = &name[ENV_PREFIX.len()..];
    let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
    if path.iter().any(String::is_empty) {
        bail!("environment variable {name}: malformed key (empty section)");
    }

    let mut candidates = Vec::with_capacity(2);
    if let Some(v) = parse_toml_value(raw) {
        candidates.push(v);
    }
    candidates.push(toml::Value::String(raw.to_owned()));

    let mut last_err = None;
    for value in candidates {
        let mut trial = root.clone();
        set_path(&mut trial, &path, value).with_context(|| format!("environment variable {name}"))?;
        match Config::deserialize(toml::Value::Table(trial.clone())) {
            Ok(_) => {
                *root = trial;
                return Ok(());
            }
            Err(e) => last_err = Some(e),
        }
    }
    match last_err {
        Some(e) => {
            Err(anyhow::Error::new(e)
                .context(format!("environment variable {name} is not a valid configuration override")))
        }
        None => bail!("environment variable {name}: no value"),
    }
}

/// `raw` as a non-string TOML value, if it is one. Datetimes are left as strings.
fn parse_toml_value(raw: &str) -> Option<toml::Value> {
    let doc = format!("v = {raw}");
    let mut table: toml::Table = toml::from_str(&doc).ok()?;
    if table.len() != 1 {
        return None; // e.g. an embedded newline smuggling in other keys
    }
    match table.remove("v")? {
        toml::Value::String(_) | toml::Value::Datetime(_) => None,
        v => Some(v),
    }
}

fn set_path(root: &mut toml::Table, path: &[String], value: toml::Value) -> anyhow::Result<()> {
    let Some((last, parents)) = path.split_last() else {
        bail!("empty key");
    };
    let mut table = root;
    for part in parents {
        let entry = table.entry(part.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = match entry {
            toml::Value::Table(t) => t,
            _ => bail!("`{part}` is not a section"),
        };
    }
    match (table.get_mut(last), value) {
        // Merging an inline table into an existing section keeps the other keys.
        (Some(toml::Value::Table(existing)), toml::Value::Table(new)) => {
            for (k, v) in new {
                existing.insert(k, v);
            }
        }
        (_, value) => {
            table.insert(last.clone(), value);
        }
    }
    Ok(())
}

/// Serde for `Option<SocketAddr>` where `None` is spelled `"off"` (TOML has no null).
mod opt_addr {
    use std::net::SocketAddr;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<SocketAddr>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(addr) => s.collect_str(addr),
            None => s.serialize_str("off"),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
        let s = String::deserialize(d)?;
        match s.trim() {
            "" | "off" | "none" => Ok(None),
            other => other
                .parse()
                .map(Some)
                .map_err(|e| serde::de::Error::custom(format!("invalid socket address {other:?}: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn temp_file(name: &str, contents: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ccgw-config-test-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn defaults() {
        let c = Config::load_from(None, env(&[("PATH", "/bin")])).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.server.listen, "0.0.0.0:8043".parse().unwrap());
        assert!(!c.server.plain_http);
        assert_eq!(c.server.node_name, "AgentGateway0");
        assert_eq!(c.server.cluster_name, "AgentGateway");
        assert_eq!(c.server.max_connections, 20_000);
        assert_eq!(c.admin.listen, Some("127.0.0.1:9043".parse().unwrap()));
        assert_eq!(c.admin.token, None);
        assert_eq!(c.auth.mode, 2);
        assert_eq!(c.auth.sign_in_concurrency, 2);
        assert_eq!(c.limits.calldata_per_agent, 5);
        assert_eq!(c.limits.calldata_system, 15_000);
        assert_eq!(c.engine.ring_timeout_ms, 20_000);
        assert_eq!(c.log.format, "json");
        assert!(c.is_demo());
        c.validate().unwrap();
        assert!(c.server.effective_worker_threads() >= 1);
    }

    #[test]
    fn defaults_roundtrip_through_toml() {
        let mut c = Config::default();
        c.admin.listen = None;
        let text = toml::to_string(&c).unwrap();
        assert_eq!(Config::from_toml_str(&text).unwrap(), c);
    }

    #[test]
    fn env_overrides_nested() {
        let file = temp_file("c.toml", "[server]\nnode_name = \"FromFile\"\nmax_connections = 7\n[auth]\nmode = 1\n");
        let c = Config::load_from(
            Some(&file),
            env(&[
                ("CCGW_SERVER__LISTEN", "127.0.0.1:9000"),
                ("CCGW_SERVER__MAX_CONNECTIONS", "99"),
                ("CCGW_SERVER__PLAIN_HTTP", "true"),
                ("CCGW_LIMITS__CALLDATA_PER_AGENT", "0"),
                ("CCGW_ADMIN__LISTEN", "off"),
                ("CCGW_ADMIN__TOKEN", "1234567890123456"),
                ("CCGW_TELEPHONY__DEFAULT__OUTCOME", "busy"),
                ("CCGW_CONFIG", "/ignored/because/reserved.toml"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(c.server.max_connections, 99);
        assert_eq!(c.server.node_name, "FromFile");
        assert!(c.server.plain_http);
        assert_eq!(c.auth.mode, 1);
        assert_eq!(c.limits.calldata_per_agent, 0);
        assert_eq!(c.admin.listen, None);
        // Numeric-looking token stays a string.
        assert_eq!(c.admin.token.as_ref().unwrap().expose(), "1234567890123456");
        assert_eq!(c.telephony.default.outcome, Outcome::Busy);
        c.validate().unwrap();
    }

    #[test]
    fn unknown_key_in_file_is_error() {
        let file = temp_file("c.toml", "[server]\nlisten = \"0.0.0.0:1\"\nlisten_typo = 1\n");
        let err = Config::load_from(Some(&file), env(&[])).unwrap_err();
        assert!(format!("{err:#}").contains("listen_typo"), "{err:#}");

        let file = temp_file("c.toml", "[nosuchsection]\na = 1\n");
        assert!(Config::load_from(Some(&file), env(&[])).is_err());
    }

    #[test]
    fn unknown_env_is_error() {
        for bad in ["CCGW_SERVER__LISTN", "CCGW_NOSUCH", "CCGW_SERVER__LISTEN__X", "CCGW_SERVER____LISTEN", "CCGW_"] {
            let err = Config::load_from(None, env(&[(bad, "1")]));
            assert!(err.is_err(), "{bad} accepted");
        }
        // Wrong type is an error too.
        let err = Config::load_from(None, env(&[("CCGW_AUTH__MODE", "two")])).unwrap_err();
        assert!(format!("{err:#}").contains("CCGW_AUTH__MODE"), "{err:#}");
    }

    #[test]
    fn validate_rejects_bad_values() {
        let mut c = Config::default();
        c.auth.guid_interval_ms = c.auth.guid_timeout_ms;
        assert!(c.validate().is_err());

        let mut c = Config::default();
        c.auth.mode = 3;
        assert!(c.validate().is_err());

        let mut c = Config::default();
        c.server.cert_file = Some("a.pem".into());
        assert!(c.validate().is_err());

        let (vdns, skills, mut agents) = Config::demo_provisioning("$argon2id$x".into());
        let mut c = Config { vdns: vdns.clone(), skills: skills.clone(), agents: agents.clone(), ..Config::default() };
        c.validate().unwrap();
        // Skill of another VDN.
        c.agents[0].skills.push(3);
        assert!(c.validate().is_err());
        // Duplicate workno.
        agents.push(agents[0].clone());
        let c = Config { vdns, skills, agents, ..Config::default() };
        assert!(c.validate().is_err());
    }

    #[test]
    fn cors_origins_are_checked() {
        for ok in ["https://crm.example.com", "http://localhost:8080", "https://10.0.0.1:443", "https://[::1]:8443"] {
            assert!(valid_origin(ok), "{ok}");
        }
        for bad in [
            "crm.example.com",
            "https://crm.example.com/",
            "https://CRM.example.com",
            "https://crm.example.com/app",
            "https://crm.example.com:",
            "https://crm.example.com:80x",
            "ftp://crm.example.com",
            "*",
            "https://",
            "https://[::1",
        ] {
            assert!(!valid_origin(bad), "{bad}");
        }
        let mut c = Config::default();
        c.server.cors_origins = vec!["https://crm.example.com".into()];
        c.validate().unwrap();
        c.server.cors_origins.push("https://crm.example.com/".into());
        assert!(c.validate().is_err());
    }

    #[test]
    fn sign_in_hardening_keys() {
        let c = Config::default();
        assert_eq!(
            (c.auth.max_failed_logins, c.auth.max_failed_logins_per_source, c.auth.max_failed_logins_per_agent),
            (5, 100, 50)
        );
        assert_eq!((c.auth.failure_window_ms, c.auth.lockout_ms), (900_000, 600_000));
        assert!(!c.auth.allow_empty_password);
        assert!(c.auth.trusted_without_guid.is_empty());

        let c = Config::load_from(
            None,
            env(&[
                ("CCGW_AUTH__TRUSTED_WITHOUT_GUID", r#"["127.0.0.1", "10.1.0.0/16", "fd00::/8"]"#),
                ("CCGW_AUTH__MAX_FAILED_LOGINS_PER_SOURCE", "0"),
                ("CCGW_AUTH__ALLOW_EMPTY_PASSWORD", "true"),
            ]),
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.auth.max_failed_logins_per_source, 0);
        assert!(c.auth.allow_empty_password);
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(c.auth.trusted_without_guid(ip("127.0.0.1")));
        assert!(c.auth.trusted_without_guid(ip("::ffff:127.0.0.1")));
        assert!(!c.auth.trusted_without_guid(ip("127.0.0.2")));
        assert!(c.auth.trusted_without_guid(ip("10.1.200.3")));
        assert!(!c.auth.trusted_without_guid(ip("10.2.0.1")));
        assert!(c.auth.trusted_without_guid(ip("fd12::1")));
        assert!(!c.auth.trusted_without_guid(ip("fe80::1")));
        assert_eq!(c.auth.trusted_without_guid[1].to_string(), "10.1.0.0/16");
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
        assert!("::/0".parse::<Cidr>().unwrap().contains(ip("2001:db8::1")));
        for bad in ["10.0.0.0/33", "::/129", "host", "10.0.0.0/x", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert!(Config::load_from(None, env(&[("CCGW_AUTH__TRUSTED_WITHOUT_GUID", r#"["nope"]"#)])).is_err());

        // An agent without a password needs password_optional (or allow_empty_password).
        let (vdns, skills, mut agents) = Config::demo_provisioning("$argon2id$x".into());
        agents[0].password_hash = Secret::default();
        let mut c = Config { vdns, skills, agents, ..Config::default() };
        assert!(c.validate().is_err());
        c.agents[0].password_optional = true;
        c.validate().unwrap();
        c.agents[0].password_optional = false;
        c.auth.allow_empty_password = true;
        c.validate().unwrap();

        let mut c = Config::default();
        c.auth.failure_window_ms = 0;
        assert!(c.validate().is_err());
        c.auth.max_failed_logins = 0;
        c.auth.max_failed_logins_per_source = 0;
        c.auth.max_failed_logins_per_agent = 0;
        c.validate().unwrap();
    }

    #[test]
    fn demo_provisioning_shape() {
        let (vdns, skills, agents) = Config::demo_provisioning("h".into());
        assert_eq!(vdns.len(), 2);
        assert_eq!(skills.len(), 3);
        assert_eq!(agents.len(), 600);
        let a101 = agents.iter().find(|a| a.workno == 101).unwrap();
        assert_eq!(a101.phone.as_deref(), Some("7101"));
        assert_eq!(a101.name, "Agent 101");
        assert_eq!(a101.skills, vec![1, 2]);
        let a151 = agents.iter().find(|a| a.workno == 151).unwrap();
        assert_eq!(a151.skills, vec![1]);
        let a601 = agents.iter().find(|a| a.workno == 601).unwrap();
        assert_eq!((a601.vdn, a601.skills.clone()), (2, vec![3]));
        assert_eq!(agents.iter().filter(|a| a.vdn == 2).count(), 100);
        // Supervisors and attributes (agentgroup).
        assert!(a101.rights.monitor && a101.rights.censor && a101.rights.callout && !a101.rights.system);
        assert_eq!(a101.attributes, ["english"]);
        assert_eq!(agents.iter().find(|a| a.workno == 102).unwrap().attributes, ["chinese"]);
        assert!(!a151.rights.monitor && a151.rights.callout && a151.rights.pickup && a151.attributes.is_empty());
        assert!(agents.iter().find(|a| a.workno == 601).unwrap().rights.monitor);
    }

    #[test]
    fn telephony_rule_for() {
        let t = Telephony {
            default: TelephonyRule::default(),
            rules: vec![
                TelephonyRule { pattern: "9*".into(), outcome: Outcome::Busy, ..TelephonyRule::default() },
                TelephonyRule { pattern: "555".into(), outcome: Outcome::NoAnswer, ..TelephonyRule::default() },
                TelephonyRule { pattern: "5*".into(), hangup_after_ms: Some(5), ..TelephonyRule::default() },
            ],
            ..Telephony::default()
        };
        assert_eq!(t.rule_for("912").outcome, Outcome::Busy);
        assert_eq!(t.rule_for("555").outcome, Outcome::NoAnswer);
        assert_eq!(t.rule_for("5555").hangup_after_ms, Some(5));
        assert_eq!(t.rule_for("123"), &t.default);
        assert_eq!(t.rule_for("123").answer_after_ms, 1000);
    }

    #[test]
    fn debug_redacts_secrets() {
        let (_, _, agents) = Config::demo_provisioning("$argon2id$v=19$SECRETHASH".into());
        let mut c = Config { agents, ..Config::default() };
        c.admin.token = Some(Secret::new("TOPSECRETTOKEN0123"));
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("SECRETHASH"));
        assert!(!dbg.contains("TOPSECRETTOKEN"));
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn recording_is_checked() {
        let c =
            Config::from_toml_str("[recording]\nurl_base = \"https://rec.example.com/files\"\nplay_length_ms = 5000\n")
                .unwrap();
        assert_eq!(
            c.recording,
            RecordingConfig { url_base: "https://rec.example.com/files".into(), play_length_ms: 5000 }
        );
        c.validate().unwrap();
        for bad in ["url_base = \"ftp://x\"", "url_base = \"https://x/\"", "play_length_ms = 0"] {
            let c = Config::from_toml_str(&format!("[recording]\n{bad}\n")).unwrap();
            assert!(format!("{:#}", c.validate().unwrap_err()).contains("[recording]"), "{bad}");
        }
        assert!(Config::from_toml_str("[recording]\nformat = 1\n").is_err());
    }

    #[test]
    fn wallboard_and_stats_keys_are_checked() {
        let c = Config::from_toml_str(
            "[admin]\nwallboard_token = \"wallboard-token-0123\"\nwallboard_max_clients = 4\n[stats]\nservice_level_ms = \
             15000\ninterval_ms = 60000\nwindow_ms = 120000\n",
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.admin.wallboard_token.as_ref().unwrap().expose(), "wallboard-token-0123");
        assert_eq!(c.admin.wallboard_max_clients, 4);
        let p = c.stats.policy();
        assert_eq!((p.service_level_ms, p.interval_ms, p.window_ms), (15_000, 60_000, 120_000));
        assert_eq!(Config::default().stats.policy(), ccgw_domain::TrafficPolicy::default());
        for (section, bad) in [
            ("admin", "wallboard_token = \"short\""),
            ("admin", "wallboard_token = \"has space in it 0123\""),
            ("admin", "wallboard_max_clients = 0"),
            ("stats", "service_level_ms = 0"),
            ("stats", "interval_ms = 999"),
            ("stats", "window_ms = 29999"),
        ] {
            let c = Config::from_toml_str(&format!("[{section}]\n{bad}\n")).unwrap();
            assert!(format!("{:#}", c.validate().unwrap_err()).contains(&format!("[{section}]")), "{bad}");
        }
        assert!(Config::from_toml_str("[stats]\nthreshold = 1\n").is_err());
    }

    #[test]
    fn push_settings_are_checked() {
        let c = Config::from_toml_str("[push]\nmax_batch = 10\nmax_queued_events = 10\n").unwrap();
        c.validate().unwrap();
        assert_eq!(c.push.max_batch, 10);
        for bad in [
            "max_batch = 0",
            "max_batch = 20\nmax_queued_events = 10",
            "retry_min_ms = 0",
            "retry_min_ms = 5\nretry_max_ms = 4",
            "connect_timeout_ms = 0",
            "request_timeout_ms = 0",
            "all_agent_event_max = 0",
            "allowed_uri_prefixes = [\"http://x/\"]",
        ] {
            let c = Config::from_toml_str(&format!("[push]\n{bad}\n")).unwrap();
            assert!(format!("{:#}", c.validate().unwrap_err()).contains("[push]"), "{bad}");
        }
        assert!(Config::from_toml_str("[push]\nmax_batchs = 1\n").is_err());
        assert_eq!(Config::default().push, PushConfig::default());
    }

    #[test]
    fn cluster_section_defaults_and_validation() {
        let c = Config::from_toml_str("").unwrap();
        assert_eq!(c.cluster, ClusterConfig { lease_ms: 3000, renew_ms: 1000, seen_publish_ms: 1000 });
        c.validate().unwrap();
        let c = Config::from_toml_str("[cluster]\nlease_ms = 600\nrenew_ms = 200\nseen_publish_ms = 250\n").unwrap();
        assert_eq!(c.cluster, ClusterConfig { lease_ms: 600, renew_ms: 200, seen_publish_ms: 250 });
        c.validate().unwrap();
        let err = |toml: &str| format!("{:#}", Config::from_toml_str(toml).unwrap().validate().unwrap_err());
        let e = err("[cluster]\nlease_ms = 1500\nrenew_ms = 1000\n");
        assert!(e.contains("[cluster]") && e.contains("at least 2 * renew_ms"), "{e}");
        assert!(err("[cluster]\nrenew_ms = 5\n").contains("renew_ms must be >= 10"));
        assert!(err("[cluster]\nseen_publish_ms = 0\n").contains("seen_publish_ms must be >= 10"));
        // The memory backend publishes no heartbeats: a heartbeat shorter than the publication
        // period is fine there, not with backend = "redis".
        let short = "[auth]\nheartbeat_timeout_ms = 1000\npoll_wait_ms = 500\n[cluster]\nseen_publish_ms = 1000\n";
        Config::from_toml_str(short).unwrap().validate().unwrap();
        let redis = format!("{short}[store]\nbackend = \"redis\"\nurl = \"redis://127.0.0.1\"\n");
        assert!(err(&redis).contains("seen_publish_ms must be below auth.heartbeat_timeout_ms"));
        assert!(Config::from_toml_str("[cluster]\nnodes = 3\n").is_err(), "unknown keys are errors");
    }

    #[test]
    fn store_backends_and_their_settings() {
        let c = Config::from_toml_str("[store]\nbackend = \"memory\"\n").unwrap();
        assert_eq!(c.store.backend, StoreBackend::Memory);
        c.validate().unwrap();
        assert_eq!(Config::default().store, StoreConfig::default());
        assert_eq!((StoreConfig::default().timeout_ms, StoreConfig::default().snapshot_every), (2_000, 1_000));
        let c = Config::from_toml_str(
            "[store]\nbackend = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\ntimeout_ms = 500\nsnapshot_every = 50\n",
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!((c.store.timeout_ms, c.store.snapshot_every), (500, 50));
        let env_config = Config::load_from(
            None,
            env(&[("CCGW_STORE__BACKEND", "redis"), ("CCGW_STORE__URL", "redis://10.0.0.5:6380/2")]),
        )
        .unwrap();
        env_config.validate().unwrap();
        assert_eq!(env_config.store.url.as_deref(), Some("redis://10.0.0.5:6380/2"));
        let err = |toml: &str| format!("{:#}", Config::from_toml_str(toml).unwrap().validate().unwrap_err());
        assert!(err("[store]\nbackend = \"redis\"\n").contains("needs url"));
        assert!(err("[store]\nbackend = \"redis\"\nurl = \"http://x\"\n").contains("must start with redis://"));
        assert!(err("[store]\nurl = \"redis://x\"\n").contains("only for backend"));
        assert!(err("[store]\ntimeout_ms = 0\n").contains("timeout_ms"));
        assert!(err("[store]\nsnapshot_every = 0\n").contains("snapshot_every"));
        assert!(Config::from_toml_str("[store]\nbackend = \"sql\"\n").is_err());
        assert!(Config::from_toml_str("[store]\nshards = 2\n").is_err());
    }

    #[test]
    fn example_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ccgw.example.toml");
        let c = Config::load_from(Some(&path), env(&[])).unwrap();
        c.validate().unwrap();
        assert!(!c.is_demo());
        assert_eq!(c.vdns.len(), 1);
        assert_eq!(c.skills.len(), 1);
        assert_eq!(c.agents.len(), 1);
        assert!(!c.telephony.rules.is_empty());
        assert_eq!(c.telephony.sip, SipSettings::default(), "the example shows the defaults");
        assert!(c.agents[0].password_hash.expose().starts_with("$argon2id$"));
        assert_eq!(
            c.ivrs,
            vec![IvrConfig { id: 1, vdn: 1, access_code: "10080".into(), description: "Main menu".into() }]
        );
        assert_eq!(c.groups, vec![GroupConfig { id: 1, vdn: 1, name: "Team 1".into(), members: vec![101] }]);
        assert_eq!(c.rest_reasons, vec![RestReasonConfig { vdn: 1, code: 1, name: "Lunch".into() }]);
        assert_eq!(c.agents[0].attributes, ["english"]);
        assert_eq!(c.agents[0].rights, AgentRightsConfig::default());
        assert_eq!(c.push, PushConfig::default());
    }

    #[test]
    fn ivr_provisioning_is_checked() {
        let (vdns, skills, agents) = Config::demo_provisioning("$argon2id$x".into());
        let base = Config { vdns, skills, agents, ivrs: Config::demo_ivrs(), ..Config::default() };
        base.validate().unwrap();
        let bad = |f: &dyn Fn(&mut IvrConfig)| {
            let mut c = base.clone();
            f(&mut c.ivrs[1]);
            format!("{:#}", c.validate().unwrap_err())
        };
        assert!(bad(&|i| i.id = 1).contains("duplicate ivr id 1"));
        assert!(bad(&|i| i.id = 0).contains("ivr id must be > 0"));
        assert!(bad(&|i| i.vdn = 9).contains("ivr 2 refers to unknown vdn 9"));
        assert!(bad(&|i| i.access_code = "1x".into()).contains("must be digits"));
        assert!(bad(&|i| i.access_code = "10086".into()).contains("duplicate access code 10086"));
        let c = Config::from_toml_str("[[ivr]]\nid = 3\nvdn = 1\naccess_code = \"1\"\ndescription = \"d\"\n").unwrap();
        assert_eq!(c.ivrs, vec![IvrConfig { id: 3, vdn: 1, access_code: "1".into(), description: "d".into() }]);
        assert!(Config::from_toml_str("[[ivr]]\nid = 3\nflow = 1\n").is_err());
    }

    // --- agentgroup ---

    #[test]
    fn group_provisioning_is_checked() {
        let (vdns, skills, agents) = Config::demo_provisioning("$argon2id$x".into());
        let base = Config {
            vdns,
            skills,
            agents,
            groups: Config::demo_groups(),
            rest_reasons: Config::demo_rest_reasons(),
            ..Config::default()
        };
        base.validate().unwrap();
        let bad = |f: &dyn Fn(&mut Config)| {
            let mut c = base.clone();
            f(&mut c);
            format!("{:#}", c.validate().unwrap_err())
        };
        assert!(bad(&|c| c.groups[1].id = 1).contains("duplicate group id 1"));
        assert!(bad(&|c| c.groups[1].id = 0).contains("group id must be > 0"));
        assert!(bad(&|c| c.groups[1].vdn = 9).contains("group 2 refers to unknown vdn 9"));
        assert!(bad(&|c| c.groups[1].name = " ".into()).contains("group 2 has no name"));
        assert!(bad(&|c| c.groups[1].members.push(5000)).contains("group 2: member 5000 is not a provisioned agent"));
        assert!(bad(&|c| c.groups[1].members.push(601)).contains("group 2 (vdn 1): member 601 is an agent of vdn 2"));
        assert!(bad(&|c| c.groups[1].members.push(111)).contains("group 2: member 111 is listed twice"));
        assert!(
            bad(&|c| c.groups[1].members.push(101))
                .contains("agent 101 is a member of groups 1 and 2: an agent belongs to at most one group")
        );
        assert!(bad(&|c| c.rest_reasons[1].code = 1).contains("duplicate rest reason 1 in vdn 1"));
        assert!(bad(&|c| c.rest_reasons[1].vdn = 7).contains("rest reason 2 refers to unknown vdn 7"));
        assert!(bad(&|c| c.rest_reasons[1].name.clear()).contains("rest reason 2 of vdn 1 has no name"));
        assert!(bad(&|c| c.agents[0].attributes.push(String::new())).contains("agent 101 has an empty attribute"));
        // Unknown keys are errors here too.
        assert!(Config::from_toml_str("[[group]]\nid = 1\nleader = 101\n").is_err());
        assert!(Config::from_toml_str("[[agent]]\nworkno = 101\nrights = { admin = true }\n").is_err());
    }

    #[test]
    fn rights_default_to_an_ordinary_agent() {
        let c = Config::from_toml_str("[[agent]]\nworkno = 101\nrights = { monitor = true }\n").unwrap();
        let r = &c.agents[0].rights;
        assert!(r.callout && r.pickup && r.monitor);
        assert!(!(r.censor || r.spy_monitor || r.report_manager || r.system));
        let c = Config::from_toml_str("[[agent]]\nworkno = 101\n").unwrap();
        assert_eq!(c.agents[0].rights, AgentRightsConfig::default());
        assert!(c.agents[0].attributes.is_empty());
    }

    #[test]
    fn supervisor_provisioning_is_checked() {
        let (vdns, skills, agents) = Config::demo_provisioning("$argon2id$x".into());
        let base = Config {
            vdns,
            skills,
            agents,
            groups: Config::demo_groups(),
            supervisors: Config::demo_supervisors(),
            ..Config::default()
        };
        base.validate().unwrap();
        let bad = |f: &dyn Fn(&mut Config)| {
            let mut c = base.clone();
            f(&mut c);
            format!("{:#}", c.validate().unwrap_err())
        };
        let push = |workno, groups: Vec<u32>, skills: Vec<u32>| {
            move |c: &mut Config| {
                c.supervisors.push(SupervisorConfig { workno, groups: groups.clone(), skills: skills.clone() })
            }
        };
        assert!(bad(&push(5000, vec![], vec![])).contains("supervisor 5000 is not a provisioned agent"));
        assert!(bad(&push(591, vec![], vec![])).contains("supervisor 591 is listed twice"));
        assert!(bad(&push(102, vec![9], vec![])).contains("supervisor 102: unknown group 9"));
        assert!(bad(&push(102, vec![3], vec![])).contains("supervisor 102 (vdn 1): group 3 is of vdn 2"));
        assert!(bad(&push(102, vec![], vec![7])).contains("supervisor 102: unknown skill 7"));
        assert!(bad(&push(102, vec![], vec![3])).contains("supervisor 102 (vdn 1): skill 3 is of vdn 2"));
        assert!(Config::from_toml_str("[[supervisor]]\nworkno = 101\nagents = [102]\n").is_err());
        // The demo: 591–600 supervise all of VDN 1, 101 its group, 601 VDN 2's group 3; all with
        // the supervisor rights.
        let demo = Config::demo_supervisors();
        assert_eq!(demo.len(), 12);
        assert!(
            demo[..10].iter().zip(591..=600).all(|(s, w)| s.workno == w && s.groups.is_empty() && s.skills.is_empty())
        );
        assert_eq!(demo[10], SupervisorConfig { workno: 101, groups: vec![1], skills: vec![] });
        assert_eq!(demo[11], SupervisorConfig { workno: 601, groups: vec![3], skills: vec![] });
        for s in &demo {
            let r = &base.agents.iter().find(|a| a.workno == s.workno).unwrap().rights;
            assert!(r.censor && r.spy_monitor && r.monitor, "{}", s.workno);
        }
    }

    /// The configuration in the README's "Supervisors and quality control" section loads.
    #[test]
    fn readme_supervisor_example_loads() {
        let readme = include_str!("../../../README.md");
        let section = &readme[readme.find("## Supervisors and quality control").unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        let toml = &section[start..start + section[start..].find("```").unwrap()];
        let c = Config::from_toml_str(toml).unwrap();
        c.validate().unwrap();
        assert_eq!(
            c.supervisors,
            vec![
                SupervisorConfig { workno: 201, groups: vec![], skills: vec![] },
                SupervisorConfig { workno: 202, groups: vec![1], skills: vec![2] },
            ]
        );
    }

    /// The configuration in the README's "Agent groups, rights and rest reasons" section loads.
    #[test]
    fn readme_group_example_loads() {
        let readme = include_str!("../../../README.md");
        let section = &readme[readme.find("## Agent groups, rights and rest reasons").unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        let toml = &section[start..start + section[start..].find("```").unwrap()];
        let c = Config::from_toml_str(toml).unwrap();
        c.validate().unwrap();
        assert_eq!(c.groups, vec![GroupConfig { id: 1, vdn: 1, name: "Team 1".into(), members: vec![101, 102] }]);
        assert_eq!(c.rest_reasons, vec![RestReasonConfig { vdn: 1, code: 1, name: "Lunch".into() }]);
        assert!(c.agents[0].rights.monitor && c.agents[0].rights.callout && !c.agents[1].rights.monitor);
        assert_eq!(c.agents[0].attributes, ["english"]);
    }

    #[test]
    fn sip_telephony_loads_and_is_checked() {
        let text = r#"
            [telephony]
            kind = "sip"
            [telephony.sip]
            listen = "127.0.0.1:5070"
            trunk = "192.0.2.10:5060"
            auto_answer = true
            [[telephony.sip.phone]]
            number = "7101"
            password = "pw-7101"
        "#;
        let c = Config::from_toml_str(text).unwrap();
        c.validate().unwrap();
        assert_eq!(c.telephony.kind, TelephonyKind::Sip);
        assert_eq!(c.telephony.sip.listen, "127.0.0.1:5070".parse().unwrap());
        assert_eq!(c.telephony.sip.trunk, Some("192.0.2.10:5060".parse().unwrap()));
        assert!(c.telephony.sip.auto_answer);
        assert_eq!(c.telephony.sip.phones[0].number, "7101");
        assert!(!format!("{c:?}").contains("pw-7101"), "passwords stay out of Debug");
        // The default stays simulated, and [telephony.sip] is not checked then.
        let d = Config::default();
        assert_eq!(d.telephony.kind, TelephonyKind::Simulated);
        assert_eq!(d.telephony.sip.trunk, None);

        let bad = |extra: &str| {
            let t = format!("[telephony]\nkind = \"sip\"\n[telephony.sip]\n{extra}");
            format!("{:#}", Config::from_toml_str(&t).and_then(|c| c.validate()).unwrap_err())
        };
        assert!(bad("min_expires = 0").contains("[telephony.sip]"));
        assert!(bad("min_expires = 100\nmax_expires = 50").contains("must not exceed"));
        assert!(bad("realm = \"\"").contains("realm"));
        assert!(bad("keepalive_ms = 50").contains("keepalive_ms"));
        assert_eq!(d.telephony.sip.keepalive_ms, 30_000);
        assert!(bad("trunk = \"0.0.0.0:5060\"").contains("trunk"));
        assert!(bad("[[telephony.sip.phone]]\nnumber = \"7x\"\npassword = \"p\"").contains("1-24 digits"));
        assert!(bad("[[telephony.sip.phone]]\nnumber = \"7101\"").contains("password"));
        let twice = "[[telephony.sip.phone]]\nnumber = \"7101\"\npassword = \"p\"\n";
        assert!(bad(&format!("{twice}{twice}")).contains("twice"));
        let redis = "[telephony]\nkind = \"sip\"\n[store]\nbackend = \"redis\"";
        let r = Config::from_toml_str(redis).and_then(|c| c.validate());
        assert!(r.is_err_and(|e| format!("{e:#}").contains("node must name")), "cluster SIP names its node");
        let named = format!("{redis}\nurl = \"redis://127.0.0.1\"\n[telephony.sip]\nnode = \"node-a\"");
        let c = Config::from_toml_str(&named).and_then(|c| c.validate().map(|_| c)).expect("valid");
        assert_eq!(c.telephony.sip.node, "node-a");
        assert!(Config::from_toml_str("[telephony]\nkind = \"pstn\"").is_err());
        assert!(Config::from_toml_str("[telephony.sip]\nlisten_on = \"1.2.3.4:5\"").is_err());
        // Outside the demo, a phone must be configured.
        let t = "[telephony]\nkind = \"sip\"\n[[vdn]]\nid = 1\nname = \"v\"\n[[agent]]\nworkno = 101\nvdn = 1\npassword_optional = true";
        let r = Config::from_toml_str(t).and_then(|c| c.validate());
        assert!(r.is_err_and(|e| format!("{e:#}").contains("no [[telephony.sip.phone]]")));
    }

    /// The configuration in the README's "Real telephony (SIP)" section loads.
    #[test]
    fn readme_sip_example_loads() {
        let readme = include_str!("../../../README.md");
        let section = &readme[readme.find("## Real telephony (SIP)").unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        let toml = &section[start..start + section[start..].find("```").unwrap()];
        let c = Config::from_toml_str(toml).unwrap();
        c.validate().unwrap();
        assert_eq!(c.telephony.kind, TelephonyKind::Sip);
        assert_eq!(c.telephony.sip.keepalive_ms, 30_000);
    }
}

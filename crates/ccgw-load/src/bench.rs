//! `ccgw bench`: throughput and latency of the agent interface.
//!
//! Phases:
//! 1. raise the open-files limit (soft to hard; for `polls`, up to N+1500 — the load tool and the
//!    gateway are separate processes, each with its own limit);
//! 2. (optional) spawn `ccgw serve` on free loopback ports — with a generated
//!    configuration ([`crate::provision`]) when the scenarios need more agents
//!    than the demo's 500 in VDN 1;
//! 3. sign in `--agents` agents, each with a background event long poll;
//! 4. inject `--calls` customer calls via the operator API and answer them,
//!    then let a quarter of the talking agents hold + consult an idle agent,
//!    so some agents have two call ids;
//! 5. run the selected scenarios (allcallinfo + its fixed-rate run,
//!    signin-storm, event-latency, polls, mix — mix last because it changes
//!    the call population);
//! 6. sign everyone out and stop the child.
//!
//! Two baselines are measured in the same run, with the same connections and duration, before
//! each throughput scenario (allcallinfo, mix): the gateway's cheapest answer (an unknown path's
//! 404: `base req/s`, `ratio`) and a bare TLS server in this process on the gateway's TLS
//! configuration answering a constant copy of a real `allcallinfoEx` answer
//! ([`crate::bare`]: `bare req/s`, `bare`), the physical limit of a TLS listener here.
//!
//! Agent ids are used in blocks from the start of the agent range: the
//! `--agents` steady agents, then the storm's agents, then the polls' agents.

use std::collections::HashSet;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyper::Method;

use crate::api::{self, InjectCall, SignInOptions, event_types, paths};
use crate::client::{Client, Connector, Target};
use crate::dist::exponential;
use crate::fleet::{self, Agent, Fleet, RingPolicy};
use crate::gateway::{SpawnOptions, SpawnedGateway};
use crate::polls::{self, PollsConfig};
use crate::progress::{Counters, Progress};
use crate::provision::{FIRST_AGENT, Provisioning, TempDir, VDN2_AGENTS};
use crate::report::{BenchReport, ScenarioReport};
use crate::stats::{InterfaceRow, StatsSet};
use crate::sys;
use crate::workload::{
    AgentDirectory, AllCallInfo, Baseline, QueryMix, closed_loop, closed_loop_for, connect_clients, fixed_rate,
};

/// Agents of VDN 1 in the embedded demo (101-600).
const DEMO_VDN1: AgentRange = AgentRange { first: 101, last: 600 };
/// Long polls of the `polls` scenario unless `--polls N` says otherwise.
const DEFAULT_POLLS: usize = 50_000;
/// Client time-out of one storm sign-in: the server verifies 2 default-cost
/// hashes at a time, so a sign-in may queue for a long while.
const STORM_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Options of `ccgw bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchOpts {
    /// Base URL of a running gateway (https://host:8043 or http://...); all the load comes
    /// from one address, so start it with CCGW_SERVER__MAX_CONNECTIONS_PER_SOURCE=0.
    /// Without it, `ccgw serve` is started on free loopback ports and stopped afterwards.
    #[arg(long)]
    pub target: Option<String>,
    /// Base URL of the operator API (e.g. http://127.0.0.1:9043); needed to
    /// inject calls when --target is given.
    #[arg(long)]
    pub admin: Option<String>,
    /// Bearer token of the operator API.
    #[arg(long, env = "CCGW_ADMIN__TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Agents signed in for the whole run (taken from the start of --agent-range); default 200.
    /// For `--scenario site`: the site's agents (default: as many as the open-files limit allows).
    #[arg(long = "agents", value_name = "AGENTS")]
    pub agents_arg: Option<usize>,
    /// `--agents` or its default (set by `effective`).
    #[arg(skip = 200usize)]
    pub agents: usize,
    /// Customer calls put in progress during setup.
    #[arg(long, default_value_t = 100)]
    pub calls: usize,
    /// Concurrent load connections (one worker task each).
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Seconds per throughput scenario.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Scenarios to run, comma-separated; they run in the order allcallinfo,
    /// signin-storm, event-latency, polls, mix. `all` includes polls only
    /// when --polls is given.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    pub scenario: Vec<Scenario>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Agents signing in at once in the signin-storm scenario (capped at the
    /// agents of the range not already signed in). A spawned gateway is
    /// provisioned with enough agents; their hashes have the default argon2 cost.
    #[arg(long, default_value_t = 5000)]
    pub storm_agents: usize,
    /// Agents of the `polls` scenario, each holding a long poll on its own
    /// connection (default 50000 when `--scenario polls`; giving it adds
    /// polls to `all`).
    #[arg(long)]
    pub polls: Option<usize>,
    /// Agents a spawned gateway is provisioned with (generated config file,
    /// the last 100 in VDN 2). Default: what the selected scenarios need plus
    /// 100, when that exceeds the demo's 500 agents in VDN 1.
    #[arg(long)]
    pub provision: Option<usize>,
    /// Requests per second of the fixed-rate allcallinfoEx run (default: half
    /// the rate the closed-loop run measured).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Process id of the --target gateway, for reading its memory in the
    /// `polls` scenario (a spawned gateway is measured anyway).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Agent ids to use, FIRST-LAST. Default: 101-600 (demo VDN 1), or VDN 1
    /// of the generated provisioning.
    #[arg(long)]
    pub agent_range: Option<AgentRange>,
    /// Agent password.
    #[arg(long, default_value = api::DEMO_PASSWORD)]
    pub password: String,
    /// Access code the injected customer calls dial.
    #[arg(long, default_value = "10086")]
    pub access_code: String,
    /// Customer calls per second injected during the mix scenario.
    #[arg(long, default_value_t = 20.0)]
    pub mix_call_rate: f64,
    /// Idle agents toggled busy/idle in the event-latency scenario.
    #[arg(long, default_value_t = 50)]
    pub latency_agents: usize,
    /// Worker threads of the load generator's own tokio runtime (default: CPU count).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Access log setting of a spawned gateway (CCGW_LOG__ACCESS_LOG).
    #[arg(long, default_value = "off")]
    pub access_log: String,
    /// VDNs the site scenario's agents are split into (two skills each).
    #[arg(long, default_value_t = 4)]
    pub site_vdns: usize,
    /// Customer calls per agent per hour in the site scenario (30: a 50 000-agent site's ~420/s).
    #[arg(long, default_value_t = 30.0)]
    pub calls_per_agent_hour: f64,
    /// Mean talk time (exponential, seconds) in the site scenario; short so that a run of a minute
    /// or two reaches its steady state (the request rate depends on the arrival rate, not on it).
    #[arg(long, default_value_t = 30.0)]
    pub site_handle_time: f64,
    /// Cluster scenario: the nodes' store (`memory`: each node alone, for developing the scenario).
    #[arg(long, value_enum, default_value = "redis")]
    pub backend: crate::cluster::ClusterBackend,
    /// Cluster scenario: gateway nodes behind HAProxy (at least 2).
    #[arg(long, default_value_t = 3)]
    pub cluster_nodes: usize,
    /// Cluster scenario: saybusy/sayfree per second through HAProxy.
    #[arg(long, default_value_t = 2000.0)]
    pub write_rate: f64,
    /// Cluster scenario: agents signed in when every node restarts.
    #[arg(long, default_value_t = 5000)]
    pub restart_agents: usize,
    /// Cluster scenario: calls in progress when every node restarts.
    #[arg(long, default_value_t = 1000)]
    pub restart_calls: usize,
    /// Sip scenario: the runs, in this order (`transfer` is opt-in; see docs/benchmarks.md).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "calls,hold,live")]
    pub sip_runs: Vec<crate::sip::SipRun>,
    /// Sip scenario: customer calls per second (SIPp -r) of the calls, hold and transfer runs.
    #[arg(long, default_value_t = 500.0)]
    pub sip_rate: f64,
    /// Sip scenario: calls per rate run (default: --sip-rate x --duration).
    #[arg(long)]
    pub sip_calls: Option<usize>,
    /// Sip scenario: talk time of a call, ms (hold run: hold, gethold and release a third apart).
    #[arg(long, default_value_t = 1000)]
    pub sip_talk_ms: u64,
    /// Sip scenario: calls held at once in the live run (needs as many agents).
    #[arg(long, default_value_t = 5000)]
    pub sip_live: usize,
    /// Sip scenario: live calls on each gateway during the allcallinfoEx comparison with simulated
    /// telephony (rounds alternated between the SIP and the simulated gateway).
    #[arg(long, default_value_t = 1000)]
    pub sip_query_calls: usize,
    /// Sip scenario: seconds to wait after the runs before reading the gateway's memory again.
    #[arg(long, default_value_t = 0)]
    pub sip_settle_secs: u64,
    /// Sip scenario: the spawned gateways' log level (CCGW_LOG__LEVEL; default: the gateway's).
    #[arg(long)]
    pub sip_log_level: Option<String>,
    /// Tiny sizes for CI: 10 agents, 4 calls, 2 connections, 1 s per
    /// scenario, storm of 20, 50 long polls (polls included in `all`), and a
    /// generated provisioning so that path runs too; then the site scenario with 40 agents in
    /// 2 VDNs, 10 calls/s, for 4 s.
    #[arg(long)]
    pub smoke: bool,
}

/// A bench scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    Allcallinfo,
    Mix,
    SigninStorm,
    EventLatency,
    Polls,
    /// The whole site (issue 10 §5): its own provisioned gateway; in `all` only with `--smoke`.
    Site,
    /// Cluster mode (issue 9): its own redis-server, nodes and HAProxy; never in `all`.
    Cluster,
    /// Real telephony over SIP (issue 11): its own gateways, SIPp phones and customers; never in
    /// `all` (needs `sipp`).
    Sip,
    All,
}

/// An inclusive range of agent ids, written `FIRST-LAST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentRange {
    pub first: u32,
    pub last: u32,
}

impl AgentRange {
    pub fn ids(&self) -> impl Iterator<Item = u32> {
        self.first..=self.last
    }

    /// Number of agent ids in the range (never 0).
    pub fn count(&self) -> usize {
        (self.last - self.first) as usize + 1
    }
}

impl FromStr for AgentRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (first, last) = s.split_once('-').ok_or_else(|| format!("agent range {s:?} must look like 101-600"))?;
        let parse =
            |v: &str| v.trim().parse::<u32>().map_err(|_| format!("agent range {s:?}: {v:?} is not an agent id"));
        let (first, last) = (parse(first)?, parse(last)?);
        if first == 0 || first > last {
            return Err(format!("agent range {s:?} is empty or starts at 0"));
        }
        Ok(Self { first, last })
    }
}

impl BenchOpts {
    /// Applies `--agents` and `--smoke`.
    pub(crate) fn effective(mut self) -> Self {
        if let Some(agents) = self.agents_arg {
            self.agents = agents;
        }
        if self.smoke {
            self.agents = 10;
            self.calls = 4;
            self.connections = 2;
            self.duration = 1.0;
            self.storm_agents = 20;
            self.latency_agents = 4;
            self.mix_call_rate = 5.0;
            self.polls = Some(self.polls.unwrap_or(50).min(50));
        }
        self
    }

    fn runs(&self, scenario: Scenario) -> bool {
        let all = self.scenario.contains(&Scenario::All);
        match scenario {
            Scenario::Polls => self.scenario.contains(&Scenario::Polls) || (all && self.polls.is_some()),
            Scenario::Site => self.scenario.contains(&Scenario::Site) || (all && self.smoke),
            Scenario::Cluster => self.scenario.contains(&Scenario::Cluster),
            Scenario::Sip => self.scenario.contains(&Scenario::Sip),
            _ => all || self.scenario.contains(&scenario),
        }
    }

    /// Long polls of the `polls` scenario (0 when it does not run).
    fn poll_agents(&self) -> usize {
        if self.runs(Scenario::Polls) { self.polls.unwrap_or(DEFAULT_POLLS) } else { 0 }
    }

    /// Agents the storm signs in (0 when it does not run).
    fn storm_count(&self) -> usize {
        if self.runs(Scenario::SigninStorm) { self.storm_agents } else { 0 }
    }

    /// Agents the selected scenarios use: steady + storm + polls.
    fn agents_needed(&self) -> usize {
        self.agents + self.storm_count() + self.poll_agents()
    }

    /// Whether any scenario but `site` runs (they share the first gateway and its fleet).
    fn runs_fleet_scenarios(&self) -> bool {
        [Scenario::Allcallinfo, Scenario::SigninStorm, Scenario::EventLatency, Scenario::Polls, Scenario::Mix]
            .into_iter()
            .any(|s| self.runs(s))
    }

    pub(crate) fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration)
    }

    fn sign_in_options(&self) -> SignInOptions {
        SignInOptions { password: self.password.clone(), auto_enter_idle: true }
    }
}

/// Runs the bench on a dedicated multi-threaded runtime (`--threads`
/// workers) so the load generator's parallelism does not depend on the caller.
pub async fn run_bench(opts: BenchOpts) -> anyhow::Result<BenchReport> {
    let threads = opts.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("ccgw-bench".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads.max(1))
                .thread_name("ccgw-bench-worker")
                .enable_all()
                .build()
                .context("cannot build the bench runtime")
                .and_then(|runtime| runtime.block_on(bench(opts)));
            let _ = done_tx.send(result);
        })
        .context("cannot start the bench thread")?;
    done_rx.await.context("the bench thread panicked")?
}

/// Agent ids of the scenarios, in blocks from the start of the range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Blocks {
    steady: Vec<u32>,
    storm: Vec<u32>,
    polls: Vec<u32>,
}

impl Blocks {
    fn new(range: AgentRange, steady: usize, storm: usize, polls: usize) -> Self {
        let mut ids = range.ids();
        let mut take = |n: usize| ids.by_ref().take(n).collect::<Vec<u32>>();
        Self { steady: take(steady), storm: take(storm), polls: take(polls) }
    }
}

/// Everything the scenarios share.
struct Bench {
    opts: BenchOpts,
    range: AgentRange,
    blocks: Blocks,
    /// The gateway process, for memory readings.
    server_pid: Option<u32>,
    public: Arc<Connector>,
    admin: Option<Arc<Connector>>,
    fleet: Fleet,
    directory: Arc<AgentDirectory>,
}

async fn bench(opts: BenchOpts) -> anyhow::Result<BenchReport> {
    let mut opts = opts.effective();
    if opts.agents < 2 {
        bail!("--agents must be at least 2");
    }
    if opts.target.is_some() && opts.provision.is_some() {
        bail!("--provision needs a spawned gateway (no --target): provision a running gateway yourself");
    }
    let connections = opts.connections.max(1);
    if !opts.runs_fleet_scenarios()
        && !opts.runs(Scenario::Site)
        && !opts.runs(Scenario::Cluster)
        && opts.runs(Scenario::Sip)
    {
        return sip_only(&opts).await;
    }
    if !opts.runs_fleet_scenarios() && opts.runs(Scenario::Cluster) && !opts.runs(Scenario::Site) {
        return cluster_only(&opts).await;
    }
    if !opts.runs_fleet_scenarios() && opts.runs(Scenario::Site) {
        return site_only(&opts).await;
    }
    let mut setup_notes = Vec::new();

    // Open files: every long poll is a socket here and, when spawned, one in the gateway too;
    // each process has its own limit (the gateway inherits ours), so each needs N plus headroom
    // for the other connections and files.
    let polls_wanted = opts.poll_agents();
    let wanted = if polls_wanted > 0 { polls_wanted as u64 + 1500 } else { 0 };
    match sys::raise_nofile_limit(wanted) {
        Ok(limit) => {
            eprintln!("{limit}");
            if polls_wanted > 0 && limit.soft < wanted {
                let capped = limit.soft.saturating_sub(1500) as usize;
                let note = format!(
                    "--polls {polls_wanted} needs an open-files limit of N+1500 = {wanted} but the hard limit is {}: \
                     polls capped at {capped} (raise `ulimit -Hn` or run with CAP_SYS_RESOURCE)",
                    limit.hard
                );
                eprintln!("warning: {note}");
                setup_notes.push(note);
                opts.polls = Some(capped);
            }
        }
        Err(error) => eprintln!("warning: cannot raise the open-files limit: {error}"),
    }

    // The gateway: given, or a child process (provisioned if the demo is too small).
    let needed = opts.agents_needed();
    let provisioning = match (&opts.target, opts.provision) {
        (None, Some(total)) => Some(total),
        (None, None) if opts.smoke || needed > DEMO_VDN1.count() => Some(needed + VDN2_AGENTS),
        _ => None,
    }
    .map(|total| {
        let storm_first = FIRST_AGENT + opts.agents as u32;
        let storm = (opts.storm_count() > 0)
            .then(|| AgentRange { first: storm_first, last: storm_first + opts.storm_count() as u32 - 1 });
        Provisioning::new(total, storm, &opts.access_code)
    })
    .transpose()?;
    let range = match (&provisioning, opts.agent_range) {
        (_, Some(range)) => range,
        (Some(provisioning), None) => provisioning.vdn1,
        (None, None) => DEMO_VDN1,
    };
    if opts.agents > range.count() {
        bail!(
            "--agents {} exceeds the agent range {}-{} ({} agents)",
            opts.agents,
            range.first,
            range.last,
            range.count()
        );
    }
    let blocks = Blocks::new(range, opts.agents, opts.storm_count(), opts.poll_agents());

    let config_dir = match &provisioning {
        Some(_) => Some(TempDir::new("ccgw-bench")?),
        None => None,
    };
    let spawned = match &opts.target {
        Some(_) => None,
        None => {
            let config = match (&provisioning, &config_dir) {
                (Some(provisioning), Some(dir)) => {
                    let exe = std::env::current_exe().context("cannot locate the ccgw executable")?;
                    let path = provisioning.write(&exe, &opts.password, dir.path())?;
                    let note = format!(
                        "gateway provisioned by the bench: VDN 1 agents {}-{}, VDN 2 agents {}-{}; {}a cheap \
                         hash (argon2 m=64 KiB, t=1) so that bulk sign-ins take seconds",
                        provisioning.vdn1.first,
                        provisioning.vdn1.last,
                        provisioning.vdn2.first,
                        provisioning.vdn2.last,
                        provisioning.full_cost.map_or_else(
                            || "all agents have ".to_owned(),
                            |r| format!("storm agents {}-{} have a default-cost hash, all others ", r.first, r.last)
                        ),
                    );
                    eprintln!("{note}");
                    setup_notes.push(note);
                    Some(path)
                }
                _ => None,
            };
            let polls = opts.poll_agents();
            let max_connections =
                (polls > 0).then(|| (polls + opts.agents + opts.storm_count() + 4 * connections + 1000).max(20_000));
            eprintln!("starting the gateway (ccgw serve) ...");
            let options =
                SpawnOptions { access_log: opts.access_log.clone(), config, max_connections, env: Vec::new() };
            Some(SpawnedGateway::start(&options).await?)
        }
    };
    let server_pid = match &spawned {
        Some(gateway) => Some(gateway.pid),
        None => opts.server_pid,
    };
    let (public_target, admin) = match &spawned {
        Some(gateway) => (gateway.public.clone(), Some((gateway.admin.clone(), gateway.admin_token.clone()))),
        None => {
            let target = Target::parse(opts.target.as_deref().unwrap_or_default())?;
            let admin = match (&opts.admin, &opts.admin_token) {
                (Some(url), Some(token)) => Some((Target::parse(url)?, token.clone())),
                (Some(_), None) => bail!("--admin needs --admin-token (or CCGW_ADMIN__TOKEN)"),
                (None, _) => {
                    eprintln!("warning: no --admin given: no calls are injected (allcallinfoEx answers empty lists)");
                    None
                }
            };
            (target, admin)
        }
    };
    let public = Connector::new(public_target.clone())?;
    let admin = admin.map(|(target, token)| Connector::with_bearer(target, &token)).transpose()?;
    if let Some(admin) = &admin {
        api::check_admin(&mut Client::new(admin.clone()))
            .await
            .with_context(|| format!("operator API at {}", admin.target()))?;
    }

    eprintln!("signing in {} agents ...", opts.agents);
    let fleet = Fleet::sign_in(&public, &blocks.steady, connections, &opts.sign_in_options())
        .await
        .map_err(|error| with_gateway_log(error, spawned.as_ref()))?;
    let directory = Arc::new(AgentDirectory::new(fleet.agents.clone()));
    let mut ctx = Bench { opts: opts.clone(), range, blocks, server_pid, public, admin, fleet, directory };

    let consultations = match &ctx.admin {
        Some(admin) if opts.calls > 0 => setup_calls(&ctx, admin.clone()).await?,
        _ => 0,
    };
    let agents_in_call = ctx.fleet.agents_in_call();

    let result = run_scenarios(&mut ctx).await;
    let event_poll_errors = ctx.fleet.shared.poll_errors.load(Ordering::Relaxed);
    eprintln!("signing out ...");
    ctx.fleet.shut_down(connections).await;
    let mut scenarios = result.map_err(|error| with_gateway_log(error, spawned.as_ref()))?;
    if !setup_notes.is_empty() {
        scenarios.insert(0, ScenarioReport::new("setup", Vec::new(), setup_notes));
    }
    let spawned_gateway = spawned.is_some();
    drop(spawned);
    if opts.runs(Scenario::Site) {
        eprintln!("scenario site ...");
        scenarios.push(crate::site::run(&opts).await?);
    }
    if opts.runs(Scenario::Cluster) {
        eprintln!("scenario cluster ...");
        scenarios.extend(crate::cluster::run(&opts).await?);
    }
    if opts.runs(Scenario::Sip) {
        eprintln!("scenario sip ...");
        scenarios.push(crate::sip::run(&opts).await?);
    }

    let report = BenchReport {
        target: public_target.to_string(),
        spawned_gateway,
        provisioned_agents: provisioning.as_ref().map(Provisioning::total),
        agents: opts.agents,
        agents_in_call,
        consultations,
        connections,
        duration_secs: opts.duration,
        event_poll_errors,
        scenarios,
    };
    if let Some(path) = &opts.json {
        let json = serde_json::to_vec_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(report)
}

/// `--scenario site` alone: no shared gateway or fleet, only the site's own.
async fn site_only(opts: &BenchOpts) -> anyhow::Result<BenchReport> {
    let site = crate::site::run(opts).await?;
    let figures = site.site.clone().unwrap_or_default();
    let report = BenchReport {
        target: "site gateway".into(),
        spawned_gateway: true,
        provisioned_agents: Some(figures.agents),
        agents: figures.agents,
        agents_in_call: 0,
        consultations: 0,
        connections: crate::site::ACTION_CONNECTIONS,
        duration_secs: opts.duration,
        event_poll_errors: figures.event_poll_errors,
        scenarios: vec![site],
    };
    if let Some(path) = &opts.json {
        let json = serde_json::to_vec_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(report)
}

/// `--scenario sip` alone: its own gateways, SIPp phones and customers.
async fn sip_only(opts: &BenchOpts) -> anyhow::Result<BenchReport> {
    let sizes = crate::sip::SipSizes::new(opts);
    let report = BenchReport {
        target: "sip gateway".into(),
        spawned_gateway: true,
        provisioned_agents: Some(sizes.agents),
        agents: sizes.agents,
        agents_in_call: 0,
        consultations: 0,
        connections: opts.connections,
        duration_secs: opts.duration,
        event_poll_errors: 0,
        scenarios: vec![crate::sip::run(opts).await?],
    };
    if let Some(path) = &opts.json {
        let json = serde_json::to_vec_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(report)
}

/// `--scenario cluster` alone: its own redis-server, nodes and HAProxy.
async fn cluster_only(opts: &BenchOpts) -> anyhow::Result<BenchReport> {
    let scenarios = crate::cluster::run(opts).await?;
    let report = BenchReport {
        target: "cluster (HAProxy over the bench's nodes)".into(),
        spawned_gateway: true,
        provisioned_agents: Some(opts.restart_agents.max(opts.agents) + crate::provision::VDN2_AGENTS),
        agents: opts.agents,
        agents_in_call: 0,
        consultations: 0,
        connections: opts.connections,
        duration_secs: opts.duration,
        event_poll_errors: 0,
        scenarios,
    };
    if let Some(path) = &opts.json {
        let json = serde_json::to_vec_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(report)
}

/// Appends the spawned gateway's last output lines to an error.
fn with_gateway_log(error: anyhow::Error, gateway: Option<&SpawnedGateway>) -> anyhow::Error {
    match gateway {
        Some(gateway) => {
            error.context(format!("gateway output ({}):\n{}", gateway.log_file.display(), gateway.log_tail()))
        }
        None => error,
    }
}

async fn run_scenarios(ctx: &mut Bench) -> anyhow::Result<Vec<ScenarioReport>> {
    let mut reports = Vec::new();
    if ctx.opts.runs(Scenario::Allcallinfo) {
        eprintln!("scenario allcallinfo ...");
        reports.push(scenario_allcallinfo(ctx).await?);
    }
    if ctx.opts.runs(Scenario::SigninStorm) {
        eprintln!("scenario signin-storm ...");
        reports.push(scenario_signin_storm(ctx).await?);
    }
    if ctx.opts.runs(Scenario::EventLatency) {
        eprintln!("scenario event-latency ...");
        reports.push(scenario_event_latency(ctx).await?);
    }
    if ctx.opts.runs(Scenario::Polls) {
        eprintln!("scenario polls ...");
        reports.push(scenario_polls(ctx).await?);
    }
    if ctx.opts.runs(Scenario::Mix) {
        eprintln!("scenario mix ...");
        reports.push(scenario_mix(ctx).await?);
    }
    Ok(reports)
}

/// Puts `--calls` customer calls in progress and makes a quarter of the
/// talking agents consult an idle colleague. Returns the consultations made.
async fn setup_calls(ctx: &Bench, admin: Arc<Connector>) -> anyhow::Result<usize> {
    let fleet = &ctx.fleet;
    let calls = ctx.opts.calls;
    eprintln!("injecting {calls} customer calls ...");
    fleet.set_ring_policy(RingPolicy::Answer);

    let requests: Vec<InjectCall> = (0..calls)
        .map(|i| InjectCall {
            caller: format!("138{:08}", i + 1),
            access_code: ctx.opts.access_code.clone(),
            call_data: format!("bench={i}"),
        })
        .collect();
    api::inject_calls(&admin, requests).await.context("injecting a setup call failed")?;

    let wait = Duration::from_secs(10) + Duration::from_millis(20 * calls as u64);
    // Every agent takes at most one customer call.
    let expected = calls.min(fleet.agents.len());
    wait_until(wait, || fleet.agents_in_call() >= expected).await;
    let in_call = fleet.agents_in_call();
    if in_call < expected {
        eprintln!(
            "warning: only {in_call} of {expected} setup calls were answered within {wait:?} \
             (are the agents in the skill of access code {}?)",
            ctx.opts.access_code
        );
    }

    // A quarter of the talking agents hold their customer and consult an
    // idle agent of the same VDN: both then have a call, the consulting
    // agent two (held customer + consultation).
    let talking: Vec<&Arc<Agent>> = fleet.agents.iter().filter(|a| a.call_count() > 0).collect();
    let mut idle: Vec<&Arc<Agent>> = fleet.agents.iter().filter(|a| a.call_count() == 0).collect();
    let mut client = Client::new(ctx.public.clone());
    let mut consultations = 0;
    for consulting in talking.iter().take(talking.len() / 4) {
        let Some(pos) = idle.iter().position(|a| a.vdn == consulting.vdn) else {
            break;
        };
        let helper = idle.swap_remove(pos);
        match consult(&mut client, consulting, helper.id()).await {
            Ok(()) => consultations += 1,
            Err(error) => eprintln!("warning: consultation failed: {error:#}"),
        }
    }
    let expected = in_call + consultations;
    if !wait_until(Duration::from_secs(10), || fleet.agents_in_call() >= expected).await {
        eprintln!("warning: {} agents in a call after consultations, expected {expected}", fleet.agents_in_call());
    }
    fleet.set_ring_policy(RingPolicy::Ignore);
    Ok(consultations)
}

/// Hold the current call, then `innerhelp` (two-party consultation) to `helper`.
async fn consult(client: &mut Client, agent: &Agent, helper: u32) -> anyhow::Result<()> {
    let id = agent.id();
    let response = agent.session.send(client, Method::POST, &paths::hold(id), None).await?;
    if !response.is_success() {
        bail!("agent {id}: hold answered {}", response.describe());
    }
    let body = serde_json::json!({"dstaddress": helper.to_string(), "devicetype": 2, "mode": 1});
    let response =
        agent.session.send(client, Method::POST, &paths::inner_help(id), Some(body.to_string().as_bytes())).await?;
    if !response.is_success() {
        bail!("agent {id}: innerhelp to {helper} answered {}", response.describe());
    }
    Ok(())
}

/// Polls `condition` every 50 ms until it holds (true) or `timeout` passes (false).
pub(crate) async fn wait_until(timeout: Duration, condition: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Rate of the 404 baseline with the scenario's connections and duration.
async fn baseline_rate(ctx: &Bench) -> anyhow::Result<f64> {
    let clients = connect_clients(&ctx.public, ctx.opts.connections.max(1)).await?;
    let (stats, elapsed) = closed_loop_for(Arc::new(Baseline), clients, ctx.opts.duration()).await;
    let rate = stats.summarize(elapsed).first().map_or(0.0, |row| row.rate_per_sec);
    Ok(rate)
}

/// Rate of the bare TLS server ([`crate::bare`]) under the seed interface's load (the same
/// workload, connections and duration), answering a constant copy of a real `allcallinfoEx`
/// answer of the gateway (the longest of the first agents' own). `None` (with a note) when no
/// answer could be taken.
async fn bare_rate(ctx: &Bench, notes: &mut Vec<String>) -> anyhow::Result<Option<f64>> {
    let mut client = Client::new(ctx.public.clone());
    let mut body: Option<bytes::Bytes> = None;
    for agent in ctx.directory.agents.iter().take(50) {
        let path = paths::all_call_info(agent.id(), agent.id());
        let response = agent.session.send(&mut client, Method::GET, &path, None).await?;
        if response.is_success() && body.as_ref().is_none_or(|b| b.len() < response.body.len()) {
            body = Some(response.body);
        }
    }
    let Some(body) = body else {
        notes.push("no bare TLS baseline: no allcallinfoEx answer to copy".into());
        return Ok(None);
    };
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server = crate::bare::BareServer::start(crate::bare::response(&body, &date), workers)?;
    let connector = Connector::new(Target::parse(&format!("https://{}", server.addr))?)?;
    let clients = connect_clients(&connector, ctx.opts.connections.max(1)).await?;
    let workload = Arc::new(AllCallInfo(ctx.directory.clone()));
    let (stats, elapsed) = closed_loop_for(workload, clients, ctx.opts.duration()).await;
    drop(server);
    let rate = stats.summarize(elapsed).first().map_or(0.0, |row| row.rate_per_sec);
    notes.push(format!(
        "bare: a TLS server in the bench process (the gateway's rustls configuration, {workers} worker threads) \
         answering the same allcallinfoEx load with a constant {}-byte copy of the gateway's answer \
         (Content-Type, Content-Length, Date); 'bare' = req/s / bare req/s",
        body.len()
    ));
    Ok(Some(rate))
}

/// (a) allcallinfoEx as fast as possible over `--connections` connections
/// (closed loop: the peak), then at a fixed rate — half that peak, or
/// `--rate` — for latency without coordinated omission.
async fn scenario_allcallinfo(ctx: &Bench) -> anyhow::Result<ScenarioReport> {
    let mut notes = Vec::new();
    let baseline = baseline_rate(ctx).await?;
    eprintln!("scenario allcallinfo: bare TLS baseline ...");
    let bare = bare_rate(ctx, &mut notes).await?;
    let connections = ctx.opts.connections.max(1);
    let clients = connect_clients(&ctx.public, connections).await?;
    let workload = Arc::new(AllCallInfo(ctx.directory.clone()));
    let (stats, elapsed) = closed_loop_for(workload.clone(), clients, ctx.opts.duration()).await;
    let mut rows: Vec<InterfaceRow> =
        stats.summarize(elapsed).into_iter().map(|row| row.with_baseline(baseline).with_bare(bare)).collect();
    let peak = rows.first().map_or(0.0, |row| row.rate_per_sec);

    let (rate, label) = match ctx.opts.rate {
        Some(rate) => (rate, format!("allcallinfoEx @ {rate:.0}/s")),
        None => (peak / 2.0, "allcallinfoEx @ 50% peak".to_owned()),
    };
    if rate > 0.0 {
        eprintln!("scenario allcallinfo: fixed rate {rate:.0} req/s ...");
        let clients = connect_clients(&ctx.public, connections).await?;
        let (stats, elapsed) = fixed_rate(workload, clients, rate, ctx.opts.duration()).await;
        let fixed: Vec<InterfaceRow> = stats.summarize(elapsed);
        let achieved = fixed.first().map_or(0.0, |row| row.rate_per_sec);
        rows.extend(fixed.into_iter().map(|mut row| {
            if row.interface == "allcallinfoEx" {
                row.interface = label.clone();
            }
            row
        }));
        notes.push(format!(
            "'{label}': open loop, {rate:.0} req/s scheduled at fixed intervals over {connections} connections \
             (achieved {achieved:.0} req/s); latency from the scheduled send time (no coordinated omission); \
             the generator's own lateness is not charged ('send lag' row)"
        ));
    } else {
        notes.push("no fixed-rate run: the closed-loop run measured no rate".into());
    }
    Ok(ScenarioReport::new("allcallinfo", rows, notes))
}

/// (c) Many agents sign in at once while allcallinfoEx queries keep running.
async fn scenario_signin_storm(ctx: &Bench) -> anyhow::Result<ScenarioReport> {
    let opts = &ctx.opts;
    let signed_in: HashSet<u32> = ctx.fleet.agents.iter().map(|a| a.id()).collect();
    let ids: Vec<u32> = ctx.blocks.storm.iter().copied().filter(|id| !signed_in.contains(id)).collect();
    let mut notes = Vec::new();
    if ids.len() < opts.storm_agents {
        let note = format!(
            "storm capped at {} agents ({} requested): agent range {}-{} minus the {} steady agents",
            ids.len(),
            opts.storm_agents,
            ctx.range.first,
            ctx.range.last,
            signed_in.len()
        );
        eprintln!("warning: {note}");
        notes.push(note);
    }
    if ids.is_empty() {
        return Ok(ScenarioReport::new("signin-storm", Vec::new(), notes));
    }

    // Connect first so the storm measures sign-in, not TLS handshakes.
    let connections = opts.connections.max(1);
    let storm_clients: Vec<Client> = connect_clients(&ctx.public, connections.min(ids.len()))
        .await?
        .into_iter()
        .map(|client| client.with_timeout(STORM_REQUEST_TIMEOUT))
        .collect();
    let query_clients = connect_clients(&ctx.public, (connections / 4).max(1)).await?;
    let stop_queries = Arc::new(AtomicBool::new(false));
    let queries =
        tokio::spawn(closed_loop(Arc::new(AllCallInfo(ctx.directory.clone())), query_clients, stop_queries.clone()));

    // The gateway's resident memory before, during (sampled) and after the storm: every
    // verification needs the hash's memory cost (19 MiB at the OWASP default).
    let memory = ctx.server_pid.map(StormMemory::start);

    // Strict sign-in: any retcode but "0" (100-002 included) is an error.
    let counters = Arc::new(Counters::default());
    let progress = Progress::start("signin-storm", ids.len(), counters.clone());
    let started = Instant::now();
    let results = fleet::timed_strict_sign_ins(storm_clients, ids.clone(), opts.sign_in_options(), counters).await;
    let completion = started.elapsed();
    drop(progress);
    stop_queries.store(true, Ordering::Relaxed);
    let (query_stats, query_elapsed) = queries.await.context("query workers panicked")?;

    let mut stats = StatsSet::default();
    let sign_ins = stats.get("signin");
    let mut sessions = Vec::new();
    let mut first_error = None;
    for (latency, result) in results {
        match result {
            Ok(signed_in) => {
                sign_ins.record_success(latency);
                sessions.push(signed_in.session);
            }
            Err(error) => {
                sign_ins.record_failure(&error.retcode);
                first_error.get_or_insert(error);
            }
        }
    }
    notes.push(format!(
        "{} sign-ins over {} connections completed in {:.3} s",
        ids.len(),
        connections.min(ids.len()),
        completion.as_secs_f64()
    ));
    let error_count = stats.get("signin").error_count();
    if let Some(error) = first_error {
        let by_code: Vec<String> =
            stats.get("signin").errors.iter().map(|(code, count)| format!("{code} x{count}")).collect();
        let note = format!("{error_count} SIGN-IN ERRORS (must be 0): {}; first: {error}", by_code.join(", "));
        eprintln!("error: {note}");
        notes.push(note);
    } else {
        notes.push("0 sign-in errors".into());
    }
    fleet::sign_out_sessions(&ctx.public, sessions.iter(), connections).await;
    if let Some(memory) = memory {
        notes.push(memory.finish().await);
    }

    let mut rows = stats.summarize(completion);
    rows.extend(query_stats.summarize(query_elapsed).into_iter().map(|mut row| {
        row.interface = format!("{} (concurrent)", row.interface);
        row
    }));
    Ok(ScenarioReport::new("signin-storm", rows, notes))
}

/// How long after the storm (and its sign-outs) the gateway's memory is read again.
const STORM_SETTLE: Duration = Duration::from_secs(3);

/// The gateway's `VmRSS` around the sign-in storm: before it, the highest sample while it runs
/// (every 50 ms), and [`STORM_SETTLE`] after it.
struct StormMemory {
    pid: u32,
    before: Option<sys::Memory>,
    stop: Arc<AtomicBool>,
    sampler: tokio::task::JoinHandle<u64>,
}

impl StormMemory {
    fn start(pid: u32) -> Self {
        let before = sys::process_memory(Some(pid)).ok();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let sampler = tokio::spawn(async move {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                if let Ok(m) = sys::process_memory(Some(pid)) {
                    peak = peak.max(m.rss_kib);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            peak
        });
        Self { pid, before, stop, sampler }
    }

    /// Stops sampling, waits [`STORM_SETTLE`] and describes the three readings.
    async fn finish(self) -> String {
        self.stop.store(true, Ordering::Relaxed);
        let peak = self.sampler.await.unwrap_or(0);
        tokio::time::sleep(STORM_SETTLE).await;
        let after = sys::process_memory(Some(self.pid)).ok();
        let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
        let reading = |m: Option<sys::Memory>| m.map_or_else(|| "unreadable".to_owned(), |m| mib(m.rss_kib));
        format!(
            "server VmRSS: {} before the storm, {} at its peak, {} {} s after it (pid {})",
            reading(self.before),
            mib(peak),
            reading(after),
            STORM_SETTLE.as_secs(),
            self.pid
        )
    }
}

/// (e) N agents each holding a long poll on its own connection; the gateway's memory.
async fn scenario_polls(ctx: &Bench) -> anyhow::Result<ScenarioReport> {
    let requested = ctx.opts.poll_agents();
    let ids = ctx.blocks.polls.clone();
    let mut notes = Vec::new();
    if ids.len() < requested {
        let note = format!(
            "polls capped at {} agents ({requested} requested): agent range {}-{} minus the steady and storm agents",
            ids.len(),
            ctx.range.first,
            ctx.range.last
        );
        eprintln!("warning: {note}");
        notes.push(note);
    }
    if ids.is_empty() {
        return Ok(ScenarioReport::new("polls", Vec::new(), notes));
    }
    let hold = if ctx.opts.smoke { ctx.opts.duration() } else { ctx.opts.duration().max(Duration::from_secs(12)) };
    let outcome = polls::run(PollsConfig {
        ids,
        public: ctx.public.clone(),
        admin: ctx.admin.clone(),
        connections: ctx.opts.connections.max(1),
        options: ctx.opts.sign_in_options(),
        hold,
        server_pid: ctx.server_pid,
    })
    .await?;
    notes.extend(outcome.notes);
    Ok(ScenarioReport { memory: outcome.memory, ..ScenarioReport::new("polls", outcome.rows, notes) })
}

/// (d) Time from a state-change request to the event that reports it.
async fn scenario_event_latency(ctx: &Bench) -> anyhow::Result<ScenarioReport> {
    let sample: Vec<Arc<Agent>> =
        ctx.fleet.agents.iter().filter(|a| a.call_count() == 0).take(ctx.opts.latency_agents).cloned().collect();
    if sample.is_empty() {
        return Ok(ScenarioReport::new("event-latency", Vec::new(), vec!["no idle agent to toggle".into()]));
    }
    let deadline = Instant::now() + ctx.opts.duration();
    let started = Instant::now();
    let tasks: Vec<_> = sample
        .iter()
        .map(|agent| {
            let agent = agent.clone();
            let client = Client::new(ctx.public.clone());
            tokio::spawn(toggle_state(agent, client, deadline))
        })
        .collect();
    let mut stats = StatsSet::default();
    for task in tasks {
        stats.merge(&task.await.context("event-latency task panicked")?);
    }
    Ok(ScenarioReport::new(
        "event-latency",
        stats.summarize(started.elapsed()),
        vec![format!(
            "{} idle agents toggled saybusy/sayfree; event rows = request sent -> poll response with the event",
            sample.len()
        )],
    ))
}

/// How long to wait for the event confirming a state change.
const EVENT_TIMEOUT: Duration = Duration::from_secs(5);

/// One half of a busy/idle toggle: the request and the event confirming it.
struct Toggle {
    request: &'static str,
    path: fn(u32) -> String,
    event_kind: &'static str,
    /// Report row for the request-to-event latency.
    event_row: &'static str,
}

const TOGGLES: [Toggle; 2] = [
    Toggle {
        request: "saybusy",
        path: paths::say_busy,
        event_kind: event_types::SET_NOT_READY,
        event_row: "event SetNotReady",
    },
    Toggle { request: "sayfree", path: paths::say_free, event_kind: event_types::READY, event_row: "event Ready" },
];

/// One agent alternates `saybusy` / `sayfree` until `deadline`, measuring
/// request latency and request-to-event latency.
pub(crate) async fn toggle_state(agent: Arc<Agent>, mut client: Client, deadline: Instant) -> StatsSet {
    let mut stats = StatsSet::default();
    let mut events = agent.listen().await;
    'outer: while Instant::now() < deadline {
        for toggle in &TOGGLES {
            while events.try_recv().is_ok() {}
            let sent = Instant::now();
            let result = agent.session.send(&mut client, Method::POST, &(toggle.path)(agent.id()), None).await;
            match result {
                Ok(response) if response.is_success() => stats.get(toggle.request).record_success(sent.elapsed()),
                Ok(response) => {
                    stats.get(toggle.request).record_error(&response);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue 'outer;
                }
                Err(_) => {
                    stats.get(toggle.request).record_transport_error();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue 'outer;
                }
            }
            let wait_for_event = async {
                while let Some(event) = events.recv().await {
                    if event.kind == toggle.event_kind {
                        return Some(event.received_at.saturating_duration_since(sent));
                    }
                }
                None
            };
            match tokio::time::timeout(EVENT_TIMEOUT, wait_for_event).await {
                Ok(Some(latency)) => stats.get(toggle.event_row).record_success(latency),
                _ => stats.get(toggle.event_row).record_failure("timeout"),
            }
        }
    }
    agent.stop_listening();
    stats
}

/// (b) Desktop mix: calls arrive and are answered/released by the agents
/// while query workers run `callinfo` / `allcallinfoEx` / `agentstatus`.
async fn scenario_mix(ctx: &Bench) -> anyhow::Result<ScenarioReport> {
    let mut notes = Vec::new();
    let baseline = baseline_rate(ctx).await?;
    let bare = bare_rate(ctx, &mut notes).await?;
    let fleet = &ctx.fleet;
    *fleet.shared.actions.lock().expect("stats lock poisoned") = StatsSet::default();
    fleet.set_ring_policy(RingPolicy::AnswerAndRelease);

    let stop = Arc::new(AtomicBool::new(false));
    let arrivals = match &ctx.admin {
        Some(admin) if ctx.opts.mix_call_rate > 0.0 => Some(tokio::spawn(call_arrivals(
            Client::new(admin.clone()),
            ctx.opts.access_code.clone(),
            ctx.opts.mix_call_rate,
            stop.clone(),
        ))),
        _ => {
            notes.push("no calls injected (no operator API or --mix-call-rate 0)".into());
            None
        }
    };

    let clients = connect_clients(&ctx.public, ctx.opts.connections.max(1)).await?;
    let workload = Arc::new(QueryMix(ctx.directory.clone()));
    let (query_stats, elapsed) = closed_loop_for(workload, clients, ctx.opts.duration()).await;
    stop.store(true, Ordering::Relaxed);
    fleet.set_ring_policy(RingPolicy::Ignore);

    let mut rows: Vec<InterfaceRow> =
        query_stats.summarize(elapsed).into_iter().map(|row| row.with_baseline(baseline).with_bare(bare)).collect();
    if let Some(arrivals) = arrivals {
        let inject_stats = arrivals.await.context("call generator panicked")?;
        rows.extend(inject_stats.summarize(elapsed));
    }
    let actions = fleet.shared.actions.lock().expect("stats lock poisoned").clone();
    rows.extend(actions.summarize(elapsed));
    notes.push(format!(
        "calls arrive at ~{}/s (Poisson), agents answer on Ringing and release after 0.5-3 s",
        ctx.opts.mix_call_rate
    ));
    Ok(ScenarioReport::new("mix", rows, notes))
}

/// Injects customer calls with exponential inter-arrival times until `stop`.
async fn call_arrivals(mut admin: Client, access_code: String, rate: f64, stop: Arc<AtomicBool>) -> StatsSet {
    let mut stats = StatsSet::default();
    let mut sequence = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let gap = exponential(&mut rand::rng(), 1.0 / rate);
        tokio::time::sleep(Duration::from_secs_f64(gap)).await;
        sequence += 1;
        let call = InjectCall {
            caller: format!("139{sequence:08}"),
            access_code: access_code.clone(),
            call_data: format!("mix={sequence}"),
        };
        let started = Instant::now();
        match api::inject_call(&mut admin, &call).await {
            Ok(_) => stats.get("admin POST /admin/calls").record_success(started.elapsed()),
            Err(error) => {
                tracing::debug!("{error:#}");
                stats.get("admin POST /admin/calls").record_failure("failed");
            }
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchOpts,
    }

    #[test]
    fn parses_agent_ranges() {
        let range: AgentRange = "101-600".parse().unwrap();
        assert_eq!((range.first, range.last, range.count()), (101, 600, 500));
        assert!("600-101".parse::<AgentRange>().is_err());
        assert!("101".parse::<AgentRange>().is_err());
        assert!("a-b".parse::<AgentRange>().is_err());
    }

    #[test]
    fn defaults_and_scenario_list() {
        let cli = Cli::try_parse_from(["bench"]).unwrap();
        let opts = cli.bench;
        assert_eq!((opts.agents, opts.calls, opts.connections), (200, 100, 64));
        assert!(opts.runs(Scenario::Mix));

        let cli = Cli::try_parse_from(["bench", "--scenario", "allcallinfo,signin-storm", "--smoke"]).unwrap();
        let opts = cli.bench.effective();
        assert!(opts.runs(Scenario::SigninStorm));
        assert!(!opts.runs(Scenario::EventLatency));
        assert_eq!((opts.agents, opts.storm_agents, opts.duration), (10, 20, 1.0));
        assert!(!opts.runs(Scenario::Polls));
    }

    #[test]
    fn polls_join_all_only_when_asked() {
        let opts = Cli::try_parse_from(["bench"]).unwrap().bench;
        assert!(!opts.runs(Scenario::Polls));
        assert_eq!(opts.agents_needed(), 200 + 5000);
        let opts = Cli::try_parse_from(["bench", "--polls", "1000"]).unwrap().bench;
        assert!(opts.runs(Scenario::Polls));
        assert_eq!(opts.agents_needed(), 200 + 5000 + 1000);
        let opts = Cli::try_parse_from(["bench", "--scenario", "polls"]).unwrap().bench;
        assert_eq!((opts.poll_agents(), opts.storm_count(), opts.agents_needed()), (50_000, 0, 50_200));
        let opts = Cli::try_parse_from(["bench", "--smoke"]).unwrap().bench.effective();
        assert_eq!(opts.poll_agents(), 50);
    }

    #[test]
    fn blocks_follow_each_other() {
        let blocks = Blocks::new(AgentRange { first: 101, last: 110 }, 3, 4, 5);
        assert_eq!(blocks.steady, vec![101, 102, 103]);
        assert_eq!(blocks.storm, vec![104, 105, 106, 107]);
        assert_eq!(blocks.polls, vec![108, 109, 110]);
    }
}

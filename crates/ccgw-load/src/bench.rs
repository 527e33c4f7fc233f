//! `ccgw bench`: throughput and latency of the agent interface.
//!
//! Phases:
//! 1. (optional) spawn `ccgw serve` on free loopback ports;
//! 2. sign in `--agents` agents, each with a background event long poll;
//! 3. inject `--calls` customer calls via the operator API and answer them,
//!    then let a quarter of the talking agents hold + consult an idle agent,
//!    so some agents have two call ids;
//! 4. run the selected scenarios (allcallinfo, signin-storm, event-latency,
//!    mix — mix last because it changes the call population);
//! 5. sign everyone out and stop the child.

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
use crate::gateway::SpawnedGateway;
use crate::report::{BenchReport, ScenarioReport};
use crate::stats::{InterfaceRow, StatsSet};
use crate::workload::{AgentDirectory, AllCallInfo, Baseline, QueryMix, closed_loop, closed_loop_for, connect_clients};

/// Options of `ccgw bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchOpts {
    /// Base URL of a running gateway (https://host:8043 or http://...).
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
    /// Agents signed in for the whole run (taken from the start of --agent-range).
    #[arg(long, default_value_t = 200)]
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
    /// signin-storm, event-latency, mix.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    pub scenario: Vec<Scenario>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Agents signing in at once in the signin-storm scenario (capped at the
    /// provisioned agents not already signed in).
    #[arg(long, default_value_t = 5000)]
    pub storm_agents: usize,
    /// Provisioned agent ids to use, FIRST-LAST (the demo provisioning has 101-600 in VDN 1).
    #[arg(long, default_value = "101-600")]
    pub agent_range: AgentRange,
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
    /// Tiny sizes for CI: 10 agents, 4 calls, 2 connections, 1 s per scenario, storm of 20.
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
    /// Applies `--smoke`.
    fn effective(mut self) -> Self {
        if self.smoke {
            self.agents = 10;
            self.calls = 4;
            self.connections = 2;
            self.duration = 1.0;
            self.storm_agents = 20;
            self.latency_agents = 4;
            self.mix_call_rate = 5.0;
        }
        self
    }

    fn runs(&self, scenario: Scenario) -> bool {
        self.scenario.contains(&Scenario::All) || self.scenario.contains(&scenario)
    }

    fn duration(&self) -> Duration {
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

/// Everything the scenarios share.
struct Bench {
    opts: BenchOpts,
    public: Arc<Connector>,
    admin: Option<Arc<Connector>>,
    fleet: Fleet,
    directory: Arc<AgentDirectory>,
}

async fn bench(opts: BenchOpts) -> anyhow::Result<BenchReport> {
    let opts = opts.effective();
    if opts.agents < 2 {
        bail!("--agents must be at least 2");
    }
    if opts.agents > opts.agent_range.count() {
        bail!(
            "--agents {} exceeds --agent-range {}-{} ({} agents)",
            opts.agents,
            opts.agent_range.first,
            opts.agent_range.last,
            opts.agent_range.count()
        );
    }
    let connections = opts.connections.max(1);

    // The gateway: given, or a child process.
    let spawned = match &opts.target {
        Some(_) => None,
        None => {
            eprintln!("starting the gateway (ccgw serve) ...");
            Some(SpawnedGateway::start(&opts.access_log).await?)
        }
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
    let ids: Vec<u32> = opts.agent_range.ids().take(opts.agents).collect();
    let fleet = Fleet::sign_in(&public, &ids, connections, &opts.sign_in_options())
        .await
        .map_err(|error| with_gateway_log(error, spawned.as_ref()))?;
    let directory = Arc::new(AgentDirectory::new(fleet.agents.clone()));
    let mut ctx = Bench { opts: opts.clone(), public, admin, fleet, directory };

    let consultations = match &ctx.admin {
        Some(admin) if opts.calls > 0 => setup_calls(&ctx, admin.clone()).await?,
        _ => 0,
    };
    let agents_in_call = ctx.fleet.agents_in_call();

    let result = run_scenarios(&mut ctx).await;
    let event_poll_errors = ctx.fleet.shared.poll_errors.load(Ordering::Relaxed);
    eprintln!("signing out ...");
    ctx.fleet.shut_down(connections).await;
    let scenarios = result.map_err(|error| with_gateway_log(error, spawned.as_ref()))?;

    let report = BenchReport {
        target: public_target.to_string(),
        spawned_gateway: spawned.is_some(),
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
    let clients = (0..calls.clamp(1, 8)).map(|_| Client::new(admin.clone())).collect();
    let injected = fleet::for_each_parallel(clients, requests, |mut client, call| async move {
        let result = api::inject_call(&mut client, &call).await;
        (client, result)
    })
    .await;
    if let Some(error) = injected.into_iter().find_map(Result::err) {
        return Err(error.context("injecting a setup call failed"));
    }

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
async fn wait_until(timeout: Duration, condition: impl Fn() -> bool) -> bool {
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

/// (a) allcallinfoEx as fast as possible over `--connections` connections.
async fn scenario_allcallinfo(ctx: &Bench) -> anyhow::Result<ScenarioReport> {
    let baseline = baseline_rate(ctx).await?;
    let clients = connect_clients(&ctx.public, ctx.opts.connections.max(1)).await?;
    let workload = Arc::new(AllCallInfo(ctx.directory.clone()));
    let (stats, elapsed) = closed_loop_for(workload, clients, ctx.opts.duration()).await;
    Ok(ScenarioReport {
        name: "allcallinfo".into(),
        rows: stats.summarize(elapsed).into_iter().map(|row| row.with_baseline(baseline)).collect(),
        notes: Vec::new(),
    })
}

/// (c) Many agents sign in at once while allcallinfoEx queries keep running.
async fn scenario_signin_storm(ctx: &Bench) -> anyhow::Result<ScenarioReport> {
    let opts = &ctx.opts;
    let signed_in: HashSet<u32> = ctx.fleet.agents.iter().map(|a| a.id()).collect();
    let ids: Vec<u32> = opts.agent_range.ids().filter(|id| !signed_in.contains(id)).take(opts.storm_agents).collect();
    let mut notes = Vec::new();
    if ids.len() < opts.storm_agents {
        let note = format!(
            "storm capped at {} agents ({} requested): --agent-range {}-{} minus the {} steady agents",
            ids.len(),
            opts.storm_agents,
            opts.agent_range.first,
            opts.agent_range.last,
            signed_in.len()
        );
        eprintln!("warning: {note}");
        notes.push(note);
    }
    if ids.is_empty() {
        return Ok(ScenarioReport { name: "signin-storm".into(), rows: Vec::new(), notes });
    }

    // Connect first so the storm measures sign-in, not TLS handshakes.
    let connections = opts.connections.max(1);
    let storm_clients = connect_clients(&ctx.public, connections.min(ids.len())).await?;
    let query_clients = connect_clients(&ctx.public, (connections / 4).max(1)).await?;
    let stop_queries = Arc::new(AtomicBool::new(false));
    let queries =
        tokio::spawn(closed_loop(Arc::new(AllCallInfo(ctx.directory.clone())), query_clients, stop_queries.clone()));

    let options = Arc::new(opts.sign_in_options());
    let started = Instant::now();
    let results = fleet::for_each_parallel(storm_clients, ids.clone(), move |mut client, id| {
        let options = options.clone();
        async move {
            let started = Instant::now();
            let result = api::sign_in(&mut client, id, &options).await;
            (client, (started.elapsed(), result))
        }
    })
    .await;
    let completion = started.elapsed();
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
    if let Some(error) = first_error {
        let note = format!("SIGN-IN ERRORS (must be 0); first: {error}");
        eprintln!("error: {note}");
        notes.push(note);
    }
    fleet::sign_out_sessions(&ctx.public, sessions.iter(), connections).await;

    let mut rows = stats.summarize(completion);
    rows.extend(query_stats.summarize(query_elapsed).into_iter().map(|mut row| {
        row.interface = format!("{} (concurrent)", row.interface);
        row
    }));
    Ok(ScenarioReport { name: "signin-storm".into(), rows, notes })
}

/// (d) Time from a state-change request to the event that reports it.
async fn scenario_event_latency(ctx: &Bench) -> anyhow::Result<ScenarioReport> {
    let sample: Vec<Arc<Agent>> =
        ctx.fleet.agents.iter().filter(|a| a.call_count() == 0).take(ctx.opts.latency_agents).cloned().collect();
    if sample.is_empty() {
        return Ok(ScenarioReport {
            name: "event-latency".into(),
            rows: Vec::new(),
            notes: vec!["no idle agent to toggle".into()],
        });
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
    Ok(ScenarioReport {
        name: "event-latency".into(),
        rows: stats.summarize(started.elapsed()),
        notes: vec![format!(
            "{} idle agents toggled saybusy/sayfree; event rows = request sent -> poll response with the event",
            sample.len()
        )],
    })
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
async fn toggle_state(agent: Arc<Agent>, mut client: Client, deadline: Instant) -> StatsSet {
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
    let baseline = baseline_rate(ctx).await?;
    let fleet = &ctx.fleet;
    *fleet.shared.actions.lock().expect("stats lock poisoned") = StatsSet::default();
    fleet.set_ring_policy(RingPolicy::AnswerAndRelease);

    let stop = Arc::new(AtomicBool::new(false));
    let mut notes = Vec::new();
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
        query_stats.summarize(elapsed).into_iter().map(|row| row.with_baseline(baseline)).collect();
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
    Ok(ScenarioReport { name: "mix".into(), rows, notes })
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
    }
}

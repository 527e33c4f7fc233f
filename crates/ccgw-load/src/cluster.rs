//! `ccgw bench --scenario cluster` (issue 9's benchmarks), self-contained: it starts a private
//! redis-server, `--cluster-nodes` `ccgw serve` nodes (this executable) and HAProxy round-robin
//! in front of them ([`procs`], the harness the cluster tests use too), and measures:
//!
//! 1. `allcallinfoEx` per node (each node loaded alone, then all at once) next to one
//!    memory-backend node measured in the same run with the same connections and agents;
//! 2. `saybusy`/`sayfree` through HAProxy at a fixed `--write-rate` (coordinated-omission
//!    corrected latency, as the fixed-rate `allcallinfo` run);
//! 3. cross-node event delivery: the write sent to node A, the event polled on node B;
//! 4. failover: `kill -9` of the first node under traffic; for each agent whose poll connection
//!    was on it, the time to its first successful request through HAProxy; events lost and
//!    duplicated (every `saybusy` carries the next busy reason, 200–250 in turn, and the desk
//!    matches the events it polls against its writes in order) and
//!    calls lost (each talking agent's `allcallinfoEx` before and after);
//! 5. restart of every node with `--restart-agents` signed in and `--restart-calls` calls: time
//!    until every node answers `/health`, and until every sampled agent is served again (same
//!    GUID, same calls).
//!
//! With `--backend memory` every node is alone (nothing is shared): the figures of 3–5 then show
//! what the memory backend loses and are no measure of a cluster; the report says so.

pub mod procs;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::Method;
use rand::rngs::SmallRng;

use crate::api::{self, InjectCall, SignInOptions, paths};
use crate::bench::{BenchOpts, toggle_state, wait_until};
use crate::client::{AgentSession, Client, Connector, Response, Target};
use crate::fleet::{self, Agent, Fleet, RingPolicy};
use crate::provision::{Provisioning, VDN2_AGENTS, hash_password};
use crate::report::ScenarioReport;
use crate::stats::{InterfaceStats, StatsSet};
use crate::workload::{AgentDirectory, AllCallInfo, Planned, Workload, closed_loop_for, connect_clients, fixed_rate};
use procs::{ADMIN_TOKEN, Cluster, ClusterSpec, Tools};

/// The store the bench's nodes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClusterBackend {
    Redis,
    /// Every node alone: for developing the scenario; cross-node figures mean nothing.
    Memory,
}

/// Agents whose desks run through the failover.
const FAILOVER_AGENTS: usize = 60;
/// How long the failover waits for every agent of the killed node to be served elsewhere.
const FAILOVER_WAIT: Duration = Duration::from_secs(15);
/// How long the restart waits for every sampled agent.
const RESTART_WAIT: Duration = Duration::from_secs(120);
/// The nodes' long-poll hold: short, so that the desks drain quickly at the end of a phase.
const POLL_WAIT_MS: &str = "2000";

/// Runs the cluster scenario: one report per measurement.
pub(crate) async fn run(opts: &BenchOpts) -> anyhow::Result<Vec<ScenarioReport>> {
    let redis = opts.backend == ClusterBackend::Redis;
    let tools = Tools::find(redis, true).context("the cluster scenario starts redis-server and haproxy")?;
    let exe = std::env::current_exe().context("cannot locate the ccgw executable")?;
    let nodes = opts.cluster_nodes.max(2);
    let latency_agents = opts.latency_agents.max(1);
    let fixed = opts.agents + latency_agents + FAILOVER_AGENTS;
    let restart_agents = opts.restart_agents.max(fixed);
    let provisioning = Provisioning::new(restart_agents + VDN2_AGENTS, None, &opts.access_code)?;
    let cheap = hash_password(&exe, &opts.password, &["--memory-kib", "64", "--iterations", "1"])?;
    let mut spec = ClusterSpec::new(&exe, nodes, redis, true);
    spec.extra_toml = provisioning.render(&cheap, &cheap);
    spec.env = [
        ("CCGW_LIMITS__CALLDATA_PER_AGENT", "0"),
        ("CCGW_LIMITS__CALLDATA_SYSTEM", "0"),
        ("CCGW_AUTH__POLL_WAIT_MS", POLL_WAIT_MS),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut ids = provisioning.vdn1.ids();
    let mut take = |n: usize| ids.by_ref().take(n).collect::<Vec<u32>>();
    let blocks = Blocks {
        steady: take(opts.agents),
        latency: take(latency_agents),
        failover: take(FAILOVER_AGENTS),
        extra: take(restart_agents - fixed),
    };
    let mut reports = Vec::new();
    let memory_note = (!redis).then(|| {
        "--backend memory: every node is alone (no shared state); the cross-node, failover and restart figures \
         show what the memory backend loses and are no measure of a cluster"
            .to_owned()
    });

    // 1a. One memory node alone: the baseline of the per-node rate.
    eprintln!("cluster: the single memory-backend node (baseline) ...");
    let single = {
        let mut single_spec = spec.clone();
        single_spec.nodes = vec!["single".into()];
        single_spec.redis = false;
        single_spec.haproxy = false;
        let cluster = Cluster::start(single_spec, &tools).await?;
        let node = connector(&cluster.nodes[0].url())?;
        let admin = Connector::with_bearer(Target::parse(&cluster.nodes[0].admin_url())?, ADMIN_TOKEN)?;
        let fleet = Fleet::sign_in(&node, &blocks.steady, opts.connections, &sign_in_options(opts)).await?;
        put_in_calls(&fleet, &admin, opts).await?;
        let (rate, row) = allcallinfo(&fleet, &node, opts.connections, opts).await?;
        fleet.shut_down(opts.connections).await;
        reports.push(ScenarioReport::new(
            "cluster-baseline",
            vec![rename(row, "allcallinfoEx single memory node")],
            vec![format!("{} agents, {} calls, {} connections", opts.agents, opts.calls, opts.connections)],
        ));
        rate
    };

    eprintln!("cluster: starting {}{nodes} nodes and haproxy ...", if redis { "redis-server, " } else { "" });
    let mut cluster = Cluster::start(spec, &tools).await?;
    let result = measure(&mut cluster, opts, &blocks, single, memory_note.as_deref()).await;
    let result = result.map_err(|e| e.context(format!("node logs:\n{}", cluster.logs())));
    reports.extend(result?);
    if let Some(note) = memory_note
        && let Some(first) = reports.first_mut()
    {
        first.notes.insert(0, note);
    }
    Ok(reports)
}

struct Blocks {
    steady: Vec<u32>,
    latency: Vec<u32>,
    failover: Vec<u32>,
    extra: Vec<u32>,
}

fn sign_in_options(opts: &BenchOpts) -> SignInOptions {
    SignInOptions { password: opts.password.clone(), auto_enter_idle: true }
}

fn connector(url: &str) -> anyhow::Result<Arc<Connector>> {
    Connector::new(Target::parse(url)?)
}

fn rename(mut row: crate::stats::InterfaceRow, name: &str) -> crate::stats::InterfaceRow {
    row.interface = name.to_owned();
    row
}

/// Injects `--calls` customer calls and lets the fleet answer them (every agent at most one).
async fn put_in_calls(fleet: &Fleet, admin: &Arc<Connector>, opts: &BenchOpts) -> anyhow::Result<usize> {
    fleet.set_ring_policy(RingPolicy::Answer);
    let calls = opts.calls.min(fleet.agents.len());
    inject(admin, calls, &opts.access_code, "bench").await?;
    wait_until(Duration::from_secs(10) + Duration::from_millis(20 * calls as u64), || fleet.agents_in_call() >= calls)
        .await;
    fleet.set_ring_policy(RingPolicy::Ignore);
    Ok(fleet.agents_in_call())
}

async fn inject(admin: &Arc<Connector>, calls: usize, access_code: &str, tag: &str) -> anyhow::Result<()> {
    let requests: Vec<InjectCall> = (0..calls)
        .map(|i| InjectCall {
            caller: format!("139{:08}", i + 1),
            access_code: access_code.to_owned(),
            call_data: format!("{tag}={i}"),
        })
        .collect();
    let clients = (0..calls.clamp(1, 8)).map(|_| Client::new(admin.clone())).collect();
    let injected = fleet::for_each_parallel(clients, requests, |mut client, call| async move {
        let result = api::inject_call(&mut client, &call).await;
        (client, result)
    })
    .await;
    match injected.into_iter().find_map(Result::err) {
        Some(error) => Err(error.context("injecting a customer call failed")),
        None => Ok(()),
    }
}

/// Closed-loop `allcallinfoEx` of the fleet's agents on `node` with `connections` connections.
async fn allcallinfo(
    fleet: &Fleet,
    node: &Arc<Connector>,
    connections: usize,
    opts: &BenchOpts,
) -> anyhow::Result<(f64, crate::stats::InterfaceRow)> {
    let directory = Arc::new(AgentDirectory::new(fleet.agents.clone()));
    let clients = connect_clients(node, connections.max(1)).await?;
    let (stats, elapsed) = closed_loop_for(Arc::new(AllCallInfo(directory)), clients, opts.duration()).await;
    let row = stats.summarize(elapsed).into_iter().next().context("allcallinfoEx row")?;
    Ok((row.rate_per_sec, row))
}

async fn measure(
    cluster: &mut Cluster,
    opts: &BenchOpts,
    blocks: &Blocks,
    single: f64,
    memory: Option<&str>,
) -> anyhow::Result<Vec<ScenarioReport>> {
    let redis = memory.is_none();
    let node_urls: Vec<String> = cluster.nodes.iter().map(|n| n.url()).collect();
    let nodes: Vec<Arc<Connector>> = node_urls.iter().map(|u| connector(u)).collect::<anyhow::Result<_>>()?;
    let lb = connector(&cluster.url())?;
    let admin = Connector::with_bearer(Target::parse(&cluster.nodes[0].admin_url())?, ADMIN_TOKEN)?;
    let options = sign_in_options(opts);
    let mut reports = Vec::new();

    // The steady fleet: through HAProxy (its polls spread over the nodes). With the memory
    // backend a GUID is only known to the node that minted it: one fleet per node instead.
    eprintln!("cluster: signing in {} agents ...", opts.agents);
    let fleets: Vec<Fleet> = if redis {
        vec![Fleet::sign_in(&lb, &blocks.steady, opts.connections, &options).await?]
    } else {
        let mut fleets = Vec::new();
        for node in &nodes {
            fleets.push(Fleet::sign_in(node, &blocks.steady, opts.connections, &options).await?);
        }
        fleets
    };
    let fleet_of = |i: usize| &fleets[if redis { 0 } else { i }];
    let mut in_call = 0;
    for (i, fleet) in fleets.iter().enumerate() {
        let node_admin = Connector::with_bearer(Target::parse(&cluster.nodes[i].admin_url())?, ADMIN_TOKEN)?;
        in_call = put_in_calls(fleet, &node_admin, opts).await?;
    }

    // 1. allcallinfoEx per node, then on two nodes at once.
    eprintln!("cluster: allcallinfoEx per node ...");
    let mut rows = Vec::new();
    let mut notes = vec![format!(
        "{} agents, {in_call} in a call; {} connections to one node at a time, then split over two nodes at once; \
         ratio = the node's rate / the single memory node's {single:.0}/s (target >= 0.9)",
        opts.agents, opts.connections
    )];
    for (i, node) in nodes.iter().enumerate().take(2) {
        let (rate, row) = allcallinfo(fleet_of(i), node, opts.connections, opts).await?;
        rows.push(rename(row, &format!("allcallinfoEx {} alone", cluster.nodes[i].name)));
        notes.push(format!("{}: {rate:.0}/s = {:.2} x the single memory node", cluster.nodes[i].name, rate / single));
    }
    let half = (opts.connections / 2).max(1);
    let (a, b) =
        tokio::join!(allcallinfo(fleet_of(0), &nodes[0], half, opts), allcallinfo(fleet_of(1), &nodes[1], half, opts));
    let ((rate_a, row_a), (rate_b, row_b)) = (a?, b?);
    rows.push(rename(row_a, &format!("allcallinfoEx {} (both at once)", cluster.nodes[0].name)));
    rows.push(rename(row_b, &format!("allcallinfoEx {} (both at once)", cluster.nodes[1].name)));
    notes.push(format!(
        "both at once: {:.0}/s in all = {:.2} x the single node (the nodes share this machine's CPUs)",
        rate_a + rate_b,
        (rate_a + rate_b) / single
    ));
    reports.push(ScenarioReport::new("cluster-allcallinfo", rows, notes));

    // 2. Writes at a fixed rate through HAProxy.
    eprintln!("cluster: saybusy/sayfree at {}/s ...", opts.write_rate);
    let idle: Vec<Arc<Agent>> = fleet_of(0).agents.iter().filter(|a| a.call_count() == 0).cloned().collect();
    if idle.is_empty() {
        reports.push(ScenarioReport::new("cluster-writes", Vec::new(), vec!["no idle agent to toggle".into()]));
    } else {
        let writers = if redis { lb.clone() } else { nodes[0].clone() };
        let clients = connect_clients(&writers, opts.connections.max(1)).await?;
        let workload = Arc::new(Toggles::new(idle.clone()));
        let (stats, elapsed) = fixed_rate(workload, clients, opts.write_rate, opts.duration()).await;
        reports.push(ScenarioReport::new(
            "cluster-writes",
            stats.summarize(elapsed),
            vec![format!(
                "{} idle agents toggled saybusy/sayfree at {}/s through {} (latency from the scheduled send \
                 time; target p99 <= 5 ms)",
                idle.len(),
                opts.write_rate,
                if redis { "HAProxy" } else { "node-a" }
            )],
        ));
        // Back to idle for what follows.
        let mut client = Client::new(writers.clone());
        for agent in &idle {
            let _ = agent.session.send(&mut client, Method::POST, &paths::say_free(agent.id()), None).await;
        }
    }

    // 3. Cross-node event delivery: polled on node B, written on node A.
    eprintln!("cluster: cross-node event delivery ...");
    let poll_node = if redis { &nodes[1] } else { &nodes[0] };
    let latency_fleet = Fleet::sign_in(poll_node, &blocks.latency, opts.connections, &options).await?;
    let deadline = Instant::now() + opts.duration();
    let started = Instant::now();
    let tasks: Vec<_> = latency_fleet
        .agents
        .iter()
        .map(|agent| tokio::spawn(toggle_state(agent.clone(), Client::new(nodes[0].clone()), deadline)))
        .collect();
    let mut stats = StatsSet::default();
    for task in tasks {
        stats.merge(&task.await.context("event-latency task panicked")?);
    }
    latency_fleet.shut_down(opts.connections).await;
    reports.push(ScenarioReport::new(
        "cluster-events",
        stats.summarize(started.elapsed()),
        vec![format!(
            "{} agents polling on {}, saybusy/sayfree sent to {}; event rows = request sent -> event polled \
             (target p99 <= 5 ms)",
            blocks.latency.len(),
            if redis { &cluster.nodes[1].name } else { &cluster.nodes[0].name },
            cluster.nodes[0].name
        )],
    ));

    // 4. Failover.
    eprintln!("cluster: failover (kill -9 {}) ...", cluster.nodes[0].name);
    let talking: Vec<(Arc<Agent>, Vec<String>)> = {
        let mut out = Vec::new();
        let mut client = Client::new(lb.clone());
        for agent in fleet_of(0).agents.iter().filter(|a| a.call_count() > 0) {
            out.push((agent.clone(), call_ids(&mut client, &agent.session).await.unwrap_or_default()));
        }
        out
    };
    let failover = failover(cluster, &lb, &blocks.failover, &options, redis).await?;
    let mut calls_lost = 0;
    {
        let mut client = Client::new(lb.clone());
        for (agent, before) in &talking {
            let after = call_ids(&mut client, &agent.session).await.unwrap_or_default();
            calls_lost += before.iter().filter(|c| !after.contains(c)).count();
        }
    }
    let calls_before: usize = talking.iter().map(|(_, c)| c.len()).sum();
    let mut report = failover.report(calls_before, calls_lost);
    if redis {
        report.failures = failover.failures(calls_lost);
    }
    reports.push(report);
    cluster.nodes[0].restart().await?;

    // 5. Restart of every node.
    eprintln!(
        "cluster: restart with {} agents ...",
        blocks.extra.len() + opts.agents + blocks.latency.len() + blocks.failover.len()
    );
    reports.push(restart(cluster, &lb, &admin, &blocks.extra, opts, redis).await?);

    for fleet in fleets {
        fleet.shut_down(opts.connections).await;
    }
    Ok(reports)
}

/// The call ids of `allcallinfoEx` for the agent itself.
async fn call_ids(client: &mut Client, session: &AgentSession) -> anyhow::Result<Vec<String>> {
    let id = session.agent_id();
    let response = session.send(client, Method::GET, &paths::all_call_info(id, id), None).await?;
    anyhow::ensure!(response.is_success(), "allcallinfoEx of {id}: {}", response.describe());
    let body: serde_json::Value = response.json()?;
    Ok(body["result"]
        .as_array()
        .map(|calls| calls.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect())
        .unwrap_or_default())
}

/// `saybusy` and `sayfree` in turn, per agent, round the agents.
struct Toggles {
    agents: Vec<Arc<Agent>>,
    next: AtomicUsize,
    busy: Vec<AtomicBool>,
}

impl Toggles {
    fn new(agents: Vec<Arc<Agent>>) -> Self {
        let busy = agents.iter().map(|_| AtomicBool::new(false)).collect();
        Self { agents, next: AtomicUsize::new(0), busy }
    }
}

impl Workload for Toggles {
    fn interfaces(&self) -> &'static [&'static str] {
        &["saybusy", "sayfree"]
    }

    fn next<'a>(&'a self, _rng: &mut SmallRng, path: &mut String) -> Planned<'a> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.agents.len();
        let agent = &self.agents[i];
        let was_busy = self.busy[i].fetch_xor(true, Ordering::Relaxed);
        if was_busy {
            path.push_str(&paths::say_free(agent.id()));
        } else {
            path.push_str(&paths::say_busy(agent.id()));
        }
        Planned { interface: usize::from(was_busy), method: Method::POST, agent: Some(agent) }
    }
}

/// What the failover desks saw.
struct Failover {
    killed: String,
    /// Agents whose poll connection was on the killed node.
    moved: usize,
    /// Of those, the time from the kill to their first successful request elsewhere.
    recovered: Vec<Duration>,
    acknowledged: usize,
    lost: usize,
    duplicated: usize,
    /// Applied although the write's answer was lost with the node (neither lost nor duplicated).
    unacknowledged_delivered: usize,
    first_error: Option<String>,
}

impl Failover {
    fn report(&self, calls_before: usize, calls_lost: usize) -> ScenarioReport {
        let mut stats = InterfaceStats::new("first success after kill -9");
        for d in &self.recovered {
            stats.record_success(*d);
        }
        for _ in self.recovered.len()..self.moved {
            stats.record_failure("not served within 15 s");
        }
        let mut notes = vec![
            format!(
                "kill -9 {}: {} of the desks' poll connections were on it; {} of them served again through \
                 HAProxy (time from the kill to the agent's first successful request; target: within 10 s)",
                self.killed,
                self.moved,
                self.recovered.len()
            ),
            format!(
                "events: {} acknowledged writes, {} lost, {} duplicated, {} applied without an answer \
                 (the answer died with the node) and delivered once",
                self.acknowledged, self.lost, self.duplicated, self.unacknowledged_delivered
            ),
            format!("calls: {calls_before} in progress before the kill, {calls_lost} lost"),
        ];
        if let Some(e) = &self.first_error {
            notes.push(format!("first error after the kill: {e}"));
        }
        ScenarioReport::new("cluster-failover", vec![stats.summarize(Duration::from_secs(1))], notes)
    }

    fn failures(&self, calls_lost: usize) -> Vec<String> {
        let mut out = Vec::new();
        if self.recovered.len() < self.moved {
            out.push(format!("{} agents of the killed node were not served again", self.moved - self.recovered.len()));
        }
        if self.lost > 0 || self.duplicated > 0 {
            out.push(format!("{} events lost, {} duplicated", self.lost, self.duplicated));
        }
        if calls_lost > 0 {
            out.push(format!("{calls_lost} calls lost"));
        }
        out
    }
}

/// Busy reasons the interface accepts (besides 0): the desks' writes cycle through them, so
/// the event of write `n` carries reason `200 + n % 51`.
const REASONS: std::ops::RangeInclusive<u16> = 200..=250;

/// One desk: a poll connection and an action connection through HAProxy, `saybusy` with the
/// next reason every 100 ms; every reason polled is counted.
struct Desk {
    session: AgentSession,
    /// Every write in order: its reason and whether it was acknowledged (retcode 0).
    writes: Mutex<Vec<(u16, bool)>>,
    seen: Mutex<Vec<u16>>,
    /// When the poll connection first failed after the kill, and when it was served again.
    broke: Mutex<Option<Instant>>,
    recovered: Mutex<Option<Instant>>,
    first_error: Mutex<Option<String>>,
}

fn reason_of(response: &Response) -> Option<u16> {
    let body: serde_json::Value = serde_json::from_slice(&response.body).ok()?;
    let event = body.get("event")?;
    if event["eventType"] != api::event_types::SET_NOT_READY {
        return None;
    }
    event["content"]["reason"].as_str()?.parse().ok()
}

async fn failover(
    cluster: &mut Cluster,
    lb: &Arc<Connector>,
    ids: &[u32],
    options: &SignInOptions,
    redis: bool,
) -> anyhow::Result<Failover> {
    let signed = fleet::sign_in_all(lb, ids, 16, options).await;
    let desks: Vec<Arc<Desk>> = signed
        .into_iter()
        .filter_map(Result::ok)
        .map(|s| {
            Arc::new(Desk {
                session: s.session,
                writes: Mutex::new(Vec::new()),
                seen: Mutex::new(Vec::new()),
                broke: Mutex::new(None),
                recovered: Mutex::new(None),
                first_error: Mutex::new(None),
            })
        })
        .collect();
    let killed_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let writing = Arc::new(AtomicBool::new(true));
    let polling = Arc::new(AtomicBool::new(true));
    let mut tasks = Vec::new();
    for each in &desks {
        // The poller.
        let (desk, lb_, killed_at, polling) = (each.clone(), lb.clone(), killed_at.clone(), polling.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = Client::new(lb_).with_timeout(Duration::from_secs(5));
            let mut empty_after_stop = 0;
            loop {
                let result =
                    desk.session.send(&mut client, Method::GET, &paths::events(desk.session.agent_id()), None).await;
                let after_kill = killed_at.lock().expect("lock").is_some();
                match result {
                    Ok(response) if response.is_success() => {
                        if after_kill
                            && desk.broke.lock().expect("lock").is_some()
                            && desk.recovered.lock().expect("lock").is_none()
                        {
                            *desk.recovered.lock().expect("lock") = Some(Instant::now());
                        }
                        match reason_of(&response) {
                            Some(reason) => desk.seen.lock().expect("lock").push(reason),
                            None if !polling.load(Ordering::Relaxed) => {
                                empty_after_stop += 1;
                                if empty_after_stop >= 2 {
                                    return;
                                }
                            }
                            None => {}
                        }
                    }
                    other => {
                        if after_kill {
                            // A broken connection (not a business error) marks an agent of the
                            // killed node.
                            if other.is_err() {
                                desk.broke.lock().expect("lock").get_or_insert_with(Instant::now);
                            }
                            let mut first = desk.first_error.lock().expect("lock");
                            if first.is_none() {
                                *first = Some(match &other {
                                    Ok(r) => r.describe(),
                                    Err(e) => format!("{e:#}"),
                                });
                            }
                        }
                        if !polling.load(Ordering::Relaxed) {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }));
        // The writer.
        let (desk, lb_, writing) = (each.clone(), lb.clone(), writing.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = Client::new(lb_).with_timeout(Duration::from_secs(5));
            for reason in REASONS.cycle() {
                if !writing.load(Ordering::Relaxed) {
                    break;
                }
                let path = format!("{}?reason={reason}&prolong=true", paths::say_busy(desk.session.agent_id()));
                let acked =
                    matches!(desk.session.send(&mut client, Method::POST, &path, None).await, Ok(r) if r.is_success());
                desk.writes.lock().expect("lock").push((reason, acked));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let killed = cluster.nodes[0].name.clone();
    cluster.nodes[0].kill9();
    let t0 = Instant::now();
    *killed_at.lock().expect("lock") = Some(t0);
    // Desks on the killed node notice at once (their connection is reset); wait for them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all_back =
        || desks.iter().all(|d| d.broke.lock().expect("lock").is_none() || d.recovered.lock().expect("lock").is_some());
    let limit = if redis { FAILOVER_WAIT } else { Duration::from_secs(3) };
    wait_until(limit, all_back).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    writing.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    polling.store(false, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }

    let mut out = Failover {
        killed,
        moved: 0,
        recovered: Vec::new(),
        acknowledged: 0,
        lost: 0,
        duplicated: 0,
        unacknowledged_delivered: 0,
        first_error: None,
    };
    for desk in &desks {
        if desk.broke.lock().expect("lock").is_some() {
            out.moved += 1;
            if let Some(at) = *desk.recovered.lock().expect("lock") {
                out.recovered.push(at.saturating_duration_since(t0));
            }
        }
        if out.first_error.is_none() {
            out.first_error = desk.first_error.lock().expect("lock").clone();
        }
        let writes = desk.writes.lock().expect("lock");
        let tally = tally(&writes, &desk.seen.lock().expect("lock"));
        out.acknowledged += writes.iter().filter(|w| w.1).count();
        out.lost += tally.lost;
        out.duplicated += tally.duplicated;
        out.unacknowledged_delivered += tally.unacknowledged_delivered;
    }
    // Sign the desks out (through HAProxy; errors are the memory backend's lost sessions).
    let mut client = Client::new(lb.clone());
    for desk in &desks {
        let _ = api::force_logout(&mut client, &desk.session).await;
    }
    Ok(out)
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    lost: usize,
    duplicated: usize,
    unacknowledged_delivered: usize,
}

/// Matches the events a desk polled (reasons, in order) against its writes (in order): events
/// come in write order, so each event is the next write with its reason within one cycle of
/// reasons; acknowledged writes skipped over are lost; an event that matches no write ahead
/// repeats one already delivered.
fn tally(writes: &[(u16, bool)], seen: &[u16]) -> Tally {
    let cycle = REASONS.len() - 1;
    let mut out = Tally::default();
    let mut next = 0;
    for reason in seen {
        let window = next..writes.len().min(next + cycle);
        match window.clone().find(|&j| writes[j].0 == *reason) {
            Some(j) => {
                out.lost += writes[next..j].iter().filter(|w| w.1).count();
                if !writes[j].1 {
                    out.unacknowledged_delivered += 1;
                }
                next = j + 1;
            }
            None => out.duplicated += 1,
        }
    }
    out.lost += writes[next.min(writes.len())..].iter().filter(|w| w.1).count();
    out
}

/// Signs in the extra agents (auto-answer, no poller), fills the calls up to `--restart-calls`,
/// stops and starts every node, and measures how long until the agents are served again.
async fn restart(
    cluster: &mut Cluster,
    lb: &Arc<Connector>,
    admin: &Arc<Connector>,
    extra: &[u32],
    opts: &BenchOpts,
    redis: bool,
) -> anyhow::Result<ScenarioReport> {
    // Extra agents answer their calls themselves (auto-answer), without a poller.
    let password = opts.password.clone();
    let body = move |id: u32| {
        serde_json::json!({"password": password, "phonenum": format!("7{id}"), "status": 4,
            "autoanswer": true, "autoenteridle": true, "releasephone": false})
        .to_string()
    };
    let clients: Vec<Client> = (0..opts.connections.clamp(1, 32)).map(|_| Client::new(lb.clone())).collect();
    let signed = fleet::for_each_parallel(clients, extra.to_vec(), move |mut client, id| {
        let body = body(id);
        async move {
            let r = client.send(Method::PUT, &paths::sign_in(id), Some(body.as_bytes()), None).await;
            let session = match r {
                Ok(r) if r.is_success() => r.set_guid.map(|g| AgentSession::new(id, &g)),
                _ => None,
            };
            (client, session)
        }
    })
    .await;
    let sessions: Vec<Arc<AgentSession>> = signed.into_iter().flatten().map(Arc::new).collect();
    let calls = opts.restart_calls.min(sessions.len());
    inject(admin, calls, &opts.access_code, "restart").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // What every agent has before.
    let before = snapshot(lb, &sessions, opts.connections).await;
    let calls_before: usize = before.values().filter_map(|c| c.as_ref().ok()).map(Vec::len).sum();
    let signed_in = sessions.len();

    let t0 = Instant::now();
    cluster.restart_all_nodes().await?;
    let healthy = t0.elapsed();
    let mut served_all = None;
    let mut first_served = None;
    let mut last = HashMap::new();
    let mut pending: Vec<Arc<AgentSession>> = sessions.clone();
    while !pending.is_empty() && t0.elapsed() < if redis { RESTART_WAIT } else { Duration::from_secs(5) } {
        let now = snapshot(lb, &pending, opts.connections).await;
        pending.retain(|s| {
            let id = s.agent_id();
            let ok = matches!((&now[&id], &before[&id]), (Ok(after), Ok(b)) if after == b);
            if ok && first_served.is_none() {
                first_served = Some(t0.elapsed());
            }
            !ok
        });
        last = now;
        if pending.is_empty() {
            served_all = Some(t0.elapsed());
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let mut lost_sessions = 0;
    let mut lost_calls = 0;
    for s in &pending {
        match (last.get(&s.agent_id()), &before[&s.agent_id()]) {
            (Some(Ok(after)), Ok(b)) => lost_calls += b.iter().filter(|c| !after.contains(c)).count(),
            (_, Ok(b)) => {
                lost_sessions += 1;
                lost_calls += b.len();
            }
            _ => {}
        }
    }
    let secs = |d: Option<Duration>| d.map_or("never".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()));
    let mut report = ScenarioReport::new(
        "cluster-restart",
        Vec::new(),
        vec![
            format!(
                "{signed_in} agents signed in without a poller (plus the fleets), {calls_before} calls; every node \
                 stopped (SIGTERM) and started again"
            ),
            format!(
                "every node answers /health after {:.2} s; first agent served again after {}; all {signed_in} after {}",
                healthy.as_secs_f64(),
                secs(first_served),
                secs(served_all)
            ),
            format!(
                "not served again: {} agents ({lost_sessions} sessions lost, {lost_calls} calls lost)",
                pending.len()
            ),
        ],
    );
    if redis && !pending.is_empty() {
        report.failures.push(format!(
            "{} agents not served again after the restart ({lost_sessions} sessions, {lost_calls} calls lost)",
            pending.len()
        ));
    }
    Ok(report)
}

/// Every agent's calls (`allcallinfoEx`), or its error, through HAProxy.
async fn snapshot(
    lb: &Arc<Connector>,
    sessions: &[Arc<AgentSession>],
    connections: usize,
) -> HashMap<u32, Result<Vec<String>, String>> {
    let clients: Vec<Client> = (0..connections.clamp(1, 32)).map(|_| Client::new(lb.clone())).collect();
    let results = fleet::for_each_parallel(clients, sessions.to_vec(), |mut client, session| async move {
        let result = call_ids(&mut client, &session).await.map_err(|e| format!("{e:#}"));
        (client, (session.agent_id(), result))
    })
    .await;
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_lost_duplicated_and_unacknowledged_events_in_order() {
        let w = |r: u16, acked: bool| (r, acked);
        let writes = [w(200, true), w(201, true), w(202, false), w(203, true), w(204, true)];
        assert_eq!(
            tally(&writes, &[200, 201, 202, 203, 204]),
            Tally { unacknowledged_delivered: 1, ..Tally::default() }
        );
        assert_eq!(tally(&writes, &[200, 201, 203, 204]), Tally::default(), "an unacknowledged write may be missing");
        assert_eq!(tally(&writes, &[200, 203, 204]), Tally { lost: 1, ..Tally::default() });
        assert_eq!(tally(&writes, &[200, 201, 201, 203]), Tally { lost: 1, duplicated: 1, ..Tally::default() });
        // Past one cycle of reasons: write 51 carries reason 200 again.
        let long: Vec<(u16, bool)> = REASONS.cycle().take(60).map(|r| (r, true)).collect();
        let seen: Vec<u16> = long.iter().map(|w| w.0).collect();
        assert_eq!(tally(&long, &seen), Tally::default());
        assert_eq!(tally(&long, &seen[..59]).lost, 1);
    }
}

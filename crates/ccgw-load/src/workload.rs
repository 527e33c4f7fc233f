//! Closed-loop load: `C` worker tasks, each owning one connection, sending
//! the next request as soon as the previous one is answered.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hyper::Method;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::api::paths;
use crate::client::{Client, Connector, Response};
use crate::fleet::Agent;
use crate::stats::{InterfaceStats, StatsSet};

/// What one request looks like; the path is written by [`Workload::next`].
pub struct Planned<'a> {
    /// Index into [`Workload::interfaces`].
    pub interface: usize,
    pub method: Method,
    /// The agent on whose behalf the request is sent (its GUID is attached).
    pub agent: Option<&'a Agent>,
}

/// A request generator for [`closed_loop`].
pub trait Workload: Send + Sync + 'static {
    /// Names of the interfaces this workload exercises.
    fn interfaces(&self) -> &'static [&'static str];

    /// Picks the next request and writes its path into `path` (already cleared).
    fn next<'a>(&'a self, rng: &mut SmallRng, path: &mut String) -> Planned<'a>;

    fn is_success(&self, response: &Response) -> bool {
        response.is_success()
    }
}

/// Opens `count` connections concurrently.
pub async fn connect_clients(connector: &Arc<Connector>, count: usize) -> anyhow::Result<Vec<Client>> {
    let tasks: Vec<_> = (0..count).map(|_| tokio::spawn(Client::connected(connector.clone()))).collect();
    let mut clients = Vec::with_capacity(count);
    for task in tasks {
        clients.push(task.await??);
    }
    Ok(clients)
}

/// Runs `workload` on every client until `stop` is set; returns the merged
/// stats and the wall time from start to the last worker finishing.
pub async fn closed_loop<W: Workload>(
    workload: Arc<W>,
    clients: Vec<Client>,
    stop: Arc<AtomicBool>,
) -> (StatsSet, Duration) {
    let started = Instant::now();
    let workers: Vec<_> =
        clients.into_iter().map(|client| tokio::spawn(worker(workload.clone(), client, stop.clone()))).collect();
    let mut merged = StatsSet::default();
    for worker in workers {
        let stats = worker.await.expect("load worker panicked");
        for interface in &stats {
            merged.get(interface.name).merge(interface);
        }
    }
    (merged, started.elapsed())
}

/// Like [`closed_loop`] for a fixed duration.
pub async fn closed_loop_for<W: Workload>(
    workload: Arc<W>,
    clients: Vec<Client>,
    duration: Duration,
) -> (StatsSet, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let result = closed_loop(workload, clients, stop).await;
    timer.abort();
    result
}

async fn worker<W: Workload>(workload: Arc<W>, mut client: Client, stop: Arc<AtomicBool>) -> Vec<InterfaceStats> {
    let mut stats: Vec<InterfaceStats> = workload.interfaces().iter().map(|name| InterfaceStats::new(name)).collect();
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    let mut path = String::with_capacity(96);
    let mut warned = false;
    while !stop.load(Ordering::Relaxed) {
        path.clear();
        let plan = workload.next(&mut rng, &mut path);
        let guid = plan.agent.map(|agent| agent.session.guid());
        let started = Instant::now();
        let result = client.send(plan.method, &path, None, guid.as_deref()).await;
        let latency = started.elapsed();
        let stats = &mut stats[plan.interface];
        match result {
            Ok(response) => record_response(&*workload, plan.agent, stats, &response, latency),
            Err(error) => {
                if !warned {
                    tracing::warn!("load request failed: {error:#}");
                    warned = true;
                }
                stats.record_transport_error();
                // Do not spin on a dead server.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    stats
}

/// Follow a `Set-GUID` for the agent the request was sent for, and count the answer.
fn record_response<W: Workload>(
    workload: &W,
    agent: Option<&Agent>,
    stats: &mut InterfaceStats,
    response: &crate::client::Response,
    latency: Duration,
) {
    if let Some(agent) = agent {
        agent.session.observe(response);
    }
    if workload.is_success(response) {
        stats.record_success(latency);
    } else {
        stats.record_error(response);
    }
}

/// Name of the generator's own timer-lag row of [`fixed_rate`].
pub const SEND_LAG_ROW: &str = "send lag (generator)";
/// Failure key of requests never sent because the run fell too far behind.
pub const BEHIND_SCHEDULE: &str = "not sent (behind schedule)";

/// Open-loop load: `rate` requests per second for `duration`, scheduled at
/// fixed intervals (`t0 + k / rate`) and dealt round-robin over the clients
/// (request `k` goes to client `k mod C`; each client sends one at a time).
///
/// Latency is measured from the **scheduled** send time, so a slow answer
/// that delays the requests queued behind it on its connection is charged to
/// all of them (no coordinated omission). What is *not* charged is the load
/// generator's own lateness (tokio's timer has 1 ms granularity, and the
/// generator shares the CPU): each connection keeps an ideal timeline in
/// which request `i` starts at `max(scheduled_i, ideal_done_{i-1})` and takes
/// the round trip actually measured for it; latency is `ideal_done_i -
/// scheduled_i`. How much later than that ideal start the request really
/// went out is reported as [`SEND_LAG_ROW`]. Slots still unsent 5 s after the
/// run's end are counted as [`BEHIND_SCHEDULE`] failures.
///
/// Returns the stats (the workload's rows plus the lag row) and the time
/// from the first slot to the last answer.
pub async fn fixed_rate<W: Workload>(
    workload: Arc<W>,
    clients: Vec<Client>,
    rate: f64,
    duration: Duration,
) -> (StatsSet, Duration) {
    let count = clients.len().max(1);
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as u64;
    let t0 = Instant::now() + Duration::from_millis(20);
    let give_up = t0 + duration + Duration::from_secs(5);
    let workers: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(index, client)| {
            let slots = Slots { first: index as u64, step: count as u64, total, rate, t0, give_up };
            tokio::spawn(fixed_rate_worker(workload.clone(), client, slots))
        })
        .collect();
    let mut merged = StatsSet::default();
    let mut last = t0;
    for worker in workers {
        let (stats, lag, finished) = worker.await.expect("load worker panicked");
        for interface in stats.iter().chain(std::iter::once(&lag)) {
            merged.get(interface.name).merge(interface);
        }
        last = last.max(finished);
    }
    (merged, last.saturating_duration_since(t0))
}

/// The schedule of one fixed-rate worker: slots `first, first + step, ...` below `total`.
#[derive(Debug, Clone, Copy)]
struct Slots {
    first: u64,
    step: u64,
    total: u64,
    rate: f64,
    t0: Instant,
    give_up: Instant,
}

impl Slots {
    fn time(&self, slot: u64) -> Instant {
        self.t0 + Duration::from_secs_f64(slot as f64 / self.rate)
    }
}

async fn fixed_rate_worker<W: Workload>(
    workload: Arc<W>,
    mut client: Client,
    slots: Slots,
) -> (Vec<InterfaceStats>, InterfaceStats, Instant) {
    let mut stats: Vec<InterfaceStats> = workload.interfaces().iter().map(|name| InterfaceStats::new(name)).collect();
    let mut lag = InterfaceStats::new(SEND_LAG_ROW);
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    let mut path = String::with_capacity(96);
    let mut finished = slots.t0;
    // When the previous request would have been answered had the generator
    // sent everything exactly on time.
    let mut ideal_done = slots.t0;
    let mut slot = slots.first;
    while slot < slots.total {
        let scheduled = slots.time(slot);
        slot += slots.step;
        path.clear();
        let plan = workload.next(&mut rng, &mut path);
        if Instant::now() > slots.give_up {
            stats[plan.interface].record_failure(BEHIND_SCHEDULE);
            continue;
        }
        if Instant::now() < scheduled {
            tokio::time::sleep_until(scheduled.into()).await;
        }
        let ideal_start = scheduled.max(ideal_done);
        let guid = plan.agent.map(|agent| agent.session.guid());
        let sent = Instant::now();
        lag.record_success(sent.saturating_duration_since(ideal_start));
        let result = client.send(plan.method, &path, None, guid.as_deref()).await;
        finished = Instant::now();
        ideal_done = ideal_start + finished.saturating_duration_since(sent);
        let stats = &mut stats[plan.interface];
        match result {
            Ok(response) => {
                let latency = ideal_done.saturating_duration_since(scheduled);
                record_response(&*workload, plan.agent, stats, &response, latency);
            }
            Err(_) => stats.record_transport_error(),
        }
    }
    (stats, lag, finished)
}

/// `GET /agentgateway/resource/unknown`: the cheapest answer of the listener
/// (404). Any HTTP response counts as success.
pub struct Baseline;

impl Workload for Baseline {
    fn interfaces(&self) -> &'static [&'static str] {
        &["baseline (404)"]
    }

    fn next<'a>(&'a self, _rng: &mut SmallRng, path: &mut String) -> Planned<'a> {
        path.push_str(paths::UNKNOWN);
        Planned { interface: 0, method: Method::GET, agent: None }
    }

    fn is_success(&self, _response: &Response) -> bool {
        true
    }
}

/// Signed-in agents grouped by VDN, for picking a same-VDN query target.
pub struct AgentDirectory {
    pub agents: Vec<Arc<Agent>>,
    /// For every agent, the indices of all agents in its VDN (shared per VDN).
    peers: Vec<Arc<[usize]>>,
}

impl AgentDirectory {
    pub fn new(agents: Vec<Arc<Agent>>) -> Self {
        let mut by_vdn: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
        for (index, agent) in agents.iter().enumerate() {
            by_vdn.entry(agent.vdn).or_default().push(index);
        }
        let by_vdn: std::collections::BTreeMap<u32, Arc<[usize]>> =
            by_vdn.into_iter().map(|(vdn, members)| (vdn, members.into())).collect();
        let peers = agents.iter().map(|a| by_vdn[&a.vdn].clone()).collect();
        Self { agents, peers }
    }

    /// A random agent and a random agent of the same VDN (possibly itself).
    fn pick(&self, rng: &mut SmallRng) -> (&Agent, &Agent) {
        let index = rng.random_range(0..self.agents.len());
        let peers = &self.peers[index];
        let target = peers[rng.random_range(0..peers.len())];
        (&self.agents[index], &self.agents[target])
    }
}

/// `GET calldata/{agent}/allcallinfoEx/{workno}` for random same-VDN pairs.
pub struct AllCallInfo(pub Arc<AgentDirectory>);

impl Workload for AllCallInfo {
    fn interfaces(&self) -> &'static [&'static str] {
        &["allcallinfoEx"]
    }

    fn next<'a>(&'a self, rng: &mut SmallRng, path: &mut String) -> Planned<'a> {
        let (agent, target) = self.0.pick(rng);
        write_all_call_info(path, agent.id(), target.id());
        Planned { interface: 0, method: Method::GET, agent: Some(agent) }
    }
}

// Hot-path variants of the `api::paths` helpers that reuse the worker's buffer.

fn write_all_call_info(path: &mut String, agent: u32, target: u32) {
    let _ = write!(path, "/agentgateway/resource/calldata/{agent}/allcallinfoEx/{target}");
}

fn write_call_info(path: &mut String, agent: u32) {
    let _ = write!(path, "/agentgateway/resource/calldata/{agent}/callinfo");
}

fn write_agent_status(path: &mut String, agent: u32) {
    let _ = write!(path, "/agentgateway/resource/onlineagent/{agent}/agentstatus");
}

/// The desktop query mix: `callinfo`, `allcallinfoEx` and `agentstatus` in equal parts.
pub struct QueryMix(pub Arc<AgentDirectory>);

impl Workload for QueryMix {
    fn interfaces(&self) -> &'static [&'static str] {
        &["callinfo", "allcallinfoEx", "agentstatus"]
    }

    fn next<'a>(&'a self, rng: &mut SmallRng, path: &mut String) -> Planned<'a> {
        let (agent, target) = self.0.pick(rng);
        let interface = rng.random_range(0..3);
        let id = agent.id();
        match interface {
            0 => write_call_info(path, id),
            1 => write_all_call_info(path, id, target.id()),
            _ => write_agent_status(path, id),
        }
        Planned { interface, method: Method::GET, agent: Some(agent) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_path_formats_match_path_helpers() {
        let mut path = String::new();
        write_all_call_info(&mut path, 101, 102);
        assert_eq!(path, paths::all_call_info(101, 102));
        path.clear();
        write_call_info(&mut path, 101);
        assert_eq!(path, paths::call_info(101));
        path.clear();
        write_agent_status(&mut path, 101);
        assert_eq!(path, paths::agent_status(101));
    }
}

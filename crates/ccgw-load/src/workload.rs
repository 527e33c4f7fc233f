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
            Ok(response) => {
                if let Some(agent) = plan.agent {
                    agent.session.observe(&response);
                }
                if workload.is_success(&response) {
                    stats.record_success(latency);
                } else {
                    stats.record_error(&response);
                }
            }
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

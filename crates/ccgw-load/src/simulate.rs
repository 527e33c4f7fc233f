//! `ccgw simulate`: a small, live contact center.
//!
//! Agents sign in through the public interface and behave like people at a
//! desktop: long-poll their events, answer a ringing call after a short
//! pause, talk for a while, release, wrap up, and become idle again with
//! `cancelwork`. A customer generator injects calls through the operator API
//! as a Poisson process. One status line is printed per second.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyper::Method;
use rand::Rng;
use tokio::sync::watch;

use crate::api::{self, InjectCall, SignInOptions, event_types, paths};
use crate::client::{Client, Connector, Target};
use crate::dist::{exponential, lognormal};
use crate::fleet::{Agent, Fleet};

/// Options of `ccgw simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateOpts {
    /// Base URL of the gateway's agent interface.
    #[arg(long, default_value = "https://127.0.0.1:8043")]
    pub target: String,
    /// Base URL of the operator API.
    #[arg(long, default_value = "http://127.0.0.1:9043")]
    pub admin: String,
    /// Bearer token of the operator API.
    #[arg(long, env = "CCGW_ADMIN__TOKEN", hide_env_values = true)]
    pub admin_token: String,
    /// Number of agents (ids --first-agent, --first-agent + 1, ...).
    #[arg(long, default_value_t = 20)]
    pub agents: usize,
    /// First agent id.
    #[arg(long, default_value_t = 101)]
    pub first_agent: u32,
    /// Customer arrivals per second (Poisson process).
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Mean handle (talk) time in seconds; log-normal, at least 1 s.
    #[arg(long, default_value_t = 8.0)]
    pub handle_time: f64,
    /// Mean wrap-up time in seconds (exponential).
    #[arg(long, default_value_t = 2.0)]
    pub wrapup: f64,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Access code the customers dial.
    #[arg(long, default_value = "10086")]
    pub access_code: String,
    /// Agent password.
    #[arg(long, default_value = api::DEMO_PASSWORD)]
    pub password: String,
}

/// Shape of the handle-time distribution (log-normal sigma).
const HANDLE_TIME_SIGMA: f64 = 0.6;
const MIN_HANDLE_TIME: f64 = 1.0;
/// Agents pause this long (uniform, seconds) before answering.
const ANSWER_DELAY: std::ops::Range<f64> = 0.5..2.0;
const SIGN_IN_CONCURRENCY: usize = 16;

/// What an agent is doing, as shown in the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum DeskState {
    Idle = 0,
    Ringing = 1,
    Talking = 2,
    WrapUp = 3,
}

/// Counters shared by all tasks.
#[derive(Default)]
struct Counters {
    offered: AtomicU64,
    answered: AtomicU64,
    completed: AtomicU64,
    /// One `DeskState` per agent.
    states: Vec<AtomicU8>,
}

impl Counters {
    fn set_state(&self, agent: usize, state: DeskState) {
        self.states[agent].store(state as u8, Ordering::Relaxed);
    }

    fn status_line(&self, elapsed: Duration) -> String {
        let mut by_state = [0usize; 4];
        for state in &self.states {
            by_state[state.load(Ordering::Relaxed) as usize] += 1;
        }
        let offered = self.offered.load(Ordering::Relaxed);
        let answered = self.answered.load(Ordering::Relaxed);
        format!(
            "[{:>5}s] agents: talking {:>3}  ringing {:>3}  wrap-up {:>3}  idle {:>3} | calls: offered {:>5}  answered {:>5}  completed {:>5}  queue {:>3}",
            elapsed.as_secs(),
            by_state[DeskState::Talking as usize],
            by_state[DeskState::Ringing as usize],
            by_state[DeskState::WrapUp as usize],
            by_state[DeskState::Idle as usize],
            offered,
            answered,
            self.completed.load(Ordering::Relaxed),
            offered.saturating_sub(answered),
        )
    }
}

/// Runs the simulation until Ctrl-C or `--duration`, then signs everyone out.
pub async fn run_simulate(opts: SimulateOpts) -> anyhow::Result<()> {
    if opts.agents == 0 || opts.rate <= 0.0 {
        bail!("--agents and --rate must be positive");
    }
    let public = Connector::new(Target::parse(&opts.target)?)?;
    let admin = Connector::with_bearer(Target::parse(&opts.admin)?, &opts.admin_token)?;
    api::check_admin(&mut Client::new(admin.clone()))
        .await
        .with_context(|| format!("checking the operator API at {}", opts.admin))?;

    let ids: Vec<u32> = (0..opts.agents as u32).map(|i| opts.first_agent + i).collect();
    eprintln!("signing in agents {}-{} ...", ids[0], ids[ids.len() - 1]);
    let sign_in = SignInOptions {
        password: opts.password.clone(),
        // Agents wrap up after each call and leave wrap-up with cancelwork.
        auto_enter_idle: false,
    };
    let fleet = Fleet::sign_in(&public, &ids, SIGN_IN_CONCURRENCY, &sign_in).await?;

    let opts = Arc::new(opts);
    let counters = Arc::new(Counters {
        states: ids.iter().map(|_| AtomicU8::new(DeskState::Idle as u8)).collect(),
        ..Counters::default()
    });
    let (stop_tx, stop) = watch::channel(false);
    let mut tasks: Vec<_> = fleet
        .agents
        .iter()
        .enumerate()
        .map(|(index, agent)| {
            let desk = Desk {
                index,
                agent: agent.clone(),
                client: Client::new(public.clone()),
                opts: opts.clone(),
                counters: counters.clone(),
                stop: stop.clone(),
            };
            tokio::spawn(desk.run())
        })
        .collect();
    tasks.push(tokio::spawn(customers(Client::new(admin), opts.clone(), counters.clone(), stop.clone())));

    let started = Instant::now();
    let run_until = async {
        match opts.duration {
            Some(secs) => tokio::time::sleep(Duration::from_secs_f64(secs)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::pin!(run_until);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = &mut run_until => break,
            _ = ticker.tick() => println!("{}", counters.status_line(started.elapsed())),
        }
    }

    stop_tx.send_replace(true);
    for task in tasks {
        let _ = task.await;
    }
    println!("{}", counters.status_line(started.elapsed()));
    eprintln!("signing out ...");
    fleet.shut_down(SIGN_IN_CONCURRENCY).await;
    Ok(())
}

/// Injects customer calls with exponential inter-arrival times.
async fn customers(
    mut admin: Client,
    opts: Arc<SimulateOpts>,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
    let mut sequence = 0u64;
    let mut failures = 0u64;
    loop {
        let gap = exponential(&mut rand::rng(), 1.0 / opts.rate);
        if !pause(&mut stop, gap).await {
            return;
        }
        sequence += 1;
        let call = InjectCall {
            caller: format!("138{:08}", rand::rng().random_range(0..100_000_000)),
            access_code: opts.access_code.clone(),
            call_data: format!("sim={sequence}"),
        };
        match api::inject_call(&mut admin, &call).await {
            Ok(_) => {
                counters.offered.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                failures += 1;
                if failures == 1 || failures.is_power_of_two() {
                    eprintln!("warning: injecting a call failed ({failures} so far): {error:#}");
                }
            }
        }
    }
}

/// Sleeps `secs` seconds; false if the simulation stopped meanwhile.
async fn pause(stop: &mut watch::Receiver<bool>, secs: f64) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs_f64(secs)) => true,
        _ = stop.wait_for(|stopped| *stopped) => false,
    }
}

/// How a conversation ended.
enum TalkEnd {
    /// The handle time passed: the agent hangs up.
    AgentDone,
    /// A release event for the call arrived first.
    CustomerLeft,
    Stopped,
}

/// One simulated agent at a desktop.
struct Desk {
    index: usize,
    agent: Arc<Agent>,
    client: Client,
    opts: Arc<SimulateOpts>,
    counters: Arc<Counters>,
    stop: watch::Receiver<bool>,
}

impl Desk {
    async fn run(mut self) {
        let agent = self.agent.clone();
        let mut events = agent.listen().await;
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                _ = self.stop.wait_for(|stopped| *stopped) => None,
            };
            let Some(event) = event else { break };
            if event.kind != event_types::RINGING {
                continue;
            }
            if !self.handle_call(&mut events, event.call_id).await {
                break;
            }
        }
        agent.stop_listening();
    }

    /// Answer, talk, release, wrap up. Returns false when the simulation stops.
    async fn handle_call(
        &mut self,
        events: &mut tokio::sync::mpsc::UnboundedReceiver<api::AgentEvent>,
        call_id: Option<String>,
    ) -> bool {
        self.set_state(DeskState::Ringing);
        let delay = rand::rng().random_range(ANSWER_DELAY);
        if !pause(&mut self.stop, delay).await {
            return false;
        }
        if !self.request(Method::PUT, paths::answer).await {
            self.set_state(DeskState::Idle);
            return true;
        }
        self.counters.answered.fetch_add(1, Ordering::Relaxed);
        self.set_state(DeskState::Talking);

        let handle_time = lognormal(&mut rand::rng(), self.opts.handle_time, HANDLE_TIME_SIGMA).max(MIN_HANDLE_TIME);
        match self.talk(events, call_id.as_deref(), handle_time).await {
            TalkEnd::Stopped => return false,
            TalkEnd::CustomerLeft => {
                self.counters.completed.fetch_add(1, Ordering::Relaxed);
            }
            TalkEnd::AgentDone => {
                if self.request(Method::DELETE, paths::release).await {
                    self.counters.completed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }

        self.set_state(DeskState::WrapUp);
        let wrapup = exponential(&mut rand::rng(), self.opts.wrapup);
        if !pause(&mut self.stop, wrapup).await {
            return false;
        }
        self.request(Method::POST, paths::cancel_work).await;
        self.set_state(DeskState::Idle);
        true
    }

    /// Waits for the handle time, or until the customer releases the call.
    async fn talk(
        &mut self,
        events: &mut tokio::sync::mpsc::UnboundedReceiver<api::AgentEvent>,
        call_id: Option<&str>,
        handle_time: f64,
    ) -> TalkEnd {
        let deadline = tokio::time::sleep(Duration::from_secs_f64(handle_time));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return TalkEnd::AgentDone,
                _ = self.stop.wait_for(|stopped| *stopped) => return TalkEnd::Stopped,
                event = events.recv() => {
                    let Some(event) = event else { return TalkEnd::Stopped };
                    let is_release = event.kind == event_types::CALL_RELEASE
                        || event.kind == event_types::CUSTOMER_RELEASE;
                    if is_release && (call_id.is_none() || event.call_id.as_deref() == call_id) {
                        return TalkEnd::CustomerLeft;
                    }
                }
            }
        }
    }

    /// Sends an agent request; logs and returns false on failure.
    async fn request(&mut self, method: Method, path: fn(u32) -> String) -> bool {
        let id = self.agent.id();
        let path = path(id);
        match self.agent.session.send(&mut self.client, method, &path, None).await {
            Ok(response) if response.is_success() => true,
            Ok(response) => {
                tracing::warn!(agent = id, path, "{}", response.describe());
                false
            }
            Err(error) => {
                tracing::warn!(agent = id, path, "{error:#}");
                false
            }
        }
    }

    fn set_state(&self, state: DeskState) {
        self.counters.set_state(self.index, state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_counts_states() {
        let counters =
            Counters { states: (0..4).map(|_| AtomicU8::new(DeskState::Idle as u8)).collect(), ..Counters::default() };
        counters.set_state(0, DeskState::Talking);
        counters.set_state(1, DeskState::WrapUp);
        counters.offered.store(5, Ordering::Relaxed);
        counters.answered.store(3, Ordering::Relaxed);
        let line = counters.status_line(Duration::from_secs(7));
        assert!(line.contains("talking   1"), "{line}");
        assert!(line.contains("wrap-up   1"), "{line}");
        assert!(line.contains("idle   2"), "{line}");
        assert!(line.contains("queue   2"), "{line}");
    }
}

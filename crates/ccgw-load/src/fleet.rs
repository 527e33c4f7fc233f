//! A fleet of signed-in agents, each kept alive by its own event long poll.
//!
//! The poll is the session heartbeat and the channel through which GUID
//! rotations arrive, so every signed-in agent gets a poller task with its own
//! connection for the whole run. Pollers track each agent's active calls,
//! optionally answer ringing calls, and forward events to whoever subscribed.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::Method;
use rand::Rng;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::api::{self, AgentEvent, SignInError, SignInOptions, event_types, paths};
use crate::client::{AgentSession, Client, Connector};
use crate::stats::StatsSet;

/// What the poller does on its own when a call rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RingPolicy {
    /// Nothing (someone else reacts to the forwarded events).
    Ignore = 0,
    /// Answer the call.
    Answer = 1,
    /// Answer, then release after a short random handle time.
    AnswerAndRelease = 2,
}

/// Handle time range used by [`RingPolicy::AnswerAndRelease`].
const SHORT_HANDLE_TIME_MS: std::ops::Range<u64> = 500..3000;

/// One signed-in agent, shared between its poller and the scenarios.
pub struct Agent {
    pub session: AgentSession,
    pub vdn: u32,
    ring_policy: AtomicU8,
    /// Call ids the agent is currently part of (from Talking / Release events).
    calls: Mutex<Vec<String>>,
    /// Events are forwarded to `events_rx` only while `listening` is set.
    listening: AtomicBool,
    events_tx: mpsc::UnboundedSender<AgentEvent>,
    events_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<AgentEvent>>,
}

impl Agent {
    fn new(signed_in: api::SignedIn) -> Self {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        Self {
            session: signed_in.session,
            vdn: signed_in.vdn,
            ring_policy: AtomicU8::new(RingPolicy::Ignore as u8),
            calls: Mutex::new(Vec::new()),
            listening: AtomicBool::new(false),
            events_tx,
            events_rx: tokio::sync::Mutex::new(events_rx),
        }
    }

    pub fn id(&self) -> u32 {
        self.session.agent_id()
    }

    pub fn set_ring_policy(&self, policy: RingPolicy) {
        self.ring_policy.store(policy as u8, Ordering::Relaxed);
    }

    fn ring_policy(&self) -> RingPolicy {
        match self.ring_policy.load(Ordering::Relaxed) {
            1 => RingPolicy::Answer,
            2 => RingPolicy::AnswerAndRelease,
            _ => RingPolicy::Ignore,
        }
    }

    /// Number of calls the agent is currently part of.
    pub fn call_count(&self) -> usize {
        self.calls.lock().expect("calls lock poisoned").len()
    }

    /// Starts forwarding events and returns the (drained) receiver.
    /// Stop with [`Agent::stop_listening`].
    pub async fn listen(&self) -> tokio::sync::MutexGuard<'_, mpsc::UnboundedReceiver<AgentEvent>> {
        let mut rx = self.events_rx.lock().await;
        while rx.try_recv().is_ok() {}
        self.listening.store(true, Ordering::Relaxed);
        rx
    }

    pub fn stop_listening(&self) {
        self.listening.store(false, Ordering::Relaxed);
    }

    /// Updates the call list from an event.
    fn track_calls(&self, event: &AgentEvent) {
        let Some(call_id) = &event.call_id else {
            return;
        };
        let mut calls = self.calls.lock().expect("calls lock poisoned");
        match event.kind.as_str() {
            event_types::TALKING if !calls.contains(call_id) => calls.push(call_id.clone()),
            event_types::CALL_RELEASE | event_types::CUSTOMER_RELEASE => calls.retain(|c| c != call_id),
            _ => {}
        }
    }
}

/// A pool of spare connections for one-off actions (answer, release, ...).
pub struct ClientPool {
    connector: Arc<Connector>,
    idle: Mutex<Vec<Client>>,
}

impl ClientPool {
    pub fn new(connector: Arc<Connector>) -> Self {
        Self { connector, idle: Mutex::new(Vec::new()) }
    }

    pub fn get(&self) -> Client {
        self.idle.lock().expect("pool lock poisoned").pop().unwrap_or_else(|| Client::new(self.connector.clone()))
    }

    pub fn put(&self, client: Client) {
        self.idle.lock().expect("pool lock poisoned").push(client);
    }
}

/// State shared by the fleet's pollers and action tasks.
pub struct FleetShared {
    pub pool: ClientPool,
    /// Latencies of the `answer` / `release` requests made by ring policies.
    pub actions: Mutex<StatsSet>,
    /// Event polls that failed (transport error or retcode not "0").
    pub poll_errors: AtomicU64,
    /// The first failed poll's error and its count by kind (transport, retcode, ...).
    pub first_poll_error: Mutex<Option<String>>,
    /// Event polls answered (with or without an event) and events delivered, over the run.
    pub polls: AtomicU64,
    pub events: AtomicU64,
    stop: watch::Sender<bool>,
}

/// Signed-in agents plus their pollers.
pub struct Fleet {
    pub agents: Vec<Arc<Agent>>,
    pub shared: Arc<FleetShared>,
    connector: Arc<Connector>,
    pollers: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// Signs in `ids` (at most `concurrency` at a time) and starts a poller
    /// per agent. Fails, naming the agents and retcodes, if any sign-in fails.
    pub async fn sign_in(
        connector: &Arc<Connector>,
        ids: &[u32],
        concurrency: usize,
        options: &SignInOptions,
    ) -> anyhow::Result<Self> {
        Self::sign_in_spread(connector, ids, concurrency, options, Duration::ZERO).await
    }

    /// Like [`Fleet::sign_in`], each poller sending its first poll after a random delay below
    /// `spread`: agents that all signed in within seconds would otherwise poll in lockstep (every
    /// empty poll is answered after the same wait), a wave no real site has.
    pub async fn sign_in_spread(
        connector: &Arc<Connector>,
        ids: &[u32],
        concurrency: usize,
        options: &SignInOptions,
        spread: Duration,
    ) -> anyhow::Result<Self> {
        let results = sign_in_all(connector, ids, concurrency, options).await;
        let mut agents = Vec::with_capacity(ids.len());
        let mut failures = Vec::new();
        for result in results {
            match result {
                Ok(signed_in) => agents.push(Arc::new(Agent::new(signed_in))),
                Err(error) => failures.push(error),
            }
        }
        if !failures.is_empty() {
            let shown: Vec<String> = failures.iter().take(5).map(|e| e.to_string()).collect();
            anyhow::bail!(
                "{} of {} agents could not sign in; first failures:\n  {}",
                failures.len(),
                ids.len(),
                shown.join("\n  ")
            );
        }

        let (stop, _) = watch::channel(false);
        let shared = Arc::new(FleetShared {
            pool: ClientPool::new(connector.clone()),
            actions: Mutex::new(StatsSet::default()),
            poll_errors: AtomicU64::new(0),
            first_poll_error: Mutex::new(None),
            polls: AtomicU64::new(0),
            events: AtomicU64::new(0),
            stop,
        });
        let gate = Arc::new(tokio::sync::Semaphore::new(CONNECTS_IN_FLIGHT));
        let pollers = agents
            .iter()
            .map(|agent| {
                let delay = if spread.is_zero() { Duration::ZERO } else { spread.mul_f64(rand::rng().random()) };
                let poller = Poller {
                    agent: agent.clone(),
                    client: Client::new(connector.clone()),
                    shared: shared.clone(),
                    delay,
                    gate: gate.clone(),
                };
                tokio::spawn(poller.run())
            })
            .collect();
        Ok(Self { agents, shared, connector: connector.clone(), pollers })
    }

    pub fn set_ring_policy(&self, policy: RingPolicy) {
        for agent in &self.agents {
            agent.set_ring_policy(policy);
        }
    }

    /// Number of agents currently in at least one call.
    pub fn agents_in_call(&self) -> usize {
        self.agents.iter().filter(|a| a.call_count() > 0).count()
    }

    /// Stops the pollers and force-signs every agent out (releasing calls).
    pub async fn shut_down(self, concurrency: usize) {
        self.shared.stop.send_replace(true);
        for poller in self.pollers {
            let _ = poller.await;
        }
        let failures = sign_out_all(&self.connector, self.agents, concurrency).await;
        if failures > 0 {
            tracing::warn!(failures, "some agents could not be signed out");
        }
    }
}

/// Connections being opened (TCP + TLS handshake) at once by the pollers: thousands of
/// simultaneous handshakes overflow the listener's backlog and time out. Each poller connects
/// right before its first poll: a connection opened early and left without a request is cut by
/// the gateway's `server.head_timeout_ms` (10 s).
const CONNECTS_IN_FLIGHT: usize = 64;

/// Signs `ids` in with at most `concurrency` requests in flight; results in input order.
pub async fn sign_in_all(
    connector: &Arc<Connector>,
    ids: &[u32],
    concurrency: usize,
    options: &SignInOptions,
) -> Vec<Result<api::SignedIn, SignInError>> {
    let clients = (0..concurrency.max(1)).map(|_| Client::new(connector.clone())).collect();
    sign_in_with(clients, ids, options).await
}

/// Signs `ids` in using the given (possibly pre-connected) clients, one request per client at a time.
pub async fn sign_in_with(
    clients: Vec<Client>,
    ids: &[u32],
    options: &SignInOptions,
) -> Vec<Result<api::SignedIn, SignInError>> {
    let options = Arc::new(options.clone());
    for_each_parallel(clients, ids.to_vec(), move |mut client, id| {
        let options = options.clone();
        async move {
            let result = api::sign_in(&mut client, id, &options).await;
            (client, result)
        }
    })
    .await
}

/// Force-signs agents out; returns the number of failures.
pub async fn sign_out_all(connector: &Arc<Connector>, agents: Vec<Arc<Agent>>, concurrency: usize) -> usize {
    let sessions = agents.iter().map(|a| &a.session);
    sign_out_sessions(connector, sessions, concurrency).await
}

/// Force-signs sessions out; returns the number of failures.
pub async fn sign_out_sessions<'a>(
    connector: &Arc<Connector>,
    sessions: impl Iterator<Item = &'a AgentSession>,
    concurrency: usize,
) -> usize {
    let sessions: Vec<(u32, Arc<str>)> = sessions.map(|s| (s.agent_id(), s.guid())).collect();
    let clients = (0..concurrency.max(1)).map(|_| Client::new(connector.clone())).collect();
    let results = for_each_parallel(clients, sessions, |mut client, (id, guid)| async move {
        let session = AgentSession::new(id, &guid);
        let result = api::force_logout(&mut client, &session).await;
        if let Err(error) = &result {
            tracing::debug!("{error:#}");
        }
        (client, result.is_ok())
    })
    .await;
    results.iter().filter(|ok| !**ok).count()
}

/// Signs in every agent of `ids` over `clients` (in parallel, one request per client at a time),
/// strictly: any retcode but "0" is an error. Returns each sign-in's latency and outcome, and
/// counts them in `counters` for progress lines.
pub async fn timed_strict_sign_ins(
    clients: Vec<Client>,
    ids: Vec<u32>,
    options: SignInOptions,
    counters: Arc<crate::progress::Counters>,
) -> Vec<(Duration, Result<api::SignedIn, SignInError>)> {
    let options = Arc::new(options);
    for_each_parallel(clients, ids, move |mut client, id| {
        let options = options.clone();
        let counters = counters.clone();
        async move {
            let started = std::time::Instant::now();
            let result = api::sign_in_strict(&mut client, id, &options).await;
            counters.record(result.is_ok());
            (client, (started.elapsed(), result))
        }
    })
    .await
}

/// Runs `job` for every item, one worker task per client, and returns the
/// results in input order. Each job gets a client and hands it back.
pub async fn for_each_parallel<T, R, F, Fut>(clients: Vec<Client>, items: Vec<T>, job: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Client, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (Client, R)> + Send,
{
    let count = items.len();
    assert!(count == 0 || !clients.is_empty(), "for_each_parallel needs at least one client");
    let queue = Arc::new(Mutex::new(items.into_iter().enumerate()));
    let job = Arc::new(job);
    let workers: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let queue = queue.clone();
            let job = job.clone();
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let next = queue.lock().expect("queue lock poisoned").next();
                    let Some((index, item)) = next else { break };
                    let (returned, result) = job(client, item).await;
                    client = returned;
                    done.push((index, result));
                }
                done
            })
        })
        .collect();
    let mut results: Vec<Option<R>> = (0..count).map(|_| None).collect();
    for worker in workers {
        for (index, result) in worker.await.expect("worker task panicked") {
            results[index] = Some(result);
        }
    }
    results.into_iter().map(|r| r.expect("every item is processed once")).collect()
}

/// The long-poll loop of one agent.
struct Poller {
    agent: Arc<Agent>,
    client: Client,
    shared: Arc<FleetShared>,
    /// Before the first poll.
    delay: Duration,
    /// Held while connecting for the first poll ([`CONNECTS_IN_FLIGHT`]).
    gate: Arc<tokio::sync::Semaphore>,
}

impl Poller {
    async fn run(mut self) {
        let mut stop = self.shared.stop.subscribe();
        if !self.delay.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(self.delay) => {}
                _ = stop.wait_for(|stopped| *stopped) => return,
            }
        }
        {
            let _permit = self.gate.acquire().await.expect("semaphore never closed");
            let connector = self.client.connector().clone();
            // On failure the first poll connects again by itself.
            if let Ok(client) = Client::connected(connector).await {
                self.client = client;
            }
        }
        let path = paths::events(self.agent.id());
        let mut warned = false;
        loop {
            let poll = self.agent.session.send(&mut self.client, Method::GET, &path, None);
            let result = tokio::select! {
                result = poll => result,
                _ = stop.wait_for(|stopped| *stopped) => return,
            };
            let received_at = std::time::Instant::now();
            let failure = match result {
                Ok(response) if response.is_success() => match api::parse_event(&response.body, received_at) {
                    Ok(Some(event)) => {
                        self.shared.polls.fetch_add(1, Ordering::Relaxed);
                        self.shared.events.fetch_add(1, Ordering::Relaxed);
                        self.handle(event);
                        continue;
                    }
                    Ok(None) => {
                        self.shared.polls.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    Err(error) => format!("{error:#}"),
                },
                Ok(response) => response.describe(),
                Err(error) => format!("{error:#}"),
            };
            self.shared.poll_errors.fetch_add(1, Ordering::Relaxed);
            self.shared
                .first_poll_error
                .lock()
                .expect("error lock poisoned")
                .get_or_insert_with(|| format!("agent {}: {failure}", self.agent.id()));
            if !warned {
                tracing::warn!(agent = self.agent.id(), "event poll failed: {failure}");
                warned = true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    fn handle(&self, event: AgentEvent) {
        self.agent.track_calls(&event);
        if event.kind == event_types::RINGING {
            let policy = self.agent.ring_policy();
            if policy != RingPolicy::Ignore {
                tokio::spawn(answer_call(
                    self.agent.clone(),
                    self.shared.clone(),
                    policy == RingPolicy::AnswerAndRelease,
                ));
            }
        }
        if self.agent.listening.load(Ordering::Relaxed) {
            let _ = self.agent.events_tx.send(event);
        }
    }
}

/// Answers the ringing call (and optionally releases it after a short handle
/// time), recording request latencies in `shared.actions`.
async fn answer_call(agent: Arc<Agent>, shared: Arc<FleetShared>, release: bool) {
    let mut client = shared.pool.get();
    let answered = timed_action(&agent, &shared, &mut client, "answer", Method::PUT, paths::answer).await;
    if answered && release {
        let handle_ms = rand::rng().random_range(SHORT_HANDLE_TIME_MS);
        tokio::time::sleep(Duration::from_millis(handle_ms)).await;
        timed_action(&agent, &shared, &mut client, "release", Method::DELETE, paths::release).await;
    }
    shared.pool.put(client);
}

async fn timed_action(
    agent: &Agent,
    shared: &FleetShared,
    client: &mut Client,
    interface: &'static str,
    method: Method,
    path: fn(u32) -> String,
) -> bool {
    let started = std::time::Instant::now();
    let result = agent.session.send(client, method, &path(agent.id()), None).await;
    let latency = started.elapsed();
    let mut actions = shared.actions.lock().expect("stats lock poisoned");
    let stats = actions.get(interface);
    match result {
        Ok(response) if response.is_success() => {
            stats.record_success(latency);
            true
        }
        Ok(response) => {
            tracing::debug!(agent = agent.id(), interface, "{}", response.describe());
            stats.record_error(&response);
            false
        }
        Err(error) => {
            tracing::debug!(agent = agent.id(), interface, "{error:#}");
            stats.record_transport_error();
            false
        }
    }
}

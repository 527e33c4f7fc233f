//! The gateway runtime: the store, the provisioning, credentials, telephony and the clock, put
//! together into the operations the HTTP layer calls. Nothing here knows HTTP or JSON.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use argon2::{Argon2, PasswordHasher};
use ccgw_domain::{
    AgentId, AgentProfile, AgentRights, Directory, DomainError, Group, Ivr, Op, Policy, RestReason, SignInOptions,
    Skill, SkillId, Supervision, VdnId, VdnState, cmd,
};
use ccgw_store::{Delivery, MemoryStore, RedisStore, Store};
use parking_lot::Mutex;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::credentials::{Credential, Credentials, Plan};
use crate::heartbeat::{HeartbeatTimers, Verdict};
use crate::limiter::CalldataLimiter;
use crate::lockout::{Limits, Lockout, Source};
use crate::telemetry;
use crate::telephony::{Telephony, TelephonyReport};

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Hash a password for the configuration file (argon2id, OWASP default parameters).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    hash_password_with(password, argon2::Params::DEFAULT_M_COST, argon2::Params::DEFAULT_T_COST)
}

/// Hash with explicit argon2id costs (load tests provision thousands of agents with cheap ones).
pub fn hash_password_with(password: &str, memory_kib: u32, iterations: u32) -> anyhow::Result<String> {
    let params = argon2::Params::new(memory_kib, iterations, argon2::Params::DEFAULT_P_COST, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Argon2::from(params)
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

/// The password of the embedded demo agents.
pub const DEMO_PASSWORD: &str = "ccgw-demo";

/// What a sign-in needs besides the password check.
pub struct SignInParams {
    pub password: String,
    pub options: SignInOptions,
    pub force: bool,
    /// The client's address (the TCP peer): failed sign-ins are counted per source.
    pub source: Option<IpAddr>,
    /// Push mode: where the session's events go (`callBackUri` + `serviceToken`).
    pub push: Option<ccgw_wire::request::PushTarget>,
}

/// A request that passed the GUID check.
pub struct Auth {
    pub vdn: VdnId,
    /// The current GUID, when the request came with the previous one (still in its grace
    /// period): announced again in `Set-GUID`, in case the response that carried it was lost.
    pub renew: Option<String>,
    /// The session's mailbox epoch: the poll takes events of this session only.
    pub epoch: u64,
}

pub struct SignedIn {
    pub vdn: VdnId,
    pub login_ms: u64,
    pub guid: String,
}

pub struct Gateway<S: Store = MemoryStore> {
    pub config: Arc<Config>,
    pub store: S,
    pub directory: Arc<Directory>,
    pub credentials: Arc<Credentials>,
    lockout: Mutex<Lockout>,
    /// Agent ids (provisioned or not) whose sign-in is in flight: a second one gets `100-021`.
    signing_in: Mutex<HashSet<AgentId>>,
    /// One heartbeat-expiry timer per signed-in agent (the tick's cost is the timers due).
    heartbeats: Mutex<HeartbeatTimers>,
    /// Cluster mode: the VDNs this node held at its last tick (a new one arms timers for the
    /// sessions other nodes started).
    held: Mutex<HashSet<VdnId>>,
    telephony: Box<dyn Telephony>,
    verify_permits: Semaphore,
    pub limiter: CalldataLimiter,
    /// The access log (`log.access_log`), set by [`crate::server::start`]; `None`: off.
    pub access_log: Option<Arc<crate::telemetry::AccessLog>>,
    /// Push mode's tasks and the `allagentevent` consumers (`push.rs`).
    pub push: crate::push::Pusher,
    /// Cluster mode's leases and shared heartbeats (`cluster.rs`); `None` (memory backend):
    /// this node holds every VDN.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
}

/// Marks an agent id's sign-in as in flight until dropped.
struct InFlight<'a> {
    set: &'a Mutex<HashSet<AgentId>>,
    agent: AgentId,
}

impl<'a> InFlight<'a> {
    fn enter(set: &'a Mutex<HashSet<AgentId>>, agent: AgentId) -> Option<Self> {
        // (Not `then_some`: it would build, and drop, a guard while the set is still locked.)
        let inserted = set.lock().insert(agent);
        if inserted { Some(InFlight { set, agent }) } else { None }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.set.lock().remove(&self.agent);
    }
}

/// Build the directory and the credential table from the configuration (or the demo).
pub fn provision(config: &Config) -> anyhow::Result<(Directory, HashMap<AgentId, Credential>)> {
    let (vdns, skills, agents) = if config.is_demo() {
        let hash = hash_password(DEMO_PASSWORD)?;
        Config::demo_provisioning(hash)
    } else {
        (config.vdns.clone(), config.skills.clone(), config.agents.clone())
    };
    let mut dir = Directory::default();
    for v in &vdns {
        dir.vdns.insert(VdnId(v.id), v.name.clone());
    }
    for s in &skills {
        dir.skills.insert(
            SkillId(s.id),
            Skill { id: SkillId(s.id), vdn: VdnId(s.vdn), name: s.name.clone(), media_type: s.media_type },
        );
        for code in &s.access_codes {
            dir.access_codes.insert(code.clone(), SkillId(s.id));
        }
    }
    let ivrs = if config.is_demo() { Config::demo_ivrs() } else { config.ivrs.clone() };
    for i in ivrs {
        let ivr = Ivr { id: i.id, vdn: VdnId(i.vdn), access_code: i.access_code, description: i.description };
        dir.ivrs.insert(i.id, ivr);
    }
    let (groups, rest_reasons, supervisors) = if config.is_demo() {
        (Config::demo_groups(), Config::demo_rest_reasons(), Config::demo_supervisors())
    } else {
        (config.groups.clone(), config.rest_reasons.clone(), config.supervisors.clone())
    };
    let supervision: HashMap<AgentId, Supervision> = supervisors
        .iter()
        .map(|s| {
            let scope =
                Supervision { groups: s.groups.clone(), skills: s.skills.iter().map(|k| SkillId(*k)).collect() };
            (AgentId(s.workno), scope)
        })
        .collect();
    let mut group_of = HashMap::new();
    for g in groups {
        let mut members: Vec<AgentId> = g.members.iter().map(|m| AgentId(*m)).collect();
        members.sort();
        for m in &members {
            group_of.insert(*m, g.id);
        }
        dir.groups.insert(g.id, Group { id: g.id, vdn: VdnId(g.vdn), name: g.name, members });
    }
    dir.rest_reasons =
        rest_reasons.into_iter().map(|r| RestReason { vdn: VdnId(r.vdn), code: r.code, name: r.name }).collect();
    dir.rest_reasons.sort_by_key(|r| (r.vdn, r.code));
    let mut credentials = HashMap::new();
    for a in &agents {
        let id = AgentId(a.workno);
        let phone = a.phone.clone().unwrap_or_else(|| format!("7{}", a.workno));
        dir.agents.insert(
            id,
            Arc::new(AgentProfile {
                id,
                vdn: VdnId(a.vdn),
                name: a.name.clone(),
                skills: a.skills.iter().map(|s| SkillId(*s)).collect(),
                phone,
                rights: AgentRights::from(&a.rights),
                attributes: a.attributes.clone(),
                group: group_of.get(&id).copied(),
                supervises: supervision.get(&id).cloned(),
            }),
        );
        let hash = a.password_hash.expose();
        credentials.insert(
            id,
            Credential {
                hash: (!hash.is_empty()).then(|| hash.to_owned()),
                password_optional: a.password_optional || config.auth.allow_empty_password,
            },
        );
    }
    Ok((dir, credentials))
}

fn policy(config: &Config) -> Policy {
    Policy {
        ring_timeout_ms: config.engine.ring_timeout_ms,
        allow_force_login: config.auth.allow_force_login,
        traffic: config.stats.policy(),
        // SIP mode: the agents' phones are telephony parties the engine rings and releases.
        phone_legs: config.telephony.kind == crate::config::TelephonyKind::Sip,
    }
}

impl<S: Store> Gateway<S> {
    /// The gateway on a store built from the provisioning (what both backends share).
    fn provisioned(
        config: Arc<Config>,
        telephony: Box<dyn Telephony>,
        directory: Directory,
        credentials: HashMap<AgentId, Credential>,
        store: S,
    ) -> anyhow::Result<Self> {
        let credentials = Credentials::new(credentials).context("provisioning")?;
        warn_about_open_doors(&config);
        let gw = Gateway::new(config, store, directory, credentials, telephony);
        if gw.config.push.ca_file.is_some() {
            // A configured CA file that cannot be read stops the start, not the first push.
            gw.push.tls_config().context("[push]")?;
        }
        Ok(gw)
    }
}

impl Gateway<MemoryStore> {
    /// The embedded default: the in-memory store.
    pub fn in_memory(config: Arc<Config>, telephony: Box<dyn Telephony>) -> anyhow::Result<Self> {
        let (directory, credentials) = provision(&config).context("provisioning")?;
        let store = MemoryStore::new(&directory, policy(&config), config.engine.max_events_per_agent)
            .with_feed_capacity(config.push.all_agent_event_ring);
        Self::provisioned(config, telephony, directory, credentials, store)
    }
}

/// Where a Redis gateway's applier finds the gateway, once it exists (the store is built first).
pub type GatewayCell = Arc<std::sync::OnceLock<std::sync::Weak<Gateway<RedisStore>>>>;

impl Gateway<RedisStore> {
    /// Cluster mode (`[store] backend = "redis"`): connect, load every VDN's replica (snapshot
    /// and tail) and follow the logs; coordinate through `[cluster]`. Every node's applier hands
    /// each applied entry's telephony commands to [`Gateway::execute_applied`] (the VDN's lease
    /// holder executes them), through the returned cell: set it once the gateway is in its `Arc`.
    pub async fn on_redis(config: Arc<Config>, telephony: Box<dyn Telephony>) -> anyhow::Result<(Self, GatewayCell)> {
        let url = config.store.url.clone().context("[store] url")?;
        let (directory, credentials) = provision(&config).context("provisioning")?;
        let cell: GatewayCell = Arc::default();
        let sink: ccgw_store::TelephonySink = {
            let cell = cell.clone();
            Arc::new(move |vdn, seq, cmds| {
                if let Some(gw) = cell.get().and_then(std::sync::Weak::upgrade) {
                    gw.execute_applied(vdn, seq, cmds);
                }
            })
        };
        let timeout = Duration::from_millis(config.store.timeout_ms);
        let redis_config = ccgw_store::RedisConfig {
            url: url.clone(),
            node_name: config.server.node_name.clone(),
            timeout,
            snapshot_every: config.store.snapshot_every,
            feed_capacity: config.push.all_agent_event_ring,
        };
        let store =
            RedisStore::connect(&directory, policy(&config), config.engine.max_events_per_agent, redis_config, sink)
                .await
                .map_err(|e| anyhow::anyhow!("[store] connecting to Redis: {e}"))?;
        let node = config.server.node_name.clone();
        let cluster =
            crate::cluster::Cluster::new(&node, &url, config.cluster.clone(), &directory).context("[cluster]")?;
        let limiter_conn = crate::cluster::connect(&url, timeout).context("[store] url")?;
        let gw =
            Self::provisioned(config, telephony, directory, credentials, store)?.with_cluster(cluster, limiter_conn);
        Ok((gw, cell))
    }
}

/// The settings that let a client in without a credential say so, loudly, at start.
fn warn_about_open_doors(config: &Config) {
    let auth = &config.auth;
    if auth.allow_empty_password {
        tracing::warn!(
            "auth.allow_empty_password = true: EVERY agent can sign in with an empty password, so anyone who can \
             reach the agent interface can sign in as any agent. Use it only where passwords are checked elsewhere."
        );
    } else {
        let optional: Vec<u32> = config.agents.iter().filter(|a| a.password_optional).map(|a| a.workno).collect();
        if !optional.is_empty() {
            tracing::warn!(agents = ?optional, "these agents can sign in with an empty password (password_optional)");
        }
    }
    if !auth.trusted_without_guid.is_empty() {
        let networks: Vec<String> = auth.trusted_without_guid.iter().map(ToString::to_string).collect();
        tracing::warn!(
            networks = ?networks,
            "auth.trusted_without_guid: requests from these networks need NO Guid header; any client there can act \
             as any signed-in agent. Each such request is marked in the access log (guid_bypass)."
        );
    }
    if !auth.lockout_enabled() {
        tracing::warn!("every auth.max_failed_logins* limit is 0: passwords can be guessed without limit");
    }
}

impl<S: Store> Gateway<S> {
    pub fn new(
        config: Arc<Config>,
        store: S,
        directory: Directory,
        credentials: Credentials,
        telephony: Box<dyn Telephony>,
    ) -> Self {
        let limiter = CalldataLimiter::new(
            directory.agents.keys().copied(),
            config.limits.calldata_per_agent,
            config.limits.calldata_system,
            config.limits.calldata_window_ms,
        );
        let push = crate::push::Pusher::new(config.push.clone());
        Gateway {
            push,
            verify_permits: Semaphore::new(config.auth.sign_in_concurrency.max(1)),
            lockout: Mutex::new(Lockout::new(Limits::from_config(&config.auth))),
            signing_in: Mutex::new(HashSet::new()),
            heartbeats: Mutex::new(HeartbeatTimers::default()),
            held: Mutex::new(HashSet::new()),
            config,
            store,
            directory: Arc::new(directory),
            credentials: Arc::new(credentials),
            telephony,
            limiter,
            access_log: None,
            cluster: None,
        }
    }

    /// Cluster mode: coordinate with the other nodes through `cluster` (leases, heartbeat stamps)
    /// and count the per-agent overload limit in Redis on `cluster`'s connection.
    pub fn with_cluster(mut self, cluster: Arc<crate::cluster::Cluster>, redis: redis::aio::ConnectionManager) -> Self {
        self.limiter = std::mem::replace(&mut self.limiter, CalldataLimiter::new([], 0, 0, 1)).with_redis(redis);
        self.cluster = Some(cluster);
        self
    }

    /// Whether this node does the VDN's once-only duties (its `Tick`, its telephony): always in
    /// memory mode, while it holds the VDN's lease in cluster mode (one atomic load).
    pub fn holds(&self, vdn: VdnId) -> bool {
        self.cluster.as_ref().is_none_or(|c| c.holds(vdn))
    }

    /// Cluster mode: the telephony commands of an applied entry (`seq`, in the VDN's log order,
    /// on every node, for every node's entries), executed only by the VDN's lease holder; a new
    /// holder re-issues those after the last ones executed (`cluster.rs`). Memory mode never
    /// calls it (`run` executes the committed commands itself).
    pub fn execute_applied(&self, vdn: VdnId, seq: u64, cmds: &[ccgw_domain::TelephonyCommand]) {
        // The SIP node carries out every VDN's telephony (its dialogs live here).
        if self.telephony.executes_every_vdn() {
            cmds.iter().cloned().for_each(|cmd| self.telephony.execute(vdn, cmd));
            return;
        }
        match &self.cluster {
            Some(c) => c.execute_applied(vdn, seq, cmds, |cmd| self.telephony.execute(vdn, cmd)),
            None => cmds.iter().cloned().for_each(|cmd| self.telephony.execute(vdn, cmd)),
        }
    }

    /// Whether the telephony can ring the phone `phone` (SIP mode: it is registered).
    pub fn phone_usable(&self, phone: &str) -> bool {
        self.telephony.phone_usable(phone)
    }

    /// A fresh GUID: a v4 UUID (122 bits from a CSPRNG) plus this node's name, as the vendor's.
    pub fn new_guid(&self) -> String {
        format!("{}.{}", uuid::Uuid::new_v4(), self.config.server.node_name)
    }

    /// Run a write on a VDN: the command (`ccgw_domain::cmd`, every input chosen here, the time
    /// now) goes through the VDN's command log; its telephony commands go to the telephony
    /// (memory mode; in cluster mode the VDN's lease holder executes them as it applies the
    /// entry: `execute_applied`).
    ///
    /// Synchronous for the handlers: a memory-store write is ready at once; a Redis write is
    /// waited for on this worker (`ccgw_store::settle`), at most the store's time-out, after
    /// which it answers `StoreUnavailable` (outcome unknown, as the contract allows).
    pub fn run<C: Op + Send + 'static>(&self, vdn: VdnId, command: C) -> Result<C::Output, DomainError>
    where
        C::Output: Send,
    {
        let committed =
            ccgw_store::settle(self.store.submit(vdn, now_ms(), command)).ok_or(DomainError::StoreUnavailable)??;
        for cmd in committed.telephony {
            self.telephony.execute(vdn, cmd);
        }
        Ok(committed.value)
    }

    /// Put a taken event back (its answer could not be written): see `Store::requeue`.
    pub fn requeue(&self, agent: AgentId, delivery: Delivery) -> ccgw_store::Requeued {
        ccgw_store::settle(self.store.requeue(agent, delivery)).unwrap_or(ccgw_store::Requeued::SessionGone)
    }

    pub fn read<R>(&self, vdn: VdnId, f: impl FnOnce(&VdnState) -> R) -> Result<R, DomainError> {
        self.store.read(vdn, f)
    }

    pub fn vdn_of(&self, agent: AgentId) -> Result<VdnId, DomainError> {
        self.store.vdn_of(agent).ok_or(DomainError::NotSignedIn)
    }

    /// Check the `Guid` header against the agent's session and count the request as a heartbeat.
    /// A request without a `Guid` from a network in `auth.trusted_without_guid` acts as the
    /// agent's current session (not a vendor mode; logged in the access log as `guid_bypass`).
    pub fn authenticate(&self, agent: AgentId, guid: Option<&str>, peer: Option<IpAddr>) -> Result<Auth, DomainError> {
        let vdn = self.vdn_of(agent)?;
        let trusted = guid.is_none() && peer.is_some_and(|ip| self.config.auth.trusted_without_guid(ip));
        if guid.is_none() && !trusted {
            return Err(DomainError::NotSignedIn);
        }
        let now = now_ms();
        let checked = self.store.read(vdn, |s| {
            let c = &s.session(agent).ok()?.credential;
            let renew = match guid {
                None => None,
                Some(g) if c.guid == g => None,
                Some(g) if c.accepts(g, now) => Some(c.guid.clone()),
                Some(_) => return None,
            };
            // Read under the VDN lock: a new session bumps the epoch under the write lock.
            Some((renew, self.store.mailbox_epoch(agent)))
        })?;
        let (renew, epoch) = checked.ok_or(DomainError::NotSignedIn)?;
        if trusted {
            telemetry::guid_bypass(self.access_log.as_deref(), agent.0, peer);
        }
        self.store.touch(agent, now);
        if let Some(c) = &self.cluster {
            c.touched(agent, now);
        }
        Ok(Auth { vdn, renew, epoch })
    }

    /// Sign in: lock-out and concurrency checks, the password check off the async threads, then
    /// the session. Runs to completion even if the client goes away.
    pub async fn sign_in(self: &Arc<Self>, agent: AgentId, params: SignInParams) -> Result<SignedIn, DomainError>
    where
        S: 'static,
    {
        let gw = self.clone();
        tokio::spawn(async move { gw.sign_in_inner(agent, params).await }).await.unwrap_or(Err(DomainError::Internal))
    }

    /// Every agent id in range takes the same path, provisioned or not: the lock-out check, the
    /// in-flight mark, one argon2 verification (against a dummy hash for unknown ids), and the
    /// same answers. Whether the agent is signed in (`100-002`, `100-015`) is told only to a
    /// client whose password was right.
    async fn sign_in_inner(self: Arc<Self>, agent: AgentId, params: SignInParams) -> Result<SignedIn, DomainError> {
        let source = Source::of(params.source);
        self.lockout.lock().check(agent, source, now_ms())?;
        let _in_flight = InFlight::enter(&self.signing_in, agent).ok_or(DomainError::SigningIn)?;
        let password_ok = self.check_password(agent, params.password).await?;
        if !password_ok {
            return Err(self.lockout.lock().failed(agent, source, now_ms()));
        }
        self.lockout.lock().succeeded(agent, source);
        // A right password exists only for a provisioned agent.
        let vdn = self.store.vdn_of(agent).ok_or(DomainError::WrongPassword)?;
        // SIP mode: the phone to bind must be registered (`100-013`, docs/compat.md).
        if !self.telephony.phone_usable(&params.options.phone) {
            return Err(DomainError::InvalidNumber);
        }
        let guid = self.new_guid();
        let sign_in = cmd::SignIn { agent, options: params.options, guid: guid.clone(), force: params.force };
        let login = self.run(vdn, sign_in)?;
        let now = now_ms();
        self.store.touch(agent, now);
        self.heartbeats.lock().arm(agent, now, self.config.auth.heartbeat_timeout_ms);
        // Still under the in-flight mark: the previous session's push task sees it (push.rs).
        crate::push::session_started(&self, agent, vdn, &guid, params.push);
        Ok(SignedIn { vdn, login_ms: login.login_ms, guid })
    }

    /// Whether a sign-in of the agent is in flight (push.rs: a new session is on its way).
    pub fn sign_in_in_flight(&self, agent: AgentId) -> bool {
        self.signing_in.lock().contains(&agent)
    }

    async fn check_password(&self, agent: AgentId, password: String) -> Result<bool, DomainError> {
        let plan = self.credentials.plan(agent, &password);
        self.credentials.count(&plan);
        let Plan::Verify { hash, dummy } = plan else { return Ok(true) };
        let _permit = self.verify_permits.acquire().await.map_err(|_| DomainError::Internal)?;
        let credentials = self.credentials.clone();
        let ok = tokio::task::spawn_blocking(move || credentials.verify(&hash, password.as_bytes(), now_ms()))
            .await
            .map_err(|_| DomainError::Internal)?;
        Ok(ok && !dummy)
    }

    // --- onlineagent: password changes ---

    /// Change a signed-in agent's password (`modifyaccountpwd`, `modifyaccountpwdex`). The old
    /// password is checked exactly as a sign-in's (lock-out check, in-flight mark, one argon2
    /// verification on the credentials pool), and a wrong one counts towards the lock-out like
    /// a failed sign-in. The new one (validated by the caller) is hashed on the pool and
    /// replaces the provisioned hash in memory for the rest of the process: it is not written
    /// back to the configuration file. Runs to completion even if the client goes away.
    pub async fn change_password(
        self: &Arc<Self>,
        agent: AgentId,
        old: String,
        new: String,
        source: Option<IpAddr>,
    ) -> Result<(), DomainError>
    where
        S: 'static,
    {
        let gw = self.clone();
        tokio::spawn(async move {
            let source = Source::of(source);
            gw.lockout.lock().check(agent, source, now_ms())?;
            let _in_flight = InFlight::enter(&gw.signing_in, agent).ok_or(DomainError::SigningIn)?;
            if !gw.check_password(agent, old).await? {
                return Err(gw.lockout.lock().failed(agent, source, now_ms()));
            }
            gw.lockout.lock().succeeded(agent, source);
            let _permit = gw.verify_permits.acquire().await.map_err(|_| DomainError::Internal)?;
            let credentials = gw.credentials.clone();
            let hash = tokio::task::spawn_blocking(move || credentials.hash(new.as_bytes(), now_ms()))
                .await
                .map_err(|_| DomainError::Internal)?
                .ok_or(DomainError::Internal)?;
            gw.credentials.set_changed(agent, hash);
            Ok(())
        })
        .await
        .unwrap_or(Err(DomainError::Internal))
    }

    /// AUTHMODE 2: mint a new GUID when the interval has passed. Returns it for `Set-GUID`.
    pub fn rotate_guid_if_due(&self, vdn: VdnId, agent: AgentId) -> Option<String> {
        if self.config.auth.mode != 2 {
            return None;
        }
        let interval = self.config.auth.guid_interval_ms;
        let now = now_ms();
        let due =
            self.store.read(vdn, |s| s.session(agent).is_ok_and(|s| s.credential.rotation_due(now, interval))).ok()?;
        if !due {
            return None;
        }
        let timeout_ms = self.config.auth.guid_timeout_ms;
        // Minted before the command (it is data); unused if another request rotated first.
        let rotate = cmd::RotateGuid { agent, interval_ms: interval, timeout_ms, guid: self.new_guid() };
        self.run(vdn, rotate).ok().flatten()
    }

    /// Replace the GUID now (updateGuid).
    pub fn replace_guid(&self, vdn: VdnId, agent: AgentId) -> Result<String, DomainError> {
        let guid = self.new_guid();
        let timeout_ms = self.config.auth.guid_timeout_ms;
        self.run(vdn, cmd::ReplaceGuid { agent, guid: guid.clone(), timeout_ms })?;
        Ok(guid)
    }

    /// The long poll.
    pub async fn next_event(&self, agent: AgentId, epoch: u64) -> Option<Delivery> {
        self.store.next_event(agent, Some(epoch), Duration::from_millis(self.config.auth.poll_wait_ms)).await
    }

    /// Housekeeping for every VDN: heartbeat expiry, ring time-outs, rest reminders, playback
    /// ends, ACD. Costs the timers due (`heartbeat.rs`, the engine's timers), not the agents.
    pub fn tick(&self) {
        let now = now_ms();
        self.credentials.trim(now);
        let timeout = self.config.auth.heartbeat_timeout_ms;
        // Cluster mode: the latest of this node's stamp and those the other nodes published.
        let last_seen = |a: AgentId| {
            let local = self.store.last_seen(a).unwrap_or(0);
            self.cluster.as_ref().map_or(local, |c| local.max(c.published_seen(a)))
        };
        let due = self.heartbeats.lock().due(now, timeout, last_seen);
        let mut stale: HashMap<VdnId, Vec<(AgentId, u64)>> = HashMap::new();
        for (agent, generation) in due {
            match self.store.vdn_of(agent) {
                Some(vdn) => stale.entry(vdn).or_default().push((agent, generation)),
                None => {
                    self.heartbeats.lock().settle(agent, generation, false, 0, now, timeout);
                }
            }
        }
        for vdn in self.store.vdns() {
            let candidates = stale.remove(&vdn).unwrap_or_default();
            if !self.holds(vdn) {
                self.held.lock().remove(&vdn);
                // Another node's duty: keep the timers for when this node takes the lease over.
                let mut timers = self.heartbeats.lock();
                for (agent, generation) in candidates {
                    timers.defer(agent, generation, now.saturating_add(timeout));
                }
                continue;
            }
            if let Some(c) = &self.cluster {
                c.reissue(vdn, |cmd| self.telephony.execute(vdn, cmd));
                if self.held.lock().insert(vdn) {
                    // The lease just came here: the sessions other nodes started need timers.
                    let agents: Vec<AgentId> = self
                        .store
                        .read(vdn, |s| {
                            s.agents.iter().filter(|(_, a)| a.session.is_some()).map(|(id, _)| *id).collect()
                        })
                        .unwrap_or_default();
                    let mut timers = self.heartbeats.lock();
                    for agent in agents {
                        timers.ensure(agent, now, timeout);
                    }
                }
            }
            // The heartbeat timers are this node's: their verdicts go into the command, each
            // naming the session it expires, so a session that replaced it meanwhile survives.
            let mut expire = Vec::new();
            if !candidates.is_empty() {
                let sessions = self
                    .store
                    .read(vdn, |s| candidates.iter().map(|(a, _)| s.session(*a).ok().map(|x| x.login_ms)).collect())
                    .unwrap_or_else(|_| vec![None; candidates.len()]);
                let mut timers = self.heartbeats.lock();
                for (&(agent, generation), login_ms) in candidates.iter().zip(sessions) {
                    let verdict = timers.settle(agent, generation, login_ms.is_some(), last_seen(agent), now, timeout);
                    if let (Verdict::Expired, Some(login_ms)) = (verdict, login_ms) {
                        tracing::info!(agent = agent.0, "heartbeat expired: signing the agent out");
                        expire.push((agent, login_ms));
                    }
                }
            }
            let _ = self.run(vdn, cmd::Tick { expire });
        }
    }

    pub fn apply_report(&self, report: TelephonyReport) {
        let _ = match report {
            TelephonyReport::Answered { vdn, call, number } => self.run(vdn, cmd::RemoteAnswered { call, number }),
            TelephonyReport::Failed { vdn, call, number } => self.run(vdn, cmd::RemoteFailed { call, number }),
            TelephonyReport::HungUp { vdn, call, number } => self.run(vdn, cmd::RemoteHungUp { call, number }),
        };
    }

    pub fn shut_down(&self) {
        self.push.shut_down();
        self.store.shut_down();
    }
}

//! Node coordination in cluster mode (`[store] backend = "redis"`, issue 9): per-VDN leases, the
//! telephony duty of the lease holder, and heartbeat stamps shared across nodes. The memory
//! backend has no `Cluster`: the gateway then holds every VDN (`Gateway::holds`).
//!
//! **Lease.** `ccgw:{<vdn>}:lease` holds the holder's node name, with a TTL of `lease_ms`. Every
//! `renew_ms` one Lua script per VDN renews it when this node owns it (compare-and-`PEXPIRE`),
//! takes it when nobody does (`SET NX PX`), and returns the VDN's telephony stamp. A clean
//! shut-down deletes the leases it owns (compare-and-`DEL`), so another node takes over at its
//! next renewal instead of after `lease_ms`.
//!
//! **Invariant (no two holders):** a node counts itself holding a VDN until `sent + lease_ms -
//! renew_ms` on its monotonic clock, where `sent` is when it *sent* its last successful renewal.
//! Redis set the TTL after that instant, so the lease in Redis outlives the node's belief by at
//! least `renew_ms` (config validation: `2 * renew_ms <= lease_ms`, which also lets one renewal
//! fail without losing the lease). A node that cannot reach Redis stops holding by itself before
//! another node can take the lease. Clock *rates* of the nodes are assumed to agree within
//! `renew_ms / lease_ms` (33 % with the defaults); wall clocks need not agree at all.
//! `holds(vdn)` is one atomic load (the hot path never waits for Redis).
//!
//! **Telephony.** Every replica computes each entry's telephony commands (`execute_applied`);
//! only the holder executes them. The holder records the last entry it executed and publishes it
//! with each renewal as `ccgw:{<vdn>}:tel` (only ever raised, only by the owner); a non-holder
//! buffers the commands of entries above that stamp (at most [`MAX_BUFFERED`] entries), and when
//! it becomes the holder it executes the buffered entries above the stamp once, in log order,
//! before anything newer. Worst case: commands of the entries the old holder executed in its
//! last `renew_ms` before it died (executed, not yet stamped) are issued twice (a second `Dial`
//! of the same call id, a second `Hangup`); commands of entries applied before this node started,
//! or beyond its buffer, are lost (logged). A report from the telephony is a command that any node
//! proposes, and the engine ignores reports about parties it already dropped.
//!
//! **Heartbeats.** `touch` stays node-local (`Store::touch`); [`Cluster::touched`] also raises a
//! per-agent atomic stamp. Every `seen_publish_ms` the node writes the stamps that moved since
//! its last publication (`HSET ccgw:{<vdn>}:seen agent ms …`, one pipeline, 512 fields per
//! command), and for each VDN it holds reads the hash back (`HGETALL`), so the holder's expiry
//! decision (`Gateway::tick`) uses max(local, published) stamps. Cost per node and publication
//! period: one `HSET` per 512 agents heard (1 per VDN below that) plus one `HGETALL` per held VDN
//! (O(agents of the VDN) bytes): at N agents, about N/512 + VDNs commands per second with the
//! default 1 s period (20 000 agents on 2 VDNs: ≈ 42 commands/s; the holder reads ≈ 20 000
//! fields/s).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ccgw_domain::{AgentId, Directory, TelephonyCommand, VdnId};
use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::task::JoinHandle;

use crate::config::ClusterConfig;

/// Entries a non-holder keeps per VDN for a take-over; older ones are dropped (and logged).
pub const MAX_BUFFERED: usize = 10_000;
/// Stamps per `HSET`.
const SEEN_CHUNK: usize = 512;

/// Renew-or-take, publish the telephony stamp, return `{held, stamp}` (held: 0 no, 1 renewed,
/// 2 taken).
const LEASE_SCRIPT: &str = r"
local owner = redis.call('GET', KEYS[1])
local held = 0
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  held = 1
elseif not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  held = 2
end
if held > 0 and ARGV[3] ~= '' then
  local cur = tonumber(redis.call('GET', KEYS[2]) or '-1')
  if tonumber(ARGV[3]) > cur then redis.call('SET', KEYS[2], ARGV[3]) end
end
return {held, redis.call('GET', KEYS[2]) or ''}
";

/// Compare-and-delete: release the lease only if this node still owns it.
const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

pub fn lease_key(vdn: VdnId) -> String {
    format!("ccgw:{{{}}}:lease", vdn.0)
}

pub fn tel_key(vdn: VdnId) -> String {
    format!("ccgw:{{{}}}:tel", vdn.0)
}

pub fn seen_key(vdn: VdnId) -> String {
    format!("ccgw:{{{}}}:seen", vdn.0)
}

/// A Redis connection that never waits for a connection before answering: commands time out
/// (`timeout`) instead of hanging while Redis is away, and it reconnects by itself.
pub fn connect(url: &str, timeout: Duration) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500));
    Ok(ConnectionManager::new_lazy_with_config(client, config)?)
}

struct Telephony {
    /// The highest entry this node executed (0: none).
    executed: u64,
    /// The highest stamp read from Redis (entries executed by some holder).
    stamp: u64,
    buffer: VecDeque<(u64, Vec<TelephonyCommand>)>,
}

impl Telephony {
    fn floor(&self) -> u64 {
        self.executed.max(self.stamp)
    }

    fn trim(&mut self) {
        let floor = self.floor();
        while self.buffer.front().is_some_and(|(seq, _)| *seq <= floor) {
            self.buffer.pop_front();
        }
    }
}

struct Slot {
    /// Holding until this instant (ms on the cluster's monotonic clock; 0: not holding).
    valid_until: AtomicU64,
    tel: Mutex<Telephony>,
}

struct Stamp {
    vdn: VdnId,
    /// Last heard on this node (wall-clock ms).
    touched: AtomicU64,
    /// The value of `touched` this node last published.
    published: AtomicU64,
    /// The stamp in Redis as last read by the holder (any node's).
    remote: AtomicU64,
}

/// A node's coordination state: its leases, telephony stamps and heartbeat stamps.
pub struct Cluster {
    node: String,
    config: ClusterConfig,
    conn: ConnectionManager,
    epoch: Instant,
    slots: HashMap<VdnId, Slot>,
    stamps: HashMap<AgentId, Stamp>,
    lease: redis::Script,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Cluster {
    /// The coordinator of node `node` for the VDNs and agents of `directory`. Nothing runs until
    /// [`Self::start`]; no connection is made before the first command.
    pub fn new(node: &str, url: &str, config: ClusterConfig, directory: &Directory) -> anyhow::Result<Arc<Self>> {
        let conn = connect(url, Duration::from_millis(config.renew_ms))?;
        let tel = || Mutex::new(Telephony { executed: 0, stamp: 0, buffer: VecDeque::new() });
        let slots = directory.vdns.keys().map(|v| (*v, Slot { valid_until: AtomicU64::new(0), tel: tel() })).collect();
        let stamps = directory
            .agents
            .values()
            .map(|p| {
                let z = || AtomicU64::new(0);
                (p.id, Stamp { vdn: p.vdn, touched: z(), published: z(), remote: z() })
            })
            .collect();
        Ok(Arc::new(Cluster {
            node: node.to_owned(),
            config,
            conn,
            epoch: Instant::now(),
            slots,
            stamps,
            lease: redis::Script::new(LEASE_SCRIPT),
            tasks: Mutex::new(Vec::new()),
        }))
    }

    /// Start renewing leases and publishing heartbeat stamps (two tasks).
    pub fn start(self: &Arc<Self>) {
        let c = self.clone();
        let leases = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(c.config.renew_ms));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                c.renew_all().await;
            }
        });
        let c = self.clone();
        let seen = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(c.config.seen_publish_ms));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                c.publish_seen().await;
            }
        });
        self.tasks.lock().extend([leases, seen]);
    }

    /// Stop the tasks without releasing anything (as if the node died): the leases lapse.
    pub fn stop(&self) {
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
    }

    /// Clean shut-down: stop, then release the leases this node owns, so that another node takes
    /// them at its next renewal. Bounded by `renew_ms` per VDN.
    pub async fn release(&self) {
        self.stop();
        let script = redis::Script::new(RELEASE_SCRIPT);
        for (vdn, slot) in &self.slots {
            if slot.valid_until.swap(0, Ordering::AcqRel) == 0 {
                continue;
            }
            let mut conn = self.conn.clone();
            let mut call = script.key(lease_key(*vdn));
            call.arg(&self.node);
            let _ = tokio::time::timeout(self.budget(), call.invoke_async::<i64>(&mut conn)).await;
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    fn mono_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    fn budget(&self) -> Duration {
        Duration::from_millis(self.config.renew_ms)
    }

    /// Whether this node holds the VDN's lease now (one atomic load).
    pub fn holds(&self, vdn: VdnId) -> bool {
        self.slots.get(&vdn).is_some_and(|s| self.mono_ms() < s.valid_until.load(Ordering::Acquire))
    }

    /// One renewal round over every VDN.
    pub async fn renew_all(&self) {
        for (vdn, slot) in &self.slots {
            let executed = slot.tel.lock().executed;
            let executed = if executed == 0 { String::new() } else { executed.to_string() };
            let sent = self.mono_ms();
            let mut conn = self.conn.clone();
            let mut call = self.lease.key(lease_key(*vdn));
            call.key(tel_key(*vdn)).arg(&self.node).arg(self.config.lease_ms).arg(executed);
            let answer = tokio::time::timeout(self.budget(), call.invoke_async::<(i64, String)>(&mut conn)).await;
            match answer {
                Ok(Ok((held, stamp))) => {
                    let mut tel = slot.tel.lock();
                    tel.stamp = tel.stamp.max(stamp.parse().unwrap_or(0));
                    let until = if held > 0 { sent + self.config.lease_ms - self.config.renew_ms } else { 0 };
                    // Under the telephony lock: an entry is either executed or buffered.
                    slot.valid_until.store(until, Ordering::Release);
                    tel.trim();
                    if held == 2 {
                        tracing::info!(vdn = vdn.0, node = %self.node, "took the VDN's lease");
                    }
                }
                Ok(Err(e)) => tracing::warn!(vdn = vdn.0, error = %e, "lease renewal failed"),
                Err(_) => tracing::warn!(vdn = vdn.0, "lease renewal timed out"),
            }
        }
    }

    /// The commands of an applied entry (`seq`, in log order): executed by `exec` when this node
    /// holds the VDN, buffered for a take-over otherwise. Entries at or below what was already
    /// executed (here or, per the stamp, by another holder) are skipped.
    pub fn execute_applied(
        &self,
        vdn: VdnId,
        seq: u64,
        cmds: &[TelephonyCommand],
        mut exec: impl FnMut(TelephonyCommand),
    ) {
        let Some(slot) = self.slots.get(&vdn) else { return };
        let mut tel = slot.tel.lock();
        if seq <= tel.floor() {
            return;
        }
        if self.mono_ms() < slot.valid_until.load(Ordering::Acquire) {
            Self::drain(&mut tel, &mut exec);
            cmds.iter().cloned().for_each(&mut exec);
            tel.executed = seq;
        } else {
            tel.buffer.push_back((seq, cmds.to_vec()));
            if tel.buffer.len() > MAX_BUFFERED
                && let Some((lost, _)) = tel.buffer.pop_front()
            {
                tracing::warn!(
                    vdn = vdn.0,
                    seq = lost,
                    "telephony buffer full: a take-over would not re-issue this entry"
                );
            }
        }
    }

    /// After a take-over: execute the buffered entries above the stamp (once). Called by the
    /// housekeeping tick; a no-op when not holding or nothing is buffered.
    pub fn reissue(&self, vdn: VdnId, mut exec: impl FnMut(TelephonyCommand)) {
        let Some(slot) = self.slots.get(&vdn) else { return };
        let mut tel = slot.tel.lock();
        if !tel.buffer.is_empty() && self.mono_ms() < slot.valid_until.load(Ordering::Acquire) {
            Self::drain(&mut tel, &mut exec);
        }
    }

    fn drain(tel: &mut Telephony, exec: &mut impl FnMut(TelephonyCommand)) {
        while let Some((seq, cmds)) = tel.buffer.pop_front() {
            if seq > tel.floor() {
                cmds.into_iter().for_each(&mut *exec);
                tel.executed = seq;
            }
        }
    }

    /// The highest entry this node executed the telephony commands of (0: none).
    pub fn executed(&self, vdn: VdnId) -> u64 {
        self.slots.get(&vdn).map_or(0, |s| s.tel.lock().executed)
    }

    /// A request of the agent was heard on this node (lock-free).
    pub fn touched(&self, agent: AgentId, now_ms: u64) {
        if let Some(s) = self.stamps.get(&agent) {
            s.touched.fetch_max(now_ms, Ordering::Relaxed);
        }
    }

    /// The agent's last heartbeat as published by any node (and read by this node while it holds
    /// the agent's VDN); 0 when none is known.
    pub fn published_seen(&self, agent: AgentId) -> u64 {
        self.stamps.get(&agent).map_or(0, |s| s.remote.load(Ordering::Relaxed))
    }

    /// One publication: write the stamps that moved, then read back the stamps of the VDNs held.
    pub async fn publish_seen(&self) {
        let mut moved: HashMap<VdnId, Vec<(AgentId, u64)>> = HashMap::new();
        for (agent, s) in &self.stamps {
            let t = s.touched.load(Ordering::Relaxed);
            if t > s.published.load(Ordering::Relaxed) {
                moved.entry(s.vdn).or_default().push((*agent, t));
            }
        }
        if !moved.is_empty() {
            let mut pipe = redis::pipe();
            for (vdn, stamps) in &moved {
                for chunk in stamps.chunks(SEEN_CHUNK) {
                    let cmd = pipe.cmd("HSET").arg(seen_key(*vdn));
                    for (agent, ms) in chunk {
                        cmd.arg(agent.0).arg(*ms);
                    }
                    cmd.ignore();
                }
            }
            let mut conn = self.conn.clone();
            match tokio::time::timeout(self.budget(), pipe.query_async::<()>(&mut conn)).await {
                Ok(Ok(())) => {
                    for (agent, ms) in moved.values().flatten() {
                        if let Some(s) = self.stamps.get(agent) {
                            s.published.fetch_max(*ms, Ordering::Relaxed);
                        }
                    }
                }
                // Kept for the next publication (nothing is marked published).
                Ok(Err(e)) => tracing::warn!(error = %e, "publishing heartbeats failed"),
                Err(_) => tracing::warn!("publishing heartbeats timed out"),
            }
        }
        for vdn in self.slots.keys() {
            if !self.holds(*vdn) {
                continue;
            }
            let mut conn = self.conn.clone();
            let mut read = redis::cmd("HGETALL");
            read.arg(seen_key(*vdn));
            let read = read.query_async::<HashMap<u32, u64>>(&mut conn);
            if let Ok(Ok(stamps)) = tokio::time::timeout(self.budget(), read).await {
                for (agent, ms) in stamps {
                    if let Some(s) = self.stamps.get(&AgentId(agent)) {
                        s.remote.fetch_max(ms, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

//! The Redis store: the shared [`Node`] (replicas, mailboxes, feeds) ordered by a Redis stream
//! per VDN, `ccgw:{<vdn>}:log`. A write is proposed with `XADD <log> 0-* p <node>:<n> e <entry>`
//! (the id's sequence part is the entry's sequence number: `0-1`, `0-2`, …); one applier task
//! per node follows every VDN's stream with `XREAD BLOCK` on a connection of its own, applies
//! each entry to this node's replica in stream order (the memory store's `Node::apply`) and
//! completes the local proposal whose id it meets. Reads answer from the local replica.
//!
//! Restart survival: `ccgw:{<vdn>}:snap` (a hash: `seq`, `state`) holds a snapshot; the first
//! node ever to start writes the genesis state (sequence 0) there, so every replica starts from
//! the same state; a node starting loads it and replays the stream after it. Every
//! `snapshot_every` entries each node offers its snapshot to a script that only replaces an
//! older one and trims the stream to `snapshot_every` entries before it (`XTRIM MINID`: a node
//! lagging by less goes on from the stream); a node whose position was trimmed
//! away reloads the snapshot.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ccgw_domain::{AgentId, Directory, DomainError, Op, Policy, TelephonyCommand, VdnId, VdnState};
use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::{StreamId, StreamReadReply};
use redis::{AsyncConnectionConfig, Client, Script};
use tokio::sync::oneshot;

use crate::log::{Entry, Record, Replica, Snapshot};
use crate::mailbox::{MailDone, MailOp};
use crate::node::{Done, Node, Vdn};
use crate::{Committed, Delivery, FeedPage, Requeued, Store};

/// Where the applier hands the telephony commands of every applied entry (of every node):
/// `(vdn, entry seq, commands)`. In Redis mode the proposer does not execute them itself
/// (`Committed::telephony` is empty): the VDN's lease holder does, from here.
pub type TelephonySink = Arc<dyn Fn(VdnId, u64, &[TelephonyCommand]) + Send + Sync>;

/// How long one `XREAD BLOCK` waits before the applier asks again.
const BLOCK_MS: u64 = 1000;
/// Entries per stream per read.
const BATCH: usize = 512;

/// Replace the snapshot only with a newer one, then trim the stream to `ARGV[3]` entries before
/// it: a node that lags by less than that goes on from the stream, not from a reload.
const SNAPSHOT_SCRIPT: &str = r"
local cur = redis.call('HGET', KEYS[1], 'seq')
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'state', ARGV[2])
local keep_from = tonumber(ARGV[1]) - tonumber(ARGV[3])
if keep_from > 0 then redis.call('XTRIM', KEYS[2], 'MINID', '0-' .. keep_from) end
return 1
";

/// The Redis backend's settings (`[store]` and `[server] node_name`).
#[derive(Clone, Debug)]
pub struct RedisConfig {
    pub url: String,
    /// This node's identity in proposal ids.
    pub node_name: String,
    /// How long a write may take to be ordered and applied here (`[store] timeout_ms`).
    pub timeout: Duration,
    /// Entries between snapshots (`[store] snapshot_every`).
    pub snapshot_every: u64,
    /// The ring size of each VDN's `allagentevent` feed (0: off).
    pub feed_capacity: usize,
}

pub fn log_key(vdn: VdnId) -> String {
    format!("ccgw:{{{}}}:log", vdn.0)
}

pub fn snap_key(vdn: VdnId) -> String {
    format!("ccgw:{{{}}}:snap", vdn.0)
}

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Inner {
    node: Node<()>,
    /// Proposals and snapshots (multiplexed; never a blocking command).
    conn: ConnectionManager,
    /// The applier opens its own connection for `XREAD BLOCK` from here.
    client: Client,
    me: String,
    next_proposal: AtomicU64,
    /// The first proposal number of this life of the node.
    first_proposal: u64,
    /// `[engine] max_events_per_agent` (a reloaded replica's mailbox limit).
    max_events: usize,
    pending: Mutex<HashMap<u64, oneshot::Sender<(u64, Done)>>>,
    timeout: Duration,
    snapshot_every: u64,
    sink: TelephonySink,
    snap_script: Script,
    /// Every VDN with its stream's key, in a fixed order (the `XREAD` arguments).
    logs: Vec<(VdnId, String)>,
    by_key: HashMap<String, VdnId>,
}

pub struct RedisStore {
    inner: Arc<Inner>,
    applier: tokio::task::JoinHandle<()>,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.applier.abort();
    }
}

/// Removes a proposal's waiting slot however its `submit` ends (answered, timed out, dropped).
struct PendingSlot<'a>(&'a Inner, u64);

impl Drop for PendingSlot<'_> {
    fn drop(&mut self) {
        self.0.pending.lock().remove(&self.1);
    }
}

fn parse_seq(id: &str) -> Option<u64> {
    id.strip_prefix("0-")?.parse().ok()
}

impl RedisStore {
    /// Connect, load every VDN (its snapshot, or the genesis state the first node writes), replay
    /// the streams' tails, and follow them. Fails if Redis cannot be reached now.
    pub async fn connect(
        directory: &Directory,
        policy: Policy,
        max_events: usize,
        config: RedisConfig,
        sink: TelephonySink,
    ) -> Result<RedisStore, Error> {
        let client = Client::open(config.url.as_str())?;
        let manager = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.timeout))
            .set_connection_timeout(Some(config.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let mut conn = ConnectionManager::new_with_config(client.clone(), manager).await?;
        let snap_script = Script::new(SNAPSHOT_SCRIPT);
        let start_secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut replicas = HashMap::new();
        for vdn in directory.vdns.keys() {
            let mut state = VdnState::new(*vdn, directory, policy.clone());
            // The first node's start: every replica shares the genesis (and its floor).
            state.set_call_id_floor(start_secs + 1);
            let genesis = Snapshot::of(0, &state, &Default::default());
            let _: i64 = snap_script
                .key(snap_key(*vdn))
                .key(log_key(*vdn))
                .arg(0)
                .arg(genesis.state)
                .arg(0)
                .invoke_async(&mut conn)
                .await?;
            let snap = fetch_snapshot(&mut conn, *vdn).await?.ok_or("the genesis snapshot is missing")?;
            let replica = snap.load().map_err(|_| "a snapshot in Redis does not decode")?;
            replicas.insert(*vdn, replica.with_mailbox_limit(max_events));
        }
        let node = Node::new(directory, max_events, |v| Vdn {
            replica: replicas.remove(&v).unwrap_or_else(|| Replica::new(VdnState::new(v, directory, policy.clone()))),
            log: (),
        });
        let mut node = node;
        node.feed_capacity = config.feed_capacity;
        let mut logs: Vec<(VdnId, String)> = directory.vdns.keys().map(|v| (*v, log_key(*v))).collect();
        logs.sort();
        let by_key = logs.iter().map(|(v, k)| (k.clone(), *v)).collect();
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let inner = Arc::new(Inner {
            node,
            conn,
            client,
            me: config.node_name,
            // Unique across this node's lives, so an old entry never completes a new proposal.
            next_proposal: AtomicU64::new(seed),
            first_proposal: seed,
            max_events,
            pending: Mutex::new(HashMap::new()),
            timeout: config.timeout,
            snapshot_every: config.snapshot_every.max(1),
            sink,
            snap_script,
            logs,
            by_key,
        });
        // Replay the tails before serving: reads answer from the replica.
        let mut catch_up = inner.conn.clone();
        while inner.pull(&mut catch_up, None).await? > 0 {}
        let applier = tokio::spawn(follow(inner.clone()));
        Ok(RedisStore { inner, applier })
    }

    /// The sequence number of the last entry this node's replica of `vdn` applied.
    pub fn applied(&self, vdn: VdnId) -> Option<u64> {
        Some(self.inner.node.vdns.get(&vdn)?.read().replica.applied)
    }

    /// A snapshot of this node's replica of `vdn`.
    pub fn snapshot(&self, vdn: VdnId) -> Option<Snapshot> {
        self.inner.node.vdns.get(&vdn).map(|l| l.read().replica.snapshot())
    }

    pub fn dropped_events(&self) -> u64 {
        self.inner.node.dropped_events()
    }

    pub fn displaced_polls(&self) -> u64 {
        self.inner.node.displaced_polls()
    }
}

async fn fetch_snapshot(conn: &mut impl redis::aio::ConnectionLike, vdn: VdnId) -> Result<Option<Snapshot>, Error> {
    let (seq, state): (Option<u64>, Option<Vec<u8>>) =
        redis::cmd("HMGET").arg(snap_key(vdn)).arg("seq").arg("state").query_async(conn).await?;
    Ok(seq.zip(state).map(|(seq, state)| Snapshot { seq, state }))
}

/// The applier: follows every VDN's stream on a connection of its own (`XREAD BLOCK` would
/// stall the multiplexed connection's other commands), reconnecting by itself.
async fn follow(inner: Arc<Inner>) {
    let mut conn: Option<MultiplexedConnection> = None;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(inner.timeout))
        .set_response_timeout(Some(Duration::from_millis(BLOCK_MS) + inner.timeout));
    loop {
        if inner.node.is_closing() {
            return;
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match inner.client.get_multiplexed_async_connection_with_config(&config).await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    tracing::warn!(error = %e, "redis store: the applier cannot connect");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
        };
        if let Err(e) = inner.pull(c, Some(BLOCK_MS)).await {
            tracing::warn!(error = %e, "redis store: reading the log failed");
            conn = None;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A poll's take, ordered by a task of its own: if the poll is gone (its client left) by the
/// time the take is applied, the event it took goes back to the head of the mailbox.
fn take_detached(inner: Arc<Inner>, op: MailOp) -> impl Future<Output = Option<MailDone>> + Send {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let done = inner.mail(op.clone()).await;
        if let Err(Some(MailDone::Taken(event))) = tx.send(done)
            && let MailOp::Take { agent, epoch, seq } = op
        {
            inner.mail(MailOp::Requeue { agent, epoch, seq, event }).await;
        }
    });
    async move { rx.await.ok().flatten() }
}

impl Inner {
    /// Propose an entry to the VDN's stream and wait until this node's replica has applied it.
    /// `StoreUnavailable` if that takes longer than the store's time-out (outcome unknown).
    async fn propose(&self, vdn: VdnId, bytes: Vec<u8>) -> Result<(u64, Done), DomainError> {
        if !self.node.vdns.contains_key(&vdn) {
            return Err(DomainError::UnknownAgent);
        }
        let n = self.next_proposal.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(n, tx);
        let _slot = PendingSlot(self, n);
        let mut conn = self.conn.clone();
        let proposal = format!("{}:{n}", self.me);
        let ordered = tokio::time::timeout(self.timeout, async {
            let _: String = redis::cmd("XADD")
                .arg(log_key(vdn))
                .arg("0-*")
                .arg("p")
                .arg(proposal)
                .arg("e")
                .arg(bytes)
                .query_async(&mut conn)
                .await
                .map_err(|_| DomainError::StoreUnavailable)?;
            rx.await.map_err(|_| DomainError::StoreUnavailable)
        })
        .await;
        ordered.map_err(|_| DomainError::StoreUnavailable)?
    }

    /// A mailbox entry (`None`: no such agent, or not applied in time).
    async fn mail(&self, op: MailOp) -> Option<MailDone> {
        let vdn = self.node.vdn_of(op.agent())?;
        self.propose(vdn, op.encode()).await.ok().and_then(|(_, done)| done.mail)
    }

    /// Read what follows each replica's position (waiting up to `block` ms for something) and
    /// apply it. Returns how many entries came.
    async fn pull(
        self: &Arc<Self>,
        conn: &mut impl redis::aio::ConnectionLike,
        block: Option<u64>,
    ) -> Result<usize, Error> {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(BATCH);
        if let Some(ms) = block {
            cmd.arg("BLOCK").arg(ms);
        }
        cmd.arg("STREAMS");
        for (_, key) in &self.logs {
            cmd.arg(key);
        }
        for (vdn, _) in &self.logs {
            let applied = self.node.vdns.get(vdn).map_or(0, |l| l.read().replica.applied);
            cmd.arg(format!("0-{applied}"));
        }
        let reply: Option<StreamReadReply> = cmd.query_async(conn).await?;
        let mut n = 0;
        for stream in reply.map(|r| r.keys).unwrap_or_default() {
            let Some(vdn) = self.by_key.get(&stream.key).copied() else { continue };
            n += stream.ids.len();
            if let Some(first) = self.apply_batch(vdn, stream.ids) {
                self.reload(conn, vdn, first).await?;
            }
        }
        Ok(n)
    }

    /// Apply a batch of one VDN's entries in order. `Some(seq)`: the batch starts after a gap
    /// (this node's position was trimmed away), at `seq`.
    fn apply_batch(self: &Arc<Self>, vdn: VdnId, ids: Vec<StreamId>) -> Option<u64> {
        let lock = self.node.vdns.get(&vdn)?;
        let mut answers = Vec::new();
        let mut telephony = Vec::new();
        let mut snapshot = None;
        let mut gap = None;
        {
            let mut guard = lock.write();
            for entry in ids {
                let Some(seq) = parse_seq(&entry.id) else { continue };
                if seq <= guard.replica.applied {
                    continue;
                }
                if seq != guard.replica.applied + 1 {
                    gap = Some(seq);
                    break;
                }
                let field =
                    |name: &str| entry.map.get(name).and_then(|v| redis::from_redis_value_ref::<Vec<u8>>(v).ok());
                let bytes = field("e").unwrap_or_default();
                let mut done = self.node.apply(vdn, &mut guard.replica, seq, &bytes);
                if !done.telephony.is_empty() {
                    telephony.push((seq, std::mem::take(&mut done.telephony)));
                }
                let mine = field("p").and_then(|p| {
                    let p = String::from_utf8(p).ok()?;
                    let (node, n) = p.rsplit_once(':')?;
                    // Only this life's proposals (a restarted node replays its old ones).
                    (node == self.me).then(|| n.parse::<u64>().ok()).flatten().filter(|n| *n >= self.first_proposal)
                });
                if let Some(n) = mine {
                    answers.push((n, seq, done, bytes));
                }
                if seq % self.snapshot_every == 0 {
                    snapshot = Some(guard.replica.snapshot());
                }
            }
        }
        for (seq, cmds) in telephony {
            (self.sink)(vdn, seq, &cmds);
        }
        for (n, seq, done, bytes) in answers {
            let waiting = self.pending.lock().remove(&n);
            match waiting {
                Some(tx) => {
                    let _ = tx.send((seq, done));
                }
                // This node's take whose proposer stopped waiting (it timed out): nobody will
                // deliver the event it took, so it goes back.
                None => {
                    if let (Some(MailDone::Taken(event)), Ok(Record::Mail(MailOp::Take { agent, epoch, seq }))) =
                        (done.mail, Record::decode(&bytes))
                    {
                        let inner = self.clone();
                        tokio::spawn(async move { inner.mail(MailOp::Requeue { agent, epoch, seq, event }).await });
                    }
                }
            }
        }
        if let Some(snap) = snapshot {
            let inner = self.clone();
            tokio::spawn(async move {
                let mut conn = inner.conn.clone();
                let written: Result<i64, _> = inner
                    .snap_script
                    .key(snap_key(vdn))
                    .key(log_key(vdn))
                    .arg(snap.seq)
                    .arg(snap.state)
                    .arg(inner.snapshot_every)
                    .invoke_async(&mut conn)
                    .await;
                if let Err(e) = written {
                    tracing::warn!(error = %e, vdn = vdn.0, "redis store: writing a snapshot failed");
                }
            });
        }
        gap
    }

    /// This node's position of `vdn` was trimmed away (the next entry in the stream is `first`):
    /// load the snapshot instead.
    async fn reload(&self, conn: &mut impl redis::aio::ConnectionLike, vdn: VdnId, first: u64) -> Result<(), Error> {
        let snap = fetch_snapshot(conn, vdn).await?;
        let Some(lock) = self.node.vdns.get(&vdn) else { return Ok(()) };
        let mut guard = lock.write();
        match snap.map(|s| (s.seq, s.load())) {
            Some((seq, Ok(replica))) if seq + 1 >= first && seq > guard.replica.applied => {
                // This node's proposals in the skipped range get no answer: they end with
                // StoreUnavailable at their time-out (outcome unknown, as the contract allows).
                tracing::warn!(vdn = vdn.0, from = guard.replica.applied, to = seq, "redis store: reloaded a snapshot");
                guard.replica = replica.with_mailbox_limit(self.max_events);
                self.node.mirror(&guard.replica);
            }
            _ => {
                // Entries are missing from Redis itself (no snapshot covers them): go on from
                // what there is rather than stop; this replica may now differ from the others.
                tracing::error!(
                    vdn = vdn.0,
                    from = guard.replica.applied,
                    to = first,
                    "redis store: entries lost in Redis"
                );
                guard.replica.applied = first - 1;
            }
        }
        Ok(())
    }
}

/// The store's operations: writes and mailbox entries are proposed to the VDN's stream and
/// answered once this node applied them; reads answer from this node's replica.
impl Store for RedisStore {
    fn submit<C: Op + Send + 'static>(
        &self,
        vdn: VdnId,
        now_ms: u64,
        command: C,
    ) -> impl Future<Output = Result<Committed<C::Output>, DomainError>> + Send
    where
        C::Output: Send,
    {
        let inner = self.inner.clone();
        async move {
            let bytes = Entry { now_ms, command: command.into() }.encode();
            let (seq, done) = inner.propose(vdn, bytes).await?;
            let value = C::output(done.outcome?).ok_or(DomainError::Internal)?;
            Ok(Committed { value, telephony: Vec::new(), seq })
        }
    }

    fn read<R>(&self, vdn: VdnId, f: impl FnOnce(&VdnState) -> R) -> Result<R, DomainError> {
        self.inner.node.read(vdn, f)
    }

    fn read_at<R>(&self, vdn: VdnId, f: impl FnOnce(&VdnState, u64) -> R) -> Result<R, DomainError> {
        self.inner.node.read_at(vdn, f)
    }

    fn vdn_of(&self, agent: AgentId) -> Option<VdnId> {
        self.inner.node.vdn_of(agent)
    }

    fn vdns(&self) -> Vec<VdnId> {
        self.inner.node.vdns()
    }

    fn touch(&self, agent: AgentId, now_ms: u64) {
        self.inner.node.touch(agent, now_ms)
    }

    fn last_seen(&self, agent: AgentId) -> Option<u64> {
        self.inner.node.last_seen(agent)
    }

    fn mailbox_epoch(&self, agent: AgentId) -> u64 {
        self.inner.node.mailbox_epoch(agent)
    }

    fn next_event(
        &self,
        agent: AgentId,
        epoch: Option<u64>,
        wait: Duration,
    ) -> impl Future<Output = Option<Delivery>> + Send {
        let inner = self.inner.clone();
        async move { inner.node.next_event(agent, epoch, wait, |_, op| take_detached(inner.clone(), op)).await }
    }

    fn requeue(&self, agent: AgentId, delivery: Delivery) -> impl Future<Output = Requeued> + Send {
        let inner = self.inner.clone();
        let Delivery { event, epoch, seq } = delivery;
        async move {
            match inner.mail(MailOp::Requeue { agent, epoch, seq, event }).await {
                Some(MailDone::Requeued(r)) => r,
                _ => Requeued::SessionGone,
            }
        }
    }

    fn shut_down(&self) {
        self.inner.node.shut_down()
    }

    fn clear_events(&self, agent: AgentId, through: u64) -> impl Future<Output = ()> + Send {
        let inner = self.inner.clone();
        async move {
            inner.mail(MailOp::Clear { agent, through }).await;
        }
    }

    fn trim_events(&self, agent: AgentId, epoch: u64, keep: usize) -> impl Future<Output = usize> + Send {
        let inner = self.inner.clone();
        async move {
            match inner.mail(MailOp::Trim { agent, epoch, keep }).await {
                Some(MailDone::Trimmed(n)) => n,
                _ => 0,
            }
        }
    }

    fn vdn_events(&self, vdn: VdnId, from: Option<u64>, max: usize) -> Option<FeedPage> {
        self.inner.node.vdn_events(vdn, from, max)
    }
}

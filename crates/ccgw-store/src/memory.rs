//! The in-memory store: the shared [`Node`] (replicas, mailboxes, feeds) with an in-process
//! command log per VDN, under the VDN's write lock (the log's order is the lock's). Reads of a
//! VDN share its read lock and touch neither the log nor the codec. Volatile: a restart starts
//! from the directory.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ccgw_domain::{AgentId, Directory, DomainError, Op, Policy, VdnId, VdnState};

use crate::log::{Entry, MemoryLog, Replica, Snapshot};
use crate::mailbox::{MailDone, MailOp};
use crate::node::{Done, Node, Vdn};
use crate::{Committed, Delivery, FeedPage, Requeued, Store};

/// How many entries of each VDN's log the memory store keeps (for replays from a snapshot).
pub const LOG_TAIL: usize = 1024;

pub struct MemoryStore {
    node: Node<MemoryLog>,
}

impl MemoryStore {
    pub fn new(directory: &Directory, policy: Policy, max_events: usize) -> Self {
        let start_secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let node = Node::new(directory, max_events, |v| {
            let mut state = VdnState::new(v, directory, policy.clone());
            // Ids of this process never meet those of an earlier one (see `CallIdCounter`).
            state.set_call_id_floor(start_secs + 1);
            Vdn { replica: Replica::new(state), log: MemoryLog::new(LOG_TAIL) }
        });
        MemoryStore { node }
    }

    /// The ring size of each VDN's `allagentevent` feed (0, the default: off).
    pub fn with_feed_capacity(mut self, capacity: usize) -> Self {
        self.node.feed_capacity = capacity;
        self
    }

    pub fn dropped_events(&self) -> u64 {
        self.node.dropped_events()
    }

    pub fn displaced_polls(&self) -> u64 {
        self.node.displaced_polls()
    }

    /// A snapshot of the VDN's replica and the log's entries after it (tests, and the joining
    /// node of a cluster).
    pub fn snapshot(&self, vdn: VdnId) -> Option<Snapshot> {
        self.node.vdns.get(&vdn).map(|l| l.read().replica.snapshot())
    }

    /// The VDN's log entries after `seq`, `None` once some were trimmed (beyond [`LOG_TAIL`]).
    pub fn log_since(&self, vdn: VdnId, seq: u64) -> Option<Vec<(u64, Vec<u8>)>> {
        self.node.vdns.get(&vdn)?.read().log.since(seq)
    }

    /// Order an encoded entry in the VDN's log and apply it (under the VDN's write lock, so
    /// mailboxes see events in log order): the replica decodes what the log holds, as every
    /// replica of a cluster does. `None`: no such VDN.
    fn order_and_apply(&self, vdn: VdnId, bytes: Vec<u8>) -> Option<(u64, Done)> {
        let lock = self.node.vdns.get(&vdn)?;
        let mut guard = lock.write();
        let Vdn { replica, log } = &mut *guard;
        let seq = log.append(bytes);
        Some((seq, self.node.apply(vdn, replica, seq, log.get(seq).unwrap_or_default())))
    }

    fn submit_now<C: Op>(&self, vdn: VdnId, now_ms: u64, command: C) -> Result<Committed<C::Output>, DomainError> {
        // Propose: the entry is data, encoded before the lock is taken.
        let bytes = Entry { now_ms, command: command.into() }.encode();
        let (seq, done) = self.order_and_apply(vdn, bytes).ok_or(DomainError::UnknownAgent)?;
        // Answer the proposer (here: at once; in a cluster, when its own replica has applied it).
        let value = C::output(done.outcome?).ok_or(DomainError::Internal)?;
        Ok(Committed { value, telephony: done.telephony, seq })
    }

    /// A mailbox entry through the same log (`None`: no such agent).
    fn mail_now(&self, op: MailOp) -> Option<MailDone> {
        let vdn = self.node.vdn_of(op.agent())?;
        self.order_and_apply(vdn, op.encode())?.1.mail
    }
}

impl Store for MemoryStore {
    fn submit<C: Op + Send + 'static>(
        &self,
        vdn: VdnId,
        now_ms: u64,
        command: C,
    ) -> impl Future<Output = Result<Committed<C::Output>, DomainError>> + Send
    where
        C::Output: Send,
    {
        std::future::ready(self.submit_now(vdn, now_ms, command))
    }

    fn read<R>(&self, vdn: VdnId, f: impl FnOnce(&VdnState) -> R) -> Result<R, DomainError> {
        self.node.read(vdn, f)
    }

    fn read_at<R>(&self, vdn: VdnId, f: impl FnOnce(&VdnState, u64) -> R) -> Result<R, DomainError> {
        self.node.read_at(vdn, f)
    }

    fn vdn_of(&self, agent: AgentId) -> Option<VdnId> {
        self.node.vdn_of(agent)
    }

    fn vdns(&self) -> Vec<VdnId> {
        self.node.vdns()
    }

    fn touch(&self, agent: AgentId, now_ms: u64) {
        self.node.touch(agent, now_ms)
    }

    fn last_seen(&self, agent: AgentId) -> Option<u64> {
        self.node.last_seen(agent)
    }

    fn mailbox_epoch(&self, agent: AgentId) -> u64 {
        self.node.mailbox_epoch(agent)
    }

    fn next_event(
        &self,
        agent: AgentId,
        epoch: Option<u64>,
        wait: Duration,
    ) -> impl Future<Output = Option<Delivery>> + Send {
        self.node.next_event(agent, epoch, wait, |_, op| std::future::ready(self.mail_now(op)))
    }

    fn requeue(&self, agent: AgentId, delivery: Delivery) -> impl Future<Output = Requeued> + Send {
        let Delivery { event, epoch, seq } = delivery;
        let done = self.mail_now(MailOp::Requeue { agent, epoch, seq, event });
        std::future::ready(match done {
            Some(MailDone::Requeued(r)) => r,
            _ => Requeued::SessionGone,
        })
    }

    fn shut_down(&self) {
        self.node.shut_down()
    }

    fn clear_events(&self, agent: AgentId, through: u64) -> impl Future<Output = ()> + Send {
        self.mail_now(MailOp::Clear { agent, through });
        std::future::ready(())
    }

    fn trim_events(&self, agent: AgentId, epoch: u64, keep: usize) -> impl Future<Output = usize> + Send {
        let done = self.mail_now(MailOp::Trim { agent, epoch, keep });
        std::future::ready(match done {
            Some(MailDone::Trimmed(n)) => n,
            _ => 0,
        })
    }

    fn vdn_events(&self, vdn: VdnId, from: Option<u64>, max: usize) -> Option<FeedPage> {
        self.node.vdn_events(vdn, from, max)
    }
}

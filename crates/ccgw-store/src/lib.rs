//! Where ccgw's state lives.
//!
//! [`Store`] is the contract: every operation is atomic on its own. The unit of atomicity is one
//! VDN's [`VdnState`] (agents of a VDN only ever share calls with each other), plus per-agent
//! mailboxes for events and a per-agent heartbeat stamp. Writes are commands ([`ccgw_domain::cmd`])
//! that go through the VDN's command log ([`log`]): proposed, ordered, applied by the replica,
//! answered. [`MemoryStore`] is the embedded default (volatile: an in-process log); a Redis
//! backend will order the same entries with a stream per VDN and apply them on every node.

pub mod log;
pub mod mailbox;
mod memory;
mod node;
mod redis;

use std::future::Future;
use std::time::Duration;

use ccgw_domain::{AgentId, DomainError, Event, Op, TelephonyCommand, VdnId, VdnState};

pub use memory::MemoryStore;
pub use redis::{RedisConfig, RedisStore, TelephonySink};

/// Poll a future once (no waker): its output if it is ready at once, as every [`MemoryStore`]
/// write is; `None` if it would wait.
pub fn poll_now<F: Future>(future: F) -> Option<F::Output> {
    let future = std::pin::pin!(future);
    match future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// Wait for a store future from synchronous code (a handler): its output at once if it is
/// ready at the first poll, as every [`MemoryStore`] future is; otherwise this worker thread
/// waits for it while the runtime hands the worker's other tasks to another thread
/// (`block_in_place`; the Redis backend bounds the wait by its time-out). `None` on a runtime
/// that cannot do that (current-thread) when the future is not ready at once.
pub fn settle<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
        return Some(output);
    }
    let handle = tokio::runtime::Handle::try_current().ok()?;
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return None;
    }
    Some(tokio::task::block_in_place(|| handle.block_on(future)))
}

/// The result of a committed command: its output, what it asks of the telephony, and where it
/// stands in the VDN's command log.
#[derive(Debug)]
pub struct Committed<R> {
    pub value: R,
    pub telephony: Vec<TelephonyCommand>,
    pub seq: u64,
}

pub trait Store: Send + Sync + 'static {
    /// Propose a command to the VDN's log and wait until the replica has applied it. On `Ok`
    /// the state is committed and the events the command emitted are in the agents' mailboxes,
    /// in order, before any later command of the VDN applies. On `Err` the command has changed
    /// nothing (the domain guarantees it) and its outputs are dropped; it still took its place
    /// in the log (every replica fails it alike).
    ///
    /// The answer is a future: a backend that orders commands elsewhere (Redis) waits for its
    /// replica without blocking a worker; [`MemoryStore`]'s is ready at the first poll.
    /// `Err(DomainError::StoreUnavailable)`: not ordered/applied in time, outcome unknown.
    fn submit<C: Op + Send + 'static>(
        &self,
        vdn: VdnId,
        now_ms: u64,
        command: C,
    ) -> impl Future<Output = Result<Committed<C::Output>, DomainError>> + Send
    where
        C::Output: Send;

    /// Read a VDN's state. Concurrent readers do not block each other.
    fn read<R>(&self, vdn: VdnId, f: impl FnOnce(&VdnState) -> R) -> Result<R, DomainError>;

    /// [`Store::read`], with the position in the VDN's log of what was read (the last entry
    /// applied): what [`Store::clear_events`] takes to tie a clearing to a read.
    fn read_at<R>(&self, vdn: VdnId, f: impl FnOnce(&VdnState, u64) -> R) -> Result<R, DomainError>;

    /// The VDN an agent is provisioned in.
    fn vdn_of(&self, agent: AgentId) -> Option<VdnId>;

    /// Every VDN.
    fn vdns(&self) -> Vec<VdnId>;

    /// Record that the agent's client was heard from (the poll is the heartbeat).
    fn touch(&self, agent: AgentId, now_ms: u64);

    /// When the agent's client was last heard from.
    fn last_seen(&self, agent: AgentId) -> Option<u64>;

    /// Which session the agent's mailbox belongs to: it changes whenever a new session starts
    /// (and the mailbox is emptied). Read it under [`Store::read`] to tie it to what was read.
    fn mailbox_epoch(&self, agent: AgentId) -> u64;

    /// Take the agent's next event, waiting up to `wait` for one. `None` on time-out, on
    /// shut-down, once the mailbox belongs to a session other than `epoch` (a poll left over
    /// from a replaced session must not take the new session's events), or once a newer poll
    /// of the same mailbox has started: a mailbox has at most one waiting poll, so two polls
    /// (one of them abandoned by its client) never race for one event. `epoch: None` takes
    /// from whichever session is current.
    fn next_event(
        &self,
        agent: AgentId,
        epoch: Option<u64>,
        wait: Duration,
    ) -> impl Future<Output = Option<Delivery>> + Send;

    /// Put an event that could not be written to its client back at the head of the mailbox,
    /// unless its session has ended. It is older than every event still queued; if a newer
    /// one was already taken (two polls answered back to back, the first one's write failed)
    /// it now comes after that one: late rather than lost.
    fn requeue(&self, agent: AgentId, delivery: Delivery) -> impl Future<Output = Requeued> + Send;

    /// Wake every waiting poll and make new polls return at once.
    fn shut_down(&self);

    // --- onlineagent: syncagentinfo ---

    /// Empty the agent's mailbox of the events emitted up to log position `through` (from
    /// [`Store::read_at`]: what the caller read covers them) and bump its epoch, as a new
    /// session does but keeping the session: a poll waiting now returns empty, an event taken
    /// before is not requeued (`Requeued::SessionGone`), and events emitted after `through`
    /// are still delivered.
    fn clear_events(&self, agent: AgentId, through: u64) -> impl Future<Output = ()> + Send;

    // --- push mode and allagentevent ---

    /// Drop the oldest events of the agent's mailbox beyond `keep` (push mode's limit while the
    /// receiver is down), if it still belongs to session `epoch`. Returns how many were dropped.
    fn trim_events(&self, agent: AgentId, epoch: u64, keep: usize) -> impl Future<Output = usize> + Send;

    /// `allagentevent`: the VDN's events from position `from` on, at most `max` of them. The
    /// first call for a VDN turns its feed on (events are recorded from then on, in commit
    /// order, in a ring of the store's feed capacity). `from: None` starts at the ring's end.
    /// `None`: no such VDN, or the feed is off (capacity 0).
    fn vdn_events(&self, vdn: VdnId, from: Option<u64>, max: usize) -> Option<FeedPage>;
}

/// A page of a VDN's event feed ([`Store::vdn_events`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedPage {
    pub events: Vec<Event>,
    /// Where the next page starts.
    pub next: u64,
    /// Events the consumer missed: they left the ring before it asked for them.
    pub skipped: u64,
}

/// An event taken from a mailbox, with the mailbox's sequence number of the take (what
/// [`Store::requeue`] checks to keep the order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub event: Event,
    /// The session (mailbox epoch) the event belongs to.
    pub epoch: u64,
    /// How many events had been taken from this mailbox, this one included.
    pub seq: u64,
}

impl std::ops::Deref for Delivery {
    type Target = Event;

    fn deref(&self) -> &Event {
        &self.event
    }
}

/// What [`Store::requeue`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requeued {
    /// Back at the head; nothing was taken since, so the order is unchanged.
    InOrder,
    /// Back at the head, after a newer event that was taken meanwhile.
    Reordered,
    /// Dropped: the session it belonged to has ended.
    SessionGone,
}

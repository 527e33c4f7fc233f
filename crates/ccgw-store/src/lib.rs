//! Where ccgw's state lives.
//!
//! [`Store`] is the contract: every operation is atomic on its own. The unit of atomicity is one
//! VDN's [`VdnState`] (agents of a VDN only ever share calls with each other), plus per-agent
//! mailboxes for events and a per-agent heartbeat stamp. [`MemoryStore`] is the embedded default;
//! a Redis implementation would keep one key per VDN (CAS on a version, or a Lua script) and a
//! stream per agent, and could then serve several gateway nodes.

mod memory;

use std::future::Future;
use std::time::Duration;

use ccgw_domain::{AgentId, CallId, Ctx, DomainError, Event, TelephonyCommand, VdnId, VdnState};

pub use memory::MemoryStore;

/// The result of a committed update: the operation's value and what it asks of the telephony.
#[derive(Debug)]
pub struct Committed<R> {
    pub value: R,
    pub telephony: Vec<TelephonyCommand>,
}

pub trait Store: Send + Sync + 'static {
    /// Run `op` on the VDN's state atomically. On `Ok` the state is committed and the events the
    /// operation emitted are appended to the agents' mailboxes, in order, before any other
    /// operation on the VDN can run. On `Err` the operation has changed nothing (the domain
    /// guarantees it) and its outputs are dropped.
    fn update<R>(
        &self,
        vdn: VdnId,
        now_ms: u64,
        op: impl FnOnce(&mut VdnState, &mut Ctx) -> Result<R, DomainError>,
    ) -> Result<Committed<R>, DomainError>;

    /// Read a VDN's state. Concurrent readers do not block each other.
    fn read<R>(&self, vdn: VdnId, f: impl FnOnce(&VdnState) -> R) -> Result<R, DomainError>;

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
    fn requeue(&self, agent: AgentId, delivery: Delivery) -> Requeued;

    /// Wake every waiting poll and make new polls return at once.
    fn shut_down(&self);

    // --- onlineagent: syncagentinfo ---

    /// Empty the agent's mailbox and bump its epoch, as a new session does but keeping the
    /// session: a poll waiting now returns empty, an event taken before is not requeued
    /// (`Requeued::SessionGone`), and events from the next operation on are delivered as usual.
    /// Call it under [`Store::read`] of the agent's VDN to tie it to what was read.
    fn clear_events(&self, agent: AgentId);

    // --- push mode and allagentevent ---

    /// Drop the oldest events of the agent's mailbox beyond `keep` (push mode's limit while the
    /// receiver is down), if it still belongs to session `epoch`. Returns how many were dropped.
    fn trim_events(&self, agent: AgentId, epoch: u64, keep: usize) -> usize;

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

/// Call ids unique for the life of this node and never reused across restarts: the counter is
/// monotonic within the process, and the seconds part never goes back to or below the second
/// in which the process started (so a restart within the same second cannot collide).
#[derive(Debug)]
pub struct CallIdSource {
    seq: std::sync::atomic::AtomicU64,
    floor_secs: u64,
}

impl CallIdSource {
    pub fn new(start_secs: u64) -> Self {
        CallIdSource { seq: std::sync::atomic::AtomicU64::new(1), floor_secs: start_secs + 1 }
    }

    pub fn next(&self, now_secs: u64) -> CallId {
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        CallId { secs: now_secs.max(self.floor_secs), seq }
    }
}

//! The command log: what every backend shares. A write is *proposed* as an [`Entry`] (the
//! command plus the proposer's time) encoded with postcard, *ordered* by the log (a sequence
//! number per VDN), *applied* by each replica of the VDN ([`Replica::apply`], which decodes
//! exactly the bytes the log holds), and its outcome *hands back* to the proposer.
//!
//! The memory backend orders under the VDN's write lock and applies at once; a Redis backend
//! orders with `XADD` on the VDN's stream and applies what each node reads back from it (see
//! ARCHITECTURE.md, "The command log"). Snapshots ([`Snapshot`]) plus the tail after them
//! rebuild a replica: the state is serialized without its caches, which
//! [`VdnState::restore_caches`] rebuilds.

use std::collections::VecDeque;

use ccgw_domain::{AgentId, Command, Ctx, DomainError, Event, Outcome, VdnState};
use serde::{Deserialize, Serialize};

use crate::mailbox::{Delivered, MailDone, MailOp, Mailboxes};

/// One entry of a VDN's command log: a command and the time its proposer chose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub now_ms: u64,
    pub command: Command,
}

/// What the log holds: a command, or a mailbox entry (a poll's take, a requeue, a clearing).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub enum Record {
    Command(Entry),
    Mail(MailOp),
}

/// [`Record`] borrowed, for encoding without a copy (same variants, same order).
#[derive(Serialize)]
enum RecordRef<'a> {
    Command(&'a Entry),
    Mail(&'a MailOp),
}

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain data into a Vec cannot fail.
        postcard::to_allocvec(&RecordRef::Command(self)).unwrap_or_default()
    }

    /// A command entry (a mailbox entry is not one).
    pub fn decode(bytes: &[u8]) -> Result<Entry, DomainError> {
        match Record::decode(bytes)? {
            Record::Command(e) => Ok(e),
            Record::Mail(_) => Err(DomainError::Internal),
        }
    }
}

impl Record {
    pub fn decode(bytes: &[u8]) -> Result<Record, DomainError> {
        postcard::from_bytes(bytes).map_err(|_| DomainError::Internal)
    }
}

impl MailOp {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(&RecordRef::Mail(self)).unwrap_or_default()
    }
}

/// A replica's state at a position of its log: `seq` is the last entry applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub seq: u64,
    pub state: Vec<u8>,
}

#[derive(Serialize)]
struct SnapshotRef<'a> {
    state: &'a VdnState,
    mailboxes: &'a Mailboxes,
}

#[derive(Deserialize)]
struct SnapshotBody {
    state: VdnState,
    mailboxes: Mailboxes,
}

impl Snapshot {
    pub fn of(seq: u64, state: &VdnState, mailboxes: &Mailboxes) -> Snapshot {
        Snapshot { seq, state: postcard::to_allocvec(&SnapshotRef { state, mailboxes }).unwrap_or_default() }
    }

    /// The replica the snapshot describes, caches rebuilt (its mailboxes at the default limit:
    /// see [`Replica::with_mailbox_limit`]).
    pub fn load(&self) -> Result<Replica, DomainError> {
        let body: SnapshotBody = postcard::from_bytes(&self.state).map_err(|_| DomainError::Internal)?;
        let mut state = body.state;
        state.restore_caches();
        Ok(Replica { state, mailboxes: body.mailboxes, applied: self.seq })
    }
}

/// What applying one entry did. A command: the outcome the proposer waits for, its events
/// (already in the replica's mailboxes: `delivered`), new sessions and telephony commands in
/// `ctx`; on `Err` the state and the mailboxes are unchanged and the outputs are empty. A
/// mailbox entry: `mail` (and `outcome` is `Err(Internal)`: no command ran).
pub struct Applied {
    pub seq: u64,
    pub outcome: Result<Outcome, DomainError>,
    pub ctx: Ctx<'static>,
    pub mail: Option<MailDone>,
    pub delivered: Delivered,
    /// With `apply_with(.., feed: true)`: the events delivered, in order (`allagentevent`).
    pub feed: Vec<Event>,
}

/// One VDN's state as the log made it: the engine's state and the agents' mailboxes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    pub state: VdnState,
    pub mailboxes: Mailboxes,
    /// The sequence number of the last entry applied (0: none).
    pub applied: u64,
}

impl Replica {
    pub fn new(state: VdnState) -> Replica {
        Replica { state, mailboxes: Mailboxes::default(), applied: 0 }
    }

    /// Events a mailbox keeps before dropping its oldest (configuration: not in snapshots).
    pub fn with_mailbox_limit(mut self, limit: usize) -> Replica {
        self.mailboxes.set_limit(limit);
        self
    }

    /// Apply the log's entry `seq` (the next one: entries apply in order, each once). An entry
    /// that does not decode is applied by no replica: every replica fails it alike.
    pub fn apply(&mut self, seq: u64, bytes: &[u8]) -> Applied {
        self.apply_with(seq, bytes, false)
    }

    /// [`Replica::apply`], copying the delivered events out when `feed`.
    pub fn apply_with(&mut self, seq: u64, bytes: &[u8], feed: bool) -> Applied {
        debug_assert_eq!(seq, self.applied + 1, "entries apply in order");
        self.applied = seq;
        let mut applied = Applied {
            seq,
            outcome: Err(DomainError::Internal),
            ctx: Ctx::at(0),
            mail: None,
            delivered: Delivered::default(),
            feed: Vec::new(),
        };
        match Record::decode(bytes) {
            Ok(Record::Command(entry)) => {
                let mut ctx = Ctx::at(entry.now_ms);
                applied.outcome = self.state.apply(entry.command, &mut ctx);
                if applied.outcome.is_err() {
                    ctx = Ctx::at(entry.now_ms);
                }
                let copy = feed.then_some(&mut applied.feed);
                applied.delivered = self.mailboxes.deliver(seq, &mut ctx, copy);
                applied.ctx = ctx;
            }
            Ok(Record::Mail(op)) => {
                let agent = op.agent();
                let done = self.mailboxes.apply(op);
                if !matches!(done, MailDone::Stale | MailDone::Taken(_)) {
                    applied.delivered.woken.push(agent);
                }
                applied.mail = Some(done);
            }
            Err(e) => applied.outcome = Err(e),
        }
        applied
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot::of(self.applied, &self.state, &self.mailboxes)
    }

    /// The next take of the agent's mailbox (its head: `(epoch, seq)` of a [`MailOp::Take`]),
    /// if session `epoch` (or, `None`, any) is current: `Err(())` once the mailbox belongs to
    /// another session.
    #[allow(clippy::result_unit_err)]
    pub fn next_take(&self, agent: AgentId, epoch: Option<u64>) -> Result<Option<(u64, u64)>, ()> {
        let current = self.mailboxes.epoch(agent);
        if epoch.is_some_and(|e| e != current) {
            return Err(());
        }
        Ok(self.mailboxes.get(agent).filter(|m| !m.events.is_empty()).map(|m| (current, m.taken + 1)))
    }
}

/// The in-process log of one VDN (the memory backend's order): sequence numbers, and the last
/// `cap` entries (at least one: the replica applies the bytes the log holds; the tail is what a
/// replica built from an older snapshot replays).
#[derive(Debug)]
pub struct MemoryLog {
    last: u64,
    tail: VecDeque<(u64, Vec<u8>)>,
    cap: usize,
}

impl MemoryLog {
    pub fn new(cap: usize) -> MemoryLog {
        MemoryLog { last: 0, tail: VecDeque::with_capacity(cap.clamp(1, 1024)), cap: cap.max(1) }
    }

    /// Order an entry: its sequence number. The oldest entry beyond `cap` is trimmed.
    pub fn append(&mut self, bytes: Vec<u8>) -> u64 {
        self.last += 1;
        if self.tail.len() == self.cap {
            self.tail.pop_front();
        }
        self.tail.push_back((self.last, bytes));
        self.last
    }

    pub fn last(&self) -> u64 {
        self.last
    }

    /// The entries after `seq`, in order; `None` if some were trimmed already.
    pub fn since(&self, seq: u64) -> Option<Vec<(u64, Vec<u8>)>> {
        let first = self.tail.front().map_or(self.last + 1, |(s, _)| *s);
        if seq + 1 < first {
            return None;
        }
        Some(self.tail.iter().filter(|(s, _)| *s > seq).cloned().collect())
    }

    /// The entry at `seq`, while it is in the tail.
    pub fn get(&self, seq: u64) -> Option<&[u8]> {
        let first = self.tail.front()?.0;
        self.tail.get(seq.checked_sub(first)? as usize).map(|(_, b)| b.as_slice())
    }
}

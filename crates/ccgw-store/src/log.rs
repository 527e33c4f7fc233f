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

use ccgw_domain::{Command, Ctx, DomainError, Outcome, VdnState};
use serde::{Deserialize, Serialize};

/// One entry of a VDN's command log: a command and the time its proposer chose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub now_ms: u64,
    pub command: Command,
}

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain data into a Vec cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Entry, DomainError> {
        postcard::from_bytes(bytes).map_err(|_| DomainError::Internal)
    }
}

/// A replica's state at a position of its log: `seq` is the last entry applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub seq: u64,
    pub state: Vec<u8>,
}

impl Snapshot {
    pub fn of(seq: u64, state: &VdnState) -> Snapshot {
        Snapshot { seq, state: postcard::to_allocvec(state).unwrap_or_default() }
    }

    /// The replica the snapshot describes, caches rebuilt.
    pub fn load(&self) -> Result<Replica, DomainError> {
        let mut state: VdnState = postcard::from_bytes(&self.state).map_err(|_| DomainError::Internal)?;
        state.restore_caches();
        Ok(Replica { state, applied: self.seq })
    }
}

/// What applying one entry did: the outcome the proposer waits for, and the outputs (events,
/// new sessions, telephony commands) for the mailboxes and the telephony. On `Err` the state is
/// unchanged and the outputs are empty.
pub struct Applied {
    pub seq: u64,
    pub outcome: Result<Outcome, DomainError>,
    pub ctx: Ctx<'static>,
}

/// One VDN's state as the log made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    pub state: VdnState,
    /// The sequence number of the last entry applied (0: none).
    pub applied: u64,
}

impl Replica {
    pub fn new(state: VdnState) -> Replica {
        Replica { state, applied: 0 }
    }

    /// Apply the log's entry `seq` (the next one: entries apply in order, each once). An entry
    /// that does not decode is applied by no replica: every replica fails it alike.
    pub fn apply(&mut self, seq: u64, bytes: &[u8]) -> Applied {
        debug_assert_eq!(seq, self.applied + 1, "entries apply in order");
        self.applied = seq;
        let (outcome, ctx) = match Entry::decode(bytes) {
            Ok(entry) => {
                let mut ctx = Ctx::at(entry.now_ms);
                let outcome = self.state.apply(entry.command, &mut ctx);
                if outcome.is_err() {
                    ctx = Ctx::at(entry.now_ms);
                }
                (outcome, ctx)
            }
            Err(e) => (Err(e), Ctx::at(0)),
        };
        Applied { seq, outcome, ctx }
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot::of(self.applied, &self.state)
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

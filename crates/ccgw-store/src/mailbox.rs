//! The agents' mailboxes as part of a VDN's replica: the events waiting for each agent's next
//! poll, the session (epoch) they belong to, and how many were taken. Filled by the replica as it
//! applies commands, emptied by mailbox entries ([`MailOp`]) of the same log, so every node's
//! replica holds the same mailboxes, a snapshot carries them across a restart, and an event is
//! taken by exactly one poll on whichever node (a take names the event it takes: the first take
//! of it in log order wins, a second one finds it gone and is [`MailDone::Stale`]).

use std::collections::{BTreeMap, VecDeque};

use ccgw_domain::{AgentId, Ctx, Event};
use serde::{Deserialize, Serialize};

use crate::Requeued;

/// Events a mailbox holds before the oldest is dropped, until a store sets its own limit
/// (`[engine] max_events_per_agent`; every node of a cluster must set the same).
pub const DEFAULT_LIMIT: usize = 10_000;

/// One agent's mailbox.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailState {
    /// Waiting events, oldest first, each with the log position of the entry that emitted it.
    pub events: VecDeque<(u64, Event)>,
    /// The session the mailbox belongs to: bumped by every new session and every clearing.
    pub epoch: u64,
    /// Events taken in this mailbox's life (a take names the next number).
    pub taken: u64,
}

/// A mailbox entry of the log: what a poll, a failed write, `syncagentinfo` and push mode do
/// to a mailbox. Each is conditional on the session (`epoch`), so an entry of an ended session
/// changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailOp {
    /// Take event number `seq` (`taken + 1`: the head) of session `epoch`.
    Take { agent: AgentId, epoch: u64, seq: u64 },
    /// Put a taken event back at the head (its answer could not be written).
    Requeue { agent: AgentId, epoch: u64, seq: u64, event: Event },
    /// Drop the events emitted by entries up to `through` and start a new epoch
    /// (`syncagentinfo`: what it read covers them; later ones are still delivered).
    Clear { agent: AgentId, through: u64 },
    /// Keep only the newest `keep` events of session `epoch` (push mode's bound).
    Trim { agent: AgentId, epoch: u64, keep: usize },
}

impl MailOp {
    pub fn agent(&self) -> AgentId {
        match self {
            MailOp::Take { agent, .. }
            | MailOp::Requeue { agent, .. }
            | MailOp::Clear { agent, .. }
            | MailOp::Trim { agent, .. } => *agent,
        }
    }
}

/// What a mailbox entry did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailDone {
    Taken(Event),
    /// The event was taken already (by another poll, on any node), or the session changed.
    Stale,
    Requeued(Requeued),
    Cleared,
    Trimmed(usize),
}

/// Every mailbox of a VDN. `limit` is configuration, not state: not in snapshots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailboxes {
    boxes: BTreeMap<AgentId, MailState>,
    #[serde(skip, default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    DEFAULT_LIMIT
}

impl Default for Mailboxes {
    fn default() -> Self {
        Mailboxes { boxes: BTreeMap::new(), limit: DEFAULT_LIMIT }
    }
}

/// What delivering one command's events did.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Agents whose mailbox changed (their polls are woken).
    pub woken: Vec<AgentId>,
    /// Events delivered.
    pub count: usize,
    /// Events dropped because a mailbox was full.
    pub dropped: u64,
}

impl Mailboxes {
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.max(1);
    }

    pub fn get(&self, agent: AgentId) -> Option<&MailState> {
        self.boxes.get(&agent)
    }

    pub fn epoch(&self, agent: AgentId) -> u64 {
        self.boxes.get(&agent).map_or(0, |m| m.epoch)
    }

    /// Every mailbox's epoch (to mirror them after a load).
    pub fn epochs(&self) -> impl Iterator<Item = (AgentId, u64)> + '_ {
        self.boxes.iter().map(|(a, m)| (*a, m.epoch))
    }

    /// Deliver a command's events (entry `seq`): a new session empties its agent's mailbox and
    /// starts a new epoch; events before the session's start belong to the replaced one. With
    /// `feed`, the delivered events are also copied out, in order.
    pub fn deliver(&mut self, seq: u64, ctx: &mut Ctx, feed: Option<&mut Vec<Event>>) -> Delivered {
        let mut out = Delivered::default();
        for (agent, _) in &ctx.new_sessions {
            let m = self.boxes.entry(*agent).or_default();
            m.events.clear();
            m.epoch += 1;
            push_once(&mut out.woken, *agent);
        }
        let mut feed = feed;
        for (i, ev) in std::mem::take(&mut ctx.events).into_iter().enumerate() {
            if ctx.new_sessions.iter().any(|(a, from)| *a == ev.agent && i < *from) {
                continue; // belonged to the session that this operation replaced
            }
            if let Some(f) = feed.as_deref_mut() {
                f.push(ev.clone());
            }
            let agent = ev.agent;
            let m = self.boxes.entry(agent).or_default();
            while m.events.len() >= self.limit {
                m.events.pop_front();
                out.dropped += 1;
            }
            m.events.push_back((seq, ev));
            out.count += 1;
            push_once(&mut out.woken, agent);
        }
        out
    }

    /// Apply a mailbox entry.
    pub fn apply(&mut self, op: MailOp) -> MailDone {
        let agent = op.agent();
        let m = self.boxes.entry(agent).or_default();
        match op {
            MailOp::Take { epoch, seq, .. } => {
                if m.epoch != epoch || m.taken + 1 != seq {
                    return MailDone::Stale;
                }
                match m.events.pop_front() {
                    Some((_, event)) => {
                        m.taken += 1;
                        MailDone::Taken(event)
                    }
                    None => MailDone::Stale,
                }
            }
            MailOp::Requeue { epoch, seq, event, .. } => {
                if m.epoch != epoch {
                    return MailDone::Requeued(Requeued::SessionGone);
                }
                m.events.push_front((0, event));
                if m.taken == seq {
                    // Its take is undone: the next take gets the same number.
                    m.taken -= 1;
                    MailDone::Requeued(Requeued::InOrder)
                } else {
                    MailDone::Requeued(Requeued::Reordered)
                }
            }
            MailOp::Clear { through, .. } => {
                m.events.retain(|(s, _)| *s > through);
                m.epoch += 1;
                MailDone::Cleared
            }
            MailOp::Trim { epoch, keep, .. } => {
                if m.epoch != epoch {
                    return MailDone::Trimmed(0);
                }
                let excess = m.events.len().saturating_sub(keep);
                m.events.drain(..excess);
                MailDone::Trimmed(excess)
            }
        }
    }
}

fn push_once(v: &mut Vec<AgentId>, a: AgentId) {
    if !v.contains(&a) {
        v.push(a);
    }
}

//! What every backend shares on one node: the replicas of the VDNs (each under one `RwLock`),
//! the per-agent mailboxes with their long polls and heartbeat stamps, and the `allagentevent`
//! feeds. A backend differs only in how its log orders entries: it hands each ordered entry to
//! [`Node::apply`] (under the VDN's write lock, in log order), which applies it to the replica
//! and delivers its events. The maps are fixed at start-up (provisioning is static), so finding
//! a VDN or a mailbox takes no lock at all.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use ccgw_domain::{AgentId, Directory, DomainError, Event, Outcome, TelephonyCommand, VdnId, VdnState};
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use crate::log::Replica;
use crate::mailbox::{MailDone, MailOp};
use crate::{Delivery, FeedPage};

/// One VDN: its replica and what the backend keeps beside it under the same lock (the memory
/// log; nothing for Redis, whose order is the stream's).
pub(crate) struct Vdn<L> {
    pub replica: Replica,
    pub log: L,
}

/// What a node keeps per agent beside the replica's mailbox: the polls waiting on it.
struct Waiter {
    /// The mailbox's epoch, mirrored from the replica under the VDN's write lock, so that the
    /// GUID check on every request reads it without a lock.
    epoch: AtomicU64,
    /// Numbers this node's polls of the mailbox: only the newest may take an event.
    polls: AtomicU64,
    notify: Notify,
    last_seen_ms: AtomicU64,
}

/// A VDN's event feed for `allagentevent`: off until first asked for; then every event of the
/// VDN, in commit order, in a ring. `first` is the position of the ring's oldest event.
#[derive(Default)]
struct Feed {
    on: AtomicBool,
    ring: Mutex<(VecDeque<Event>, u64)>,
}

/// One node's replicas and mailboxes.
pub(crate) struct Node<L> {
    pub vdns: HashMap<VdnId, RwLock<Vdn<L>>>,
    feeds: HashMap<VdnId, Feed>,
    pub feed_capacity: usize,
    agent_vdn: HashMap<AgentId, VdnId>,
    waiters: HashMap<AgentId, Waiter>,
    closing: AtomicBool,
    /// Events dropped because a mailbox was full (a client that stopped polling).
    dropped: AtomicU64,
    /// Waiting polls answered early because a newer poll of the same mailbox started.
    displaced: AtomicU64,
}

/// What applying one entry gave the proposer: the outcome (a command's, or a mailbox entry's),
/// and the telephony commands.
pub(crate) struct Done {
    pub outcome: Result<Outcome, DomainError>,
    pub mail: Option<MailDone>,
    pub telephony: Vec<TelephonyCommand>,
}

impl<L> Node<L> {
    /// The node for a directory; `genesis` makes each VDN's starting point (its mailboxes
    /// limited to `max_events` each).
    pub fn new(directory: &Directory, max_events: usize, mut genesis: impl FnMut(VdnId) -> Vdn<L>) -> Self {
        let vdns: HashMap<VdnId, RwLock<Vdn<L>>> = directory
            .vdns
            .keys()
            .map(|v| {
                let mut vdn = genesis(*v);
                vdn.replica.mailboxes.set_limit(max_events);
                (*v, RwLock::new(vdn))
            })
            .collect();
        let agent_vdn = directory.agents.values().map(|a| (a.id, a.vdn)).collect();
        let waiters = directory
            .agents
            .keys()
            .map(|a| {
                let w = Waiter {
                    epoch: AtomicU64::new(0),
                    polls: AtomicU64::new(0),
                    notify: Notify::new(),
                    last_seen_ms: AtomicU64::new(0),
                };
                (*a, w)
            })
            .collect();
        let feeds = directory.vdns.keys().map(|v| (*v, Feed::default())).collect();
        let node = Node {
            vdns,
            feeds,
            feed_capacity: 0,
            agent_vdn,
            waiters,
            closing: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            displaced: AtomicU64::new(0),
        };
        for lock in node.vdns.values() {
            node.mirror(&lock.read().replica);
        }
        node
    }

    /// Mirror a replica's mailbox epochs (after it was loaded) and wake its polls.
    pub fn mirror(&self, replica: &Replica) {
        for (agent, epoch) in replica.mailboxes.epochs() {
            if let Some(w) = self.waiters.get(&agent) {
                w.epoch.store(epoch, Ordering::Release);
                w.notify.notify_waiters();
            }
        }
    }

    pub fn dropped_events(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn displaced_polls(&self) -> u64 {
        self.displaced.load(Ordering::Relaxed)
    }

    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Apply the log's entry `seq` of `vdn` to its replica (the caller holds the VDN's write
    /// lock): the replica delivers the events to its mailboxes; this node records the feed and
    /// wakes the polls of the mailboxes that changed.
    pub fn apply(&self, vdn: VdnId, replica: &mut Replica, seq: u64, bytes: &[u8]) -> Done {
        let feed = self.feeds.get(&vdn).filter(|f| f.on.load(Ordering::Acquire));
        let mut applied = replica.apply_with(seq, bytes, feed.is_some());
        if let Some(feed) = feed {
            let mut ring = feed.ring.lock();
            for ev in applied.feed.drain(..) {
                if ring.0.len() >= self.feed_capacity {
                    ring.0.pop_front();
                    ring.1 += 1;
                }
                ring.0.push_back(ev);
            }
        }
        self.dropped.fetch_add(applied.delivered.dropped, Ordering::Relaxed);
        for agent in &applied.delivered.woken {
            if let Some(w) = self.waiters.get(agent) {
                w.epoch.store(replica.mailboxes.epoch(*agent), Ordering::Release);
                w.notify.notify_waiters();
            }
        }
        let telephony = std::mem::take(&mut applied.ctx.telephony);
        Done { outcome: applied.outcome, mail: applied.mail, telephony }
    }

    pub fn read<R>(&self, vdn: VdnId, f: impl FnOnce(&VdnState) -> R) -> Result<R, DomainError> {
        let lock = self.vdns.get(&vdn).ok_or(DomainError::UnknownAgent)?;
        Ok(f(&lock.read().replica.state))
    }

    pub fn read_at<R>(&self, vdn: VdnId, f: impl FnOnce(&VdnState, u64) -> R) -> Result<R, DomainError> {
        let lock = self.vdns.get(&vdn).ok_or(DomainError::UnknownAgent)?;
        let guard = lock.read();
        Ok(f(&guard.replica.state, guard.replica.applied))
    }

    pub fn vdn_of(&self, agent: AgentId) -> Option<VdnId> {
        self.agent_vdn.get(&agent).copied()
    }

    pub fn vdns(&self) -> Vec<VdnId> {
        let mut v: Vec<_> = self.vdns.keys().copied().collect();
        v.sort();
        v
    }

    pub fn touch(&self, agent: AgentId, now_ms: u64) {
        if let Some(w) = self.waiters.get(&agent) {
            w.last_seen_ms.fetch_max(now_ms, Ordering::Relaxed);
        }
    }

    pub fn last_seen(&self, agent: AgentId) -> Option<u64> {
        self.waiters.get(&agent).map(|w| w.last_seen_ms.load(Ordering::Relaxed))
    }

    pub fn mailbox_epoch(&self, agent: AgentId) -> u64 {
        self.waiters.get(&agent).map_or(0, |w| w.epoch.load(Ordering::Acquire))
    }

    /// Take the agent's next event (see `Store::next_event`). `take` proposes a mailbox entry
    /// to the VDN's log and answers what it did once this node's replica applied it: the
    /// event is this poll's only if its take is the first in the log (`MailDone::Taken`).
    pub async fn next_event<F, Fut>(
        &self,
        agent: AgentId,
        epoch: Option<u64>,
        wait: Duration,
        take: F,
    ) -> Option<Delivery>
    where
        F: Fn(VdnId, MailOp) -> Fut,
        Fut: Future<Output = Option<MailDone>>,
    {
        let w = self.waiters.get(&agent)?;
        let vdn = self.vdn_of(agent)?;
        let lock = self.vdns.get(&vdn)?;
        let deadline = tokio::time::Instant::now() + wait;
        let ticket = w.polls.fetch_add(1, Ordering::AcqRel) + 1;
        // An older poll still waiting must see that it was displaced and give up.
        w.notify.notify_waiters();
        loop {
            // Register for wake-ups before looking, so an event pushed in between is not missed.
            let notified = w.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if w.polls.load(Ordering::Acquire) != ticket {
                self.displaced.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            let next = lock.read().replica.next_take(agent, epoch);
            match next {
                Err(()) => return None,
                Ok(Some((epoch, seq))) => match take(vdn, MailOp::Take { agent, epoch, seq }).await {
                    Some(MailDone::Taken(event)) => return Some(Delivery { event, epoch, seq }),
                    // Taken by another poll first (or the session changed): look again.
                    Some(_) => continue,
                    None => return None,
                },
                Ok(None) => {}
            }
            if self.closing.load(Ordering::Acquire) {
                return None;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    pub fn shut_down(&self) {
        self.closing.store(true, Ordering::Release);
        for w in self.waiters.values() {
            w.notify.notify_waiters();
        }
    }

    pub fn vdn_events(&self, vdn: VdnId, from: Option<u64>, max: usize) -> Option<FeedPage> {
        let feed = self.feeds.get(&vdn).filter(|_| self.feed_capacity > 0)?;
        if !feed.on.load(Ordering::Acquire) {
            // Turned on under the VDN's write lock, so that no commit is half recorded.
            let _state = self.vdns.get(&vdn)?.write();
            feed.on.store(true, Ordering::Release);
        }
        let ring = feed.ring.lock();
        let (events, first) = (&ring.0, ring.1);
        let end = first + events.len() as u64;
        let from = from.unwrap_or(end).min(end);
        let start = from.max(first);
        let taken: Vec<Event> = events.iter().skip((start - first) as usize).take(max).cloned().collect();
        Some(FeedPage { next: start + taken.len() as u64, skipped: start - from, events: taken })
    }
}

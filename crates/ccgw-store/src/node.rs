//! What every backend shares on one node: the replicas of the VDNs (each under one `RwLock`),
//! the per-agent mailboxes with their long polls and heartbeat stamps, and the `allagentevent`
//! feeds. A backend differs only in how its log orders entries: it hands each ordered entry to
//! [`Node::apply`] (under the VDN's write lock, in log order), which applies it to the replica
//! and delivers its events. The maps are fixed at start-up (provisioning is static), so finding
//! a VDN or a mailbox takes no lock at all.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use ccgw_domain::{AgentId, Ctx, Directory, DomainError, Event, Outcome, TelephonyCommand, VdnId, VdnState};
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use crate::log::Replica;
use crate::{Delivery, FeedPage, Requeued};

/// One VDN: its replica and what the backend keeps beside it under the same lock (the memory
/// log; nothing for Redis, whose order is the stream's).
pub(crate) struct Vdn<L> {
    pub replica: Replica,
    pub log: L,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    /// Numbers the polls of this mailbox: only the newest may take an event.
    polls: u64,
    /// Events taken so far (see `Delivery::seq`).
    taken: u64,
}

struct Mailbox {
    events: Mutex<Queue>,
    /// Bumped (under the `events` lock) when a new session starts; see `Store::mailbox_epoch`.
    /// An atomic so that the GUID check on every request can read it without the lock.
    epoch: AtomicU64,
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
    mailboxes: HashMap<AgentId, Mailbox>,
    max_events: usize,
    closing: AtomicBool,
    /// Events dropped because a mailbox was full (a client that stopped polling).
    dropped: AtomicU64,
    /// Waiting polls answered early because a newer poll of the same mailbox started.
    displaced: AtomicU64,
}

/// What applying one entry gave the proposer: the outcome, and the telephony commands.
pub(crate) struct Done {
    pub outcome: Result<Outcome, DomainError>,
    pub telephony: Vec<TelephonyCommand>,
}

impl<L> Node<L> {
    /// The node for a directory; `genesis` makes each VDN's starting point.
    pub fn new(directory: &Directory, max_events: usize, mut genesis: impl FnMut(VdnId) -> Vdn<L>) -> Self {
        let vdns = directory.vdns.keys().map(|v| (*v, RwLock::new(genesis(*v)))).collect();
        let agent_vdn = directory.agents.values().map(|a| (a.id, a.vdn)).collect();
        let mailboxes = directory
            .agents
            .keys()
            .map(|a| {
                (
                    *a,
                    Mailbox {
                        events: Mutex::new(Queue::default()),
                        epoch: AtomicU64::new(0),
                        notify: Notify::new(),
                        last_seen_ms: AtomicU64::new(0),
                    },
                )
            })
            .collect();
        let feeds = directory.vdns.keys().map(|v| (*v, Feed::default())).collect();
        Node {
            vdns,
            feeds,
            feed_capacity: 0,
            agent_vdn,
            mailboxes,
            max_events: max_events.max(1),
            closing: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            displaced: AtomicU64::new(0),
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
    /// lock) and deliver its events to the mailboxes, in log order.
    pub fn apply(&self, vdn: VdnId, replica: &mut Replica, seq: u64, bytes: &[u8]) -> Done {
        let applied = replica.apply(seq, bytes);
        let mut ctx = applied.ctx;
        let telephony = std::mem::take(&mut ctx.telephony);
        self.deliver(vdn, ctx);
        Done { outcome: applied.outcome, telephony }
    }

    fn deliver(&self, vdn: VdnId, ctx: Ctx) {
        let feed = self.feeds.get(&vdn).filter(|f| f.on.load(Ordering::Acquire));
        let mut fresh: HashMap<AgentId, usize> = HashMap::new();
        for (agent, from) in &ctx.new_sessions {
            fresh.insert(*agent, *from);
            if let Some(mb) = self.mailboxes.get(agent) {
                let mut q = mb.events.lock();
                q.events.clear();
                mb.epoch.fetch_add(1, Ordering::AcqRel);
                drop(q);
                // A poll still waiting for the old session must see the change and give up.
                mb.notify.notify_waiters();
            }
        }
        let mut woken: Vec<AgentId> = Vec::new();
        for (i, ev) in ctx.events.into_iter().enumerate() {
            if fresh.get(&ev.agent).is_some_and(|from| i < *from) {
                continue; // belonged to the session that this operation replaced
            }
            let Some(mb) = self.mailboxes.get(&ev.agent) else { continue };
            let agent = ev.agent;
            if let Some(feed) = feed {
                let mut ring = feed.ring.lock();
                if ring.0.len() >= self.feed_capacity {
                    ring.0.pop_front();
                    ring.1 += 1;
                }
                ring.0.push_back(ev.clone());
            }
            {
                let mut q = mb.events.lock();
                while q.events.len() >= self.max_events {
                    q.events.pop_front();
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                q.events.push_back(ev);
            }
            if !woken.contains(&agent) {
                woken.push(agent);
            }
        }
        for a in woken {
            if let Some(mb) = self.mailboxes.get(&a) {
                mb.notify.notify_waiters();
            }
        }
    }

    pub fn read<R>(&self, vdn: VdnId, f: impl FnOnce(&VdnState) -> R) -> Result<R, DomainError> {
        let lock = self.vdns.get(&vdn).ok_or(DomainError::UnknownAgent)?;
        Ok(f(&lock.read().replica.state))
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
        if let Some(mb) = self.mailboxes.get(&agent) {
            mb.last_seen_ms.fetch_max(now_ms, Ordering::Relaxed);
        }
    }

    pub fn last_seen(&self, agent: AgentId) -> Option<u64> {
        self.mailboxes.get(&agent).map(|mb| mb.last_seen_ms.load(Ordering::Relaxed))
    }

    pub fn mailbox_epoch(&self, agent: AgentId) -> u64 {
        self.mailboxes.get(&agent).map_or(0, |mb| mb.epoch.load(Ordering::Acquire))
    }

    pub async fn next_event(&self, agent: AgentId, epoch: Option<u64>, wait: Duration) -> Option<Delivery> {
        let mb = self.mailboxes.get(&agent)?;
        let deadline = tokio::time::Instant::now() + wait;
        let ticket = {
            let mut q = mb.events.lock();
            q.polls += 1;
            q.polls
        };
        // An older poll still waiting must see that it was displaced and give up.
        mb.notify.notify_waiters();
        loop {
            // Register for wake-ups before looking, so an event pushed in between is not missed.
            let notified = mb.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut q = mb.events.lock();
                if q.polls != ticket {
                    self.displaced.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
                let current = mb.epoch.load(Ordering::Acquire);
                if epoch.is_some_and(|e| e != current) {
                    return None;
                }
                if let Some(event) = q.events.pop_front() {
                    q.taken += 1;
                    return Some(Delivery { event, epoch: current, seq: q.taken });
                }
            }
            if self.closing.load(Ordering::Acquire) {
                return None;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    pub fn requeue(&self, agent: AgentId, delivery: Delivery) -> Requeued {
        let Some(mb) = self.mailboxes.get(&agent) else { return Requeued::SessionGone };
        let outcome = {
            let mut q = mb.events.lock();
            if mb.epoch.load(Ordering::Acquire) != delivery.epoch {
                return Requeued::SessionGone;
            }
            q.events.push_front(delivery.event);
            if q.taken == delivery.seq {
                // Its take is undone: the next take gets the same number.
                q.taken -= 1;
                Requeued::InOrder
            } else {
                Requeued::Reordered
            }
        };
        mb.notify.notify_waiters();
        outcome
    }

    pub fn shut_down(&self) {
        self.closing.store(true, Ordering::Release);
        for mb in self.mailboxes.values() {
            mb.notify.notify_waiters();
        }
    }

    pub fn clear_events(&self, agent: AgentId) {
        let Some(mb) = self.mailboxes.get(&agent) else { return };
        let mut q = mb.events.lock();
        q.events.clear();
        mb.epoch.fetch_add(1, Ordering::AcqRel);
        drop(q);
        mb.notify.notify_waiters();
    }

    pub fn trim_events(&self, agent: AgentId, epoch: u64, keep: usize) -> usize {
        let Some(mb) = self.mailboxes.get(&agent) else { return 0 };
        let mut q = mb.events.lock();
        if mb.epoch.load(Ordering::Acquire) != epoch {
            return 0;
        }
        let excess = q.events.len().saturating_sub(keep);
        q.events.drain(..excess);
        excess
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

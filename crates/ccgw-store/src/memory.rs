//! The in-memory store: one `RwLock<VdnState>` per VDN and one mailbox per agent. The maps
//! themselves are fixed at start-up (provisioning is static), so finding a VDN or a mailbox takes
//! no lock at all; reads of a VDN share its read lock.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ccgw_domain::{AgentId, Ctx, Directory, DomainError, Event, Policy, VdnId, VdnState};
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use crate::{CallIdSource, Committed, Delivery, Requeued, Store};

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

pub struct MemoryStore {
    vdns: HashMap<VdnId, RwLock<VdnState>>,
    agent_vdn: HashMap<AgentId, VdnId>,
    mailboxes: HashMap<AgentId, Mailbox>,
    call_ids: CallIdSource,
    max_events: usize,
    closing: AtomicBool,
    /// Events dropped because a mailbox was full (a client that stopped polling).
    dropped: AtomicU64,
    /// Waiting polls answered early because a newer poll of the same mailbox started.
    displaced: AtomicU64,
}

impl MemoryStore {
    pub fn new(directory: &Directory, policy: Policy, max_events: usize) -> Self {
        let start_secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let vdns =
            directory.vdns.keys().map(|v| (*v, RwLock::new(VdnState::new(*v, directory, policy.clone())))).collect();
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
        MemoryStore {
            vdns,
            agent_vdn,
            mailboxes,
            call_ids: CallIdSource::new(start_secs),
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

    fn deliver(&self, ctx: Ctx) {
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
            {
                let mut q = mb.events.lock();
                if q.events.len() >= self.max_events {
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
}

impl Store for MemoryStore {
    fn update<R>(
        &self,
        vdn: VdnId,
        now_ms: u64,
        op: impl FnOnce(&mut VdnState, &mut Ctx) -> Result<R, DomainError>,
    ) -> Result<Committed<R>, DomainError> {
        let lock = self.vdns.get(&vdn).ok_or(DomainError::UnknownAgent)?;
        let mut next_id = |secs| self.call_ids.next(secs);
        let mut state = lock.write();
        let mut ctx = Ctx::new(now_ms, &mut next_id);
        let value = op(&mut state, &mut ctx)?;
        // Monitoring supervisors get their copies of the operation's events (quality control).
        state.notify_monitors(&mut ctx);
        let telephony = std::mem::take(&mut ctx.telephony);
        // Deliver while still holding the VDN lock, so mailboxes see events in commit order.
        self.deliver(ctx);
        drop(state);
        Ok(Committed { value, telephony })
    }

    fn read<R>(&self, vdn: VdnId, f: impl FnOnce(&VdnState) -> R) -> Result<R, DomainError> {
        let lock = self.vdns.get(&vdn).ok_or(DomainError::UnknownAgent)?;
        Ok(f(&lock.read()))
    }

    fn vdn_of(&self, agent: AgentId) -> Option<VdnId> {
        self.agent_vdn.get(&agent).copied()
    }

    fn vdns(&self) -> Vec<VdnId> {
        let mut v: Vec<_> = self.vdns.keys().copied().collect();
        v.sort();
        v
    }

    fn touch(&self, agent: AgentId, now_ms: u64) {
        if let Some(mb) = self.mailboxes.get(&agent) {
            mb.last_seen_ms.fetch_max(now_ms, Ordering::Relaxed);
        }
    }

    fn last_seen(&self, agent: AgentId) -> Option<u64> {
        self.mailboxes.get(&agent).map(|mb| mb.last_seen_ms.load(Ordering::Relaxed))
    }

    fn mailbox_epoch(&self, agent: AgentId) -> u64 {
        self.mailboxes.get(&agent).map_or(0, |mb| mb.epoch.load(Ordering::Acquire))
    }

    async fn next_event(&self, agent: AgentId, epoch: Option<u64>, wait: Duration) -> Option<Delivery> {
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

    fn requeue(&self, agent: AgentId, delivery: Delivery) -> Requeued {
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

    fn shut_down(&self) {
        self.closing.store(true, Ordering::Release);
        for mb in self.mailboxes.values() {
            mb.notify.notify_waiters();
        }
    }

    fn clear_events(&self, agent: AgentId) {
        let Some(mb) = self.mailboxes.get(&agent) else { return };
        let mut q = mb.events.lock();
        q.events.clear();
        mb.epoch.fetch_add(1, Ordering::AcqRel);
        drop(q);
        mb.notify.notify_waiters();
    }
}

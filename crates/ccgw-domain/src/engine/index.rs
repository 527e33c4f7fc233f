//! Derived structures that keep the engine's costs from growing with the VDN's size: the ACD's
//! per-skill indexes of available agents (longest idle first) and the housekeeping timers.
//!
//! Both are caches of what the state already says, never a second source of truth:
//! - **Idle index.** For every skill, the available agents signed in to it as
//!   `(idle_since_ms, agent)`, so the first entry is exactly the agent the old scan chose
//!   (longest idle, lowest agent id on a tie). Every `&mut Session` is handed out by
//!   `session_mut` (or created/taken by sign-in/out), which marks the agent dirty; the dirty
//!   agents are re-indexed (O(skills · log n) each) before any choice of agent, so the index is
//!   right whenever it is read, however a session changed.
//! - **Timers.** Min-heaps of deadlines for ring time-outs, rest ends and playback ends, pushed
//!   where the deadline is set. Nothing is removed on cancel (O(1)): a popped entry is checked
//!   against the state (the old scan's own condition) and dropped when it no longer holds — the
//!   state itself is the generation number. Every change that moves a deadline pushes a new
//!   entry, so the live deadline always has one.
//!
//! The old scans stay (`scan` mode, for the property test's oracle and the benchmark's
//! baseline). Equality of `VdnState` ignores this struct: two states that say the same are equal
//! whatever their caches hold.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use super::*;

/// Re-index the dirty agents once this many are waiting (keeps the list short between ACD runs).
const MAX_DIRTY: usize = 64;

#[derive(Clone, Default)]
pub(crate) struct Derived {
    /// skill → available agents signed in to it, longest idle first.
    idle: BTreeMap<SkillId, BTreeSet<(u64, AgentId)>>,
    /// What the idle index holds for each agent: its idle stamp and skills.
    indexed: BTreeMap<AgentId, (u64, Vec<SkillId>)>,
    /// Agents whose session may have changed since they were last indexed.
    dirty: Vec<AgentId>,
    /// (deadline, call, agent): the agent's offer of the call stops ringing.
    rings: BinaryHeap<Reverse<(u64, CallId, AgentId)>>,
    /// (deadline, agent): the agent's rest is over (the `RestTimeout` reminder).
    rests: BinaryHeap<Reverse<(u64, AgentId)>>,
    /// (deadline, agent): the playback to the agent's phone reaches the end of its file.
    playbacks: BinaryHeap<Reverse<(u64, AgentId)>>,
    /// Use the old full scans (the oracle and the baseline) instead of the index and timers.
    scan: bool,
    /// A deliberately broken ACD, to show that the queueing-theory test can fail.
    fault: Option<AcdFault>,
}

/// Deliberately broken ACDs (test hook): the Erlang C test must fail with each.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcdFault {
    /// The wrong agent: the longest-idle available agent of any skill, not of the call's.
    AnySkill,
    /// Queued calls skipped: a free agent takes the newest waiting call, so the older ones
    /// are passed over as long as newer ones arrive.
    NewestFirst,
}

impl PartialEq for Derived {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Derived {}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Derived")
            .field("indexed", &self.indexed.len())
            .field("timers", &(self.rings.len() + self.rests.len() + self.playbacks.len()))
            .finish_non_exhaustive()
    }
}

/// When a playback reaches the end of its file (`position(t) >= length`), if it will.
fn playback_end(p: &crate::media::Playback) -> Option<u64> {
    match p.state {
        crate::media::MediaState::Running => Some(p.since_ms.saturating_add(p.length_ms.saturating_sub(p.position_ms))),
        crate::media::MediaState::Paused => (p.position_ms >= p.length_ms).then_some(p.since_ms),
    }
}

impl VdnState {
    // ----- bookkeeping --------------------------------------------------------------------------

    /// The agent's session may change: re-index it before the next choice of agent.
    pub(super) fn mark_dirty(&mut self, agent: AgentId) {
        if self.derived.dirty.len() >= MAX_DIRTY {
            self.sync_index();
        }
        self.derived.dirty.push(agent);
    }

    /// Bring the idle index in step with the sessions of the dirty agents.
    pub(super) fn sync_index(&mut self) {
        let mut dirty = std::mem::take(&mut self.derived.dirty);
        for &agent in &dirty {
            self.reindex(agent);
        }
        dirty.clear();
        // Keep the allocation.
        self.derived.dirty = dirty;
    }

    fn reindex(&mut self, agent: AgentId) {
        let d = &mut self.derived;
        let now = self.agents.get(&agent).and_then(|a| a.session.as_ref()).filter(|s| s.available());
        if let (Some(s), Some((t, skills))) = (now, d.indexed.get(&agent))
            && *t == s.idle_since_ms
            && *skills == s.active_skills
        {
            return;
        }
        if let Some((t, skills)) = d.indexed.remove(&agent) {
            for k in skills {
                if let Some(set) = d.idle.get_mut(&k) {
                    set.remove(&(t, agent));
                }
            }
        }
        if let Some(s) = now {
            for k in &s.active_skills {
                d.idle.entry(*k).or_default().insert((s.idle_since_ms, agent));
            }
            d.indexed.insert(agent, (s.idle_since_ms, s.active_skills.clone()));
        }
    }

    pub(super) fn arm_ring(&mut self, call: CallId, agent: AgentId, since_ms: u64) {
        let at = since_ms.saturating_add(self.policy.ring_timeout_ms);
        self.derived.rings.push(Reverse((at, call, agent)));
    }

    pub(super) fn arm_rest(&mut self, agent: AgentId, until_ms: u64) {
        self.derived.rests.push(Reverse((until_ms, agent)));
    }

    /// The agent's playback started, paused, resumed or moved: arm its end.
    pub(super) fn arm_playback(&mut self, agent: AgentId) {
        let end = self.session(agent).ok().and_then(|s| s.playback.as_ref()).and_then(playback_end);
        if let Some(at) = end {
            self.derived.playbacks.push(Reverse((at, agent)));
        }
    }

    // ----- the ACD's choice ---------------------------------------------------------------------

    /// The longest-idle available agent signed in to `skill` (lowest id on a tie), other than
    /// `except`: the first entry of the skill's idle index, O(log n).
    pub(super) fn pick_agent(&mut self, skill: SkillId, except: Option<AgentId>) -> Option<AgentId> {
        self.sync_index();
        self.pick_synced(skill, except)
    }

    /// [`Self::pick_agent`] once the index is in step (`sync_index`).
    pub(super) fn pick_synced(&self, skill: SkillId, except: Option<AgentId>) -> Option<AgentId> {
        debug_assert!(self.derived.dirty.is_empty());
        if self.derived.fault == Some(AcdFault::AnySkill) {
            let firsts = self.derived.idle.values().filter_map(|v| v.iter().find(|e| Some(e.1) != except));
            return firsts.min().map(|e| e.1);
        }
        if self.derived.scan {
            return self.pick_agent_by_scan(skill, except);
        }
        self.derived.idle.get(&skill)?.iter().map(|(_, a)| *a).find(|a| Some(*a) != except)
    }

    /// The old choice, by a scan of every agent (the oracle and the baseline).
    #[doc(hidden)]
    pub fn pick_agent_by_scan(&self, skill: SkillId, except: Option<AgentId>) -> Option<AgentId> {
        self.agents
            .values()
            .filter(|a| Some(a.profile.id) != except)
            .filter_map(|a| a.session.as_ref().map(|s| (a.profile.id, s)))
            .filter(|(_, s)| s.available() && s.active_skills.contains(&skill))
            .min_by_key(|(id, s)| (s.idle_since_ms, *id))
            .map(|(id, _)| id)
    }

    /// Test and bench hook: use the old scans (`true`) or the index and timers.
    #[doc(hidden)]
    pub fn set_scan_mode(&mut self, scan: bool) {
        self.derived.scan = scan;
    }

    /// Test hook: break the ACD on purpose (`None`: the real one).
    #[doc(hidden)]
    pub fn set_fault(&mut self, fault: Option<AcdFault>) {
        self.derived.fault = fault;
    }

    pub(super) fn fault(&self) -> Option<AcdFault> {
        self.derived.fault
    }

    /// Test hook: the idle index of every skill, in order, after bringing it in step.
    #[doc(hidden)]
    pub fn idle_index(&mut self) -> BTreeMap<SkillId, Vec<AgentId>> {
        self.sync_index();
        self.derived
            .idle
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (*k, v.iter().map(|e| e.1).collect()))
            .collect()
    }

    /// Test hook: what a full scan says the idle index should be.
    #[doc(hidden)]
    pub fn idle_index_by_scan(&self) -> BTreeMap<SkillId, Vec<AgentId>> {
        let mut out: BTreeMap<SkillId, Vec<(u64, AgentId)>> = BTreeMap::new();
        for a in self.agents.values() {
            let Some(s) = a.session.as_ref().filter(|s| s.available()) else { continue };
            for k in &s.active_skills {
                out.entry(*k).or_default().push((s.idle_since_ms, a.profile.id));
            }
        }
        out.into_iter()
            .map(|(k, mut v)| {
                v.sort();
                v.dedup();
                (k, v.into_iter().map(|e| e.1).collect())
            })
            .collect()
    }

    /// Rebuild the caches (idle index, timers) from the state, as after loading a snapshot (they
    /// are not serialized). A timer armed here for a deadline the state still holds is all the
    /// tick needs: entries for deadlines that moved since were dropped unseen anyway.
    pub fn restore_caches(&mut self) {
        let (scan, fault) = (self.derived.scan, self.derived.fault);
        self.derived = Derived { scan, fault, ..Derived::default() };
        let mut rings = Vec::new();
        for c in self.calls.values() {
            for p in &c.parties {
                if let (PartyState::Alerting { since_ms }, Some(a)) = (p.state, p.agent()) {
                    rings.push((c.id, a, since_ms));
                }
            }
        }
        for (call, agent, since_ms) in rings {
            self.arm_ring(call, agent, since_ms);
        }
        let agents: Vec<(AgentId, Option<u64>)> = self
            .agents
            .iter()
            .filter_map(|(id, a)| {
                let s = a.session.as_ref()?;
                let rest = match s.ready {
                    Ready::Rest { until_ms, reminded: false, .. } => Some(until_ms),
                    _ => None,
                };
                Some((*id, rest))
            })
            .collect();
        for (agent, rest) in agents {
            self.reindex(agent);
            if let Some(until_ms) = rest {
                self.arm_rest(agent, until_ms);
            }
            self.arm_playback(agent);
        }
    }

    // ----- housekeeping -------------------------------------------------------------------------

    /// Periodic housekeeping: ring time-outs, rest reminders, playback ends, distribution.
    /// O(due timers · log n), not O(agents + calls).
    pub fn tick(&mut self, ctx: &mut Ctx) {
        if self.derived.scan {
            return self.tick_by_scan(ctx);
        }
        let now = ctx.now_ms;
        let timeout = self.policy.ring_timeout_ms;
        // The same things, in the same order, as the scan: rings by (call, party), then rests
        // and playbacks by agent.
        let mut rings: Vec<(CallId, usize, AgentId)> = Vec::new();
        while let Some(&Reverse((at, call, agent))) = self.derived.rings.peek()
            && at <= now
        {
            self.derived.rings.pop();
            let Some(c) = self.calls.get(&call) else { continue };
            for (i, p) in c.parties.iter().enumerate() {
                if let (PartyState::Alerting { since_ms }, Some(a)) = (p.state, p.agent())
                    && a == agent
                    && now.saturating_sub(since_ms) >= timeout
                {
                    rings.push((call, i, agent));
                }
            }
        }
        rings.sort_unstable();
        rings.dedup();
        for (call, _, agent) in rings {
            self.ring_timeout(ctx, call, agent);
        }
        let mut rests: Vec<AgentId> = Vec::new();
        while let Some(&Reverse((at, agent))) = self.derived.rests.peek()
            && at <= now
        {
            self.derived.rests.pop();
            rests.push(agent);
        }
        rests.sort_unstable();
        rests.dedup();
        for agent in rests {
            let Some(s) = self.agents.get_mut(&agent).and_then(|a| a.session.as_mut()) else { continue };
            if let Ready::Rest { until_ms, reminded, .. } = &mut s.ready
                && !*reminded
                && now >= *until_ms
            {
                *reminded = true;
                ctx.emit(agent, EventKind::RestTimeout);
            }
        }
        let mut ends: Vec<AgentId> = Vec::new();
        while let Some(&Reverse((at, agent))) = self.derived.playbacks.peek()
            && at <= now
        {
            self.derived.playbacks.pop();
            ends.push(agent);
        }
        ends.sort_unstable();
        ends.dedup();
        for agent in ends {
            let done = self
                .session(agent)
                .ok()
                .and_then(|s| s.playback.as_ref())
                .is_some_and(|p| p.position(now) >= p.length_ms);
            if done {
                let _ = self.stop_play(ctx, agent);
            }
        }
        self.distribute(ctx);
    }

    /// The old housekeeping, by a scan of every call and agent (the oracle and the baseline).
    #[doc(hidden)]
    pub fn tick_by_scan(&mut self, ctx: &mut Ctx) {
        let now = ctx.now_ms;
        let timeout = self.policy.ring_timeout_ms;
        let expired: Vec<(CallId, AgentId)> = self
            .calls
            .values()
            .flat_map(|c| {
                c.parties.iter().filter_map(move |p| match (p.state, p.agent()) {
                    (PartyState::Alerting { since_ms }, Some(a)) if now.saturating_sub(since_ms) >= timeout => {
                        Some((c.id, a))
                    }
                    _ => None,
                })
            })
            .collect();
        for (call, agent) in expired {
            self.ring_timeout(ctx, call, agent);
        }
        let reminders: Vec<AgentId> = self
            .agents
            .values_mut()
            .filter_map(|a| {
                let s = a.session.as_mut()?;
                match &mut s.ready {
                    Ready::Rest { until_ms, reminded, .. } if !*reminded && now >= *until_ms => {
                        *reminded = true;
                        Some(a.profile.id)
                    }
                    _ => None,
                }
            })
            .collect();
        for a in reminders {
            ctx.emit(a, EventKind::RestTimeout);
        }
        let done: Vec<AgentId> = self
            .agents
            .values()
            .filter(|a| {
                a.session.as_ref().and_then(|s| s.playback.as_ref()).is_some_and(|p| p.position(now) >= p.length_ms)
            })
            .map(|a| a.profile.id)
            .collect();
        for agent in done {
            let _ = self.stop_play(ctx, agent);
        }
        self.distribute(ctx);
    }
}

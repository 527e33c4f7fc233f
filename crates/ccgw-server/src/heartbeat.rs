//! Heartbeat expiry timers: the housekeeping tick finds the agents whose heartbeat ran out in
//! O(due timers), not by scanning every agent.
//!
//! One live timer per signed-in agent, `(deadline, agent, generation)` in a min-heap; the map
//! `current` says which generation is live, so cancelling (a new sign-in) is O(1) and a stale
//! entry is skipped when it pops. A timer that pops for an agent seen since is re-armed at
//! `last_seen + timeout + 1` (the first instant the old scan's condition `last_seen < now −
//! timeout` holds); one that pops for an agent not seen since is a candidate, which the tick
//! confirms under the VDN's lock (still signed in, still not seen) before signing it out.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use ccgw_domain::AgentId;

#[derive(Debug, Default)]
pub struct HeartbeatTimers {
    heap: BinaryHeap<Reverse<(u64, AgentId, u64)>>,
    current: HashMap<AgentId, u64>,
    next_gen: u64,
}

/// What the tick does with a candidate, once it has looked under the VDN's lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Signed in and not seen for the timeout: sign it out.
    Expired,
    /// Seen meanwhile: its timer is re-armed.
    Alive,
    /// Not signed in any more: its timer is dropped.
    Gone,
}

impl HeartbeatTimers {
    /// A session starts (or replaces the agent's previous one) at `now_ms`: its timer replaces
    /// any earlier one. Returns the timer's generation.
    pub fn arm(&mut self, agent: AgentId, now_ms: u64, timeout_ms: u64) -> u64 {
        self.next_gen += 1;
        let generation = self.next_gen;
        self.current.insert(agent, generation);
        self.heap.push(Reverse((now_ms.saturating_add(timeout_ms).saturating_add(1), agent, generation)));
        generation
    }

    /// A timer for a session this node did not start (cluster mode: the VDN's lease moved here),
    /// unless the agent has one: due a whole timeout from now, when the stamps decide.
    pub fn ensure(&mut self, agent: AgentId, now_ms: u64, timeout_ms: u64) {
        if !self.current.contains_key(&agent) {
            self.arm(agent, now_ms, timeout_ms);
        }
    }

    /// The timers due at `now_ms`: those of agents seen since are re-armed; the others are
    /// returned as candidates `(agent, generation)` for [`Self::settle`].
    pub fn due(&mut self, now_ms: u64, timeout_ms: u64, last_seen: impl Fn(AgentId) -> u64) -> Vec<(AgentId, u64)> {
        let cutoff = now_ms.saturating_sub(timeout_ms);
        let mut out = Vec::new();
        while let Some(&Reverse((at, agent, generation))) = self.heap.peek()
            && at <= now_ms
        {
            self.heap.pop();
            if self.current.get(&agent) != Some(&generation) {
                continue;
            }
            let seen = last_seen(agent);
            if seen >= cutoff {
                self.heap.push(Reverse((seen.saturating_add(timeout_ms).saturating_add(1), agent, generation)));
            } else {
                out.push((agent, generation));
            }
        }
        out
    }

    /// Decide a candidate from what the VDN's state and the heartbeat say now, and keep the
    /// timers in step: `Expired` and `Gone` drop the timer (unless a newer session armed one),
    /// `Alive` re-arms it.
    pub fn settle(
        &mut self,
        agent: AgentId,
        generation: u64,
        signed_in: bool,
        seen: u64,
        now_ms: u64,
        timeout_ms: u64,
    ) -> Verdict {
        let live = self.current.get(&agent) == Some(&generation);
        let verdict = match (signed_in, seen < now_ms.saturating_sub(timeout_ms)) {
            (false, _) => Verdict::Gone,
            (true, true) => Verdict::Expired,
            (true, false) => Verdict::Alive,
        };
        if !live {
            // A newer session has its own timer; the candidate's is stale.
            return if verdict == Verdict::Expired { Verdict::Alive } else { verdict };
        }
        match verdict {
            Verdict::Alive => {
                self.heap.push(Reverse((seen.saturating_add(timeout_ms).saturating_add(1), agent, generation)));
            }
            Verdict::Expired | Verdict::Gone => {
                self.current.remove(&agent);
            }
        }
        verdict
    }

    /// Cluster mode, on a node that does not hold the agent's VDN: put a candidate's timer back,
    /// due at `at` (the holder decides meanwhile; this node decides if it takes the lease over).
    pub fn defer(&mut self, agent: AgentId, generation: u64, at: u64) {
        if self.current.get(&agent) == Some(&generation) {
            self.heap.push(Reverse((at, agent, generation)));
        }
    }

    /// Timers in the heap, live and stale.
    pub fn pending(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        SignIn(u32),
        SignOut(u32),
        Touch(u32),
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            1 => (0u32..8).prop_map(Op::SignIn),
            1 => (0u32..8).prop_map(Op::SignOut),
            3 => (0u32..8).prop_map(Op::Touch),
            3 => prop_oneof![0u64..300, 900u64..1100, 2000u64..5000].prop_map(Op::Advance),
        ]
    }

    proptest! {
        /// After every step, a tick signs out exactly the agents the old scan would have: signed
        /// in and not seen for the timeout.
        #[test]
        fn the_timers_expire_what_a_full_scan_finds(ops in prop::collection::vec(op(), 1..200)) {
            const TIMEOUT: u64 = 1000;
            let mut t = HeartbeatTimers::default();
            let mut now = 1_000_000u64;
            let mut signed_in: BTreeSet<AgentId> = BTreeSet::new();
            let mut seen: BTreeMap<AgentId, u64> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::SignIn(a) => {
                        signed_in.insert(AgentId(a));
                        seen.insert(AgentId(a), now);
                        t.arm(AgentId(a), now, TIMEOUT);
                    }
                    Op::SignOut(a) => {
                        signed_in.remove(&AgentId(a));
                    }
                    Op::Touch(a) => {
                        seen.insert(AgentId(a), now);
                    }
                    Op::Advance(ms) => now += ms,
                }
                // The tick.
                let cutoff = now.saturating_sub(TIMEOUT);
                let want: BTreeSet<AgentId> =
                    signed_in.iter().copied().filter(|a| seen.get(a).copied().unwrap_or(0) < cutoff).collect();
                let last = |a: AgentId| seen.get(&a).copied().unwrap_or(0);
                let mut got = BTreeSet::new();
                for (a, g) in t.due(now, TIMEOUT, last) {
                    if t.settle(a, g, signed_in.contains(&a), last(a), now, TIMEOUT) == Verdict::Expired {
                        got.insert(a);
                    }
                }
                prop_assert_eq!(&got, &want);
                for a in &got {
                    signed_in.remove(a);
                }
                // At most one live timer per agent, and every signed-in agent has one.
                for a in &signed_in {
                    prop_assert!(t.current.contains_key(a), "{:?} has no timer", a);
                }
                prop_assert!(t.current.len() <= 8);
            }
        }
    }
}

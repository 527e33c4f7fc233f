//! The vendor's overload control for call-data queries: at most N per agent and M per system in
//! each fixed window (defaults 5 and 15 000 per 2 s). Lock-free: one atomic word per counter
//! holding (window number, count).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use ccgw_domain::AgentId;

const COUNT_BITS: u32 = 24;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

struct Window(AtomicU64);

impl Window {
    /// Count one request in window `w`; false when the window already holds `limit`.
    fn admit(&self, w: u64, limit: u32) -> bool {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let (cw, count) = (cur >> COUNT_BITS, cur & COUNT_MASK);
            let count = if cw == (w & (u64::MAX >> COUNT_BITS)) { count } else { 0 };
            if count >= u64::from(limit) {
                return false;
            }
            let next = ((w & (u64::MAX >> COUNT_BITS)) << COUNT_BITS) | (count + 1);
            match self.0.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }
}

pub struct CalldataLimiter {
    per_agent: u32,
    system: u32,
    window_ms: u64,
    agents: HashMap<AgentId, Window>,
    total: Window,
}

impl CalldataLimiter {
    /// A limit of 0 switches that limit off.
    pub fn new(agents: impl IntoIterator<Item = AgentId>, per_agent: u32, system: u32, window_ms: u64) -> Self {
        CalldataLimiter {
            per_agent,
            system,
            window_ms: window_ms.max(1),
            agents: agents.into_iter().map(|a| (a, Window(AtomicU64::new(0)))).collect(),
            total: Window(AtomicU64::new(0)),
        }
    }

    pub fn admit(&self, agent: AgentId, now_ms: u64) -> bool {
        let w = now_ms / self.window_ms;
        if self.per_agent > 0
            && let Some(win) = self.agents.get(&agent)
            && !win.admit(w, self.per_agent)
        {
            return false;
        }
        self.system == 0 || self.total.admit(w, self.system)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_agent_and_system_per_window() {
        let l = CalldataLimiter::new([AgentId(101), AgentId(102)], 5, 7, 2000);
        for _ in 0..5 {
            assert!(l.admit(AgentId(101), 1000));
        }
        assert!(!l.admit(AgentId(101), 1999));
        assert!(l.admit(AgentId(102), 1999));
        assert!(l.admit(AgentId(102), 1999));
        assert!(!l.admit(AgentId(102), 1999), "system limit of 7 reached");
        assert!(l.admit(AgentId(101), 2000), "a new window starts afresh");
    }

    #[test]
    fn zero_switches_off() {
        let l = CalldataLimiter::new([AgentId(101)], 0, 0, 2000);
        assert!((0..10_000).all(|_| l.admit(AgentId(101), 5)));
    }
}

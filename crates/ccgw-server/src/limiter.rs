//! The vendor's overload control for call-data queries: at most N per agent and M per system in
//! each fixed window (defaults 5 and 15 000 per 2 s). Lock-free: one atomic word per counter
//! holding (window number, count).
//!
//! Cluster mode ([`CalldataLimiter::with_redis`]): the per-agent limit holds across nodes. After
//! the local windows admitted a request (the local fast path: a node that alone already counts
//! the agent over the limit refuses without asking Redis), one Lua call counts it in
//! `ccgw:{<vdn>}:rate:calldata:<agent>:<window>` (`INCR`, `PEXPIRE` on the first), and the
//! request passes if that count is within the limit. The system limit stays per node (as
//! documented for `limits.calldata_system`). Redis unreachable: **fail open** within
//! [`REDIS_BUDGET`] (the local limits still hold: at most the per-agent limit per node), and
//! Redis is not asked again for [`REDIS_BACKOFF`], so a Redis outage costs one request
//! 200 ms per second at most, never a hang; counting resumes by itself (docs/compat.md).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use ccgw_domain::{AgentId, VdnId};
use redis::aio::ConnectionManager;

/// How long a request waits for the Redis counter before it passes (fail open).
pub const REDIS_BUDGET: Duration = Duration::from_millis(200);
/// After a failed Redis count, requests are counted locally only for this long.
pub const REDIS_BACKOFF: Duration = Duration::from_millis(1000);

const COUNT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
";

/// The limiter's answer: ready at once (memory mode, or decided locally), or pending on Redis.
pub enum Admit {
    Ready(bool),
    Pending(Pin<Box<dyn Future<Output = bool> + Send>>),
}

impl Admit {
    /// The answer, if it needs no waiting.
    pub fn now(&self) -> Option<bool> {
        match self {
            Admit::Ready(ok) => Some(*ok),
            Admit::Pending(_) => None,
        }
    }
}

impl Future for Admit {
    type Output = bool;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        match self.get_mut() {
            Admit::Ready(ok) => Poll::Ready(*ok),
            Admit::Pending(f) => f.as_mut().poll(cx),
        }
    }
}

struct Shared {
    conn: ConnectionManager,
    script: redis::Script,
    /// Counting in Redis is off until this wall-clock ms (after a failure).
    off_until: AtomicU64,
}

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
    redis: Option<Arc<Shared>>,
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
            redis: None,
        }
    }

    /// Cluster mode: count the per-agent limit in Redis too (see the module's text).
    pub fn with_redis(mut self, conn: ConnectionManager) -> Self {
        let script = redis::Script::new(COUNT_SCRIPT);
        self.redis = Some(Arc::new(Shared { conn, script, off_until: AtomicU64::new(0) }));
        self
    }

    /// Admit one call-data query of `agent` (of `vdn`): ready at once in memory mode, or when the
    /// local windows refuse; otherwise a future that counts in Redis (bounded by [`REDIS_BUDGET`]).
    pub fn admit(&self, agent: AgentId, vdn: VdnId, now_ms: u64) -> Admit {
        if !self.admit_local(agent, now_ms) {
            return Admit::Ready(false);
        }
        let Some(redis) = self.redis.clone() else { return Admit::Ready(true) };
        if self.per_agent == 0 || !self.agents.contains_key(&agent) || now_ms < redis.off_until.load(Ordering::Relaxed)
        {
            return Admit::Ready(true);
        }
        let (limit, window_ms) = (u64::from(self.per_agent), self.window_ms);
        let key = format!("ccgw:{{{}}}:rate:calldata:{}:{}", vdn.0, agent.0, now_ms / window_ms);
        Admit::Pending(Box::pin(async move {
            let mut conn = redis.conn.clone();
            let mut count = redis.script.key(key);
            count.arg(window_ms);
            match tokio::time::timeout(REDIS_BUDGET, count.invoke_async::<u64>(&mut conn)).await {
                Ok(Ok(n)) => n <= limit,
                failed => {
                    let why = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".to_owned(),
                    };
                    let until = crate::gateway::now_ms() + REDIS_BACKOFF.as_millis() as u64;
                    if redis.off_until.swap(until, Ordering::Relaxed) < now_ms {
                        tracing::warn!(error = %why, "overload counters: Redis unreachable, counting locally (fail open)");
                    }
                    true
                }
            }
        }))
    }

    /// The node-local windows alone (the memory backend's whole check).
    pub fn admit_local(&self, agent: AgentId, now_ms: u64) -> bool {
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
            assert!(l.admit_local(AgentId(101), 1000));
        }
        assert!(!l.admit_local(AgentId(101), 1999));
        assert!(l.admit_local(AgentId(102), 1999));
        assert!(l.admit_local(AgentId(102), 1999));
        assert!(!l.admit_local(AgentId(102), 1999), "system limit of 7 reached");
        assert!(l.admit_local(AgentId(101), 2000), "a new window starts afresh");
    }

    #[test]
    fn zero_switches_off() {
        let l = CalldataLimiter::new([AgentId(101)], 0, 0, 2000);
        assert!((0..10_000).all(|_| l.admit_local(AgentId(101), 5)));
    }
}

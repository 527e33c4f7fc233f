//! Failed sign-ins: who may still try a password, and who is locked out for a while.
//!
//! The vendor locks an *account* after repeated failures, which lets anyone lock any agent out.
//! Here failures are counted per (agent id, source address), per source address and per agent
//! id; each count decays (a leaky bucket that drains over `failure_window_ms`), and reaching a
//! limit locks out only what it counts:
//!
//! * (agent, source): that source may not try that agent for `lockout_ms`;
//! * source: that source may not try any agent, except agents whose usual source it is;
//! * agent (failures from many sources): nobody may try that agent, except from its usual source.
//!
//! An agent's usual source is the address its password was last right from. Failures from it
//! count only towards the (agent, source) limit, so a stranger's guesses never lock an agent out
//! of its usual source and the agent's own typos never lock out its colleagues behind the same
//! address. Unknown agent ids are counted exactly like provisioned ones (the caller runs a dummy
//! verification for them), so the answers do not tell them apart.
//!
//! Pure: the time comes in as an argument. Bounded: each table holds at most `table_size`
//! entries; when full, entries that have drained are dropped first, then the longest untouched.
//! Entries are only created by a failed verification, which costs the attacker an argon2 run on
//! the gateway's limited verification slots.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

use ccgw_domain::{AgentId, DomainError};

use crate::config::AuthConfig;

/// Where a sign-in comes from: the peer's IPv4 address, or the /64 of an IPv6 address (one host
/// usually holds a whole /64). IPv4-mapped IPv6 addresses count as IPv4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Source(IpAddr);

impl Source {
    pub fn of(ip: Option<IpAddr>) -> Source {
        match ip {
            None => Source(IpAddr::from([0, 0, 0, 0])),
            Some(IpAddr::V4(v4)) => Source(IpAddr::V4(v4)),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Source(IpAddr::V4(v4)),
                None => Source(IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into())),
            },
        }
    }
}

/// The limits (`[auth]`); a limit of 0 switches that count off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub per_pair: u32,
    pub per_source: u32,
    pub per_agent: u32,
    pub window_ms: u64,
    pub lockout_ms: u64,
    pub table_size: usize,
}

impl Limits {
    pub fn from_config(auth: &AuthConfig) -> Self {
        Limits {
            per_pair: auth.max_failed_logins,
            per_source: auth.max_failed_logins_per_source,
            per_agent: auth.max_failed_logins_per_agent,
            window_ms: auth.failure_window_ms,
            lockout_ms: auth.lockout_ms,
            table_size: auth.failure_table_size.max(1),
        }
    }
}

/// A decaying failure count and a lock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counter {
    /// The count drops by one every `window / limit`; it is zero from this time on.
    drained_ms: u64,
    locked_until_ms: u64,
    touched_ms: u64,
}

impl Counter {
    fn locked(&self, now: u64) -> bool {
        self.locked_until_ms > now
    }

    /// Nothing to remember: drained and not locked (as good as absent).
    fn idle(&self, now: u64) -> bool {
        self.drained_ms <= now && !self.locked(now)
    }
}

/// One count per key, at most `cap` keys.
#[derive(Debug)]
struct Table<K> {
    map: HashMap<K, Counter>,
    cap: usize,
}

impl<K: Hash + Eq + Copy> Table<K> {
    fn new(cap: usize) -> Self {
        Table { map: HashMap::new(), cap }
    }

    fn locked(&self, key: &K, now: u64) -> bool {
        self.map.get(key).is_some_and(|c| c.locked(now))
    }

    /// Counts a failure; true when it reached `limit` (the key is then locked and its count
    /// starts again from zero).
    fn fail(&mut self, key: K, limit: u32, limits: &Limits, now: u64) -> bool {
        if limit == 0 {
            return false;
        }
        if !self.map.contains_key(&key) && self.map.len() >= self.cap {
            self.make_room(now);
        }
        let interval = (limits.window_ms / u64::from(limit)).max(1);
        let c = self.map.entry(key).or_default();
        c.touched_ms = now;
        c.drained_ms = c.drained_ms.max(now).saturating_add(interval);
        let count = (c.drained_ms - now).div_ceil(interval);
        if count >= u64::from(limit) {
            c.drained_ms = now;
            c.locked_until_ms = now.saturating_add(limits.lockout_ms);
            return true;
        }
        false
    }

    fn forget(&mut self, key: &K) {
        self.map.remove(key);
    }

    /// Drops what has drained; if the table is still full, the eighth touched longest ago.
    fn make_room(&mut self, now: u64) {
        self.map.retain(|_, c| !c.idle(now));
        if self.map.len() < self.cap {
            return;
        }
        let mut touched: Vec<u64> = self.map.values().map(|c| c.touched_ms).collect();
        let nth = touched.len() / 8;
        let (_, threshold, _) = touched.select_nth_unstable(nth);
        let threshold = *threshold;
        self.map.retain(|_, c| c.touched_ms > threshold);
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// The failure bookkeeping of a gateway.
#[derive(Debug)]
pub struct Lockout {
    limits: Limits,
    pairs: Table<(AgentId, Source)>,
    sources: Table<Source>,
    agents: Table<AgentId>,
    /// Where each agent's password was last right from. Only agents that signed in have an
    /// entry, so this is bounded by the provisioning.
    usual: HashMap<AgentId, Source>,
}

impl Lockout {
    pub fn new(limits: Limits) -> Self {
        Lockout {
            pairs: Table::new(limits.table_size),
            sources: Table::new(limits.table_size),
            agents: Table::new(limits.table_size),
            usual: HashMap::new(),
            limits,
        }
    }

    fn usual(&self, agent: AgentId, source: Source) -> bool {
        self.usual.get(&agent) == Some(&source)
    }

    /// Before the password check: `AccountLocked` when `source` may not try `agent` now.
    pub fn check(&self, agent: AgentId, source: Source, now: u64) -> Result<(), DomainError> {
        if self.pairs.locked(&(agent, source), now) {
            return Err(DomainError::AccountLocked);
        }
        if self.usual(agent, source) {
            return Ok(());
        }
        if self.sources.locked(&source, now) || self.agents.locked(&agent, now) {
            return Err(DomainError::AccountLocked);
        }
        Ok(())
    }

    /// After a wrong password: `WrongPassword`, or `LockedNow` when this failure reached a limit.
    pub fn failed(&mut self, agent: AgentId, source: Source, now: u64) -> DomainError {
        let limits = self.limits;
        let mut locked = self.pairs.fail((agent, source), limits.per_pair, &limits, now);
        if !self.usual(agent, source) {
            locked |= self.sources.fail(source, limits.per_source, &limits, now);
            locked |= self.agents.fail(agent, limits.per_agent, &limits, now);
        }
        if locked { DomainError::LockedNow } else { DomainError::WrongPassword }
    }

    /// After a right password: the source's failures for this agent are forgotten and it becomes
    /// the agent's usual source. (The per-source and per-agent counts stay: a stranger's guesses
    /// keep counting against the stranger.)
    pub fn succeeded(&mut self, agent: AgentId, source: Source) {
        self.pairs.forget(&(agent, source));
        self.usual.insert(agent, source);
    }

    /// Entries held: (pairs, sources, agents, usual sources).
    pub fn sizes(&self) -> (usize, usize, usize, usize) {
        (self.pairs.len(), self.sources.len(), self.agents.len(), self.usual.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    fn limits() -> Limits {
        Limits {
            per_pair: 5,
            per_source: 20,
            per_agent: 12,
            window_ms: 15 * MIN,
            lockout_ms: 10 * MIN,
            table_size: 1000,
        }
    }

    fn src(last: u8) -> Source {
        Source::of(Some(IpAddr::from([10, 0, 0, last])))
    }

    const A: AgentId = AgentId(101);
    const B: AgentId = AgentId(102);

    /// `n` failures of `agent` from `source` at `now`; the answers.
    fn fail_n(l: &mut Lockout, agent: AgentId, source: Source, n: usize, now: u64) -> Vec<DomainError> {
        (0..n)
            .map(|_| match l.check(agent, source, now) {
                Err(e) => e,
                Ok(()) => l.failed(agent, source, now),
            })
            .collect()
    }

    #[test]
    fn a_source_locks_itself_out_of_one_agent_only() {
        let mut l = Lockout::new(limits());
        let answers = fail_n(&mut l, A, src(1), 6, 0);
        use DomainError::*;
        assert_eq!(answers, [WrongPassword, WrongPassword, WrongPassword, WrongPassword, LockedNow, AccountLocked]);
        // Another source may still try A, and the locked source may still try B.
        assert_eq!(l.check(A, src(2), 0), Ok(()));
        assert_eq!(l.check(B, src(1), 0), Ok(()));
        // The lock ends after lockout_ms, with a fresh count.
        assert_eq!(l.check(A, src(1), 10 * MIN - 1), Err(AccountLocked));
        assert_eq!(l.check(A, src(1), 10 * MIN), Ok(()));
        assert_eq!(fail_n(&mut l, A, src(1), 4, 10 * MIN), [WrongPassword; 4]);
    }

    #[test]
    fn failures_age_out() {
        let mut l = Lockout::new(limits());
        // 4 failures, then one every 3 minutes (window / limit): never 5 at once.
        fail_n(&mut l, A, src(1), 4, 0);
        for i in 1..=20 {
            assert_eq!(fail_n(&mut l, A, src(1), 1, i * 3 * MIN), [DomainError::WrongPassword], "failure {i}");
        }
        // A burst is forgotten after the window.
        let mut l = Lockout::new(limits());
        fail_n(&mut l, A, src(1), 4, 0);
        assert_eq!(fail_n(&mut l, A, src(1), 4, 15 * MIN), [DomainError::WrongPassword; 4]);
        // ... but not before: 4 at 0, 1 at 6 min has drained 2, so 3 more lock.
        let mut l = Lockout::new(limits());
        fail_n(&mut l, A, src(1), 4, 0);
        let answers = fail_n(&mut l, A, src(1), 3, 6 * MIN);
        assert_eq!(answers, [DomainError::WrongPassword, DomainError::WrongPassword, DomainError::LockedNow]);
    }

    #[test]
    fn success_forgets_that_sources_failures() {
        let mut l = Lockout::new(limits());
        fail_n(&mut l, A, src(1), 4, 0);
        l.succeeded(A, src(1));
        assert_eq!(fail_n(&mut l, A, src(1), 4, 0), [DomainError::WrongPassword; 4]);
    }

    #[test]
    fn a_source_guessing_many_agents_is_locked_out_of_all_but_its_own() {
        let mut l = Lockout::new(limits());
        l.succeeded(AgentId(999), src(1)); // src(1) is 999's usual source
        let mut answers = Vec::new();
        for i in 0..20 {
            answers.extend(fail_n(&mut l, AgentId(200 + i), src(1), 1, 0));
        }
        assert_eq!(answers[..19], [DomainError::WrongPassword; 19]);
        assert_eq!(answers[19], DomainError::LockedNow);
        assert_eq!(l.check(AgentId(300), src(1), 0), Err(DomainError::AccountLocked));
        // Its own agent still signs in from there; other sources are not affected.
        assert_eq!(l.check(AgentId(999), src(1), 0), Ok(()));
        assert_eq!(l.check(AgentId(300), src(2), 0), Ok(()));
    }

    #[test]
    fn many_sources_lock_an_agent_for_all_but_its_usual_source() {
        let mut l = Lockout::new(limits());
        l.succeeded(A, src(100));
        // 3 sources x 4 failures = 12 = per_agent.
        let mut answers = Vec::new();
        for s in 1..=3 {
            answers.extend(fail_n(&mut l, A, src(s), 4, 0));
        }
        assert_eq!(answers[11], DomainError::LockedNow);
        assert!(answers[..11].iter().all(|e| *e == DomainError::WrongPassword));
        assert_eq!(l.check(A, src(50), 0), Err(DomainError::AccountLocked));
        // The agent's usual source is not refused for the strangers' guesses.
        assert_eq!(l.check(A, src(100), 0), Ok(()));
        // Other agents are not affected.
        assert_eq!(l.check(B, src(50), 0), Ok(()));
    }

    #[test]
    fn typos_from_the_usual_source_count_only_for_that_agent() {
        let mut l = Lockout::new(Limits { per_source: 3, per_agent: 3, ..limits() });
        for i in 0..10 {
            let agent = AgentId(200 + i);
            l.succeeded(agent, src(1));
            assert_eq!(fail_n(&mut l, agent, src(1), 2, 0), [DomainError::WrongPassword; 2]);
        }
        // The shared address is not locked for a new agent, nor any agent from elsewhere.
        assert_eq!(l.check(AgentId(500), src(1), 0), Ok(()));
        assert_eq!(l.check(AgentId(200), src(2), 0), Ok(()));
    }

    #[test]
    fn zero_switches_a_limit_off() {
        let mut l = Lockout::new(Limits { per_pair: 0, per_source: 0, per_agent: 0, ..limits() });
        assert_eq!(fail_n(&mut l, A, src(1), 100, 0), [DomainError::WrongPassword; 100]);
        assert_eq!(l.sizes(), (0, 0, 0, 0));
    }

    #[test]
    fn tables_stay_bounded() {
        let mut l = Lockout::new(Limits { table_size: 64, per_source: 0, per_agent: 0, ..limits() });
        // An attacker rotating agent ids and addresses: one failure each, at one instant.
        for i in 0..10_000u32 {
            let source = Source::of(Some(IpAddr::from(i.to_be_bytes())));
            l.failed(AgentId(101 + i), source, u64::from(i));
            let (pairs, ..) = l.sizes();
            assert!(pairs <= 64, "{pairs} entries");
        }
        // A lock taken just now survives the eviction of older entries.
        let mut l = Lockout::new(Limits { table_size: 64, ..limits() });
        fail_n(&mut l, A, src(1), 5, 1_000);
        for i in 0..200u32 {
            l.failed(AgentId(1000 + i), Source::of(Some(IpAddr::from((i + 256).to_be_bytes()))), u64::from(i));
        }
        assert!(l.sizes().0 <= 64);
        assert_eq!(l.check(A, src(1), 1_000), Err(DomainError::AccountLocked));
        // Drained entries are dropped first.
        let mut l = Lockout::new(Limits { table_size: 16, ..limits() });
        for i in 0..16u32 {
            l.failed(AgentId(101 + i), src(1), 0);
        }
        l.failed(A, src(2), 15 * MIN);
        assert_eq!(l.sizes().0, 1);
    }

    #[test]
    fn ipv6_sources_are_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Source::of(Some(a)), Source::of(Some(b)));
        assert_ne!(Source::of(Some(a)), Source::of(Some(c)));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(Source::of(Some(mapped)), src(1));
    }
}

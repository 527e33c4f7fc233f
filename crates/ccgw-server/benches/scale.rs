//! Costs that must not grow with the size of a VDN: the ACD's routing of a call and the
//! housekeeping tick, each measured with the old full scans (the engine's `scan` mode, the old
//! heartbeat scan) and with the indexes and timers, in the same run, in VDNs of 1 000, 10 000
//! and 50 000 agents.
//!
//! `cargo bench -p ccgw-server --bench scale [-- SIZES…]` (release profile). Single-threaded: the
//! times are CPU time per operation. See docs/benchmarks.md.

use std::hint::black_box;
use std::time::Instant;

use ccgw_domain::{
    AgentId, CallId, Ctx, Directory, InitialState, Policy, SignInOptions, SkillId, VdnId, VdnState, cmd,
};
use ccgw_server::heartbeat::HeartbeatTimers;
use ccgw_store::{MemoryStore, Store};

const VDN: VdnId = VdnId(1);
const SKILL: SkillId = SkillId(1);
const T0: u64 = 1_700_000_000_000;

struct Clock {
    now: u64,
    seq: u64,
}

impl Clock {
    fn run<R>(&mut self, st: &mut VdnState, f: impl FnOnce(&mut VdnState, &mut Ctx) -> R) -> R {
        let seq = &mut self.seq;
        let mut ids = |secs| {
            *seq += 1;
            CallId { secs, seq: *seq }
        };
        let mut ctx = Ctx::new(self.now, &mut ids);
        f(st, &mut ctx)
    }
}

fn options() -> SignInOptions {
    SignInOptions {
        phone: String::new(),
        auto_answer: true,
        auto_enter_idle: true,
        release_phone: true,
        initial: InitialState::Idle,
    }
}

/// A VDN of `n` agents of one skill, all signed in and idle.
fn site(n: u32, scan: bool) -> (VdnState, Clock) {
    let dir = Directory::synthetic(VDN, &[(SKILL, n)]);
    let mut st = VdnState::new(VDN, &dir, Policy::default());
    st.set_scan_mode(scan);
    let mut clock = Clock { now: T0, seq: 0 };
    let ids: Vec<AgentId> = st.agents.keys().copied().collect();
    for id in ids {
        clock.now += 1;
        clock.run(&mut st, |st, ctx| st.sign_in(ctx, id, options(), format!("g{}", id.0), false)).unwrap();
    }
    (st, clock)
}

/// Microseconds per routed call: a customer call arrives, the ACD offers it to the longest-idle
/// agent (who answers at once), the customer hangs up, the agent is idle again.
fn route(n: u32, scan: bool, calls: u32) -> f64 {
    let (mut st, mut clock) = site(n, scan);
    let started = Instant::now();
    for i in 0..calls {
        clock.now += 10;
        let caller = format!("139{i:08}");
        let call = clock.run(&mut st, |st, ctx| st.customer_call(ctx, &caller, "5000", SKILL, String::new())).unwrap();
        clock.now += 10;
        clock.run(&mut st, |st, ctx| st.remote_hung_up(ctx, call, &caller));
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / f64::from(calls);
    assert!(st.calls.is_empty());
    black_box(&st);
    per
}

/// Microseconds per engine tick (every 200 ms) with a tenth of the agents in a call and nothing
/// due: what the tick costs when it has nothing to do.
fn tick(n: u32, scan: bool, ticks: u32) -> f64 {
    let (mut st, mut clock) = site(n, scan);
    for i in 0..n / 10 {
        clock.now += 1;
        let caller = format!("139{i:08}");
        clock.run(&mut st, |st, ctx| st.customer_call(ctx, &caller, "5000", SKILL, String::new())).unwrap();
    }
    let started = Instant::now();
    for _ in 0..ticks {
        clock.now += 200;
        clock.run(&mut st, |st, ctx| st.tick(ctx));
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / f64::from(ticks);
    assert_eq!(st.calls.len(), (n / 10) as usize);
    per
}

/// Microseconds per heartbeat check (every 200 ms, 120 s time-out, every agent polling), with
/// the old scan of the VDN's agents (read lock, one heartbeat stamp per signed-in agent) or the
/// timers (the due ones, re-armed). Simulated over two time-outs.
fn heartbeat(n: u32, scan: bool) -> f64 {
    const TIMEOUT: u64 = 120_000;
    let dir = Directory::synthetic(VDN, &[(SKILL, n)]);
    let store = MemoryStore::new(&dir, Policy::default(), 100);
    let ids: Vec<AgentId> = dir.agents_of(VDN).iter().map(|a| a.id).collect();
    let mut timers = HeartbeatTimers::default();
    let mut now = T0;
    for &id in &ids {
        let sign_in = cmd::SignIn { agent: id, options: options(), guid: format!("g{}", id.0), force: false };
        ready_now(store.submit(VDN, now, sign_in)).unwrap();
    }
    // Sign-ins spread over a time-out, as on a real site.
    for (i, &id) in ids.iter().enumerate() {
        let at = now + i as u64 * TIMEOUT / u64::from(n);
        store.touch(id, at);
        timers.arm(id, at, TIMEOUT);
    }
    now += TIMEOUT;
    let ticks = (2 * TIMEOUT / 200) as u32;
    let mut elapsed = 0.0;
    let mut expired = 0usize;
    for _ in 0..ticks {
        now += 200;
        // The agents poll: a touch per agent per tick (not timed; the same in both).
        for &id in &ids {
            store.touch(id, now);
        }
        let started = Instant::now();
        let cutoff = now - TIMEOUT;
        if scan {
            let stale: Vec<AgentId> = store
                .read(VDN, |s| {
                    s.agents
                        .iter()
                        .filter(|(id, a)| a.session.is_some() && store.last_seen(**id).unwrap_or(0) < cutoff)
                        .map(|(id, _)| *id)
                        .collect()
                })
                .unwrap();
            expired += stale.len();
        } else {
            expired += timers.due(now, TIMEOUT, |a| store.last_seen(a).unwrap_or(0)).len();
        }
        elapsed += started.elapsed().as_secs_f64();
    }
    assert_eq!(expired, 0);
    elapsed * 1e6 / f64::from(ticks)
}

fn main() {
    let sizes: Vec<u32> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1_000, 10_000, 50_000] } else { sizes };
    println!("{:>7}  {:<34} {:>12} {:>12} {:>8}", "agents", "measure", "scan µs", "index µs", "ratio");
    for n in sizes {
        let calls = (20_000_000 / n).clamp(200, 20_000);
        let rows = [
            ("ACD: route one call", route(n, true, calls), route(n, false, calls)),
            ("engine tick, nothing due", tick(n, true, 1000), tick(n, false, 1000)),
            ("heartbeat check per tick", heartbeat(n, true), heartbeat(n, false)),
        ];
        for (what, old, new) in rows {
            println!("{n:>7}  {what:<34} {old:>12.3} {new:>12.3} {:>8.1}", old / new);
        }
    }
}

/// The store's writes are futures; the memory store's are ready at the first poll.
fn ready_now<T>(future: impl std::future::Future<Output = T>) -> T {
    ccgw_store::poll_now(future).expect("a memory store write is ready at once")
}

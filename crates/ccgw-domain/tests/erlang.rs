//! The engine as an M/M/c queue, checked against Erlang C.
//!
//! c = 50 agents of one skill answer (auto-answer, back to idle after each call) customer calls
//! that arrive as a Poisson stream; handle times are exponential (mean 180 s). Ten more agents
//! of another skill stand by: an ACD that offers a call to an agent without its skill gets extra
//! capacity and fails the check. The clock is simulated (a discrete-event loop hands the engine
//! its time through `Ctx`), so a run of 400 000 calls takes seconds.
//!
//! What is compared: the mean wait (arrival to `Talking`) and the service level (share of calls
//! answered within 20 s) with Erlang C's, by **batch means**: after a warm-up of 5 000 calls, the
//! next calls (by arrival) form 20 batches (of 5 000 calls at 80 % occupancy, 10 000 at 90 %,
//! 20 000 at 95 %, where waits are longer and more correlated); the interval is the batches' mean ±
//! t(0.995, 19) · s/√20 — a two-sided 99 % confidence interval. The RNG is seeded: a run is
//! reproducible. The test fails when the theory's value lies outside the interval; the tests at
//! the end show that it does for a deliberately broken ACD.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use ccgw_domain::engine::AcdFault;
use ccgw_domain::{
    AgentId, CallId, Ctx, Directory, EventKind, InitialState, Policy, SignInOptions, SkillId, VdnId, VdnState,
};

// ----- Erlang C --------------------------------------------------------------------------------

/// Erlang B: the blocking probability of `c` servers offered `a` erlangs (the stable recursion
/// B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1))).
fn erlang_b(c: u32, a: f64) -> f64 {
    (1..=c).fold(1.0, |b, k| a * b / (f64::from(k) + a * b))
}

/// Erlang C: the probability that a call waits, for `c` agents offered `a` erlangs (a < c):
/// C = c·B / (c − a·(1 − B)).
fn erlang_c(c: u32, a: f64) -> f64 {
    let b = erlang_b(c, a);
    f64::from(c) * b / (f64::from(c) - a * (1.0 - b))
}

/// Mean wait (seconds) and the share answered within `t` seconds of an M/M/c queue.
fn mmc(c: u32, lambda: f64, mean_handle_s: f64, t: f64) -> (f64, f64) {
    let a = lambda * mean_handle_s;
    let pw = erlang_c(c, a);
    let rate = (f64::from(c) - a) / mean_handle_s;
    (pw / rate, 1.0 - pw * (-rate * t).exp())
}

#[test]
fn erlang_c_matches_published_values() {
    // Erlang B tables: 10 erlangs on 10 lines block 21.46 % of calls.
    assert!((erlang_b(10, 10.0) - 0.2146).abs() < 5e-5, "{}", erlang_b(10, 10.0));
    // M/M/2 with a = 1: P(wait) = 2ρ²/(1 + ρ) = 1/3 (ρ = 1/2).
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    // M/M/1: P(wait) = ρ.
    assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
    // The classic worked example of the Erlang-C formula (360 calls per half hour, 240 s handle
    // time, 55 agents: 48 erlangs): P(wait) 0.2387, average speed of answer 8.2 s, 84.6 % of calls
    // answered within 15 s. (These figures were checked here with an independent computation,
    // the Erlang B recursion B(k) = aB(k-1)/(k + aB(k-1)) in Python, not against the published
    // page, which was not at hand.)
    let (asa, sl) = mmc(55, 360.0 / 1800.0, 240.0, 15.0);
    assert!((erlang_c(55, 48.0) - 0.2387).abs() < 5e-5, "{}", erlang_c(55, 48.0));
    assert!((asa - 8.2).abs() < 0.05, "{asa}");
    assert!((sl - 0.846).abs() < 5e-4, "{sl}");
}

// ----- the simulation --------------------------------------------------------------------------

const VDN: VdnId = VdnId(1);
const SKILL: SkillId = SkillId(1);
const OTHER: SkillId = SkillId(2);
const AGENTS: u32 = 50;
const MEAN_HANDLE_S: f64 = 180.0;
const TARGET_S: f64 = 20.0;
const WARM_UP: usize = 5_000;
const BATCHES: usize = 20;
/// t(0.995, 19): the two-sided 99 % quantile of Student's t with 19 degrees of freedom.
const T_99_19: f64 = 2.861;

/// splitmix64: small, seeded, good enough for exponential variates.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Exponential with the given mean, in whole microseconds.
    fn exp_us(&mut self, mean_s: f64) -> u64 {
        (-self.unit().ln() * mean_s * 1e6).round() as u64
    }
}

enum Next {
    Arrival,
    HangUp(CallId, String),
}

/// The simulation's future, earliest first (ties in the order scheduled).
#[derive(Default)]
struct Future {
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    what: BTreeMap<u64, Next>,
    order: u64,
}

impl Future {
    fn at(&mut self, at_us: u64, what: Next) {
        self.order += 1;
        self.heap.push(Reverse((at_us, self.order)));
        self.what.insert(self.order, what);
    }

    fn next(&mut self) -> (u64, Next) {
        let Reverse((at, key)) = self.heap.pop().expect("something left to happen");
        (at, self.what.remove(&key).expect("scheduled"))
    }
}

/// Interval estimate from batch means: (mean, half-width).
fn interval(batches: &[f64]) -> (f64, f64) {
    let n = batches.len() as f64;
    let mean = batches.iter().sum::<f64>() / n;
    let var = batches.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, T_99_19 * (var / n).sqrt())
}

struct Measured {
    wait: (f64, f64),
    service_level: (f64, f64),
}

/// Run the engine as an M/M/c queue at `occupancy`; the batch means of wait and service level.
fn simulate(occupancy: f64, batch: usize, seed: u64, fault: Option<AcdFault>) -> Measured {
    let dir = Directory::synthetic(VDN, &[(SKILL, AGENTS), (OTHER, 10)]);
    let mut st = VdnState::new(VDN, &dir, Policy::default());
    st.set_fault(fault);
    let mut rng = Rng(seed);
    let mean_gap_s = MEAN_HANDLE_S / (occupancy * f64::from(AGENTS));
    // The engine counts milliseconds; the simulation keeps microseconds (no rounding bias).
    let mut now_us: u64 = 1_700_000_000_000_000;
    let mut seq = 0u64;
    let mut ids = |secs| {
        seq += 1;
        CallId { secs, seq }
    };
    let total = WARM_UP + BATCHES * batch;
    let mut future = Future::default();
    for id in st.agents.keys().copied().collect::<Vec<AgentId>>() {
        let opts = SignInOptions {
            phone: String::new(),
            auto_answer: true,
            auto_enter_idle: true,
            release_phone: true,
            initial: InitialState::Idle,
        };
        let mut ctx = Ctx::new(now_us / 1000, &mut ids);
        st.sign_in(&mut ctx, id, opts, format!("g{}", id.0), false).expect("sign-in");
    }
    future.at(now_us + rng.exp_us(mean_gap_s), Next::Arrival);
    let mut arrived = 0usize;
    // Arrival order and arrival time (µs) of each call not yet answered.
    let mut waiting: BTreeMap<CallId, (usize, u64)> = BTreeMap::new();
    let mut waits_s = vec![f64::NAN; total];
    let mut answered = 0usize;
    while answered < total {
        let (at, what) = future.next();
        now_us = at;
        let mut ctx = Ctx::new(now_us / 1000, &mut ids);
        match what {
            Next::Arrival => {
                let caller = format!("139{arrived:08}");
                let call = st.customer_call(&mut ctx, &caller, "5000", SKILL, String::new()).expect("call");
                waiting.insert(call, (arrived, now_us));
                arrived += 1;
                if arrived < total {
                    future.at(now_us + rng.exp_us(mean_gap_s), Next::Arrival);
                }
            }
            Next::HangUp(call, caller) => st.remote_hung_up(&mut ctx, call, &caller),
        }
        let events = std::mem::take(&mut ctx.events);
        drop(ctx);
        for e in events {
            if let EventKind::Talking { call, caller, .. } = e.kind {
                let (n, since_us) = waiting.remove(&call).expect("a call answered once");
                if fault.is_none() {
                    assert_eq!(st.agent(e.agent).unwrap().profile.skills, [SKILL], "answered by {:?}", e.agent);
                }
                waits_s[n] = (now_us - since_us) as f64 / 1e6;
                answered += 1;
                future.at(now_us + rng.exp_us(MEAN_HANDLE_S), Next::HangUp(call, caller));
            }
        }
    }
    let batches: Vec<&[f64]> = waits_s[WARM_UP..].chunks(batch).collect();
    let mean_wait: Vec<f64> = batches.iter().map(|b| b.iter().sum::<f64>() / b.len() as f64).collect();
    let within: Vec<f64> =
        batches.iter().map(|b| b.iter().filter(|w| **w <= TARGET_S).count() as f64 / b.len() as f64).collect();
    Measured { wait: interval(&mean_wait), service_level: interval(&within) }
}

/// Whether the theory lies within the run's intervals; the report says by how much.
fn check(occupancy: f64, batch: usize, seed: u64, fault: Option<AcdFault>) -> Result<String, String> {
    let m = simulate(occupancy, batch, seed, fault);
    let lambda = occupancy * f64::from(AGENTS) / MEAN_HANDLE_S;
    let (wait, sl) = mmc(AGENTS, lambda, MEAN_HANDLE_S, TARGET_S);
    let report = format!(
        "occupancy {occupancy}: mean wait {:.2} ± {:.2} s (Erlang C {wait:.2} s), answered within 20 s {:.4} ± {:.4} \
         (Erlang C {sl:.4})",
        m.wait.0, m.wait.1, m.service_level.0, m.service_level.1
    );
    let inside = (m.wait.0 - wait).abs() <= m.wait.1 && (m.service_level.0 - sl).abs() <= m.service_level.1;
    if inside { Ok(report) } else { Err(report) }
}

#[test]
fn the_acd_is_an_mmc_queue_at_80_percent() {
    let r = check(0.80, 5_000, 0x5EED_0080, None);
    eprintln!("{r:?}");
    r.unwrap();
}

#[test]
fn the_acd_is_an_mmc_queue_at_90_percent() {
    let r = check(0.90, 10_000, 0x5EED_0090, None);
    eprintln!("{r:?}");
    r.unwrap();
}

#[test]
fn the_acd_is_an_mmc_queue_at_95_percent() {
    let r = check(0.95, 20_000, 0x5EED_0095, None);
    eprintln!("{r:?}");
    r.unwrap();
}

#[test]
fn an_acd_that_picks_agents_without_the_skill_fails() {
    let r = check(0.95, 10_000, 0x5EED_0095, Some(AcdFault::AnySkill));
    eprintln!("{r:?}");
    assert!(r.is_err(), "the check passed a broken ACD: {r:?}");
}

#[test]
fn an_acd_that_skips_queued_calls_fails() {
    let r = check(0.95, 10_000, 0x5EED_0095, Some(AcdFault::NewestFirst));
    eprintln!("{r:?}");
    assert!(r.is_err(), "the check passed a broken ACD: {r:?}");
}

//! Traffic statistics for the wallboard: per skill, the customer calls offered, answered,
//! answered within the service-level threshold and abandoned, counted per fixed interval (a ring
//! of [`MAX_INTERVALS`]) and over a rolling window (a ring of [`WINDOW_BUCKETS`] buckets). The
//! live side (calls waiting, the longest wait now, agents by state) is read from the state itself
//! ([`VdnState::board`]).
//!
//! Counting costs O(1) per event (the newest ring entry, a map over the VDN's few skills) and the
//! memory is bounded by the rings, whatever the traffic. No clock: the time of every event comes
//! in with it (`Ctx::now_ms`), and a view is taken at a time given by the caller.
//!
//! What counts: a customer call (`customer_call`) is *offered* to its skill when it arrives;
//! *answered* when an agent first takes it (its wait, from arrival to answer, decides whether it
//! was answered *in time*: at most `service_level_ms`); *abandoned* when it ends before anyone
//! answered it (the customer hung up while it waited or rang). Outcomes count in the interval in
//! which they happen, to the call's skill at that moment. The service level is the share of
//! calls answered in time among the calls with an outcome (answered + abandoned).

use std::collections::{BTreeMap, VecDeque};

use super::VdnState;
use crate::agent::AgentStateCode;
use crate::ids::SkillId;

/// Intervals kept (96 × 15 min = one day at the default interval).
pub const MAX_INTERVALS: usize = 96;
/// Buckets of the rolling window (each `window_ms / WINDOW_BUCKETS` long).
pub const WINDOW_BUCKETS: usize = 30;

/// How the statistics are cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrafficPolicy {
    /// A call answered within this wait (ms) counts towards the service level.
    pub service_level_ms: u64,
    /// Length of a reporting interval (ms).
    pub interval_ms: u64,
    /// Length of the rolling window, "now" (ms).
    pub window_ms: u64,
}

impl Default for TrafficPolicy {
    fn default() -> Self {
        TrafficPolicy { service_level_ms: 20_000, interval_ms: 15 * 60_000, window_ms: 5 * 60_000 }
    }
}

/// Counts of one skill over one span of time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Counters {
    pub offered: u32,
    pub answered: u32,
    /// Of the answered, those answered within the service-level threshold.
    pub answered_in_time: u32,
    pub abandoned: u32,
}

impl Counters {
    pub fn add(&mut self, other: &Counters) {
        self.offered += other.offered;
        self.answered += other.answered;
        self.answered_in_time += other.answered_in_time;
        self.abandoned += other.abandoned;
    }

    /// Answered in time per thousand calls with an outcome; `None` when none had one.
    pub fn service_level_permille(&self) -> Option<u32> {
        let done = u64::from(self.answered) + u64::from(self.abandoned);
        (done > 0).then(|| (u64::from(self.answered_in_time) * 1000 / done) as u32)
    }
}

/// The counts of one span (an interval or a window bucket), per skill.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Span {
    /// Start of the span (ms since the epoch, a multiple of the span's length).
    pub start_ms: u64,
    pub skills: BTreeMap<SkillId, Counters>,
}

impl Span {
    /// All skills together.
    pub fn total(&self) -> Counters {
        let mut t = Counters::default();
        for c in self.skills.values() {
            t.add(c);
        }
        t
    }
}

/// A ring of consecutive spans of one length, newest last.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Ring {
    span_ms: u64,
    cap: usize,
    spans: VecDeque<Span>,
}

impl Ring {
    fn new(span_ms: u64, cap: usize) -> Self {
        Ring { span_ms: span_ms.max(1), cap, spans: VecDeque::with_capacity(cap) }
    }

    fn start_of(&self, now_ms: u64) -> u64 {
        now_ms - now_ms % self.span_ms
    }

    /// The counters of `skill` in the span that holds `now_ms` (a time before the newest span,
    /// should the caller's clock step back, counts in the newest).
    fn at(&mut self, now_ms: u64, skill: SkillId) -> &mut Counters {
        let start = self.start_of(now_ms);
        if self.spans.back().is_none_or(|s| s.start_ms < start) {
            if self.spans.len() == self.cap {
                self.spans.pop_front();
            }
            self.spans.push_back(Span { start_ms: start, skills: BTreeMap::new() });
        }
        let newest = self.spans.back_mut().expect("a span was just ensured");
        newest.skills.entry(skill).or_default()
    }

    /// The last `n` spans up to the one holding `now_ms`, oldest first, with empty spans where
    /// nothing happened.
    fn last(&self, now_ms: u64, n: usize) -> Vec<Span> {
        let current = self.start_of(now_ms);
        let n = n.min(self.cap) as u64;
        let first = current.saturating_sub((n.max(1) - 1) * self.span_ms);
        let mut out = Vec::with_capacity(n as usize);
        let mut start = first;
        while start <= current {
            let skills = self.spans.iter().find(|s| s.start_ms == start).map(|s| s.skills.clone()).unwrap_or_default();
            out.push(Span { start_ms: start, skills });
            start += self.span_ms;
        }
        out
    }

    /// Everything counted in the last `cap` spans up to the one holding `now_ms`, per skill.
    fn sum(&self, now_ms: u64) -> BTreeMap<SkillId, Counters> {
        let current = self.start_of(now_ms);
        let oldest = current.saturating_sub((self.cap as u64 - 1) * self.span_ms);
        let mut out: BTreeMap<SkillId, Counters> = BTreeMap::new();
        for s in self.spans.iter().filter(|s| s.start_ms >= oldest && s.start_ms <= current) {
            for (k, c) in &s.skills {
                out.entry(*k).or_default().add(c);
            }
        }
        out
    }
}

/// The traffic statistics of one VDN.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Traffic {
    pub policy: TrafficPolicy,
    intervals: Ring,
    window: Ring,
}

impl Traffic {
    pub fn new(policy: TrafficPolicy) -> Self {
        let bucket = (policy.window_ms / WINDOW_BUCKETS as u64).max(1);
        Traffic {
            policy,
            intervals: Ring::new(policy.interval_ms, MAX_INTERVALS),
            window: Ring::new(bucket, WINDOW_BUCKETS),
        }
    }

    fn count(&mut self, now_ms: u64, skill: SkillId, f: impl Fn(&mut Counters)) {
        f(self.intervals.at(now_ms, skill));
        f(self.window.at(now_ms, skill));
    }

    pub(super) fn offered(&mut self, now_ms: u64, skill: SkillId) {
        self.count(now_ms, skill, |c| c.offered += 1);
    }

    pub(super) fn answered(&mut self, now_ms: u64, skill: SkillId, wait_ms: u64) {
        let in_time = wait_ms <= self.policy.service_level_ms;
        self.count(now_ms, skill, |c| {
            c.answered += 1;
            c.answered_in_time += u32::from(in_time);
        });
    }

    pub(super) fn abandoned(&mut self, now_ms: u64, skill: SkillId) {
        self.count(now_ms, skill, |c| c.abandoned += 1);
    }

    /// The last `n` intervals (at most [`MAX_INTERVALS`]) up to the current one, oldest first.
    pub fn intervals(&self, now_ms: u64, n: usize) -> Vec<Span> {
        self.intervals.last(now_ms, n)
    }

    /// The rolling window ending now, per skill (skills with no traffic are absent).
    pub fn window(&self, now_ms: u64) -> BTreeMap<SkillId, Counters> {
        self.window.sum(now_ms)
    }

    /// Spans held (intervals, window buckets): the memory bound, for tests.
    #[doc(hidden)]
    pub fn retained(&self) -> (usize, usize) {
        (self.intervals.spans.len(), self.window.spans.len())
    }
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic::new(TrafficPolicy::default())
    }
}

/// Signed-in agents by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateCounts {
    pub idle: usize,
    pub busy: usize,
    /// In a call (ringing, talking or holding; `PreRest` too).
    pub talking: usize,
    /// Wrap-up (after-call work).
    pub work: usize,
    pub rest: usize,
}

impl StateCounts {
    fn count(&mut self, code: AgentStateCode) {
        match code {
            AgentStateCode::Idle => self.idle += 1,
            AgentStateCode::Busy => self.busy += 1,
            AgentStateCode::Talking | AgentStateCode::PreRest => self.talking += 1,
            AgentStateCode::Work => self.work += 1,
            AgentStateCode::Rest => self.rest += 1,
            AgentStateCode::SignedOut => {}
        }
    }

    pub fn signed_in(&self) -> usize {
        self.idle + self.busy + self.talking + self.work + self.rest
    }
}

/// One skill on the wallboard, now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkillBoard {
    pub skill: SkillId,
    pub name: String,
    /// Calls waiting in the queue.
    pub waiting: usize,
    /// How long the longest-waiting call has waited (ms; 0 when none waits).
    pub longest_wait_ms: u64,
    /// Agents signed in to the skill, by state.
    pub agents: StateCounts,
    /// The rolling window's counts.
    pub window: Counters,
}

/// The wallboard's view of one VDN at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Board {
    /// Signed-in agents of the VDN by state.
    pub agents: StateCounts,
    pub skills: Vec<SkillBoard>,
    /// The rolling window, all skills together.
    pub window: Counters,
    /// The last intervals, oldest first.
    pub intervals: Vec<Span>,
}

impl VdnState {
    /// The wallboard's view at `now_ms` with the last `intervals` intervals. Reads every signed-in
    /// agent once (O(agents + waiting calls)): meant for a periodic snapshot, not per event.
    pub fn board(&self, now_ms: u64, intervals: usize) -> Board {
        let mut agents = StateCounts::default();
        let mut per_skill: BTreeMap<SkillId, StateCounts> = BTreeMap::new();
        for a in self.agents.values() {
            let Some(s) = &a.session else { continue };
            let code = s.state_code();
            agents.count(code);
            for k in &s.active_skills {
                per_skill.entry(*k).or_default().count(code);
            }
        }
        let window = self.traffic.window(now_ms);
        let skills = self
            .skills
            .values()
            .map(|sk| {
                let queued = self.queues.get(&sk.id);
                let longest_wait_ms = queued
                    .into_iter()
                    .flatten()
                    .filter_map(|c| self.calls.get(c)?.queued_since_ms)
                    .map(|t| now_ms.saturating_sub(t))
                    .max()
                    .unwrap_or(0);
                SkillBoard {
                    skill: sk.id,
                    name: sk.name.clone(),
                    waiting: queued.map_or(0, |q| q.len()),
                    longest_wait_ms,
                    agents: per_skill.get(&sk.id).copied().unwrap_or_default(),
                    window: window.get(&sk.id).copied().unwrap_or_default(),
                }
            })
            .collect();
        let mut total = Counters::default();
        for c in window.values() {
            total.add(c);
        }
        Board { agents, skills, window: total, intervals: self.traffic.intervals(now_ms, intervals) }
    }
}

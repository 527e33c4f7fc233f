//! The wallboard's traffic statistics: offered / answered / answered in time / abandoned per
//! skill, per interval and over the rolling window, and the live board (queue, longest wait,
//! agents by state).

mod common;

use ccgw_domain::engine::{MAX_INTERVALS, StateCounts};
use ccgw_domain::{AgentId, Counters, Policy, TrafficPolicy};
use common::*;

const MINUTE: u64 = 60_000;

/// Intervals of one minute and a two-minute window, so that a test can cross both; the clock
/// starts on an interval boundary.
fn harness() -> Harness {
    let traffic = TrafficPolicy { service_level_ms: 20_000, interval_ms: MINUTE, window_ms: 2 * MINUTE };
    let mut h = Harness::with_policy(Policy { traffic, ..Policy::default() });
    h.now -= h.now % MINUTE;
    h
}

fn counts(offered: u32, answered: u32, answered_in_time: u32, abandoned: u32) -> Counters {
    Counters { offered, answered, answered_in_time, abandoned }
}

#[test]
fn answered_in_time_late_and_abandoned_calls_are_counted_per_skill_interval_and_window() {
    let mut h = harness();
    let start = h.now;
    h.sign_in(101);
    // A: rings 101 at once, answered after 5 s (in time).
    let (a, _) = h.customer("13800000001");
    h.advance(5_000);
    h.ok(|st, ctx| st.answer(ctx, AgentId(101), Some(a)));
    // B arrives while 101 talks and waits 30 s; C arrives 10 s later.
    h.advance(1_000);
    let (b, _) = h.customer("13800000002");
    h.advance(10_000);
    let (c, _) = h.customer("13800000003");
    let board = h.st.board(h.now, 1);
    assert_eq!(board.skills.len(), 1);
    assert_eq!(board.skills[0].waiting, 2);
    assert_eq!(board.skills[0].longest_wait_ms, 10_000);
    assert_eq!(board.skills[0].agents, StateCounts { talking: 1, ..StateCounts::default() });
    assert_eq!(board.agents, StateCounts { talking: 1, ..StateCounts::default() });
    // C's customer gives up after 8 s: abandoned.
    h.advance(8_000);
    h.run(|st, ctx| st.remote_hung_up(ctx, c, "13800000003"));
    assert_eq!(h.st.board(h.now, 1).skills[0].waiting, 1);
    // 101 ends A at 36 s after the start: B (waiting 30 s) rings at once; answered 2 s later, late.
    h.advance(12_000);
    h.ok(|st, ctx| st.release(ctx, AgentId(101)));
    assert_eq!(h.calls_of(101), vec![b]);
    h.advance(2_000);
    h.ok(|st, ctx| st.answer(ctx, AgentId(101), Some(b)));
    assert_eq!(h.now - start, 38_000);

    let board = h.st.board(h.now, 2);
    let want = counts(3, 2, 1, 1);
    assert_eq!(board.window, want);
    assert_eq!(board.skills[0].window, want);
    assert_eq!(board.skills[0].waiting, 0);
    assert_eq!(board.skills[0].longest_wait_ms, 0);
    // One in time of three with an outcome.
    assert_eq!(want.service_level_permille(), Some(333));
    // Two intervals asked for: the one before the start (empty) and the current one.
    assert_eq!(board.intervals.len(), 2);
    assert_eq!(board.intervals[0].start_ms, start - MINUTE);
    assert_eq!(board.intervals[0].total(), Counters::default());
    assert_eq!(board.intervals[1].start_ms, start);
    assert_eq!(board.intervals[1].skills.get(&SKILL), Some(&want));

    // The next minute: a new interval; the window still holds everything.
    h.advance(MINUTE);
    let (d, _) = h.customer("13800000004");
    h.advance(1_000);
    h.run(|st, ctx| st.remote_hung_up(ctx, d, "13800000004"));
    let board = h.st.board(h.now, 3);
    assert_eq!(
        board.intervals.iter().map(|i| i.start_ms).collect::<Vec<_>>(),
        vec![start - MINUTE, start, start + MINUTE]
    );
    assert_eq!(board.intervals[1].total(), want);
    assert_eq!(board.intervals[2].total(), counts(1, 0, 0, 1));
    assert_eq!(board.window, counts(4, 2, 1, 2));
    assert_eq!(board.window.service_level_permille(), Some(250));

    // Two minutes later, the window has rolled past all of it; the intervals remain.
    h.advance(2 * MINUTE);
    let board = h.st.board(h.now, 4);
    assert_eq!(board.window, Counters::default());
    assert_eq!(board.window.service_level_permille(), None);
    assert_eq!(
        board.intervals.iter().map(|i| i.start_ms).collect::<Vec<_>>(),
        vec![start, start + MINUTE, start + 2 * MINUTE, start + 3 * MINUTE]
    );
    assert_eq!(board.intervals[0].total(), want);
    assert_eq!(board.intervals[1].total(), counts(1, 0, 0, 1));
    assert_eq!(board.intervals[3].total(), Counters::default());
}

/// Exactly at the threshold is in time; one millisecond beyond is not.
#[test]
fn the_threshold_is_inclusive() {
    let mut h = harness();
    h.sign_in(101);
    let (a, _) = h.customer("13800000001");
    h.advance(20_000);
    h.ok(|st, ctx| st.answer(ctx, AgentId(101), Some(a)));
    h.ok(|st, ctx| st.release(ctx, AgentId(101)));
    let (b, _) = h.customer("13800000002");
    h.advance(20_001);
    h.ok(|st, ctx| st.answer(ctx, AgentId(101), Some(b)));
    assert_eq!(h.st.board(h.now, 1).window, counts(2, 2, 1, 0));
}

/// A call that rings out (ring time-out) and goes back to the queue is still one offered call,
/// and its wait counts from its arrival.
#[test]
fn a_requeued_call_is_offered_once_and_waits_from_its_arrival() {
    let traffic = TrafficPolicy { service_level_ms: 20_000, interval_ms: MINUTE, window_ms: 2 * MINUTE };
    let mut h = Harness::with_policy(Policy { ring_timeout_ms: 15_000, traffic, ..Policy::default() });
    h.now -= h.now % MINUTE;
    h.sign_in(101);
    h.sign_in(102);
    let (a, _) = h.customer("13800000001");
    let first = if h.calls_of(101).contains(&a) { 101 } else { 102 };
    h.advance(15_000);
    h.run(|st, ctx| st.tick(ctx));
    let other = if first == 101 { 102 } else { 101 };
    assert_eq!(h.calls_of(other), vec![a]);
    h.advance(6_000);
    h.ok(|st, ctx| st.answer(ctx, AgentId(other), Some(a)));
    assert_eq!(h.st.board(h.now, 1).window, counts(1, 1, 0, 0));
}

/// Memory is bounded: however long the traffic runs, at most `MAX_INTERVALS` intervals are kept.
#[test]
fn the_interval_ring_is_bounded() {
    let mut h = harness();
    let start = h.now;
    for i in 0..(MAX_INTERVALS as u64 + 10) {
        h.now = start + i * MINUTE;
        h.customer("13800000001");
    }
    let view = h.st.board(h.now, usize::MAX).intervals;
    assert_eq!(view.len(), MAX_INTERVALS);
    assert_eq!(view.first().unwrap().start_ms, start + 10 * MINUTE);
    assert!(view.iter().all(|i| i.total().offered == 1));
    assert_eq!(h.st.traffic.retained(), (MAX_INTERVALS, ccgw_domain::engine::WINDOW_BUCKETS));
}

//! Property tests: random operation sequences over the agents of VDN 1, with the structural
//! invariants checked after every step and a full clean-up at the end.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use ccgw_domain::agent::{Pending, Ready};
use ccgw_domain::call::PartyState;
use ccgw_domain::{
    AgentId, AgentStateCode, CallId, Ctx, DomainError, Endpoint, EventKind, HelpMode, HelpTarget, InitialState, QcMode,
    SignInOptions, SkillId, TransferMode, TransferTarget, VdnState,
};
use common::*;
use proptest::prelude::*;

/// Agents the operations pick from: the six of VDN 1, one of VDN 2 and one that does not exist.
const AGENTS: [u32; 8] = [101, 102, 103, 104, 105, 106, 201, 999];
const VDN1: [u32; 6] = [101, 102, 103, 104, 105, 106];

#[derive(Clone, Debug)]
enum Op {
    SignIn {
        a: usize,
        force: bool,
        auto_answer: bool,
        auto_idle: bool,
        initial: u8,
        password_ok: bool,
        release_phone: bool,
    },
    SignOut {
        a: usize,
    },
    ForceSignOut {
        a: usize,
    },
    SayBusy {
        a: usize,
        prolong: bool,
    },
    CancelBusy {
        a: usize,
    },
    SayFree {
        a: usize,
    },
    Rest {
        a: usize,
        secs: u32,
        prolong: bool,
    },
    CancelRest {
        a: usize,
    },
    Work {
        a: usize,
    },
    CancelWork {
        a: usize,
    },
    AutoIdle {
        a: usize,
        on: bool,
    },
    Customer {
        n: u8,
        skill: u8,
    },
    CallOut {
        a: usize,
        n: u8,
    },
    CallInner {
        a: usize,
        b: usize,
    },
    Answer {
        a: usize,
    },
    Release {
        a: usize,
    },
    Hold {
        a: usize,
    },
    Unhold {
        a: usize,
        pick: Option<usize>,
    },
    Mute {
        a: usize,
        on: bool,
    },
    InnerHelp {
        a: usize,
        b: usize,
        skill: bool,
        three: bool,
    },
    Transfer {
        a: usize,
        kind: u8,
        b: usize,
        n: u8,
        success: bool,
    },
    Conference {
        a: usize,
    },
    ConnectHeld {
        a: usize,
        pick: usize,
    },
    DropCall {
        a: usize,
        pick: usize,
    },
    Disconnect {
        a: usize,
        pick: usize,
        by_phone: bool,
    },
    RemoteAnswered {
        pick: usize,
    },
    RemoteFailed {
        pick: usize,
    },
    RemoteHungUp {
        pick: usize,
    },
    Tick {
        ms: u64,
    },
    // --- recordplay ---
    /// 0 begin (named), 1 begin (auto-named), 2 pause, 3 resume, 4 stop.
    Record {
        a: usize,
        op: u8,
    },
    /// 0 begin, 1 pause, 2 resume, 3 forward, 4 back, 5 stop.
    Play {
        a: usize,
        op: u8,
        secs: u32,
    },
    // --- quality control (`s`: the supervisor 106 mostly, another agent sometimes) ---
    /// 0 listen, 1 whisper, 2 insert.
    Supervise {
        s: usize,
        b: usize,
        mode: u8,
    },
    /// `None`: toggle.
    SwitchQc {
        s: usize,
        b: usize,
        mode: Option<u8>,
    },
    StopQc {
        s: usize,
        b: usize,
        whisper_only: bool,
    },
    Intercept {
        s: usize,
        b: usize,
    },
    ForceDrop {
        s: usize,
        pick: usize,
    },
    /// 0 busy, 1 idle, 2 rest, 3 sign-out.
    Force {
        s: usize,
        b: usize,
        kind: u8,
    },
    Monitor {
        s: usize,
        b: usize,
        begin: bool,
    },
}

/// 0..8 names an entry of `AGENTS`; from 8 on it picks among the agents an operation suits
/// (ringing for answer, in a call for call control, signed in otherwise), so that most
/// operations get to do something.
fn agent_ix() -> impl Strategy<Value = usize> {
    prop_oneof![2 => 0usize..6, 1 => 6usize..8, 7 => 8usize..64]
}

#[derive(Clone, Copy)]
enum Suits {
    SignedIn,
    Ringing,
    InCall,
    Available,
    Talking,
    Holding,
    TalkingAndHolding,
}

fn talking(st: &VdnState, a: AgentId) -> bool {
    st.active_call(a).and_then(|c| c.party_of(a)).is_some_and(|p| p.state == PartyState::Talking)
}

fn resolve(st: &VdnState, i: usize, suits: Suits) -> AgentId {
    if i < AGENTS.len() {
        return AgentId(AGENTS[i]);
    }
    let fit: Vec<AgentId> = st
        .agents
        .iter()
        .filter(|(id, a)| {
            let Some(s) = &a.session else { return false };
            match suits {
                Suits::SignedIn => true,
                Suits::Ringing => st.ringing_call(**id).is_some(),
                Suits::InCall => s.in_call(),
                Suits::Available => s.available(),
                Suits::Talking => talking(st, **id),
                Suits::Holding => !st.held_calls(**id).is_empty(),
                Suits::TalkingAndHolding => talking(st, **id) && !st.held_calls(**id).is_empty(),
            }
        })
        .map(|(id, _)| *id)
        .collect();
    pick(&fit, i).unwrap_or(AgentId(AGENTS[i % AGENTS.len()]))
}

/// The operation mix: `heavy` favours call control (help, hold, conference, transfer) over
/// sign-in and ready-state changes.
fn op(heavy: bool) -> impl Strategy<Value = Op> {
    let a = agent_ix;
    let w = |general: u32, call_control: u32| if heavy { call_control.max(1) } else { general };
    prop_oneof![
        w(6, 1) => (a(), any::<bool>(), any::<bool>(), any::<bool>(), 0u8..3, prop::bool::weighted(0.9), prop::bool::weighted(0.7)).prop_map(
            |(a, force, auto_answer, auto_idle, initial, password_ok, release_phone)| Op::SignIn { a, force, auto_answer, auto_idle, initial, password_ok, release_phone }
        ),
        w(1, 0) => a().prop_map(|a| Op::SignOut { a }),
        w(1, 1) => a().prop_map(|a| Op::ForceSignOut { a }),
        w(2, 1) => (a(), any::<bool>()).prop_map(|(a, prolong)| Op::SayBusy { a, prolong }),
        w(1, 0) => a().prop_map(|a| Op::CancelBusy { a }),
        w(2, 3) => a().prop_map(|a| Op::SayFree { a }),
        w(1, 0) => (a(), 0u32..40, any::<bool>()).prop_map(|(a, secs, prolong)| Op::Rest { a, secs, prolong }),
        w(1, 0) => a().prop_map(|a| Op::CancelRest { a }),
        w(1, 0) => a().prop_map(|a| Op::Work { a }),
        w(1, 1) => a().prop_map(|a| Op::CancelWork { a }),
        w(1, 0) => (a(), any::<bool>()).prop_map(|(a, on)| Op::AutoIdle { a, on }),
        w(5, 4) => (0u8..4, 0u8..4).prop_map(|(n, skill)| Op::Customer { n, skill }),
        w(2, 3) => (a(), 0u8..4).prop_map(|(a, n)| Op::CallOut { a, n }),
        w(2, 2) => (a(), a()).prop_map(|(a, b)| Op::CallInner { a, b }),
        w(5, 6) => a().prop_map(|a| Op::Answer { a }),
        w(3, 2) => a().prop_map(|a| Op::Release { a }),
        w(2, 4) => a().prop_map(|a| Op::Hold { a }),
        w(2, 3) => (a(), prop::option::of(0usize..4)).prop_map(|(a, pick)| Op::Unhold { a, pick }),
        w(1, 1) => (a(), any::<bool>()).prop_map(|(a, on)| Op::Mute { a, on }),
        w(3, 6) => (a(), a(), any::<bool>(), any::<bool>()).prop_map(|(a, b, skill, three)| Op::InnerHelp { a, b, skill, three }),
        w(3, 4) => (a(), 0u8..3, a(), 0u8..4, any::<bool>()).prop_map(|(a, kind, b, n, success)| Op::Transfer { a, kind, b, n, success }),
        w(2, 4) => a().prop_map(|a| Op::Conference { a }),
        w(2, 4) => (a(), 0usize..4).prop_map(|(a, pick)| Op::ConnectHeld { a, pick }),
        w(1, 1) => (a(), 0usize..4).prop_map(|(a, pick)| Op::DropCall { a, pick }),
        w(1, 1) => (a(), 0usize..4, any::<bool>()).prop_map(|(a, pick, by_phone)| Op::Disconnect { a, pick, by_phone }),
        w(3, 4) => (0usize..8).prop_map(|pick| Op::RemoteAnswered { pick }),
        w(1, 1) => (0usize..8).prop_map(|pick| Op::RemoteFailed { pick }),
        w(2, 1) => (0usize..8).prop_map(|pick| Op::RemoteHungUp { pick }),
        w(3, 1) => prop_oneof![Just(0u64), 0u64..5_000, 15_000u64..25_000, 30_000u64..90_000].prop_map(|ms| Op::Tick { ms }),
        w(2, 2) => (a(), 0u8..5).prop_map(|(a, op)| Op::Record { a, op }),
        w(2, 1) => (a(), 0u8..6, 0u32..90).prop_map(|(a, op, secs)| Op::Play { a, op, secs }),
        w(2, 3) => (0usize..8, a(), 0u8..3).prop_map(|(s, b, mode)| Op::Supervise { s, b, mode }),
        w(1, 2) => (0usize..8, a(), prop::option::of(0u8..3)).prop_map(|(s, b, mode)| Op::SwitchQc { s, b, mode }),
        w(1, 1) => (0usize..8, a(), any::<bool>()).prop_map(|(s, b, whisper_only)| Op::StopQc { s, b, whisper_only }),
        w(1, 1) => (0usize..8, a()).prop_map(|(s, b)| Op::Intercept { s, b }),
        w(1, 1) => (0usize..8, 0usize..4).prop_map(|(s, pick)| Op::ForceDrop { s, pick }),
        w(2, 1) => (0usize..8, a(), 0u8..4).prop_map(|(s, b, kind)| Op::Force { s, b, kind }),
        w(2, 1) => (0usize..8, a(), any::<bool>()).prop_map(|(s, b, begin)| Op::Monitor { s, b, begin }),
    ]
}

/// A consultation and what follows it: help rung, answered, then conference, connect-held or a
/// transfer of the held call, or nothing.
fn consultation() -> impl Strategy<Value = Vec<Op>> {
    (8usize..64, 8usize..64, 0u8..4, any::<bool>()).prop_map(|(a, b, then, success)| {
        let mut v = vec![Op::InnerHelp { a, b, skill: b % 2 == 0, three: false }, Op::Answer { a: b }];
        match then {
            0 => v.push(Op::Conference { a }),
            1 => v.push(Op::ConnectHeld { a, pick: 0 }),
            2 => v.push(Op::Transfer { a, kind: 0, b, n: 0, success }),
            _ => {}
        }
        v
    })
}

fn ops(heavy: bool, len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Op>> {
    let one = prop_oneof![if heavy { 6 } else { 12 } => op(heavy).prop_map(|o| vec![o]), 1 => consultation()];
    prop::collection::vec(one, len).prop_map(|v| v.into_iter().flatten().collect())
}

fn customer_number(n: u8) -> String {
    format!("1390000000{n}")
}

fn external_number(n: u8) -> String {
    format!("7700{n}")
}

/// (call, number) of every remote party in the given states, in a stable order.
fn remotes(st: &VdnState, alerting_only: bool) -> Vec<(CallId, String)> {
    st.calls
        .values()
        .flat_map(|c| {
            c.parties.iter().filter_map(move |p| match (&p.who, p.state) {
                (Endpoint::Remote(n), PartyState::Alerting { .. }) => Some((c.id, n.clone())),
                (Endpoint::Remote(n), _) if !alerting_only => Some((c.id, n.clone())),
                _ => None,
            })
        })
        .collect()
}

fn pick<T: Clone>(v: &[T], i: usize) -> Option<T> {
    (!v.is_empty()).then(|| v[i % v.len()].clone())
}

/// The result of one operation: whether it is held to "an error changes nothing".
#[derive(Debug, PartialEq)]
enum Outcome {
    Checked(Result<(), DomainError>),
    /// Telephony reports return nothing.
    Unchecked,
}

fn ok<T>(r: Result<T, DomainError>) -> Outcome {
    Outcome::Checked(r.map(|_| ()))
}

fn apply(st: &mut VdnState, ctx: &mut Ctx, op: &Op, now: u64) -> Outcome {
    use Outcome::*;
    let snapshot = st.clone();
    let who = |i: usize, suits: Suits| resolve(&snapshot, i, suits);
    let raw = |i: usize| AgentId(AGENTS[i % AGENTS.len()]);
    let ag = |i: usize| who(i, Suits::SignedIn);
    let on_call = |i: usize| who(i, Suits::InCall);
    let free = |i: usize| who(i, Suits::Available);
    // An agent some supervisor inspects (quality control), else as `ag`.
    let inspected = |i: usize| {
        let targets: Vec<AgentId> =
            snapshot.calls.values().flat_map(|c| c.parties.iter().filter_map(|p| p.qc.map(|q| q.target))).collect();
        if i >= AGENTS.len() { pick(&targets, i).unwrap_or_else(|| ag(i)) } else { ag(i) }
    };
    match *op {
        Op::SignIn { a, force, auto_answer, auto_idle, initial, password_ok, release_phone } => {
            // A wrong password never reaches the engine: the gateway answers it.
            if !password_ok {
                return Checked(Ok(()));
            }
            let initial = [InitialState::Idle, InitialState::Busy, InitialState::Work][initial as usize];
            let opts = SignInOptions { release_phone, ..options(auto_answer, auto_idle, initial) };
            ok(st.sign_in(ctx, raw(a), opts, format!("g{now}"), force))
        }
        Op::SignOut { a } => ok(st.sign_out(ctx, ag(a))),
        Op::ForceSignOut { a } => ok(st.force_sign_out(ctx, ag(a))),
        Op::SayBusy { a, prolong } => ok(st.say_busy(ctx, ag(a), 201, prolong)),
        Op::CancelBusy { a } => ok(st.cancel_busy(ctx, ag(a))),
        Op::SayFree { a } => ok(st.say_free(ctx, ag(a))),
        Op::Rest { a, secs, prolong } => ok(st.rest(ctx, ag(a), secs, 1, prolong)),
        Op::CancelRest { a } => ok(st.cancel_rest(ctx, ag(a))),
        Op::Work { a } => ok(st.work(ctx, ag(a))),
        Op::CancelWork { a } => ok(st.cancel_work(ctx, ag(a))),
        Op::AutoIdle { a, on } => ok(st.set_auto_enter_idle(ag(a), on)),
        Op::Customer { n, skill } => {
            let skill = [SKILL, SKILL, SKILL, OTHER_SKILL][skill as usize];
            ok(st.customer_call(ctx, &customer_number(n), "5000", skill, String::new()))
        }
        Op::CallOut { a, n } => ok(st.call_out(ctx, ag(a), &external_number(n), None, String::new())),
        Op::CallInner { a, b } => ok(st.call_inner(ctx, ag(a), free(b), String::new())),
        Op::Answer { a } => ok(st.answer(ctx, who(a, Suits::Ringing), None)),
        Op::Release { a } => ok(st.release(ctx, on_call(a))),
        Op::Hold { a } => ok(st.hold(ctx, who(a, Suits::Talking))),
        Op::Unhold { a, pick: p } => {
            let a = who(a, Suits::Holding);
            let call = p.and_then(|i| pick(&st.call_ids_of(a), i));
            ok(st.unhold(ctx, a, call))
        }
        Op::Mute { a, on } => ok(st.mute(who(a, Suits::Talking), on)),
        Op::InnerHelp { a, b, skill, three } => {
            let target = if skill {
                HelpTarget::Skill(if b % 4 == 3 { OTHER_SKILL } else { SKILL })
            } else {
                HelpTarget::Agent(free(b))
            };
            let mode = if three { HelpMode::ThreeParty } else { HelpMode::TwoParty };
            ok(st.inner_help(ctx, who(a, Suits::Talking), target, mode, String::new()))
        }
        Op::Transfer { a, kind, b, n, success } => {
            let target = match kind {
                0 => TransferTarget::Agent(free(b)),
                1 => TransferTarget::Skill(if n == 3 { SkillId(77) } else { SKILL }),
                _ => TransferTarget::External(external_number(n)),
            };
            let mode = if success { TransferMode::Success } else { TransferMode::Blind };
            ok(st.transfer(ctx, who(a, Suits::Talking), target, mode))
        }
        Op::Conference { a } => ok(st.conference(ctx, who(a, Suits::TalkingAndHolding))),
        Op::ConnectHeld { a, pick: i } => {
            let a = who(a, Suits::TalkingAndHolding);
            let call = pick(&st.call_ids_of(a), i).unwrap_or(CallId { secs: 0, seq: 0 });
            ok(st.connect_held(ctx, a, call))
        }
        Op::DropCall { a, pick: i } => {
            let a = on_call(a);
            let call = pick(&st.call_ids_of(a), i).unwrap_or(CallId { secs: 0, seq: 0 });
            ok(st.drop_call(ctx, a, call))
        }
        Op::Disconnect { a, pick: i, by_phone } => {
            let a = on_call(a);
            let number = st
                .active_call(a)
                .and_then(|c| pick(&c.parties, i))
                .map(|p| match p.who {
                    Endpoint::Agent(x) if by_phone => phone(x.0),
                    w => st.number_of(&w),
                })
                .unwrap_or_else(|| "555".into());
            ok(st.disconnect(ctx, a, &number))
        }
        Op::Record { a, op } => {
            let a = if op < 2 { who(a, Suits::Talking) } else { ag(a) };
            match op {
                0 => ok(st.begin_record(ctx, a, Some(format!("f{now}")))),
                1 => ok(st.begin_record(ctx, a, None)),
                2 => ok(st.pause_record(ctx, a, true)),
                3 => ok(st.pause_record(ctx, a, false)),
                _ => ok(st.stop_record(ctx, a)),
            }
        }
        Op::Play { a, op, secs } => {
            let a = ag(a);
            match op {
                0 => ok(st.begin_play(ctx, a, "p".into(), u64::from(secs) * 1000, 60_000)),
                1 => ok(st.pause_play(ctx, a, true)),
                2 => ok(st.pause_play(ctx, a, false)),
                3 => ok(st.seek_play(ctx, a, true, secs)),
                4 => ok(st.seek_play(ctx, a, false, secs)),
                _ => ok(st.stop_play(ctx, a)),
            }
        }
        Op::RemoteAnswered { pick: i } => {
            if let Some((c, n)) = pick(&remotes(st, true), i) {
                st.remote_answered(ctx, c, &n);
            }
            Unchecked
        }
        Op::RemoteFailed { pick: i } => {
            // The telephony only reports failure for numbers it was asked to dial.
            if let Some((c, n)) = pick(&remotes(st, true), i) {
                st.remote_failed(ctx, c, &n);
            }
            Unchecked
        }
        Op::RemoteHungUp { pick: i } => {
            if let Some((c, n)) = pick(&remotes(st, false), i) {
                st.remote_hung_up(ctx, c, &n);
            }
            Unchecked
        }
        Op::Tick { .. } => {
            st.tick(ctx);
            Unchecked
        }
        // --- quality control ---
        Op::Supervise { s, b, mode } => ok(st.supervise(ctx, sup(s), who(b, Suits::Talking), qc_mode(mode))),
        Op::SwitchQc { s, b, mode } => ok(st.switch_supervise(ctx, sup(s), inspected(b), mode.map(qc_mode))),
        Op::StopQc { s, b, whisper_only } => {
            ok(st.stop_supervise(ctx, sup(s), inspected(b), whisper_only.then_some(QcMode::Whisper)))
        }
        Op::Intercept { s, b } => ok(st.intercept(ctx, sup(s), inspected(b), None)),
        Op::ForceDrop { s, pick: i } => {
            let calls: Vec<CallId> = snapshot.calls.keys().copied().collect();
            let call = pick(&calls, i).unwrap_or(CallId { secs: 1, seq: 1 });
            ok(st.force_drop_call(ctx, sup(s), call))
        }
        Op::Force { s, b, kind } => {
            let (sup, target) = (sup(s), ag(b));
            ok(match kind {
                0 => st.force_busy(ctx, sup, target),
                1 => st.force_idle(ctx, sup, target),
                2 => st.force_rest(ctx, sup, target, 30, 1),
                _ => st.force_sign_out_agent(ctx, sup, target),
            })
        }
        Op::Monitor { s, b, begin } => {
            let target = raw(b);
            if begin { ok(st.begin_monitor(sup(s), &[target])) } else { ok(st.end_monitor(sup(s), Some(&[target]))) }
        }
    }
}

/// The supervisor of an operation: 106 (VDN 1's supervisor) for most, another agent sometimes.
fn sup(i: usize) -> AgentId {
    if i < 6 { AgentId(106) } else { AgentId(AGENTS[i % AGENTS.len()]) }
}

fn qc_mode(m: u8) -> QcMode {
    match m % 3 {
        0 => QcMode::Listen,
        1 => QcMode::Whisper,
        _ => QcMode::Insert,
    }
}

/// Everything the checks remember between steps.
#[derive(Default)]
struct Track {
    /// Every call id that ever existed.
    ever: HashSet<CallId>,
    /// Calls each agent was offered, dialled or was otherwise a party of.
    joined: BTreeMap<AgentId, BTreeSet<CallId>>,
    /// Whether each agent's last lifecycle event was InService (true) or ShutdownService.
    in_service: BTreeMap<AgentId, bool>,
    /// Each agent's phone as its events tell it.
    phone: BTreeMap<AgentId, Phone>,
}

/// An agent's phone as its events tell it: `PhoneAlerting` rings an on-hook phone,
/// `PhoneOffhook` follows at once, `PhoneRelease` puts it back; a session starts and ends with
/// the phone on the hook.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phone {
    #[default]
    OnHook,
    /// Rung, for this offered call (None: for the agent's own call).
    Alerting(Option<CallId>),
    OffHook,
}

fn check(before: &VdnState, st: &VdnState, track: &mut Track, events: &[ccgw_domain::Event], step: &str) {
    // Agents whose phone rang in this step, and for which call, until their next event but
    // `PhoneOffhook`.
    let mut last_rang: BTreeMap<AgentId, Option<CallId>> = BTreeMap::new();
    let vdn1: BTreeSet<AgentId> = VDN1.iter().map(|n| AgentId(*n)).collect();
    // (d) only agents of this VDN.
    assert_eq!(st.agents.keys().copied().collect::<BTreeSet<_>>(), vdn1, "{step}");
    for e in events {
        assert!(vdn1.contains(&e.agent), "{step}: event for {:?}", e.agent);
    }

    // (b) ids are never reused: a call that was not live before is brand new.
    for id in st.calls.keys() {
        assert_eq!(st.calls[id].id, *id, "{step}");
    }

    // Session lifecycle and "no Talking before joining".
    for e in events {
        let joined = track.joined.entry(e.agent).or_default();
        let phone = track.phone.entry(e.agent).or_default();
        // The phone: alerting, off-hook, release in turn; an offered call rings the phone before
        // it is offered; calls are placed, offered and talked on with the phone off the hook.
        match &e.kind {
            EventKind::InService => *phone = Phone::OnHook,
            EventKind::ShutdownService { .. } => {
                assert_eq!(*phone, Phone::OnHook, "{step}: {:?} signed out with its phone {phone:?}", e.agent)
            }
            EventKind::PhoneAlerting(p) => {
                assert_eq!(*phone, Phone::OnHook, "{step}: {:?} phone rang while {phone:?}", e.agent);
                *phone = Phone::Alerting(p.as_ref().map(|p| p.call));
            }
            EventKind::PhoneOffhook { .. } => {
                assert!(matches!(phone, Phone::Alerting(_)), "{step}: {:?} off-hook while {phone:?}", e.agent);
                *phone = Phone::OffHook;
            }
            EventKind::PhoneRelease { .. } => {
                assert_eq!(*phone, Phone::OffHook, "{step}: {:?} phone released while {phone:?}", e.agent);
                *phone = Phone::OnHook;
            }
            EventKind::Ringing(o) | EventKind::AutoAnswer(o) => {
                assert_eq!(*phone, Phone::OffHook, "{step}: {:?} offered {} with its phone {phone:?}", e.agent, o.call);
            }
            EventKind::CustomerAlerting { .. } | EventKind::Talking { .. } => {
                assert_eq!(*phone, Phone::OffHook, "{step}: {:?} {:?} with its phone {phone:?}", e.agent, e.kind);
            }
            _ => assert!(!matches!(phone, Phone::Alerting(_)), "{step}: {:?} phone left ringing", e.agent),
        }
        // The call a phone rang for is the call offered next.
        if let (EventKind::Ringing(o) | EventKind::AutoAnswer(o), Some(rang)) = (&e.kind, last_rang.get(&e.agent)) {
            assert_eq!(*rang, Some(o.call), "{step}: {:?} phone rang for {rang:?}, offered {}", e.agent, o.call);
        }
        match &e.kind {
            EventKind::PhoneAlerting(p) => {
                last_rang.insert(e.agent, p.as_ref().map(|p| p.call));
            }
            EventKind::PhoneOffhook { .. } => {}
            _ => {
                last_rang.remove(&e.agent);
            }
        }
        match &e.kind {
            EventKind::InService => {
                assert_ne!(
                    track.in_service.insert(e.agent, true),
                    Some(true),
                    "{step}: InService twice for {:?}",
                    e.agent
                );
            }
            EventKind::ShutdownService { .. } => {
                assert_eq!(
                    track.in_service.insert(e.agent, false),
                    Some(true),
                    "{step}: ShutdownService without a session"
                );
            }
            EventKind::Ringing(o) | EventKind::AutoAnswer(o) => {
                joined.insert(o.call);
            }
            EventKind::CustomerAlerting { call, .. } | EventKind::Conference { call, .. } => {
                joined.insert(*call);
            }
            EventKind::Talking { call, .. } => {
                let now_in = st.call_ids_of(e.agent).contains(call);
                // Brought over by a merge (conference, connect-held) from a call that is gone now.
                let merged = before.calls.contains_key(call)
                    && before.call_ids_of(e.agent).iter().any(|c| !st.calls.contains_key(c));
                assert!(
                    joined.contains(call) || now_in || merged,
                    "{step}: {:?} told Talking on {call} it never joined",
                    e.agent
                );
            }
            _ => {}
        }
    }

    for (id, agent) in &st.agents {
        // At most one session per agent, and the event stream agrees on whether there is one.
        let signed_in = agent.session.is_some();
        assert_eq!(
            track.in_service.get(id).copied().unwrap_or(false),
            signed_in,
            "{step}: {id:?} lifecycle events disagree"
        );
        let Some(s) = &agent.session else { continue };
        // The phone is off the hook in every call, and between calls only for always-off-hook
        // agents; the events told the same.
        if s.in_call() {
            assert!(s.phone_off_hook, "{step}: {id:?} in a call with its phone on the hook");
        } else if s.options.release_phone {
            assert!(!s.phone_off_hook, "{step}: {id:?} phone off the hook with no call");
        }
        // recordplay: a recording is of one of the agent's calls; a playback only between calls,
        // within its file.
        if let Some(r) = &s.recording {
            assert!(s.calls.contains(&r.call), "{step}: {id:?} records {} it is not in", r.call);
        }
        if let Some(p) = &s.playback {
            assert!(!s.in_call(), "{step}: {id:?} plays a file in a call");
            assert!(p.position_ms <= p.length_ms, "{step}: {id:?} plays beyond the file");
        }
        let told = track.phone.get(id).copied().unwrap_or_default();
        assert_eq!(told == Phone::OffHook, s.phone_off_hook, "{step}: {id:?} phone is {told:?} by its events");
        let joined = track.joined.entry(*id).or_default();
        joined.extend(s.calls.iter().copied());
        // (c) every id in a session's calls is a live call having that agent as a party, once.
        let mut seen = HashSet::new();
        for c in &s.calls {
            assert!(seen.insert(*c), "{step}: {id:?} lists {c} twice: {:?}", s.calls);
            let call = st.calls.get(c).unwrap_or_else(|| panic!("{step}: {id:?} lists dead call {c}"));
            assert_eq!(
                call.parties.iter().filter(|p| p.who == Endpoint::Agent(*id)).count(),
                1,
                "{step}: {id:?} in {c}"
            );
        }
        assert_eq!(st.call_ids_of(*id), s.calls, "{step}");
        // (e) at most one call in which the agent is not holding.
        let active =
            s.calls.iter().filter(|c| st.calls[*c].party_of(*id).is_some_and(|p| p.state != PartyState::Held)).count();
        assert!(active <= 1, "{step}: {id:?} active in {active} calls");
        // (f) the talking state code only in a call, and always in one.
        let code = agent.state_code();
        if s.calls.is_empty() {
            assert!(
                !matches!(code, AgentStateCode::Talking | AgentStateCode::PreRest),
                "{step}: {id:?} {code:?} with no call"
            );
        } else {
            assert!(
                matches!(code, AgentStateCode::Talking | AgentStateCode::PreRest),
                "{step}: {id:?} {code:?} in a call"
            );
        }
        // A state change asked for in a call applies when the last call ends: none without calls.
        assert!(s.calls.is_empty() <= s.pending.is_none(), "{step}: {id:?} pending {:?} with no call", s.pending);
        if !s.calls.is_empty() || s.ready != Ready::Idle {
            assert!(!s.available(), "{step}");
        }
    }

    let mut queued_ids = Vec::new();
    for (skill, q) in &st.queues {
        for c in q {
            queued_ids.push(*c);
            let call = st.calls.get(c).unwrap_or_else(|| panic!("{step}: dead call {c} queued on {skill:?}"));
            assert!(call.queued_since_ms.is_some(), "{step}: {c} in a queue but not marked queued");
        }
    }
    let unique: HashSet<_> = queued_ids.iter().collect();
    assert_eq!(unique.len(), queued_ids.len(), "{step}: a call queued twice: {:?}", queues_of(st));

    for (cid, call) in &st.calls {
        // (c) the other way: every agent party lists the call exactly once.
        for a in call.agents() {
            assert!(vdn1.contains(&a), "{step}: {a:?} in {cid}");
            let s =
                st.agents[&a].session.as_ref().unwrap_or_else(|| panic!("{step}: {a:?} in {cid} without a session"));
            assert_eq!(s.calls.iter().filter(|c| *c == cid).count(), 1, "{step}: {a:?} / {cid}");
        }
        let mut who = HashSet::new();
        for p in &call.parties {
            if p.agent().is_some() {
                assert!(who.insert(p.who.clone()), "{step}: {:?} twice in {cid}", p.who);
            }
        }
        if call.queued_since_ms.is_some() {
            assert!(unique.contains(cid), "{step}: {cid} marked queued but in no queue");
        }
        // A call stands with two parties, or while it waits in a queue; a supervisor's party
        // (quality control) does not count.
        let parties = call.parties.iter().filter(|p| p.qc.is_none()).count();
        assert!(parties >= 2 || (call.queued_since_ms.is_some() && parties > 0), "{step}: {cid} {call:?}");
        // A supervisor inspects an agent that is an ordinary party of the same call; at most one
        // supervisor per agent, and it talks (its phone is off the hook).
        for p in call.parties.iter().filter(|p| p.qc.is_some()) {
            let q = p.qc.unwrap();
            let target = call.party_of(q.target).unwrap_or_else(|| panic!("{step}: {cid} inspects an absent agent"));
            assert!(target.qc.is_none(), "{step}: {cid} a supervisor inspects a supervisor");
            assert_eq!(call.parties.iter().filter(|x| x.qc.is_some_and(|y| y.target == q.target)).count(), 1, "{step}");
            assert_eq!(p.state, PartyState::Talking, "{step}: {cid}");
        }
        if let Some(t) = call.transfer {
            assert!(call.party_of(t.from).is_some(), "{step}: transfer from an agent not in {cid}");
        }
    }
    // Monitoring subscriptions: the reverse index in step, only signed-in supervisors.
    for (s, list) in &st.monitors {
        assert!(st.session(*s).is_ok(), "{step}: {s:?} monitors while signed out");
        assert!(!list.is_empty(), "{step}: an empty subscription is kept for {s:?}");
        for a in list {
            assert!(st.watchers.get(a).is_some_and(|w| w.contains(s)), "{step}: watchers miss {s:?} → {a:?}");
        }
    }
    for (a, w) in &st.watchers {
        assert!(!w.is_empty(), "{step}");
        for s in w {
            assert!(st.monitors.get(s).is_some_and(|m| m.contains(a)), "{step}: monitors miss {s:?} → {a:?}");
        }
    }
    // Every QC event goes to a supervisor that monitors the agent it names.
    for e in events {
        if let EventKind::QcNotify { monitored, .. } = &e.kind {
            let before_or_now = |x: &VdnState| x.monitors.get(&e.agent).is_some_and(|m| m.contains(monitored));
            assert!(
                before_or_now(st) || before_or_now(before),
                "{step}: QC event to {:?} about {monitored:?}",
                e.agent
            );
        }
    }
}

struct Sim {
    h: Harness,
    /// The same operations on a twin that uses the old full scans (the ACD's choice of agent and
    /// the housekeeping): the index and the timers must change nothing, step by step.
    oracle: Harness,
    track: Track,
    step: usize,
}

impl Sim {
    fn new() -> Self {
        let mut oracle = Harness::new();
        oracle.st.set_scan_mode(true);
        Sim { h: Harness::new(), oracle, track: Track::default(), step: 0 }
    }

    /// Run `f` on both; the index and the timers must decide exactly as the scans.
    fn run_both<R: std::fmt::Debug + PartialEq>(
        &mut self,
        step: &str,
        f: impl Fn(&mut VdnState, &mut Ctx) -> R,
    ) -> (R, Out) {
        self.oracle.now = self.h.now;
        let (want, want_out) = self.oracle.run(&f);
        let (got, out) = self.h.run(&f);
        assert_eq!(got, want, "{step}: the indexed engine answered otherwise than the scan");
        assert_eq!(out.events, want_out.events, "{step}: events differ from the scan's");
        assert_eq!(out.telephony, want_out.telephony, "{step}: telephony differs from the scan's");
        assert!(self.h.st == self.oracle.st, "{step}: the state differs from the scan's");
        let (index, scan) = (self.h.st.idle_index(), self.h.st.idle_index_by_scan());
        assert_eq!(index, scan, "{step}: the idle index is not what a full scan finds");
        for skill in self.h.st.skills.keys().copied().collect::<Vec<_>>() {
            let first = index.get(&skill).and_then(|v| v.first().copied());
            assert_eq!(first, self.h.st.pick_agent_by_scan(skill, None), "{step}: the ACD's choice for {skill:?}");
        }
        (got, out)
    }

    fn run(&mut self, op: &Op) {
        if let Op::Tick { ms } = op {
            self.h.advance(*ms);
        }
        self.h.advance(10);
        let before = self.h.st.clone();
        let live: HashSet<CallId> = before.calls.keys().copied().collect();
        let now = self.h.now;
        self.step += 1;
        let step = format!("step {} {op:?}", self.step);
        let (outcome, out) = self.run_both(&step, |st, ctx| apply(st, ctx, op, now));
        if std::env::var_os("PROP_TRACE").is_some() {
            // Debugging aid: PROP_TRACE=1 cargo test --test properties regression_... -- --nocapture
            let r = match &outcome {
                Outcome::Checked(Ok(())) => "ok".to_string(),
                Outcome::Checked(Err(e)) => format!("{e:?}"),
                Outcome::Unchecked => "-".into(),
            };
            let events: Vec<_> = out.events.iter().map(|e| (e.agent.0, &e.kind)).collect();
            let calls: Vec<_> = self
                .h
                .st
                .calls
                .values()
                .map(|c| {
                    (
                        c.id.seq,
                        c.parties.iter().map(|p| (&p.who, p.state)).collect::<Vec<_>>(),
                        c.queued_since_ms,
                        c.transfer,
                    )
                })
                .collect();
            eprintln!("TRACE {op:?} -> {r}\n  events {events:?}\n  calls {calls:?}");
        }
        if let Outcome::Checked(Err(e)) = outcome {
            // (a) an error changed nothing and said nothing.
            assert!(self.h.st == before, "{step}: failed with {e:?} but changed the state");
            assert!(out.events.is_empty(), "{step}: failed with {e:?} but emitted {:?}", out.events);
            assert!(out.telephony.is_empty(), "{step}: failed with {e:?} but commanded {:?}", out.telephony);
        }
        // (b) a call id is never reused.
        for id in self.h.st.calls.keys() {
            if !live.contains(id) {
                assert!(self.track.ever.insert(*id), "{step}: call id {id} reused");
            }
        }
        check(&before, &self.h.st, &mut self.track, &out.events, &step);
    }

    /// Everybody hangs up; then every agent is out of calls and in a resting state code.
    fn clean_up(&mut self) {
        // What each agent should end in, from what it was in before.
        let expect: BTreeMap<AgentId, (Option<Pending>, Ready, bool, bool)> = self
            .h
            .st
            .agents
            .iter()
            .filter_map(|(id, a)| {
                a.session.as_ref().map(|s| (*id, (s.pending, s.ready, s.options.auto_enter_idle, s.in_call())))
            })
            .collect();
        for round in 0..20 {
            let rs = remotes(&self.h.st, false);
            if rs.is_empty() {
                break;
            }
            let (c, n) = rs[0].clone();
            self.run_report(round, move |st, ctx| st.remote_hung_up(ctx, c, &n));
        }
        for _ in 0..200 {
            let Some((id, c)) =
                self.h.st.agents.iter().find_map(|(id, a)| Some((*id, *a.session.as_ref()?.calls.first()?)))
            else {
                break;
            };
            self.run_op(move |st, ctx| st.drop_call(ctx, id, c).map(|_| ()));
            // A call with only remote parties left (blind transfers out) is hung up too.
            for (c, n) in remotes(&self.h.st, false) {
                self.run_report(0, move |st, ctx| st.remote_hung_up(ctx, c, &n));
            }
        }
        self.h.advance(self.h.st.policy.ring_timeout_ms + 1);
        self.run_report(0, |st, ctx| st.tick(ctx));

        let st = &self.h.st;
        assert!(st.calls.is_empty(), "calls left: {:?}", st.calls);
        assert!(st.queues.values().all(|q| q.is_empty()), "queues left: {:?}", queues_of(st));
        for (id, a) in &st.agents {
            assert!(st.call_ids_of(*id).is_empty());
            let Some(s) = &a.session else { continue };
            let code = a.state_code();
            assert!(
                matches!(
                    code,
                    AgentStateCode::Idle | AgentStateCode::Busy | AgentStateCode::Work | AgentStateCode::Rest
                ),
                "{id:?} ended {code:?}"
            );
            let Some(&(pending, ready, auto_idle, was_in_call)) = expect.get(id) else { continue };
            let want: &[Ready] = match (pending, ready) {
                (Some(Pending::Busy { reason }), _) => &[Ready::Busy { reason }],
                (Some(Pending::Work), _) => &[Ready::Work],
                (Some(Pending::Rest { .. }), _) => {
                    assert!(matches!(s.ready, Ready::Rest { .. }), "{id:?}: pending rest, ended {:?}", s.ready);
                    continue;
                }
                (None, Ready::Idle) if was_in_call => &[if auto_idle { Ready::Idle } else { Ready::Work }],
                // Not in a call before: it may have been offered a waiting call since.
                (None, Ready::Idle) => &[Ready::Idle, if auto_idle { Ready::Idle } else { Ready::Work }],
                (None, r) => &[r],
            };
            let got = match s.ready {
                Ready::Rest { until_ms, cause, .. } => Ready::Rest { until_ms, cause, reminded: false },
                r => r,
            };
            let want: Vec<Ready> = want
                .iter()
                .map(|r| match *r {
                    Ready::Rest { until_ms, cause, .. } => Ready::Rest { until_ms, cause, reminded: false },
                    r => r,
                })
                .collect();
            assert!(
                want.contains(&got),
                "{id:?}: was {pending:?}/{ready:?} (auto idle {auto_idle}), ended {:?}",
                s.ready
            );
        }
    }

    fn run_report(&mut self, _round: usize, f: impl Fn(&mut VdnState, &mut Ctx)) {
        self.h.advance(10);
        let before = self.h.st.clone();
        self.step += 1;
        let step = format!("clean-up step {}", self.step);
        let (_, out) = self.run_both(&step, f);
        check(&before, &self.h.st, &mut self.track, &out.events, &step);
    }

    fn run_op(&mut self, f: impl Fn(&mut VdnState, &mut Ctx) -> Result<(), DomainError>) {
        self.h.advance(10);
        let before = self.h.st.clone();
        self.step += 1;
        let step = format!("clean-up step {}", self.step);
        let (r, out) = self.run_both(&step, f);
        r.expect("clean-up operation failed");
        check(&before, &self.h.st, &mut self.track, &out.events, &step);
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
}

proptest! {
    // 512 cases unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_the_invariants(ops in ops(false, 1..80)) {
        let mut sim = Sim::new();
        for op in &ops {
            sim.run(op);
        }
        sim.clean_up();
    }

    /// The same, starting with every agent signed in so calls get going at once.
    #[test]
    fn busy_contact_center_keeps_the_invariants(
        setup in prop::collection::vec((any::<bool>(), any::<bool>(), 0u8..3, any::<bool>()), 6),
        ops in ops(false, 1..120),
    ) {
        let mut sim = Sim::new();
        for (i, (auto_answer, auto_idle, initial, release_phone)) in setup.into_iter().enumerate() {
            sim.run(&Op::SignIn { a: i, force: false, auto_answer, auto_idle, initial, password_ok: true, release_phone });
        }
        for op in &ops {
            sim.run(op);
        }
        sim.clean_up();
    }

    /// Every agent signed in, and mostly call control: help, hold, conference, transfer.
    #[test]
    fn call_control_keeps_the_invariants(
        setup in prop::collection::vec((any::<bool>(), any::<bool>(), 0u8..3, any::<bool>()), 6),
        ops in ops(true, 1..120),
    ) {
        let mut sim = Sim::new();
        for (i, (auto_answer, auto_idle, initial, release_phone)) in setup.into_iter().enumerate() {
            sim.run(&Op::SignIn { a: i, force: false, auto_answer, auto_idle, initial, password_ok: true, release_phone });
        }
        for op in &ops {
            sim.run(op);
        }
        sim.clean_up();
    }
}

/// Replays a sequence found by the properties above (kept as regressions).
fn replay(setup: &[(bool, bool, u8)], ops: &[Op]) {
    let mut sim = Sim::new();
    for (i, &(auto_answer, auto_idle, initial)) in setup.iter().enumerate() {
        sim.run(&Op::SignIn {
            a: i,
            force: false,
            auto_answer,
            auto_idle,
            initial,
            password_ok: true,
            release_phone: true,
        });
    }
    for op in ops {
        sim.run(op);
    }
    sim.clean_up();
}

#[test]
fn regression_connect_held_after_external_transfer() {
    use Op::*;
    replay(
        &[
            (false, true, 0),
            (true, false, 2),
            (false, false, 0),
            (false, true, 0),
            (false, false, 0),
            (false, false, 0),
        ],
        &[
            CancelWork { a: 55 },
            CallInner { a: 48, b: 1 },
            CallOut { a: 0, n: 0 },
            Transfer { a: 19, kind: 2, b: 0, n: 0, success: true },
            RemoteHungUp { pick: 0 },
            SignIn {
                a: 0,
                force: false,
                auto_answer: false,
                auto_idle: false,
                initial: 0,
                password_ok: false,
                release_phone: true,
            },
            Unhold { a: 0, pick: None },
            RemoteAnswered { pick: 0 },
            InnerHelp { a: 8, b: 8, skill: true, three: false },
            Answer { a: 8 },
            ConnectHeld { a: 8, pick: 0 },
        ],
    );
}

#[test]
fn regression_three_party_help_on_queued_call() {
    use Op::*;
    replay(
        &[
            (false, false, 1),
            (false, false, 0),
            (false, false, 0),
            (false, false, 0),
            (false, false, 0),
            (true, true, 1),
        ],
        &[
            Customer { n: 0, skill: 0 },
            InnerHelp { a: 8, b: 21, skill: false, three: false },
            Answer { a: 21 },
            Transfer { a: 8, kind: 0, b: 21, n: 0, success: false },
            CallOut { a: 27, n: 0 },
            Customer { n: 0, skill: 0 },
            Release { a: 0 },
            CancelBusy { a: 41 },
            InnerHelp { a: 8, b: 8, skill: false, three: false },
            Transfer { a: 19, kind: 1, b: 0, n: 0, success: false },
            InnerHelp { a: 8, b: 8, skill: false, three: true },
        ],
    );
}

#[test]
fn regression_conference_with_a_queued_call() {
    use Op::*;
    replay(
        &[
            (false, false, 1),
            (false, false, 0),
            (false, false, 0),
            (false, false, 0),
            (false, false, 0),
            (false, false, 0),
        ],
        &[
            Rest { a: 38, secs: 1, prolong: false },
            CallInner { a: 3, b: 12 },
            Customer { n: 0, skill: 0 },
            InnerHelp { a: 8, b: 13, skill: false, three: false },
            Answer { a: 13 },
            Transfer { a: 8, kind: 0, b: 13, n: 0, success: false },
            InnerHelp { a: 8, b: 8, skill: true, three: false },
            Answer { a: 8 },
            Conference { a: 8 },
            InnerHelp { a: 8, b: 8, skill: true, three: false },
            Answer { a: 8 },
            Conference { a: 8 },
            CallOut { a: 56, n: 0 },
            Transfer { a: 35, kind: 2, b: 0, n: 0, success: true },
            RemoteFailed { pick: 2 },
            ForceSignOut { a: 56 },
            CallOut { a: 36, n: 0 },
            Transfer { a: 13, kind: 1, b: 0, n: 0, success: false },
            Conference { a: 8 },
        ],
    );
}

#[test]
fn regression_two_agents_ringing_time_out_together() {
    use Op::*;
    replay(
        &[
            (false, false, 0),
            (false, true, 0),
            (false, false, 0),
            (false, false, 0),
            (false, false, 0),
            (false, false, 0),
        ],
        &[
            SayBusy { a: 0, prolong: false },
            CallOut { a: 8, n: 0 },
            InnerHelp { a: 8, b: 8, skill: false, three: false },
            Transfer { a: 8, kind: 0, b: 3, n: 0, success: false },
            Tick { ms: 19990 },
        ],
    );
}

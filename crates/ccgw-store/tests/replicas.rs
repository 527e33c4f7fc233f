//! The command log's promise: a VDN's state is a function of its log. Replicas fed the same
//! entries (as bytes, the way a Redis stream hands them to every node) reach the same state and
//! put out the same events, telephony commands and outcomes; a replica loaded from a snapshot
//! taken anywhere, plus the tail after it, equals the others; every command survives the codec.

use std::collections::BTreeSet;
use std::sync::Arc;

use ccgw_domain::call::PartyState;
use ccgw_domain::{
    AgentId, AgentProfile, CallId, Command, Directory, Endpoint, HelpMode, HelpTarget, InitialState, Outcome, Policy,
    QcMode, SignInOptions, Skill, SkillId, Supervision, TelephonyCommand, TransferMode, TransferTarget, VdnId,
    VdnState, cmd,
};
use ccgw_store::log::{Entry, MemoryLog, Replica};
use ccgw_store::mailbox::{MailDone, MailOp};
use ccgw_store::{MemoryStore, Store};
use proptest::prelude::*;

const VDN: VdnId = VdnId(1);
const SKILL: SkillId = SkillId(1);
const SKILL2: SkillId = SkillId(2);
const AGENTS: [u32; 8] = [101, 102, 103, 104, 105, 106, 201, 999];
const T0: u64 = 1_700_000_000_000;

/// VDN 1: agents 101–104 with skills 1 and 2, 105 with skill 1, 106 without; VDN 2: agent 201.
fn directory() -> Directory {
    let mut d = Directory::default();
    d.vdns.insert(VdnId(1), "one".into());
    d.vdns.insert(VdnId(2), "two".into());
    d.skills.insert(SKILL, Skill { id: SKILL, vdn: VDN, name: "voice".into(), media_type: 5 });
    d.skills.insert(SKILL2, Skill { id: SKILL2, vdn: VDN, name: "second".into(), media_type: 5 });
    let mut add = |id: u32, vdn: u32, skills: Vec<SkillId>| {
        let profile = AgentProfile {
            id: AgentId(id),
            vdn: VdnId(vdn),
            name: format!("agent {id}"),
            skills,
            phone: format!("8{id}"),
            rights: Default::default(),
            attributes: Vec::new(),
            group: None,
            supervises: None,
        };
        d.agents.insert(AgentId(id), Arc::new(profile));
    };
    for id in 101..=104 {
        add(id, 1, vec![SKILL, SKILL2]);
    }
    add(105, 1, vec![SKILL]);
    add(106, 1, vec![]);
    add(201, 2, vec![]);
    // 104 supervises the whole VDN (quality control), with the rights that gate it.
    let mut sup = (*d.agents[&AgentId(104)]).clone();
    sup.supervises = Some(Supervision::default());
    sup.rights.censor = true;
    sup.rights.spy_monitor = true;
    sup.rights.monitor = true;
    d.agents.insert(AgentId(104), Arc::new(sup));
    d.access_codes.insert("5000".into(), SKILL);
    d
}

fn genesis() -> VdnState {
    let policy = Policy { ring_timeout_ms: 10_000, allow_force_login: true, ..Policy::default() };
    let mut st = VdnState::new(VDN, &directory(), policy);
    st.set_call_id_floor(T0 / 1000 + 1);
    st
}

fn options(auto_answer: bool, initial: u8, release_phone: bool) -> SignInOptions {
    let initial = [InitialState::Idle, InitialState::Busy, InitialState::Work][usize::from(initial % 3)];
    SignInOptions { phone: String::new(), auto_answer, auto_enter_idle: true, release_phone, initial }
}

// ----- what the proposer does: turn a client's intent into a command, reading its replica ------

/// An intent: which command, and numbers the proposer resolves against its replica's state
/// (an agent that suits the command, a call of the agent, a remote party).
#[derive(Clone, Debug)]
struct Intent {
    kind: u8,
    a: usize,
    b: usize,
    n: u8,
    flag: bool,
    /// How far the proposer's clock moved since the previous command.
    dt: u64,
}

fn intent() -> impl Strategy<Value = Intent> {
    (0u8..KINDS, 0usize..64, 0usize..64, 0u8..8, any::<bool>(), prop_oneof![4 => 0u64..2_000, 1 => 5_000u64..30_000])
        .prop_map(|(kind, a, b, n, flag, dt)| Intent { kind, a, b, n, flag, dt })
}

fn pick<T: Clone>(v: &[T], i: usize) -> Option<T> {
    (!v.is_empty()).then(|| v[i % v.len()].clone())
}

/// An agent for the command: below 8 one of `AGENTS` (signed in or not, provisioned or not),
/// else one of the signed-in agents that `fits`.
fn who(st: &VdnState, i: usize, fits: impl Fn(&VdnState, AgentId) -> bool) -> AgentId {
    if i < AGENTS.len() {
        return AgentId(AGENTS[i]);
    }
    let fit: Vec<AgentId> =
        st.agents.iter().filter(|(id, a)| a.session.is_some() && fits(st, **id)).map(|(id, _)| *id).collect();
    pick(&fit, i).unwrap_or(AgentId(AGENTS[i % AGENTS.len()]))
}

fn talking(st: &VdnState, a: AgentId) -> bool {
    st.active_call(a).and_then(|c| c.party_of(a)).is_some_and(|p| p.state == PartyState::Talking)
}

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

const KINDS: u8 = 44;

fn propose(st: &VdnState, it: &Intent, now: u64) -> Command {
    let any = |i| who(st, i, |_, _| true);
    let ringing = |i| who(st, i, |s, a| s.ringing_call(a).is_some());
    let in_call = |i| who(st, i, |s, a| s.session(a).is_ok_and(|x| x.in_call()));
    let talk = |i| who(st, i, talking);
    let holding = |i| who(st, i, |s, a| !s.held_calls(a).is_empty());
    let both = |i| who(st, i, |s, a| talking(s, a) && !s.held_calls(a).is_empty());
    let free = |i| who(st, i, |s, a| s.session(a).is_ok_and(|x| x.available()));
    let call_of = |a: AgentId, i: usize| pick(&st.call_ids_of(a), i).unwrap_or(CallId { secs: 1, seq: 999 });
    let (a, b, n, flag) = (it.a, it.b, it.n, it.flag);
    let text = format!("d{n}");
    match it.kind {
        0..=3 => Command::from(cmd::SignIn {
            agent: AgentId(AGENTS[a % AGENTS.len()]),
            options: options(flag, n, n % 4 != 0),
            guid: format!("g{now}"),
            force: b % 2 == 0,
        }),
        4 => cmd::SignOut { agent: any(a) }.into(),
        5 => cmd::ForceSignOut { agent: any(a) }.into(),
        6 => cmd::SayBusy { agent: any(a), reason: 200 + u16::from(n), prolong: flag }.into(),
        7 => cmd::CancelBusy { agent: any(a) }.into(),
        8 => cmd::SayFree { agent: any(a) }.into(),
        9 => cmd::Rest { agent: any(a), secs: u32::from(n) * 3, cause: 1, prolong: flag }.into(),
        10 => cmd::CancelRest { agent: any(a) }.into(),
        11 => cmd::Work { agent: any(a) }.into(),
        12 => cmd::CancelWork { agent: any(a) }.into(),
        13 => cmd::ResetSkills { agent: any(a), skills: flag.then(|| vec![SKILL2]) }.into(),
        14..=16 => cmd::CustomerCall {
            caller: format!("1390000000{n}"),
            called: "5000".into(),
            skill: if n == 7 { SKILL2 } else { SKILL },
            data: text,
        }
        .into(),
        17 => cmd::CallOut { agent: any(a), called: format!("7700{n}"), caller: None, data: text }.into(),
        18 => cmd::CallInner { agent: any(a), target: free(b), data: text }.into(),
        19 | 20 => cmd::Answer { agent: ringing(a), call: None }.into(),
        21 => cmd::Release { agent: in_call(a) }.into(),
        22 => cmd::Hold { agent: talk(a) }.into(),
        23 => {
            let agent = holding(a);
            cmd::Unhold { agent, call: flag.then(|| call_of(agent, b)) }.into()
        }
        24 => {
            let target = if flag { HelpTarget::Skill(SKILL) } else { HelpTarget::Agent(free(b)) };
            let mode = if n % 2 == 0 { HelpMode::TwoParty } else { HelpMode::ThreeParty };
            cmd::InnerHelp { agent: talk(a), target, mode, data: text }.into()
        }
        25 => {
            let target = match n % 3 {
                0 => TransferTarget::Agent(free(b)),
                1 => TransferTarget::Skill(SKILL),
                _ => TransferTarget::External(format!("7700{n}")),
            };
            let mode = if flag { TransferMode::Success } else { TransferMode::Blind };
            cmd::Transfer { agent: talk(a), target, mode }.into()
        }
        26 => cmd::Conference { agent: both(a) }.into(),
        27 => {
            let agent = both(a);
            cmd::ConnectHeld { agent, held: call_of(agent, b) }.into()
        }
        28 => {
            let agent = in_call(a);
            cmd::SetCallData { agent, call: flag.then(|| call_of(agent, b)), data: text }.into()
        }
        29 => cmd::SnatchPickup { agent: free(a), target: ringing(b) }.into(),
        30 => {
            let (call, number) = pick(&remotes(st, true), b).unwrap_or((CallId { secs: 1, seq: 999 }, "5".into()));
            cmd::RemoteAnswered { call, number }.into()
        }
        31 => {
            let (call, number) = pick(&remotes(st, true), b).unwrap_or((CallId { secs: 1, seq: 999 }, "5".into()));
            cmd::RemoteFailed { call, number }.into()
        }
        32 => {
            let (call, number) = pick(&remotes(st, false), b).unwrap_or((CallId { secs: 1, seq: 999 }, "5".into()));
            cmd::RemoteHungUp { call, number }.into()
        }
        33 => {
            let agent = talk(a);
            match n % 3 {
                0 => cmd::BeginRecord { agent, file_name: flag.then(|| format!("f{now}")) }.into(),
                1 => cmd::PauseRecord { agent, pause: flag }.into(),
                _ => cmd::StopRecord { agent }.into(),
            }
        }
        34 => {
            let agent = any(a);
            match n % 4 {
                0 => cmd::BeginPlay { agent, file: "p".into(), from_ms: u64::from(n) * 1000, length_ms: 20_000 }.into(),
                1 => cmd::PausePlay { agent, pause: flag }.into(),
                2 => cmd::SeekPlay { agent, forward: flag, secs: u32::from(n) }.into(),
                _ => cmd::StopPlay { agent }.into(),
            }
        }
        35 => cmd::SendBulletin { from: any(a), to: flag.then(|| vec![any(b)]), data: text }.into(),
        36 => cmd::RotateGuid { agent: any(a), interval_ms: 5_000, timeout_ms: 2_000, guid: format!("r{now}") }.into(),
        // Quality control: mostly the supervisor 104, sometimes an agent without the role.
        37 => {
            let supervisor = if flag { AgentId(104) } else { any(a) };
            let target = talk(b);
            match n % 4 {
                0 => cmd::Supervise {
                    supervisor,
                    target,
                    mode: [QcMode::Listen, QcMode::Whisper, QcMode::Insert][b % 3],
                }
                .into(),
                1 => cmd::SwitchSupervise { supervisor, target, mode: None }.into(),
                2 => cmd::StopSupervise { supervisor, target, only: None }.into(),
                _ => cmd::Intercept { supervisor, target, call: None }.into(),
            }
        }
        38 => {
            let supervisor = if flag { AgentId(104) } else { any(a) };
            let target = any(b);
            match n % 5 {
                0 => cmd::ForceBusy { supervisor, target }.into(),
                1 => cmd::ForceIdle { supervisor, target }.into(),
                2 => cmd::ForceRest { supervisor, target, secs: 30, cause: 1 }.into(),
                3 => cmd::ForceSignOutAgent { supervisor, target }.into(),
                _ => cmd::AdjustSkills { supervisor, target, skills: vec![SKILL] }.into(),
            }
        }
        39 => {
            let supervisor = if flag { AgentId(104) } else { any(a) };
            match n % 3 {
                0 => cmd::BeginMonitor { supervisor, agents: vec![any(b), AgentId(101)] }.into(),
                1 => cmd::EndMonitor { supervisor, agents: None }.into(),
                _ => cmd::QcSetSelfRecord { supervisor, targets: vec![any(b)], record: Some((true, false)) }.into(),
            }
        }
        40 => {
            let supervisor = AgentId(104);
            match n % 4 {
                0 => cmd::ThirdAnswer { supervisor, target: ringing(b) }.into(),
                1 => cmd::ThirdCallOut {
                    supervisor,
                    target: free(b),
                    called: format!("7700{n}"),
                    caller: None,
                    data: text,
                }
                .into(),
                2 => cmd::ThirdSetStatus { supervisor, target: any(b), idle: flag }.into(),
                _ => {
                    let target = in_call(b);
                    cmd::ForceDropCall { supervisor, call: call_of(target, a) }.into()
                }
            }
        }
        // The heartbeat timers' verdicts: sometimes the session they saw, sometimes an older one.
        _ => {
            let expire = match st.session(any(a)) {
                Ok(s) if flag => vec![(any(a), s.login_ms)],
                Ok(s) => vec![(any(a), s.login_ms.saturating_sub(1))],
                Err(_) => vec![],
            };
            cmd::Tick { expire }.into()
        }
    }
}

// ----- the replicas ---------------------------------------------------------------------------

/// Everything one entry put out on one replica.
#[derive(Debug, PartialEq)]
struct Out {
    outcome: Result<Outcome, ccgw_domain::DomainError>,
    /// Events delivered to the replica's mailboxes (which the replicas' equality compares).
    delivered: usize,
    woken: Vec<AgentId>,
    telephony: Vec<TelephonyCommand>,
    new_sessions: Vec<(AgentId, usize)>,
    mail: Option<MailDone>,
}

fn apply(r: &mut Replica, seq: u64, bytes: &[u8]) -> Out {
    let a = r.apply(seq, bytes);
    Out {
        outcome: a.outcome,
        delivered: a.delivered.count,
        woken: a.delivered.woken,
        telephony: a.ctx.telephony,
        new_sessions: a.ctx.new_sessions,
        mail: a.mail,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Three replicas applying the same log agree after every entry on the state and on every
    /// output; a replica loaded from a snapshot taken at a random point and fed the tail agrees
    /// with them from there on; a command that fails changes no replica.
    #[test]
    fn replicas_fed_one_log_agree(intents in prop::collection::vec(intent(), 1..160), cut in 0usize..160) {
        let mut replicas = [Replica::new(genesis()), Replica::new(genesis()), Replica::new(genesis())];
        let mut log = MemoryLog::new(1 << 20);
        let cut = cut % intents.len();
        let mut late: Option<Replica> = None;
        let mut now = T0;
        for (i, it) in intents.iter().enumerate() {
            if i == cut {
                late = Some(replicas[0].snapshot().load().unwrap());
                prop_assert_eq!(late.as_ref().unwrap(), &replicas[0]);
            }
            now += it.dt;
            // The proposer (a node, reading its replica) chooses every input.
            let command = propose(&replicas[i % 3].state, it, now);
            let seq = log.append(Entry { now_ms: now, command }.encode());
            let bytes = log.get(seq).unwrap().to_vec();
            let before = replicas[0].state.clone();
            let outs: Vec<Out> = replicas.iter_mut().map(|r| apply(r, seq, &bytes)).collect();
            prop_assert_eq!(&outs[0], &outs[1]);
            prop_assert_eq!(&outs[0], &outs[2]);
            prop_assert_eq!(&replicas[0], &replicas[1]);
            prop_assert_eq!(&replicas[0], &replicas[2]);
            if outs[0].outcome.is_err() {
                prop_assert_eq!(&replicas[0].state, &before);
                prop_assert!(outs[0].delivered == 0 && outs[0].telephony.is_empty());
            }
            if let Some(l) = late.as_mut() {
                prop_assert_eq!(&apply(l, seq, &bytes), &outs[0]);
                prop_assert_eq!(&*l, &replicas[0]);
            }
            // Mailbox entries in the same log: a poll on some node takes an agent's head, and
            // sometimes a poll on another node proposed the same take (only one gets it).
            let agent = AgentId(AGENTS[i % AGENTS.len()]);
            if let Ok(Some((epoch, seq))) = replicas[(i + 1) % 3].next_take(agent, None) {
                let take = MailOp::Take { agent, epoch, seq };
                for copy in 0..=(it.dt % 2) {
                    let at = log.append(take.encode());
                    let bytes = log.get(at).unwrap().to_vec();
                    let outs: Vec<Out> = replicas.iter_mut().map(|r| apply(r, at, &bytes)).collect();
                    prop_assert_eq!(&outs[0], &outs[1]);
                    prop_assert_eq!(&outs[0], &outs[2]);
                    prop_assert_eq!(&replicas[0], &replicas[1]);
                    prop_assert_eq!(&replicas[0], &replicas[2]);
                    match (copy, &outs[0].mail) {
                        (0, Some(MailDone::Taken(_))) | (1, Some(MailDone::Stale)) => {}
                        (_, other) => prop_assert!(false, "take {copy} of one event: {other:?}"),
                    }
                    if let Some(l) = late.as_mut() {
                        prop_assert_eq!(&apply(l, at, &bytes), &outs[0]);
                        prop_assert_eq!(&*l, &replicas[0]);
                    }
                }
            }
        }
        // Replaying the whole log on a fresh replica gives the same state again.
        let mut fresh = Replica::new(genesis());
        for (seq, bytes) in log.since(0).unwrap() {
            fresh.apply(seq, &bytes);
        }
        prop_assert_eq!(&fresh, &replicas[0]);
        // And the rebuilt caches route as the live ones: one more tick and a customer call.
        let mut loaded = replicas[0].snapshot().load().unwrap();
        for command in [
            Command::from(cmd::Tick { expire: vec![] }),
            cmd::CustomerCall { caller: "139".into(), called: "5000".into(), skill: SKILL, data: String::new() }.into(),
        ] {
            now += 60_000;
            let seq = log.append(Entry { now_ms: now, command }.encode());
            let bytes = log.get(seq).unwrap().to_vec();
            prop_assert_eq!(apply(&mut loaded, seq, &bytes), apply(&mut replicas[0], seq, &bytes));
            prop_assert_eq!(&loaded, &replicas[0]);
        }
    }
}

/// The generator is not vacuous: over a long deterministic run most commands succeed somewhere
/// (calls are made, answered, held, transferred, recorded, …), so the agreement above is tested
/// on a busy VDN, not on a stream of refusals.
#[test]
fn the_generated_logs_do_things() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let intents = prop::collection::vec(intent(), 3000).new_tree(&mut runner).unwrap().current();
    let mut r = Replica::new(genesis());
    let mut now = T0;
    let mut ok = BTreeSet::new();
    let (mut events, mut telephony, mut seq) = (0, 0, 0);
    for it in &intents {
        now += it.dt;
        let command = propose(&r.state, it, now);
        let name = command.name();
        seq += 1;
        let out = apply(&mut r, seq, &Entry { now_ms: now, command }.encode());
        if out.outcome.is_ok() {
            ok.insert(name);
        }
        events += out.delivered;
        telephony += out.telephony.len();
    }
    eprintln!("{} commands succeeded: {ok:?}", ok.len());
    assert!(ok.len() >= 30, "only these commands ever succeeded: {ok:?}");
    for name in ["SignIn", "CustomerCall", "Answer", "Hold", "InnerHelp", "Transfer", "Conference", "Tick"] {
        assert!(ok.contains(name), "{name} never succeeded: {ok:?}");
    }
    assert!(events > 1000 && telephony > 100, "{events} events, {telephony} telephony commands");
}

/// The memory store is a replica of its own log: a snapshot of it plus the log after the
/// snapshot rebuilds it.
#[test]
fn the_memory_store_is_its_log() {
    let s = MemoryStore::new(&directory(), Policy::default(), 100);
    let sign_in = |a: u32| cmd::SignIn {
        agent: AgentId(a),
        options: options(false, 0, true),
        guid: format!("g{a}"),
        force: false,
    };
    ready_now(s.submit(VDN, T0, sign_in(101))).unwrap();
    let snap = s.snapshot(VDN).unwrap();
    assert_eq!(snap.seq, 1);
    ready_now(s.submit(VDN, T0 + 1, sign_in(102))).unwrap();
    let customer = cmd::CustomerCall { caller: "139".into(), called: "5000".into(), skill: SKILL, data: "x".into() };
    let call = ready_now(s.submit(VDN, T0 + 2, customer)).unwrap();
    assert_eq!(call.seq, 3);
    // A command that fails still takes its place.
    assert!(ready_now(s.submit(VDN, T0 + 3, cmd::CancelRest { agent: AgentId(101) })).is_err());
    let mut r = snap.load().unwrap();
    for (seq, bytes) in s.log_since(VDN, snap.seq).unwrap() {
        r.apply(seq, &bytes);
    }
    assert_eq!(r.applied, 4);
    assert!(s.read(VDN, |st| *st == r.state).unwrap());
    assert_eq!(r.state.call_ids_of(AgentId(101)), vec![call.value]);
}

/// One of every command, each with every field set away from its default where it has a
/// choice. Adding a command without adding it here fails [`every_command_round_trips`].
fn samples() -> Vec<Command> {
    let a = AgentId(101);
    let b = AgentId(102);
    let call = CallId { secs: 1_700_000_001, seq: 42 };
    let s = |x: &str| x.to_owned();
    vec![
        cmd::SignIn { agent: a, options: options(true, 2, false), guid: s("g-1.node"), force: true }.into(),
        cmd::SignOut { agent: a }.into(),
        cmd::ForceSignOut { agent: a }.into(),
        cmd::RotateGuid { agent: a, interval_ms: 1, timeout_ms: 2, guid: s("g2") }.into(),
        cmd::ReplaceGuid { agent: a, guid: s("g3"), timeout_ms: 3 }.into(),
        cmd::SayBusy { agent: a, reason: 7, prolong: true }.into(),
        cmd::CancelBusy { agent: a }.into(),
        cmd::SayFree { agent: a }.into(),
        cmd::Rest { agent: a, secs: 60, cause: 2, prolong: true }.into(),
        cmd::CancelRest { agent: a }.into(),
        cmd::Work { agent: a }.into(),
        cmd::CancelWork { agent: a }.into(),
        cmd::ReleasePhone { agent: a }.into(),
        cmd::SetAutoAnswer { agent: a, on: true }.into(),
        cmd::SetAutoEnterIdle { agent: a, on: true }.into(),
        cmd::ResetSkills { agent: a, skills: Some(vec![SKILL, SKILL2]) }.into(),
        cmd::SetCustomState { agent: a, state: 65534 }.into(),
        cmd::SetPrivateConfig { agent: a, config: s("{\"k\":1}") }.into(),
        cmd::SetTalkRight { agent: a, on: true }.into(),
        cmd::SetSelfRecord { agent: a, record: true, before_talking: true }.into(),
        cmd::BindPhone { agent: a, phone: s("8888") }.into(),
        cmd::SendNote { from: a, to: b }.into(),
        cmd::SendBulletin { from: a, to: Some(vec![b]), data: s("hello") }.into(),
        cmd::CallOut { agent: a, called: s("7700"), caller: Some(s("5000")), data: s("d") }.into(),
        cmd::CallInner { agent: a, target: b, data: s("d") }.into(),
        cmd::CallInnerSkill { agent: a, skill: SKILL2, data: s("d") }.into(),
        cmd::Answer { agent: a, call: Some(call) }.into(),
        cmd::Release { agent: a }.into(),
        cmd::DropCall { agent: a, call }.into(),
        cmd::Disconnect { agent: a, number: s("139") }.into(),
        cmd::Hold { agent: a }.into(),
        cmd::Unhold { agent: a, call: Some(call) }.into(),
        cmd::ConnectHeld { agent: a, held: call }.into(),
        cmd::InnerHelp { agent: a, target: HelpTarget::Skill(SKILL), mode: HelpMode::ThreeParty, data: s("d") }.into(),
        cmd::Transfer { agent: a, target: TransferTarget::External(s("7701")), mode: TransferMode::Success }.into(),
        cmd::CancelTransfer { agent: a }.into(),
        cmd::Conference { agent: a }.into(),
        cmd::Mute { agent: a, on: true }.into(),
        cmd::SendDigits { agent: a, digits: s("12#*") }.into(),
        cmd::RelayConferenceDigits { agent: a }.into(),
        cmd::SnatchPickup { agent: a, target: b }.into(),
        cmd::SetCallData { agent: a, call: Some(call), data: s("data") }.into(),
        cmd::AssignInQueue { agent: a, call, skill: SKILL }.into(),
        cmd::RequestCall { agent: a, call, skill: SKILL2 }.into(),
        cmd::BeginRecord { agent: a, file_name: Some(s("f.wav")) }.into(),
        cmd::PauseRecord { agent: a, pause: true }.into(),
        cmd::StopRecord { agent: a }.into(),
        cmd::BeginPlay { agent: a, file: s("p.wav"), from_ms: 1000, length_ms: 60_000 }.into(),
        cmd::PausePlay { agent: a, pause: true }.into(),
        cmd::SeekPlay { agent: a, forward: true, secs: 5 }.into(),
        cmd::StopPlay { agent: a }.into(),
        cmd::CustomerCall { caller: s("139"), called: s("5000"), skill: SKILL, data: s("d") }.into(),
        cmd::RemoteAnswered { call, number: s("7700") }.into(),
        cmd::RemoteFailed { call, number: s("7700") }.into(),
        cmd::RemoteHungUp { call, number: s("139") }.into(),
        cmd::PhoneAnswered { agent: a, call }.into(),
        cmd::PhoneFailed { agent: a, call }.into(),
        cmd::PhoneHungUp { agent: b, call }.into(),
        cmd::Tick { expire: vec![(a, 5), (b, 6)] }.into(),
        cmd::Supervise { supervisor: a, target: b, mode: QcMode::Whisper }.into(),
        cmd::SwitchSupervise { supervisor: a, target: b, mode: Some(QcMode::Insert) }.into(),
        cmd::StopSupervise { supervisor: a, target: b, only: Some(QcMode::Listen) }.into(),
        cmd::Intercept { supervisor: a, target: b, call: Some(call) }.into(),
        cmd::ForceDropCall { supervisor: a, call }.into(),
        cmd::ForceBusy { supervisor: a, target: b }.into(),
        cmd::ForceIdle { supervisor: a, target: b }.into(),
        cmd::ForceRest { supervisor: a, target: b, secs: 60, cause: 3 }.into(),
        cmd::ForceSignOutAgent { supervisor: a, target: b }.into(),
        cmd::AdjustSkills { supervisor: a, target: b, skills: vec![SkillId(1), SkillId(2)] }.into(),
        cmd::QcSetSelfRecord { supervisor: a, targets: vec![b], record: Some((true, true)) }.into(),
        cmd::BeginMonitor { supervisor: a, agents: vec![b] }.into(),
        cmd::EndMonitor { supervisor: a, agents: Some(vec![b]) }.into(),
        cmd::ThirdAnswer { supervisor: a, target: b }.into(),
        cmd::ThirdCallOut { supervisor: a, target: b, called: s("7701"), caller: Some(s("100")), data: s("d") }.into(),
        cmd::ThirdSetStatus { supervisor: a, target: b, idle: true }.into(),
    ]
}

#[test]
fn every_command_round_trips() {
    let samples = samples();
    let names: BTreeSet<&str> = samples.iter().map(Command::name).collect();
    let all: BTreeSet<&str> = Command::NAMES.iter().copied().collect();
    let missing: Vec<&&str> = all.difference(&names).collect();
    assert!(missing.is_empty(), "commands without a round-trip sample: {missing:?}");
    assert_eq!(names.len(), samples.len(), "one sample per command");
    for (i, command) in samples.into_iter().enumerate() {
        let entry = Entry { now_ms: T0 + i as u64, command };
        let bytes = entry.encode();
        assert_eq!(Entry::decode(&bytes).unwrap(), entry);
        // Compact: no field names on the wire.
        assert!(bytes.len() < 64, "{} takes {} bytes", entry.command.name(), bytes.len());
    }
    assert!(Entry::decode(&[0xff, 0xff, 0xff]).is_err());
}

/// A snapshot carries the state but not its caches: it is smaller than the state's debug text
/// and rebuilds to an equal state.
#[test]
fn a_snapshot_round_trips() {
    let mut r = Replica::new(genesis());
    let mut log = MemoryLog::new(16);
    let mut now = T0;
    for a in [101, 102, 103] {
        now += 10;
        let sign_in =
            cmd::SignIn { agent: AgentId(a), options: options(false, 0, true), guid: format!("g{a}"), force: false };
        let seq = log.append(Entry { now_ms: now, command: sign_in.into() }.encode());
        r.apply(seq, log.get(seq).unwrap());
    }
    let customer = cmd::CustomerCall { caller: "139".into(), called: "5000".into(), skill: SKILL, data: "x".into() };
    let seq = log.append(Entry { now_ms: now + 10, command: customer.into() }.encode());
    let out = r.apply(seq, log.get(seq).unwrap());
    assert!(matches!(out.outcome, Ok(Outcome::CustomerCall(_))));
    let snap = r.snapshot();
    assert_eq!(snap.seq, 4);
    assert!(snap.state.len() < format!("{:?}", r.state).len() / 2);
    assert_eq!(snap.load().unwrap(), r);
    assert!(ccgw_store::log::Snapshot { seq: 1, state: vec![1, 2, 3] }.load().is_err());
}

/// The store's writes are futures; the memory store's are ready at the first poll.
fn ready_now<T>(future: impl std::future::Future<Output = T>) -> T {
    ccgw_store::poll_now(future).expect("a memory store write is ready at once")
}

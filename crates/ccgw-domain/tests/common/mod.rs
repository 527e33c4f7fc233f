//! Shared fixtures for the engine tests: a small directory, a fake clock and a counting call-id
//! source.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use ccgw_domain::{
    AgentId, AgentProfile, AgentRights, CallId, Ctx, Directory, DomainError, Event, EventKind, InitialState, Policy,
    SignInOptions, Skill, SkillId, Supervision, TelephonyCommand, VdnId, VdnState,
};

pub const VDN: VdnId = VdnId(1);
pub const SKILL: SkillId = SkillId(1);
/// A skill of VDN 2 (unknown to VDN 1).
pub const OTHER_SKILL: SkillId = SkillId(9);

pub fn a(n: u32) -> AgentId {
    AgentId(n)
}

pub fn phone(n: u32) -> String {
    format!("8{n}")
}

/// VDN 1: agents 101–105 with skill 1, agent 106 without skills; VDN 2: agent 201 (skill 9).
pub fn directory() -> Directory {
    let mut d = Directory::default();
    d.vdns.insert(VdnId(1), "one".into());
    d.vdns.insert(VdnId(2), "two".into());
    d.skills.insert(SKILL, Skill { id: SKILL, vdn: VdnId(1), name: "voice".into(), media_type: 5 });
    d.skills.insert(OTHER_SKILL, Skill { id: OTHER_SKILL, vdn: VdnId(2), name: "other".into(), media_type: 5 });
    let mut add = |id: u32, vdn: u32, skills: Vec<SkillId>| {
        d.agents.insert(
            AgentId(id),
            Arc::new(AgentProfile {
                id: AgentId(id),
                vdn: VdnId(vdn),
                name: format!("agent {id}"),
                skills,
                phone: phone(id),
                rights: Default::default(),
                attributes: Vec::new(),
                group: None,
                supervises: None,
            }),
        );
    };
    for id in 101..=105 {
        add(id, 1, vec![SKILL]);
    }
    add(106, 1, vec![]);
    add(201, 2, vec![OTHER_SKILL]);
    // 106 (no skills: the ACD never offers it a call) supervises all of VDN 1 (quality control).
    let sup = d.agents.get_mut(&AgentId(106)).map(Arc::make_mut);
    if let Some(p) = sup {
        p.supervises = Some(Supervision::default());
        p.rights = AgentRights { censor: true, spy_monitor: true, monitor: true, ..AgentRights::default() };
    }
    d.access_codes.insert("5000".into(), SKILL);
    d
}

pub fn options(auto_answer: bool, auto_enter_idle: bool, initial: InitialState) -> SignInOptions {
    SignInOptions { phone: String::new(), auto_answer, auto_enter_idle, release_phone: true, initial }
}

/// What one operation put out.
#[derive(Debug, Default)]
pub struct Out {
    pub events: Vec<Event>,
    pub telephony: Vec<TelephonyCommand>,
    pub new_sessions: Vec<(AgentId, usize)>,
}

impl Out {
    /// The kinds of the events for one agent, in order.
    pub fn of(&self, agent: u32) -> Vec<EventKind> {
        self.events.iter().filter(|e| e.agent == AgentId(agent)).map(|e| e.kind.clone()).collect()
    }

    pub fn agents(&self) -> Vec<AgentId> {
        let mut v: Vec<_> = self.events.iter().map(|e| e.agent).collect();
        v.dedup();
        v
    }
}

/// A VDN state driven by a fake clock and a counting call-id source.
pub struct Harness {
    pub st: VdnState,
    pub now: u64,
    pub seq: u64,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_policy(Policy::default())
    }

    pub fn with_policy(policy: Policy) -> Self {
        Harness { st: VdnState::new(VDN, &directory(), policy), now: 1_700_000_000_000, seq: 0 }
    }

    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
    }

    pub fn run<R>(&mut self, f: impl FnOnce(&mut VdnState, &mut Ctx) -> R) -> (R, Out) {
        let seq = &mut self.seq;
        let mut next = |secs| {
            *seq += 1;
            CallId { secs, seq: *seq }
        };
        let mut ctx = Ctx::new(self.now, &mut next);
        let r = f(&mut self.st, &mut ctx);
        // As the store does after every operation: monitoring supervisors get their copies.
        self.st.notify_monitors(&mut ctx);
        let out = Out { events: ctx.events, telephony: ctx.telephony, new_sessions: ctx.new_sessions };
        (r, out)
    }

    /// Run an operation that must succeed.
    pub fn ok<R: std::fmt::Debug>(
        &mut self,
        f: impl FnOnce(&mut VdnState, &mut Ctx) -> Result<R, DomainError>,
    ) -> (R, Out) {
        let (r, out) = self.run(f);
        (r.expect("operation failed"), out)
    }

    /// Run an operation that must fail with `want`, and check it changed nothing and said nothing.
    pub fn err<R: std::fmt::Debug>(
        &mut self,
        want: DomainError,
        f: impl FnOnce(&mut VdnState, &mut Ctx) -> Result<R, DomainError>,
    ) {
        let before = self.st.clone();
        let (r, out) = self.run(f);
        assert_eq!(r.unwrap_err(), want);
        assert!(self.st == before, "a failed operation changed the state");
        assert!(out.events.is_empty(), "a failed operation emitted {:?}", out.events);
        assert!(out.telephony.is_empty(), "a failed operation commanded {:?}", out.telephony);
    }

    pub fn sign_in_with(&mut self, agent: u32, opts: SignInOptions) -> Out {
        let guid = format!("guid-{agent}-{}", self.now);
        self.ok(|st, ctx| st.sign_in(ctx, AgentId(agent), opts, guid, false)).1
    }

    /// Manual answer, auto idle after calls, idle at sign-in.
    pub fn sign_in(&mut self, agent: u32) -> Out {
        self.sign_in_with(agent, options(false, true, InitialState::Idle))
    }

    pub fn customer(&mut self, caller: &str) -> (CallId, Out) {
        let caller = caller.to_owned();
        self.ok(|st, ctx| st.customer_call(ctx, &caller, "5000", SKILL, String::new()))
    }

    pub fn code(&self, agent: u32) -> u8 {
        self.st.agent(AgentId(agent)).unwrap().state_code() as u8
    }

    pub fn calls_of(&self, agent: u32) -> Vec<CallId> {
        self.st.call_ids_of(AgentId(agent))
    }

    pub fn queue(&self) -> Vec<CallId> {
        self.st.queues.get(&SKILL).map(|q| q.iter().copied().collect()).unwrap_or_default()
    }
}

pub fn queues_of(st: &VdnState) -> BTreeMap<SkillId, Vec<CallId>> {
    st.queues.iter().map(|(k, v)| (*k, v.iter().copied().collect())).collect()
}

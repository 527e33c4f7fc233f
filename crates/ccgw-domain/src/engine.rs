//! The contact-center engine for one VDN: sign-in, ready states, ACD, and call control.
//!
//! Every operation takes `&mut VdnState` plus a [`Ctx`] (the time, an id source, and the outputs:
//! events for agents and commands for the telephony). An operation that returns `Err` has changed
//! nothing: each validates first and mutates after. The property tests hold us to that.

use std::collections::{BTreeMap, VecDeque};

use crate::agent::{Agent, Credential, InitialState, Pending, Ready, SIGN_IN_STALE_MS, Session, SignInOptions};
use crate::call::{Call, CallFeature, Endpoint, Leg, Party, PartyState, PendingTransfer};
use crate::directory::{Directory, Skill};
use crate::error::DomainError;
use crate::event::{Event, EventKind, Offer};
use crate::ids::{AgentId, CallId, SkillId, VdnId};

type Result<T> = std::result::Result<T, DomainError>;

/// Engine settings that shape behaviour (not wire or transport).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub ring_timeout_ms: u64,
    pub max_failed_logins: u32,
    pub lockout_ms: u64,
    pub allow_force_login: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { ring_timeout_ms: 20_000, max_failed_logins: 5, lockout_ms: 600_000, allow_force_login: true }
    }
}

/// What the engine asks of the telephony (phones outside the contact center).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TelephonyCommand {
    /// Ring a number for this call; the telephony reports back answered / failed / hung up.
    Dial { call: CallId, number: String },
    /// A customer's call entered the engine; the telephony may later hang it up.
    Attach { call: CallId, number: String },
    /// The engine dropped this remote party.
    Hangup { call: CallId, number: String },
}

/// Inputs and outputs of one operation.
pub struct Ctx<'a> {
    pub now_ms: u64,
    pub events: Vec<Event>,
    pub telephony: Vec<TelephonyCommand>,
    /// Agents whose new session starts in this operation, with the index of the first event
    /// that belongs to it: the store empties the agent's mailbox and delivers from there.
    pub new_sessions: Vec<(AgentId, usize)>,
    next_call_id: &'a mut dyn FnMut(u64) -> CallId,
}

impl<'a> Ctx<'a> {
    pub fn new(now_ms: u64, next_call_id: &'a mut dyn FnMut(u64) -> CallId) -> Self {
        Ctx { now_ms, events: Vec::new(), telephony: Vec::new(), new_sessions: Vec::new(), next_call_id }
    }

    fn emit(&mut self, agent: AgentId, kind: EventKind) {
        self.events.push(Event { agent, at_ms: self.now_ms, kind });
    }

    fn call_id(&mut self) -> CallId {
        (self.next_call_id)(self.now_ms / 1000)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelpTarget {
    Agent(AgentId),
    Skill(SkillId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelpMode {
    TwoParty,
    ThreeParty,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferTarget {
    Agent(AgentId),
    Skill(SkillId),
    External(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferMode {
    /// The agent leaves at once.
    Blind,
    /// The agent stays (holding) until the target answers.
    Success,
}

/// Outcome of a successful sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedIn {
    pub login_ms: u64,
}

/// The state of one VDN: its agents, skills, live calls and queues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VdnState {
    pub vdn: VdnId,
    pub policy: Policy,
    pub agents: BTreeMap<AgentId, Agent>,
    pub skills: BTreeMap<SkillId, Skill>,
    pub calls: BTreeMap<CallId, Call>,
    pub queues: BTreeMap<SkillId, VecDeque<CallId>>,
}

/// Valid phone numbers: 1–24 of digits, `*` and `#`.
pub fn valid_number(n: &str) -> bool {
    (1..=24).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}

impl VdnState {
    pub fn new(vdn: VdnId, directory: &Directory, policy: Policy) -> Self {
        let agents = directory.agents_of(vdn).into_iter().map(|p| (p.id, Agent::new(p))).collect();
        let skills: BTreeMap<_, _> = directory.skills_of(vdn).into_iter().map(|s| (s.id, s)).collect();
        let queues = skills.keys().map(|k| (*k, VecDeque::new())).collect();
        VdnState { vdn, policy, agents, skills, calls: BTreeMap::new(), queues }
    }

    // ----- lookups ------------------------------------------------------------------------

    pub fn agent(&self, id: AgentId) -> Result<&Agent> {
        self.agents.get(&id).ok_or(DomainError::UnknownAgent)
    }

    pub fn session(&self, id: AgentId) -> Result<&Session> {
        self.agent(id)?.session.as_ref().ok_or(DomainError::NotSignedIn)
    }

    fn session_mut(&mut self, id: AgentId) -> Result<&mut Session> {
        self.agents.get_mut(&id).and_then(|a| a.session.as_mut()).ok_or(DomainError::NotSignedIn)
    }

    /// The agent's call that is not on hold (ringing or talking), if any.
    pub fn active_call(&self, agent: AgentId) -> Option<&Call> {
        let s = self.session(agent).ok()?;
        s.calls
            .iter()
            .rev()
            .filter_map(|c| self.calls.get(c))
            .find(|c| c.party_of(agent).is_some_and(|p| !matches!(p.state, PartyState::Held)))
    }

    /// The agent's active call in which it is talking (not ringing).
    fn talking_call(&self, agent: AgentId) -> Option<CallId> {
        self.active_call(agent)
            .filter(|c| c.party_of(agent).is_some_and(|p| p.state == PartyState::Talking))
            .map(|c| c.id)
    }

    pub fn held_calls(&self, agent: AgentId) -> Vec<&Call> {
        let Ok(s) = self.session(agent) else { return Vec::new() };
        s.calls
            .iter()
            .filter_map(|c| self.calls.get(c))
            .filter(|c| c.party_of(agent).is_some_and(|p| p.state == PartyState::Held))
            .collect()
    }

    /// Call ids the agent is a party of, oldest first (empty when signed out or idle).
    pub fn call_ids_of(&self, agent: AgentId) -> Vec<CallId> {
        self.session(agent).map(|s| s.calls.clone()).unwrap_or_default()
    }

    /// The call `callinfo` describes: the active call, else the newest held call, else (when
    /// allowed) the last call that ended.
    pub fn current_call(&self, agent: AgentId, include_last: bool) -> Option<&Call> {
        let s = self.session(agent).ok()?;
        if let Some(c) = self.active_call(agent) {
            return Some(c);
        }
        if let Some(c) = s.calls.last().and_then(|c| self.calls.get(c)) {
            return Some(c);
        }
        if include_last { s.last_call.as_ref() } else { None }
    }

    /// The call ringing at this agent.
    pub fn ringing_call(&self, agent: AgentId) -> Option<&Call> {
        let s = self.session(agent).ok()?;
        s.calls
            .iter()
            .filter_map(|c| self.calls.get(c))
            .find(|c| c.party_of(agent).is_some_and(|p| matches!(p.state, PartyState::Alerting { .. })))
    }

    /// A call the agent is a party of (or was, for its last call).
    pub fn call_of_agent(&self, agent: AgentId, call: CallId) -> Option<&Call> {
        let s = self.session(agent).ok()?;
        if s.calls.contains(&call) {
            return self.calls.get(&call);
        }
        s.last_call.as_ref().filter(|c| c.id == call)
    }

    /// Numbers of the other parties of the agent's current call.
    pub fn remote_numbers(&self, agent: AgentId) -> Vec<String> {
        let Some(call) = self.active_call(agent).or_else(|| self.current_call(agent, false)) else {
            return Vec::new();
        };
        call.parties.iter().filter(|p| p.agent() != Some(agent)).map(|p| self.number_of(&p.who)).collect()
    }

    /// How a party is addressed: a remote by its number, an agent by its work number.
    pub fn number_of(&self, who: &Endpoint) -> String {
        match who {
            Endpoint::Agent(a) => a.to_string(),
            Endpoint::Remote(n) => n.clone(),
        }
    }

    fn phone_of(&self, agent: AgentId) -> String {
        self.agents
            .get(&agent)
            .map(|a| match &a.session {
                // A sign-in that named no phone uses the provisioned one.
                Some(s) if !s.options.phone.is_empty() => s.options.phone.clone(),
                _ => a.profile.phone.clone(),
            })
            .unwrap_or_default()
    }

    // ----- sign-in and sessions -------------------------------------------------------------

    /// First half of sign-in, before the password is checked: refuses locked accounts, a second
    /// concurrent sign-in, and (without `force`) an agent already signed in. Marks the sign-in in
    /// flight so a concurrent one gets `SigningIn`.
    pub fn begin_sign_in(&mut self, ctx: &Ctx, agent: AgentId, force: bool) -> Result<()> {
        let policy_force = self.policy.allow_force_login;
        let a = self.agents.get_mut(&agent).ok_or(DomainError::UnknownAgent)?;
        if a.locked_until_ms > ctx.now_ms {
            return Err(DomainError::AccountLocked);
        }
        if a.signing_in_since_ms.is_some_and(|t| ctx.now_ms.saturating_sub(t) < SIGN_IN_STALE_MS) {
            return Err(DomainError::SigningIn);
        }
        if a.session.is_some() {
            if !force {
                return Err(DomainError::AlreadySignedIn);
            }
            if !policy_force {
                return Err(DomainError::ForceLoginNotAllowed);
            }
        }
        a.signing_in_since_ms = Some(ctx.now_ms);
        Ok(())
    }

    /// Second half of sign-in, once the password has been checked. A wrong password counts
    /// towards the lock-out; the failure that reaches the limit locks the account.
    pub fn complete_sign_in(
        &mut self,
        ctx: &mut Ctx,
        agent: AgentId,
        password_ok: bool,
        options: SignInOptions,
        guid: String,
        force: bool,
    ) -> Result<SignedIn> {
        let policy = self.policy.clone();
        let a = self.agents.get_mut(&agent).ok_or(DomainError::UnknownAgent)?;
        a.signing_in_since_ms = None;
        if !password_ok {
            a.failed_logins += 1;
            if a.failed_logins >= policy.max_failed_logins {
                a.failed_logins = 0;
                a.locked_until_ms = ctx.now_ms.saturating_add(policy.lockout_ms);
                return Err(DomainError::LockedNow);
            }
            return Err(DomainError::WrongPassword);
        }
        if a.session.is_some() && !force {
            return Err(DomainError::AlreadySignedIn);
        }
        a.failed_logins = 0;
        if a.session.is_some() {
            self.end_session(ctx, agent);
        }
        let a = self.agents.get_mut(&agent).ok_or(DomainError::UnknownAgent)?;
        let ready = match options.initial {
            InitialState::Idle => Ready::Idle,
            InitialState::Busy => Ready::Busy { reason: 0 },
            InitialState::Work => Ready::Work,
        };
        a.session = Some(Session {
            credential: Credential::new(guid, ctx.now_ms),
            login_ms: ctx.now_ms,
            options,
            ready,
            pending: None,
            idle_since_ms: ctx.now_ms,
            calls: Vec::new(),
            active_skills: a.profile.skills.clone(),
            last_call: None,
            stats: Default::default(),
            in_call_since_ms: None,
        });
        ctx.new_sessions.push((agent, ctx.events.len()));
        ctx.emit(agent, EventKind::InService);
        ctx.emit(agent, EventKind::Ready);
        match ready {
            Ready::Busy { reason } => ctx.emit(agent, EventKind::SetNotReadySuccess { reason }),
            Ready::Work => ctx.emit(agent, EventKind::Work),
            _ => {}
        }
        self.distribute(ctx);
        Ok(SignedIn { login_ms: ctx.now_ms })
    }

    /// Forget an abandoned sign-in (the password check failed to run).
    pub fn abort_sign_in(&mut self, agent: AgentId) {
        if let Some(a) = self.agents.get_mut(&agent) {
            a.signing_in_since_ms = None;
        }
    }

    /// Voluntary sign-out: refused while the agent is in a call.
    pub fn sign_out(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<()> {
        if self.session(agent)?.in_call() {
            return Err(DomainError::InCall);
        }
        self.end_session(ctx, agent);
        Ok(())
    }

    /// Forced sign-out (also heartbeat expiry): the agent's calls are released first.
    pub fn force_sign_out(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<()> {
        self.session(agent)?;
        self.end_session(ctx, agent);
        Ok(())
    }

    fn end_session(&mut self, ctx: &mut Ctx, agent: AgentId) {
        // The session goes first: the after-call distribution while its calls are released must
        // not offer a queued call to the agent on its way out (that call would keep a party with
        // no session).
        let Some(s) = self.agents.get_mut(&agent).and_then(|a| a.session.take()) else { return };
        for call in s.calls {
            // An offer it never answered goes back to the queue, as when rejected.
            if let Some(skill) = self.requeue_skill(call, agent) {
                self.enqueue(call, skill, ctx.now_ms, true);
            }
            ctx.emit(agent, EventKind::CallRelease(call));
            self.leave(ctx, call, agent, false);
        }
        ctx.emit(agent, EventKind::ShutdownService { login_time_ms: s.login_ms });
        self.distribute(ctx);
    }

    /// Rotate the agent's GUID if the interval has passed; returns the new GUID when it did.
    pub fn rotate_guid(
        &mut self,
        ctx: &Ctx,
        agent: AgentId,
        interval_ms: u64,
        timeout_ms: u64,
        new_guid: impl FnOnce() -> String,
    ) -> Result<Option<String>> {
        let s = self.session_mut(agent)?;
        if !s.credential.rotation_due(ctx.now_ms, interval_ms) {
            return Ok(None);
        }
        let g = new_guid();
        s.credential.rotate(g.clone(), ctx.now_ms, timeout_ms);
        Ok(Some(g))
    }

    /// Replace the GUID at once (page refresh); the old one stays valid for `timeout_ms`.
    pub fn replace_guid(&mut self, ctx: &Ctx, agent: AgentId, guid: String, timeout_ms: u64) -> Result<()> {
        let s = self.session_mut(agent)?;
        s.credential.rotate(guid, ctx.now_ms, timeout_ms);
        Ok(())
    }

    // ----- ready states ------------------------------------------------------------------------

    /// Set busy. In a call it takes effect when the call ends.
    pub fn say_busy(&mut self, ctx: &mut Ctx, agent: AgentId, reason: u16, prolong: bool) -> Result<()> {
        let s = self.session_mut(agent)?;
        if s.in_call() {
            if matches!(s.pending, Some(Pending::Busy { .. })) && !prolong {
                return Err(DomainError::WrongState);
            }
            s.pending = Some(Pending::Busy { reason });
            return Ok(());
        }
        if matches!(s.ready, Ready::Busy { .. }) && !prolong {
            return Err(DomainError::WrongState);
        }
        s.ready = Ready::Busy { reason };
        ctx.emit(agent, EventKind::SetNotReadySuccess { reason });
        Ok(())
    }

    pub fn cancel_busy(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<()> {
        let s = self.session_mut(agent)?;
        if matches!(s.pending, Some(Pending::Busy { .. })) {
            s.pending = None;
            ctx.emit(agent, EventKind::CancelNotReadySuccess);
            return Ok(());
        }
        if s.in_call() || !matches!(s.ready, Ready::Busy { .. }) {
            return Err(DomainError::WrongState);
        }
        self.become_idle(ctx, agent, Some(EventKind::CancelNotReadySuccess));
        Ok(())
    }

    /// Set idle from busy, rest or wrap-up. Idle already: nothing to do.
    pub fn say_free(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<()> {
        let s = self.session_mut(agent)?;
        if s.in_call() {
            return Err(DomainError::InCall);
        }
        let preface = match s.ready {
            Ready::Idle => return Ok(()),
            Ready::Busy { .. } => EventKind::CancelNotReadySuccess,
            Ready::Rest { .. } => EventKind::CancelRestSuccess,
            Ready::Work => EventKind::CancelWorkSuccess,
        };
        self.become_idle(ctx, agent, Some(preface));
        Ok(())
    }

    /// Rest for `secs` (1–86399). In a call the agent is "pre-rest" until the call ends.
    pub fn rest(&mut self, ctx: &mut Ctx, agent: AgentId, secs: u32, cause: u8, prolong: bool) -> Result<()> {
        if !(1..=86_399).contains(&secs) {
            return Err(DomainError::InvalidParameter);
        }
        let now = ctx.now_ms;
        let s = self.session_mut(agent)?;
        if s.in_call() {
            if matches!(s.pending, Some(Pending::Rest { .. })) && !prolong {
                return Err(DomainError::WrongState);
            }
            s.pending = Some(Pending::Rest { secs, cause });
            return Ok(());
        }
        if matches!(s.ready, Ready::Rest { .. }) && !prolong {
            return Err(DomainError::WrongState);
        }
        s.ready = Ready::Rest { until_ms: now + u64::from(secs) * 1000, cause, reminded: false };
        ctx.emit(agent, EventKind::SetRestSuccess);
        Ok(())
    }

    pub fn cancel_rest(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<()> {
        let s = self.session_mut(agent)?;
        if matches!(s.pending, Some(Pending::Rest { .. })) {
            s.pending = None;
            ctx.emit(agent, EventKind::CancelRestSuccess);
            return Ok(());
        }
        if s.in_call() || !matches!(s.ready, Ready::Rest { .. }) {
            return Err(DomainError::WrongState);
        }
        self.become_idle(ctx, agent, Some(EventKind::CancelRestSuccess));
        Ok(())
    }

    /// Enter wrap-up. In a call it applies when the call ends.
    pub fn work(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<()> {
        let s = self.session_mut(agent)?;
        if s.in_call() {
            s.pending = Some(Pending::Work);
            return Ok(());
        }
        if s.ready == Ready::Work {
            return Err(DomainError::WrongState);
        }
        s.ready = Ready::Work;
        ctx.emit(agent, EventKind::SetWorkSuccess);
        ctx.emit(agent, EventKind::Work);
        Ok(())
    }

    pub fn cancel_work(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<()> {
        let s = self.session_mut(agent)?;
        if s.in_call() || s.ready != Ready::Work {
            return Err(DomainError::WrongState);
        }
        self.become_idle(ctx, agent, Some(EventKind::CancelWorkSuccess));
        Ok(())
    }

    pub fn set_auto_enter_idle(&mut self, agent: AgentId, on: bool) -> Result<()> {
        self.session_mut(agent)?.options.auto_enter_idle = on;
        Ok(())
    }

    /// Sign in to skill queues: `None` = every configured skill; otherwise each must be configured.
    pub fn reset_skills(&mut self, ctx: &mut Ctx, agent: AgentId, skills: Option<Vec<SkillId>>) -> Result<()> {
        let configured = self.agent(agent)?.profile.skills.clone();
        self.session(agent)?;
        let chosen = match skills {
            None => configured,
            Some(list) => {
                if list.iter().any(|s| !configured.contains(s)) {
                    return Err(DomainError::InvalidParameter);
                }
                let mut list = list;
                list.dedup();
                list
            }
        };
        self.session_mut(agent)?.active_skills = chosen;
        self.distribute(ctx);
        Ok(())
    }

    fn become_idle(&mut self, ctx: &mut Ctx, agent: AgentId, preface: Option<EventKind>) {
        let now = ctx.now_ms;
        if let Ok(s) = self.session_mut(agent) {
            s.ready = Ready::Idle;
            s.idle_since_ms = now;
        }
        if let Some(p) = preface {
            ctx.emit(agent, p);
        }
        ctx.emit(agent, EventKind::Ready);
        self.distribute(ctx);
    }

    // ----- call membership ----------------------------------------------------------------------

    fn join(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId) {
        let now = ctx.now_ms;
        if let Ok(s) = self.session_mut(agent) {
            let first = s.calls.is_empty();
            s.calls.push(call);
            if first {
                s.in_call_since_ms = Some(now);
                ctx.emit(agent, EventKind::Busy);
            }
        }
    }

    /// The agent leaves the call: party removed, `Call_Release` (when `announce`), then the call
    /// settles (ends if fewer than two parties remain) and the agent's after-call state applies.
    fn leave(&mut self, ctx: &mut Ctx, call: CallId, agent: AgentId, announce: bool) {
        if let Some(c) = self.calls.get_mut(&call) {
            c.parties.retain(|p| p.who != Endpoint::Agent(agent));
            if c.transfer.is_some_and(|t| t.from == agent) {
                c.transfer = None;
            }
            drop_failed_transfer(c);
        }
        let snapshot = self.calls.get(&call).cloned();
        self.detach(ctx, agent, call, snapshot, announce);
        self.settle(ctx, call);
    }

    /// Remove a call from an agent's list and apply what follows its last call.
    fn detach(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId, snapshot: Option<Call>, announce: bool) {
        let now = ctx.now_ms;
        let Ok(s) = self.session_mut(agent) else { return };
        let before = s.calls.len();
        s.calls.retain(|c| *c != call);
        if s.calls.len() == before {
            return;
        }
        if let Some(mut last) = snapshot {
            last.end_ms.get_or_insert(now);
            s.last_call = Some(last);
        }
        if announce {
            ctx.emit(agent, EventKind::CallRelease(call));
        }
        if s.calls.is_empty() {
            if let Some(since) = s.in_call_since_ms.take() {
                s.stats.talk_ms += now.saturating_sub(since);
            }
            self.after_call(ctx, agent);
        }
    }

    fn after_call(&mut self, ctx: &mut Ctx, agent: AgentId) {
        let now = ctx.now_ms;
        let Ok(s) = self.session_mut(agent) else { return };
        match s.pending.take() {
            Some(Pending::Busy { reason }) => {
                s.ready = Ready::Busy { reason };
                ctx.emit(agent, EventKind::SetNotReadySuccess { reason });
            }
            Some(Pending::Rest { secs, cause }) => {
                s.ready = Ready::Rest { until_ms: now + u64::from(secs) * 1000, cause, reminded: false };
                ctx.emit(agent, EventKind::SetRestSuccess);
            }
            Some(Pending::Work) => {
                s.ready = Ready::Work;
                ctx.emit(agent, EventKind::SetWorkSuccess);
                ctx.emit(agent, EventKind::Work);
            }
            None => match s.ready {
                Ready::Idle if s.options.auto_enter_idle => {
                    s.idle_since_ms = now;
                    ctx.emit(agent, EventKind::Ready);
                    self.distribute(ctx);
                }
                Ready::Idle | Ready::Work => {
                    s.ready = Ready::Work;
                    ctx.emit(agent, EventKind::Work);
                }
                Ready::Busy { reason } => ctx.emit(agent, EventKind::SetNotReadySuccess { reason }),
                Ready::Rest { .. } => ctx.emit(agent, EventKind::SetRestSuccess),
            },
        }
    }

    /// End the call if it can no longer stand: fewer than two parties and not waiting in a queue.
    fn settle(&mut self, ctx: &mut Ctx, call: CallId) {
        let Some(c) = self.calls.get(&call) else { return };
        if c.parties.len() >= 2 || (c.queued_since_ms.is_some() && !c.parties.is_empty()) {
            return;
        }
        self.end_call(ctx, call);
    }

    fn end_call(&mut self, ctx: &mut Ctx, call: CallId) {
        let Some(mut c) = self.calls.remove(&call) else { return };
        c.end_ms = Some(ctx.now_ms);
        for q in self.queues.values_mut() {
            q.retain(|x| *x != call);
        }
        for p in &c.parties {
            match &p.who {
                Endpoint::Agent(a) => {
                    let a = *a;
                    self.detach(ctx, a, call, Some(c.clone()), true);
                }
                Endpoint::Remote(n) => ctx.telephony.push(TelephonyCommand::Hangup { call, number: n.clone() }),
            }
        }
    }

    /// Tell every agent of an established call that it is talking (once each).
    fn connect(&mut self, ctx: &mut Ctx, call: CallId) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        let established = c.parties.iter().filter(|p| !matches!(p.state, PartyState::Alerting { .. })).count() >= 2;
        if !established {
            return;
        }
        if c.begin_ms.is_none() {
            c.begin_ms = Some(ctx.now_ms);
        }
        let mut told = Vec::new();
        for p in c.parties.iter_mut() {
            if let Endpoint::Agent(a) = p.who
                && p.state == PartyState::Talking
                && !p.connected
            {
                p.connected = true;
                told.push((a, p.leg));
            }
        }
        let (caller, called, feature) = (c.caller.clone(), c.called.clone(), c.feature);
        for (a, leg) in told {
            ctx.emit(a, EventKind::Talking { call, caller: caller.clone(), called: called.clone(), leg, feature });
        }
        // A "success" transfer completes when someone other than the transferring agent is in.
        let done = self.calls.get(&call).and_then(|c| {
            let t = c.transfer?;
            let target_in = c
                .parties
                .iter()
                .any(|p| p.agent() != Some(t.from) && p.state == PartyState::Talking && p.connected_or_remote());
            target_in.then_some(t.from)
        });
        if let Some(from) = done {
            if let Some(c) = self.calls.get_mut(&call) {
                c.transfer = None;
                c.transferred_from = Some(from);
            }
            self.leave(ctx, call, from, true);
        }
    }

    fn offer(&mut self, ctx: &mut Ctx, call: CallId, agent: AgentId, leg: Leg) {
        // Offered directly (help, transfer) while it waited: it waits no more.
        self.unqueue(call);
        let Some(c) = self.calls.get_mut(&call) else { return };
        c.parties.push(Party {
            who: Endpoint::Agent(agent),
            state: PartyState::Alerting { since_ms: ctx.now_ms },
            leg,
            muted: false,
            connected: false,
        });
        let offer = Offer {
            call,
            caller: c.caller.clone(),
            called: c.called.clone(),
            feature: c.feature,
            leg,
            transferred_from: c.transferred_from,
            media_type: c.media_type,
        };
        self.join(ctx, agent, call);
        let auto = self.session(agent).map(|s| s.options.auto_answer).unwrap_or(false);
        if auto {
            ctx.emit(agent, EventKind::AutoAnswer(offer));
            self.take_answer(ctx, agent, call);
        } else {
            ctx.emit(agent, EventKind::Ringing(offer));
        }
    }

    fn take_answer(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId) {
        if let Some(p) = self.calls.get_mut(&call).and_then(|c| c.party_of_mut(agent)) {
            p.state = PartyState::Talking;
        }
        if let Ok(s) = self.session_mut(agent) {
            s.stats.answered += 1;
        }
        self.connect(ctx, call);
    }

    // ----- ACD ----------------------------------------------------------------------------------

    /// The longest-idle available agent signed in to `skill`.
    fn pick_agent(&self, skill: SkillId, except: Option<AgentId>) -> Option<AgentId> {
        self.agents
            .values()
            .filter(|a| Some(a.profile.id) != except)
            .filter_map(|a| a.session.as_ref().map(|s| (a.profile.id, s)))
            .filter(|(_, s)| s.available() && s.active_skills.contains(&skill))
            .min_by_key(|(id, s)| (s.idle_since_ms, *id))
            .map(|(id, _)| id)
    }

    /// Offer queued calls to available agents, oldest call first within each skill.
    fn distribute(&mut self, ctx: &mut Ctx) {
        loop {
            let mut next = None;
            for (skill, q) in &self.queues {
                if let Some(&call) = q.front()
                    && let Some(agent) = self.pick_agent(*skill, None)
                {
                    next = Some((*skill, call, agent));
                    break;
                }
            }
            let Some((skill, call, agent)) = next else { return };
            if let Some(q) = self.queues.get_mut(&skill) {
                q.pop_front();
            }
            self.offer(ctx, call, agent, Leg::Main);
        }
    }

    fn enqueue(&mut self, call: CallId, skill: SkillId, now_ms: u64, front: bool) {
        if let Some(c) = self.calls.get_mut(&call) {
            c.queued_since_ms = Some(now_ms);
            c.skill = Some(skill);
        }
        // A call waits in one queue at most (a queued call can be transferred to a skill again).
        for q in self.queues.values_mut() {
            q.retain(|x| *x != call);
        }
        let q = self.queues.entry(skill).or_default();
        if front { q.push_front(call) } else { q.push_back(call) }
    }

    /// The call stops waiting: unmarked and out of every queue (the two always go together).
    fn unqueue(&mut self, call: CallId) {
        if let Some(c) = self.calls.get_mut(&call) {
            c.queued_since_ms = None;
        }
        for q in self.queues.values_mut() {
            q.retain(|x| *x != call);
        }
    }

    /// A customer call arrives on `skill` (the operator API or the telephony).
    pub fn customer_call(
        &mut self,
        ctx: &mut Ctx,
        caller: &str,
        called: &str,
        skill: SkillId,
        data: String,
    ) -> Result<CallId> {
        if !valid_number(caller) || !self.skills.contains_key(&skill) {
            return Err(DomainError::InvalidParameter);
        }
        let id = ctx.call_id();
        let media_type = self.skills.get(&skill).map_or(5, |s| s.media_type);
        self.calls.insert(
            id,
            Call {
                id,
                feature: CallFeature::Inbound,
                caller: caller.to_owned(),
                called: called.to_owned(),
                original_called: called.to_owned(),
                skill: Some(skill),
                data,
                created_ms: ctx.now_ms,
                begin_ms: None,
                end_ms: None,
                parties: vec![remote(caller, PartyState::Talking)],
                queued_since_ms: None,
                user_priority: 0,
                media_type,
                transfer: None,
                transferred_from: None,
            },
        );
        ctx.telephony.push(TelephonyCommand::Attach { call: id, number: caller.to_owned() });
        self.enqueue(id, skill, ctx.now_ms, false);
        self.distribute(ctx);
        Ok(id)
    }

    /// Periodic housekeeping: ring time-outs, rest reminders, distribution.
    pub fn tick(&mut self, ctx: &mut Ctx) {
        let now = ctx.now_ms;
        let timeout = self.policy.ring_timeout_ms;
        let expired: Vec<(CallId, AgentId)> = self
            .calls
            .values()
            .flat_map(|c| {
                c.parties.iter().filter_map(move |p| match (p.state, p.agent()) {
                    (PartyState::Alerting { since_ms }, Some(a)) if now.saturating_sub(since_ms) >= timeout => {
                        Some((c.id, a))
                    }
                    _ => None,
                })
            })
            .collect();
        for (call, agent) in expired {
            self.ring_timeout(ctx, call, agent);
        }
        let reminders: Vec<AgentId> = self
            .agents
            .values_mut()
            .filter_map(|a| {
                let s = a.session.as_mut()?;
                match &mut s.ready {
                    Ready::Rest { until_ms, reminded, .. } if !*reminded && now >= *until_ms => {
                        *reminded = true;
                        Some(a.profile.id)
                    }
                    _ => None,
                }
            })
            .collect();
        for a in reminders {
            ctx.emit(a, EventKind::RestTimeout);
        }
        self.distribute(ctx);
    }

    /// An offered call rang too long: the agent goes busy (reason 2) and the call goes back.
    fn ring_timeout(&mut self, ctx: &mut Ctx, call: CallId, agent: AgentId) {
        // An earlier time-out in the same tick may have ended the call (two agents rung on it):
        // a stale entry must not leave a pending busy on an agent no longer in a call.
        let ringing = self.calls.get(&call).and_then(|c| c.party_of(agent));
        if !ringing.is_some_and(|p| matches!(p.state, PartyState::Alerting { .. })) {
            return;
        }
        ctx.emit(agent, EventKind::NoAnswer(call));
        if let Ok(s) = self.session_mut(agent) {
            s.pending = Some(Pending::Busy { reason: 2 });
        }
        let requeue = self.calls.get(&call).and_then(|c| {
            let others_are_agents = c.parties.iter().any(|p| p.agent().is_some_and(|a| a != agent));
            (!others_are_agents && c.transfer.is_none()).then_some(c.skill).flatten()
        });
        if let Some(skill) = requeue {
            self.enqueue(call, skill, ctx.now_ms, true);
        }
        self.leave(ctx, call, agent, true);
        self.distribute(ctx);
    }

    // ----- telephony reports --------------------------------------------------------------------

    pub fn remote_answered(&mut self, ctx: &mut Ctx, call: CallId, number: &str) {
        let Some(p) = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.parties.iter_mut().find(|p| p.who == Endpoint::Remote(number.to_owned())))
        else {
            return;
        };
        if matches!(p.state, PartyState::Alerting { .. }) {
            p.state = PartyState::Talking;
            self.connect(ctx, call);
        }
    }

    pub fn remote_failed(&mut self, ctx: &mut Ctx, call: CallId, number: &str) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        let before = c.parties.len();
        c.parties.retain(|p| p.who != Endpoint::Remote(number.to_owned()));
        if c.parties.len() == before {
            return;
        }
        let agents: Vec<AgentId> = c.agents().collect();
        // A pending "success" transfer failed with it; the transferring agent stays, holding.
        c.transfer = None;
        for a in &agents {
            ctx.emit(*a, EventKind::CallOutFail(call));
        }
        // The call may still not stand (the customer hung up while the transfer rang).
        let waiting = c.queued_since_ms.is_some() && !c.parties.is_empty();
        if c.parties.len() < 2 && !waiting {
            // The dialling agent alone: the call ends without a separate Call_Release.
            let snapshot = self.calls.get(&call).cloned();
            for a in agents {
                self.detach(ctx, a, call, snapshot.clone(), false);
            }
            // Whoever else is left (the customer of a failed blind transfer) is hung up.
            self.end_call(ctx, call);
        }
    }

    pub fn remote_hung_up(&mut self, ctx: &mut Ctx, call: CallId, number: &str) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        let before = c.parties.len();
        c.parties.retain(|p| p.who != Endpoint::Remote(number.to_owned()));
        if c.parties.len() == before {
            return;
        }
        drop_failed_transfer(c);
        let stop_waiting = c.parties.is_empty() || c.queued_since_ms.is_some() && c.remotes().next().is_none();
        let agents: Vec<AgentId> = c.agents().collect();
        if stop_waiting {
            self.unqueue(call);
        }
        for a in agents {
            ctx.emit(a, EventKind::CustomerRelease { call, number: number.to_owned() });
        }
        // A pending "success" transfer whose transferring agent would leave a lone party behind
        // has nothing left to transfer: the call ends now (the target stops ringing or being
        // dialled) rather than at the target's ring time-out or dial outcome.
        let orphaned = self.calls.get(&call).is_some_and(|c| {
            c.transfer.is_some_and(|t| c.parties.iter().filter(|p| p.agent() != Some(t.from)).count() < 2)
        });
        if orphaned {
            self.end_call(ctx, call);
        } else {
            self.settle(ctx, call);
        }
    }

    // ----- call control -------------------------------------------------------------------------

    /// Outbound call to an external number. The agent may hold other calls but not talk on one.
    pub fn call_out(
        &mut self,
        ctx: &mut Ctx,
        agent: AgentId,
        called: &str,
        caller: Option<&str>,
        data: String,
    ) -> Result<CallId> {
        self.session(agent)?;
        if !valid_number(called) || caller.is_some_and(|c| !c.is_empty() && !valid_number(c)) {
            return Err(DomainError::InvalidNumber);
        }
        if self.active_call(agent).is_some() {
            return Err(DomainError::InCall);
        }
        let caller = caller.filter(|c| !c.is_empty()).map_or_else(|| self.phone_of(agent), str::to_owned);
        let id = ctx.call_id();
        self.calls.insert(
            id,
            new_call(
                id,
                CallFeature::Outbound,
                &caller,
                called,
                data,
                ctx.now_ms,
                vec![
                    agent_party(agent, PartyState::Talking, Leg::Main),
                    remote(called, PartyState::Alerting { since_ms: ctx.now_ms }),
                ],
            ),
        );
        self.join(ctx, agent, id);
        if let Ok(s) = self.session_mut(agent) {
            s.stats.callouts += 1;
        }
        ctx.emit(agent, EventKind::CustomerAlerting { call: id, other_phone: called.to_owned(), other_agent: None });
        ctx.telephony.push(TelephonyCommand::Dial { call: id, number: called.to_owned() });
        Ok(id)
    }

    /// Check that `target` can be rung: in this VDN, not the caller, signed in and available.
    fn check_target(&self, agent: AgentId, target: AgentId) -> Result<()> {
        if target == agent {
            return Err(DomainError::InvalidParameter);
        }
        let t = self.agent(target)?;
        match &t.session {
            Some(s) if s.available() => Ok(()),
            _ => Err(DomainError::TargetUnavailable),
        }
    }

    /// Internal call to another agent of the VDN.
    pub fn call_inner(&mut self, ctx: &mut Ctx, agent: AgentId, target: AgentId, data: String) -> Result<CallId> {
        self.session(agent)?;
        if self.active_call(agent).is_some() {
            return Err(DomainError::InCall);
        }
        self.check_target(agent, target)?;
        let id = ctx.call_id();
        self.calls.insert(
            id,
            new_call(
                id,
                CallFeature::Internal,
                &agent.to_string(),
                &target.to_string(),
                data,
                ctx.now_ms,
                vec![agent_party(agent, PartyState::Talking, Leg::Main)],
            ),
        );
        self.join(ctx, agent, id);
        let phone = self.phone_of(target);
        ctx.emit(agent, EventKind::CustomerAlerting { call: id, other_phone: phone, other_agent: Some(target) });
        self.offer(ctx, id, target, Leg::Main);
        Ok(id)
    }

    /// Answer the ringing call (optionally the one named).
    pub fn answer(&mut self, ctx: &mut Ctx, agent: AgentId, call: Option<CallId>) -> Result<CallId> {
        self.session(agent)?;
        let ringing = self.ringing_call(agent).map(|c| c.id).ok_or(DomainError::NoCall)?;
        if call.is_some_and(|c| c != ringing) {
            return Err(DomainError::NoCall);
        }
        self.take_answer(ctx, agent, ringing);
        Ok(ringing)
    }

    /// Leave the active call (ringing counts: that rejects it).
    pub fn release(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<CallId> {
        self.session(agent)?;
        let call = self.active_call(agent).map(|c| c.id).ok_or(DomainError::NoCall)?;
        self.reject_or_leave(ctx, call, agent);
        Ok(call)
    }

    /// Leave a named call, held or not.
    pub fn drop_call(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId) -> Result<()> {
        if !self.session(agent)?.calls.contains(&call) {
            return Err(DomainError::NoCall);
        }
        self.reject_or_leave(ctx, call, agent);
        Ok(())
    }

    /// An agent rejecting an offered inbound call sends it back to the queue.
    fn reject_or_leave(&mut self, ctx: &mut Ctx, call: CallId, agent: AgentId) {
        if let Some(skill) = self.requeue_skill(call, agent) {
            self.enqueue(call, skill, ctx.now_ms, true);
        }
        self.leave(ctx, call, agent, true);
        self.distribute(ctx);
    }

    /// The skill queue a call goes back to when `agent` drops the offer of it: only a queue call
    /// ringing at this agent alone.
    fn requeue_skill(&self, call: CallId, agent: AgentId) -> Option<SkillId> {
        self.calls.get(&call).and_then(|c| {
            let ringing = c.party_of(agent).is_some_and(|p| matches!(p.state, PartyState::Alerting { .. }));
            let alone = !c.parties.iter().any(|p| p.agent().is_some_and(|a| a != agent));
            (ringing && alone && c.transfer.is_none()).then_some(c.skill).flatten()
        })
    }

    /// Release one party of the agent's active call by its number (agent work number or phone).
    pub fn disconnect(&mut self, ctx: &mut Ctx, agent: AgentId, number: &str) -> Result<()> {
        self.session(agent)?;
        let call = self.active_call(agent).ok_or(DomainError::NoCall)?;
        let id = call.id;
        let who = call
            .parties
            .iter()
            .map(|p| p.who.clone())
            .find(|w| match w {
                Endpoint::Remote(n) => n == number,
                Endpoint::Agent(a) => a.to_string() == number || self.phone_of(*a) == number,
            })
            .ok_or(DomainError::InvalidParameter)?;
        match who {
            Endpoint::Agent(a) => self.leave(ctx, id, a, true),
            Endpoint::Remote(n) => {
                ctx.telephony.push(TelephonyCommand::Hangup { call: id, number: n.clone() });
                self.remote_hung_up(ctx, id, &n);
            }
        }
        self.distribute(ctx);
        Ok(())
    }

    pub fn hold(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<CallId> {
        self.session(agent)?;
        let call = self.active_call(agent).ok_or(DomainError::NoCall)?;
        let id = call.id;
        if call.party_of(agent).is_none_or(|p| p.state != PartyState::Talking) {
            return Err(DomainError::WrongState);
        }
        if let Some(p) = self.calls.get_mut(&id).and_then(|c| c.party_of_mut(agent)) {
            p.state = PartyState::Held;
        }
        ctx.emit(agent, EventKind::Hold(id));
        Ok(id)
    }

    /// Take a held call back (the newest held one when none is named).
    pub fn unhold(&mut self, ctx: &mut Ctx, agent: AgentId, call: Option<CallId>) -> Result<CallId> {
        self.session(agent)?;
        let held = self.held_calls(agent);
        let target = match call {
            Some(id) => held.iter().find(|c| c.id == id),
            None => held.last(),
        }
        .map(|c| c.id)
        .ok_or(DomainError::NoHeldCall)?;
        if self.active_call(agent).is_some() {
            return Err(DomainError::WrongState);
        }
        let c = self.calls.get_mut(&target).ok_or(DomainError::Internal)?;
        let p = c.party_of_mut(agent).ok_or(DomainError::Internal)?;
        p.state = PartyState::Talking;
        let leg = p.leg;
        let (caller, called, feature) = (c.caller.clone(), c.called.clone(), c.feature);
        ctx.emit(agent, EventKind::Talking { call: target, caller, called, leg, feature });
        Ok(target)
    }

    pub fn mute(&mut self, agent: AgentId, on: bool) -> Result<()> {
        self.session(agent)?;
        let id = self.talking_call(agent).ok_or(DomainError::NoCall)?;
        let p = self.calls.get_mut(&id).and_then(|c| c.party_of_mut(agent)).ok_or(DomainError::Internal)?;
        if p.muted == on {
            return Err(DomainError::WrongState);
        }
        p.muted = on;
        Ok(())
    }

    /// Consult (two-party: the current call is held and a new call rings the helper) or bring a
    /// helper into the current call (three-party). Returns the call the helper is rung on.
    pub fn inner_help(
        &mut self,
        ctx: &mut Ctx,
        agent: AgentId,
        target: HelpTarget,
        mode: HelpMode,
        data: String,
    ) -> Result<CallId> {
        self.session(agent)?;
        // A two-party consultation may start from a call the agent already put on hold itself
        // (hold, then innerhelp), as long as it is not talking on another call.
        let (current, already_held) = match self.talking_call(agent) {
            Some(c) => (c, false),
            None if mode == HelpMode::TwoParty && self.active_call(agent).is_none() => {
                (self.held_calls(agent).last().map(|c| c.id).ok_or(DomainError::NoCall)?, true)
            }
            None => return Err(DomainError::NoCall),
        };
        let helper = match target {
            HelpTarget::Agent(t) => {
                self.check_target(agent, t)?;
                t
            }
            HelpTarget::Skill(s) => {
                if !self.skills.contains_key(&s) {
                    return Err(DomainError::InvalidParameter);
                }
                self.pick_agent(s, Some(agent)).ok_or(DomainError::NoAgentAvailable)?
            }
        };
        match mode {
            HelpMode::TwoParty => {
                if !already_held {
                    if let Some(p) = self.calls.get_mut(&current).and_then(|c| c.party_of_mut(agent)) {
                        p.state = PartyState::Held;
                    }
                    ctx.emit(agent, EventKind::Hold(current));
                }
                let id = ctx.call_id();
                self.calls.insert(
                    id,
                    new_call(
                        id,
                        CallFeature::ConsultTwoParty,
                        &agent.to_string(),
                        &helper.to_string(),
                        data,
                        ctx.now_ms,
                        vec![agent_party(agent, PartyState::Talking, Leg::Main)],
                    ),
                );
                self.join(ctx, agent, id);
                let phone = self.phone_of(helper);
                ctx.emit(
                    agent,
                    EventKind::CustomerAlerting { call: id, other_phone: phone, other_agent: Some(helper) },
                );
                self.offer(ctx, id, helper, Leg::Assistant);
                Ok(id)
            }
            HelpMode::ThreeParty => {
                if let Some(c) = self.calls.get_mut(&current) {
                    c.feature = CallFeature::ConsultThreeParty;
                }
                self.offer(ctx, current, helper, Leg::Assistant);
                Ok(current)
            }
        }
    }

    /// Transfer the active call.
    pub fn transfer(
        &mut self,
        ctx: &mut Ctx,
        agent: AgentId,
        target: TransferTarget,
        mode: TransferMode,
    ) -> Result<()> {
        self.session(agent)?;
        let call = self.talking_call(agent).ok_or(DomainError::NoCall)?;
        if self.calls.get(&call).is_some_and(|c| c.transfer.is_some()) {
            return Err(DomainError::WrongState);
        }
        // Resolve and validate the target before touching anything.
        let target_agent = match &target {
            TransferTarget::Agent(t) => {
                self.check_target(agent, *t)?;
                Some(*t)
            }
            TransferTarget::Skill(s) => {
                if !self.skills.contains_key(s) {
                    return Err(DomainError::InvalidParameter);
                }
                match mode {
                    TransferMode::Blind => None,
                    TransferMode::Success => {
                        Some(self.pick_agent(*s, Some(agent)).ok_or(DomainError::NoAgentAvailable)?)
                    }
                }
            }
            TransferTarget::External(n) => {
                // Telephony reports name a remote by (call, number): a second party with the
                // same number in one call could not be told apart.
                let present = self.calls.get(&call).is_some_and(|c| c.remotes().any(|r| r == n));
                if !valid_number(n) || present {
                    return Err(DomainError::InvalidNumber);
                }
                None
            }
        };
        if mode == TransferMode::Success {
            if let Some(c) = self.calls.get_mut(&call) {
                c.transfer = Some(PendingTransfer { from: agent });
                if let Some(p) = c.party_of_mut(agent) {
                    p.state = PartyState::Held;
                }
            }
            ctx.emit(agent, EventKind::Hold(call));
        } else if let Some(c) = self.calls.get_mut(&call) {
            c.transferred_from = Some(agent);
        }
        match (&target, target_agent) {
            (_, Some(t)) => self.offer(ctx, call, t, Leg::Main),
            (TransferTarget::Skill(s), None) => self.enqueue(call, *s, ctx.now_ms, false),
            (TransferTarget::External(n), _) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.parties.push(remote(n, PartyState::Alerting { since_ms: ctx.now_ms }));
                }
                ctx.telephony.push(TelephonyCommand::Dial { call, number: n.clone() });
            }
            (TransferTarget::Agent(_), None) => return Err(DomainError::Internal),
        }
        if mode == TransferMode::Blind {
            self.leave(ctx, call, agent, true);
        }
        self.distribute(ctx);
        Ok(())
    }

    /// Merge the agent's active call into its held call: a conference of everyone.
    pub fn conference(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<CallId> {
        self.session(agent)?;
        let active = self.talking_call(agent).ok_or(DomainError::NoCall)?;
        let held = self.held_calls(agent).last().map(|c| c.id).ok_or(DomainError::NoHeldCall)?;
        self.merge_into(ctx, active, held, agent);
        if let Some(c) = self.calls.get_mut(&held) {
            c.feature = CallFeature::MultiParty;
            if let Some(p) = c.party_of_mut(agent) {
                p.state = PartyState::Talking;
            }
        }
        let Some(c) = self.calls.get(&held) else { return Err(DomainError::Internal) };
        let members: Vec<(AgentId, Vec<String>)> = c
            .agents()
            .map(|a| {
                let partners =
                    c.parties.iter().filter(|p| p.agent() != Some(a)).map(|p| self.number_of(&p.who)).collect();
                (a, partners)
            })
            .collect();
        for (a, partners) in members {
            ctx.emit(a, EventKind::Conference { call: held, partners });
        }
        Ok(held)
    }

    /// Connect the agent's active call with its held call `held` and step out of both.
    pub fn connect_held(&mut self, ctx: &mut Ctx, agent: AgentId, held: CallId) -> Result<()> {
        self.session(agent)?;
        let active = self.talking_call(agent).ok_or(DomainError::NoCall)?;
        if !self.held_calls(agent).iter().any(|c| c.id == held) {
            return Err(DomainError::NoHeldCall);
        }
        let moved: Vec<AgentId> =
            self.calls.get(&active).map(|c| c.agents().filter(|a| *a != agent).collect()).unwrap_or_default();
        self.merge_into(ctx, active, held, agent);
        // The agents brought over have not been told they talk on `held`: `connect` tells them.
        if let Some(c) = self.calls.get_mut(&held) {
            for p in c.parties.iter_mut().filter(|p| p.agent().is_some_and(|a| moved.contains(&a))) {
                p.connected = false;
            }
        }
        self.leave(ctx, held, agent, true);
        self.connect(ctx, held);
        Ok(())
    }

    /// Move every party of `from` except `agent` into `into`; `from` disappears.
    fn merge_into(&mut self, ctx: &mut Ctx, from: CallId, into: CallId, agent: AgentId) {
        // `from` may have been waiting in a queue (an internal call transferred to a skill).
        self.unqueue(from);
        let Some(src) = self.calls.remove(&from) else { return };
        let moved: Vec<Party> = src.parties.into_iter().filter(|p| p.agent() != Some(agent)).collect();
        let _ = self.session_mut(agent).map(|s| s.calls.retain(|c| *c != from));
        for p in &moved {
            if let Some(a) = p.agent()
                && let Ok(s) = self.session_mut(a)
            {
                for c in s.calls.iter_mut().filter(|c| **c == from) {
                    *c = into;
                }
                s.calls.dedup();
            }
        }
        if let Some(dst) = self.calls.get_mut(&into) {
            dst.parties.extend(moved);
        }
        let _ = ctx;
    }

    /// Replace a call's associated data.
    pub fn set_call_data(&mut self, agent: AgentId, call: CallId, data: String) -> Result<()> {
        if !self.session(agent)?.calls.contains(&call) {
            return Err(DomainError::NoCall);
        }
        self.calls.get_mut(&call).ok_or(DomainError::NoCall)?.data = data;
        Ok(())
    }
}

trait PartyExt {
    fn connected_or_remote(&self) -> bool;
}

impl PartyExt for Party {
    fn connected_or_remote(&self) -> bool {
        self.connected || self.agent().is_none()
    }
}

/// A pending "success" transfer has failed once nobody rings any more (the target timed out,
/// rejected, or hung up before answering), as when a dialled number fails. A stale one would take
/// the transferring agent out of the call at the next `connect`.
fn drop_failed_transfer(c: &mut Call) {
    if c.transfer.is_some() && !c.parties.iter().any(|p| matches!(p.state, PartyState::Alerting { .. })) {
        c.transfer = None;
    }
}

fn remote(number: &str, state: PartyState) -> Party {
    Party { who: Endpoint::Remote(number.to_owned()), state, leg: Leg::Main, muted: false, connected: false }
}

fn agent_party(agent: AgentId, state: PartyState, leg: Leg) -> Party {
    Party { who: Endpoint::Agent(agent), state, leg, muted: false, connected: false }
}

fn new_call(
    id: CallId,
    feature: CallFeature,
    caller: &str,
    called: &str,
    data: String,
    now_ms: u64,
    parties: Vec<Party>,
) -> Call {
    Call {
        id,
        feature,
        caller: caller.to_owned(),
        called: called.to_owned(),
        original_called: called.to_owned(),
        skill: None,
        data,
        created_ms: now_ms,
        begin_ms: None,
        end_ms: None,
        parties,
        queued_since_ms: None,
        user_priority: 0,
        media_type: 5,
        transfer: None,
        transferred_from: None,
    }
}

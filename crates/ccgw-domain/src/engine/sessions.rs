//! Sign-in, sessions and the ready-state machine (idle, busy, rest, wrap-up).

use super::*;

impl VdnState {
    // ----- sign-in and sessions -------------------------------------------------------------

    /// Sign in, once the gateway has checked the password: refuses an agent already signed in
    /// (without `force`) and a force sign-in the policy forbids; a force sign-in ends the old
    /// session first. Password checks, lock-out and concurrent sign-ins are the gateway's (they
    /// must treat unknown agent ids exactly like provisioned ones, which the engine cannot see).
    pub fn sign_in(
        &mut self,
        ctx: &mut Ctx,
        agent: AgentId,
        options: SignInOptions,
        guid: String,
        force: bool,
    ) -> Result<SignedIn> {
        let a = self.agents.get(&agent).ok_or(DomainError::UnknownAgent)?;
        if a.session.is_some() {
            if !force {
                return Err(DomainError::AlreadySignedIn);
            }
            if !self.policy.allow_force_login {
                return Err(DomainError::ForceLoginNotAllowed);
            }
            self.end_session(ctx, agent);
        }
        self.mark_dirty(agent);
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
            state_since_ms: ctx.now_ms,
            calls: Vec::new(),
            active_skills: a.profile.skills.clone(),
            last_call: None,
            stats: Default::default(),
            in_call_since_ms: None,
            phone_off_hook: false,
            recording: None,
            playback: None,
            settings: Default::default(),
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

    pub(super) fn end_session(&mut self, ctx: &mut Ctx, agent: AgentId) {
        // The session goes first: the after-call distribution while its calls are released must
        // not offer a queued call to the agent on its way out (that call would keep a party with
        // no session).
        self.mark_dirty(agent);
        // Its monitoring subscriptions end with the session (quality control).
        self.drop_monitoring(agent);
        let Some(mut s) = self.agents.get_mut(&agent).and_then(|a| a.session.take()) else { return };
        self.end_media(ctx, agent, &mut s);
        for call in s.calls {
            // An offer it never answered goes back to the queue, as when rejected.
            if let Some(skill) = self.requeue_skill(call, agent) {
                self.enqueue(call, skill, ctx.now_ms, true);
            }
            ctx.emit(agent, EventKind::CallRelease(call));
            self.leave(ctx, call, agent, false, HungUpBy::Platform);
        }
        // The platform hangs up the phone (an always-off-hook agent's too).
        if s.phone_off_hook {
            ctx.emit(agent, EventKind::PhoneRelease { by: HungUpBy::Platform });
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
        s.state_since_ms = ctx.now_ms;
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
        let until_ms = now + u64::from(secs) * 1000;
        s.ready = Ready::Rest { until_ms, cause, reminded: false };
        s.state_since_ms = now;
        ctx.emit(agent, EventKind::SetRestSuccess);
        self.arm_rest(agent, until_ms);
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
        s.state_since_ms = ctx.now_ms;
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

    /// The agent hangs up its phone between calls (an always-off-hook agent's too):
    /// `PhoneRelease`; nothing when it is on the hook already. Refused while in a call.
    pub fn release_phone(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<()> {
        let s = self.session_mut(agent)?;
        if !s.calls.is_empty() {
            return Err(DomainError::InCall);
        }
        if s.phone_off_hook {
            s.phone_off_hook = false;
            ctx.emit(agent, EventKind::PhoneRelease { by: HungUpBy::Agent });
        }
        Ok(())
    }

    pub fn set_auto_answer(&mut self, agent: AgentId, on: bool) -> Result<()> {
        self.session_mut(agent)?.options.auto_answer = on;
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

    pub(super) fn become_idle(&mut self, ctx: &mut Ctx, agent: AgentId, preface: Option<EventKind>) {
        let now = ctx.now_ms;
        if let Ok(s) = self.session_mut(agent) {
            s.ready = Ready::Idle;
            s.idle_since_ms = now;
            s.state_since_ms = now;
        }
        if let Some(p) = preface {
            ctx.emit(agent, p);
        }
        ctx.emit(agent, EventKind::Ready);
        self.distribute(ctx);
    }
}

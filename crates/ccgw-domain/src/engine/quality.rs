//! Quality control: supervisors inspecting agents' calls (listen, whisper, insert, intercept),
//! forcing other agents' states, and monitoring subscriptions whose events go to the
//! supervisor's own mailbox.
//!
//! Who may do what: the agent's `supervises` scope (`[[supervisor]]`) names whom, and one right
//! per kind of operation ([`QcRight`]) says what. Every operation that names another agent
//! checks both first ([`VdnState::check_supervisor`]), then validates, then mutates.

use super::*;
use crate::event::QcSubtype;

/// The right an operation needs (the agent's `rights`, docs/compat.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QcRight {
    /// Forced states, forced sign-out, self-recording: `censor` (the vendor's inspector).
    Censor,
    /// Listen, whisper, insert, intercept, forced release of a call: `spy_monitor`.
    SpyMonitor,
    /// Monitoring subscriptions: `monitor`.
    Monitor,
}

/// How many agents one supervisor may monitor at a time (`beginmonitor` takes at most 500 per
/// call; subscriptions add up to this).
pub const MAX_MONITORED: usize = 5000;

impl VdnState {
    /// `supervisor` (signed in) may do an operation needing `right` on `target` (an agent of
    /// this VDN): it is a supervisor whose scope covers `target`, has the right, and is not
    /// `target` itself.
    pub fn check_supervisor(&self, supervisor: AgentId, target: AgentId, right: QcRight) -> Result<()> {
        self.session(supervisor)?;
        self.check_role(supervisor, right)?;
        if target == supervisor {
            return Err(DomainError::SelfTarget);
        }
        let scope = self.agent(supervisor)?.profile.supervises.as_ref().ok_or(DomainError::NoRight)?;
        if !scope.covers(&self.agent(target)?.profile) {
            return Err(DomainError::NoRight);
        }
        Ok(())
    }

    /// `supervisor` is a supervisor with `right` (whoever it supervises).
    pub fn check_role(&self, supervisor: AgentId, right: QcRight) -> Result<()> {
        let p = &self.agent(supervisor)?.profile;
        let has = match right {
            QcRight::Censor => p.rights.censor,
            QcRight::SpyMonitor => p.rights.spy_monitor,
            QcRight::Monitor => p.rights.monitor,
        };
        if p.supervises.is_none() || !has {
            return Err(DomainError::NoRight);
        }
        Ok(())
    }

    fn target_session(&self, target: AgentId) -> Result<&Session> {
        self.session(target).map_err(|_| DomainError::TargetNotSignedIn)
    }

    // ----- inspecting calls -----------------------------------------------------------------

    /// Join `target`'s call (the one it is talking in) in `mode`: the supervisor's phone rings
    /// and goes off the hook, it is told `Talking` (leg "assistant"), the call is in its list
    /// (`allcallinfoEx`). The agent and the customer are told nothing (silent monitoring).
    /// The supervisor must be out of calls.
    pub fn supervise(&mut self, ctx: &mut Ctx, supervisor: AgentId, target: AgentId, mode: QcMode) -> Result<CallId> {
        self.check_supervisor(supervisor, target, QcRight::SpyMonitor)?;
        self.target_session(target)?;
        if self.session(supervisor)?.in_call() {
            return Err(DomainError::InCall);
        }
        let call = self.talking_call(target).ok_or(DomainError::NoCall)?;
        let Some(c) = self.calls.get_mut(&call) else { return Err(DomainError::NoCall) };
        if c.qc_party_of(target).is_some() {
            // Another supervisor already inspects this agent.
            return Err(DomainError::WrongState);
        }
        let mut party = agent_party(supervisor, PartyState::Talking, Leg::Assistant);
        party.qc = Some(Qc { mode, target });
        party.connected = true;
        c.parties.push(party);
        let (caller, called, feature) = (c.caller.clone(), c.called.clone(), c.feature);
        self.join(ctx, supervisor, call);
        self.take_phone(ctx, supervisor, None, Leg::Assistant);
        ctx.emit(supervisor, EventKind::Talking { call, caller, called, leg: Leg::Assistant, feature });
        ctx.telephony.push(TelephonyCommand::Supervise { call, supervisor, mode: Some(mode) });
        self.notify_inspection(ctx, target, mode, true);
        Ok(call)
    }

    /// The supervisor's party inspecting `target`: (call, mode).
    fn inspection(&self, supervisor: AgentId, target: AgentId) -> Option<(CallId, QcMode)> {
        self.session(supervisor).ok()?.calls.iter().find_map(|id| {
            let p = self.calls.get(id)?.party_of(supervisor)?;
            p.qc.filter(|q| q.target == target).map(|q| (*id, q.mode))
        })
    }

    /// Change the mode of the supervisor's inspection of `target`. `None`: toggle listen ↔
    /// insert (whisper becomes listen). Switching to the mode it is in already changes nothing.
    pub fn switch_supervise(
        &mut self,
        ctx: &mut Ctx,
        supervisor: AgentId,
        target: AgentId,
        mode: Option<QcMode>,
    ) -> Result<CallId> {
        self.check_supervisor(supervisor, target, QcRight::SpyMonitor)?;
        let (call, current) = self.inspection(supervisor, target).ok_or(DomainError::NoCall)?;
        let next = mode.unwrap_or(match current {
            QcMode::Listen => QcMode::Insert,
            QcMode::Insert | QcMode::Whisper => QcMode::Listen,
        });
        if next == current {
            return Ok(call);
        }
        if let Some(q) = self.calls.get_mut(&call).and_then(|c| c.party_of_mut(supervisor)).and_then(|p| p.qc.as_mut())
        {
            q.mode = next;
        }
        ctx.telephony.push(TelephonyCommand::Supervise { call, supervisor, mode: Some(next) });
        self.notify_inspection(ctx, target, current, false);
        self.notify_inspection(ctx, target, next, true);
        Ok(call)
    }

    /// End the supervisor's inspection of `target` (`only`: refused unless in that mode): the
    /// supervisor leaves the call (`Call_Release`, its phone hung up).
    pub fn stop_supervise(
        &mut self,
        ctx: &mut Ctx,
        supervisor: AgentId,
        target: AgentId,
        only: Option<QcMode>,
    ) -> Result<CallId> {
        self.check_supervisor(supervisor, target, QcRight::SpyMonitor)?;
        let (call, mode) = self.inspection(supervisor, target).ok_or(DomainError::NoCall)?;
        if only.is_some_and(|m| m != mode) {
            return Err(DomainError::WrongState);
        }
        self.end_inspection(ctx, call, supervisor, target);
        self.settle(ctx, call);
        Ok(call)
    }

    /// The supervisor's party leaves (the inspected agent left, or the supervisor stopped).
    pub(super) fn end_inspection(&mut self, ctx: &mut Ctx, call: CallId, supervisor: AgentId, target: AgentId) {
        let mode = self.calls.get(&call).and_then(|c| c.party_of(supervisor)).and_then(|p| p.qc).map(|q| q.mode);
        if let Some(c) = self.calls.get_mut(&call) {
            c.parties.retain(|p| p.who != Endpoint::Agent(supervisor));
        }
        ctx.telephony.push(TelephonyCommand::Supervise { call, supervisor, mode: None });
        let snapshot = self.calls.get(&call).cloned();
        self.detach(ctx, supervisor, call, snapshot, true, HungUpBy::Platform);
        if let Some(mode) = mode {
            self.notify_inspection(ctx, target, mode, false);
        }
    }

    /// Take over the call of the agent the supervisor inspects (`call`: only if it is that
    /// call): the supervisor becomes an ordinary party (leg "main") talking to the customer,
    /// the agent leaves the call (`Call_Release`; then its after-call state).
    pub fn intercept(
        &mut self,
        ctx: &mut Ctx,
        supervisor: AgentId,
        target: AgentId,
        call: Option<CallId>,
    ) -> Result<CallId> {
        self.check_supervisor(supervisor, target, QcRight::SpyMonitor)?;
        let (id, mode) = self.inspection(supervisor, target).ok_or(DomainError::NoCall)?;
        if call.is_some_and(|c| c != id) {
            return Err(DomainError::NoCall);
        }
        if let Some(p) = self.calls.get_mut(&id).and_then(|c| c.party_of_mut(supervisor)) {
            p.qc = None;
            p.leg = Leg::Main;
        }
        ctx.telephony.push(TelephonyCommand::Supervise { call: id, supervisor, mode: Some(QcMode::Insert) });
        self.notify_inspection(ctx, target, mode, false);
        self.leave(ctx, id, target, true, HungUpBy::Platform);
        Ok(id)
    }

    /// Release a call of the VDN in which an agent the supervisor supervises takes part: every
    /// party is dropped, as when the call ends.
    pub fn force_drop_call(&mut self, ctx: &mut Ctx, supervisor: AgentId, call: CallId) -> Result<()> {
        self.session(supervisor)?;
        self.check_role(supervisor, QcRight::SpyMonitor)?;
        let c = self.calls.get(&call).ok_or(DomainError::NoCall)?;
        let mut agents = c.parties.iter().filter(|p| p.qc.is_none()).filter_map(|p| p.agent());
        if !agents.any(|a| self.check_supervisor(supervisor, a, QcRight::SpyMonitor).is_ok()) {
            return Err(DomainError::NoRight);
        }
        self.end_call(ctx, call);
        Ok(())
    }

    // ----- forced states -------------------------------------------------------------------

    /// Set `target` busy (reason 3, "forced by the inspector"); in a call, when the call ends.
    pub fn force_busy(&mut self, ctx: &mut Ctx, supervisor: AgentId, target: AgentId) -> Result<()> {
        self.check_supervisor(supervisor, target, QcRight::Censor)?;
        self.target_session(target)?;
        self.say_busy(ctx, target, FORCED_BY_INSPECTOR, true)
    }

    /// Set `target` idle from busy, rest or wrap-up (refused in a call; idle already: nothing).
    pub fn force_idle(&mut self, ctx: &mut Ctx, supervisor: AgentId, target: AgentId) -> Result<()> {
        self.check_supervisor(supervisor, target, QcRight::Censor)?;
        self.target_session(target)?;
        self.say_free(ctx, target)
    }

    /// Put `target` to rest for `secs` with `cause`; in a call, when the call ends.
    pub fn force_rest(
        &mut self,
        ctx: &mut Ctx,
        supervisor: AgentId,
        target: AgentId,
        secs: u32,
        cause: u8,
    ) -> Result<()> {
        self.check_supervisor(supervisor, target, QcRight::Censor)?;
        self.target_session(target)?;
        self.rest(ctx, target, secs, cause, true)
    }

    /// Sign `target` out (its calls are released first), as a forced sign-out.
    pub fn force_sign_out_agent(&mut self, ctx: &mut Ctx, supervisor: AgentId, target: AgentId) -> Result<()> {
        self.check_supervisor(supervisor, target, QcRight::Censor)?;
        self.target_session(target)?;
        self.force_sign_out(ctx, target)
    }

    /// Sign `target` in to exactly these of its configured skill queues (as its own
    /// `resetskill`; a skill it is not configured with: `InvalidParameter`).
    pub fn adjust_skills(
        &mut self,
        ctx: &mut Ctx,
        supervisor: AgentId,
        target: AgentId,
        skills: Vec<SkillId>,
    ) -> Result<()> {
        self.check_supervisor(supervisor, target, QcRight::Censor)?;
        self.target_session(target)?;
        self.reset_skills(ctx, target, Some(skills))
    }

    /// Set (cancel) self-recording for each of `targets` (all checked before any is changed).
    pub fn qc_set_self_record(
        &mut self,
        supervisor: AgentId,
        targets: &[AgentId],
        record: Option<(bool, bool)>,
    ) -> Result<()> {
        for t in targets {
            self.check_supervisor(supervisor, *t, QcRight::Censor)?;
            self.target_session(*t)?;
        }
        for t in targets {
            let s = self.session_mut(*t)?;
            let (on, before) = record.unwrap_or((false, false));
            s.settings.self_record = on;
            s.settings.record_before_talking = before;
        }
        Ok(())
    }

    // ----- third-party control (the R5 sample's `thirdcontrol`) -----------------------------

    /// Answer the call ringing at `target`, on its behalf (as `target`'s own `answer`).
    pub fn third_answer(&mut self, ctx: &mut Ctx, supervisor: AgentId, target: AgentId) -> Result<CallId> {
        self.check_supervisor(supervisor, target, QcRight::Censor)?;
        self.target_session(target)?;
        self.answer(ctx, target, None)
    }

    /// Call out from `target`'s phone, on its behalf (as `target`'s own `callout`).
    pub fn third_call_out(
        &mut self,
        ctx: &mut Ctx,
        supervisor: AgentId,
        target: AgentId,
        called: &str,
        caller: Option<&str>,
        data: String,
    ) -> Result<CallId> {
        self.check_supervisor(supervisor, target, QcRight::Censor)?;
        self.target_session(target)?;
        self.call_out(ctx, target, called, caller, data)
    }

    /// Set `target` idle (as `forceidle`) or busy (as `forcebusy`).
    pub fn third_set_status(&mut self, ctx: &mut Ctx, supervisor: AgentId, target: AgentId, idle: bool) -> Result<()> {
        if idle { self.force_idle(ctx, supervisor, target) } else { self.force_busy(ctx, supervisor, target) }
    }

    // ----- monitoring subscriptions ----------------------------------------------------------

    /// Monitor `agents` (all checked first; signed in or not): their activity reaches the
    /// supervisor as `QcNotify` events until `end_monitor` or the supervisor's sign-out.
    pub fn begin_monitor(&mut self, supervisor: AgentId, agents: &[AgentId]) -> Result<()> {
        for a in agents {
            self.check_supervisor(supervisor, *a, QcRight::Monitor)?;
        }
        let current = self.monitors.get(&supervisor).map_or(0, BTreeSet::len);
        let new = agents.iter().filter(|a| !self.monitors.get(&supervisor).is_some_and(|m| m.contains(a))).count();
        if current + new > MAX_MONITORED {
            return Err(DomainError::InvalidParameter);
        }
        for a in agents {
            self.monitors.entry(supervisor).or_default().insert(*a);
            self.watchers.entry(*a).or_default().insert(supervisor);
        }
        Ok(())
    }

    /// Stop monitoring `agents` (`None`: all); agents not monitored are ignored.
    pub fn end_monitor(&mut self, supervisor: AgentId, agents: Option<&[AgentId]>) -> Result<()> {
        self.session(supervisor)?;
        self.check_role(supervisor, QcRight::Monitor)?;
        match agents {
            None => self.drop_monitoring(supervisor),
            Some(list) => {
                for a in list {
                    self.unwatch(supervisor, *a);
                }
                if self.monitors.get(&supervisor).is_some_and(BTreeSet::is_empty) {
                    self.monitors.remove(&supervisor);
                }
            }
        }
        Ok(())
    }

    fn unwatch(&mut self, supervisor: AgentId, agent: AgentId) {
        if let Some(m) = self.monitors.get_mut(&supervisor) {
            m.remove(&agent);
        }
        if let Some(w) = self.watchers.get_mut(&agent) {
            w.remove(&supervisor);
            if w.is_empty() {
                self.watchers.remove(&agent);
            }
        }
    }

    /// Every subscription of `supervisor` ends (its sign-out, or `endmonitor` without agents).
    pub(super) fn drop_monitoring(&mut self, supervisor: AgentId) {
        for a in self.monitors.remove(&supervisor).unwrap_or_default() {
            if let Some(w) = self.watchers.get_mut(&a) {
                w.remove(&supervisor);
                if w.is_empty() {
                    self.watchers.remove(&a);
                }
            }
        }
    }

    /// The agents `supervisor` monitors, in work-number order.
    pub fn monitored_by(&self, supervisor: AgentId) -> Vec<AgentId> {
        self.monitors.get(&supervisor).map(|m| m.iter().copied().collect()).unwrap_or_default()
    }

    /// After an operation: copy each monitored agent's events that have a subtype to its
    /// supervisors' mailboxes as `QcNotify`, in order. The store calls it once per operation.
    pub fn notify_monitors(&self, ctx: &mut Ctx) {
        if self.watchers.is_empty() {
            return;
        }
        let n = ctx.events.len();
        for i in 0..n {
            let ev = &ctx.events[i];
            let Some(subtype) = QcSubtype::of(&ev.kind) else { continue };
            let Some(w) = self.watchers.get(&ev.agent) else { continue };
            let (monitored, at_ms) = (ev.agent, ev.at_ms);
            for sup in w.iter().copied() {
                // A supervisor that just signed out has no mailbox session to receive it.
                if self.session(sup).is_ok() {
                    ctx.events.push(Event { agent: sup, at_ms, kind: EventKind::QcNotify { subtype, monitored } });
                }
            }
        }
    }

    /// Tell `target`'s monitoring supervisors that an inspection of it began or ended.
    fn notify_inspection(&self, ctx: &mut Ctx, target: AgentId, mode: QcMode, begin: bool) {
        let subtype = match (mode, begin) {
            (QcMode::Listen, true) => QcSubtype::Monitor,
            (QcMode::Listen, false) => QcSubtype::StopMonitor,
            (_, true) => QcSubtype::SuperviseInsert,
            (_, false) => QcSubtype::StopSuperviseInsert,
        };
        let Some(w) = self.watchers.get(&target) else { return };
        for sup in w.iter().copied() {
            if self.session(sup).is_ok() {
                ctx.emit(sup, EventKind::QcNotify { subtype, monitored: target });
            }
        }
    }
}

/// `AgentState_SetNotReady_Success` reason 3: "forced by the inspector" (vendor page 1346).
pub const FORCED_BY_INSPECTOR: u16 = 3;

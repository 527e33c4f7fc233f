//! Call control: the operations of the voicecall interfaces.

use super::*;

impl VdnState {
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
        // The agent's phone rings first so that the agent can dial (vendor: before `Busy`).
        self.take_phone(ctx, agent, None, Leg::Main);
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
        self.connect_phone(ctx, agent, id);
        if let Ok(s) = self.session_mut(agent) {
            s.stats.callouts += 1;
        }
        ctx.emit(agent, EventKind::CustomerAlerting { call: id, other_phone: called.to_owned(), other_agent: None });
        ctx.telephony.push(TelephonyCommand::Dial { call: id, number: called.to_owned() });
        Ok(id)
    }

    /// Check that `target` can be rung: in this VDN, not the caller, signed in and available.
    pub(super) fn check_target(&self, agent: AgentId, target: AgentId) -> Result<()> {
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
        self.take_phone(ctx, agent, None, Leg::Main);
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
        self.connect_phone(ctx, agent, id);
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
        if self.policy.phone_legs {
            ctx.telephony.push(TelephonyCommand::AnswerAgent { call: ringing, agent });
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
    pub(super) fn reject_or_leave(&mut self, ctx: &mut Ctx, call: CallId, agent: AgentId) {
        if let Some(skill) = self.requeue_skill(call, agent) {
            self.enqueue(call, skill, ctx.now_ms, true);
        }
        self.leave(ctx, call, agent, true, HungUpBy::Agent);
        self.distribute(ctx);
    }

    /// The skill queue a call goes back to when `agent` drops the offer of it: only a queue call
    /// ringing at this agent alone.
    pub(super) fn requeue_skill(&self, call: CallId, agent: AgentId) -> Option<SkillId> {
        self.calls.get(&call).and_then(|c| {
            let ringing = c.party_of(agent).is_some_and(|p| matches!(p.state, PartyState::Alerting { .. }));
            let alone = !c.parties.iter().any(|p| p.agent().is_some_and(|a| a != agent));
            (ringing && alone && c.transfer.is_none()).then_some(c.skill).flatten()
        })
    }

    /// Release one party of the agent's active call by its number (agent work number or phone).
    pub fn disconnect(&mut self, ctx: &mut Ctx, agent: AgentId, number: &str) -> Result<()> {
        self.session(agent)?;
        if self.inspecting(agent) {
            return Err(DomainError::WrongState);
        }
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
            Endpoint::Agent(a) => {
                let by = if a == agent { HungUpBy::Agent } else { HungUpBy::Platform };
                self.leave(ctx, id, a, true, by);
            }
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
        if self.inspecting(agent) {
            return Err(DomainError::WrongState);
        }
        let call = self.active_call(agent).ok_or(DomainError::NoCall)?;
        let id = call.id;
        if call.party_of(agent).is_none_or(|p| p.state != PartyState::Talking) {
            return Err(DomainError::WrongState);
        }
        if let Some(p) = self.calls.get_mut(&id).and_then(|c| c.party_of_mut(agent)) {
            p.state = PartyState::Held;
        }
        self.hold_phone(ctx, agent, id, true);
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
        self.hold_phone(ctx, agent, target, false);
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
                    self.hold_phone(ctx, agent, current, true);
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
                self.connect_phone(ctx, agent, id);
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
            self.hold_phone(ctx, agent, call, true);
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
            self.leave(ctx, call, agent, true, HungUpBy::Agent);
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
        self.leave(ctx, held, agent, true, HungUpBy::Agent);
        self.connect(ctx, held);
        Ok(())
    }

    /// Move every party of `from` except `agent` into `into`; `from` disappears.
    pub(super) fn merge_into(&mut self, ctx: &mut Ctx, from: CallId, into: CallId, agent: AgentId) {
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
        // An offer still ringing goes on ringing in `into`: its time-out moves with it.
        for p in &moved {
            if let (PartyState::Alerting { since_ms }, Some(a)) = (p.state, p.agent()) {
                self.arm_ring(into, a, since_ms);
            }
        }
        if let Some(dst) = self.calls.get_mut(&into) {
            dst.parties.extend(moved);
        }
        // A recording of `from` goes on in `into` (recordplay).
        for r in self.agents.values_mut().filter_map(|a| a.session.as_mut()?.recording.as_mut()) {
            if r.call == from {
                r.call = into;
            }
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

    // --- voicecall (issue 8): DTMF, pick-ups, cancelling a transfer, internal call to a skill ---

    /// Send DTMF digits on the call the agent is talking on (the digits are checked by the caller).
    pub fn send_digits(&mut self, ctx: &mut Ctx, agent: AgentId, digits: &str) -> Result<CallId> {
        self.session(agent)?;
        let call = self.talking_call(agent).ok_or(DomainError::NoCall)?;
        ctx.telephony.push(TelephonyCommand::SendDigits { call, digits: digits.to_owned() });
        Ok(call)
    }

    /// Internal call to a skill queue: the longest-idle available agent of the skill is rung.
    pub fn call_inner_skill(&mut self, ctx: &mut Ctx, agent: AgentId, skill: SkillId, data: String) -> Result<CallId> {
        self.session(agent)?;
        if self.active_call(agent).is_some() {
            return Err(DomainError::InCall);
        }
        if !self.skills.contains_key(&skill) {
            return Err(DomainError::InvalidParameter);
        }
        let target = self.pick_agent(skill, Some(agent)).ok_or(DomainError::NoAgentAvailable)?;
        self.call_inner(ctx, agent, target, data)
    }

    /// Pick up the call ringing at `target` (another agent of the VDN): `target` stops ringing
    /// (`Call_Release`) and the agent, which must be idle, is connected in its place.
    pub fn snatch_pickup(&mut self, ctx: &mut Ctx, agent: AgentId, target: AgentId) -> Result<CallId> {
        self.session(agent)?;
        if target == agent {
            return Err(DomainError::InvalidParameter);
        }
        if !self.session(agent)?.available() {
            return Err(DomainError::WrongState);
        }
        self.session(target).map_err(|_| DomainError::NoCall)?;
        // Not an internal call (vendor: "the call picked up cannot be an internal call").
        let (call, leg) = self
            .ringing_call(target)
            .filter(|c| c.feature != CallFeature::Internal)
            .and_then(|c| c.party_of(target).map(|p| (c.id, p.leg)))
            .ok_or(DomainError::NoCall)?;
        if let Some(c) = self.calls.get_mut(&call) {
            c.parties.push(agent_party(agent, PartyState::Talking, leg));
        }
        self.join(ctx, agent, call);
        self.take_phone(ctx, agent, None, leg);
        self.connect_phone(ctx, agent, call);
        if let Ok(s) = self.session_mut(agent) {
            s.stats.answered += 1;
        }
        self.leave(ctx, call, target, true, HungUpBy::Platform);
        self.connect(ctx, call);
        Ok(call)
    }

    /// Take back a call whose "success" transfer is still ringing its target: the target stops
    /// ringing (an agent gets `Call_Release`, a dialled number is hung up) and the agent talks
    /// again (`Talking`).
    pub fn cancel_transfer(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<CallId> {
        let s = self.session(agent)?;
        let call = s
            .calls
            .iter()
            .filter_map(|c| self.calls.get(c))
            .find(|c| c.transfer.is_some_and(|t| t.from == agent))
            .map(|c| c.id)
            .ok_or(DomainError::NoCall)?;
        if self.active_call(agent).is_some() {
            return Err(DomainError::WrongState);
        }
        let ringing: Vec<Endpoint> = self.calls.get(&call).map_or_else(Vec::new, |c| {
            c.parties
                .iter()
                .filter(|p| matches!(p.state, PartyState::Alerting { .. }) && p.agent() != Some(agent))
                .map(|p| p.who.clone())
                .collect()
        });
        if let Some(c) = self.calls.get_mut(&call) {
            c.transfer = None;
            c.parties.retain(|p| !matches!(&p.who, Endpoint::Remote(_)) || !ringing.contains(&p.who));
        }
        for who in ringing {
            match who {
                Endpoint::Agent(a) => self.leave(ctx, call, a, true, HungUpBy::Platform),
                Endpoint::Remote(n) => ctx.telephony.push(TelephonyCommand::Hangup { call, number: n }),
            }
        }
        let c = self.calls.get_mut(&call).ok_or(DomainError::Internal)?;
        let p = c.party_of_mut(agent).ok_or(DomainError::Internal)?;
        p.state = PartyState::Talking;
        let leg = p.leg;
        let (caller, called, feature) = (c.caller.clone(), c.called.clone(), c.feature);
        self.hold_phone(ctx, agent, call, false);
        ctx.emit(agent, EventKind::Talking { call, caller, called, leg, feature });
        self.distribute(ctx);
        Ok(call)
    }

    /// The agent talks in a conference with at least two outside parties (a customer and an
    /// outside IVR): the telephony relays the customer's key presses to the IVR.
    pub fn relay_conference_digits(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<CallId> {
        self.session(agent)?;
        let call = self.talking_call(agent).ok_or(DomainError::NoCall)?;
        if self.calls.get(&call).is_none_or(|c| c.remotes().count() < 2) {
            return Err(DomainError::NoCall);
        }
        ctx.telephony.push(TelephonyCommand::RelayDigits { call });
        Ok(call)
    }
}

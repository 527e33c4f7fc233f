//! Call membership (joining, leaving, ending, after-call state), the ACD, housekeeping and
//! the telephony's reports.

use super::*;

impl VdnState {
    // ----- call membership ----------------------------------------------------------------------

    pub(super) fn join(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId) {
        let now = ctx.now_ms;
        // A call ends the playback to the agent's phone (recordplay).
        self.end_playback_for_call(ctx, agent);
        if let Ok(s) = self.session_mut(agent) {
            let first = s.calls.is_empty();
            s.calls.push(call);
            if first {
                s.in_call_since_ms = Some(now);
                s.state_since_ms = now;
                ctx.emit(agent, EventKind::Busy);
            }
        }
    }

    /// The agent's phone is needed for a call (an offer, or the agent placing one). A phone on
    /// the hook rings (`PhoneAlerting`, with the offered call or `None` for the agent's own call)
    /// and goes off-hook (`PhoneOffhook`): the simulated phone picks up as soon as it rings, and
    /// answering stays the desktop's business (`answer`, or auto-answer). A phone already off the
    /// hook (the agent is in another call, or always-off-hook) says nothing.
    pub(super) fn take_phone(&mut self, ctx: &mut Ctx, agent: AgentId, ringing_for: Option<PhoneCall>, leg: Leg) {
        self.end_playback_for_call(ctx, agent);
        let Ok(s) = self.session_mut(agent) else { return };
        if s.phone_off_hook {
            return;
        }
        s.phone_off_hook = true;
        ctx.emit(agent, EventKind::PhoneAlerting(ringing_for));
        ctx.emit(agent, EventKind::PhoneOffhook { leg });
    }

    /// With `Policy::phone_legs`: the agent's own phone joins `call`, which the agent placed or
    /// took ([`TelephonyCommand::ConnectAgent`]).
    pub(super) fn connect_phone(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId) {
        if self.policy.phone_legs {
            let phone = self.phone_of(agent);
            ctx.telephony.push(TelephonyCommand::ConnectAgent { call, agent, phone });
        }
    }

    /// With `Policy::phone_legs`: the agent's phone holds (`held`) or takes back `call`.
    pub(super) fn hold_phone(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId, held: bool) {
        if self.policy.phone_legs {
            ctx.telephony.push(TelephonyCommand::HoldAgent { call, agent, held });
        }
    }

    /// The agent's last call is over: its phone goes back on the hook (`PhoneRelease`), unless the
    /// agent is always-off-hook (`releasephone` false).
    pub(super) fn hang_up_phone(&mut self, ctx: &mut Ctx, agent: AgentId, by: HungUpBy) {
        let Ok(s) = self.session_mut(agent) else { return };
        if !s.phone_off_hook || !s.options.release_phone {
            return;
        }
        s.phone_off_hook = false;
        ctx.emit(agent, EventKind::PhoneRelease { by });
    }

    /// The agent leaves the call: party removed, `Call_Release` (when `announce`), then the call
    /// settles (ends if fewer than two parties remain) and, after its last call, the agent's phone
    /// is hung up (`by` says who did it) and its after-call state applies.
    pub(super) fn leave(&mut self, ctx: &mut Ctx, call: CallId, agent: AgentId, announce: bool, by: HungUpBy) {
        // A supervisor inspecting the agent in this call leaves with it (quality control).
        let inspector = self.calls.get(&call).and_then(|c| c.qc_party_of(agent)).and_then(|p| p.agent());
        if let Some(sup) = inspector {
            self.end_inspection(ctx, call, sup, agent);
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.parties.retain(|p| p.who != Endpoint::Agent(agent));
            if c.transfer.is_some_and(|t| t.from == agent) {
                c.transfer = None;
            }
            drop_failed_transfer(c);
        }
        let snapshot = self.calls.get(&call).cloned();
        self.detach(ctx, agent, call, snapshot, announce, by);
        self.settle(ctx, call);
    }

    /// Remove a call from an agent's list and apply what follows its last call.
    pub(super) fn detach(
        &mut self,
        ctx: &mut Ctx,
        agent: AgentId,
        call: CallId,
        snapshot: Option<Call>,
        announce: bool,
        by: HungUpBy,
    ) {
        let now = ctx.now_ms;
        let Ok(s) = self.session_mut(agent) else { return };
        let before = s.calls.len();
        s.calls.retain(|c| *c != call);
        if s.calls.len() == before {
            return;
        }
        let record = snapshot.as_ref().map(|c| CallRecord {
            agent,
            call,
            feature: c.feature,
            caller: c.caller.clone(),
            called: c.called.clone(),
            skill: c.skill,
            created_ms: c.created_ms,
            begin_ms: c.begin_ms,
            end_ms: now,
        });
        if let Some(mut last) = snapshot {
            last.end_ms.get_or_insert(now);
            s.last_call = Some(last);
        }
        // Leaving the recorded call stops its recording (recordplay).
        if let Some(r) = s.recording.take_if(|r| r.call == call) {
            self.file_recording(ctx, agent, r);
        }
        if self.policy.phone_legs {
            ctx.telephony.push(TelephonyCommand::ReleaseAgent { call, agent });
        }
        let Ok(s) = self.session_mut(agent) else { return };
        if announce {
            ctx.emit(agent, EventKind::CallRelease(call));
        }
        let emptied = s.calls.is_empty();
        if let Some(r) = record {
            if self.call_records.len() >= MAX_CALL_RECORDS {
                self.call_records.pop_front();
            }
            self.call_records.push_back(r);
        }
        let Ok(s) = self.session_mut(agent) else { return };
        if emptied {
            if let Some(since) = s.in_call_since_ms.take() {
                s.stats.talk_ms += now.saturating_sub(since);
            }
            self.hang_up_phone(ctx, agent, by);
            self.after_call(ctx, agent);
        }
    }

    pub(super) fn after_call(&mut self, ctx: &mut Ctx, agent: AgentId) {
        let now = ctx.now_ms;
        let Ok(s) = self.session_mut(agent) else { return };
        s.state_since_ms = now;
        match s.pending.take() {
            Some(Pending::Busy { reason }) => {
                s.ready = Ready::Busy { reason };
                ctx.emit(agent, EventKind::SetNotReadySuccess { reason });
            }
            Some(Pending::Rest { secs, cause }) => {
                let until_ms = now + u64::from(secs) * 1000;
                s.ready = Ready::Rest { until_ms, cause, reminded: false };
                ctx.emit(agent, EventKind::SetRestSuccess);
                self.arm_rest(agent, until_ms);
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
    pub(super) fn settle(&mut self, ctx: &mut Ctx, call: CallId) {
        let Some(c) = self.calls.get(&call) else { return };
        // A supervisor's party (quality control) does not keep a call up.
        let parties = c.parties.iter().filter(|p| p.qc.is_none()).count();
        if parties >= 2 || (c.queued_since_ms.is_some() && parties > 0) {
            return;
        }
        self.end_call(ctx, call);
    }

    pub(super) fn end_call(&mut self, ctx: &mut Ctx, call: CallId) {
        let Some(mut c) = self.calls.remove(&call) else { return };
        c.end_ms = Some(ctx.now_ms);
        if c.begin_ms.is_none()
            && c.feature == CallFeature::Inbound
            && let Some(skill) = c.skill
        {
            self.traffic.abandoned(ctx.now_ms, skill);
        }
        for q in self.queues.values_mut() {
            q.retain(|x| *x != call);
        }
        for p in &c.parties {
            match &p.who {
                Endpoint::Agent(a) => {
                    let a = *a;
                    self.detach(ctx, a, call, Some(c.clone()), true, HungUpBy::Platform);
                }
                Endpoint::Remote(n) => ctx.telephony.push(TelephonyCommand::Hangup { call, number: n.clone() }),
            }
        }
    }

    /// Tell every agent of an established call that it is talking (once each).
    pub(super) fn connect(&mut self, ctx: &mut Ctx, call: CallId) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        let established = c.parties.iter().filter(|p| !matches!(p.state, PartyState::Alerting { .. })).count() >= 2;
        if !established {
            return;
        }
        if c.begin_ms.is_none() {
            c.begin_ms = Some(ctx.now_ms);
            if c.feature == CallFeature::Inbound
                && let Some(skill) = c.skill
            {
                let wait = ctx.now_ms.saturating_sub(c.created_ms);
                self.traffic.answered(ctx.now_ms, skill, wait);
            }
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
            self.leave(ctx, call, from, true, HungUpBy::Platform);
        }
    }

    pub(super) fn offer(&mut self, ctx: &mut Ctx, call: CallId, agent: AgentId, leg: Leg) {
        // Offered directly (help, transfer) while it waited: it waits no more.
        self.unqueue(call);
        self.arm_ring(call, agent, ctx.now_ms);
        let Some(c) = self.calls.get_mut(&call) else { return };
        c.parties.push(Party {
            who: Endpoint::Agent(agent),
            state: PartyState::Alerting { since_ms: ctx.now_ms },
            leg,
            muted: false,
            connected: false,
            qc: None,
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
        let ringing_for = PhoneCall { call, caller: offer.caller.clone(), called: offer.called.clone() };
        self.join(ctx, agent, call);
        self.take_phone(ctx, agent, Some(ringing_for), leg);
        let auto = self.session(agent).map(|s| s.options.auto_answer).unwrap_or(false);
        if self.policy.phone_legs {
            let phone = self.phone_of(agent);
            ctx.telephony.push(TelephonyCommand::RingAgent { call, agent, phone, auto_answer: auto });
        }
        if auto {
            ctx.emit(agent, EventKind::AutoAnswer(offer));
            self.take_answer(ctx, agent, call);
        } else {
            ctx.emit(agent, EventKind::Ringing(offer));
        }
    }

    pub(super) fn take_answer(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId) {
        if let Some(p) = self.calls.get_mut(&call).and_then(|c| c.party_of_mut(agent)) {
            p.state = PartyState::Talking;
        }
        if let Ok(s) = self.session_mut(agent) {
            s.stats.answered += 1;
        }
        self.connect(ctx, call);
    }

    // ----- ACD ----------------------------------------------------------------------------------

    /// Offer queued calls to available agents, oldest call first within each skill.
    pub(super) fn distribute(&mut self, ctx: &mut Ctx) {
        let lifo = self.fault() == Some(index::AcdFault::NewestFirst);
        loop {
            self.sync_index();
            let mut next = None;
            for (skill, q) in &self.queues {
                if let Some(&call) = if lifo { q.back() } else { q.front() }
                    && let Some(agent) = self.pick_synced(*skill, None)
                {
                    next = Some((*skill, call, agent));
                    break;
                }
            }
            let Some((skill, call, agent)) = next else { return };
            if let Some(q) = self.queues.get_mut(&skill) {
                if lifo {
                    q.pop_back()
                } else {
                    q.pop_front()
                };
            }
            self.offer(ctx, call, agent, Leg::Main);
        }
    }

    pub(super) fn enqueue(&mut self, call: CallId, skill: SkillId, now_ms: u64, front: bool) {
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
    pub(super) fn unqueue(&mut self, call: CallId) {
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
        self.traffic.offered(ctx.now_ms, skill);
        self.enqueue(id, skill, ctx.now_ms, false);
        self.distribute(ctx);
        Ok(id)
    }

    /// An offered call rang too long: the agent goes busy (reason 2) and the call goes back.
    pub(super) fn ring_timeout(&mut self, ctx: &mut Ctx, call: CallId, agent: AgentId) {
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
        self.leave(ctx, call, agent, true, HungUpBy::Platform);
        self.distribute(ctx);
    }

    // ----- telephony reports --------------------------------------------------------------------

    /// The agent's own phone answered the call it was rung for (`Policy::phone_legs`): the
    /// agent answers, as with the desktop's `answer`. Stale (not ringing there any more): ignored.
    pub fn phone_answered(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId) {
        if self.ringing_at(call, agent) {
            self.take_answer(ctx, agent, call);
        }
    }

    /// The agent's phone could not be rung or refused the call (busy, unreachable, rejected):
    /// as a ring time-out (`NoAnswer`, the agent goes busy, the call goes back to its queue).
    pub fn phone_failed(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId) {
        if self.ringing_at(call, agent) {
            self.ring_timeout(ctx, call, agent);
        }
    }

    /// The agent hung up its phone: it leaves the call, as with `release` (a call only ringing
    /// there goes back to its queue). Stale (not in the call any more): ignored.
    pub fn phone_hung_up(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId) {
        if self.session(agent).is_ok_and(|s| s.calls.contains(&call)) {
            self.reject_or_leave(ctx, call, agent);
        }
    }

    fn ringing_at(&self, call: CallId, agent: AgentId) -> bool {
        let party = self.calls.get(&call).and_then(|c| c.party_of(agent));
        party.is_some_and(|p| matches!(p.state, PartyState::Alerting { .. }))
    }

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
        // A supervisor's party (quality control) neither keeps the call up nor dialled: it is
        // told `Call_Release` when the call ends.
        let agents: Vec<AgentId> = c.parties.iter().filter(|p| p.qc.is_none()).filter_map(|p| p.agent()).collect();
        let standing = c.parties.iter().filter(|p| p.qc.is_none()).count();
        // A pending "success" transfer failed with it; the transferring agent stays, holding.
        c.transfer = None;
        // The call may still not stand (the customer hung up while the transfer rang).
        let waiting = c.queued_since_ms.is_some() && standing > 0;
        let ends = standing < 2 && !waiting;
        if ends {
            // The vendor hangs up the dialling agent's phone before it reports the failure.
            for a in &agents {
                if self.session(*a).is_ok_and(|s| s.calls == [call]) {
                    self.hang_up_phone(ctx, *a, HungUpBy::Platform);
                }
            }
        }
        for a in &agents {
            ctx.emit(*a, EventKind::CallOutFail(call));
        }
        if ends {
            // The dialling agent alone: the call ends without a separate Call_Release.
            let snapshot = self.calls.get(&call).cloned();
            for a in agents {
                self.detach(ctx, a, call, snapshot.clone(), false, HungUpBy::Platform);
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
}

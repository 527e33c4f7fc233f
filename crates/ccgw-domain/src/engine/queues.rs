//! Read-only views of the ACD queues (the `queuedevice` queries).

use super::{Ctx, Result, VdnState};
use crate::call::{Call, Leg};
use crate::ids::CallId;
use crate::ids::{AgentId, SkillId};

impl VdnState {
    /// Calls waiting in one skill's queue; `InvalidParameter` when the VDN has no such skill.
    pub fn queue_length(&self, skill: SkillId) -> Result<usize> {
        self.queues.get(&skill).map(|q| q.len()).ok_or(crate::DomainError::InvalidParameter)
    }

    /// Calls waiting in the skill queues the agent is provisioned with.
    pub fn queue_length_of_configured(&self, agent: AgentId) -> Result<usize> {
        let a = self.agent(agent)?;
        Ok(a.profile.skills.iter().filter_map(|k| self.queues.get(k)).map(|q| q.len()).sum())
    }

    /// Calls waiting in the skill queues the agent's session is signed in to.
    pub fn queue_length_of_signed_in(&self, agent: AgentId) -> Result<usize> {
        let s = self.session(agent)?;
        Ok(s.active_skills.iter().filter_map(|k| self.queues.get(k)).map(|q| q.len()).sum())
    }
}

// --- queuedevice / calldata: queued calls, statistics, moving and taking queued calls ---

/// Live statistics of one skill queue (`queryacdstat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueStats {
    /// Calls waiting.
    pub waiting: usize,
    /// How long the longest-waiting call has waited (ms; 0 when none waits).
    pub longest_wait_ms: u64,
    /// Agents signed in to the skill.
    pub signed_in: usize,
    /// Of them, available for a call.
    pub idle: usize,
}

impl VdnState {
    /// The calls waiting in one skill's queue, in queue order.
    pub fn queued_calls(&self, skill: SkillId) -> Result<Vec<&Call>> {
        let q = self.queues.get(&skill).ok_or(crate::DomainError::InvalidParameter)?;
        Ok(q.iter().filter_map(|c| self.calls.get(c)).collect())
    }

    pub fn queue_stats(&self, skill: SkillId, now_ms: u64) -> Result<QueueStats> {
        let calls = self.queued_calls(skill)?;
        let longest_wait_ms =
            calls.iter().filter_map(|c| c.queued_since_ms).map(|t| now_ms.saturating_sub(t)).max().unwrap_or(0);
        let sessions =
            || self.agents.values().filter_map(|a| a.session.as_ref()).filter(|s| s.active_skills.contains(&skill));
        Ok(QueueStats {
            waiting: calls.len(),
            longest_wait_ms,
            signed_in: sessions().count(),
            idle: sessions().filter(|s| s.available()).count(),
        })
    }

    /// Move a call waiting in a queue to another skill's queue (at its back), then distribute.
    pub fn assign_in_queue(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId, skill: SkillId) -> Result<()> {
        self.session(agent)?;
        if !self.skills.contains_key(&skill) {
            return Err(crate::DomainError::InvalidParameter);
        }
        if self.calls.get(&call).is_none_or(|c| c.queued_since_ms.is_none()) {
            return Err(crate::DomainError::NoCall);
        }
        self.enqueue(call, skill, ctx.now_ms, false);
        self.distribute(ctx);
        Ok(())
    }

    /// The agent takes a call waiting in `skill`'s queue: it is offered to the agent at once.
    /// The agent must be signed in and in no call (held calls included).
    pub fn request_call(&mut self, ctx: &mut Ctx, agent: AgentId, call: CallId, skill: SkillId) -> Result<()> {
        let s = self.session(agent)?;
        if s.in_call() {
            return Err(crate::DomainError::InCall);
        }
        let q = self.queues.get(&skill).ok_or(crate::DomainError::InvalidParameter)?;
        if !q.contains(&call) {
            return Err(crate::DomainError::NoCall);
        }
        self.offer(ctx, call, agent, Leg::Main);
        Ok(())
    }
}

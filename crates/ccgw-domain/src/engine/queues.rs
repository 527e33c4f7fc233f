//! Read-only views of the ACD queues (the `queuedevice` queries).

use super::{Result, VdnState};
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

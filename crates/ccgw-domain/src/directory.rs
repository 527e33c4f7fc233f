//! Provisioning: which VDNs, skills and agents exist. Read-only after start-up.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::ids::{AgentId, SkillId, VdnId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skill {
    pub id: SkillId,
    pub vdn: VdnId,
    pub name: String,
    /// Vendor media type code (5 = voice).
    pub media_type: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentProfile {
    pub id: AgentId,
    pub vdn: VdnId,
    pub name: String,
    pub skills: Vec<SkillId>,
    /// The agent's default phone number, used when sign-in names none.
    pub phone: String,
}

/// An IVR flow of a VDN (`[[ivr]]`): what `queryIVRInfoOnVdn` lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ivr {
    pub id: u32,
    pub vdn: VdnId,
    /// The flow's access code (the number that reaches it).
    pub access_code: String,
    pub description: String,
}

/// Everything provisioned. Cheap to share (`Arc`), never mutated once built.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    pub vdns: BTreeMap<VdnId, String>,
    pub skills: BTreeMap<SkillId, Skill>,
    pub agents: HashMap<AgentId, Arc<AgentProfile>>,
    /// Access code (the number a customer dials) → skill it queues on.
    pub access_codes: HashMap<String, SkillId>,
    /// IVR flows, by id.
    pub ivrs: BTreeMap<u32, Ivr>,
}

impl Directory {
    pub fn agent(&self, id: AgentId) -> Option<&Arc<AgentProfile>> {
        self.agents.get(&id)
    }

    pub fn vdn_of(&self, id: AgentId) -> Option<VdnId> {
        self.agents.get(&id).map(|a| a.vdn)
    }

    /// The agents of one VDN, in work-number order.
    pub fn agents_of(&self, vdn: VdnId) -> Vec<Arc<AgentProfile>> {
        let mut v: Vec<_> = self.agents.values().filter(|a| a.vdn == vdn).cloned().collect();
        v.sort_by_key(|a| a.id);
        v
    }

    pub fn skills_of(&self, vdn: VdnId) -> Vec<Skill> {
        self.skills.values().filter(|s| s.vdn == vdn).cloned().collect()
    }

    /// The IVR flows of one VDN, in id order.
    pub fn ivrs_of(&self, vdn: VdnId) -> Vec<&Ivr> {
        self.ivrs.values().filter(|i| i.vdn == vdn).collect()
    }
}

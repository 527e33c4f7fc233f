//! Provisioning: which VDNs, skills and agents exist. Read-only after start-up.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::ids::{AgentId, SkillId, VdnId};

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Skill {
    pub id: SkillId,
    pub vdn: VdnId,
    pub name: String,
    /// Vendor media type code (5 = voice).
    pub media_type: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AgentProfile {
    pub id: AgentId,
    pub vdn: VdnId,
    pub name: String,
    pub skills: Vec<SkillId>,
    /// The agent's default phone number, used when sign-in names none.
    pub phone: String,
    /// What the agent may do (the agentgroup `is*` probes).
    pub rights: AgentRights,
    /// Free-form attributes (`[[agent]] attributes`): what the agentgroup `…byattribute` queries
    /// filter on.
    pub attributes: Vec<String>,
    /// The agent group (`[[group]]`) the agent is a member of, if any (at most one).
    pub group: Option<u32>,
    /// Whom the agent supervises (`[[supervisor]]`): `None` for an ordinary agent.
    pub supervises: Option<Supervision>,
}

/// A supervisor's scope within its VDN: the agents of these groups and the agents with these
/// skills; both empty = every agent of the VDN.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Supervision {
    pub groups: Vec<u32>,
    pub skills: Vec<SkillId>,
}

impl Supervision {
    /// Whether `target` (an agent of the supervisor's VDN) is in this scope.
    pub fn covers(&self, target: &AgentProfile) -> bool {
        (self.groups.is_empty() && self.skills.is_empty())
            || target.group.is_some_and(|g| self.groups.contains(&g))
            || target.skills.iter().any(|s| self.skills.contains(s))
    }
}

/// An agent's rights, as the agentgroup permission probes (`iscallout`, `iscensor`, …) report
/// them. The quality-control family enforces three (docs/compat.md): `censor` (forced states,
/// sign-out, skills, recording), `spy_monitor` (listen, whisper, insert, intercept, forced
/// release) and `monitor` (monitoring subscriptions); the others are reported only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AgentRights {
    pub callout: bool,
    pub censor: bool,
    pub spy_monitor: bool,
    pub monitor: bool,
    pub report_manager: bool,
    pub system: bool,
    pub pickup: bool,
}

impl Default for AgentRights {
    /// An ordinary agent: may call out and pick up calls, nothing more.
    fn default() -> Self {
        AgentRights {
            callout: true,
            censor: false,
            spy_monitor: false,
            monitor: false,
            report_manager: false,
            system: false,
            pickup: true,
        }
    }
}

/// An agent group of a VDN (`[[group]]`, the vendor's work group / 班组).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Group {
    pub id: u32,
    pub vdn: VdnId,
    pub name: String,
    /// Members in work-number order.
    pub members: Vec<AgentId>,
}

/// A configured rest reason of a VDN (`[[rest_reason]]`): the `restcause` an agent gives.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RestReason {
    pub vdn: VdnId,
    pub code: u8,
    pub name: String,
}

/// An IVR flow of a VDN (`[[ivr]]`): what `queryIVRInfoOnVdn` lists.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// Agent groups, by id.
    pub groups: BTreeMap<u32, Group>,
    /// Rest reasons, in (VDN, code) order.
    pub rest_reasons: Vec<RestReason>,
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

    /// The groups of one VDN, in id order.
    pub fn groups_of(&self, vdn: VdnId) -> Vec<&Group> {
        self.groups.values().filter(|g| g.vdn == vdn).collect()
    }

    /// A group of this VDN (another VDN's group is as unknown as a missing one).
    pub fn group_in(&self, vdn: VdnId, id: u32) -> Option<&Group> {
        self.groups.get(&id).filter(|g| g.vdn == vdn)
    }

    /// The group an agent is a member of.
    pub fn group_of(&self, agent: AgentId) -> Option<&Group> {
        self.agents.get(&agent).and_then(|a| a.group).and_then(|g| self.groups.get(&g))
    }

    /// A synthetic site for tests and benchmarks: one VDN; for each `(skill, n)`, `n` agents
    /// (work numbers from 101 up, in order) with that one skill.
    #[doc(hidden)]
    pub fn synthetic(vdn: VdnId, teams: &[(SkillId, u32)]) -> Directory {
        let mut d = Directory::default();
        d.vdns.insert(vdn, "synthetic".into());
        let mut next = 101;
        for &(skill, n) in teams {
            d.skills.insert(skill, Skill { id: skill, vdn, name: format!("skill {}", skill.0), media_type: 5 });
            for _ in 0..n {
                let id = AgentId(next);
                next += 1;
                d.agents.insert(
                    id,
                    Arc::new(AgentProfile {
                        id,
                        vdn,
                        name: format!("agent {next}"),
                        skills: vec![skill],
                        phone: format!("8{}", id.0),
                        rights: AgentRights::default(),
                        attributes: Vec::new(),
                        group: None,
                        supervises: None,
                    }),
                );
            }
        }
        d
    }

    /// The rest reasons of one VDN, in code order.
    pub fn rest_reasons_of(&self, vdn: VdnId) -> Vec<&RestReason> {
        self.rest_reasons.iter().filter(|r| r.vdn == vdn).collect()
    }
}

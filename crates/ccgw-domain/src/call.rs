//! Calls and their parties.

use crate::ids::{AgentId, CallId, SkillId};

/// Vendor call type codes (`callfeature` / `feature`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CallFeature {
    Inbound,
    Internal,
    Outbound,
    ConsultTwoParty,
    ConsultThreeParty,
    MultiParty,
}

impl CallFeature {
    pub fn code(self) -> u8 {
        match self {
            CallFeature::Inbound => 0,
            CallFeature::Internal => 6,
            CallFeature::Outbound => 7,
            CallFeature::ConsultTwoParty => 51,
            CallFeature::ConsultThreeParty => 52,
            CallFeature::MultiParty => 53,
        }
    }
}

/// "main" for the agent who owns the call, "assistant" for a helper brought in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Leg {
    Main,
    Assistant,
}

/// Who a party is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Endpoint {
    Agent(AgentId),
    /// A phone outside the contact center: a customer who called in, or a number dialled out.
    Remote(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PartyState {
    /// Being rung (an agent offered a call, or a remote phone dialled).
    Alerting {
        since_ms: u64,
    },
    Talking,
    /// This party put the call on hold (only agents hold).
    Held,
}

/// How a supervisor takes part in an agent's call (quality control): who hears whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum QcMode {
    /// Silent monitoring: the supervisor hears every party; nobody hears the supervisor.
    Listen,
    /// The supervisor hears every party; only the inspected agent hears the supervisor.
    Whisper,
    /// Barge-in: everyone hears everyone.
    Insert,
}

/// A supervisor's party: its mode and the agent it inspects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Qc {
    pub mode: QcMode,
    pub target: AgentId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Party {
    pub who: Endpoint,
    pub state: PartyState,
    pub leg: Leg,
    pub muted: bool,
    /// Whether this agent has been told the call is connected (`Talking` sent).
    pub connected: bool,
    /// A supervisor inspecting an agent of the call (quality control); `None` for every other
    /// party. Such a party does not keep a call up and leaves with the agent it inspects.
    pub qc: Option<Qc>,
}

impl Party {
    pub fn agent(&self) -> Option<AgentId> {
        match self.who {
            Endpoint::Agent(a) => Some(a),
            Endpoint::Remote(_) => None,
        }
    }
}

/// What happens to the transferring agent once the target of a "success" transfer answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PendingTransfer {
    pub from: AgentId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Call {
    pub id: CallId,
    pub feature: CallFeature,
    pub caller: String,
    pub called: String,
    pub original_called: String,
    pub skill: Option<SkillId>,
    pub data: String,
    pub created_ms: u64,
    /// Answer time.
    pub begin_ms: Option<u64>,
    pub end_ms: Option<u64>,
    pub parties: Vec<Party>,
    /// Set while the call waits in a skill queue.
    pub queued_since_ms: Option<u64>,
    pub user_priority: u32,
    pub media_type: u8,
    pub transfer: Option<PendingTransfer>,
    /// Agent that last transferred this call (reported in the next offer).
    pub transferred_from: Option<AgentId>,
}

impl Call {
    pub fn party_of(&self, agent: AgentId) -> Option<&Party> {
        self.parties.iter().find(|p| p.who == Endpoint::Agent(agent))
    }

    pub fn party_of_mut(&mut self, agent: AgentId) -> Option<&mut Party> {
        self.parties.iter_mut().find(|p| p.who == Endpoint::Agent(agent))
    }

    pub fn agents(&self) -> impl Iterator<Item = AgentId> + '_ {
        self.parties.iter().filter_map(Party::agent)
    }

    /// The supervisor's party inspecting `target`, if any.
    pub fn qc_party_of(&self, target: AgentId) -> Option<&Party> {
        self.parties.iter().find(|p| p.qc.is_some_and(|q| q.target == target))
    }

    /// Whether `listener` hears `speaker` in this call, with the quality-control modes applied
    /// (both parties of the call; a held party hears nobody and is heard by nobody).
    pub fn hears(&self, listener: &Endpoint, speaker: &Endpoint) -> bool {
        let find = |e: &Endpoint| self.parties.iter().find(|p| &p.who == e);
        let (Some(l), Some(s)) = (find(listener), find(speaker)) else { return false };
        if l.who == s.who || l.state != PartyState::Talking || s.state != PartyState::Talking {
            return false;
        }
        match s.qc {
            None => true,
            Some(Qc { mode: QcMode::Listen, .. }) => false,
            Some(Qc { mode: QcMode::Whisper, target }) => l.who == Endpoint::Agent(target),
            Some(Qc { mode: QcMode::Insert, .. }) => true,
        }
    }

    pub fn remotes(&self) -> impl Iterator<Item = &str> + '_ {
        self.parties.iter().filter_map(|p| match &p.who {
            Endpoint::Remote(n) => Some(n.as_str()),
            Endpoint::Agent(_) => None,
        })
    }
}

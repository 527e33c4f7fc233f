//! Agents, their sign-in sessions, and the ready-state machine.

use std::sync::Arc;

use crate::call::Call;
use crate::directory::AgentProfile;
use crate::ids::{CallId, SkillId};
use crate::media::{Playback, Recording};

/// Where an agent stands when it is not in a call. In a call the vendor reports "talking" (7)
/// whatever this is; `after_call` decides what follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Ready {
    Idle,
    Busy { reason: u16 },
    Work,
    Rest { until_ms: u64, cause: u8, reminded: bool },
}

/// A state change asked for while the agent is in a call; it applies when the last call ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Pending {
    Busy { reason: u16 },
    Rest { secs: u32, cause: u8 },
    Work,
}

/// Vendor `agentState` codes (agentstatus interface).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AgentStateCode {
    SignedOut = 2,
    Busy = 3,
    Idle = 4,
    Work = 5,
    Talking = 7,
    Rest = 8,
    PreRest = 9,
}

/// Sign-in options the engine acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SignInOptions {
    pub phone: String,
    pub auto_answer: bool,
    pub auto_enter_idle: bool,
    /// `releasephone`: the phone goes on-hook after each call (true), or stays off-hook between
    /// calls, an "always-off-hook" agent (false).
    pub release_phone: bool,
    /// 3 busy, 4 idle, 5 wrap-up.
    pub initial: InitialState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum InitialState {
    Busy,
    Idle,
    Work,
}

/// Per-agent counters for the statistics interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Stats {
    pub talk_ms: u64,
    pub answered: u32,
    pub callouts: u32,
}

/// The GUID credential of a session. `previous` stays valid until its deadline after a rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Credential {
    pub guid: String,
    pub issued_ms: u64,
    pub previous: Option<(String, u64)>,
}

impl Credential {
    pub fn new(guid: String, now_ms: u64) -> Self {
        Credential { guid, issued_ms: now_ms, previous: None }
    }

    /// Constant-time-ish comparison is not needed: GUIDs are 122 random bits and a mismatch
    /// reveals nothing useful. The previous GUID counts only until its deadline.
    pub fn accepts(&self, presented: &str, now_ms: u64) -> bool {
        if self.guid == presented {
            return true;
        }
        matches!(&self.previous, Some((g, until)) if g == presented && now_ms < *until)
    }

    pub fn rotation_due(&self, now_ms: u64, interval_ms: u64) -> bool {
        now_ms.saturating_sub(self.issued_ms) >= interval_ms
    }

    /// Replace the GUID; the old one keeps working until `timeout_ms` after it was issued.
    pub fn rotate(&mut self, new_guid: String, now_ms: u64, timeout_ms: u64) {
        let old = std::mem::replace(&mut self.guid, new_guid);
        self.previous = Some((old, self.issued_ms.saturating_add(timeout_ms)));
        self.issued_ms = now_ms;
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Session {
    pub credential: Credential,
    pub login_ms: u64,
    pub options: SignInOptions,
    pub ready: Ready,
    pub pending: Option<Pending>,
    /// Since when the agent has been idle with no call: the ACD offers to the longest idle.
    pub idle_since_ms: u64,
    /// Since when the agent has been in its current state (`agentState`): stamped at sign-in,
    /// when its first call starts, after its last call, and at every ready-state change.
    pub state_since_ms: u64,
    /// Calls the agent is a party of, in the order it joined them.
    pub calls: Vec<CallId>,
    pub active_skills: Vec<SkillId>,
    /// The last call that ended for this agent, for `callinfo?isNoContainLastCall=false`.
    pub last_call: Option<Call>,
    pub stats: Stats,
    /// When the agent's current run of calls started (for talk time).
    pub in_call_since_ms: Option<u64>,
    /// Whether the agent's phone is off the hook: always while the agent is in a call, and
    /// between calls for an always-off-hook agent once its phone first rang.
    pub phone_off_hook: bool,
    /// The recording of one of the agent's calls in progress (recordplay).
    pub recording: Option<Recording>,
    /// The file playing to the agent's phone (recordplay); the agent is not offered calls meanwhile.
    pub playback: Option<Playback>,
    /// What the agent set for itself during the session (onlineagent settings).
    pub settings: AgentSettings,
}

impl Session {
    pub fn in_call(&self) -> bool {
        !self.calls.is_empty()
    }

    pub fn state_code(&self) -> AgentStateCode {
        if self.in_call() {
            return match self.pending {
                Some(Pending::Rest { .. }) => AgentStateCode::PreRest,
                _ => AgentStateCode::Talking,
            };
        }
        match self.ready {
            Ready::Idle => AgentStateCode::Idle,
            Ready::Busy { .. } => AgentStateCode::Busy,
            Ready::Work => AgentStateCode::Work,
            Ready::Rest { .. } => AgentStateCode::Rest,
        }
    }

    /// Offerable by the ACD right now.
    pub fn available(&self) -> bool {
        !self.in_call() && self.ready == Ready::Idle && self.pending.is_none() && self.playback.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Agent {
    pub profile: Arc<AgentProfile>,
    pub session: Option<Session>,
}

impl Agent {
    pub fn new(profile: Arc<AgentProfile>) -> Self {
        Agent { profile, session: None }
    }

    pub fn state_code(&self) -> AgentStateCode {
        self.session.as_ref().map_or(AgentStateCode::SignedOut, Session::state_code)
    }
}

// --- onlineagent settings ---

/// Largest private configuration string an agent may store (`privateconfig`), in bytes.
pub const MAX_PRIVATE_CONFIG: usize = 4096;

/// Per-session values the agent sets and reads back; they end with the session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AgentSettings {
    /// `setcustomstate` (0–65534); `None` until set.
    pub custom_state: Option<u16>,
    /// `privateconfig`: an opaque client string, at most [`MAX_PRIVATE_CONFIG`] bytes.
    pub private_config: String,
    /// `settalkright?flag`.
    pub talk_right: bool,
    /// `setselfrecord/{recordflag}/{recordbeforetalking}`.
    pub self_record: bool,
    pub record_before_talking: bool,
}

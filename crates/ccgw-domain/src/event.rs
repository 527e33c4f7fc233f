//! Agent events: what the long poll hands to a desktop. Names and content shapes on the wire are the
//! wire crate's business; here each variant carries exactly the facts it needs.

use crate::call::{CallFeature, Leg};
use crate::ids::{AgentId, CallId};

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Event {
    pub agent: AgentId,
    pub at_ms: u64,
    pub kind: EventKind,
}

/// A call being offered to (or auto-answered by) an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Offer {
    pub call: CallId,
    pub caller: String,
    pub called: String,
    pub feature: CallFeature,
    pub leg: Leg,
    /// The agent that transferred the call here, if any.
    pub transferred_from: Option<AgentId>,
    pub media_type: u8,
}

/// The call the platform rings an agent's phone for (a call offered to the agent).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PhoneCall {
    pub call: CallId,
    pub caller: String,
    pub called: String,
}

/// Who put an agent's phone back on the hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum HungUpBy {
    /// The agent's own request took it out of its last call (release, reject, drop, transfer).
    Agent,
    /// The platform: the other side hung up, the offer timed out, a dialled number failed, a
    /// transfer completed, the session ended.
    Platform,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum EventKind {
    /// Sign-in started.
    InService,
    /// Signed out (voluntarily, forced, or by heartbeat expiry).
    ShutdownService {
        login_time_ms: u64,
    },
    /// Idle.
    Ready,
    /// Occupied by a call.
    Busy,
    /// Wrap-up after a call.
    Work,
    SetNotReadySuccess {
        reason: u16,
    },
    CancelNotReadySuccess,
    SetRestSuccess,
    CancelRestSuccess,
    RestTimeout,
    SetWorkSuccess,
    CancelWorkSuccess,
    Ringing(Offer),
    AutoAnswer(Offer),
    /// The other side of a call this agent placed is ringing.
    CustomerAlerting {
        call: CallId,
        other_phone: String,
        other_agent: Option<AgentId>,
    },
    Talking {
        call: CallId,
        caller: String,
        called: String,
        leg: Leg,
        feature: CallFeature,
    },
    Hold(CallId),
    Conference {
        call: CallId,
        partners: Vec<String>,
    },
    CallRelease(CallId),
    CustomerRelease {
        call: CallId,
        number: String,
    },
    CallOutFail(CallId),
    /// The agent let an offered call ring until it was taken back.
    NoAnswer(CallId),
    /// The agent's physical phone rings: for a call offered to the agent (`Some`), or (`None`)
    /// so that the agent can place a call of its own (call out, inner call).
    PhoneAlerting(Option<PhoneCall>),
    /// The agent's phone went off the hook, for a call in which the agent is `leg`.
    PhoneOffhook {
        leg: Leg,
    },
    /// The agent's phone went back on the hook.
    PhoneRelease {
        by: HungUpBy,
    },
    // --- recordplay ---
    /// Recording of the agent's call started.
    RecordStarted {
        task_id: u32,
        record_id: String,
        file_name: String,
        call: CallId,
        caller: String,
        called: String,
    },
    RecordPaused {
        task_id: u32,
    },
    RecordResumed {
        task_id: u32,
    },
    /// Recording stopped (asked for, or the agent left the recorded call).
    RecordStopped {
        task_id: u32,
        begin_ms: u64,
        end_ms: u64,
    },
    /// The platform accepted the playback (the first of the two start events).
    PlayAccepted,
    /// The file started playing to the agent's phone.
    PlayStarted,
    PlayPaused,
    PlayResumed,
    /// Fast-forward or rewind done.
    PlayJumped,
    /// Playback stopped (asked for, the file ended, a call came, the session ended).
    PlayStopped,
    /// The state of the agent's phone is not known (for a telephony that can lose the phone;
    /// the simulated phone never does).
    PhoneUnknown,
    // --- onlineagent messages ---
    /// A note from another agent of the VDN (`sendnotelet`).
    Note {
        from: AgentId,
    },
    /// A bulletin from an agent of the VDN (`notifybulletin`).
    Bulletin {
        from: AgentId,
        data: String,
    },
    // --- quality control ---
    /// To a supervisor monitoring `monitored` (`beginmonitor`): what that agent did.
    QcNotify {
        subtype: QcSubtype,
        monitored: AgentId,
    },
}

/// What a monitored agent did, as the supervisor's `QC_AgentState_Notify` says it (`subtype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum QcSubtype {
    Login,
    Logout,
    Idle,
    Busy,
    Rest,
    Work,
    /// Talking in a call.
    Active,
    /// A call is offered (ringing).
    WaitAnswer,
    /// The other side of the agent's own call is ringing.
    WaitAlerting,
    ThreeParty,
    HungUp,
    /// A supervisor started (stopped) listening to the agent's call.
    Monitor,
    StopMonitor,
    /// A supervisor started (stopped) whispering to, or barging into, the agent's call.
    SuperviseInsert,
    StopSuperviseInsert,
    RecordBegin,
    RecordStop,
    PlayVoice,
}

impl QcSubtype {
    /// The subtype a monitoring supervisor is told for this event of the monitored agent, if any.
    pub fn of(kind: &EventKind) -> Option<QcSubtype> {
        use EventKind as K;
        Some(match kind {
            K::InService => QcSubtype::Login,
            K::ShutdownService { .. } => QcSubtype::Logout,
            K::Ready => QcSubtype::Idle,
            K::SetNotReadySuccess { .. } => QcSubtype::Busy,
            K::SetRestSuccess => QcSubtype::Rest,
            K::Work => QcSubtype::Work,
            K::Talking { .. } => QcSubtype::Active,
            K::Ringing(_) | K::AutoAnswer(_) => QcSubtype::WaitAnswer,
            K::CustomerAlerting { .. } => QcSubtype::WaitAlerting,
            K::Conference { .. } => QcSubtype::ThreeParty,
            K::CallRelease(_) => QcSubtype::HungUp,
            K::RecordStarted { .. } => QcSubtype::RecordBegin,
            K::RecordStopped { .. } => QcSubtype::RecordStop,
            K::PlayStarted => QcSubtype::PlayVoice,
            _ => return None,
        })
    }
}

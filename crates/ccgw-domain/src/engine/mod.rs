//! The contact-center engine for one VDN: sign-in, ready states, ACD, and call control.
//!
//! Every operation takes `&mut VdnState` plus a [`Ctx`] (the time, an id source, and the outputs:
//! events for agents and commands for the telephony). An operation that returns `Err` has changed
//! nothing: each validates first and mutates after. The property tests hold us to that.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::agent::{Agent, Credential, InitialState, Pending, Ready, Session, SignInOptions};
use crate::call::{Call, CallFeature, Endpoint, Leg, Party, PartyState, PendingTransfer, Qc, QcMode};
use crate::directory::{Directory, Skill};
use crate::error::DomainError;
use crate::event::{Event, EventKind, HungUpBy, Offer, PhoneCall};
use crate::ids::{AgentId, CallId, SkillId, VdnId};
use crate::media::RecordLog;

mod calls;
mod command;
pub use command::{Command, Op, Outcome, cmd};
mod control;
mod index;
pub use index::AcdFault;
mod media;
mod quality;
pub use quality::{MAX_MONITORED, QcRight};
mod queues;
pub use queues::QueueStats;
mod sessions;
mod settings;
mod traffic;
pub use traffic::{
    Board, Counters, MAX_INTERVALS, SkillBoard, Span, StateCounts, Traffic, TrafficPolicy, WINDOW_BUCKETS,
};

type Result<T> = std::result::Result<T, DomainError>;

/// Engine settings that shape behaviour (not wire or transport).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Policy {
    pub ring_timeout_ms: u64,
    pub allow_force_login: bool,
    /// How the wallboard's traffic statistics are cut (service-level threshold, intervals).
    pub traffic: TrafficPolicy,
    /// The agents' phones are telephony parties (real telephony): the engine also asks the
    /// telephony to ring, answer, release and hold the agent's phone ([`TelephonyCommand::RingAgent`]
    /// and the others about agents) and takes the phone's own answer, failure and hang-up as
    /// commands (`cmd::PhoneAnswered`, `PhoneFailed`, `PhoneHungUp`). Off (the simulated
    /// telephony): the phone is implied and the desktop's answer is the answer.
    #[cfg_attr(feature = "serde", serde(default))]
    pub phone_legs: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            ring_timeout_ms: 20_000,
            allow_force_login: true,
            traffic: TrafficPolicy::default(),
            phone_legs: false,
        }
    }
}

/// What the engine asks of the telephony (phones outside the contact center).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TelephonyCommand {
    /// Ring a number for this call; the telephony reports back answered / failed / hung up.
    Dial { call: CallId, number: String },
    /// A customer's call entered the engine; the telephony may later hang it up.
    Attach { call: CallId, number: String },
    /// The engine dropped this remote party.
    Hangup { call: CallId, number: String },
    // --- recordplay ---
    /// Record (pause, resume, stop recording) the agent's call.
    Record { agent: AgentId, call: CallId, op: RecordOp },
    /// Play (pause, resume, move, stop) a file to the agent's phone.
    Play { agent: AgentId, op: PlayOp },
    /// Send DTMF digits on this call (second-stage dialling, `seconddial`).
    SendDigits { call: CallId, digits: String },
    /// In this conference of the agent, a customer and an outside IVR, pass the customer's key
    /// presses to the IVR (`thirdPartyConfTransmitNum`).
    RelayDigits { call: CallId },
    // --- quality control ---
    /// Bridge the supervisor's phone into the call in this mode (who hears whom: `Call::hears`),
    /// or change its mode; `None`: take it out again.
    Supervise { call: CallId, supervisor: AgentId, mode: Option<QcMode> },
    // --- the agents' phones (only with `Policy::phone_legs`) ---
    /// Ring the agent's phone `phone` for this call (an offer); `auto_answer`: the phone should
    /// pick up by itself. The telephony reports the phone's answer, failure or hang-up back.
    RingAgent { call: CallId, agent: AgentId, phone: String, auto_answer: bool },
    /// The agent answered the call from the desktop: the ringing phone should pick up.
    AnswerAgent { call: CallId, agent: AgentId },
    /// The agent left the call (released, rejected, ring time-out, the call ended): stop
    /// ringing or hang up the agent's phone for it.
    ReleaseAgent { call: CallId, agent: AgentId },
    /// The agent held (`held`) or took back the call.
    HoldAgent { call: CallId, agent: AgentId, held: bool },
    /// The agent's phone joins a call the agent placed or took (callout, internal call,
    /// consultation, pick-up): a phone not yet in a call is rung with auto-answer; one already
    /// in a call (the agent consults from it) is used as it is.
    ConnectAgent { call: CallId, agent: AgentId, phone: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordOp {
    Start { file_name: String },
    Pause,
    Resume,
    Stop,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlayOp {
    Start { file: String, from_ms: u64 },
    Pause,
    Resume,
    Seek { to_ms: u64 },
    Stop,
}

/// Inputs and outputs of one operation.
pub struct Ctx<'a> {
    pub now_ms: u64,
    pub events: Vec<Event>,
    pub telephony: Vec<TelephonyCommand>,
    /// Agents whose new session starts in this operation, with the index of the first event
    /// that belongs to it: the store empties the agent's mailbox and delivers from there.
    pub new_sessions: Vec<(AgentId, usize)>,
    ids: CallIds<'a>,
}

/// Where an operation's new call ids come from.
enum CallIds<'a> {
    /// A source outside the state (tests and benches that call the operations directly).
    External(&'a mut dyn FnMut(u64) -> CallId),
    /// The VDN's own counter ([`VdnState::apply`] lends it and takes it back on `Ok`), so a
    /// command's ids follow from the state and the command alone.
    Replicated(CallIdCounter),
}

impl<'a> Ctx<'a> {
    /// A context whose call ids come from `next_call_id` (called with the time in seconds).
    pub fn new(now_ms: u64, next_call_id: &'a mut dyn FnMut(u64) -> CallId) -> Self {
        Ctx {
            now_ms,
            events: Vec::new(),
            telephony: Vec::new(),
            new_sessions: Vec::new(),
            ids: CallIds::External(next_call_id),
        }
    }

    /// The context of a command proposed at `now_ms`, for [`VdnState::apply`]: its call ids
    /// come from the VDN's counter.
    pub fn at(now_ms: u64) -> Ctx<'static> {
        Ctx {
            now_ms,
            events: Vec::new(),
            telephony: Vec::new(),
            new_sessions: Vec::new(),
            ids: CallIds::Replicated(CallIdCounter::default()),
        }
    }

    fn emit(&mut self, agent: AgentId, kind: EventKind) {
        self.events.push(Event { agent, at_ms: self.now_ms, kind });
    }

    fn call_id(&mut self) -> CallId {
        let secs = self.now_ms / 1000;
        match &mut self.ids {
            CallIds::External(next) => next(secs),
            CallIds::Replicated(counter) => counter.next(secs),
        }
    }
}

/// A VDN's call ids, `<unix-seconds>-<counter>`, as a pure function of the state and the
/// commands applied: the seconds part is the proposer's time (never below `floor_secs`), the
/// counter part `issued · stride + slot + 1`, where `slot` is the VDN's place among the
/// `stride` VDNs provisioned when the state was created. So two VDNs never issue the same
/// counter, a VDN never issues one twice, and a VDN alone (`stride` 1) counts 1, 2, 3, … as
/// the vendor's. Across a restart of the (volatile) memory store, `floor_secs` (the second after
/// the process started) keeps the new ids apart from the old ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CallIdCounter {
    pub floor_secs: u64,
    pub issued: u64,
    pub stride: u64,
    pub slot: u64,
}

impl CallIdCounter {
    fn next(&mut self, now_secs: u64) -> CallId {
        let seq = self.issued.saturating_mul(self.stride.max(1)).saturating_add(self.slot + 1);
        self.issued += 1;
        CallId { secs: now_secs.max(self.floor_secs), seq }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum HelpTarget {
    Agent(AgentId),
    Skill(SkillId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum HelpMode {
    TwoParty,
    ThreeParty,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TransferTarget {
    Agent(AgentId),
    Skill(SkillId),
    External(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TransferMode {
    /// The agent leaves at once.
    Blind,
    /// The agent stays (holding) until the target answers.
    Success,
}

/// Outcome of a successful sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SignedIn {
    pub login_ms: u64,
}

/// The state of one VDN: its agents, skills, live calls and queues.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VdnState {
    pub vdn: VdnId,
    pub policy: Policy,
    pub agents: BTreeMap<AgentId, Agent>,
    pub skills: BTreeMap<SkillId, Skill>,
    pub calls: BTreeMap<CallId, Call>,
    pub queues: BTreeMap<SkillId, VecDeque<CallId>>,
    /// Finished recordings (recordplay).
    pub records: RecordLog,
    /// Finished call legs of this VDN's agents, oldest first, at most [`MAX_CALL_RECORDS`].
    pub call_records: VecDeque<CallRecord>,
    /// Customer calls offered, answered and abandoned per skill, per interval (the wallboard).
    pub traffic: Traffic,
    /// Where this VDN's call ids come from (see [`CallIdCounter`]).
    pub call_ids: CallIdCounter,
    /// Monitoring subscriptions (`beginmonitor`): supervisor â the agents it monitors, and the
    /// reverse index, monitored agent â its supervisors (kept in step; ended by sign-out).
    pub monitors: BTreeMap<AgentId, BTreeSet<AgentId>>,
    pub watchers: BTreeMap<AgentId, BTreeSet<AgentId>>,
    /// The ACD's idle index and the housekeeping timers (caches; ignored by `==`, not
    /// serialized: [`VdnState::restore_caches`] rebuilds them after a snapshot is loaded).
    #[cfg_attr(feature = "serde", serde(skip))]
    derived: index::Derived,
}

/// How many finished call legs a VDN keeps (the oldest is dropped beyond).
pub const MAX_CALL_RECORDS: usize = 1000;

/// One agent's part in a call, recorded when the agent leaves the call (or the call ends).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CallRecord {
    pub agent: AgentId,
    pub call: CallId,
    pub feature: CallFeature,
    pub caller: String,
    pub called: String,
    pub skill: Option<SkillId>,
    /// When the call was created.
    pub created_ms: u64,
    /// When the call was answered (`None`: never answered).
    pub begin_ms: Option<u64>,
    /// When the agent's part ended.
    pub end_ms: u64,
}

/// Valid phone numbers: 1–24 of digits, `*` and `#`.
pub fn valid_number(n: &str) -> bool {
    (1..=24).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}

impl VdnState {
    pub fn new(vdn: VdnId, directory: &Directory, policy: Policy) -> Self {
        let agents = directory.agents_of(vdn).into_iter().map(|p| (p.id, Agent::new(p))).collect();
        let skills: BTreeMap<_, _> = directory.skills_of(vdn).into_iter().map(|s| (s.id, s)).collect();
        let queues = skills.keys().map(|k| (*k, VecDeque::new())).collect();
        let call_ids = CallIdCounter {
            floor_secs: 0,
            issued: 0,
            stride: directory.vdns.len().max(1) as u64,
            slot: directory.vdns.keys().position(|v| *v == vdn).unwrap_or(0) as u64,
        };
        VdnState {
            vdn,
            traffic: Traffic::new(policy.traffic),
            policy,
            agents,
            skills,
            calls: BTreeMap::new(),
            queues,
            records: RecordLog::default(),
            call_records: VecDeque::new(),
            call_ids,
            monitors: BTreeMap::new(),
            watchers: BTreeMap::new(),
            derived: Default::default(),
        }
    }

    // ----- lookups ------------------------------------------------------------------------

    pub fn agent(&self, id: AgentId) -> Result<&Agent> {
        self.agents.get(&id).ok_or(DomainError::UnknownAgent)
    }

    pub fn session(&self, id: AgentId) -> Result<&Session> {
        self.agent(id)?.session.as_ref().ok_or(DomainError::NotSignedIn)
    }

    /// The only way to a session's fields for writing (sign-in and sign-out aside): marks the
    /// agent for the ACD's idle index.
    fn session_mut(&mut self, id: AgentId) -> Result<&mut Session> {
        self.mark_dirty(id);
        self.agents.get_mut(&id).and_then(|a| a.session.as_mut()).ok_or(DomainError::NotSignedIn)
    }

    /// The agent's call that is not on hold (ringing or talking), if any.
    pub fn active_call(&self, agent: AgentId) -> Option<&Call> {
        let s = self.session(agent).ok()?;
        s.calls
            .iter()
            .rev()
            .filter_map(|c| self.calls.get(c))
            .find(|c| c.party_of(agent).is_some_and(|p| !matches!(p.state, PartyState::Held)))
    }

    /// The agent's active call in which it is talking (not ringing). A supervisor's inspection
    /// (quality control) is not one: call control on it is refused (`NoCall`).
    fn talking_call(&self, agent: AgentId) -> Option<CallId> {
        self.active_call(agent)
            .filter(|c| c.party_of(agent).is_some_and(|p| p.state == PartyState::Talking && p.qc.is_none()))
            .map(|c| c.id)
    }

    /// The agent's active call is a supervisor's inspection (quality control): it may release
    /// it, nothing else.
    fn inspecting(&self, agent: AgentId) -> bool {
        self.active_call(agent).and_then(|c| c.party_of(agent)).is_some_and(|p| p.qc.is_some())
    }

    pub fn held_calls(&self, agent: AgentId) -> Vec<&Call> {
        let Ok(s) = self.session(agent) else { return Vec::new() };
        s.calls
            .iter()
            .filter_map(|c| self.calls.get(c))
            .filter(|c| c.party_of(agent).is_some_and(|p| p.state == PartyState::Held))
            .collect()
    }

    /// Call ids the agent is a party of, oldest first (empty when signed out or idle).
    pub fn call_ids_of(&self, agent: AgentId) -> Vec<CallId> {
        self.session(agent).map(|s| s.calls.clone()).unwrap_or_default()
    }

    /// The call `callinfo` describes: the active call, else the newest held call, else (when
    /// allowed) the last call that ended.
    pub fn current_call(&self, agent: AgentId, include_last: bool) -> Option<&Call> {
        let s = self.session(agent).ok()?;
        if let Some(c) = self.active_call(agent) {
            return Some(c);
        }
        if let Some(c) = s.calls.last().and_then(|c| self.calls.get(c)) {
            return Some(c);
        }
        if include_last { s.last_call.as_ref() } else { None }
    }

    /// The call ringing at this agent.
    pub fn ringing_call(&self, agent: AgentId) -> Option<&Call> {
        let s = self.session(agent).ok()?;
        s.calls
            .iter()
            .filter_map(|c| self.calls.get(c))
            .find(|c| c.party_of(agent).is_some_and(|p| matches!(p.state, PartyState::Alerting { .. })))
    }

    /// A call the agent is a party of (or was, for its last call).
    pub fn call_of_agent(&self, agent: AgentId, call: CallId) -> Option<&Call> {
        let s = self.session(agent).ok()?;
        if s.calls.contains(&call) {
            return self.calls.get(&call);
        }
        s.last_call.as_ref().filter(|c| c.id == call)
    }

    /// Numbers of the other parties of the agent's current call.
    pub fn remote_numbers(&self, agent: AgentId) -> Vec<String> {
        let Some(call) = self.active_call(agent).or_else(|| self.current_call(agent, false)) else {
            return Vec::new();
        };
        call.parties.iter().filter(|p| p.agent() != Some(agent)).map(|p| self.number_of(&p.who)).collect()
    }

    /// How a party is addressed: a remote by its number, an agent by its work number.
    pub fn number_of(&self, who: &Endpoint) -> String {
        match who {
            Endpoint::Agent(a) => a.to_string(),
            Endpoint::Remote(n) => n.clone(),
        }
    }

    /// The phone the agent uses: the one its sign-in named, else the provisioned one.
    pub fn phone_of(&self, agent: AgentId) -> String {
        self.agents
            .get(&agent)
            .map(|a| match &a.session {
                // A sign-in that named no phone uses the provisioned one.
                Some(s) if !s.options.phone.is_empty() => s.options.phone.clone(),
                _ => a.profile.phone.clone(),
            })
            .unwrap_or_default()
    }
}

trait PartyExt {
    fn connected_or_remote(&self) -> bool;
}

impl PartyExt for Party {
    fn connected_or_remote(&self) -> bool {
        self.connected || self.agent().is_none()
    }
}

/// A pending "success" transfer has failed once nobody rings any more (the target timed out,
/// rejected, or hung up before answering), as when a dialled number fails. A stale one would take
/// the transferring agent out of the call at the next `connect`.
fn drop_failed_transfer(c: &mut Call) {
    if c.transfer.is_some() && !c.parties.iter().any(|p| matches!(p.state, PartyState::Alerting { .. })) {
        c.transfer = None;
    }
}

fn remote(number: &str, state: PartyState) -> Party {
    Party { who: Endpoint::Remote(number.to_owned()), state, leg: Leg::Main, muted: false, connected: false, qc: None }
}

fn agent_party(agent: AgentId, state: PartyState, leg: Leg) -> Party {
    Party { who: Endpoint::Agent(agent), state, leg, muted: false, connected: false, qc: None }
}

fn new_call(
    id: CallId,
    feature: CallFeature,
    caller: &str,
    called: &str,
    data: String,
    now_ms: u64,
    parties: Vec<Party>,
) -> Call {
    Call {
        id,
        feature,
        caller: caller.to_owned(),
        called: called.to_owned(),
        original_called: called.to_owned(),
        skill: None,
        data,
        created_ms: now_ms,
        begin_ms: None,
        end_ms: None,
        parties,
        queued_since_ms: None,
        user_priority: 0,
        media_type: 5,
        transfer: None,
        transferred_from: None,
    }
}

//! The contact-center domain of ccgw: agents, sign-in sessions, ready states, calls, the ACD and
//! the events agents receive. Pure: no I/O, no clocks (time comes in through [`engine::Ctx`]), no
//! HTTP, no JSON wire names.

pub mod agent;
pub mod call;
pub mod civil;
pub mod directory;
pub mod engine;
pub mod error;
pub mod event;
pub mod ids;
pub mod media;

pub use agent::{AgentStateCode, InitialState, SignInOptions};
pub use call::{Call, CallFeature, Endpoint, Leg, PartyState, Qc, QcMode};
pub use directory::{AgentProfile, AgentRights, Directory, Group, Ivr, RestReason, Skill, Supervision};
pub use engine::{
    Board, CallIdCounter, CallRecord, Command, Counters, Ctx, HelpMode, HelpTarget, MAX_MONITORED, Op, Outcome, PlayOp,
    Policy, QcRight, RecordOp, TelephonyCommand, TrafficPolicy, TransferMode, TransferTarget, VdnState, cmd,
};
pub use error::DomainError;
pub use event::{Event, EventKind, HungUpBy, Offer, PhoneCall, QcSubtype};
pub use ids::{AgentId, CallId, SkillId, VdnId};
pub use media::{MediaState, Playback, RecordFile, RecordFilter, Recording};

//! Domain errors. They say *what* went wrong, never how the vendor spells it: the wire crate maps
//! each (interface, error) pair to a retcode in one table.

use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("agent not signed in")]
    NotSignedIn,
    #[error("agent already signed in")]
    AlreadySignedIn,
    #[error("forced sign-in is not allowed")]
    ForceLoginNotAllowed,
    #[error("agent is signing in")]
    SigningIn,
    #[error("wrong user name or password")]
    WrongPassword,
    #[error("account locked")]
    AccountLocked,
    #[error("account locked after repeated failures")]
    LockedNow,
    #[error("agent is in a call")]
    InCall,
    #[error("the agent's state does not allow this")]
    WrongState,
    #[error("invalid parameter")]
    InvalidParameter,
    #[error("invalid phone number")]
    InvalidNumber,
    #[error("no call")]
    NoCall,
    #[error("no held call")]
    NoHeldCall,
    #[error("unknown agent")]
    UnknownAgent,
    #[error("agent belongs to another VDN")]
    OtherVdn,
    #[error("target agent is not available")]
    TargetUnavailable,
    #[error("no agent available")]
    NoAgentAvailable,
    #[error("too many requests")]
    Overloaded,
    // --- recordplay ---
    #[error("a recording (or playback) is already in progress")]
    MediaBusy,
    #[error("no recording (or playback) in progress")]
    NoMedia,
    #[error("the recording (or playback) is not in a state that allows this")]
    MediaState,
    // --- quality control ---
    #[error("no right: not a supervisor of this agent, or without the right for this operation")]
    NoRight,
    #[error("a supervisor cannot inspect itself")]
    SelfTarget,
    #[error("the agent named is not signed in")]
    TargetNotSignedIn,
    #[error("internal error")]
    Internal,
    /// The store could not order and apply the command within its time-out (Redis unreachable,
    /// or this node's replica did not apply it in time). It may or may not have been applied.
    #[error("the store is unavailable")]
    StoreUnavailable,
}

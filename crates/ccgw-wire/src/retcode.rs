//! The one place that turns domain errors into vendor retcodes. The same error means different
//! codes on different interfaces (the vendor numbers "no call" per operation), so the table is
//! keyed by (interface, error). docs/compat.md lists every choice made where the vendor is silent.

use ccgw_domain::DomainError;

use crate::method::Method;

/// A vendor error: retcode and the message that goes with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retcode {
    pub code: &'static str,
    pub message: &'static str,
}

const fn rc(code: &'static str, message: &'static str) -> Retcode {
    Retcode { code, message }
}

/// A poll of a push-mode agent (its events go to its `callBackUri`).
pub const WRONG_EVENT_METHOD: Retcode = rc("000-001", "wrong method of obtaining agent events");
pub const PARAMETER_INVALID: Retcode = rc("000-002", "parameter or address in the URL is invalid");
pub const NO_PERMISSION: Retcode = rc("000-003", "no permission to call the interface");
pub const BODY_INVALID: Retcode = rc("000-006", "message body parameter error");
/// The store could not order/apply a write in time (cluster mode): the vendor's "agent is being
/// switched over", which its clients retry (docs/compat.md).
pub const STORE_UNAVAILABLE: Retcode = rc("000-004", "agent is being switched over, try again later");
pub const OVERLOADED: Retcode = rc("000-007", "interface invoked too frequently, try again later");
pub const SIGN_IN_PARAMETER: Retcode = rc("100-001", "sign-in parameter empty or invalid");
pub const NOT_SIGNED_IN: Retcode = rc("100-006", "agent not signed in or authentication failed");
pub const INTERNAL: Retcode = rc("100-007", "internal error");
pub const LOGOUT_PARAMETER: Retcode = rc("100-005", "invalid sign-out parameter");
pub const AGENT_TYPE_INVALID: Retcode = rc("100-012", "invalid agent type at sign-in");
pub const PHONE_INVALID: Retcode = rc("100-013", "the phone number to bind is invalid");
/// SIP mode (`[telephony] kind = "sip"`): an interface whose media work the SIP telephony does
/// not carry out yet (conference, consult, transfer, mute, recording, playback, supervisors'
/// listen/insert/whisper, internal calls; docs/compat.md).
pub const NOT_WITH_SIP: Retcode = rc("100-007", "not available with SIP telephony");
pub const SKILL_PARAMETER: Retcode = rc("100-019", "invalid skill queue parameter");
pub const WRONG_PASSWORD: Retcode = rc("100-004", "wrong user name or password");
// --- onlineagent: password changes (the vendor's third-party-user codes) ---
pub const OLD_PASSWORD_WRONG: Retcode = rc("110-003", "the old password is wrong");
pub const PASSWORD_SAME_AS_OLD: Retcode = rc("110-017", "the new password is the same as the old one");
pub const PASSWORD_CONTAINS_NAME: Retcode = rc("110-018", "the new password contains the agent's work number");
pub const PASSWORD_RULES: Retcode = rc("110-019", "the new password does not meet the password rules");
pub const PASSWORD_LENGTH: Retcode = rc("110-020", "the new password must have 8 to 32 characters");
pub const PASSWORD_MISMATCH: Retcode = rc("110-022", "the new password and its confirmation differ");

// --- recordplay ---
/// A record-file name (`filepath`) that is empty, too long or not a file name.
pub const RECORD_FILE_NAME_INVALID: Retcode = rc("104-003", "invalid record file name");
/// A record file (or record id) the VDN has no recording of.
pub const RECORD_FILE_MISSING: Retcode = rc("104-005", "the record file does not exist");

// --- quality control ---
/// Not a supervisor of the agent named, without the right for the operation, or the agent is in
/// another VDN (vendor: "no permission for the quality-control operation").
pub const QC_NO_RIGHT: Retcode = rc("900-002", "no permission for this quality-control operation");
/// The agent named is not signed in, or not provisioned (vendor: "monitored agent has no agent info").
pub const QC_NO_AGENT_INFO: Retcode = rc("900-004", "the agent named has no agent information (not signed in)");

/// qualitycontrol `adjustskill`: a malformed body or a skill the agent is not configured with
/// (vendor page 2409 lists 100-001).
pub const ADJUST_SKILL_PARAMETER: Retcode = rc("100-001", "parameter empty or invalid");

/// The qualitycontrol and thirdcontrol families (supervisors acting on other agents).
fn is_quality_control(method: Method) -> bool {
    use crate::interface::Family;
    method.interface().is_some_and(|i| matches!(i.family, Family::QualityControl | Family::ThirdControl))
}

/// The retcode for `err` returned by `method`.
pub fn retcode(method: Method, err: DomainError) -> Retcode {
    use DomainError as E;
    use Method as M;
    match (err, method) {
        (E::NotSignedIn, _) => NOT_SIGNED_IN,
        (E::Overloaded, _) => OVERLOADED,
        (E::StoreUnavailable, _) => STORE_UNAVAILABLE,
        (E::Internal, _) => INTERNAL,
        // Placeholder until helper A1's vendor retcode for it lands (issue 9 contract).
        (E::AlreadySignedIn, _) => rc("100-002", "agent already signed in"),
        (E::ForceLoginNotAllowed, _) => rc("100-015", "agent already signed in and cannot be forcibly signed out"),
        (E::SigningIn, _) => rc("100-021", "agent is signing in, do not repeat"),
        (E::WrongPassword, M::ModifyAccountPwd | M::ModifyAccountPwdEx) => OLD_PASSWORD_WRONG,
        (E::WrongPassword, _) => WRONG_PASSWORD,
        (E::AccountLocked, _) => rc("110-016", "account locked"),
        (E::LockedNow, _) => rc("110-021", "account locked after too many failed sign-ins"),

        // --- quality control (the vendor's 900-xxx inspection codes, docs/compat.md) ---
        (E::NoRight, _) => QC_NO_RIGHT,
        (E::InvalidParameter, M::AdjustSkill) => ADJUST_SKILL_PARAMETER,
        (E::SelfTarget, _) => rc("000-005", "the agent to be inspected is the inspector himself"),
        (E::TargetNotSignedIn, _) => QC_NO_AGENT_INFO,
        (E::OtherVdn, m) if is_quality_control(m) => QC_NO_RIGHT,
        (E::UnknownAgent, m) if is_quality_control(m) => QC_NO_AGENT_INFO,
        (E::InCall | E::WrongState | E::NoCall, m) if is_quality_control(m) => {
            rc("900-005", "the agents' states do not allow this quality-control operation")
        }

        // --- recordplay --- (ccgw's numbering of the vendor's 500-xxx family, docs/compat.md)
        (E::MediaBusy, M::BeginRecord | M::BeginRecordWithoutFilename) => {
            rc("500-001", "a recording is already in progress")
        }
        (E::NoMedia, M::PauseRecord | M::ResumeRecord | M::StopRecord) => rc("500-002", "no recording in progress"),
        (E::MediaState, M::PauseRecord) => rc("500-003", "the recording is already paused"),
        (E::MediaState, M::ResumeRecord) => rc("500-004", "the recording is not paused"),
        (E::MediaBusy, M::BeginPlay) => rc("500-005", "a playback is already in progress"),
        (E::NoMedia, M::PausePlay | M::ResumePlay | M::ForeFastPlay | M::BackFastPlay | M::StopPlay) => {
            rc("500-006", "no playback in progress")
        }
        (E::MediaState, M::PausePlay) => rc("500-007", "the playback is already paused"),
        (E::MediaState, M::ResumePlay) => rc("500-008", "the playback is not paused"),
        (E::NoCall, M::BeginRecord | M::BeginRecordWithoutFilename) => rc("500-009", "no call to record"),
        (E::InCall, M::BeginPlay) => rc("500-010", "the agent is in a call and cannot play a file"),
        (E::MediaBusy | E::NoMedia | E::MediaState, _) => rc("100-009", "agent state does not allow this operation"),

        // Vendor pages 0387 and 0370 list only 000-002, 100-006 and 100-007 for these two.
        (
            E::UnknownAgent | E::OtherVdn | E::InvalidParameter | E::InvalidNumber,
            M::SnatchPickup | M::CallInnerSkill,
        ) => PARAMETER_INVALID,
        (_, M::SnatchPickup | M::CallInnerSkill) => INTERNAL,
        // Vendor page 1256: the only error code it lists.
        (_, M::ThirdPartyConfTransmitNum) => {
            rc("10001", "not in a three-party call with a customer and an outside IVR")
        }

        (E::InCall, M::Logout) => rc("100-010", "agent is in a call and cannot sign out"),
        (E::InCall | E::WrongState, M::Hold) => rc("200-014", "call state does not allow hold"),
        (E::InCall | E::WrongState, M::GetHold) => rc("200-016", "call state does not allow unhold"),
        (E::WrongState, M::BeginMute) => rc("200-004", "call state does not allow mute"),
        (E::WrongState, M::EndMute) => rc("200-008", "call state does not allow unmute"),
        (E::WrongState, M::Transfer) => rc("200-012", "a transfer of this call is already in progress"),
        (E::InCall | E::WrongState, _) => rc("100-009", "agent state does not allow this operation"),

        (E::NoCall, M::Answer) => rc("200-002", "no call to answer"),
        (E::NoCall, M::BeginMute) => rc("200-003", "no call to mute"),
        (E::NoCall, M::EndMute) => rc("200-007", "no call to unmute"),
        (E::NoCall, M::ConfJoin) => rc("200-010", "no call for a three-party call"),
        (E::NoCall, M::Transfer) => rc("200-012", "no call to transfer"),
        (E::NoCall, M::Hold) => rc("200-013", "no call to hold"),
        (E::NoCall, M::ConnectHold) => rc("200-005", "no call to connect"),
        (E::NoCall, M::Release | M::ReleaseEx | M::PhoneHangUp | M::Disconnect) => rc("200-017", "no call to release"),
        (E::NoCall, M::InnerHelp) => rc("200-018", "no call for internal help"),
        (E::NoCall, M::DropCall) => rc("200-025", "no call can be droped"),
        (E::NoCall, M::SetCallAppDataEx | M::SetCallAppData) => rc("400-001", "no call to set call data on"),
        (E::NoCall, M::PhonePickup) => rc("200-002", "no call to answer"),
        (E::NoCall, _) => INTERNAL,

        (E::NoHeldCall, M::GetHold) => rc("200-015", "no held call"),
        (E::NoHeldCall, M::ConnectHold) => rc("200-006", "no held call to connect"),
        (E::NoHeldCall, M::ConfJoin) => rc("200-011", "no held call for a three-party call"),
        (E::NoHeldCall, _) => rc("400-003", "no held call"),

        (E::UnknownAgent, M::QueryAllCallInfoByAgentWorkNoEx | M::QueryAllCallInfoByAgentWorkNo) => {
            rc("100-011", "invalid parameter: no such agent")
        }
        (E::UnknownAgent, _) => rc("300-002", "no such agent"),
        (E::OtherVdn, M::QueryAllCallInfoByAgentWorkNoEx | M::QueryAllCallInfoByAgentWorkNo) => {
            rc("900-002", "no permission: the agent is in another VDN")
        }
        (E::OtherVdn, _) => rc("300-001", "no permission to query this agent"),

        (E::TargetUnavailable | E::NoAgentAvailable, _) => rc("200-019", "no target agent available"),
        (E::InvalidNumber, M::Callout | M::PreviewCallout | M::Transfer) => rc("200-001", "wrong number"),
        (E::InvalidNumber, M::BindAgentPhone) => PHONE_INVALID,
        // Only SIP mode's check of the phone to bind (not registered) gives it at sign-in.
        (E::InvalidNumber, M::Login | M::ForceLogin | M::LoginEx | M::ForceLoginEx | M::ForceLoginExWithoutPhone) => {
            PHONE_INVALID
        }
        (E::InvalidNumber | E::InvalidParameter, M::ResetSkill) => SKILL_PARAMETER,
        (E::InvalidNumber | E::InvalidParameter, _) => PARAMETER_INVALID,
    }
}

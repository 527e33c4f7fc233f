//! Response bodies. Key names, casing and value types follow the vendor's examples exactly;
//! `tests` pins each shape.

use ccgw_domain::{Call, CallId, CallRecord, Ivr, Skill};
use serde::Serialize;
use serde_json::Value;

use crate::retcode::Retcode;

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    message: &'a str,
    retcode: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<T>,
}

/// `{"message":<message>,"retcode":"0","result":<result>}`.
pub fn ok<T: Serialize>(message: &str, result: T) -> Vec<u8> {
    serde_json::to_vec(&Envelope { message, retcode: "0", result: Some(result) }).unwrap_or_default()
}

/// `{"message":<message>,"retcode":"0"}`: success without a result (e.g. forcelogoutwithreason).
pub fn ok_bare(message: &str) -> Vec<u8> {
    serde_json::to_vec(&Envelope::<()> { message, retcode: "0", result: None }).unwrap_or_default()
}

/// `{"message":<text>,"retcode":<code>}`: every business error, always HTTP 200.
pub fn error(rc: Retcode) -> Vec<u8> {
    serde_json::to_vec(&Envelope::<()> { message: rc.message, retcode: rc.code, result: None }).unwrap_or_default()
}

/// The seed interface's body, `{"message":"","retcode":"0","result":["<id>",...]}`, written
/// directly: call ids are digits and a dash, so nothing needs escaping, and this is the hot path.
pub fn call_ids(ids: &[CallId]) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::with_capacity(40 + ids.len() * 24);
    out.extend_from_slice(br#"{"message":"","retcode":"0","result":["#);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = write!(out, "\"{}-{}\"", id.secs, id.seq);
    }
    out.extend_from_slice(b"]}");
    out
}

/// Sign-in result object.
#[derive(Serialize, Debug, PartialEq)]
pub struct SignInResult {
    pub vdnid: u32,
    pub workno: String,
    pub mediatype: &'static str,
    #[serde(rename = "loginTime")]
    pub login_time: String,
    #[serde(rename = "isForceChange")]
    pub is_force_change: &'static str,
    #[serde(rename = "serverName")]
    pub server_name: String,
    #[serde(rename = "timeRemaining")]
    pub time_remaining: &'static str,
}

impl SignInResult {
    pub fn new(vdn: u32, workno: u32, login_ms: u64, server_name: &str) -> Self {
        SignInResult {
            vdnid: vdn,
            workno: workno.to_string(),
            // CTI server yes, WebM yes, MailM no: the vendor's default sign-in.
            mediatype: "TTF",
            login_time: login_ms.to_string(),
            is_force_change: "false",
            server_name: server_name.to_owned(),
            // Empty: the password never expires.
            time_remaining: "",
        }
    }
}

/// `agentstatus` result.
#[derive(Serialize, Debug, PartialEq)]
pub struct AgentStatus {
    #[serde(rename = "agentState")]
    pub agent_state: u8,
    #[serde(rename = "isWorking")]
    pub is_working: bool,
}

/// `updateGuid` result.
#[derive(Serialize, Debug, PartialEq)]
pub struct GuidResult<'a> {
    pub guid: &'a str,
}

/// `statisticsEx` result.
#[derive(Serialize, Debug, PartialEq)]
pub struct Statistics {
    pub talktime: u64,
    pub answernums: u32,
    pub calloutnums: u32,
}

/// One entry of `agentskills` (a skill queue configured for the agent), exactly the vendor's
/// three fields: `{"name","id","mediatype"}` (lower-case `mediatype`, a number).
#[derive(Serialize, Debug, PartialEq)]
pub struct SkillInfo {
    pub name: String,
    pub id: u32,
    pub mediatype: u8,
}

impl SkillInfo {
    pub fn new(skill: &Skill) -> Self {
        SkillInfo { name: skill.name.clone(), id: skill.id.0, mediatype: skill.media_type }
    }
}

/// One entry of `ivrinfo` (an IVR flow of the agent's VDN), the vendor's four fields in its order:
/// `{"access","id","description","serviceNo"}`. ccgw has no service ids: `serviceNo` is the flow id.
#[derive(Serialize, Debug, PartialEq)]
pub struct IvrInfo {
    pub access: String,
    pub id: u32,
    pub description: String,
    #[serde(rename = "serviceNo")]
    pub service_no: u32,
}

impl IvrInfo {
    pub fn new(ivr: &Ivr) -> Self {
        IvrInfo {
            access: ivr.access_code.clone(),
            id: ivr.id,
            description: ivr.description.clone(),
            service_no: ivr.id,
        }
    }
}

/// The call-information object of `callinfo`, `callinfobycallid`, `callinfobeforeanswer`, `holdlist`.
#[derive(Serialize, Debug, PartialEq)]
pub struct CallInfo {
    pub callfeature: u8,
    pub callid: String,
    pub caller: String,
    pub called: String,
    pub callskill: String,
    pub callskillid: u32,
    pub orgicallednum: String,
    pub calldata: String,
    pub begintime: Option<u64>,
    pub endtime: Option<u64>,
    #[serde(rename = "userPriority")]
    pub user_priority: u32,
    #[serde(rename = "trunkNo")]
    pub trunk_no: u32,
    pub logontimes: u64,
    #[serde(rename = "mediaType")]
    pub media_type: u8,
}

/// No trunk (the vendor's example value).
pub const NO_TRUNK: u32 = 65535;

impl CallInfo {
    pub fn new(call: &Call, skill: Option<&Skill>, now_ms: u64) -> Self {
        let end = call.end_ms.unwrap_or(now_ms);
        CallInfo {
            callfeature: call.feature.code(),
            callid: call.id.to_string(),
            caller: call.caller.clone(),
            called: call.called.clone(),
            callskill: skill.map(|s| s.name.clone()).unwrap_or_default(),
            callskillid: skill.map_or(0, |s| s.id.0),
            orgicallednum: call.original_called.clone(),
            calldata: call.data.clone(),
            begintime: call.begin_ms,
            endtime: call.end_ms,
            user_priority: call.user_priority,
            trunk_no: NO_TRUNK,
            logontimes: end.saturating_sub(call.created_ms) / 1000,
            media_type: call.media_type,
        }
    }
}

/// An entry of `holdlistex`: the five fields the vendor documents for it.
#[derive(Serialize, Debug, PartialEq)]
pub struct HeldCall {
    pub callfeature: u8,
    pub callid: String,
    pub caller: String,
    pub called: String,
    pub callskill: String,
}

impl From<CallInfo> for HeldCall {
    fn from(c: CallInfo) -> Self {
        HeldCall {
            callfeature: c.callfeature,
            callid: c.callid,
            caller: c.caller,
            called: c.called,
            callskill: c.callskill,
        }
    }
}

/// An entry of agentgroup `idleagent`: only `workno` and `name`, both strings (the vendor sample
/// `{"workno":"156","name":"156"}`).
#[derive(Serialize, Debug, PartialEq)]
pub struct IdleAgent {
    pub workno: String,
    pub name: String,
}

/// An entry of agentgroup `allagentstatus`: `workno` and `name` strings, `status` the
/// CC-Gateway agent state (a number, as `agentstatus.agentState`; 2 = signed out).
#[derive(Serialize, Debug, PartialEq)]
pub struct AgentStateItem {
    pub workno: String,
    pub name: String,
    pub status: u8,
}

/// The `result` of agentgroup `agentwasnameonvdn`: `{"<workno>":"<configured name>", ...}`, in
/// work-number order.
pub fn agent_names<'a>(agents: impl IntoIterator<Item = (u32, &'a str)>) -> Vec<u8> {
    let map: serde_json::Map<String, Value> =
        agents.into_iter().map(|(w, n)| (w.to_string(), Value::String(n.to_owned()))).collect();
    ok("", map)
}

/// An empty JSON object, the `result` of control operations.
pub fn empty_object() -> Value {
    Value::Object(Default::default())
}

// --- calldata / queuedevice (issue 8) ---

/// An entry of queuedevice `innoinfo`: an access code (called number) of the VDN and what it
/// reaches (the vendor documents no sample; the keys follow `ivrinfo`'s, plus `type`).
#[derive(Serialize, Debug, PartialEq)]
pub struct AccessCodeInfo {
    pub access: String,
    /// The skill or IVR flow id.
    pub id: u32,
    pub description: String,
    /// `"skill"` or `"ivr"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// An entry of queuedevice `queryacdstat`: the four fields of the vendor's table whose names it
/// prints (`pilotNbr`, `deviceNo`, `queueSize`, `queueTime`).
#[derive(Serialize, Debug, PartialEq)]
pub struct AcdStat {
    /// The skill's access code (`""` when it has none).
    #[serde(rename = "pilotNbr")]
    pub pilot_nbr: String,
    /// The skill id.
    #[serde(rename = "deviceNo")]
    pub device_no: u32,
    /// Calls waiting.
    #[serde(rename = "queueSize")]
    pub queue_size: usize,
    /// Seconds the longest-waiting call has waited.
    #[serde(rename = "queueTime")]
    pub queue_time: u64,
}

/// An entry of the calldata call-record queries: one agent's part in a finished call, named as
/// the call-information object names the same facts (the vendor documents no sample).
#[derive(Serialize, Debug, PartialEq)]
pub struct CallRecordInfo {
    pub callid: String,
    pub callfeature: u8,
    pub caller: String,
    pub called: String,
    pub workno: String,
    pub callskillid: u32,
    pub callskill: String,
    /// When the call was created (ms).
    pub createtime: u64,
    /// When it was answered (ms), null if never.
    pub begintime: Option<u64>,
    /// When the agent's part ended (ms).
    pub endtime: u64,
    /// Seconds from answer to end (0 if never answered).
    pub talktime: u64,
}

impl CallRecordInfo {
    pub fn new(r: &CallRecord, skill: Option<&Skill>) -> Self {
        CallRecordInfo {
            callid: r.call.to_string(),
            callfeature: r.feature.code(),
            caller: r.caller.clone(),
            called: r.called.clone(),
            workno: r.agent.to_string(),
            callskillid: skill.map_or(0, |s| s.id.0),
            callskill: skill.map(|s| s.name.clone()).unwrap_or_default(),
            createtime: r.created_ms,
            begintime: r.begin_ms,
            endtime: r.end_ms,
            talktime: r.begin_ms.map_or(0, |b| r.end_ms.saturating_sub(b) / 1000),
        }
    }
}

//! Response bodies. Key names, casing and value types follow the vendor's examples exactly;
//! `tests` pins each shape.

use ccgw_domain::agent::{Agent, Ready};
use ccgw_domain::{AgentStateCode, Call, CallId, CallRecord, Group, Ivr, Skill};
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

// --- agentgroup ---

/// The CTI platform state (`ctiStatus`) that goes with a CC-Gateway agent state, as the vendor's
/// status tables pair them: signed out 0, idle 1, answering (an offered call ringing) 4,
/// talking 5, wrap-up 6, busy 7, rest 8.
pub fn cti_status(state: AgentStateCode, ringing: bool) -> u8 {
    match state {
        AgentStateCode::SignedOut => 0,
        AgentStateCode::Idle => 1,
        AgentStateCode::Talking | AgentStateCode::PreRest if ringing => 4,
        AgentStateCode::Talking | AgentStateCode::PreRest => 5,
        AgentStateCode::Work => 6,
        AgentStateCode::Busy => 7,
        AgentStateCode::Rest => 8,
    }
}

/// Seconds the agent has been in its current state (0 when signed out).
pub fn state_seconds(agent: &Agent, now_ms: u64) -> u64 {
    agent.session.as_ref().map_or(0, |s| now_ms.saturating_sub(s.state_since_ms) / 1000)
}

/// The agent-information object of agentgroup `agentbyworkno` (and of the agent lists), the
/// fields and order of the vendor's sample: `workno`, `name`, `status` and `ctiStatus` strings
/// (as the sample has them; the field table says int), `groupid` number, `groupname`,
/// `skilllist` (left out by `agentinfonoskills`), `mediatype` (`"TTF"` signed in, `"FFF"` not),
/// `vdnid`, `phonenumber`, `currentstatetime` (seconds), `logindate` (ms, 0 when signed out),
/// `callids` (documented as unused: always empty), `inMultimediaConf` 0, `currentStateReason`
/// (the rest cause while resting, else 0).
#[derive(Serialize, Debug, PartialEq)]
pub struct AgentInfo {
    pub workno: String,
    pub name: String,
    pub status: String,
    #[serde(rename = "ctiStatus")]
    pub cti_status: String,
    pub groupid: u32,
    pub groupname: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skilllist: Option<Vec<SkillInfo>>,
    pub mediatype: &'static str,
    pub vdnid: u32,
    pub phonenumber: String,
    pub currentstatetime: u64,
    pub logindate: u64,
    pub callids: Vec<String>,
    #[serde(rename = "inMultimediaConf")]
    pub in_multimedia_conf: u8,
    #[serde(rename = "currentStateReason")]
    pub current_state_reason: u16,
}

impl AgentInfo {
    /// `skills`: the skill queues the agent is signed in to (`None`: leave `skilllist` out);
    /// `ringing`: a call is being offered to it.
    pub fn new(agent: &Agent, group: Option<&Group>, skills: Option<&[&Skill]>, ringing: bool, now_ms: u64) -> Self {
        let state = agent.state_code();
        let session = agent.session.as_ref();
        AgentInfo {
            workno: agent.profile.id.0.to_string(),
            name: agent.profile.name.clone(),
            status: (state as u8).to_string(),
            cti_status: cti_status(state, ringing).to_string(),
            groupid: group.map_or(0, |g| g.id),
            groupname: group.map(|g| g.name.clone()).unwrap_or_default(),
            skilllist: skills.map(|list| list.iter().map(|s| SkillInfo::new(s)).collect()),
            mediatype: if session.is_some() { "TTF" } else { "FFF" },
            vdnid: agent.profile.vdn.0,
            phonenumber: session.map_or_else(|| agent.profile.phone.clone(), |s| s.options.phone.clone()),
            currentstatetime: state_seconds(agent, now_ms),
            logindate: session.map_or(0, |s| s.login_ms),
            callids: Vec::new(),
            in_multimedia_conf: 0,
            current_state_reason: match session.map(|s| s.ready) {
                Some(Ready::Rest { cause, .. }) if state == AgentStateCode::Rest => u16::from(cause),
                _ => 0,
            },
        }
    }

    /// The `agentinfonoskills` form: no `skilllist`, and `status` in the CTI platform scheme
    /// (the vendor's client R2 decodes it so).
    pub fn without_skills(mut self) -> Self {
        self.skilllist = None;
        self.status = self.cti_status.clone();
        self
    }
}

/// An agent group: `{"id","name"}` (`grouponvdn` items, `groupbyagent`).
#[derive(Serialize, Debug, PartialEq)]
pub struct GroupInfo {
    pub id: u32,
    pub name: String,
}

impl GroupInfo {
    pub fn new(group: &Group) -> Self {
        GroupInfo { id: group.id, name: group.name.clone() }
    }
}

/// `queryagentstatusandskill`: the caller's state and its configured skill queues
/// (`{"status":<agentState>,"skills":[{"name","id","mediatype"}]}`; R1 reads `skills[].id/name`).
#[derive(Serialize, Debug, PartialEq)]
pub struct StatusAndSkills {
    pub status: u8,
    pub skills: Vec<SkillInfo>,
}

/// An entry of `queryagentstatus`: `allagentstatus`'s entry plus the seconds in that state.
#[derive(Serialize, Debug, PartialEq)]
pub struct AgentStateTime {
    pub workno: String,
    pub name: String,
    pub status: u8,
    pub currentstatetime: u64,
}

/// `agentrestinfo` while resting: the cause, the rest asked for (`time`, seconds, as in
/// `rest/{time}/{restcause}`), when it began (ms) and the seconds left (0 once over).
#[derive(Serialize, Debug, PartialEq)]
pub struct RestInfo {
    pub restcause: u8,
    pub time: u64,
    pub begintime: u64,
    pub remaintime: u64,
}

/// An entry of `restreason`: `{"id":<restcause>,"name"}`.
#[derive(Serialize, Debug, PartialEq)]
pub struct RestReasonInfo {
    pub id: u8,
    pub name: String,
}

/// The `result` of agentgroup `loggedinagentphoneonvdn`: `{"<workno>":"<phone>", ...}`.
pub fn agent_phones<'a>(agents: impl IntoIterator<Item = (u32, &'a str)>) -> Vec<u8> {
    agent_names(agents)
}

// --- recordplay ---

/// A finished recording in the record-file queries (`recordfile`, `queryselfrecordfile`,
/// `queryrecordfilebycallid`, `recordfilefromrecordid`). The vendor documents no sample: the
/// names are those of its recording events (`recordID`, `fileName`, `callId`, `beginTime`,
/// `endTime`), see docs/compat.md.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct RecordFileInfo {
    #[serde(rename = "recordID")]
    pub record_id: String,
    #[serde(rename = "fileName")]
    pub file_name: String,
    #[serde(rename = "callId")]
    pub call_id: String,
    #[serde(rename = "workNo")]
    pub work_no: String,
    /// 0 for a call that came through no skill.
    #[serde(rename = "skillId")]
    pub skill_id: u32,
    pub caller: String,
    pub called: String,
    #[serde(rename = "beginTime")]
    pub begin_time: u64,
    #[serde(rename = "endTime")]
    pub end_time: u64,
}

impl RecordFileInfo {
    pub fn new(f: &ccgw_domain::RecordFile) -> Self {
        RecordFileInfo {
            record_id: f.record_id.clone(),
            file_name: f.file_name.clone(),
            call_id: f.call.to_string(),
            work_no: f.agent.to_string(),
            skill_id: f.skill.map_or(0, |s| s.0),
            caller: f.caller.clone(),
            called: f.called.clone(),
            begin_time: f.begin_ms,
            end_time: f.end_ms,
        }
    }
}

// --- onlineagent ---

/// `querycustomstate`: `{"agentcustomstate":"65535"}`, a string as in the vendor's sample;
/// `"65535"` (one above the settable range, the sample's value) until the agent sets one.
#[derive(Serialize, Debug, PartialEq)]
pub struct CustomState {
    pub agentcustomstate: String,
}

impl CustomState {
    pub fn new(state: Option<u16>) -> Self {
        CustomState { agentcustomstate: state.unwrap_or(u16::MAX).to_string() }
    }
}

/// `syncagentinfo`: `{"callinfo","agentStateInfo"}` (field names, casing and types as the
/// vendor's field table; what ccgw puts in each is in docs/compat.md).
#[derive(Serialize, Debug, PartialEq)]
pub struct SyncAgentInfo {
    /// The active call's call-information object as a JSON string, `""` without a call.
    pub callinfo: String,
    #[serde(rename = "agentStateInfo")]
    pub agent_state_info: AgentStateInfo,
}

#[derive(Serialize, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AgentStateInfo {
    pub call_feature: i32,
    pub call_data: String,
    pub last_state: u8,
    pub pre_busy: bool,
    #[serde(rename = "firsttalkingFlag")]
    pub firsttalking_flag: bool,
    pub work_no: String,
    pub qc_work_no: String,
    pub caller_no: String,
    pub begin_hold_time: String,
    pub state: u8,
    #[serde(rename = "talkingCallfeature")]
    pub talking_callfeature: i32,
    pub release_flag: u8,
    pub called_no: String,
    pub main_call_id: String,
    pub second_talking_time: String,
    pub pre_rest: bool,
    #[serde(rename = "recordID")]
    pub record_id: String,
    pub current_time: String,
    pub begin_talking_time: String,
    pub partner: String,
    pub hold_call_id: String,
    pub agent_state_begin_time: String,
    pub cur_command: u8,
    pub cur_call_id: String,
    pub cmd_begin_time: String,
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

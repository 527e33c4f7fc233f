//! The one description of the agent interface: every interface the vendor's gateway is known to
//! have (the project's inventory, `interfaces.md` §2), implemented by ccgw or not. The router, the
//! OpenAPI document (`docs/openapi.json`) and the coverage list (`docs/interfaces.md`) are all
//! derived from [`INTERFACES`]; nothing else lists interfaces.
//!
//! To implement an interface: give it a body and result kind, mark it `.served()`, and add its arm
//! to its family's module in `ccgw-server/src/api/`. Then regenerate the docs
//! (`UPDATE_DOCS=1 cargo test -p ccgw-wire --test docs`).
//!
//! The order of the table is the order of [`Method`]'s variants (checked at compile time), so
//! `Method::interface()` is an index.

use crate::method::Method;

/// The first path segment after `/agentgateway/resource/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    OnlineAgent,
    AgentEvent,
    VoiceCall,
    CallData,
    AgentGroup,
    QueueDevice,
    QualityControl,
    RecordPlay,
    QueryMonitor,
    TextChat,
    AgentConf,
    MediaCall,
    ThirdControl,
}

impl Family {
    pub const ALL: [Family; 13] = [
        Family::OnlineAgent,
        Family::AgentEvent,
        Family::VoiceCall,
        Family::CallData,
        Family::AgentGroup,
        Family::QueueDevice,
        Family::QualityControl,
        Family::RecordPlay,
        Family::QueryMonitor,
        Family::TextChat,
        Family::AgentConf,
        Family::MediaCall,
        Family::ThirdControl,
    ];

    /// The family's name as the vendor writes it (its path segment, lower case).
    pub const fn name(self) -> &'static str {
        match self {
            Family::OnlineAgent => "onlineagent",
            Family::AgentEvent => "agentevent",
            Family::VoiceCall => "voicecall",
            Family::CallData => "calldata",
            Family::AgentGroup => "agentgroup",
            Family::QueueDevice => "queuedevice",
            Family::QualityControl => "qualitycontrol",
            Family::RecordPlay => "recordplay",
            Family::QueryMonitor => "querymonitor",
            Family::TextChat => "textchat",
            Family::AgentConf => "agentconf",
            Family::MediaCall => "mediacall",
            Family::ThirdControl => "thirdcontrol",
        }
    }
}

/// The HTTP methods the interface uses (the wire crate does not depend on `http`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verb {
    Get,
    Post,
    Put,
    Delete,
}

impl Verb {
    pub const ALL: [Verb; 4] = [Verb::Get, Verb::Post, Verb::Put, Verb::Delete];

    pub const fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }

    /// One bit per verb, in the order of [`Verb::ALL`] (the router keeps sets of verbs as masks).
    pub const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// Where an interface's log name comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Named {
    /// A vendor doc page gives it as the "Method Name in Logs".
    Doc,
    /// Only the vendor's JS API function name is known (in every checked case the two agree).
    JsApi,
    /// No vendor name is known; ccgw chose one.
    Ccgw,
}

/// Which build of the vendor's generated browser JS API has the function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// The voice build (`REST.apiURL` ending in `/agentgateway/resource/`): object and function
    /// names read from it.
    Ja,
    /// The larger multimedia build only: function name from the inventory, object by family.
    Jb,
}

/// The vendor JS API's name for the interface: `<object>.<function>(params)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Js {
    pub object: &'static str,
    pub function: &'static str,
    pub build: Build,
}

/// The request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    None,
    /// [`crate::request::SignInRequest`] (sign-in and force sign-in).
    SignIn,
    /// [`crate::request::CalloutRequest`].
    Callout,
    /// [`crate::request::CallInnerRequest`].
    CallInner,
    /// [`crate::request::InnerHelpRequest`].
    InnerHelp,
    /// [`crate::request::TransferRequest`].
    Transfer,
    /// [`crate::request::SetCallDataRequest`].
    SetCallData,
    /// [`crate::request::AgentListRequest`] (agentgroup `agentinfonoskills`).
    AgentList,
    /// [`crate::request::BindPhoneRequest`].
    BindPhone,
    /// [`crate::request::BulletinRequest`].
    Bulletin,
    /// [`crate::request::ModifyPasswordRequest`].
    ModifyPassword,
    /// A JSON body ccgw does not describe yet (the JS API sends an entity).
    Json,
    // --- recordplay ---
    /// [`crate::request::PlayRequest`].
    Play,
    /// Not known whether the interface takes a body.
    Undocumented,
    // --- calldata / queuedevice / voicecall (issue 8) ---
    /// [`crate::request::AcdStatRequest`].
    AcdStat,
    /// [`crate::request::AssignInQueueRequest`].
    AssignInQueue,
    /// [`crate::request::CallInnerSkillRequest`].
    CallInnerSkill,
    // --- thirdcontrol (issue 12) ---
    /// [`crate::request::SetStatusRequest`].
    SetStatus,
    /// [`crate::request::AdjustSkillRequest`].
    AdjustSkill,
}

/// The type of a query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryType {
    Str,
    Integer,
    /// `true` / `false`.
    Boolean,
}

/// A query parameter: name and type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Q(pub &'static str, pub QueryType);

/// What a successful answer carries (the OpenAPI `result` schemas follow `response.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultKind {
    /// `result: {}`.
    Empty,
    /// No `result` key (`{"message":"success","retcode":"0"}`).
    Bare,
    /// A call id string.
    CallId,
    /// An array of call id strings.
    CallIds,
    SignIn,
    AgentStatus,
    /// `{"guid": ...}`.
    Guid,
    Skills,
    /// One call-information object.
    CallInfo,
    /// A call-information object, or `{}` when there is no call.
    CallInfoOrEmpty,
    CallInfoList,
    HeldCallList,
    /// The call-associated data string.
    AppData,
    /// A number.
    Count,
    /// An array of IVR flows.
    Ivrs,
    Statistics,
    /// An array of numbers (strings).
    Numbers,
    /// agentgroup `idleagent`: an array of `{workno, name}` ([`crate::response::IdleAgent`]).
    IdleAgents,
    /// agentgroup `allagentstatus`: an array of [`crate::response::AgentStateItem`].
    AgentStates,
    /// agentgroup `agentwasnameonvdn`: an object `{"<workno>": "<name>", ...}`.
    AgentNames,
    /// agentgroup `agentbyworkno`: one [`crate::response::AgentInfo`].
    AgentInfo,
    /// An array of [`crate::response::AgentInfo`] (the agentgroup agent lists).
    AgentInfoList,
    /// `agentinfonoskills`: an array of [`crate::response::AgentInfo`] without `skilllist`.
    AgentInfoNoSkillsList,
    /// `grouponvdn`: an array of [`crate::response::GroupInfo`].
    Groups,
    /// `groupbyagent`: a [`crate::response::GroupInfo`], or `{}` when the agent is in no group.
    GroupOrEmpty,
    /// `queryagentstatusandskill`: [`crate::response::StatusAndSkills`].
    StatusAndSkills,
    /// `queryagentstatus`: an array of [`crate::response::AgentStateTime`].
    AgentStateTimes,
    /// `agentrestinfo`: a [`crate::response::RestInfo`], or `{}` when not resting.
    RestInfoOrEmpty,
    /// `restreason`: an array of [`crate::response::RestReasonInfo`].
    RestReasons,
    /// The permission probes: `true` / `false`.
    Flag,
    /// `loggedinagentphoneonvdn`: an object `{"<workno>": "<phone>", ...}`.
    AgentPhones,
    // --- recordplay ---
    /// An array of [`crate::response::RecordFileInfo`].
    RecordFiles,
    /// One [`crate::response::RecordFileInfo`].
    RecordFile,
    /// A URL string.
    Url,
    /// `queryrecordscore`: an array of score objects (always empty: ccgw scores no recording).
    RecordScores,
    /// The long poll: `event` (one event object) instead of `result`.
    Event,
    /// `event`: an array of event objects.
    EventList,
    /// onlineagent `querycustomstate`: [`crate::response::CustomState`].
    CustomState,
    /// agentevent `jsonp`: the poll's body as `callback(json)`, `text/plain`.
    Jsonp,
    /// onlineagent `syncagentinfo`: [`crate::response::SyncAgentInfo`].
    SyncAgentInfo,
    Undocumented,
    // --- calldata / queuedevice (issue 8) ---
    /// `true` / `false`.
    Boolean,
    /// queuedevice `innoinfo`: an array of [`crate::response::AccessCodeInfo`].
    AccessCodes,
    /// queuedevice `queryacdstat`: an array of [`crate::response::AcdStat`].
    AcdStats,
    /// calldata call records: an array of [`crate::response::CallRecordInfo`].
    CallRecords,
    // --- querymonitor (issue 12) ---
    /// A string (`systemversion`).
    Text,
    /// A time in milliseconds since the epoch (`servertime`).
    TimeMs,
}

/// How the caller proves who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// The `Guid` header, checked against the agent's session.
    Guid,
    /// Sign-in: password in the body, no `Guid`.
    SignIn,
    /// Nothing (no agent in the path).
    None,
}

/// The vendor's overload control (5 per agent / 15 000 per system per 2 s by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overload {
    None,
    /// Call-data queries.
    CallData,
    /// The agentgroup family ("the same limits as calldata"; ccgw counts both in one budget).
    AgentGroup,
}

/// How far ccgw implements the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Served,
    /// Routed to a handler that always gives the one documented answer.
    Stub(&'static str),
    /// Not implemented: answered with HTTP 404 `{"message":"interface not implemented","retcode":"404"}`.
    NotYet(&'static str),
}

/// One interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interface {
    pub method: Method,
    pub family: Family,
    pub http: &'static [Verb],
    /// Path template after `/agentgateway/resource`, e.g. `/calldata/{agentid}/allcallinfoEx/{workno}`.
    /// A `{…}` segment is a parameter; the one right after the family is the caller's agent id.
    pub path: &'static str,
    /// The vendor's "Method Name in Logs" (see [`Named`]); what ccgw's access log and metrics carry.
    pub log_name: &'static str,
    pub named: Named,
    pub js: Option<Js>,
    pub summary: &'static str,
    /// Public integrations known to call it (the inventory's R1–R5; `(c)`/`(d)`: not wired in that client).
    pub clients: &'static str,
    pub query: &'static [Q],
    pub body: Body,
    pub result: ResultKind,
    pub auth: Auth,
    pub overload: Overload,
    pub status: Status,
}

pub const NOT_YET: &str = "not implemented yet";
const NO_MULTIMEDIA: &str = "multimedia (text chat, conference): ccgw has voice only";
const NO_VIDEO: &str = "video: ccgw has voice only";
const OTHER_TRANSPORT: &str = "another event transport of the multimedia build";
const UNDOCUMENTED_BODY: &str = "undocumented: no doc page and no client shows the body's fields";
const QC_TASKS: &str = "quality-control tasks: undocumented, ccgw has no QC task store";
const UNDOCUMENTED_RESULT: &str = "undocumented: no doc page and no client shows the result's fields";
const MULTIMEDIA_CRM: &str = "record/CRM query of the multimedia build: undocumented, no CRM data in ccgw";

const fn e(
    method: Method,
    family: Family,
    http: &'static [Verb],
    path: &'static str,
    log_name: &'static str,
    named: Named,
) -> Interface {
    Interface {
        method,
        family,
        http,
        path,
        log_name,
        named,
        js: None,
        summary: "",
        clients: "",
        query: &[],
        body: Body::None,
        result: ResultKind::Undocumented,
        auth: Auth::Guid,
        overload: Overload::None,
        status: Status::NotYet(NOT_YET),
    }
}

impl Interface {
    const fn js(self, object: &'static str, function: &'static str) -> Self {
        Interface { js: Some(Js { object, function, build: Build::Ja }), ..self }
    }
    const fn jb(self, object: &'static str, function: &'static str) -> Self {
        Interface { js: Some(Js { object, function, build: Build::Jb }), ..self }
    }
    const fn summary(self, summary: &'static str) -> Self {
        Interface { summary, ..self }
    }
    const fn clients(self, clients: &'static str) -> Self {
        Interface { clients, ..self }
    }
    const fn query(self, query: &'static [Q]) -> Self {
        Interface { query, ..self }
    }
    const fn body(self, body: Body) -> Self {
        Interface { body, ..self }
    }
    const fn result(self, result: ResultKind) -> Self {
        Interface { result, ..self }
    }
    const fn auth(self, auth: Auth) -> Self {
        Interface { auth, ..self }
    }
    const fn overload(self, overload: Overload) -> Self {
        Interface { overload, ..self }
    }
    const fn served(self) -> Self {
        Interface { status: Status::Served, ..self }
    }
    #[allow(dead_code)] // no interface is a stub today
    const fn stub(self, why: &'static str) -> Self {
        Interface { status: Status::Stub(why), ..self }
    }
    const fn not_yet(self, why: &'static str) -> Self {
        Interface { status: Status::NotYet(why), ..self }
    }

    /// Served or stubbed: routed to a handler.
    pub const fn is_routed(&self) -> bool {
        !matches!(self.status, Status::NotYet(_))
    }

    /// The family's path segment and the rest of the template, split into segments.
    pub fn segments(&self) -> impl Iterator<Item = &'static str> {
        self.path.split('/').filter(|s| !s.is_empty())
    }

    /// The names of the path parameters, in order (including the agent id).
    pub fn path_params(&self) -> impl Iterator<Item = &'static str> {
        self.segments().filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }
}

use Family as F;
use Method as M;
use QueryType::{Boolean, Integer, Str};
use ResultKind as R;

const GET: &[Verb] = &[Verb::Get];
const POST: &[Verb] = &[Verb::Post];
const PUT: &[Verb] = &[Verb::Put];
const DELETE: &[Verb] = &[Verb::Delete];
/// The vendor does not document the method of resetskill, phonepickup, phonehangup; its JS API
/// and clients use POST or PUT.
const POST_PUT: &[Verb] = &[Verb::Post, Verb::Put];

/// Every interface, in the order of [`Method`]'s variants.
pub static INTERFACES: &[Interface] = &[
    e(M::Login, F::OnlineAgent, PUT, "/onlineagent/{agentid}", "login", Named::Doc)
        .js("OnlineAgent", "login")
        .summary("sign in (body password, phonenum, …, callBackUri/serviceToken)")
        .clients("R1 R2 R3 R4")
        .body(Body::SignIn)
        .result(R::SignIn)
        .auth(Auth::SignIn)
        .served(),
    e(M::LoginEx, F::OnlineAgent, PUT, "/onlineagent/{agentid}/loginex", "loginEx", Named::Doc)
        .js("OnlineAgent", "loginEx")
        .summary("sign in to platform only (no media server / licence)")
        .body(Body::SignIn)
        .result(R::SignIn)
        .auth(Auth::SignIn)
        .served(),
    e(M::ForceLogin, F::OnlineAgent, PUT, "/onlineagent/{agentid}/forcelogin", "forceLogin", Named::Doc)
        .js("OnlineAgent", "forceLogin")
        .summary("force sign-in (kicks existing session)")
        .clients("R1 R2 R3 R4 R5")
        .body(Body::SignIn)
        .result(R::SignIn)
        .auth(Auth::SignIn)
        .served(),
    e(M::ForceLoginEx, F::OnlineAgent, PUT, "/onlineagent/{agentid}/forceloginex", "forceLoginEx", Named::JsApi)
        .js("OnlineAgent", "forceLoginEx")
        .summary("force variant of loginex")
        .body(Body::SignIn)
        .result(R::SignIn)
        .auth(Auth::SignIn)
        .served(),
    e(
        M::ForceLoginExWithoutPhone,
        F::OnlineAgent,
        PUT,
        "/onlineagent/{agentid}/forceloginexwithoutphone",
        "forceLoginExWithoutPhone",
        Named::JsApi,
    )
    .js("OnlineAgent", "forceLoginExWithoutPhone")
    .summary("force sign-in without phone")
    .body(Body::SignIn)
    .result(R::SignIn)
    .auth(Auth::SignIn)
    .served(),
    e(M::Logout, F::OnlineAgent, DELETE, "/onlineagent/{agentid}/logout", "logout", Named::Doc)
        .js("OnlineAgent", "logout")
        .summary("sign out (refused while talking)")
        .clients("R1 R2 R3 R4")
        .result(R::Empty)
        .served(),
    e(M::ForceLogout, F::OnlineAgent, DELETE, "/onlineagent/{agentid}/forcelogout", "forceLogout", Named::Doc)
        .js("OnlineAgent", "forceLogout")
        .summary("force sign-out (releases call)")
        .clients("R2 R4")
        .result(R::Empty)
        .served(),
    e(
        M::ForceLogoutWithReason,
        F::OnlineAgent,
        DELETE,
        "/onlineagent/{agentid}/forcelogoutwithreason/{reason}",
        "forceLogoutWithReason",
        Named::Doc,
    )
    .js("OnlineAgent", "forceLogoutWithReason")
    .summary("force sign-out with cause 1–255")
    .clients("R1")
    .result(R::Bare)
    .served(),
    e(M::HandShake, F::OnlineAgent, POST, "/onlineagent/{agentid}/handshake", "handShake", Named::Doc)
        .summary("heartbeat (push mode), returns Set-GUID in dynamic auth")
        .result(R::Empty)
        .served(),
    e(M::UpdateGuid, F::OnlineAgent, PUT, "/onlineagent/{agentid}/updateGuid", "updateGuid", Named::Doc)
        .summary("refresh GUID (result.guid)")
        .result(R::Guid)
        .served(),
    e(M::SyncAgentInfo, F::OnlineAgent, POST, "/onlineagent/{agentid}/syncagentinfo", "syncagentinfo", Named::Doc)
        .summary("re-sync state/call info after page refresh (clears event queue)")
        .result(R::SyncAgentInfo)
        .served(),
    e(M::SayBusy, F::OnlineAgent, POST, "/onlineagent/{agentid}/saybusy", "sayBusy", Named::Doc)
        .js("OnlineAgent", "sayBusy")
        .summary("set busy")
        .clients("R1 R2 R3")
        .query(&[Q("reason", Integer), Q("prolong", Boolean)])
        .result(R::Empty)
        .served(),
    e(M::CancelBusy, F::OnlineAgent, POST, "/onlineagent/{agentid}/cancelbusy", "cancelBusy", Named::Doc)
        .js("OnlineAgent", "cancelBusy")
        .summary("cancel busy")
        .result(R::Empty)
        .served(),
    e(M::SayFree, F::OnlineAgent, POST, "/onlineagent/{agentid}/sayfree", "sayFree", Named::Doc)
        .js("OnlineAgent", "sayFree")
        .summary("set idle")
        .clients("R1 R2 R3")
        .result(R::Empty)
        .served(),
    e(M::Rest, F::OnlineAgent, POST, "/onlineagent/{agentid}/rest/{time}/{restcause}", "rest", Named::Doc)
        .js("OnlineAgent", "rest")
        .summary("request rest")
        .clients("R3")
        .query(&[Q("prolong", Boolean)])
        .result(R::Empty)
        .served(),
    e(M::CancelRest, F::OnlineAgent, POST, "/onlineagent/{agentid}/cancelrest", "cancelRest", Named::JsApi)
        .js("OnlineAgent", "cancelRest")
        .summary("cancel rest")
        .clients("R3")
        .result(R::Empty)
        .served(),
    e(M::SayWork, F::OnlineAgent, POST, "/onlineagent/{agentid}/work", "sayWork", Named::Doc)
        .js("OnlineAgent", "sayWork")
        .summary("enter wrap-up")
        .clients("R1 R2 R3(d)")
        .result(R::Empty)
        .served(),
    e(M::CancelWork, F::OnlineAgent, POST, "/onlineagent/{agentid}/cancelwork", "cancelWork", Named::Doc)
        .js("OnlineAgent", "cancelWork")
        .summary("leave wrap-up")
        .clients("R1 R2 R3")
        .result(R::Empty)
        .served(),
    e(
        M::SetAgentAutoAnswer,
        F::OnlineAgent,
        POST,
        "/onlineagent/{agentid}/autoanswer/{isautoanswer}",
        "setAgentAutoAnswer",
        Named::Doc,
    )
    .js("OnlineAgent", "setAgentAutoAnswer")
    .summary("toggle auto-answer")
    .clients("R1")
    .result(R::Empty)
    .served(),
    e(
        M::SetAgentAutoEnterIdle,
        F::OnlineAgent,
        POST,
        "/onlineagent/{agentid}/autoenteridle/{flag}",
        "setAgentAutoEnterIdle",
        Named::Doc,
    )
    .js("OnlineAgent", "setAgentAutoEnterIdle")
    .summary("idle vs wrap-up after call")
    .clients("R1")
    .result(R::Empty)
    .served(),
    e(M::GetAgentStatus, F::OnlineAgent, GET, "/onlineagent/{agentid}/agentstatus", "getAgentStatus", Named::Doc)
        .js("OnlineAgent", "getAgentStatus")
        .summary("own state {agentState,isWorking}")
        .result(R::AgentStatus)
        .served(),
    e(
        M::ResetSkill,
        F::OnlineAgent,
        POST_PUT,
        "/onlineagent/{agentid}/resetskill/{autoflag}",
        "resetSkill",
        Named::Doc,
    )
    .js("OnlineAgent", "resetSkill")
    .summary("sign in to skill queues")
    .clients("R1 R2 R3 R4")
    .query(&[Q("skillid", Str), Q("phonelinkage", Str)])
    .result(R::Empty)
    .served(),
    e(M::QueryAgentSkills, F::OnlineAgent, GET, "/onlineagent/{agentid}/agentskills", "queryAgentSkills", Named::Doc)
        .js("OnlineAgent", "queryAgentSkills")
        .summary("own signed-in skills")
        .clients("R1 R4 R3(d)")
        .result(R::Skills)
        .served(),
    e(
        M::QueryAgentSkillsByWorkNo,
        F::OnlineAgent,
        GET,
        "/onlineagent/{agentid}/agentskillsbyworkno/{workno}",
        "queryAgentSkillsByWorkNo",
        Named::Doc,
    )
    .js("OnlineAgent", "queryAgentSkillsByWorkNo")
    .summary("skills of another agent")
    .clients("R2")
    .result(R::Skills)
    .served(),
    e(
        M::ModifyAccountPwd,
        F::OnlineAgent,
        POST,
        "/onlineagent/{agentid}/modifyaccountpwd",
        "modifyAccountPwd",
        Named::JsApi,
    )
    .js("OnlineAgent", "modifyAccountPwd")
    .summary("change password (old form)")
    .query(&[Q("oldpassword", Str), Q("newpassword", Str), Q("repassword", Str)])
    .result(R::Empty)
    .served(),
    e(
        M::ModifyAccountPwdEx,
        F::OnlineAgent,
        POST,
        "/onlineagent/{agentid}/modifyaccountpwdex",
        "modifyAccountPwdEx",
        Named::Doc,
    )
    .summary("change password (body form)")
    .body(Body::ModifyPassword)
    .result(R::Empty)
    .served(),
    e(M::SetForwarding, F::OnlineAgent, POST, "/onlineagent/{agentid}/setforwarding", "setForwarding", Named::JsApi)
        .js("OnlineAgent", "setForwarding")
        .summary("call forwarding")
        .body(Body::Json)
        .not_yet(UNDOCUMENTED_BODY),
    e(M::BindAgentPhone, F::OnlineAgent, POST, "/onlineagent/{agentid}/bindphone", "bindAgentPhone", Named::JsApi)
        .js("OnlineAgent", "bindAgentPhone")
        .summary("bind phone number")
        .body(Body::BindPhone)
        .result(R::Empty)
        .served(),
    e(
        M::SetAgentSelfRecord,
        F::OnlineAgent,
        POST,
        "/onlineagent/{agentid}/setselfrecord/{recordflag}/{recordbeforetalking}",
        "setAgentSelfRecord",
        Named::JsApi,
    )
    .js("OnlineAgent", "setAgentSelfRecord")
    .summary("self-recording flags")
    .result(R::Empty)
    .served(),
    e(M::NotifyBulletin, F::OnlineAgent, POST, "/onlineagent/{agentid}/notifybulletin", "notifyBulletin", Named::JsApi)
        .js("OnlineAgent", "notifyBulletin")
        .summary("send bulletin {targettype,targetname,bulletindata}")
        .clients("R2")
        .body(Body::Bulletin)
        .result(R::Empty)
        .served(),
    e(
        M::SendNotelet,
        F::OnlineAgent,
        POST,
        "/onlineagent/{agentid}/sendnotelet/{receiver}",
        "sendNotelet",
        Named::JsApi,
    )
    .js("OnlineAgent", "sendNotelet")
    .summary("send short note to agent")
    .query(&[Q("content", Str)])
    .result(R::Empty)
    .served(),
    e(M::SetTalkRight, F::OnlineAgent, POST, "/onlineagent/{agentid}/settalkright", "setTalkRight", Named::JsApi)
        .js("OnlineAgent", "setTalkRight")
        .summary("talk right flag")
        .query(&[Q("flag", Boolean)])
        .result(R::Empty)
        .served(),
    e(
        M::GetPrivateConfig,
        F::OnlineAgent,
        GET,
        "/onlineagent/{agentid}/privateconfig",
        "getPrivateConfig",
        Named::JsApi,
    )
    .jb("OnlineAgent", "getPrivateConfig")
    .summary("read private client config")
    .result(R::AppData)
    .served(),
    e(
        M::PutPrivateConfig,
        F::OnlineAgent,
        POST,
        "/onlineagent/{agentid}/privateconfig",
        "putPrivateConfig",
        Named::JsApi,
    )
    .jb("OnlineAgent", "putPrivateConfig")
    .summary("store private client config")
    .query(&[Q("config", Str)])
    .result(R::Empty)
    .served(),
    e(M::SetCustomState, F::OnlineAgent, POST, "/onlineagent/{agentid}/setcustomstate", "setCustomState", Named::Doc)
        .summary("custom sub-state 0–65534")
        .query(&[Q("customstate", Integer)])
        .result(R::Empty)
        .served(),
    e(
        M::QueryCustomState,
        F::OnlineAgent,
        GET,
        "/onlineagent/{agentid}/querycustomstate",
        "queryCustomState",
        Named::Doc,
    )
    .summary("read custom state {agentcustomstate}")
    .result(R::CustomState)
    .served(),
    e(M::VrcToken, F::OnlineAgent, POST, "/onlineagent/{agentid}/vrctoken", "vrcToken", Named::Doc)
        .summary("temporary token for VRC (video) init")
        .body(Body::Undocumented)
        .not_yet(NO_VIDEO),
    e(M::GetAgentEvent, F::AgentEvent, GET, "/agentevent/{agentid}", "getAgentEvent", Named::Doc)
        .js("AgentEventDispatcher", "getAgentEvent")
        .summary("long-poll one agent's events {event:{…}}")
        .clients("R1 R2 R4 R5")
        .result(R::Event)
        .served(),
    e(M::GetAllAgentEvent, F::AgentEvent, GET, "/agentevent/allagentevent", "getAllAgentEvent", Named::JsApi)
        .js("AgentEventDispatcher", "getAllAgentEvent")
        .summary("events of all agents of the caller's VDN since its last call {event:[…]} (Guid of a signed-in agent)")
        .clients("R3(d)")
        .result(R::EventList)
        .served(),
    e(M::GetJsonpAgentEvent, F::AgentEvent, GET, "/agentevent/{agentid}/jsonp", "getJsonpAgentEvent", Named::JsApi)
        .jb("AgentEventDispatcher", "getJsonpAgentEvent")
        .summary("JSONP variant (Accept text/plain)")
        .query(&[Q("callback", Str)])
        .result(R::Jsonp)
        .served(),
    e(M::GetAgentEventInAsync, F::AgentEvent, GET, "/agentevent/{agentid}/async", "getAgentEventInAsync", Named::JsApi)
        .jb("AgentEventDispatcher", "getAgentEventInAsync")
        .summary("async (servlet-async) poll variant")
        .result(R::Event)
        .served(),
    e(
        M::ReportAgentsIsAlive,
        F::AgentEvent,
        POST,
        "/agentevent/reportagentsisalive",
        "reportAgentsIsAlive",
        Named::JsApi,
    )
    .jb("AgentEventDispatcher", "reportAgentsIsAlive")
    .summary("keep-alive for a list of agents (no agentid)")
    .query(&[Q("agents", Str)])
    .body(Body::Undocumented)
    .not_yet(OTHER_TRANSPORT),
    e(
        M::SetAgentSkillQueueFresh,
        F::AgentEvent,
        PUT,
        "/agentevent/{workno}/agentskillqueuefresh",
        "setAgentSkillQueueFresh",
        Named::JsApi,
    )
    .jb("AgentEventDispatcher", "setAgentSkillQueueFresh")
    .summary("push skill-queue refresh flag")
    .body(Body::Undocumented)
    .not_yet(OTHER_TRANSPORT),
    e(
        M::AgentEventPushletSetAgentSkillQueueFresh,
        F::AgentEvent,
        PUT,
        "/agenteventpushlet/{workno}/agentskillqueuefresh",
        "AgentEventPushlet.setAgentSkillQueueFresh",
        Named::JsApi,
    )
    .jb("AgentEventPushlet", "setAgentSkillQueueFresh")
    .summary("same, 'pushlet' dispatcher")
    .body(Body::Undocumented)
    .not_yet(OTHER_TRANSPORT),
    e(M::Callout, F::VoiceCall, PUT, "/voicecall/{agentid}/callout", "callout", Named::Doc)
        .js("VoiceCall", "callout")
        .summary("outbound call")
        .clients("R1 R2 R3")
        .body(Body::Callout)
        .result(R::CallId)
        .served(),
    e(M::PreviewCallout, F::VoiceCall, PUT, "/voicecall/{agentid}/previewcallout", "previewCallout", Named::Doc)
        .js("VoiceCall", "previewCallOut")
        .summary("preview outbound")
        .body(Body::Callout)
        .result(R::CallId)
        .served(),
    e(M::CallInner, F::VoiceCall, PUT, "/voicecall/{agentid}/callinner", "callInner", Named::Doc)
        .js("VoiceCall", "callInner")
        .summary("internal call to agent")
        .clients("R2")
        .body(Body::CallInner)
        .result(R::CallId)
        .served(),
    e(M::CallInnerSkill, F::VoiceCall, PUT, "/voicecall/{agentid}/callinnerskill", "callInnerSkill", Named::Doc)
        .summary("internal call to a skill queue")
        .body(Body::CallInnerSkill)
        .result(R::CallId)
        .served(),
    e(M::Answer, F::VoiceCall, PUT, "/voicecall/{agentid}/answer", "answer", Named::Doc)
        .js("VoiceCall", "answer")
        .summary("answer")
        .clients("R1 R2 R3")
        .query(&[Q("callid", Str)])
        .result(R::Empty)
        .served(),
    e(M::Release, F::VoiceCall, DELETE, "/voicecall/{agentid}/release", "release", Named::Doc)
        .js("VoiceCall", "release")
        .summary("hang up current call")
        .clients("R1 R2 R3")
        .result(R::Empty)
        .served(),
    e(M::ReleaseEx, F::VoiceCall, DELETE, "/voicecall/{agentid}", "releaseEx", Named::Doc)
        .js("VoiceCall", "releaseForVTM")
        .summary("legacy hang-up, 'for compatibility'")
        .clients("R1")
        .result(R::Empty)
        .served(),
    e(M::DropCall, F::VoiceCall, POST, "/voicecall/{agentid}/dropcall/{callid}", "dropCall", Named::Doc)
        .js("VoiceCall", "dropCall")
        .summary("release call by ID")
        .clients("R3")
        .result(R::Empty)
        .served(),
    e(M::Disconnect, F::VoiceCall, POST, "/voicecall/{agentid}/disconnect/{number}", "disconnect", Named::Doc)
        .js("VoiceCall", "disconnect")
        .summary("release one party")
        .result(R::Empty)
        .served(),
    e(M::Hold, F::VoiceCall, POST, "/voicecall/{agentid}/hold", "hold", Named::Doc)
        .js("VoiceCall", "hold")
        .summary("hold")
        .clients("R1 R3")
        .result(R::Empty)
        .served(),
    e(M::GetHold, F::VoiceCall, POST, "/voicecall/{agentid}/gethold", "getHold", Named::Doc)
        .js("VoiceCall", "getHold")
        .summary("unhold")
        .clients("R1 R3")
        .query(&[Q("callid", Str)])
        .result(R::Empty)
        .served(),
    e(M::ConnectHold, F::VoiceCall, POST, "/voicecall/{agentid}/connecthold/{callid}", "connectHold", Named::Doc)
        .js("VoiceCall", "connectHold")
        .summary("connect held call")
        .result(R::Empty)
        .served(),
    e(M::InnerHelp, F::VoiceCall, POST, "/voicecall/{agentid}/innerhelp", "innerHelp", Named::Doc)
        .js("VoiceCall", "innerHelp")
        .summary("consult; result = new call id")
        .clients("R3")
        .body(Body::InnerHelp)
        .result(R::CallId)
        .served(),
    e(M::Transfer, F::VoiceCall, POST, "/voicecall/{agentid}/transfer", "transfer", Named::Doc)
        .js("VoiceCall", "transfer")
        .summary("transfer")
        .clients("R1 R2 R3")
        .body(Body::Transfer)
        .result(R::Empty)
        .served(),
    e(M::CancelTransfer, F::VoiceCall, POST, "/voicecall/{agentid}/canceltransfer", "cancelTransfer", Named::Doc)
        .js("VoiceCall", "cancelTransfer")
        .summary("retrieve transferred call")
        .result(R::Empty)
        .served(),
    e(M::ConfJoin, F::VoiceCall, POST, "/voicecall/{agentid}/confjoin", "confJoin", Named::Doc)
        .js("VoiceCall", "confJoin")
        .summary("three-party")
        .clients("R1 R3")
        .result(R::Empty)
        .served(),
    e(M::BeginMute, F::VoiceCall, POST, "/voicecall/{agentid}/beginmute", "beginMute", Named::Doc)
        .js("VoiceCall", "beginMute")
        .summary("mute")
        .clients("R1 R3(d)")
        .result(R::Empty)
        .served(),
    e(M::EndMute, F::VoiceCall, POST, "/voicecall/{agentid}/endmute", "endMute", Named::Doc)
        .js("VoiceCall", "endMute")
        .summary("unmute")
        .clients("R3(d)")
        .result(R::Empty)
        .served(),
    e(M::BeginMuteVideo, F::VoiceCall, POST, "/voicecall/{agentid}/beginmutevideo", "beginMuteVideo", Named::JsApi)
        .js("VoiceCall", "beginMuteVideo")
        .summary("video mute")
        .not_yet(NO_VIDEO),
    e(M::EndMuteVideo, F::VoiceCall, POST, "/voicecall/{agentid}/endmutevideo", "endMuteVideo", Named::JsApi)
        .js("VoiceCall", "endMuteVideo")
        .summary("video unmute")
        .not_yet(NO_VIDEO),
    e(M::ReleasePhone, F::VoiceCall, DELETE, "/voicecall/{agentid}/releasephone", "releasePhone", Named::JsApi)
        .js("VoiceCall", "releasePhone")
        .summary("hang up agent phone leg")
        .clients("R2")
        .result(R::Empty)
        .served(),
    e(M::PhonePickup, F::VoiceCall, POST_PUT, "/voicecall/{agentid}/phonepickup", "phonepickup", Named::Doc)
        .js("VoiceCall", "phonePickup")
        .summary("phone-linkage off-hook")
        .result(R::Empty)
        .served(),
    e(M::PhoneHangUp, F::VoiceCall, POST_PUT, "/voicecall/{agentid}/phonehangup", "phonehangup", Named::Doc)
        .js("VoiceCall", "phoneHangUp")
        .summary("phone-linkage reject/hang-up")
        .clients("R3")
        .result(R::Empty)
        .served(),
    e(M::SecondDial, F::VoiceCall, POST, "/voicecall/{agentid}/seconddial/{number}", "secondDial", Named::JsApi)
        .js("VoiceCall", "secondDial")
        .summary("DTMF / two-stage dialling")
        .result(R::Empty)
        .served(),
    e(M::SecondDialEx, F::VoiceCall, POST, "/voicecall/{agentid}/seconddialex", "secondDialEx", Named::Doc)
        .summary("DTMF incl. #")
        .query(&[Q("number", Str)])
        .result(R::Empty)
        .served(),
    e(M::ReportSound, F::VoiceCall, POST, "/voicecall/{agentid}/reportsound", "reportSound", Named::JsApi)
        .js("VoiceCall", "reportSound")
        .summary("report sound (body)")
        .body(Body::Json)
        .not_yet(UNDOCUMENTED_BODY),
    e(
        M::RequestAppointedCall,
        F::VoiceCall,
        POST,
        "/voicecall/{agentid}/requestcall/{callid}/{skilltype}",
        "requestAppointedCall",
        Named::Doc,
    )
    .js("VoiceCall", "requestAppointedCall")
    .summary("pull a queuing call")
    .query(&[Q("skillid", Str), Q("skillId", Str)])
    .result(R::Empty)
    .served(),
    e(M::SnatchPickup, F::VoiceCall, PUT, "/voicecall/{agentid}/snatchpickup", "snatchPickup", Named::Ccgw)
        .summary("pick up another agent's ringing call")
        .query(&[Q("destWorkNo", Str)])
        .result(R::Empty)
        .served(),
    e(
        M::ThirdPartyConfTransmitNum,
        F::VoiceCall,
        POST,
        "/voicecall/{agentid}/thirdPartyConfTransmitNum",
        "thirdPartyConfTransmitNum",
        Named::Doc,
    )
    .summary("pass DTMF to third-party IVR in conference")
    .result(R::Empty)
    .served(),
    e(M::QueryCallInfo, F::CallData, GET, "/calldata/{agentid}/callinfo", "queryCallInfo", Named::Doc)
        .js("CallData", "queryCallInfo")
        .summary("current call info")
        .clients("R1 R2")
        .query(&[Q("isNoContainLastCall", Boolean)])
        .result(R::CallInfoOrEmpty)
        .overload(Overload::CallData)
        .served(),
    e(M::QueryCallAppData, F::CallData, GET, "/calldata/{agentid}/appdata", "queryCallAppData", Named::Doc)
        .js("CallData", "queryCallAppData")
        .summary("call-associated data")
        .clients("R1 R3")
        .query(&[Q("isEncodeResult", Boolean), Q("callId", Str)])
        .result(R::AppData)
        .overload(Overload::CallData)
        .served(),
    e(M::SetCallAppData, F::CallData, PUT, "/calldata/{agentid}", "setCallAppData", Named::JsApi)
        .js("CallData", "setCallAppData")
        .summary("set call data (old form)")
        .query(&[Q("calldata", Str), Q("callid", Str)])
        .result(R::Empty)
        .served(),
    e(M::SetCallAppDataEx, F::CallData, PUT, "/calldata/{agentid}/setcalldataex", "setCallAppDataEx", Named::Doc)
        .js("CallData", "setCallAppDataEx")
        .summary("set call data")
        .clients("R1 R3")
        .body(Body::SetCallData)
        .result(R::Empty)
        .served(),
    e(M::QueryHoldListInfo, F::CallData, GET, "/calldata/{agentid}/holdlist", "queryHoldListInfo", Named::Doc)
        .js("CallData", "queryHoldListInfo")
        .summary("held calls")
        .clients("R1")
        .result(R::CallInfoList)
        .overload(Overload::CallData)
        .served(),
    e(
        M::QueryHoldListInfoEx,
        F::CallData,
        GET,
        "/calldata/{agentid}/holdlistex/{workno}",
        "queryHoldListInfoEx",
        Named::Doc,
    )
    .js("CallData", "queryHoldListInfoEx")
    .summary("held calls of another agent")
    .result(R::HeldCallList)
    .overload(Overload::CallData)
    .served(),
    e(
        M::QueryAgentHoldNum,
        F::CallData,
        GET,
        "/calldata/{agentid}/agentholdnum/{workno}",
        "queryAgentHoldNum",
        Named::JsApi,
    )
    .js("CallData", "queryAgentHoldNum")
    .summary("number of held calls of agent")
    .result(R::Count)
    .overload(Overload::CallData)
    .served(),
    e(
        M::QueryCallInfoBeforeAnswer,
        F::CallData,
        GET,
        "/calldata/{agentid}/callinfobeforeanswer",
        "queryCallInfoBeforeAnswer",
        Named::Doc,
    )
    .js("CallData", "queryCallInfoBeforeAnswer")
    .summary("call info while ringing")
    .clients("R2")
    .result(R::CallInfoOrEmpty)
    .overload(Overload::CallData)
    .served(),
    e(
        M::QueryCallInfoByCallId,
        F::CallData,
        GET,
        "/calldata/{agentid}/callinfobycallid/{callid}",
        "queryCallInfoByCallId",
        Named::Doc,
    )
    .js("CallData", "queryCallInfoByCallId")
    .summary("call info by id")
    .clients("R1 R2")
    .result(R::CallInfo)
    .overload(Overload::CallData)
    .served(),
    e(M::QueryAllCallID, F::CallData, GET, "/calldata/{agentid}/allcallid", "queryAllCallID", Named::JsApi)
        .js("CallData", "queryAllCallID")
        .summary("all call ids of self")
        .clients("R2")
        .result(R::CallIds)
        .overload(Overload::CallData)
        .served(),
    e(
        M::QueryAllCallInfoByAgentWorkNo,
        F::CallData,
        GET,
        "/calldata/{agentid}/allcallinfo/{workno}",
        "queryAllCallInfoByAgentWorkNo",
        Named::JsApi,
    )
    .js("CallData", "queryAllCallInfoByAgentWorkNo")
    .summary("all call info of agent (non-Ex)")
    .clients("R2")
    .result(R::CallInfoList)
    .overload(Overload::CallData)
    .served(),
    e(
        M::QueryAllCallInfoByAgentWorkNoEx,
        F::CallData,
        GET,
        "/calldata/{agentid}/allcallinfoEx/{workno}",
        "queryAllCallInfoByAgentWorkNoEx",
        Named::Doc,
    )
    .js("CallData", "queryAllCallInfoByAgentWorkNoEx")
    .summary("call ids of agent")
    .clients("R2(d)")
    .result(R::CallIds)
    .overload(Overload::CallData)
    .served(),
    e(M::QueryCallNumsOnAgent, F::CallData, GET, "/calldata/{agentid}/callnums", "queryCallNumsOnAgent", Named::Doc)
        .js("CallData", "queryCallNumsOnAgent")
        .summary("number of current calls")
        .result(R::Count)
        .overload(Overload::CallData)
        .served(),
    e(
        M::QueryCallStatisticsInfo,
        F::CallData,
        GET,
        "/calldata/{agentid}/statistics",
        "queryCallStatisticsInfo",
        Named::Doc,
    )
    .js("CallData", "queryCallStatisticsInfo")
    .summary("call statistics")
    .clients("R2")
    .result(R::Statistics)
    .overload(Overload::CallData)
    .served(),
    e(
        M::QueryCallStatisticsInfoEx,
        F::CallData,
        GET,
        "/calldata/{agentid}/statisticsEx",
        "queryCallStatisticsInfoEx",
        Named::Doc,
    )
    .summary("call statistics {talktime,answernums,calloutnums}")
    .result(R::Statistics)
    .overload(Overload::CallData)
    .served(),
    e(M::QueryRemoteNumbers, F::CallData, GET, "/calldata/{agentid}/remotenumbers", "queryRemoteNumbers", Named::JsApi)
        .js("CallData", "queryRemoteNumbers")
        .summary("other parties' numbers")
        .clients("R2")
        .result(R::Numbers)
        .overload(Overload::CallData)
        .served(),
    e(
        M::QueryWaitCallInfoBySkillId,
        F::CallData,
        GET,
        "/calldata/{agentid}/waitcallinfo/{skillid}",
        "queryWaitCallInfoBySkillId",
        Named::Doc,
    )
    .js("CallData", "queryWaitCallInfoBySkillId")
    .summary("calls waiting in skill")
    .result(R::CallInfoList)
    .overload(Overload::CallData)
    .served(),
    e(
        M::QueryWaitCallInfoByIVRId,
        F::CallData,
        GET,
        "/calldata/{agentid}/ivrcallinfo/{ivrid}",
        "queryWaitCallInfoByIVRId",
        Named::JsApi,
    )
    .js("CallData", "queryWaitCallInfoByIVRId")
    .summary("calls in IVR")
    .result(R::CallInfoList)
    .overload(Overload::CallData)
    .served(),
    e(
        M::QueryCallCountByIVRId,
        F::CallData,
        GET,
        "/calldata/{agentid}/ivrcallcount/{ivrid}",
        "queryCallCountByIVRId",
        Named::JsApi,
    )
    .js("CallData", "queryCallCountByIVRId")
    .summary("number of calls in IVR")
    .result(R::Count)
    .overload(Overload::CallData)
    .served(),
    e(
        M::QueryPrivateCallInfo,
        F::CallData,
        GET,
        "/calldata/{agentid}/privatecallinfo",
        "queryPrivateCallInfo",
        Named::JsApi,
    )
    .js("CallData", "queryPrivateCallInfo")
    .summary("private-queue calls")
    .result(R::CallInfoList)
    .overload(Overload::CallData)
    .served(),
    e(
        M::QueryAllCallInfoOnVdn,
        F::CallData,
        GET,
        "/calldata/{agentid}/allcallinfoinvdn",
        "queryAllCallInfoOnVdn",
        Named::JsApi,
    )
    .js("CallData", "queryAllCallInfoOnVdn")
    .summary("all calls in VDN")
    .result(R::CallInfoList)
    .overload(Overload::CallData)
    .served(),
    e(M::IsProcessCall, F::CallData, GET, "/calldata/{agentid}/isprocesscall", "isProcessCall", Named::JsApi)
        .js("CallData", "isProcessCall")
        .summary("is agent processing a call")
        .result(R::Boolean)
        .overload(Overload::CallData)
        .served(),
    e(
        M::QueryCallRecordList,
        F::CallData,
        GET,
        "/calldata/{agentid}/callRecordInfoList",
        "queryCallRecordList",
        Named::JsApi,
    )
    .js("CallData", "queryCallRecordList")
    .summary("call records")
    .query(&[
        Q("workno", Str),
        Q("skillid", Str),
        Q("startdate", Str),
        Q("enddate", Str),
        Q("startposition", Str),
        Q("endposition", Str),
    ])
    .result(R::CallRecords)
    .overload(Overload::CallData)
    .served(),
    e(
        M::QuerySelfCallRecordInfo,
        F::CallData,
        GET,
        "/calldata/{agentid}/queryselfcallrecordinfolist",
        "querySelfCallRecordInfo",
        Named::JsApi,
    )
    .js("CallData", "querySelfCallRecordInfo")
    .summary("own call records")
    .query(&[Q("skillid", Str), Q("startdate", Str), Q("enddate", Str), Q("startposition", Str), Q("endposition", Str)])
    .result(R::CallRecords)
    .overload(Overload::CallData)
    .served(),
    e(
        M::SetCallBusinessData,
        F::CallData,
        PUT,
        "/calldata/{agentid}/setcallbusinessdata",
        "setCallBusinessData",
        Named::JsApi,
    )
    .js("CallData", "setCallBusinessData")
    .summary("set business data")
    .body(Body::Json)
    .not_yet(UNDOCUMENTED_BODY),
    e(
        M::GetCallBusinessData,
        F::CallData,
        PUT,
        "/calldata/{agentid}/getcallbusinessdata",
        "getCallBusinessData",
        Named::JsApi,
    )
    .js("CallData", "getCallBusinessData")
    .summary("get business data")
    .body(Body::Json)
    .not_yet(UNDOCUMENTED_BODY),
    e(M::AssignUserInQueue, F::CallData, PUT, "/calldata/{agentid}/assignuserinqueue", "assignUserInQueue", Named::Doc)
        .summary("move a queuing call to another skill queue")
        .body(Body::AssignInQueue)
        .result(R::Empty)
        .served(),
    e(
        M::QueryCallRecordAndEmployee,
        F::CallData,
        GET,
        "/calldata/{agentid}/querycallrecordandemployee",
        "queryCallRecordAndEmployee",
        Named::Ccgw,
    )
    .summary("record/CRM queries of the multimedia build")
    .body(Body::Undocumented)
    .overload(Overload::CallData)
    .not_yet(MULTIMEDIA_CRM),
    e(
        M::QuerySelfCallRecordAndEmployee,
        F::CallData,
        GET,
        "/calldata/{agentid}/queryselfcallrecordandemployee",
        "querySelfCallRecordAndEmployee",
        Named::Ccgw,
    )
    .summary("record/CRM queries of the multimedia build")
    .body(Body::Undocumented)
    .overload(Overload::CallData)
    .not_yet(MULTIMEDIA_CRM),
    e(
        M::QueryCustomerContactInfo,
        F::CallData,
        GET,
        "/calldata/{agentid}/querycustomercontactInfo",
        "queryCustomerContactInfo",
        Named::Ccgw,
    )
    .summary("record/CRM queries of the multimedia build")
    .body(Body::Undocumented)
    .overload(Overload::CallData)
    .not_yet(MULTIMEDIA_CRM),
    e(
        M::QueryCalloutPrefix,
        F::CallData,
        GET,
        "/calldata/{agentid}/querycalloutprefix",
        "queryCalloutPrefix",
        Named::Ccgw,
    )
    .summary("record/CRM queries of the multimedia build")
    .body(Body::Undocumented)
    .overload(Overload::CallData)
    .not_yet(MULTIMEDIA_CRM),
    e(
        M::QueryAgentInfoBySkillId,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/agentbyskill/{skillid}",
        "queryAgentInfoBySkillId",
        Named::Doc,
    )
    .js("AgentGroup", "queryAgentInfoBySkillId")
    .summary("signed-in agents of a skill")
    .query(&[Q("attribute", Str)])
    .result(R::AgentInfoList)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAgentInfoByWorkNo,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/agentbyworkno/{workno}",
        "queryAgentInfoByWorkNo",
        Named::Doc,
    )
    .js("AgentGroup", "queryAgentInfoByWorkNo")
    .summary("details of one agent")
    .clients("R2")
    .result(R::AgentInfo)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAgentInfoByList,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/agentbylist",
        "queryAgentInfoByList",
        Named::Ccgw,
    )
    .summary("agent details in batches")
    .query(&[Q("mediaTypes", Str)])
    .result(R::AgentInfoList)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAgentInfoByConfigedSkillId,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/agentbyconfigedskill/{skillid}",
        "queryAgentInfoByConfigedSkillId",
        Named::JsApi,
    )
    .js("AgentGroup", "queryAgentInfoByConfigedSkillId")
    .summary("agents configured (not signed in) for skill")
    .result(R::AgentInfoList)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAgentIdsBySkillId,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/agentidsbyskill/{skillid}",
        "queryAgentIdsBySkillId",
        Named::JsApi,
    )
    .js("AgentGroup", "queryAgentIdsBySkillId")
    .summary("agent ids of skill")
    .result(R::Numbers)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAgentInfoWithoutSkills,
        F::AgentGroup,
        POST,
        "/agentgroup/{agentid}/agentinfonoskills",
        "queryAgentInfoWithoutSkills",
        Named::JsApi,
    )
    .js("AgentGroup", "queryAgentInfoWithoutSkills")
    .summary("batch agent info, body {agentlist:[…]}")
    .clients("R2")
    .body(Body::AgentList)
    .result(R::AgentInfoNoSkillsList)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAllAgentWasNameOnVdn,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/agentwasnameonvdn",
        "queryAllAgentWasNameOnVdn",
        Named::JsApi,
    )
    .js("AgentGroup", "queryAllAgentWasNameOnVdn")
    .summary("map workno→configured name")
    .clients("R2")
    .result(R::AgentNames)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::GetAllStatusAgents,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/allagentstatus",
        "getAllStatusAgents",
        Named::JsApi,
    )
    .js("AgentGroup", "getAllStatusAgents")
    .summary("status of all agents of VDN")
    .clients("R2(c) R5")
    .result(R::AgentStates)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::GetAllStatusLocalAgents,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/alllocalagentstatus",
        "getAllStatusLocalAgents",
        Named::JsApi,
    )
    .js("AgentGroup", "getAllStatusLocalAgents")
    .summary("status of agents on this node [I]")
    .result(R::AgentStates)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::GetIdleStatusAgents,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/idleagent",
        "getIdleStatusAgents",
        Named::JsApi,
    )
    .js("AgentGroup", "getIdleStatusAgents")
    .summary("idle agents [{workno,name}]")
    .clients("R3")
    .result(R::IdleAgents)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAllLoginedAgentInfoOnVdn,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/onlineagentonvdn",
        "queryAllLoginedAgentInfoOnVdn",
        Named::JsApi,
    )
    .js("AgentGroup", "queryAllLoginedAgentInfoOnVdn")
    .summary("signed-in agents of VDN")
    .clients("R1 R2")
    .result(R::AgentInfoList)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAllLoggedInAgentPhonesOnVdn,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/loggedinagentphoneonvdn",
        "queryAllLoggedInAgentPhonesOnVdn",
        Named::JsApi,
    )
    .js("AgentGroup", "queryAllLoggedInAgentPhonesOnVdn")
    .summary("phones of signed-in agents")
    .result(R::AgentPhones)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAllAgentInfoOnMyGroup,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/agentongroup",
        "queryAllAgentInfoOnMyGroup",
        Named::JsApi,
    )
    .js("AgentGroup", "queryAllAgentInfoOnMyGroup")
    .summary("agents of own group")
    .result(R::AgentInfoList)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAllAgentInfoOnMyGroupEx,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/agentongroupex",
        "queryAllAgentInfoOnMyGroupEx",
        Named::JsApi,
    )
    .js("AgentGroup", "queryAllAgentInfoOnMyGroupEx")
    .summary("agents of a group")
    .clients("R2(c)")
    .query(&[Q("groupid", Str)])
    .result(R::AgentInfoList)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryGroupInfoByWorkNo,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/groupbyagent/{workno}",
        "queryGroupInfoByWorkNo",
        Named::JsApi,
    )
    .js("AgentGroup", "queryGroupInfoByWorkNo")
    .summary("group of an agent (result.id…)")
    .clients("R2")
    .result(R::GroupOrEmpty)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryGroupInfoOnVdn,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/grouponvdn",
        "queryGroupInfoOnVdn",
        Named::JsApi,
    )
    .js("AgentGroup", "queryGroupInfoOnVdn")
    .summary("all groups of VDN [{id,name}]")
    .clients("R2")
    .result(R::Groups)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAgentStatusAndTimeOnVDN,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/queryagentstatus",
        "queryAgentStatusAndTimeOnVDN",
        Named::JsApi,
    )
    .js("AgentGroup", "queryAgentStatusAndTimeOnVDN")
    .summary("status + state duration of VDN agents")
    .result(R::AgentStateTimes)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAgentStatusAndSkill,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/queryagentstatusandskill",
        "queryAgentStatusAndSkill",
        Named::JsApi,
    )
    .js("AgentGroup", "queryAgentStatusAndSkill")
    .summary("own status + skills {skills:[{id,name}]}")
    .clients("R1")
    .result(R::StatusAndSkills)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::GetAgentListByStatus,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/agentlistbystatus",
        "getAgentListByStatus",
        Named::JsApi,
    )
    .js("AgentGroup", "getAgentListByStatus")
    .summary("agents in a given status")
    .query(&[Q("status", Str)])
    .result(R::AgentStates)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAgentRestDetailInfo,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/agentrestinfo",
        "queryAgentRestDetailInfo",
        Named::JsApi,
    )
    .js("AgentGroup", "queryAgentRestDetailInfo")
    .summary("rest details")
    .result(R::RestInfoOrEmpty)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::GetAgentRestReason,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/restreason",
        "getAgentRestReason",
        Named::JsApi,
    )
    .js("AgentGroup", "getAgentRestReason")
    .summary("configured rest reasons")
    .result(R::RestReasons)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::GetAllAgentsInTextChat,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/allchatagents",
        "getAllAgentsInTextChat",
        Named::JsApi,
    )
    .js("AgentGroup", "getAllAgentsInTextChat")
    .summary("agents in text chat")
    .result(R::AgentInfoList)
    .overload(Overload::AgentGroup)
    .served(),
    e(M::IsCallOut, F::AgentGroup, GET, "/agentgroup/{agentid}/iscallout", "isCallOut", Named::JsApi)
        .js("AgentGroup", "isCallOut")
        .summary("permission probe: may call out")
        .result(R::Flag)
        .overload(Overload::AgentGroup)
        .served(),
    e(M::IsCensor, F::AgentGroup, GET, "/agentgroup/{agentid}/iscensor", "isCensor", Named::JsApi)
        .js("AgentGroup", "isCensor")
        .summary("permission probe: is inspector")
        .result(R::Flag)
        .overload(Overload::AgentGroup)
        .served(),
    e(M::IsSpyMonitor, F::AgentGroup, GET, "/agentgroup/{agentid}/isspymonitor", "isSpyMonitor", Named::JsApi)
        .js("AgentGroup", "isSpyMonitor")
        .summary("permission probe: may spy-monitor")
        .result(R::Flag)
        .overload(Overload::AgentGroup)
        .served(),
    e(M::IsMonitor, F::AgentGroup, GET, "/agentgroup/{agentid}/ismonitor", "isMonitor", Named::JsApi)
        .js("AgentGroup", "isMonitor")
        .summary("permission probe: may monitor")
        .result(R::Flag)
        .overload(Overload::AgentGroup)
        .served(),
    e(M::IsReportManager, F::AgentGroup, GET, "/agentgroup/{agentid}/isreportmanager", "isReportManager", Named::JsApi)
        .js("AgentGroup", "isReportManager")
        .summary("permission probe: is report manager")
        .result(R::Flag)
        .overload(Overload::AgentGroup)
        .served(),
    e(M::IsSystem, F::AgentGroup, GET, "/agentgroup/{agentid}/issystem", "isSystem", Named::JsApi)
        .js("AgentGroup", "isSystem")
        .summary("permission probe: is system agent")
        .result(R::Flag)
        .overload(Overload::AgentGroup)
        .served(),
    e(M::IsPickUp, F::AgentGroup, GET, "/agentgroup/{agentid}/ispickup", "isPickUp", Named::JsApi)
        .js("AgentGroup", "isPickUp")
        .summary("permission probe: may pick up")
        .result(R::Flag)
        .overload(Overload::AgentGroup)
        .served(),
    e(
        M::QueryAllLoginedAgentInfoOnVdnByAttribute,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/onlineagentonvdnbyattribute",
        "queryAllLoginedAgentInfoOnVdnByAttribute",
        Named::Ccgw,
    )
    .summary("attribute-filtered variants")
    .query(&[Q("attribute", Str)])
    .result(R::AgentInfoList)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAllAgentInfoOnMyGroupByAttribute,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/agentongroupbyattribute",
        "queryAllAgentInfoOnMyGroupByAttribute",
        Named::JsApi,
    )
    .jb("AgentGroup", "queryAllAgentInfoOnMyGroupByAttribute")
    .summary("attribute-filtered variants")
    .query(&[Q("attribute", Str)])
    .result(R::AgentInfoList)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::GetAllStatusAgentsByAttribute,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/allagentstatusbyattribute",
        "getAllStatusAgentsByAttribute",
        Named::Ccgw,
    )
    .summary("attribute-filtered variants")
    .query(&[Q("attribute", Str)])
    .result(R::AgentStates)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::GetIdleStatusAgentsByAttribute,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/idleagentbyattribute",
        "getIdleStatusAgentsByAttribute",
        Named::Ccgw,
    )
    .summary("attribute-filtered variants")
    .query(&[Q("attribute", Str)])
    .result(R::IdleAgents)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::GetAllAgentsInTextChatByAttribute,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/allchatagentsbyattribute",
        "getAllAgentsInTextChatByAttribute",
        Named::Ccgw,
    )
    .summary("attribute-filtered variants")
    .query(&[Q("attribute", Str)])
    .result(R::AgentInfoList)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryAgentInfoByConfigedSkillIdAndAttribute,
        F::AgentGroup,
        GET,
        "/agentgroup/{agentid}/agentbyconfigedskillandattribute/{skillid}",
        "queryAgentInfoByConfigedSkillIdAndAttribute",
        Named::Ccgw,
    )
    .summary("attribute-filtered variants")
    .query(&[Q("attribute", Str)])
    .result(R::AgentInfoList)
    .overload(Overload::AgentGroup)
    .served(),
    e(
        M::QueryQueueLengthOnAgent,
        F::QueueDevice,
        GET,
        "/queuedevice/{agentid}/waitnum",
        "queryQueueLengthOnAgent",
        Named::Doc,
    )
    .js("QueueDevice", "queryQueueLengthOnAgent")
    .summary("callers queuing in agent's configured skills (int)")
    .clients("R3")
    .result(R::Count)
    .served(),
    e(
        M::QueryQueueLengthOnAgentSkills,
        F::QueueDevice,
        GET,
        "/queuedevice/{agentid}/waitnumbyagent",
        "queryQueueLengthOnAgentSkills",
        Named::Doc,
    )
    .js("QueueDevice", "queryQueueLengthOnAgentSkills")
    .summary("callers queuing in signed-in skills (int)")
    .result(R::Count)
    .served(),
    e(
        M::QueryQueueLengthBySkillId,
        F::QueueDevice,
        GET,
        "/queuedevice/{agentid}/skillwaitnum/{skillid}",
        "queryQueueLengthBySkillId",
        Named::Doc,
    )
    .js("QueueDevice", "queryQueueLengthBySkillId")
    .summary("callers queuing in one skill")
    .result(R::Count)
    .served(),
    e(
        M::QuerySkillQueueOnAgent,
        F::QueueDevice,
        GET,
        "/queuedevice/{agentid}/agentskill/{workNo}",
        "querySkillQueueOnAgent",
        Named::JsApi,
    )
    .js("QueueDevice", "querySkillQueueOnAgent")
    .summary("skills of agent")
    .result(R::Skills)
    .served(),
    e(
        M::QuerySkillQueueOnVDN,
        F::QueueDevice,
        GET,
        "/queuedevice/{agentid}/vdnskill/{vdnid}",
        "querySkillQueueOnVDN",
        Named::JsApi,
    )
    .js("QueueDevice", "querySkillQueueOnVDN")
    .summary("skills of a VDN")
    .result(R::Skills)
    .served(),
    e(
        M::QuerySkillQueueOnAgentVDN,
        F::QueueDevice,
        GET,
        "/queuedevice/{agentid}/agentvdnskill",
        "querySkillQueueOnAgentVDN",
        Named::Doc,
    )
    .js("QueueDevice", "querySkillQueueOnAgentVDN")
    .summary("skills of own VDN")
    .result(R::Skills)
    .served(),
    e(M::QueryIVRInfoOnVdn, F::QueueDevice, GET, "/queuedevice/{agentid}/ivrinfo", "queryIVRInfoOnVdn", Named::JsApi)
        .js("QueueDevice", "queryIVRInfoOnVdn")
        .summary("IVRs of VDN")
        .clients("R1")
        .result(R::Ivrs)
        .served(),
    e(M::QueryInNoOnVDN, F::QueueDevice, GET, "/queuedevice/{agentid}/innoinfo", "queryInNoOnVDN", Named::JsApi)
        .js("QueueDevice", "queryInNoOnVDN")
        .summary("access codes of VDN")
        .result(R::AccessCodes)
        .served(),
    e(
        M::QueryStatInfoOfAcd,
        F::QueueDevice,
        POST,
        "/queuedevice/{agentid}/queryacdstat",
        "queryStatInfoOfAcd",
        Named::JsApi,
    )
    .js("QueueDevice", "queryStatInfoOfAcd")
    .summary("ACD statistics")
    .body(Body::AcdStat)
    .result(R::AcdStats)
    .served(),
    e(
        M::QuerySkillStatWithVdn,
        F::QueueDevice,
        POST,
        "/queuedevice/{agentid}/queryskillstat",
        "querySkillStatWithVdn",
        Named::JsApi,
    )
    .js("QueueDevice", "querySkillStatWithVdn")
    .summary("skill statistics")
    .body(Body::Json)
    .not_yet(UNDOCUMENTED_BODY),
    e(M::BeginMonitor, F::QualityControl, POST, "/qualitycontrol/{agentid}/beginmonitor", "beginMonitor", Named::JsApi)
        .js("QualityControl", "beginMonitor")
        .summary("subscribe to monitored agents' QC events (≤500 per call in R5)")
        .clients("R5")
        .query(&[Q("agents", Str)])
        .result(R::Empty)
        .served(),
    e(M::EndMonitor, F::QualityControl, POST, "/qualitycontrol/{agentid}/endmonitor", "endMonitor", Named::JsApi)
        .js("QualityControl", "endMonitor")
        .summary("end monitoring")
        .clients("R5")
        .query(&[Q("agents", Str)])
        .result(R::Empty)
        .served(),
    e(
        M::AddSupervise,
        F::QualityControl,
        PUT,
        "/qualitycontrol/{agentid}/addsupervise/{workNo}",
        "addSupervise",
        Named::JsApi,
    )
    .js("QualityControl", "addSupervise")
    .summary("listen")
    .result(R::Empty)
    .served(),
    e(M::AddInsert, F::QualityControl, PUT, "/qualitycontrol/{agentid}/addinsert/{workNo}", "addInsert", Named::JsApi)
        .js("QualityControl", "addInsert")
        .summary("barge-in")
        .result(R::Empty)
        .served(),
    e(
        M::SwitchSuperviseOrInsert,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/switch/{workNo}",
        "switchSuperviseOrInsert",
        Named::JsApi,
    )
    .js("QualityControl", "switchSuperviseOrInsert")
    .summary("switch listen/insert")
    .result(R::Empty)
    .served(),
    e(
        M::StopSuperviseOrInsert,
        F::QualityControl,
        DELETE,
        "/qualitycontrol/{agentid}/{workNo}",
        "stopSuperviseOrInsert",
        Named::JsApi,
    )
    .js("QualityControl", "stopSuperviseOrInsert")
    .summary("stop listen/insert")
    .result(R::Empty)
    .served(),
    e(M::Intercept, F::QualityControl, PUT, "/qualitycontrol/{agentid}/intercept/{workNo}", "intercept", Named::JsApi)
        .js("QualityControl", "intercept")
        .summary("intercept")
        .result(R::Empty)
        .served(),
    e(
        M::InterceptCall,
        F::QualityControl,
        PUT,
        "/qualitycontrol/{agentid}/intercept/{workNo}/{callId}",
        "interceptCall",
        Named::Ccgw,
    )
    .summary("intercept a specified call (vendor page 0437 logs it as `intercept` too)")
    .result(R::Empty)
    .served(),
    e(M::ForceBusy, F::QualityControl, POST, "/qualitycontrol/{agentid}/forcebusy/{workNo}", "forceBusy", Named::JsApi)
        .js("QualityControl", "forceBusy")
        .summary("force busy")
        .result(R::Empty)
        .served(),
    e(M::ForceIdle, F::QualityControl, POST, "/qualitycontrol/{agentid}/forceidle/{workNo}", "forceIdle", Named::Doc)
        .js("QualityControl", "forceIdle")
        .summary("force idle")
        .result(R::Empty)
        .served(),
    e(
        M::ForceRest,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/forcerest/{workNo}/{time}/{reason}",
        "forceRest",
        Named::JsApi,
    )
    .js("QualityControl", "forceRest")
    .summary("force rest")
    .result(R::Empty)
    .served(),
    e(
        M::ForceLogOutAgent,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/forcelogout/{workNo}",
        "forceLogOutAgent",
        Named::Doc,
    )
    .js("QualityControl", "forceLogOutAgent")
    .summary("force sign-out other agent")
    .result(R::Empty)
    .served(),
    e(
        M::ForceDropCall,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/forcedropcall/{callid}",
        "forceDropCall",
        Named::JsApi,
    )
    .js("QualityControl", "forceDropCall")
    .summary("force release call")
    .result(R::Empty)
    .served(),
    e(M::AdjustSkill, F::QualityControl, POST, "/qualitycontrol/{agentid}/adjustskill", "adjustSkill", Named::Doc)
        .summary("adjust another agent's skills")
        .body(Body::AdjustSkill)
        .result(R::Empty)
        .served(),
    e(
        M::QueryAllMonitoredAgents,
        F::QualityControl,
        GET,
        "/qualitycontrol/{agentid}/allagent",
        "queryAllMonitoredAgents",
        Named::JsApi,
    )
    .js("QualityControl", "queryAllMonitoredAgents")
    .summary("monitored agents")
    .result(R::AgentStates)
    .served(),
    e(
        M::QcSetAgentSelfRecord,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/setselfrecord/{recordflag}/{recordbeforetalking}",
        "qcSetAgentSelfRecord",
        Named::JsApi,
    )
    .js("QualityControl", "qcSetAgentSelfRecord")
    .summary("set agents' self-recording")
    .query(&[Q("agents", Str)])
    .result(R::Empty)
    .served(),
    e(
        M::QcCancelAgentSelfRecord,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/cancelselfrecord",
        "qcCancelAgentSelfRecord",
        Named::JsApi,
    )
    .js("QualityControl", "qcCancelAgentSelfRecord")
    .summary("cancel self-recording")
    .query(&[Q("agents", Str)])
    .result(R::Empty)
    .served(),
    e(M::ForceRecord, F::QualityControl, POST, "/qualitycontrol/{agentid}/forcerecord", "forceRecord", Named::JsApi)
        .jb("QualityControl", "forceRecord")
        .summary("force recording")
        .body(Body::Undocumented)
        .not_yet(UNDOCUMENTED_BODY),
    e(
        M::ForceStopRecord,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/forcestoprecord",
        "forceStopRecord",
        Named::JsApi,
    )
    .jb("QualityControl", "forceStopRecord")
    .summary("force stop recording")
    .query(&[Q("agents", Str)])
    .body(Body::Undocumented)
    .not_yet(UNDOCUMENTED_BODY),
    e(
        M::RequestWhisperAgent,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/requestwhisperagent",
        "requestWhisperAgent",
        Named::JsApi,
    )
    .js("QualityControl", "requestWhisperAgent")
    .summary("whisper")
    .query(&[Q("whisperagentid", Str)])
    .result(R::Empty)
    .served(),
    e(
        M::RequestStopWhisperAgent,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/requeststopwhisperagent",
        "requestStopWhisperAgent",
        Named::JsApi,
    )
    .js("QualityControl", "requestStopWhisperAgent")
    .summary("stop whisper")
    .query(&[Q("whisperagentid", Str)])
    .result(R::Empty)
    .served(),
    e(
        M::RequestSwitchInsertWhisperAgent,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/requestswitchinsertwhisperagent",
        "requestSwitchInsertWhisperAgent",
        Named::Doc,
    )
    .js("QualityControl", "requestSwitchInsertWhisperAgent")
    .summary("switch whisper/listen/barge")
    .query(&[Q("whisperagentid", Str), Q("switchtype", Str)])
    .result(R::Empty)
    .served(),
    e(M::QueryQcTasks, F::QualityControl, GET, "/qualitycontrol/{agentid}/queryqctasks", "queryQcTasks", Named::JsApi)
        .js("QualityControl", "queryQcTasks")
        .summary("QC tasks")
        .not_yet(QC_TASKS),
    e(
        M::DeleteQcTask,
        F::QualityControl,
        DELETE,
        "/qualitycontrol/{agentid}/deleteqctask",
        "deleteQcTask",
        Named::JsApi,
    )
    .js("QualityControl", "deleteQcTask")
    .summary("delete QC task")
    .query(&[Q("taskdsn", Str), Q("begintime", Str)])
    .not_yet(QC_TASKS),
    e(M::QueryUrlInfo, F::QualityControl, GET, "/qualitycontrol/{agentid}/queryurlinfo", "queryUrlInfo", Named::JsApi)
        .js("QualityControl", "queryUrlInfo")
        .summary("URL config lookup")
        .query(&[Q("urlname", Str)])
        .not_yet(UNDOCUMENTED_RESULT),
    e(
        M::RegisterDataToServer,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/registerDataToServer",
        "registerDataToServer",
        Named::JsApi,
    )
    .js("QualityControl", "registerDataToServer")
    .summary("video-monitoring operations")
    .query(&[Q("port", Str)]),
    e(
        M::StartVideoMonitor,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/startVideoMonitor",
        "startVideoMonitor",
        Named::JsApi,
    )
    .js("QualityControl", "startVideoMonitor")
    .summary("video-monitoring operations")
    .body(Body::Json)
    .not_yet(NO_VIDEO),
    e(
        M::StopVideoMonitor,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/stopVideoMonitor",
        "stopVideoMonitor",
        Named::JsApi,
    )
    .js("QualityControl", "stopVideoMonitor")
    .summary("video-monitoring operations")
    .body(Body::Json)
    .not_yet(NO_VIDEO),
    e(
        M::StartOrStopVideoPlay,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/startOrStopVideoPlay",
        "startOrStopVideoPlay",
        Named::JsApi,
    )
    .js("QualityControl", "startOrStopVideoPlay")
    .summary("video-monitoring operations")
    .query(&[Q("monitoragent", Str), Q("isstart", Str)])
    .not_yet(NO_VIDEO),
    e(
        M::DeleteVideoTask,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/deleteVideoTask",
        "deleteVideoTask",
        Named::JsApi,
    )
    .js("QualityControl", "deleteVideoTask")
    .summary("video-monitoring operations")
    .query(&[Q("monitoragent", Str)])
    .not_yet(NO_VIDEO),
    e(
        M::StartVideoOperation,
        F::QualityControl,
        POST,
        "/qualitycontrol/{agentid}/startVideoOperation",
        "startVideoOperation",
        Named::JsApi,
    )
    .js("QualityControl", "startVideoOperation")
    .summary("video-monitoring operations")
    .query(&[Q("monitoragent", Str), Q("result", Str)])
    .not_yet(NO_VIDEO),
    e(
        M::QueryVideoRecordFile,
        F::QualityControl,
        GET,
        "/qualitycontrol/{agentid}/queryvideorecordfile",
        "queryVideoRecordFile",
        Named::JsApi,
    )
    .js("QualityControl", "queryVideoRecordFile")
    .summary("video-monitoring operations")
    .query(&[Q("workno", Str), Q("startdate", Str), Q("enddate", Str), Q("startposition", Str), Q("endposition", Str)])
    .not_yet(NO_VIDEO),
    e(M::BeginRecord, F::RecordPlay, PUT, "/recordplay/{agentid}/record", "beginRecord", Named::JsApi)
        .js("RecordPlayVoice", "beginRecord")
        .summary("start recording")
        .clients("R1")
        .query(&[Q("filename", Str)])
        .result(R::Empty)
        .served(),
    e(
        M::BeginRecordWithoutFilename,
        F::RecordPlay,
        PUT,
        "/recordplay/{agentid}/recordwithoutfilename",
        "beginRecordWithoutFilename",
        Named::JsApi,
    )
    .js("RecordPlayVoice", "beginRecordWithoutFilename")
    .summary("start recording (auto name)")
    .result(R::Empty)
    .served(),
    e(M::PauseRecord, F::RecordPlay, POST, "/recordplay/{agentid}/pauserecord", "pauseRecord", Named::JsApi)
        .js("RecordPlayVoice", "pauseRecord")
        .summary("pause recording")
        .result(R::Empty)
        .served(),
    e(M::ResumeRecord, F::RecordPlay, POST, "/recordplay/{agentid}/resumerecord", "resumeRecord", Named::JsApi)
        .js("RecordPlayVoice", "resumeRecord")
        .summary("resume recording")
        .result(R::Empty)
        .served(),
    e(M::StopRecord, F::RecordPlay, DELETE, "/recordplay/{agentid}/stoprecord", "stopRecord", Named::JsApi)
        .js("RecordPlayVoice", "stopRecord")
        .summary("stop recording")
        .result(R::Empty)
        .served(),
    e(M::BeginPlay, F::RecordPlay, PUT, "/recordplay/{agentid}/play", "beginPlay", Named::JsApi)
        .js("RecordPlayVoice", "beginPlay")
        .summary("play recording/file")
        .clients("R2")
        .body(Body::Play)
        .result(R::Empty)
        .served(),
    e(M::PausePlay, F::RecordPlay, POST, "/recordplay/{agentid}/pauseplay", "pausePlay", Named::JsApi)
        .js("RecordPlayVoice", "pausePlay")
        .summary("pause playback")
        .clients("R2")
        .result(R::Empty)
        .served(),
    e(M::ResumePlay, F::RecordPlay, POST, "/recordplay/{agentid}/resumeplay", "resumePlay", Named::JsApi)
        .js("RecordPlayVoice", "resumePlay")
        .summary("resume playback")
        .clients("R2")
        .result(R::Empty)
        .served(),
    e(M::ForeFastPlay, F::RecordPlay, POST, "/recordplay/{agentid}/forefast/{time}", "foreFastPlay", Named::JsApi)
        .js("RecordPlayVoice", "foreFastPlay")
        .summary("fast-forward")
        .clients("R2")
        .result(R::Empty)
        .served(),
    e(M::BackFastPlay, F::RecordPlay, POST, "/recordplay/{agentid}/backfast/{time}", "backFastPlay", Named::JsApi)
        .js("RecordPlayVoice", "backFastPlay")
        .summary("rewind")
        .clients("R2")
        .result(R::Empty)
        .served(),
    e(M::StopPlay, F::RecordPlay, DELETE, "/recordplay/{agentid}/stopplay", "stopPlay", Named::JsApi)
        .js("RecordPlayVoice", "stopPlay")
        .summary("stop playback")
        .clients("R2")
        .result(R::Empty)
        .served(),
    e(M::QueryRecordFile, F::RecordPlay, GET, "/recordplay/{agentid}/recordfile", "queryRecordFile", Named::JsApi)
        .js("RecordPlayVoice", "queryRecordFile")
        .summary("record-file queries")
        .query(&[
            Q("workno", Str),
            Q("skillid", Str),
            Q("startdate", Str),
            Q("enddate", Str),
            Q("startposition", Integer),
            Q("endposition", Integer),
        ])
        .result(R::RecordFiles)
        .served(),
    e(
        M::QuerySelfRecordFile,
        F::RecordPlay,
        GET,
        "/recordplay/{agentid}/queryselfrecordfile",
        "querySelfRecordFile",
        Named::JsApi,
    )
    .js("RecordPlayVoice", "querySelfRecordFile")
    .summary("record-file queries")
    .query(&[
        Q("skillid", Str),
        Q("startdate", Str),
        Q("enddate", Str),
        Q("startposition", Integer),
        Q("endposition", Integer),
    ])
    .result(R::RecordFiles)
    .served(),
    e(
        M::QueryRecordFileByCallId,
        F::RecordPlay,
        GET,
        "/recordplay/{agentid}/queryrecordfilebycallid",
        "queryRecordFileByCallId",
        Named::JsApi,
    )
    .js("RecordPlayVoice", "queryRecordFileByCallId")
    .summary("record-file queries")
    .query(&[Q("workno", Str), Q("callid", Str), Q("calltime", Str)])
    .result(R::RecordFiles)
    .served(),
    e(
        M::QueryRecordFileURL,
        F::RecordPlay,
        GET,
        "/recordplay/{agentid}/recordfileurl",
        "queryRecordFileURL",
        Named::JsApi,
    )
    .js("RecordPlayVoice", "queryRecordFileURL")
    .summary("record-file queries")
    .query(&[Q("filepath", Str)])
    .result(R::Url)
    .served(),
    e(
        M::QueryRecordZipFileURL,
        F::RecordPlay,
        GET,
        "/recordplay/{agentid}/recordzipfileurl",
        "queryRecordZipFileURL",
        Named::JsApi,
    )
    .js("RecordPlayVoice", "queryRecordZipFileURL")
    .summary("record-file queries")
    .query(&[Q("filepath", Str)])
    .result(R::Url)
    .served(),
    e(
        M::QueryBatchRecordZipFileURL,
        F::RecordPlay,
        GET,
        "/recordplay/{agentid}/batchrecordzipfileurl",
        "queryBatchRecordZipFileURL",
        Named::JsApi,
    )
    .js("RecordPlayVoice", "queryBatchRecordZipFileURL")
    .summary("record-file queries")
    .query(&[Q("filepath", Str)])
    .result(R::Url)
    .served(),
    e(
        M::QueryRecordFileFromRecordID,
        F::RecordPlay,
        GET,
        "/recordplay/{agentid}/recordfilefromrecordid",
        "queryRecordFileFromRecordID",
        Named::JsApi,
    )
    .js("RecordPlayVoice", "queryRecordFileFromRecordID")
    .summary("record-file queries")
    .query(&[Q("recordid", Str)])
    .result(R::RecordFile)
    .served(),
    e(
        M::QueryVoiceRecordScore,
        F::RecordPlay,
        GET,
        "/recordplay/{agentid}/queryrecordscore",
        "queryVoiceRecordScore",
        Named::JsApi,
    )
    .js("RecordPlayVoice", "queryVoiceRecordScore")
    .summary("record-file queries")
    .query(&[Q("workno", Str), Q("recordstartdate", Str), Q("recordenddate", Str)])
    .result(R::RecordScores)
    .served(),
    e(M::QueryServerTime, F::QueryMonitor, GET, "/querymonitor/{agentid}/servertime", "queryServerTime", Named::JsApi)
        .js("QueryMonitor", "queryServerTime")
        .summary("server time")
        .result(R::TimeMs)
        .served(),
    e(
        M::QuerySysVersion,
        F::QueryMonitor,
        GET,
        "/querymonitor/{agentid}/systemversion",
        "querySysVersion",
        Named::JsApi,
    )
    .js("QueryMonitor", "querySysVersion")
    .summary("version")
    .result(R::Text)
    .served(),
    e(
        M::QuerySystemStateInfo,
        F::QueryMonitor,
        GET,
        "/querymonitor/{agentid}/systemstate",
        "querySystemStateInfo",
        Named::JsApi,
    )
    .js("QueryMonitor", "querySystemStateInfo")
    .summary("system state")
    .not_yet(UNDOCUMENTED_RESULT),
    e(
        M::QueryClusterInfo,
        F::QueryMonitor,
        GET,
        "/querymonitor/{agentid}/clusterinfo",
        "queryClusterInfo",
        Named::JsApi,
    )
    .js("QueryMonitor", "queryClusterInfo")
    .summary("cluster info")
    .not_yet(UNDOCUMENTED_RESULT),
    e(
        M::QueryAgentClusterInfo,
        F::QueryMonitor,
        GET,
        "/querymonitor/{agentid}/agentclusterinfo/{workno}",
        "queryAgentClusterInfo",
        Named::JsApi,
    )
    .js("QueryMonitor", "queryAgentClusterInfo")
    .summary("which cluster/node an agent is on [I]")
    .not_yet(UNDOCUMENTED_RESULT),
    e(
        M::QueryAllAgentClusterInfo,
        F::QueryMonitor,
        GET,
        "/querymonitor/{agentid}/allagentclusterinfo",
        "queryAllAgentClusterInfo",
        Named::JsApi,
    )
    .js("QueryMonitor", "queryAllAgentClusterInfo")
    .summary("cluster info of all agents")
    .not_yet(UNDOCUMENTED_RESULT),
    e(
        M::QueryClusterInfoByName,
        F::QueryMonitor,
        GET,
        "/querymonitor/{agentid}/clusterinfobyname/{clustername}",
        "queryClusterInfoByName",
        Named::JsApi,
    )
    .js("QueryMonitor", "queryClusterInfoByName")
    .summary("cluster info by name")
    .not_yet(UNDOCUMENTED_RESULT),
    e(
        M::QuerySkillsStatisticInfo,
        F::QueryMonitor,
        GET,
        "/querymonitor/{agentid}/skillstatisticinfo/{skillid}",
        "querySkillsStatisticInfo",
        Named::JsApi,
    )
    .js("QueryMonitor", "querySkillsStatisticInfo")
    .summary("skill statistics")
    .not_yet(UNDOCUMENTED_RESULT),
    e(
        M::SetAgentTimeOut,
        F::QueryMonitor,
        POST,
        "/querymonitor/{agentid}/setagenttimeout/{flag}",
        "setAgentTimeOut",
        Named::JsApi,
    )
    .js("QueryMonitor", "setAgentTimeOut")
    .summary("toggle agent time-out supervision [I]; ccgw: acknowledged, no effect")
    .result(R::Empty)
    .served(),
    e(
        M::SetMaxChatNum,
        F::QueryMonitor,
        POST,
        "/querymonitor/{agentid}/setmaxchatnum/{vdnid}/{chatnum}",
        "setMaxChatNum",
        Named::JsApi,
    )
    .js("QueryMonitor", "setMaxChatNum")
    .summary("max chats")
    .query(&[Q("agents", Str)]),
    e(
        M::ChangeToSAPMode,
        F::QueryMonitor,
        POST,
        "/querymonitor/{agentid}/changetosapmode",
        "changeToSAPMode",
        Named::JsApi,
    )
    .jb("QueryMonitor", "changeToSAPMode")
    .summary("switch event delivery to SAP push mode [I]")
    .body(Body::Undocumented),
    e(
        M::TextChatInternalCall,
        F::TextChat,
        PUT,
        "/textchat/{workno}/internalcall/{destno}",
        "TextChat.internalCall",
        Named::JsApi,
    )
    .js("TextChat", "internalCall")
    .summary("text chat")
    .not_yet(NO_MULTIMEDIA),
    e(M::TextChatAnswer, F::TextChat, PUT, "/textchat/{workno}/answer/{callid}", "TextChat.answer", Named::JsApi)
        .js("TextChat", "answer")
        .summary("text chat")
        .not_yet(NO_MULTIMEDIA),
    e(M::TextChatReject, F::TextChat, DELETE, "/textchat/{workno}/reject/{callid}", "TextChat.reject", Named::JsApi)
        .js("TextChat", "reject")
        .summary("text chat")
        .not_yet(NO_MULTIMEDIA),
    e(M::TextChatDrop, F::TextChat, DELETE, "/textchat/{workno}/drop/{callid}", "TextChat.drop", Named::JsApi)
        .js("TextChat", "drop")
        .summary("text chat")
        .not_yet(NO_MULTIMEDIA),
    e(M::TextChatChat, F::TextChat, PUT, "/textchat/{workno}/chatmessage", "TextChat.chat", Named::JsApi)
        .js("TextChat", "chat")
        .summary("text chat")
        .body(Body::Json)
        .not_yet(NO_MULTIMEDIA),
    e(M::TextChatTransfer, F::TextChat, POST, "/textchat/{workno}/transfer", "TextChat.tranfser", Named::JsApi)
        .js("TextChat", "tranfser")
        .summary("text chat")
        .body(Body::Json)
        .not_yet(NO_MULTIMEDIA),
    e(M::RequestAgentConf, F::AgentConf, POST, "/agentconf/{agentid}/requestagentconf", "requestAgentConf", Named::Doc)
        .summary("agent conference (chairperson) — further pages in cec_07_1283…1299 not enumerated")
        .body(Body::Undocumented)
        .not_yet(NO_MULTIMEDIA),
    e(M::AnswerAgentConf, F::AgentConf, POST, "/agentconf/{agentid}/answeragentconf", "answerAgentConf", Named::Doc)
        .summary("agent conference (chairperson) — further pages in cec_07_1283…1299 not enumerated")
        .body(Body::Undocumented)
        .not_yet(NO_MULTIMEDIA),
    e(M::RejectAgentConf, F::AgentConf, POST, "/agentconf/{agentid}/rejectagentconf", "rejectAgentConf", Named::Doc)
        .summary("agent conference (chairperson) — further pages in cec_07_1283…1299 not enumerated")
        .body(Body::Undocumented)
        .not_yet(NO_MULTIMEDIA),
    e(M::ReleaseAgentConf, F::AgentConf, POST, "/agentconf/{agentid}/releaseagentconf", "releaseAgentConf", Named::Doc)
        .summary("agent conference (chairperson) — further pages in cec_07_1283…1299 not enumerated")
        .body(Body::Undocumented)
        .not_yet(NO_MULTIMEDIA),
    e(M::HoldParticipant, F::AgentConf, POST, "/agentconf/{agentid}/holdparticipant", "holdParticipant", Named::Doc)
        .summary("agent conference (chairperson) — further pages in cec_07_1283…1299 not enumerated")
        .body(Body::Undocumented)
        .not_yet(NO_MULTIMEDIA),
    e(
        M::ModifyConfResource,
        F::AgentConf,
        POST,
        "/agentconf/{agentid}/modifyconfresource",
        "modifyConfResource",
        Named::Doc,
    )
    .summary("agent conference (chairperson) — further pages in cec_07_1283…1299 not enumerated")
    .body(Body::Undocumented)
    .not_yet(NO_MULTIMEDIA),
    e(M::SetCallNums, F::MediaCall, POST, "/mediacall/{agentid}/setcallnums", "setCallNums", Named::Doc)
        .summary("multimedia session control — family not enumerated")
        .body(Body::Undocumented)
        .not_yet(NO_MULTIMEDIA),
    e(
        M::SetCallNumsByMediaType,
        F::MediaCall,
        POST,
        "/mediacall/{agentid}/setcallnumsbymediatype",
        "setCallNumsByMediaType",
        Named::Doc,
    )
    .summary("multimedia session control — family not enumerated")
    .body(Body::Undocumented)
    .not_yet(NO_MULTIMEDIA),
    e(M::GetConnectInfo, F::MediaCall, POST, "/mediacall/{agentid}/getconnectinfo", "getConnectInfo", Named::Doc)
        .summary("multimedia session control — family not enumerated")
        .body(Body::Undocumented)
        .not_yet(NO_MULTIMEDIA),
    e(M::MediaCallTransfer, F::MediaCall, POST, "/mediacall/{agentid}/transfer", "MediaCall.transfer", Named::Doc)
        .summary("multimedia session control — family not enumerated")
        .body(Body::Undocumented)
        .not_yet(NO_MULTIMEDIA),
    e(
        M::ThirdControlCallAnswer,
        F::ThirdControl,
        PUT,
        "/thirdcontrol/{agentid}/callanswer/{monitoredAgent}",
        "thirdControlCallAnswer",
        Named::Ccgw,
    )
    .summary("answer on behalf of a monitored agent")
    .clients("R5")
    .result(R::Empty)
    .served(),
    e(
        M::ThirdControlCallout,
        F::ThirdControl,
        PUT,
        "/thirdcontrol/{agentid}/callout/{monitoredAgent}",
        "thirdControlCallout",
        Named::Ccgw,
    )
    .summary("call out on behalf (body = callout params)")
    .clients("R5")
    .body(Body::Callout)
    .result(R::CallId)
    .served(),
    e(
        M::ThirdControlSetStatus,
        F::ThirdControl,
        PUT,
        "/thirdcontrol/{agentid}/setstatus/{monitoredAgent}",
        "thirdControlSetStatus",
        Named::Ccgw,
    )
    .summary("set status; body {\"agentStatus\": \"AgentState_Idle\" or \"AgentState_Busy\"}")
    .clients("R5")
    .body(Body::SetStatus)
    .result(R::Empty)
    .served(),
];

// The table and `Method` agree: entry i describes variant i, and every interface variant has an entry.
const _: () = {
    assert!(INTERFACES.len() == Method::NotFound as usize);
    let mut i = 0;
    while i < INTERFACES.len() {
        assert!(INTERFACES[i].method as usize == i);
        i += 1;
    }
};

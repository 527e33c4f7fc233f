//! Every interface ccgw serves, named as the vendor's "Method Name in Logs".

/// One variant per interface. `name()` is what the access log and the metrics carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    // onlineagent
    Login,
    ForceLogin,
    Logout,
    ForceLogout,
    ForceLogoutWithReason,
    HandShake,
    UpdateGuid,
    SayBusy,
    CancelBusy,
    SayFree,
    Rest,
    CancelRest,
    SayWork,
    CancelWork,
    SetAgentAutoEnterIdle,
    GetAgentStatus,
    ResetSkill,
    QueryAgentSkills,
    // agentevent
    GetAgentEvent,
    // voicecall
    Callout,
    CallInner,
    Answer,
    Release,
    DropCall,
    Disconnect,
    Hold,
    GetHold,
    ConnectHold,
    InnerHelp,
    Transfer,
    ConfJoin,
    BeginMute,
    EndMute,
    // calldata
    QueryCallInfo,
    QueryCallAppData,
    SetCallAppDataEx,
    QueryHoldListInfo,
    QueryCallInfoBeforeAnswer,
    QueryCallInfoByCallId,
    QueryAllCallInfoByAgentWorkNoEx,
    QueryCallNumsOnAgent,
    QueryCallStatisticsInfoEx,
    QueryHoldListInfoEx,
    QueryRemoteNumbers,
    // not vendor interfaces: what the access log calls requests that matched none
    NotFound,
    MethodNotAllowed,
}

impl Method {
    pub fn name(self) -> &'static str {
        use Method::*;
        match self {
            Login => "login",
            ForceLogin => "forceLogin",
            Logout => "logout",
            ForceLogout => "forceLogout",
            ForceLogoutWithReason => "forceLogoutWithReason",
            HandShake => "handShake",
            UpdateGuid => "updateGuid",
            SayBusy => "sayBusy",
            CancelBusy => "cancelBusy",
            SayFree => "sayFree",
            Rest => "rest",
            CancelRest => "cancelRest",
            SayWork => "sayWork",
            CancelWork => "cancelWork",
            SetAgentAutoEnterIdle => "setAgentAutoEnterIdle",
            GetAgentStatus => "getAgentStatus",
            ResetSkill => "resetSkill",
            QueryAgentSkills => "queryAgentSkills",
            GetAgentEvent => "getAgentEvent",
            Callout => "callout",
            CallInner => "callInner",
            Answer => "answer",
            Release => "release",
            DropCall => "dropCall",
            Disconnect => "disconnect",
            Hold => "hold",
            GetHold => "getHold",
            ConnectHold => "connectHold",
            InnerHelp => "innerHelp",
            Transfer => "transfer",
            ConfJoin => "confJoin",
            BeginMute => "beginMute",
            EndMute => "endMute",
            QueryCallInfo => "queryCallInfo",
            QueryCallAppData => "queryCallAppData",
            SetCallAppDataEx => "setCallAppDataEx",
            QueryHoldListInfo => "queryHoldListInfo",
            QueryCallInfoBeforeAnswer => "queryCallInfoBeforeAnswer",
            QueryCallInfoByCallId => "queryCallInfoByCallId",
            QueryAllCallInfoByAgentWorkNoEx => "queryAllCallInfoByAgentWorkNoEx",
            QueryCallNumsOnAgent => "queryCallNumsOnAgent",
            QueryCallStatisticsInfoEx => "queryCallStatisticsInfoEx",
            QueryHoldListInfoEx => "queryHoldListInfoEx",
            QueryRemoteNumbers => "queryRemoteNumbers",
            NotFound => "notFound",
            MethodNotAllowed => "methodNotAllowed",
        }
    }

    /// Call-data queries: subject to the vendor's overload control (5 per agent / 15 000 per
    /// system per 2 s by default).
    pub fn is_calldata_query(self) -> bool {
        use Method::*;
        matches!(
            self,
            QueryCallInfo
                | QueryCallAppData
                | QueryHoldListInfo
                | QueryCallInfoBeforeAnswer
                | QueryCallInfoByCallId
                | QueryAllCallInfoByAgentWorkNoEx
                | QueryCallNumsOnAgent
                | QueryCallStatisticsInfoEx
                | QueryHoldListInfoEx
                | QueryRemoteNumbers
        )
    }

    /// Control operations answer `"message":"success"`; queries, sign-in and polls answer `""`,
    /// except `agentskills`, whose vendor sample says `"success"`.
    pub fn success_message(self) -> &'static str {
        use Method::*;
        match self {
            Login | ForceLogin | GetAgentEvent | GetAgentStatus => "",
            m if m.is_calldata_query() => "",
            _ => "success",
        }
    }
}

//! Events as the poll delivers them: `{"eventType","workNo","content","eventGenTime"}`. The
//! content is an object, a bare call-id string, or null, depending on the event type.

use ccgw_domain::{Event, EventKind, HungUpBy, Leg, Offer, QcSubtype};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Serialize, Debug)]
pub struct WireEvent {
    #[serde(rename = "eventType")]
    pub event_type: &'static str,
    #[serde(rename = "workNo")]
    pub work_no: String,
    pub content: Value,
    #[serde(rename = "eventGenTime")]
    pub event_gen_time: u64,
}

/// Voice (the only media ccgw carries). A string, as in every vendor sample of the call events.
const MEDIA_ABILITY_VOICE: &str = "1";

fn leg(l: Leg) -> &'static str {
    match l {
        Leg::Main => "main",
        Leg::Assistant => "assistant",
    }
}

/// The content of `AgentEvent_Ringing` and `AgentEvent_Auto_Answer`. `feature` and
/// `mediaAbility` are strings in both vendor samples; `mediaType` is a string in the Ringing
/// sample (`"5"`) and a number in the Auto_Answer one (`5`), and each event follows its own.
fn offer(o: &Offer, media_type: Value) -> Value {
    json!({
        "caller": o.caller,
        "called": o.called,
        "callid": o.call.to_string(),
        "type": leg(o.leg),
        "feature": o.feature.code().to_string(),
        "mediaAbility": MEDIA_ABILITY_VOICE,
        "transfer": if o.transferred_from.is_some() { "yes" } else { "no" },
        "transfrom": o.transferred_from.map(|a| a.to_string()).unwrap_or_default(),
        "mediaType": media_type,
    })
}

// --- recordplay ---
/// `locationId` of the recording events: ccgw has one site, the vendor's "no central node" value.
const LOCATION_ID: &str = "65535";
/// `fileMediaType` of the recording events: audio.
const FILE_MEDIA_AUDIO: &str = "1";

/// `phoneState` of `AgentOther_PhoneRelease`: 2 on-hook by the agent, 3 by the platform.
fn phone_state(by: HungUpBy) -> u8 {
    match by {
        HungUpBy::Agent => 2,
        HungUpBy::Platform => 3,
    }
}

pub fn event_type(kind: &EventKind) -> &'static str {
    use EventKind::*;
    match kind {
        InService => "AgentOther_InService",
        ShutdownService { .. } => "AgentOther_ShutdownService",
        Ready => "AgentState_Ready",
        Busy => "AgentState_Busy",
        Work => "AgentState_Work",
        SetNotReadySuccess { .. } => "AgentState_SetNotReady_Success",
        CancelNotReadySuccess => "AgentState_CancelNotReady_Success",
        SetRestSuccess => "AgentState_SetRest_Success",
        CancelRestSuccess => "AgentState_CancelRest_Success",
        RestTimeout => "AgentState_Rest_Timeout",
        SetWorkSuccess => "AgentState_SetWork_Success",
        CancelWorkSuccess => "AgentState_CancelWork_Success",
        Ringing(_) => "AgentEvent_Ringing",
        AutoAnswer(_) => "AgentEvent_Auto_Answer",
        CustomerAlerting { .. } => "AgentEvent_Customer_Alerting",
        Talking { .. } => "AgentEvent_Talking",
        Hold(_) => "AgentEvent_Hold",
        Conference { .. } => "AgentEvent_Conference",
        CallRelease(_) => "AgentEvent_Call_Release",
        CustomerRelease { .. } => "AgentEvent_Customer_Release",
        CallOutFail(_) => "AgentEvent_Call_Out_Fail",
        NoAnswer(_) => "AgentEvent_No_Answer",
        PhoneAlerting(_) => "AgentOther_PhoneAlerting",
        PhoneOffhook { .. } => "AgentOther_PhoneOffhook",
        PhoneRelease { .. } => "AgentOther_PhoneRelease",
        PhoneUnknown => "AgentOther_PhoneUnknow",
        // --- recordplay ---
        RecordStarted { .. } => "AgentMediaEvent_Record",
        RecordPaused { .. } => "AgentMediaEvent_PauseRecordDone",
        RecordResumed { .. } => "AgentMediaEvent_ResumeRecordDone",
        RecordStopped { .. } => "AgentMediaEvent_StopRecordDone",
        PlayAccepted => "AgentMediaEvent_Play_Succ",
        PlayStarted => "AgentMediaEvent_Play",
        PlayPaused => "AgentMediaEvent_PausePlayDone",
        PlayResumed => "AgentMediaEvent_ResumePlayDone",
        PlayJumped => "AgentMediaEvent_JumpPlayDone",
        PlayStopped => "AgentMediaEvent_StopPlayDone",
        // --- onlineagent messages ---
        Note { .. } => "AgentOther_Note",
        // ccgw's name: the vendor documents no bulletin event (docs/compat.md).
        Bulletin { .. } => "AgentOther_Bulletin",
        // --- quality control --- (vendor page 1393)
        QcNotify { .. } => "QC_AgentState_Notify",
    }
}

pub fn content(kind: &EventKind) -> Value {
    use EventKind::*;
    match kind {
        InService
        | Ready
        | Busy
        | Work
        | CancelNotReadySuccess
        | SetRestSuccess
        | CancelRestSuccess
        | RestTimeout
        | SetWorkSuccess
        | CancelWorkSuccess
        | PhoneUnknown
        | PlayAccepted
        | PlayStarted
        | PlayPaused
        | PlayResumed
        | PlayJumped
        | PlayStopped => Value::Null,
        // The vendor's note event carries no content (its sample: `"content": null`).
        Note { .. } => Value::Null,
        Bulletin { from, data } => json!({ "sender": from.to_string(), "bulletindata": data }),
        ShutdownService { login_time_ms } => json!({ "loginTime": login_time_ms.to_string() }),
        // A string, as in the vendor sample (`{"reason":"200"}`).
        SetNotReadySuccess { reason } => json!({ "reason": reason.to_string() }),
        Ringing(o) => offer(o, Value::String(o.media_type.to_string())),
        AutoAnswer(o) => offer(o, Value::from(o.media_type)),
        CustomerAlerting { call, other_phone, other_agent } => json!({
            "callid": call.to_string(),
            "otherPhone": other_phone,
            "otherPhoneWorkno": other_agent.map(|a| a.to_string()).unwrap_or_default(),
            "type": "main",
        }),
        Talking { call, caller, called, leg: l, feature } => json!({
            "caller": caller,
            "called": called,
            "callid": call.to_string(),
            "type": leg(*l),
            "feature": feature.code().to_string(),
            "mediaAbility": MEDIA_ABILITY_VOICE,
        }),
        Hold(c) | CallRelease(c) | CallOutFail(c) | NoAnswer(c) => Value::String(c.to_string()),
        Conference { call, partners } => json!({ "callid": call.to_string(), "partner": partners.join(",") }),
        CustomerRelease { call, number } => json!({ "callid": call.to_string(), "number": number }),
        // The vendor documents no content (null). Integrations read `callid` and `caller` to
        // open their call record for a call offered to the agent, and take null for the agent's
        // own outgoing call: ccgw sends both (docs/compat.md).
        PhoneAlerting(None) => Value::Null,
        PhoneAlerting(Some(p)) => json!({ "callid": p.call.to_string(), "caller": p.caller, "called": p.called }),
        PhoneOffhook { leg: l } => json!({ "type": leg(*l) }),
        PhoneRelease { by } => json!({ "phoneState": phone_state(*by) }),
        // --- recordplay --- (the vendor's samples: `taskId` a number, the rest strings)
        RecordStarted { task_id, record_id, file_name, call, caller, called } => json!({
            "taskId": task_id,
            "caller": caller,
            "called": called,
            "locationId": LOCATION_ID,
            "recordID": record_id,
            "fileName": file_name,
            "fileMediaType": FILE_MEDIA_AUDIO,
            "callId": call.to_string(),
        }),
        RecordPaused { task_id } | RecordResumed { task_id } => json!({ "taskId": task_id }),
        RecordStopped { task_id, begin_ms, end_ms } => json!({
            "beginTime": begin_ms,
            "endTime": end_ms,
            "fileMediaType": FILE_MEDIA_AUDIO,
            "taskId": task_id,
        }),
        // Vendor page 1393: `agentname` is the agent's work number in its sample; `mediaserver`
        // names the platform (the sample's `CtiServer`).
        QcNotify { subtype, monitored } => json!({
            "subtype": qc_subtype(*subtype),
            "monitoredagent": monitored.to_string(),
            "agentname": monitored.to_string(),
            "mediaserver": QC_MEDIA_SERVER,
        }),
    }
}

/// `mediaserver` of `QC_AgentState_Notify` (the vendor sample's value).
const QC_MEDIA_SERVER: &str = "CtiServer";

/// The `subtype` of `QC_AgentState_Notify` (the names a vendor sample client knows).
pub fn qc_subtype(s: QcSubtype) -> &'static str {
    use QcSubtype::*;
    match s {
        Login => "QC_AgentState_Login",
        Logout => "QC_AgentState_Logout",
        Idle => "QC_AgentState_Idle",
        Busy => "QC_AgentState_Busy",
        Rest => "QC_AgentState_Rest",
        Work => "QC_AgentState_Work",
        Active => "QC_AgentState_Active",
        WaitAnswer => "QC_AgentState_WaitAnswer",
        WaitAlerting => "QC_AgentState_WaitAlerting",
        ThreeParty => "QC_AgentState_ThreeParty",
        HungUp => "QC_AgentState_HungUp",
        Monitor => "QC_AgentState_Monitor",
        StopMonitor => "QC_AgentState_StopMonitor",
        SuperviseInsert => "QC_AgentState_SuperviseInsert",
        StopSuperviseInsert => "QC_AgentState_StopSuperviseInsert",
        RecordBegin => "QC_AgentState_RecordBegin",
        RecordStop => "QC_AgentState_RecordStop",
        PlayVoice => "QC_AgentState_PlayVoice",
    }
}

pub fn wire_event(ev: &Event) -> WireEvent {
    WireEvent {
        event_type: event_type(&ev.kind),
        work_no: ev.agent.to_string(),
        content: content(&ev.kind),
        event_gen_time: ev.at_ms,
    }
}

#[derive(Serialize)]
struct PollBody<'a> {
    message: &'a str,
    retcode: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<WireEvent>,
}

/// The poll response: `{"message":"","retcode":"0","event":{...}}`, or without `event` when
/// nothing happened during the wait.
pub fn poll_body(ev: Option<&Event>) -> Vec<u8> {
    serde_json::to_vec(&PollBody { message: "", retcode: "0", event: ev.map(wire_event) }).unwrap_or_default()
}

// --- push mode and allagentevent ---

#[derive(Serialize)]
struct PushBody<'a> {
    #[serde(rename = "workNo")]
    work_no: &'a str,
    #[serde(rename = "eventList")]
    event_list: Vec<WireEvent>,
}

/// A push request's body (`pushEvent`): `{"workNo":"<agent>","eventList":[…]}`, the events
/// oldest first, each in the shape the poll answers.
pub fn push_body<'a>(work_no: &str, events: impl IntoIterator<Item = &'a Event>) -> Vec<u8> {
    let body = PushBody { work_no, event_list: events.into_iter().map(wire_event).collect() };
    serde_json::to_vec(&body).unwrap_or_default()
}

#[derive(Serialize)]
struct EventListBody {
    message: &'static str,
    retcode: &'static str,
    event: Vec<WireEvent>,
}

/// `allagentevent`'s answer: `{"message":"","retcode":"0","event":[…]}` (an empty array when
/// nothing happened), each event with its own `workNo`.
pub fn event_list_body<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<u8> {
    let body = EventListBody { message: "", retcode: "0", event: events.into_iter().map(wire_event).collect() };
    serde_json::to_vec(&body).unwrap_or_default()
}

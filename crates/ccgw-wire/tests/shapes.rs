//! Every event type's name and content shape, the envelopes, the lenient request parsing and
//! the retcode table, pinned exactly. (The integration tests pin the same shapes end to end.)

use ccgw_domain::{
    AgentId, CallFeature, CallId, DomainError, Event, EventKind, HungUpBy, Leg, Offer, PhoneCall, Skill, SkillId, VdnId,
};
use ccgw_wire::request::{Body, SignInRequest, TransferRequest};
use ccgw_wire::response::{self, AgentStatus, SkillInfo};
use ccgw_wire::{Method, event, retcode};
use serde_json::{Value, json};

const CALL: CallId = CallId { secs: 1456297722, seq: 1253 };

fn wire(kind: EventKind) -> Value {
    let ev = Event { agent: AgentId(101), at_ms: 1_700_000_000_000, kind };
    serde_json::to_value(event::wire_event(&ev)).unwrap()
}

fn offer(transferred_from: Option<AgentId>) -> Offer {
    Offer {
        call: CALL,
        caller: "13800000001".into(),
        called: "10086".into(),
        feature: CallFeature::Inbound,
        leg: Leg::Main,
        transferred_from,
        media_type: 5,
    }
}

#[test]
fn event_envelope() {
    assert_eq!(
        wire(EventKind::InService),
        json!({"eventType":"AgentOther_InService","workNo":"101","content":null,"eventGenTime":1_700_000_000_000u64})
    );
}

#[test]
fn every_event_type_and_content() {
    let cases: Vec<(EventKind, &str, Value)> = vec![
        (EventKind::InService, "AgentOther_InService", Value::Null),
        (EventKind::ShutdownService { login_time_ms: 42 }, "AgentOther_ShutdownService", json!({"loginTime":"42"})),
        (EventKind::Ready, "AgentState_Ready", Value::Null),
        (EventKind::Busy, "AgentState_Busy", Value::Null),
        (EventKind::Work, "AgentState_Work", Value::Null),
        (EventKind::SetNotReadySuccess { reason: 201 }, "AgentState_SetNotReady_Success", json!({"reason":"201"})),
        (EventKind::CancelNotReadySuccess, "AgentState_CancelNotReady_Success", Value::Null),
        (EventKind::SetRestSuccess, "AgentState_SetRest_Success", Value::Null),
        (EventKind::CancelRestSuccess, "AgentState_CancelRest_Success", Value::Null),
        (EventKind::RestTimeout, "AgentState_Rest_Timeout", Value::Null),
        (EventKind::SetWorkSuccess, "AgentState_SetWork_Success", Value::Null),
        (EventKind::CancelWorkSuccess, "AgentState_CancelWork_Success", Value::Null),
        (
            EventKind::Ringing(offer(None)),
            "AgentEvent_Ringing",
            json!({"caller":"13800000001","called":"10086","callid":"1456297722-1253","type":"main","feature":"0",
                   "mediaAbility":"1","transfer":"no","transfrom":"","mediaType":"5"}),
        ),
        (
            EventKind::AutoAnswer(offer(Some(AgentId(102)))),
            "AgentEvent_Auto_Answer",
            json!({"caller":"13800000001","called":"10086","callid":"1456297722-1253","type":"main","feature":"0",
                   "mediaAbility":"1","transfer":"yes","transfrom":"102","mediaType":5}),
        ),
        (
            EventKind::CustomerAlerting { call: CALL, other_phone: "7102".into(), other_agent: Some(AgentId(102)) },
            "AgentEvent_Customer_Alerting",
            json!({"callid":"1456297722-1253","otherPhone":"7102","otherPhoneWorkno":"102","type":"main"}),
        ),
        (
            EventKind::Talking {
                call: CALL,
                caller: "101".into(),
                called: "102".into(),
                leg: Leg::Assistant,
                feature: CallFeature::ConsultTwoParty,
            },
            "AgentEvent_Talking",
            json!({"caller":"101","called":"102","callid":"1456297722-1253","type":"assistant","feature":"51","mediaAbility":"1"}),
        ),
        (EventKind::Hold(CALL), "AgentEvent_Hold", json!("1456297722-1253")),
        (
            EventKind::Conference { call: CALL, partners: vec!["49997".into(), "70093".into()] },
            "AgentEvent_Conference",
            json!({"callid":"1456297722-1253","partner":"49997,70093"}),
        ),
        (EventKind::CallRelease(CALL), "AgentEvent_Call_Release", json!("1456297722-1253")),
        (
            EventKind::CustomerRelease { call: CALL, number: "13800000001".into() },
            "AgentEvent_Customer_Release",
            json!({"callid":"1456297722-1253","number":"13800000001"}),
        ),
        (EventKind::CallOutFail(CALL), "AgentEvent_Call_Out_Fail", json!("1456297722-1253")),
        (EventKind::NoAnswer(CALL), "AgentEvent_No_Answer", json!("1456297722-1253")),
        (
            EventKind::PhoneAlerting(Some(PhoneCall {
                call: CALL,
                caller: "13800000001".into(),
                called: "10086".into(),
            })),
            "AgentOther_PhoneAlerting",
            json!({"callid":"1456297722-1253","caller":"13800000001","called":"10086"}),
        ),
        (EventKind::PhoneAlerting(None), "AgentOther_PhoneAlerting", Value::Null),
        (EventKind::PhoneOffhook { leg: Leg::Main }, "AgentOther_PhoneOffhook", json!({"type":"main"})),
        (EventKind::PhoneOffhook { leg: Leg::Assistant }, "AgentOther_PhoneOffhook", json!({"type":"assistant"})),
        (EventKind::PhoneRelease { by: HungUpBy::Agent }, "AgentOther_PhoneRelease", json!({"phoneState":2})),
        (EventKind::PhoneRelease { by: HungUpBy::Platform }, "AgentOther_PhoneRelease", json!({"phoneState":3})),
        (EventKind::PhoneUnknown, "AgentOther_PhoneUnknow", Value::Null),
        // --- recordplay ---
        (EventKind::RecordPaused { task_id: 7 }, "AgentMediaEvent_PauseRecordDone", json!({"taskId":7})),
        (EventKind::RecordResumed { task_id: 7 }, "AgentMediaEvent_ResumeRecordDone", json!({"taskId":7})),
        (EventKind::PlayAccepted, "AgentMediaEvent_Play_Succ", Value::Null),
        (EventKind::PlayStarted, "AgentMediaEvent_Play", Value::Null),
        (EventKind::PlayPaused, "AgentMediaEvent_PausePlayDone", Value::Null),
        (EventKind::PlayResumed, "AgentMediaEvent_ResumePlayDone", Value::Null),
        (EventKind::PlayJumped, "AgentMediaEvent_JumpPlayDone", Value::Null),
        (EventKind::PlayStopped, "AgentMediaEvent_StopPlayDone", Value::Null),
        (EventKind::Note { from: AgentId(102) }, "AgentOther_Note", Value::Null),
        (
            EventKind::Bulletin { from: AgentId(102), data: "fire drill at 3".into() },
            "AgentOther_Bulletin",
            json!({"sender":"102","bulletindata":"fire drill at 3"}),
        ),
    ];
    for (kind, name, content) in cases {
        let w = wire(kind);
        assert_eq!(w["eventType"], name);
        assert_eq!(w["content"], content, "{name}");
    }
}

/// The vendor's samples, byte for byte apart from the values (the poll body of each event as
/// the vendor's page prints it, parsed, against ccgw's for the same facts).
#[test]
fn events_match_the_vendor_samples() {
    let at = |kind: EventKind, agent: u32| {
        let ev = Event { agent: AgentId(agent), at_ms: 1784529722590, kind };
        response_json(&event::poll_body(Some(&ev)))
    };
    let call = |s: &str| {
        let (a, b) = s.split_once('-').unwrap();
        CallId { secs: a.parse().unwrap(), seq: b.parse().unwrap() }
    };
    let sample = |s: &str| -> Value { serde_json::from_str(s).unwrap() };
    let cases: Vec<(EventKind, u32, &str)> = vec![
        (
            EventKind::PhoneOffhook { leg: Leg::Main },
            56020,
            r#"{"message":"","retcode":"0","event":{"eventType": "AgentOther_PhoneOffhook","eventGenTime":1784529722590,"workNo": "56020","content": {"type": "main"}}}"#,
        ),
        (
            EventKind::PhoneRelease { by: HungUpBy::Platform },
            20012,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentOther_PhoneRelease","eventGenTime":1784529722590,"workNo":"20012","content":{"phoneState":3}}}"#,
        ),
        (
            EventKind::PhoneAlerting(None),
            49999,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentOther_PhoneAlerting","eventGenTime":1784529722590,"workNo":"49999","content":null}}"#,
        ),
        (
            EventKind::PhoneUnknown,
            49999,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentOther_PhoneUnknow","eventGenTime":1784529722590,"workNo":"49999","content":null}}"#,
        ),
        // --- recordplay --- (the vendor's samples; ccgw's `locationId` is the vendor's 65535)
        (
            EventKind::RecordStarted {
                task_id: 5206,
                record_id: "Yc1v6a20011d20161025t1902050".into(),
                file_name: "Y:/6/0/20161025/20011/1902050.V3".into(),
                call: call("1477393325-164"),
                caller: "70006".into(),
                called: "60015".into(),
            },
            20011,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentMediaEvent_Record","eventGenTime":1784529722590,"workNo":"20011","content":{"taskId":5206,"caller":"70006","recordID":"Yc1v6a20011d20161025t1902050","called":"60015","locationId":"65535","fileName":"Y:/6/0/20161025/20011/1902050.V3","fileMediaType":"1","callId":"1477393325-164"}}}"#,
        ),
        (
            EventKind::RecordStopped { task_id: 5451, begin_ms: 1566867437000, end_ms: 1566867472000 },
            1115,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentMediaEvent_StopRecordDone","eventGenTime":1784529722590,"workNo":"1115","content":{"beginTime":1566867437000,"endTime":1566867472000,"fileMediaType":"1","taskId":5451}}}"#,
        ),
        (
            EventKind::Note { from: AgentId(102) },
            31001,
            r#"{"message":"","retcode":"0","event":{"eventType": "AgentOther_Note","content": null,"eventGenTime":1784529722590,"workNo": "31001"}}"#,
        ),
        (
            EventKind::Ringing(Offer {
                call: call("1456404043-37"),
                caller: "49997".into(),
                called: "49999".into(),
                feature: CallFeature::Inbound,
                leg: Leg::Main,
                transferred_from: None,
                media_type: 5,
            }),
            49999,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentEvent_Ringing","eventGenTime":1784529722590,"workNo":"49999","content":{"caller":"49997","transfer":"no","callid":"1456404043-37","transfrom":"","called":"49999","type":"main","mediaType": "5","mediaAbility":"1","feature":"0"}}}"#,
        ),
        (
            EventKind::AutoAnswer(Offer {
                call: call("1456404171-43"),
                caller: "70093".into(),
                called: "6048".into(),
                feature: CallFeature::Inbound,
                leg: Leg::Main,
                transferred_from: None,
                media_type: 5,
            }),
            49999,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentEvent_Auto_Answer","eventGenTime":1784529722590,"workNo":"49999","content":{"caller":"70093","transfer":"no","callid":"1456404171-43","transfrom":"","called":"6048","type":"main","mediaAbility":"1","feature":"0","mediaType": 5}}}"#,
        ),
        (
            EventKind::Talking {
                call: call("1456401416-3"),
                caller: "10086".into(),
                called: "70092".into(),
                leg: Leg::Main,
                feature: CallFeature::Outbound,
            },
            49999,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentEvent_Talking","eventGenTime":1784529722590,"workNo":"49999","content":{"caller":"10086","callid":"1456401416-3","called":"70092","feature":"7","type":"main","mediaAbility":"1"}}}"#,
        ),
        (
            EventKind::SetNotReadySuccess { reason: 200 },
            49997,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentState_SetNotReady_Success","eventGenTime":1784529722590,"workNo":"49997","content":{"reason":"200"}}}"#,
        ),
        (
            EventKind::ShutdownService { login_time_ms: 1471585949806 },
            49999,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentOther_ShutdownService","eventGenTime":1784529722590,"workNo":"49999","content":{"loginTime":"1471585949806"}}}"#,
        ),
        (
            EventKind::CustomerAlerting { call: call("1456401416-3"), other_phone: "70092".into(), other_agent: None },
            49999,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentEvent_Customer_Alerting","eventGenTime":1784529722590,"workNo":"49999","content":{"callid":"1456401416-3","otherPhoneWorkno":"","otherPhone":"70092","type":"main"}}}"#,
        ),
        (
            EventKind::CustomerRelease { call: call("1456404171-43"), number: "70093".into() },
            49999,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentEvent_Customer_Release","eventGenTime":1784529722590,"workNo":"49999","content":{"callid":"1456404171-43","number":"70093"}}}"#,
        ),
        (
            EventKind::CallRelease(call("1456403549-15")),
            49999,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentEvent_Call_Release","eventGenTime":1784529722590,"workNo":"49999","content":"1456403549-15"}}"#,
        ),
        (
            EventKind::NoAnswer(call("1456403745-23")),
            49999,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentEvent_No_Answer","eventGenTime":1784529722590,"workNo":"49999","content":"1456403745-23"}}"#,
        ),
        (
            EventKind::Busy,
            49997,
            r#"{"message":"","retcode":"0","event":{"eventType":"AgentState_Busy","eventGenTime":1784529722590,"workNo":"49997","content":null}}"#,
        ),
    ];
    for (kind, agent, vendor) in cases {
        let name = event::event_type(&kind);
        assert_eq!(at(kind, agent), sample(vendor), "{name}");
    }
}

#[test]
fn skill_info_matches_the_vendor_sample() {
    let skill =
        |id: u32, name: &str, media_type: u8| Skill { id: SkillId(id), vdn: VdnId(1), name: name.into(), media_type };
    let list =
        vec![SkillInfo::new(&skill(1, "defaultMediaSkill", 53)), SkillInfo::new(&skill(3, "defaultAudioSkill", 5))];
    assert_eq!(
        response_json(&response::ok(Method::QueryAgentSkills.success_message(), list)),
        json!({"result":[{"name":"defaultMediaSkill","id":1,"mediatype":53},{"name":"defaultAudioSkill","id":3,"mediatype":5}],
               "message":"success","retcode":"0"})
    );
}

#[test]
fn poll_bodies() {
    assert_eq!(response_json(&event::poll_body(None)), json!({"message":"","retcode":"0"}));
    let ev = Event { agent: AgentId(101), at_ms: 5, kind: EventKind::Ready };
    assert_eq!(
        response_json(&event::poll_body(Some(&ev))),
        json!({"message":"","retcode":"0","event":{"eventType":"AgentState_Ready","workNo":"101","content":null,"eventGenTime":5}})
    );
}

fn response_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn envelopes() {
    assert_eq!(
        response_json(&response::call_ids(&[CALL, CallId { secs: 1456297463, seq: 1249 }])),
        json!({"message":"","retcode":"0","result":["1456297722-1253","1456297463-1249"]})
    );
    assert_eq!(response::call_ids(&[]), br#"{"message":"","retcode":"0","result":[]}"#);
    assert_eq!(
        response_json(&response::ok("", AgentStatus { agent_state: 4, is_working: false })),
        json!({"message":"","retcode":"0","result":{"agentState":4,"isWorking":false}})
    );
    assert_eq!(response_json(&response::ok_bare("success")), json!({"message":"success","retcode":"0"}));
    let rc = retcode(Method::DropCall, DomainError::NoCall);
    assert_eq!(response_json(&response::error(rc)), json!({"message":"no call can be droped","retcode":"200-025"}));
}

#[test]
fn retcodes_of_the_seed_interface() {
    let m = Method::QueryAllCallInfoByAgentWorkNoEx;
    assert_eq!(retcode(m, DomainError::NotSignedIn).code, "100-006");
    assert_eq!(retcode(m, DomainError::UnknownAgent).code, "100-011");
    assert_eq!(retcode(m, DomainError::OtherVdn).code, "900-002");
    assert_eq!(retcode(m, DomainError::Internal).code, "100-007");
    assert_eq!(retcode(m, DomainError::Overloaded).code, "000-007");
    assert_eq!(m.name(), "queryAllCallInfoByAgentWorkNoEx");
    assert!(m.is_calldata_query());
}

#[test]
fn no_call_codes_are_per_interface() {
    let cases = [
        (Method::Answer, "200-002"),
        (Method::BeginMute, "200-003"),
        (Method::EndMute, "200-007"),
        (Method::ConfJoin, "200-010"),
        (Method::Transfer, "200-012"),
        (Method::Hold, "200-013"),
        (Method::Release, "200-017"),
        (Method::InnerHelp, "200-018"),
        (Method::DropCall, "200-025"),
        (Method::SetCallAppDataEx, "400-001"),
        (Method::QueryCallInfoByCallId, "100-007"),
    ];
    for (m, code) in cases {
        assert_eq!(retcode(m, DomainError::NoCall).code, code, "{}", m.name());
    }
}

#[test]
fn sign_in_bodies_are_read_leniently() {
    let r = SignInRequest::parse(
        br#"{"password":"p","phonenum":40038,"status":"3","autoanswer":"false","agenttype":"4","x":1}"#,
    )
    .unwrap();
    assert_eq!((r.phone.as_deref(), r.status, r.auto_answer, r.auto_enter_idle), (Some("40038"), 3, false, true));
    assert_eq!(SignInRequest::parse(b"{}").unwrap_err().code, "100-001");
    assert_eq!(SignInRequest::parse(b"[1]").unwrap_err().code, "000-006");
    assert_eq!(SignInRequest::parse(br#"{"password":"p","agenttype":5}"#).unwrap_err().code, "100-012");
    assert_eq!(SignInRequest::parse(br#"{"password":"p","phonenum":"12a"}"#).unwrap_err().code, "100-013");
    assert_eq!(SignInRequest::parse(br#"{"password":"p","status":6}"#).unwrap_err().code, "100-001");
    assert_eq!(SignInRequest::parse(br#"{"password":"p","autoanswer":"yes"}"#).unwrap_err().code, "100-001");
    // The vendor's sample body: an empty password is a password (the gateway decides on it).
    let r = SignInRequest::parse(br#"{"password":"","phonenum":"40038","status":"4","agenttype":"4"}"#).unwrap();
    assert_eq!(r.password, "");
    assert_eq!(SignInRequest::parse(br#"{"password":null}"#).unwrap_err().code, "100-001");
}

#[test]
fn body_fields() {
    let b = Body::parse(br#"{"n":"7","f":"TRUE","s":12,"e":"","z":null}"#).unwrap();
    assert_eq!(b.number("n"), Ok(Some(7)));
    assert_eq!(b.flag("f"), Ok(Some(true)));
    assert_eq!(b.string("s"), Ok(Some("12".into())));
    assert_eq!(b.number("e"), Ok(None));
    assert_eq!(b.string("z"), Ok(None));
    assert!(b.number("f").is_err());
    assert!(Body::parse(b"  ").is_ok());
    let t = TransferRequest::parse(br#"{"devicetype":"2","address":49998,"mode":3}"#).unwrap();
    assert_eq!((t.device_type, t.address.as_str(), t.mode), (2, "49998", 3));
}

/// Every result object against the vendor's sample of it (values substituted where ccgw differs
/// by design, as docs/compat.md says).
#[test]
fn results_match_the_vendor_samples() {
    let sample = |s: &str| -> Value { serde_json::from_str(s).unwrap() };

    // Sign-in: the sample's password expires in 9 days; ccgw's never does ("").
    let mut signed_in = response::SignInResult::new(1, 291, 1471585949806, "AgentGateway");
    assert_eq!(signed_in.time_remaining, "");
    signed_in.time_remaining = "9";
    assert_eq!(
        response_json(&response::ok("", signed_in)),
        sample(
            r#"{"message":"","retcode":"0","result":{"vdnid":1,"workno":"291","mediatype":"TTF","loginTime":"1471585949806","isForceChange":"false","serverName":"AgentGateway","timeRemaining":"9"}}"#
        )
    );
    assert_eq!(
        response_json(&response::ok(
            Method::QueryCallStatisticsInfoEx.success_message(),
            response::Statistics { talktime: 4328, answernums: 5, calloutnums: 0 }
        )),
        sample(r#"{"message":"","retcode":"0","result":{"talktime":4328,"answernums":5,"calloutnums":0}}"#)
    );
    assert_eq!(
        response_json(&response::ok(
            Method::GetAgentStatus.success_message(),
            AgentStatus { agent_state: 4, is_working: false }
        )),
        sample(r#"{"message":"","retcode":"0","result":{"agentState":4,"isWorking":false}}"#)
    );
    let guid = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.AgentGateway1";
    assert_eq!(
        response_json(&response::ok(Method::UpdateGuid.success_message(), response::GuidResult { guid })),
        sample(
            r#"{"result":{"guid":"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.AgentGateway1"},"message":"success","retcode":"0"}"#
        )
    );

    // The call-information object: the sample (from a client's comment) plus `mediaType`, which
    // the vendor's field table lists.
    let call = ccgw_domain::Call {
        id: CallId { secs: 1476838963, seq: 224 },
        feature: CallFeature::Inbound,
        caller: "70004".into(),
        called: "60015".into(),
        original_called: String::new(),
        skill: Some(SkillId(20011)),
        data: String::new(),
        created_ms: 1476838963000,
        begin_ms: Some(1476838963000),
        end_ms: None,
        parties: Vec::new(),
        queued_since_ms: None,
        user_priority: 0,
        media_type: 5,
        transfer: None,
        transferred_from: None,
    };
    let voice = Skill { id: SkillId(20011), vdn: VdnId(1), name: "voice".into(), media_type: 5 };
    let info = response::CallInfo::new(&call, Some(&voice), 1476838963000);
    let mut expected = sample(
        r#"{"message":"","retcode":"0","result":{"callfeature":0,"callid":"1476838963-224","caller":"70004","called":"60015","callskill":"voice","callskillid":20011,"orgicallednum":"","calldata":"","begintime":1476838963000,"endtime":null,"userPriority":0,"trunkNo":65535,"logontimes":0}}"#,
    );
    expected["result"]["mediaType"] = json!(5);
    assert_eq!(response_json(&response::ok(Method::QueryCallInfo.success_message(), &info)), expected);
    // holdlistex: the five documented fields of the same object.
    assert_eq!(
        serde_json::to_value(response::HeldCall::from(info)).unwrap(),
        json!({"callfeature":0,"callid":"1476838963-224","caller":"70004","called":"60015","callskill":"voice"})
    );
}

// --- agentgroup ---

/// The agent-information object, field by field and in order, against the vendor's
/// `agentbyworkno` sample (its skill list shortened to one entry).
#[test]
fn agent_info_matches_the_vendor_sample() {
    let info = response::AgentInfo {
        workno: "20011".into(),
        name: "20011".into(),
        status: "4".into(),
        cti_status: "1".into(),
        groupid: 1,
        groupname: "jst".into(),
        skilllist: Some(vec![response::SkillInfo { name: "clicktodial_jst".into(), id: 10, mediatype: 2 }]),
        mediatype: "TTT",
        vdnid: 6,
        phonenumber: "70942".into(),
        currentstatetime: 1210,
        logindate: 1501125758000,
        callids: Vec::new(),
        in_multimedia_conf: 0,
        current_state_reason: 0,
    };
    let sample = r#"{"workno":"20011","name":"20011","status":"4","ctiStatus":"1","groupid":1,"groupname":"jst","skilllist":[{"name":"clicktodial_jst","id":10,"mediatype":2}],"mediatype":"TTT","vdnid":6,"phonenumber":"70942","currentstatetime":1210,"logindate":1501125758000,"callids":[],"inMultimediaConf":0,"currentStateReason":0}"#;
    assert_eq!(serde_json::to_string(&info).unwrap(), sample);
    // agentinfonoskills: no skilllist, status in the platform scheme.
    let mut v: Value = serde_json::from_str(sample).unwrap();
    v.as_object_mut().unwrap().remove("skilllist");
    v["status"] = json!("1");
    assert_eq!(serde_json::to_value(info.without_skills()).unwrap(), v);
    // The platform states that go with the gateway's (the vendor's status tables).
    use ccgw_domain::AgentStateCode as S;
    let pairs = [(S::SignedOut, false, 0), (S::Idle, false, 1), (S::Talking, true, 4), (S::Talking, false, 5)];
    let pairs = pairs.into_iter().chain([
        (S::PreRest, false, 5),
        (S::Work, false, 6),
        (S::Busy, false, 7),
        (S::Rest, false, 8),
    ]);
    for (state, ringing, cti) in pairs {
        assert_eq!(response::cti_status(state, ringing), cti, "{state:?}");
    }
}

#[test]
fn agent_list_bodies() {
    use ccgw_wire::request::AgentListRequest;
    let r = AgentListRequest::parse(br#"{"agentlist":["101",102,"x","",-1,1.5,null,"0103"],"other":1}"#).unwrap();
    assert_eq!(r.agents, [Some(101), Some(102), None, None, None, None, None, Some(103)]);
    for bad in [&b"[]"[..], b"{}", b"", b"{\"agentlist\":{}}", b"nope"] {
        assert_eq!(AgentListRequest::parse(bad).unwrap_err().code, "000-006", "{}", String::from_utf8_lossy(bad));
    }
}

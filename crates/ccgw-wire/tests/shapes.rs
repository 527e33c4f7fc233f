//! Every event type's name and content shape, the envelopes, the lenient request parsing and
//! the retcode table, pinned exactly. (The integration tests pin the same shapes end to end.)

use ccgw_domain::{AgentId, CallFeature, CallId, DomainError, Event, EventKind, Leg, Offer};
use ccgw_wire::request::{Body, SignInRequest, TransferRequest};
use ccgw_wire::response::{self, AgentStatus};
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
        (EventKind::SetNotReadySuccess { reason: 201 }, "AgentState_SetNotReady_Success", json!({"reason":201})),
        (EventKind::CancelNotReadySuccess, "AgentState_CancelNotReady_Success", Value::Null),
        (EventKind::SetRestSuccess, "AgentState_SetRest_Success", Value::Null),
        (EventKind::CancelRestSuccess, "AgentState_CancelRest_Success", Value::Null),
        (EventKind::RestTimeout, "AgentState_Rest_Timeout", Value::Null),
        (EventKind::SetWorkSuccess, "AgentState_SetWork_Success", Value::Null),
        (EventKind::CancelWorkSuccess, "AgentState_CancelWork_Success", Value::Null),
        (
            EventKind::Ringing(offer(None)),
            "AgentEvent_Ringing",
            json!({"caller":"13800000001","called":"10086","callid":"1456297722-1253","type":"main","feature":0,
                   "mediaAbility":1,"transfer":"no","transfrom":"","mediaType":5}),
        ),
        (
            EventKind::AutoAnswer(offer(Some(AgentId(102)))),
            "AgentEvent_Auto_Answer",
            json!({"caller":"13800000001","called":"10086","callid":"1456297722-1253","type":"main","feature":0,
                   "mediaAbility":1,"transfer":"yes","transfrom":"102","mediaType":5}),
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
            json!({"caller":"101","called":"102","callid":"1456297722-1253","type":"assistant","feature":51,"mediaAbility":1}),
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
    ];
    for (kind, name, content) in cases {
        let w = wire(kind);
        assert_eq!(w["eventType"], name);
        assert_eq!(w["content"], content, "{name}");
    }
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

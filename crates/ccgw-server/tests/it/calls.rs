//! The call engine over the wire: the voicecall and calldata families, the seed interface
//! `allcallinfoEx`, and the operator API that injects customer calls. Every body is compared
//! whole (volatile values — call ids, times — are checked for their format first, then
//! substituted), every event sequence exactly.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ccgw_server::Config;
use ccgw_server::config::{Outcome, TelephonyRule};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Agent, Gateway, PREFIX, Reply, TOKEN, body_invalid, err, found, not_signed_in, param_invalid};

/// A customer's number (no telephony rule matches it: it never hangs up by itself).
const CUSTOMER: &str = "13900000001";
/// The demo access code of skill 1 ("voice") in VDN 1.
const ACCESS: &str = "10086";

// ----- harness ------------------------------------------------------------------------------

/// Short polls and a quick far end; the calldata overload control off unless a test wants it.
fn fast(c: &mut Config) {
    c.auth.poll_wait_ms = 300;
    c.telephony.default.answer_after_ms = 50;
    c.limits.calldata_per_agent = 0;
}

async fn start() -> Gateway {
    Gateway::start_with(fast).await
}

async fn start_with(tweak: impl FnOnce(&mut Config)) -> Gateway {
    Gateway::start_with(|c| {
        fast(c);
        tweak(c);
    })
    .await
}

fn is_call_id(s: &str) -> bool {
    let Some((a, b)) = s.split_once('-') else { return false };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
    digits(a) && digits(b)
}

/// A call id as the vendor writes it: `^\d+-\d+$`.
#[track_caller]
fn call_id(v: &Value) -> String {
    let s = v.as_str().unwrap_or_else(|| panic!("call id is not a string: {v}"));
    assert!(is_call_id(s), "call id {s:?} is not <digits>-<digits>");
    s.to_owned()
}

/// Control operation success.
fn ok() -> Value {
    json!({"message":"success","retcode":"0","result":{}})
}

/// Control operation success whose result is a call id (callout, callinner, innerhelp).
fn ok_id(id: &str) -> Value {
    json!({"message":"success","retcode":"0","result":id})
}

/// Query success.
fn no_target() -> Value {
    err("200-019", "no target agent available")
}

fn overloaded() -> Value {
    err("000-007", "interface invoked too frequently, try again later")
}

/// Sign in (idle, manual answer) and consume the sign-in events.
async fn ready(gw: &Gateway, id: u32) -> Agent {
    let a = gw.sign_in(id).await;
    expect(gw, &a, &["AgentOther_InService", "AgentState_Ready"]).await;
    a
}

/// Sign in with auto-answer and consume the sign-in events.
async fn auto_ready(gw: &Gateway, id: u32) -> Agent {
    let a = gw
        .sign_in_with(id, json!({"password":"ccgw-demo","phonenum":format!("7{id}"),"status":4,"autoanswer":true}))
        .await;
    expect(gw, &a, &["AgentOther_InService", "AgentState_Ready"]).await;
    a
}

/// Poll until the last of `types` arrives and check that exactly `types` came, in order.
async fn expect(gw: &Gateway, a: &Agent, types: &[&str]) -> Vec<Value> {
    let evs = a.poll_until(gw, types[types.len() - 1]).await;
    assert_eq!(Agent::types(&evs), types, "events of {}: {evs:#?}", a.id);
    evs
}

/// Nothing more for this agent (one empty poll).
async fn quiet(gw: &Gateway, a: &Agent) {
    let evs = a.drain(gw).await;
    assert!(evs.is_empty(), "agent {} got unexpected events: {evs:#?}", a.id);
}

/// The whole event object: type, work number, content; `eventGenTime` a millisecond epoch.
#[track_caller]
fn assert_event(ev: &Value, event_type: &str, workno: u32, content: Value) {
    let t = ev["eventGenTime"].as_u64().unwrap_or_else(|| panic!("eventGenTime: {ev}"));
    assert!(t > 1_600_000_000_000, "eventGenTime is not an epoch in ms: {t}");
    assert_eq!(
        *ev,
        json!({"eventType":event_type,"workNo":workno.to_string(),"content":content,"eventGenTime":t}),
        "event"
    );
}

/// `AgentEvent_Ringing`: `feature`, `mediaAbility` and `mediaType` are strings, as in the
/// vendor's sample.
fn ringing(call: &str, caller: &str, called: &str, leg: &str, feature: u8, from: Option<u32>) -> Value {
    json!({
        "caller": caller, "called": called, "callid": call, "type": leg, "feature": feature.to_string(),
        "mediaAbility": "1",
        "transfer": if from.is_some() { "yes" } else { "no" },
        "transfrom": from.map(|a| a.to_string()).unwrap_or_default(),
        "mediaType": "5",
    })
}

/// `AgentEvent_Auto_Answer`: as Ringing, but `mediaType` a number (the vendor's sample).
fn auto_answer(call: &str, caller: &str, called: &str, leg: &str, feature: u8, from: Option<u32>) -> Value {
    let mut v = ringing(call, caller, called, leg, feature, from);
    v["mediaType"] = json!(5);
    v
}

fn talking(call: &str, caller: &str, called: &str, leg: &str, feature: u8) -> Value {
    json!({"caller":caller,"called":called,"callid":call,"type":leg,"feature":feature.to_string(),"mediaAbility":"1"})
}

/// `AgentOther_PhoneAlerting` for a call offered to the agent.
fn phone_alerting(call: &str, caller: &str, called: &str) -> Value {
    json!({"callid":call,"caller":caller,"called":called})
}

/// `AgentOther_PhoneOffhook`.
fn off_hook(leg: &str) -> Value {
    json!({ "type": leg })
}

/// `AgentOther_PhoneRelease`: 2 hung up by the agent's own request, 3 by the platform.
fn on_hook(phone_state: u8) -> Value {
    json!({ "phoneState": phone_state })
}

/// The events of an offer to an idle agent whose phone is on the hook: busy, the phone rings and
/// goes off-hook, then the offer.
const OFFERED: [&str; 4] = ["AgentState_Busy", PHONE_ALERTING, PHONE_OFFHOOK, "AgentEvent_Ringing"];
/// The events of the agent placing its first call (callout, callinner): the phone rings and goes
/// off-hook first, then busy, then the far end rings.
const DIALLING: [&str; 4] = [PHONE_ALERTING, PHONE_OFFHOOK, "AgentState_Busy", "AgentEvent_Customer_Alerting"];
const PHONE_ALERTING: &str = "AgentOther_PhoneAlerting";
const PHONE_OFFHOOK: &str = "AgentOther_PhoneOffhook";
const PHONE_RELEASE: &str = "AgentOther_PhoneRelease";

/// The whole events of an offer to an idle agent.
#[track_caller]
fn assert_offered(evs: &[Value], workno: u32, call: &str, caller: &str, called: &str, ringing_content: Value) {
    assert_eq!(Agent::types(evs), OFFERED, "{evs:#?}");
    let leg = ringing_content["type"].as_str().unwrap().to_owned();
    assert_event(&evs[0], "AgentState_Busy", workno, Value::Null);
    assert_event(&evs[1], PHONE_ALERTING, workno, phone_alerting(call, caller, called));
    assert_event(&evs[2], PHONE_OFFHOOK, workno, off_hook(&leg));
    assert_event(&evs[3], "AgentEvent_Ringing", workno, ringing_content);
}

fn alerting(call: &str, other_phone: &str, other_workno: &str) -> Value {
    json!({"callid":call,"otherPhone":other_phone,"otherPhoneWorkno":other_workno,"type":"main"})
}

/// A customer calls the demo access code; `a` (the only idle agent) rings.
async fn inbound_ringing(gw: &Gateway, a: &Agent, caller: &str) -> String {
    let id = gw.inject_call(caller, ACCESS, "").await;
    assert!(is_call_id(&id), "{id}");
    let evs = expect(gw, a, &OFFERED).await;
    assert_offered(&evs, a.id, &id, caller, ACCESS, ringing(&id, caller, ACCESS, "main", 0, None));
    id
}

/// As `inbound_ringing`, then answered.
async fn inbound_talking(gw: &Gateway, a: &Agent, caller: &str) -> String {
    let id = inbound_ringing(gw, a, caller).await;
    assert_eq!(a.put(gw, "voicecall", "answer", None).await.body, ok());
    let evs = expect(gw, a, &["AgentEvent_Talking"]).await;
    assert_event(&evs[0], "AgentEvent_Talking", a.id, talking(&id, caller, ACCESS, "main", 0));
    id
}

/// `a` calls `b` (idle, manual answer) and `b` answers; returns the inner call id.
async fn inner_call(gw: &Gateway, a: &Agent, b: &Agent, a_first_call: bool) -> String {
    let r = a.put(gw, "voicecall", "callinner", Some(json!({"called": b.id}))).await;
    let id = call_id(&r.body["result"]);
    assert_eq!(r.body, ok_id(&id));
    let (a_no, b_no) = (a.id.to_string(), b.id.to_string());
    let evs = if a_first_call {
        let evs = expect(gw, a, &DIALLING).await;
        // The caller's own call: the phone rings with no call to show.
        assert_event(&evs[0], PHONE_ALERTING, a.id, Value::Null);
        assert_event(&evs[1], PHONE_OFFHOOK, a.id, off_hook("main"));
        evs
    } else {
        expect(gw, a, &["AgentEvent_Customer_Alerting"]).await
    };
    assert_event(evs.last().unwrap(), "AgentEvent_Customer_Alerting", a.id, alerting(&id, &format!("7{b_no}"), &b_no));
    let evs = expect(gw, b, &OFFERED).await;
    assert_offered(&evs, b.id, &id, &a_no, &b_no, ringing(&id, &a_no, &b_no, "main", 6, None));
    assert_eq!(b.put(gw, "voicecall", "answer", None).await.body, ok());
    for x in [a, b] {
        let evs = expect(gw, x, &["AgentEvent_Talking"]).await;
        assert_event(&evs[0], "AgentEvent_Talking", x.id, talking(&id, &a_no, &b_no, "main", 6));
    }
    id
}

async fn all_calls(gw: &Gateway, asker: &Agent, workno: &str) -> Reply {
    asker.get(gw, "calldata", &format!("allcallinfoEx/{workno}")).await
}

/// The seed interface's success body.
fn ids(list: &[&str]) -> Value {
    json!({"message":"","retcode":"0","result":list})
}

/// A call-information object; `begintime`, `endtime` and `logontimes` are checked separately
/// (see `assert_info`).
fn info(call: &str, feature: u8, caller: &str, called: &str, skill: (&str, u32), orig: &str, data: &str) -> Value {
    json!({
        "callfeature": feature, "callid": call, "caller": caller, "called": called,
        "callskill": skill.0, "callskillid": skill.1, "orgicallednum": orig, "calldata": data,
        "begintime": null, "endtime": null, "userPriority": 0, "trunkNo": 65535, "logontimes": 0,
        "mediaType": 5,
    })
}

/// A whole query body whose result is a call-information object (see `assert_info`).
#[track_caller]
fn assert_info_body(body: &Value, expected: Value, answered: bool, ended: bool) {
    assert_eq!(*body, found(body["result"].clone()), "envelope");
    assert_info(&body["result"], expected, answered, ended);
}

/// Compare a call-information object: `begintime` a ms epoch once answered (else null),
/// `endtime` a ms epoch once ended (else null), `logontimes` a number of seconds.
#[track_caller]
fn assert_info(actual: &Value, mut expected: Value, answered: bool, ended: bool) {
    let epoch = |v: &Value| v.as_u64().is_some_and(|t| t > 1_600_000_000_000);
    assert_eq!(epoch(&actual["begintime"]), answered, "begintime: {actual}");
    assert_eq!(epoch(&actual["endtime"]), ended, "endtime: {actual}");
    assert!(actual["logontimes"].is_u64(), "logontimes: {actual}");
    for k in ["begintime", "endtime", "logontimes"] {
        expected[k] = actual[k].clone();
    }
    assert_eq!(*actual, expected);
}

async fn admin(gw: &Gateway, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
    let mut req = gw.client.request(method, format!("{}{path}", gw.admin));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    Reply::from(req.send().await.unwrap()).await
}

async fn live_calls(gw: &Gateway) -> Value {
    let r = admin(gw, Method::GET, "/admin/calls", Some(TOKEN), None).await;
    assert_eq!(r.status, StatusCode::OK);
    r.body["calls"].clone()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Wait, if need be, until the start of a fresh limiter window (fixed windows of `window_ms`),
/// so that a burst of queries falls into one window.
async fn fresh_window(window_ms: u64) {
    let into = now_ms() % window_ms;
    if into > window_ms / 4 {
        tokio::time::sleep(Duration::from_millis(window_ms - into + 20)).await;
    }
}

// ----- inbound calls ---------------------------------------------------------------------------

#[tokio::test]
async fn inbound_call_rings_the_longest_idle_agent_and_is_answered() {
    let gw = start().await;
    // 103 signs in first but busy: never offered. 102 is idle longer than 101.
    let c = gw.sign_in_with(103, json!({"password":"ccgw-demo","status":3,"autoanswer":false})).await;
    expect(&gw, &c, &["AgentOther_InService", "AgentState_Ready", "AgentState_SetNotReady_Success"]).await;
    let b = ready(&gw, 102).await;
    let a = ready(&gw, 101).await;
    let _other_vdn = ready(&gw, 601).await;

    let first = inbound_ringing(&gw, &b, CUSTOMER).await;
    let status = b.get(&gw, "onlineagent", "agentstatus").await;
    assert_eq!(status.body, found(json!({"agentState":7,"isWorking":false})));
    assert_eq!(b.put(&gw, "voicecall", "answer", None).await.body, ok());
    let evs = expect(&gw, &b, &["AgentEvent_Talking"]).await;
    assert_event(&evs[0], "AgentEvent_Talking", 102, talking(&first, CUSTOMER, ACCESS, "main", 0));

    // The next call goes to the remaining idle agent.
    let second = inbound_ringing(&gw, &a, "13900000002").await;
    assert_ne!(first, second);
    // `answer?callid=` names the ringing call.
    let r = a.put(&gw, "voicecall", &format!("answer?callid={second}"), None).await;
    assert_eq!(r.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Talking"]).await;
    assert_event(&evs[0], "AgentEvent_Talking", 101, talking(&second, "13900000002", ACCESS, "main", 0));

    // Nobody idle: the third call waits in the queue, and goes to 103 as soon as it is free.
    let third = gw.inject_call("13900000003", ACCESS, "").await;
    let calls = live_calls(&gw).await;
    let queued = calls.as_array().unwrap().iter().find(|c| c["callId"] == third.as_str()).unwrap();
    assert_eq!(queued["queued"], true);
    assert_eq!(c.post(&gw, "onlineagent", "sayfree", None).await.body, ok());
    let evs = expect(
        &gw,
        &c,
        &[
            "AgentState_CancelNotReady_Success",
            "AgentState_Ready",
            "AgentState_Busy",
            PHONE_ALERTING,
            PHONE_OFFHOOK,
            "AgentEvent_Ringing",
        ],
    )
    .await;
    assert_offered(
        &evs[2..],
        103,
        &third,
        "13900000003",
        ACCESS,
        ringing(&third, "13900000003", ACCESS, "main", 0, None),
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_queued_call_is_offered_at_sign_in() {
    let gw = start().await;
    let id = gw.inject_call(CUSTOMER, ACCESS, "").await;
    let a = gw.sign_in(101).await;
    let evs = expect(
        &gw,
        &a,
        &[
            "AgentOther_InService",
            "AgentState_Ready",
            "AgentState_Busy",
            PHONE_ALERTING,
            PHONE_OFFHOOK,
            "AgentEvent_Ringing",
        ],
    )
    .await;
    assert_offered(&evs[2..], 101, &id, CUSTOMER, ACCESS, ringing(&id, CUSTOMER, ACCESS, "main", 0, None));
    gw.stop().await;
}

#[tokio::test]
async fn auto_answer_agent_gets_auto_answer_then_talking() {
    let gw = start().await;
    let a = auto_ready(&gw, 101).await;
    let id = gw.inject_call(CUSTOMER, ACCESS, "").await;
    let evs = expect(
        &gw,
        &a,
        &["AgentState_Busy", PHONE_ALERTING, PHONE_OFFHOOK, "AgentEvent_Auto_Answer", "AgentEvent_Talking"],
    )
    .await;
    assert_event(&evs[0], "AgentState_Busy", 101, Value::Null);
    assert_event(&evs[1], PHONE_ALERTING, 101, phone_alerting(&id, CUSTOMER, ACCESS));
    assert_event(&evs[2], PHONE_OFFHOOK, 101, off_hook("main"));
    assert_event(&evs[3], "AgentEvent_Auto_Answer", 101, auto_answer(&id, CUSTOMER, ACCESS, "main", 0, None));
    assert_event(&evs[4], "AgentEvent_Talking", 101, talking(&id, CUSTOMER, ACCESS, "main", 0));
    // Nothing left to answer.
    assert_eq!(a.put(&gw, "voicecall", "answer", None).await.body, err("200-002", "no call to answer"));
    gw.stop().await;
}

#[tokio::test]
async fn answer_errors() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.put(&gw, "voicecall", "answer", None).await.body, err("200-002", "no call to answer"));
    let id = inbound_ringing(&gw, &a, CUSTOMER).await;
    // Another call id than the ringing one; a malformed one.
    let r = a.put(&gw, "voicecall", "answer?callid=1-1", None).await;
    assert_eq!(r.body, err("200-002", "no call to answer"));
    assert_eq!(a.put(&gw, "voicecall", "answer?callid=abc", None).await.body, param_invalid());
    // Not signed in / wrong GUID.
    let r = gw.request(Method::PUT, &format!("{PREFIX}/voicecall/101/answer"), Some("nope"), None).await;
    assert_eq!((r.status, r.body), (StatusCode::OK, not_signed_in()));
    let r = gw.request(Method::PUT, &format!("{PREFIX}/voicecall/102/answer"), None, None).await;
    assert_eq!(r.body, not_signed_in());
    // Answer is PUT only.
    let r = a.post(&gw, "voicecall", "answer", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers["allow"], "PUT");
    assert_eq!(a.put(&gw, "voicecall", &format!("answer?callid={id}"), None).await.body, ok());
    gw.stop().await;
}

// ----- callout and callinner -----------------------------------------------------------------

#[tokio::test]
async fn callout_alerts_then_talks_when_the_far_end_answers() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let r = a.put(&gw, "voicecall", "callout", Some(json!({"called":"13900000000"}))).await;
    let id = call_id(&r.body["result"]);
    assert_eq!(r.body, ok_id(&id));
    let evs = expect(
        &gw,
        &a,
        &[PHONE_ALERTING, PHONE_OFFHOOK, "AgentState_Busy", "AgentEvent_Customer_Alerting", "AgentEvent_Talking"],
    )
    .await;
    // The agent's phone rings first (for no call: the agent is placing one), then busy.
    assert_event(&evs[0], PHONE_ALERTING, 101, Value::Null);
    assert_event(&evs[1], PHONE_OFFHOOK, 101, off_hook("main"));
    assert_event(&evs[2], "AgentState_Busy", 101, Value::Null);
    assert_event(&evs[3], "AgentEvent_Customer_Alerting", 101, alerting(&id, "13900000000", ""));
    // The caller is the agent's phone; call type 7 (normal outbound).
    assert_event(&evs[4], "AgentEvent_Talking", 101, talking(&id, "7101", "13900000000", "main", 7));
    let r = a.get(&gw, "calldata", "callinfo").await;
    assert_info_body(&r.body, info(&id, 7, "7101", "13900000000", ("", 0), "13900000000", ""), true, false);
    // A caller number given in the request is used.
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    // The agent released it: on-hook by the agent.
    assert_event(&evs[1], PHONE_RELEASE, 101, on_hook(2));
    let r = a
        .put(&gw, "voicecall", "callout", Some(json!({"called":"13900000009","caller":"4001","callappdata":"d"})))
        .await;
    let id = call_id(&r.body["result"]);
    let evs = expect(
        &gw,
        &a,
        &[PHONE_ALERTING, PHONE_OFFHOOK, "AgentState_Busy", "AgentEvent_Customer_Alerting", "AgentEvent_Talking"],
    )
    .await;
    assert_event(&evs[4], "AgentEvent_Talking", 101, talking(&id, "4001", "13900000009", "main", 7));
    gw.stop().await;
}

#[tokio::test]
async fn callout_to_a_busy_or_unanswered_number_fails() {
    let gw = start_with(|c| {
        c.telephony.rules.push(TelephonyRule { pattern: "9*".into(), outcome: Outcome::Busy, ..Default::default() });
        c.telephony.rules.push(TelephonyRule {
            pattern: "8*".into(),
            outcome: Outcome::NoAnswer,
            answer_after_ms: 50,
            ..Default::default()
        });
    })
    .await;
    let a = ready(&gw, 101).await;
    for number in ["95550000", "85550000"] {
        let r = a.put(&gw, "voicecall", "callout", Some(json!({"called":number}))).await;
        let id = call_id(&r.body["result"]);
        let evs = expect(
            &gw,
            &a,
            &[
                PHONE_ALERTING,
                PHONE_OFFHOOK,
                "AgentState_Busy",
                "AgentEvent_Customer_Alerting",
                PHONE_RELEASE,
                "AgentEvent_Call_Out_Fail",
                "AgentState_Ready",
            ],
        )
        .await;
        assert_event(&evs[3], "AgentEvent_Customer_Alerting", 101, alerting(&id, number, ""));
        // The platform hangs up the agent's phone, then reports the failure (the vendor's order).
        assert_event(&evs[4], PHONE_RELEASE, 101, on_hook(3));
        assert_event(&evs[5], "AgentEvent_Call_Out_Fail", 101, json!(id));
        assert_event(&evs[6], "AgentState_Ready", 101, Value::Null);
        assert_eq!(all_calls(&gw, &a, "101").await.body, ids(&[]));
        let r = a.get(&gw, "onlineagent", "agentstatus").await;
        assert_eq!(r.body, found(json!({"agentState":4,"isWorking":false})));
    }
    gw.stop().await;
}

#[tokio::test]
async fn callout_errors() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let wrong = err("200-001", "wrong number");
    for called in [json!("abc"), json!(""), json!("1234567890123456789012345"), json!("12-34")] {
        let r = a.put(&gw, "voicecall", "callout", Some(json!({ "called": called }))).await;
        assert_eq!(r.body, wrong, "{called}");
    }
    let r = a.put(&gw, "voicecall", "callout", Some(json!({"called":"123","caller":"x"}))).await;
    assert_eq!(r.body, wrong);
    assert_eq!(a.put(&gw, "voicecall", "callout", Some(json!({}))).await.body, body_invalid());
    assert_eq!(a.put(&gw, "voicecall", "callout", None).await.body, body_invalid());
    let r =
        a.put(&gw, "voicecall", "callout", Some(json!({"called":"123","callappdata":"x".repeat(16 * 1024 + 1)}))).await;
    assert_eq!(r.body, param_invalid());
    // Talking already: no second outbound call (only a held call may coexist).
    inbound_talking(&gw, &a, CUSTOMER).await;
    let r = a.put(&gw, "voicecall", "callout", Some(json!({"called":"123"}))).await;
    assert_eq!(r.body, err("100-009", "agent state does not allow this operation"));
    gw.stop().await;
}

#[tokio::test]
async fn callinner_connects_two_agents() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let b = ready(&gw, 102).await;
    let id = inner_call(&gw, &a, &b, true).await;
    let r = b.get(&gw, "calldata", "callinfo").await;
    assert_info_body(&r.body, info(&id, 6, "101", "102", ("", 0), "102", ""), true, false);
    assert_eq!(a.get(&gw, "calldata", "remotenumbers").await.body, found(json!(["102"])));
    assert_eq!(all_calls(&gw, &a, "102").await.body, ids(&[&id]));
    // The callee hangs up: both leave the call.
    assert_eq!(b.delete(&gw, "voicecall", "release").await.body, ok());
    for x in [&a, &b] {
        let evs = expect(&gw, x, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
        assert_event(&evs[0], "AgentEvent_Call_Release", x.id, json!(id));
    }
    gw.stop().await;
}

#[tokio::test]
async fn callinner_errors() {
    let gw = start().await;
    // 103 talks to a customer.
    let c = ready(&gw, 103).await;
    inbound_talking(&gw, &c, CUSTOMER).await;
    let a = ready(&gw, 101).await;
    let b = ready(&gw, 102).await;
    let inner = |called: Value| json!({ "called": called });
    // Target busy, not signed in, in a call.
    assert_eq!(b.post(&gw, "onlineagent", "saybusy", None).await.body, ok());
    assert_eq!(a.put(&gw, "voicecall", "callinner", Some(inner(json!(102)))).await.body, no_target());
    assert_eq!(a.put(&gw, "voicecall", "callinner", Some(inner(json!("104")))).await.body, no_target());
    // Another VDN; not provisioned; itself; not a number; missing.
    let r = a.put(&gw, "voicecall", "callinner", Some(inner(json!(601)))).await;
    assert_eq!(r.body, err("300-001", "no permission to query this agent"));
    let r = a.put(&gw, "voicecall", "callinner", Some(inner(json!(59000)))).await;
    assert_eq!(r.body, err("300-002", "no such agent"));
    assert_eq!(a.put(&gw, "voicecall", "callinner", Some(inner(json!(101)))).await.body, param_invalid());
    assert_eq!(a.put(&gw, "voicecall", "callinner", Some(inner(json!("abc")))).await.body, param_invalid());
    assert_eq!(a.put(&gw, "voicecall", "callinner", Some(json!({}))).await.body, body_invalid());
    // Target in a call.
    assert_eq!(a.put(&gw, "voicecall", "callinner", Some(inner(json!(103)))).await.body, no_target());
    // Nothing happened to anyone.
    quiet(&gw, &a).await;
    gw.stop().await;
}

// ----- hold ---------------------------------------------------------------------------------

#[tokio::test]
async fn hold_and_gethold() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, err("200-013", "no call to hold"));
    assert_eq!(a.post(&gw, "voicecall", "gethold", None).await.body, err("200-015", "no held call"));
    let id = inbound_ringing(&gw, &a, CUSTOMER).await;
    // Ringing is not talking.
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, err("200-014", "call state does not allow hold"));
    assert_eq!(a.put(&gw, "voicecall", "answer", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Talking"]).await;

    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Hold"]).await;
    assert_event(&evs[0], "AgentEvent_Hold", 101, json!(id));
    // Held: nothing left to hold; still one call.
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, err("200-013", "no call to hold"));
    assert_eq!(a.get(&gw, "calldata", "callnums").await.body, found(json!(1)));
    assert_eq!(a.post(&gw, "voicecall", "gethold?callid=1-1", None).await.body, err("200-015", "no held call"));
    assert_eq!(a.post(&gw, "voicecall", "gethold?callid=x", None).await.body, param_invalid());

    assert_eq!(a.post(&gw, "voicecall", &format!("gethold?callid={id}"), None).await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Talking"]).await;
    assert_event(&evs[0], "AgentEvent_Talking", 101, talking(&id, CUSTOMER, ACCESS, "main", 0));
    assert_eq!(a.post(&gw, "voicecall", "gethold", None).await.body, err("200-015", "no held call"));

    // Hold, then talk on another call: taking the held one back is refused meanwhile.
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Hold"]).await;
    let r = a.put(&gw, "voicecall", "callout", Some(json!({"called":"13900000000"}))).await;
    let out = call_id(&r.body["result"]);
    expect(&gw, &a, &["AgentEvent_Customer_Alerting", "AgentEvent_Talking"]).await;
    assert_eq!(all_calls(&gw, &a, "101").await.body, ids(&[&id, &out]));
    let r = a.post(&gw, "voicecall", "gethold", None).await;
    assert_eq!(r.body, err("200-016", "call state does not allow unhold"));
    gw.stop().await;
}

// ----- the seed interface ----------------------------------------------------------------------

#[tokio::test]
async fn allcallinfoex_lists_the_customer_and_the_help_call_oldest_first() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    let b = ready(&gw, 102).await;
    let c = ready(&gw, 103).await;
    assert_eq!(all_calls(&gw, &c, "101").await.body, ids(&[&cust]));

    let r = a.post(&gw, "voicecall", "innerhelp", Some(json!({"dstaddress":"102","devicetype":2,"mode":1}))).await;
    let help = call_id(&r.body["result"]);
    assert_eq!(r.body, ok_id(&help));
    assert_ne!(help, cust);
    let evs = expect(&gw, &a, &["AgentEvent_Hold", "AgentEvent_Customer_Alerting"]).await;
    assert_event(&evs[0], "AgentEvent_Hold", 101, json!(cust));
    assert_event(&evs[1], "AgentEvent_Customer_Alerting", 101, alerting(&help, "7102", "102"));
    let evs = expect(&gw, &b, &OFFERED).await;
    assert_offered(&evs, 102, &help, "101", "102", ringing(&help, "101", "102", "assistant", 51, None));
    // Ringing counts: the helper already has the help call.
    assert_eq!(all_calls(&gw, &c, "102").await.body, ids(&[&help]));

    assert_eq!(b.put(&gw, "voicecall", "answer", None).await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Talking"]).await;
    assert_event(&evs[0], "AgentEvent_Talking", 101, talking(&help, "101", "102", "main", 51));
    let evs = expect(&gw, &b, &["AgentEvent_Talking"]).await;
    assert_event(&evs[0], "AgentEvent_Talking", 102, talking(&help, "101", "102", "assistant", 51));

    // Queried by another agent of the VDN: the exact vendor body, oldest first.
    let r = all_calls(&gw, &c, "101").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/json;charset=UTF-8");
    assert_eq!(r.body, ids(&[&cust, &help]));
    assert_eq!(all_calls(&gw, &c, "102").await.body, ids(&[&help]));
    // By the agents themselves.
    assert_eq!(all_calls(&gw, &a, "101").await.body, ids(&[&cust, &help]));
    assert_eq!(all_calls(&gw, &b, "101").await.body, ids(&[&cust, &help]));
    // Idle, or provisioned but not signed in: an empty list.
    assert_eq!(all_calls(&gw, &c, "103").await.body, ids(&[]));
    assert_eq!(all_calls(&gw, &c, "104").await.body, ids(&[]));
    assert_eq!(all_calls(&gw, &c, "600").await.body, ids(&[]));

    // The help call ends: back to the customer call alone.
    assert_eq!(b.delete(&gw, "voicecall", "release").await.body, ok());
    expect(&gw, &a, &["AgentEvent_Call_Release"]).await;
    assert_eq!(all_calls(&gw, &c, "101").await.body, ids(&[&cust]));
    assert_eq!(all_calls(&gw, &c, "102").await.body, ids(&[]));
    // A signed-out agent has none.
    assert_eq!(a.delete(&gw, "onlineagent", "forcelogout").await.body, ok());
    assert_eq!(all_calls(&gw, &c, "101").await.body, ids(&[]));
    gw.stop().await;
}

#[tokio::test]
async fn allcallinfoex_hold_then_callinner() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    let b = ready(&gw, 102).await;
    let c = ready(&gw, 103).await;
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Hold"]).await;
    let inner = inner_call(&gw, &a, &b, false).await;
    assert_eq!(all_calls(&gw, &c, "101").await.body, ids(&[&cust, &inner]));
    assert_eq!(all_calls(&gw, &c, "102").await.body, ids(&[&inner]));
    gw.stop().await;
}

#[tokio::test]
async fn allcallinfoex_errors() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let path = |caller: &str, workno: &str| format!("{PREFIX}/calldata/{caller}/allcallinfoEx/{workno}");
    // Caller not signed in (no GUID, someone else's GUID), or a wrong GUID.
    let r = gw.request(Method::GET, &path("103", "101"), None, None).await;
    assert_eq!((r.status, r.body), (StatusCode::OK, not_signed_in()));
    let r = gw.request(Method::GET, &path("103", "101"), Some(&a.guid()), None).await;
    assert_eq!(r.body, not_signed_in());
    let r = gw
        .request(Method::GET, &path("101", "101"), Some("00000000-0000-0000-0000-000000000000.AgentGateway0"), None)
        .await;
    assert_eq!(r.body, not_signed_in());
    let r = gw.request(Method::GET, &path("101", "101"), None, None).await;
    assert_eq!(r.body, not_signed_in());
    // A malformed caller id never reaches authentication.
    let r = gw.request(Method::GET, &path("abc", "101"), Some(&a.guid()), None).await;
    assert_eq!(r.body, param_invalid());
    // workno malformed, out of range, or not provisioned.
    let bad_workno = err("100-011", "invalid parameter: no such agent");
    for workno in ["abc", "99", "100", "1234567", "60000", "59000", "-101", "101x"] {
        let r = all_calls(&gw, &a, workno).await;
        assert_eq!((r.status, &r.body), (StatusCode::OK, &bad_workno), "{workno}");
    }
    // Leading zeros are tolerated (digits only, value in range).
    assert_eq!(all_calls(&gw, &a, "0102").await.body, ids(&[]));
    // workno in another VDN.
    let r = all_calls(&gw, &a, "601").await;
    assert_eq!(r.body, err("900-002", "no permission: the agent is in another VDN"));
    // And the other way round: an agent of VDN 2 may not look into VDN 1.
    let z = ready(&gw, 601).await;
    assert_eq!(all_calls(&gw, &z, "101").await.body["retcode"], "900-002");
    assert_eq!(all_calls(&gw, &z, "602").await.body, ids(&[]));
    // GET only.
    for m in [Method::POST, Method::PUT, Method::DELETE] {
        let r = a.call(&gw, m.clone(), &path("101", "101"), None).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{m}");
        assert_eq!(r.headers["allow"], "GET");
        assert_eq!(r.body, err("405", "method not allowed"));
    }
    // Case-sensitive, exact path.
    let r = a.call(&gw, Method::GET, &format!("{PREFIX}/calldata/101/allcallinfoex/101"), None).await;
    assert_eq!((r.status, r.body), (StatusCode::NOT_FOUND, err("404", "no such interface")));
    gw.stop().await;
}

#[tokio::test]
async fn allcallinfoex_overload_per_agent() {
    // The vendor defaults: 5 queries per agent per 2 s.
    let gw = start_with(|c| c.limits.calldata_per_agent = 5).await;
    let a = ready(&gw, 101).await;
    let b = ready(&gw, 102).await;
    fresh_window(2000).await;
    for i in 0..5 {
        assert_eq!(all_calls(&gw, &a, "102").await.body, ids(&[]), "query {i}");
    }
    let r = all_calls(&gw, &a, "102").await;
    assert_eq!((r.status, r.body), (StatusCode::OK, overloaded()));
    // Every calldata query counts, and rejected ones count against the same window.
    assert_eq!(a.get(&gw, "calldata", "callnums").await.body, overloaded());
    // Call control is not limited.
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body["retcode"], "200-013");
    // Per agent: another agent still gets answers.
    assert_eq!(all_calls(&gw, &b, "101").await.body, ids(&[]));
    // The next window starts afresh.
    tokio::time::sleep(Duration::from_millis(2000 - now_ms() % 2000 + 20)).await;
    assert_eq!(all_calls(&gw, &a, "102").await.body, ids(&[]));
    gw.stop().await;
}

#[tokio::test]
async fn allcallinfoex_without_a_per_agent_limit() {
    let gw = start_with(|c| c.limits.calldata_per_agent = 0).await;
    let a = ready(&gw, 101).await;
    for i in 0..50 {
        assert_eq!(all_calls(&gw, &a, "102").await.body, ids(&[]), "query {i}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn allcallinfoex_system_limit_across_agents() {
    let gw = start_with(|c| {
        c.limits.calldata_per_agent = 0;
        c.limits.calldata_system = 3;
    })
    .await;
    let a = ready(&gw, 101).await;
    let b = ready(&gw, 102).await;
    let c = ready(&gw, 103).await;
    fresh_window(2000).await;
    assert_eq!(all_calls(&gw, &a, "102").await.body, ids(&[]));
    assert_eq!(all_calls(&gw, &b, "101").await.body, ids(&[]));
    assert_eq!(all_calls(&gw, &c, "101").await.body, ids(&[]));
    for x in [&a, &b, &c] {
        assert_eq!(all_calls(&gw, x, "101").await.body, overloaded(), "agent {}", x.id);
    }
    gw.stop().await;
}

// ----- three-party calls ---------------------------------------------------------------------

#[tokio::test]
async fn conference_after_hold_and_callinner() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    let b = ready(&gw, 102).await;
    let c = ready(&gw, 103).await;
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Hold"]).await;
    let inner = inner_call(&gw, &a, &b, false).await;
    assert_eq!(all_calls(&gw, &c, "101").await.body, ids(&[&cust, &inner]));

    assert_eq!(a.post(&gw, "voicecall", "confjoin", None).await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Conference"]).await;
    assert_event(&evs[0], "AgentEvent_Conference", 101, json!({"callid":cust,"partner":format!("{CUSTOMER},102")}));
    let evs = expect(&gw, &b, &["AgentEvent_Conference"]).await;
    assert_event(&evs[0], "AgentEvent_Conference", 102, json!({"callid":cust,"partner":format!("{CUSTOMER},101")}));
    // One call left, shared by both agents.
    assert_eq!(all_calls(&gw, &c, "101").await.body, ids(&[&cust]));
    assert_eq!(all_calls(&gw, &c, "102").await.body, ids(&[&cust]));
    let r = a.get(&gw, "calldata", "callinfo").await;
    assert_info_body(&r.body, info(&cust, 53, CUSTOMER, ACCESS, ("voice", 1), ACCESS, ""), true, false);
    assert_eq!(a.get(&gw, "calldata", "remotenumbers").await.body, found(json!([CUSTOMER, "102"])));
    assert_eq!(a.get(&gw, "calldata", "callnums").await.body, found(json!(1)));

    // The initiator leaves: the customer and the other agent stay connected.
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    assert_event(&evs[0], "AgentEvent_Call_Release", 101, json!(cust));
    assert_eq!(all_calls(&gw, &c, "102").await.body, ids(&[&cust]));
    assert_eq!(b.get(&gw, "calldata", "remotenumbers").await.body, found(json!([CUSTOMER])));
    quiet(&gw, &b).await;
    gw.stop().await;
}

#[tokio::test]
async fn conference_after_innerhelp() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    let b = ready(&gw, 102).await;
    let r = a.post(&gw, "voicecall", "innerhelp", Some(json!({"dstaddress":102,"devicetype":"2","mode":"1"}))).await;
    let help = call_id(&r.body["result"]);
    expect(&gw, &a, &["AgentEvent_Hold", "AgentEvent_Customer_Alerting"]).await;
    expect(&gw, &b, &["AgentState_Busy", PHONE_ALERTING, PHONE_OFFHOOK, "AgentEvent_Ringing"]).await;
    assert_eq!(b.put(&gw, "voicecall", "answer", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Talking"]).await;
    expect(&gw, &b, &["AgentEvent_Talking"]).await;
    assert_eq!(all_calls(&gw, &b, "101").await.body, ids(&[&cust, &help]));

    assert_eq!(a.post(&gw, "voicecall", "confjoin", None).await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Conference"]).await;
    assert_event(&evs[0], "AgentEvent_Conference", 101, json!({"callid":cust,"partner":format!("{CUSTOMER},102")}));
    let evs = expect(&gw, &b, &["AgentEvent_Conference"]).await;
    assert_event(&evs[0], "AgentEvent_Conference", 102, json!({"callid":cust,"partner":format!("{CUSTOMER},101")}));
    assert_eq!(all_calls(&gw, &b, "101").await.body, ids(&[&cust]));
    assert_eq!(all_calls(&gw, &a, "102").await.body, ids(&[&cust]));
    gw.stop().await;
}

#[tokio::test]
async fn innerhelp_three_party_brings_the_helper_into_the_customer_call() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    let b = ready(&gw, 102).await;
    let r = a.post(&gw, "voicecall", "innerhelp", Some(json!({"dstaddress":"102","devicetype":2,"mode":2}))).await;
    // The helper is rung on the customer's call itself.
    assert_eq!(r.body, ok_id(&cust));
    let evs = expect(&gw, &b, &OFFERED).await;
    assert_offered(&evs, 102, &cust, CUSTOMER, ACCESS, ringing(&cust, CUSTOMER, ACCESS, "assistant", 52, None));
    assert_eq!(b.put(&gw, "voicecall", "answer", None).await.body, ok());
    let evs = expect(&gw, &b, &["AgentEvent_Talking"]).await;
    assert_event(&evs[0], "AgentEvent_Talking", 102, talking(&cust, CUSTOMER, ACCESS, "assistant", 52));
    // The requesting agent is not put on hold and hears of no new call.
    quiet(&gw, &a).await;
    assert_eq!(all_calls(&gw, &b, "101").await.body, ids(&[&cust]));
    assert_eq!(all_calls(&gw, &a, "102").await.body, ids(&[&cust]));
    let r = b.get(&gw, "calldata", "callinfo").await;
    assert_info_body(&r.body, info(&cust, 52, CUSTOMER, ACCESS, ("voice", 1), ACCESS, ""), true, false);
    assert_eq!(a.get(&gw, "calldata", "remotenumbers").await.body, found(json!([CUSTOMER, "102"])));
    gw.stop().await;
}

#[tokio::test]
async fn innerhelp_and_confjoin_errors() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let help = |dst: Value, dt: Value, mode: Value| json!({"dstaddress":dst,"devicetype":dt,"mode":mode});
    let r = a.post(&gw, "voicecall", "innerhelp", Some(help(json!("102"), json!(2), json!(1)))).await;
    assert_eq!(r.body, err("200-018", "no call for internal help"));
    assert_eq!(a.post(&gw, "voicecall", "confjoin", None).await.body, err("200-010", "no call for a three-party call"));
    inbound_talking(&gw, &a, CUSTOMER).await;
    let r = a.post(&gw, "voicecall", "confjoin", None).await;
    assert_eq!(r.body, err("200-011", "no held call for a three-party call"));
    // 102 not signed in; then busy.
    let r = a.post(&gw, "voicecall", "innerhelp", Some(help(json!("102"), json!(2), json!(1)))).await;
    assert_eq!(r.body, no_target());
    let b = ready(&gw, 102).await;
    assert_eq!(b.post(&gw, "onlineagent", "saybusy", None).await.body, ok());
    let r = a.post(&gw, "voicecall", "innerhelp", Some(help(json!("102"), json!(2), json!(1)))).await;
    assert_eq!(r.body, no_target());
    // To a skill with nobody free.
    let r = a.post(&gw, "voicecall", "innerhelp", Some(help(json!("1"), json!(1), json!(1)))).await;
    assert_eq!(r.body, no_target());
    // Bad device type, mode, skill, agent of another VDN, missing address.
    for (dt, mode) in [(json!(3), json!(1)), (json!(2), json!(3)), (json!(0), json!(1))] {
        let r = a.post(&gw, "voicecall", "innerhelp", Some(help(json!("102"), dt.clone(), mode.clone()))).await;
        assert_eq!(r.body, param_invalid(), "{dt} {mode}");
    }
    let r = a.post(&gw, "voicecall", "innerhelp", Some(help(json!("3"), json!(1), json!(1)))).await;
    assert_eq!(r.body, param_invalid());
    let r = a.post(&gw, "voicecall", "innerhelp", Some(help(json!("601"), json!(2), json!(1)))).await;
    assert_eq!(r.body, err("300-001", "no permission to query this agent"));
    assert_eq!(a.post(&gw, "voicecall", "innerhelp", Some(json!({}))).await.body, body_invalid());
    quiet(&gw, &a).await;
    gw.stop().await;
}

#[tokio::test]
async fn innerhelp_to_a_skill_rings_an_idle_agent_of_it() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    let b = ready(&gw, 102).await;
    let r = a.post(&gw, "voicecall", "innerhelp", Some(json!({"dstaddress":"1","devicetype":1}))).await;
    let help = call_id(&r.body["result"]);
    let evs = expect(&gw, &a, &["AgentEvent_Hold", "AgentEvent_Customer_Alerting"]).await;
    assert_event(&evs[0], "AgentEvent_Hold", 101, json!(cust));
    assert_event(&evs[1], "AgentEvent_Customer_Alerting", 101, alerting(&help, "7102", "102"));
    let evs = expect(&gw, &b, &OFFERED).await;
    assert_offered(&evs, 102, &help, "101", "102", ringing(&help, "101", "102", "assistant", 51, None));
    gw.stop().await;
}

// ----- transfers ------------------------------------------------------------------------------

/// 101 talks to a customer; 102 (idle, signed in after the call arrived) is the target.
async fn transfer_setup(gw: &Gateway) -> (Agent, Agent, String) {
    let a = ready(gw, 101).await;
    let cust = inbound_talking(gw, &a, CUSTOMER).await;
    let b = ready(gw, 102).await;
    (a, b, cust)
}

/// What a blind transfer looks like: the transferring agent leaves at once, the target rings
/// with `transfer: yes` and the transferring agent in `transfrom`.
async fn blind_transfer_to_102(gw: &Gateway, body: Value) {
    let (a, b, cust) = transfer_setup(gw).await;
    assert_eq!(a.post(gw, "voicecall", "transfer", Some(body)).await.body, ok());
    let evs = expect(gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    assert_event(&evs[0], "AgentEvent_Call_Release", 101, json!(cust));
    let evs = expect(gw, &b, &OFFERED).await;
    assert_offered(&evs, 102, &cust, CUSTOMER, ACCESS, ringing(&cust, CUSTOMER, ACCESS, "main", 0, Some(101)));
    assert_eq!(all_calls(gw, &b, "101").await.body, ids(&[]));
    assert_eq!(b.put(gw, "voicecall", "answer", None).await.body, ok());
    let evs = expect(gw, &b, &["AgentEvent_Talking"]).await;
    assert_event(&evs[0], "AgentEvent_Talking", 102, talking(&cust, CUSTOMER, ACCESS, "main", 0));
    assert_eq!(all_calls(gw, &a, "102").await.body, ids(&[&cust]));
}

#[tokio::test]
async fn transfer_blind_to_agent() {
    let gw = start().await;
    blind_transfer_to_102(&gw, json!({"devicetype":2,"address":"102","mode":0})).await;
    gw.stop().await;
}

#[tokio::test]
async fn transfer_blind_to_skill() {
    let gw = start().await;
    blind_transfer_to_102(&gw, json!({"devicetype":1,"address":"1","mode":0})).await;
    gw.stop().await;
}

#[tokio::test]
async fn transfer_to_access_code() {
    let gw = start().await;
    blind_transfer_to_102(&gw, json!({"devicetype":4,"address":"10086","mode":0})).await;
    gw.stop().await;
}

#[tokio::test]
async fn transfer_success_to_agent() {
    let gw = start().await;
    let (a, b, cust) = transfer_setup(&gw).await;
    let r = a.post(&gw, "voicecall", "transfer", Some(json!({"devicetype":2,"address":"102","mode":2}))).await;
    assert_eq!(r.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Hold"]).await;
    assert_event(&evs[0], "AgentEvent_Hold", 101, json!(cust));
    let evs = expect(&gw, &b, &OFFERED).await;
    assert_offered(&evs, 102, &cust, CUSTOMER, ACCESS, ringing(&cust, CUSTOMER, ACCESS, "main", 0, None));
    // Until the target answers, both are on the call; the transferring agent holds it.
    assert_eq!(all_calls(&gw, &b, "101").await.body, ids(&[&cust]));
    assert_eq!(all_calls(&gw, &a, "102").await.body, ids(&[&cust]));
    assert_eq!(
        a.post(&gw, "voicecall", "transfer", Some(json!({"devicetype":2,"address":"103"}))).await.body["retcode"],
        "200-012"
    );

    assert_eq!(b.put(&gw, "voicecall", "answer", None).await.body, ok());
    let evs = expect(&gw, &b, &["AgentEvent_Talking"]).await;
    assert_event(&evs[0], "AgentEvent_Talking", 102, talking(&cust, CUSTOMER, ACCESS, "main", 0));
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    assert_event(&evs[0], "AgentEvent_Call_Release", 101, json!(cust));
    assert_eq!(all_calls(&gw, &b, "101").await.body, ids(&[]));
    assert_eq!(all_calls(&gw, &a, "102").await.body, ids(&[&cust]));
    gw.stop().await;
}

#[tokio::test]
async fn transfer_success_to_skill() {
    let gw = start().await;
    let (a, b, cust) = transfer_setup(&gw).await;
    let r = a.post(&gw, "voicecall", "transfer", Some(json!({"devicetype":1,"address":"1","mode":2}))).await;
    assert_eq!(r.body, ok());
    expect(&gw, &a, &["AgentEvent_Hold"]).await;
    expect(&gw, &b, &["AgentState_Busy", PHONE_ALERTING, PHONE_OFFHOOK, "AgentEvent_Ringing"]).await;
    assert_eq!(b.put(&gw, "voicecall", "answer", None).await.body, ok());
    expect(&gw, &b, &["AgentEvent_Talking"]).await;
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    assert_event(&evs[0], "AgentEvent_Call_Release", 101, json!(cust));
    gw.stop().await;
}

#[tokio::test]
async fn transfer_to_an_external_number() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    let r = a.post(&gw, "voicecall", "transfer", Some(json!({"devicetype":5,"address":"13800000000","mode":1}))).await;
    assert_eq!(r.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    assert_event(&evs[0], "AgentEvent_Call_Release", 101, json!(cust));
    // The customer and the external number are connected once it answers (50 ms).
    let expected = json!([{
        "callId": cust, "vdn": 1, "feature": 0, "caller": CUSTOMER, "called": ACCESS, "skillId": 1,
        "queued": false,
        "parties": [
            {"kind":"remote","id":CUSTOMER,"state":"talking"},
            {"kind":"remote","id":"13800000000","state":"talking"},
        ],
    }]);
    let mut calls = Value::Null;
    for _ in 0..100 {
        calls = live_calls(&gw).await;
        if calls == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(calls, expected);
    gw.stop().await;
}

#[tokio::test]
async fn transfer_errors() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let t = |dt: Value, addr: &str, mode: Value| json!({"devicetype":dt,"address":addr,"mode":mode});
    let no_call = err("200-012", "no call to transfer");
    assert_eq!(a.post(&gw, "voicecall", "transfer", Some(t(json!(2), "102", json!(0)))).await.body, no_call);
    inbound_talking(&gw, &a, CUSTOMER).await;
    // Invalid device types and modes.
    for (dt, addr, mode) in [
        (json!(3), "1", json!(0)),
        (json!(0), "102", json!(0)),
        (json!(9), "102", json!(0)),
        (json!(2), "102", json!(1)),
        (json!(2), "102", json!(3)),
        (json!(1), "1", json!(1)),
        (json!(4), "10086", json!(3)),
        (json!(5), "13800000000", json!(0)),
        (json!(5), "13800000000", json!(3)),
    ] {
        let r = a.post(&gw, "voicecall", "transfer", Some(t(dt.clone(), addr, mode.clone()))).await;
        assert_eq!(r.body, param_invalid(), "devicetype {dt} mode {mode}");
    }
    // Unknown or foreign targets.
    for (dt, addr) in [(1, "3"), (1, "99"), (2, "601"), (2, "59000"), (2, "abc"), (4, "20086"), (4, "999")] {
        let r = a.post(&gw, "voicecall", "transfer", Some(t(json!(dt), addr, json!(0)))).await;
        assert_eq!(r.body, param_invalid(), "devicetype {dt} address {addr}");
    }
    let r = a.post(&gw, "voicecall", "transfer", Some(t(json!(2), &"1".repeat(25), json!(0)))).await;
    assert_eq!(r.body, param_invalid());
    let r = a.post(&gw, "voicecall", "transfer", Some(t(json!(5), "12ab", json!(1)))).await;
    assert_eq!(r.body, err("200-001", "wrong number"));
    // Missing fields.
    assert_eq!(a.post(&gw, "voicecall", "transfer", Some(json!({"address":"102"}))).await.body, body_invalid());
    assert_eq!(a.post(&gw, "voicecall", "transfer", Some(json!({"devicetype":2}))).await.body, body_invalid());
    // Target not signed in; itself.
    assert_eq!(a.post(&gw, "voicecall", "transfer", Some(t(json!(2), "102", json!(0)))).await.body, no_target());
    assert_eq!(a.post(&gw, "voicecall", "transfer", Some(t(json!(2), "101", json!(0)))).await.body, param_invalid());
    // Success transfer to a skill with nobody free.
    assert_eq!(a.post(&gw, "voicecall", "transfer", Some(t(json!(1), "1", json!(2)))).await.body, no_target());
    // The call is untouched.
    quiet(&gw, &a).await;
    gw.stop().await;
}

// ----- release by each party ---------------------------------------------------------------------

#[tokio::test]
async fn agent_releases_the_call() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, err("200-017", "no call to release"));
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    assert_event(&evs[0], "AgentEvent_Call_Release", 101, json!(cust));
    // The agent's own release: its phone is on the hook by the agent (2).
    assert_event(&evs[1], PHONE_RELEASE, 101, on_hook(2));
    assert_event(&evs[2], "AgentState_Ready", 101, Value::Null);
    assert_eq!(live_calls(&gw).await, json!([]));
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, err("200-017", "no call to release"));
    let r = a.get(&gw, "onlineagent", "agentstatus").await;
    assert_eq!(r.body, found(json!({"agentState":4,"isWorking":false})));
    gw.stop().await;
}

#[tokio::test]
async fn releasing_a_ringing_call_sends_it_back_to_the_queue() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let cust = inbound_ringing(&gw, &a, CUSTOMER).await;
    let b = ready(&gw, 102).await;
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    // 101 is idle again but 102 has been idle longer: 102 gets the call.
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    assert_event(&evs[0], "AgentEvent_Call_Release", 101, json!(cust));
    // Rejecting is the agent's own release.
    assert_event(&evs[1], PHONE_RELEASE, 101, on_hook(2));
    let evs = expect(&gw, &b, &OFFERED).await;
    assert_offered(&evs, 102, &cust, CUSTOMER, ACCESS, ringing(&cust, CUSTOMER, ACCESS, "main", 0, None));
    gw.stop().await;
}

#[tokio::test]
async fn wrap_up_after_a_call_without_auto_enter_idle() {
    let gw = start().await;
    let a =
        gw.sign_in_with(101, json!({"password":"ccgw-demo","status":4,"autoanswer":false,"autoenteridle":false})).await;
    expect(&gw, &a, &["AgentOther_InService", "AgentState_Ready"]).await;
    inbound_talking(&gw, &a, CUSTOMER).await;
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Work"]).await;
    let r = a.get(&gw, "onlineagent", "agentstatus").await;
    assert_eq!(r.body, found(json!({"agentState":5,"isWorking":true})));
    gw.stop().await;
}

#[tokio::test]
async fn customer_hangs_up() {
    let gw = start_with(|c| {
        c.telephony.rules.push(TelephonyRule {
            pattern: "1388*".into(),
            hangup_after_ms: Some(1500),
            ..Default::default()
        })
    })
    .await;
    let a = ready(&gw, 101).await;
    let caller = "13880000000";
    let cust = inbound_talking(&gw, &a, caller).await;
    let evs =
        expect(&gw, &a, &["AgentEvent_Customer_Release", "AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"])
            .await;
    assert_event(&evs[0], "AgentEvent_Customer_Release", 101, json!({"callid":cust,"number":caller}));
    assert_event(&evs[1], "AgentEvent_Call_Release", 101, json!(cust));
    // The customer hung up: the platform puts the agent's phone on the hook (3).
    assert_event(&evs[2], PHONE_RELEASE, 101, on_hook(3));
    assert_eq!(all_calls(&gw, &a, "101").await.body, ids(&[]));
    // The last call is still described by callinfo, now with its end time.
    let r = a.get(&gw, "calldata", "callinfo").await;
    assert_info_body(&r.body, info(&cust, 0, caller, ACCESS, ("voice", 1), ACCESS, ""), true, true);
    gw.stop().await;
}

#[tokio::test]
async fn dropcall_by_call_id() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let no_call = json!({"message":"no call can be droped","retcode":"200-025"});
    assert_eq!(a.post(&gw, "voicecall", "dropcall/1456297722-1253", None).await.body, no_call);
    assert_eq!(a.post(&gw, "voicecall", "dropcall/abc", None).await.body, param_invalid());
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    // A held call can be dropped by its id.
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Hold"]).await;
    assert_eq!(a.post(&gw, "voicecall", &format!("dropcall/{cust}"), None).await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    assert_event(&evs[0], "AgentEvent_Call_Release", 101, json!(cust));
    assert_eq!(a.post(&gw, "voicecall", &format!("dropcall/{cust}"), None).await.body, no_call);
    // Another agent's call cannot be dropped.
    let b = ready(&gw, 102).await;
    let other = inbound_talking(&gw, &a, "13900000002").await;
    assert_eq!(b.post(&gw, "voicecall", &format!("dropcall/{other}"), None).await.body, no_call);
    assert_eq!(a.post(&gw, "voicecall", "dropcall", None).await.status, StatusCode::NOT_FOUND);
    gw.stop().await;
}

#[tokio::test]
async fn disconnect_one_party() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.post(&gw, "voicecall", "disconnect/123", None).await.body, err("200-017", "no call to release"));
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    // Not a party of the call; not a number.
    assert_eq!(a.post(&gw, "voicecall", "disconnect/123", None).await.body, param_invalid());
    assert_eq!(a.post(&gw, "voicecall", "disconnect/abc", None).await.body, param_invalid());
    assert_eq!(a.post(&gw, "voicecall", &format!("disconnect/{CUSTOMER}"), None).await.body, ok());
    let evs =
        expect(&gw, &a, &["AgentEvent_Customer_Release", "AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"])
            .await;
    assert_event(&evs[0], "AgentEvent_Customer_Release", 101, json!({"callid":cust,"number":CUSTOMER}));
    assert_event(&evs[1], "AgentEvent_Call_Release", 101, json!(cust));
    assert_eq!(live_calls(&gw).await, json!([]));

    // In an inner call the other agent is named by its work number.
    let b = ready(&gw, 102).await;
    let inner = inner_call(&gw, &a, &b, true).await;
    assert_eq!(a.post(&gw, "voicecall", "disconnect/102", None).await.body, ok());
    for x in [&b, &a] {
        let evs = expect(&gw, x, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
        assert_event(&evs[0], "AgentEvent_Call_Release", x.id, json!(inner));
    }
    gw.stop().await;
}

#[tokio::test]
async fn mute_and_unmute() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.post(&gw, "voicecall", "beginmute", None).await.body, err("200-003", "no call to mute"));
    assert_eq!(a.post(&gw, "voicecall", "endmute", None).await.body, err("200-007", "no call to unmute"));
    inbound_ringing(&gw, &a, CUSTOMER).await;
    // Ringing is no call to mute.
    assert_eq!(a.post(&gw, "voicecall", "beginmute", None).await.body, err("200-003", "no call to mute"));
    assert_eq!(a.put(&gw, "voicecall", "answer", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Talking"]).await;
    let not_muted = err("200-008", "call state does not allow unmute");
    assert_eq!(a.post(&gw, "voicecall", "endmute", None).await.body, not_muted);
    assert_eq!(a.post(&gw, "voicecall", "beginmute", None).await.body, ok());
    let r = a.post(&gw, "voicecall", "beginmute", None).await;
    assert_eq!(r.body, err("200-004", "call state does not allow mute"));
    assert_eq!(a.post(&gw, "voicecall", "endmute", None).await.body, ok());
    assert_eq!(a.post(&gw, "voicecall", "endmute", None).await.body, not_muted);
    // Muting raises no event.
    quiet(&gw, &a).await;
    gw.stop().await;
}

#[tokio::test]
async fn connecthold_joins_the_held_customer_with_the_other_agent() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.post(&gw, "voicecall", "connecthold/1-1", None).await.body, err("200-005", "no call to connect"));
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    let b = ready(&gw, 102).await;
    let c = ready(&gw, 103).await;
    // Talking but nothing held.
    let no_held = err("200-006", "no held call to connect");
    assert_eq!(a.post(&gw, "voicecall", &format!("connecthold/{cust}"), None).await.body, no_held);
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Hold"]).await;
    let inner = inner_call(&gw, &a, &b, false).await;
    assert_eq!(a.post(&gw, "voicecall", "connecthold/1-1", None).await.body, no_held);
    assert_eq!(a.post(&gw, "voicecall", "connecthold/x", None).await.body, param_invalid());

    assert_eq!(a.post(&gw, "voicecall", &format!("connecthold/{cust}"), None).await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    assert_event(&evs[0], "AgentEvent_Call_Release", 101, json!(cust));
    let evs = expect(&gw, &b, &["AgentEvent_Talking"]).await;
    assert_event(&evs[0], "AgentEvent_Talking", 102, talking(&cust, CUSTOMER, ACCESS, "main", 0));
    assert_eq!(all_calls(&gw, &c, "101").await.body, ids(&[]));
    assert_eq!(all_calls(&gw, &c, "102").await.body, ids(&[&cust]));
    assert_eq!(b.get(&gw, "calldata", "remotenumbers").await.body, found(json!([CUSTOMER])));
    assert_ne!(inner, cust);
    gw.stop().await;
}

// ----- calldata ---------------------------------------------------------------------------------

#[tokio::test]
async fn callinfo_family() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let empty = found(json!({}));
    assert_eq!(a.get(&gw, "calldata", "callinfo").await.body, empty);
    assert_eq!(a.get(&gw, "calldata", "callinfobeforeanswer").await.body, empty);

    let cust = gw.inject_call(CUSTOMER, ACCESS, "order=42").await;
    expect(&gw, &a, &["AgentState_Busy", PHONE_ALERTING, PHONE_OFFHOOK, "AgentEvent_Ringing"]).await;
    let expected = info(&cust, 0, CUSTOMER, ACCESS, ("voice", 1), ACCESS, "order=42");
    let r = a.get(&gw, "calldata", "callinfobeforeanswer").await;
    assert_info_body(&r.body, expected.clone(), false, false);
    let r = a.get(&gw, "calldata", "callinfo").await;
    assert_info_body(&r.body, expected.clone(), false, false);

    assert_eq!(a.put(&gw, "voicecall", "answer", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Talking"]).await;
    let r = a.get(&gw, "calldata", "callinfo").await;
    assert_info_body(&r.body, expected.clone(), true, false);
    let answered = r.body["result"]["begintime"].as_u64().unwrap();
    assert!(answered <= now_ms());
    let r = a.get(&gw, "calldata", &format!("callinfobycallid/{cust}")).await;
    assert_info_body(&r.body, expected.clone(), true, false);
    assert_eq!(r.body["result"]["begintime"], answered);
    // Answered: nothing before answering any more.
    assert_eq!(a.get(&gw, "calldata", "callinfobeforeanswer").await.body, empty);
    let unknown = err("100-007", "internal error");
    assert_eq!(a.get(&gw, "calldata", "callinfobycallid/1-1").await.body, unknown);
    assert_eq!(a.get(&gw, "calldata", "callinfobycallid/abc").await.body, param_invalid());
    // Another agent cannot read this call by id.
    let b = ready(&gw, 102).await;
    assert_eq!(b.get(&gw, "calldata", &format!("callinfobycallid/{cust}")).await.body, unknown);

    // After the call: the last call (with its end time), unless asked not to.
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    let r = a.get(&gw, "calldata", "callinfo").await;
    assert_info_body(&r.body, expected.clone(), true, true);
    let r = a.get(&gw, "calldata", "callinfo?isNoContainLastCall=false").await;
    assert_info_body(&r.body, expected.clone(), true, true);
    assert_eq!(a.get(&gw, "calldata", "callinfo?isNoContainLastCall=true").await.body, empty);
    assert_eq!(a.get(&gw, "calldata", "callinfo?isNoContainLastCall=maybe").await.body, param_invalid());
    let r = a.get(&gw, "calldata", &format!("callinfobycallid/{cust}")).await;
    assert_info_body(&r.body, expected, true, true);
    // Query interfaces are GET only.
    let r = a.post(&gw, "calldata", "callinfo", None).await;
    assert_eq!((r.status, r.headers["allow"].to_str().unwrap()), (StatusCode::METHOD_NOT_ALLOWED, "GET"));
    gw.stop().await;
}

#[tokio::test]
async fn callnums_holdlist_and_holdlistex() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let b = ready(&gw, 102).await;
    let no_held = err("400-003", "no held call");
    assert_eq!(a.get(&gw, "calldata", "callnums").await.body, found(json!(0)));
    assert_eq!(a.get(&gw, "calldata", "holdlist").await.body, no_held);
    assert_eq!(b.get(&gw, "calldata", "holdlistex/101").await.body, no_held);

    // 102 has been idle longer, so sign it out and back in: the customer goes to 101.
    assert_eq!(b.delete(&gw, "onlineagent", "logout").await.body, ok());
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    let b = ready(&gw, 102).await;
    let c = ready(&gw, 103).await;
    assert_eq!(a.get(&gw, "calldata", "callnums").await.body, found(json!(1)));
    assert_eq!(a.get(&gw, "calldata", "holdlist").await.body, no_held);
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Hold"]).await;
    let inner = inner_call(&gw, &a, &b, false).await;
    assert_eq!(a.get(&gw, "calldata", "callnums").await.body, found(json!(2)));
    assert_eq!(b.get(&gw, "calldata", "callnums").await.body, found(json!(1)));

    let r = a.get(&gw, "calldata", "holdlist").await;
    assert_eq!(r.body["retcode"], "0");
    let list = r.body["result"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", r.body);
    assert_info(&list[0], info(&cust, 0, CUSTOMER, ACCESS, ("voice", 1), ACCESS, ""), true, false);
    // holdlistex: five fields per held call, for any agent of the VDN.
    let held = found(json!([{"callfeature":0,"callid":cust,"caller":CUSTOMER,"called":ACCESS,"callskill":"voice"}]));
    assert_eq!(c.get(&gw, "calldata", "holdlistex/101").await.body, held);
    assert_eq!(a.get(&gw, "calldata", "holdlistex/101").await.body, held);
    assert_eq!(c.get(&gw, "calldata", "holdlistex/102").await.body, no_held);
    assert_eq!(
        c.get(&gw, "calldata", "holdlistex/601").await.body,
        err("300-001", "no permission to query this agent")
    );
    assert_eq!(c.get(&gw, "calldata", "holdlistex/59000").await.body, err("300-002", "no such agent"));
    assert_eq!(c.get(&gw, "calldata", "holdlistex/abc").await.body, param_invalid());
    assert_eq!(c.get(&gw, "calldata", "holdlistex/99").await.body, param_invalid());
    assert_ne!(inner, cust);
    gw.stop().await;
}

#[tokio::test]
async fn appdata_and_setcalldataex() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let internal = err("100-007", "internal error");
    assert_eq!(a.get(&gw, "calldata", "appdata").await.body, internal);
    let set = |call: &str, data: &str| json!({"callid":call,"calldata":data});
    let r = a.put(&gw, "calldata", "setcalldataex", Some(set("1-1", "x"))).await;
    assert_eq!(r.body, err("400-001", "no call to set call data on"));

    let cust = gw.inject_call(CUSTOMER, ACCESS, "order=42").await;
    expect(&gw, &a, &["AgentState_Busy", PHONE_ALERTING, PHONE_OFFHOOK, "AgentEvent_Ringing"]).await;
    assert_eq!(a.get(&gw, "calldata", "appdata").await.body, found(json!("order=42")));
    let r = a.get(&gw, "calldata", &format!("appdata?isEncodeResult=false&callId={cust}")).await;
    assert_eq!(r.body, found(json!("order=42")));
    assert_eq!(a.get(&gw, "calldata", "appdata?callId=1-1").await.body, internal);
    assert_eq!(a.get(&gw, "calldata", "appdata?callId=zz").await.body, param_invalid());

    assert_eq!(a.put(&gw, "calldata", "setcalldataex", Some(set(&cust, "x"))).await.body, ok());
    assert_eq!(a.get(&gw, "calldata", "appdata").await.body, found(json!("x")));
    assert_eq!(a.get(&gw, "calldata", "callinfo").await.body["result"]["calldata"], "x");
    // Exactly 16 KB is accepted; one byte more is not.
    let max = "d".repeat(16 * 1024);
    assert_eq!(a.put(&gw, "calldata", "setcalldataex", Some(set(&cust, &max))).await.body, ok());
    let r = a.put(&gw, "calldata", "setcalldataex", Some(set(&cust, &format!("{max}d")))).await;
    assert_eq!(r.body, param_invalid());
    assert_eq!(a.get(&gw, "calldata", "appdata").await.body, found(json!(max)));
    let r = a
        .put(&gw, "calldata", "setcalldataex", Some(json!({"callid":cust,"calldata":"y","isDataEncoded":false})))
        .await;
    assert_eq!(r.body, ok());
    // Malformed or missing call id; not a JSON object.
    assert_eq!(a.put(&gw, "calldata", "setcalldataex", Some(set("abc", "x"))).await.body, param_invalid());
    assert_eq!(a.put(&gw, "calldata", "setcalldataex", Some(json!({"calldata":"x"}))).await.body, body_invalid());
    assert_eq!(a.put(&gw, "calldata", "setcalldataex", Some(json!([1]))).await.body, body_invalid());
    // Another agent's call.
    let b = ready(&gw, 102).await;
    let r = b.put(&gw, "calldata", "setcalldataex", Some(set(&cust, "z"))).await;
    assert_eq!(r.body, err("400-001", "no call to set call data on"));
    assert_eq!(a.get(&gw, "calldata", "appdata").await.body, found(json!("y")));
    gw.stop().await;
}

#[tokio::test]
async fn statistics_ex_counts_calls() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let stats = |talktime: u64, answernums: u32, calloutnums: u32| {
        found(json!({"talktime":talktime,"answernums":answernums,"calloutnums":calloutnums}))
    };
    assert_eq!(a.get(&gw, "calldata", "statisticsEx").await.body, stats(0, 0, 0));
    inbound_talking(&gw, &a, CUSTOMER).await;
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    a.put(&gw, "voicecall", "callout", Some(json!({"called":"13900000000"}))).await;
    expect(
        &gw,
        &a,
        &[PHONE_ALERTING, PHONE_OFFHOOK, "AgentState_Busy", "AgentEvent_Customer_Alerting", "AgentEvent_Talking"],
    )
    .await;
    let r = a.get(&gw, "calldata", "statisticsEx").await;
    let talktime = r.body["result"]["talktime"].as_u64().expect("talktime in seconds");
    assert!(talktime < 60, "{talktime}");
    assert_eq!(r.body, stats(talktime, 1, 1));
    gw.stop().await;
}

#[tokio::test]
async fn remotenumbers() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.get(&gw, "calldata", "remotenumbers").await.body, found(json!([])));
    inbound_ringing(&gw, &a, CUSTOMER).await;
    assert_eq!(a.get(&gw, "calldata", "remotenumbers").await.body, found(json!([CUSTOMER])));
    gw.stop().await;
}

#[tokio::test]
async fn calldata_interfaces_need_a_signed_in_caller() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    for suffix in [
        "callinfo",
        "appdata",
        "holdlist",
        "callinfobeforeanswer",
        "callinfobycallid/1-1",
        "allcallinfoEx/101",
        "callnums",
        "statisticsEx",
        "holdlistex/101",
        "remotenumbers",
    ] {
        let r = gw.request(Method::GET, &format!("{PREFIX}/calldata/101/{suffix}"), Some("wrong"), None).await;
        assert_eq!(r.body, not_signed_in(), "{suffix}");
        let r = gw.request(Method::GET, &format!("{PREFIX}/calldata/102/{suffix}"), Some(&a.guid()), None).await;
        assert_eq!(r.body, not_signed_in(), "{suffix}");
    }
    gw.stop().await;
}

// ----- operator API -----------------------------------------------------------------------------

#[tokio::test]
async fn operator_api_injects_and_lists_calls() {
    let gw = start().await;
    let body = json!({"caller":CUSTOMER,"accessCode":ACCESS});
    let r = admin(&gw, Method::POST, "/admin/calls", None, Some(body.clone())).await;
    assert_eq!((r.status, r.body), (StatusCode::UNAUTHORIZED, json!({"error":"missing or wrong bearer token"})));
    let r = admin(&gw, Method::POST, "/admin/calls", Some("wrong-token"), Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = admin(&gw, Method::GET, "/admin/calls", Some(&format!("{TOKEN}x")), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = admin(&gw, Method::GET, "/admin/calls", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = admin(&gw, Method::POST, "/admin/calls", Some(TOKEN), Some(json!({"caller":CUSTOMER,"accessCode":"999"})))
        .await;
    assert_eq!((r.status, r.body), (StatusCode::NOT_FOUND, json!({"error":"no such access code"})));
    let r = admin(&gw, Method::POST, "/admin/calls", Some(TOKEN), Some(json!({"caller":CUSTOMER,"skillId":99}))).await;
    assert_eq!((r.status, r.body), (StatusCode::NOT_FOUND, json!({"error":"no such skill"})));
    let r = admin(&gw, Method::POST, "/admin/calls", Some(TOKEN), Some(json!({"caller":CUSTOMER}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r =
        admin(&gw, Method::POST, "/admin/calls", Some(TOKEN), Some(json!({"caller":"abc","accessCode":ACCESS}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(live_calls(&gw).await, json!([]));

    // Nobody signed in: the calls wait in their queues.
    let r = admin(&gw, Method::POST, "/admin/calls", Some(TOKEN), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let first = call_id(&r.body["callId"]);
    assert_eq!(r.body, json!({"callId":first}));
    let r =
        admin(&gw, Method::POST, "/admin/calls", Some(TOKEN), Some(json!({"caller":"13900000002","skillId":3}))).await;
    let second = call_id(&r.body["callId"]);
    let queued = |id: &str, vdn: u32, caller: &str, called: &str, skill: u32| {
        json!({
            "callId": id, "vdn": vdn, "feature": 0, "caller": caller, "called": called, "skillId": skill,
            "queued": true, "parties": [{"kind":"remote","id":caller,"state":"talking"}],
        })
    };
    let calls = live_calls(&gw).await;
    assert_eq!(calls, json!([queued(&first, 1, CUSTOMER, ACCESS, 1), queued(&second, 2, "13900000002", "20086", 3)]));

    // An agent signs in: the VDN 1 call rings there.
    let a = gw.sign_in(101).await;
    expect(
        &gw,
        &a,
        &[
            "AgentOther_InService",
            "AgentState_Ready",
            "AgentState_Busy",
            PHONE_ALERTING,
            PHONE_OFFHOOK,
            "AgentEvent_Ringing",
        ],
    )
    .await;
    let calls = live_calls(&gw).await;
    assert_eq!(calls[0]["queued"], false);
    assert_eq!(
        calls[0]["parties"],
        json!([{"kind":"remote","id":CUSTOMER,"state":"talking"},{"kind":"agent","id":"101","state":"alerting"}])
    );
    assert_eq!(calls[1], queued(&second, 2, "13900000002", "20086", 3));
    gw.stop().await;
}

// ----- more routing and release paths --------------------------------------------------------

#[tokio::test]
async fn calls_go_only_to_agents_with_the_skill_in_the_vdn() {
    let gw = start().await;
    // 151 (skill 1 only) and 601 (VDN 2) have been idle longest; 101 has skills 1 and 2.
    let only_voice = ready(&gw, 151).await;
    let other_vdn = ready(&gw, 601).await;
    let vip = ready(&gw, 101).await;
    let id = gw.inject_call(CUSTOMER, "10087", "").await;
    let evs = expect(&gw, &vip, &OFFERED).await;
    assert_offered(&evs, 101, &id, CUSTOMER, "10087", ringing(&id, CUSTOMER, "10087", "main", 0, None));
    let r = vip.get(&gw, "calldata", "callinfobeforeanswer").await;
    assert_info_body(&r.body, info(&id, 0, CUSTOMER, "10087", ("vip", 2), "10087", ""), false, false);
    let id2 = gw.inject_call("13900000002", "20086", "").await;
    let evs = expect(&gw, &other_vdn, &OFFERED).await;
    assert_offered(&evs, 601, &id2, "13900000002", "20086", ringing(&id2, "13900000002", "20086", "main", 0, None));
    quiet(&gw, &only_voice).await;
    // Call ids are unique across VDNs.
    assert_ne!(id, id2);
    gw.stop().await;
}

#[tokio::test]
async fn an_unanswered_offer_times_out_and_goes_to_the_next_agent() {
    let gw = start_with(|c| c.engine.ring_timeout_ms = 400).await;
    let a = ready(&gw, 101).await;
    let cust = inbound_ringing(&gw, &a, CUSTOMER).await;
    let b = ready(&gw, 102).await;
    let evs = expect(
        &gw,
        &a,
        &["AgentEvent_No_Answer", "AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_SetNotReady_Success"],
    )
    .await;
    assert_event(&evs[0], "AgentEvent_No_Answer", 101, json!(cust));
    assert_event(&evs[1], "AgentEvent_Call_Release", 101, json!(cust));
    // The platform took the call back and hung up the phone; busy with reason 2 (a string).
    assert_event(&evs[2], PHONE_RELEASE, 101, on_hook(3));
    assert_event(&evs[3], "AgentState_SetNotReady_Success", 101, json!({"reason":"2"}));
    let evs = expect(&gw, &b, &OFFERED).await;
    assert_offered(&evs, 102, &cust, CUSTOMER, ACCESS, ringing(&cust, CUSTOMER, ACCESS, "main", 0, None));
    let r = a.get(&gw, "onlineagent", "agentstatus").await;
    assert_eq!(r.body, found(json!({"agentState":3,"isWorking":false})));
    gw.stop().await;
}

#[tokio::test]
async fn customer_hangs_up_while_ringing_or_queued() {
    let gw = start_with(|c| {
        c.telephony.rules.push(TelephonyRule {
            pattern: "1388*".into(),
            hangup_after_ms: Some(300),
            ..Default::default()
        })
    })
    .await;
    // Queued: the call just goes away.
    let queued = gw.inject_call("13880000001", ACCESS, "").await;
    assert_eq!(live_calls(&gw).await[0]["callId"], queued.as_str());
    let mut calls = Value::Null;
    for _ in 0..100 {
        calls = live_calls(&gw).await;
        if calls == json!([]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(calls, json!([]));
    let a = ready(&gw, 101).await;
    // Ringing: the agent hears of it and is free again.
    let caller = "13880000002";
    let cust = inbound_ringing(&gw, &a, caller).await;
    let evs =
        expect(&gw, &a, &["AgentEvent_Customer_Release", "AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"])
            .await;
    assert_event(&evs[0], "AgentEvent_Customer_Release", 101, json!({"callid":cust,"number":caller}));
    assert_eq!(live_calls(&gw).await, json!([]));
    gw.stop().await;
}

#[tokio::test]
async fn far_end_of_a_callout_hangs_up() {
    let gw = start_with(|c| {
        c.telephony.rules.push(TelephonyRule {
            pattern: "777".into(),
            answer_after_ms: 20,
            hangup_after_ms: Some(200),
            ..Default::default()
        })
    })
    .await;
    let a = ready(&gw, 101).await;
    let r = a.put(&gw, "voicecall", "callout", Some(json!({"called":"777"}))).await;
    let id = call_id(&r.body["result"]);
    let evs = expect(
        &gw,
        &a,
        &[
            PHONE_ALERTING,
            PHONE_OFFHOOK,
            "AgentState_Busy",
            "AgentEvent_Customer_Alerting",
            "AgentEvent_Talking",
            "AgentEvent_Customer_Release",
            "AgentEvent_Call_Release",
            PHONE_RELEASE,
            "AgentState_Ready",
        ],
    )
    .await;
    assert_event(&evs[5], "AgentEvent_Customer_Release", 101, json!({"callid":id,"number":"777"}));
    assert_event(&evs[6], "AgentEvent_Call_Release", 101, json!(id));
    // The far end hung up: the platform hangs up the agent's phone (3).
    assert_event(&evs[7], PHONE_RELEASE, 101, on_hook(3));
    gw.stop().await;
}

#[tokio::test]
async fn help_call_rejected_or_customer_disconnect_while_held() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    let b = ready(&gw, 102).await;
    let r = a.post(&gw, "voicecall", "innerhelp", Some(json!({"dstaddress":"102"}))).await;
    let help = call_id(&r.body["result"]);
    expect(&gw, &a, &["AgentEvent_Hold", "AgentEvent_Customer_Alerting"]).await;
    expect(&gw, &b, &["AgentState_Busy", PHONE_ALERTING, PHONE_OFFHOOK, "AgentEvent_Ringing"]).await;
    // The held customer is not a party of the help call: it cannot be disconnected from it.
    assert_eq!(a.post(&gw, "voicecall", &format!("disconnect/{CUSTOMER}"), None).await.body, param_invalid());
    // The helper rejects: the help call ends, the customer stays held.
    assert_eq!(b.delete(&gw, "voicecall", "release").await.body, ok());
    let evs = expect(&gw, &b, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    assert_event(&evs[0], "AgentEvent_Call_Release", 102, json!(help));
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release"]).await;
    assert_event(&evs[0], "AgentEvent_Call_Release", 101, json!(help));
    assert_eq!(all_calls(&gw, &b, "101").await.body, ids(&[&cust]));
    // With only a held call there is no current call to release.
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, err("200-017", "no call to release"));
    assert_eq!(a.post(&gw, "voicecall", "gethold", None).await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Talking"]).await;
    assert_event(&evs[0], "AgentEvent_Talking", 101, talking(&cust, CUSTOMER, ACCESS, "main", 0));
    gw.stop().await;
}

#[tokio::test]
async fn customer_hangs_up_during_a_success_transfer() {
    let gw = start_with(|c| {
        c.telephony.rules.push(TelephonyRule {
            pattern: "1388*".into(),
            hangup_after_ms: Some(1500),
            ..Default::default()
        })
    })
    .await;
    let a = ready(&gw, 101).await;
    let caller = "13880000000";
    let cust = inbound_talking(&gw, &a, caller).await;
    let b = ready(&gw, 102).await;
    let r = a.post(&gw, "voicecall", "transfer", Some(json!({"devicetype":2,"address":"102","mode":2}))).await;
    assert_eq!(r.body, ok());
    expect(&gw, &a, &["AgentEvent_Hold"]).await;
    expect(&gw, &b, &["AgentState_Busy", PHONE_ALERTING, PHONE_OFFHOOK, "AgentEvent_Ringing"]).await;
    // The customer leaves while 102 still rings: there is nobody left to transfer, the call ends
    // for both agents at once (rather than ringing on until the ring time-out).
    let release = json!({"callid":cust,"number":caller});
    for x in [&a, &b] {
        let evs = expect(
            &gw,
            x,
            &["AgentEvent_Customer_Release", "AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"],
        )
        .await;
        assert_event(&evs[0], "AgentEvent_Customer_Release", x.id, release.clone());
        assert_event(&evs[1], "AgentEvent_Call_Release", x.id, json!(cust));
    }
    assert_eq!(live_calls(&gw).await, json!([]));
    gw.stop().await;
}

// ----- the agent's phone ------------------------------------------------------------------------

/// What is left in an agent's mailbox after its session ended (its GUID no longer polls), as the
/// poll would have delivered it.
async fn left_in_mailbox(gw: &Gateway, id: u32) -> Vec<Value> {
    use ccgw_store::Store;
    let store = &gw.running().gateway.store;
    let mut out = Vec::new();
    while let Some(ev) = store.next_event(ccgw_domain::AgentId(id), None, Duration::ZERO).await {
        out.push(serde_json::to_value(ccgw_wire::event::wire_event(&ev)).unwrap());
    }
    out
}

#[tokio::test]
async fn forced_sign_out_mid_call_hangs_up_the_phone() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    assert_eq!(a.delete(&gw, "onlineagent", "forcelogout").await.body, ok());
    let evs = left_in_mailbox(&gw, 101).await;
    assert_eq!(Agent::types(&evs), ["AgentEvent_Call_Release", PHONE_RELEASE, "AgentOther_ShutdownService"]);
    assert_event(&evs[0], "AgentEvent_Call_Release", 101, json!(cust));
    // The platform ended the session: on-hook by the platform.
    assert_event(&evs[1], PHONE_RELEASE, 101, on_hook(3));
    gw.stop().await;
}

#[tokio::test]
async fn always_off_hook_agent_releasephone_false() {
    let gw = start().await;
    let a = gw
        .sign_in_with(
            101,
            json!({"password":"ccgw-demo","phonenum":"7101","status":"4","autoanswer":"false","releasephone":"false"}),
        )
        .await;
    expect(&gw, &a, &["AgentOther_InService", "AgentState_Ready"]).await;
    // Its first call rings the phone as for anyone ...
    let first = inbound_talking(&gw, &a, CUSTOMER).await;
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    // ... which then stays off the hook: no PhoneRelease after the call ...
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release", "AgentState_Ready"]).await;
    assert_event(&evs[0], "AgentEvent_Call_Release", 101, json!(first));
    // ... and no PhoneAlerting or PhoneOffhook before the next one, offered or placed.
    let second = gw.inject_call("13900000002", ACCESS, "").await;
    let evs = expect(&gw, &a, &["AgentState_Busy", "AgentEvent_Ringing"]).await;
    assert_event(&evs[1], "AgentEvent_Ringing", 101, ringing(&second, "13900000002", ACCESS, "main", 0, None));
    assert_eq!(a.put(&gw, "voicecall", "answer", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Talking"]).await;
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    expect(&gw, &a, &["AgentEvent_Call_Release", "AgentState_Ready"]).await;
    let r = a.put(&gw, "voicecall", "callout", Some(json!({"called":"13900000000"}))).await;
    let out = call_id(&r.body["result"]);
    let evs = expect(&gw, &a, &["AgentState_Busy", "AgentEvent_Customer_Alerting", "AgentEvent_Talking"]).await;
    assert_event(&evs[1], "AgentEvent_Customer_Alerting", 101, alerting(&out, "13900000000", ""));
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    expect(&gw, &a, &["AgentEvent_Call_Release", "AgentState_Ready"]).await;
    quiet(&gw, &a).await;
    // Signing out hangs the phone up at last.
    assert_eq!(a.delete(&gw, "onlineagent", "logout").await.body, ok());
    let evs = left_in_mailbox(&gw, 101).await;
    assert_eq!(Agent::types(&evs), [PHONE_RELEASE, "AgentOther_ShutdownService"]);
    assert_event(&evs[0], PHONE_RELEASE, 101, on_hook(3));
    gw.stop().await;
}

#[tokio::test]
async fn a_consultation_rings_only_the_helper_phone() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let cust = inbound_talking(&gw, &a, CUSTOMER).await;
    let b = ready(&gw, 102).await;
    let r = a.post(&gw, "voicecall", "innerhelp", Some(json!({"dstaddress":"102","devicetype":2,"mode":1}))).await;
    let help = call_id(&r.body["result"]);
    // The requester's phone is off the hook already (it is in a call): no phone events for it.
    let evs = expect(&gw, &a, &["AgentEvent_Hold", "AgentEvent_Customer_Alerting"]).await;
    assert_event(&evs[0], "AgentEvent_Hold", 101, json!(cust));
    // The helper's phone rings for the consultation, off-hook on the assistant leg.
    let evs = expect(&gw, &b, &OFFERED).await;
    assert_offered(&evs, 102, &help, "101", "102", ringing(&help, "101", "102", "assistant", 51, None));
    assert_eq!(b.put(&gw, "voicecall", "answer", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Talking"]).await;
    expect(&gw, &b, &["AgentEvent_Talking"]).await;
    // The helper leaves: its phone goes on the hook; the requester still holds the customer.
    assert_eq!(b.delete(&gw, "voicecall", "release").await.body, ok());
    let evs = expect(&gw, &b, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    assert_event(&evs[1], PHONE_RELEASE, 102, on_hook(2));
    expect(&gw, &a, &["AgentEvent_Call_Release"]).await;
    quiet(&gw, &a).await;
    // The requester drops the held customer, its last call: now its phone goes on the hook.
    assert_eq!(a.post(&gw, "voicecall", &format!("dropcall/{cust}"), None).await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release", PHONE_RELEASE, "AgentState_Ready"]).await;
    assert_event(&evs[1], PHONE_RELEASE, 101, on_hook(2));
    gw.stop().await;
}

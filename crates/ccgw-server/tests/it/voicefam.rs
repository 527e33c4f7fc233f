//! Issue 8 §2, families onlineagent, voicecall, calldata: `setAgentAutoAnswer`,
//! `queryAgentSkillsByWorkNo`, `releaseEx`, `queryAllCallID`, `queryAllCallInfoByAgentWorkNo`,
//! `queryCallStatisticsInfo`. Every body compared whole, error paths included.

use ccgw_server::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Agent, Gateway, PREFIX, err, found, not_signed_in, param_invalid};

pub(crate) const CUSTOMER: &str = "13900000001";
pub(crate) const ACCESS: &str = "10086";
pub(crate) const OFFERED: [&str; 4] =
    ["AgentState_Busy", "AgentOther_PhoneAlerting", "AgentOther_PhoneOffhook", "AgentEvent_Ringing"];
const AUTO: [&str; 5] = [
    "AgentState_Busy",
    "AgentOther_PhoneAlerting",
    "AgentOther_PhoneOffhook",
    "AgentEvent_Auto_Answer",
    "AgentEvent_Talking",
];
pub(crate) const RELEASED: [&str; 3] = ["AgentEvent_Call_Release", "AgentOther_PhoneRelease", "AgentState_Ready"];

pub(crate) fn fast(c: &mut Config) {
    c.auth.poll_wait_ms = 300;
    c.telephony.default.answer_after_ms = 50;
    c.limits.calldata_per_agent = 0;
}

pub(crate) async fn start() -> Gateway {
    Gateway::start_with(fast).await
}

pub(crate) fn ok() -> Value {
    json!({"message":"success","retcode":"0","result":{}})
}

fn not_implemented() -> Value {
    err("404", "interface not implemented")
}

pub(crate) async fn expect(gw: &Gateway, a: &Agent, types: &[&str]) -> Vec<Value> {
    let evs = a.poll_until(gw, types[types.len() - 1]).await;
    assert_eq!(Agent::types(&evs), types, "events of {}: {evs:#?}", a.id);
    evs
}

pub(crate) async fn ready(gw: &Gateway, id: u32) -> Agent {
    let a = gw.sign_in(id).await;
    expect(gw, &a, &["AgentOther_InService", "AgentState_Ready"]).await;
    a
}

/// A customer call offered to `a` (manual answer) and answered.
pub(crate) async fn talking(gw: &Gateway, a: &Agent) -> String {
    let id = gw.inject_call(CUSTOMER, ACCESS, "").await;
    expect(gw, a, &OFFERED).await;
    assert_eq!(a.put(gw, "voicecall", "answer", None).await.body, ok());
    expect(gw, a, &["AgentEvent_Talking"]).await;
    id
}

/// A call-information object with its volatile fields (`begintime`, `endtime`, `logontimes`)
/// checked for their type and taken from `actual`.
#[track_caller]
fn assert_info(actual: &Value, call: &str) {
    assert!(actual["begintime"].as_u64().is_some_and(|t| t > 1_600_000_000_000), "{actual}");
    assert!(actual["logontimes"].is_u64(), "{actual}");
    let expected = json!({
        "callfeature": 0, "callid": call, "caller": CUSTOMER, "called": ACCESS,
        "callskill": "voice", "callskillid": 1, "orgicallednum": ACCESS, "calldata": "",
        "begintime": actual["begintime"], "endtime": null, "userPriority": 0, "trunkNo": 65535,
        "logontimes": actual["logontimes"], "mediaType": 5,
    });
    assert_eq!(*actual, expected);
}

#[tokio::test]
async fn set_agent_auto_answer() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.post(&gw, "onlineagent", "autoanswer/true", None).await.body, ok());
    // Answered without an `answer` request.
    let id = gw.inject_call(CUSTOMER, ACCESS, "").await;
    let evs = expect(&gw, &a, &AUTO).await;
    assert_eq!(evs[3]["content"]["callid"], json!(id));
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    expect(&gw, &a, &RELEASED).await;
    // Any other flag of 1–5 characters: manual answer again.
    assert_eq!(a.post(&gw, "onlineagent", "autoanswer/no", None).await.body, ok());
    gw.inject_call(CUSTOMER, ACCESS, "").await;
    expect(&gw, &a, &OFFERED).await;
    // Flag longer than five characters.
    assert_eq!(a.post(&gw, "onlineagent", "autoanswer/truely", None).await.body, param_invalid());
    // POST only.
    let r = a.call(&gw, Method::PUT, &a.path("onlineagent", "autoanswer/true"), None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    // Not signed in.
    let r = gw.request(Method::POST, &format!("{PREFIX}/onlineagent/102/autoanswer/true"), Some("x"), None).await;
    assert_eq!(r.body, not_signed_in());
    gw.stop().await;
}

#[tokio::test]
async fn query_agent_skills_by_workno() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let skills = |list: Value| json!({"message":"success","retcode":"0","result":list});
    // Signed-in agent of the same VDN.
    ready(&gw, 151).await;
    assert_eq!(
        a.get(&gw, "onlineagent", "agentskillsbyworkno/151").await.body,
        skills(json!([{"name":"voice","id":1,"mediatype":5}]))
    );
    assert_eq!(
        a.get(&gw, "onlineagent", "agentskillsbyworkno/101").await.body,
        skills(json!([{"name":"voice","id":1,"mediatype":5},{"name":"vip","id":2,"mediatype":5}]))
    );
    // Provisioned but not signed in: no skills.
    assert_eq!(a.get(&gw, "onlineagent", "agentskillsbyworkno/102").await.body, skills(json!([])));
    // VDN isolation, both ways.
    let z = ready(&gw, 601).await;
    let other_vdn = err("300-001", "no permission to query this agent");
    assert_eq!(a.get(&gw, "onlineagent", "agentskillsbyworkno/601").await.body, other_vdn);
    assert_eq!(z.get(&gw, "onlineagent", "agentskillsbyworkno/101").await.body, other_vdn);
    // Unknown and malformed work numbers.
    assert_eq!(a.get(&gw, "onlineagent", "agentskillsbyworkno/59000").await.body, err("300-002", "no such agent"));
    for bad in ["abc", "100", "1234567"] {
        assert_eq!(a.get(&gw, "onlineagent", &format!("agentskillsbyworkno/{bad}")).await.body, param_invalid());
    }
    let r = gw.request(Method::GET, &format!("{PREFIX}/onlineagent/103/agentskillsbyworkno/101"), None, None).await;
    assert_eq!(r.body, not_signed_in());
    gw.stop().await;
}

#[tokio::test]
async fn release_ex_is_the_legacy_release() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let legacy = |a: &Agent| format!("{PREFIX}/voicecall/{}", a.id);
    let r = a.call(&gw, Method::DELETE, &legacy(&a), None).await;
    assert_eq!(r.body, err("200-017", "no call to release"));
    talking(&gw, &a).await;
    assert_eq!(a.call(&gw, Method::DELETE, &legacy(&a), None).await.body, ok());
    expect(&gw, &a, &RELEASED).await;
    // DELETE only.
    let r = a.call(&gw, Method::POST, &legacy(&a), None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = gw.request(Method::DELETE, &format!("{PREFIX}/voicecall/102"), Some("x"), None).await;
    assert_eq!(r.body, not_signed_in());
    gw.stop().await;
}

#[tokio::test]
async fn all_call_ids_and_call_info() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let b = ready(&gw, 102).await;
    assert_eq!(a.get(&gw, "calldata", "allcallid").await.body, found(json!([])));
    assert_eq!(b.get(&gw, "calldata", "allcallinfo/101").await.body, found(json!([])));
    let id = talking(&gw, &a).await;
    assert_eq!(a.get(&gw, "calldata", "allcallid").await.body, found(json!([id])));
    assert_eq!(b.get(&gw, "calldata", "allcallid").await.body, found(json!([])));
    for asker in [&a, &b] {
        let r = asker.get(&gw, "calldata", "allcallinfo/101").await;
        assert_eq!(r.body, found(r.body["result"].clone()));
        let list = r.body["result"].as_array().expect("array");
        assert_eq!(list.len(), 1, "{}", r.body);
        assert_info(&list[0], &id);
    }
    // Errors as allcallinfoEx.
    let no_agent = err("100-011", "invalid parameter: no such agent");
    for workno in ["abc", "100", "59000"] {
        assert_eq!(a.get(&gw, "calldata", &format!("allcallinfo/{workno}")).await.body, no_agent, "{workno}");
    }
    let r = a.get(&gw, "calldata", "allcallinfo/601").await;
    assert_eq!(r.body, err("900-002", "no permission: the agent is in another VDN"));
    for p in ["allcallid", "allcallinfo/101"] {
        let r = gw.request(Method::GET, &format!("{PREFIX}/calldata/103/{p}"), None, None).await;
        assert_eq!(r.body, not_signed_in(), "{p}");
        let r = a.call(&gw, Method::POST, &a.path("calldata", p), None).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{p}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn call_statistics() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let stats = |talktime: u64, answernums: u32, calloutnums: u32| {
        found(json!({"talktime":talktime,"answernums":answernums,"calloutnums":calloutnums}))
    };
    assert_eq!(a.get(&gw, "calldata", "statistics").await.body, stats(0, 0, 0));
    talking(&gw, &a).await;
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    expect(&gw, &a, &RELEASED).await;
    let r = a.get(&gw, "calldata", "statistics").await;
    let talktime = r.body["result"]["talktime"].as_u64().expect("talktime");
    assert!(talktime < 60);
    assert_eq!(r.body, stats(talktime, 1, 0));
    assert_eq!(a.get(&gw, "calldata", "statisticsEx").await.body, r.body);
    let r = gw.request(Method::GET, &format!("{PREFIX}/calldata/102/statistics"), None, None).await;
    assert_eq!(r.body, not_signed_in());
    gw.stop().await;
}

/// `releasephone`: an always-off-hook agent hangs up its phone between calls; the next call
/// rings it again.
#[tokio::test]
async fn release_phone() {
    let gw = start().await;
    let a = gw
        .sign_in_with(
            101,
            json!({"password":"ccgw-demo","phonenum":"7101","status":"4","autoanswer":"false","releasephone":"false"}),
        )
        .await;
    expect(&gw, &a, &["AgentOther_InService", "AgentState_Ready"]).await;
    // On the hook already: nothing to do, no event.
    assert_eq!(a.delete(&gw, "voicecall", "releasephone").await.body, ok());
    talking(&gw, &a).await;
    // In a call: refused.
    let r = a.delete(&gw, "voicecall", "releasephone").await;
    assert_eq!(r.body, err("100-009", "agent state does not allow this operation"));
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    // Always off the hook: no PhoneRelease after the call ...
    expect(&gw, &a, &["AgentEvent_Call_Release", "AgentState_Ready"]).await;
    // ... until the agent hangs the phone up.
    assert_eq!(a.delete(&gw, "voicecall", "releasephone").await.body, ok());
    let evs = expect(&gw, &a, &["AgentOther_PhoneRelease"]).await;
    assert_eq!(evs[0]["content"], json!({"phoneState":2}), "{evs:#?}");
    // The next call rings the phone again.
    talking(&gw, &a).await;
    let r = a.call(&gw, Method::GET, &a.path("voicecall", "releasephone"), None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = gw.request(Method::DELETE, &format!("{PREFIX}/voicecall/102/releasephone"), Some("x"), None).await;
    assert_eq!(r.body, not_signed_in());
    gw.stop().await;
}

/// `phonehangup` (PUT in the JS API, POST in the doc): rejects a ringing call, releases a
/// talking one.
#[tokio::test]
async fn phone_hang_up() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    for m in [Method::PUT, Method::POST] {
        let r = a.call(&gw, m, &a.path("voicecall", "phonehangup"), None).await;
        assert_eq!(r.body, err("200-017", "no call to release"));
    }
    // Talking: released.
    talking(&gw, &a).await;
    assert_eq!(a.put(&gw, "voicecall", "phonehangup", None).await.body, ok());
    expect(&gw, &a, &RELEASED).await;
    // Ringing: rejected.
    gw.inject_call(CUSTOMER, ACCESS, "").await;
    expect(&gw, &a, &OFFERED).await;
    assert_eq!(a.post(&gw, "voicecall", "phonehangup", None).await.body, ok());
    let r = a.delete(&gw, "voicecall", "phonehangup").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = gw.request(Method::PUT, &format!("{PREFIX}/voicecall/102/phonehangup"), Some("x"), None).await;
    assert_eq!(r.body, not_signed_in());
    gw.stop().await;
}

/// Interfaces of these families still not implemented answer 404 "interface not implemented".
#[tokio::test]
async fn not_yet_implemented() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let r = a.post(&gw, "voicecall", "beginmutevideo", None).await;
    assert_eq!((r.status, r.body), (StatusCode::NOT_FOUND, not_implemented()));
    gw.stop().await;
}

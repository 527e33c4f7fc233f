//! Issue 12 §1: the supervisor role and the qualitycontrol family — listen, whisper, insert,
//! switch, stop, intercept, forced release, forced states and sign-out, self-recording, and
//! monitoring subscriptions with their `QC_AgentState_Notify` events. Every body compared whole,
//! error paths included (not a supervisor, out of scope, another VDN, not signed in, bad
//! parameters), and each refusal shown to change nothing.
//!
//! Demo supervisors: 591–600 supervise all of VDN 1; 101 supervises group 1 (101–110); 601 is a
//! supervisor of VDN 2.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Agent, Gateway, PREFIX, err, found, not_signed_in, param_invalid};
use crate::voicefam::{ACCESS, CUSTOMER, RELEASED, expect, ok, ready, start, talking};

fn no_right() -> Value {
    err("900-002", "no permission for this quality-control operation")
}

fn no_agent_info() -> Value {
    err("900-004", "the agent named has no agent information (not signed in)")
}

fn state_error() -> Value {
    err("900-005", "the agents' states do not allow this quality-control operation")
}

fn self_target() -> Value {
    err("000-005", "the agent to be inspected is the inspector himself")
}

#[track_caller]
fn assert_event(ev: &Value, event_type: &str, workno: u32, content: Value) {
    let t = ev["eventGenTime"].as_u64().unwrap_or_else(|| panic!("eventGenTime: {ev}"));
    assert_eq!(*ev, json!({"eventType":event_type,"workNo":workno.to_string(),"content":content,"eventGenTime":t}));
}

/// A supervisor signed in busy (so that the ACD offers it no customer call).
async fn supervisor(gw: &Gateway, id: u32) -> Agent {
    let body = json!({"password": "ccgw-demo", "phonenum": format!("7{id}"), "status": 3, "autoanswer": false});
    let s = gw.sign_in_with(id, body).await;
    expect(gw, &s, &["AgentOther_InService", "AgentState_Ready", "AgentState_SetNotReady_Success"]).await;
    s
}

/// What a supervisor is told when it joins a call to inspect it.
const JOINED: [&str; 4] =
    ["AgentState_Busy", "AgentOther_PhoneAlerting", "AgentOther_PhoneOffhook", "AgentEvent_Talking"];

fn qc_notify(subtype: &str, monitored: u32) -> Value {
    json!({"subtype":subtype,"monitoredagent":monitored.to_string(),"agentname":monitored.to_string(),"mediaserver":"CtiServer"})
}

async fn call_ids(gw: &Gateway, a: &Agent) -> Value {
    a.get(gw, "calldata", "allcallid").await.body
}

#[tokio::test]
async fn listen_switch_whisper_and_stop() {
    let gw = start().await;
    let agent = ready(&gw, 151).await;
    let call = talking(&gw, &agent).await;
    let sup = supervisor(&gw, 591).await;

    assert_eq!(sup.put(&gw, "qualitycontrol", "addsupervise/151", None).await.body, ok());
    let evs = expect(
        &gw,
        &sup,
        &["AgentState_Busy", "AgentOther_PhoneAlerting", "AgentOther_PhoneOffhook", "AgentEvent_Talking"],
    )
    .await;
    assert_event(&evs[2], "AgentOther_PhoneOffhook", 591, json!({"type":"assistant"}));
    let talking_content =
        json!({"caller":CUSTOMER,"called":ACCESS,"callid":call,"type":"assistant","feature":"0","mediaAbility":"1"});
    assert_event(&evs[3], "AgentEvent_Talking", 591, talking_content);
    // The supervisor's call list has the call; the agent and its state are untouched and told nothing.
    assert_eq!(call_ids(&gw, &sup).await, json!({"message":"","retcode":"0","result":[call]}));
    assert_eq!(agent.drain(&gw).await, Vec::<Value>::new());
    assert_eq!(
        agent.get(&gw, "onlineagent", "agentstatus").await.body,
        found(json!({"agentState":7,"isWorking":false}))
    );
    // The agent's `syncagentinfo` names its inspector (`qcWorkNo`).
    let sync = agent.post(&gw, "onlineagent", "syncagentinfo", None).await.body;
    assert_eq!(sync["result"]["agentStateInfo"]["qcWorkNo"], json!("591"), "{sync}");
    let sync = sup.post(&gw, "onlineagent", "syncagentinfo", None).await.body;
    assert_eq!(sync["result"]["agentStateInfo"]["qcWorkNo"], json!(""), "{sync}");

    // A second listen by another supervisor: the agent is inspected already.
    let other = supervisor(&gw, 592).await;
    assert_eq!(other.put(&gw, "qualitycontrol", "addsupervise/151", None).await.body, state_error());
    assert_eq!(call_ids(&gw, &other).await, json!({"message":"","retcode":"0","result":[]}));

    // listen → insert → listen, then whisper, then stop (only a whisper can be stopped as one).
    assert_eq!(sup.post(&gw, "qualitycontrol", "switch/151", None).await.body, ok());
    assert_eq!(sup.post(&gw, "qualitycontrol", "switch/151", None).await.body, ok());
    let switch = |t: &str| format!("requestswitchinsertwhisperagent?whisperagentid=151&switchtype={t}");
    assert_eq!(sup.post(&gw, "qualitycontrol", &switch("2"), None).await.body, ok());
    assert_eq!(sup.post(&gw, "qualitycontrol", &switch("2"), None).await.body, ok());
    assert_eq!(sup.post(&gw, "qualitycontrol", &switch("3"), None).await.body, param_invalid());
    assert_eq!(
        sup.post(&gw, "qualitycontrol", "requestswitchinsertwhisperagent?whisperagentid=151", None).await.body,
        param_invalid()
    );
    assert_eq!(sup.post(&gw, "qualitycontrol", "requeststopwhisperagent?whisperagentid=151", None).await.body, ok());
    expect(&gw, &sup, &["AgentEvent_Call_Release", "AgentOther_PhoneRelease", "AgentState_SetNotReady_Success"]).await;
    assert_eq!(call_ids(&gw, &sup).await, json!({"message":"","retcode":"0","result":[]}));
    // The call goes on without the supervisor.
    assert_eq!(call_ids(&gw, &agent).await, json!({"message":"","retcode":"0","result":[call]}));
    assert_eq!(agent.drain(&gw).await, Vec::<Value>::new());

    // Nothing to stop or switch any more.
    assert_eq!(sup.delete(&gw, "qualitycontrol", "151").await.body, state_error());
    assert_eq!(sup.post(&gw, "qualitycontrol", "switch/151", None).await.body, state_error());

    // Barge-in, stopped with DELETE; then a whisper that `requeststopwhisperagent` stops, but
    // not an insert.
    assert_eq!(sup.put(&gw, "qualitycontrol", "addinsert/151", None).await.body, ok());
    expect(&gw, &sup, &JOINED).await;
    assert_eq!(
        sup.post(&gw, "qualitycontrol", "requeststopwhisperagent?whisperagentid=151", None).await.body,
        state_error()
    );
    assert_eq!(sup.delete(&gw, "qualitycontrol", "151").await.body, ok());
    expect(&gw, &sup, &["AgentEvent_Call_Release", "AgentOther_PhoneRelease", "AgentState_SetNotReady_Success"]).await;
    assert_eq!(sup.post(&gw, "qualitycontrol", "requestwhisperagent?whisperagentid=151", None).await.body, ok());
    expect(&gw, &sup, &JOINED).await;
    assert_eq!(
        sup.post(&gw, "qualitycontrol", "requestwhisperagent?whisperagentid=151", None).await.body,
        state_error()
    );

    // The agent hangs up: the call ends, and the supervisor's part with it.
    assert_eq!(agent.delete(&gw, "voicecall", "release").await.body, ok());
    expect(&gw, &agent, &RELEASED).await;
    expect(&gw, &sup, &["AgentEvent_Call_Release", "AgentOther_PhoneRelease", "AgentState_SetNotReady_Success"]).await;
    assert_eq!(call_ids(&gw, &sup).await, json!({"message":"","retcode":"0","result":[]}));
    gw.stop().await;
}

#[tokio::test]
async fn intercept_takes_the_call_over() {
    let gw = start().await;
    let agent = ready(&gw, 151).await;
    let call = talking(&gw, &agent).await;
    let sup = supervisor(&gw, 591).await;
    // Intercept needs an inspection first.
    assert_eq!(sup.put(&gw, "qualitycontrol", "intercept/151", None).await.body, state_error());
    assert_eq!(sup.put(&gw, "qualitycontrol", "addsupervise/151", None).await.body, ok());
    expect(&gw, &sup, &JOINED).await;
    // Another call id, a malformed one.
    assert_eq!(sup.put(&gw, "qualitycontrol", "intercept/151/1700000000-99", None).await.body, state_error());
    assert_eq!(sup.put(&gw, "qualitycontrol", "intercept/151/nocall", None).await.body, param_invalid());
    assert_eq!(sup.put(&gw, "qualitycontrol", &format!("intercept/151/{call}"), None).await.body, ok());
    // The agent is out of the call (and idle after it); the supervisor talks to the customer.
    expect(&gw, &agent, &RELEASED).await;
    assert_eq!(call_ids(&gw, &agent).await, json!({"message":"","retcode":"0","result":[]}));
    assert_eq!(call_ids(&gw, &sup).await, json!({"message":"","retcode":"0","result":[call]}));
    let info = sup.get(&gw, "calldata", "callinfo").await.body;
    assert_eq!(info["result"]["callid"], json!(call), "{info}");
    // An ordinary party now: it releases the call like any agent.
    assert_eq!(sup.delete(&gw, "voicecall", "release").await.body, ok());
    expect(&gw, &sup, &["AgentEvent_Call_Release", "AgentOther_PhoneRelease", "AgentState_SetNotReady_Success"]).await;
    gw.stop().await;
}

#[tokio::test]
async fn force_drop_call_releases_every_party() {
    let gw = start().await;
    let agent = ready(&gw, 151).await;
    let call = talking(&gw, &agent).await;
    let sup = supervisor(&gw, 591).await;
    let ordinary = ready(&gw, 152).await;
    let scoped = supervisor(&gw, 101).await;
    assert_eq!(ordinary.post(&gw, "qualitycontrol", &format!("forcedropcall/{call}"), None).await.body, no_right());
    // 101 supervises group 1 only: 151 is not in it.
    assert_eq!(scoped.post(&gw, "qualitycontrol", &format!("forcedropcall/{call}"), None).await.body, no_right());
    assert_eq!(sup.post(&gw, "qualitycontrol", "forcedropcall/1700000000-99", None).await.body, state_error());
    assert_eq!(sup.post(&gw, "qualitycontrol", "forcedropcall/x", None).await.body, param_invalid());
    assert_eq!(call_ids(&gw, &agent).await, json!({"message":"","retcode":"0","result":[call]}));
    assert_eq!(sup.post(&gw, "qualitycontrol", &format!("forcedropcall/{call}"), None).await.body, ok());
    expect(&gw, &agent, &RELEASED).await;
    assert_eq!(call_ids(&gw, &agent).await, json!({"message":"","retcode":"0","result":[]}));
    gw.stop().await;
}

/// Who may inspect whom, and what each refusal answers; none of them changes anything.
#[tokio::test]
async fn supervisor_role_and_scope() {
    let gw = start().await;
    let agent = ready(&gw, 151).await;
    let call = talking(&gw, &agent).await;
    let in_group = ready(&gw, 105).await;
    let idle = ready(&gw, 153).await;
    let sup = supervisor(&gw, 591).await;
    let scoped = supervisor(&gw, 101).await;
    let ordinary = supervisor(&gw, 152).await;
    let vdn2 = supervisor(&gw, 601).await;

    for path in ["addsupervise/151", "addinsert/151", "intercept/151"] {
        assert_eq!(ordinary.put(&gw, "qualitycontrol", path, None).await.body, no_right(), "{path}");
        // Out of 101's scope (group 1).
        assert_eq!(scoped.put(&gw, "qualitycontrol", path, None).await.body, no_right(), "{path}");
        // Another VDN's agent, and an agent of VDN 1 for VDN 2's supervisor.
        let other = path.replace("151", "602");
        assert_eq!(sup.put(&gw, "qualitycontrol", &other, None).await.body, no_right(), "{other}");
        assert_eq!(vdn2.put(&gw, "qualitycontrol", path, None).await.body, no_right(), "{path}");
    }
    for path in ["switch/151", "forcebusy/151", "forceidle/151", "forcerest/151/60/1", "forcelogout/151"] {
        assert_eq!(ordinary.post(&gw, "qualitycontrol", path, None).await.body, no_right(), "{path}");
        assert_eq!(scoped.post(&gw, "qualitycontrol", path, None).await.body, no_right(), "{path}");
    }
    assert_eq!(ordinary.delete(&gw, "qualitycontrol", "151").await.body, no_right());
    assert_eq!(
        ordinary.post(&gw, "qualitycontrol", "requestwhisperagent?whisperagentid=151", None).await.body,
        no_right()
    );
    // Self, unknown, not signed in, malformed, not in a call.
    assert_eq!(sup.put(&gw, "qualitycontrol", "addsupervise/591", None).await.body, self_target());
    assert_eq!(sup.put(&gw, "qualitycontrol", "addsupervise/5999", None).await.body, no_agent_info());
    assert_eq!(sup.put(&gw, "qualitycontrol", "addsupervise/154", None).await.body, no_agent_info());
    assert_eq!(sup.put(&gw, "qualitycontrol", "addsupervise/15x", None).await.body, param_invalid());
    assert_eq!(sup.put(&gw, "qualitycontrol", "addsupervise/99", None).await.body, param_invalid());
    assert_eq!(sup.post(&gw, "qualitycontrol", "requestwhisperagent", None).await.body, param_invalid());
    assert_eq!(sup.put(&gw, "qualitycontrol", "addsupervise/153", None).await.body, state_error());
    // In scope: 101 may act on 105 (group 1); 105 is idle, so there is no call to listen to.
    assert_eq!(scoped.put(&gw, "qualitycontrol", "addsupervise/105", None).await.body, state_error());
    // A supervisor that is not signed in (a stale GUID).
    let r = gw.request(Method::PUT, &format!("{PREFIX}/qualitycontrol/593/addsupervise/151"), Some("nope"), None).await;
    assert_eq!(r.body, not_signed_in());

    // Nothing changed: nobody but the agent is in the call, and nobody was told anything.
    assert_eq!(call_ids(&gw, &agent).await, json!({"message":"","retcode":"0","result":[call]}));
    for a in [&agent, &in_group, &idle, &sup, &scoped, &ordinary, &vdn2] {
        assert_eq!(call_ids(&gw, a).await["result"].as_array().unwrap().len(), usize::from(a.id == 151));
        assert_eq!(a.drain(&gw).await, Vec::<Value>::new(), "events of {}", a.id);
    }
    // 101 forces 105 (its group) busy: allowed.
    assert_eq!(scoped.post(&gw, "qualitycontrol", "forcebusy/105", None).await.body, ok());
    let evs = expect(&gw, &in_group, &["AgentState_SetNotReady_Success"]).await;
    assert_event(&evs[0], "AgentState_SetNotReady_Success", 105, json!({"reason":"3"}));
    gw.stop().await;
}

#[tokio::test]
async fn forced_states_and_sign_out() {
    let gw = start().await;
    let agent = ready(&gw, 151).await;
    let sup = supervisor(&gw, 591).await;
    let status = |code: u8| found(json!({"agentState":code,"isWorking":code == 5}));

    assert_eq!(sup.post(&gw, "qualitycontrol", "forcebusy/151", None).await.body, ok());
    let evs = expect(&gw, &agent, &["AgentState_SetNotReady_Success"]).await;
    assert_event(&evs[0], "AgentState_SetNotReady_Success", 151, json!({"reason":"3"}));
    assert_eq!(agent.get(&gw, "onlineagent", "agentstatus").await.body, status(3));

    assert_eq!(sup.post(&gw, "qualitycontrol", "forceidle/151", None).await.body, ok());
    expect(&gw, &agent, &["AgentState_CancelNotReady_Success", "AgentState_Ready"]).await;
    assert_eq!(agent.get(&gw, "onlineagent", "agentstatus").await.body, status(4));
    // Idle already: nothing to do.
    assert_eq!(sup.post(&gw, "qualitycontrol", "forceidle/151", None).await.body, ok());

    for bad in ["forcerest/151/0/1", "forcerest/151/x/1", "forcerest/151/60/300", "forcerest/151/86400/1"] {
        assert_eq!(sup.post(&gw, "qualitycontrol", bad, None).await.body, param_invalid(), "{bad}");
    }
    assert_eq!(agent.drain(&gw).await, Vec::<Value>::new());
    assert_eq!(sup.post(&gw, "qualitycontrol", "forcerest/151/60/1", None).await.body, ok());
    expect(&gw, &agent, &["AgentState_SetRest_Success"]).await;
    assert_eq!(agent.get(&gw, "onlineagent", "agentstatus").await.body, status(8));
    assert_eq!(sup.post(&gw, "qualitycontrol", "forceidle/151", None).await.body, ok());
    expect(&gw, &agent, &["AgentState_CancelRest_Success", "AgentState_Ready"]).await;

    // In a call: forced idle is refused; forced busy applies when the call ends.
    talking(&gw, &agent).await;
    assert_eq!(sup.post(&gw, "qualitycontrol", "forceidle/151", None).await.body, state_error());
    assert_eq!(sup.post(&gw, "qualitycontrol", "forcebusy/151", None).await.body, ok());
    assert_eq!(agent.delete(&gw, "voicecall", "release").await.body, ok());
    let evs =
        expect(&gw, &agent, &["AgentEvent_Call_Release", "AgentOther_PhoneRelease", "AgentState_SetNotReady_Success"])
            .await;
    assert_event(&evs[2], "AgentState_SetNotReady_Success", 151, json!({"reason":"3"}));

    // Forced sign-out; then the agent is no longer signed in for a second one.
    assert_eq!(sup.post(&gw, "qualitycontrol", "forcelogout/151", None).await.body, ok());
    assert_eq!(agent.get(&gw, "onlineagent", "agentstatus").await.body, not_signed_in());
    assert_eq!(sup.post(&gw, "qualitycontrol", "forcelogout/151", None).await.body, no_agent_info());
    assert_eq!(sup.post(&gw, "qualitycontrol", "forcebusy/151", None).await.body, no_agent_info());
    gw.stop().await;
}

#[tokio::test]
async fn self_recording_set_for_other_agents() {
    let gw = start().await;
    let a = ready(&gw, 151).await;
    let b = ready(&gw, 152).await;
    let sup = supervisor(&gw, 591).await;
    assert_eq!(sup.post(&gw, "qualitycontrol", "setselfrecord/true/false?agents=151;152", None).await.body, ok());
    assert_eq!(sup.post(&gw, "qualitycontrol", "setselfrecord/yes/false?agents=151", None).await.body, param_invalid());
    assert_eq!(sup.post(&gw, "qualitycontrol", "setselfrecord/true/false", None).await.body, param_invalid());
    // One agent not signed in: nobody's setting changes.
    assert_eq!(sup.post(&gw, "qualitycontrol", "cancelselfrecord?agents=151;153", None).await.body, no_agent_info());
    assert_eq!(sup.post(&gw, "qualitycontrol", "cancelselfrecord?agents=151;602", None).await.body, no_right());
    assert_eq!(sup.post(&gw, "qualitycontrol", "cancelselfrecord?agents=151;152", None).await.body, ok());
    let ordinary = supervisor(&gw, 153).await;
    assert_eq!(ordinary.post(&gw, "qualitycontrol", "cancelselfrecord?agents=151", None).await.body, no_right());
    for x in [&a, &b] {
        assert_eq!(x.drain(&gw).await, Vec::<Value>::new());
    }
    gw.stop().await;
}

#[tokio::test]
async fn monitoring_subscription_delivers_qc_events() {
    let gw = start().await;
    let sup = supervisor(&gw, 591).await;
    let all = |list: Value| found(list);
    assert_eq!(sup.get(&gw, "qualitycontrol", "allagent").await.body, all(json!([])));
    // Bad lists: malformed, too many, another VDN's agent, unknown; nothing subscribed.
    assert_eq!(sup.post(&gw, "qualitycontrol", "beginmonitor", None).await.body, param_invalid());
    assert_eq!(sup.post(&gw, "qualitycontrol", "beginmonitor?agents=151;x", None).await.body, param_invalid());
    let many = (101..=601).map(|n| n.to_string()).collect::<Vec<_>>().join(";");
    assert_eq!(
        sup.post(&gw, "qualitycontrol", &format!("beginmonitor?agents={many}"), None).await.body,
        param_invalid()
    );
    assert_eq!(sup.post(&gw, "qualitycontrol", "beginmonitor?agents=151;602", None).await.body, no_right());
    assert_eq!(sup.post(&gw, "qualitycontrol", "beginmonitor?agents=151;5999", None).await.body, no_agent_info());
    assert_eq!(sup.post(&gw, "qualitycontrol", "beginmonitor?agents=151;591", None).await.body, self_target());
    assert_eq!(sup.get(&gw, "qualitycontrol", "allagent").await.body, all(json!([])));
    // Every other agent of VDN 1 at once (499; 501 was refused above for its length alone).
    let others = (101..=600).filter(|n| *n != 591).map(|n| n.to_string()).collect::<Vec<_>>();
    let r = sup.post(&gw, "qualitycontrol", &format!("beginmonitor?agents={}", others.join(";")), None).await;
    assert_eq!(r.body, ok());
    assert_eq!(sup.get(&gw, "qualitycontrol", "allagent").await.body["result"].as_array().unwrap().len(), 499);
    assert_eq!(sup.post(&gw, "qualitycontrol", "endmonitor", None).await.body, ok());
    assert_eq!(sup.get(&gw, "qualitycontrol", "allagent").await.body, all(json!([])));

    assert_eq!(sup.post(&gw, "qualitycontrol", "beginmonitor?agents=151%3B152", None).await.body, ok());
    let item = |n: u32, status: u8| json!({"workno":n.to_string(),"name":format!("Agent {n}"),"status":status});
    assert_eq!(sup.get(&gw, "qualitycontrol", "allagent").await.body, all(json!([item(151, 2), item(152, 2)])));

    // 151's day, as the supervisor sees it.
    let agent = ready(&gw, 151).await;
    let call = talking(&gw, &agent).await;
    assert_eq!(sup.get(&gw, "qualitycontrol", "allagent").await.body, all(json!([item(151, 7), item(152, 2)])));
    let evs = sup.poll_until(&gw, "QC_AgentState_Notify").await;
    assert_eq!(evs.len(), 1);
    let mut seen = vec![evs[0].clone()];
    seen.extend(sup.drain(&gw).await);
    let subtypes: Vec<&str> = seen.iter().map(|e| e["content"]["subtype"].as_str().unwrap()).collect();
    assert_eq!(
        subtypes,
        ["QC_AgentState_Login", "QC_AgentState_Idle", "QC_AgentState_WaitAnswer", "QC_AgentState_Active"]
    );
    assert_event(&seen[0], "QC_AgentState_Notify", 591, qc_notify("QC_AgentState_Login", 151));
    // The supervisor listens in: its subscription reports it.
    assert_eq!(sup.put(&gw, "qualitycontrol", "addsupervise/151", None).await.body, ok());
    let evs = expect(
        &gw,
        &sup,
        &[
            "AgentState_Busy",
            "AgentOther_PhoneAlerting",
            "AgentOther_PhoneOffhook",
            "AgentEvent_Talking",
            "QC_AgentState_Notify",
        ],
    )
    .await;
    assert_event(&evs[4], "QC_AgentState_Notify", 591, qc_notify("QC_AgentState_Monitor", 151));
    assert_eq!(sup.post(&gw, "qualitycontrol", "switch/151", None).await.body, ok());
    let evs = [sup.poll(&gw).await.unwrap(), sup.poll(&gw).await.unwrap()];
    assert_event(&evs[0], "QC_AgentState_Notify", 591, qc_notify("QC_AgentState_StopMonitor", 151));
    assert_event(&evs[1], "QC_AgentState_Notify", 591, qc_notify("QC_AgentState_SuperviseInsert", 151));
    assert_eq!(agent.delete(&gw, "voicecall", "release").await.body, ok());
    expect(&gw, &agent, &RELEASED).await;
    let seen = sup.drain(&gw).await;
    let got: Vec<(String, String)> = seen
        .iter()
        .map(|e| {
            (e["eventType"].as_str().unwrap().to_owned(), e["content"]["subtype"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    let want = [
        ("AgentEvent_Call_Release", ""),
        ("AgentOther_PhoneRelease", ""),
        ("AgentState_SetNotReady_Success", ""),
        ("QC_AgentState_Notify", "QC_AgentState_StopSuperviseInsert"),
        ("QC_AgentState_Notify", "QC_AgentState_HungUp"),
        ("QC_AgentState_Notify", "QC_AgentState_Idle"),
    ];
    let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(got, want, "{seen:#?} (call {call})");

    // endmonitor for 151: its sign-out is no longer reported; 152's sign-in still is.
    assert_eq!(sup.post(&gw, "qualitycontrol", "endmonitor?agents=151", None).await.body, ok());
    assert_eq!(sup.get(&gw, "qualitycontrol", "allagent").await.body, all(json!([item(152, 2)])));
    assert_eq!(agent.delete(&gw, "onlineagent", "logout").await.retcode(), "0");
    let other = ready(&gw, 152).await;
    let evs = sup.drain(&gw).await;
    assert_eq!(evs.len(), 2, "{evs:#?}");
    assert_event(&evs[0], "QC_AgentState_Notify", 591, qc_notify("QC_AgentState_Login", 152));
    assert_event(&evs[1], "QC_AgentState_Notify", 591, qc_notify("QC_AgentState_Idle", 152));

    // The supervisor's sign-out ends its subscriptions.
    assert_eq!(sup.delete(&gw, "onlineagent", "logout").await.retcode(), "0");
    let sup = supervisor(&gw, 591).await;
    assert_eq!(sup.get(&gw, "qualitycontrol", "allagent").await.body, all(json!([])));
    assert_eq!(other.post(&gw, "onlineagent", "saybusy", None).await.retcode(), "0");
    assert_eq!(sup.drain(&gw).await, Vec::<Value>::new());

    // Not a supervisor (or without the monitor right): refused.
    let ordinary = supervisor(&gw, 153).await;
    assert_eq!(ordinary.post(&gw, "qualitycontrol", "beginmonitor?agents=151", None).await.body, no_right());
    assert_eq!(ordinary.post(&gw, "qualitycontrol", "endmonitor", None).await.body, no_right());
    assert_eq!(ordinary.get(&gw, "qualitycontrol", "allagent").await.body, no_right());
    gw.stop().await;
}

/// Vendor page 2409: `{"workNo","skills"}`; the agent's signed-in skill queues become those.
#[tokio::test]
async fn adjust_skill_changes_the_queues_an_agent_takes_calls_from() {
    let gw = start().await;
    let agent = ready(&gw, 120).await;
    let sup = supervisor(&gw, 591).await;
    let adjust = |body: Value| sup.post(&gw, "qualitycontrol", "adjustskill", Some(body));
    let done = json!({"message":"","retcode":"0","result":{}});
    let bad = err("100-001", "parameter empty or invalid");
    for body in [
        json!({}),
        json!({"workNo": "abc", "skills": [1]}),
        json!({"workNo": "120", "skills": "1"}),
        json!({"workNo": "120", "skills": [1, "x"]}),
        json!({"workNo": "120", "skills": (0..1001).collect::<Vec<u32>>()}),
        // Skill 3 is VDN 2's; 120 is not configured with it.
        json!({"workNo": "120", "skills": [3]}),
    ] {
        assert_eq!(adjust(body.clone()).await.body, bad, "{body}");
    }
    assert_eq!(sup.post(&gw, "qualitycontrol", "adjustskill", None).await.body, bad);
    assert_eq!(adjust(json!({"workNo": "602", "skills": []})).await.body, no_right());
    assert_eq!(adjust(json!({"workNo": "121", "skills": [1]})).await.body, no_agent_info());
    let ordinary = supervisor(&gw, 152).await;
    let r = ordinary.post(&gw, "qualitycontrol", "adjustskill", Some(json!({"workNo": "120", "skills": [2]}))).await;
    assert_eq!(r.body, no_right());

    // Only skill 2: a call for skill 1 waits; with skill 1 back it is offered at once.
    assert_eq!(adjust(json!({"workNo": 120, "skills": ["2"]})).await.body, done);
    gw.inject_call(CUSTOMER, ACCESS, "").await;
    assert_eq!(agent.drain(&gw).await, Vec::<Value>::new());
    assert_eq!(adjust(json!({"workNo": "120", "skills": [1, 2]})).await.body, done);
    expect(&gw, &agent, &crate::voicefam::OFFERED).await;
    gw.stop().await;
}

#[tokio::test]
async fn undocumented_qualitycontrol_interfaces_are_not_served() {
    let gw = start().await;
    let sup = supervisor(&gw, 591).await;
    let not_implemented = err("404", "interface not implemented");
    for (m, path) in [
        (Method::POST, "forcerecord"),
        (Method::POST, "forcestoprecord?agents=151"),
        (Method::GET, "queryqctasks"),
        (Method::DELETE, "deleteqctask?taskdsn=1&begintime=2"),
        (Method::GET, "queryurlinfo?urlname=x"),
    ] {
        let r = sup.call(&gw, m, &sup.path("qualitycontrol", path), Some(json!({}))).await;
        assert_eq!((r.status.as_u16(), r.body), (404, not_implemented.clone()), "{path}");
    }
    gw.stop().await;
}

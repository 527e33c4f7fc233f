//! Issue 12 §1: the `thirdcontrol` family (the R5 sample client's paths and bodies) and the
//! `querymonitor` interfaces ccgw serves; the rest of `querymonitor` answers "not implemented".

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Agent, Gateway, body_invalid, err, found, param_invalid};
use crate::voicefam::{OFFERED, expect, ok, ready, start};

fn no_right() -> Value {
    err("900-002", "no permission for this quality-control operation")
}

fn no_agent_info() -> Value {
    err("900-004", "the agent named has no agent information (not signed in)")
}

async fn supervisor(gw: &Gateway, id: u32) -> Agent {
    let body = json!({"password": "ccgw-demo", "phonenum": format!("7{id}"), "status": 3, "autoanswer": false});
    let s = gw.sign_in_with(id, body).await;
    expect(gw, &s, &["AgentOther_InService", "AgentState_Ready", "AgentState_SetNotReady_Success"]).await;
    s
}

#[tokio::test]
async fn set_status_answer_and_call_out_on_behalf() {
    let gw = start().await;
    let agent = ready(&gw, 151).await;
    let sup = supervisor(&gw, 591).await;
    let ordinary = supervisor(&gw, 152).await;
    let status = |s: &str| Some(json!({ "agentStatus": s }));

    assert_eq!(sup.put(&gw, "thirdcontrol", "setstatus/151", status("AgentState_Busy")).await.body, ok());
    expect(&gw, &agent, &["AgentState_SetNotReady_Success"]).await;
    assert_eq!(sup.put(&gw, "thirdcontrol", "setstatus/151", status("AgentState_Idle")).await.body, ok());
    expect(&gw, &agent, &["AgentState_CancelNotReady_Success", "AgentState_Ready"]).await;
    for bad in [status("AgentState_Rest"), Some(json!({})), Some(json!([1]))] {
        assert_eq!(sup.put(&gw, "thirdcontrol", "setstatus/151", bad.clone()).await.body, body_invalid(), "{bad:?}");
    }
    assert_eq!(ordinary.put(&gw, "thirdcontrol", "setstatus/151", status("AgentState_Busy")).await.body, no_right());
    assert_eq!(sup.put(&gw, "thirdcontrol", "setstatus/602", status("AgentState_Busy")).await.body, no_right());
    assert_eq!(sup.put(&gw, "thirdcontrol", "setstatus/153", status("AgentState_Busy")).await.body, no_agent_info());
    assert_eq!(sup.put(&gw, "thirdcontrol", "setstatus/1x", status("AgentState_Busy")).await.body, param_invalid());
    assert_eq!(agent.drain(&gw).await, Vec::<Value>::new());

    // Answer on the agent's behalf: nothing rings yet; then a customer call.
    assert_eq!(
        sup.put(&gw, "thirdcontrol", "callanswer/151", None).await.body,
        err("900-005", "the agents' states do not allow this quality-control operation")
    );
    let call = gw.inject_call("13900000001", "10086", "").await;
    expect(&gw, &agent, &OFFERED).await;
    assert_eq!(ordinary.put(&gw, "thirdcontrol", "callanswer/151", None).await.body, no_right());
    assert_eq!(sup.put(&gw, "thirdcontrol", "callanswer/151", None).await.body, ok());
    expect(&gw, &agent, &["AgentEvent_Talking"]).await;
    assert_eq!(agent.get(&gw, "calldata", "allcallid").await.body, found(json!([call])));
    assert_eq!(agent.delete(&gw, "voicecall", "release").await.retcode(), "0");
    agent.drain(&gw).await;

    // Call out from the agent's phone (the R5 sample's CalloutParam body).
    let body = json!({"caller": "", "called": "88880001", "skillid": 1, "callappdata": "", "mediaability": 0});
    assert_eq!(sup.put(&gw, "thirdcontrol", "callout/151", Some(json!({}))).await.body, body_invalid());
    assert_eq!(ordinary.put(&gw, "thirdcontrol", "callout/151", Some(body.clone())).await.body, no_right());
    let r = sup.put(&gw, "thirdcontrol", "callout/151", Some(body)).await;
    let id = r.body["result"].as_str().unwrap_or_default().to_owned();
    assert_eq!(r.body, json!({"message":"success","retcode":"0","result":id}));
    assert_eq!(agent.get(&gw, "calldata", "allcallid").await.body, found(json!([id])));
    gw.stop().await;
}

#[tokio::test]
async fn querymonitor_time_version_and_the_rest() {
    let gw = start().await;
    let a = ready(&gw, 151).await;
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let r = a.get(&gw, "querymonitor", "servertime").await;
    let t = r.body["result"].as_u64().unwrap_or_else(|| panic!("{}", r.body));
    assert!(t >= before && t < before + 60_000, "{t}");
    assert_eq!(r.body, found(json!(t)));
    let version = format!("ccgw {}", env!("CARGO_PKG_VERSION"));
    assert_eq!(a.get(&gw, "querymonitor", "systemversion").await.body, found(json!(version)));
    assert_eq!(a.post(&gw, "querymonitor", "setagenttimeout/true", None).await.body, ok());
    assert_eq!(a.post(&gw, "querymonitor", "setagenttimeout/1", None).await.body, param_invalid());
    let not_implemented = err("404", "interface not implemented");
    for path in [
        "systemstate",
        "clusterinfo",
        "agentclusterinfo/151",
        "allagentclusterinfo",
        "clusterinfobyname/x",
        "skillstatisticinfo/1",
    ] {
        let r = a.call(&gw, Method::GET, &a.path("querymonitor", path), None).await;
        assert_eq!((r.status.as_u16(), r.body), (404, not_implemented.clone()), "{path}");
    }
    gw.stop().await;
}

//! The README walk-through, as a test.

use serde_json::json;

use crate::common::{Agent, Gateway};

#[tokio::test]
async fn sign_in_poll_busy_status() {
    let gw = Gateway::start_with(|c| c.auth.poll_wait_ms = 200).await;
    let a = gw.sign_in(101).await;
    let events = a.drain(&gw).await;
    assert_eq!(Agent::types(&events), ["AgentOther_InService", "AgentState_Ready"]);
    assert_eq!(
        events[0],
        json!({"eventType":"AgentOther_InService","workNo":"101","content":null,"eventGenTime": events[0]["eventGenTime"]})
    );
    let r = a.post(&gw, "onlineagent", "saybusy", None).await;
    assert_eq!(r.body, json!({"message":"success","retcode":"0","result":{}}));
    let r = a.get(&gw, "onlineagent", "agentstatus").await;
    assert_eq!(r.body, json!({"message":"","retcode":"0","result":{"agentState":3,"isWorking":false}}));
    gw.stop().await;
}

#[tokio::test]
async fn customer_call_hold_consult_and_allcallinfo() {
    let gw = Gateway::start_with(|c| c.auth.poll_wait_ms = 200).await;
    let a101 = gw.sign_in(101).await;
    let a102 = gw.sign_in(102).await;
    let customer = gw.inject_call("13800000001", "10086", "order=42").await;
    let seen = a101.poll_until(&gw, "AgentEvent_Ringing").await;
    assert_eq!(seen.last().unwrap()["content"]["callid"], customer.as_str());
    assert_eq!(a101.put(&gw, "voicecall", "answer", None).await.retcode(), "0");
    let r = a101.post(&gw, "voicecall", "innerhelp", Some(json!({"dstaddress":"102","devicetype":2,"mode":1}))).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let consult = r.body["result"].as_str().unwrap().to_owned();
    a102.poll_until(&gw, "AgentEvent_Ringing").await;
    assert_eq!(a102.put(&gw, "voicecall", "answer", None).await.retcode(), "0");
    let r = a102.get(&gw, "calldata", "allcallinfoEx/101").await;
    assert_eq!(r.body, json!({"message":"","retcode":"0","result":[customer, consult]}));
    gw.stop().await;
}

/// The README's "Agent groups, rights and rest reasons" requests.
#[tokio::test]
async fn agent_groups_of_the_demo() {
    let gw = Gateway::start().await;
    let a = gw.sign_in(101).await;
    let r = a.get(&gw, "agentgroup", "groupbyagent/105").await;
    assert_eq!(r.body, json!({"message":"","retcode":"0","result":{"id":1,"name":"Team 1"}}));
    let r = a.get(&gw, "agentgroup", "grouponvdn").await;
    assert_eq!(
        r.body,
        json!({"message":"","retcode":"0","result":[{"id":1,"name":"Team 1"},{"id":2,"name":"Team 2"}]})
    );
    let r = a.get(&gw, "agentgroup", "ismonitor").await;
    assert_eq!(r.body, json!({"message":"","retcode":"0","result":true}));
    gw.stop().await;
}

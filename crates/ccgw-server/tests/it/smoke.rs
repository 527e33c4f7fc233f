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

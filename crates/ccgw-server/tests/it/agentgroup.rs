//! agentgroup: `idleagent`, `agentwasnameonvdn`, `allagentstatus` (demo provisioning: VDN 1 is 101–600, VDN 2
//! is 601–700, every agent named "Agent <workno>").

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::common::{Gateway, PREFIX};

fn ok(result: Value) -> Value {
    json!({"message":"","retcode":"0","result":result})
}

#[tokio::test]
async fn agentgroup_idleagent_lists_idle_agents_of_the_callers_vdn() {
    let gw = Gateway::start().await;
    let a = gw.sign_in(101).await;
    let b = gw.sign_in(102).await;
    let c = gw.sign_in(601).await;
    let r = a.get(&gw, "agentgroup", "idleagent").await;
    assert_eq!(r.body, ok(json!([{"workno":"101","name":"Agent 101"},{"workno":"102","name":"Agent 102"}])));
    // Busy agents are not idle.
    let r = b.post(&gw, "onlineagent", "saybusy", None).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let r = a.get(&gw, "agentgroup", "idleagent").await;
    assert_eq!(r.body, ok(json!([{"workno":"101","name":"Agent 101"}])));
    // VDN 2 sees only its own.
    let r = c.get(&gw, "agentgroup", "idleagent").await;
    assert_eq!(r.body, ok(json!([{"workno":"601","name":"Agent 601"}])));
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_agentwasnameonvdn_maps_every_configured_agent_of_the_vdn() {
    let gw = Gateway::start().await;
    let c = gw.sign_in(601).await;
    let r = c.get(&gw, "agentgroup", "agentwasnameonvdn").await;
    let expected: Map<String, Value> =
        (601..=700).map(|w| (w.to_string(), Value::String(format!("Agent {w}")))).collect();
    assert_eq!(r.body, ok(Value::Object(expected)));
    let a = gw.sign_in(101).await;
    let r = a.get(&gw, "agentgroup", "agentwasnameonvdn").await;
    let names = r.body["result"].as_object().unwrap();
    assert_eq!(names.len(), 500);
    assert_eq!(names["101"], "Agent 101");
    assert_eq!(names["600"], "Agent 600");
    assert!(!names.contains_key("601"));
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_allagentstatus_gives_every_agent_of_the_vdn_with_its_state() {
    let gw = Gateway::start().await;
    let c = gw.sign_in(601).await;
    let r = c.post(&gw, "onlineagent", "saybusy", None).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let _d = gw.sign_in(650).await;
    let r = c.get(&gw, "agentgroup", "allagentstatus").await;
    let expected: Vec<Value> = (601..=700)
        .map(|w| {
            let status = match w {
                601 => 3,
                650 => 4,
                _ => 2,
            };
            json!({"workno":w.to_string(),"name":format!("Agent {w}"),"status":status})
        })
        .collect();
    assert_eq!(r.body, ok(Value::Array(expected)));
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_errors_not_signed_in_bad_agent_overload() {
    let gw = Gateway::start().await;
    for suffix in ["idleagent", "agentwasnameonvdn", "allagentstatus"] {
        let r = gw.request(Method::GET, &format!("{PREFIX}/agentgroup/103/{suffix}"), Some("nope"), None).await;
        assert_eq!(
            r.body,
            json!({"message":"agent not signed in or authentication failed","retcode":"100-006"}),
            "{suffix}"
        );
        let r = gw.request(Method::GET, &format!("{PREFIX}/agentgroup/abc/{suffix}"), Some("nope"), None).await;
        assert_eq!(
            r.body,
            json!({"message":"parameter or address in the URL is invalid","retcode":"000-002"}),
            "{suffix}"
        );
    }
    // The calldata budget: 5 per agent per 2 s, shared with calldata queries.
    let a = gw.sign_in(101).await;
    for _ in 0..3 {
        assert_eq!(a.get(&gw, "agentgroup", "idleagent").await.retcode(), "0");
    }
    assert_eq!(a.get(&gw, "calldata", "callinfo").await.retcode(), "0");
    assert_eq!(a.get(&gw, "agentgroup", "agentwasnameonvdn").await.retcode(), "0");
    let r = a.get(&gw, "agentgroup", "idleagent").await;
    assert_eq!(r.retcode(), "000-007", "{}", r.body);
    gw.stop().await;
}

//! The queuedevice family over the wire: queue lengths from the engine's ACD queues and the VDN's
//! IVR flows (demo provisioning: skills 1 "voice"/10086 and 2 "vip"/10087 in VDN 1, agents
//! 101–150 with both, 151–600 with skill 1; IVRs 1/10080 and 2/10081 in VDN 1). Bodies whole.

use ccgw_server::Config;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Gateway, PREFIX, err};

fn fast(c: &mut Config) {
    c.auth.poll_wait_ms = 300;
    c.telephony.default.answer_after_ms = 50;
}

fn count(n: u64) -> Value {
    json!({"message":"success","retcode":"0","result":n})
}

#[tokio::test]
async fn queue_lengths_count_the_calls_waiting_in_the_agents_skills() {
    let gw = Gateway::start_with(fast).await;
    let a = gw.sign_in(101).await;
    let b = gw.sign_in(151).await;
    for x in [&a, &b] {
        assert_eq!(x.post(&gw, "onlineagent", "saybusy", None).await.retcode(), "0");
    }
    assert_eq!(a.get(&gw, "queuedevice", "waitnum").await.body, count(0));
    assert_eq!(a.get(&gw, "queuedevice", "waitnumbyagent").await.body, count(0));
    assert_eq!(a.get(&gw, "queuedevice", "skillwaitnum/1").await.body, count(0));

    // Nobody idle: two callers wait for "voice", one for "vip", one in VDN 2.
    gw.inject_call("13900000001", "10086", "").await;
    gw.inject_call("13900000002", "10086", "").await;
    gw.inject_call("13900000003", "10087", "").await;
    gw.inject_call("13900000004", "20086", "").await;

    assert_eq!(a.get(&gw, "queuedevice", "waitnum").await.body, count(3));
    assert_eq!(a.get(&gw, "queuedevice", "waitnumbyagent").await.body, count(3));
    assert_eq!(b.get(&gw, "queuedevice", "waitnum").await.body, count(2));
    assert_eq!(b.get(&gw, "queuedevice", "waitnumbyagent").await.body, count(2));
    assert_eq!(a.get(&gw, "queuedevice", "skillwaitnum/1").await.body, count(2));
    // Any skill of the VDN, not only the agent's own.
    assert_eq!(b.get(&gw, "queuedevice", "skillwaitnum/2").await.body, count(1));

    // A skill of another VDN, an unknown one, not a number.
    let invalid = err("000-002", "parameter or address in the URL is invalid");
    for s in ["skillwaitnum/3", "skillwaitnum/99", "skillwaitnum/x1", "skillwaitnum/-1"] {
        assert_eq!(a.get(&gw, "queuedevice", s).await.body, invalid, "{s}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn queue_lengths_need_a_signed_in_agent() {
    let gw = Gateway::start_with(fast).await;
    let not_signed_in = err("100-006", "agent not signed in or authentication failed");
    for s in ["waitnum", "waitnumbyagent", "skillwaitnum/1", "ivrinfo"] {
        let r = gw.request(Method::GET, &format!("{PREFIX}/queuedevice/101/{s}"), Some("nope"), None).await;
        assert_eq!(r.body, not_signed_in, "{s}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn ivrinfo_lists_the_ivr_flows_of_the_agents_vdn() {
    let gw = Gateway::start_with(fast).await;
    let a = gw.sign_in(101).await;
    let r = a.get(&gw, "queuedevice", "ivrinfo").await;
    assert_eq!(
        r.body,
        json!({"message":"success","retcode":"0","result":[
            {"access":"10080","id":1,"description":"Main menu","serviceNo":1},
            {"access":"10081","id":2,"description":"Self service","serviceNo":2},
        ]})
    );
    // VDN 2 has none.
    let b = gw.sign_in(601).await;
    assert_eq!(b.get(&gw, "queuedevice", "ivrinfo").await.body, json!({"message":"success","retcode":"0","result":[]}));
    gw.stop().await;
}

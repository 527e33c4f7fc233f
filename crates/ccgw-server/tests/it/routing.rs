//! The route table at the edges: empty path segments (the vendor JS API's `…/resource//family/…`),
//! trailing slashes, interfaces ccgw does not implement, and `agentevent/allagentevent`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Gateway, PREFIX, Reply};

const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

async fn start() -> Gateway {
    Gateway::start_with(|c| c.auth.poll_wait_ms = 200).await
}

#[track_caller]
fn expect(r: &Reply, status: StatusCode, body: Value) {
    assert_eq!(r.status, status, "body {}", r.body);
    assert_eq!(r.headers.get("content-type").and_then(|v| v.to_str().ok()), Some(CONTENT_TYPE));
    assert_eq!(r.body, body);
}

fn success() -> Value {
    json!({"message":"success","retcode":"0","result":{}})
}

/// The vendor's JS API builds every URL as `REST.apiURL` (ending in `/`) + `/onlineagent/…`, so a
/// page using it sends `/agentgateway/resource//onlineagent/101`: every interface must answer it
/// as if the slashes were one.
#[tokio::test]
async fn the_vendor_js_apis_double_slash_reaches_every_interface() {
    let gw = start().await;
    let body = json!({"password":"ccgw-demo","phonenum":"7101","status":4});
    let r = gw.request(Method::PUT, "/agentgateway/resource//onlineagent/101", None, Some(body)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.retcode(), "0", "{}", r.body);
    assert_eq!(r.body["result"]["workno"], "101");
    let guid = r.set_guid().expect("Set-GUID on sign-in");
    let g = Some(guid.as_str());

    let r = gw.request(Method::GET, "/agentgateway/resource//agentevent/101", g, None).await;
    expect(
        &r,
        StatusCode::OK,
        json!({"message":"","retcode":"0","event":{
            "eventType":"AgentOther_InService","workNo":"101","content":null,
            "eventGenTime": r.body["event"]["eventGenTime"].clone()}}),
    );
    let r = gw.request(Method::POST, "/agentgateway/resource//onlineagent/101/saybusy", g, None).await;
    expect(&r, StatusCode::OK, success());
    let r = gw.request(Method::GET, "/agentgateway/resource//onlineagent/101/agentstatus", g, None).await;
    expect(&r, StatusCode::OK, json!({"message":"","retcode":"0","result":{"agentState":3,"isWorking":false}}));
    let r = gw.request(Method::GET, "/agentgateway/resource//calldata/101/allcallinfoEx/101", g, None).await;
    expect(&r, StatusCode::OK, json!({"message":"","retcode":"0","result":[]}));
    // Repeated slashes anywhere, and a trailing one.
    let r = gw.request(Method::GET, "//agentgateway//resource///calldata//101//allcallinfoEx//101//", g, None).await;
    expect(&r, StatusCode::OK, json!({"message":"","retcode":"0","result":[]}));
    let r = gw.request(Method::GET, &format!("{PREFIX}/onlineagent/101/agentstatus/"), g, None).await;
    expect(&r, StatusCode::OK, json!({"message":"","retcode":"0","result":{"agentState":3,"isWorking":false}}));
    let r = gw.request(Method::POST, &format!("{PREFIX}//voicecall/101/hold/"), g, None).await;
    expect(&r, StatusCode::OK, json!({"message":"no call to hold","retcode":"200-013"}));
    let r = gw.request(Method::DELETE, "/agentgateway/resource//onlineagent/101/logout/", g, None).await;
    expect(&r, StatusCode::OK, success());
    gw.stop().await;
}

/// Collapsing makes `onlineagent/101/` the sign-in path, which only takes PUT; an empty
/// parameter is not a parameter (`rest//1` has one, not two).
#[tokio::test]
async fn a_trailing_slash_and_empty_parameters() {
    let gw = start().await;
    let r = gw.request(Method::GET, &format!("{PREFIX}/onlineagent/101/"), None, None).await;
    expect(&r, StatusCode::METHOD_NOT_ALLOWED, json!({"message":"method not allowed","retcode":"405"}));
    assert_eq!(r.headers.get("allow").unwrap(), "PUT");
    let r = gw.request(Method::POST, &format!("{PREFIX}/onlineagent/101/rest//1"), None, None).await;
    expect(&r, StatusCode::NOT_FOUND, json!({"message":"no such interface","retcode":"404"}));
    let r = gw.request(Method::GET, &format!("{PREFIX}/calldata//allcallinfoEx/101"), None, None).await;
    expect(&r, StatusCode::NOT_FOUND, json!({"message":"no such interface","retcode":"404"}));
    gw.stop().await;
}

/// `agentevent/allagentevent` is its own interface (`getAllAgentEvent`), not a poll for an
/// agent called `allagentevent`. Without a `Guid` (as R3 sends it) ccgw answers as a vendor
/// gateway with that mode off; with a signed-in agent's, its VDN's feed (tests/it/push.rs).
#[tokio::test]
async fn all_agent_event_is_its_own_interface() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    let denied = json!({"message":"no permission to call the interface","retcode":"000-003"});
    let nothing_new = json!({"message":"","retcode":"0","event":[]});
    for path in [
        format!("{PREFIX}/agentevent/allagentevent"),
        format!("{PREFIX}/agentevent/allagentevent?time=1733100000000"),
        "/agentgateway/resource//agentevent/allagentevent/".to_owned(),
    ] {
        expect(&gw.request(Method::GET, &path, None, None).await, StatusCode::OK, denied.clone());
        expect(&gw.request(Method::GET, &path, Some(&a.guid()), None).await, StatusCode::OK, nothing_new.clone());
    }
    let r = gw.request(Method::POST, &format!("{PREFIX}/agentevent/allagentevent"), None, None).await;
    expect(&r, StatusCode::METHOD_NOT_ALLOWED, json!({"message":"method not allowed","retcode":"405"}));
    assert_eq!(r.headers.get("allow").unwrap(), "GET");
    // The agent's own events are untouched.
    let r = a.get(&gw, "agentevent", "").await;
    assert_eq!(r.body["event"]["eventType"], "AgentOther_InService", "{}", r.body);
    gw.stop().await;
}

/// An interface of the vendor's that ccgw does not implement: 404 with its own message (the
/// access log and metrics name it), 405 for a method it never takes.
#[tokio::test]
async fn interfaces_not_implemented_answer_404() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    let not_implemented = json!({"message":"interface not implemented","retcode":"404"});
    for (method, suffix) in [
        (Method::GET, "qualitycontrol/101/queryvideorecordfile"),
        (Method::POST, "qualitycontrol/101/startVideoOperation?monitoragent=102"),
        (Method::POST, "voicecall/101/beginmutevideo"),
        (Method::PUT, "textchat/101/answer/1-2"),
        (Method::POST, "agentevent/reportagentsisalive?agents=101"),
        // The agent id is not looked at.
        (Method::GET, "qualitycontrol/abc/queryvideorecordfile"),
        (Method::GET, "qualitycontrol/101/queryvideorecordfile/"),
    ] {
        let r = gw.request(method.clone(), &format!("{PREFIX}/{suffix}"), Some(&a.guid()), None).await;
        expect(&r, StatusCode::NOT_FOUND, not_implemented.clone());
        assert!(r.headers.get("set-guid").is_none());
    }
    let r = gw
        .request(Method::POST, &format!("{PREFIX}/qualitycontrol/101/queryvideorecordfile"), Some(&a.guid()), None)
        .await;
    expect(&r, StatusCode::METHOD_NOT_ALLOWED, json!({"message":"method not allowed","retcode":"405"}));
    // The literal path decides: its methods only (not `stopSuperviseOrInsert`'s DELETE on `{workNo}`).
    assert_eq!(r.headers.get("allow").unwrap(), "GET");

    let text = gw.client.get(format!("{}/metrics", gw.admin)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("ccgw_requests_total{method=\"queryVideoRecordFile\",retcode=\"404\"} 3"), "{text}");
    assert!(text.contains("ccgw_requests_total{method=\"startVideoOperation\",retcode=\"404\"} 1"), "{text}");
    gw.stop().await;
}

/// The OpenAPI document of what ccgw serves, generated from the interface table.
#[tokio::test]
async fn the_openapi_document_is_served() {
    let gw = start().await;
    let r = gw.request(Method::GET, "/agentgateway/openapi.json", None, None).await;
    expect(&r, StatusCode::OK, ccgw_server::wire::openapi::document());
    assert_eq!(
        r.body["paths"]["/calldata/{agentid}/allcallinfoEx/{workno}"]["get"]["operationId"],
        "queryAllCallInfoByAgentWorkNoEx"
    );
    // Only GET, and only there.
    let r = gw.request(Method::POST, "/agentgateway/openapi.json", None, None).await;
    expect(&r, StatusCode::NOT_FOUND, json!({"message":"no such interface","retcode":"404"}));
    let r = gw.request(Method::GET, &format!("{PREFIX}/openapi.json"), None, None).await;
    expect(&r, StatusCode::NOT_FOUND, json!({"message":"no such interface","retcode":"404"}));
    gw.stop().await;
}

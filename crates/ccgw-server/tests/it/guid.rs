//! AUTHMODE 2: a request made with the previous GUID (rotated, still in its grace period) is told
//! the current one in `Set-GUID` on every answer — any HTTP method, business errors included,
//! and the poll — so that a client reading `Set-GUID` only from some responses (the vendor's Java
//! demo helper reads it only from PUT responses) catches up before its GUID expires.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Gateway, PREFIX, Reply};

const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

#[track_caller]
fn expect(r: &Reply, body: Value, set_guid: Option<&str>) {
    assert_eq!(r.status, StatusCode::OK, "body {}", r.body);
    assert_eq!(r.headers.get("content-type").and_then(|v| v.to_str().ok()), Some(CONTENT_TYPE));
    assert_eq!(r.body, body);
    assert_eq!(r.set_guid().as_deref(), set_guid, "Set-GUID on {}", r.body);
    assert!(r.headers.get_all("set-guid").iter().count() <= 1);
}

fn error(code: &str, message: &str) -> Value {
    json!({"message": message, "retcode": code})
}

async fn call(gw: &Gateway, method: Method, suffix: &str, guid: &str, body: Option<&str>) -> Reply {
    let mut req = gw.client.request(method, format!("{}{PREFIX}/{suffix}", gw.base)).header("Guid", guid);
    if let Some(b) = body {
        req = req.header("Content-Type", "application/json; charset=UTF-8").body(b.to_owned());
    }
    Reply::from(req.send().await.unwrap()).await
}

/// Poll with `guid` until a response announces a new GUID; returns it.
async fn rotate(gw: &Gateway, guid: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = call(gw, Method::GET, "agentevent/101", guid, None).await;
        assert_eq!(r.retcode(), "0", "{}", r.body);
        if let Some(g) = r.set_guid() {
            return g;
        }
        assert!(Instant::now() < deadline, "no rotation");
    }
}

#[tokio::test]
async fn every_answer_to_the_previous_guid_announces_the_current_one() {
    let gw = Gateway::start_with(|c| {
        c.auth.mode = 2;
        c.auth.guid_interval_ms = 500;
        // Long enough that the previous GUID outlives the test's requests.
        c.auth.guid_timeout_ms = 20_000;
        c.auth.poll_wait_ms = 50;
    })
    .await;
    let a = gw.sign_in(101).await;
    let g0 = a.guid();
    let g1 = rotate(&gw, &g0).await;
    assert_ne!(g1, g0);
    let current = Some(g1.as_str());

    // Successes and business errors, every HTTP method, with the previous GUID.
    let r = call(&gw, Method::GET, "onlineagent/101/agentstatus", &g0, None).await;
    expect(&r, json!({"message":"","retcode":"0","result":{"agentState":4,"isWorking":false}}), current);
    let r = call(&gw, Method::POST, "voicecall/101/hold", &g0, None).await;
    expect(&r, error("200-013", "no call to hold"), current);
    let r = call(&gw, Method::PUT, "voicecall/101/answer", &g0, None).await;
    expect(&r, error("200-002", "no call to answer"), current);
    let r = call(&gw, Method::DELETE, "voicecall/101/release", &g0, None).await;
    expect(&r, error("200-017", "no call to release"), current);
    let r = call(&gw, Method::PUT, "voicecall/101/callout", &g0, Some("not json")).await;
    expect(&r, error("000-006", "message body parameter error"), current);
    let r = call(&gw, Method::POST, "onlineagent/101/saybusy?reason=7", &g0, None).await;
    expect(&r, error("000-002", "parameter or address in the URL is invalid"), current);
    // The overload control's answer too (5 call-data queries per agent per 2 s).
    let mut last = None;
    for _ in 0..6 {
        last = Some(call(&gw, Method::GET, "calldata/101/callnums", &g0, None).await);
    }
    expect(&last.unwrap(), error("000-007", "interface invoked too frequently, try again later"), current);
    // And the poll: the current GUID, or a newer one if the next rotation is already due.
    let r = call(&gw, Method::GET, "agentevent/101", &g0, None).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let announced = r.set_guid().expect("Set-GUID on the poll");
    assert_ne!(announced, g0);

    // With the current GUID nothing is announced; with an unknown one, nothing either.
    let r = call(&gw, Method::POST, "voicecall/101/hold", &announced, None).await;
    expect(&r, error("200-013", "no call to hold"), None);
    let r =
        call(&gw, Method::POST, "voicecall/101/hold", "00000000-0000-4000-8000-000000000000.AgentGateway0", None).await;
    expect(&r, error("100-006", "agent not signed in or authentication failed"), None);
    gw.stop().await;
}

/// A client like the vendor's Java demo helper: it polls (ignoring `Set-GUID` there) and reads
/// `Set-GUID` only from its PUT responses. It keeps working across rotations as long as it makes
/// a PUT within `guid_timeout - guid_interval` of each rotation, even one that fails.
#[tokio::test]
async fn a_client_reading_set_guid_only_on_put_survives_rotations() {
    let gw = Gateway::start_with(|c| {
        c.auth.mode = 2;
        c.auth.guid_interval_ms = 150;
        c.auth.guid_timeout_ms = 600;
        c.auth.poll_wait_ms = 30;
    })
    .await;
    let a = gw.sign_in(101).await;
    let mut guid = a.guid();
    let mut seen = vec![guid.clone()];
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1_500) {
        let r = call(&gw, Method::GET, "agentevent/101", &guid, None).await;
        assert_eq!(r.retcode(), "0", "poll after {:?}: {}", started.elapsed(), r.body);
        // A failing PUT (no call to answer) is where this client learns the new GUID.
        let r = call(&gw, Method::PUT, "voicecall/101/answer", &guid, None).await;
        assert_eq!(r.body, error("200-002", "no call to answer"), "after {:?}", started.elapsed());
        if let Some(g) = r.set_guid() {
            if g != guid {
                seen.push(g.clone());
            }
            guid = g;
        }
    }
    assert!(seen.len() >= 4, "only {} GUIDs in 1.5 s", seen.len());
    let r = call(&gw, Method::GET, "onlineagent/101/agentstatus", &guid, None).await;
    expect(&r, json!({"message":"","retcode":"0","result":{"agentState":4,"isWorking":false}}), None);
    gw.stop().await;
}

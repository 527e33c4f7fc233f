//! "Gateway foundation": every onlineagent interface, GUID authentication (AUTHMODE 1 and 2),
//! event polling, heartbeat, and the HTTP-level edges. Bodies are compared whole with
//! `serde_json::json!`; volatile values (loginTime, eventGenTime, GUIDs) are checked for format
//! and then substituted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ccgw_domain::AgentId;
use ccgw_server::Config;
use ccgw_store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Agent, Gateway, JSON_UTF8, PREFIX, Reply};

/// The Content-Type ccgw answers with.
const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Short long-poll so that draining a mailbox is quick.
async fn start() -> Gateway {
    Gateway::start_with(|c| c.auth.poll_wait_ms = 200).await
}

async fn start_with(tweak: impl FnOnce(&mut Config)) -> Gateway {
    Gateway::start_with(|c| {
        c.auth.poll_wait_ms = 200;
        tweak(c);
    })
    .await
}

/// The exact body of a business error (message text as ccgw words it).
fn rc(code: &str) -> Value {
    let message = match code {
        "000-002" => "parameter or address in the URL is invalid",
        "000-006" => "message body parameter error",
        "100-001" => "sign-in parameter empty or invalid",
        "100-002" => "agent already signed in",
        "100-004" => "wrong user name or password",
        "100-005" => "invalid sign-out parameter",
        "100-006" => "agent not signed in or authentication failed",
        "100-009" => "agent state does not allow this operation",
        "100-010" => "agent is in a call and cannot sign out",
        "100-012" => "invalid agent type at sign-in",
        "100-013" => "the phone number to bind is invalid",
        "100-019" => "invalid skill queue parameter",
        "100-021" => "agent is signing in, do not repeat",
        "110-016" => "account locked",
        "110-021" => "account locked after too many failed sign-ins",
        other => panic!("no message known for {other}"),
    };
    json!({"message": message, "retcode": code})
}

fn success() -> Value {
    json!({"message":"success","retcode":"0","result":{}})
}

/// HTTP 200, the JSON content type, and exactly `body`.
#[track_caller]
fn expect(r: &Reply, body: Value) {
    assert_eq!(r.status, StatusCode::OK, "status; body {}", r.body);
    assert_eq!(r.headers.get("content-type").and_then(|v| v.to_str().ok()), Some(CONTENT_TYPE));
    assert_eq!(r.body, body);
}

/// Like [`expect`], and the response announces no GUID.
#[track_caller]
fn expect_no_guid(r: &Reply, body: Value) {
    expect(r, body);
    assert!(r.headers.get("set-guid").is_none(), "unexpected Set-GUID on {}", r.body);
}

/// Checks a `Set-GUID` value: `JSESSIONID=<lowercase v4 UUID>.AgentGateway0`. Returns the GUID.
#[track_caller]
fn parse_set_guid(header: &str) -> String {
    let guid = header.strip_prefix("JSESSIONID=").unwrap_or_else(|| panic!("no JSESSIONID= in {header:?}"));
    check_guid(guid);
    guid.to_owned()
}

#[track_caller]
fn check_guid(guid: &str) {
    let (uuid, node) = guid.split_once('.').unwrap_or_else(|| panic!("no node suffix in {guid:?}"));
    assert_eq!(node, "AgentGateway0", "{guid}");
    let groups: Vec<&str> = uuid.split('-').collect();
    assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{guid}");
    assert!(uuid.bytes().all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{guid}");
    assert!(groups[2].starts_with('4'), "not a v4 UUID: {guid}");
    assert!(groups[3].starts_with(['8', '9', 'a', 'b']), "not an RFC 4122 variant: {guid}");
}

#[track_caller]
fn set_guid(r: &Reply) -> String {
    let v = r.headers.get("set-guid").unwrap_or_else(|| panic!("no Set-GUID on {}", r.body));
    parse_set_guid(v.to_str().unwrap())
}

/// An event without its `eventGenTime` (checked: a recent ms timestamp).
#[track_caller]
fn strip_time(ev: &Value) -> Value {
    let obj = ev.as_object().unwrap_or_else(|| panic!("event is not an object: {ev}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["content", "eventGenTime", "eventType", "workNo"], "{ev}");
    let t = ev["eventGenTime"].as_u64().unwrap_or_else(|| panic!("eventGenTime not a number: {ev}"));
    let now = now_ms();
    assert!(t <= now + 1000 && now - t < 600_000, "eventGenTime {t} not recent (now {now})");
    let mut ev = ev.clone();
    ev.as_object_mut().unwrap().remove("eventGenTime");
    ev
}

fn event(id: u32, event_type: &str, content: Value) -> Value {
    json!({"eventType": event_type, "workNo": id.to_string(), "content": content})
}

/// One poll that must deliver an event; checks the whole body and returns the event (with its time).
async fn poll_event(gw: &Gateway, a: &Agent) -> Value {
    let r = a.get(gw, "agentevent", "").await;
    assert_eq!(r.status, StatusCode::OK);
    let ev = r.body.get("event").cloned().unwrap_or_else(|| panic!("agent {}: no event in {}", a.id, r.body));
    assert_eq!(r.body, json!({"message":"","retcode":"0","event": ev}));
    ev
}

/// Polls exactly `expected.len()` events and compares them (without their times).
async fn expect_events(gw: &Gateway, a: &Agent, expected: &[Value]) -> Vec<Value> {
    let mut got = Vec::new();
    for _ in expected {
        got.push(poll_event(gw, a).await);
    }
    let stripped: Vec<Value> = got.iter().map(strip_time).collect();
    assert_eq!(stripped, expected, "agent {}", a.id);
    got
}

/// The next poll is empty: exactly `{"message":"","retcode":"0"}`.
async fn expect_no_event(gw: &Gateway, a: &Agent) {
    let r = a.get(gw, "agentevent", "").await;
    expect(&r, json!({"message":"","retcode":"0"}));
}

/// Sign-in events for an agent signed in idle.
fn idle_sign_in_events(id: u32) -> Vec<Value> {
    vec![event(id, "AgentOther_InService", Value::Null), event(id, "AgentState_Ready", Value::Null)]
}

async fn status(gw: &Gateway, a: &Agent) -> Value {
    let r = a.get(gw, "onlineagent", "agentstatus").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    r.body["result"].clone()
}

async fn expect_status(gw: &Gateway, a: &Agent, state: u8) {
    let r = a.get(gw, "onlineagent", "agentstatus").await;
    expect_no_guid(&r, json!({"message":"","retcode":"0","result":{"agentState":state,"isWorking":state == 5}}));
}

fn sign_in_path(id: &str) -> String {
    format!("{PREFIX}/onlineagent/{id}")
}

fn sign_in_body(id: u32) -> Value {
    json!({"password":"ccgw-demo","phonenum":format!("7{id}"),"status":4,"autoanswer":false})
}

async fn put_sign_in(gw: &Gateway, id: &str, body: Value) -> Reply {
    gw.request(Method::PUT, &sign_in_path(id), None, Some(body)).await
}

/// A request with an explicit GUID (or none), not following `Set-GUID`.
async fn with_guid(gw: &Gateway, method: Method, path: &str, guid: Option<&str>) -> Reply {
    gw.request(method, path, guid, None).await
}

async fn answer_injected_call(gw: &Gateway, a: &Agent) -> String {
    let call = gw.inject_call("13800000001", "10086", "").await;
    let r = a.put(gw, "voicecall", "answer", None).await;
    expect(&r, success());
    call
}

// ----- sign-in ------------------------------------------------------------------------------

#[tokio::test]
async fn sign_in_result_headers_and_events() {
    let gw = start().await;
    let before = now_ms();
    let r = put_sign_in(&gw, "101", sign_in_body(101)).await;
    let after = now_ms();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get("content-type").unwrap(), CONTENT_TYPE);
    let login_time = r.body["result"]["loginTime"].as_str().expect("loginTime is a string").to_owned();
    assert!(login_time.bytes().all(|b| b.is_ascii_digit()), "{login_time}");
    let login_ms: u64 = login_time.parse().unwrap();
    assert!((before..=after).contains(&login_ms), "loginTime {login_ms} not in [{before}, {after}]");
    assert_eq!(
        r.body,
        json!({"message":"","retcode":"0","result":{
            "vdnid":1,"workno":"101","mediatype":"TTF","loginTime":login_time,
            "isForceChange":"false","serverName":"AgentGateway","timeRemaining":""}})
    );
    // The GUID travels only in Set-GUID (exactly one), never in the body.
    assert_eq!(r.headers.get_all("set-guid").iter().count(), 1);
    let guid = set_guid(&r);
    assert!(!r.body.to_string().contains(guid.split('.').next().unwrap()));
    assert!(r.headers.get("guid").is_none(), "ccgw sends no Guid response header");

    let a = Agent { id: 101, guid: std::sync::Mutex::new(guid.clone()) };
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;
    expect_no_event(&gw, &a).await;
    expect_status(&gw, &a, 4).await;
    // The sign-in GUID stays the credential (no rotation yet).
    assert_eq!(a.guid(), guid);

    // A second agent gets a different GUID.
    let b = gw.sign_in(102).await;
    assert_ne!(b.guid(), guid);
    gw.stop().await;
}

#[tokio::test]
async fn sign_in_initial_states_and_lenient_types() {
    let gw = start().await;

    // status 3 (as strings, as vendor clients send them): busy, reason 0.
    let a = gw
        .sign_in_with(
            101,
            json!({"password":"ccgw-demo","phonenum":"7101","status":"3","autoanswer":"false",
                   "autoenteridle":"true","releasephone":"false","agenttype":"4","ip":"127.0.0.1","unknownField":1}),
        )
        .await;
    let mut expected = idle_sign_in_events(101);
    expected.push(event(101, "AgentState_SetNotReady_Success", json!({"reason":"0"})));
    expect_events(&gw, &a, &expected).await;
    expect_no_event(&gw, &a).await;
    expect_status(&gw, &a, 3).await;

    // status 5 (number): wrap-up.
    let b = gw.sign_in_with(102, json!({"password":"ccgw-demo","status":5,"agenttype":11,"autoanswer":true})).await;
    let mut expected = idle_sign_in_events(102);
    expected.push(event(102, "AgentState_Work", Value::Null));
    expect_events(&gw, &b, &expected).await;
    expect_no_event(&gw, &b).await;
    expect_status(&gw, &b, 5).await;

    // No status and no phone: idle with the provisioned phone.
    let c = gw.sign_in_with(103, json!({"password":"ccgw-demo"})).await;
    expect_events(&gw, &c, &idle_sign_in_events(103)).await;
    expect_status(&gw, &c, 4).await;

    // Empty strings count as absent.
    let d = gw.sign_in_with(104, json!({"password":"ccgw-demo","status":"","phonenum":"","autoanswer":""})).await;
    expect_status(&gw, &d, 4).await;
    gw.stop().await;
}

#[tokio::test]
async fn already_signed_in_then_force_login() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    let old = a.guid();

    let r = put_sign_in(&gw, "101", sign_in_body(101)).await;
    expect_no_guid(&r, rc("100-002"));
    // The refused sign-in did not disturb the session.
    expect_status(&gw, &a, 4).await;

    // Force sign-in with a wrong password fails and leaves the old session alone.
    let r = gw
        .request(Method::PUT, &sign_in_path("101/forcelogin"), None, Some(json!({"password":"nope","status":4})))
        .await;
    expect_no_guid(&r, rc("100-004"));
    expect_status(&gw, &a, 4).await;

    let r = gw.request(Method::PUT, &sign_in_path("101/forcelogin"), None, Some(sign_in_body(101))).await;
    let new = set_guid(&r);
    assert_ne!(new, old);
    let login_time = r.body["result"]["loginTime"].as_str().unwrap().to_owned();
    expect(
        &r,
        json!({"message":"","retcode":"0","result":{
            "vdnid":1,"workno":"101","mediatype":"TTF","loginTime":login_time,
            "isForceChange":"false","serverName":"AgentGateway","timeRemaining":""}}),
    );

    // The kicked-out GUID is dead everywhere.
    let path = a.path("onlineagent", "agentstatus");
    expect_no_guid(&with_guid(&gw, Method::GET, &path, Some(&old)).await, rc("100-006"));
    expect_no_guid(&with_guid(&gw, Method::GET, &a.path("agentevent", ""), Some(&old)).await, rc("100-006"));

    // The new session starts with a fresh mailbox: only its own sign-in events.
    let b = Agent { id: 101, guid: std::sync::Mutex::new(new) };
    expect_events(&gw, &b, &idle_sign_in_events(101)).await;
    expect_no_event(&gw, &b).await;
    expect_status(&gw, &b, 4).await;

    // Force sign-in of an agent that is not signed in is a plain sign-in.
    let r = gw.request(Method::PUT, &sign_in_path("102/forcelogin"), None, Some(sign_in_body(102))).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    set_guid(&r);
    gw.stop().await;
}

#[tokio::test]
async fn force_login_refused_when_not_allowed() {
    let gw = start_with(|c| c.auth.allow_force_login = false).await;
    let a = gw.sign_in(101).await;
    let r = gw.request(Method::PUT, &sign_in_path("101/forcelogin"), None, Some(sign_in_body(101))).await;
    expect_no_guid(
        &r,
        json!({"message":"agent already signed in and cannot be forcibly signed out","retcode":"100-015"}),
    );
    expect_status(&gw, &a, 4).await;
    gw.stop().await;
}

#[tokio::test]
async fn wrong_password_and_lockout() {
    const LOCKOUT_MS: u64 = 1_500;
    let gw = start_with(|c| {
        c.auth.max_failed_logins = 5;
        c.auth.lockout_ms = LOCKOUT_MS;
    })
    .await;
    let wrong = json!({"password":"wrong","phonenum":"7101"});
    for _ in 0..4 {
        expect_no_guid(&put_sign_in(&gw, "101", wrong.clone()).await, rc("100-004"));
    }
    let fifth_sent = Instant::now();
    expect_no_guid(&put_sign_in(&gw, "101", wrong.clone()).await, rc("110-021"));

    // Locked: even the right password is refused, and wrong ones do not reach the check.
    expect_no_guid(&put_sign_in(&gw, "101", sign_in_body(101)).await, rc("110-016"));
    expect_no_guid(&put_sign_in(&gw, "101", wrong).await, rc("110-016"));
    expect_no_guid(
        &gw.request(Method::PUT, &sign_in_path("101/forcelogin"), None, Some(sign_in_body(101))).await,
        rc("110-016"),
    );
    // Other agents are not affected.
    gw.sign_in(102).await;

    // Until the lock-out passes: 110-016, then the sign-in succeeds.
    let deadline = Instant::now() + Duration::from_millis(LOCKOUT_MS + 5_000);
    loop {
        let r = put_sign_in(&gw, "101", sign_in_body(101)).await;
        if r.retcode() == "0" {
            set_guid(&r);
            break;
        }
        expect_no_guid(&r, rc("110-016"));
        assert!(Instant::now() < deadline, "still locked long after lockout_ms");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let waited = fifth_sent.elapsed();
    assert!(waited >= Duration::from_millis(LOCKOUT_MS - 50), "unlocked after only {waited:?}");
    gw.stop().await;
}

#[tokio::test]
async fn failed_count_resets_after_a_good_sign_in() {
    let gw = start_with(|c| c.auth.max_failed_logins = 3).await;
    let wrong = json!({"password":"wrong"});
    for _ in 0..2 {
        expect_no_guid(&put_sign_in(&gw, "101", wrong.clone()).await, rc("100-004"));
    }
    let a = gw.sign_in(101).await;
    expect(&a.delete(&gw, "onlineagent", "logout").await, success());
    for _ in 0..2 {
        expect_no_guid(&put_sign_in(&gw, "101", wrong.clone()).await, rc("100-004"));
    }
    expect_no_guid(&put_sign_in(&gw, "101", wrong).await, rc("110-021"));
    gw.stop().await;
}

#[tokio::test]
async fn concurrent_sign_ins_of_one_agent_let_exactly_one_through() {
    let gw = start().await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let client = gw.client.clone();
        let url = format!("{}{}", gw.base, sign_in_path("101"));
        tasks.spawn(async move {
            let resp = client
                .put(url)
                .header("Content-Type", JSON_UTF8)
                .body(sign_in_body(101).to_string())
                .send()
                .await
                .unwrap();
            Reply::from(resp).await
        });
    }
    let mut ok = Vec::new();
    let mut refused = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        if r.retcode() == "0" { ok.push(r) } else { refused.push(r) }
    }
    assert_eq!(ok.len(), 1, "refusals: {:?}", refused.iter().map(|r| r.body.clone()).collect::<Vec<_>>());
    let guid = set_guid(&ok[0]);
    assert_eq!(refused.len(), 7);
    for r in &refused {
        assert!(r.body == rc("100-021") || r.body == rc("100-002"), "{}", r.body);
        expect_no_guid(r, r.body.clone());
    }
    let a = Agent { id: 101, guid: std::sync::Mutex::new(guid) };
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;
    expect_no_event(&gw, &a).await;
    gw.stop().await;
}

#[tokio::test]
async fn sign_in_parameter_errors() {
    let gw = start().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("no password", json!({"phonenum":"7101"}), "100-001"),
        ("password over 32", json!({"password":"x".repeat(33)}), "100-001"),
        ("password not a string", json!({"password":{"a":1}}), "100-001"),
        ("empty body", Value::Null, "100-001"),
        ("agent type 5", json!({"password":"ccgw-demo","agenttype":5}), "100-012"),
        ("agent type text", json!({"password":"ccgw-demo","agenttype":"pc"}), "100-012"),
        ("phone with letters", json!({"password":"ccgw-demo","phonenum":"71a1"}), "100-013"),
        ("phone over 24", json!({"password":"ccgw-demo","phonenum":"1".repeat(25)}), "100-013"),
        ("phone not a string", json!({"password":"ccgw-demo","phonenum":[1]}), "100-013"),
        ("status 6", json!({"password":"ccgw-demo","status":6}), "100-001"),
        ("status text", json!({"password":"ccgw-demo","status":"idle"}), "100-001"),
        ("autoanswer text", json!({"password":"ccgw-demo","autoanswer":"yes"}), "100-001"),
        ("JSON array", json!([1, 2]), "000-006"),
        ("JSON string", json!("password"), "000-006"),
    ];
    for (what, body, code) in cases {
        let r = if body.is_null() {
            gw.request(Method::PUT, &sign_in_path("101"), None, None).await
        } else {
            put_sign_in(&gw, "101", body).await
        };
        assert_eq!(r.body, rc(code), "{what}");
        expect_no_guid(&r, rc(code));
    }
    // Not JSON at all.
    let resp = gw
        .client
        .put(format!("{}{}", gw.base, sign_in_path("101")))
        .header("Content-Type", JSON_UTF8)
        .body("password=ccgw-demo")
        .send()
        .await
        .unwrap();
    expect_no_guid(&Reply::from(resp).await, rc("000-006"));

    // An unknown agent in range gets the wrong-password answer (no enumeration).
    expect_no_guid(&put_sign_in(&gw, "59000", sign_in_body(59000)).await, rc("100-004"));
    // An empty password is a password, and 101's is not empty (see tests/it/signin.rs).
    expect_no_guid(&put_sign_in(&gw, "101", json!({"password":""})).await, rc("100-004"));

    // None of that locked 101 out or signed it in.
    gw.sign_in(101).await;
    gw.stop().await;
}

#[tokio::test]
async fn agent_ids_out_of_range_or_malformed_get_000_002() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    for id in ["100", "60000", "abc", "0101x", "1000000", "-101", "+101", "%31%30%31", "101.0"] {
        let r = put_sign_in(&gw, id, sign_in_body(101)).await;
        expect_no_guid(&r, rc("000-002"));
        let r = with_guid(&gw, Method::GET, &format!("{PREFIX}/onlineagent/{id}/agentstatus"), Some(&a.guid())).await;
        expect_no_guid(&r, rc("000-002"));
        let r = with_guid(&gw, Method::GET, &format!("{PREFIX}/agentevent/{id}"), Some(&a.guid())).await;
        expect_no_guid(&r, rc("000-002"));
    }
    // Judgement call: leading zeros are accepted ("0101" is agent 101).
    let r = with_guid(&gw, Method::GET, &format!("{PREFIX}/onlineagent/0101/agentstatus"), Some(&a.guid())).await;
    expect_no_guid(&r, json!({"message":"","retcode":"0","result":{"agentState":4,"isWorking":false}}));
    gw.stop().await;
}

#[tokio::test]
async fn wide_agent_ids_extend_the_range() {
    let gw = start_with(|c| c.auth.wide_agent_ids = true).await;
    // In range but not provisioned.
    expect_no_guid(&put_sign_in(&gw, "999999", sign_in_body(999999)).await, rc("100-004"));
    expect_no_guid(&put_sign_in(&gw, "60000", sign_in_body(60000)).await, rc("100-004"));
    let r = with_guid(&gw, Method::GET, &format!("{PREFIX}/onlineagent/999999/agentstatus"), Some("x")).await;
    expect_no_guid(&r, rc("100-006"));
    for id in ["100", "1000000", "9999999"] {
        expect_no_guid(&put_sign_in(&gw, id, sign_in_body(101)).await, rc("000-002"));
    }
    gw.sign_in(101).await;
    gw.stop().await;
}

// ----- GUID authentication --------------------------------------------------------------------

#[tokio::test]
async fn guid_is_checked_on_every_other_interface() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    let b = gw.sign_in(102).await;
    let forged = format!("{}.AgentGateway0", uuid_like());
    let interfaces: Vec<(Method, &str, &str)> = vec![
        (Method::GET, "onlineagent", "agentstatus"),
        (Method::GET, "onlineagent", "agentskills"),
        (Method::POST, "onlineagent", "saybusy"),
        (Method::POST, "onlineagent", "sayfree"),
        (Method::POST, "onlineagent", "rest/60/0"),
        (Method::POST, "onlineagent", "work"),
        (Method::POST, "onlineagent", "autoenteridle/true"),
        (Method::POST, "onlineagent", "resetskill/true"),
        (Method::POST, "onlineagent", "handshake"),
        (Method::PUT, "onlineagent", "updateGuid"),
        (Method::DELETE, "onlineagent", "logout"),
        (Method::DELETE, "onlineagent", "forcelogout"),
        (Method::DELETE, "onlineagent", "forcelogoutwithreason/1"),
        (Method::GET, "agentevent", ""),
        (Method::GET, "calldata", "callinfo"),
        (Method::GET, "calldata", "allcallinfoEx/101"),
        (Method::PUT, "voicecall", "answer"),
    ];
    for (method, family, suffix) in &interfaces {
        let path = a.path(family, suffix);
        let what = format!("{method} {path}");
        for guid in [None, Some(""), Some(forged.as_str()), Some(b.guid().as_str()), Some("garbage")] {
            let r = with_guid(&gw, method.clone(), &path, guid).await;
            assert_eq!(r.body, rc("100-006"), "{what} with {guid:?}");
            expect_no_guid(&r, rc("100-006"));
        }
    }
    // None of the refused requests changed anything: still signed in, idle, same GUID.
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;
    expect_no_event(&gw, &a).await;
    expect_status(&gw, &a, 4).await;

    // A GUID for an agent that is not signed in.
    let r = with_guid(&gw, Method::GET, &format!("{PREFIX}/onlineagent/103/agentstatus"), Some(&a.guid())).await;
    expect_no_guid(&r, rc("100-006"));
    gw.stop().await;
}

fn uuid_like() -> String {
    // Any well-formed v4 UUID that was never issued.
    "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b".to_owned()
}

/// The `Guid` header name is case-insensitive on the wire (checked with raw HTTP/1.1 over TLS,
/// since HTTP clients normalise header names).
#[tokio::test]
async fn guid_header_name_is_case_insensitive() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    for name in ["Guid", "guid", "GUID", "gUiD"] {
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {JSON_UTF8}\r\n{name}: {}\r\nConnection: close\r\n\r\n",
            a.path("onlineagent", "agentstatus"),
            a.guid()
        );
        let raw = String::from_utf8(gw.raw_tls(req.as_bytes()).await).unwrap();
        assert!(raw.starts_with("HTTP/1.1 200 OK\r\n"), "{name}: {raw}");
        assert!(raw.to_ascii_lowercase().contains("content-type: application/json;charset=utf-8\r\n"), "{raw}");
        let body = raw.split("\r\n\r\n").nth(1).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(body).unwrap(),
            json!({"message":"","retcode":"0","result":{"agentState":4,"isWorking":false}}),
            "{name}"
        );
    }
    gw.stop().await;
}

/// AUTHMODE 2: the poll announces a new GUID once the interval has passed; the old one keeps
/// working until guid_timeout after it was issued.
#[tokio::test]
async fn authmode_2_rotates_the_guid_on_polls() {
    const INTERVAL: u64 = 300;
    const TIMEOUT: u64 = 1_500;
    let gw = start_with(|c| {
        c.auth.mode = 2;
        c.auth.guid_interval_ms = INTERVAL;
        c.auth.guid_timeout_ms = TIMEOUT;
        c.auth.poll_wait_ms = 200;
    })
    .await;
    let signed_in_at = Instant::now();
    let a = gw.sign_in(101).await;
    let signed_in_after = signed_in_at.elapsed();
    let g0 = a.guid();
    let poll_path = a.path("agentevent", "");
    let status_path = a.path("onlineagent", "agentstatus");

    // Poll with g0 until a response carries Set-GUID.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut g1_sent;
    let g1 = loop {
        g1_sent = Instant::now();
        let r = with_guid(&gw, Method::GET, &poll_path, Some(&g0)).await;
        assert_eq!(r.retcode(), "0", "{}", r.body);
        if r.headers.get("set-guid").is_some() {
            let g1 = set_guid(&r);
            assert!(r.headers.get_all("set-guid").iter().count() == 1);
            break g1;
        }
        assert!(Instant::now() < deadline, "no rotation");
    };
    let rotated_after = signed_in_at.elapsed();
    assert!(rotated_after >= Duration::from_millis(INTERVAL), "rotated after only {rotated_after:?}");
    assert_ne!(g1, g0);

    // Without further polls (no further rotation), g0 works until TIMEOUT after sign-in, then
    // 100-006; g1 works throughout. agentstatus never rotates.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // The server issued g0 between `signed_in_at` and `signed_in_after`; 50 ms of slack for
        // the wall clock (server) against the monotonic one (here).
        let probe_sent = signed_in_at.elapsed();
        let r = with_guid(&gw, Method::GET, &status_path, Some(&g0)).await;
        let probe_answered = signed_in_at.elapsed();
        if r.retcode() == "100-006" {
            expect_no_guid(&r, rc("100-006"));
            assert!(
                probe_answered + Duration::from_millis(50) >= Duration::from_millis(TIMEOUT),
                "old GUID dead at {probe_answered:?}"
            );
            break;
        }
        // A request with the previous GUID is told the current one again.
        expect(&r, json!({"message":"","retcode":"0","result":{"agentState":4,"isWorking":false}}));
        assert_eq!(set_guid(&r), g1, "the current GUID is re-announced to a client still using the previous one");
        assert!(
            probe_sent < signed_in_after + Duration::from_millis(TIMEOUT + 50),
            "old GUID still accepted at {probe_sent:?}"
        );
        let r = with_guid(&gw, Method::GET, &status_path, Some(&g1)).await;
        expect_no_guid(&r, json!({"message":"","retcode":"0","result":{"agentState":4,"isWorking":false}}));
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // g1 is now overdue for rotation: its next poll announces g2; g1 still works afterwards.
    let r = with_guid(&gw, Method::GET, &poll_path, Some(&g1)).await;
    let g2 = set_guid(&r);
    assert!(g2 != g1 && g2 != g0);
    let r = with_guid(&gw, Method::GET, &status_path, Some(&g1)).await;
    // g1 was issued after `g1_sent`, so it is good until at least TIMEOUT after that.
    if g1_sent.elapsed() + Duration::from_millis(50) < Duration::from_millis(TIMEOUT) {
        assert_eq!(r.retcode(), "0", "{}", r.body);
    }
    let r = with_guid(&gw, Method::GET, &status_path, Some(&g2)).await;
    assert_eq!(r.retcode(), "0");
    // g0 stays dead.
    expect_no_guid(&with_guid(&gw, Method::GET, &poll_path, Some(&g0)).await, rc("100-006"));
    gw.stop().await;
}

/// An agent client that follows Set-GUID keeps working across many rotations.
#[tokio::test]
async fn authmode_2_client_following_set_guid_stays_signed_in() {
    let gw = start_with(|c| {
        c.auth.guid_interval_ms = 100;
        c.auth.guid_timeout_ms = 250;
        c.auth.poll_wait_ms = 50;
    })
    .await;
    let a = gw.sign_in(101).await;
    let mut seen = vec![a.guid()];
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1_200) {
        let r = a.get(&gw, "agentevent", "").await;
        assert_eq!(r.retcode(), "0", "{}", r.body);
        if r.headers.get("set-guid").is_some() {
            seen.push(set_guid(&r));
        }
    }
    assert!(seen.len() >= 4, "only {} GUIDs in 1.2 s", seen.len());
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a GUID was issued twice");
    expect_status(&gw, &a, 4).await;
    gw.stop().await;
}

#[tokio::test]
async fn authmode_1_never_rotates() {
    let gw = start_with(|c| {
        c.auth.mode = 1;
        c.auth.guid_interval_ms = 100;
        c.auth.guid_timeout_ms = 300;
        c.auth.poll_wait_ms = 100;
    })
    .await;
    let a = gw.sign_in(101).await;
    let g0 = a.guid();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(800) {
        let r = with_guid(&gw, Method::GET, &a.path("agentevent", ""), Some(&g0)).await;
        assert_eq!(r.retcode(), "0", "{}", r.body);
        assert!(r.headers.get("set-guid").is_none(), "rotation in AUTHMODE 1");
        let r = with_guid(&gw, Method::POST, &a.path("onlineagent", "handshake"), Some(&g0)).await;
        expect_no_guid(&r, success());
    }
    // Long past interval and timeout, the sign-in GUID still works.
    expect_status(&gw, &a, 4).await;
    assert_eq!(a.guid(), g0);
    gw.stop().await;
}

#[tokio::test]
async fn update_guid_and_handshake() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    let old = a.guid();

    // Handshake, rotation not due (default 60 s interval): no Set-GUID.
    let r = a.post(&gw, "onlineagent", "handshake", None).await;
    expect_no_guid(&r, success());

    let r = a.put(&gw, "onlineagent", "updateGuid", None).await;
    let new = set_guid(&r);
    assert_ne!(new, old);
    expect(&r, json!({"message":"success","retcode":"0","result":{"guid": new}}));
    check_guid(r.body["result"]["guid"].as_str().unwrap());
    // Both work: the old one until its timeout.
    for g in [&old, &new] {
        let r = with_guid(&gw, Method::GET, &a.path("onlineagent", "agentstatus"), Some(g)).await;
        assert_eq!(r.retcode(), "0");
    }
    // Twice in a row: only the newest and the one before remain valid.
    let r = a.put(&gw, "onlineagent", "updateGuid", None).await;
    let newest = set_guid(&r);
    assert_eq!(r.body["result"]["guid"], newest.as_str());
    for (g, ok) in [(&old, false), (&new, true), (&newest, true)] {
        let r = with_guid(&gw, Method::GET, &a.path("onlineagent", "agentstatus"), Some(g)).await;
        assert_eq!(r.retcode() == "0", ok, "{g}: {}", r.body);
    }
    gw.stop().await;
}

#[tokio::test]
async fn handshake_rotates_when_due_in_authmode_2() {
    let gw = start_with(|c| {
        c.auth.guid_interval_ms = 200;
        c.auth.guid_timeout_ms = 2_000;
    })
    .await;
    let a = gw.sign_in(101).await;
    let g0 = a.guid();
    let deadline = Instant::now() + Duration::from_secs(5);
    let g1 = loop {
        let r = with_guid(&gw, Method::POST, &a.path("onlineagent", "handshake"), Some(&g0)).await;
        expect(&r, success());
        if r.headers.get("set-guid").is_some() {
            break set_guid(&r);
        }
        assert!(Instant::now() < deadline, "handshake never rotated");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_ne!(g1, g0);
    let r = with_guid(&gw, Method::GET, &a.path("onlineagent", "agentstatus"), Some(&g1)).await;
    assert_eq!(r.retcode(), "0");
    gw.stop().await;
}

// ----- event polling ----------------------------------------------------------------------------

#[tokio::test]
async fn long_poll_holds_for_poll_wait_when_nothing_happens() {
    const WAIT: u64 = 400;
    let gw = start_with(|c| c.auth.poll_wait_ms = WAIT).await;
    let a = gw.sign_in(101).await;
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;
    for _ in 0..2 {
        let t = Instant::now();
        let r = a.get(&gw, "agentevent", "").await;
        let took = t.elapsed();
        expect_no_guid(&r, json!({"message":"","retcode":"0"}));
        assert!(r.body.get("event").is_none());
        assert!(took >= Duration::from_millis(WAIT - 10), "returned after {took:?}");
        assert!(took < Duration::from_millis(WAIT + 2_000), "held for {took:?}");
    }
    // The calldata parameter (agent bar refresh) is accepted.
    let r = a.call(&gw, Method::GET, &format!("{}?calldata=xyz", a.path("agentevent", "")), None).await;
    expect_no_guid(&r, json!({"message":"","retcode":"0"}));
    gw.stop().await;
}

#[tokio::test]
async fn long_poll_answers_as_soon_as_an_event_arrives() {
    const WAIT: u64 = 8_000;
    let gw = Arc::new(Gateway::start_with(|c| c.auth.poll_wait_ms = WAIT).await);
    let a = Arc::new(gw.sign_in(101).await);
    // Exactly the two sign-in events: these polls do not wait.
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;

    let (g, ag) = (gw.clone(), a.clone());
    let poller = tokio::spawn(async move {
        let t = Instant::now();
        let ev = poll_event(&g, &ag).await;
        (ev, t.elapsed())
    });
    // Give the poll time to start waiting (if it is late, the event is simply queued for it).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = a.post(&gw, "onlineagent", "saybusy?reason=201", None).await;
    expect(&r, success());
    let (ev, took) = tokio::time::timeout(Duration::from_secs(5), poller).await.expect("poll answered").unwrap();
    assert_eq!(strip_time(&ev), event(101, "AgentState_SetNotReady_Success", json!({"reason":"201"})));
    assert!(took < Duration::from_millis(WAIT / 4), "poll took {took:?}");
    drop(a);
    Arc::try_unwrap(gw).ok().expect("no other owner").stop().await;
}

#[tokio::test]
async fn events_arrive_one_per_poll_in_order_without_loss_or_duplicates() {
    const ROUNDS: usize = 45;
    let gw = Arc::new(Gateway::start_with(|c| c.auth.poll_wait_ms = 1_000).await);
    let a = Arc::new(gw.sign_in(101).await);
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;

    let mut expected = Vec::new();
    for i in 0..ROUNDS {
        match i % 3 {
            0 => {
                let reason = 200 + (i % 51) as u16;
                expected.push(event(101, "AgentState_SetNotReady_Success", json!({ "reason": reason.to_string() })));
                expected.push(event(101, "AgentState_CancelNotReady_Success", Value::Null));
            }
            1 => {
                expected.push(event(101, "AgentState_SetRest_Success", Value::Null));
                expected.push(event(101, "AgentState_CancelRest_Success", Value::Null));
            }
            _ => {
                expected.push(event(101, "AgentState_SetWork_Success", Value::Null));
                expected.push(event(101, "AgentState_Work", Value::Null));
                expected.push(event(101, "AgentState_CancelWork_Success", Value::Null));
            }
        }
        expected.push(event(101, "AgentState_Ready", Value::Null));
    }
    let total = expected.len();

    // A concurrent poller collects while the state changes are made.
    let (g, ag) = (gw.clone(), a.clone());
    let poller = tokio::spawn(async move {
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while got.len() < total {
            let r = ag.get(&g, "agentevent", "").await;
            match r.body.get("event") {
                Some(ev) => {
                    assert_eq!(r.body, json!({"message":"","retcode":"0","event": ev}));
                    got.push(ev.clone());
                }
                None => assert_eq!(r.body, json!({"message":"","retcode":"0"})),
            }
            assert!(Instant::now() < deadline, "collected only {} of {total}", got.len());
        }
        got
    });
    for i in 0..ROUNDS {
        let (set, cancel) = match i % 3 {
            0 => (format!("saybusy?reason={}&prolong=false", 200 + i % 51), "cancelbusy"),
            1 => (format!("rest/60/{}", i % 256), "cancelrest"),
            _ => ("work".to_owned(), "cancelwork"),
        };
        expect(&a.post(&gw, "onlineagent", &set, None).await, success());
        expect(&a.post(&gw, "onlineagent", cancel, None).await, success());
    }
    let got = tokio::time::timeout(Duration::from_secs(90), poller).await.expect("poller finished").unwrap();
    let times: Vec<u64> = got.iter().map(|e| e["eventGenTime"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "eventGenTime goes backwards: {times:?}");
    let got: Vec<Value> = got.iter().map(strip_time).collect();
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "event #{i}");
    }
    // Nothing extra.
    let r = a.get(&gw, "agentevent", "").await;
    expect(&r, json!({"message":"","retcode":"0"}));
    drop(a);
    Arc::try_unwrap(gw).ok().expect("no other owner").stop().await;
}

#[tokio::test]
async fn shut_down_wakes_a_waiting_poll() {
    let mut gw = Gateway::start_with(|c| c.auth.poll_wait_ms = 30_000).await;
    let a = gw.sign_in(101).await;
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;

    let store_seen = |gw: &Gateway| gw.running().gateway.store.last_seen(AgentId(101)).unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let before = store_seen(&gw);
    let client = gw.client.clone();
    let url = format!("{}{}", gw.base, a.path("agentevent", ""));
    let guid = a.guid();
    let started = Instant::now();
    let poll = tokio::spawn(async move {
        let resp = client.get(url).header("Content-Type", JSON_UTF8).header("Guid", guid).send().await.unwrap();
        Reply::from(resp).await
    });
    // Wait until the poll has been authenticated (it touched the heartbeat): it is now waiting.
    let deadline = Instant::now() + Duration::from_secs(5);
    while store_seen(&gw) <= before {
        assert!(Instant::now() < deadline, "poll never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stop_at = Instant::now();
    let server = gw.server.take().unwrap();
    tokio::time::timeout(Duration::from_secs(5), server.shut_down()).await.expect("shut-down finished promptly");
    let r = tokio::time::timeout(Duration::from_secs(5), poll).await.expect("poll answered").unwrap();
    expect(&r, json!({"message":"","retcode":"0"}));
    assert!(stop_at.elapsed() < Duration::from_secs(3));
    assert!(started.elapsed() < Duration::from_secs(10), "poll waited for its full wait");
}

// ----- heartbeat -----------------------------------------------------------------------------

fn listed(agents: &Value, id: u32) -> Option<Value> {
    agents["agents"].as_array().unwrap().iter().find(|a| a["workNo"] == id).cloned()
}

#[tokio::test]
async fn heartbeat_timeout_signs_out_a_silent_agent_and_releases_its_call() {
    const HEARTBEAT: u64 = 500;
    let gw = Arc::new(
        Gateway::start_with(|c| {
            c.auth.heartbeat_timeout_ms = HEARTBEAT;
            c.engine.tick_ms = 50;
            c.auth.poll_wait_ms = 200;
        })
        .await,
    );
    let silent = gw.sign_in(101).await;
    let call = answer_injected_call(&gw, &silent).await;
    // Its last request.
    let last_request = Instant::now();
    assert_eq!(status(&gw, &silent).await, json!({"agentState":7,"isWorking":false}));

    // 102 keeps polling all along.
    let busy = Arc::new(gw.sign_in(102).await);
    let busy_since = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let (g, b, s) = (gw.clone(), busy.clone(), stop.clone());
    let keepalive = tokio::spawn(async move {
        while !s.load(Ordering::Relaxed) {
            let r = b.get(&g, "agentevent", "").await;
            assert_eq!(r.retcode(), "0", "keep-alive poll: {}", r.body);
        }
    });

    // The silent agent disappears once HEARTBEAT has passed without a request from it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let agents = gw.admin_get("/admin/agents").await;
        if listed(&agents, 101).is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "silent agent never signed out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let gone_after = last_request.elapsed();
    assert!(gone_after >= Duration::from_millis(HEARTBEAT - 50), "signed out after only {gone_after:?}");

    // Its GUID is dead, and its call was released (the customer alone does not keep it up).
    let r = with_guid(&gw, Method::GET, &silent.path("onlineagent", "agentstatus"), Some(&silent.guid())).await;
    expect_no_guid(&r, rc("100-006"));
    let calls = gw.admin_get("/admin/calls").await;
    assert_eq!(calls, json!({"calls":[]}), "call {call} still up");

    // The polling agent stays signed in well past several heartbeat periods.
    while busy_since.elapsed() < Duration::from_millis(HEARTBEAT * 4) {
        let agents = gw.admin_get("/admin/agents").await;
        assert_eq!(listed(&agents, 102), Some(json!({"workNo":102,"vdn":1,"agentState":4,"calls":[]})));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    keepalive.await.unwrap();
    expect_status(&gw, &busy, 4).await;

    // The timed-out agent can sign in again normally (no 100-002).
    gw.sign_in(101).await;
    drop(busy);
    Arc::try_unwrap(gw).ok().expect("no other owner").stop().await;
}

// ----- sign-out -------------------------------------------------------------------------------

#[tokio::test]
async fn logout() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    let r = a.delete(&gw, "onlineagent", "logout").await;
    expect_no_guid(&r, success());
    for (m, f, s) in [(Method::GET, "agentevent", ""), (Method::GET, "onlineagent", "agentstatus")] {
        expect_no_guid(&a.call(&gw, m, &a.path(f, s), None).await, rc("100-006"));
    }
    expect_no_guid(&a.delete(&gw, "onlineagent", "logout").await, rc("100-006"));
    // Signing in again is a normal sign-in.
    let a = gw.sign_in(101).await;
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;
    gw.stop().await;
}

#[tokio::test]
async fn logout_refused_in_a_call_and_forcelogout_releases_it() {
    let gw = start().await;
    let a = gw.sign_in(101).await;

    // Ringing counts as in a call.
    let call = gw.inject_call("13800000001", "10086", "").await;
    expect_no_guid(&a.delete(&gw, "onlineagent", "logout").await, rc("100-010"));
    expect(&a.put(&gw, "voicecall", "answer", None).await, success());
    expect_no_guid(&a.delete(&gw, "onlineagent", "logout").await, rc("100-010"));
    expect_status(&gw, &a, 7).await;
    assert_eq!(gw.admin_get("/admin/calls").await["calls"][0]["callId"], call.as_str());

    expect_no_guid(&a.delete(&gw, "onlineagent", "forcelogout").await, success());
    assert_eq!(gw.admin_get("/admin/calls").await, json!({"calls":[]}));
    assert_eq!(gw.admin_get("/admin/agents").await, json!({"agents":[]}));
    expect_no_guid(&a.get(&gw, "onlineagent", "agentstatus").await, rc("100-006"));
    expect_no_guid(&a.delete(&gw, "onlineagent", "forcelogout").await, rc("100-006"));
    gw.stop().await;
}

#[tokio::test]
async fn force_logout_with_reason() {
    let gw = start().await;
    for reason in ["1", "255", "264"] {
        let a = gw.sign_in(101).await;
        let r = a.delete(&gw, "onlineagent", &format!("forcelogoutwithreason/{reason}")).await;
        if reason == "264" {
            // Above 255: refused, still signed in; then sign out for the next round.
            expect_no_guid(&r, rc("100-005"));
            expect_status(&gw, &a, 4).await;
            expect(&a.delete(&gw, "onlineagent", "logout").await, success());
            continue;
        }
        expect_no_guid(&r, json!({"message":"success","retcode":"0"}));
        expect_no_guid(&a.get(&gw, "onlineagent", "agentstatus").await, rc("100-006"));
    }
    let a = gw.sign_in(101).await;
    for bad in ["0", "256", "x", "-1", "1.5", "99999999999"] {
        let r = a.delete(&gw, "onlineagent", &format!("forcelogoutwithreason/{bad}")).await;
        assert_eq!(r.body, rc("100-005"), "reason {bad}");
        expect_no_guid(&r, rc("100-005"));
    }
    expect_status(&gw, &a, 4).await;

    // In a call: the call is released.
    answer_injected_call(&gw, &a).await;
    let r = a.delete(&gw, "onlineagent", "forcelogoutwithreason/7").await;
    expect_no_guid(&r, json!({"message":"success","retcode":"0"}));
    assert_eq!(gw.admin_get("/admin/calls").await, json!({"calls":[]}));
    gw.stop().await;
}

// ----- agent states -----------------------------------------------------------------------------

#[tokio::test]
async fn say_busy_and_cancel_busy() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;

    expect_no_guid(&a.post(&gw, "onlineagent", "saybusy?reason=201&prolong=false", None).await, success());
    expect_events(&gw, &a, &[event(101, "AgentState_SetNotReady_Success", json!({"reason":"201"}))]).await;
    expect_status(&gw, &a, 3).await;

    // Already busy: refused without prolong, accepted with it (new reason).
    expect_no_guid(&a.post(&gw, "onlineagent", "saybusy?reason=202&prolong=false", None).await, rc("100-009"));
    expect_no_guid(&a.post(&gw, "onlineagent", "saybusy?reason=202", None).await, rc("100-009"));
    expect(&a.post(&gw, "onlineagent", "saybusy?reason=250&prolong=true", None).await, success());
    expect_events(&gw, &a, &[event(101, "AgentState_SetNotReady_Success", json!({"reason":"250"}))]).await;

    // Bad parameters (checked before the state).
    for q in ["reason=199", "reason=251", "reason=1", "reason=abc", "reason=-200", "reason=201&prolong=maybe"] {
        let r = a.post(&gw, "onlineagent", &format!("saybusy?{q}"), None).await;
        assert_eq!(r.body, rc("000-002"), "{q}");
    }

    expect_no_guid(&a.post(&gw, "onlineagent", "cancelbusy", None).await, success());
    expect_events(
        &gw,
        &a,
        &[event(101, "AgentState_CancelNotReady_Success", Value::Null), event(101, "AgentState_Ready", Value::Null)],
    )
    .await;
    expect_status(&gw, &a, 4).await;
    // Not busy: nothing to cancel.
    expect_no_guid(&a.post(&gw, "onlineagent", "cancelbusy", None).await, rc("100-009"));

    // No reason (or reason 0 / empty): busy with reason 0.
    for q in ["", "?reason=", "?reason=0&prolong=true"] {
        expect(&a.post(&gw, "onlineagent", &format!("saybusy{q}"), None).await, success());
        expect_events(&gw, &a, &[event(101, "AgentState_SetNotReady_Success", json!({"reason":"0"}))]).await;
        expect(&a.post(&gw, "onlineagent", "cancelbusy", None).await, success());
        expect_events(
            &gw,
            &a,
            &[
                event(101, "AgentState_CancelNotReady_Success", Value::Null),
                event(101, "AgentState_Ready", Value::Null),
            ],
        )
        .await;
    }
    expect_no_event(&gw, &a).await;
    gw.stop().await;
}

#[tokio::test]
async fn rest_and_cancel_rest() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;

    for bad in ["rest/0/1", "rest/86400/1", "rest/x/1", "rest/60/256", "rest/60/x", "rest/-1/0", "rest/60/0?prolong=x"]
    {
        let r = a.post(&gw, "onlineagent", bad, None).await;
        assert_eq!(r.body, rc("000-002"), "{bad}");
    }
    expect_status(&gw, &a, 4).await;

    expect_no_guid(&a.post(&gw, "onlineagent", "rest/86399/255", None).await, success());
    expect_events(&gw, &a, &[event(101, "AgentState_SetRest_Success", Value::Null)]).await;
    expect_status(&gw, &a, 8).await;
    expect_no_guid(&a.post(&gw, "onlineagent", "rest/60/1", None).await, rc("100-009"));
    expect(&a.post(&gw, "onlineagent", "rest/1/0?prolong=true", None).await, success());
    expect_events(&gw, &a, &[event(101, "AgentState_SetRest_Success", Value::Null)]).await;

    expect_no_guid(&a.post(&gw, "onlineagent", "cancelrest", None).await, success());
    expect_events(
        &gw,
        &a,
        &[event(101, "AgentState_CancelRest_Success", Value::Null), event(101, "AgentState_Ready", Value::Null)],
    )
    .await;
    expect_status(&gw, &a, 4).await;
    expect_no_guid(&a.post(&gw, "onlineagent", "cancelrest", None).await, rc("100-009"));
    expect_no_event(&gw, &a).await;
    gw.stop().await;
}

#[tokio::test]
async fn work_and_cancel_work() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;

    expect_no_guid(&a.post(&gw, "onlineagent", "cancelwork", None).await, rc("100-009"));
    expect_no_guid(&a.post(&gw, "onlineagent", "work", None).await, success());
    expect_events(
        &gw,
        &a,
        &[event(101, "AgentState_SetWork_Success", Value::Null), event(101, "AgentState_Work", Value::Null)],
    )
    .await;
    expect_status(&gw, &a, 5).await;
    expect_no_guid(&a.post(&gw, "onlineagent", "work", None).await, rc("100-009"));

    expect_no_guid(&a.post(&gw, "onlineagent", "cancelwork", None).await, success());
    expect_events(
        &gw,
        &a,
        &[event(101, "AgentState_CancelWork_Success", Value::Null), event(101, "AgentState_Ready", Value::Null)],
    )
    .await;
    expect_status(&gw, &a, 4).await;
    expect_no_guid(&a.post(&gw, "onlineagent", "cancelwork", None).await, rc("100-009"));
    expect_no_event(&gw, &a).await;
    gw.stop().await;
}

#[tokio::test]
async fn say_free_from_every_state() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;

    // Idle already: success, nothing happens.
    expect_no_guid(&a.post(&gw, "onlineagent", "sayfree", None).await, success());
    expect_no_event(&gw, &a).await;

    let cases = [
        ("saybusy?reason=210", "AgentState_SetNotReady_Success", "AgentState_CancelNotReady_Success"),
        ("rest/30/2", "AgentState_SetRest_Success", "AgentState_CancelRest_Success"),
        ("work", "AgentState_SetWork_Success", "AgentState_CancelWork_Success"),
    ];
    for (op, _, cancel_event) in cases {
        expect(&a.post(&gw, "onlineagent", op, None).await, success());
        a.drain(&gw).await;
        expect(&a.post(&gw, "onlineagent", "sayfree", None).await, success());
        expect_events(&gw, &a, &[event(101, cancel_event, Value::Null), event(101, "AgentState_Ready", Value::Null)])
            .await;
        expect_status(&gw, &a, 4).await;
    }

    // In a call: refused.
    answer_injected_call(&gw, &a).await;
    expect_no_guid(&a.post(&gw, "onlineagent", "sayfree", None).await, rc("100-009"));
    gw.stop().await;
}

#[tokio::test]
async fn agent_status_codes_in_a_call() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    answer_injected_call(&gw, &a).await;
    expect_status(&gw, &a, 7).await;
    // Rest asked for in a call: pre-rest (9) until the call ends, then rest (8).
    expect(&a.post(&gw, "onlineagent", "rest/60/0", None).await, success());
    expect_status(&gw, &a, 9).await;
    a.drain(&gw).await;
    expect(&a.delete(&gw, "voicecall", "release").await, success());
    let events = a.poll_until(&gw, "AgentState_SetRest_Success").await;
    assert!(!Agent::types(&events).contains(&"AgentState_Ready".to_owned()), "{events:?}");
    expect_status(&gw, &a, 8).await;
    gw.stop().await;
}

#[tokio::test]
async fn auto_enter_idle_decides_the_state_after_a_call() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    for bad in ["autoenteridle/sixchr", "autoenteridle/truefalse"] {
        expect_no_guid(&a.post(&gw, "onlineagent", bad, None).await, rc("000-002"));
    }

    // Any flag but "true" means wrap-up after the call.
    expect_no_guid(&a.post(&gw, "onlineagent", "autoenteridle/false", None).await, success());
    answer_injected_call(&gw, &a).await;
    a.drain(&gw).await;
    expect(&a.delete(&gw, "voicecall", "release").await, success());
    let events = a.poll_until(&gw, "AgentState_Work").await;
    assert!(!Agent::types(&events).contains(&"AgentState_Ready".to_owned()), "{events:?}");
    expect_status(&gw, &a, 5).await;
    expect(&a.post(&gw, "onlineagent", "cancelwork", None).await, success());
    a.drain(&gw).await;

    expect_no_guid(&a.post(&gw, "onlineagent", "autoenteridle/true", None).await, success());
    answer_injected_call(&gw, &a).await;
    a.drain(&gw).await;
    expect(&a.delete(&gw, "voicecall", "release").await, success());
    a.poll_until(&gw, "AgentState_Ready").await;
    expect_status(&gw, &a, 4).await;

    expect_no_guid(&a.post(&gw, "onlineagent", "autoenteridle/no", None).await, success());
    gw.stop().await;
}

// ----- skills ---------------------------------------------------------------------------------

/// A waiting call is offered to `a` now: its events, then `a` answers and releases it.
async fn offered_then_handled(gw: &Gateway, a: &Agent, call: &str, caller: &str, access_code: &str) {
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(strip_time(&poll_event(gw, a).await));
    }
    let types: Vec<&str> = got.iter().map(|e| e["eventType"].as_str().unwrap()).collect();
    assert_eq!(types, ["AgentState_Busy", "AgentOther_PhoneAlerting", "AgentOther_PhoneOffhook", "AgentEvent_Ringing"]);
    assert_eq!(got[1]["content"], json!({"callid": call, "caller": caller, "called": access_code}));
    assert_eq!(got[3]["content"]["callid"], call);
    expect(&a.put(gw, "voicecall", "answer", None).await, success());
    expect(&a.delete(gw, "voicecall", "release").await, success());
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(strip_time(&poll_event(gw, a).await)["eventType"].clone());
    }
    assert_eq!(got, ["AgentEvent_Talking", "AgentEvent_Call_Release", "AgentOther_PhoneRelease", "AgentState_Ready"]);
}

#[tokio::test]
async fn reset_skill_and_agent_skills() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;
    // The skill queues configured for the agent, exactly as the vendor's sample writes them
    // (`mediatype`, "success"); signing in and out of them does not change the list.
    let configured = json!({"message":"success","retcode":"0","result":[
        {"name":"voice","id":1,"mediatype":5},
        {"name":"vip","id":2,"mediatype":5}]});
    expect_no_guid(&a.get(&gw, "onlineagent", "agentskills").await, configured.clone());

    // Signed in to "voice" (1) only: a call for "vip" (2, access code 10087) waits ...
    expect_no_guid(&a.post(&gw, "onlineagent", "resetskill/true?skillid=1", None).await, success());
    expect_no_guid(&a.get(&gw, "onlineagent", "agentskills").await, configured.clone());
    let vip = gw.inject_call("13900000001", "10087", "").await;
    expect_no_event(&gw, &a).await;
    // ... until the agent signs in to both again.
    expect(&a.put(&gw, "onlineagent", "resetskill/false?skillid=1;2", None).await, success());
    offered_then_handled(&gw, &a, &vip, "13900000001", "10087").await;

    // "vip" only: a "voice" call (10086) waits; no skill list signs in to every configured skill.
    expect(&a.post(&gw, "onlineagent", "resetskill/true?skillid=2", None).await, success());
    let voice = gw.inject_call("13900000002", "10086", "").await;
    expect_no_event(&gw, &a).await;
    expect(&a.post(&gw, "onlineagent", "resetskill/true", None).await, success());
    offered_then_handled(&gw, &a, &voice, "13900000002", "10086").await;
    // Encoded separator.
    expect(&a.post(&gw, "onlineagent", "resetskill/true?skillid=2%3B1", None).await, success());

    // Skill 3 belongs to another VDN; 9 does not exist; "x" is not a number.
    for q in ["skillid=3", "skillid=1;3", "skillid=9", "skillid=x"] {
        let r = a.post(&gw, "onlineagent", &format!("resetskill/true?{q}"), None).await;
        assert_eq!(r.body, rc("100-019"), "{q}");
    }
    expect_no_guid(&a.post(&gw, "onlineagent", "resetskill/maybe?skillid=1", None).await, rc("000-002"));
    // Unchanged by the refusals: still signed in to both.
    expect(&a.get(&gw, "onlineagent", "agentskills").await, configured);
    let vip = gw.inject_call("13900000003", "10087", "").await;
    offered_then_handled(&gw, &a, &vip, "13900000003", "10087").await;

    // An agent with one skill.
    let b = gw.sign_in(151).await;
    expect(
        &b.get(&gw, "onlineagent", "agentskills").await,
        json!({"message":"success","retcode":"0","result":[{"name":"voice","id":1,"mediatype":5}]}),
    );
    expect_no_guid(&b.post(&gw, "onlineagent", "resetskill/true?skillid=2", None).await, rc("100-019"));
    gw.stop().await;
}

// ----- HTTP level ---------------------------------------------------------------------------

#[tokio::test]
async fn wrong_method_gets_405_with_allow() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    let cases: Vec<(Method, String, &str)> = vec![
        (Method::POST, a.path("onlineagent", "agentstatus"), "GET"),
        (Method::GET, sign_in_path("101"), "PUT"),
        (Method::POST, sign_in_path("101/forcelogin"), "PUT"),
        (Method::GET, a.path("onlineagent", "logout"), "DELETE"),
        (Method::PUT, a.path("onlineagent", "saybusy"), "POST"),
        (Method::DELETE, a.path("agentevent", ""), "GET"),
        (Method::GET, a.path("onlineagent", "resetskill/true"), "POST, PUT"),
        // The method is checked before the agent id.
        (Method::POST, format!("{PREFIX}/onlineagent/abc/agentstatus"), "GET"),
    ];
    for (method, path, allow) in cases {
        let r = with_guid(&gw, method.clone(), &path, Some(&a.guid())).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(r.headers.get("allow").unwrap(), allow, "{method} {path}");
        assert_eq!(r.headers.get("content-type").unwrap(), CONTENT_TYPE);
        assert_eq!(r.body, json!({"message":"method not allowed","retcode":"405"}));
    }
    // Nothing happened to the agent.
    expect_status(&gw, &a, 4).await;
    gw.stop().await;
}

#[tokio::test]
async fn unknown_paths_get_404() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    for path in [
        "/".to_owned(),
        "/agentgateway/resource".to_owned(),
        format!("{PREFIX}/onlineagent"),
        format!("{PREFIX}/onlineagent/101/nosuch"),
        format!("{PREFIX}/onlineagent/101/AgentStatus"),
        format!("{PREFIX}/onlineagent/101/rest/60"),
        format!("{PREFIX}/nosuch/101"),
        "/agentgateway/resource2/onlineagent/101".to_owned(),
    ] {
        let r = with_guid(&gw, Method::GET, &path, Some(&a.guid())).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.headers.get("content-type").unwrap(), CONTENT_TYPE);
        assert_eq!(r.body, json!({"message":"no such interface","retcode":"404"}), "{path}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn body_over_the_limit_gets_413() {
    let gw = start_with(|c| c.server.max_body_bytes = 1_024).await;
    let big = json!({"password":"ccgw-demo","padding":"x".repeat(4_096)});
    let r = put_sign_in(&gw, "101", big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.headers.get("content-type").unwrap(), CONTENT_TYPE);
    assert_eq!(r.body, rc("000-006"));
    assert!(r.headers.get("set-guid").is_none());
    // Just under the limit is fine.
    let body = json!({"password":"ccgw-demo","padding":"x".repeat(900)});
    assert!(body.to_string().len() <= 1_024);
    let a = gw.sign_in_with(101, body).await;
    expect_status(&gw, &a, 4).await;
    gw.stop().await;
}

#[tokio::test]
async fn malformed_requests_do_not_take_the_server_down() {
    let gw = start().await;

    let raw = gw.raw_tls(b"GARBAGE\r\n\r\n").await;
    let text = String::from_utf8_lossy(&raw);
    assert!(raw.is_empty() || text.starts_with("HTTP/1.1 400"), "{text}");

    let raw = gw.raw_tls(b"GET /agentgateway/resource/agentevent/101 HTTP/9.9\r\nHost: x\r\n\r\n").await;
    let text = String::from_utf8_lossy(&raw);
    assert!(raw.is_empty() || text.starts_with("HTTP/1.1 4") || text.starts_with("HTTP/1.1 505"), "{text}");

    // A 64 KiB header, raw and through an HTTP client.
    let huge = "a".repeat(64 * 1024);
    let req = format!("GET {PREFIX}/agentevent/101 HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n");
    let raw = gw.raw_tls(req.as_bytes()).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(raw.is_empty() || text.starts_with("HTTP/1.1 431") || text.starts_with("HTTP/1.1 400"), "{text}");
    let resp = gw
        .client
        .get(format!("{}{PREFIX}/onlineagent/101/agentstatus", gw.base))
        .header("X-Big", huge.as_str())
        .send()
        .await;
    // An error (connection closed) is acceptable too.
    if let Ok(r) = resp {
        assert!(r.status().is_client_error(), "{}", r.status());
    }

    // Still serving.
    let a = gw.sign_in(101).await;
    expect_status(&gw, &a, 4).await;
    gw.stop().await;
}

// ----- operations --------------------------------------------------------------------------------

#[tokio::test]
async fn metrics_and_health() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    expect_no_guid(&with_guid(&gw, Method::GET, &a.path("onlineagent", "agentstatus"), None).await, rc("100-006"));

    let r = gw.client.get(format!("{}/metrics", gw.admin)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(text.contains("ccgw_requests_total{method=\"login\",retcode=\"0\"}"), "{text}");
    assert!(text.contains("ccgw_requests_total{method=\"getAgentStatus\",retcode=\"100-006\"}"), "{text}");
    assert!(text.contains("ccgw_request_duration_seconds_bucket{method=\"login\""), "{text}");

    let r = gw.client.get(format!("{}/health", gw.admin)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status":"ok","node":"AgentGateway0"}));
    gw.stop().await;
}

/// A long poll still waiting from the session that a force sign-in replaced must not take the new
/// session's events. Today it does: it returns the new session's `AgentOther_InService`, and the
/// new client never sees it. The store's mailbox is per agent, not per session (see the report).
#[tokio::test]
async fn stale_poll_does_not_steal_the_new_sessions_events() {
    let gw = Gateway::start_with(|c| c.auth.poll_wait_ms = 3_000).await;
    let a = gw.sign_in(101).await;
    expect_events(&gw, &a, &idle_sign_in_events(101)).await;
    let store_seen = |gw: &Gateway| gw.running().gateway.store.last_seen(AgentId(101)).unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let before = store_seen(&gw);
    let client = gw.client.clone();
    let url = format!("{}{}", gw.base, a.path("agentevent", ""));
    let guid = a.guid();
    let stale = tokio::spawn(async move {
        let resp = client.get(url).header("Content-Type", JSON_UTF8).header("Guid", guid).send().await.unwrap();
        Reply::from(resp).await
    });
    // Wait until the old client's poll is authenticated and waiting.
    let deadline = Instant::now() + Duration::from_secs(5);
    while store_seen(&gw) <= before {
        assert!(Instant::now() < deadline, "poll never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let r = gw.request(Method::PUT, &sign_in_path("101/forcelogin"), None, Some(sign_in_body(101))).await;
    let b = Agent { id: 101, guid: std::sync::Mutex::new(set_guid(&r)) };
    let old = stale.await.unwrap();
    assert!(
        old.body == json!({"message":"","retcode":"0"}) || old.body == rc("100-006"),
        "the replaced session's poll got {}",
        old.body
    );
    expect_events(&gw, &b, &idle_sign_in_events(101)).await;
    gw.stop().await;
}

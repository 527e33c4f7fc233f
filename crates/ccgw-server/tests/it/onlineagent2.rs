//! Issue 8 §2, onlineagent (more): the Ex sign-ins, password changes, custom state, private
//! configuration, talk right, self-recording flags, bindphone, notes and bulletins. Every body
//! compared whole, error paths included.

use ccgw_server::Config;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Agent, Gateway, PREFIX, body_invalid, err, not_signed_in, param_invalid};

fn fast(c: &mut Config) {
    c.auth.poll_wait_ms = 300;
    c.telephony.default.answer_after_ms = 50;
}

async fn start() -> Gateway {
    Gateway::start_with(fast).await
}

fn ok() -> Value {
    json!({"message":"success","retcode":"0","result":{}})
}

async fn ready(gw: &Gateway, id: u32) -> Agent {
    let a = gw.sign_in(id).await;
    let evs = a.poll_until(gw, "AgentState_Ready").await;
    assert_eq!(Agent::types(&evs), ["AgentOther_InService", "AgentState_Ready"]);
    a
}

/// An agent whose GUID is wrong: every interface answers 100-006.
fn stranger(id: u32) -> Agent {
    Agent { id, guid: std::sync::Mutex::new("00000000-0000-4000-8000-000000000000.AgentGateway0".into()) }
}

async fn put_sign_in(gw: &Gateway, id: u32, suffix: &str, body: Value) -> crate::common::Reply {
    gw.request(Method::PUT, &format!("{PREFIX}/onlineagent/{id}/{suffix}"), None, Some(body)).await
}

/// The sign-in result, `loginTime` taken from `actual` once checked to be a digit string.
#[track_caller]
fn assert_signed_in(actual: &Value, workno: &str) {
    let t = actual["result"]["loginTime"].as_str().expect("loginTime");
    assert!(!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()), "{actual}");
    assert_eq!(
        *actual,
        json!({"message":"","retcode":"0","result":{
            "vdnid":1,"workno":workno,"mediatype":"TTF","loginTime":t,
            "isForceChange":"false","serverName":"AgentGateway","timeRemaining":""}})
    );
}

/// `caller` places an inner call to `callee`; the `otherPhone` its `Customer_Alerting` names
/// (the callee's bound phone).
async fn phone_of(gw: &Gateway, caller: &Agent, callee: u32) -> String {
    let r = caller.put(gw, "voicecall", "callinner", Some(json!({"called": callee}))).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let evs = caller.poll_until(gw, "AgentEvent_Customer_Alerting").await;
    evs.last().unwrap()["content"]["otherPhone"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_ex_sign_ins() {
    let gw = start().await;
    let r = put_sign_in(&gw, 101, "loginex", json!({"password":"ccgw-demo","phonenum":"7101","status":4})).await;
    assert_signed_in(&r.body, "101");
    let first = r.set_guid().expect("Set-GUID");
    let a = Agent { id: 101, guid: std::sync::Mutex::new(first.clone()) };
    assert_eq!(
        Agent::types(&a.poll_until(&gw, "AgentState_Ready").await),
        ["AgentOther_InService", "AgentState_Ready"]
    );
    // Signed in already: loginex refuses, forceloginex replaces the session.
    let r = put_sign_in(&gw, 101, "loginex", json!({"password":"ccgw-demo"})).await;
    assert_eq!(r.body, err("100-002", "agent already signed in"));
    let r = put_sign_in(&gw, 101, "forceloginex", json!({"password":"ccgw-demo","phonenum":"7101"})).await;
    assert_signed_in(&r.body, "101");
    let second = r.set_guid().unwrap();
    assert_ne!(first, second);
    assert_eq!(a.get(&gw, "onlineagent", "agentstatus").await.body, not_signed_in());
    // Without phone: the body's phonenum is not bound, the provisioned phone is.
    let r = put_sign_in(&gw, 101, "forceloginexwithoutphone", json!({"password":"ccgw-demo","phonenum":"7999"})).await;
    assert_signed_in(&r.body, "101");
    let b = ready(&gw, 102).await;
    assert_eq!(phone_of(&gw, &b, 101).await, "7101");
    // The sign-in checks of login.
    for suffix in ["loginex", "forceloginex", "forceloginexwithoutphone"] {
        let r = put_sign_in(&gw, 103, suffix, json!({"phonenum":"7103"})).await;
        assert_eq!(r.body, err("100-001", "sign-in parameter empty or invalid"), "{suffix}");
        let r = put_sign_in(&gw, 103, suffix, json!({"password":"wrong"})).await;
        assert_eq!(r.body, err("100-004", "wrong user name or password"), "{suffix}");
        let r = put_sign_in(&gw, 103, suffix, json!({"password":"ccgw-demo","status":9})).await;
        assert_eq!(r.body, err("100-001", "sign-in parameter empty or invalid"), "{suffix}");
    }
    let r = gw.request(Method::POST, &format!("{PREFIX}/onlineagent/103/loginex"), None, None).await;
    assert_eq!(r.status, 405);
    gw.stop().await;
}

#[tokio::test]
async fn custom_state_is_set_and_read_back_for_the_session() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let unset = json!({"message":"success","retcode":"0","result":{"agentcustomstate":"65535"}});
    assert_eq!(a.get(&gw, "onlineagent", "querycustomstate").await.body, unset);
    assert_eq!(a.post(&gw, "onlineagent", "setcustomstate?customstate=7", None).await.body, ok());
    let seven = json!({"message":"success","retcode":"0","result":{"agentcustomstate":"7"}});
    assert_eq!(a.get(&gw, "onlineagent", "querycustomstate").await.body, seven);
    assert_eq!(a.post(&gw, "onlineagent", "setcustomstate?customstate=65534", None).await.body, ok());
    for bad in ["customstate=65535", "customstate=-1", "customstate=x", "customstate=", ""] {
        let r = a.post(&gw, "onlineagent", &format!("setcustomstate?{bad}"), None).await;
        assert_eq!(r.body, param_invalid(), "{bad}");
    }
    let max = json!({"message":"success","retcode":"0","result":{"agentcustomstate":"65534"}});
    assert_eq!(a.get(&gw, "onlineagent", "querycustomstate").await.body, max);
    // Another agent's state is its own; a new session starts unset.
    let b = ready(&gw, 102).await;
    assert_eq!(b.get(&gw, "onlineagent", "querycustomstate").await.body, unset);
    assert_eq!(a.delete(&gw, "onlineagent", "logout").await.body, ok());
    let a = gw.sign_in(101).await;
    assert_eq!(a.get(&gw, "onlineagent", "querycustomstate").await.body, unset);
    let s = stranger(101);
    assert_eq!(s.get(&gw, "onlineagent", "querycustomstate").await.body, not_signed_in());
    assert_eq!(s.post(&gw, "onlineagent", "setcustomstate?customstate=1", None).await.body, not_signed_in());
    gw.stop().await;
}

#[tokio::test]
async fn private_config_is_kept_per_agent_and_bounded() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let config = |s: &str| json!({"message":"success","retcode":"0","result":s});
    assert_eq!(a.get(&gw, "onlineagent", "privateconfig").await.body, config(""));
    assert_eq!(
        a.post(&gw, "onlineagent", "privateconfig?config=%7B%22theme%22%3A%22dark%22%7D", None).await.body,
        ok()
    );
    assert_eq!(a.get(&gw, "onlineagent", "privateconfig").await.body, config(r#"{"theme":"dark"}"#));
    // Too long (over 4096 bytes) or absent: refused, the stored one is kept.
    let long = "x".repeat(4097);
    assert_eq!(a.post(&gw, "onlineagent", &format!("privateconfig?config={long}"), None).await.body, param_invalid());
    assert_eq!(a.post(&gw, "onlineagent", "privateconfig", None).await.body, param_invalid());
    assert_eq!(a.get(&gw, "onlineagent", "privateconfig").await.body, config(r#"{"theme":"dark"}"#));
    let exact = "y".repeat(4096);
    assert_eq!(a.post(&gw, "onlineagent", &format!("privateconfig?config={exact}"), None).await.body, ok());
    assert_eq!(a.get(&gw, "onlineagent", "privateconfig").await.body, config(&exact));
    // Empty clears it.
    assert_eq!(a.post(&gw, "onlineagent", "privateconfig?config=", None).await.body, ok());
    assert_eq!(a.get(&gw, "onlineagent", "privateconfig").await.body, config(""));
    let b = ready(&gw, 102).await;
    assert_eq!(b.get(&gw, "onlineagent", "privateconfig").await.body, config(""));
    let s = stranger(101);
    assert_eq!(s.get(&gw, "onlineagent", "privateconfig").await.body, not_signed_in());
    assert_eq!(s.post(&gw, "onlineagent", "privateconfig?config=a", None).await.body, not_signed_in());
    gw.stop().await;
}

#[tokio::test]
async fn talk_right_and_self_record_flags() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.post(&gw, "onlineagent", "settalkright?flag=true", None).await.body, ok());
    assert_eq!(a.post(&gw, "onlineagent", "settalkright?flag=false", None).await.body, ok());
    for bad in ["settalkright", "settalkright?flag=", "settalkright?flag=1", "settalkright?flag=yes"] {
        assert_eq!(a.post(&gw, "onlineagent", bad, None).await.body, param_invalid(), "{bad}");
    }
    assert_eq!(a.post(&gw, "onlineagent", "setselfrecord/true/false", None).await.body, ok());
    assert_eq!(a.post(&gw, "onlineagent", "setselfrecord/false/true", None).await.body, ok());
    for bad in ["setselfrecord/yes/false", "setselfrecord/true/1", "setselfrecord/TRUE/false"] {
        assert_eq!(a.post(&gw, "onlineagent", bad, None).await.body, param_invalid(), "{bad}");
    }
    let s = stranger(101);
    assert_eq!(s.post(&gw, "onlineagent", "settalkright?flag=true", None).await.body, not_signed_in());
    assert_eq!(s.post(&gw, "onlineagent", "setselfrecord/true/true", None).await.body, not_signed_in());
    gw.stop().await;
}

#[tokio::test]
async fn bindphone_changes_the_phone_calls_ring() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let b = ready(&gw, 102).await;
    assert_eq!(a.post(&gw, "onlineagent", "bindphone", Some(json!({"phonenum":"8101"}))).await.body, ok());
    assert_eq!(phone_of(&gw, &b, 101).await, "8101");
    let phone_invalid = err("100-013", "the phone number to bind is invalid");
    // In a call (ringing): refused.
    let r = a.post(&gw, "onlineagent", "bindphone", Some(json!({"phonenum":"9101"}))).await;
    assert_eq!(r.body, err("100-009", "agent state does not allow this operation"));
    assert_eq!(b.delete(&gw, "voicecall", "release").await.retcode(), "0");
    for bad in [json!({"phonenum":"12ab"}), json!({"phonenum":""}), json!({"phonenum":"1".repeat(25)})] {
        let r = a.post(&gw, "onlineagent", "bindphone", Some(bad.clone())).await;
        assert_eq!(r.body, phone_invalid, "{bad}");
    }
    assert_eq!(a.post(&gw, "onlineagent", "bindphone", Some(json!({}))).await.body, body_invalid());
    assert_eq!(a.post(&gw, "onlineagent", "bindphone", Some(json!({"phonenum":[1]}))).await.body, body_invalid());
    assert_eq!(a.post(&gw, "onlineagent", "bindphone", Some(json!("8101"))).await.body, body_invalid());
    let s = stranger(101);
    assert_eq!(s.post(&gw, "onlineagent", "bindphone", Some(json!({"phonenum":"8101"}))).await.body, not_signed_in());
    gw.stop().await;
}

#[tokio::test]
async fn notes_reach_the_receiver_of_the_vdn() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let b = ready(&gw, 102).await;
    let far = ready(&gw, 601).await;
    assert_eq!(a.post(&gw, "onlineagent", "sendnotelet/102?content=call%20me", None).await.body, ok());
    let ev = b.poll(&gw).await.expect("a note");
    assert_eq!(ev["eventType"], "AgentOther_Note");
    assert_eq!(ev["workNo"], "102");
    assert_eq!(ev["content"], Value::Null);
    let no_permission = err("300-001", "no permission to query this agent");
    assert_eq!(a.post(&gw, "onlineagent", "sendnotelet/601?content=x", None).await.body, no_permission);
    assert_eq!(
        a.post(&gw, "onlineagent", "sendnotelet/59000?content=x", None).await.body,
        err("300-002", "no such agent")
    );
    for bad in ["sendnotelet/abc?content=x", "sendnotelet/100?content=x", "sendnotelet/102?content=", "sendnotelet/102"]
    {
        assert_eq!(a.post(&gw, "onlineagent", bad, None).await.body, param_invalid(), "{bad}");
    }
    let long = "n".repeat(1025);
    assert_eq!(
        a.post(&gw, "onlineagent", &format!("sendnotelet/102?content={long}"), None).await.body,
        param_invalid()
    );
    // A receiver not signed in.
    let r = a.post(&gw, "onlineagent", "sendnotelet/103?content=x", None).await;
    assert_eq!(r.body, err("200-019", "no target agent available"));
    let s = stranger(101);
    assert_eq!(s.post(&gw, "onlineagent", "sendnotelet/102?content=x", None).await.body, not_signed_in());
    // Nothing else was delivered, to anyone.
    assert_eq!(b.poll(&gw).await, None);
    assert_eq!(far.poll(&gw).await, None);
    assert_eq!(a.poll(&gw).await, None);
    gw.stop().await;
}

#[tokio::test]
async fn bulletins_reach_the_vdn_or_the_named_agents() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let b = ready(&gw, 102).await;
    let c = ready(&gw, 103).await;
    let far = ready(&gw, 601).await;
    let bulletin = |to: &str, data: &str| json!({"eventType":"AgentOther_Bulletin","workNo":to,"content":{"sender":"101","bulletindata":data}});
    let strip = |mut ev: Value| {
        assert!(ev["eventGenTime"].is_u64(), "{ev}");
        ev.as_object_mut().unwrap().remove("eventGenTime");
        ev
    };
    let r =
        a.post(&gw, "onlineagent", "notifybulletin", Some(json!({"targettype":"0","bulletindata":"drill at 3"}))).await;
    assert_eq!(r.body, ok());
    assert_eq!(strip(b.poll(&gw).await.unwrap()), bulletin("102", "drill at 3"));
    assert_eq!(strip(c.poll(&gw).await.unwrap()), bulletin("103", "drill at 3"));
    let body = json!({"targettype":1,"targetname":"103;104","bulletindata":"only you"});
    assert_eq!(a.post(&gw, "onlineagent", "notifybulletin", Some(body)).await.body, ok());
    assert_eq!(strip(c.poll(&gw).await.unwrap()), bulletin("103", "only you"));
    // Errors change nothing.
    let other_vdn = json!({"targettype":1,"targetname":"103;601","bulletindata":"x"});
    let r = a.post(&gw, "onlineagent", "notifybulletin", Some(other_vdn)).await;
    assert_eq!(r.body, err("300-001", "no permission to query this agent"));
    let unknown = json!({"targettype":1,"targetname":"59000","bulletindata":"x"});
    assert_eq!(a.post(&gw, "onlineagent", "notifybulletin", Some(unknown)).await.body, err("300-002", "no such agent"));
    let malformed = json!({"targettype":1,"targetname":"100","bulletindata":"x"});
    assert_eq!(a.post(&gw, "onlineagent", "notifybulletin", Some(malformed)).await.body, param_invalid());
    for bad in [
        json!({"targettype":0}),
        json!({"targettype":0,"bulletindata":""}),
        json!({"targettype":0,"bulletindata":"x".repeat(4097)}),
        json!({"targettype":2,"bulletindata":"x"}),
        json!({"targettype":1,"bulletindata":"x"}),
        json!({"targettype":1,"targetname":"1a","bulletindata":"x"}),
        json!([1]),
    ] {
        assert_eq!(a.post(&gw, "onlineagent", "notifybulletin", Some(bad.clone())).await.body, body_invalid(), "{bad}");
    }
    let s = stranger(101);
    let r = s.post(&gw, "onlineagent", "notifybulletin", Some(json!({"bulletindata":"x"}))).await;
    assert_eq!(r.body, not_signed_in());
    // The sender, the other VDN and everyone after the errors got nothing more.
    for agent in [&a, &b, &c, &far] {
        assert_eq!(agent.poll(&gw).await, None, "{}", agent.id);
    }
    gw.stop().await;
}

// ----- password changes ----------------------------------------------------------------------

const NEW: &str = "N3w-Pa5s!x";

fn modify(old: &str, new: &str, re: Option<&str>) -> String {
    let enc = |s: &str| s.replace('!', "%21");
    match re {
        Some(re) => {
            format!("modifyaccountpwd?oldpassword={}&newpassword={}&repassword={}", enc(old), enc(new), enc(re))
        }
        None => format!("modifyaccountpwd?oldpassword={}&newpassword={}", enc(old), enc(new)),
    }
}

#[tokio::test]
async fn the_password_changes_for_the_process() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.post(&gw, "onlineagent", &modify("ccgw-demo", NEW, Some(NEW)), None).await.body, ok());
    // The session goes on; the next sign-in takes the new password only.
    assert_eq!(a.get(&gw, "onlineagent", "agentstatus").await.retcode(), "0");
    let r = put_sign_in(&gw, 101, "forcelogin", json!({"password":"ccgw-demo"})).await;
    assert_eq!(r.body, err("100-004", "wrong user name or password"));
    let r = put_sign_in(&gw, 101, "forcelogin", json!({"password":NEW})).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let a = Agent { id: 101, guid: std::sync::Mutex::new(r.set_guid().unwrap()) };
    // The body form, back again.
    let r = a
        .post(&gw, "onlineagent", "modifyaccountpwdex", Some(json!({"oldPassword":NEW,"newPassword":"Back-2-demo"})))
        .await;
    assert_eq!(r.body, ok());
    let r = put_sign_in(&gw, 101, "forcelogin", json!({"password":"Back-2-demo"})).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    // Other agents keep theirs.
    assert_eq!(put_sign_in(&gw, 102, "loginex", json!({"password":"ccgw-demo"})).await.retcode(), "0");
    gw.stop().await;
}

#[tokio::test]
async fn password_rules_and_errors_change_nothing() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let cases = [
        (modify("ccgw-demo", NEW, Some("N3w-Pa5s!y")), err("110-022", "the new password and its confirmation differ")),
        (modify("ccgw-demo", "Ab1!", None), err("110-020", "the new password must have 8 to 32 characters")),
        (
            modify("ccgw-demo", &format!("Ab1!{}", "xy".repeat(15)), None),
            err("110-020", "the new password must have 8 to 32 characters"),
        ),
        (modify("Old-Pa5s!x", "Old-Pa5s!x", None), err("110-017", "the new password is the same as the old one")),
        (modify("ccgw-demo", "Xy101-ab!", None), err("110-018", "the new password contains the agent's work number")),
        (modify("ccgw-demo", "Aab1!cdde", None), err("110-019", "the new password does not meet the password rules")),
        (modify("ccgw-demo", "abcdefgh1", None), err("110-019", "the new password does not meet the password rules")),
        (modify("wrong-one", NEW, None), err("110-003", "the old password is wrong")),
        ("modifyaccountpwd?oldpassword=ccgw-demo".to_owned(), param_invalid()),
        (format!("modifyaccountpwd?newpassword={NEW}").replace('!', "%21"), param_invalid()),
        (modify(&"o".repeat(33), NEW, None), param_invalid()),
    ];
    for (suffix, expected) in cases {
        assert_eq!(a.post(&gw, "onlineagent", &suffix, None).await.body, expected, "{suffix}");
    }
    let ex = |body: Value| {
        let a = &a;
        let gw = &gw;
        async move { a.post(gw, "onlineagent", "modifyaccountpwdex", Some(body)).await.body }
    };
    assert_eq!(ex(json!({"oldPassword":"ccgw-demo"})).await, body_invalid());
    assert_eq!(
        ex(json!({"oldPassword":"ccgw-demo","newPassword":7})).await,
        err("110-020", "the new password must have 8 to 32 characters")
    );
    assert_eq!(ex(json!({"oldPassword":["x"],"newPassword":NEW})).await, body_invalid());
    assert_eq!(ex(json!("x")).await, body_invalid());
    assert_eq!(ex(json!({"oldPassword":"nope","newPassword":NEW})).await, err("110-003", "the old password is wrong"));
    let s = stranger(101);
    assert_eq!(s.post(&gw, "onlineagent", &modify("ccgw-demo", NEW, None), None).await.body, not_signed_in());
    let r = s
        .post(&gw, "onlineagent", "modifyaccountpwdex", Some(json!({"oldPassword":"ccgw-demo","newPassword":NEW})))
        .await;
    assert_eq!(r.body, not_signed_in());
    // The demo password still signs in.
    assert_eq!(put_sign_in(&gw, 101, "forcelogin", json!({"password":"ccgw-demo"})).await.retcode(), "0");
    gw.stop().await;
}

#[tokio::test]
async fn a_wrong_old_password_counts_towards_the_lockout() {
    let gw = Gateway::start_with(|c| {
        fast(c);
        c.auth.max_failed_logins = 3;
    })
    .await;
    let a = ready(&gw, 101).await;
    let wrong = modify("guess-1", NEW, None);
    assert_eq!(a.post(&gw, "onlineagent", &wrong, None).await.body, err("110-003", "the old password is wrong"));
    // A failed sign-in from the same address counts in the same budget.
    let r = put_sign_in(&gw, 101, "forcelogin", json!({"password":"guess-2"})).await;
    assert_eq!(r.body, err("100-004", "wrong user name or password"));
    let r = a.post(&gw, "onlineagent", &wrong, None).await;
    assert_eq!(r.body, err("110-021", "account locked after too many failed sign-ins"));
    // Locked: the right old password and the right sign-in password are refused unchecked.
    let locked = err("110-016", "account locked");
    assert_eq!(a.post(&gw, "onlineagent", &modify("ccgw-demo", NEW, None), None).await.body, locked);
    assert_eq!(put_sign_in(&gw, 101, "forcelogin", json!({"password":"ccgw-demo"})).await.body, locked);
    // The session itself goes on, and other agents are not affected.
    assert_eq!(a.get(&gw, "onlineagent", "agentstatus").await.retcode(), "0");
    let b = ready(&gw, 102).await;
    assert_eq!(b.post(&gw, "onlineagent", &modify("ccgw-demo", NEW, None), None).await.body, ok());
    gw.stop().await;
}

// ----- syncagentinfo -------------------------------------------------------------------------

/// `syncagentinfo`'s body with the volatile fields (times, the call-information string) checked
/// for their type and taken from `actual`.
#[track_caller]
fn assert_sync(actual: &Value, state: Value) {
    let info = &actual["result"]["agentStateInfo"];
    for key in ["currentTime", "agentStateBeginTime"] {
        let t = info[key].as_str().unwrap_or_else(|| panic!("{key}: {actual}"));
        assert!(!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()), "{key}: {actual}");
    }
    let mut expected_info = json!({
        "callFeature": -1, "callData": "", "lastState": 4, "preBusy": false, "firsttalkingFlag": false,
        "workNo": "101", "qcWorkNo": "", "callerNo": "", "beginHoldTime": "", "state": 4,
        "talkingCallfeature": -1, "releaseFlag": 0, "calledNo": "", "mainCallId": "", "secondTalkingTime": "",
        "preRest": false, "recordID": "", "currentTime": info["currentTime"], "beginTalkingTime": "", "partner": "",
        "holdCallId": "", "agentStateBeginTime": info["agentStateBeginTime"], "curCommand": 0, "curCallId": "",
        "cmdBeginTime": "",
    });
    for (k, v) in state.as_object().unwrap() {
        expected_info[k] = v.clone();
    }
    let callinfo = actual["result"]["callinfo"].clone();
    assert!(callinfo.is_string(), "{actual}");
    assert_eq!(
        *actual,
        json!({"message":"success","retcode":"0","result":{"callinfo":callinfo,"agentStateInfo":expected_info}})
    );
}

#[tokio::test]
async fn syncagentinfo_reports_the_state_and_clears_the_events() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    // Idle, then busy with the event still queued.
    let r = a.post(&gw, "onlineagent", "syncagentinfo", None).await;
    assert_sync(&r.body, json!({}));
    assert_eq!(r.body["result"]["callinfo"], "");
    let since = |r: &crate::common::Reply| -> u64 {
        r.body["result"]["agentStateInfo"]["agentStateBeginTime"].as_str().unwrap().parse().unwrap()
    };
    let idle_since = since(&r);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(a.post(&gw, "onlineagent", "saybusy", None).await.retcode(), "0");
    let r = a.post(&gw, "onlineagent", "syncagentinfo", None).await;
    assert_sync(&r.body, json!({"state": 3, "lastState": 3}));
    // The time the current state began, not the sign-in.
    assert!(since(&r) >= idle_since + 20, "{} after {idle_since}", r.body);
    assert_eq!(a.poll(&gw).await, None, "the queued events were cleared");
    // Events after the sync arrive as usual.
    assert_eq!(a.post(&gw, "onlineagent", "cancelbusy", None).await.retcode(), "0");
    assert_eq!(a.poll(&gw).await.unwrap()["eventType"], "AgentState_CancelNotReady_Success");
    a.drain(&gw).await;
    // In a call.
    let call = gw.inject_call("13900000001", "10086", "order 42").await;
    a.poll_until(&gw, "AgentEvent_Ringing").await;
    assert_eq!(a.put(&gw, "voicecall", "answer", None).await.retcode(), "0");
    a.poll_until(&gw, "AgentEvent_Talking").await;
    let r = a.post(&gw, "onlineagent", "syncagentinfo", None).await;
    let begin = r.body["result"]["agentStateInfo"]["beginTalkingTime"].clone();
    assert!(begin.as_str().is_some_and(|t| t.parse::<u64>().is_ok()), "{}", r.body);
    assert_sync(
        &r.body,
        json!({"callFeature": 0, "callData": "order 42", "lastState": 7, "state": 7, "firsttalkingFlag": true,
               "callerNo": "13900000001", "calledNo": "10086", "talkingCallfeature": 0, "mainCallId": call,
               "curCallId": call, "beginTalkingTime": begin}),
    );
    let info: Value = serde_json::from_str(r.body["result"]["callinfo"].as_str().unwrap()).unwrap();
    assert_eq!((info["callid"].as_str(), info["caller"].as_str()), (Some(call.as_str()), Some("13900000001")));
    assert_eq!(a.poll(&gw).await, None);
    // Held.
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.retcode(), "0");
    let r = a.post(&gw, "onlineagent", "syncagentinfo", None).await;
    assert_sync(&r.body, json!({"lastState": 7, "state": 7, "mainCallId": call, "holdCallId": call}));
    let s = stranger(101);
    assert_eq!(s.post(&gw, "onlineagent", "syncagentinfo", None).await.body, not_signed_in());
    gw.stop().await;
}

// ----- agentevent: jsonp and async -------------------------------------------------------------

async fn raw_get(gw: &Gateway, a: &Agent, suffix: &str) -> crate::common::Reply {
    a.get(gw, "agentevent", suffix).await
}

/// The poll body inside `callback(...)`, `eventGenTime` removed once checked.
#[track_caller]
fn unwrap_jsonp(r: &crate::common::Reply, callback: &str) -> Value {
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("content-type").unwrap(), "text/plain;charset=UTF-8");
    let text = r.body.as_str().unwrap_or_else(|| panic!("not text: {}", r.body));
    let inner = text
        .strip_prefix(callback)
        .and_then(|t| t.strip_prefix('('))
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not {callback}(…): {text}"));
    let mut v: Value = serde_json::from_str(inner).unwrap();
    if let Some(ev) = v.get_mut("event") {
        assert!(ev["eventGenTime"].is_u64(), "{ev}");
        ev.as_object_mut().unwrap().remove("eventGenTime");
    }
    v
}

fn busy_event(reason: &str) -> Value {
    json!({"message":"","retcode":"0","event":{"eventType":"AgentState_SetNotReady_Success","workNo":"101",
        "content":{"reason":reason}}})
}

#[tokio::test]
async fn jsonp_wraps_the_poll() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.post(&gw, "onlineagent", "saybusy?reason=201&prolong=true", None).await.retcode(), "0");
    assert_eq!(a.post(&gw, "onlineagent", "saybusy?reason=202&prolong=true", None).await.retcode(), "0");
    let r = raw_get(&gw, &a, "jsonp?callback=agentEvents.onEvent").await;
    assert_eq!(unwrap_jsonp(&r, "agentEvents.onEvent"), busy_event("201"));
    // A malformed callback: refused before the poll, the event stays.
    let r = raw_get(&gw, &a, "jsonp?callback=alert(1)").await;
    assert_eq!(r.headers.get("content-type").unwrap(), "text/plain;charset=UTF-8");
    assert_eq!(r.body, param_invalid());
    // No callback: the JSON itself.
    let r = raw_get(&gw, &a, "jsonp").await;
    assert_eq!(r.headers.get("content-type").unwrap(), "text/plain;charset=UTF-8");
    let mut body = r.body.clone();
    body["event"].as_object_mut().unwrap().remove("eventGenTime");
    assert_eq!(body, busy_event("202"));
    // Nothing left: the empty answer, wrapped.
    let r = raw_get(&gw, &a, "jsonp?callback=cb").await;
    assert_eq!(unwrap_jsonp(&r, "cb"), json!({"message":"","retcode":"0"}));
    // Errors are wrapped too.
    let r = stranger(101).get(&gw, "agentevent", "jsonp?callback=cb").await;
    assert_eq!(unwrap_jsonp(&r, "cb"), not_signed_in());
    let r = gw.request(Method::GET, &format!("{PREFIX}/agentevent/100/jsonp?callback=cb"), None, None).await;
    assert_eq!(unwrap_jsonp(&r, "cb"), param_invalid());
    gw.stop().await;
}

#[tokio::test]
async fn async_is_the_poll() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.post(&gw, "onlineagent", "saybusy?reason=203&prolong=true", None).await.retcode(), "0");
    let r = raw_get(&gw, &a, "async").await;
    assert_eq!(r.headers.get("content-type").unwrap(), "application/json;charset=UTF-8");
    let mut body = r.body.clone();
    body["event"].as_object_mut().unwrap().remove("eventGenTime");
    assert_eq!(
        body,
        json!({"message":"","retcode":"0","event":{"eventType":"AgentState_SetNotReady_Success",
        "workNo":"101","content":{"reason":"203"}}})
    );
    assert_eq!(raw_get(&gw, &a, "async").await.body, json!({"message":"","retcode":"0"}));
    assert_eq!(stranger(101).get(&gw, "agentevent", "async").await.body, not_signed_in());
    gw.stop().await;
}

/// A JSONP poll whose client leaves while it waits takes no event (the poll's guarantee).
#[tokio::test]
async fn an_abandoned_jsonp_poll_takes_no_event() {
    use tokio::io::AsyncWriteExt;
    let gw = Gateway::start().await; // the vendor's 10 s poll wait
    let a = ready(&gw, 101).await;
    for round in 0..3u16 {
        let mut tls = gw.tls_connect().await;
        let req = format!(
            "GET {PREFIX}/agentevent/101/jsonp?callback=cb HTTP/1.1\r\nHost: 127.0.0.1\r\nGuid: {}\r\n\r\n",
            a.guid()
        );
        tls.write_all(req.as_bytes()).await.unwrap();
        tls.flush().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        tls.get_ref().0.set_zero_linger().unwrap();
        drop(tls);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let reason = 210 + round;
        let r = a.post(&gw, "onlineagent", &format!("saybusy?reason={reason}&prolong=true"), None).await;
        assert_eq!(r.retcode(), "0");
        let r = raw_get(&gw, &a, "jsonp?callback=cb").await;
        assert_eq!(unwrap_jsonp(&r, "cb"), busy_event(&reason.to_string()));
    }
    gw.stop().await;
}

//! Real telephony end to end (`[telephony] kind = "sip"`, issue 11): the real gateway over TLS,
//! SIPp playing the agents' phones and the customers (scenarios in `tests/sipp/` and
//! ccgw-sip's `register.xml`). Tests needing SIPp skip when `sipp` is missing, unless
//! `REQUIRE_SIP=1`; `SIPP_TRACE=1` keeps SIPp's message logs in the temp dir.

#[path = "it/common.rs"]
mod common;

mod sipcommon;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use sipcommon::*;

/// Agent 101's SIPp phone answers a SIPp customer's call to the access code; the customer hangs
/// up; then a second call is released from the desktop, with BYE on both legs.
#[tokio::test]
async fn sipp_phone_answers_a_queued_customer_and_both_sides_can_end_the_call() {
    if !have_sipp("sipp_phone_answers_a_queued_customer_and_both_sides_can_end_the_call") {
        return;
    }
    let (gw, sip) = gateway(20_000).await;
    let phone_port = free_port();
    register(sip, "7101", phone_port).await;
    let a = sign_in(&gw, 101).await;
    // SIP mode refuses what it cannot carry out, with the documented retcode.
    let r = a.post(&gw, "voicecall", "beginmute", None).await;
    assert_eq!(r.retcode(), "100-007", "{}", r.body);
    assert_eq!(r.body["message"], "not available with SIP telephony");

    // 1. The customer hangs up.
    let phone = sipp("phone_answers.xml", sip, phone_port, &["-s", "7101"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let customer = sipp("customer_hangs_up.xml", sip, free_port(), &["-s", ACCESS_CODE, "-d", "2000"]);
    let call = ringing(&gw, &a).await;
    // The phone's 200 is the agent's answer.
    a.poll_until(&gw, "AgentEvent_Talking").await;
    assert_eq!(all_calls(&gw, &a).await, json!([call]), "mid-call");
    let evs = a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(types(&evs).contains(&"AgentEvent_Customer_Release"), "{:?}", types(&evs));
    assert_eq!(evs.last().unwrap()["content"], call.as_str());
    assert!(customer.success().await, "SIPp customer (hung up, got 200)");
    assert!(phone.success().await, "SIPp phone (answered, got BYE)");
    assert_eq!(all_calls(&gw, &a).await, json!([]));

    // 2. The desktop releases: BYE to the phone and to the customer.
    a.poll_until(&gw, "AgentState_Ready").await;
    let phone = sipp("phone_answers.xml", sip, phone_port, &["-s", "7101"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let customer = sipp("customer_waits.xml", sip, free_port(), &["-s", ACCESS_CODE]);
    let call = ringing(&gw, &a).await;
    a.poll_until(&gw, "AgentEvent_Talking").await;
    assert_eq!(all_calls(&gw, &a).await, json!([call]));
    let r = a.delete(&gw, "voicecall", "release").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let evs = a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert_eq!(evs.last().unwrap()["content"], call.as_str());
    assert!(customer.success().await, "SIPp customer (got BYE)");
    assert!(phone.success().await, "SIPp phone (got BYE)");
    gw.stop().await;
}

/// The longest-idle agent's phone rings past the ring time-out: ccgw cancels it (`487`), the
/// agent is told `AgentEvent_No_Answer`, and the next agent's phone rings and answers.
#[tokio::test]
async fn a_ring_time_out_cancels_the_phone_and_rings_the_next_agent() {
    if !have_sipp("a_ring_time_out_cancels_the_phone_and_rings_the_next_agent") {
        return;
    }
    let (gw, sip) = gateway(2_000).await;
    let (port1, port2) = (free_port(), free_port());
    register(sip, "7101", port1).await;
    register(sip, "7102", port2).await;
    let a = sign_in(&gw, 101).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let b = sign_in(&gw, 102).await;
    let silent = sipp("phone_no_answer.xml", sip, port1, &["-s", "7101"]);
    let answers = sipp("phone_answers.xml", sip, port2, &["-s", "7102"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let customer = sipp("customer_hangs_up.xml", sip, free_port(), &["-s", ACCESS_CODE, "-d", "1000"]);

    let call = ringing(&gw, &a).await;
    let evs = a.poll_until(&gw, "AgentEvent_No_Answer").await;
    assert_eq!(evs.last().unwrap()["content"], call.as_str());
    assert!(silent.success().await, "SIPp phone 7101 (rang, got CANCEL, answered 487)");
    assert_eq!(ringing(&gw, &b).await, call, "the same call rings the next agent");
    b.poll_until(&gw, "AgentEvent_Talking").await;
    assert_eq!(all_calls(&gw, &b).await, json!([call]));
    b.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(customer.success().await, "SIPp customer");
    assert!(answers.success().await, "SIPp phone 7102");
    gw.stop().await;
}

/// `voicecall/answer` from the desktop while the phone rings: ccgw CANCELs the INVITE and rings
/// the phone again with `Call-Info: answer-after=0`; the phone's answer connects the customer.
#[tokio::test]
async fn the_desktops_answer_rings_the_phone_again_with_auto_answer() {
    if !have_sipp("the_desktops_answer_rings_the_phone_again_with_auto_answer") {
        return;
    }
    let (gw, sip) = gateway(20_000).await;
    let phone_port = free_port();
    register(sip, "7101", phone_port).await;
    let a = sign_in(&gw, 101).await;
    let phone = sipp("phone_answer_from_desktop.xml", sip, phone_port, &["-s", "7101", "-m", "2"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let customer = sipp("customer_hangs_up.xml", sip, free_port(), &["-s", ACCESS_CODE, "-d", "1500"]);
    let call = ringing(&gw, &a).await;
    let r = a.put(&gw, "voicecall", "answer", None).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    a.poll_until(&gw, "AgentEvent_Talking").await;
    assert_eq!(all_calls(&gw, &a).await, json!([call]));
    let evs = a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(types(&evs).contains(&"AgentEvent_Customer_Release"), "{:?}", types(&evs));
    assert!(phone.success().await, "SIPp phone (cancelled, re-rung with answer-after=0, answered, got BYE)");
    assert!(customer.success().await, "SIPp customer (got the phone's SDP, hung up)");
    gw.stop().await;
}

/// An agent signed in with `autoanswer`: its phone's INVITE carries `answer-after=0` (ccgw-sip's
/// `agent_phone.xml` checks it and the customer's SDP).
#[tokio::test]
async fn an_auto_answer_agents_phone_is_asked_to_pick_up() {
    if !have_sipp("an_auto_answer_agents_phone_is_asked_to_pick_up") {
        return;
    }
    let (gw, sip) = gateway(20_000).await;
    let phone_port = free_port();
    register(sip, "7101", phone_port).await;
    let body = json!({"password": PASSWORD, "phonenum": "7101", "status": 4, "autoanswer": true});
    let a = gw.sign_in_with(101, body).await;
    let phone = sipp("agent_phone.xml", sip, phone_port, &["-s", "7101"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let customer = sipp("customer_hangs_up.xml", sip, free_port(), &["-s", ACCESS_CODE, "-d", "1000"]);
    let evs = a.poll_until(&gw, "AgentEvent_Talking").await;
    assert!(types(&evs).contains(&"AgentEvent_Auto_Answer"), "{:?}", types(&evs));
    a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(phone.success().await, "SIPp phone (asked to auto-answer)");
    assert!(customer.success().await, "SIPp customer");
    gw.stop().await;
}

/// `hold` and `gethold` re-INVITE both legs (`a=sendonly`, then `a=sendrecv`); the desktop's
/// release then BYEs both.
#[tokio::test]
async fn hold_and_unhold_re_invite_both_legs() {
    if !have_sipp("hold_and_unhold_re_invite_both_legs") {
        return;
    }
    let (gw, sip) = gateway(20_000).await;
    let phone_port = free_port();
    register(sip, "7101", phone_port).await;
    let a = sign_in(&gw, 101).await;
    let phone = sipp("phone_hold.xml", sip, phone_port, &["-s", "7101"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let customer = sipp("customer_hold.xml", sip, free_port(), &["-s", ACCESS_CODE]);
    let call = ringing(&gw, &a).await;
    a.poll_until(&gw, "AgentEvent_Talking").await;
    let r = a.post(&gw, "voicecall", "hold", None).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let evs = a.poll_until(&gw, "AgentEvent_Hold").await;
    assert_eq!(evs.last().unwrap()["content"], call.as_str());
    let r = a.post(&gw, "voicecall", "gethold", Some(json!({"callid": call}))).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    a.poll_until(&gw, "AgentEvent_Talking").await;
    // Let both re-INVITE pairs finish before the BYEs.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = a.delete(&gw, "voicecall", "release").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(phone.success().await, "SIPp phone (held, taken back, got BYE)");
    assert!(customer.success().await, "SIPp customer (held, taken back, got BYE)");
    gw.stop().await;
}

/// `callout` INVITEs the outbound trunk; its 200 is `AgentEvent_Talking`, the desktop's release
/// BYEs it.
#[tokio::test]
async fn a_callout_goes_to_the_trunk() {
    if !have_sipp("a_callout_goes_to_the_trunk") {
        return;
    }
    let trunk_port = free_port();
    let trunk: SocketAddr = format!("127.0.0.1:{trunk_port}").parse().unwrap();
    let (gw, sip) = gateway_with(20_000, |c| c.telephony.sip.trunk = Some(trunk)).await;
    let phone_port = free_port();
    register(sip, "7101", phone_port).await;
    let a = sign_in(&gw, 101).await;
    let far_end = sipp("trunk_answers.xml", sip, trunk_port, &["-s", "5550100"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = a.put(&gw, "voicecall", "callout", Some(json!({"called": "5550100"}))).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let call = r.body["result"].as_str().expect("call id").to_owned();
    let evs = a.poll_until(&gw, "AgentEvent_Talking").await;
    assert!(types(&evs).contains(&"AgentEvent_Customer_Alerting"), "{:?}", types(&evs));
    assert_eq!(all_calls(&gw, &a).await, json!([call]));
    let r = a.delete(&gw, "voicecall", "release").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(far_end.success().await, "SIPp trunk (answered, got BYE)");
    gw.stop().await;
}

/// A sign-in binding a phone that is not registered answers `100-013` (no SIPp needed).
#[tokio::test]
async fn a_sign_in_with_an_unregistered_phone_is_refused() {
    let (gw, _sip) = gateway(20_000).await;
    let body = json!({"password": PASSWORD, "phonenum": "7103", "status": 4});
    let r = gw.request(reqwest::Method::PUT, &format!("{}/onlineagent/103", common::PREFIX), None, Some(body)).await;
    assert_eq!(r.body, json!({"message": "the phone number to bind is invalid", "retcode": "100-013"}));
    // The password is checked first: a wrong one says so, whatever the phone.
    let body = json!({"password": "wrong", "phonenum": "7103", "status": 4});
    let r = gw.request(reqwest::Method::PUT, &format!("{}/onlineagent/103", common::PREFIX), None, Some(body)).await;
    assert_eq!(r.retcode(), "100-004", "{}", r.body);
    gw.stop().await;
}

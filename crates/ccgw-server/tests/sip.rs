//! Real telephony end to end (`[telephony] kind = "sip"`, issue 11): the real gateway over TLS,
//! SIPp playing the agents' phones and the customers (scenarios in `tests/sipp/` and
//! ccgw-sip's `register.xml`). Tests needing SIPp skip when `sipp` is missing, unless
//! `REQUIRE_SIP=1`; `SIPP_TRACE=1` keeps SIPp's message logs in the temp dir.

#[path = "it/common.rs"]
mod common;

mod sipcommon;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Agent, Gateway};
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

/// `callout`: the agent's phone is rung with `answer-after=0` and an inactive placeholder, then
/// the outbound trunk is INVITEd with the phone's SDP; the trunk's 200 is `AgentEvent_Talking`
/// and gives the phone the trunk's SDP (re-INVITE); the desktop's release BYEs both.
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
    let phone = sipp("phone_own_call.xml", sip, phone_port, &["-s", "7101"]);
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
    assert!(far_end.success().await, "SIPp trunk (offered the phone's SDP, answered, got BYE)");
    assert!(phone.success().await, "SIPp phone (auto-answered, given the trunk's SDP, got BYE)");
    gw.stop().await;
}

/// A sign-in binding a phone that is not registered answers `100-013` (no SIPp needed).
#[tokio::test]
async fn a_sign_in_with_an_unregistered_phone_is_refused() {
    let (gw, sip) = gateway(20_000).await;
    let body = json!({"password": PASSWORD, "phonenum": "7103", "status": 4});
    let r = gw.request(reqwest::Method::PUT, &format!("{}/onlineagent/103", common::PREFIX), None, Some(body)).await;
    assert_eq!(r.body, json!({"message": "the phone number to bind is invalid", "retcode": "100-013"}));
    // `bindphone` checks the registration too.
    if have_sipp("a_sign_in_with_an_unregistered_phone_is_refused") {
        register(sip, "7101", free_port()).await;
        let a = sign_in(&gw, 101).await;
        let r = a.post(&gw, "onlineagent", "bindphone", Some(json!({"phonenum": "7102"}))).await;
        assert_eq!(r.body, json!({"message": "the phone number to bind is invalid", "retcode": "100-013"}));
        register(sip, "7102", free_port()).await;
        let r = a.post(&gw, "onlineagent", "bindphone", Some(json!({"phonenum": "7102"}))).await;
        assert_eq!(r.retcode(), "0", "{}", r.body);
    }
    // The password is checked first: a wrong one says so, whatever the phone.
    let body = json!({"password": "wrong", "phonenum": "7103", "status": 4});
    let r = gw.request(reqwest::Method::PUT, &format!("{}/onlineagent/103", common::PREFIX), None, Some(body)).await;
    assert_eq!(r.retcode(), "100-004", "{}", r.body);
    gw.stop().await;
}

/// Two agents with SIPp phones, 101 signed in first (it gets the customer): (gateway, SIP
/// address, the agents, the phones' ports).
async fn two_agents() -> (Gateway, SocketAddr, Agent, Agent, u16, u16) {
    let (gw, sip) = gateway(20_000).await;
    let (port1, port2) = (free_port(), free_port());
    register(sip, "7101", port1).await;
    register(sip, "7102", port2).await;
    let a = sign_in(&gw, 101).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let b = sign_in(&gw, 102).await;
    (gw, sip, a, b, port1, port2)
}

/// Consultation (`innerhelp`, two-party): the customer is held (re-INVITEs `a=sendonly`), the
/// helper's phone is rung with the agent's SDP and, answering, is connected to the agent's phone
/// (re-INVITE with the helper's SDP); the helper hangs up; `gethold` connects the agent's phone
/// and the customer again (each given the other's SDP). A three-party consultation is a
/// conference: `100-007`.
#[tokio::test]
async fn a_consultation_connects_the_agents_phone_to_the_helper_and_back() {
    if !have_sipp("a_consultation_connects_the_agents_phone_to_the_helper_and_back") {
        return;
    }
    let (gw, sip, a, b, port1, port2) = two_agents().await;
    let phone_a = sipp("phone_consults.xml", sip, port1, &["-s", "7101"]);
    let phone_b = sipp("phone_helps.xml", sip, port2, &["-s", "7102"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let customer = sipp("customer_consulted.xml", sip, free_port(), &["-s", ACCESS_CODE]);
    let call = ringing(&gw, &a).await;
    a.poll_until(&gw, "AgentEvent_Talking").await;

    let three = json!({"dstaddress": "102", "devicetype": 2, "mode": 2});
    let r = a.post(&gw, "voicecall", "innerhelp", Some(three)).await;
    assert_eq!(r.body, json!({"message": "not available with SIP telephony", "retcode": "100-007"}));

    let r = a.post(&gw, "voicecall", "innerhelp", Some(json!({"dstaddress": "102", "devicetype": 2, "mode": 1}))).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let consult = r.body["result"].as_str().expect("call id").to_owned();
    a.poll_until(&gw, "AgentEvent_Hold").await;
    b.poll_until(&gw, "AgentEvent_Ringing").await;
    // The helper's phone answers: the helper talks, and so does the agent, on the consultation.
    b.poll_until(&gw, "AgentEvent_Talking").await;
    a.poll_until(&gw, "AgentEvent_Talking").await;
    assert_eq!(all_calls(&gw, &a).await, json!([call, consult]), "mid-consultation");
    assert_eq!(all_calls(&gw, &b).await, json!([consult]));
    // Let the re-INVITE that connects the two phones finish.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let r = b.delete(&gw, "voicecall", "release").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let evs = a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert_eq!(evs.last().unwrap()["content"], consult.as_str());
    assert!(phone_b.success().await, "SIPp helper phone (given 7101's SDP, answered, got BYE)");
    assert_eq!(all_calls(&gw, &a).await, json!([call]));

    let r = a.post(&gw, "voicecall", "gethold", Some(json!({"callid": call}))).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    a.poll_until(&gw, "AgentEvent_Talking").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = a.delete(&gw, "voicecall", "release").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(phone_a.success().await, "SIPp phone 7101 (held, connected to 7102, back to the customer, BYE)");
    assert!(customer.success().await, "SIPp customer (held, given 7101's SDP again, BYE)");
    assert_eq!(all_calls(&gw, &a).await, json!([]));
    assert_no_legs(&gw).await;
    assert!(engine_calls(&gw).await.is_empty(), "no call left in the engine");
    gw.stop().await;
}

/// Transfer to an agent, "success" mode: the agent's phone and the customer are held, the
/// target's phone is rung with the customer's SDP; its answer connects the customer to it
/// (re-INVITE with the target's SDP) and releases the transferring agent's phone (BYE).
#[tokio::test]
async fn a_transfer_connects_the_customer_to_the_target_phone() {
    if !have_sipp("a_transfer_connects_the_customer_to_the_target_phone") {
        return;
    }
    let (gw, sip, a, b, port1, port2) = two_agents().await;
    let phone_a = sipp("phone_transfers.xml", sip, port1, &["-s", "7101"]);
    let phone_b = sipp("phone_takes_transfer.xml", sip, port2, &["-s", "7102"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let customer = sipp("customer_transferred.xml", sip, free_port(), &["-s", ACCESS_CODE]);
    let call = ringing(&gw, &a).await;
    a.poll_until(&gw, "AgentEvent_Talking").await;
    let r = a.post(&gw, "voicecall", "transfer", Some(json!({"devicetype": 2, "address": "102", "mode": 2}))).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    a.poll_until(&gw, "AgentEvent_Hold").await;
    b.poll_until(&gw, "AgentEvent_Talking").await;
    let evs = a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert_eq!(evs.last().unwrap()["content"], call.as_str());
    assert_eq!(all_calls(&gw, &b).await, json!([call]), "the target has the customer's call");
    assert_eq!(all_calls(&gw, &a).await, json!([]));
    assert!(phone_a.success().await, "SIPp phone 7101 (held, got BYE)");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = b.delete(&gw, "voicecall", "release").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    b.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(phone_b.success().await, "SIPp phone 7102 (given the customer's SDP, answered, got BYE)");
    assert!(customer.success().await, "SIPp customer (held, given 7102's SDP, got BYE)");
    assert_no_legs(&gw).await;
    assert!(engine_calls(&gw).await.is_empty(), "no call left in the engine");
    gw.stop().await;
}

/// Blind transfer to an agent: the agent's phone is released at once; the target's answer
/// connects the customer to it.
#[tokio::test]
async fn a_blind_transfer_releases_the_agents_phone_at_once() {
    if !have_sipp("a_blind_transfer_releases_the_agents_phone_at_once") {
        return;
    }
    blind_transfer(json!({"devicetype": 2, "address": "102", "mode": 0})).await;
}

/// Blind transfer to the skill: the call waits in the queue and the idle agent's phone is rung
/// with the customer's SDP, as for a transfer to that agent.
#[tokio::test]
async fn a_blind_transfer_to_the_skill_rings_the_next_idle_agents_phone() {
    if !have_sipp("a_blind_transfer_to_the_skill_rings_the_next_idle_agents_phone") {
        return;
    }
    blind_transfer(json!({"devicetype": 1, "address": "1", "mode": 0})).await;
}

async fn blind_transfer(body: serde_json::Value) {
    let (gw, sip, a, b, port1, port2) = two_agents().await;
    let phone_a = sipp("phone_blind_transfers.xml", sip, port1, &["-s", "7101"]);
    let phone_b = sipp("phone_takes_transfer.xml", sip, port2, &["-s", "7102"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let customer = sipp("customer_blind_transferred.xml", sip, free_port(), &["-s", ACCESS_CODE]);
    let call = ringing(&gw, &a).await;
    a.poll_until(&gw, "AgentEvent_Talking").await;
    let r = a.post(&gw, "voicecall", "transfer", Some(body)).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(phone_a.success().await, "SIPp phone 7101 (got BYE at once)");
    b.poll_until(&gw, "AgentEvent_Talking").await;
    assert_eq!(all_calls(&gw, &b).await, json!([call]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = b.delete(&gw, "voicecall", "release").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    b.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(phone_b.success().await, "SIPp phone 7102");
    assert!(customer.success().await, "SIPp customer (given 7102's SDP, got BYE)");
    assert_no_legs(&gw).await;
    assert!(engine_calls(&gw).await.is_empty(), "no call left in the engine");
    gw.stop().await;
}

/// Internal call (`callinner`): the caller's phone is rung with auto-answer and the placeholder,
/// then the callee's phone with the caller's SDP; the callee's answer connects the caller's phone
/// to it.
#[tokio::test]
async fn an_internal_call_rings_both_phones_and_connects_them() {
    if !have_sipp("an_internal_call_rings_both_phones_and_connects_them") {
        return;
    }
    let (gw, sip, a, b, port1, port2) = two_agents().await;
    let phone_a = sipp("phone_own_call.xml", sip, port1, &["-s", "7101"]);
    let phone_b = sipp("phone_helps.xml", sip, port2, &["-s", "7102"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = a.put(&gw, "voicecall", "callinner", Some(json!({"called": "102"}))).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let call = r.body["result"].as_str().expect("call id").to_owned();
    b.poll_until(&gw, "AgentEvent_Talking").await;
    a.poll_until(&gw, "AgentEvent_Talking").await;
    assert_eq!(all_calls(&gw, &a).await, json!([call]));
    assert_eq!(all_calls(&gw, &b).await, json!([call]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = a.delete(&gw, "voicecall", "release").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    b.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(phone_a.success().await, "SIPp phone 7101 (placeholder, connected to 7102, BYE)");
    assert!(phone_b.success().await, "SIPp phone 7102 (given 7101's SDP, BYE)");
    assert_no_legs(&gw).await;
    assert!(engine_calls(&gw).await.is_empty(), "no call left in the engine");
    gw.stop().await;
}

/// `canceltransfer` while the target's phone rings: the target's INVITE is CANCELled (487) and
/// the agent's phone and the customer are taken off hold (re-INVITEs `a=sendrecv`).
#[tokio::test]
async fn cancelling_a_transfer_cancels_the_target_and_takes_the_customer_back() {
    if !have_sipp("cancelling_a_transfer_cancels_the_target_and_takes_the_customer_back") {
        return;
    }
    let (gw, sip, a, b, port1, port2) = two_agents().await;
    let phone_a = sipp("phone_hold.xml", sip, port1, &["-s", "7101"]);
    let phone_b = sipp("phone_no_answer.xml", sip, port2, &["-s", "7102"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let customer = sipp("customer_hold.xml", sip, free_port(), &["-s", ACCESS_CODE]);
    let call = ringing(&gw, &a).await;
    a.poll_until(&gw, "AgentEvent_Talking").await;
    let r = a.post(&gw, "voicecall", "transfer", Some(json!({"devicetype": 2, "address": "102", "mode": 2}))).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    a.poll_until(&gw, "AgentEvent_Hold").await;
    b.poll_until(&gw, "AgentEvent_Ringing").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = a.post(&gw, "voicecall", "canceltransfer", None).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let evs = b.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert_eq!(evs.last().unwrap()["content"], call.as_str());
    a.poll_until(&gw, "AgentEvent_Talking").await;
    assert!(phone_b.success().await, "SIPp phone 7102 (rang, got CANCEL)");
    assert_eq!(all_calls(&gw, &a).await, json!([call]));
    assert_eq!(all_calls(&gw, &b).await, json!([]));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = a.delete(&gw, "voicecall", "release").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(phone_a.success().await, "SIPp phone 7101 (held, taken back, BYE)");
    assert!(customer.success().await, "SIPp customer (held, taken back, BYE)");
    assert_no_legs(&gw).await;
    assert!(engine_calls(&gw).await.is_empty(), "no call left in the engine");
    gw.stop().await;
}

/// `snatchpickup`: the call ringing at 101's phone is CANCELled there and 102's phone is rung
/// with `answer-after=0` and the customer's SDP; its answer answers the customer.
#[tokio::test]
async fn a_pick_up_cancels_the_ringing_phone_and_rings_the_pickers() {
    if !have_sipp("a_pick_up_cancels_the_ringing_phone_and_rings_the_pickers") {
        return;
    }
    let (gw, sip, a, b, port1, port2) = two_agents().await;
    let ringing_phone = sipp("phone_no_answer.xml", sip, port1, &["-s", "7101"]);
    let picker = sipp("agent_phone.xml", sip, port2, &["-s", "7102"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let customer = sipp("customer_hangs_up.xml", sip, free_port(), &["-s", ACCESS_CODE, "-d", "1500"]);
    let call = ringing(&gw, &a).await;
    let r = b.put(&gw, "voicecall", "snatchpickup?destWorkNo=101", None).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let evs = a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert_eq!(evs.last().unwrap()["content"], call.as_str());
    assert!(ringing_phone.success().await, "SIPp phone 7101 (rang, got CANCEL)");
    b.poll_until(&gw, "AgentEvent_Talking").await;
    assert_eq!(all_calls(&gw, &b).await, json!([call]));
    b.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert!(picker.success().await, "SIPp phone 7102 (asked to auto-answer, given the customer's SDP)");
    assert!(customer.success().await, "SIPp customer (answered by 7102, hung up)");
    assert_no_legs(&gw).await;
    assert!(engine_calls(&gw).await.is_empty(), "no call left in the engine");
    gw.stop().await;
}

//! End to end with a real phone through the REST interface (issue 11): baresip registers as
//! agent 101's phone 7101, the agent signs in and goes idle, a SIPp customer calls the access
//! code, baresip rings and answers (its own auto-answer: baresip 1.0 ignores
//! `Call-Info: answer-after`), the call survives keepalives (both ends answer the in-dialog
//! OPTIONS), and the desktop's release BYEs both legs. Skips without baresip or SIPp unless
//! `REQUIRE_SIP=1`.

#[path = "it/common.rs"]
mod common;

#[path = "../../ccgw-sip/tests/common/baresip.rs"]
mod phone;

mod sipcommon;

use std::time::Duration;

use serde_json::json;
use sipcommon::*;

#[tokio::test]
async fn baresip_answers_a_customer_through_the_rest_interface() {
    let test = "baresip_answers_a_customer_through_the_rest_interface";
    if !phone::have_baresip(test) || !have_sipp(test) {
        return;
    }
    let (gw, sip) = gateway_with(20_000, |c| c.telephony.sip.keepalive_ms = 1000).await;
    let baresip = phone::Baresip::start("gateway", sip, "7101", PASSWORD, free_port).await;
    let side = sip_side(&gw);
    for _ in 0..100 {
        if side.is_registered("7101") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(side.is_registered("7101"), "baresip registers; its log:\n{}", baresip.log());
    let a = sign_in(&gw, 101).await;
    a.poll_until(&gw, "AgentState_Ready").await;

    let customer = sipp("customer_keepalive.xml", sip, free_port(), &["-s", ACCESS_CODE]);
    let evs = a.poll_until(&gw, "AgentEvent_Talking").await;
    let seen = types(&evs);
    let at = |t: &str| seen.iter().position(|s| *s == t).unwrap_or_else(|| panic!("no {t} in {seen:?}"));
    assert!(at("AgentOther_PhoneAlerting") < at("AgentEvent_Talking"), "{seen:?}");
    let ring = &evs[at("AgentEvent_Ringing")];
    assert_eq!(ring["content"]["caller"], "5551234", "{ring}");
    assert_eq!(ring["content"]["called"], ACCESS_CODE, "{ring}");
    let call = ring["content"]["callid"].as_str().expect("callid").to_owned();
    assert!(at("AgentEvent_Ringing") < at("AgentEvent_Talking"), "{seen:?}");
    assert_eq!(all_calls(&gw, &a).await, json!([call]), "mid-call");

    // Keepalives go out every second; baresip and the customer answer them: the call goes on.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(all_calls(&gw, &a).await, json!([call]), "still up after keepalives");
    assert_eq!(side.leg_count(), 2);

    let r = a.delete(&gw, "voicecall", "release").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let evs = a.poll_until(&gw, "AgentEvent_Call_Release").await;
    assert_eq!(evs.last().unwrap()["content"], call.as_str());
    assert!(customer.success().await, "SIPp customer (answered by baresip's SDP, got BYE)");
    assert_no_legs(&gw).await;
    assert_eq!(all_calls(&gw, &a).await, json!([]));
    assert_eq!(engine_calls(&gw).await.len(), 0);
    // baresip (run with -s, its SIP trace in the log) answered ccgw's keepalives and ended the
    // call on ccgw's BYE, not by its own time-out.
    let mut log = baresip.log();
    for _ in 0..20 {
        if log.contains("terminated (duration") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        log = baresip.log();
    }
    assert!(log.contains("\nOPTIONS sip:7101"), "ccgw's keepalive reached baresip:\n{log}");
    assert!(log.matches("CSeq: 2 OPTIONS").count() >= 2, "the keepalive and baresip's answer:\n{log}");
    assert!(log.contains("\nBYE sip:7101"), "ccgw's BYE reached baresip:\n{log}");
    assert!(log.contains("terminated (duration"), "baresip's log:\n{log}");
    baresip.stop().await;
    gw.stop().await;
}

//! End to end with SIPp: a SIPp customer calls the access code, a SIPp phone answers.

mod common;

use std::time::Duration;

use ccgw_sip::{EndReason, SipEvent};
use common::*;

#[tokio::test]
async fn sipp_customer_is_bridged_to_sipp_agent_phone() {
    if !have_sipp("sipp_customer_is_bridged_to_sipp_agent_phone") {
        return;
    }
    bridged_call(false).await;
}

#[tokio::test]
async fn sipp_customer_is_bridged_to_sipp_agent_phone_over_tcp() {
    if !have_sipp("sipp_customer_is_bridged_to_sipp_agent_phone_over_tcp") {
        return;
    }
    bridged_call(true).await;
}

/// The customer calls over UDP; the phone registers and is rung over UDP or TCP.
async fn bridged_call(phone_over_tcp: bool) {
    let (side, mut events) = start().await;
    let s = side.udp_addr();
    let phone_side = if phone_over_tcp { side.tcp_addr() } else { s };
    let phone_transport: &[&str] = if phone_over_tcp { &["-t", "t1"] } else { &["-t", "u1"] };

    // The phone registers, then waits for calls on the same port.
    let phone_port = free_port();
    let mut reg = vec!["-s", "7101", "-au", "7101", "-ap", PASSWORD, "-key", "expires", "600"];
    reg.extend_from_slice(phone_transport);
    assert!(spawn_sipp("register.xml", phone_side, phone_port, &reg).success().await, "phone registers");
    let contact = side.contact("7101").expect("registered");
    let expected = if phone_over_tcp { ccgw_sip::SipTransport::Tcp } else { ccgw_sip::SipTransport::Udp };
    assert_eq!(contact.transport, expected);
    let mut uas = vec!["-s", "7101"];
    uas.extend_from_slice(phone_transport);
    let phone = spawn_sipp("agent_phone.xml", phone_side, phone_port, &uas);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let customer = spawn_sipp("customer.xml", s, free_port(), &["-s", "8000"]);
    let customer_leg = match next_event(&mut events, |e| matches!(e, SipEvent::Inbound { .. })).await {
        SipEvent::Inbound { leg, from, to, sdp } => {
            assert_eq!(from, "5551234");
            assert_eq!(to, "8000");
            assert!(String::from_utf8_lossy(&sdp.expect("offer")).contains("o=customer"));
            leg
        }
        _ => unreachable!(),
    };
    let agent_leg = side.ring("7101", Some(customer_leg), true).await.expect("ring");
    next_event(&mut events, |e| *e == SipEvent::Ringing { leg: agent_leg }).await;
    next_event(&mut events, |e| *e == SipEvent::Answered { leg: agent_leg }).await;
    assert!(String::from_utf8_lossy(&side.remote_sdp(agent_leg).expect("answer")).contains("o=phone"));

    // The customer hangs up after 500 ms: both legs end.
    let mut ended = Vec::new();
    for _ in 0..2 {
        if let SipEvent::LegEnded { leg, reason } =
            next_event(&mut events, |e| matches!(e, SipEvent::LegEnded { .. })).await
        {
            ended.push((leg, reason));
        }
    }
    ended.sort_by_key(|(l, _)| *l);
    assert_eq!(ended, vec![(customer_leg, EndReason::RemoteBye), (agent_leg, EndReason::PeerEnded)]);
    assert!(customer.success().await, "SIPp customer scenario");
    assert!(phone.success().await, "SIPp phone scenario");
    assert_clean(&side).await;
    side.shutdown();
}

//! A real SIP phone, baresip, registers with digest auth and is rung; it answers by itself
//! (`answermode=auto`), and the customer gets its SDP.

mod common;
#[path = "common/baresip.rs"]
mod phone;

use std::time::Duration;

use ccgw_sip::{EndReason, SipEvent};
use common::*;
use phone::{Baresip, have_baresip};

#[tokio::test]
async fn baresip_phone_registers_and_answers_a_bridged_call() {
    if !have_baresip("baresip_phone_registers_and_answers_a_bridged_call") {
        return;
    }
    let (side, mut events) = start().await;
    let s = side.udp_addr();
    let baresip = Baresip::start("sip", s, "7101", PASSWORD, free_port).await;
    next_event(&mut events, |e| matches!(e, SipEvent::Registered { number } if number == "7101")).await;
    assert!(side.is_registered("7101"));

    let customer = Peer::bind().await;
    customer.send(s, &invite(&customer, s, "8000", "baresip-1", CUSTOMER_SDP)).await;
    let customer_leg = inbound(&mut events).await;
    let agent_leg = side.ring("7101", Some(customer_leg), true).await.expect("ring");
    let answered = next_event(
        &mut events,
        |e| matches!(e, SipEvent::Answered { leg } | SipEvent::Failed { leg, .. } if *leg == agent_leg),
    )
    .await;
    assert_eq!(answered, SipEvent::Answered { leg: agent_leg }, "baresip's log:\n{}", baresip.log());
    let (ok, _) = customer.recv_skipping(&["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing"]).await;
    assert_eq!(ok.start, "SIP/2.0 200 OK");
    assert!(ok.body.starts_with("v=0"), "{}", ok.body);
    assert!(ok.body.contains("m=audio "), "{}", ok.body);
    assert!(ok.body.contains("RTP/AVP 0"), "PCMU answered: {}", ok.body);
    let to = ok.hh("To").to_string();
    customer.send(s, &in_dialog(&customer, s, "ACK", 1, "z9hG4bK-baresip-ack", "baresip-1", &to)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    customer.send(s, &in_dialog(&customer, s, "BYE", 2, "z9hG4bK-baresip-bye", "baresip-1", &to)).await;
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
    assert_clean(&side).await;
    baresip.stop().await;
    side.shutdown();
}

//! Races and faults: the call ends cleanly and no leg is left behind.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use ccgw_sip::{EndReason, LegId, SipConfig, SipEvent, SipSide};
use common::*;
use tokio::sync::mpsc::UnboundedReceiver;

struct Call {
    side: SipSide,
    events: UnboundedReceiver<SipEvent>,
    s: SocketAddr,
    phone: Peer,
    customer: Peer,
    customer_leg: LegId,
    agent_leg: LegId,
    /// The phone leg's INVITE, as the phone received it.
    invite: Msg,
}

/// A customer queued at 8000 and 7101 ringing for it (180 sent), not answered yet.
async fn ringing_call(config: SipConfig, call_id: &str) -> Call {
    let (side, mut events) = SipSide::start(config).await.expect("start");
    let s = side.udp_addr();
    let phone = Peer::bind().await;
    register_peer(&phone, s, "7101").await;
    let customer = Peer::bind().await;
    customer.send(s, &invite(&customer, s, "8000", call_id, CUSTOMER_SDP)).await;
    let customer_leg = inbound(&mut events).await;
    let agent_leg = side.ring("7101", Some(customer_leg), false).await.expect("ring");
    let (invite, _) = phone.recv().await;
    phone.send(s, &respond(&invite, "180 Ringing", "ph", phone.addr, None)).await;
    next_event(&mut events, |e| *e == SipEvent::Ringing { leg: agent_leg }).await;
    Call { side, events, s, phone, customer, customer_leg, agent_leg, invite }
}

/// As [`ringing_call`], then answered by the phone and ACKed by the customer. Returns the
/// customer dialog's To (with ccgw's tag).
async fn answered_call(call_id: &str) -> (Call, String) {
    answered_call_with(config(), call_id).await
}

/// [`answered_call`] on a SIP side with `config`.
async fn answered_call_with(config: SipConfig, call_id: &str) -> (Call, String) {
    let mut c = ringing_call(config, call_id).await;
    c.phone.send(c.s, &respond(&c.invite, "200 OK", "ph", c.phone.addr, Some(PHONE_SDP))).await;
    next_event(&mut c.events, |e| *e == SipEvent::Answered { leg: c.agent_leg }).await;
    let (ack, _) = c.phone.recv().await;
    assert!(ack.start.starts_with("ACK "));
    let (ok, _) = c.customer.recv_skipping(&["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing"]).await;
    assert_eq!(ok.start, "SIP/2.0 200 OK");
    let to = ok.hh("To").to_string();
    c.customer.send(c.s, &in_dialog(&c.customer, c.s, "ACK", 1, &format!("z9hG4bK-{call_id}-ack"), call_id, &to)).await;
    (c, to)
}

async fn ended(events: &mut UnboundedReceiver<SipEvent>, n: usize) -> Vec<(LegId, EndReason)> {
    let mut out = Vec::new();
    for _ in 0..n {
        if let SipEvent::LegEnded { leg, reason } = next_event(events, |e| matches!(e, SipEvent::LegEnded { .. })).await
        {
            out.push((leg, reason));
        }
    }
    out.sort_by_key(|(l, _)| *l);
    out
}

/// The next event within `d`, if any.
async fn no_event(events: &mut UnboundedReceiver<SipEvent>, d: Duration) -> Option<SipEvent> {
    tokio::time::timeout(d, events.recv()).await.ok().flatten()
}

#[tokio::test]
async fn customer_cancel_while_agent_rings_cancels_the_phone() {
    let mut c = ringing_call(config(), "cc-1").await;
    let to = format!("<sip:8000@{}>", c.s);
    c.customer.send(c.s, &in_dialog(&c.customer, c.s, "CANCEL", 1, "z9hG4bK-cc-1-1", "cc-1", &to)).await;
    let (cancel, _) = c.phone.recv().await;
    assert!(cancel.start.starts_with("CANCEL "), "{}", cancel.start);
    c.phone.send(c.s, &respond(&cancel, "200 OK", "ph", c.phone.addr, None)).await;
    c.phone.send(c.s, &respond(&c.invite, "487 Request Terminated", "ph", c.phone.addr, None)).await;
    assert!(c.phone.recv().await.0.start.starts_with("ACK "));
    assert_eq!(
        ended(&mut c.events, 2).await,
        vec![(c.customer_leg, EndReason::RemoteCancel), (c.agent_leg, EndReason::PeerEnded)]
    );
    assert_eq!(no_event(&mut c.events, Duration::from_millis(200)).await, None, "no Failed after the cancel");
    assert_clean(&c.side).await;
    c.side.shutdown();
}

#[tokio::test]
async fn cancel_crossing_the_phones_200_is_acked_and_byed() {
    let mut c = ringing_call(config(), "race-1").await;
    // Ring time-out: ccgw cancels, but the phone answered meanwhile.
    c.side.cancel(c.agent_leg).await.expect("cancel");
    let (cancel, _) = c.phone.recv().await;
    assert!(cancel.start.starts_with("CANCEL "));
    c.phone.send(c.s, &respond(&c.invite, "200 OK", "ph", c.phone.addr, Some(PHONE_SDP))).await;
    c.phone.send(c.s, &respond(&cancel, "200 OK", "ph", c.phone.addr, None)).await;
    let mut got = Vec::new();
    let mut bye = None;
    for _ in 0..2 {
        let (m, _) = c.phone.recv().await;
        if m.start.starts_with("BYE ") {
            bye = Some(m.clone());
        }
        got.push(m.start.split(' ').next().unwrap_or_default().to_string());
    }
    assert_eq!(got, vec!["ACK", "BYE"]);
    let bye = bye.expect("BYE");
    assert_eq!(bye.param("To", "tag").as_deref(), Some("ph"));
    c.phone.send(c.s, &respond(&bye, "200 OK", "ph", c.phone.addr, None)).await;
    assert_eq!(ended(&mut c.events, 1).await, vec![(c.agent_leg, EndReason::LocalHangup)]);
    // The customer is still queued, not answered.
    assert!(!c.side.is_answered(c.customer_leg));
    while let Some(m) = c.customer.try_recv(Duration::from_millis(300)).await {
        assert!(m.start.starts_with("SIP/2.0 1"), "only provisionals: {}", m.start);
    }
    // The engine gives up on the customer: 480.
    c.side.hangup(c.customer_leg).await.expect("hangup");
    let (m, _) = c.customer.recv_skipping(&["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing"]).await;
    assert_eq!(m.start, "SIP/2.0 480 Temporarily Unavailable");
    assert_eq!(ended(&mut c.events, 1).await, vec![(c.customer_leg, EndReason::LocalHangup)]);
    assert_clean(&c.side).await;
    c.side.shutdown();
}

#[tokio::test]
async fn phone_bye_releases_the_customer() {
    let (mut c, to) = answered_call("pb-1").await;
    let a = c.phone.addr;
    let ack_to = c.invite.hh("To").to_string();
    let bye = format!(
        "BYE sip:ccgw@{s} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK-pb-bye\r\nFrom: {ack_to};tag=ph\r\nTo: {from}\r\nCall-ID: {cid}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
        s = c.s,
        from = c.invite.hh("From"),
        cid = c.invite.hh("Call-ID"),
    );
    c.phone.send(c.s, &bye).await;
    let (ok, _) = c.phone.recv().await;
    assert_eq!(ok.start, "SIP/2.0 200 OK");
    assert_eq!(ok.hh("CSeq"), "1 BYE");
    let (cbye, _) = c.customer.recv().await;
    assert_eq!(cbye.start, format!("BYE sip:5551234@{} SIP/2.0", c.customer.addr));
    assert_eq!(cbye.hh("From"), to, "ccgw's side of the customer dialog");
    c.customer.send(c.s, &respond(&cbye, "200 OK", "unused", c.customer.addr, None)).await;
    assert_eq!(
        ended(&mut c.events, 2).await,
        vec![(c.customer_leg, EndReason::PeerEnded), (c.agent_leg, EndReason::RemoteBye)]
    );
    assert_clean(&c.side).await;
    c.side.shutdown();
}

#[tokio::test]
async fn phone_vanishing_mid_call_still_ends_the_call() {
    let (mut c, _to) = answered_call("gone-1").await;
    drop(c.phone);
    // The engine releases the call; the phone never answers the BYE.
    c.side.hangup(c.customer_leg).await.expect("hangup");
    let (bye, _) = c.customer.recv().await;
    assert!(bye.start.starts_with("BYE "));
    assert_eq!(
        ended(&mut c.events, 2).await,
        vec![(c.customer_leg, EndReason::LocalHangup), (c.agent_leg, EndReason::PeerEnded)]
    );
    assert_clean(&c.side).await;
    assert!(c.side.hangup(c.agent_leg).await.is_err(), "gone legs are unknown");
    c.side.shutdown();
}

#[tokio::test]
async fn retransmitted_200_is_acked_again_without_a_second_answer() {
    let (mut c, _to) = answered_call("rt-1").await;
    c.phone.send(c.s, &respond(&c.invite, "200 OK", "ph", c.phone.addr, Some(PHONE_SDP))).await;
    let (ack, _) = c.phone.recv().await;
    assert!(ack.start.starts_with("ACK "), "{}", ack.start);
    assert_eq!(no_event(&mut c.events, Duration::from_millis(300)).await, None);
    c.side.shutdown();
}

#[tokio::test]
async fn callout_goes_to_the_trunk() {
    let trunk = Peer::bind().await;
    let mut config = config();
    config.trunk = Some(trunk.addr);
    let (side, mut events) = SipSide::start(config).await.expect("start");
    let s = side.udp_addr();
    assert!(side.dial("555 0001", None).await.is_err());
    assert!(side.dial("", None).await.is_err());
    let leg = side.dial("5550001", None).await.expect("dial");
    let (inv, from) = trunk.recv().await;
    assert_eq!(from, s);
    assert_eq!(inv.start, format!("INVITE sip:5550001@{} SIP/2.0", trunk.addr));
    assert!(inv.hh("From").starts_with(&format!("<sip:ccgw@{s}>;tag=")));
    assert_eq!(inv.hh("To"), format!("<sip:5550001@{}>", trunk.addr));
    assert_eq!(inv.hh("Contact"), format!("<sip:ccgw@{s}>"));
    assert!(inv.h("Call-Info").is_none());
    trunk.send(s, &respond(&inv, "100 Trying", "tr", trunk.addr, None)).await;
    trunk.send(s, &respond(&inv, "503 Service Unavailable", "tr", trunk.addr, None)).await;
    let ev = next_event(&mut events, |e| matches!(e, SipEvent::Failed { .. } | SipEvent::LegEnded { .. })).await;
    assert_eq!(ev, SipEvent::Failed { leg, status: 503 });
    assert!(trunk.recv().await.0.start.starts_with("ACK "));
    assert_clean(&side).await;
    side.shutdown();
}

#[tokio::test]
async fn without_trunk_dial_is_refused_and_reject_sends_the_status() {
    let (side, mut events) = start().await;
    assert!(matches!(side.dial("5550001", None).await, Err(ccgw_sip::SipError::NoTrunk)));
    let s = side.udp_addr();
    let customer = Peer::bind().await;
    customer.send(s, &invite(&customer, s, "8000", "busy-1", CUSTOMER_SDP)).await;
    let leg = inbound(&mut events).await;
    assert!(side.reject(leg, 200).await.is_err());
    side.reject(leg, 486).await.expect("reject");
    let (m, _) = customer.recv_skipping(&["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing"]).await;
    assert_eq!(m.start, "SIP/2.0 486 Busy Here");
    assert_eq!(ended(&mut events, 1).await, vec![(leg, EndReason::LocalHangup)]);
    assert_clean(&side).await;
    side.shutdown();
}

#[tokio::test]
async fn customer_leg_is_held_with_the_phones_sdp() {
    let (mut c, to) = answered_call("hc-1").await;
    let hold = {
        let side = c.side.clone();
        let leg = c.customer_leg;
        tokio::spawn(async move { side.hold(leg).await })
    };
    let (reinv, _) = c.customer.recv().await;
    assert_eq!(reinv.start, format!("INVITE sip:5551234@{} SIP/2.0", c.customer.addr));
    assert_eq!(reinv.hh("From"), to, "ccgw's side of the customer dialog");
    assert_eq!(reinv.hh("Call-ID"), "hc-1");
    assert_eq!(reinv.hh("Content-Type"), "application/sdp");
    assert_eq!(reinv.body, PHONE_SDP.replace("o=phone 2000 1 ", "o=phone 2000 2 ").replace("a=sendrecv", "a=sendonly"));
    c.customer.send(c.s, &respond(&reinv, "200 OK", "unused", c.customer.addr, Some(CUSTOMER_SDP))).await;
    let (ack, _) = c.customer.recv().await;
    assert!(ack.start.starts_with("ACK "), "{}", ack.start);
    hold.await.expect("join").expect("hold");
    // A refused unhold is an error and leaves the leg up.
    let unhold = {
        let side = c.side.clone();
        let leg = c.customer_leg;
        tokio::spawn(async move { side.unhold(leg).await })
    };
    let (reinv, _) = c.customer.recv().await;
    c.customer.send(c.s, &respond(&reinv, "488 Not Acceptable Here", "unused", c.customer.addr, None)).await;
    let result = unhold.await.expect("join");
    assert!(matches!(result, Err(ccgw_sip::SipError::Rejected(_, 488))), "{result:?}");
    assert!(c.side.is_answered(c.customer_leg));
    assert_eq!(no_event(&mut c.events, Duration::from_millis(200)).await, None);
    c.side.shutdown();
}

#[tokio::test]
async fn phone_reinvite_is_answered_with_the_customers_sdp() {
    let (mut c, _to) = answered_call("ri-1").await;
    let a = c.phone.addr;
    let reinvite = format!(
        "INVITE sip:ccgw@{s} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK-ri-2\r\nFrom: {to};tag=ph\r\nTo: {from}\r\nCall-ID: {cid}\r\nCSeq: 2 INVITE\r\nContact: <sip:7101@{a}>\r\nContent-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{PHONE_SDP}",
        s = c.s,
        to = c.invite.hh("To"),
        from = c.invite.hh("From"),
        cid = c.invite.hh("Call-ID"),
        len = PHONE_SDP.len(),
    );
    c.phone.send(c.s, &reinvite).await;
    let (ok, _) = c.phone.recv_skipping(&["SIP/2.0 100 Trying"]).await;
    assert_eq!(ok.start, "SIP/2.0 200 OK");
    assert_eq!(ok.hh("CSeq"), "2 INVITE");
    assert_eq!(ok.body, CUSTOMER_SDP);
    assert_eq!(no_event(&mut c.events, Duration::from_millis(200)).await, None);
    assert_eq!(c.side.leg_count(), 2);
    c.side.shutdown();
}

/// A SIP side whose answered legs are kept alive every `ms` milliseconds.
fn keepalive_config(ms: u64) -> SipConfig {
    let mut c = config();
    c.keepalive = Duration::from_millis(ms);
    c
}

/// The next request of `method` `peer` gets (answering 200 to the OPTIONS it gets meanwhile
/// when `answer_options`), within 5 s (other messages do not extend the wait).
async fn next_request(peer: &Peer, s: SocketAddr, method: &str, answer_options: bool) -> Msg {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let m = peer.try_recv(left).await.unwrap_or_else(|| panic!("no {method} within 5 s"));
        if m.start.starts_with(&format!("{method} ")) {
            return m;
        }
        if answer_options && m.start.starts_with("OPTIONS ") {
            peer.send(s, &respond(&m, "200 OK", "unused", peer.addr, None)).await;
        }
    }
}

#[tokio::test]
async fn a_phone_that_stops_answering_mid_call_is_noticed_and_the_customer_released() {
    let (mut c, to) = answered_call_with(keepalive_config(500), "ka-1").await;
    // Both legs are asked, in their dialogs; the customer answers, the phone has vanished.
    let (opt, _) = c.phone.recv().await;
    assert_eq!(opt.start, format!("OPTIONS sip:7101@{} SIP/2.0", c.phone.addr));
    assert_eq!(opt.hh("Call-ID"), c.invite.hh("Call-ID"));
    assert_eq!(opt.param("To", "tag").as_deref(), Some("ph"));
    assert_eq!(opt.hh("CSeq"), "2 OPTIONS");
    let copt = next_request(&c.customer, c.s, "OPTIONS", false).await;
    assert_eq!(copt.hh("Call-ID"), "ka-1");
    assert_eq!(copt.hh("From"), to, "ccgw's side of the customer dialog");
    c.customer.send(c.s, &respond(&copt, "200 OK", "unused", c.customer.addr, None)).await;
    // No answer within the interval: the phone's leg ends, BYE to both.
    let bye = next_request(&c.phone, c.s, "BYE", false).await;
    assert_eq!(bye.hh("Call-ID"), c.invite.hh("Call-ID"));
    let cbye = next_request(&c.customer, c.s, "BYE", true).await;
    c.customer.send(c.s, &respond(&cbye, "200 OK", "unused", c.customer.addr, None)).await;
    assert_eq!(
        ended(&mut c.events, 2).await,
        vec![(c.customer_leg, EndReason::PeerEnded), (c.agent_leg, EndReason::Timeout)]
    );
    assert_eq!(c.side.leg_count(), 0);
    // The phone's BYE transaction is still retrying towards nobody; the dialogs are gone.
    assert_clean(&c.side).await;
    c.side.shutdown();
}

#[tokio::test]
async fn keepalives_answered_keep_the_call_and_a_481_ends_it() {
    let (mut c, _to) = answered_call_with(keepalive_config(300), "ka-2").await;
    for round in 0..3 {
        let opt = next_request(&c.phone, c.s, "OPTIONS", false).await;
        // 200 or, from a phone without OPTIONS support, 405: both say it is there.
        let status = if round == 1 { "405 Method Not Allowed" } else { "200 OK" };
        c.phone.send(c.s, &respond(&opt, status, "ph", c.phone.addr, None)).await;
        let copt = next_request(&c.customer, c.s, "OPTIONS", false).await;
        c.customer.send(c.s, &respond(&copt, "200 OK", "unused", c.customer.addr, None)).await;
    }
    assert_eq!(no_event(&mut c.events, Duration::from_millis(100)).await, None, "the call goes on");
    assert_eq!(c.side.leg_count(), 2);
    // The customer's side lost the dialog (e.g. its proxy restarted): 481.
    let copt = next_request(&c.customer, c.s, "OPTIONS", false).await;
    c.customer.send(c.s, &respond(&copt, "481 Call/Transaction Does Not Exist", "unused", c.customer.addr, None)).await;
    let bye = next_request(&c.phone, c.s, "BYE", true).await;
    c.phone.send(c.s, &respond(&bye, "200 OK", "ph", c.phone.addr, None)).await;
    assert_eq!(
        ended(&mut c.events, 2).await,
        vec![(c.customer_leg, EndReason::Timeout), (c.agent_leg, EndReason::PeerEnded)]
    );
    assert_clean(&c.side).await;
    c.side.shutdown();
}

#[tokio::test]
async fn a_hold_re_invite_answered_481_ends_the_leg() {
    let (mut c, _to) = answered_call("ka-3").await;
    let hold = {
        let side = c.side.clone();
        let leg = c.agent_leg;
        tokio::spawn(async move { side.hold(leg).await })
    };
    let reinv = next_request(&c.phone, c.s, "INVITE", false).await;
    assert!(reinv.body.contains("a=sendonly"), "{}", reinv.body);
    c.phone.send(c.s, &respond(&reinv, "481 Call/Transaction Does Not Exist", "ph", c.phone.addr, None)).await;
    let result = hold.await.expect("join");
    assert!(matches!(result, Err(ccgw_sip::SipError::Rejected(_, 481))), "{result:?}");
    let cbye = next_request(&c.customer, c.s, "BYE", false).await;
    c.customer.send(c.s, &respond(&cbye, "200 OK", "unused", c.customer.addr, None)).await;
    assert_eq!(
        ended(&mut c.events, 2).await,
        vec![(c.customer_leg, EndReason::PeerEnded), (c.agent_leg, EndReason::Timeout)]
    );
    assert_clean(&c.side).await;
    c.side.shutdown();
}

#[tokio::test]
async fn a_hold_re_invite_timing_out_ends_the_leg() {
    let (mut c, _to) = answered_call("ka-4").await;
    let hold = {
        let side = c.side.clone();
        let leg = c.customer_leg;
        tokio::spawn(async move { side.hold(leg).await })
    };
    let reinv = next_request(&c.customer, c.s, "INVITE", false).await;
    // A 100 stops the retransmissions; the final answer never comes but a 408 (a proxy's).
    c.customer.send(c.s, &respond(&reinv, "100 Trying", "unused", c.customer.addr, None)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(c.side.is_answered(c.customer_leg), "still up while the re-INVITE is pending");
    c.customer.send(c.s, &respond(&reinv, "408 Request Timeout", "unused", c.customer.addr, None)).await;
    let result = hold.await.expect("join");
    assert!(matches!(result, Err(ccgw_sip::SipError::Rejected(_, 408))), "{result:?}");
    let bye = next_request(&c.phone, c.s, "BYE", false).await;
    c.phone.send(c.s, &respond(&bye, "200 OK", "ph", c.phone.addr, None)).await;
    assert_eq!(
        ended(&mut c.events, 2).await,
        vec![(c.customer_leg, EndReason::Timeout), (c.agent_leg, EndReason::PeerEnded)]
    );
    assert_clean(&c.side).await;
    c.side.shutdown();
}

#[tokio::test]
async fn without_keepalive_nothing_is_sent() {
    let (c, _to) = answered_call_with(keepalive_config(0), "ka-5").await;
    assert!(c.phone.quiet(Duration::from_millis(600)).await);
    assert_eq!(c.side.leg_count(), 2);
    c.side.shutdown();
}

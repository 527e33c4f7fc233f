//! What ccgw puts on the wire, seen by hand-made UDP peers (a customer and a phone).

mod common;

use std::time::Duration;

use ccgw_sip::{EndReason, SipEvent};
use common::*;

#[tokio::test]
async fn inbound_invite_rings_and_caller_cancel_ends_it() {
    let (side, mut events) = start().await;
    let s = side.udp_addr();
    let customer = Peer::bind().await;
    customer.send(s, &invite(&customer, s, "8000", "cancel-1", CUSTOMER_SDP)).await;
    let (trying, _) = customer.recv().await;
    assert_eq!(trying.start, "SIP/2.0 100 Trying");
    let (ringing, _) = customer.recv().await;
    assert_eq!(ringing.start, "SIP/2.0 180 Ringing");
    assert_eq!(ringing.hh("Call-ID"), "cancel-1");
    assert_eq!(ringing.hh("CSeq"), "1 INVITE");
    assert!(ringing.param("To", "tag").is_some(), "180 carries a To tag");
    let leg = inbound(&mut events).await;
    assert_eq!(side.leg_count(), 1);

    // A retransmitted INVITE gets the last provisional again, no second Inbound.
    customer.send(s, &invite(&customer, s, "8000", "cancel-1", CUSTOMER_SDP)).await;
    let (again, _) = customer.recv().await;
    assert!(again.start.starts_with("SIP/2.0 1"), "{}", again.start);

    let to = format!("<sip:8000@{s}>");
    customer.send(s, &in_dialog(&customer, s, "CANCEL", 1, "z9hG4bK-cancel-1-1", "cancel-1", &to)).await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let (m, _) = customer.recv_skipping(&["SIP/2.0 180 Ringing", "SIP/2.0 100 Trying"]).await;
        got.push((m.start.clone(), m.hh("CSeq").to_string()));
    }
    got.sort();
    assert_eq!(
        got,
        vec![
            ("SIP/2.0 200 OK".to_string(), "1 CANCEL".to_string()),
            ("SIP/2.0 487 Request Terminated".to_string(), "1 INVITE".to_string()),
        ]
    );
    let ev = next_event(&mut events, |e| matches!(e, SipEvent::LegEnded { .. })).await;
    assert_eq!(ev, SipEvent::LegEnded { leg, reason: EndReason::RemoteCancel });
    assert_clean(&side).await;
    side.shutdown();
}

#[tokio::test]
async fn invite_to_unknown_number_is_404_and_garbage_is_ignored() {
    let (side, _events) = start().await;
    let s = side.udp_addr();
    let peer = Peer::bind().await;
    for garbage in [
        &b"\x00\x01\x02garbage"[..],
        b"INVITE\r\n\r\n",
        b"SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n",
        b"INVITE sip:8000@x SIP/2.0\r\nContent-Length: 99999\r\n\r\nabc",
        b"REGISTER sip:x SIP/2.0\r\nTo: <sip:7101@x>\r\n\r\n",
        &[0xffu8; 2000][..],
    ] {
        peer.sock.send_to(garbage, s).await.expect("send");
    }
    peer.send(s, &invite(&peer, s, "9999", "unknown-1", CUSTOMER_SDP)).await;
    let (m, _) = peer.recv_skipping(&["SIP/2.0 100 Trying"]).await;
    assert_eq!(m.start, "SIP/2.0 404 Not Found");
    assert_eq!(m.hh("Call-ID"), "unknown-1");
    assert_clean(&side).await;
    // Still serving.
    register_peer(&peer, s, "7101").await;
    side.shutdown();
}

#[tokio::test]
async fn bridged_call_on_the_wire() {
    let (side, mut events) = start().await;
    let s = side.udp_addr();
    let phone = Peer::bind().await;
    register_peer(&phone, s, "7101").await;
    let customer = Peer::bind().await;
    customer.send(s, &invite(&customer, s, "8000", "bridge-1", CUSTOMER_SDP)).await;
    let customer_leg = inbound(&mut events).await;

    let agent_leg = side.ring("7101", Some(customer_leg), true).await.expect("ring");
    let (inv, from) = phone.recv().await;
    assert_eq!(from, s, "from ccgw's UDP address");
    // The INVITE as recorded: request line and headers.
    assert_eq!(inv.start, format!("INVITE sip:7101@{} SIP/2.0", phone.addr));
    let via = inv.hh("Via");
    assert!(via.starts_with(&format!("SIP/2.0/UDP {s};branch=z9hG4bK")), "{via}");
    let from_h = inv.hh("From");
    assert!(from_h.starts_with(&format!("<sip:5551234@{s}>;tag=")), "{from_h}");
    assert_eq!(inv.hh("To"), format!("<sip:7101@{}>", phone.addr));
    assert!(!inv.hh("Call-ID").is_empty());
    assert_ne!(inv.hh("Call-ID"), "bridge-1", "a B2BUA leg has its own Call-ID");
    assert!(inv.hh("Call-ID").ends_with("@127.0.0.1"), "{}", inv.hh("Call-ID"));
    let cseq: u32 = inv.hh("CSeq").strip_suffix(" INVITE").and_then(|n| n.parse().ok()).expect("CSeq n INVITE");
    assert_eq!(inv.hh("Contact"), format!("<sip:ccgw@{s}>"));
    assert_eq!(inv.hh("Call-Info"), format!("<sip:{s}>;answer-after=0"));
    assert_eq!(inv.hh("Content-Type"), "application/sdp");
    assert_eq!(inv.hh("Max-Forwards"), "70");
    assert_eq!(inv.body, CUSTOMER_SDP);

    phone.send(s, &respond(&inv, "180 Ringing", "ph1", phone.addr, None)).await;
    next_event(&mut events, |e| *e == SipEvent::Ringing { leg: agent_leg }).await;
    phone.send(s, &respond(&inv, "200 OK", "ph1", phone.addr, Some(PHONE_SDP))).await;
    next_event(&mut events, |e| *e == SipEvent::Answered { leg: agent_leg }).await;
    let (ack, _) = phone.recv().await;
    assert_eq!(ack.start, format!("ACK sip:7101@{} SIP/2.0", phone.addr));
    assert_eq!(ack.hh("CSeq"), format!("{cseq} ACK"));
    assert_eq!(ack.param("To", "tag").as_deref(), Some("ph1"));
    assert_eq!(ack.hh("Call-ID"), inv.hh("Call-ID"));

    // The customer is answered with the phone's SDP.
    let (ok, _) = customer.recv_skipping(&["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing"]).await;
    assert_eq!(ok.start, "SIP/2.0 200 OK");
    assert_eq!(ok.hh("CSeq"), "1 INVITE");
    assert_eq!(ok.hh("Content-Type"), "application/sdp");
    assert_eq!(ok.hh("Contact"), format!("<sip:ccgw@{s}>"));
    assert_eq!(ok.body, PHONE_SDP);
    let to = ok.hh("To").to_string();
    customer.send(s, &in_dialog(&customer, s, "ACK", 1, "z9hG4bK-bridge-ack", "bridge-1", &to)).await;
    assert!(side.is_answered(customer_leg));

    // Hold: a re-INVITE to the phone with the customer's SDP, a=sendonly, version + 1.
    let hold = {
        let side = side.clone();
        tokio::spawn(async move { side.hold(agent_leg).await })
    };
    let (reinv, _) = phone.recv().await;
    assert_eq!(reinv.start, format!("INVITE sip:7101@{} SIP/2.0", phone.addr));
    assert_eq!(reinv.hh("CSeq"), format!("{} INVITE", cseq + 1));
    assert_eq!(reinv.param("To", "tag").as_deref(), Some("ph1"));
    assert_eq!(reinv.hh("Content-Type"), "application/sdp");
    assert_eq!(
        reinv.body,
        CUSTOMER_SDP.replace("o=cust 1000 1 ", "o=cust 1000 2 ").replace("a=sendrecv", "a=sendonly")
    );
    phone.send(s, &respond(&reinv, "200 OK", "ph1", phone.addr, Some(PHONE_SDP))).await;
    let (ack, _) = phone.recv().await;
    assert!(ack.start.starts_with("ACK "), "{}", ack.start);
    assert_eq!(ack.hh("CSeq"), format!("{} ACK", cseq + 1));
    hold.await.expect("join").expect("hold");

    // Unhold: a=sendrecv again, version + 1 again.
    let unhold = {
        let side = side.clone();
        tokio::spawn(async move { side.unhold(agent_leg).await })
    };
    let (reinv, _) = phone.recv().await;
    assert_eq!(reinv.hh("CSeq"), format!("{} INVITE", cseq + 2));
    assert!(reinv.body.contains("o=cust 1000 3 "), "{}", reinv.body);
    assert!(reinv.body.contains("\r\na=sendrecv\r\n"), "{}", reinv.body);
    assert!(!reinv.body.contains("sendonly"));
    phone.send(s, &respond(&reinv, "200 OK", "ph1", phone.addr, Some(PHONE_SDP))).await;
    let _ack = phone.recv().await;
    unhold.await.expect("join").expect("unhold");

    // The customer hangs up: 200 to the customer, BYE to the phone, both legs end.
    customer.send(s, &in_dialog(&customer, s, "BYE", 2, "z9hG4bK-bridge-bye", "bridge-1", &to)).await;
    let (bye_ok, _) = customer.recv_skipping(&["SIP/2.0 200 OK\u{0}"]).await;
    assert_eq!(bye_ok.start, "SIP/2.0 200 OK");
    assert_eq!(bye_ok.hh("CSeq"), "2 BYE");
    let (bye, _) = phone.recv().await;
    assert_eq!(bye.start, format!("BYE sip:7101@{} SIP/2.0", phone.addr));
    assert_eq!(bye.hh("CSeq"), format!("{} BYE", cseq + 3));
    phone.send(s, &respond(&bye, "200 OK", "ph1", phone.addr, None)).await;
    let mut ended = Vec::new();
    for _ in 0..2 {
        match next_event(&mut events, |e| matches!(e, SipEvent::LegEnded { .. })).await {
            SipEvent::LegEnded { leg, reason } => ended.push((leg, reason)),
            _ => unreachable!(),
        }
    }
    ended.sort_by_key(|(l, _)| *l);
    assert_eq!(ended, vec![(customer_leg, EndReason::RemoteBye), (agent_leg, EndReason::PeerEnded)]);
    assert_clean(&side).await;
    side.shutdown();
}

#[tokio::test]
async fn unanswered_ring_is_cancelled_and_refusal_fails() {
    let (side, mut events) = start().await;
    let s = side.udp_addr();
    let phone = Peer::bind().await;
    register_peer(&phone, s, "7101").await;

    // Ring time-out: the engine cancels; the phone sees CANCEL, answers 200 + 487.
    let leg = side.ring("7101", None, false).await.expect("ring");
    let (inv, _) = phone.recv().await;
    assert!(inv.h("Call-Info").is_none(), "no auto-answer asked");
    // No offer without a customer leg (rsipstack still adds Content-Type: application/sdp).
    assert_eq!(inv.hh("Content-Length"), "0");
    assert!(inv.body.is_empty());
    phone.send(s, &respond(&inv, "180 Ringing", "ph2", phone.addr, None)).await;
    next_event(&mut events, |e| *e == SipEvent::Ringing { leg }).await;
    side.cancel(leg).await.expect("cancel");
    let (cancel, _) = phone.recv().await;
    assert_eq!(cancel.start, format!("CANCEL sip:7101@{} SIP/2.0", phone.addr));
    assert_eq!(cancel.hh("Via"), inv.hh("Via"), "CANCEL has the INVITE's branch");
    assert_eq!(cancel.hh("CSeq").split(' ').next(), inv.hh("CSeq").split(' ').next());
    assert!(cancel.hh("CSeq").ends_with(" CANCEL"));
    phone.send(s, &respond(&cancel, "200 OK", "ph2", phone.addr, None)).await;
    phone.send(s, &respond(&inv, "487 Request Terminated", "ph2", phone.addr, None)).await;
    let ack = phone.recv().await.0;
    assert!(ack.start.starts_with("ACK "), "{}", ack.start);
    let ev = next_event(&mut events, |e| matches!(e, SipEvent::LegEnded { .. } | SipEvent::Failed { .. })).await;
    assert_eq!(ev, SipEvent::LegEnded { leg, reason: EndReason::LocalHangup });

    // A busy phone: Failed with its status.
    let leg = side.ring("7101", None, false).await.expect("ring");
    let (inv, _) = phone.recv().await;
    phone.send(s, &respond(&inv, "486 Busy Here", "ph3", phone.addr, None)).await;
    let ev = next_event(&mut events, |e| matches!(e, SipEvent::LegEnded { .. } | SipEvent::Failed { .. })).await;
    assert_eq!(ev, SipEvent::Failed { leg, status: 486 });
    assert!(phone.recv().await.0.start.starts_with("ACK "));
    assert_clean(&side).await;

    // Not registered: an error, no leg.
    assert!(side.ring("7102", None, false).await.is_err());
    assert!(phone.quiet(Duration::from_millis(200)).await);
    side.shutdown();
}

#[tokio::test]
async fn garbage_over_tcp_is_survived() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (side, _events) = start().await;
    tokio::time::sleep(Duration::from_millis(100)).await; // the TCP listener binds as the stack serves
    for garbage in [
        &b"\x00\x01garbage\r\n\r\n"[..],
        b"INVITE sip:8000@x SIP/2.0\r\nContent-Length: 5\r\n\r\nab",
        &[0xffu8; 5000][..],
    ] {
        let mut c = tokio::net::TcpStream::connect(side.tcp_addr()).await.expect("connect");
        c.write_all(garbage).await.expect("write");
        drop(c);
    }
    // Still answering on TCP: a REGISTER gets its challenge.
    let mut c = tokio::net::TcpStream::connect(side.tcp_addr()).await.expect("connect");
    let a = c.local_addr().expect("addr");
    let s = side.tcp_addr();
    let register = format!(
        "REGISTER sip:{s} SIP/2.0\r\nVia: SIP/2.0/TCP {a};branch=z9hG4bK-tcp1\r\nFrom: <sip:7101@{s}>;tag=t\r\nTo: <sip:7101@{s}>\r\nCall-ID: tcp-1\r\nCSeq: 1 REGISTER\r\nContact: <sip:7101@{a};transport=tcp>\r\nContent-Length: 0\r\n\r\n"
    );
    c.write_all(register.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await.expect("in time").expect("read");
    let m = Msg::parse(&String::from_utf8_lossy(&buf[..n]));
    assert_eq!(m.start, "SIP/2.0 401 Unauthorized");
    side.shutdown();
}

/// Re-connecting an answered customer to another phone (a transfer), as recorded: 7102 is rung
/// with the customer's SDP (`a=sendrecv`), and its answer re-INVITEs the customer with 7102's
/// SDP under the origin ccgw used on that leg (the version one higher). The first phone is no
/// longer linked to the customer: its BYE leaves the customer's leg up.
#[tokio::test]
async fn reconnecting_an_answered_leg_on_the_wire() {
    const HELPER_SDP: &str = "v=0\r\no=helper 3000 7 IN IP4 127.0.0.1\r\ns=helper\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 44000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    let (side, mut events) = start().await;
    let s = side.udp_addr();
    let (phone, helper, customer) = (Peer::bind().await, Peer::bind().await, Peer::bind().await);
    register_peer(&phone, s, "7101").await;
    register_peer(&helper, s, "7102").await;
    customer.send(s, &invite(&customer, s, "8000", "reconnect-1", CUSTOMER_SDP)).await;
    let customer_leg = inbound(&mut events).await;
    let agent_leg = side.ring("7101", Some(customer_leg), false).await.expect("ring");
    let (inv, _) = phone.recv().await;
    phone.send(s, &respond(&inv, "200 OK", "ph1", phone.addr, Some(PHONE_SDP))).await;
    next_event(&mut events, |e| *e == SipEvent::Answered { leg: agent_leg }).await;
    let _ack = phone.recv().await;
    let (ok, _) = customer.recv_skipping(&["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing"]).await;
    let to = ok.hh("To").to_string();
    customer.send(s, &in_dialog(&customer, s, "ACK", 1, "z9hG4bK-rc-ack", "reconnect-1", &to)).await;

    // The target is offered the customer's SDP, sendrecv (its own session: version bumped).
    let target_leg = side.ring("7102", Some(customer_leg), false).await.expect("ring the target");
    let (inv2, _) = helper.recv().await;
    assert_eq!(inv2.start, format!("INVITE sip:7102@{} SIP/2.0", helper.addr));
    assert_eq!(inv2.body, CUSTOMER_SDP.replace("o=cust 1000 1 ", "o=cust 1000 2 "));
    helper.send(s, &respond(&inv2, "200 OK", "hp1", helper.addr, Some(HELPER_SDP))).await;
    next_event(&mut events, |e| *e == SipEvent::Answered { leg: target_leg }).await;
    let _ack = helper.recv().await;

    // The customer is re-INVITEd with the target's SDP under its leg's origin (the phone's
    // answer was the first SDP ccgw sent it), version + 1, a=sendrecv.
    let (reinv, _) = customer.recv().await;
    assert_eq!(reinv.start, format!("INVITE sip:5551234@{} SIP/2.0", customer.addr));
    assert_eq!(reinv.param("From", "tag").as_deref(), ok.param("To", "tag").as_deref(), "in the customer's dialog");
    assert_eq!(reinv.hh("Content-Type"), "application/sdp");
    assert_eq!(
        reinv.body,
        "v=0\r\no=phone 2000 2 IN IP4 127.0.0.1\r\ns=helper\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 44000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    );
    customer.send(s, &respond(&reinv, "200 OK", "", customer.addr, Some(CUSTOMER_SDP))).await;
    let (ack, _) = customer.recv().await;
    assert!(ack.start.starts_with("ACK "), "{}", ack.start);
    for _ in 0..50 {
        if side.media_from(customer_leg) == Some(target_leg) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(side.media_from(customer_leg), Some(target_leg));

    // The first phone hangs up: only its own leg ends.
    side.hangup(agent_leg).await.expect("hang up the first phone");
    let (bye, _) = phone.recv().await;
    assert!(bye.start.starts_with("BYE "), "{}", bye.start);
    phone.send(s, &respond(&bye, "200 OK", "ph1", phone.addr, None)).await;
    next_event(&mut events, |e| *e == SipEvent::LegEnded { leg: agent_leg, reason: EndReason::LocalHangup }).await;
    assert!(customer.quiet(Duration::from_millis(300)).await, "the customer is left alone");
    assert_eq!(side.leg_count(), 2);
    side.hangup(customer_leg).await.expect("hang up");
    side.hangup(target_leg).await.expect("hang up");
    for peer in [&customer, &helper] {
        let (bye, _) = peer.recv().await;
        peer.send(s, &respond(&bye, "200 OK", "", peer.addr, None)).await;
    }
    assert_clean(&side).await;
    side.shutdown();
}

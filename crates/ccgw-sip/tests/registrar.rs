//! The registrar against a real SIPp phone (digest auth) and by hand.

mod common;

use std::time::Duration;

use ccgw_sip::SipEvent;
use common::*;

#[tokio::test]
async fn sipp_phone_registers_with_digest_and_unregisters() {
    if !have_sipp("sipp_phone_registers_with_digest_and_unregisters") {
        return;
    }
    let (side, mut events) = start().await;
    assert!(!side.is_registered("7101"));
    let port = free_port();
    let args = ["-s", "7101", "-au", "7101", "-ap", PASSWORD, "-key", "expires", "600"];
    assert!(spawn_sipp("register.xml", side.udp_addr(), port, &args).success().await, "SIPp registration");
    next_event(&mut events, |e| matches!(e, SipEvent::Registered { number } if number == "7101")).await;
    let contact = side.contact("7101").expect("registered contact");
    assert!(contact.uri.starts_with(&format!("sip:7101@127.0.0.1:{port}")), "{}", contact.uri);
    assert_eq!(contact.target.to_string(), format!("127.0.0.1:{port}"));
    let left = contact.expires_at - std::time::Instant::now();
    assert!(left > Duration::from_secs(590) && left <= Duration::from_secs(600));

    // Expires: 0 from the same contact removes the binding.
    let args = ["-s", "7101", "-au", "7101", "-ap", PASSWORD, "-key", "expires", "0"];
    assert!(spawn_sipp("register.xml", side.udp_addr(), port, &args).success().await, "SIPp unregistration");
    next_event(&mut events, |e| matches!(e, SipEvent::Unregistered { number } if number == "7101")).await;
    assert!(!side.is_registered("7101"));
    side.shutdown();
}

#[tokio::test]
async fn sipp_phone_with_wrong_password_is_forbidden() {
    if !have_sipp("sipp_phone_with_wrong_password_is_forbidden") {
        return;
    }
    let (side, _events) = start().await;
    let args = ["-s", "7101", "-au", "7101", "-ap", "not-the-password", "-key", "expires", "600"];
    assert!(run_sipp("register_wrong.xml", side.udp_addr(), &args).await);
    assert!(!side.is_registered("7101"));
    side.shutdown();
}

#[tokio::test]
async fn sipp_unknown_number_is_not_found() {
    if !have_sipp("sipp_unknown_number_is_not_found") {
        return;
    }
    let (side, _events) = start().await;
    assert!(run_sipp("unknown_number.xml", side.udp_addr(), &["-s", "7999"]).await);
    assert!(!side.is_registered("7999"));
    side.shutdown();
}

#[tokio::test]
async fn sipp_registers_over_tcp() {
    if !have_sipp("sipp_registers_over_tcp") {
        return;
    }
    let (side, mut events) = start().await;
    let args = ["-t", "t1", "-s", "7102", "-au", "7102", "-ap", PASSWORD, "-key", "expires", "600"];
    assert!(run_sipp("register.xml", side.tcp_addr(), &args).await, "SIPp over TCP");
    next_event(&mut events, |e| matches!(e, SipEvent::Registered { number } if number == "7102")).await;
    let contact = side.contact("7102").expect("contact");
    assert_eq!(contact.transport, ccgw_sip::SipTransport::Tcp);
    side.shutdown();
}

#[tokio::test]
async fn challenge_is_md5_qop_auth_and_short_expiry_is_refused() {
    let (side, _events) = start().await;
    let peer = Peer::bind().await;
    let s = side.udp_addr();
    let reg = |cseq: u32, expires: u32, auth: &str| {
        format!(
            "REGISTER sip:{s} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK-x{cseq}\r\nFrom: <sip:7101@{s}>;tag=t1\r\nTo: <sip:7101@{s}>\r\nCall-ID: c1@{a}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:7101@{a}>\r\n{auth}Expires: {expires}\r\nContent-Length: 0\r\n\r\n",
            a = peer.addr
        )
    };
    peer.send(s, &reg(1, 600, "")).await;
    let (m, _) = peer.recv().await;
    assert_eq!(m.start, "SIP/2.0 401 Unauthorized");
    let challenge = m.hh("WWW-Authenticate").to_string();
    assert!(challenge.starts_with("Digest realm=\"ccgw\", nonce=\""), "{challenge}");
    assert!(challenge.ends_with("\", algorithm=MD5, qop=\"auth\""), "{challenge}");
    let nonce = challenge.split('"').nth(3).expect("nonce");
    assert_eq!(nonce.len(), 32);
    assert!(nonce.chars().all(|c| c.is_ascii_hexdigit()));

    // A second challenge carries another nonce.
    peer.send(s, &reg(2, 600, "")).await;
    let (m2, _) = peer.recv().await;
    assert_ne!(m2.hh("WWW-Authenticate"), challenge);

    // Below min_expires (60): 423 with Min-Expires.
    let auth = digest_authorization(&challenge, "7101", PASSWORD, &format!("sip:{s}"));
    peer.send(s, &reg(3, 10, &format!("Authorization: {auth}\r\n"))).await;
    let (m, _) = peer.recv().await;
    assert_eq!(m.start, "SIP/2.0 423 Interval Too Brief");
    assert_eq!(m.hh("Min-Expires"), "60");
    assert!(!side.is_registered("7101"));

    // Above max_expires (3600): granted 3600 (a fresh challenge, as the helper's nc is fixed).
    peer.send(s, &reg(4, 100_000, "")).await;
    let (m, _) = peer.recv().await;
    let auth = digest_authorization(m.hh("WWW-Authenticate"), "7101", PASSWORD, &format!("sip:{s}"));
    peer.send(s, &reg(5, 100_000, &format!("Authorization: {auth}\r\n"))).await;
    let (m, _) = peer.recv().await;
    assert_eq!(m.start, "SIP/2.0 200 OK");
    assert_eq!(m.hh("Contact"), format!("<sip:7101@{}>;expires=3600", peer.addr));
    assert!(side.is_registered("7101"));
    side.shutdown();
}

#[tokio::test]
async fn bindings_lapse() {
    let mut config = config();
    config.min_expires = 1;
    config.max_expires = 1;
    let (side, mut events) = ccgw_sip::SipSide::start(config).await.expect("start");
    let peer = Peer::bind().await;
    register_peer(&peer, side.udp_addr(), "7101").await;
    assert!(side.is_registered("7101"));
    next_event(&mut events, |e| matches!(e, SipEvent::Unregistered { number } if number == "7101")).await;
    assert!(!side.is_registered("7101"));
    side.shutdown();
}

//! Shared by the integration tests: starting a SIP side on loopback, running SIPp, a plain
//! UDP peer that speaks SIP by hand.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use ccgw_sip::{LegId, SipConfig, SipEvent, SipSide};
use md5::{Digest, Md5};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedReceiver;

pub const PASSWORD: &str = "ccgw-demo";

pub fn config() -> SipConfig {
    let mut c = SipConfig::new("127.0.0.1:0".parse().expect("addr"));
    c.phones = HashMap::from([("7101".to_string(), PASSWORD.to_string()), ("7102".to_string(), PASSWORD.to_string())]);
    c.access_codes = vec!["8000".to_string()];
    c
}

pub async fn start() -> (SipSide, UnboundedReceiver<SipEvent>) {
    SipSide::start(config()).await.expect("SIP side starts")
}

/// Whether SIPp can be used. Without it a test skips (says so), unless `REQUIRE_SIP=1`.
pub fn have_sipp(test: &str) -> bool {
    let found =
        std::process::Command::new("sipp").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !found {
        if std::env::var("REQUIRE_SIP").as_deref() == Ok("1") {
            panic!("{test}: sipp is not installed and REQUIRE_SIP=1");
        }
        eprintln!("{test}: skipped, sipp is not installed (apt-get install sip-tester)");
    }
    found
}

pub fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sipp").join(name)
}

/// A free UDP port on loopback (for SIPp's -p).
/// A port free for both UDP and TCP on loopback now (SIP peers such as baresip bind both).
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let udp = StdUdpSocket::bind("127.0.0.1:0").expect("a UDP port");
        let port = udp.local_addr().expect("its address").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP")
}

/// A SIPp process running one call of `scenario` against `remote`.
pub struct Sipp {
    pub child: tokio::process::Child,
    pub port: u16,
}

pub fn spawn_sipp(scenario_file: &str, remote: SocketAddr, port: u16, extra: &[&str]) -> Sipp {
    let mut cmd = tokio::process::Command::new("sipp");
    cmd.arg(remote.to_string())
        .arg("-sf")
        .arg(scenario(scenario_file))
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error"])
        .args(extra)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if std::env::var("SIPP_TRACE").as_deref() == Ok("1") {
        // Message and error logs next to the scenario's name in the temp dir.
        cmd.args(["-trace_err", "-trace_msg"]);
    }
    let child = cmd.spawn().expect("sipp runs");
    Sipp { child, port }
}

impl Sipp {
    /// Waits for SIPp to finish; true when its call succeeded (exit 0).
    pub async fn success(mut self) -> bool {
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(Ok(status)) => {
                if !status.success() {
                    eprintln!("sipp exited with {status}");
                }
                status.success()
            }
            _ => {
                let _ = self.child.start_kill();
                false
            }
        }
    }
}

/// Runs SIPp to completion.
pub async fn run_sipp(scenario_file: &str, remote: SocketAddr, extra: &[&str]) -> bool {
    spawn_sipp(scenario_file, remote, free_port(), extra).success().await
}

/// No leg left, and (within 2 s, as BYE/CANCEL transactions finish) no dialog either.
pub async fn assert_clean(side: &SipSide) {
    assert_eq!(side.leg_count(), 0, "legs left");
    for _ in 0..40 {
        if side.dialog_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(side.dialog_count(), 0, "dialogs left in the stack");
}

/// Waits for an event matching `pred`, failing after 10 s.
pub async fn next_event(events: &mut UnboundedReceiver<SipEvent>, pred: impl Fn(&SipEvent) -> bool) -> SipEvent {
    let wait = async {
        loop {
            match events.recv().await {
                Some(e) if pred(&e) => return e,
                Some(_) => continue,
                None => panic!("event channel closed"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait).await.expect("event in time")
}

// ------------------------------------------------------------------ a hand-made SIP peer

/// A UDP socket that plays a phone or customer by hand, to see exactly what ccgw sends.
pub struct Peer {
    pub sock: UdpSocket,
    pub addr: SocketAddr,
}

impl Peer {
    pub async fn bind() -> Peer {
        let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = sock.local_addr().expect("addr");
        Peer { sock, addr }
    }

    pub async fn send(&self, to: SocketAddr, msg: &str) {
        self.sock.send_to(msg.as_bytes(), to).await.expect("send");
    }

    /// The next SIP message (within 5 s), as text, with where it came from.
    pub async fn recv(&self) -> (Msg, SocketAddr) {
        let mut buf = vec![0u8; 65535];
        let (n, from) = tokio::time::timeout(Duration::from_secs(5), self.sock.recv_from(&mut buf))
            .await
            .expect("a message in time")
            .expect("recv");
        (Msg::parse(&String::from_utf8_lossy(&buf[..n])), from)
    }

    /// The next message that is not a provisional response matching `skip` (e.g. 100).
    pub async fn recv_skipping(&self, skip: &[&str]) -> (Msg, SocketAddr) {
        loop {
            let (m, from) = self.recv().await;
            if !skip.iter().any(|s| m.start == *s) {
                return (m, from);
            }
        }
    }

    /// The next message within `d`, if any.
    pub async fn try_recv(&self, d: Duration) -> Option<Msg> {
        let mut buf = vec![0u8; 65535];
        let (n, _) = tokio::time::timeout(d, self.sock.recv_from(&mut buf)).await.ok()?.ok()?;
        Some(Msg::parse(&String::from_utf8_lossy(&buf[..n])))
    }

    /// Whether nothing arrives within `d`.
    pub async fn quiet(&self, d: Duration) -> bool {
        let mut buf = vec![0u8; 65535];
        tokio::time::timeout(d, self.sock.recv_from(&mut buf)).await.is_err()
    }
}

/// A SIP message split into start line, headers (name as sent, value) and body.
#[derive(Clone, Debug)]
pub struct Msg {
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub raw: String,
}

impl Msg {
    pub fn parse(raw: &str) -> Msg {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let mut lines = head.split("\r\n");
        let start = lines.next().unwrap_or_default().to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Msg { start, headers, body: body.to_string(), raw: raw.to_string() }
    }

    /// The first header of this name (case-insensitive).
    pub fn h(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn hh(&self, name: &str) -> &str {
        self.h(name).unwrap_or_else(|| panic!("no {name} header in:\n{}", self.raw))
    }

    /// The value of `param` (`tag`, `branch`, ...) in header `name`.
    pub fn param(&self, name: &str, param: &str) -> Option<String> {
        let v = self.h(name)?;
        v.split(';').skip(1).find_map(|p| {
            let (k, val) = p.split_once('=')?;
            k.trim().eq_ignore_ascii_case(param).then(|| val.trim().to_string())
        })
    }

    /// The header names in order (to compare against recorded expectations).
    pub fn names(&self) -> Vec<String> {
        self.headers.iter().map(|(k, _)| k.clone()).collect()
    }
}

/// Answers a 401 challenge: the Authorization header value for `number`.
pub fn digest_authorization(challenge: &str, number: &str, password: &str, uri: &str) -> String {
    let get = |key: &str| -> String {
        challenge
            .split([',', ' '])
            .find_map(|p| p.trim().strip_prefix(&format!("{key}=")))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let realm = get("realm");
    let nonce = get("nonce");
    let md5 = |s: String| hex::encode(Md5::digest(s.as_bytes()));
    let ha1 = md5(format!("{number}:{realm}:{password}"));
    let ha2 = md5(format!("REGISTER:{uri}"));
    let cnonce = "0a4f113b";
    let nc = "00000001";
    let response = md5(format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    format!(
        "Digest username=\"{number}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm=MD5, cnonce=\"{cnonce}\", qop=auth, nc={nc}"
    )
}

/// Registers `number` from `peer` by hand (REGISTER, 401, REGISTER with credentials, 200).
pub async fn register_peer(peer: &Peer, side: SocketAddr, number: &str) {
    let uri = format!("sip:{side}");
    let register = |cseq: u32, auth: Option<String>| {
        format!(
            "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK-reg{cseq};rport\r\nFrom: <sip:{number}@{side}>;tag=regtag\r\nTo: <sip:{number}@{side}>\r\nCall-ID: reg-{number}@{a}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{number}@{a}>\r\n{auth}Expires: 600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            a = peer.addr,
            auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default()
        )
    };
    peer.send(side, &register(1, None)).await;
    let (challenge, _) = peer.recv().await;
    assert!(challenge.start.starts_with("SIP/2.0 401"), "{}", challenge.raw);
    let auth = digest_authorization(challenge.hh("WWW-Authenticate"), number, PASSWORD, &uri);
    peer.send(side, &register(2, Some(auth))).await;
    let (ok, _) = peer.recv().await;
    assert!(ok.start.starts_with("SIP/2.0 200"), "{}", ok.raw);
}

// ------------------------------------------------------------------ hand-made calls

pub const CUSTOMER_SDP: &str = "v=0\r\no=cust 1000 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";
pub const PHONE_SDP: &str = "v=0\r\no=phone 2000 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";

pub fn invite(peer: &Peer, side: SocketAddr, called: &str, call_id: &str, sdp: &str) -> String {
    format!(
        "INVITE sip:{called}@{side} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK-{call_id}-1;rport\r\nFrom: \"Customer\" <sip:5551234@{a}>;tag=cust-{call_id}\r\nTo: <sip:{called}@{side}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:5551234@{a}>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{sdp}",
        a = peer.addr,
        len = sdp.len()
    )
}

/// A request inside the customer's dialog (ACK, BYE, CANCEL), `to` being the To of ccgw's
/// response (with its tag) or, for CANCEL, the INVITE's.
pub fn in_dialog(
    peer: &Peer,
    side: SocketAddr,
    method: &str,
    cseq: u32,
    branch: &str,
    call_id: &str,
    to: &str,
) -> String {
    format!(
        "{method} sip:8000@{side} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch={branch};rport\r\nFrom: \"Customer\" <sip:5551234@{a}>;tag=cust-{call_id}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        a = peer.addr
    )
}

/// The response a phone sends to a request ccgw sent it.
pub fn respond(req: &Msg, status: &str, to_tag: &str, contact: SocketAddr, sdp: Option<&str>) -> String {
    let mut r = format!("SIP/2.0 {status}\r\n");
    for name in ["Via", "From", "Call-ID", "CSeq"] {
        for (k, v) in &req.headers {
            if k.eq_ignore_ascii_case(name) {
                r.push_str(&format!("{k}: {v}\r\n"));
            }
        }
    }
    let to = req.hh("To");
    if to.contains(";tag=") {
        r.push_str(&format!("To: {to}\r\n"));
    } else {
        r.push_str(&format!("To: {to};tag={to_tag}\r\n"));
    }
    r.push_str(&format!("Contact: <sip:7101@{contact}>\r\n"));
    match sdp {
        Some(sdp) => {
            r.push_str(&format!("Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}", sdp.len()))
        }
        None => r.push_str("Content-Length: 0\r\n\r\n"),
    }
    r
}

pub async fn inbound(events: &mut tokio::sync::mpsc::UnboundedReceiver<SipEvent>) -> LegId {
    match next_event(events, |e| matches!(e, SipEvent::Inbound { .. })).await {
        SipEvent::Inbound { leg, from, to, sdp } => {
            assert_eq!(from, "5551234");
            assert_eq!(to, "8000");
            assert_eq!(sdp.as_deref(), Some(CUSTOMER_SDP.as_bytes()));
            leg
        }
        _ => unreachable!(),
    }
}

//! Shared by the SIP gateway tests (`sip.rs`, `sip_faults.rs`, `sip_baresip.rs`): SIPp runs, a
//! gateway in SIP mode, registering, signing in, the REST checks they repeat, and a plain UDP
//! socket that speaks SIP by hand.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::common::{Agent, Gateway};
use serde_json::{Value, json};

pub const PASSWORD: &str = "ccgw-demo";
/// The demo's access code of skill 1 (VDN 1, agents 101–…).
pub const ACCESS_CODE: &str = "10086";

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
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let own = here.join("tests/sipp").join(name);
    if own.exists() { own } else { here.join("../ccgw-sip/tests/sipp").join(name) }
}

/// A port free for both UDP and TCP on loopback now (baresip binds both).
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let port = UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).map(|a| a.port()).expect("free port");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP")
}

pub struct Sipp(pub tokio::process::Child);

pub fn sipp(scenario_file: &str, remote: SocketAddr, port: u16, extra: &[&str]) -> Sipp {
    let mut cmd = tokio::process::Command::new("sipp");
    cmd.arg(remote.to_string())
        .arg("-sf")
        .arg(scenario(scenario_file))
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(if extra.contains(&"-m") { &[][..] } else { &["-m", "1"][..] })
        .args(["-nostdin", "-timeout", "30s", "-timeout_error"])
        .args(extra)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if std::env::var("SIPP_TRACE").as_deref() == Ok("1") {
        cmd.args(["-trace_err", "-trace_msg"]);
    }
    Sipp(cmd.spawn().expect("sipp runs"))
}

impl Sipp {
    /// Waits for SIPp to finish; true when its call went as the scenario says (exit 0).
    pub async fn success(mut self) -> bool {
        match tokio::time::timeout(Duration::from_secs(40), self.0.wait()).await {
            Ok(Ok(status)) => {
                if !status.success() {
                    eprintln!("sipp exited with {status}");
                }
                status.success()
            }
            _ => {
                let _ = self.0.start_kill();
                false
            }
        }
    }
}

/// A gateway in SIP mode on a free port; returns it with the SIP address.
pub async fn gateway(ring_timeout_ms: u64) -> (Gateway, SocketAddr) {
    gateway_with(ring_timeout_ms, |_| {}).await
}

pub async fn gateway_with(ring_timeout_ms: u64, tweak: impl FnOnce(&mut ccgw_server::Config)) -> (Gateway, SocketAddr) {
    let sip: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let gw = Gateway::start_with(|c| {
        c.telephony.kind = ccgw_server::config::TelephonyKind::Sip;
        c.telephony.sip.listen = sip;
        c.engine.ring_timeout_ms = ring_timeout_ms;
        tweak(c);
    })
    .await;
    (gw, sip)
}

/// The phone `number` registers from `port` (digest auth with the demo password).
pub async fn register(sip: SocketAddr, number: &str, port: u16) {
    let args = ["-s", number, "-au", number, "-ap", PASSWORD, "-key", "expires", "600"];
    assert!(sipp("register.xml", sip, port, &args).success().await, "phone {number} registers");
}

pub async fn sign_in(gw: &Gateway, id: u32) -> Agent {
    let body = json!({"password": PASSWORD, "phonenum": format!("7{id}"), "status": 4, "autoanswer": false});
    gw.sign_in_with(id, body).await
}

pub fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["eventType"].as_str().unwrap_or("?")).collect()
}

/// Polls until `AgentEvent_Ringing`; returns the call id offered.
pub async fn ringing(gw: &Gateway, agent: &Agent) -> String {
    let evs = agent.poll_until(gw, "AgentEvent_Ringing").await;
    let ev = evs.last().unwrap();
    assert_eq!(ev["content"]["caller"], "5551234", "{ev}");
    assert_eq!(ev["content"]["called"], ACCESS_CODE, "{ev}");
    ev["content"]["callid"].as_str().expect("callid").to_owned()
}

pub async fn all_calls(gw: &Gateway, agent: &Agent) -> Value {
    let r = agent.get(gw, "calldata", &format!("allcallinfoEx/{}", agent.id)).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    r.body["result"].clone()
}

// ----- more helpers for the fault tests -------------------------------------------------------

/// The gateway's SIP side (SIP mode only).
pub fn sip_side(gw: &Gateway) -> ccgw_sip::SipSide {
    gw.running().sip_side.clone().expect("SIP mode")
}

/// Waits (up to 5 s) until the SIP side has no leg and no dialog left; fails otherwise.
pub async fn assert_no_legs(gw: &Gateway) {
    let side = sip_side(gw);
    for _ in 0..100 {
        if side.leg_count() == 0 && side.dialog_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!((side.leg_count(), side.dialog_count()), (0, 0), "SIP legs and dialogs left");
}

/// The calls the engine holds (operator API), as `(callId, parties)`.
pub async fn engine_calls(gw: &Gateway) -> Vec<Value> {
    let body = gw.admin_get("/admin/calls").await;
    body["calls"].as_array().cloned().unwrap_or_else(|| panic!("no calls list: {body}"))
}

/// A UDP socket that plays a customer or a phone by hand.
pub struct RawPeer {
    pub sock: tokio::net::UdpSocket,
    pub addr: SocketAddr,
}

impl RawPeer {
    pub async fn bind(port: u16) -> RawPeer {
        let sock = tokio::net::UdpSocket::bind(("127.0.0.1", port)).await.expect("bind");
        let addr = sock.local_addr().expect("addr");
        RawPeer { sock, addr }
    }

    pub async fn send(&self, to: SocketAddr, msg: &str) {
        self.sock.send_to(msg.as_bytes(), to).await.expect("send");
    }

    /// The next message within `d`, as text.
    pub async fn recv_within(&self, d: Duration) -> Option<String> {
        let mut buf = vec![0u8; 65535];
        let (n, _) = tokio::time::timeout(d, self.sock.recv_from(&mut buf)).await.ok()?.ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// The next message (within 5 s) whose start line begins with `start`, skipping others.
    pub async fn recv_start(&self, start: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let m = self.recv_within(left).await.unwrap_or_else(|| panic!("no {start:?} in time"));
            if m.starts_with(start) {
                return m;
            }
        }
    }
}

/// The value of header `name` in raw message `msg` (first occurrence, case-insensitive).
pub fn header<'a>(msg: &'a str, name: &str) -> &'a str {
    msg.split("\r\n")
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()))
        .unwrap_or_else(|| panic!("no {name} in {msg}"))
}

pub const CUSTOMER_SDP: &str = "v=0\r\no=customer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
pub const PHONE_SDP: &str = "v=0\r\no=phone 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// A customer's INVITE to the access code (caller 5551234), branch `z9hG4bK-<call_id>`.
pub fn customer_invite(peer: &RawPeer, sip: SocketAddr, call_id: &str) -> String {
    format!(
        "INVITE sip:{ACCESS_CODE}@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK-{call_id};rport\r\nFrom: <sip:5551234@{a}>;tag=c-{call_id}\r\nTo: <sip:{ACCESS_CODE}@{sip}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:5551234@{a}>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{CUSTOMER_SDP}",
        a = peer.addr,
        len = CUSTOMER_SDP.len()
    )
}

/// A request of the customer in its INVITE's transaction or dialog: CANCEL (same branch,
/// `to` the INVITE's To), ACK of a non-2xx (same branch), or with `branch` a new transaction.
pub fn customer_request(
    peer: &RawPeer,
    sip: SocketAddr,
    call_id: &str,
    method: &str,
    cseq: u32,
    branch: &str,
    to: &str,
) -> String {
    format!(
        "{method} sip:{ACCESS_CODE}@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch={branch};rport\r\nFrom: <sip:5551234@{a}>;tag=c-{call_id}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        a = peer.addr
    )
}

/// A response to request `req` (its Via, From, To (tagged `tag` unless it has one), Call-ID,
/// CSeq), with `sdp` as body.
pub fn reply(req: &str, status: &str, tag: &str, contact: SocketAddr, sdp: Option<&str>) -> String {
    let mut r = format!("SIP/2.0 {status}\r\n");
    for line in req.split("\r\n").skip(1).take_while(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or_default().trim();
        if ["via", "from", "call-id", "cseq"].contains(&name.to_ascii_lowercase().as_str()) {
            r.push_str(line);
            r.push_str("\r\n");
        }
    }
    let to = header(req, "To");
    if to.contains("tag=") {
        r.push_str(&format!("To: {to}\r\n"));
    } else {
        r.push_str(&format!("To: {to};tag={tag}\r\n"));
    }
    r.push_str(&format!("Contact: <sip:7101@{contact}>\r\n"));
    match sdp {
        Some(b) => r.push_str(&format!("Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}", b.len())),
        None => r.push_str("Content-Length: 0\r\n\r\n"),
    }
    r
}

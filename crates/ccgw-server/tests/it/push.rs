//! Push mode (sign-in with `callBackUri` + `serviceToken`) against a real HTTPS receiver started
//! by the test, and the all-agents event query (`allagentevent`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::common::{Agent, Gateway, PREFIX, err};

const PUSH_PATH: &str = "/service-cloud/rest/cc-ai/v1/agentevent/pushresult";
const TOKEN: &str = "svcToken-42_x";

/// One request the receiver got: its head exactly as on the wire, its body, and the status it
/// answered.
#[derive(Clone, Debug)]
struct Recorded {
    head: String,
    body: Value,
    answered: u16,
}

impl Recorded {
    fn events(&self) -> Vec<Value> {
        self.body["eventList"].as_array().cloned().unwrap_or_default()
    }
}

#[derive(Default)]
struct RecvState {
    requests: Vec<Recorded>,
    /// The status it answers with; 0: it never answers.
    status: u16,
}

/// A small HTTPS receiver on 127.0.0.1 (TLS with its own certificate, which the gateway trusts
/// through `push.ca_file`). HTTP/1.1 keep-alive, `Content-Length` bodies; records every request.
struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<RecvState>>,
    acceptor: tokio_rustls::TlsAcceptor,
    tasks: Option<JoinSet<()>>,
    ca_file: std::path::PathBuf,
}

impl Receiver {
    async fn start() -> Receiver {
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ca_file = std::env::temp_dir().join(format!("ccgw-push-ca-{}-{n}.pem", std::process::id()));
        std::fs::write(&ca_file, cert.cert.pem()).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(RecvState { requests: Vec::new(), status: 200 }));
        let mut r = Receiver { addr, state, acceptor, tasks: None, ca_file };
        r.serve(listener);
        r
    }

    fn uri(&self) -> String {
        format!("https://{}{PUSH_PATH}", self.addr)
    }

    fn serve(&mut self, listener: TcpListener) {
        let mut tasks = JoinSet::new();
        let (state, acceptor) = (self.state.clone(), self.acceptor.clone());
        tasks.spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let (state, acceptor) = (state.clone(), acceptor.clone());
                conns.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    connection(tls, state).await;
                });
            }
        });
        self.tasks = Some(tasks);
    }

    /// Stop listening and drop every connection: the gateway's pushes are refused.
    async fn down(&mut self) {
        if let Some(mut tasks) = self.tasks.take() {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
    }

    /// Listen again on the same port.
    async fn up(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind the receiver's port");
        self.serve(listener);
    }

    fn answer_with(&self, status: u16) {
        self.state.lock().unwrap().status = status;
    }

    fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The events of the requests answered 2xx, in the order they arrived.
    fn delivered(&self) -> Vec<Value> {
        self.requests().iter().filter(|r| r.answered == 200).flat_map(|r| r.events()).collect()
    }

    /// Wait until the delivered events include one of `event_type` (for `workNo`, if given).
    async fn wait_for(&self, event_type: &str, work_no: Option<&str>) -> Vec<Value> {
        for _ in 0..300 {
            let got = self.delivered();
            if got.iter().any(|e| e["eventType"] == event_type && work_no.is_none_or(|w| e["workNo"] == w)) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the receiver never got {event_type}; got {:?}", self.requests());
    }
}

async fn connection(mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>, state: Arc<Mutex<RecvState>>) {
    let mut buf = Vec::new();
    loop {
        // One request: head, then a Content-Length body.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match tls.read(&mut chunk).await {
                Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => return,
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match tls.read(&mut chunk).await {
                Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => return,
            }
        }
        let body: Value = serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or(Value::Null);
        buf.drain(..head_end + length);
        let status = {
            let mut s = state.lock().unwrap();
            let status = s.status;
            s.requests.push(Recorded { head, body, answered: status });
            status
        };
        if status == 0 {
            // Hang: never answer (the connection stays open until the gateway gives up).
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        let answer = if status == 200 { r#"{"message":"success","retcode":"0"}"# } else { r#"{"error":"down"}"# };
        let reply = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if tls.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A gateway whose push client trusts the receiver, with quick retries.
async fn gateway(receiver: &Receiver, tweak: impl FnOnce(&mut ccgw_server::Config)) -> Gateway {
    let ca = receiver.ca_file.clone();
    Gateway::start_with(move |c| {
        c.push.ca_file = Some(ca);
        c.push.retry_min_ms = 20;
        c.push.retry_max_ms = 100;
        c.auth.poll_wait_ms = 300;
        tweak(c);
    })
    .await
}

fn push_sign_in(id: u32, uri: &str) -> Value {
    json!({"password": "ccgw-demo", "phonenum": format!("7{id}"), "status": 4, "autoanswer": false,
           "callBackUri": uri, "serviceToken": TOKEN})
}

/// Busy with a reason (prolonged when already busy): one `AgentState_SetNotReady_Success` each.
async fn busy(gw: &Gateway, agent: &Agent, reason: u16) {
    let r = agent
        .call(gw, Method::POST, &format!("{}?reason={reason}&prolong=true", agent.path("onlineagent", "saybusy")), None)
        .await;
    assert_eq!(r.retcode(), "0", "saybusy: {}", r.body);
}

/// The events without their time stamps (`eventGenTime` is the clock's).
fn untimed(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            assert!(e["eventGenTime"].is_u64(), "{e}");
            e.as_object_mut().unwrap().remove("eventGenTime");
            e
        })
        .collect()
}

fn not_ready(work_no: &str, reason: u16) -> Value {
    json!({"eventType": "AgentState_SetNotReady_Success", "workNo": work_no, "content": {"reason": reason.to_string()}})
}

fn reasons(events: &[Value]) -> Vec<u16> {
    events
        .iter()
        .filter(|e| e["eventType"] == "AgentState_SetNotReady_Success")
        .map(|e| e["content"]["reason"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn the_push_request_is_the_vendors_and_the_poll_is_refused() {
    let receiver = Receiver::start().await;
    let gw = gateway(&receiver, |_| {}).await;
    let agent = gw.sign_in_with(101, push_sign_in(101, &receiver.uri())).await;
    receiver.wait_for("AgentState_Ready", None).await;
    let first = receiver.requests()[0].clone();
    let body = serde_json::to_string(&first.body).unwrap();
    let expected_head = format!(
        "POST {PUSH_PATH} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json;charset=UTF-8\r\nGuid: {}\r\n\
         service_token: {TOKEN}\r\nContent-Length: {}\r\n\r\n",
        receiver.addr,
        agent.guid(),
        body.len()
    );
    assert_eq!(first.head, expected_head);
    assert_eq!(first.body["workNo"], "101");
    assert_eq!(first.body.as_object().unwrap().len(), 2, "{}", first.body);
    // The sign-in's events, in one batch, oldest first, each in the poll's shape.
    assert_eq!(
        untimed(&first.events()),
        vec![
            json!({"eventType": "AgentOther_InService", "workNo": "101", "content": null}),
            json!({"eventType": "AgentState_Ready", "workNo": "101", "content": null}),
        ]
    );
    // A push-mode agent's poll is refused (its events are pushed); it takes nothing.
    busy(&gw, &agent, 201).await;
    let r = agent.get(&gw, "agentevent", "").await;
    assert_eq!(r.body, err("000-001", "wrong method of obtaining agent events"));
    receiver.wait_for("AgentState_SetNotReady_Success", None).await;
    assert_eq!(reasons(&receiver.delivered()), vec![201]);
    // The handshake is its heartbeat.
    let r = agent.post(&gw, "onlineagent", "handshake", None).await;
    assert_eq!(r.body, json!({"message": "success", "retcode": "0", "result": {}}));
    // `syncagentinfo` empties the mailbox within the session: the pushes go on after it.
    assert_eq!(agent.post(&gw, "onlineagent", "syncagentinfo", None).await.retcode(), "0");
    busy(&gw, &agent, 202).await;
    let mut got = Vec::new();
    for _ in 0..200 {
        got = reasons(&receiver.delivered());
        if got.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(got, vec![201, 202]);
    gw.stop().await;
}

#[tokio::test]
async fn a_receiver_down_then_failing_then_up_gets_every_event_once_in_order_in_batches() {
    let mut receiver = Receiver::start().await;
    let gw = gateway(&receiver, |c| c.push.max_batch = 3).await;
    let agent = gw.sign_in_with(102, push_sign_in(102, &receiver.uri())).await;
    receiver.wait_for("AgentState_Ready", None).await;
    // (Recorded before answered: let the answer reach the gateway before the receiver goes.)
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Connection refused.
    receiver.down().await;
    for reason in 201..=205 {
        busy(&gw, &agent, reason).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Listening again, but answering 500.
    receiver.answer_with(500);
    receiver.up().await;
    for reason in 206..=207 {
        busy(&gw, &agent, reason).await;
    }
    for _ in 0..100 {
        if receiver.requests().iter().filter(|r| r.answered == 500).count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused: Vec<Recorded> = receiver.requests().into_iter().filter(|r| r.answered == 500).collect();
    assert!(refused.len() >= 2, "the failing receiver was retried: {refused:?}");
    // Every retry carried the same oldest events again.
    assert_eq!(reasons(&refused[0].events()), vec![201, 202, 203]);
    assert_eq!(reasons(&refused[1].events()), vec![201, 202, 203]);
    receiver.answer_with(200);
    busy(&gw, &agent, 208).await;
    let mut delivered = Vec::new();
    for _ in 0..200 {
        delivered = receiver.delivered();
        if reasons(&delivered).last() == Some(&208) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Exactly once, in order, nothing lost: the sign-in's two events, then 201..=208.
    let mut expected = vec![
        json!({"eventType": "AgentOther_InService", "workNo": "102", "content": null}),
        json!({"eventType": "AgentState_Ready", "workNo": "102", "content": null}),
    ];
    expected.extend((201..=208).map(|r| not_ready("102", r)));
    assert_eq!(untimed(&delivered), expected);
    // Batches of at most 3.
    let sizes: Vec<usize> =
        receiver.requests().iter().filter(|r| r.answered == 200).map(|r| r.events().len()).collect();
    assert!(sizes.iter().all(|n| (1..=3).contains(n)), "{sizes:?}");
    assert!(sizes.contains(&3), "the backlog went in full batches: {sizes:?}");
    gw.stop().await;
}

#[tokio::test]
async fn a_receiver_that_stays_down_loses_the_oldest_beyond_the_limit_counted() {
    let mut receiver = Receiver::start().await;
    let gw = gateway(&receiver, |c| {
        c.push.max_batch = 4;
        c.push.max_queued_events = 4;
    })
    .await;
    let agent = gw.sign_in_with(103, push_sign_in(103, &receiver.uri())).await;
    receiver.wait_for("AgentState_Ready", None).await;
    receiver.down().await;
    for reason in 201..=210 {
        busy(&gw, &agent, reason).await;
    }
    // Let the failing pushes trim the mailbox.
    tokio::time::sleep(Duration::from_millis(500)).await;
    receiver.up().await;
    let mut delivered = Vec::new();
    for _ in 0..200 {
        delivered = receiver.delivered();
        if reasons(&delivered).last() == Some(&210) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The newest 4 waited; the 6 older ones were dropped.
    assert_eq!(reasons(&delivered), vec![207, 208, 209, 210]);
    let metrics = gw.client.get(format!("{}/metrics", gw.admin)).send().await.unwrap().text().await.unwrap();
    let dropped: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ccgw_push_events_dropped_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(dropped >= 6, "dropped counted: {dropped}\n{metrics}");
    gw.stop().await;
}

#[tokio::test]
async fn a_receiver_failing_for_fail_total_signs_the_agent_out() {
    let mut receiver = Receiver::start().await;
    let gw = gateway(&receiver, |c| c.push.fail_total_ms = 400).await;
    receiver.down().await;
    let agent = gw.sign_in_with(104, push_sign_in(104, &receiver.uri())).await;
    let mut status = Value::Null;
    for _ in 0..100 {
        status = agent.get(&gw, "onlineagent", "agentstatus").await.body;
        if status["retcode"] == "100-006" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, crate::common::not_signed_in());
    gw.stop().await;
}

#[tokio::test]
async fn the_handshake_keeps_a_push_session_and_without_it_the_agent_is_signed_out() {
    let receiver = Receiver::start().await;
    let gw = gateway(&receiver, |c| {
        c.auth.heartbeat_timeout_ms = 1_200;
        c.engine.tick_ms = 50;
    })
    .await;
    let alive = gw.sign_in_with(105, push_sign_in(105, &receiver.uri())).await;
    let silent = gw.sign_in_with(106, push_sign_in(106, &receiver.uri())).await;
    for _ in 0..8 {
        let r = alive.post(&gw, "onlineagent", "handshake", None).await;
        assert_eq!(r.retcode(), "0");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(alive.get(&gw, "onlineagent", "agentstatus").await.retcode(), "0");
    assert_eq!(silent.get(&gw, "onlineagent", "agentstatus").await.body, crate::common::not_signed_in());
    // The silent agent's sign-out event was pushed, and nothing of it after.
    let got = receiver.wait_for("AgentOther_ShutdownService", Some("106")).await;
    let of_106: Vec<Value> = got.iter().filter(|e| e["workNo"] == "106").cloned().collect();
    assert_eq!(of_106.last().unwrap()["eventType"], "AgentOther_ShutdownService");
    gw.stop().await;
}

#[tokio::test]
async fn sign_out_stops_the_pushes_and_a_new_session_has_its_own_target() {
    let receiver = Receiver::start().await;
    let gw = gateway(&receiver, |_| {}).await;
    let agent = gw.sign_in_with(107, push_sign_in(107, &receiver.uri())).await;
    receiver.wait_for("AgentState_Ready", None).await;
    assert_eq!(agent.delete(&gw, "onlineagent", "logout").await.retcode(), "0");
    let got = receiver.wait_for("AgentOther_ShutdownService", None).await;
    assert_eq!(got.last().unwrap()["eventType"], "AgentOther_ShutdownService");
    let pushed = receiver.requests().len();
    // A new session in polling mode: its events are polled, never pushed.
    let polling = gw.sign_in_with(107, json!({"password": "ccgw-demo", "phonenum": "7107", "status": 4})).await;
    busy(&gw, &polling, 201).await;
    let events = polling.drain(&gw).await;
    assert_eq!(reasons(&events), vec![201]);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(receiver.requests().len(), pushed, "no push after the sign-out: {:?}", receiver.requests());
    // A forced sign-in in push mode to another path: the new session's events go there only.
    let other = format!("https://{}/second", receiver.addr);
    let r = gw
        .request(Method::PUT, &format!("{PREFIX}/onlineagent/107/forcelogin"), None, Some(push_sign_in(107, &other)))
        .await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let mut after: Vec<Recorded> = Vec::new();
    for _ in 0..200 {
        after = receiver.requests().into_iter().skip(pushed).collect();
        if after.iter().flat_map(|r| r.events()).any(|e| e["eventType"] == "AgentState_Ready") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let types: Vec<Value> = after.iter().flat_map(|r| r.events()).map(|e| e["eventType"].clone()).collect();
    assert_eq!(types, vec![json!("AgentOther_InService"), json!("AgentState_Ready")]);
    assert!(after.iter().all(|r| r.head.starts_with("POST /second HTTP/1.1\r\n")), "{after:?}");
    gw.stop().await;
}

#[tokio::test]
async fn a_bad_callback_uri_or_service_token_is_refused_and_signs_nobody_in() {
    let receiver = Receiver::start().await;
    let gw = gateway(&receiver, |c| c.push.allowed_uri_prefixes = vec![format!("https://{}/", "127.0.0.1")]).await;
    let long_token = "t".repeat(51);
    let long_uri = format!("https://127.0.0.1/{}", "a".repeat(190));
    for (uri, token) in [
        ("http://127.0.0.1/p", TOKEN),
        (long_uri.as_str(), TOKEN),
        ("https://127.0.0.1/p", "to ken"),
        ("https://127.0.0.1/p", "tok;en"),
        ("https://127.0.0.1/p", long_token.as_str()),
        // Outside push.allowed_uri_prefixes.
        ("https://localhost/p", TOKEN),
    ] {
        let body = json!({"password": "ccgw-demo", "phonenum": "7108", "callBackUri": uri, "serviceToken": token});
        let r = gw.request(Method::PUT, &format!("{PREFIX}/onlineagent/108"), None, Some(body)).await;
        assert_eq!(r.body, err("100-001", "sign-in parameter empty or invalid"), "{uri} {token}");
        assert!(r.set_guid().is_none());
    }
    // No session was made: a plain sign-in is not "already signed in".
    let r = gw
        .request(Method::PUT, &format!("{PREFIX}/onlineagent/108"), None, Some(json!({"password": "ccgw-demo"})))
        .await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    assert!(receiver.requests().is_empty());
    gw.stop().await;
}

// --- allagentevent ---

async fn all_agent_events(gw: &Gateway, guid: Option<&str>) -> Value {
    let r = gw.request(Method::GET, &format!("{PREFIX}/agentevent/allagentevent?time=1"), guid, None).await;
    assert_eq!(r.status, reqwest::StatusCode::OK);
    r.body
}

fn untimed_body(mut body: Value) -> Value {
    if let Some(list) = body["event"].as_array() {
        body["event"] = Value::Array(untimed(list));
    }
    body
}

#[tokio::test]
async fn allagentevent_answers_the_callers_vdn_since_its_last_call() {
    let gw = Gateway::start().await;
    let no_permission = err("000-003", "no permission to call the interface");
    // No Guid (as R3 sends it), or a GUID of no session.
    assert_eq!(all_agent_events(&gw, None).await, no_permission);
    assert_eq!(all_agent_events(&gw, Some("0f0f0f0f-0000-4000-8000-000000000000.AgentGateway1")).await, no_permission);
    let watcher = gw.sign_in(111).await;
    let other_vdn = gw.sign_in(611).await;
    // The first call starts the caller's cursor.
    let empty = json!({"message": "", "retcode": "0", "event": []});
    assert_eq!(all_agent_events(&gw, Some(&watcher.guid())).await, empty);
    assert_eq!(all_agent_events(&gw, Some(&other_vdn.guid())).await, empty);
    let worker = gw.sign_in(112).await;
    busy(&gw, &worker, 201).await;
    busy(&gw, &other_vdn, 202).await;
    let body = untimed_body(all_agent_events(&gw, Some(&watcher.guid())).await);
    assert_eq!(
        body,
        json!({"message": "", "retcode": "0", "event": [
            {"eventType": "AgentOther_InService", "workNo": "112", "content": null},
            {"eventType": "AgentState_Ready", "workNo": "112", "content": null},
            not_ready("112", 201),
        ]})
    );
    // Consumed: the next call has nothing new.
    assert_eq!(all_agent_events(&gw, Some(&watcher.guid())).await, empty);
    // VDN 2's consumer sees VDN 2 only.
    let body = untimed_body(all_agent_events(&gw, Some(&other_vdn.guid())).await);
    assert_eq!(body, json!({"message": "", "retcode": "0", "event": [not_ready("611", 202)]}));
    // Signed out: no longer a consumer.
    let guid = watcher.guid();
    assert_eq!(watcher.delete(&gw, "onlineagent", "logout").await.retcode(), "0");
    assert_eq!(all_agent_events(&gw, Some(&guid)).await, no_permission);
    gw.stop().await;
}

#[tokio::test]
async fn allagentevent_is_off_with_no_ring() {
    let gw = Gateway::start_with(|c| c.push.all_agent_event_ring = 0).await;
    let agent = gw.sign_in(113).await;
    assert_eq!(all_agent_events(&gw, Some(&agent.guid())).await, err("000-003", "no permission to call the interface"));
    gw.stop().await;
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_in_time_gets_the_batch_again() {
    let receiver = Receiver::start().await;
    let gw = gateway(&receiver, |c| c.push.request_timeout_ms = 300).await;
    receiver.answer_with(0);
    let _agent = gw.sign_in_with(109, push_sign_in(109, &receiver.uri())).await;
    for _ in 0..100 {
        if !receiver.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    receiver.answer_with(200);
    let delivered = receiver.wait_for("AgentState_Ready", None).await;
    let requests = receiver.requests();
    // The unanswered request and its retry carried the same batch; only the answered one counts.
    assert_eq!(requests[0].answered, 0);
    assert_eq!(requests[0].body, requests.iter().find(|r| r.answered == 200).unwrap().body);
    assert_eq!(
        untimed(&delivered),
        vec![
            json!({"eventType": "AgentOther_InService", "workNo": "109", "content": null}),
            json!({"eventType": "AgentState_Ready", "workNo": "109", "content": null}),
        ]
    );
    gw.stop().await;
}

#[tokio::test]
async fn an_unreadable_push_ca_file_stops_the_start() {
    let mut config = crate::common::test_config();
    config.push.ca_file = Some(std::env::temp_dir().join("ccgw-no-such-ca.pem"));
    let err = ccgw_server::start(config).await.err().expect("the start fails");
    assert!(format!("{err:#}").contains("push.ca_file"), "{err:#}");
}

#[tokio::test]
async fn a_session_that_ends_while_its_receiver_is_down_is_not_pushed_later() {
    let mut receiver = Receiver::start().await;
    let gw = gateway(&receiver, |c| c.push.fail_total_ms = 0).await;
    receiver.down().await;
    let agent = gw.sign_in_with(110, push_sign_in(110, &receiver.uri())).await;
    for reason in 201..=203 {
        busy(&gw, &agent, reason).await;
    }
    assert_eq!(agent.delete(&gw, "onlineagent", "logout").await.retcode(), "0");
    // The task tries once more after the sign-out, then gives up.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    receiver.up().await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(receiver.requests().is_empty(), "{:?}", receiver.requests());
    gw.stop().await;
}

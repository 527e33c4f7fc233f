//! Long polls whose client has left: no event may be lost to them (issue: 8–13 of 24 events
//! were lost when a client gave up on a poll and polled again, because the abandoned poll stayed
//! registered, took the next event and wrote it to a dead socket).

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::common::{Agent, Gateway, PREFIX};

/// A TLS connection of our own to the agent interface, so that a test decides how it ends.
async fn connect(gw: &Gateway) -> TlsStream<TcpStream> {
    gw.tls_connect().await
}

fn poll_request(agent: &Agent) -> Vec<u8> {
    format!(
        "GET {PREFIX}/agentevent/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json; charset=UTF-8\r\nGuid: {}\r\n\r\n",
        agent.id,
        agent.guid()
    )
    .into_bytes()
}

#[derive(Clone, Copy, Debug)]
enum Leave {
    /// TLS close_notify, then FIN.
    Close,
    /// FIN without close_notify (the process died, the page was closed).
    Fin,
    /// RST (SO_LINGER 0).
    Reset,
}

async fn leave(mut tls: TlsStream<TcpStream>, how: Leave) {
    match how {
        Leave::Close => {
            let _ = tls.shutdown().await;
        }
        Leave::Fin => {
            let (tcp, _) = tls.into_inner();
            let std = tcp.into_std().unwrap();
            std.shutdown(std::net::Shutdown::Both).unwrap();
        }
        Leave::Reset => {
            tls.get_ref().0.set_zero_linger().unwrap();
        }
    }
}

/// One busy state change with a distinct reason: exactly one `AgentState_SetNotReady_Success`.
async fn busy(gw: &Gateway, agent: &Agent, reason: u16) {
    let r = agent.post(gw, "onlineagent", &format!("saybusy?reason={reason}&prolong=true"), None).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
}

fn reason(ev: &Value) -> u64 {
    assert_eq!(ev["eventType"], "AgentState_SetNotReady_Success", "{ev}");
    ev["content"]["reason"].as_str().and_then(|r| r.parse().ok()).unwrap_or_else(|| panic!("reason: {ev}"))
}

/// Polls logged as abandoned (dropped unanswered because their client left), from `/metrics`.
/// The recorder is global to the test process, so tests compare before and after.
async fn abandoned_polls(gw: &Gateway) -> u64 {
    let text = gw.client.get(format!("{}/metrics", gw.admin)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("ccgw_requests_total{") && l.contains("retcode=\"abandoned\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// A client starts a poll, leaves while it waits, and polls again on a new connection; events
/// come both before and after the new poll. Every event reaches the client, once, in order.
async fn abandoned_polls_lose_nothing(how: Leave) {
    let gw = Gateway::start().await; // the vendor's 10 s poll wait
    let agent = gw.sign_in(101).await;
    // InService, Ready.
    assert_eq!(
        Agent::types(&agent.poll_until(&gw, "AgentState_Ready").await),
        ["AgentOther_InService", "AgentState_Ready"]
    );
    let mut got = Vec::new();
    let mut want = Vec::new();
    let abandoned_before = abandoned_polls(&gw).await;
    for round in 0..12u16 {
        let mut abandoned = connect(&gw).await;
        abandoned.write_all(&poll_request(&agent)).await.unwrap();
        abandoned.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await; // the poll is waiting
        leave(abandoned, how).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let r1 = 200 + 2 * round;
        let r2 = r1 + 1;
        // One event before the client polls again, one while its new poll waits.
        busy(&gw, &agent, r1).await;
        want.extend([u64::from(r1), u64::from(r2)]);
        got.push(reason(&agent.poll(&gw).await.expect("the event that came while the client was away")));
        let next = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            busy(&gw, &agent, r2).await;
        };
        let (ev, ()) = tokio::join!(agent.poll(&gw), next);
        got.push(reason(&ev.expect("the event that came during the new poll")));
    }
    assert_eq!(got, want, "{how:?}");
    // Each abandoned poll was dropped when its client left, not answered into the dead socket
    // (answers that fail to write are requeued too, but that is the second line of defence).
    let abandoned = abandoned_polls(&gw).await - abandoned_before;
    assert!(abandoned >= 12, "{abandoned} polls logged as abandoned");
    gw.stop().await;
}

#[tokio::test]
async fn a_poll_abandoned_with_close_notify_takes_no_event() {
    abandoned_polls_lose_nothing(Leave::Close).await;
}

#[tokio::test]
async fn a_poll_abandoned_with_a_bare_fin_takes_no_event() {
    abandoned_polls_lose_nothing(Leave::Fin).await;
}

#[tokio::test]
async fn a_poll_abandoned_with_a_reset_takes_no_event() {
    abandoned_polls_lose_nothing(Leave::Reset).await;
}

/// Two polls of one session at once, both connections alive (a page with two poll timers, or
/// a network change the server cannot see): the newer poll displaces the older, which is
/// answered at once with no event; the event goes to the newer one.
#[tokio::test]
async fn a_second_poll_displaces_the_first() {
    let gw = Gateway::start().await;
    let agent = gw.sign_in(101).await;
    agent.poll_until(&gw, "AgentState_Ready").await;
    let mut first = connect(&gw).await;
    first.write_all(&poll_request(&agent)).await.unwrap();
    first.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = tokio::time::Instant::now();
    let second = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        agent.poll(&gw).await
    };
    let read_first = async {
        let mut buf = vec![0u8; 4096];
        let mut out = Vec::new();
        while !out.ends_with(b"}") {
            let n =
                tokio::time::timeout(Duration::from_secs(5), first.read(&mut buf)).await.expect("answered").unwrap();
            assert!(n > 0, "closed without an answer");
            out.extend_from_slice(&buf[..n]);
        }
        (started.elapsed(), String::from_utf8(out).unwrap())
    };
    let trigger = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        busy(&gw, &agent, 210).await;
    };
    let ((waited, answer), ev, ()) = tokio::join!(read_first, second, trigger);
    assert!(
        waited < Duration::from_millis(300),
        "the displaced poll is answered at once, not after the event: {waited:?}"
    );
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n{\"message\":\"\",\"retcode\":\"0\"}"), "{answer}");
    assert_eq!(reason(&ev.expect("the newer poll gets the event")), 210);
    gw.stop().await;
}

/// `HEAD` on the poll (served like a GET without its body) must not take an event: the client
/// could never read it.
#[tokio::test]
async fn head_on_the_poll_takes_no_event() {
    let gw = Gateway::start().await;
    let agent = gw.sign_in(101).await;
    agent.poll_until(&gw, "AgentState_Ready").await;
    busy(&gw, &agent, 220).await;
    let req = format!(
        "HEAD {PREFIX}/agentevent/101 HTTP/1.1\r\nHost: 127.0.0.1\r\nGuid: {}\r\nConnection: close\r\n\r\n",
        agent.guid()
    );
    let started = tokio::time::Instant::now();
    let answer = String::from_utf8(gw.raw_tls(req.as_bytes()).await).unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "answered at once");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\r\nContent-Length: 28\r\n"), "the no-event body's length: {answer}");
    assert!(answer.ends_with("\r\n\r\n"), "no body: {answer}");
    assert_eq!(reason(&agent.poll(&gw).await.expect("the event is still there")), 220);
    gw.stop().await;
}

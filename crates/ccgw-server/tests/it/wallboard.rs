//! The wallboard on the admin listener: access (operator token, read-only wallboard token,
//! `?token=` once then a cookie), the page and its assets, the snapshot's exact shape against
//! the gateway's state, and the live feed (server-sent events: shape, bounded clients, clean on
//! disconnect and at shut-down).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Gateway, TOKEN};

const WALLBOARD_TOKEN: &str = "wallboard-read-only-0123";

async fn with_wallboard_token() -> Gateway {
    Gateway::start_with(|c| {
        c.admin.wallboard_token = Some(ccgw_server::config::Secret::new(WALLBOARD_TOKEN));
    })
    .await
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn the_page_opens_with_either_token_once_then_with_its_cookie() {
    let gw = with_wallboard_token().await;
    let http = no_redirects();
    let url = |p: &str| format!("{}{p}", gw.admin);

    // Nothing presented, or a wrong token: 401 with a hint, nothing set.
    let r = http.get(url("/wallboard")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.text().await.unwrap(), "open /wallboard?token=<admin.wallboard_token or admin.token>\n");
    let r = http.get(url("/wallboard?token=wallboard-read-only-0124")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("set-cookie").is_none());

    // The read-only token once: a cookie (the token hex-encoded) and a redirect that drops it
    // from the address bar.
    let r = http.get(url(&format!("/wallboard?token={WALLBOARD_TOKEN}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/wallboard");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let value = hex::encode(WALLBOARD_TOKEN);
    assert_eq!(cookie, format!("ccgw_wallboard={value}; Path=/wallboard; HttpOnly; SameSite=Strict; Max-Age=43200"));
    let jar = format!("ccgw_wallboard={value}");

    let r = http.get(url("/wallboard")).header("Cookie", &jar).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        r.headers()["content-security-policy"],
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    );
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<script src="/wallboard/wallboard.js" defer></script>"#), "{html}");
    assert!(html.contains(r#"id="vdn-waiting""#));

    // The snapshot and the feed take the cookie, the bearer header (either token) too.
    for auth in [
        ("Cookie", jar.clone()),
        ("Authorization", format!("Bearer {WALLBOARD_TOKEN}")),
        ("Authorization", format!("Bearer {TOKEN}")),
    ] {
        let r = http.get(url("/wallboard/snapshot")).header(auth.0, &auth.1).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{auth:?}");
        assert_eq!(r.headers()["content-type"], "application/json");
    }
    // The operator token works once as ?token= too (percent-encoded like any query value).
    let r = http.get(url(&format!("/wallboard?token={}", TOKEN.replace('-', "%2D")))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Read-only: the wallboard token (header or cookie) opens no operator interface.
    let r = http.get(url("/admin/agents")).bearer_auth(WALLBOARD_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http.get(url("/admin/calls")).header("Cookie", &jar).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Wrong credentials on the data: 401, never data.
    let r = http.get(url("/wallboard/snapshot")).header("Cookie", "ccgw_wallboard=00ff").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http.get(url("/wallboard/events")).header("Cookie", "ccgw_wallboard=zz").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The assets hold no data: public, with the page's headers.
    let r = http.get(url("/wallboard/wallboard.js")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/javascript; charset=utf-8");
    assert!(r.text().await.unwrap().contains("new EventSource('/wallboard/events')"));
    let r = http.get(url("/wallboard/wallboard.css")).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    gw.stop().await;
}

#[tokio::test]
async fn without_any_token_the_wallboard_is_off() {
    let gw = Gateway::start_with(|c| c.admin.token = None).await;
    let r = gw.client.get(format!("{}/wallboard?token=anything-at-all-0123", gw.admin)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        r.text().await.unwrap(),
        "wallboard disabled: set admin.wallboard_token (CCGW_ADMIN__WALLBOARD_TOKEN) or admin.token\n"
    );
    let r = gw.client.get(format!("{}/wallboard/snapshot", gw.admin)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    gw.stop().await;
}

async fn snapshot(gw: &Gateway) -> Value {
    gw.admin_get("/wallboard/snapshot").await
}

fn vdn(snap: &Value, id: u64) -> Value {
    snap["vdns"].as_array().unwrap().iter().find(|v| v["vdn"] == id).cloned().expect("the VDN is on the board")
}

fn counters(offered: u32, answered: u32, in_time: u32, abandoned: u32, sl: Value) -> Value {
    json!({ "offered": offered, "answered": answered, "answeredInTime": in_time, "abandoned": abandoned, "serviceLevel": sl })
}

fn agents(signed_in: u32, idle: u32, busy: u32, talking: u32) -> Value {
    json!({ "signedIn": signed_in, "idle": idle, "busy": busy, "talking": talking, "work": 0, "rest": 0 })
}

/// The snapshot against the gateway's own state: agents by state, the queue and its longest
/// wait, answered and abandoned calls, the service level, intervals, the exact shape.
#[tokio::test]
async fn the_snapshot_matches_the_gateways_state() {
    let gw = Gateway::start_with(|c| {
        c.stats.interval_ms = 60_000;
        c.stats.window_ms = 120_000;
    })
    .await;
    let a = gw.sign_in(101).await; // skills 1 and 2
    let b = gw.sign_in(151).await; // skill 1
    a.poll_until(&gw, "AgentState_Ready").await;
    b.poll_until(&gw, "AgentState_Ready").await;
    assert_eq!(b.post(&gw, "onlineagent", "saybusy", None).await.retcode(), "0");

    let before = snapshot(&gw).await;
    let v = vdn(&before, 1);
    assert_eq!(v["agents"], agents(2, 1, 1, 0));
    assert_eq!(v["window"], counters(0, 0, 0, 0, Value::Null));

    // The first call rings 101, which answers: answered in time.
    let first = gw.inject_call("13800000001", "10086", "").await;
    a.poll_until(&gw, "AgentEvent_Ringing").await;
    assert_eq!(a.put(&gw, "voicecall", "answer", None).await.retcode(), "0");
    // Two more wait (nobody idle); one of them hangs up: abandoned.
    let waiting = gw.inject_call("13800000002", "10086", "").await;
    let gone = gw.inject_call("13800000003", "10086", "").await;
    gw.running().gateway.apply_report(ccgw_server::telephony::TelephonyReport::HungUp {
        vdn: ccgw_domain::VdnId(1),
        call: gone.parse().unwrap(),
        number: "13800000003".into(),
    });
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let snap = snapshot(&gw).await;
    assert_eq!(snap["serviceLevelMs"], 20_000);
    assert_eq!(snap["intervalMs"], 60_000);
    assert_eq!(snap["windowMs"], 120_000);
    let at = snap["at"].as_u64().unwrap();
    let mut v = vdn(&snap, 1);
    // The gateway's own lists agree.
    let listed = gw.admin_get("/admin/agents").await;
    let vdn1: Vec<&Value> = listed["agents"].as_array().unwrap().iter().filter(|a| a["vdn"] == 1).collect();
    assert_eq!(vdn1.len(), 2);
    let calls = gw.admin_get("/admin/calls").await;
    let queued: Vec<&Value> = calls["calls"].as_array().unwrap().iter().filter(|c| c["queued"] == true).collect();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["callId"], waiting.as_str());
    assert!(calls["calls"].as_array().unwrap().iter().any(|c| c["callId"] == first.as_str()));

    let longest = v["longestWaitMs"].as_u64().unwrap();
    assert!((1000..5000).contains(&longest), "{longest}");
    assert_eq!(v["skills"][0]["longestWaitMs"], longest);
    let intervals = v.as_object_mut().unwrap().remove("intervals").unwrap();
    v["longestWaitMs"] = json!(0);
    v["skills"][0]["longestWaitMs"] = json!(0);
    let sl = json!(50.0);
    assert_eq!(
        v,
        json!({
            "vdn": 1,
            "name": "Demo VDN 1",
            "agents": agents(2, 0, 1, 1),
            "waiting": 1,
            "longestWaitMs": 0,
            "window": counters(3, 1, 1, 1, sl.clone()),
            "skills": [
                {
                    "skillId": 1, "name": "voice", "waiting": 1, "longestWaitMs": 0,
                    "agents": agents(2, 0, 1, 1), "window": counters(3, 1, 1, 1, sl.clone()),
                },
                {
                    "skillId": 2, "name": "vip", "waiting": 0, "longestWaitMs": 0,
                    "agents": agents(1, 0, 0, 1), "window": counters(0, 0, 0, 0, Value::Null),
                },
            ],
        })
    );
    // Twelve one-minute intervals up to the current one, all traffic in the current one (or
    // split with the one before, should a minute have turned meanwhile).
    let intervals = intervals.as_array().unwrap();
    assert_eq!(intervals.len(), 12);
    let current = intervals[11]["start"].as_u64().unwrap();
    assert_eq!(current, at - at % 60_000);
    assert_eq!(intervals[0]["start"].as_u64().unwrap(), current - 11 * 60_000);
    let offered: u64 = intervals.iter().map(|i| i["offered"].as_u64().unwrap()).sum();
    let answered: u64 = intervals.iter().map(|i| i["answered"].as_u64().unwrap()).sum();
    let abandoned: u64 = intervals.iter().map(|i| i["abandoned"].as_u64().unwrap()).sum();
    assert_eq!((offered, answered, abandoned), (3, 1, 1));
    assert_eq!(
        intervals[0],
        json!({
            "start": current - 11 * 60_000, "offered": 0, "answered": 0, "answeredInTime": 0, "abandoned": 0,
            "serviceLevel": null,
        })
    );
    // VDN 2 is on the board too, quiet.
    assert_eq!(vdn(&snap, 2)["agents"], agents(0, 0, 0, 0));
    gw.stop().await;
}

/// Reads one server-sent event off a raw HTTP/1.1 connection (after the head).
async fn read_event(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let event = String::from_utf8(buf[..end].to_vec()).unwrap();
            buf.drain(..end + 2);
            return event;
        }
        let mut chunk = [0u8; 8192];
        let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await.expect("an event in time").unwrap();
        assert!(n > 0, "the feed closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn open_feed(gw: &Gateway) -> (tokio::net::TcpStream, String) {
    let addr = gw.admin.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET /wallboard/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).await.unwrap(), 1, "head: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    (s, String::from_utf8(head).unwrap())
}

#[tokio::test]
async fn the_live_feed_sends_a_snapshot_every_second_to_a_bounded_number_of_clients() {
    let gw = Gateway::start_with(|c| c.admin.wallboard_max_clients = 2).await;
    let (mut one, head) = open_feed(&gw).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("\r\ncontent-type: text/event-stream\r\n"), "{head}");
    assert!(head.contains("\r\ncache-control: no-store\r\n"), "{head}");
    assert!(head.contains("\r\ntransfer-encoding: chunked\r\n"), "{head}");

    // Chunked framing: strip the chunk sizes by reading the events out of the data as it comes.
    let mut buf = Vec::new();
    let first = read_event(&mut one, &mut buf).await;
    let first = dechunk(&first);
    let data = first.strip_prefix("retry: 2000\nevent: snapshot\ndata: ").unwrap_or_else(|| panic!("{first:?}"));
    let snap: Value = serde_json::from_str(data).unwrap();
    assert_eq!(vdn(&snap, 1)["agents"], agents(0, 0, 0, 0));

    // The state moves; the next snapshots show it.
    gw.sign_in(101).await;
    let mut seen = false;
    for _ in 0..4 {
        let e = dechunk(&read_event(&mut one, &mut buf).await);
        let data = e.strip_prefix("event: snapshot\ndata: ").unwrap_or_else(|| panic!("{e:?}"));
        let snap: Value = serde_json::from_str(data).unwrap();
        if vdn(&snap, 1)["agents"]["signedIn"] == 1 {
            seen = true;
            break;
        }
    }
    assert!(seen, "the feed never showed the signed-in agent");

    // Two clients at most: a third is refused.
    let (two, head) = open_feed(&gw).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let (_three, head) = open_feed(&gw).await;
    assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{head}");
    // A client that goes away gives its place back.
    drop(two);
    let mut reopened = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_s, head) = open_feed(&gw).await;
        if head.starts_with("HTTP/1.1 200 OK\r\n") {
            reopened = true;
            break;
        }
    }
    assert!(reopened, "a closed feed kept its place");

    // Shut-down ends the open feeds at once (no wait for the drain time-out).
    let started = std::time::Instant::now();
    gw.stop().await;
    assert!(started.elapsed() < Duration::from_secs(4), "shut-down waited {:?}", started.elapsed());
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), one.read_to_end(&mut rest)).await.expect("the feed ends");
}

/// The text of an event with chunk-size lines (hex digits alone on a line, with `\r`) removed.
fn dechunk(raw: &str) -> String {
    raw.split("\r\n")
        .filter(|l| !(l.len() <= 8 && !l.is_empty() && l.bytes().all(|b| b.is_ascii_hexdigit())))
        .collect::<Vec<_>>()
        .join("")
        .trim_start_matches('\n')
        .to_owned()
}

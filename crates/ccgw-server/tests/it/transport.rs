//! The transport edges a client sees on the wire: header-name case, `HEAD`, `Connection: close`
//! during shut-down, metrics per listener, the per-source connection limit, CORS. Most tests read
//! the raw response bytes over TLS: an HTTP client library would normalise what they check.

use std::time::Duration;

use ccgw_store::Store;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::common::{Gateway, JSON_UTF8, PREFIX, read_until_close, split_responses};

async fn start() -> Gateway {
    Gateway::start_with(|c| c.auth.poll_wait_ms = 200).await
}

fn sign_in_request(id: u32) -> String {
    let body = json!({"password":"ccgw-demo","phonenum":format!("7{id}"),"status":4,"autoanswer":false}).to_string();
    format!(
        "PUT {PREFIX}/onlineagent/{id} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {JSON_UTF8}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Clients built on the vendor's Java demo find the GUID with `getName().equals("Set-GUID")`.
#[tokio::test]
async fn response_header_names_are_in_the_vendors_case() {
    let gw = start().await;
    let raw = String::from_utf8(gw.raw_tls(sign_in_request(101).as_bytes()).await).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{raw}");
    assert!(head.contains("\r\nSet-GUID: JSESSIONID="), "{raw}");
    assert!(head.contains("\r\nContent-Type: application/json;charset=UTF-8\r\n"), "{raw}");
    assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())), "{raw}");
    assert!(head.contains("\r\nConnection: close\r\n"), "{raw}");
    assert!(head.contains("\r\nDate: "), "{raw}");
    // Every name starts upper-case: none of http's lower-case names leaks through.
    for line in head.lines().skip(1) {
        assert!(line.starts_with(|c: char| c.is_ascii_uppercase()), "{line:?} in {raw}");
    }
    gw.stop().await;
}

/// `HEAD` on a GET interface is answered as the GET, without the body (the JAX-RS default).
#[tokio::test]
async fn head_on_a_get_interface_is_the_get_without_its_body() {
    let gw = start().await;
    let a = gw.sign_in(101).await;
    let path = a.path("onlineagent", "agentstatus");
    let guid = a.guid();
    let req = format!(
        "HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nGuid: {guid}\r\n\r\nGET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nGuid: {guid}\r\nConnection: close\r\n\r\n"
    );
    let raw = gw.raw_tls(req.as_bytes()).await;
    let responses = split_responses(&raw, true);
    assert_eq!(responses.len(), 2, "{}", String::from_utf8_lossy(&raw));
    let (head, body) = &responses[0];
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(body.is_empty());
    let (get_head, get_body) = &responses[1];
    assert!(get_head.starts_with("HTTP/1.1 200 OK\r\n"), "{get_head}");
    assert_eq!(get_body, br#"{"message":"","retcode":"0","result":{"agentState":4,"isWorking":false}}"#);
    assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", get_body.len())), "{head}");
    assert!(head.contains("\r\nContent-Type: application/json;charset=UTF-8\r\n"), "{head}");
    // HEAD on an interface that is not a GET one is still 405.
    let r = gw.client.head(format!("{}{}", gw.base, a.path("onlineagent", "saybusy"))).send().await.unwrap();
    assert_eq!(r.status(), 405);
    gw.stop().await;
}

/// A poll woken by shut-down is answered with `Connection: close`: the client must not send its
/// next poll on a connection that is about to close.
#[tokio::test]
async fn polls_answered_during_shut_down_say_connection_close() {
    let gw = Gateway::start_with(|c| c.auth.poll_wait_ms = 30_000).await;
    let a = gw.sign_in(101).await;
    // The two sign-in events, so that the next poll waits.
    a.poll(&gw).await.unwrap();
    a.poll(&gw).await.unwrap();
    let mut tls = gw.tls_connect().await;
    let req = format!("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nGuid: {}\r\n\r\n", a.path("agentevent", ""), a.guid());
    let before = gw.running().gateway.store.last_seen(ccgw_domain::AgentId(101)).unwrap();
    tls.write_all(req.as_bytes()).await.unwrap();
    tls.flush().await.unwrap();
    // Wait until the poll is authenticated (its heartbeat) and waiting.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while gw.running().gateway.store.last_seen(ccgw_domain::AgentId(101)).unwrap() <= before {
        assert!(std::time::Instant::now() < deadline, "the poll never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let reader = tokio::spawn(async move { read_until_close(&mut tls, Duration::from_secs(10)).await });
    let started = std::time::Instant::now();
    gw.stop().await;
    assert!(started.elapsed() < Duration::from_secs(4), "the poll held up the shut-down");
    let raw = String::from_utf8(reader.await.unwrap()).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no answer: {raw:?}"));
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{raw}");
    assert!(head.contains("\r\nConnection: close\r\n"), "{raw}");
    assert_eq!(body, r#"{"message":"","retcode":"0"}"#, "{raw}");
}

/// The connection metrics name their listener: the admin listener's connections are not the
/// agents'.
#[tokio::test]
async fn connection_metrics_are_per_listener() {
    let gw = start().await;
    gw.sign_in(101).await;
    let text = gw.client.get(format!("{}/metrics", gw.admin)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("\nccgw_connections_open{listener=\"agent\"} "), "{text}");
    assert!(text.contains("\nccgw_connections_open{listener=\"admin\"} "), "{text}");
    assert!(!text.contains("\nccgw_connections_open "), "an unlabelled gauge: {text}");
    gw.stop().await;
}

/// Binds a client socket to `ip` (the whole of 127/8 is the loopback) and connects.
async fn connect_from(ip: &str, to: std::net::SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Whether the server closes `stream` within `within` (EOF or reset), without sending anything.
async fn closed_within(mut stream: tokio::net::TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 64];
    matches!(tokio::time::timeout(within, stream.read(&mut buf)).await, Ok(Ok(0) | Err(_)))
}

/// A flood of silent sockets from one source takes that source's share of connections, no more:
/// its extra sockets are closed at once and other sources are still served.
#[tokio::test]
async fn a_flood_from_one_source_leaves_other_sources_served() {
    let gw = Gateway::start_with(|c| {
        c.auth.poll_wait_ms = 200;
        c.server.max_connections = 40;
        c.server.max_connections_per_source = 10;
    })
    .await;
    let addr = gw.running().api_addr;
    let mut flood = Vec::new();
    for _ in 0..50 {
        flood.push(connect_from("127.0.0.2", addr).await);
    }
    let checks: Vec<_> = flood.into_iter().map(|s| tokio::spawn(closed_within(s, Duration::from_secs(2)))).collect();
    // Meanwhile an agent from another source signs in and works.
    let a = gw.sign_in(101).await;
    let r = a.get(&gw, "onlineagent", "agentstatus").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let mut closed = 0;
    for c in checks {
        closed += usize::from(c.await.unwrap());
    }
    assert_eq!(closed, 40, "all but the source's 10 are closed within 2 s");
    let text = gw.client.get(format!("{}/metrics", gw.admin)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("ccgw_connections_rejected_total{listener=\"agent\",reason=\"per_source\"}"), "{text}");
    gw.stop().await;
}

const CRM: &str = "https://crm.example.com";

/// The head of a raw response without its `Date` line.
fn head_without_date(raw: &str) -> String {
    let head = raw.split("\r\n\r\n").next().unwrap();
    head.split("\r\n").filter(|l| !l.starts_with("Date: ")).collect::<Vec<_>>().join("\r\n")
}

fn preflight(origin: &str) -> String {
    format!(
        "OPTIONS {PREFIX}/onlineagent/101 HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type,guid\r\nConnection: close\r\n\r\n"
    )
}

#[tokio::test]
async fn cors_for_a_configured_origin() {
    let gw = Gateway::start_with(|c| c.server.cors_origins = vec![CRM.into()]).await;
    let raw = String::from_utf8(gw.raw_tls(preflight(CRM).as_bytes()).await).unwrap();
    assert_eq!(
        head_without_date(&raw),
        "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://crm.example.com\r\nAccess-Control-Allow-Methods: GET, PUT, POST, DELETE\r\nAccess-Control-Allow-Headers: Guid, Content-Type\r\nAccess-Control-Max-Age: 600\r\nVary: Origin\r\nConnection: close\r\nContent-Length: 0",
        "{raw}"
    );
    assert!(raw.ends_with("\r\n\r\n"), "no body: {raw}");

    // The actual request: allowed, and Set-GUID readable by the page.
    let req = sign_in_request(101).replace("Connection: close\r\n", &format!("Origin: {CRM}\r\nConnection: close\r\n"));
    let raw = String::from_utf8(gw.raw_tls(req.as_bytes()).await).unwrap();
    let head = head_without_date(&raw);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{raw}");
    for line in [
        "\r\nSet-GUID: JSESSIONID=",
        "\r\nAccess-Control-Allow-Origin: https://crm.example.com\r\n",
        "\r\nAccess-Control-Expose-Headers: Set-GUID\r\n",
        "\r\nVary: Origin\r\n",
    ] {
        assert!(head.contains(line), "{line:?} in {raw}");
    }

    // Another origin: as without CORS (OPTIONS is 405), no CORS headers, but Vary.
    let raw = String::from_utf8(gw.raw_tls(preflight("https://evil.example.com").as_bytes()).await).unwrap();
    assert!(raw.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{raw}");
    assert!(!raw.contains("Access-Control-"), "{raw}");
    assert!(raw.contains("\r\nVary: Origin\r\n"), "{raw}");
    // No Origin (a desktop, not a page): untouched.
    let raw = String::from_utf8(gw.raw_tls(sign_in_request(102).as_bytes()).await).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200 OK\r\n"), "{raw}");
    assert!(!raw.contains("Access-Control-") && !raw.contains("Vary"), "{raw}");
    gw.stop().await;
}

#[tokio::test]
async fn no_cors_by_default() {
    let gw = start().await;
    let raw = String::from_utf8(gw.raw_tls(preflight(CRM).as_bytes()).await).unwrap();
    assert!(raw.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{raw}");
    assert!(!raw.contains("Access-Control-") && !raw.contains("Vary"), "{raw}");
    let req = sign_in_request(101).replace("Connection: close\r\n", &format!("Origin: {CRM}\r\nConnection: close\r\n"));
    let raw = String::from_utf8(gw.raw_tls(req.as_bytes()).await).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200 OK\r\n") && raw.contains("\r\nSet-GUID: "), "{raw}");
    assert!(!raw.contains("Access-Control-") && !raw.contains("Vary"), "{raw}");
    gw.stop().await;
}

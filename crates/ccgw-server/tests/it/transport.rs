//! The transport edges a client sees on the wire: header-name case, `HEAD`, `Connection: close`
//! during shut-down, metrics per listener, the per-source connection limit, CORS. Most tests read
//! the raw response bytes over TLS: an HTTP client library would normalise what they check.

use std::time::Duration;

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

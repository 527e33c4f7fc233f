//! The agent desk page on the agent listener (`GET /agentgateway/desk` and its script and style):
//! exact heads on the wire, the page loading the served JS API, and what other methods get.
//! The page itself runs in a real browser in `browser.rs`.

use crate::common::{Gateway, split_responses};

fn head_of(raw: &[u8]) -> (String, Vec<u8>) {
    split_responses(raw, false).into_iter().next().expect("one response")
}

#[tokio::test]
async fn the_desk_page_and_its_assets_are_served_with_exact_heads() {
    let gw = Gateway::start().await;
    for (path, content_type, needle) in [
        ("/agentgateway/desk", "text/html;charset=UTF-8", r#"<script src="/agentgateway/resource-js"></script>"#),
        (
            "/agentgateway/desk/desk.js",
            "application/javascript;charset=UTF-8",
            "CallData.queryAllCallInfoByAgentWorkNoEx",
        ),
        ("/agentgateway/desk/desk.css", "text/css;charset=UTF-8", "#events"),
    ] {
        let raw =
            gw.raw_tls(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes()).await;
        let (head, body) = head_of(&raw);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{path}: {head}");
        // Header names in the case the listener writes them (Title-Case beyond the vendor's own).
        assert!(head.contains(&format!("\r\nContent-Type: {content_type}\r\n")), "{head}");
        assert!(
            head.contains(
                "\r\nContent-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src \
                 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'\r\n"
            ),
            "{head}"
        );
        assert!(head.contains("\r\nX-Content-Type-Options: nosniff\r\n"), "{head}");
        assert!(head.contains("\r\nCache-Control: no-cache\r\n"), "{head}");
        assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())), "{head}");
        assert!(String::from_utf8_lossy(&body).contains(needle), "{path}");
    }
    // HEAD: the head alone.
    let raw = gw.raw_tls(b"HEAD /agentgateway/desk HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("\r\n\r\n"), "{text}");
    // Other methods and unknown assets: the interface's own 404.
    for (method, path) in
        [("POST", "/agentgateway/desk"), ("GET", "/agentgateway/desk/other.js"), ("GET", "/agentgateway/desk/")]
    {
        let r = gw.client.request(method.parse().unwrap(), format!("{}{path}", gw.base)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body, serde_json::json!({ "message": "no such interface", "retcode": "404" }), "{method} {path}");
    }
    gw.stop().await;
}

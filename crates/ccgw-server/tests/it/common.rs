//! The test harness: a gateway on ephemeral ports, and an agent client that follows `Set-GUID`.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ccgw_server::{Config, Server};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const PREFIX: &str = "/agentgateway/resource";
pub const TOKEN: &str = "test-operator-token-0123456789";
pub const JSON_UTF8: &str = "application/json; charset=UTF-8";

pub struct Gateway {
    pub server: Option<Server>,
    pub base: String,
    pub admin: String,
    pub client: reqwest::Client,
}

fn unique_dir() -> std::path::PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("ccgw-it-{}-{n}", std::process::id()))
}

/// A test configuration: demo provisioning, ephemeral ports, operator token, quiet access log.
pub fn test_config() -> Config {
    let mut c = Config::default();
    c.server.listen = "127.0.0.1:0".parse().unwrap();
    c.server.data_dir = unique_dir();
    c.admin.listen = Some("127.0.0.1:0".parse().unwrap());
    c.admin.token = Some(ccgw_server::config::Secret::new(TOKEN));
    c.log.access_log = "off".into();
    c
}

impl Gateway {
    pub async fn start() -> Gateway {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Gateway {
        let mut config = test_config();
        tweak(&mut config);
        let data_dir = config.server.data_dir.clone();
        let server = ccgw_server::start(config).await.expect("gateway starts");
        let pem = std::fs::read(data_dir.join("ccgw-cert.pem")).expect("generated certificate");
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Gateway {
            base: format!("https://127.0.0.1:{}", server.api_addr.port()),
            admin: format!("http://{}", server.admin_addr.unwrap()),
            server: Some(server),
            client,
        }
    }

    /// A raw request to the agent interface; returns status, headers and the JSON body.
    pub async fn request(&self, method: Method, path: &str, guid: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = self.client.request(method, format!("{}{}", self.base, path)).header("Content-Type", JSON_UTF8);
        if let Some(g) = guid {
            req = req.header("Guid", g);
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        let resp = req.send().await.expect("request");
        Reply::from(resp).await
    }

    pub async fn sign_in(&self, id: u32) -> Agent {
        self.sign_in_with(id, serde_json::json!({"password": "ccgw-demo", "phonenum": format!("7{id}"), "status": 4, "autoanswer": false})).await
    }

    pub async fn sign_in_with(&self, id: u32, body: Value) -> Agent {
        let r = self.request(Method::PUT, &format!("{PREFIX}/onlineagent/{id}"), None, Some(body)).await;
        assert_eq!(r.retcode(), "0", "sign-in of {id}: {}", r.body);
        let guid = r.set_guid().expect("Set-GUID on sign-in");
        Agent { id, guid: std::sync::Mutex::new(guid) }
    }

    /// Operator API: a customer calls `access_code`; returns the call id.
    pub async fn inject_call(&self, caller: &str, access_code: &str, data: &str) -> String {
        let r = self
            .client
            .post(format!("{}/admin/calls", self.admin))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"caller": caller, "accessCode": access_code, "callData": data}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["callId"].as_str().unwrap().to_owned()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shut_down().await;
        }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn from(resp: reqwest::Response) -> Reply {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, headers, body }
    }

    pub fn retcode(&self) -> &str {
        self.body["retcode"].as_str().unwrap_or("<none>")
    }

    pub fn set_guid(&self) -> Option<String> {
        let v = self.headers.get("set-guid")?.to_str().ok()?;
        v.strip_prefix("JSESSIONID=").map(str::to_owned)
    }
}

/// A signed-in agent: remembers its GUID and follows `Set-GUID` on every response.
pub struct Agent {
    pub id: u32,
    pub guid: std::sync::Mutex<String>,
}

impl Agent {
    pub fn guid(&self) -> String {
        self.guid.lock().unwrap().clone()
    }

    pub async fn call(&self, gw: &Gateway, method: Method, path: &str, body: Option<Value>) -> Reply {
        let guid = self.guid();
        let r = gw.request(method, path, Some(&guid), body).await;
        if let Some(g) = r.set_guid() {
            *self.guid.lock().unwrap() = g;
        }
        r
    }

    /// `family/{id}/suffix` for this agent, e.g. `agent.path("voicecall", "hold")`.
    pub fn path(&self, family: &str, suffix: &str) -> String {
        if suffix.is_empty() {
            format!("{PREFIX}/{family}/{}", self.id)
        } else {
            format!("{PREFIX}/{family}/{}/{suffix}", self.id)
        }
    }

    pub async fn get(&self, gw: &Gateway, family: &str, suffix: &str) -> Reply {
        self.call(gw, Method::GET, &self.path(family, suffix), None).await
    }

    pub async fn post(&self, gw: &Gateway, family: &str, suffix: &str, body: Option<Value>) -> Reply {
        self.call(gw, Method::POST, &self.path(family, suffix), body).await
    }

    pub async fn put(&self, gw: &Gateway, family: &str, suffix: &str, body: Option<Value>) -> Reply {
        self.call(gw, Method::PUT, &self.path(family, suffix), body).await
    }

    pub async fn delete(&self, gw: &Gateway, family: &str, suffix: &str) -> Reply {
        self.call(gw, Method::DELETE, &self.path(family, suffix), None).await
    }

    /// One poll; the event object, if any.
    pub async fn poll(&self, gw: &Gateway) -> Option<Value> {
        let r = self.get(gw, "agentevent", "").await;
        assert_eq!(r.retcode(), "0", "poll: {}", r.body);
        r.body.get("event").cloned()
    }

    /// Poll until an event of `event_type` arrives; returns every event seen up to and including it.
    pub async fn poll_until(&self, gw: &Gateway, event_type: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        for _ in 0..50 {
            if let Some(ev) = self.poll(gw).await {
                let done = ev["eventType"] == event_type;
                seen.push(ev);
                if done {
                    return seen;
                }
            }
        }
        panic!("agent {} never got {event_type}; saw {seen:?}", self.id);
    }

    /// Drain the mailbox (stops at the first empty poll; use a short poll_wait in the config).
    pub async fn drain(&self, gw: &Gateway) -> Vec<Value> {
        let mut seen = Vec::new();
        while let Some(ev) = self.poll(gw).await {
            seen.push(ev);
        }
        seen
    }

    /// The event types of a list of events.
    pub fn types(events: &[Value]) -> Vec<String> {
        events.iter().map(|e| e["eventType"].as_str().unwrap_or("").to_owned()).collect()
    }
}

// ----- helpers added for the onlineagent tests (append-only) ---------------------------------

impl Gateway {
    /// The running server (panics after `stop`).
    pub fn running(&self) -> &Server {
        self.server.as_ref().expect("gateway is running")
    }

    /// Raw bytes over TLS to the agent interface (verified against the generated certificate);
    /// returns whatever the server sends until it closes the connection or 5 s pass. An error
    /// while connecting or reading just ends the answer (the server may cut a bad request short).
    pub async fn raw_tls(&self, request: &[u8]) -> Vec<u8> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tls = self.tls_connect().await;
        let mut out = Vec::new();
        if tls.write_all(request).await.is_err() {
            return out;
        }
        let _ = tls.flush().await;
        let mut buf = vec![0u8; 16 * 1024];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, tls.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
                _ => return out,
            }
        }
    }

    /// GET on the admin listener with the operator token; the JSON body.
    pub async fn admin_get(&self, path: &str) -> Value {
        let r = self.client.get(format!("{}{path}", self.admin)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.json().await.unwrap()
    }
}

// ----- helpers for the transport tests (append-only) -------------------------------------------

/// A TLS stream to the agent interface.
pub type TlsStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

impl Gateway {
    /// A TLS connection to the agent interface (verified against the generated certificate).
    pub async fn tls_connect(&self) -> TlsStream {
        let server = self.running();
        let pem = std::fs::read(server.gateway.config.server.data_dir.join("ccgw-cert.pem")).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(server.api_addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        connector.connect(name, tcp).await.expect("TLS handshake")
    }
}

/// Reads what `stream` sends until it closes or `within` passes.
pub async fn read_until_close<S: tokio::io::AsyncRead + Unpin>(stream: &mut S, within: Duration) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => return out,
        }
    }
}

/// Splits raw HTTP/1.1 responses (each with a `Content-Length` body, or none for HEAD when
/// `head_first` says the first answers a HEAD) into (head, body) pairs.
pub fn split_responses(raw: &[u8], head_first: bool) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&rest[..end + 2]).into_owned();
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let len = if head_first && out.is_empty() { 0 } else { len };
        let body_end = (end + 4 + len).min(rest.len());
        out.push((head, rest[end + 4..body_end].to_vec()));
        rest = &rest[body_end..];
    }
    out
}

// ----- expected answer bodies shared by the interface tests -------------------------------------

/// A successful query's body.
pub fn found(result: Value) -> Value {
    serde_json::json!({"message":"","retcode":"0","result":result})
}

/// A business error's body (no `result`).
pub fn err(code: &str, message: &str) -> Value {
    serde_json::json!({"message":message,"retcode":code})
}

pub fn not_signed_in() -> Value {
    err("100-006", "agent not signed in or authentication failed")
}

pub fn param_invalid() -> Value {
    err("000-002", "parameter or address in the URL is invalid")
}

pub fn body_invalid() -> Value {
    err("000-006", "message body parameter error")
}

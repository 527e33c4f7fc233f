//! A lean HTTP/1.1 keep-alive client for the agent interface.
//!
//! Every [`Client`] owns exactly one connection (plain TCP or TLS) and sends
//! requests on it one at a time, which is how an agent desktop talks to the
//! gateway and what the load generator wants: `C` workers = `C` connections.
//! The hot path avoids JSON parsing: the `retcode` is found by scanning the
//! body for `"retcode":"`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use serde::Deserialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// `Content-Type` sent on every request, as the vendor documentation demands.
const JSON_CONTENT_TYPE: HeaderValue = HeaderValue::from_static("application/json; charset=UTF-8");
/// Request header carrying the session GUID.
const GUID: HeaderName = HeaderName::from_static("guid");
/// Response header announcing a new GUID (`JSESSIONID=<guid>`).
const SET_GUID: HeaderName = HeaderName::from_static("set-guid");

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default upper bound for one request; long polls are held at most ~10 s by the server.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// A parsed base URL such as `https://127.0.0.1:8043`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: Scheme,
    /// Host name or IP address, without IPv6 brackets.
    pub host: String,
    pub port: u16,
}

impl Target {
    /// Parses `scheme://host[:port][/]`. Paths, queries and user info are rejected
    /// because every request path is absolute (`/agentgateway/...`, `/admin/...`).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else {
            bail!("URL {url:?} must start with http:// or https://");
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            bail!("URL {url:?} must be just scheme://host[:port] (no path, query or user)");
        }
        let default_port = match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            // IPv6 literal: [::1]:8043
            let (host, after) =
                bracketed.split_once(']').ok_or_else(|| anyhow!("URL {url:?}: unterminated IPv6 literal"))?;
            let port = match after.strip_prefix(':') {
                Some(port) => Some(port),
                None if after.is_empty() => None,
                None => bail!("URL {url:?}: unexpected text after IPv6 literal"),
            };
            (host, port)
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(port) => port.parse().with_context(|| format!("URL {url:?}: invalid port {port:?}"))?,
            None => default_port,
        };
        Ok(Self { scheme, host: host.to_owned(), port })
    }

    /// `host:port` as used for the `Host` header and for connecting.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}", self.authority())
    }
}

/// Certificate verifier that accepts **any** server certificate.
///
/// The gateway runs with a self-signed certificate in tests and benchmarks, so
/// the load generator skips certificate validation entirely. Handshake
/// signatures are still checked against the presented certificate, so the
/// TLS session itself is sound; only the identity of the server is not.
#[derive(Debug)]
pub struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl AcceptAnyServerCert {
    pub fn new(provider: Arc<CryptoProvider>) -> Self {
        Self(provider)
    }
}

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// TLS client configuration: aws-lc-rs provider, any certificate, HTTP/1.1.
fn insecure_tls_config() -> anyhow::Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert::new(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Everything needed to open connections to one listener; shared by all clients.
pub struct Connector {
    target: Target,
    host_header: HeaderValue,
    /// `Authorization: Bearer ...` for the operator API, if any.
    authorization: Option<HeaderValue>,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Connector {
    pub fn new(target: Target) -> anyhow::Result<Arc<Self>> {
        Self::build(target, None)
    }

    /// A connector whose requests carry `Authorization: Bearer <token>`.
    pub fn with_bearer(target: Target, token: &str) -> anyhow::Result<Arc<Self>> {
        let value =
            HeaderValue::try_from(format!("Bearer {token}")).context("admin token is not a valid header value")?;
        Self::build(target, Some(value))
    }

    fn build(target: Target, authorization: Option<HeaderValue>) -> anyhow::Result<Arc<Self>> {
        let host_header = HeaderValue::try_from(target.authority())?;
        let tls = match target.scheme {
            Scheme::Http => None,
            Scheme::Https => {
                let server_name = ServerName::try_from(target.host.clone())
                    .with_context(|| format!("invalid TLS server name {:?}", target.host))?;
                let connector = TlsConnector::from(Arc::new(insecure_tls_config()?));
                Some((connector, server_name))
            }
        };
        Ok(Arc::new(Self { target, host_header, authorization, tls }))
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The `Host` header value (`host:port`).
    pub fn host_header(&self) -> &HeaderValue {
        &self.host_header
    }

    /// Resolves the target to one socket address (for [`Connector::connect_raw`]).
    pub async fn resolve(&self) -> anyhow::Result<SocketAddr> {
        tokio::net::lookup_host(self.target.authority())
            .await
            .with_context(|| format!("cannot resolve {}", self.target))?
            .next()
            .ok_or_else(|| anyhow!("{} resolves to no address", self.target))
    }

    /// Opens a bare connection (TCP, then TLS if the target is https) to
    /// `addr`, optionally from the local address `source` (port chosen by the
    /// kernel), without an HTTP layer: for callers that speak HTTP/1.1 themselves.
    pub async fn connect_raw(&self, addr: SocketAddr, source: Option<IpAddr>) -> anyhow::Result<RawStream> {
        let connect = async {
            let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
            if let Some(source) = source {
                socket.bind(SocketAddr::new(source, 0)).with_context(|| format!("cannot bind to {source}"))?;
            }
            anyhow::Ok(socket.connect(addr).await?)
        };
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| anyhow!("connecting to {} timed out", self.target))?
            .with_context(|| format!("cannot connect to {}", self.target))?;
        tcp.set_nodelay(true)?;
        match &self.tls {
            None => Ok(RawStream::Plain(tcp)),
            Some((tls, server_name)) => {
                let stream = tokio::time::timeout(CONNECT_TIMEOUT, tls.connect(server_name.clone(), tcp))
                    .await
                    .map_err(|_| anyhow!("TLS handshake with {} timed out", self.target))?
                    .with_context(|| format!("TLS handshake with {} failed", self.target))?;
                Ok(RawStream::Tls(Box::new(stream)))
            }
        }
    }

    /// Opens a new connection and spawns its driver task.
    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let authority = self.target.authority();
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&authority))
            .await
            .map_err(|_| anyhow!("connecting to {} timed out", self.target))?
            .with_context(|| format!("cannot connect to {}", self.target))?;
        tcp.set_nodelay(true)?;
        match &self.tls {
            None => handshake(tcp).await,
            Some((tls, server_name)) => {
                let stream = tokio::time::timeout(CONNECT_TIMEOUT, tls.connect(server_name.clone(), tcp))
                    .await
                    .map_err(|_| anyhow!("TLS handshake with {} timed out", self.target))?
                    .with_context(|| format!("TLS handshake with {} failed", self.target))?;
                handshake(stream).await
            }
        }
    }
}

/// A bare connection from [`Connector::connect_raw`].
pub enum RawStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// HTTP/1.1 handshake on an established stream; the connection future runs
/// in its own task until either side closes it.
async fn handshake<S>(stream: S) -> anyhow::Result<SendRequest<Full<Bytes>>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.context("HTTP/1.1 handshake failed")?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "connection closed with error");
        }
    });
    Ok(sender)
}

/// One response, reduced to what the load generator needs.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The envelope's `retcode`, or empty when the body has none (e.g. a 404).
    pub retcode: String,
    pub body: Bytes,
    /// The new GUID from a `Set-GUID: JSESSIONID=<guid>` header.
    pub set_guid: Option<String>,
}

impl Response {
    /// `retcode == "0"`.
    pub fn is_success(&self) -> bool {
        self.retcode == "0"
    }

    /// Parses the body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!("unexpected response body (HTTP {}): {}", self.status, String::from_utf8_lossy(&self.body))
        })
    }

    /// The envelope's `message`, for error reports.
    pub fn message(&self) -> String {
        #[derive(Deserialize)]
        struct Message {
            #[serde(default)]
            message: String,
        }
        serde_json::from_slice::<Message>(&self.body)
            .map(|m| m.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&self.body).into_owned())
    }

    /// Short description for error messages: retcode and message, or HTTP status and body.
    pub fn describe(&self) -> String {
        if self.retcode.is_empty() {
            format!("HTTP {} without retcode: {}", self.status, String::from_utf8_lossy(&self.body))
        } else {
            format!("retcode {} ({:?})", self.retcode, self.message())
        }
    }
}

/// Finds the `retcode` string of a response envelope.
///
/// Fast path: scan for `"retcode":"` and take everything up to the next quote.
/// Fallback (pretty-printed or unusual JSON): a tiny serde struct.
pub fn extract_retcode(body: &[u8]) -> Option<String> {
    const NEEDLE: &[u8] = br#""retcode":""#;
    if let Some(start) = body.windows(NEEDLE.len()).position(|w| w == NEEDLE) {
        let value = &body[start + NEEDLE.len()..];
        if let Some(end) = value.iter().position(|&b| b == b'"')
            && let Ok(code) = std::str::from_utf8(&value[..end])
        {
            return Some(code.to_owned());
        }
    }
    #[derive(Deserialize)]
    struct Envelope {
        retcode: String,
    }
    serde_json::from_slice::<Envelope>(body).ok().map(|e| e.retcode)
}

/// Extracts the GUID from a `Set-GUID` header value (`JSESSIONID=<guid>`).
/// A bare value without `=` is taken as the GUID itself.
pub fn parse_set_guid(value: &str) -> Option<&str> {
    let guid = match value.split_once('=') {
        Some((_, guid)) => guid,
        None => value,
    };
    let guid = guid.trim();
    (!guid.is_empty()).then_some(guid)
}

/// A keep-alive client owning one connection; reconnects after connection errors.
pub struct Client {
    connector: Arc<Connector>,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// Upper bound for one request (connecting included).
    timeout: Duration,
}

impl Client {
    /// A client that connects lazily on its first request.
    pub fn new(connector: Arc<Connector>) -> Self {
        Self { connector, sender: None, timeout: REQUEST_TIMEOUT }
    }

    /// Replaces the per-request time-out (default [`REQUEST_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A client whose connection is already established.
    pub async fn connected(connector: Arc<Connector>) -> anyhow::Result<Self> {
        let mut client = Self::new(connector);
        client.ready().await?;
        Ok(client)
    }

    pub fn connector(&self) -> &Arc<Connector> {
        &self.connector
    }

    /// Returns a sender whose connection is open, reconnecting if needed.
    async fn ready(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        if let Some(sender) = &mut self.sender
            && sender.ready().await.is_err()
        {
            // The server closed the idle connection; open a new one below.
            self.sender = None;
        }
        if self.sender.is_none() {
            self.sender = Some(self.connector.connect().await?);
        }
        Ok(self.sender.as_mut().expect("connected above"))
    }

    /// Sends one request and reads the whole response.
    ///
    /// `path` is an origin-form path (`/agentgateway/resource/...`); `guid`,
    /// when given, goes into the `Guid` header. A `GET` that fails because
    /// the connection broke is retried once on a fresh connection; other
    /// methods are not retried (they are not idempotent), but the next call
    /// reconnects.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        guid: Option<&str>,
    ) -> anyhow::Result<Response> {
        let uri = Uri::try_from(path).with_context(|| format!("invalid request path {path:?}"))?;
        let guid = guid.map(HeaderValue::from_str).transpose().context("GUID is not a valid header value")?;
        let body = body.map(Bytes::copy_from_slice).unwrap_or_default();
        let retry = method == Method::GET;
        let request = self.build_request(method.clone(), uri.clone(), body.clone(), guid.clone());
        match self.exchange(request).await {
            Err(error) if retry => {
                tracing::debug!(%error, path, "request failed; retrying on a new connection");
                let request = self.build_request(method, uri, body, guid);
                self.exchange(request).await
            }
            result => result,
        }
    }

    fn build_request(&self, method: Method, uri: Uri, body: Bytes, guid: Option<HeaderValue>) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(HOST, self.connector.host_header.clone());
        headers.insert(CONTENT_TYPE, JSON_CONTENT_TYPE);
        if let Some(guid) = guid {
            headers.insert(GUID, guid);
        }
        if let Some(authorization) = &self.connector.authorization {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        request
    }

    async fn exchange(&mut self, request: Request<Full<Bytes>>) -> anyhow::Result<Response> {
        let timeout = self.timeout;
        let result = tokio::time::timeout(timeout, async {
            let sender = self.ready().await?;
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            anyhow::Ok((parts, body))
        })
        .await
        .unwrap_or_else(|_| Err(anyhow!("no response within {timeout:?}")));
        let (parts, body) = match result {
            Ok(ok) => ok,
            Err(error) => {
                // Never reuse a connection in an unknown state.
                self.sender = None;
                return Err(error.context(format!("request to {} failed", self.connector.target)));
            }
        };
        let set_guid =
            parts.headers.get(SET_GUID).and_then(|v| v.to_str().ok()).and_then(parse_set_guid).map(str::to_owned);
        Ok(Response {
            status: parts.status.as_u16(),
            retcode: extract_retcode(&body).unwrap_or_default(),
            body,
            set_guid,
        })
    }
}

/// A signed-in agent: its id and current GUID.
///
/// The GUID rotates (every 60 s by default) and the new value can arrive on
/// any response, so every request made on behalf of the agent should go
/// through [`AgentSession::send`] or call [`AgentSession::observe`].
/// The session is shared between tasks (event poller, query workers).
#[derive(Debug)]
pub struct AgentSession {
    agent_id: u32,
    guid: Mutex<Arc<str>>,
}

impl AgentSession {
    pub fn new(agent_id: u32, guid: &str) -> Self {
        Self { agent_id, guid: Mutex::new(Arc::from(guid)) }
    }

    pub fn agent_id(&self) -> u32 {
        self.agent_id
    }

    /// The current GUID (cheap: a reference-counted string).
    pub fn guid(&self) -> Arc<str> {
        self.guid.lock().expect("guid lock poisoned").clone()
    }

    /// Adopts the GUID announced by a response's `Set-GUID` header, if any.
    pub fn observe(&self, response: &Response) {
        if let Some(new) = &response.set_guid {
            self.adopt(new);
        }
    }

    /// Adopts `new` as the current GUID.
    pub fn adopt(&self, new: &str) {
        let mut guid = self.guid.lock().expect("guid lock poisoned");
        if **guid != *new {
            *guid = Arc::from(new);
        }
    }

    /// Sends a request with this agent's GUID and adopts a rotated GUID.
    pub async fn send(
        &self,
        client: &mut Client,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
    ) -> anyhow::Result<Response> {
        let guid = self.guid();
        let response = client.send(method, path, body, Some(&guid)).await?;
        self.observe(&response);
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("https://127.0.0.1:8043").unwrap();
        assert_eq!(t.scheme, Scheme::Https);
        assert_eq!(t.host, "127.0.0.1");
        assert_eq!(t.port, 8043);
        assert_eq!(t.to_string(), "https://127.0.0.1:8043");

        let t = Target::parse("http://localhost/").unwrap();
        assert_eq!((t.scheme, t.host.as_str(), t.port), (Scheme::Http, "localhost", 80));

        let t = Target::parse("https://[::1]:9443").unwrap();
        assert_eq!(t.host, "::1");
        assert_eq!(t.authority(), "[::1]:9443");

        assert_eq!(Target::parse("https://gw").unwrap().port, 443);
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "127.0.0.1:8043",
            "ftp://x",
            "https://",
            "https://h:port",
            "https://h:8043/agentgateway",
            "https://[::1",
            "https://u@h",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn parses_set_guid() {
        assert_eq!(parse_set_guid("JSESSIONID=279fe21d-2caa.AgentGateway0"), Some("279fe21d-2caa.AgentGateway0"));
        assert_eq!(parse_set_guid("abc"), Some("abc"));
        assert_eq!(parse_set_guid("JSESSIONID="), None);
    }

    #[test]
    fn extracts_retcode() {
        let ok = br#"{"message":"","retcode":"0","result":["1700000000-12"]}"#;
        assert_eq!(extract_retcode(ok).as_deref(), Some("0"));
        let err = br#"{"message":"not signed in","retcode":"100-006"}"#;
        assert_eq!(extract_retcode(err).as_deref(), Some("100-006"));
        let pretty = b"{ \"retcode\" : \"000-007\" }";
        assert_eq!(extract_retcode(pretty).as_deref(), Some("000-007"));
        assert_eq!(extract_retcode(b"Not Found"), None);
    }

    #[test]
    fn session_adopts_rotated_guid() {
        let session = AgentSession::new(101, "old");
        let mut response = Response { status: 200, retcode: "0".into(), body: Bytes::new(), set_guid: None };
        session.observe(&response);
        assert_eq!(&*session.guid(), "old");
        response.set_guid = Some("new".into());
        session.observe(&response);
        assert_eq!(&*session.guid(), "new");
    }
}

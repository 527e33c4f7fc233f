//! Push mode: an agent that signed in with `callBackUri` + `serviceToken` gets its events POSTed
//! to that URL (the vendor's "Calling Back Pushed Events", log name `pushEvent`) instead of
//! polling for them.
//!
//! One task per push-mode session. It is the only consumer of the agent's mailbox (a poll of a
//! push-mode agent is refused with `000-001`) and takes events with the store's own
//! `next_event`, so order and the mailbox's session epoch are the poll's. It takes a batch (up
//! to `push.max_batch` events already waiting) and POSTs `{"workNo","eventList":[…]}` over
//! TLS 1.2+ with the vendor's headers (`Content-Type`, `Guid`, `service_token`, in that case on
//! the wire). Only a 2xx answer takes the batch off for good; on anything else (no connection,
//! a TLS failure, a time-out, a non-2xx status) the batch goes back to the head of the mailbox
//! (`Store::requeue`, newest first, so the order is unchanged), the mailbox is trimmed to
//! `push.max_queued_events` (oldest dropped and counted), and the task waits with exponential
//! back-off (`retry_min_ms` doubling to `retry_max_ms`). A receiver failing for
//! `push.fail_total_ms` signs the agent out, as the vendor's `EVENT_PUSH_FAIL_TOTALTIME` does.
//!
//! The task ends when its session does: a new sign-in of the agent replaces it (and aborts it),
//! and after a sign-out (any kind) it pushes what is left of the session (the sign-out events)
//! once, then stops. docs/compat.md "Push mode" has the choices; the token and the GUID are
//! never logged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use ccgw_domain::{AgentId, VdnId, cmd};
use ccgw_store::{Delivery, Store};
use ccgw_wire::event;
use ccgw_wire::request::PushTarget;
use parking_lot::Mutex;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::config::PushConfig;
use crate::gateway::Gateway;

/// The push tasks, one per push-mode agent, and the TLS client configuration they share.
pub struct Pusher {
    config: PushConfig,
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
    tasks: Mutex<HashMap<AgentId, Entry>>,
    /// `tasks.len()`, kept under its lock: the poll's check costs no lock while nobody pushes.
    sessions: AtomicUsize,
    /// `allagentevent`: per consumer (the agent whose GUID the request carries), its session's
    /// sign-in time and where its next page of the VDN's feed starts.
    cursors: Mutex<HashMap<AgentId, (u64, u64)>>,
    next_generation: AtomicU64,
    closing: AtomicBool,
}

struct Entry {
    generation: u64,
    handle: Option<tokio::task::AbortHandle>,
}

impl Pusher {
    pub fn new(config: PushConfig) -> Self {
        Pusher {
            config,
            tls: OnceLock::new(),
            tasks: Mutex::new(HashMap::new()),
            sessions: AtomicUsize::new(0),
            cursors: Mutex::new(HashMap::new()),
            next_generation: AtomicU64::new(1),
            closing: AtomicBool::new(false),
        }
    }

    /// The TLS client configuration: the CAs of `push.ca_file`, or the system's roots (loaded
    /// on first use). TLS 1.2 and 1.3 only (rustls has nothing older).
    pub fn tls_config(&self) -> anyhow::Result<Arc<rustls::ClientConfig>> {
        let built = self.tls.get_or_init(|| client_config(&self.config).map_err(|e| format!("{e:#}")));
        built.clone().map_err(|e| anyhow::anyhow!(e))
    }

    /// Whether the agent's current session is in push mode (its events are not for polls).
    pub fn is_push(&self, agent: AgentId) -> bool {
        self.sessions.load(Ordering::Acquire) > 0 && self.tasks.lock().contains_key(&agent)
    }

    /// A `callBackUri` outside `push.allowed_uri_prefixes` (when any are configured).
    pub fn allowed(&self, uri: &str) -> bool {
        let prefixes = &self.config.allowed_uri_prefixes;
        prefixes.is_empty() || prefixes.iter().any(|p| uri.starts_with(p.as_str()))
    }

    fn is_current(&self, agent: AgentId, generation: u64) -> bool {
        self.tasks.lock().get(&agent).is_some_and(|e| e.generation == generation)
    }

    fn finished(&self, agent: AgentId, generation: u64) {
        let mut tasks = self.tasks.lock();
        if tasks.get(&agent).is_some_and(|e| e.generation == generation) {
            tasks.remove(&agent);
        }
        self.sessions.store(tasks.len(), Ordering::Release);
        metrics::gauge!("ccgw_push_sessions").set(tasks.len() as f64);
    }

    /// Stop every task (the gateway shuts down).
    pub fn shut_down(&self) {
        self.closing.store(true, Ordering::Release);
        let mut tasks = self.tasks.lock();
        for (_, e) in tasks.drain() {
            if let Some(h) = e.handle {
                h.abort();
            }
        }
        self.sessions.store(0, Ordering::Release);
    }

    /// Push-mode sessions now.
    pub fn active(&self) -> usize {
        self.sessions.load(Ordering::Acquire)
    }
}

/// A new session of `agent` started (the sign-in still holds the agent's in-flight mark): the
/// previous session's push task, if any, stops; a push-mode session gets its own.
pub fn session_started<S: Store>(
    gw: &Arc<Gateway<S>>,
    agent: AgentId,
    vdn: VdnId,
    guid: &str,
    push: Option<PushTarget>,
) {
    let pusher = &gw.push;
    let mut tasks = pusher.tasks.lock();
    if let Some(old) = tasks.remove(&agent)
        && let Some(h) = old.handle
    {
        h.abort();
    }
    pusher.sessions.store(tasks.len(), Ordering::Release);
    let Some(target) = push else { return };
    if pusher.closing.load(Ordering::Acquire) {
        return;
    }
    let generation = pusher.next_generation.fetch_add(1, Ordering::Relaxed);
    let epoch = gw.store.mailbox_epoch(agent);
    // Registered before the task runs: it checks that it is current.
    tasks.insert(agent, Entry { generation, handle: None });
    let task = Task { gw: gw.clone(), agent, vdn, target, generation, epoch, guid: guid.to_owned() };
    let handle = tokio::spawn(task.run()).abort_handle();
    if let Some(e) = tasks.get_mut(&agent) {
        e.handle = Some(handle);
    }
    pusher.sessions.store(tasks.len(), Ordering::Release);
    metrics::gauge!("ccgw_push_sessions").set(tasks.len() as f64);
}

struct Task<S: Store> {
    gw: Arc<Gateway<S>>,
    agent: AgentId,
    vdn: VdnId,
    target: PushTarget,
    generation: u64,
    epoch: u64,
    /// The session's GUID as last read (the sign-out events are pushed after the session, and
    /// its GUID, are gone).
    guid: String,
}

/// How long the task waits for an event before it looks whether its session is still there.
const IDLE_CHECK: Duration = Duration::from_millis(1_000);

impl<S: Store> Task<S> {
    async fn run(mut self) {
        let url = match Url::parse(&self.target.uri) {
            Some(url) => url,
            None => return self.gw.push.finished(self.agent, self.generation),
        };
        let cfg = self.gw.push.config.clone();
        let tls = self
            .gw
            .push
            .tls_config()
            .map_err(|e| tracing::error!(error = %e, "push: no TLS client configuration"))
            .ok();
        let mut client = Client { url, tls, conn: None };
        let mut backoff = Duration::from_millis(cfg.retry_min_ms);
        let mut failing_since: Option<Instant> = None;
        // The session has ended: what is left of it is pushed once, then the task stops.
        let mut ended = false;
        loop {
            if self.gw.push.closing.load(Ordering::Acquire) || !self.gw.push.is_current(self.agent, self.generation) {
                return;
            }
            let wait = if ended { Duration::ZERO } else { IDLE_CHECK };
            let Some(first) = self.gw.store.next_event(self.agent, Some(self.epoch), wait).await else {
                if self.gw.push.closing.load(Ordering::Acquire) {
                    return;
                }
                match self.look() {
                    Look::Stop => break,
                    Look::Wait => tokio::time::sleep(Duration::from_millis(20)).await,
                    Look::Adopt(epoch) => self.epoch = epoch,
                    Look::Ended if ended => break,
                    Look::Ended => ended = true,
                    Look::Idle => {}
                }
                continue;
            };
            let mut batch = vec![first];
            while batch.len() < cfg.max_batch {
                match self.gw.store.next_event(self.agent, Some(self.epoch), Duration::ZERO).await {
                    Some(d) => batch.push(d),
                    None => break,
                }
            }
            if let Ok(Some(guid)) =
                self.gw.read(self.vdn, |s| s.session(self.agent).ok().map(|s| s.credential.guid.clone()))
            {
                self.guid = guid;
            }
            let body = event::push_body(&self.agent.0.to_string(), batch.iter().map(|d| &d.event));
            let started = Instant::now();
            let outcome = client.post(&cfg, &self.guid, &self.target.token, &body).await;
            let latency_ms = started.elapsed().as_millis() as u64;
            let events = batch.len();
            match outcome {
                Ok(status) if (200..300).contains(&status) => {
                    tracing::info!(method = "pushEvent", agent = self.agent.0, status, events, latency_ms, "pushed");
                    metrics::counter!("ccgw_push_requests_total", "result" => "ok").increment(1);
                    metrics::counter!("ccgw_push_events_delivered_total").increment(events as u64);
                    backoff = Duration::from_millis(cfg.retry_min_ms);
                    failing_since = None;
                    continue;
                }
                Ok(status) => {
                    tracing::warn!(
                        method = "pushEvent",
                        agent = self.agent.0,
                        status,
                        events,
                        latency_ms,
                        "receiver refused the push; will retry"
                    );
                    metrics::counter!("ccgw_push_requests_total", "result" => "refused").increment(1);
                }
                Err(e) => {
                    tracing::warn!(
                        method = "pushEvent",
                        agent = self.agent.0,
                        error = format!("{e:#}"),
                        events,
                        latency_ms,
                        "push failed; will retry"
                    );
                    metrics::counter!("ccgw_push_requests_total", "result" => "failed").increment(1);
                }
            }
            // Back to the head of the mailbox, newest first: the order is unchanged.
            for d in batch.into_iter().rev() {
                self.requeue(d);
            }
            if ended {
                // Nobody to wait for: the session is over and its receiver is down.
                break;
            }
            match self.look() {
                Look::Stop => break,
                // Signed out meanwhile (the backlog kept the task from looking): one more try.
                Look::Ended => ended = true,
                _ => {}
            }
            let dropped = self.gw.store.trim_events(self.agent, self.epoch, cfg.max_queued_events).await;
            if dropped > 0 {
                tracing::warn!(agent = self.agent.0, dropped, "push receiver down: oldest events dropped");
                metrics::counter!("ccgw_push_events_dropped_total").increment(dropped as u64);
            }
            let since = *failing_since.get_or_insert_with(Instant::now);
            if cfg.fail_total_ms > 0 && since.elapsed() >= Duration::from_millis(cfg.fail_total_ms) {
                // The vendor's EVENT_PUSH_FAIL_TOTALTIME: the agent is signed out.
                tracing::warn!(
                    agent = self.agent.0,
                    "push receiver failing for push.fail_total_ms: signing the agent out"
                );
                metrics::counter!("ccgw_push_signouts_total").increment(1);
                let agent = self.agent;
                let _ = self.gw.run(self.vdn, cmd::ForceSignOut { agent });
                ended = true;
                continue;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(cfg.retry_max_ms));
        }
        self.gw.push.finished(self.agent, self.generation);
    }

    fn requeue(&self, d: Delivery) {
        let _ = self.gw.requeue(self.agent, d);
    }

    /// No event came: why, and what next.
    fn look(&self) -> Look {
        if !self.gw.push.is_current(self.agent, self.generation) {
            return Look::Stop;
        }
        let now = self.gw.store.mailbox_epoch(self.agent);
        if now != self.epoch {
            // A new session (its sign-in replaces this task before it lets go of the agent's
            // in-flight mark) or `syncagentinfo` (same session, emptied mailbox).
            if self.gw.sign_in_in_flight(self.agent) {
                return Look::Wait;
            }
            if !self.gw.push.is_current(self.agent, self.generation) {
                return Look::Stop;
            }
            return Look::Adopt(now);
        }
        match self.gw.read(self.vdn, |s| s.session(self.agent).is_ok()) {
            Ok(true) => Look::Idle,
            _ => Look::Ended,
        }
    }
}

enum Look {
    Stop,
    Wait,
    Adopt(u64),
    Ended,
    Idle,
}

// --- allagentevent ---

/// `GET agentevent/allagentevent`: the events of every agent of the caller's VDN since the
/// caller's previous request (oldest first, at most `push.all_agent_event_max`). The caller is
/// the signed-in agent whose GUID is in the `Guid` header (there is no agent id in the path);
/// the request counts as its heartbeat. Its first request starts its cursor at the end of the
/// VDN's feed (and turns the feed on): it answers `[]`, later ones what happened since. A
/// consumer slower than the feed's ring (`push.all_agent_event_ring`) misses the oldest
/// (counted: `ccgw_all_agent_events_skipped_total`). No `Guid`, a GUID of no session, or the
/// feed off (ring 0): `000-003`, the vendor's answer with the mode off.
pub fn all_agent_events<S: Store>(gw: &Gateway<S>, guid: Option<&str>, now_ms: u64) -> Option<Vec<u8>> {
    let guid = guid?;
    let (vdn, consumer, login_ms) = gw.store.vdns().into_iter().find_map(|vdn| {
        gw.read(vdn, |s| {
            s.agents.iter().find_map(|(id, a)| {
                let session = a.session.as_ref().filter(|ss| ss.credential.accepts(guid, now_ms))?;
                Some((vdn, *id, session.login_ms))
            })
        })
        .ok()
        .flatten()
    })?;
    gw.store.touch(consumer, now_ms);
    // Held across the read of the feed: two requests of one consumer never get the same page.
    let mut cursors = gw.push.cursors.lock();
    let from = cursors.get(&consumer).filter(|(login, _)| *login == login_ms).map(|(_, next)| *next);
    let page = gw.store.vdn_events(vdn, from, gw.push.config.all_agent_event_max)?;
    cursors.insert(consumer, (login_ms, page.next));
    drop(cursors);
    if page.skipped > 0 {
        metrics::counter!("ccgw_all_agent_events_skipped_total").increment(page.skipped);
    }
    Some(event::event_list_body(&page.events))
}

// --- the HTTP/1.1 client ---

/// A `callBackUri`, split for the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// As in the URI: the `Host` header.
    authority: String,
    host: String,
    port: u16,
    /// Path and query, `/` when the URI has none.
    target: String,
}

impl Url {
    /// An `https://` URL as [`ccgw_wire::request::valid_callback_uri`] accepts it.
    pub fn parse(uri: &str) -> Option<Url> {
        if !ccgw_wire::request::valid_callback_uri(uri) {
            return None;
        }
        let rest = uri.strip_prefix("https://")?;
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        let target = if target.starts_with('/') { target.to_owned() } else { format!("/{target}") };
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']')?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            },
        };
        let port = match port {
            Some(p) => p.parse().ok()?,
            None => 443,
        };
        Some(Url { authority: authority.to_owned(), host: host.to_owned(), port, target })
    }
}

struct Client {
    url: Url,
    tls: Option<Arc<rustls::ClientConfig>>,
    conn: Option<TlsStream<TcpStream>>,
}

impl Client {
    /// POST one batch; the receiver's HTTP status. A kept-alive connection the receiver has
    /// closed meanwhile is replaced once, if nothing of the answer had arrived.
    async fn post(&mut self, cfg: &PushConfig, guid: &str, token: &str, body: &[u8]) -> anyhow::Result<u16> {
        let request = request_bytes(&self.url, guid, token, body);
        if let Some(conn) = self.conn.take() {
            match exchange(conn, &request, cfg.request_timeout()).await {
                Ok((status, keep)) => {
                    self.conn = keep;
                    return Ok(status);
                }
                Err(Failure::Stale) => {}
                Err(Failure::Other(e)) => return Err(e),
            }
        }
        let conn = tokio::time::timeout(cfg.connect_timeout(), self.connect())
            .await
            .map_err(|_| anyhow::anyhow!("connect timed out"))??;
        match exchange(conn, &request, cfg.request_timeout()).await {
            Ok((status, keep)) => {
                self.conn = keep;
                Ok(status)
            }
            Err(Failure::Stale) => bail!("connection closed before the answer"),
            Err(Failure::Other(e)) => Err(e),
        }
    }

    async fn connect(&self) -> anyhow::Result<TlsStream<TcpStream>> {
        let tls = self.tls.clone().ok_or_else(|| anyhow::anyhow!("no TLS client configuration"))?;
        let tcp = TcpStream::connect((self.url.host.as_str(), self.url.port)).await.context("connect")?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(self.url.host.clone()).context("server name")?;
        TlsConnector::from(tls).connect(name, tcp).await.context("TLS handshake")
    }
}

/// The request, header names in the vendor's case.
fn request_bytes(url: &Url, guid: &str, token: &str, body: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(256 + body.len());
    r.extend_from_slice(b"POST ");
    r.extend_from_slice(url.target.as_bytes());
    r.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    r.extend_from_slice(url.authority.as_bytes());
    r.extend_from_slice(b"\r\nContent-Type: application/json;charset=UTF-8\r\nGuid: ");
    r.extend_from_slice(guid.as_bytes());
    r.extend_from_slice(b"\r\nservice_token: ");
    r.extend_from_slice(token.as_bytes());
    r.extend_from_slice(b"\r\nContent-Length: ");
    r.extend_from_slice(body.len().to_string().as_bytes());
    r.extend_from_slice(b"\r\n\r\n");
    r.extend_from_slice(body);
    r
}

enum Failure {
    /// Nothing came back on a kept-alive connection: it was closed meanwhile.
    Stale,
    Other(anyhow::Error),
}

const MAX_ANSWER_HEAD: usize = 16 * 1024;
const MAX_ANSWER_BODY: usize = 1024 * 1024;

/// Write the request and read the answer: its status, and the connection if it may be reused.
async fn exchange(
    mut conn: TlsStream<TcpStream>,
    request: &[u8],
    timeout: Duration,
) -> Result<(u16, Option<TlsStream<TcpStream>>), Failure> {
    let work = async {
        if conn.write_all(request).await.is_err() || conn.flush().await.is_err() {
            return Err(Failure::Stale);
        }
        let mut buf = Vec::with_capacity(1024);
        let (status, head_len, length, chunked, close) = loop {
            let mut chunk = [0u8; 4096];
            let n = conn.read(&mut chunk).await.map_err(|e| {
                if buf.is_empty() { Failure::Stale } else { Failure::Other(anyhow::anyhow!("reading the answer: {e}")) }
            })?;
            if n == 0 {
                return Err(if buf.is_empty() {
                    Failure::Stale
                } else {
                    Failure::Other(anyhow::anyhow!("connection closed mid-answer"))
                });
            }
            buf.extend_from_slice(&chunk[..n]);
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = resp.code.unwrap_or(0);
                    let header = |name: &str| {
                        resp.headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case(name))
                            .and_then(|h| std::str::from_utf8(h.value).ok())
                            .map(str::trim)
                    };
                    let length = header("content-length").and_then(|v| v.parse::<usize>().ok());
                    let chunked = header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
                    let close = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
                        || resp.version == Some(0);
                    break (status, len, length, chunked, close);
                }
                Ok(httparse::Status::Partial) if buf.len() < MAX_ANSWER_HEAD => {}
                Ok(httparse::Status::Partial) => return Err(Failure::Other(anyhow::anyhow!("answer head too large"))),
                Err(e) => return Err(Failure::Other(anyhow::anyhow!("malformed answer: {e}"))),
            }
        };
        let mut rest = buf.split_off(head_len);
        // Read the body so that the connection can carry the next push.
        let reusable = match (length, chunked) {
            (Some(n), false) => {
                read_to(&mut conn, &mut rest, n).await?;
                !close
            }
            (_, true) => read_chunked(&mut conn, &mut rest).await? && !close,
            (None, false) => false,
        };
        Ok((status, reusable))
    };
    match tokio::time::timeout(timeout, work).await {
        Err(_) => Err(Failure::Other(anyhow::anyhow!("no answer within push.request_timeout_ms"))),
        Ok(Err(e)) => Err(e),
        Ok(Ok((status, reusable))) => Ok((status, reusable.then_some(conn))),
    }
}

async fn read_more<R: AsyncRead + Unpin>(conn: &mut R, buf: &mut Vec<u8>) -> Result<(), Failure> {
    if buf.len() > MAX_ANSWER_BODY {
        return Err(Failure::Other(anyhow::anyhow!("answer body too large")));
    }
    let mut chunk = [0u8; 4096];
    match conn.read(&mut chunk).await {
        Ok(0) => Err(Failure::Other(anyhow::anyhow!("connection closed mid-body"))),
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
        Err(e) => Err(Failure::Other(anyhow::anyhow!("reading the answer body: {e}"))),
    }
}

async fn read_to<R: AsyncRead + Unpin>(conn: &mut R, buf: &mut Vec<u8>, n: usize) -> Result<(), Failure> {
    if n > MAX_ANSWER_BODY {
        return Err(Failure::Other(anyhow::anyhow!("answer body too large")));
    }
    while buf.len() < n {
        read_more(conn, buf).await?;
    }
    Ok(())
}

/// Skip a chunked body; `true` if it ended cleanly with nothing after it.
async fn read_chunked<R: AsyncRead + Unpin>(conn: &mut R, buf: &mut Vec<u8>) -> Result<bool, Failure> {
    let mut pos = 0;
    loop {
        let line_end = loop {
            if let Some(i) = buf[pos..].windows(2).position(|w| w == b"\r\n") {
                break pos + i;
            }
            read_more(conn, buf).await?;
        };
        let line = std::str::from_utf8(&buf[pos..line_end]).unwrap_or("");
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| Failure::Other(anyhow::anyhow!("malformed chunk size")))?;
        pos = line_end + 2;
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            loop {
                if let Some(i) = buf[pos..].windows(2).position(|w| w == b"\r\n") {
                    let empty = i == 0;
                    pos += i + 2;
                    if empty {
                        return Ok(pos == buf.len());
                    }
                } else {
                    read_more(conn, buf).await?;
                }
            }
        }
        while buf.len() < pos + size + 2 {
            read_more(conn, buf).await?;
        }
        pos += size + 2;
    }
}

/// The client configuration: `push.ca_file`'s CAs, or the system's roots.
fn client_config(cfg: &PushConfig) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match &cfg.ca_file {
        Some(path) => {
            let pem = std::fs::read(path).with_context(|| format!("reading push.ca_file {}", path.display()))?;
            let mut reader = std::io::BufReader::new(pem.as_slice());
            for cert in rustls_pemfile::certs(&mut reader) {
                let cert = cert.with_context(|| format!("parsing push.ca_file {}", path.display()))?;
                roots.add(cert).with_context(|| format!("push.ca_file {}", path.display()))?;
            }
            if roots.is_empty() {
                bail!("push.ca_file {} holds no certificate", path.display());
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("https://127.0.0.1:8443/service-cloud/rest/cc-ai/v1/agentevent/pushresult").unwrap();
        assert_eq!(
            u,
            Url {
                authority: "127.0.0.1:8443".into(),
                host: "127.0.0.1".into(),
                port: 8443,
                target: "/service-cloud/rest/cc-ai/v1/agentevent/pushresult".into()
            }
        );
        let u = Url::parse("https://example.com?x=1").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.target.as_str()), ("example.com", 443, "/?x=1"));
        let u = Url::parse("https://[::1]:9443").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str(), u.authority.as_str()),
            ("::1", 9443, "/", "[::1]:9443")
        );
        assert_eq!(Url::parse("http://h/p"), None);
    }

    #[tokio::test]
    async fn chunked_answers_are_read_to_their_end() {
        // Already buffered in part, the rest arriving; then a clean end.
        let mut buf = b"5\r\nhel".to_vec();
        let mut rest: &[u8] = b"lo\r\n3;ext=1\r\n, w\r\n0\r\n\r\n";
        assert!(read_chunked(&mut rest, &mut buf).await.ok().unwrap());
        // Bytes after the end: not reusable.
        let mut buf = b"0\r\n\r\nHTTP".to_vec();
        assert!(!read_chunked(&mut (&[][..]), &mut buf).await.ok().unwrap());
        // A bad size, or a stream that ends early.
        let mut buf = b"zz\r\n".to_vec();
        assert!(read_chunked(&mut (&[][..]), &mut buf).await.is_err());
        let mut buf = b"5\r\nab".to_vec();
        assert!(read_chunked(&mut (&[][..]), &mut buf).await.is_err());
        let mut buf = b"ab".to_vec();
        let mut more: &[u8] = b"cd";
        assert!(read_to(&mut more, &mut buf, 4).await.is_ok());
        assert_eq!(buf, b"abcd");
    }

    #[test]
    fn request_head_in_the_vendors_case() {
        let u = Url::parse("https://h:1/p").unwrap();
        let r = request_bytes(&u, "g.AgentGateway1", "tok", b"{}");
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "POST /p HTTP/1.1\r\nHost: h:1\r\nContent-Type: application/json;charset=UTF-8\r\nGuid: g.AgentGateway1\r\n\
             service_token: tok\r\nContent-Length: 2\r\n\r\n{}"
        );
    }
}

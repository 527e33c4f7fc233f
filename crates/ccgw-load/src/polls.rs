//! The `polls` scenario: N signed-in agents, each holding an open event long
//! poll on its own TLS connection, and the gateway's resident memory while
//! all of them wait.
//!
//! Client side, every poll is one small task owning its connection and
//! speaking HTTP/1.1 by hand (no hyper connection task, no channel): write
//! `GET agentevent/{id}`, read the answer, adopt a rotated GUID, poll again.
//! Sockets are spread over source addresses 127.R.0.1, 127.R.0.2, ... (all of
//! 127.0.0.0/8 is loopback on Linux) so that the ~28 000 ephemeral ports of
//! one source address do not run out. `R` is random per run: the sockets a
//! previous run closed linger in TIME_WAIT for a minute and keep their ports
//! bound, so back-to-back runs must not share source addresses.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Semaphore;

use crate::api::{self, SignInOptions, paths};
use crate::client::{AgentSession, Client, Connector, RawStream, extract_retcode, parse_set_guid};
use crate::fleet;
use crate::progress::{Counters, PROGRESS_EVERY, Progress};
use crate::report::PollsMemory;
use crate::stats::{InterfaceRow, StatsSet};
use crate::sys;

/// Poll connections per source address (of ~28 000 ephemeral ports each;
/// `bind` scans one half of the range first).
const CONNECTIONS_PER_SOURCE: usize = 8_000;
/// Connections being opened (TCP + TLS handshake) at once.
const CONNECTS_IN_FLIGHT: usize = 64;
/// A poll is answered after ~10 s without events; this is the give-up point.
const POLL_TIMEOUT: Duration = Duration::from_secs(40);
/// Largest response head accepted.
const MAX_HEAD: usize = 16 * 1024;

const ROW_SIGN_IN: &str = "signin (cheap hash)";
const ROW_CONNECT: &str = "connect + TLS";
const ROW_POLL: &str = "agentevent (long poll)";

/// What the scenario needs from the bench.
pub struct PollsConfig {
    pub ids: Vec<u32>,
    pub public: Arc<Connector>,
    pub admin: Option<Arc<Connector>>,
    /// Sign-in / sign-out concurrency.
    pub connections: usize,
    pub options: SignInOptions,
    /// How long to keep all polls open once they are (and sample memory).
    pub hold: Duration,
    /// The gateway process whose memory is read; `None` = not measured.
    pub server_pid: Option<u32>,
}

pub struct PollsOutcome {
    pub rows: Vec<InterfaceRow>,
    pub notes: Vec<String>,
    pub memory: Option<PollsMemory>,
}

/// State shared by all poll tasks.
#[derive(Default)]
struct Shared {
    /// Poll requests written and not answered yet.
    waiting: AtomicUsize,
    /// Tasks that have written their first poll.
    started: AtomicUsize,
    stats: Mutex<StatsSet>,
    first_error: Mutex<Option<String>>,
}

impl Shared {
    fn error(&self, key: &str, detail: impl FnOnce() -> String) {
        self.stats.lock().expect("stats lock poisoned").get(ROW_POLL).record_failure(key);
        let mut first = self.first_error.lock().expect("error lock poisoned");
        if first.is_none() {
            *first = Some(detail());
        }
    }
}

pub async fn run(config: PollsConfig) -> anyhow::Result<PollsOutcome> {
    let n = config.ids.len();
    let mut notes = Vec::new();
    let memory_before = config.server_pid.and_then(|pid| sys::process_memory(Some(pid)).ok());

    // 1. Sign in (cheap hashes: seconds, not minutes).
    eprintln!("  polls: signing in {n} agents ...");
    let mut sign_in_stats = StatsSet::default();
    let sign_in_started = Instant::now();
    let counters = Arc::new(Counters::default());
    let results = {
        let _progress = Progress::start("polls sign-in", n, counters.clone());
        let clients = (0..config.connections.clamp(1, n.max(1))).map(|_| Client::new(config.public.clone())).collect();
        fleet::timed_strict_sign_ins(clients, config.ids.clone(), config.options.clone(), counters).await
    };
    let sign_in_elapsed = sign_in_started.elapsed();
    let mut sessions = Vec::with_capacity(n);
    let mut first_sign_in_error = None;
    for (latency, result) in results {
        match result {
            Ok(signed_in) => {
                sign_in_stats.get(ROW_SIGN_IN).record_success(latency);
                sessions.push(Arc::new(signed_in.session));
            }
            Err(error) => {
                sign_in_stats.get(ROW_SIGN_IN).record_failure(&error.retcode);
                first_sign_in_error.get_or_insert(error);
            }
        }
    }
    if let Some(error) = first_sign_in_error {
        let note = format!("SIGN-IN ERRORS; first: {error}");
        eprintln!("error: {note}");
        notes.push(note);
    }

    // 2. One connection and one long poll per agent.
    let addr = config.public.resolve().await?;
    let sources = source_addresses(addr.ip(), sessions.len(), rand::random_range(1..=254));
    match sources.first() {
        Some(first) => notes.push(format!(
            "poll sockets spread over {} source addresses {first}..{} (<= {CONNECTIONS_PER_SOURCE} each)",
            sources.len(),
            sources.last().expect("not empty")
        )),
        None => notes.push(format!(
            "target {} is not IPv4 loopback: poll sockets use the default source address \
             (ephemeral ports allow ~28 000 connections per client address)",
            addr.ip()
        )),
    }
    eprintln!("  polls: opening {} connections and long polls ...", sessions.len());
    let shared = Arc::new(Shared::default());
    let gate = Arc::new(Semaphore::new(CONNECTS_IN_FLIGHT));
    let host = config.public.host_header().to_str().unwrap_or_default().to_owned();
    let host: Arc<str> = Arc::from(host);
    let connect_started = Instant::now();
    let tasks: Vec<_> = sessions
        .iter()
        .enumerate()
        .map(|(i, session)| {
            let source = (!sources.is_empty()).then(|| sources[i % sources.len()]);
            tokio::spawn(poll_task(
                session.clone(),
                config.public.clone(),
                addr,
                source,
                host.clone(),
                gate.clone(),
                shared.clone(),
            ))
        })
        .collect();

    let open_deadline = Instant::now() + Duration::from_secs(60) + Duration::from_millis(3 * n as u64);
    let target = sessions.len();
    let mut next_progress = Instant::now() + PROGRESS_EVERY;
    while shared.started.load(Ordering::Relaxed) < target && Instant::now() < open_deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if Instant::now() >= next_progress {
            next_progress += PROGRESS_EVERY;
            eprintln!(
                "  polls: {}/{target} polls opened, {} waiting, {} errors, {:.0} s",
                shared.started.load(Ordering::Relaxed),
                shared.waiting.load(Ordering::Relaxed),
                shared.stats.lock().expect("stats lock poisoned").get(ROW_POLL).error_count(),
                connect_started.elapsed().as_secs_f64()
            );
        }
    }
    let connect_elapsed = connect_started.elapsed();
    let opened = shared.started.load(Ordering::Relaxed);
    notes.push(format!(
        "{opened} of {} signed-in agents opened a long poll in {:.1} s",
        sessions.len(),
        connect_elapsed.as_secs_f64()
    ));
    if opened < target {
        let note = format!("ONLY {opened} OF {target} POLLS OPENED within {:?}", open_deadline - connect_started);
        eprintln!("error: {note}");
        notes.push(note);
    }

    // 3. All polls waiting: read the gateway's memory, then hold them open.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let tolerance = (opened / 1000).max(1);
    let mut waiting_at_sample = shared.waiting.load(Ordering::Relaxed);
    let settle_deadline = Instant::now() + Duration::from_secs(5);
    while waiting_at_sample + tolerance < opened && Instant::now() < settle_deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waiting_at_sample = shared.waiting.load(Ordering::Relaxed);
    }
    let sample = config.server_pid.map(|pid| sys::process_memory(Some(pid)));
    let connections_open = match &config.admin {
        Some(admin) => api::metric(&mut Client::new(admin.clone()), "ccgw_connections_open{listener=\"agent\"}")
            .await
            .ok()
            .flatten(),
        None => None,
    };
    eprintln!("  polls: {waiting_at_sample} polls waiting; holding them for {:?} ...", config.hold);
    let hold_started = Instant::now();
    let mut max_rss = sample.as_ref().and_then(|s| s.as_ref().ok()).map_or(0, |m| m.rss_kib);
    while hold_started.elapsed() < config.hold {
        tokio::time::sleep(Duration::from_secs(1).min(config.hold)).await;
        if let Some(Ok(memory)) = config.server_pid.map(|pid| sys::process_memory(Some(pid))) {
            max_rss = max_rss.max(memory.rss_kib);
        }
    }
    let waiting_at_end = shared.waiting.load(Ordering::Relaxed);
    let end = config.server_pid.map(|pid| sys::process_memory(Some(pid)));
    let client = sys::process_memory(None).ok();

    for task in &tasks {
        task.abort();
    }
    for task in tasks {
        let _ = task.await;
    }

    let memory = match (config.server_pid, sample, end) {
        (Some(pid), Some(Ok(sample)), Some(Ok(end))) => {
            let per = |kib: u64| if opened > 0 { kib as f64 * 1024.0 / opened as f64 } else { 0.0 };
            let before = memory_before.map(|m| m.rss_kib);
            Some(PollsMemory {
                server_pid: pid,
                polls_requested: n,
                polls_open: opened,
                polls_waiting_at_sample: waiting_at_sample,
                polls_waiting_at_end: waiting_at_end,
                server_connections_open: connections_open,
                rss_before_kib: before,
                rss_kib: sample.rss_kib,
                rss_max_during_hold_kib: max_rss.max(end.rss_kib),
                hwm_kib: end.hwm_kib,
                bytes_per_agent: per(sample.rss_kib),
                delta_bytes_per_agent: before.map(|b| per(sample.rss_kib.saturating_sub(b))),
                client_rss_kib: client.map(|m| m.rss_kib),
            })
        }
        (Some(pid), sample, _) => {
            let error = match sample {
                Some(Err(error)) => format!("{error:#}"),
                _ => "no sample".into(),
            };
            notes.push(format!("server memory of pid {pid} could not be read: {error}"));
            None
        }
        (None, _, _) => {
            notes.push("server memory not measured: the gateway was not spawned; give --server-pid".into());
            None
        }
    };
    if let Some(error) = shared.first_error.lock().expect("error lock poisoned").take() {
        notes.push(format!("first poll error: {error}"));
    }

    eprintln!("  polls: signing {} agents out ...", sessions.len());
    let failures =
        fleet::sign_out_sessions(&config.public, sessions.iter().map(|s| &**s), config.connections.max(1)).await;
    if failures > 0 {
        notes.push(format!("{failures} agents could not be signed out"));
    }

    let mut rows = sign_in_stats.summarize(sign_in_elapsed);
    let stats = shared.stats.lock().expect("stats lock poisoned").clone();
    for interface in &stats.interfaces {
        let elapsed = if interface.name == ROW_CONNECT { connect_elapsed } else { connect_started.elapsed() };
        rows.push(interface.summarize(elapsed));
    }
    Ok(PollsOutcome { rows, notes, memory })
}

/// Source addresses `127.<run>.0.1..` for `connections` sockets to an IPv4
/// loopback target, [`CONNECTIONS_PER_SOURCE`] each; empty for other targets.
fn source_addresses(target: IpAddr, connections: usize, run: u8) -> Vec<IpAddr> {
    match target {
        IpAddr::V4(v4) if v4.is_loopback() => {
            let count = connections.div_ceil(CONNECTIONS_PER_SOURCE).clamp(1, 250);
            (0..count).map(|i| IpAddr::V4(Ipv4Addr::new(127, run, 0, 1 + i as u8))).collect()
        }
        _ => Vec::new(),
    }
}

/// One agent's connection and long-poll loop; reconnects after errors and
/// runs until aborted.
async fn poll_task(
    session: Arc<AgentSession>,
    connector: Arc<Connector>,
    addr: SocketAddr,
    source: Option<IpAddr>,
    host: Arc<str>,
    gate: Arc<Semaphore>,
    shared: Arc<Shared>,
) {
    let path = paths::events(session.agent_id());
    let mut first = true;
    loop {
        let connected = {
            let _permit = gate.acquire().await.expect("semaphore never closed");
            let started = Instant::now();
            let result = connector.connect_raw(addr, source).await;
            let mut stats = shared.stats.lock().expect("stats lock poisoned");
            match &result {
                Ok(_) => stats.get(ROW_CONNECT).record_success(started.elapsed()),
                Err(_) => stats.get(ROW_CONNECT).record_transport_error(),
            }
            result
        };
        match connected {
            Ok(RawStream::Plain(stream)) => poll_loop(stream, &session, &path, &host, &shared, &mut first).await,
            Ok(RawStream::Tls(stream)) => poll_loop(stream, &session, &path, &host, &shared, &mut first).await,
            Err(error) => {
                let mut first_error = shared.first_error.lock().expect("error lock poisoned");
                if first_error.is_none() {
                    *first_error = Some(format!("agent {}: {error:#}", session.agent_id()));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
}

/// Polls on `stream` until the connection fails or the server closes it.
async fn poll_loop<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    session: &AgentSession,
    path: &str,
    host: &str,
    shared: &Shared,
    first: &mut bool,
) {
    let mut buf = Vec::new();
    loop {
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json; charset=UTF-8\r\nguid: {}\r\n\r\n",
            session.guid()
        );
        let written = async {
            stream.write_all(request.as_bytes()).await?;
            stream.flush().await
        };
        if let Err(error) = written.await {
            shared.error("transport", || format!("agent {}: writing the poll: {error}", session.agent_id()));
            return;
        }
        drop(request);
        if std::mem::take(first) {
            shared.started.fetch_add(1, Ordering::Relaxed);
        }
        shared.waiting.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        let result = tokio::time::timeout(POLL_TIMEOUT, read_response(&mut stream, &mut buf)).await;
        shared.waiting.fetch_sub(1, Ordering::Relaxed);
        let response = match result {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                shared.error("transport", || format!("agent {}: {error:#}", session.agent_id()));
                return;
            }
            Err(_) => {
                shared.error("timeout", || {
                    format!("agent {}: no poll answer within {POLL_TIMEOUT:?}", session.agent_id())
                });
                return;
            }
        };
        if let Some(guid) = &response.set_guid {
            session.adopt(guid);
        }
        // Keep memory low while waiting: the next answer is small.
        if buf.capacity() > 4096 {
            buf = Vec::new();
        }
        if response.retcode == "0" {
            shared.stats.lock().expect("stats lock poisoned").get(ROW_POLL).record_success(sent.elapsed());
        } else {
            let key = if response.retcode.is_empty() {
                format!("HTTP {}", response.status)
            } else {
                response.retcode.clone()
            };
            shared.error(&key, || format!("agent {}: poll answered {key}", session.agent_id()));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if response.close {
            return;
        }
    }
}

/// The parts of a poll answer the scenario needs.
#[derive(Debug, PartialEq, Eq)]
struct PollResponse {
    status: u16,
    retcode: String,
    set_guid: Option<String>,
    close: bool,
}

/// Reads one HTTP/1.1 response with a `Content-Length` body into `buf` (cleared first).
async fn read_response<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> anyhow::Result<PollResponse> {
    buf.clear();
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        if buf.len() > MAX_HEAD {
            bail!("response head larger than {MAX_HEAD} bytes");
        }
        read_more(stream, buf).await?;
    };
    let (mut response, length) = parse_head(&buf[..head_end])?;
    let end = head_end + length;
    while buf.len() < end {
        read_more(stream, buf).await?;
    }
    response.retcode = extract_retcode(&buf[head_end..end]).unwrap_or_default();
    Ok(response)
}

async fn read_more<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> anyhow::Result<()> {
    if buf.capacity() - buf.len() < 512 {
        buf.reserve(1024);
    }
    if stream.read_buf(buf).await? == 0 {
        bail!("connection closed by the server");
    }
    Ok(())
}

/// Parses a response head: status, `Content-Length`, `Set-GUID`, `Connection: close`.
fn parse_head(head: &[u8]) -> anyhow::Result<(PollResponse, usize)> {
    let text = std::str::from_utf8(head).context("response head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let mut length = None;
    let mut response = PollResponse { status, retcode: String::new(), set_guid: None, close: false };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().with_context(|| format!("bad content-length {value:?}"))?);
        } else if name.eq_ignore_ascii_case("set-guid") {
            response.set_guid = parse_set_guid(value).map(str::to_owned);
        } else if name.eq_ignore_ascii_case("connection") {
            response.close = value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("transfer-encoding {value:?} is not supported by the poll client");
        }
    }
    let length = length.context("response without content-length")?;
    Ok((response, length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_loopback_sources() {
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let sources = source_addresses(loopback, 50_000, 9);
        assert_eq!(sources.len(), 7);
        assert_eq!(sources[0], IpAddr::V4(Ipv4Addr::new(127, 9, 0, 1)));
        assert_eq!(sources[6], IpAddr::V4(Ipv4Addr::new(127, 9, 0, 7)));
        assert_eq!(source_addresses(loopback, 10, 9).len(), 1);
        assert!(source_addresses("10.0.0.1".parse().unwrap(), 50_000, 9).is_empty());
    }

    #[test]
    fn parses_response_heads() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nSet-GUID: JSESSIONID=abc.AgentGateway0\r\nContent-Length: 42\r\n\r\n";
        let (response, length) = parse_head(head).unwrap();
        assert_eq!(length, 42);
        assert_eq!(response.status, 200);
        assert_eq!(response.set_guid.as_deref(), Some("abc.AgentGateway0"));
        assert!(!response.close);
        let (response, _) = parse_head(b"HTTP/1.1 503 x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n").unwrap();
        assert_eq!((response.status, response.close), (503, true));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn reads_split_responses() {
        let (mut server, mut client) = tokio::io::duplex(64);
        tokio::spawn(async move {
            let body = br#"{"message":"","retcode":"0"}"#;
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
            for chunk in [head.as_bytes(), &body[..5], &body[5..]] {
                server.write_all(chunk).await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        let mut buf = Vec::new();
        let response = read_response(&mut client, &mut buf).await.unwrap();
        assert_eq!(response.retcode, "0");
        assert_eq!(response.status, 200);
    }
}

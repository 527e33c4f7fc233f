//! A lean HTTP/1.1 server connection for the agent listener.
//!
//! hyper's HTTP/1 server keeps an 8 KiB read buffer and an 8 KiB write buffer per connection,
//! which dominated the memory of a connection waiting in a long poll. This loop keeps one read
//! buffer of 1 KiB (grown only for a large request head, up to `max_header_bytes`, and shrunk
//! back afterwards), reads each request's body in full before calling the app, and writes each
//! response (head and body) with one write from a per-connection buffer that is reused between
//! responses. While the app's future is pending (the long poll), the connection holds only the
//! stream, the two empty (released) buffers and that future.
//!
//! The app is called directly ([`App`]), with the request borrowed from the read buffer
//! ([`Request`]: method, path, query, the header fields as httparse found them, the body) and no
//! `http::Request`, header map or extensions built; an app that answers at once returns
//! [`Answer::Ready`] and costs no future at all. [`Response`] keeps a few headers inline.
//!
//! What it speaks: HTTP/1.0 and 1.1 with keep-alive and pipelining (answers in order), request
//! bodies with `Content-Length` or `Transfer-Encoding: chunked` (bounded by `max_body_bytes`),
//! `Expect: 100-continue`. Responses are always sent with `Content-Length` (the app's bodies are
//! small and complete). No upgrades, no HTTP/2. See docs/compat.md for the differences to hyper.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes};
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{Instant, timeout_at};

use crate::listener::{ListenerLimits, Phase};

// What only the tests' axum adapter (and the tests, through `super::*`) use.
#[cfg(test)]
use axum::{Router, body::Body, extract::ConnectInfo};
#[cfg(test)]
use hyper::body::Frame;

/// Initial (and resting) capacity of the per-connection read buffer.
const INIT_BUF: usize = 1024;
/// Most header fields in one request head (hyper's default too); more is answered with 431.
const MAX_HEADERS: usize = 100;
/// Longest chunk-size line (with extensions) or trailer line of a chunked body.
const MAX_CHUNK_LINE: usize = 1024;
/// A write buffer that grew beyond this for one large answer (the JS API, the OpenAPI document)
/// is given back after it.
const MAX_KEPT_WRITE_BUF: usize = 16 * 1024;
/// After an answer that leaves unread input (a rejected body, a malformed head), how much more
/// of it is read and thrown away, and for how long, before closing, so that the client gets to
/// read the answer instead of a reset.
const LINGER_BYTES: usize = 256 * 1024;
const LINGER_TIME: Duration = Duration::from_secs(2);
/// Bound on the TLS close_notify + FIN at the end of a connection.
const SHUTDOWN_TIME: Duration = Duration::from_secs(1);

/// What the connection calls for each request. Called synchronously with the request borrowed
/// from the connection's buffer; what the answer needs later it must copy into its future.
pub trait App: Send + Sync + 'static {
    fn call(&self, req: Request<'_>) -> Answer;
}

impl<T: App> App for Arc<T> {
    fn call(&self, req: Request<'_>) -> Answer {
        (**self).call(req)
    }
}

/// An app's answer: at once, or a future (the long poll, a sign-in's password check).
// Boxing the response would cost the common case an allocation; it is moved a few times instead.
#[allow(clippy::large_enum_variant)]
pub enum Answer {
    Ready(Response),
    Pending(Pin<Box<dyn Future<Output = Response> + Send>>),
}

impl Answer {
    /// Applies `f` to the response, now or when the future completes.
    pub fn map(self, f: impl FnOnce(&mut Response) + Send + 'static) -> Answer {
        match self {
            Answer::Ready(mut r) => {
                f(&mut r);
                Answer::Ready(r)
            }
            Answer::Pending(fut) => Answer::Pending(Box::pin(async move {
                let mut r = fut.await;
                f(&mut r);
                r
            })),
        }
    }
}

/// A request, borrowed from the connection's read buffer (valid during [`App::call`] only).
pub struct Request<'a> {
    pub method: Method,
    /// The target's path (origin form as sent; for another form, `http::Uri`'s path).
    pub path: &'a str,
    pub query: Option<&'a str>,
    #[allow(dead_code)] // read by the tests' axum adapter; part of the request all the same
    pub version: Version,
    pub headers: Fields<'a>,
    pub body: RequestBody,
    pub peer: SocketAddr,
}

/// The request's header fields, in order, as sent (names and values already validated as
/// `http`'s `HeaderName` and `HeaderValue` would).
#[derive(Clone, Copy)]
pub struct Fields<'a>(&'a [httparse::Header<'a>]);

impl<'a> Fields<'a> {
    /// The first field named `name` (ASCII case-insensitive), like `HeaderMap::get`.
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.0.iter().find(|f| f.name.eq_ignore_ascii_case(name)).map(|f| f.value)
    }

    /// [`Fields::get`] as text: `None` unless visible ASCII, like `HeaderValue::to_str`.
    pub fn get_str(&self, name: &str) -> Option<&'a str> {
        let v = self.get(name)?;
        if v.iter().all(|&b| (32..127).contains(&b) || b == b'\t') { std::str::from_utf8(v).ok() } else { None }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    #[allow(dead_code)] // read by the tests' axum adapter
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + use<'a> {
        self.0.iter().map(|f| (f.name, f.value))
    }
}

/// A request's body, read in full before the app is called.
pub enum RequestBody {
    Full(Bytes),
    /// Over `max_body_bytes` (and left unread): the app answers 413; the connection then closes.
    TooLarge,
}

/// An app's response. The body is complete (sent with `Content-Length`).
pub struct Response {
    pub status: StatusCode,
    pub headers: Headers,
    pub body: Bytes,
    /// Fired if the response cannot be written (see [`OnWriteFailure`]).
    pub on_failure: Option<OnWriteFailure>,
}

impl Response {
    pub fn new(status: StatusCode, body: impl Into<Bytes>) -> Self {
        Response { status, headers: Headers::default(), body: body.into(), on_failure: None }
    }
}

/// Headers kept inline: `Content-Type` and `Set-GUID` (or `Allow`). Few, because a response is
/// moved several times on its way out and every inline entry is 80 bytes to copy; more spill into
/// a `Vec` (CORS, `HEAD`).
const INLINE_HEADERS: usize = 2;

/// A response's headers, with `http::HeaderMap`'s semantics (`insert` replaces every value of the
/// name in place, `append` adds one, the values of one name are written together in the
/// position of its first) without its allocations: up to 2 inline, more in a `Vec`.
#[derive(Default)]
pub struct Headers {
    inline: [Option<(HeaderName, HeaderValue)>; INLINE_HEADERS],
    len: usize,
    more: Vec<(HeaderName, HeaderValue)>,
}

impl Headers {
    fn entries(&self) -> impl Iterator<Item = &(HeaderName, HeaderValue)> + Clone {
        self.inline[..self.len].iter().flatten().chain(&self.more)
    }

    fn push(&mut self, entry: (HeaderName, HeaderValue)) {
        if self.len < INLINE_HEADERS {
            self.inline[self.len] = Some(entry);
            self.len += 1;
        } else {
            self.more.push(entry);
        }
    }

    /// Sets `name` to `value` alone: the first value is replaced in place, any other removed.
    pub fn insert(&mut self, name: HeaderName, value: HeaderValue) {
        let mut value = Some(value);
        for slot in &mut self.inline[..self.len] {
            if matches!(slot, Some((n, _)) if *n == name) {
                match value.take() {
                    Some(v) => *slot = Some((name.clone(), v)),
                    None => *slot = None,
                }
            }
        }
        match value {
            None => self.more.retain(|(n, _)| *n != name),
            Some(v) => match self.more.iter().position(|(n, _)| *n == name) {
                Some(i) => {
                    self.more[i].1 = v;
                    let mut seen = 0;
                    self.more.retain(|(n, _)| {
                        seen += 1;
                        seen <= i + 1 || *n != name
                    });
                }
                None => self.push((name, v)),
            },
        }
    }

    /// Adds a value for `name` after its others.
    pub fn append(&mut self, name: HeaderName, value: HeaderValue) {
        self.push((name, value));
    }

    pub fn get(&self, name: &HeaderName) -> Option<&HeaderValue> {
        self.entries().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn contains_key(&self, name: &HeaderName) -> bool {
        self.get(name).is_some()
    }

    /// In `HeaderMap`'s order: names by their first value, each name's values together.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        let all = self.entries();
        all.clone()
            .enumerate()
            .filter(move |(i, (name, _))| !all.clone().take(*i).any(|(n, _)| n == name))
            .flat_map(move |(i, (name, _))| self.entries().skip(i).filter(move |(n, _)| n == name).map(|(n, v)| (n, v)))
    }
}

#[cfg(test)]
impl From<http::HeaderMap> for Headers {
    fn from(map: http::HeaderMap) -> Self {
        let mut headers = Headers::default();
        for (name, value) in &map {
            headers.append(name.clone(), value.clone());
        }
        headers
    }
}

/// Serves HTTP/1.x on one connection until it closes, honouring the shut-down phases: on
/// `Draining` an idle connection closes at once and one in the middle of a request finishes it
/// (with `connection: close`) and then closes; on `Abort` it is dropped.
pub(crate) async fn serve_connection<I, A>(
    io: I,
    peer: SocketAddr,
    app: A,
    limits: &ListenerLimits,
    phase: &mut watch::Receiver<Phase>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send,
    A: App,
{
    let state = ConnState { idle: AtomicBool::new(false), draining: AtomicBool::new(false), phase: phase.clone() };
    let mut conn =
        Conn { io, buf: Vec::with_capacity(INIT_BUF), out: Vec::new(), peer, app, limits, state: &state, fresh: true };
    let mut run = std::pin::pin!(conn.run());

    tokio::select! {
        r = run.as_mut() => {
            log_result(peer, r);
            return;
        }
        _ = phase.wait_for(|p| *p != Phase::Running) => {}
    }
    // Both futures are polled by this task, so `idle` is exactly "suspended waiting for the
    // first byte of the next request".
    if state.idle.load(Ordering::Relaxed) {
        return;
    }
    state.draining.store(true, Ordering::Relaxed);
    tokio::select! {
        r = run.as_mut() => log_result(peer, r),
        _ = phase.wait_for(|p| *p == Phase::Abort) => {}
    }
}

fn log_result(peer: SocketAddr, r: Result<(), ConnError>) {
    if let Err(e) = r {
        // Timeouts, resets and half-sent requests are routine on the open internet.
        tracing::debug!(%peer, error = %e, "connection ended with error");
    }
}

/// Why a connection ended early (for the debug log only).
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    #[error("timed out reading the request body")]
    BodyTimeout,
    #[error("timed out writing the response")]
    WriteTimeout,
    #[error("connection closed in the middle of a request")]
    Incomplete,
    #[error("the client left while its request was pending")]
    PeerGone,
}

/// Attached by the app to a response whose loss matters (a poll answer that carries an event):
/// fired when the response could not be written to the client (an error or the write
/// time-out), so that the app can take it back. Writing it to the socket is as far as the
/// server can see; a client that vanishes afterwards is not detected.
#[derive(Clone)]
pub struct OnWriteFailure(Arc<parking_lot::Mutex<Option<WriteFailureHook>>>);

type WriteFailureHook = Box<dyn FnOnce() + Send>;

impl OnWriteFailure {
    pub fn new(f: impl FnOnce() + Send + 'static) -> Self {
        OnWriteFailure(Arc::new(parking_lot::Mutex::new(Some(Box::new(f)))))
    }

    fn fire(&self) {
        if let Some(f) = self.0.lock().take() {
            f();
        }
    }
}

/// Whether the connection watches its socket while the app's future is pending.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Watch {
    /// Not before the app's future was first polled (most requests are answered at once).
    AfterFirstPoll,
    /// On every wake-up, before the app's future is polled again.
    Always,
    /// No more: the read buffer holds as much pipelined input as it may.
    Off,
}

/// Reads whatever the client sent while its request is pending, without blocking: pipelined
/// bytes are kept in `buf` (up to `max`), and the end of the stream (FIN, TLS close_notify) or an
/// error (a reset) means the client has left: `Err(PeerGone)`, and the request's future is
/// dropped. Registers the task for the socket's readability otherwise.
fn watch_peer<I: AsyncRead + Unpin>(
    io: &mut I,
    buf: &mut Vec<u8>,
    max: usize,
    cx: &mut Context<'_>,
) -> Result<Watch, ConnError> {
    let mut scratch = [0u8; 512];
    loop {
        if buf.len() >= max {
            return Ok(Watch::Off);
        }
        let room = scratch.len().min(max - buf.len());
        let mut rb = tokio::io::ReadBuf::new(&mut scratch[..room]);
        match Pin::new(&mut *io).poll_read(cx, &mut rb) {
            Poll::Pending => return Ok(Watch::Always),
            Poll::Ready(Ok(())) if rb.filled().is_empty() => return Err(ConnError::PeerGone),
            Poll::Ready(Ok(())) => buf.extend_from_slice(rb.filled()),
            Poll::Ready(Err(_)) => return Err(ConnError::PeerGone),
        }
    }
}

/// Flags shared between the connection loop and its shut-down watcher (same task).
struct ConnState {
    /// The loop is waiting for a new request and has no byte of it yet.
    idle: AtomicBool,
    /// Shut-down began: finish the current request, then close.
    draining: AtomicBool,
    /// The listener's phase as it is now, which `draining` may not show yet: shut-down wakes the
    /// waiting polls right after it broadcasts `Draining`, and a poll's answer can be written
    /// before this task has seen the broadcast. Read with `has_changed`, one atomic load.
    phase: watch::Receiver<Phase>,
}

impl ConnState {
    /// Whether shut-down has begun (the phase only ever moves away from `Running`).
    fn shutting_down(&self) -> bool {
        self.draining.load(Ordering::Relaxed) || !matches!(self.phase.has_changed(), Ok(false))
    }
}

struct Conn<'a, I, A> {
    io: I,
    /// Bytes read but not yet consumed: a partial head, or pipelined requests.
    buf: Vec<u8>,
    /// The response being written; kept empty between responses (and released while the app
    /// waits), so that its allocation is reused on a busy connection.
    out: Vec<u8>,
    peer: SocketAddr,
    app: A,
    limits: &'a ListenerLimits,
    state: &'a ConnState,
    /// No request head has been read yet: the first must come within `head_timeout`.
    fresh: bool,
}

/// What the loop carries from a request to its response.
struct Exchange {
    version: Version,
    is_head: bool,
    keep_alive: bool,
    /// Input of this request was left unread (a refused body): linger before closing.
    unread_input: bool,
}

/// How the request's body is delimited (RFC 9112 §6.3).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// A parsed request head, borrowing the read buffer.
struct Head<'b> {
    method: Method,
    target: &'b str,
    /// The target split into path and query, when it is a plain origin-form one (the common
    /// case); otherwise `http::Uri` splits it when the app is called.
    origin_form: Option<(&'b str, Option<&'b str>)>,
    version: Version,
    fields: &'b [httparse::Header<'b>],
    framing: Framing,
    keep_alive: bool,
    expect_continue: bool,
}

/// A complete head, taken from the buffer: answered (no body), or waiting for its body.
enum HeadStep {
    Answered(Answer),
    /// The head (still at the start of the buffer, `len` bytes) has a body to read first.
    Body {
        len: usize,
        framing: Framing,
        expect_continue: bool,
    },
}

impl Head<'_> {
    /// Calls `app` with this request.
    fn call<A: App>(&self, app: &A, body: RequestBody, peer: SocketAddr) -> Result<Answer, StatusCode> {
        let req = |path, query| Request {
            method: self.method.clone(),
            path,
            query,
            version: self.version,
            headers: Fields(self.fields),
            body,
            peer,
        };
        Ok(match self.origin_form {
            Some((path, query)) => app.call(req(path, query)),
            // Any other form (absolute, authority, `*`, unusual bytes): as `http::Uri` reads it.
            None => {
                let uri: Uri = self.target.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
                app.call(req(uri.path(), uri.query()))
            }
        })
    }
}

/// An origin-form target (`/path?query`) whose bytes `http::Uri` takes as they are, split as
/// `Uri::path` and `Uri::query` would: `None` for anything else, which goes through `Uri`.
fn split_origin_form(target: &str) -> Option<(&str, Option<&str>)> {
    let b = target.as_bytes();
    if b.len() < 2 || b[0] != b'/' || b.len() > u16::MAX as usize - 1 {
        return None;
    }
    let mut query = None;
    for (i, &c) in b.iter().enumerate() {
        match PLAIN_TARGET[c as usize] {
            PLAIN => {}
            QUESTION if query.is_none() => query = Some(i),
            QUESTION => {}
            _ => return None,
        }
    }
    Some(match query {
        None => (target, None),
        Some(i) => (&target[..i], Some(&target[i + 1..])),
    })
}

const NOT_PLAIN: u8 = 0;
const PLAIN: u8 = 1;
const QUESTION: u8 = 2;

/// The bytes [`split_origin_form`] takes as they are: unreserved, sub-delims, `/ : @ %`, and `?`.
static PLAIN_TARGET: [u8; 256] = {
    let mut t = [NOT_PLAIN; 256];
    let mut c = 0;
    while c < 256 {
        if (c as u8).is_ascii_alphanumeric() {
            t[c] = PLAIN;
        }
        c += 1;
    }
    let extra = b"/-._~!$&'()*+,;=:@%";
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = PLAIN;
        i += 1;
    }
    t[b'?' as usize] = QUESTION;
    t
};

impl<I, A> Conn<'_, I, A>
where
    I: AsyncRead + AsyncWrite + Unpin + Send,
    A: App,
{
    // The loop is split into `read_request`, the app's future and `respond`, each awaited as a
    // temporary, so that this future (which lives as long as the connection, inside its task) is
    // only as large as the largest step rather than the sum of every step's locals.
    async fn run(&mut self) -> Result<(), ConnError> {
        loop {
            if self.state.draining.load(Ordering::Relaxed) {
                return Ok(());
            }
            let mut ex = Exchange { version: Version::HTTP_11, is_head: false, keep_alive: true, unread_input: false };
            let response = match self.read_request(&mut ex).await? {
                None => return Ok(()),
                Some(Answer::Ready(response)) => response,
                Some(Answer::Pending(call)) => self.wait(call).await?,
            };
            let on_failure = self.respond(response, &mut ex);
            let out = std::mem::take(&mut self.out);
            let written = self.write(&out).await;
            self.out = out;
            self.out.clear();
            if self.out.capacity() > MAX_KEPT_WRITE_BUF {
                self.out = Vec::new();
            }
            if let Err(e) = written {
                if let Some(hook) = on_failure {
                    hook.fire();
                }
                return Err(e);
            }

            if !ex.keep_alive {
                if ex.unread_input {
                    self.linger().await;
                } else {
                    let _ = tokio::time::timeout(SHUTDOWN_TIME, self.io.shutdown()).await;
                }
                return Ok(());
            }
        }
    }

    /// Waits for the app's future, watching the socket meanwhile.
    async fn wait(&mut self, mut call: Pin<Box<dyn Future<Output = Response> + Send>>) -> Result<Response, ConnError> {
        let buf = &mut self.buf;
        let out = &mut self.out;
        let io = &mut self.io;
        let max_pipelined = self.limits.max_header_bytes.max(INIT_BUF);
        let mut watch = Watch::AfterFirstPoll;
        std::future::poll_fn(move |cx| {
            // Woken again while waiting: look at the socket before the app's future runs on, so
            // that a request whose client has left cannot go on to take an event (a long poll)
            // that nobody will read.
            if watch == Watch::Always {
                watch = watch_peer(io, buf, max_pipelined, cx)?;
            }
            let r = call.as_mut().poll(cx);
            if r.is_pending() {
                // The app waits (a long poll): give the buffers back meanwhile, unless the read
                // buffer holds pipelined bytes. Most requests are answered on the first poll and
                // keep them (and never pay for the socket watch).
                if buf.is_empty() && buf.capacity() > 0 {
                    *buf = Vec::new();
                }
                if out.capacity() > 0 {
                    *out = Vec::new();
                }
                if watch != Watch::Off {
                    watch = watch_peer(io, buf, max_pipelined, cx)?;
                }
            }
            r.map(Ok)
        })
        .await
    }

    /// The next request, with its body read in full, handed to the app. `None`: the connection
    /// is to close (the client left or idled out, or sent a head that was answered with an error
    /// here).
    async fn read_request(&mut self, ex: &mut Exchange) -> Result<Option<Answer>, ConnError> {
        let step = match self.read_head(ex).await? {
            None => return Ok(None),
            Some(Ok(step)) => step,
            Some(Err(status)) => {
                self.answer_error(status).await?;
                return Ok(None);
            }
        };
        let (len, framing, expect_continue) = match step {
            HeadStep::Answered(answer) => return Ok(Some(answer)),
            HeadStep::Body { len, framing, expect_continue } => (len, framing, expect_continue),
        };
        let Some(body) = self.read_body(len, framing, expect_continue, ex).await? else { return Ok(None) };
        match self.call_with_body(len, body) {
            Ok(answer) => Ok(Some(answer)),
            Err(status) => {
                ex.keep_alive = false;
                self.answer_error(status).await?;
                Ok(None)
            }
        }
    }

    /// The request's body, in full, before the app runs; the body starts at `start` in the
    /// buffer (after the head). A body over the limit is handed over as
    /// [`RequestBody::TooLarge`], which api.rs answers with 413; the connection then closes. A
    /// malformed chunked body is answered here with 400 and closes (`None`), like a malformed
    /// head.
    async fn read_body(
        &mut self,
        start: usize,
        framing: Framing,
        expect_continue: bool,
        ex: &mut Exchange,
    ) -> Result<Option<RequestBody>, ConnError> {
        Ok(Some(match framing {
            Framing::None => RequestBody::Full(Bytes::new()),
            Framing::Length(n) if n > self.limits.max_body_bytes as u64 => {
                ex.keep_alive = false;
                ex.unread_input = true;
                RequestBody::TooLarge
            }
            Framing::Length(n) => {
                let n = n as usize; // <= max_body_bytes
                if expect_continue && self.buf.len() - start < n {
                    self.write(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
                }
                RequestBody::Full(self.read_fixed(start, n).await?)
            }
            Framing::Chunked => {
                if expect_continue && self.buf.len() == start {
                    self.write(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
                }
                match self.read_chunked(start).await? {
                    Ok(bytes) => RequestBody::Full(bytes),
                    Err(ChunkError::TooLarge) => {
                        ex.keep_alive = false;
                        ex.unread_input = true;
                        RequestBody::TooLarge
                    }
                    Err(ChunkError::Malformed) => {
                        self.answer_error(StatusCode::BAD_REQUEST).await?;
                        return Ok(None);
                    }
                }
            }
        }))
    }

    /// Answers a request this loop refuses itself (malformed, too large a head) with `status`,
    /// an empty body and `Connection: close`, then closes.
    async fn answer_error(&mut self, status: StatusCode) -> Result<(), ConnError> {
        let mut out = Vec::with_capacity(128);
        encode_head(&mut out, Version::HTTP_11, status, &Headers::default(), Some(0), Some("close"));
        self.write(&out).await?;
        self.linger().await;
        Ok(())
    }

    /// Writes the app's response into `self.out`, returns its [`OnWriteFailure`] hook, if any,
    /// and sets whether to keep the connection.
    fn respond(&mut self, mut response: Response, ex: &mut Exchange) -> Option<OnWriteFailure> {
        let on_failure = response.on_failure.take();
        let headers = &mut response.headers;
        if has_token(headers, "close") || self.state.shutting_down() {
            ex.keep_alive = false;
        }
        // What to add to the app's `Connection` header, as hyper does.
        let connection = match (ex.version, ex.keep_alive) {
            (Version::HTTP_10, true) if !has_token(headers, "keep-alive") => Some("keep-alive"),
            (Version::HTTP_10, _) => None,
            (_, false) if !has_token(headers, "close") => Some("close"),
            _ => None,
        };
        let version = if ex.version == Version::HTTP_10 { Version::HTTP_10 } else { Version::HTTP_11 };
        let status = response.status;
        let no_body = ex.is_head
            || status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        let body = &response.body;
        if ex.is_head && !headers.contains_key(&header::CONTENT_LENGTH) {
            // The length of the body a GET would get, after the app's own headers (where axum,
            // which served this listener before, put it).
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let out = &mut self.out;
        out.reserve(160 + if no_body { 0 } else { body.len() });
        let body_len = if ex.is_head { None } else { Some(body.len()) };
        encode_head(out, version, status, headers, body_len, connection);
        if !no_body {
            out.extend_from_slice(body);
        }
        on_failure
    }

    /// Reads until a full request head is buffered and takes it ([`Conn::take_head`]). `None`:
    /// the client closed the connection, stayed silent for `idle_timeout` between requests, or
    /// took longer than `head_timeout` over a head (from its first byte; from the start for a
    /// connection's first request): closed without an answer.
    async fn read_head(&mut self, ex: &mut Exchange) -> Result<Option<Result<HeadStep, StatusCode>>, ConnError> {
        let max = self.limits.max_header_bytes.max(INIT_BUF);
        let head_timeout = self.limits.head_timeout;
        let mut deadline = Instant::now() + if self.fresh { head_timeout } else { self.limits.idle_timeout };
        let mut head_started = self.fresh;
        loop {
            if !self.buf.is_empty() {
                if !head_started {
                    head_started = true;
                    deadline = deadline.min(Instant::now() + head_timeout);
                }
                match self.take_head(max, ex) {
                    Ok(Some(step)) => return Ok(Some(Ok(step))),
                    Ok(None) => {}
                    Err(status) => return Ok(Some(Err(status))),
                }
                if self.buf.len() >= max {
                    return Ok(Some(Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)));
                }
            }
            if self.buf.len() == self.buf.capacity() {
                let want = (self.buf.capacity() * 2).clamp(INIT_BUF, max);
                self.buf.reserve_exact(want - self.buf.len());
            }
            let room = max - self.buf.len();
            self.state.idle.store(self.buf.is_empty(), Ordering::Relaxed);
            let read = timeout_at(deadline, self.io.read_buf(&mut (&mut self.buf).limit(room))).await;
            self.state.idle.store(false, Ordering::Relaxed);
            match read {
                // Idle keep-alive or a slow head: close without an answer, like hyper.
                Err(_) => return Ok(None),
                Ok(Ok(0)) if self.buf.is_empty() => return Ok(None),
                Ok(Ok(0)) => return Err(ConnError::Incomplete),
                Ok(Ok(_)) => {}
                // A reset between requests is a normal way for a client to leave.
                Ok(Err(e)) if self.buf.is_empty() && is_disconnect(&e) => return Ok(None),
                Ok(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// Parses the head at the start of the buffer. `Ok(None)`: incomplete. A head without a
    /// body is handed to the app right here, borrowed from the buffer, and then consumed.
    fn take_head(&mut self, max: usize, ex: &mut Exchange) -> Result<Option<HeadStep>, StatusCode> {
        let mut fields = no_fields();
        let Some((head, len)) = parse_request_head(&self.buf, &mut fields)? else { return Ok(None) };
        if len > max {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        self.fresh = false;
        ex.version = head.version;
        ex.is_head = head.method == Method::HEAD;
        ex.keep_alive = head.keep_alive;
        if head.framing != Framing::None {
            return Ok(Some(HeadStep::Body { len, framing: head.framing, expect_continue: head.expect_continue }));
        }
        let answer = head.call(&self.app, RequestBody::Full(Bytes::new()), self.peer);
        self.buf.drain(..len);
        self.shrink();
        answer.map(|a| Some(HeadStep::Answered(a)))
    }

    /// Hands a request with a body to the app. The head is parsed again (it is still at the
    /// start of the buffer, `len` bytes) so that the request can borrow it: only requests with a
    /// body pay for that. Then the head is consumed.
    fn call_with_body(&mut self, len: usize, body: RequestBody) -> Result<Answer, StatusCode> {
        let mut fields = no_fields();
        let answer = match parse_request_head(&self.buf[..len], &mut fields) {
            Ok(Some((head, _))) => head.call(&self.app, body, self.peer),
            _ => Err(StatusCode::BAD_REQUEST),
        };
        self.buf.drain(..len);
        self.shrink();
        answer
    }

    /// A `Content-Length` body of `n` bytes (`n` already checked against the limit), starting at
    /// `start` in the buffer.
    async fn read_fixed(&mut self, start: usize, n: usize) -> Result<Bytes, ConnError> {
        let mut body = Vec::with_capacity(n);
        let have = n.min(self.buf.len() - start);
        body.extend_from_slice(&self.buf[start..start + have]);
        self.buf.drain(start..start + have);
        let deadline = Instant::now() + self.limits.idle_timeout;
        while body.len() < n {
            let room = n - body.len();
            match timeout_at(deadline, self.io.read_buf(&mut (&mut body).limit(room))).await {
                Err(_) => return Err(ConnError::BodyTimeout),
                Ok(Ok(0)) => return Err(ConnError::Incomplete),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e.into()),
            }
        }
        Ok(Bytes::from(body))
    }

    /// A chunked body starting at `start` in the buffer, decoded. The inner `Err`: malformed or
    /// over the limit (the rest of the body is left unread).
    async fn read_chunked(&mut self, start: usize) -> Result<Result<Bytes, ChunkError>, ConnError> {
        let mut decoder = ChunkedDecoder::new(self.limits.max_body_bytes);
        let mut body = Vec::new();
        let deadline = Instant::now() + self.limits.idle_timeout;
        // Lines are bounded by MAX_CHUNK_LINE and data is consumed as it comes, so the buffer
        // never needs more than this after the head.
        let cap = start + (2 * MAX_CHUNK_LINE).max(INIT_BUF);
        loop {
            match decoder.decode(&self.buf[start..], &mut body) {
                Ok((used, done)) => {
                    self.buf.drain(start..start + used);
                    if done {
                        return Ok(Ok(Bytes::from(body)));
                    }
                }
                Err(e) => return Ok(Err(e)),
            }
            if self.buf.len() == self.buf.capacity() {
                self.buf.reserve_exact(cap.saturating_sub(self.buf.len()).max(1));
            }
            let room = cap.saturating_sub(self.buf.len()).max(1);
            match timeout_at(deadline, self.io.read_buf(&mut (&mut self.buf).limit(room))).await {
                Err(_) => return Err(ConnError::BodyTimeout),
                Ok(Ok(0)) => return Err(ConnError::Incomplete),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// Gives the read buffer back to its resting size after a request that needed more (keeps
    /// pipelined bytes).
    fn shrink(&mut self) {
        if self.buf.capacity() > INIT_BUF {
            self.buf.shrink_to(self.buf.len().max(INIT_BUF));
        }
    }

    /// Writes and flushes `bytes`, bounded by `idle_timeout` (a client that stops reading).
    async fn write(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        let deadline = Instant::now() + self.limits.idle_timeout;
        let io = &mut self.io;
        match timeout_at(deadline, async move {
            io.write_all(bytes).await?;
            io.flush().await
        })
        .await
        {
            Ok(r) => r.map_err(ConnError::from),
            Err(_) => Err(ConnError::WriteTimeout),
        }
    }

    /// Closes after an answer that left input unread: end our side, then read and discard what
    /// the client still sends (bounded), so that closing does not reset the connection before
    /// the client has read the answer.
    async fn linger(&mut self) {
        let deadline = Instant::now() + LINGER_TIME;
        let _ = timeout_at(deadline, self.io.shutdown()).await;
        self.buf.clear();
        self.shrink();
        let mut discarded = 0;
        while discarded < LINGER_BYTES {
            self.buf.clear();
            match timeout_at(deadline, self.io.read_buf(&mut (&mut self.buf).limit(INIT_BUF))).await {
                Ok(Ok(n)) if n > 0 => discarded += n,
                _ => break,
            }
        }
    }
}

fn is_disconnect(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(e.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof)
}

/// A request body the app must not get: reading it fails (the tests' axum adapter).
#[cfg(test)]
struct Rejected;

#[cfg(test)]
impl hyper::body::Body for Rejected {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Ready(Some(Err(io::Error::new(io::ErrorKind::InvalidData, "request body over the limit"))))
    }
}

/// Parses a request head at the start of `buf`, into `fields`. `Ok(None)`: incomplete.
/// `Ok(Some((head, len)))`: the head and its length in bytes. Names and values are checked as
/// `http`'s `HeaderName` and `HeaderValue` would, and the target as `http::Uri` would (parsed only
/// when it is not a plain origin-form path), without building either.
fn parse_request_head<'b>(buf: &'b [u8], fields: &'b mut Fields0<'b>) -> Result<Option<(Head<'b>, usize)>, StatusCode> {
    let bad = StatusCode::BAD_REQUEST;
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        Err(_) => return Err(bad),
    };
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(bad);
    };
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| StatusCode::BAD_REQUEST)?;
    let origin_form = split_origin_form(target);
    if origin_form.is_none() {
        target.parse::<Uri>().map_err(|_| StatusCode::BAD_REQUEST)?;
    }
    let http11 = minor == 1;
    let version = if http11 { Version::HTTP_11 } else { Version::HTTP_10 };

    let mut content_length: Option<u64> = None;
    let mut transfer_encoding = false;
    let mut chunked = false;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut expect_continue = false;
    let mut hosts = 0u32;
    let fields: &'b [httparse::Header<'b>] = req.headers;
    for field in fields {
        // httparse takes exactly the names and values `http` does (checked by a test), so they
        // are not checked again here.
        let name = field.name.as_bytes();
        let value = field.value;
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_content_length(value).ok_or(StatusCode::BAD_REQUEST)?;
            if content_length.is_some_and(|prev| prev != n) {
                return Err(bad);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if !http11 {
                return Err(bad);
            }
            transfer_encoding = true;
            // Only the last coding counts ("gzip, chunked" is chunked on the wire).
            if let Some(last) = value.rsplit(|&b| b == b',').next() {
                chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            expect_continue = value.eq_ignore_ascii_case(b"100-continue");
        } else if name.eq_ignore_ascii_case(b"host") {
            hosts += 1;
            if !valid_host(value) {
                return Err(bad);
            }
        }
    }
    // RFC 9112 §3.2: 400 for an HTTP/1.1 request without `Host`, and for any request with more
    // than one `Host` field or an invalid one (HTTP/1.0 may leave it out).
    if hosts > 1 || (http11 && hosts == 0) {
        return Err(bad);
    }
    let framing = match (transfer_encoding, content_length) {
        // Both: a request-smuggling vector; refuse it.
        (true, Some(_)) => return Err(bad),
        (true, None) if chunked => Framing::Chunked,
        (true, None) => return Err(bad),
        (false, Some(0) | None) => Framing::None,
        (false, Some(n)) => Framing::Length(n),
    };
    let keep_alive = !close && (http11 || keep_alive_token);
    let expect_continue = expect_continue && http11;
    Ok(Some((Head { method, target, origin_form, version, fields, framing, keep_alive, expect_continue }, len)))
}

/// Room for the header fields of one head, left uninitialised until httparse fills it.
type Fields0<'b> = [std::mem::MaybeUninit<httparse::Header<'b>>; MAX_HEADERS];

fn no_fields<'b>() -> Fields0<'b> {
    [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS]
}

/// A `Host` field value: `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2). The empty
/// value is valid (RFC 9112 §3.2: what a client sends when the target has no authority).
fn valid_host(v: &[u8]) -> bool {
    let (host, port) = match v.first() {
        Some(b'[') => match v.iter().position(|&b| b == b']') {
            // IP-literal: IPv6address (with an RFC 6874 zone) or IPvFuture; its alphabet only.
            Some(end) => {
                let inner = &v[1..end];
                let ok = !inner.is_empty()
                    && inner.iter().all(|&b| b.is_ascii_alphanumeric() || b":._~-!$&'()*+,;=%".contains(&b));
                if !ok {
                    return false;
                }
                (&[][..], &v[end + 1..])
            }
            None => return false,
        },
        _ => match v.iter().position(|&b| b == b':') {
            Some(colon) => (&v[..colon], &v[colon..]),
            None => (v, &[][..]),
        },
    };
    // reg-name or IPv4address: unreserved, pct-encoded and sub-delims.
    let mut i = 0;
    while i < host.len() {
        let b = host[i];
        if b == b'%' {
            if !(i + 2 < host.len() && host[i + 1].is_ascii_hexdigit() && host[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
            continue;
        }
        if !(b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b)) {
            return false;
        }
        i += 1;
    }
    match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// `Content-Length`: digits only; a list of identical values ("5, 5") counts as one.
fn parse_content_length(v: &[u8]) -> Option<u64> {
    let mut result = None;
    for part in v.split(|&b| b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = part.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        if result.is_some_and(|r| r != n) {
            return None;
        }
        result = Some(n);
    }
    result
}

/// Whether any `Connection` header of `headers` has `token`.
fn has_token(headers: &Headers, token: &str) -> bool {
    headers
        .entries()
        .filter(|(name, _)| *name == header::CONNECTION)
        .any(|(_, v)| v.as_bytes().split(|&b| b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes())))
}

/// Status line and headers: the app's headers, then `Connection` (if given), `Content-Length` and
/// `Date` (unless the app set one). `body_len` is the length of the body that follows and replaces
/// the app's `Content-Length`; `None` (HEAD) keeps the app's.
///
/// Names are written in the case the vendor's server sends them (`Set-GUID`, `Content-Type`, ...):
/// some clients compare them case-sensitively (`header.getName().equals("Set-GUID")`), although
/// HTTP says they are case-insensitive. See [`write_name`].
fn encode_head(
    out: &mut Vec<u8>,
    version: Version,
    status: StatusCode,
    headers: &Headers,
    body_len: Option<usize>,
    connection: Option<&str>,
) {
    if version == Version::HTTP_11 && status == StatusCode::OK {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        out.extend_from_slice(if version == Version::HTTP_10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers.iter() {
        if (name == header::CONTENT_LENGTH && body_len.is_some()) || name == header::TRANSFER_ENCODING {
            continue;
        }
        write_name(out, name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(c) = connection {
        out.extend_from_slice(b"Connection: ");
        out.extend_from_slice(c.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(len) = body_len
        && !(status.is_informational() || status == StatusCode::NO_CONTENT)
    {
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(itoa_buf(len).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !headers.contains_key(&header::DATE) {
        out.extend_from_slice(b"Date: ");
        with_date(|d| out.extend_from_slice(d));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes a header name in its canonical case: the spelling the vendor (a Java servlet container)
/// sends for the names ccgw uses, and `Title-Case` for any other. `http` keeps names in lower case;
/// this costs one `match` on the name (no allocation) on the hot path.
fn write_name(out: &mut Vec<u8>, name: &HeaderName) {
    let canonical: &[u8] = match name.as_str() {
        "content-type" => b"Content-Type",
        "content-length" => b"Content-Length",
        "date" => b"Date",
        "set-guid" => b"Set-GUID",
        "connection" => b"Connection",
        "allow" => b"Allow",
        "vary" => b"Vary",
        "access-control-allow-origin" => b"Access-Control-Allow-Origin",
        "access-control-allow-methods" => b"Access-Control-Allow-Methods",
        "access-control-allow-headers" => b"Access-Control-Allow-Headers",
        "access-control-expose-headers" => b"Access-Control-Expose-Headers",
        "access-control-max-age" => b"Access-Control-Max-Age",
        "etag" => b"ETag",
        "www-authenticate" => b"WWW-Authenticate",
        other => {
            let mut upper = true;
            out.extend(other.bytes().map(|b| {
                let c = if upper { b.to_ascii_uppercase() } else { b };
                upper = b == b'-';
                c
            }));
            return;
        }
    };
    out.extend_from_slice(canonical);
}

/// Decimal digits of `n` without allocating.
pub(crate) struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

pub(crate) fn itoa_buf(mut n: usize) -> Digits {
    let mut d = Digits { buf: [0; 20], start: 20 };
    loop {
        d.start -= 1;
        d.buf[d.start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return d;
        }
    }
}

/// The `date` header value (RFC 9110 IMF-fixdate), formatted at most once per second per thread.
fn with_date<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    thread_local! {
        static DATE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
    }
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let text = httpdate::fmt_http_date(now);
            let n = text.len().min(29);
            cached.1[..n].copy_from_slice(&text.as_bytes()[..n]);
            cached.0 = secs;
        }
        f(&cached.1)
    })
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum ChunkError {
    Malformed,
    TooLarge,
}

#[derive(Debug, Clone, Copy)]
enum ChunkState {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// Trailer section; bytes seen so far.
    Trailer(usize),
    Done,
}

/// Incremental `Transfer-Encoding: chunked` decoder (RFC 9112 §7.1); trailers are discarded.
struct ChunkedDecoder {
    state: ChunkState,
    limit: usize,
}

impl ChunkedDecoder {
    fn new(limit: usize) -> Self {
        Self { state: ChunkState::Size, limit }
    }

    /// Decodes what it can of `input` into `out`: the bytes consumed, and whether the body ended.
    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(usize, bool), ChunkError> {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match self.state {
                ChunkState::Done => return Ok((pos, true)),
                ChunkState::Size => {
                    let Some(line) = take_line(rest)? else { return Ok((pos, false)) };
                    pos += line.len() + 2;
                    let size = parse_chunk_size(line)?;
                    if size == 0 {
                        self.state = ChunkState::Trailer(0);
                    } else {
                        if size > (self.limit - out.len()) as u64 {
                            return Err(ChunkError::TooLarge);
                        }
                        self.state = ChunkState::Data(size);
                    }
                }
                ChunkState::Data(left) => {
                    if rest.is_empty() {
                        return Ok((pos, false));
                    }
                    let n = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    out.extend_from_slice(&rest[..n]);
                    pos += n;
                    let left = left - n as u64;
                    self.state = if left == 0 { ChunkState::DataEnd } else { ChunkState::Data(left) };
                }
                ChunkState::DataEnd => {
                    if rest.len() < 2 {
                        return Ok((pos, false));
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(ChunkError::Malformed);
                    }
                    pos += 2;
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailer(seen) => {
                    let Some(line) = take_line(rest)? else { return Ok((pos, false)) };
                    pos += line.len() + 2;
                    let seen = seen + line.len() + 2;
                    if seen > 16 * MAX_CHUNK_LINE {
                        return Err(ChunkError::Malformed);
                    }
                    self.state = if line.is_empty() { ChunkState::Done } else { ChunkState::Trailer(seen) };
                }
            }
        }
    }
}

/// The line at the start of `rest` without its CRLF; `None` if it has not fully arrived.
fn take_line(rest: &[u8]) -> Result<Option<&[u8]>, ChunkError> {
    match rest.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && rest[i - 1] == b'\r' && i - 1 <= MAX_CHUNK_LINE => Ok(Some(&rest[..i - 1])),
        Some(_) => Err(ChunkError::Malformed),
        None if rest.len() > MAX_CHUNK_LINE => Err(ChunkError::Malformed),
        None => Ok(None),
    }
}

/// `1*HEXDIG [ BWS ; chunk-ext ]`. Any number of digits is legal (leading zeros included, e.g.
/// `0000000000000000005`); the line length is bounded by the caller, the value here: one that
/// does not fit 64 bits is over any body limit (`TooLarge`).
fn parse_chunk_size(line: &[u8]) -> Result<u64, ChunkError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(ChunkError::Malformed);
    }
    let ext = line[digits..].trim_ascii_start();
    if !(ext.is_empty() || ext[0] == b';') {
        return Err(ChunkError::Malformed);
    }
    let mut size = 0u64;
    for &d in &line[..digits] {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => d - b'A' + 10,
        };
        if size >> 60 != 0 {
            return Err(ChunkError::TooLarge);
        }
        size = (size << 4) | u64::from(v);
    }
    Ok(size)
}

/// The tests' apps are axum `Router`s (as the agent listener's was): called through `http`'s
/// types, as before.
#[cfg(test)]
impl App for Router {
    fn call(&self, req: Request<'_>) -> Answer {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let body = match req.body {
            RequestBody::Full(bytes) => Body::from(bytes),
            RequestBody::TooLarge => Body::new(Rejected),
        };
        let mut r = http::Request::new(body);
        *r.method_mut() = req.method;
        let target = match req.query {
            Some(q) => format!("{}?{q}", req.path),
            None => req.path.to_owned(),
        };
        *r.uri_mut() = target.parse().expect("a path the server took");
        *r.version_mut() = req.version;
        for (name, value) in req.headers.iter() {
            r.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).expect("checked"),
                HeaderValue::from_bytes(value).expect("checked"),
            );
        }
        r.extensions_mut().insert(ConnectInfo(req.peer));
        let router = self.clone();
        Answer::Pending(Box::pin(async move {
            let response = router.oneshot(r).await.unwrap_or_else(|never| match never {});
            let (mut parts, body) = response.into_parts();
            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let on_failure = parts.extensions.remove::<OnWriteFailure>();
            Response { status: parts.status, headers: parts.headers.into(), body, on_failure }
        }))
    }
}

/// [`parse_request_head`]'s length, for the tests.
#[cfg(test)]
fn parse_head(buf: &[u8]) -> Result<Option<usize>, StatusCode> {
    let mut fields = no_fields();
    parse_request_head(buf, &mut fields).map(|h| h.map(|(_, len)| len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    fn limits(idle: Duration) -> ListenerLimits {
        ListenerLimits {
            name: "test",
            max_connections: 16,
            max_connections_per_source: 0,
            max_header_bytes: 4096,
            max_body_bytes: 1024,
            tls_handshake_timeout: Duration::from_secs(5),
            idle_timeout: idle,
            head_timeout: idle,
        }
    }

    fn app() -> Router {
        Router::new()
            .route(
                "/",
                get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { format!("hello {}", peer.port()) }),
            )
            .route(
                "/guid",
                get(|| async {
                    (
                        [
                            (header::CONTENT_TYPE, "application/json;charset=UTF-8"),
                            (HeaderName::from_static("set-guid"), "JSESSIONID=g.AgentGateway0"),
                            (HeaderName::from_static("x-request-id"), "1"),
                            (header::ACCESS_CONTROL_EXPOSE_HEADERS, "Set-GUID"),
                        ],
                        "{}",
                    )
                }),
            )
            .route("/n/{n}", get(|axum::extract::Path(n): axum::extract::Path<u32>| async move { format!("n={n}") }))
            .route(
                "/echo",
                post(|body: Bytes| async move { format!("got {}: {}", body.len(), String::from_utf8_lossy(&body)) }),
            )
            .route(
                "/limited",
                post(|req: axum::extract::Request| async move {
                    match axum::body::to_bytes(req.into_body(), 1024).await {
                        Ok(b) => (StatusCode::OK, format!("ok {}", b.len())),
                        Err(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too large".to_owned()),
                    }
                }),
            )
    }

    /// Runs one connection over an in-memory duplex; returns the client end and the task.
    fn connect(limits: ListenerLimits) -> (DuplexStream, watch::Sender<Phase>, tokio::task::JoinHandle<()>) {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (tx, mut rx) = watch::channel(Phase::Running);
        let peer: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        let task = tokio::spawn(async move {
            serve_connection(server, peer, app(), &limits, &mut rx).await;
        });
        (client, tx, task)
    }

    /// [`connect`] with another app.
    fn connect_app(
        app: Router,
        limits: ListenerLimits,
    ) -> (DuplexStream, watch::Sender<Phase>, tokio::task::JoinHandle<()>) {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (tx, mut rx) = watch::channel(Phase::Running);
        let peer: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        let task = tokio::spawn(async move {
            serve_connection(server, peer, app, &limits, &mut rx).await;
        });
        (client, tx, task)
    }

    /// Sets its flag when dropped.
    struct DropFlag(Arc<AtomicBool>);

    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// A pending request (a long poll) whose client leaves is dropped at once, before it can
    /// complete: the connection watches its socket while the app's future waits.
    #[tokio::test]
    async fn a_pending_request_is_dropped_when_the_client_leaves() {
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = dropped.clone();
        let app = Router::new().route(
            "/hang",
            get(move || {
                let guard = DropFlag(flag.clone());
                async move {
                    std::future::pending::<()>().await;
                    drop(guard);
                    "never"
                }
            }),
        );
        let (mut c, _tx, task) = connect_app(app, limits(Duration::from_secs(30)));
        c.write_all(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!dropped.load(Ordering::SeqCst), "still waiting while the client is there");
        drop(c);
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("connection ends when the client leaves")
            .unwrap();
        assert!(dropped.load(Ordering::SeqCst), "the request's future was dropped");
    }

    /// Bytes the client pipelines while a request is pending are kept for the next request.
    #[tokio::test]
    async fn bytes_pipelined_during_a_pending_request_are_kept() {
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    "slow"
                }),
            )
            .route("/n/{n}", get(|axum::extract::Path(n): axum::extract::Path<u32>| async move { format!("n={n}") }));
        let (mut c, _tx, task) = connect_app(app, limits(Duration::from_secs(30)));
        c.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        c.write_all(b"GET /n/1 HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        c.write_all(b"Connection: close\r\n\r\n").await.unwrap();
        let text = read_all(&mut c).await;
        let (first, second) = text.split_once("slow").expect("first answer");
        assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(second.starts_with("HTTP/1.1 200 OK\r\n") && second.ends_with("\r\n\r\nn=1"), "{text}");
        drop(c);
        task.await.unwrap();
    }

    /// Everything the server sends until it closes (or 5 s pass).
    async fn read_all(client: &mut DuplexStream) -> String {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    /// How many complete responses (head + content-length body) `bytes` holds.
    fn complete_responses(bytes: &[u8]) -> usize {
        let text = String::from_utf8_lossy(bytes);
        let mut rest: &str = &text;
        let mut n = 0;
        while let Some((head, after)) = rest.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if after.len() < len {
                break;
            }
            n += 1;
            rest = &after[len..];
        }
        n
    }

    /// Reads until `n` complete responses have arrived (or 5 s pass).
    async fn read_responses(client: &mut DuplexStream, n: usize) -> String {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(5);
        while complete_responses(&out) < n {
            match timeout_at(deadline, client.read(&mut buf)).await {
                Ok(Ok(k)) if k > 0 => out.extend_from_slice(&buf[..k]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn pipelined_requests_are_answered_in_order() {
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        c.write_all(b"GET /n/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /n/2 HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /n/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let text = read_all(&mut c).await;
        let bodies: Vec<&str> =
            text.split("HTTP/1.1 200 OK\r\n").skip(1).map(|r| r.split("\r\n\r\n").nth(1).unwrap()).collect();
        assert_eq!(bodies, ["n=1", "n=2", "got 3: abc", "n=3"], "{text}");
        assert!(text.contains("Content-Length: 3\r\n"), "{text}");
        assert!(text.contains("\r\nDate: "), "{text}");
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn keep_alive_serves_many_requests_and_gets_the_peer() {
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        for _ in 0..3 {
            c.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
            let text = read_responses(&mut c, 1).await;
            assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
            assert!(text.ends_with("\r\n\r\nhello 4321"), "{text}");
            assert!(!text.contains("Connection:"), "{text}");
        }
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn chunked_body_is_decoded() {
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        c.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n")
            .await
            .unwrap();
        let text = read_responses(&mut c, 1).await;
        assert!(text.ends_with("\r\n\r\ngot 12: hello, world"), "{text}");
        // Chunks arriving in pieces, then the next request on the same connection.
        for piece in [
            &b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"3",
            b"\r\nab",
            b"c\r",
            b"\n0\r\n",
            b"\r\n",
        ] {
            c.write_all(piece).await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let text = read_responses(&mut c, 1).await;
        assert!(text.ends_with("\r\n\r\ngot 3: abc"), "{text}");
        // Over the limit: the app sees a failing body (413 here), then the connection closes.
        let big = format!(
            "POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n{}\r\n0\r\n\r\n",
            "x".repeat(0x800)
        );
        c.write_all(big.as_bytes()).await.unwrap();
        let text = read_all(&mut c).await;
        assert!(text.starts_with("HTTP/1.1 413 Payload Too Large\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn malformed_chunked_body_gets_400_and_closes() {
        for body in [
            &b"zz\r\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhelloXX0\r\n\r\n",
            b"5 x\r\nhello\r\n0\r\n\r\n",
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
        ] {
            let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
            c.write_all(b"POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n").await.unwrap();
            c.write_all(body).await.unwrap();
            let text = read_all(&mut c).await;
            assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{}: {text}", String::from_utf8_lossy(body));
            assert!(text.contains("Connection: close\r\n"), "{text}");
            drop(c);
            task.await.unwrap();
        }
        // A chunk size too large for 64 bits is over the limit, not malformed.
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        c.write_all(b"POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100000000000000000\r\nx")
            .await
            .unwrap();
        let text = read_all(&mut c).await;
        assert!(text.starts_with("HTTP/1.1 413 Payload Too Large\r\n"), "{text}");
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn zero_padded_chunk_sizes_are_legal() {
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        c.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0000000000000000005\r\nhello\r\n00000000000000000000000000000000\r\n\r\n")
            .await
            .unwrap();
        let text = read_all(&mut c).await;
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("got 5: hello"), "{text}");
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn host_must_be_present_once_and_valid() {
        for req in [
            // HTTP/1.1 without Host.
            &b"GET /n/1 HTTP/1.1\r\n\r\n"[..],
            // Two Host fields, in either version, even if equal.
            b"GET /n/1 HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n",
            b"GET /n/1 HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n",
            // Invalid values.
            b"GET /n/1 HTTP/1.1\r\nHost: a b\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nHost: user@x\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nHost: x:80:81\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nHost: x:http\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nHost: x/y\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nHost: [::1\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nHost: []\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nHost: [::1]x\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nHost: x%zz\r\n\r\n",
            b"GET /n/1 HTTP/1.0\r\nHost: a,b c\r\n\r\n",
        ] {
            let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
            c.write_all(req).await.unwrap();
            let text = read_all(&mut c).await;
            assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{}: {text}", String::from_utf8_lossy(req));
            assert!(text.contains("Connection: close\r\n"), "{text}");
            drop(c);
            task.await.unwrap();
        }
        for req in [
            &b"GET /n/1 HTTP/1.0\r\n\r\n"[..],
            b"GET /n/1 HTTP/1.1\r\nHost: 127.0.0.1:8043\r\nConnection: close\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nhost: Gateway.Example-1.com\r\nConnection: close\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nHost: [::1]:8043\r\nConnection: close\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\nConnection: close\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nHost: x%41:\r\nConnection: close\r\n\r\n",
            b"GET /n/1 HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n",
        ] {
            let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
            c.write_all(req).await.unwrap();
            let text = read_all(&mut c).await;
            assert!(text.ends_with("\r\n\r\nn=1"), "{}: {text}", String::from_utf8_lossy(req));
            drop(c);
            task.await.unwrap();
        }
    }

    #[tokio::test]
    async fn header_names_are_written_in_canonical_case() {
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        c.write_all(b"GET /guid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
        let text = read_all(&mut c).await;
        let head = text.split("\r\n\r\n").next().unwrap();
        let names: Vec<&str> = head.lines().skip(1).map(|l| l.split(':').next().unwrap()).collect();
        assert_eq!(
            names,
            [
                "Content-Type",
                "Set-GUID",
                "X-Request-Id",
                "Access-Control-Expose-Headers",
                "Connection",
                "Content-Length",
                "Date"
            ],
            "{text}"
        );
        assert!(head.contains("\r\nSet-GUID: JSESSIONID=g.AgentGateway0\r\n"), "{text}");
        assert!(head.contains("\r\nContent-Type: application/json;charset=UTF-8\r\n"), "{text}");
        assert!(head.contains("\r\nContent-Length: 2\r\n"), "{text}");
        drop(c);
        task.await.unwrap();
        // The heads this loop writes itself too.
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        c.write_all(b"GARBAGE\r\n\r\n").await.unwrap();
        let text = read_all(&mut c).await;
        assert!(
            text.starts_with("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\nDate: "),
            "{text}"
        );
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn expect_100_continue_is_answered_before_the_body() {
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        c.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], b"HTTP/1.1 100 Continue\r\n\r\n");
        c.write_all(b"ping").await.unwrap();
        let text = read_responses(&mut c, 1).await;
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("got 4: ping"), "{text}");
        // Over the limit: no 100, the answer comes at once.
        c.write_all(b"POST /limited HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
            .await
            .unwrap();
        let text = read_responses(&mut c, 1).await;
        assert!(text.starts_with("HTTP/1.1 413 Payload Too Large\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn connection_close_is_honoured() {
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        c.write_all(b"GET /n/7 HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\nGET /n/8 HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        let text = read_all(&mut c).await;
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nn=7"), "the pipelined request after close must not be answered: {text}");
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn http_1_0_closes_unless_keep_alive() {
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        c.write_all(b"GET /n/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").await.unwrap();
        let text = read_responses(&mut c, 1).await;
        assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
        assert!(text.contains("Connection: keep-alive\r\n"), "{text}");
        assert!(text.ends_with("n=1"), "{text}");
        c.write_all(b"GET /n/2 HTTP/1.0\r\n\r\n").await.unwrap();
        let text = read_all(&mut c).await;
        assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
        assert!(!text.contains("Connection:"), "{text}");
        assert!(text.ends_with("n=2"), "{text}");
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn oversized_head_gets_431() {
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        let req = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(8192));
        c.write_all(req.as_bytes()).await.unwrap();
        let text = read_all(&mut c).await;
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{text}");
        assert!(text.contains("Content-Length: 0\r\n"), "{text}");
        drop(c);
        task.await.unwrap();

        // Too many header fields too.
        let (mut c, _tx, task) =
            connect(ListenerLimits { max_header_bytes: 65_536, ..limits(Duration::from_secs(30)) });
        let many: String = (0..MAX_HEADERS + 1).map(|i| format!("X-{i}: v\r\n")).collect();
        c.write_all(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()).await.unwrap();
        let text = read_all(&mut c).await;
        assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_head_that_needed_a_large_buffer_gives_it_back() {
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        let req = format!("GET /n/5 HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(3000));
        c.write_all(req.as_bytes()).await.unwrap();
        assert!(read_responses(&mut c, 1).await.ends_with("n=5"));
        c.write_all(b"GET /n/6 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
        assert!(read_all(&mut c).await.ends_with("n=6"));
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn bad_requests_get_400_and_close() {
        for req in [
            &b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"[..],
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"GARBAGE\r\n\r\n",
            b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n",
            b"\x00\x01\x02\r\n\r\n",
        ] {
            let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
            c.write_all(req).await.unwrap();
            let text = read_all(&mut c).await;
            assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{}: {text}", String::from_utf8_lossy(req));
            assert!(text.contains("Connection: close\r\n"), "{text}");
            drop(c);
            task.await.unwrap();
        }
        // Repeated identical lengths are one length.
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        c.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\nConnection: close\r\n\r\nhi")
            .await
            .unwrap();
        assert!(read_all(&mut c).await.ends_with("got 2: hi"));
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn body_over_the_limit_is_refused_by_the_app_and_closes() {
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        let req = format!("POST /limited HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n{}", "x".repeat(2000));
        c.write_all(req.as_bytes()).await.unwrap();
        let text = read_all(&mut c).await;
        assert!(text.starts_with("HTTP/1.1 413 Payload Too Large\r\n"), "{text}");
        assert!(text.ends_with("too large"), "{text}");
        drop(c);
        task.await.unwrap();
        // Exactly at the limit is fine.
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        let req = format!(
            "POST /limited HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n{}",
            "x".repeat(1024)
        );
        c.write_all(req.as_bytes()).await.unwrap();
        assert!(read_all(&mut c).await.ends_with("ok 1024"));
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn head_requests_get_no_body() {
        let (mut c, _tx, task) = connect(limits(Duration::from_secs(30)));
        c.write_all(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /n/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let text = read_all(&mut c).await;
        // axum answers HEAD on a GET route with the GET's headers and no body.
        let (first, second) = text.split_once("\r\n\r\n").unwrap();
        assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(second.starts_with("HTTP/1.1 200 OK\r\n") && second.ends_with("n=1"), "{text}");
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn idle_timeout_closes() {
        let (mut c, _tx, task) = connect(limits(Duration::from_millis(300)));
        c.write_all(b"GET /n/1 HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        assert!(read_responses(&mut c, 1).await.ends_with("n=1"));
        // Idle between requests: closed after the timeout, without an answer.
        let started = Instant::now();
        let text = read_all(&mut c).await;
        assert_eq!(text, "");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(2), "{waited:?}");
        drop(c);
        task.await.unwrap();

        // A head that never completes (slowloris) is cut off too.
        let (mut c, _tx, task) = connect(limits(Duration::from_millis(300)));
        c.write_all(b"GET /n/1 HTTP/1.1\r\nX-Slow: ").await.unwrap();
        assert_eq!(read_all(&mut c).await, "");
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_slow_head_is_cut_off_after_head_timeout_not_idle_timeout() {
        let limits = || ListenerLimits { head_timeout: Duration::from_millis(300), ..limits(Duration::from_secs(30)) };
        // A head trickling in a byte at a time (slowloris), after a first request.
        let (mut c, _tx, task) = connect(limits());
        c.write_all(b"GET /n/1 HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        assert!(read_responses(&mut c, 1).await.ends_with("n=1"));
        // Idle between requests for longer than the head time-out: still open.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = Instant::now();
        let mut closed = false;
        for b in
            b"GET /n/2 HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        {
            if c.write_all(&[*b]).await.is_err() {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let text = read_all(&mut c).await;
        assert_eq!(text, "", "a slow head gets no answer");
        let waited = started.elapsed();
        assert!(closed || waited < Duration::from_secs(3), "{waited:?}");
        drop(c);
        tokio::time::timeout(Duration::from_secs(2), task).await.expect("cut off").unwrap();

        // A new connection that sends nothing is closed after the head time-out too.
        let (mut c, _tx, task) = connect(limits());
        let started = Instant::now();
        assert_eq!(read_all(&mut c).await, "");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(2), "{waited:?}");
        drop(c);
        task.await.unwrap();

        // A connection that has served a request idles for idle_timeout, not head_timeout.
        let (mut c, _tx, task) = connect(limits());
        c.write_all(b"GET /n/3 HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        assert!(read_responses(&mut c, 1).await.ends_with("n=3"));
        tokio::time::sleep(Duration::from_millis(800)).await;
        c.write_all(b"GET /n/4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
        assert!(read_all(&mut c).await.ends_with("n=4"));
        drop(c);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_closes_idle_connections_and_finishes_requests() {
        // Idle: closed as soon as draining starts.
        let (mut c, tx, task) = connect(limits(Duration::from_secs(60)));
        c.write_all(b"GET /n/1 HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        assert!(read_responses(&mut c, 1).await.ends_with("n=1"));
        tx.send(Phase::Draining).unwrap();
        tokio::time::timeout(Duration::from_secs(2), task).await.expect("idle connection closes").unwrap();

        // Half a request head: finished, answered with connection: close.
        let (mut c, tx, task) = connect(limits(Duration::from_secs(60)));
        c.write_all(b"GET /n/2 HTTP/1.1\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send(Phase::Draining).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        c.write_all(b"Host: x\r\n\r\n").await.unwrap();
        let text = read_all(&mut c).await;
        assert!(text.contains("Connection: close\r\n") && text.ends_with("n=2"), "{text}");
        drop(c);
        task.await.unwrap();

        // Abort drops whatever is left.
        let (mut c, tx, task) = connect(limits(Duration::from_secs(60)));
        c.write_all(b"GET /n/3 HTTP/1.1\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send(Phase::Draining).unwrap();
        tx.send(Phase::Abort).unwrap();
        tokio::time::timeout(Duration::from_secs(2), task).await.expect("aborted connection closes").unwrap();
    }

    #[test]
    fn no_input_panics_the_parsers() {
        // Every prefix of a few requests, and some noise: parse or reject, never panic.
        let samples: [&[u8]; 3] = [
            b"POST /a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: keep-alive, close\r\n\r\nhello",
            b"GET http://x/y HTTP/1.0\r\nExpect: 100-continue\r\nTransfer-Encoding: a, chunked\r\n\r\n",
            b"\r\n\r\nGET / HTTP/1.1\r\n\xff\xfe: \xff\r\n\r\n",
        ];
        for s in samples {
            for end in 0..=s.len() {
                let _ = parse_head(&s[..end]);
            }
        }
        let chunks: &[u8] = b"5\r\nhello\r\nfffffffffffffff\r\n0;x\r\na: b\r\n\r\n10\r\n\r\n\r\n";
        for end in 0..=chunks.len() {
            let mut out = Vec::new();
            let _ = ChunkedDecoder::new(64).decode(&chunks[..end], &mut out);
        }
        let mut out = Vec::new();
        assert_eq!(ChunkedDecoder::new(4).decode(b"5\r\nhello\r\n0\r\n\r\n", &mut out), Err(ChunkError::TooLarge));
        assert_eq!(ChunkedDecoder::new(64).decode(b"5\r\nhello\r\n0\r\n\r\n", &mut out), Ok((15, true)));
        assert_eq!(out, b"hello");
        assert_eq!(parse_content_length(b"12"), Some(12));
        assert_eq!(parse_content_length(b"1, 1"), Some(1));
        for bad in [&b""[..], b"+1", b"1 2", b"1,2", b"0x1", b"99999999999999999999"] {
            assert_eq!(parse_content_length(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(itoa_buf(0).as_bytes(), b"0");
        assert_eq!(itoa_buf(1234567).as_bytes(), b"1234567");
        with_date(|d| assert!(d.ends_with(b" GMT") && d.len() == 29, "{}", String::from_utf8_lossy(d)));
    }

    /// The header checks this loop leaves to httparse: it takes exactly the names and values
    /// `http::HeaderName` and `http::HeaderValue` take (every byte, in a name and in a value).
    #[test]
    fn httparse_takes_the_names_and_values_http_takes() {
        for b in 0..=255u8 {
            if b == b'\r' || b == b'\n' || b == b':' {
                continue;
            }
            let mut req = b"GET / HTTP/1.1\r\nHost: x\r\nAb".to_vec();
            req.push(b);
            req.extend_from_slice(b"c: v\r\n\r\n");
            let parsed = parse_head(&req).map(|h| h.is_some());
            assert_eq!(parsed.is_ok(), HeaderName::from_bytes(&[b'A', b'b', b, b'c']).is_ok(), "name byte {b:#x}");
            let mut req = b"GET / HTTP/1.1\r\nHost: x\r\nX: a".to_vec();
            req.push(b);
            req.extend_from_slice(b"c\r\n\r\n");
            let parsed = parse_head(&req);
            assert_eq!(parsed.is_ok(), HeaderValue::from_bytes(&[b'a', b, b'c']).is_ok(), "value byte {b:#x}");
        }
    }

    /// The origin-form fast path splits as `http::Uri` does, and passes anything unusual to it.
    #[test]
    fn origin_form_targets_split_as_uri_does() {
        let targets = [
            "/a",
            "/a/b?c=d",
            "/a?",
            "/a?b?c",
            "/a//b/",
            "/%41?x=%20",
            "/a?b=c&d=e;f",
            "/~a-b_c.d!$&'()*+,;=:@",
            "/",
            "*",
            "a",
            "/a#f",
            "/a?b#f",
            "/a\"b",
            "/a{b}",
            "/a?b=|",
            "http://x/y?z",
            "/\u{e9}",
        ];
        for t in targets {
            let uri = t.parse::<Uri>().ok();
            match split_origin_form(t) {
                Some((path, query)) => {
                    let uri = uri.unwrap_or_else(|| panic!("{t:?}: taken, but Uri refuses it"));
                    assert_eq!((path, query), (uri.path(), uri.query()), "{t:?}");
                }
                None => assert!(
                    !t.starts_with('/') || t.len() < 2 || t.bytes().any(|b| b"#\"{}|".contains(&b) || b > 127),
                    "{t:?}"
                ),
            }
        }
    }
}

//! The live wallboard on the admin listener: `/wallboard` (the page), `/wallboard/snapshot` (the
//! JSON it draws), `/wallboard/events` (the same snapshot every second as server-sent events),
//! and the page's script and style (public: they hold no data). The assets are embedded in the
//! binary (`assets/wallboard.*`): no build step, no CDN.
//!
//! Access: the operator token (`admin.token`) or the read-only `admin.wallboard_token`, as
//! `Authorization: Bearer …`, or once as `/wallboard?token=…`, which answers with a cookie
//! (HttpOnly, SameSite=Strict, Path=/wallboard, 12 h) and a redirect to `/wallboard`, so that
//! the token leaves the address bar and the history. Tokens are compared in constant time and
//! never logged; the cookie is accepted on `/wallboard` paths only.
//!
//! The snapshot reads every VDN once (O(agents + waiting calls)); the live feed computes it once
//! per second for all its clients together, and holds at most `admin.wallboard_max_clients`
//! clients (503 beyond). A feed ends when its client goes away or the gateway stops.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ccgw_domain::{Board, Counters};
use ccgw_store::Store;
use hyper::body::Frame;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::AdminState;
use crate::config::Secret;
use crate::gateway::{Gateway, now_ms};

/// The cookie that carries the token (hex-encoded) after `?token=`.
pub const COOKIE: &str = "ccgw_wallboard";
/// Intervals in a snapshot (3 hours at the default 15 minutes).
pub const INTERVALS_SHOWN: usize = 12;

const PAGE: &str = include_str!("../../assets/wallboard.html");
const SCRIPT: &str = include_str!("../../assets/wallboard.js");
const STYLE: &str = include_str!("../../assets/wallboard.css");

/// The page may load its own script and style and talk to its own origin, nothing else.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The live feed's shared state: its clients and the snapshot of the current second.
pub struct Feeds {
    clients: AtomicUsize,
    max_clients: usize,
    /// (second, snapshot JSON) computed once per second for every client.
    current: Mutex<Option<(u64, Bytes)>>,
    stop: watch::Receiver<bool>,
}

impl Feeds {
    pub fn new(max_clients: usize, stop: watch::Receiver<bool>) -> Self {
        Feeds { clients: AtomicUsize::new(0), max_clients, current: Mutex::new(None), stop }
    }

    /// Clients connected now.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }
}

/// Holds one client's place; gives it back when the feed ends.
struct ClientSlot(Arc<Feeds>);

impl ClientSlot {
    fn take(feeds: &Arc<Feeds>) -> Option<Self> {
        let taken = feeds
            .clients
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < feeds.max_clients).then_some(n + 1));
        taken.is_ok().then(|| ClientSlot(feeds.clone()))
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("ccgw_wallboard_clients").decrement(1.0);
    }
}

// ----- access ---------------------------------------------------------------------------------

fn equal_ct(a: &[u8], b: &[u8]) -> bool {
    // Without an early exit, so the time taken does not reveal the matching prefix.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `presented` is the operator or the wallboard token (both always compared).
fn accepted(tokens: [Option<&Secret>; 2], presented: &[u8]) -> bool {
    tokens.iter().flatten().fold(false, |ok, t| ok | equal_ct(t.expose().as_bytes(), presented))
}

fn tokens<S: Store>(gw: &Gateway<S>) -> [Option<&Secret>; 2] {
    [gw.config.admin.token.as_ref(), gw.config.admin.wallboard_token.as_ref()]
}

/// The token of the request: a bearer header, else the wallboard cookie.
fn presented(headers: &HeaderMap) -> Option<Vec<u8>> {
    let bearer =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if let Some(b) = bearer {
        return Some(b.as_bytes().to_vec());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .find_map(|v| hex::decode(v).ok())
}

/// `token` from the query string, percent-decoded.
fn query_token(uri: &Uri) -> Option<Vec<u8>> {
    let raw = uri.query()?.split('&').find_map(|p| p.strip_prefix("token="))?;
    percent_decode(raw)
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

fn no_wallboard() -> Response {
    plain(
        StatusCode::FORBIDDEN,
        "wallboard disabled: set admin.wallboard_token (CCGW_ADMIN__WALLBOARD_TOKEN) or admin.token\n",
    )
}

fn unauthorized() -> Response {
    plain(StatusCode::UNAUTHORIZED, "open /wallboard?token=<admin.wallboard_token or admin.token>\n")
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = (status, text).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

// The large `Err` is a ready response on a cold path; boxing it would buy nothing.
#[allow(clippy::result_large_err)]
fn authorize<S: Store>(gw: &Gateway<S>, headers: &HeaderMap) -> Result<(), Response> {
    let tokens = tokens(gw);
    if tokens.iter().all(Option::is_none) {
        return Err(no_wallboard());
    }
    match presented(headers) {
        Some(p) if accepted(tokens, &p) => Ok(()),
        _ => Err(unauthorized()),
    }
}

fn with_page_headers(mut r: Response, content_type: &'static str) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

// ----- handlers -------------------------------------------------------------------------------

pub(super) async fn page<S: Store>(State(st): State<Arc<AdminState<S>>>, uri: Uri, headers: HeaderMap) -> Response {
    let gw = &st.gw;
    if let Some(t) = query_token(&uri) {
        let tokens = tokens(gw);
        if tokens.iter().all(Option::is_none) {
            return no_wallboard();
        }
        if !accepted(tokens, &t) {
            return unauthorized();
        }
        let cookie = format!("{COOKIE}={}; Path=/wallboard; HttpOnly; SameSite=Strict; Max-Age=43200", hex::encode(&t));
        let mut r = StatusCode::SEE_OTHER.into_response();
        let h = r.headers_mut();
        h.insert(header::LOCATION, HeaderValue::from_static("/wallboard"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.insert(header::SET_COOKIE, v);
        }
        return r;
    }
    if let Err(r) = authorize(gw, &headers) {
        return r;
    }
    with_page_headers(PAGE.into_response(), "text/html; charset=utf-8")
}

pub async fn script() -> Response {
    with_page_headers(SCRIPT.into_response(), "application/javascript; charset=utf-8")
}

pub async fn style() -> Response {
    with_page_headers(STYLE.into_response(), "text/css; charset=utf-8")
}

pub(super) async fn snapshot<S: Store>(State(st): State<Arc<AdminState<S>>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&st.gw, &headers) {
        return r;
    }
    let mut r = Response::new(Body::from(snapshot_json(&st.gw, now_ms()).to_string()));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(super) async fn events<S: Store>(State(st): State<Arc<AdminState<S>>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&st.gw, &headers) {
        return r;
    }
    let Some(slot) = ClientSlot::take(&st.feeds) else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "too many wallboard clients\n");
    };
    metrics::gauge!("ccgw_wallboard_clients").increment(1.0);
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(feed(st.clone(), tx, slot));
    let mut r = Response::new(Body::new(Feed(rx)));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

/// Sends the snapshot every second until the client goes away (the body, and with it the
/// receiver, is dropped) or the gateway stops.
async fn feed<S: Store>(st: Arc<AdminState<S>>, tx: mpsc::Sender<Bytes>, slot: ClientSlot) {
    let _slot = slot;
    let mut stop = st.feeds.stop.clone();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut first = true;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
            _ = tx.closed() => return,
        }
        let data = current_snapshot(&st);
        let mut msg = Vec::with_capacity(data.len() + 32);
        if first {
            msg.extend_from_slice(b"retry: 2000\n");
            first = false;
        }
        msg.extend_from_slice(b"event: snapshot\ndata: ");
        msg.extend_from_slice(&data);
        msg.extend_from_slice(b"\n\n");
        tokio::select! {
            sent = tx.send(Bytes::from(msg)) => if sent.is_err() { return },
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// The snapshot of the current second, computed by the first client that asks in it.
fn current_snapshot<S: Store>(st: &AdminState<S>) -> Bytes {
    let now = now_ms();
    let second = now / 1000;
    let mut current = st.feeds.current.lock();
    if let Some((s, data)) = current.as_ref()
        && *s == second
    {
        return data.clone();
    }
    let data = Bytes::from(snapshot_json(&st.gw, now).to_string());
    *current = Some((second, data.clone()));
    data
}

/// The live feed's body: what the feed task sends, as it comes.
struct Feed(mpsc::Receiver<Bytes>);

impl HttpBody for Feed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|m| m.map(|b| Ok(Frame::data(b))))
    }
}

// ----- the snapshot ---------------------------------------------------------------------------

fn counters(c: &Counters) -> Value {
    json!({
        "offered": c.offered,
        "answered": c.answered,
        "answeredInTime": c.answered_in_time,
        "abandoned": c.abandoned,
        // Percent with one decimal; null while no call has an outcome.
        "serviceLevel": c.service_level_permille().map(|p| f64::from(p) / 10.0),
    })
}

fn states(s: &ccgw_domain::engine::StateCounts) -> Value {
    json!({
        "signedIn": s.signed_in(),
        "idle": s.idle,
        "busy": s.busy,
        "talking": s.talking,
        "work": s.work,
        "rest": s.rest,
    })
}

fn vdn_json(vdn: u32, name: &str, b: &Board) -> Value {
    let skills: Vec<Value> = b
        .skills
        .iter()
        .map(|s| {
            json!({
                "skillId": s.skill.0,
                "name": s.name,
                "waiting": s.waiting,
                "longestWaitMs": s.longest_wait_ms,
                "agents": states(&s.agents),
                "window": counters(&s.window),
            })
        })
        .collect();
    let intervals: Vec<Value> = b
        .intervals
        .iter()
        .map(|i| {
            let mut v = counters(&i.total());
            v["start"] = json!(i.start_ms);
            v
        })
        .collect();
    json!({
        "vdn": vdn,
        "name": name,
        "agents": states(&b.agents),
        "waiting": b.skills.iter().map(|s| s.waiting).sum::<usize>(),
        "longestWaitMs": b.skills.iter().map(|s| s.longest_wait_ms).max().unwrap_or(0),
        "window": counters(&b.window),
        "skills": skills,
        "intervals": intervals,
    })
}

/// Every VDN's board at `now`, as the page draws it.
pub fn snapshot_json<S: Store>(gw: &Gateway<S>, now: u64) -> Value {
    let stats = &gw.config.stats;
    let vdns: Vec<Value> = gw
        .store
        .vdns()
        .into_iter()
        .filter_map(|vdn| {
            let board = gw.read(vdn, |s| s.board(now, INTERVALS_SHOWN)).ok()?;
            let name = gw.directory.vdns.get(&vdn).map_or("", String::as_str);
            Some(vdn_json(vdn.0, name, &board))
        })
        .collect();
    json!({
        "at": now,
        "serviceLevelMs": stats.service_level_ms,
        "intervalMs": stats.interval_ms,
        "windowMs": stats.window_ms,
        "vdns": vdns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_bearer_cookie_and_query() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; ccgw_wallboard=6869; c=d"));
        assert_eq!(presented(&h), Some(b"hi".to_vec()));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer tok"));
        assert_eq!(presented(&h), Some(b"tok".to_vec()));
        let uri: Uri = "/wallboard?x=1&token=a%2Fb+c".parse().unwrap();
        assert_eq!(query_token(&uri), Some(b"a/b c".to_vec()));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        let (a, w) = (Secret::new("operator-token-0123"), Secret::new("wallboard-token-0123"));
        assert!(accepted([Some(&a), Some(&w)], b"wallboard-token-0123"));
        assert!(accepted([Some(&a), None], b"operator-token-0123"));
        assert!(!accepted([None, Some(&w)], b"wallboard-token-012"));
        assert!(!accepted([None, None], b""));
    }
}

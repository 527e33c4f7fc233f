//! The agent interface: one entry point that routes, authenticates, rate-limits, dispatches to
//! the gateway, writes the vendor's JSON and logs one access line per request.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ccgw_domain::{
    AgentId, CallId, DomainError, InitialState, SignInOptions, SkillId, TransferMode, TransferTarget, VdnId,
};
use ccgw_store::{Delivery, Requeued, Store};
use ccgw_wire::interface::{Family, Overload};
use ccgw_wire::request::{SignInRequest, TransferRequest};
use ccgw_wire::response::{self, CallInfo, SignInResult};
use ccgw_wire::retcode::{BODY_INVALID, INTERNAL, NOT_SIGNED_IN, OVERLOADED, PARAMETER_INVALID, WRONG_EVENT_METHOD};
use ccgw_wire::{Method, Retcode, event, jsapi, openapi, retcode};
use http::{HeaderValue, StatusCode, header};

use crate::cors::Cors;
use crate::gateway::{Gateway, SignInParams, now_ms};
use crate::http1::{self, Answer, OnWriteFailure, Request, RequestBody, Response};
use crate::limiter::Admit;

mod agentevent;
mod agentgroup;
mod calldata;
mod desk;
mod onlineagent;
mod qualitycontrol;
mod querymonitor;
mod queuedevice;
mod recordplay;
mod thirdcontrol;
mod voicecall;
use crate::routes::{RouteError, route};
use crate::telemetry::{self, AccessLog};

/// An answer with a body: body, its retcode (`"0"` for success) and the GUID to announce in
/// `Set-GUID`, if any.
struct Reply {
    body: Vec<u8>,
    code: &'static str,
    set_guid: Option<String>,
}

impl Reply {
    fn new(body: Vec<u8>) -> Self {
        Reply { body, code: "0", set_guid: None }
    }

    fn with_guid(body: Vec<u8>, guid: Option<String>) -> Self {
        Reply { body, code: "0", set_guid: guid }
    }

    /// A business error that still announces a GUID (to a client using the previous one).
    fn failed(rc: Retcode, guid: String) -> Self {
        Reply { body: response::error(rc), code: rc.code, set_guid: Some(guid) }
    }
}

/// Errors carry their retcode; `From<(Method, DomainError)>` is the only way domain errors
/// become retcodes.
type Outcome = Result<Reply, Retcode>;

pub const JSON: &str = "application/json;charset=UTF-8";

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(status, body);
    r.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    r
}

/// The agent interface as the agent listener's app (`crate::http1`): [`entry`], inside the CORS
/// layer when origins are configured.
pub(crate) struct AgentApp<S: Store> {
    pub gw: Arc<Gateway<S>>,
    pub cors: Option<Cors>,
}

impl<S: Store> http1::App for AgentApp<S> {
    fn call(&self, req: Request<'_>) -> Answer {
        match &self.cors {
            None => entry(&self.gw, req),
            Some(cors) => cors.wrap(req, |req| entry(&self.gw, req)),
        }
    }
}

/// An agent id as the vendor accepts it: digits only, 101 to the configured maximum.
pub fn parse_agent(s: &str, max: u32) -> Option<AgentId> {
    if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = s.parse().ok()?;
    (101..=max).contains(&n).then_some(AgentId(n))
}

/// Only a path with this in it can be a long poll (`//` and a trailing `/` are allowed, see routes.rs).
const AGENT_EVENT_SEGMENT: &str = "/agentevent/";

/// The single entry point of the agent interface, called by the listener's HTTP/1 loop with the
/// request borrowed from its buffer (`crate::http1`).
///
/// Most interfaces answer at once ([`Answer::Ready`]: no future, nothing copied out of the
/// request). A waiting long poll's connection holds the request's future for seconds, so that
/// future is kept small: the poll keeps only the agent id and GUID (not the request's headers),
/// boxed; sign-ins and password changes (argon2 off the async threads) are the other futures.
pub(crate) fn entry<S: Store>(gw: &Arc<Gateway<S>>, req: Request<'_>) -> Answer {
    let started = Instant::now();
    // Only poll-shaped requests are routed here; every other request is routed once, in `handle`.
    let maybe_poll = req.method == http::Method::GET && req.path.contains(AGENT_EVENT_SEGMENT);
    let long_poll = match maybe_poll.then(|| route(&req.method, req.path)) {
        Some(Ok(route)) if is_long_poll(route.method) => Some((
            route.method,
            route.agent.and_then(|a| parse_agent(a, gw.config.auth.max_workno())),
            req.headers.get_str("guid").map(str::to_owned),
            // JSONP: the callback's name (validated before the poll waits).
            (route.method == Method::GetJsonpAgentEvent)
                .then(|| query_param(req.query.unwrap_or(""), "callback"))
                .flatten(),
        )),
        _ => None,
    };
    match long_poll {
        Some((method, agent, guid, callback)) => {
            let poll = LongPoll { method, agent, guid, callback };
            Answer::Pending(Box::pin(long_poll_request(gw.clone(), started, Some(req.peer), req.method, poll)))
        }
        None => handle(gw, req, started),
    }
}

/// The interfaces answered as a long poll: the poll itself, its servlet-async twin and JSONP
/// (docs/compat.md), when the interface table routes them.
fn is_long_poll(method: Method) -> bool {
    matches!(method, Method::GetAgentEvent | Method::GetAgentEventInAsync | Method::GetJsonpAgentEvent)
        && method.interface().is_some_and(|i| i.is_routed())
}

/// What a long poll keeps while it waits.
struct LongPoll {
    method: Method,
    agent: Option<AgentId>,
    guid: Option<String>,
    /// `getJsonpAgentEvent`: the answer is `callback(json)`.
    callback: Option<String>,
}

/// `agentevent`: wait for the agent's next event.
async fn long_poll_request<S: Store>(
    gw: Arc<Gateway<S>>,
    started: Instant,
    peer: Option<SocketAddr>,
    http_method: http::Method,
    poll_of: LongPoll,
) -> Response {
    let LongPoll { method, agent, guid, callback } = poll_of;
    // Dropped unanswered when the client leaves while the poll waits (see http1.rs): one access
    // line says so.
    let mut pending = PendingPoll { access: gw.access_log.clone(), started, peer, method, agent, answered: false };
    let (outcome, delivery) = match agent {
        None => (Err(PARAMETER_INVALID), None),
        // A malformed callback is refused before the poll can take an event.
        Some(_) if callback.as_deref().is_some_and(|c| !agentevent::valid_callback(c)) => {
            (Err(PARAMETER_INVALID), None)
        }
        Some(agent) => poll(&gw, agent, guid.as_deref(), peer).await,
    };
    pending.answered = true;
    let (code, mut response) = match method {
        Method::GetJsonpAgentEvent => agentevent::jsonp(callback.as_deref(), outcome),
        _ => finish(StatusCode::OK, outcome),
    };
    if let (Some(agent), Some(delivery)) = (agent, delivery) {
        // The event goes back to the mailbox if the answer cannot be written.
        let gw = gw.clone();
        response.on_failure = Some(OnWriteFailure::new(move || {
            let requeued = match gw.requeue(agent, delivery) {
                Requeued::InOrder => "in_order",
                Requeued::Reordered => "reordered",
                Requeued::SessionGone => "session_gone",
            };
            tracing::debug!(agent = agent.0, requeued, "poll answer not written; event requeued");
            metrics::counter!("ccgw_poll_answers_unwritten_total", "requeued" => requeued).increment(1);
        }));
    }
    log(gw.access_log.as_deref(), started, peer, &http_method, method, agent, StatusCode::OK, code);
    response
}

/// A long poll in progress; logs it as abandoned (status 499, as nginx calls a request whose
/// client closed the connection first) if dropped before it was answered.
struct PendingPoll {
    access: Option<Arc<AccessLog>>,
    started: Instant,
    peer: Option<SocketAddr>,
    method: Method,
    agent: Option<AgentId>,
    answered: bool,
}

impl Drop for PendingPoll {
    fn drop(&mut self) {
        if !self.answered {
            let status = StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST);
            let access = self.access.as_deref();
            log(access, self.started, self.peer, &http::Method::GET, self.method, self.agent, status, "abandoned");
        }
    }
}

/// Every request but the long poll.
fn handle<S: Store>(gw: &Arc<Gateway<S>>, req: Request<'_>, started: Instant) -> Answer {
    let peer = Some(req.peer);
    let http_method = &req.method;
    let path = req.path;
    let max_workno = gw.config.auth.max_workno();
    let (method, agent, status, outcome) = match route(http_method, path) {
        Err(RouteError::NotFound) if *http_method == http::Method::GET && path == openapi::PATH => {
            (Method::OpenApi, None, StatusCode::OK, Ok(Reply::new(OPENAPI.as_bytes().to_vec())))
        }
        Err(RouteError::NotFound)
            if matches!(*http_method, http::Method::GET | http::Method::HEAD) && path == jsapi::PATH =>
        {
            let js: &'static str = &JS_API;
            let mut r = Response::new(StatusCode::OK, Bytes::from_static(js.as_bytes()));
            r.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JAVASCRIPT));
            log(gw.access_log.as_deref(), started, peer, http_method, Method::ResourceJs, None, StatusCode::OK, "0");
            return Answer::Ready(r);
        }
        Err(RouteError::NotFound)
            if matches!(*http_method, http::Method::GET | http::Method::HEAD) && desk::is_asset(path) =>
        {
            log(gw.access_log.as_deref(), started, peer, http_method, Method::Desk, None, StatusCode::OK, "0");
            return Answer::Ready(desk::asset(path));
        }
        Err(RouteError::NotFound) => (Method::NotFound, None, StatusCode::NOT_FOUND, Err(NO_SUCH_INTERFACE)),
        Err(RouteError::MethodNotAllowed { method, allow }) => {
            let mut r = finish(StatusCode::METHOD_NOT_ALLOWED, Err(METHOD_NOT_ALLOWED)).1;
            r.headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            let (status, code) = (StatusCode::METHOD_NOT_ALLOWED, METHOD_NOT_ALLOWED.code);
            log(gw.access_log.as_deref(), started, peer, http_method, method, None, status, code);
            return Answer::Ready(r);
        }
        Ok(route) if !route.method.interface().is_some_and(|i| i.is_routed()) => {
            (route.method, None, StatusCode::NOT_FOUND, Err(NOT_IMPLEMENTED))
        }
        Ok(route) => {
            // `None`: the interface has no agent id in its path; `Some(None)`: a malformed one.
            let agent = route.agent.map(|a| parse_agent(a, max_workno));
            let (outcome, status) = match (agent, req.body) {
                (Some(None), _) => (Err(PARAMETER_INVALID), StatusCode::OK),
                (_, RequestBody::TooLarge) => (Err(BODY_INVALID), StatusCode::PAYLOAD_TOO_LARGE),
                (_, RequestBody::Full(bytes)) => {
                    let guid = req.headers.get_str("guid");
                    let query = req.query.unwrap_or("");
                    let agent = agent.flatten();
                    match dispatch(gw, route.method, agent, &route.params, guid, peer, query, bytes) {
                        Dispatched::Done(outcome) => (outcome, StatusCode::OK),
                        Dispatched::Later(later) => {
                            let (gw, http_method, method) = (gw.clone(), http_method.clone(), route.method);
                            return Answer::Pending(Box::pin(async move {
                                let (code, response) = finish(StatusCode::OK, later.await);
                                let access = gw.access_log.as_deref();
                                log(access, started, peer, &http_method, method, agent, StatusCode::OK, code);
                                response
                            }));
                        }
                    }
                }
            };
            (route.method, agent.flatten(), status, outcome)
        }
    };
    let (code, response) = finish(status, outcome);
    log(gw.access_log.as_deref(), started, peer, http_method, method, agent, status, code);
    Answer::Ready(response)
}

/// The browser JS API, generated from the interface table (built once, on the first request).
static JS_API: std::sync::LazyLock<String> = std::sync::LazyLock::new(jsapi::document);
const JAVASCRIPT: &str = "application/javascript;charset=UTF-8";

/// The OpenAPI document of the interfaces served (built once, on the first request for it).
static OPENAPI: std::sync::LazyLock<String> = std::sync::LazyLock::new(openapi::document_text);

/// Not vendor retcodes: the bodies of HTTP 404 and 405 (see docs/compat.md).
const NO_SUCH_INTERFACE: Retcode = Retcode { code: "404", message: "no such interface" };
const METHOD_NOT_ALLOWED: Retcode = Retcode { code: "405", message: "method not allowed" };
/// A vendor interface ccgw does not implement yet (`Status::NotYet` in the interface table).
const NOT_IMPLEMENTED: Retcode = Retcode { code: "404", message: "interface not implemented" };

/// The HTTP response for an outcome, and the retcode it carries.
fn finish(status: StatusCode, outcome: Outcome) -> (&'static str, Response) {
    match outcome {
        Ok(reply) => {
            let mut r = json_response(status, reply.body);
            if let Some(g) = reply.set_guid
                && let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(format!("JSESSIONID={g}")))
            {
                r.headers.insert(http::HeaderName::from_static("set-guid"), v);
            }
            (reply.code, r)
        }
        Err(rc) => (rc.code, json_response(status, response::error(rc))),
    }
}

#[allow(clippy::too_many_arguments)]
fn log(
    access: Option<&AccessLog>,
    started: Instant,
    peer: Option<SocketAddr>,
    http_method: &http::Method,
    method: Method,
    agent: Option<AgentId>,
    status: StatusCode,
    code: &'static str,
) {
    let latency = started.elapsed().as_micros() as u64;
    telemetry::access_log(
        access,
        method.name(),
        http_method.as_str(),
        agent.map(|a| a.0),
        code,
        status.as_u16(),
        latency,
        peer,
    );
}

fn fail(method: Method) -> impl Fn(DomainError) -> Retcode + Copy {
    move |e| retcode(method, e)
}

/// Query-string value by key (values are short tokens; `%XX` decoded).
fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
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
    String::from_utf8_lossy(&out).into_owned()
}

fn query_flag(query: &str, key: &str) -> Result<Option<bool>, Retcode> {
    match query_param(query, key).as_deref() {
        None | Some("") => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(PARAMETER_INVALID),
    }
}

/// A numeric id in a path or query (skill, IVR, VDN): 1–10 digits that fit a `u32`.
fn parse_id(s: &str) -> Result<u32, Retcode> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PARAMETER_INVALID);
    }
    s.parse().map_err(|_| PARAMETER_INVALID)
}

fn parse_call_id(s: &str) -> Result<CallId, Retcode> {
    s.parse().map_err(|_| PARAMETER_INVALID)
}

fn ok_empty(method: Method) -> Outcome {
    Ok(Reply::new(response::ok(method.success_message(), response::empty_object())))
}

/// What [`dispatch`] gives: the outcome, or a future for it (the interfaces that verify a
/// password with argon2 off the async threads), which owns what it needs.
enum Dispatched {
    Done(Outcome),
    Later(Pin<Box<dyn Future<Output = Outcome> + Send>>),
}

#[allow(clippy::too_many_arguments)] // the request's parts, each used once
fn dispatch<S: Store>(
    gw: &Arc<Gateway<S>>,
    method: Method,
    agent: Option<AgentId>,
    params: &[&str],
    guid: Option<&str>,
    peer: Option<SocketAddr>,
    query: &str,
    body: Bytes,
) -> Dispatched {
    let Some(agent) = agent else {
        return Dispatched::Done(agentevent::without_agent(gw, method, guid));
    };
    if matches!(method, Method::GetAgentEvent | Method::GetAgentEventInAsync | Method::GetJsonpAgentEvent) {
        // Only `HEAD` gets here (the entry takes every GET poll as a long poll). Its answer has
        // no body that could carry an event, so it takes none: authenticated, answered at once.
        return Dispatched::Done(match gw.authenticate(agent, guid, peer.map(|p| p.ip())) {
            Ok(auth) => Ok(Reply::with_guid(event::poll_body(None), auth.renew)),
            Err(_) => Err(NOT_SIGNED_IN),
        });
    }
    if matches!(
        method,
        Method::Login | Method::ForceLogin | Method::LoginEx | Method::ForceLoginEx | Method::ForceLoginExWithoutPhone
    ) {
        let gw = gw.clone();
        return Dispatched::Later(Box::pin(async move { sign_in(&gw, method, agent, &body, peer).await }));
    }
    let auth = match gw.authenticate(agent, guid, peer.map(|p| p.ip())) {
        Ok(auth) => auth,
        Err(_) => return Dispatched::Done(Err(NOT_SIGNED_IN)),
    };
    // A request made with the previous GUID is told the current one on every answer, errors
    // included: some clients read `Set-GUID` only from some methods' responses (docs/compat.md).
    let renewed = move |outcome: Outcome, renew: Option<String>| match (outcome, renew) {
        (Ok(mut reply), Some(current)) => {
            reply.set_guid.get_or_insert(current);
            Ok(reply)
        }
        (Err(rc), Some(current)) => Ok(Reply::failed(rc, current)),
        (outcome, None) => outcome,
    };
    match method {
        // The old password's check runs argon2 off the async threads: awaited there.
        Method::ModifyAccountPwd | Method::ModifyAccountPwdEx => {
            let (gw, query) = (gw.clone(), query.to_owned());
            Dispatched::Later(Box::pin(async move {
                let outcome = onlineagent::change_password(&gw, method, agent, &query, &body, peer).await;
                renewed(outcome, auth.renew)
            }))
        }
        _ => {
            // The overload control: ready at once unless cluster mode counts in Redis.
            let admit = match method.overload() {
                Overload::None => Admit::Ready(true),
                _ => gw.limiter.admit(agent, auth.vdn, now_ms()),
            };
            match admit {
                Admit::Ready(admitted) => Dispatched::Done(renewed(
                    authenticated(gw, admitted, method, auth.vdn, agent, params, query, body),
                    auth.renew,
                )),
                pending => {
                    let (gw, query) = (gw.clone(), query.to_owned());
                    let params: Vec<String> = params.iter().map(|p| (*p).to_owned()).collect();
                    Dispatched::Later(Box::pin(async move {
                        let admitted = pending.await;
                        let params: Vec<&str> = params.iter().map(String::as_str).collect();
                        let outcome = authenticated(&gw, admitted, method, auth.vdn, agent, &params, &query, body);
                        renewed(outcome, auth.renew)
                    }))
                }
            }
        }
    }
}

/// Every interface but sign-in and the poll, once the GUID has been checked: the overload
/// control's answer (`admitted`), then the interface's family module.
#[allow(clippy::too_many_arguments)] // the request's parts, each used once
fn authenticated<S: Store>(
    gw: &Arc<Gateway<S>>,
    admitted: bool,
    method: Method,
    vdn: VdnId,
    agent: AgentId,
    params: &[&str],
    query: &str,
    body: Bytes,
) -> Outcome {
    if !admitted {
        return Err(OVERLOADED);
    }
    if gw.config.telephony.kind == crate::config::TelephonyKind::Sip && crate::telephony_sip::unsupported(method) {
        return Err(ccgw_wire::retcode::NOT_WITH_SIP);
    }
    let ctx = Ctx { gw, vdn, agent, params, query, body };
    match method.interface().map(|i| i.family) {
        Some(Family::OnlineAgent) => onlineagent::dispatch(ctx, method),
        Some(Family::AgentEvent) => agentevent::dispatch(ctx, method),
        Some(Family::VoiceCall) => voicecall::dispatch(ctx, method),
        Some(Family::CallData) => calldata::dispatch(ctx, method),
        Some(Family::AgentGroup) => agentgroup::dispatch(ctx, method),
        Some(Family::QueueDevice) => queuedevice::dispatch(ctx, method),
        Some(Family::RecordPlay) => recordplay::dispatch(ctx, method),
        Some(Family::QualityControl) => qualitycontrol::dispatch(ctx, method),
        Some(Family::QueryMonitor) => querymonitor::dispatch(ctx, method),
        Some(Family::ThirdControl) => thirdcontrol::dispatch(ctx, method),
        _ => Err(INTERNAL),
    }
}

/// What a family's `dispatch` gets: the authenticated agent and the request's parameters.
struct Ctx<'a, S: Store> {
    gw: &'a Arc<Gateway<S>>,
    vdn: VdnId,
    agent: AgentId,
    /// Path parameters after the agent id.
    params: &'a [&'a str],
    query: &'a str,
    body: Bytes,
}

fn info(s: &ccgw_domain::VdnState, c: &ccgw_domain::Call, now: u64) -> CallInfo {
    CallInfo::new(c, c.skill.and_then(|k| s.skills.get(&k)), now)
}

/// No call: `result` is an empty object (see docs/compat.md).
fn call_info_or_empty(call: Option<CallInfo>) -> Vec<u8> {
    match call {
        Some(c) => response::ok("", c),
        None => response::ok("", response::empty_object()),
    }
}

/// Another agent named in a request: provisioned, and in the caller's VDN.
fn peer_in_vdn<S: Store>(gw: &Gateway<S>, vdn: VdnId, workno: u32) -> Result<AgentId, DomainError> {
    let id = AgentId(workno);
    match gw.directory.vdn_of(id) {
        None => Err(DomainError::UnknownAgent),
        Some(v) if v != vdn => Err(DomainError::OtherVdn),
        Some(_) => Ok(id),
    }
}

fn skill_in_vdn<S: Store>(gw: &Gateway<S>, vdn: VdnId, id: u32) -> Result<SkillId, Retcode> {
    match gw.directory.skills.get(&SkillId(id)) {
        Some(s) if s.vdn == vdn => Ok(s.id),
        _ => Err(PARAMETER_INVALID),
    }
}

fn transfer_target<S: Store>(
    gw: &Gateway<S>,
    vdn: VdnId,
    req: &TransferRequest,
) -> Result<(TransferTarget, TransferMode), Retcode> {
    let agent_mode = |m| match m {
        0 => Ok(TransferMode::Blind),
        2 => Ok(TransferMode::Success),
        _ => Err(PARAMETER_INVALID),
    };
    let number = |s: &str| s.parse::<u32>().map_err(|_| PARAMETER_INVALID);
    match req.device_type {
        1 => Ok((TransferTarget::Skill(skill_in_vdn(gw, vdn, number(&req.address)?)?), agent_mode(req.mode)?)),
        2 => {
            let target = peer_in_vdn(gw, vdn, number(&req.address)?).map_err(|_| PARAMETER_INVALID)?;
            Ok((TransferTarget::Agent(target), agent_mode(req.mode)?))
        }
        4 => {
            let skill = gw.directory.access_codes.get(&req.address).ok_or(PARAMETER_INVALID)?;
            Ok((TransferTarget::Skill(skill_in_vdn(gw, vdn, skill.0)?), agent_mode(req.mode)?))
        }
        5 => {
            let mode = match req.mode {
                1 => TransferMode::Blind,
                2 => TransferMode::Success,
                _ => return Err(PARAMETER_INVALID),
            };
            Ok((TransferTarget::External(req.address.clone()), mode))
        }
        _ => Err(PARAMETER_INVALID),
    }
}

async fn sign_in<S: Store>(
    gw: &Arc<Gateway<S>>,
    method: Method,
    agent: AgentId,
    body: &[u8],
    peer: Option<SocketAddr>,
) -> Outcome {
    let mut req = SignInRequest::parse(body)?;
    if method == Method::ForceLoginExWithoutPhone {
        // Signs in with the provisioned phone, whatever the body says (docs/compat.md).
        req.phone = None;
    }
    let initial = match req.status {
        3 => InitialState::Busy,
        5 => InitialState::Work,
        _ => InitialState::Idle,
    };
    let phone = req.phone.clone().or_else(|| gw.directory.agent(agent).map(|p| p.phone.clone())).unwrap_or_default();
    let options = SignInOptions {
        phone,
        auto_answer: req.auto_answer,
        auto_enter_idle: req.auto_enter_idle,
        release_phone: req.release_phone,
        initial,
    };
    if let Some(target) = &req.push
        && !gw.push.allowed(&target.uri)
    {
        // Outside `push.allowed_uri_prefixes` (the vendor's trust list of callback URLs).
        return Err(retcode::SIGN_IN_PARAMETER);
    }
    let params = SignInParams {
        push: req.push,
        password: req.password,
        options,
        force: matches!(method, Method::ForceLogin | Method::ForceLoginEx | Method::ForceLoginExWithoutPhone),
        source: peer.map(|p| p.ip()),
    };
    let signed = gw.sign_in(agent, params).await.map_err(fail(method))?;
    let result = SignInResult::new(signed.vdn.0, agent.0, signed.login_ms, &gw.config.server.cluster_name);
    Ok(Reply::with_guid(response::ok("", result), Some(signed.guid)))
}

async fn poll<S: Store>(
    gw: &Arc<Gateway<S>>,
    agent: AgentId,
    guid: Option<&str>,
    peer: Option<SocketAddr>,
) -> (Outcome, Option<Delivery>) {
    let auth = match gw.authenticate(agent, guid, peer.map(|p| p.ip())) {
        Ok(auth) => auth,
        Err(_) => return (Err(NOT_SIGNED_IN), None),
    };
    if gw.push.is_push(agent) {
        // Push mode: the events go to the callBackUri; a poll would take them from the push.
        return (Err(WRONG_EVENT_METHOD), None);
    }
    let vdn = auth.vdn;
    let rotated = gw.rotate_guid_if_due(vdn, agent).or(auth.renew);
    let delivery = gw.next_event(agent, auth.epoch).await;
    gw.store.touch(agent, now_ms());
    let body = event::poll_body(delivery.as_ref().map(|d| &d.event));
    (Ok(Reply::with_guid(body, rotated)), delivery)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_ids() {
        assert_eq!(parse_agent("101", 59999), Some(AgentId(101)));
        assert_eq!(parse_agent("59999", 59999), Some(AgentId(59999)));
        for bad in ["", "100", "60000", "0101x", "+101", "1234567", "-1", " 101"] {
            assert_eq!(parse_agent(bad, 59999), None, "{bad}");
        }
        assert_eq!(parse_agent("999999", 999999), Some(AgentId(999999)));
    }

    #[test]
    fn query_params() {
        assert_eq!(query_param("reason=201&prolong=true", "prolong").as_deref(), Some("true"));
        assert_eq!(query_param("skillid=1%3B2", "skillid").as_deref(), Some("1;2"));
        assert_eq!(query_param("a=%zz%", "a").as_deref(), Some("%zz%"));
        assert_eq!(query_param("a", "a").as_deref(), Some(""));
        assert_eq!(query_param("", "a"), None);
    }
}

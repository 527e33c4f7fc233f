//! The agent interface: one entry point that routes, authenticates, rate-limits, dispatches to
//! the gateway, writes the vendor's JSON and logs one access line per request.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use ccgw_domain::engine::valid_number;
use ccgw_domain::{
    AgentId, AgentStateCode, CallId, DomainError, HelpMode, HelpTarget, InitialState, SignInOptions, SkillId,
    TransferMode, TransferTarget, VdnId,
};
use ccgw_store::Store;
use ccgw_wire::request::{
    CallInnerRequest, CalloutRequest, InnerHelpRequest, SetCallDataRequest, SignInRequest, TransferRequest,
};
use ccgw_wire::response::{self, AgentStatus, CallInfo, GuidResult, HeldCall, SignInResult, SkillInfo, Statistics};
use ccgw_wire::retcode::{
    BODY_INVALID, LOGOUT_PARAMETER, NOT_SIGNED_IN, OVERLOADED, PARAMETER_INVALID, SKILL_PARAMETER,
};
use ccgw_wire::{Method, Retcode, event, retcode};
use http::{HeaderValue, StatusCode, header};

use crate::gateway::{Gateway, SignInParams, now_ms};
use crate::routes::{RouteError, route};
use crate::telemetry;

/// A successful answer: body, and the GUID to announce in `Set-GUID`, if any.
struct Reply {
    body: Vec<u8>,
    set_guid: Option<String>,
}

impl Reply {
    fn new(body: Vec<u8>) -> Self {
        Reply { body, set_guid: None }
    }

    fn with_guid(body: Vec<u8>, guid: Option<String>) -> Self {
        Reply { body, set_guid: guid }
    }
}

/// Errors carry their retcode; `From<(Method, DomainError)>` is the only way domain errors
/// become retcodes.
type Outcome = Result<Reply, Retcode>;

pub const JSON: &str = "application/json;charset=UTF-8";

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    r
}

/// An agent id as the vendor accepts it: digits only, 101 to the configured maximum.
pub fn parse_agent(s: &str, max: u32) -> Option<AgentId> {
    if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = s.parse().ok()?;
    (101..=max).contains(&n).then_some(AgentId(n))
}

const AGENT_EVENT_PREFIX: &str = "/agentgateway/resource/agentevent/";

/// The single entry point of the agent interface (mounted as the router's fallback).
///
/// A waiting long poll's connection holds the request's future for seconds, so that future is
/// kept small: the poll keeps only the agent id and GUID (not the request's headers), and the
/// larger future of every other request ([`handle`]) is never part of it. Both are boxed here,
/// so axum's handler future around them holds a pointer.
pub fn entry<S: Store>(
    State(gw): State<Arc<Gateway<S>>>,
    req: Request,
) -> Pin<Box<dyn Future<Output = Response> + Send>> {
    let started = Instant::now();
    // Only poll-shaped requests are routed here; every other request is routed once, in `handle`.
    let maybe_poll = req.method() == http::Method::GET && req.uri().path().starts_with(AGENT_EVENT_PREFIX);
    let long_poll = match maybe_poll.then(|| route(req.method(), req.uri().path())) {
        Some(Ok(route)) if route.method == Method::GetAgentEvent => Some((
            parse_agent(route.agent, gw.config.auth.max_workno()),
            req.headers().get("guid").and_then(|v| v.to_str().ok()).map(str::to_owned),
        )),
        _ => None,
    };
    match long_poll {
        Some((agent, guid)) => {
            let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
            let http_method = req.method().clone();
            drop(req);
            Box::pin(long_poll_request(gw, started, peer, http_method, agent, guid))
        }
        None => Box::pin(handle(gw, req, started)),
    }
}

/// `agentevent`: wait for the agent's next event.
async fn long_poll_request<S: Store>(
    gw: Arc<Gateway<S>>,
    started: Instant,
    peer: Option<SocketAddr>,
    http_method: http::Method,
    agent: Option<AgentId>,
    guid: Option<String>,
) -> Response {
    let outcome = match agent {
        None => Err(PARAMETER_INVALID),
        Some(agent) => poll(&gw, agent, guid.as_deref(), peer).await,
    };
    let (code, response) = finish(StatusCode::OK, outcome);
    log(started, peer, &http_method, Method::GetAgentEvent, agent, StatusCode::OK, code);
    response
}

/// Every request but the long poll.
async fn handle<S: Store>(gw: Arc<Gateway<S>>, req: Request, started: Instant) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let http_method = req.method().clone();
    let (parts, body) = req.into_parts();
    let max_workno = gw.config.auth.max_workno();
    let (method, agent, status, outcome) = match route(&http_method, parts.uri.path()) {
        Err(RouteError::NotFound) => (Method::NotFound, None, StatusCode::NOT_FOUND, Err(NO_SUCH_INTERFACE)),
        Err(RouteError::MethodNotAllowed { method, allow }) => {
            let mut r = finish(StatusCode::METHOD_NOT_ALLOWED, Err(METHOD_NOT_ALLOWED)).1;
            r.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
            log(started, peer, &http_method, method, None, StatusCode::METHOD_NOT_ALLOWED, METHOD_NOT_ALLOWED.code);
            return r;
        }
        Ok(route) => {
            let agent = parse_agent(route.agent, max_workno);
            let (outcome, status) = match agent {
                None => (Err(PARAMETER_INVALID), StatusCode::OK),
                Some(agent) => match axum::body::to_bytes(body, gw.config.server.max_body_bytes).await {
                    Err(_) => (Err(BODY_INVALID), StatusCode::PAYLOAD_TOO_LARGE),
                    Ok(bytes) => {
                        let guid = parts.headers.get("guid").and_then(|v| v.to_str().ok());
                        let query = parts.uri.query().unwrap_or("");
                        let r = dispatch(&gw, route.method, agent, &route.params, guid, peer, query, bytes).await;
                        (r, StatusCode::OK)
                    }
                },
            };
            (route.method, agent, status, outcome)
        }
    };
    let (code, response) = finish(status, outcome);
    log(started, peer, &http_method, method, agent, status, code);
    response
}

/// Not vendor retcodes: the bodies of HTTP 404 and 405 (see docs/compat.md).
const NO_SUCH_INTERFACE: Retcode = Retcode { code: "404", message: "no such interface" };
const METHOD_NOT_ALLOWED: Retcode = Retcode { code: "405", message: "method not allowed" };

/// The HTTP response for an outcome, and the retcode it carries.
fn finish(status: StatusCode, outcome: Outcome) -> (&'static str, Response) {
    match outcome {
        Ok(reply) => {
            let mut r = json_response(status, reply.body);
            if let Some(g) = reply.set_guid
                && let Ok(v) = HeaderValue::from_str(&format!("JSESSIONID={g}"))
            {
                r.headers_mut().insert("set-guid", v);
            }
            ("0", r)
        }
        Err(rc) => (rc.code, json_response(status, response::error(rc))),
    }
}

fn log(
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

fn parse_call_id(s: &str) -> Result<CallId, Retcode> {
    s.parse().map_err(|_| PARAMETER_INVALID)
}

fn ok_empty(method: Method) -> Outcome {
    Ok(Reply::new(response::ok(method.success_message(), response::empty_object())))
}

#[allow(clippy::too_many_arguments)] // the request's parts, each used once
async fn dispatch<S: Store>(
    gw: &Arc<Gateway<S>>,
    method: Method,
    agent: AgentId,
    params: &[&str],
    guid: Option<&str>,
    peer: Option<SocketAddr>,
    query: &str,
    body: Bytes,
) -> Outcome {
    if matches!(method, Method::Login | Method::ForceLogin) {
        return sign_in(gw, method, agent, &body, peer).await;
    }
    let auth = gw.authenticate(agent, guid, peer.map(|p| p.ip())).map_err(|_| NOT_SIGNED_IN)?;
    let mut outcome = authenticated(gw, method, auth.vdn, agent, params, query, body);
    if let (Ok(reply), Some(current)) = (&mut outcome, auth.renew)
        && reply.set_guid.is_none()
    {
        reply.set_guid = Some(current);
    }
    outcome
}

/// Every interface but sign-in and the poll, once the GUID has been checked.
fn authenticated<S: Store>(
    gw: &Arc<Gateway<S>>,
    method: Method,
    vdn: VdnId,
    agent: AgentId,
    params: &[&str],
    query: &str,
    body: Bytes,
) -> Outcome {
    if method.is_calldata_query() && !gw.limiter.admit(agent, now_ms()) {
        return Err(OVERLOADED);
    }
    let e = fail(method);
    let param = |i: usize| params.get(i).copied().unwrap_or("");
    match method {
        Method::Logout => gw.update(vdn, |s, ctx| s.sign_out(ctx, agent)).map_err(e).and_then(|_| ok_empty(method)),
        Method::ForceLogout => {
            gw.update(vdn, |s, ctx| s.force_sign_out(ctx, agent)).map_err(e).and_then(|_| ok_empty(method))
        }
        Method::ForceLogoutWithReason => {
            let reason: u8 = param(0).parse().map_err(|_| LOGOUT_PARAMETER)?;
            if reason == 0 {
                return Err(LOGOUT_PARAMETER);
            }
            gw.update(vdn, |s, ctx| s.force_sign_out(ctx, agent)).map_err(e)?;
            Ok(Reply::new(response::ok_bare("success")))
        }
        Method::HandShake => {
            let rotated = gw.rotate_guid_if_due(vdn, agent);
            Ok(Reply::with_guid(response::ok("success", response::empty_object()), rotated))
        }
        Method::UpdateGuid => {
            let guid = gw.replace_guid(vdn, agent).map_err(e)?;
            Ok(Reply::with_guid(response::ok("success", GuidResult { guid: &guid }), Some(guid)))
        }
        Method::SayBusy => {
            let reason: u16 = match query_param(query, "reason").as_deref() {
                None | Some("") => 0,
                Some(r) => r.parse().map_err(|_| PARAMETER_INVALID)?,
            };
            if reason != 0 && !(200..=250).contains(&reason) {
                return Err(PARAMETER_INVALID);
            }
            let prolong = query_flag(query, "prolong")?.unwrap_or(false);
            gw.update(vdn, |s, ctx| s.say_busy(ctx, agent, reason, prolong)).map_err(e).and_then(|_| ok_empty(method))
        }
        Method::CancelBusy => {
            gw.update(vdn, |s, ctx| s.cancel_busy(ctx, agent)).map_err(e).and_then(|_| ok_empty(method))
        }
        Method::SayFree => gw.update(vdn, |s, ctx| s.say_free(ctx, agent)).map_err(e).and_then(|_| ok_empty(method)),
        Method::Rest => {
            let secs: u32 = param(0).parse().map_err(|_| PARAMETER_INVALID)?;
            let cause: u8 = param(1).parse().map_err(|_| PARAMETER_INVALID)?;
            let prolong = query_flag(query, "prolong")?.unwrap_or(false);
            gw.update(vdn, |s, ctx| s.rest(ctx, agent, secs, cause, prolong)).map_err(e).and_then(|_| ok_empty(method))
        }
        Method::CancelRest => {
            gw.update(vdn, |s, ctx| s.cancel_rest(ctx, agent)).map_err(e).and_then(|_| ok_empty(method))
        }
        Method::SayWork => gw.update(vdn, |s, ctx| s.work(ctx, agent)).map_err(e).and_then(|_| ok_empty(method)),
        Method::CancelWork => {
            gw.update(vdn, |s, ctx| s.cancel_work(ctx, agent)).map_err(e).and_then(|_| ok_empty(method))
        }
        Method::SetAgentAutoEnterIdle => {
            // "true" = go idle after a call; any other 1–5 character flag = wrap-up.
            let flag = param(0);
            if flag.is_empty() || flag.len() > 5 {
                return Err(PARAMETER_INVALID);
            }
            let on = flag == "true";
            gw.update(vdn, |s, _| s.set_auto_enter_idle(agent, on)).map_err(e).and_then(|_| ok_empty(method))
        }
        Method::GetAgentStatus => {
            let code = gw.read(vdn, |s| s.agent(agent).map(|a| a.state_code())).map_err(e)?.map_err(e)?;
            Ok(Reply::new(response::ok(
                "",
                AgentStatus { agent_state: code as u8, is_working: code == AgentStateCode::Work },
            )))
        }
        Method::ResetSkill => {
            if !matches!(param(0), "true" | "false") {
                return Err(PARAMETER_INVALID);
            }
            let skills = match query_param(query, "skillid").filter(|s| !s.is_empty()) {
                None => None,
                Some(list) => Some(
                    list.split([';', ','])
                        .filter(|s| !s.is_empty())
                        .map(|s| s.trim().parse().map(SkillId).map_err(|_| SKILL_PARAMETER))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            gw.update(vdn, |s, ctx| s.reset_skills(ctx, agent, skills)).map_err(e).and_then(|_| ok_empty(method))
        }
        Method::QueryAgentSkills => {
            let list = gw
                .read(vdn, |s| {
                    let session = s.session(agent)?;
                    let profile = &s.agent(agent)?.profile;
                    Ok(profile
                        .skills
                        .iter()
                        .filter_map(|id| s.skills.get(id))
                        .map(|sk| SkillInfo::new(sk, session.active_skills.contains(&sk.id)))
                        .collect::<Vec<_>>())
                })
                .map_err(e)?
                .map_err(e)?;
            Ok(Reply::new(response::ok("", list)))
        }
        _ => call_control(gw, method, vdn, agent, params, query, body),
    }
}

/// The call-control (voicecall) and call-data interfaces.
fn call_control<S: Store>(
    gw: &Gateway<S>,
    method: Method,
    vdn: VdnId,
    agent: AgentId,
    params: &[&str],
    query: &str,
    body: Bytes,
) -> Outcome {
    let e = fail(method);
    let param = |i: usize| params.get(i).copied().unwrap_or("");
    let now = now_ms();
    let done = |r: Result<(), DomainError>| r.map_err(e).and_then(|_| ok_empty(method));
    match method {
        Method::Callout => {
            let req = CalloutRequest::parse(&body)?;
            let id = gw
                .update(vdn, |s, ctx| s.call_out(ctx, agent, &req.called, req.caller.as_deref(), req.data))
                .map_err(e)?;
            Ok(Reply::new(response::ok("success", id.to_string())))
        }
        Method::CallInner => {
            let req = CallInnerRequest::parse(&body)?;
            let target = peer_in_vdn(gw, vdn, req.called).map_err(e)?;
            let id = gw.update(vdn, |s, ctx| s.call_inner(ctx, agent, target, req.data)).map_err(e)?;
            Ok(Reply::new(response::ok("success", id.to_string())))
        }
        Method::Answer => {
            let call = query_param(query, "callid").filter(|c| !c.is_empty()).map(|c| parse_call_id(&c)).transpose()?;
            done(gw.update(vdn, |s, ctx| s.answer(ctx, agent, call).map(drop)))
        }
        Method::Release => done(gw.update(vdn, |s, ctx| s.release(ctx, agent).map(drop))),
        Method::DropCall => {
            let call = parse_call_id(param(0))?;
            done(gw.update(vdn, |s, ctx| s.drop_call(ctx, agent, call)))
        }
        Method::Disconnect => {
            let number = param(0);
            if !valid_number(number) {
                return Err(PARAMETER_INVALID);
            }
            done(gw.update(vdn, |s, ctx| s.disconnect(ctx, agent, number)))
        }
        Method::Hold => done(gw.update(vdn, |s, ctx| s.hold(ctx, agent).map(drop))),
        Method::GetHold => {
            let call = query_param(query, "callid").filter(|c| !c.is_empty()).map(|c| parse_call_id(&c)).transpose()?;
            done(gw.update(vdn, |s, ctx| s.unhold(ctx, agent, call).map(drop)))
        }
        Method::ConnectHold => {
            let call = parse_call_id(param(0))?;
            done(gw.update(vdn, |s, ctx| s.connect_held(ctx, agent, call)))
        }
        Method::InnerHelp => {
            let req = InnerHelpRequest::parse(&body)?;
            let target = match req.device_type {
                1 => HelpTarget::Skill(skill_in_vdn(gw, vdn, req.dst)?),
                _ => HelpTarget::Agent(peer_in_vdn(gw, vdn, req.dst).map_err(e)?),
            };
            let mode = if req.mode == 2 { HelpMode::ThreeParty } else { HelpMode::TwoParty };
            let id = gw.update(vdn, |s, ctx| s.inner_help(ctx, agent, target, mode, req.data)).map_err(e)?;
            Ok(Reply::new(response::ok("success", id.to_string())))
        }
        Method::Transfer => {
            let req = TransferRequest::parse(&body)?;
            let (target, mode) = transfer_target(gw, vdn, &req)
                .map_err(|r| if r == PARAMETER_INVALID { r } else { e(DomainError::InvalidParameter) })?;
            done(gw.update(vdn, |s, ctx| s.transfer(ctx, agent, target, mode)))
        }
        Method::ConfJoin => done(gw.update(vdn, |s, ctx| s.conference(ctx, agent).map(drop))),
        Method::BeginMute => done(gw.update(vdn, |s, _| s.mute(agent, true))),
        Method::EndMute => done(gw.update(vdn, |s, _| s.mute(agent, false))),

        Method::QueryAllCallInfoByAgentWorkNoEx => {
            let target =
                parse_agent(param(0), gw.config.auth.max_workno()).ok_or_else(|| e(DomainError::UnknownAgent))?;
            let target = peer_in_vdn(gw, vdn, target.0).map_err(e)?;
            let ids = gw.read(vdn, |s| s.call_ids_of(target)).map_err(e)?;
            Ok(Reply::new(response::call_ids(&ids)))
        }
        Method::QueryHoldListInfoEx => {
            let target = parse_agent(param(0), gw.config.auth.max_workno()).ok_or(PARAMETER_INVALID)?;
            let target = peer_in_vdn(gw, vdn, target.0).map_err(e)?;
            let held: Vec<HeldCall> = gw
                .read(vdn, |s| {
                    s.held_calls(target)
                        .into_iter()
                        .map(|c| CallInfo::new(c, c.skill.and_then(|k| s.skills.get(&k)), now).into())
                        .collect()
                })
                .map_err(e)?;
            if held.is_empty() {
                return Err(e(DomainError::NoHeldCall));
            }
            Ok(Reply::new(response::ok("", held)))
        }
        Method::QueryHoldListInfo => {
            let held: Vec<CallInfo> =
                gw.read(vdn, |s| s.held_calls(agent).into_iter().map(|c| info(s, c, now)).collect()).map_err(e)?;
            if held.is_empty() {
                return Err(e(DomainError::NoHeldCall));
            }
            Ok(Reply::new(response::ok("", held)))
        }
        Method::QueryCallInfo => {
            let without_last = query_flag(query, "isNoContainLastCall")?.unwrap_or(false);
            let call = gw.read(vdn, |s| s.current_call(agent, !without_last).map(|c| info(s, c, now))).map_err(e)?;
            Ok(Reply::new(call_info_or_empty(call)))
        }
        Method::QueryCallInfoBeforeAnswer => {
            let call = gw.read(vdn, |s| s.ringing_call(agent).map(|c| info(s, c, now))).map_err(e)?;
            Ok(Reply::new(call_info_or_empty(call)))
        }
        Method::QueryCallInfoByCallId => {
            let id = parse_call_id(param(0))?;
            let call = gw.read(vdn, |s| s.call_of_agent(agent, id).map(|c| info(s, c, now))).map_err(e)?;
            call.map(|c| Reply::new(response::ok("", c))).ok_or_else(|| e(DomainError::NoCall))
        }
        Method::QueryCallAppData => {
            let id = query_param(query, "callId").filter(|c| !c.is_empty()).map(|c| parse_call_id(&c)).transpose()?;
            query_flag(query, "isEncodeResult")?;
            let data = gw
                .read(vdn, |s| match id {
                    Some(id) => s.call_of_agent(agent, id).map(|c| c.data.clone()),
                    None => s.current_call(agent, false).map(|c| c.data.clone()),
                })
                .map_err(e)?;
            data.map(|d| Reply::new(response::ok("", d))).ok_or_else(|| e(DomainError::NoCall))
        }
        Method::SetCallAppDataEx => {
            let req = SetCallDataRequest::parse(&body)?;
            let id = parse_call_id(&req.call_id)?;
            done(gw.update(vdn, |s, _| s.set_call_data(agent, id, req.data)))
        }
        Method::QueryCallNumsOnAgent => {
            let n = gw.read(vdn, |s| s.call_ids_of(agent).len()).map_err(e)?;
            Ok(Reply::new(response::ok("", n)))
        }
        Method::QueryCallStatisticsInfoEx => {
            let stats = gw
                .read(vdn, |s| {
                    s.session(agent).map(|x| {
                        let current = x.in_call_since_ms.map_or(0, |t| now.saturating_sub(t));
                        Statistics {
                            talktime: (x.stats.talk_ms + current) / 1000,
                            answernums: x.stats.answered,
                            calloutnums: x.stats.callouts,
                        }
                    })
                })
                .map_err(e)?
                .map_err(e)?;
            Ok(Reply::new(response::ok("", stats)))
        }
        Method::QueryRemoteNumbers => {
            let numbers = gw.read(vdn, |s| s.remote_numbers(agent)).map_err(e)?;
            Ok(Reply::new(response::ok("", numbers)))
        }
        _ => Err(e(DomainError::Internal)),
    }
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
    let req = SignInRequest::parse(body)?;
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
    let params = SignInParams {
        password: req.password,
        options,
        force: method == Method::ForceLogin,
        source: peer.map(|p| p.ip()),
    };
    let signed = gw.sign_in(agent, params).await.map_err(fail(method))?;
    let result = SignInResult::new(signed.vdn.0, agent.0, signed.login_ms, &gw.config.server.cluster_name);
    Ok(Reply::with_guid(response::ok("", result), Some(signed.guid)))
}

async fn poll<S: Store>(gw: &Arc<Gateway<S>>, agent: AgentId, guid: Option<&str>, peer: Option<SocketAddr>) -> Outcome {
    let auth = gw.authenticate(agent, guid, peer.map(|p| p.ip())).map_err(|_| NOT_SIGNED_IN)?;
    let vdn = auth.vdn;
    let rotated = gw.rotate_guid_if_due(vdn, agent).or(auth.renew);
    let event = gw.next_event(agent, auth.epoch).await;
    gw.store.touch(agent, now_ms());
    Ok(Reply::with_guid(event::poll_body(event.as_ref()), rotated))
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

//! The admin listener: `/health` and `/metrics` for operations, and the token-protected operator
//! API that injects customer calls and lists live calls and agents. Not a vendor interface, so it
//! speaks plain JSON of its own (camelCase).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ccgw_domain::{Endpoint, PartyState, SkillId, cmd};
use ccgw_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

use crate::gateway::Gateway;

pub mod wallboard;

struct AdminState<S: Store> {
    gw: Arc<Gateway<S>>,
    metrics: PrometheusHandle,
    feeds: Arc<wallboard::Feeds>,
}

/// The admin listener's routes; `stop` turns true when the gateway stops (live feeds end then).
pub fn router<S: Store>(gw: Arc<Gateway<S>>, metrics: PrometheusHandle, stop: watch::Receiver<bool>) -> Router {
    let feeds = Arc::new(wallboard::Feeds::new(gw.config.admin.wallboard_max_clients, stop));
    Router::new()
        .route("/health", get(health::<S>))
        .route("/metrics", get(render_metrics::<S>))
        .route("/admin/calls", get(list_calls::<S>).post(inject_call::<S>))
        .route("/admin/agents", get(list_agents::<S>))
        .route("/wallboard", get(wallboard::page::<S>))
        .route("/wallboard/snapshot", get(wallboard::snapshot::<S>))
        .route("/wallboard/events", get(wallboard::events::<S>))
        .route("/wallboard/wallboard.js", get(wallboard::script))
        .route("/wallboard/wallboard.css", get(wallboard::style))
        .with_state(Arc::new(AdminState { gw, metrics, feeds }))
}

async fn health<S: Store>(State(st): State<Arc<AdminState<S>>>) -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "node": st.gw.config.server.node_name }))
}

async fn render_metrics<S: Store>(State(st): State<Arc<AdminState<S>>>) -> String {
    st.metrics.render()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Bearer-token check. Without a configured token the operator API is off.
// The large `Err` is a ready response on a cold path; boxing it would buy nothing.
#[allow(clippy::result_large_err)]
fn authorize<S: Store>(st: &AdminState<S>, headers: &HeaderMap) -> Result<(), Response> {
    let Some(token) = &st.gw.config.admin.token else {
        return Err(error(StatusCode::FORBIDDEN, "operator API disabled: set admin.token (CCGW_ADMIN__TOKEN)"));
    };
    let presented = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let expected = token.expose().as_bytes();
    // Compare without an early exit so the time taken does not reveal the matching prefix.
    let ok = presented.is_some_and(|p| {
        let p = p.as_bytes();
        p.len() == expected.len() && p.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    });
    if ok { Ok(()) } else { Err(error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token")) }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InjectCall {
    caller: String,
    access_code: Option<String>,
    skill_id: Option<u32>,
    #[serde(default)]
    call_data: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Injected {
    call_id: String,
}

async fn inject_call<S: Store>(
    State(st): State<Arc<AdminState<S>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    let req: InjectCall = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("bad body: {e}")),
    };
    let dir = &st.gw.directory;
    let (skill, called) = match (&req.access_code, req.skill_id) {
        (Some(code), None) => match dir.access_codes.get(code) {
            Some(s) => (*s, code.clone()),
            None => return error(StatusCode::NOT_FOUND, "no such access code"),
        },
        (None, Some(id)) => match dir.skills.get(&SkillId(id)) {
            Some(s) => {
                (s.id, dir.access_codes.iter().find(|(_, v)| **v == s.id).map(|(k, _)| k.clone()).unwrap_or_default())
            }
            None => return error(StatusCode::NOT_FOUND, "no such skill"),
        },
        _ => return error(StatusCode::BAD_REQUEST, "give exactly one of accessCode and skillId"),
    };
    let Some(vdn) = dir.skills.get(&skill).map(|s| s.vdn) else {
        return error(StatusCode::NOT_FOUND, "no such skill");
    };
    if req.call_data.len() > ccgw_wire::request::MAX_CALL_DATA {
        return error(StatusCode::BAD_REQUEST, "callData longer than 16 KB");
    }
    match st.gw.run(vdn, cmd::CustomerCall { caller: req.caller, called, skill, data: req.call_data }) {
        Ok(id) => (StatusCode::CREATED, Json(Injected { call_id: id.to_string() })).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

async fn list_calls<S: Store>(State(st): State<Arc<AdminState<S>>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    let mut calls = Vec::new();
    for vdn in st.gw.store.vdns() {
        let _ = st.gw.read(vdn, |s| {
            for c in s.calls.values() {
                let parties: Vec<_> = c
                    .parties
                    .iter()
                    .map(|p| {
                        let (kind, id) = match &p.who {
                            Endpoint::Agent(a) => ("agent", a.to_string()),
                            Endpoint::Remote(n) => ("remote", n.clone()),
                        };
                        let state = match p.state {
                            PartyState::Alerting { .. } => "alerting",
                            PartyState::Talking => "talking",
                            PartyState::Held => "held",
                        };
                        json!({ "kind": kind, "id": id, "state": state })
                    })
                    .collect();
                calls.push(json!({
                    "callId": c.id.to_string(),
                    "vdn": vdn.0,
                    "feature": c.feature.code(),
                    "caller": c.caller,
                    "called": c.called,
                    "skillId": c.skill.map(|s| s.0),
                    "queued": c.queued_since_ms.is_some(),
                    "parties": parties,
                }));
            }
        });
    }
    Json(json!({ "calls": calls })).into_response()
}

async fn list_agents<S: Store>(State(st): State<Arc<AdminState<S>>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&st, &headers) {
        return r;
    }
    let mut agents = Vec::new();
    for vdn in st.gw.store.vdns() {
        let _ = st.gw.read(vdn, |s| {
            for (id, a) in &s.agents {
                if let Some(session) = &a.session {
                    agents.push(json!({
                        "workNo": id.0,
                        "vdn": vdn.0,
                        "agentState": a.state_code() as u8,
                        "calls": session.calls.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                    }));
                }
            }
        });
    }
    Json(json!({ "agents": agents })).into_response()
}

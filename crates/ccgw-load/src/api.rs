//! The pieces of the gateway interface the load generator uses: request
//! paths, sign-in / sign-out, event parsing and the operator (admin) API.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use hyper::Method;
use serde::{Deserialize, Serialize};

use crate::client::{AgentSession, Client, Connector};

/// Password of the embedded demo provisioning.
pub const DEMO_PASSWORD: &str = "ccgw-demo";

/// Already signed in: retry with `forcelogin`.
const RETCODE_ALREADY_SIGNED_IN: &str = "100-002";

const BASE: &str = "/agentgateway/resource";

/// Request paths of the public agent interface.
pub mod paths {
    use super::BASE;

    pub fn sign_in(agent: u32) -> String {
        format!("{BASE}/onlineagent/{agent}")
    }
    pub fn force_login(agent: u32) -> String {
        format!("{BASE}/onlineagent/{agent}/forcelogin")
    }
    pub fn force_logout(agent: u32) -> String {
        format!("{BASE}/onlineagent/{agent}/forcelogout")
    }
    pub fn agent_status(agent: u32) -> String {
        format!("{BASE}/onlineagent/{agent}/agentstatus")
    }
    pub fn say_busy(agent: u32) -> String {
        format!("{BASE}/onlineagent/{agent}/saybusy")
    }
    pub fn say_free(agent: u32) -> String {
        format!("{BASE}/onlineagent/{agent}/sayfree")
    }
    pub fn cancel_work(agent: u32) -> String {
        format!("{BASE}/onlineagent/{agent}/cancelwork")
    }
    pub fn events(agent: u32) -> String {
        format!("{BASE}/agentevent/{agent}")
    }
    pub fn answer(agent: u32) -> String {
        format!("{BASE}/voicecall/{agent}/answer")
    }
    pub fn release(agent: u32) -> String {
        format!("{BASE}/voicecall/{agent}/release")
    }
    pub fn hold(agent: u32) -> String {
        format!("{BASE}/voicecall/{agent}/hold")
    }
    /// `gethold` (unhold) of the held call `call_id`.
    pub fn get_hold(agent: u32, call_id: &str) -> String {
        format!("{BASE}/voicecall/{agent}/gethold?callid={call_id}")
    }
    pub fn transfer(agent: u32) -> String {
        format!("{BASE}/voicecall/{agent}/transfer")
    }
    pub fn inner_help(agent: u32) -> String {
        format!("{BASE}/voicecall/{agent}/innerhelp")
    }
    pub fn call_info(agent: u32) -> String {
        format!("{BASE}/calldata/{agent}/callinfo")
    }
    pub fn all_call_info(agent: u32, workno: u32) -> String {
        format!("{BASE}/calldata/{agent}/allcallinfoEx/{workno}")
    }
    /// A path no route matches: the cheapest answer the listener can give (404).
    pub const UNKNOWN: &str = "/agentgateway/resource/unknown";

    pub const ADMIN_CALLS: &str = "/admin/calls";
    pub const ADMIN_HEALTH: &str = "/health";
    pub const ADMIN_METRICS: &str = "/metrics";
}

/// Sign-in options that differ between bench and simulate.
#[derive(Debug, Clone)]
pub struct SignInOptions {
    pub password: String,
    /// Go idle automatically after a call (`false` = wrap-up until `cancelwork`).
    pub auto_enter_idle: bool,
}

impl SignInOptions {
    fn body(&self, agent: u32) -> Vec<u8> {
        serde_json::json!({
            "password": self.password,
            "phonenum": format!("7{agent}"),
            "status": 4,
            "autoanswer": false,
            "autoenteridle": self.auto_enter_idle,
            "releasephone": true,
        })
        .to_string()
        .into_bytes()
    }
}

/// A successful sign-in.
#[derive(Debug)]
pub struct SignedIn {
    pub session: AgentSession,
    /// The agent's VDN (from the sign-in result), 0 if the server did not say.
    pub vdn: u32,
}

/// Why a sign-in failed; `retcode` is kept separately for error statistics.
#[derive(Debug)]
pub struct SignInError {
    pub agent: u32,
    /// The failing retcode, or `"transport"` / `"no-guid"`.
    pub retcode: String,
    pub detail: String,
}

impl std::fmt::Display for SignInError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sign-in of agent {} failed: {}", self.agent, self.detail)
    }
}

impl std::error::Error for SignInError {}

/// Signs an agent in (PUT onlineagent), falling back to `forcelogin` when
/// the agent is already signed in, and returns its session.
pub async fn sign_in(client: &mut Client, agent: u32, options: &SignInOptions) -> Result<SignedIn, SignInError> {
    sign_in_inner(client, agent, options, true).await
}

/// Like [`sign_in`] without the `forcelogin` fallback: any retcode but "0"
/// (including `100-002`, already signed in) is a failure.
pub async fn sign_in_strict(client: &mut Client, agent: u32, options: &SignInOptions) -> Result<SignedIn, SignInError> {
    sign_in_inner(client, agent, options, false).await
}

async fn sign_in_inner(
    client: &mut Client,
    agent: u32,
    options: &SignInOptions,
    force_login_fallback: bool,
) -> Result<SignedIn, SignInError> {
    let fail = |retcode: &str, detail: String| SignInError { agent, retcode: retcode.to_owned(), detail };
    let body = options.body(agent);
    let mut response = client
        .send(Method::PUT, &paths::sign_in(agent), Some(&body), None)
        .await
        .map_err(|e| fail("transport", format!("{e:#}")))?;
    if force_login_fallback && response.retcode == RETCODE_ALREADY_SIGNED_IN {
        response = client
            .send(Method::PUT, &paths::force_login(agent), Some(&body), None)
            .await
            .map_err(|e| fail("transport", format!("forcelogin: {e:#}")))?;
    }
    if !response.is_success() {
        let code =
            if response.retcode.is_empty() { format!("HTTP {}", response.status) } else { response.retcode.clone() };
        return Err(fail(&code, response.describe()));
    }
    let Some(guid) = &response.set_guid else {
        return Err(fail("no-guid", "retcode 0 but no Set-GUID header in the response".into()));
    };

    #[derive(Deserialize)]
    struct SignInBody {
        #[serde(default)]
        result: Option<SignInResult>,
    }
    #[derive(Deserialize)]
    struct SignInResult {
        #[serde(default)]
        vdnid: Option<serde_json::Value>,
    }
    // `vdnid` is a number in the vendor examples but documented as a string.
    let vdn = serde_json::from_slice::<SignInBody>(&response.body)
        .ok()
        .and_then(|b| b.result?.vdnid)
        .and_then(|v| match v {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        })
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0);
    Ok(SignedIn { session: AgentSession::new(agent, guid), vdn })
}

/// Force-signs an agent out (releases its calls); errors are returned, not fatal.
pub async fn force_logout(client: &mut Client, session: &AgentSession) -> anyhow::Result<()> {
    let path = paths::force_logout(session.agent_id());
    let response = session.send(client, Method::DELETE, &path, None).await?;
    if !response.is_success() {
        bail!("sign-out of agent {} failed: {}", session.agent_id(), response.describe());
    }
    Ok(())
}

/// One agent event as delivered by the event poll.
#[derive(Debug, Clone)]
pub struct AgentEvent {
    /// `eventType`, e.g. `AgentEvent_Ringing`.
    pub kind: String,
    /// The call id from `content` (object with `callid`/`callId`, or a bare string).
    pub call_id: Option<String>,
    /// When the poll response carrying the event arrived.
    pub received_at: Instant,
}

pub mod event_types {
    pub const RINGING: &str = "AgentEvent_Ringing";
    pub const TALKING: &str = "AgentEvent_Talking";
    pub const CALL_RELEASE: &str = "AgentEvent_Call_Release";
    pub const CUSTOMER_RELEASE: &str = "AgentEvent_Customer_Release";
    pub const READY: &str = "AgentState_Ready";
    pub const SET_NOT_READY: &str = "AgentState_SetNotReady_Success";
}

/// Parses an event-poll body. `Ok(None)` = the poll timed out without an
/// event; `Err` = not a valid poll answer.
pub fn parse_event(body: &[u8], received_at: Instant) -> anyhow::Result<Option<AgentEvent>> {
    #[derive(Deserialize)]
    struct PollBody {
        #[serde(default)]
        event: Option<RawEvent>,
    }
    #[derive(Deserialize)]
    struct RawEvent {
        #[serde(rename = "eventType")]
        event_type: String,
        #[serde(default)]
        content: serde_json::Value,
    }
    let poll: PollBody = serde_json::from_slice(body)
        .with_context(|| format!("event poll answered with invalid JSON: {}", String::from_utf8_lossy(body)))?;
    Ok(poll.event.map(|raw| {
        let call_id = match &raw.content {
            serde_json::Value::String(id) => Some(id.clone()),
            serde_json::Value::Object(map) => {
                map.get("callid").or_else(|| map.get("callId")).and_then(|v| v.as_str()).map(str::to_owned)
            }
            _ => None,
        };
        AgentEvent { kind: raw.event_type, call_id, received_at }
    }))
}

/// Body of `POST /admin/calls`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InjectCall {
    pub caller: String,
    pub access_code: String,
    pub call_data: String,
}

/// Injects a customer call through the operator API and returns its call id.
pub async fn inject_call(admin: &mut Client, call: &InjectCall) -> anyhow::Result<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Injected {
        call_id: String,
    }
    let body = serde_json::to_vec(call)?;
    let response = admin.send(Method::POST, paths::ADMIN_CALLS, Some(&body), None).await?;
    if !(200..300).contains(&response.status) {
        bail!(
            "operator API POST /admin/calls answered HTTP {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
    }
    Ok(response.json::<Injected>()?.call_id)
}

/// Injects `calls` over up to 8 operator-API connections at once; the first error, if any.
pub async fn inject_calls(admin: &Arc<Connector>, calls: Vec<InjectCall>) -> anyhow::Result<()> {
    let clients = (0..calls.len().clamp(1, 8)).map(|_| Client::new(admin.clone())).collect();
    let injected = crate::fleet::for_each_parallel(clients, calls, |mut client, call| async move {
        let result = inject_call(&mut client, &call).await;
        (client, result)
    })
    .await;
    injected.into_iter().find_map(Result::err).map_or(Ok(()), Err)
}

/// Checks that the operator API accepts our token (`GET /admin/calls` answers 200).
pub async fn check_admin(admin: &mut Client) -> anyhow::Result<()> {
    let response = admin.send(Method::GET, paths::ADMIN_CALLS, None, None).await?;
    match response.status {
        200 => Ok(()),
        401 | 403 => bail!(
            "the operator API rejected the token (HTTP {}): check --admin-token / CCGW_ADMIN__TOKEN",
            response.status
        ),
        status => {
            bail!("operator API GET /admin/calls answered HTTP {status}: {}", String::from_utf8_lossy(&response.body))
        }
    }
}

/// The value of a gauge or counter from the admin listener's `GET /metrics`
/// (Prometheus text), if present. `name` includes the labels as rendered, e.g.
/// `ccgw_connections_open{listener="agent"}`.
pub async fn metric(admin: &mut Client, name: &str) -> anyhow::Result<Option<f64>> {
    let response = admin.send(Method::GET, paths::ADMIN_METRICS, None, None).await?;
    if response.status != 200 {
        bail!("GET /metrics answered HTTP {}", response.status);
    }
    let text = String::from_utf8_lossy(&response.body);
    Ok(text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()))
}

/// `GET /health` on the admin listener answers 200.
pub async fn health(admin: &mut Client) -> anyhow::Result<()> {
    let response = admin.send(Method::GET, paths::ADMIN_HEALTH, None, None).await?;
    if response.status != 200 {
        return Err(anyhow!("GET /health answered HTTP {}", response.status));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events() {
        let now = Instant::now();
        let ringing = br#"{"message":"","retcode":"0","event":{"eventType":"AgentEvent_Ringing","workNo":"101","content":{"callid":"1700000000-1","caller":"138"}}}"#;
        let event = parse_event(ringing, now).unwrap().unwrap();
        assert_eq!(event.kind, event_types::RINGING);
        assert_eq!(event.call_id.as_deref(), Some("1700000000-1"));

        let release = br#"{"retcode":"0","event":{"eventType":"AgentEvent_Call_Release","workNo":"101","content":"1700000000-1"}}"#;
        let event = parse_event(release, now).unwrap().unwrap();
        assert_eq!(event.call_id.as_deref(), Some("1700000000-1"));

        let ready = br#"{"retcode":"0","event":{"eventType":"AgentState_Ready","workNo":"101","content":null}}"#;
        assert_eq!(parse_event(ready, now).unwrap().unwrap().call_id, None);

        assert!(parse_event(br#"{"message":"","retcode":"0"}"#, now).unwrap().is_none());
        assert!(parse_event(b"oops", now).is_err());
    }

    #[test]
    fn sign_in_body_matches_contract() {
        let options = SignInOptions { password: DEMO_PASSWORD.into(), auto_enter_idle: true };
        let body: serde_json::Value = serde_json::from_slice(&options.body(101)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"password":"ccgw-demo","phonenum":"7101","status":4,
                "autoanswer":false,"autoenteridle":true,"releasephone":true})
        );
    }

    #[test]
    fn inject_call_body_is_camel_case() {
        let call =
            InjectCall { caller: "13800000001".into(), access_code: "10086".into(), call_data: "order=42".into() };
        assert_eq!(
            serde_json::to_string(&call).unwrap(),
            r#"{"caller":"13800000001","accessCode":"10086","callData":"order=42"}"#
        );
    }
}

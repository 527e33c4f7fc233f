//! `qualitycontrol`: supervisors listening to, whispering to, barging into and taking over
//! agents' calls, forcing other agents' states, and monitoring subscriptions. Who may do what is
//! the domain's (`VdnState::check_supervisor`); here the request's parameters are parsed and the
//! agents it names are placed (another VDN's agent is refused before the VDN's state is read).

use ccgw_domain::{AgentId, QcMode, SkillId, cmd};
use ccgw_store::Store;
use ccgw_wire::Method;
use ccgw_wire::request::AdjustSkillRequest;
use ccgw_wire::response::{self, AgentStateItem};
use ccgw_wire::retcode::{PARAMETER_INVALID, Retcode};

use super::{Ctx, Outcome, Reply, fail, ok_empty, parse_agent, parse_call_id, peer_in_vdn, query_param};
use crate::gateway::Gateway;

/// `beginmonitor` / `endmonitor`, `setselfrecord`, `cancelselfrecord`: at most this many agents
/// per call (the vendor sample client's `MAX_MONITOR_AGENTS`).
pub const MAX_AGENTS_PER_CALL: usize = 500;

pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let Ctx { gw, vdn, agent, params, query, body } = ctx;
    let e = fail(method);
    let param = |i: usize| params.get(i).copied().unwrap_or("");
    // The agent a path parameter or a query parameter names: well-formed, of the caller's VDN.
    let named = |s: &str| -> Result<AgentId, Retcode> {
        let id = parse_agent(s, gw.config.auth.max_workno()).ok_or(PARAMETER_INVALID)?;
        peer_in_vdn(gw, vdn, id.0).map_err(e)
    };
    let whisper_target = || named(&query_param(query, "whisperagentid").unwrap_or_default());
    match method {
        Method::AddSupervise | Method::AddInsert | Method::RequestWhisperAgent => {
            let (target, mode) = match method {
                Method::AddSupervise => (named(param(0))?, QcMode::Listen),
                Method::AddInsert => (named(param(0))?, QcMode::Insert),
                _ => (whisper_target()?, QcMode::Whisper),
            };
            gw.run(vdn, cmd::Supervise { supervisor: agent, target, mode }).map_err(e)?;
            ok_empty(method)
        }
        Method::SwitchSuperviseOrInsert => {
            let target = named(param(0))?;
            gw.run(vdn, cmd::SwitchSupervise { supervisor: agent, target, mode: None }).map_err(e)?;
            ok_empty(method)
        }
        Method::RequestSwitchInsertWhisperAgent => {
            let target = whisper_target()?;
            let mode = match query_param(query, "switchtype").as_deref() {
                Some("0") => QcMode::Listen,
                Some("1") => QcMode::Insert,
                Some("2") => QcMode::Whisper,
                _ => return Err(PARAMETER_INVALID),
            };
            gw.run(vdn, cmd::SwitchSupervise { supervisor: agent, target, mode: Some(mode) }).map_err(e)?;
            ok_empty(method)
        }
        Method::StopSuperviseOrInsert | Method::RequestStopWhisperAgent => {
            let (target, only) = match method {
                Method::StopSuperviseOrInsert => (named(param(0))?, None),
                _ => (whisper_target()?, Some(QcMode::Whisper)),
            };
            gw.run(vdn, cmd::StopSupervise { supervisor: agent, target, only }).map_err(e)?;
            ok_empty(method)
        }
        Method::Intercept | Method::InterceptCall => {
            let target = named(param(0))?;
            let call = match method {
                Method::InterceptCall => Some(parse_call_id(param(1))?),
                _ => None,
            };
            gw.run(vdn, cmd::Intercept { supervisor: agent, target, call }).map_err(e)?;
            ok_empty(method)
        }
        Method::ForceDropCall => {
            let call = parse_call_id(param(0))?;
            gw.run(vdn, cmd::ForceDropCall { supervisor: agent, call }).map_err(e)?;
            ok_empty(method)
        }
        Method::ForceBusy | Method::ForceIdle | Method::ForceLogOutAgent => {
            let target = named(param(0))?;
            match method {
                Method::ForceBusy => gw.run(vdn, cmd::ForceBusy { supervisor: agent, target }),
                Method::ForceIdle => gw.run(vdn, cmd::ForceIdle { supervisor: agent, target }),
                _ => gw.run(vdn, cmd::ForceSignOutAgent { supervisor: agent, target }),
            }
            .map_err(e)?;
            ok_empty(method)
        }
        Method::ForceRest => {
            let target = named(param(0))?;
            let secs: u32 = param(1).parse().map_err(|_| PARAMETER_INVALID)?;
            let cause: u8 = param(2).parse().map_err(|_| PARAMETER_INVALID)?;
            gw.run(vdn, cmd::ForceRest { supervisor: agent, target, secs, cause }).map_err(e)?;
            ok_empty(method)
        }
        Method::BeginMonitor => {
            let agents = agent_list(gw, vdn, method, query)?.ok_or(PARAMETER_INVALID)?;
            gw.run(vdn, cmd::BeginMonitor { supervisor: agent, agents }).map_err(e)?;
            ok_empty(method)
        }
        Method::EndMonitor => {
            let agents = agent_list(gw, vdn, method, query)?;
            gw.run(vdn, cmd::EndMonitor { supervisor: agent, agents }).map_err(e)?;
            ok_empty(method)
        }
        Method::QueryAllMonitoredAgents => {
            let list = gw
                .read(vdn, |s| {
                    s.session(agent)?;
                    s.check_role(agent, ccgw_domain::QcRight::Monitor)?;
                    Ok(s.monitored_by(agent)
                        .into_iter()
                        .filter_map(|a| s.agent(a).ok())
                        .map(|a| AgentStateItem {
                            workno: a.profile.id.0.to_string(),
                            name: a.profile.name.clone(),
                            status: a.state_code() as u8,
                        })
                        .collect::<Vec<_>>())
                })
                .map_err(e)?
                .map_err(e)?;
            // A query: `"message":""`, as the agentgroup state lists.
            Ok(Reply::new(response::ok("", list)))
        }
        Method::AdjustSkill => {
            let req = AdjustSkillRequest::parse(&body)?;
            let target = named(&req.workno.to_string())?;
            let skills = req.skills.into_iter().map(SkillId).collect();
            gw.run(vdn, cmd::AdjustSkills { supervisor: agent, target, skills }).map_err(e)?;
            // Vendor page 2409's sample: `"message":""`.
            Ok(Reply::new(response::ok("", response::empty_object())))
        }
        Method::QcSetAgentSelfRecord | Method::QcCancelAgentSelfRecord => {
            let record = match method {
                Method::QcSetAgentSelfRecord => {
                    let flag = |i: usize| match param(i) {
                        "true" => Ok(true),
                        "false" => Ok(false),
                        _ => Err(PARAMETER_INVALID),
                    };
                    Some((flag(0)?, flag(1)?))
                }
                _ => None,
            };
            let agents = agent_list(gw, vdn, method, query)?.ok_or(PARAMETER_INVALID)?;
            gw.run(vdn, cmd::QcSetSelfRecord { supervisor: agent, targets: agents, record }).map_err(e)?;
            ok_empty(method)
        }
        _ => Err(ccgw_wire::retcode::INTERNAL),
    }
}

/// The `agents` query parameter: work numbers separated by `;` (or `,`), at most
/// [`MAX_AGENTS_PER_CALL`], each an agent of the caller's VDN; `None` when absent or empty.
fn agent_list<S: Store>(
    gw: &Gateway<S>,
    vdn: ccgw_domain::VdnId,
    method: Method,
    query: &str,
) -> Result<Option<Vec<AgentId>>, Retcode> {
    let Some(raw) = query_param(query, "agents").filter(|s| !s.trim().is_empty()) else { return Ok(None) };
    let items: Vec<&str> = raw.split([';', ',']).map(str::trim).filter(|s| !s.is_empty()).collect();
    if items.is_empty() || items.len() > MAX_AGENTS_PER_CALL {
        return Err(PARAMETER_INVALID);
    }
    let mut out = Vec::with_capacity(items.len());
    for s in items {
        let id = parse_agent(s, gw.config.auth.max_workno()).ok_or(PARAMETER_INVALID)?;
        out.push(peer_in_vdn(gw, vdn, id.0).map_err(fail(method))?);
    }
    out.sort_unstable();
    out.dedup();
    Ok(Some(out))
}

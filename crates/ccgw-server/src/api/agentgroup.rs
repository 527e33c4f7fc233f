//! `agentgroup`: what the other agents, groups and skills of the VDN are doing. Subject to the
//! overload control (the calldata budget, checked in `api::authenticated`). Implemented so far:
//! `idleagent`, `agentwasnameonvdn` and `allagentstatus` (docs/interfaces.md lists the rest).

use ccgw_domain::{AgentStateCode, DomainError};
use ccgw_store::Store;
use ccgw_wire::Method;
use ccgw_wire::response::{self, AgentStateItem, IdleAgent};

use super::{Ctx, Outcome, Reply, fail};

/// The family's interfaces, once the GUID has been checked.
pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let Ctx { gw, vdn, .. } = ctx;
    let e = fail(method);
    match method {
        Method::GetIdleStatusAgents => {
            // The caller's VDN, idle agents only (agentState 4), in work-number order.
            let idle: Vec<IdleAgent> = gw
                .read(vdn, |s| {
                    s.agents
                        .values()
                        .filter(|a| a.state_code() == AgentStateCode::Idle)
                        .map(|a| IdleAgent { workno: a.profile.id.0.to_string(), name: a.profile.name.clone() })
                        .collect()
                })
                .map_err(e)?;
            Ok(Reply::new(response::ok("", idle)))
        }
        Method::GetAllStatusAgents => {
            // Every configured agent of the caller's VDN, signed out ones with status 2.
            let all: Vec<AgentStateItem> = gw
                .read(vdn, |s| {
                    s.agents
                        .values()
                        .map(|a| AgentStateItem {
                            workno: a.profile.id.0.to_string(),
                            name: a.profile.name.clone(),
                            status: a.state_code() as u8,
                        })
                        .collect()
                })
                .map_err(e)?;
            Ok(Reply::new(response::ok("", all)))
        }
        Method::QueryAllAgentWasNameOnVdn => {
            // Every configured agent of the caller's VDN, signed in or not.
            let agents = gw.directory.agents_of(vdn);
            Ok(Reply::new(response::agent_names(agents.iter().map(|a| (a.id.0, a.name.as_str())))))
        }
        _ => Err(e(DomainError::Internal)),
    }
}

//! `agentgroup`: what the other agents, groups and skills of the caller's VDN are doing, and the
//! caller's own rights and rest. Every interface is subject to the overload control (the calldata
//! budget, checked in `api::authenticated`) and answers about the caller's VDN only: another VDN's
//! agent, group or skill gets the same answer as a missing one (docs/compat.md, "Agent groups").

use ccgw_domain::agent::{Agent, Ready};
use ccgw_domain::{AgentStateCode, Directory, DomainError, Skill, SkillId, VdnState};
use ccgw_store::Store;
use ccgw_wire::Method;
use ccgw_wire::Retcode;
use ccgw_wire::request::AgentListRequest;
use ccgw_wire::response::{
    self, AgentInfo, AgentStateItem, AgentStateTime, GroupInfo, IdleAgent, RestInfo, RestReasonInfo, SkillInfo,
    StatusAndSkills,
};
use ccgw_wire::retcode::PARAMETER_INVALID;

use super::{Ctx, Outcome, Reply, fail, parse_agent, peer_in_vdn, query_param, skill_in_vdn};
use crate::gateway::now_ms;

/// The family's interfaces, once the GUID has been checked.
pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let Ctx { gw, vdn, agent, params, query, body } = ctx;
    let e = fail(method);
    let dir: &Directory = &gw.directory;
    let now = now_ms();
    let ok = |body: Vec<u8>| Ok(Reply::new(body));
    // The `{workno}` path parameter: malformed `000-002`; not provisioned / other VDN: the
    // by-workno codes (`300-002` / `300-001`).
    let workno = || -> Result<ccgw_domain::AgentId, Retcode> {
        let id =
            parse_agent(params.first().copied().unwrap_or(""), gw.config.auth.max_workno()).ok_or(PARAMETER_INVALID)?;
        peer_in_vdn(gw, vdn, id.0).map_err(e)
    };
    // The `{skillid}` path parameter: a skill of the caller's VDN, else `000-002`.
    let skill = || -> Result<SkillId, Retcode> {
        let raw = params.first().copied().unwrap_or("");
        let id = digits(raw).ok_or(PARAMETER_INVALID)?;
        skill_in_vdn(gw, vdn, id)
    };
    // The `attribute` query parameter of the `…byattribute` variants: required.
    let attribute = || -> Result<String, Retcode> {
        query_param(query, "attribute").filter(|a| !a.is_empty()).ok_or(PARAMETER_INVALID)
    };
    let infos = |filter: &dyn Fn(&Agent) -> bool| -> Result<Vec<AgentInfo>, Retcode> {
        gw.read(vdn, |s| s.agents.values().filter(|a| filter(a)).map(|a| info(dir, s, a, now)).collect()).map_err(e)
    };
    let list = |v: Vec<AgentInfo>| ok(response::ok("", v));
    let flag = |pick: fn(&ccgw_domain::AgentRights) -> bool| {
        let rights = dir.agent(agent).map(|p| p.rights).unwrap_or_default();
        ok(response::ok("", pick(&rights)))
    };
    match method {
        Method::GetIdleStatusAgents => ok(response::ok("", idle(gw, vdn, None).map_err(e)?)),
        Method::GetIdleStatusAgentsByAttribute => {
            let attr = attribute()?;
            ok(response::ok("", idle(gw, vdn, Some(&attr)).map_err(e)?))
        }
        Method::GetAllStatusAgents | Method::GetAllStatusLocalAgents => {
            ok(response::ok("", states(gw, vdn, None).map_err(e)?))
        }
        Method::GetAllStatusAgentsByAttribute => {
            let attr = attribute()?;
            ok(response::ok("", states(gw, vdn, Some(&attr)).map_err(e)?))
        }
        Method::QueryAllAgentWasNameOnVdn => {
            // Every configured agent of the caller's VDN, signed in or not.
            let agents = dir.agents_of(vdn);
            ok(response::agent_names(agents.iter().map(|a| (a.id.0, a.name.as_str()))))
        }
        Method::QueryAgentInfoByWorkNo => {
            let target = workno()?;
            let one = gw.read(vdn, |s| s.agent(target).map(|a| info(dir, s, a, now))).map_err(e)?.map_err(e)?;
            ok(response::ok("", one))
        }
        Method::QueryAgentInfoWithoutSkills => {
            let req = AgentListRequest::parse(&body)?;
            let mut seen = std::collections::HashSet::new();
            let wanted: Vec<ccgw_domain::AgentId> = req
                .agents
                .into_iter()
                .flatten()
                .map(ccgw_domain::AgentId)
                .filter(|id| dir.vdn_of(*id) == Some(vdn) && seen.insert(*id))
                .collect();
            let v: Vec<AgentInfo> = gw
                .read(vdn, |s| {
                    wanted
                        .iter()
                        .filter_map(|id| s.agents.get(id))
                        .map(|a| info(dir, s, a, now).without_skills())
                        .collect()
                })
                .map_err(e)?;
            list(v)
        }
        Method::QueryAllLoginedAgentInfoOnVdn => list(infos(&signed_in)?),
        Method::QueryAllLoginedAgentInfoOnVdnByAttribute => {
            let attr = attribute()?;
            list(infos(&|a| signed_in(a) && has_attribute(a, &attr))?)
        }
        Method::QueryAllLoggedInAgentPhonesOnVdn => {
            let phones: Vec<(u32, String)> = gw
                .read(vdn, |s| {
                    s.agents
                        .values()
                        .filter_map(|a| a.session.as_ref().map(|x| (a.profile.id.0, x.options.phone.clone())))
                        .collect()
                })
                .map_err(e)?;
            ok(response::agent_phones(phones.iter().map(|(w, p)| (*w, p.as_str()))))
        }
        Method::QueryGroupInfoOnVdn => {
            let groups: Vec<GroupInfo> = dir.groups_of(vdn).into_iter().map(GroupInfo::new).collect();
            ok(response::ok("", groups))
        }
        Method::QueryGroupInfoByWorkNo => {
            let target = workno()?;
            match dir.group_of(target) {
                Some(g) => ok(response::ok("", GroupInfo::new(g))),
                None => ok(response::ok("", response::empty_object())),
            }
        }
        Method::QueryAllAgentInfoOnMyGroup | Method::QueryAllAgentInfoOnMyGroupByAttribute => {
            let attr = match method {
                Method::QueryAllAgentInfoOnMyGroupByAttribute => Some(attribute()?),
                _ => None,
            };
            let members = dir.group_of(agent).map(|g| g.members.clone()).unwrap_or_default();
            list(infos(&|a| members.contains(&a.profile.id) && attr.as_ref().is_none_or(|x| has_attribute(a, x)))?)
        }
        Method::QueryAllAgentInfoOnMyGroupEx => {
            let id = query_param(query, "groupid").as_deref().and_then(digits).ok_or(PARAMETER_INVALID)?;
            let group = dir.group_in(vdn, id).ok_or(PARAMETER_INVALID)?;
            list(infos(&|a| group.members.contains(&a.profile.id))?)
        }
        Method::QueryAgentInfoBySkillId => {
            let k = skill()?;
            let attr = query_param(query, "attribute").filter(|a| !a.is_empty());
            list(infos(&|a| signed_in_to(a, k) && attr.as_ref().is_none_or(|x| has_attribute(a, x)))?)
        }
        Method::QueryAgentInfoByConfigedSkillId => {
            let k = skill()?;
            list(infos(&|a| a.profile.skills.contains(&k))?)
        }
        Method::QueryAgentInfoByConfigedSkillIdAndAttribute => {
            let k = skill()?;
            let attr = attribute()?;
            list(infos(&|a| a.profile.skills.contains(&k) && has_attribute(a, &attr))?)
        }
        Method::QueryAgentIdsBySkillId => {
            let k = skill()?;
            let ids: Vec<String> = gw
                .read(vdn, |s| {
                    s.agents.values().filter(|a| signed_in_to(a, k)).map(|a| a.profile.id.0.to_string()).collect()
                })
                .map_err(e)?;
            ok(response::ok("", ids))
        }
        Method::QueryAgentInfoByList => {
            // `mediaTypes`: media type codes separated by `,` or `;`; absent or empty: any.
            let types: Option<Vec<u8>> = match query_param(query, "mediaTypes").filter(|m| !m.is_empty()) {
                None => None,
                Some(raw) => Some(
                    raw.split([',', ';'])
                        .filter(|t| !t.trim().is_empty())
                        .map(|t| t.trim().parse::<u8>().map_err(|_| PARAMETER_INVALID))
                        .collect::<Result<_, _>>()?,
                ),
            };
            let v: Vec<AgentInfo> = gw
                .read(vdn, |s| {
                    s.agents
                        .values()
                        .filter(|a| {
                            a.session.as_ref().is_some_and(|x| {
                                x.active_skills
                                    .iter()
                                    .filter_map(|k| s.skills.get(k))
                                    .any(|k| types.as_ref().is_none_or(|t| t.contains(&k.media_type)))
                            })
                        })
                        .map(|a| info(dir, s, a, now))
                        .collect()
                })
                .map_err(e)?;
            list(v)
        }
        Method::QueryAgentStatusAndSkill => {
            let r = gw
                .read(vdn, |s| {
                    let a = s.agent(agent)?;
                    let skills = a.profile.skills.iter().filter_map(|k| s.skills.get(k)).map(SkillInfo::new).collect();
                    Ok::<_, DomainError>(StatusAndSkills { status: a.state_code() as u8, skills })
                })
                .map_err(e)?
                .map_err(e)?;
            ok(response::ok("", r))
        }
        Method::QueryAgentStatusAndTimeOnVDN => {
            let v: Vec<AgentStateTime> = gw
                .read(vdn, |s| {
                    s.agents
                        .values()
                        .map(|a| AgentStateTime {
                            workno: a.profile.id.0.to_string(),
                            name: a.profile.name.clone(),
                            status: a.state_code() as u8,
                            currentstatetime: response::state_seconds(a, now),
                        })
                        .collect()
                })
                .map_err(e)?;
            ok(response::ok("", v))
        }
        Method::GetAgentListByStatus => {
            let status = query_param(query, "status")
                .as_deref()
                .and_then(digits)
                .filter(|s| *s <= 9)
                .ok_or(PARAMETER_INVALID)?;
            let v: Vec<AgentStateItem> = gw
                .read(vdn, |s| s.agents.values().filter(|a| a.state_code() as u32 == status).map(state_item).collect())
                .map_err(e)?;
            ok(response::ok("", v))
        }
        Method::QueryAgentRestDetailInfo => {
            let rest = gw
                .read(vdn, |s| {
                    let x = s.session(agent)?;
                    Ok::<_, DomainError>(match x.ready {
                        Ready::Rest { until_ms, cause, .. } if !x.in_call() => Some(RestInfo {
                            restcause: cause,
                            time: until_ms.saturating_sub(x.state_since_ms) / 1000,
                            begintime: x.state_since_ms,
                            remaintime: until_ms.saturating_sub(now).div_ceil(1000),
                        }),
                        _ => None,
                    })
                })
                .map_err(e)?
                .map_err(e)?;
            match rest {
                Some(r) => ok(response::ok("", r)),
                None => ok(response::ok("", response::empty_object())),
            }
        }
        Method::GetAgentRestReason => {
            let v: Vec<RestReasonInfo> = dir
                .rest_reasons_of(vdn)
                .into_iter()
                .map(|r| RestReasonInfo { id: r.code, name: r.name.clone() })
                .collect();
            ok(response::ok("", v))
        }
        // ccgw has no text chat: no agent is ever in one.
        Method::GetAllAgentsInTextChat => list(Vec::new()),
        Method::GetAllAgentsInTextChatByAttribute => {
            attribute()?;
            list(Vec::new())
        }
        Method::IsCallOut => flag(|r| r.callout),
        Method::IsCensor => flag(|r| r.censor),
        Method::IsSpyMonitor => flag(|r| r.spy_monitor),
        Method::IsMonitor => flag(|r| r.monitor),
        Method::IsReportManager => flag(|r| r.report_manager),
        Method::IsSystem => flag(|r| r.system),
        Method::IsPickUp => flag(|r| r.pickup),
        _ => Err(e(DomainError::Internal)),
    }
}

/// A number written as 1–9 digits (nothing else).
fn digits(raw: &str) -> Option<u32> {
    (!raw.is_empty() && raw.len() <= 9 && raw.bytes().all(|b| b.is_ascii_digit())).then(|| raw.parse().ok()).flatten()
}

fn signed_in(a: &Agent) -> bool {
    a.session.is_some()
}

fn signed_in_to(a: &Agent, skill: SkillId) -> bool {
    a.session.as_ref().is_some_and(|s| s.active_skills.contains(&skill))
}

fn has_attribute(a: &Agent, attribute: &str) -> bool {
    a.profile.attributes.iter().any(|x| x == attribute)
}

/// The agent-information object of one agent of the VDN (its signed-in skill queues included).
fn info(dir: &Directory, s: &VdnState, a: &Agent, now: u64) -> AgentInfo {
    let skills: Vec<&Skill> = a
        .session
        .as_ref()
        .map(|x| x.active_skills.iter().filter_map(|k| s.skills.get(k)).collect())
        .unwrap_or_default();
    let ringing = s.ringing_call(a.profile.id).is_some();
    AgentInfo::new(a, dir.group_of(a.profile.id), Some(&skills), ringing, now)
}

fn state_item(a: &Agent) -> AgentStateItem {
    AgentStateItem { workno: a.profile.id.0.to_string(), name: a.profile.name.clone(), status: a.state_code() as u8 }
}

/// `idleagent`: the VDN's idle agents (agentState 4), in work-number order.
fn idle<S: Store>(
    gw: &crate::gateway::Gateway<S>,
    vdn: ccgw_domain::VdnId,
    attribute: Option<&str>,
) -> Result<Vec<IdleAgent>, DomainError> {
    gw.read(vdn, |s| {
        s.agents
            .values()
            .filter(|a| a.state_code() == AgentStateCode::Idle && attribute.is_none_or(|x| has_attribute(a, x)))
            .map(|a| IdleAgent { workno: a.profile.id.0.to_string(), name: a.profile.name.clone() })
            .collect()
    })
}

/// `allagentstatus`: every configured agent of the VDN, signed-out ones with status 2.
fn states<S: Store>(
    gw: &crate::gateway::Gateway<S>,
    vdn: ccgw_domain::VdnId,
    attribute: Option<&str>,
) -> Result<Vec<AgentStateItem>, DomainError> {
    gw.read(vdn, |s| {
        s.agents.values().filter(|a| attribute.is_none_or(|x| has_attribute(a, x))).map(state_item).collect()
    })
}

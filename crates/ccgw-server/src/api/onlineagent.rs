//! `onlineagent`: sign-out, GUID, heartbeat, agent states and skills. (Sign-in itself is
//! answered before authentication, in `api::sign_in`.)

use ccgw_domain::{AgentStateCode, DomainError, SkillId};
use ccgw_store::Store;
use ccgw_wire::Method;
use ccgw_wire::response::{self, AgentStatus, GuidResult, SkillInfo};
use ccgw_wire::retcode::{LOGOUT_PARAMETER, PARAMETER_INVALID, SKILL_PARAMETER};

use super::{Ctx, Outcome, Reply, fail, ok_empty, parse_agent, peer_in_vdn, query_flag, query_param};

/// The family's interfaces, once the GUID has been checked.
pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let Ctx { gw, vdn, agent, params, query, .. } = ctx;
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
        Method::SetAgentAutoAnswer => {
            // "true" = answer automatically; any other 1–5 character flag = answer by hand.
            let flag = param(0);
            if flag.is_empty() || flag.len() > 5 {
                return Err(PARAMETER_INVALID);
            }
            let on = flag == "true";
            gw.update(vdn, |s, _| s.set_auto_answer(agent, on)).map_err(e).and_then(|_| ok_empty(method))
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
                    s.session(agent)?;
                    let profile = &s.agent(agent)?.profile;
                    Ok(profile.skills.iter().filter_map(|id| s.skills.get(id)).map(SkillInfo::new).collect::<Vec<_>>())
                })
                .map_err(e)?
                .map_err(e)?;
            Ok(Reply::new(response::ok(method.success_message(), list)))
        }
        Method::QueryAgentSkillsByWorkNo => {
            let target = parse_agent(param(0), gw.config.auth.max_workno()).ok_or(PARAMETER_INVALID)?;
            let target = peer_in_vdn(gw, vdn, target.0).map_err(e)?;
            // A provisioned agent that is not signed in has no skills signed in: an empty list.
            let list = gw
                .read(vdn, |s| match s.session(target) {
                    Err(_) => Vec::new(),
                    Ok(_) => s.agent(target).map_or_else(
                        |_| Vec::new(),
                        |a| a.profile.skills.iter().filter_map(|id| s.skills.get(id)).map(SkillInfo::new).collect(),
                    ),
                })
                .map_err(e)?;
            Ok(Reply::new(response::ok(method.success_message(), list)))
        }
        _ => Err(e(DomainError::Internal)),
    }
}

//! `calldata`: queries about the agent's calls (subject to the overload control, checked in
//! `api::authenticated`) and setting call-associated data.

use ccgw_domain::DomainError;
use ccgw_store::Store;
use ccgw_wire::Method;
use ccgw_wire::request::SetCallDataRequest;
use ccgw_wire::response::{self, CallInfo, HeldCall, Statistics};
use ccgw_wire::retcode::PARAMETER_INVALID;

use super::{
    Ctx, Outcome, Reply, call_info_or_empty, fail, info, ok_empty, parse_agent, parse_call_id, peer_in_vdn, query_flag,
    query_param,
};
use crate::gateway::now_ms;

/// The family's interfaces, once the GUID has been checked.
pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let Ctx { gw, vdn, agent, params, query, body } = ctx;
    let e = fail(method);
    let param = |i: usize| params.get(i).copied().unwrap_or("");
    let now = now_ms();
    let done = |r: Result<(), DomainError>| r.map_err(e).and_then(|_| ok_empty(method));
    match method {
        Method::QueryAllCallInfoByAgentWorkNoEx => {
            let target =
                parse_agent(param(0), gw.config.auth.max_workno()).ok_or_else(|| e(DomainError::UnknownAgent))?;
            let target = peer_in_vdn(gw, vdn, target.0).map_err(e)?;
            let ids = gw.read(vdn, |s| s.call_ids_of(target)).map_err(e)?;
            Ok(Reply::new(response::call_ids(&ids)))
        }
        Method::QueryAllCallInfoByAgentWorkNo => {
            let target =
                parse_agent(param(0), gw.config.auth.max_workno()).ok_or_else(|| e(DomainError::UnknownAgent))?;
            let target = peer_in_vdn(gw, vdn, target.0).map_err(e)?;
            let list: Vec<CallInfo> = gw
                .read(vdn, |s| {
                    s.call_ids_of(target)
                        .into_iter()
                        .filter_map(|id| s.call_of_agent(target, id))
                        .map(|c| info(s, c, now))
                        .collect()
                })
                .map_err(e)?;
            Ok(Reply::new(response::ok("", list)))
        }
        Method::QueryAllCallID => {
            let ids = gw.read(vdn, |s| s.call_ids_of(agent)).map_err(e)?;
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
        Method::QueryCallStatisticsInfoEx | Method::QueryCallStatisticsInfo => {
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

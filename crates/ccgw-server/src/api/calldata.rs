//! `calldata`: queries about the agent's calls (subject to the overload control, checked in
//! `api::authenticated`) and setting call-associated data.

use ccgw_domain::{AgentId, CallRecord, DomainError, SkillId, cmd};
use ccgw_store::Store;
use ccgw_wire::request::{AssignInQueueRequest, MAX_CALL_DATA, SetCallDataRequest};
use ccgw_wire::response::{self, CallInfo, CallRecordInfo, HeldCall, Statistics};
use ccgw_wire::retcode::PARAMETER_INVALID;
use ccgw_wire::{Method, Retcode};

use super::{
    Ctx, Outcome, Reply, call_info_or_empty, fail, info, ok_empty, parse_agent, parse_call_id, parse_id, peer_in_vdn,
    query_flag, query_param, skill_in_vdn,
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
            done(gw.run(vdn, cmd::SetCallData { agent, call: Some(id), data: req.data }))
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
        // --- issue 8 ---
        Method::SetCallAppData => {
            let data = query_param(query, "calldata").unwrap_or_default();
            if data.len() > MAX_CALL_DATA {
                return Err(PARAMETER_INVALID);
            }
            let id = query_param(query, "callid").filter(|c| !c.is_empty()).map(|c| parse_call_id(&c)).transpose()?;
            // No call id: the agent's current call, chosen where the command applies.
            done(gw.run(vdn, cmd::SetCallData { agent, call: id, data }))
        }
        Method::QueryAgentHoldNum => {
            let target = parse_agent(param(0), gw.config.auth.max_workno()).ok_or(PARAMETER_INVALID)?;
            let target = peer_in_vdn(gw, vdn, target.0).map_err(e)?;
            let n = gw.read(vdn, |s| s.held_calls(target).len()).map_err(e)?;
            Ok(Reply::new(response::ok("", n)))
        }
        Method::QueryWaitCallInfoBySkillId => {
            let skill = skill_in_vdn(gw, vdn, parse_id(param(0))?)?;
            let list: Vec<CallInfo> = gw
                .read(vdn, |s| s.queued_calls(skill).map(|v| v.into_iter().map(|c| info(s, c, now)).collect()))
                .map_err(e)?
                .map_err(|_| PARAMETER_INVALID)?;
            Ok(Reply::new(response::ok("", list)))
        }
        // The simulated engine has no IVR that holds calls: a flow of the VDN has none waiting.
        Method::QueryWaitCallInfoByIVRId | Method::QueryCallCountByIVRId => {
            let id = parse_id(param(0))?;
            gw.directory.ivrs.get(&id).filter(|i| i.vdn == vdn).ok_or(PARAMETER_INVALID)?;
            if method == Method::QueryCallCountByIVRId {
                return Ok(Reply::new(response::ok("", 0)));
            }
            Ok(Reply::new(response::ok("", Vec::<CallInfo>::new())))
        }
        // No private (per-agent) queues in the engine: nothing ever waits in one.
        Method::QueryPrivateCallInfo => {
            gw.read(vdn, |s| s.session(agent).map(drop)).map_err(e)?.map_err(e)?;
            Ok(Reply::new(response::ok("", Vec::<CallInfo>::new())))
        }
        Method::QueryAllCallInfoOnVdn => {
            let list: Vec<CallInfo> =
                gw.read(vdn, |s| s.calls.values().map(|c| info(s, c, now)).collect()).map_err(e)?;
            Ok(Reply::new(response::ok("", list)))
        }
        Method::IsProcessCall => {
            let busy = gw.read(vdn, |s| s.session(agent).map(|x| x.in_call())).map_err(e)?.map_err(e)?;
            Ok(Reply::new(response::ok("", busy)))
        }
        Method::QueryCallRecordList | Method::QuerySelfCallRecordInfo => {
            let who = match method {
                Method::QuerySelfCallRecordInfo => Some(agent),
                _ => match query_param(query, "workno").filter(|w| !w.is_empty()) {
                    None => None,
                    Some(w) => {
                        let t = parse_agent(&w, gw.config.auth.max_workno()).ok_or(PARAMETER_INVALID)?;
                        Some(peer_in_vdn(gw, vdn, t.0).map_err(e)?)
                    }
                },
            };
            let filter = RecordFilter::parse(query, who, |k| skill_in_vdn(gw, vdn, k))?;
            let list: Vec<CallRecordInfo> = gw
                .read(vdn, |s| {
                    filter
                        .select(s.call_records.iter())
                        .map(|r| CallRecordInfo::new(r, r.skill.and_then(|k| s.skills.get(&k))))
                        .collect()
                })
                .map_err(e)?;
            Ok(Reply::new(response::ok("", list)))
        }
        Method::AssignUserInQueue => {
            let req = AssignInQueueRequest::parse(&body)?;
            let id = parse_call_id(&req.call_id)?;
            let skill = skill_in_vdn(gw, vdn, req.skill)?;
            done(gw.run(vdn, cmd::AssignInQueue { agent, call: id, skill }))
        }
        _ => Err(e(DomainError::Internal)),
    }
}

/// Most records one call-record query returns (`endposition − startposition + 1`).
const MAX_RECORD_PAGE: usize = 100;

/// The validated parameters of a call-record query: records of `who` (any agent of the VDN when
/// `None`) on `skill`, ended within `[start_ms, end_ms]`, newest first, positions `from..=to`
/// (1-based) of that list.
struct RecordFilter {
    who: Option<AgentId>,
    skill: Option<SkillId>,
    start_ms: u64,
    end_ms: u64,
    from: usize,
    to: usize,
}

impl RecordFilter {
    fn parse(
        query: &str,
        who: Option<AgentId>,
        skill_in_vdn: impl Fn(u32) -> Result<SkillId, Retcode>,
    ) -> Result<Self, Retcode> {
        let present = |k: &str| query_param(query, k).filter(|v| !v.is_empty());
        let skill = present("skillid").map(|k| parse_id(&k).and_then(&skill_in_vdn)).transpose()?;
        // Milliseconds since the epoch, as every time the vendor's call objects carry.
        let ms = |k: &str| -> Result<Option<u64>, Retcode> {
            present(k)
                .map(|v| {
                    if v.len() > 13 || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(PARAMETER_INVALID);
                    }
                    v.parse().map_err(|_| PARAMETER_INVALID)
                })
                .transpose()
        };
        let start_ms = ms("startdate")?.unwrap_or(0);
        let end_ms = ms("enddate")?.unwrap_or(u64::MAX);
        let pos = |k: &str| -> Result<Option<usize>, Retcode> {
            present(k).map(|v| parse_id(&v).map(|n| n as usize)).transpose()
        };
        let from = pos("startposition")?.unwrap_or(1);
        let to = pos("endposition")?.unwrap_or(from.saturating_add(MAX_RECORD_PAGE - 1));
        if start_ms > end_ms || from == 0 || to < from || to - from >= MAX_RECORD_PAGE {
            return Err(PARAMETER_INVALID);
        }
        Ok(RecordFilter { who, skill, start_ms, end_ms, from, to })
    }

    fn select<'a>(
        &'a self,
        records: impl DoubleEndedIterator<Item = &'a CallRecord> + 'a,
    ) -> impl Iterator<Item = &'a CallRecord> + 'a {
        records
            .rev()
            .filter(|r| self.who.is_none_or(|w| r.agent == w))
            .filter(|r| self.skill.is_none_or(|k| r.skill == Some(k)))
            .filter(|r| (self.start_ms..=self.end_ms).contains(&r.end_ms))
            .skip(self.from - 1)
            .take(self.to - self.from + 1)
    }
}

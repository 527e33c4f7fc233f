//! `onlineagent`: sign-out, GUID, heartbeat, agent states and skills. (Sign-in itself is
//! answered before authentication, in `api::sign_in`.)

use std::net::SocketAddr;
use std::sync::Arc;

use ccgw_domain::agent::{MAX_PRIVATE_CONFIG, Pending};
use ccgw_domain::{AgentId, AgentStateCode, DomainError, PartyState, SkillId, VdnState, cmd};
use ccgw_store::Store;
use ccgw_wire::Method;
use ccgw_wire::request::{BindPhoneRequest, BulletinRequest, BulletinTarget, MAX_NOTE, ModifyPasswordRequest};
use ccgw_wire::response::{self, AgentStateInfo, AgentStatus, CustomState, GuidResult, SkillInfo, SyncAgentInfo};
use ccgw_wire::retcode::{
    LOGOUT_PARAMETER, PARAMETER_INVALID, PASSWORD_CONTAINS_NAME, PASSWORD_LENGTH, PASSWORD_MISMATCH, PASSWORD_RULES,
    PASSWORD_SAME_AS_OLD, Retcode, SKILL_PARAMETER,
};

use super::{Ctx, Outcome, Reply, fail, info, ok_empty, parse_agent, peer_in_vdn, query_flag, query_param};
use crate::gateway::{Gateway, now_ms};

/// The family's interfaces, once the GUID has been checked.
pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let Ctx { gw, vdn, agent, params, query, body } = ctx;
    let e = fail(method);
    let param = |i: usize| params.get(i).copied().unwrap_or("");
    match method {
        Method::Logout => gw.run(vdn, cmd::SignOut { agent }).map_err(e).and_then(|_| ok_empty(method)),
        Method::ForceLogout => gw.run(vdn, cmd::ForceSignOut { agent }).map_err(e).and_then(|_| ok_empty(method)),
        Method::ForceLogoutWithReason => {
            let reason: u8 = param(0).parse().map_err(|_| LOGOUT_PARAMETER)?;
            if reason == 0 {
                return Err(LOGOUT_PARAMETER);
            }
            gw.run(vdn, cmd::ForceSignOut { agent }).map_err(e)?;
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
            gw.run(vdn, cmd::SayBusy { agent, reason, prolong }).map_err(e).and_then(|_| ok_empty(method))
        }
        Method::CancelBusy => gw.run(vdn, cmd::CancelBusy { agent }).map_err(e).and_then(|_| ok_empty(method)),
        Method::SayFree => gw.run(vdn, cmd::SayFree { agent }).map_err(e).and_then(|_| ok_empty(method)),
        Method::Rest => {
            let secs: u32 = param(0).parse().map_err(|_| PARAMETER_INVALID)?;
            let cause: u8 = param(1).parse().map_err(|_| PARAMETER_INVALID)?;
            let prolong = query_flag(query, "prolong")?.unwrap_or(false);
            gw.run(vdn, cmd::Rest { agent, secs, cause, prolong }).map_err(e).and_then(|_| ok_empty(method))
        }
        Method::CancelRest => gw.run(vdn, cmd::CancelRest { agent }).map_err(e).and_then(|_| ok_empty(method)),
        Method::SayWork => gw.run(vdn, cmd::Work { agent }).map_err(e).and_then(|_| ok_empty(method)),
        Method::CancelWork => gw.run(vdn, cmd::CancelWork { agent }).map_err(e).and_then(|_| ok_empty(method)),
        Method::SetAgentAutoEnterIdle => {
            // "true" = go idle after a call; any other 1–5 character flag = wrap-up.
            let flag = param(0);
            if flag.is_empty() || flag.len() > 5 {
                return Err(PARAMETER_INVALID);
            }
            let on = flag == "true";
            gw.run(vdn, cmd::SetAutoEnterIdle { agent, on }).map_err(e).and_then(|_| ok_empty(method))
        }
        Method::SetAgentAutoAnswer => {
            // "true" = answer automatically; any other 1–5 character flag = answer by hand.
            let flag = param(0);
            if flag.is_empty() || flag.len() > 5 {
                return Err(PARAMETER_INVALID);
            }
            let on = flag == "true";
            gw.run(vdn, cmd::SetAutoAnswer { agent, on }).map_err(e).and_then(|_| ok_empty(method))
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
            gw.run(vdn, cmd::ResetSkills { agent, skills }).map_err(e).and_then(|_| ok_empty(method))
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
        // --- onlineagent settings and messages ---
        Method::SetCustomState => {
            let state: u16 = query_param(query, "customstate")
                .and_then(|v| v.parse().ok())
                .filter(|v| *v <= 65534)
                .ok_or(PARAMETER_INVALID)?;
            gw.run(vdn, cmd::SetCustomState { agent, state }).map_err(e)?;
            ok_empty(method)
        }
        Method::QueryCustomState => {
            let state = gw.read(vdn, |s| s.session(agent).map(|a| a.settings.custom_state)).map_err(e)?.map_err(e)?;
            Ok(Reply::new(response::ok(method.success_message(), CustomState::new(state))))
        }
        Method::GetPrivateConfig => {
            let config =
                gw.read(vdn, |s| s.session(agent).map(|a| a.settings.private_config.clone())).map_err(e)?.map_err(e)?;
            Ok(Reply::new(response::ok(method.success_message(), config)))
        }
        Method::PutPrivateConfig => {
            let config = query_param(query, "config").ok_or(PARAMETER_INVALID)?;
            if config.len() > MAX_PRIVATE_CONFIG {
                return Err(PARAMETER_INVALID);
            }
            gw.run(vdn, cmd::SetPrivateConfig { agent, config }).map_err(e)?;
            ok_empty(method)
        }
        Method::SetTalkRight => {
            let on = query_flag(query, "flag")?.ok_or(PARAMETER_INVALID)?;
            gw.run(vdn, cmd::SetTalkRight { agent, on }).map_err(e)?;
            ok_empty(method)
        }
        Method::SetAgentSelfRecord => {
            let flag = |i: usize| match param(i) {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(PARAMETER_INVALID),
            };
            let (record, before) = (flag(0)?, flag(1)?);
            gw.run(vdn, cmd::SetSelfRecord { agent, record, before_talking: before }).map_err(e)?;
            ok_empty(method)
        }
        Method::BindAgentPhone => {
            let req = BindPhoneRequest::parse(&body)?;
            // SIP mode: as at sign-in, the phone must be registered (`100-013`).
            if !gw.phone_usable(&req.phone) {
                return Err(e(DomainError::InvalidNumber));
            }
            gw.run(vdn, cmd::BindPhone { agent, phone: req.phone }).map_err(e)?;
            ok_empty(method)
        }
        Method::SendNotelet => {
            let receiver = parse_agent(param(0), gw.config.auth.max_workno()).ok_or(PARAMETER_INVALID)?;
            let receiver = peer_in_vdn(gw, vdn, receiver.0).map_err(e)?;
            let content = query_param(query, "content").unwrap_or_default();
            if content.is_empty() || content.len() > MAX_NOTE {
                return Err(PARAMETER_INVALID);
            }
            gw.run(vdn, cmd::SendNote { from: agent, to: receiver }).map_err(e)?;
            ok_empty(method)
        }
        Method::NotifyBulletin => {
            let req = BulletinRequest::parse(&body)?;
            let to = match &req.target {
                BulletinTarget::Vdn => None,
                BulletinTarget::Agents(list) => Some(
                    list.iter()
                        .map(|w| {
                            parse_agent(&w.to_string(), gw.config.auth.max_workno())
                                .ok_or(PARAMETER_INVALID)
                                .and_then(|a| peer_in_vdn(gw, vdn, a.0).map_err(e))
                        })
                        .collect::<Result<Vec<AgentId>, Retcode>>()?,
                ),
            };
            gw.run(vdn, cmd::SendBulletin { from: agent, to, data: req.data }).map_err(e)?;
            ok_empty(method)
        }
        Method::SyncAgentInfo => {
            // The snapshot, then the clearing of the events it covers (those emitted up to
            // the log position it was read at): every event before it is in the snapshot,
            // every event after it is delivered.
            let (result, through) = gw.store.read_at(vdn, |s, seq| (sync_info(s, agent, now_ms()), seq)).map_err(e)?;
            let result = result.map_err(e)?;
            ccgw_store::settle(gw.store.clear_events(agent, through)).ok_or(e(DomainError::StoreUnavailable))?;
            Ok(Reply::new(response::ok(method.success_message(), result)))
        }
        _ => Err(e(DomainError::Internal)),
    }
}

/// What `syncagentinfo` reports of the agent's session (docs/compat.md names each field's source).
fn sync_info(s: &VdnState, agent: AgentId, now: u64) -> Result<SyncAgentInfo, DomainError> {
    let session = s.session(agent)?;
    let state = session.state_code() as u8;
    let active = s.active_call(agent);
    let held = session
        .calls
        .iter()
        .filter_map(|c| s.calls.get(c))
        .find(|c| c.party_of(agent).is_some_and(|p| matches!(p.state, PartyState::Held)));
    let talking = active.filter(|c| c.party_of(agent).is_some_and(|p| matches!(p.state, PartyState::Talking)));
    let ms = |t: Option<u64>| t.map(|t| t.to_string()).unwrap_or_default();
    let callinfo = active.map(|c| serde_json::to_string(&info(s, c, now)).unwrap_or_default()).unwrap_or_default();
    let agent_state_info = AgentStateInfo {
        call_feature: active.map_or(-1, |c| i32::from(c.feature.code())),
        call_data: active.map(|c| c.data.clone()).unwrap_or_default(),
        last_state: state,
        pre_busy: matches!(session.pending, Some(Pending::Busy { .. })),
        firsttalking_flag: talking.is_some(),
        work_no: agent.to_string(),
        caller_no: active.map(|c| c.caller.clone()).unwrap_or_default(),
        state,
        talking_callfeature: talking.map_or(-1, |c| i32::from(c.feature.code())),
        called_no: active.map(|c| c.called.clone()).unwrap_or_default(),
        main_call_id: session.calls.first().map(ToString::to_string).unwrap_or_default(),
        pre_rest: matches!(session.pending, Some(Pending::Rest { .. })),
        current_time: now.to_string(),
        begin_talking_time: ms(talking.and_then(|c| c.begin_ms)),
        hold_call_id: held.map(|c| c.id.to_string()).unwrap_or_default(),
        agent_state_begin_time: session.state_since_ms.to_string(),
        cur_call_id: active.map(|c| c.id.to_string()).unwrap_or_default(),
        // The supervisor inspecting the agent's active call (quality control), if any.
        qc_work_no: active
            .and_then(|c| c.qc_party_of(agent))
            .and_then(|p| p.agent())
            .map(|a| a.to_string())
            .unwrap_or_default(),
        ..Default::default()
    };
    Ok(SyncAgentInfo { callinfo, agent_state_info })
}

// --- onlineagent: password changes ---

/// `modifyaccountpwd?oldpassword&newpassword&repassword` and `modifyaccountpwdex`
/// (`{"oldPassword","newPassword"}`), once the GUID has been checked: the new password's rules
/// first (no state changes, no argon2 run), then the gateway's check of the old one.
pub(super) async fn change_password<S: Store>(
    gw: &Arc<Gateway<S>>,
    method: Method,
    agent: AgentId,
    query: &str,
    body: &[u8],
    peer: Option<SocketAddr>,
) -> Outcome {
    let (old, new) = if method == Method::ModifyAccountPwdEx {
        let req = ModifyPasswordRequest::parse(body)?;
        (req.old, req.new)
    } else {
        let old = query_param(query, "oldpassword").ok_or(PARAMETER_INVALID)?;
        let new = query_param(query, "newpassword").ok_or(PARAMETER_INVALID)?;
        if old.chars().count() > 32 {
            return Err(PARAMETER_INVALID);
        }
        if query_param(query, "repassword").is_some_and(|re| re != new) {
            return Err(PASSWORD_MISMATCH);
        }
        (old, new)
    };
    password_rules(agent, &old, &new)?;
    gw.change_password(agent, old, new, peer.map(|p| p.ip())).await.map_err(fail(method))?;
    ok_empty(method)
}

/// The vendor's rules for a new password (`modifyaccountpwdex` page): 8–32 characters, not the
/// old one, no three consecutive characters of the work number, no two equal characters in a
/// row, and three of: upper case, lower case, digits, other characters. (The vendor also
/// refuses the last five passwords; ccgw remembers only the current one.)
fn password_rules(agent: AgentId, old: &str, new: &str) -> Result<(), Retcode> {
    let chars: Vec<char> = new.chars().collect();
    if !(8..=32).contains(&chars.len()) {
        return Err(PASSWORD_LENGTH);
    }
    if new == old {
        return Err(PASSWORD_SAME_AS_OLD);
    }
    let workno: Vec<char> = agent.0.to_string().chars().collect();
    if workno.windows(3).any(|w| chars.windows(3).any(|c| c == w)) {
        return Err(PASSWORD_CONTAINS_NAME);
    }
    if chars.windows(2).any(|p| p[0] == p[1]) {
        return Err(PASSWORD_RULES);
    }
    let kinds = [
        chars.iter().any(char::is_ascii_uppercase),
        chars.iter().any(char::is_ascii_lowercase),
        chars.iter().any(char::is_ascii_digit),
        chars.iter().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if kinds.iter().filter(|k| **k).count() < 3 {
        return Err(PASSWORD_RULES);
    }
    Ok(())
}

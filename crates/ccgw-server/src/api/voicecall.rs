//! `voicecall`: call control — call out, inner call, answer, release, hold, consult,
//! conference, transfer, mute.

use ccgw_domain::engine::valid_number;
use ccgw_domain::{DomainError, HelpMode, HelpTarget};
use ccgw_store::Store;
use ccgw_wire::request::{CallInnerRequest, CallInnerSkillRequest, CalloutRequest, InnerHelpRequest, TransferRequest};
use ccgw_wire::retcode::PARAMETER_INVALID;
use ccgw_wire::{Method, response};

use super::{
    Ctx, Outcome, Reply, fail, ok_empty, parse_agent, parse_call_id, parse_id, peer_in_vdn, query_param, skill_in_vdn,
    transfer_target,
};

/// The family's interfaces, once the GUID has been checked.
pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let Ctx { gw, vdn, agent, params, query, body } = ctx;
    let e = fail(method);
    let param = |i: usize| params.get(i).copied().unwrap_or("");
    let done = |r: Result<(), DomainError>| r.map_err(e).and_then(|_| ok_empty(method));
    match method {
        Method::Callout | Method::PreviewCallout => {
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
        Method::ReleasePhone => done(gw.update(vdn, |s, ctx| s.release_phone(ctx, agent))),
        // Phone linkage: the phone's hang-up key rejects a ringing call or leaves the active one.
        Method::Release | Method::ReleaseEx | Method::PhoneHangUp => {
            done(gw.update(vdn, |s, ctx| s.release(ctx, agent).map(drop)))
        }
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
        // --- issue 8 ---
        Method::CallInnerSkill => {
            let req = CallInnerSkillRequest::parse(&body)?;
            let skill = skill_in_vdn(gw, vdn, req.skill)?;
            let id = gw.update(vdn, |s, ctx| s.call_inner_skill(ctx, agent, skill, req.data)).map_err(e)?;
            Ok(Reply::new(response::ok("success", id.to_string())))
        }
        Method::CancelTransfer => done(gw.update(vdn, |s, ctx| s.cancel_transfer(ctx, agent).map(drop))),
        // Phone linkage: lifting the handset answers the ringing call.
        Method::PhonePickup => done(gw.update(vdn, |s, ctx| s.answer(ctx, agent, None).map(drop))),
        Method::SecondDial | Method::SecondDialEx => {
            let digits = match method {
                Method::SecondDial => param(0).to_owned(),
                _ => query_param(query, "number").unwrap_or_default(),
            };
            if !valid_number(&digits) {
                return Err(PARAMETER_INVALID);
            }
            done(gw.update(vdn, |s, ctx| s.send_digits(ctx, agent, &digits).map(drop)))
        }
        Method::RequestAppointedCall => {
            let call = parse_call_id(param(0))?;
            // Only public skill queues (type 0) exist.
            if param(1) != "0" {
                return Err(PARAMETER_INVALID);
            }
            let raw = query_param(query, "skillId").or_else(|| query_param(query, "skillid")).unwrap_or_default();
            let skill = skill_in_vdn(gw, vdn, parse_id(&raw)?)?;
            done(gw.update(vdn, |s, ctx| s.request_call(ctx, agent, call, skill)))
        }
        // The vendor's sample answers with an empty message.
        Method::ThirdPartyConfTransmitNum => {
            gw.update(vdn, |s, ctx| s.relay_conference_digits(ctx, agent)).map_err(e)?;
            Ok(Reply::new(response::ok("", response::empty_object())))
        }
        Method::SnatchPickup => {
            let raw = query_param(query, "destWorkNo").unwrap_or_default();
            let target = parse_agent(&raw, gw.config.auth.max_workno()).ok_or(PARAMETER_INVALID)?;
            let target = peer_in_vdn(gw, vdn, target.0).map_err(e)?;
            done(gw.update(vdn, |s, ctx| s.snatch_pickup(ctx, agent, target).map(drop)))
        }
        _ => Err(e(DomainError::Internal)),
    }
}

//! `voicecall`: call control — call out, inner call, answer, release, hold, consult,
//! conference, transfer, mute.

use ccgw_domain::engine::valid_number;
use ccgw_domain::{DomainError, HelpMode, HelpTarget, cmd};
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
                .run(vdn, cmd::CallOut { agent, called: req.called, caller: req.caller, data: req.data })
                .map_err(e)?;
            Ok(Reply::new(response::ok("success", id.to_string())))
        }
        Method::CallInner => {
            let req = CallInnerRequest::parse(&body)?;
            let target = peer_in_vdn(gw, vdn, req.called).map_err(e)?;
            let id = gw.run(vdn, cmd::CallInner { agent, target, data: req.data }).map_err(e)?;
            Ok(Reply::new(response::ok("success", id.to_string())))
        }
        Method::Answer => {
            let call = query_param(query, "callid").filter(|c| !c.is_empty()).map(|c| parse_call_id(&c)).transpose()?;
            done(gw.run(vdn, cmd::Answer { agent, call }).map(drop))
        }
        Method::ReleasePhone => done(gw.run(vdn, cmd::ReleasePhone { agent })),
        // Phone linkage: the phone's hang-up key rejects a ringing call or leaves the active one.
        Method::Release | Method::ReleaseEx | Method::PhoneHangUp => {
            done(gw.run(vdn, cmd::Release { agent }).map(drop))
        }
        Method::DropCall => {
            let call = parse_call_id(param(0))?;
            done(gw.run(vdn, cmd::DropCall { agent, call }))
        }
        Method::Disconnect => {
            let number = param(0);
            if !valid_number(number) {
                return Err(PARAMETER_INVALID);
            }
            done(gw.run(vdn, cmd::Disconnect { agent, number: number.to_owned() }))
        }
        Method::Hold => done(gw.run(vdn, cmd::Hold { agent }).map(drop)),
        Method::GetHold => {
            let call = query_param(query, "callid").filter(|c| !c.is_empty()).map(|c| parse_call_id(&c)).transpose()?;
            done(gw.run(vdn, cmd::Unhold { agent, call }).map(drop))
        }
        Method::ConnectHold => {
            let call = parse_call_id(param(0))?;
            done(gw.run(vdn, cmd::ConnectHeld { agent, held: call }))
        }
        Method::InnerHelp => {
            let req = InnerHelpRequest::parse(&body)?;
            // A three-party consultation is a conference: the SIP telephony has no mixer.
            if req.mode == 2 && gw.config.telephony.kind == crate::config::TelephonyKind::Sip {
                return Err(ccgw_wire::retcode::NOT_WITH_SIP);
            }
            let target = match req.device_type {
                1 => HelpTarget::Skill(skill_in_vdn(gw, vdn, req.dst)?),
                _ => HelpTarget::Agent(peer_in_vdn(gw, vdn, req.dst).map_err(e)?),
            };
            let mode = if req.mode == 2 { HelpMode::ThreeParty } else { HelpMode::TwoParty };
            let id = gw.run(vdn, cmd::InnerHelp { agent, target, mode, data: req.data }).map_err(e)?;
            Ok(Reply::new(response::ok("success", id.to_string())))
        }
        Method::Transfer => {
            let req = TransferRequest::parse(&body)?;
            let (target, mode) = transfer_target(gw, vdn, &req)
                .map_err(|r| if r == PARAMETER_INVALID { r } else { e(DomainError::InvalidParameter) })?;
            done(gw.run(vdn, cmd::Transfer { agent, target, mode }))
        }
        Method::ConfJoin => done(gw.run(vdn, cmd::Conference { agent }).map(drop)),
        Method::BeginMute => done(gw.run(vdn, cmd::Mute { agent, on: true })),
        Method::EndMute => done(gw.run(vdn, cmd::Mute { agent, on: false })),
        // --- issue 8 ---
        Method::CallInnerSkill => {
            let req = CallInnerSkillRequest::parse(&body)?;
            let skill = skill_in_vdn(gw, vdn, req.skill)?;
            let id = gw.run(vdn, cmd::CallInnerSkill { agent, skill, data: req.data }).map_err(e)?;
            Ok(Reply::new(response::ok("success", id.to_string())))
        }
        Method::CancelTransfer => done(gw.run(vdn, cmd::CancelTransfer { agent }).map(drop)),
        // Phone linkage: lifting the handset answers the ringing call.
        Method::PhonePickup => done(gw.run(vdn, cmd::Answer { agent, call: None }).map(drop)),
        Method::SecondDial | Method::SecondDialEx => {
            let digits = match method {
                Method::SecondDial => param(0).to_owned(),
                _ => query_param(query, "number").unwrap_or_default(),
            };
            if !valid_number(&digits) {
                return Err(PARAMETER_INVALID);
            }
            done(gw.run(vdn, cmd::SendDigits { agent, digits }).map(drop))
        }
        Method::RequestAppointedCall => {
            let call = parse_call_id(param(0))?;
            // Only public skill queues (type 0) exist.
            if param(1) != "0" {
                return Err(PARAMETER_INVALID);
            }
            let raw = query_param(query, "skillId").or_else(|| query_param(query, "skillid")).unwrap_or_default();
            let skill = skill_in_vdn(gw, vdn, parse_id(&raw)?)?;
            done(gw.run(vdn, cmd::RequestCall { agent, call, skill }))
        }
        // The vendor's sample answers with an empty message.
        Method::ThirdPartyConfTransmitNum => {
            gw.run(vdn, cmd::RelayConferenceDigits { agent }).map_err(e)?;
            Ok(Reply::new(response::ok("", response::empty_object())))
        }
        Method::SnatchPickup => {
            let raw = query_param(query, "destWorkNo").unwrap_or_default();
            let target = parse_agent(&raw, gw.config.auth.max_workno()).ok_or(PARAMETER_INVALID)?;
            let target = peer_in_vdn(gw, vdn, target.0).map_err(e)?;
            done(gw.run(vdn, cmd::SnatchPickup { agent, target }).map(drop))
        }
        _ => Err(e(DomainError::Internal)),
    }
}

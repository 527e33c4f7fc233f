//! `thirdcontrol`: a supervisor answering, calling out and setting the state on behalf of an
//! agent it supervises. No vendor page documents the family; paths and bodies are the R5 sample
//! client's (docs/compat.md), the checks those of qualitycontrol.

use ccgw_domain::cmd;
use ccgw_store::Store;
use ccgw_wire::Method;
use ccgw_wire::request::{CalloutRequest, SetStatusRequest};
use ccgw_wire::response;
use ccgw_wire::retcode::{INTERNAL, PARAMETER_INVALID};

use super::{Ctx, Outcome, Reply, fail, ok_empty, parse_agent, peer_in_vdn};

pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let Ctx { gw, vdn, agent, params, body, .. } = ctx;
    let e = fail(method);
    let target = parse_agent(params.first().copied().unwrap_or(""), gw.config.auth.max_workno())
        .ok_or(PARAMETER_INVALID)
        .and_then(|t| peer_in_vdn(gw, vdn, t.0).map_err(e))?;
    match method {
        Method::ThirdControlCallAnswer => {
            gw.run(vdn, cmd::ThirdAnswer { supervisor: agent, target }).map_err(e)?;
            ok_empty(method)
        }
        Method::ThirdControlCallout => {
            let req = CalloutRequest::parse(&body)?;
            let id = gw
                .run(
                    vdn,
                    cmd::ThirdCallOut {
                        supervisor: agent,
                        target,
                        called: req.called,
                        caller: req.caller,
                        data: req.data,
                    },
                )
                .map_err(e)?;
            // As the agent's own `callout`: the new call's id.
            Ok(Reply::new(response::ok("success", id.to_string())))
        }
        Method::ThirdControlSetStatus => {
            let req = SetStatusRequest::parse(&body)?;
            gw.run(vdn, cmd::ThirdSetStatus { supervisor: agent, target, idle: req.idle }).map_err(e)?;
            ok_empty(method)
        }
        _ => Err(INTERNAL),
    }
}

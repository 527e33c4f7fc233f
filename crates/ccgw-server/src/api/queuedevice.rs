//! `queuedevice`: queue lengths, skill queues, IVRs and access codes of the VDN.
//! Served: the queue lengths (`waitnum`, `waitnumbyagent`, `skillwaitnum/{skillid}`) and the
//! VDN's IVR flows (`ivrinfo`); the rest are listed in docs/interfaces.md.

use ccgw_domain::{DomainError, SkillId};
use ccgw_store::Store;
use ccgw_wire::Method;
use ccgw_wire::response::{self, IvrInfo};
use ccgw_wire::retcode::PARAMETER_INVALID;

use super::{Ctx, Outcome, Reply, fail};

/// The family's interfaces, once the GUID has been checked.
pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let Ctx { gw, vdn, agent, params, .. } = ctx;
    let e = fail(method);
    let count = |n: usize| Ok(Reply::new(response::ok("success", n)));
    match method {
        Method::QueryQueueLengthOnAgent => {
            count(gw.read(vdn, |s| s.queue_length_of_configured(agent)).map_err(e)?.map_err(e)?)
        }
        Method::QueryQueueLengthOnAgentSkills => {
            count(gw.read(vdn, |s| s.queue_length_of_signed_in(agent)).map_err(e)?.map_err(e)?)
        }
        Method::QueryQueueLengthBySkillId => {
            let raw = params.first().copied().unwrap_or("");
            let skill = (!raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()))
                .then(|| raw.parse::<u32>().ok())
                .flatten()
                .ok_or(PARAMETER_INVALID)?;
            // A skill of another VDN is not in this VDN's queues: the same answer as no skill.
            let n = gw.read(vdn, |s| s.queue_length(SkillId(skill))).map_err(e)?.map_err(|_| PARAMETER_INVALID)?;
            count(n)
        }
        Method::QueryIVRInfoOnVdn => {
            let ivrs: Vec<IvrInfo> = gw.directory.ivrs_of(vdn).into_iter().map(IvrInfo::new).collect();
            Ok(Reply::new(response::ok("success", ivrs)))
        }
        _ => Err(e(DomainError::Internal)),
    }
}

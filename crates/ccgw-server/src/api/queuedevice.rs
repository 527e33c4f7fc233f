//! `queuedevice`: queue lengths, skill queues, IVRs and access codes of the VDN.
//! Served: the queue lengths (`waitnum`, `waitnumbyagent`, `skillwaitnum/{skillid}`), the VDN's
//! IVR flows (`ivrinfo`), skill queues (`agentskill`, `vdnskill`, `agentvdnskill`), access codes
//! (`innoinfo`) and ACD statistics (`queryacdstat`); the rest are listed in docs/interfaces.md.

use ccgw_domain::{DomainError, SkillId};
use ccgw_store::Store;
use ccgw_wire::Method;
use ccgw_wire::request::AcdStatRequest;
use ccgw_wire::response::{self, AccessCodeInfo, AcdStat, IvrInfo, SkillInfo};
use ccgw_wire::retcode::PARAMETER_INVALID;

use super::{Ctx, Outcome, Reply, fail, parse_agent, parse_id, peer_in_vdn, skill_in_vdn};
use crate::gateway::now_ms;

/// The family's interfaces, once the GUID has been checked.
pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let Ctx { gw, vdn, agent, params, body, .. } = ctx;
    let e = fail(method);
    let param = |i: usize| params.get(i).copied().unwrap_or("");
    let count = |n: usize| Ok(Reply::new(response::ok("success", n)));
    match method {
        Method::QueryQueueLengthOnAgent => {
            count(gw.read(vdn, |s| s.queue_length_of_configured(agent)).map_err(e)?.map_err(e)?)
        }
        Method::QueryQueueLengthOnAgentSkills => {
            count(gw.read(vdn, |s| s.queue_length_of_signed_in(agent)).map_err(e)?.map_err(e)?)
        }
        Method::QueryQueueLengthBySkillId => {
            let skill = parse_id(params.first().copied().unwrap_or(""))?;
            // A skill of another VDN is not in this VDN's queues: the same answer as no skill.
            let n = gw.read(vdn, |s| s.queue_length(SkillId(skill))).map_err(e)?.map_err(|_| PARAMETER_INVALID)?;
            count(n)
        }
        Method::QueryIVRInfoOnVdn => {
            let ivrs: Vec<IvrInfo> = gw.directory.ivrs_of(vdn).into_iter().map(IvrInfo::new).collect();
            Ok(Reply::new(response::ok("success", ivrs)))
        }
        // --- issue 8 ---
        Method::QuerySkillQueueOnAgent => {
            let target = parse_agent(param(0), gw.config.auth.max_workno()).ok_or(PARAMETER_INVALID)?;
            let target = peer_in_vdn(gw, vdn, target.0).map_err(e)?;
            let skills: Vec<SkillInfo> = gw
                .directory
                .agent(target)
                .map(|p| p.skills.iter().filter_map(|k| gw.directory.skills.get(k)).map(SkillInfo::new).collect())
                .unwrap_or_default();
            Ok(Reply::new(response::ok("success", skills)))
        }
        Method::QuerySkillQueueOnVDN | Method::QuerySkillQueueOnAgentVDN => {
            // Only the agent's own VDN: another VDN's skills are not the caller's to see.
            if method == Method::QuerySkillQueueOnVDN && parse_id(param(0))? != vdn.0 {
                return Err(PARAMETER_INVALID);
            }
            let skills: Vec<SkillInfo> = gw.directory.skills_of(vdn).iter().map(SkillInfo::new).collect();
            Ok(Reply::new(response::ok("success", skills)))
        }
        Method::QueryInNoOnVDN => {
            let mut codes: Vec<AccessCodeInfo> = gw
                .directory
                .access_codes
                .iter()
                .filter_map(|(code, k)| gw.directory.skills.get(k).filter(|s| s.vdn == vdn).map(|s| (code, s)))
                .map(|(code, s)| AccessCodeInfo {
                    access: code.clone(),
                    id: s.id.0,
                    description: s.name.clone(),
                    kind: "skill",
                })
                .chain(gw.directory.ivrs_of(vdn).into_iter().map(|i| AccessCodeInfo {
                    access: i.access_code.clone(),
                    id: i.id,
                    description: i.description.clone(),
                    kind: "ivr",
                }))
                .collect();
            codes.sort_by(|a, b| a.access.cmp(&b.access));
            Ok(Reply::new(response::ok("success", codes)))
        }
        Method::QueryStatInfoOfAcd => {
            let req = AcdStatRequest::parse(&body)?;
            let skills = req.skills.iter().map(|k| skill_in_vdn(gw, vdn, *k)).collect::<Result<Vec<_>, _>>()?;
            let now = now_ms();
            let stats = gw
                .read(vdn, |s| {
                    skills
                        .iter()
                        .map(|k| s.queue_stats(*k, now).map(|q| (*k, q)))
                        .collect::<Result<Vec<_>, DomainError>>()
                })
                .map_err(e)?
                .map_err(|_| PARAMETER_INVALID)?;
            let pilot = |k: SkillId| {
                gw.directory
                    .access_codes
                    .iter()
                    .filter(|(_, s)| **s == k)
                    .map(|(c, _)| c)
                    .min()
                    .cloned()
                    .unwrap_or_default()
            };
            let result: Vec<AcdStat> = stats
                .into_iter()
                .map(|(k, q)| AcdStat {
                    pilot_nbr: pilot(k),
                    device_no: k.0,
                    queue_size: q.waiting,
                    queue_time: q.longest_wait_ms / 1000,
                })
                .collect();
            Ok(Reply::new(response::ok("success", result)))
        }
        _ => Err(e(DomainError::Internal)),
    }
}

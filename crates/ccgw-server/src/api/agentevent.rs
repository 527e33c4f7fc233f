//! `agentevent`: events. The long poll (`getAgentEvent`) is `api::poll`, which the entry takes
//! before any other handling so that a waiting poll holds little; here are the rest.

use ccgw_domain::DomainError;
use ccgw_store::Store;
use ccgw_wire::Method;
use ccgw_wire::retcode::{INTERNAL, NO_PERMISSION};

use super::{Ctx, Outcome, fail};

/// The family's interfaces with an agent id, once the GUID has been checked.
pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let _ = ctx;
    Err(fail(method)(DomainError::Internal))
}

/// The interfaces without an agent id in their path (no authentication).
pub(super) fn without_agent(method: Method) -> Outcome {
    match method {
        // The vendor's answer while its all-agents event mode is off (docs/compat.md).
        Method::GetAllAgentEvent => Err(NO_PERMISSION),
        _ => Err(INTERNAL),
    }
}

//! `recordplay`: recording and playback on the agent's call.
//! None of its interfaces is implemented yet (docs/interfaces.md): to add one, mark it served in
//! `ccgw_wire::interface::INTERFACES` and give it an arm here.

use ccgw_domain::DomainError;
use ccgw_store::Store;
use ccgw_wire::Method;

use super::{Ctx, Outcome, fail};

/// The family's interfaces, once the GUID has been checked.
pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let _ = ctx;
    Err(fail(method)(DomainError::Internal))
}

//! `querymonitor`: the few system queries whose answer needs no invented field name — the
//! server's time and version — and `setagenttimeout`, acknowledged (its meaning is only
//! inferred). The vendor documents none of them (docs/compat.md); the rest of the family is
//! marked not served in the interface table, with the reason.

use ccgw_store::Store;
use ccgw_wire::Method;
use ccgw_wire::response;
use ccgw_wire::retcode::{INTERNAL, PARAMETER_INVALID};

use super::{Ctx, Outcome, Reply, ok_empty};
use crate::gateway::now_ms;

/// `systemversion`'s answer: the product and its version.
pub const SYSTEM_VERSION: &str = concat!("ccgw ", env!("CARGO_PKG_VERSION"));

pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let Ctx { params, .. } = ctx;
    match method {
        Method::QueryServerTime => Ok(Reply::new(response::ok("", now_ms()))),
        Method::QuerySysVersion => Ok(Reply::new(response::ok("", SYSTEM_VERSION))),
        Method::SetAgentTimeOut => match params.first().copied() {
            Some("true" | "false") => ok_empty(method),
            _ => Err(PARAMETER_INVALID),
        },
        _ => Err(INTERNAL),
    }
}

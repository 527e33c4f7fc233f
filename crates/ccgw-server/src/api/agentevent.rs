//! `agentevent`: events. The long poll (`getAgentEvent`) is `api::poll`, which the entry takes
//! before any other handling so that a waiting poll holds little; here are the rest.

use ccgw_domain::DomainError;
use ccgw_store::Store;
use ccgw_wire::retcode::{INTERNAL, NO_PERMISSION};
use ccgw_wire::{Method, response};
use http::{HeaderValue, StatusCode, header};

use super::{Ctx, Outcome, Reply, fail, finish};
use crate::gateway::{Gateway, now_ms};
use crate::http1::Response;

/// The family's interfaces with an agent id, once the GUID has been checked.
pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let _ = ctx;
    Err(fail(method)(DomainError::Internal))
}

/// The interfaces without an agent id in their path.
pub(super) fn without_agent<S: Store>(gw: &Gateway<S>, method: Method, guid: Option<&str>) -> Outcome {
    match method {
        // The caller's VDN's events (push.rs); `000-003` as the vendor's with the mode off.
        Method::GetAllAgentEvent => {
            crate::push::all_agent_events(gw, guid, now_ms()).map(Reply::new).ok_or(NO_PERMISSION)
        }
        _ => Err(INTERNAL),
    }
}

// --- agentevent: JSONP ---

/// The JSONP answer's content type: the vendor's JS API asks for `text/plain`.
const JSONP_CONTENT_TYPE: &str = "text/plain;charset=UTF-8";
const MAX_CALLBACK: usize = 128;

/// A JSONP callback ccgw writes into a script: a dotted JavaScript name (`cb`, `app.events.on`),
/// ASCII letters, digits, `_` and `$`, at most 128 characters. Anything else could inject code.
pub(super) fn valid_callback(name: &str) -> bool {
    name.len() <= MAX_CALLBACK
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
}

/// `getJsonpAgentEvent`'s answer, always `text/plain` (what the vendor's JS API asks for):
/// the poll's JSON body (an error body too) as `callback(json)`, or as it is when the request
/// names no callback (or a malformed one, refused with `000-002`). HTTP 200, `Set-GUID` as on
/// the poll. Returns the retcode it carries.
pub(super) fn jsonp(callback: Option<&str>, outcome: Outcome) -> (&'static str, Response) {
    let reply = outcome.unwrap_or_else(|rc| Reply { body: response::error(rc), code: rc.code, set_guid: None });
    let body = match callback.filter(|c| valid_callback(c)) {
        None => reply.body,
        Some(callback) => {
            let mut body = Vec::with_capacity(callback.len() + reply.body.len() + 2);
            body.extend_from_slice(callback.as_bytes());
            body.push(b'(');
            body.extend_from_slice(&reply.body);
            body.push(b')');
            body
        }
    };
    let (code, mut r) = finish(StatusCode::OK, Ok(Reply { body, ..reply }));
    r.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSONP_CONTENT_TYPE));
    (code, r)
}

#[cfg(test)]
mod tests {
    use super::valid_callback;

    #[test]
    fn callbacks() {
        for ok in ["cb", "_x", "$", "jQuery1234_5678", "app.events.on", "a1.$b"] {
            assert!(valid_callback(ok), "{ok}");
        }
        let long = "a".repeat(129);
        for bad in ["", "1a", "a..b", ".a", "a.", "a(b)", "alert(1);x", "a b", "a-b", r"\u0061", long.as_str()] {
            assert!(!valid_callback(bad), "{bad}");
        }
    }
}

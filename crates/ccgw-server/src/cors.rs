//! CORS, for agent bars that are pages of another origin (a CRM's): the preflight (`OPTIONS` with
//! `Access-Control-Request-Method`) is answered here, and the answers to a configured origin allow
//! it and expose `Set-GUID`. Mounted only when `server.cors_origins` is not empty, so without it
//! the agent interface has no CORS headers and no extra work per request.
//!
//! No credentials (`Access-Control-Allow-Credentials`): the interface authenticates with the
//! `Guid` header, not with cookies.

use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

use crate::http1::{Answer, Request, Response};
use crate::routes::PREFIX;

pub const ALLOW_METHODS: &str = "GET, PUT, POST, DELETE";
pub const ALLOW_HEADERS: &str = "Guid, Content-Type";
pub const EXPOSE_HEADERS: &str = "Set-GUID";
/// How long a browser may cache a preflight's answer (seconds).
pub const MAX_AGE: &str = "600";

/// The configured origins.
#[derive(Clone, Debug)]
pub struct Cors {
    origins: Arc<[String]>,
}

impl Cors {
    /// `None` when no origin is configured (no CORS at all).
    pub fn new(origins: &[String]) -> Option<Self> {
        (!origins.is_empty()).then(|| Self { origins: origins.iter().cloned().collect() })
    }

    fn allows(&self, origin: &[u8]) -> bool {
        self.origins.iter().any(|o| o.as_bytes().eq_ignore_ascii_case(origin))
    }

    /// The layer around the agent interface's entry (`next`): answers the preflight, adds the
    /// CORS headers to the answer (now or when its future completes).
    pub(crate) fn wrap<'a>(&self, req: Request<'a>, next: impl FnOnce(Request<'a>) -> Answer) -> Answer {
        // Requests without `Origin` (every desktop that is not a browser page) pass untouched.
        let Some(origin) = req.headers.get("origin") else { return next(req) };
        if !self.allows(origin) {
            // As without CORS; the answer depends on `Origin`, so say so to caches.
            return next(req).map(|r| r.headers.append(header::VARY, HeaderValue::from_static("Origin")));
        }
        // Checked as a header value when the head was parsed.
        let Ok(origin) = HeaderValue::from_bytes(origin) else { return next(req) };
        if req.method == Method::OPTIONS
            && req.headers.contains("access-control-request-method")
            && req.path.starts_with(PREFIX)
        {
            return Answer::Ready(preflight(origin));
        }
        next(req).map(move |r| {
            let h = &mut r.headers;
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        })
    }
}

/// 200, no body. The allowed methods and headers are the same for every path and request: the
/// browser checks the requested ones against them.
fn preflight(origin: HeaderValue) -> Response {
    let mut r = Response::new(StatusCode::OK, bytes::Bytes::new());
    let h = &mut r.headers;
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    r
}

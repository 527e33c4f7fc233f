//! CORS, for agent bars that are pages of another origin (a CRM's): the preflight (`OPTIONS` with
//! `Access-Control-Request-Method`) is answered here, and the answers to a configured origin allow
//! it and expose `Set-GUID`. Mounted only when `server.cors_origins` is not empty, so without it
//! the agent interface has no CORS headers and no extra work per request.
//!
//! No credentials (`Access-Control-Allow-Credentials`): the interface authenticates with the
//! `Guid` header, not with cookies.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

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

    fn allows(&self, origin: &HeaderValue) -> bool {
        self.origins.iter().any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
    }
}

/// The layer (`axum::middleware::from_fn_with_state`).
pub async fn layer(State(cors): State<Cors>, req: Request, next: Next) -> Response {
    // Requests without `Origin` (every desktop that is not a browser page) pass untouched.
    let Some(origin) = req.headers().get(header::ORIGIN).cloned() else { return next.run(req).await };
    if !cors.allows(&origin) {
        // As without CORS; the answer depends on `Origin`, so say so to caches.
        let mut r = next.run(req).await;
        r.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
        return r;
    }
    if req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        && req.uri().path().starts_with(PREFIX)
    {
        return preflight(origin);
    }
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    r
}

/// 200, no body. The allowed methods and headers are the same for every path and request: the
/// browser checks the requested ones against them.
fn preflight(origin: HeaderValue) -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    r
}

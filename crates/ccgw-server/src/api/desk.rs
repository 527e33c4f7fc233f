//! The agent desk page (`GET /agentgateway/desk`): a small agent page on the JS API this gateway
//! serves (`/agentgateway/resource-js`), on the agent listener so that it is the interface's own
//! origin (no CORS). Not a vendor page; its assets are embedded (`assets/desk.*`), no build step.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

use crate::http1::Response;

/// Where the page is served.
pub const PATH: &str = "/agentgateway/desk";

const ASSETS: [(&str, &str, &str); 3] = [
    (PATH, "text/html;charset=UTF-8", include_str!("../../assets/desk.html")),
    ("/agentgateway/desk/desk.js", "application/javascript;charset=UTF-8", include_str!("../../assets/desk.js")),
    ("/agentgateway/desk/desk.css", "text/css;charset=UTF-8", include_str!("../../assets/desk.css")),
];

/// The page may load scripts and styles from this origin (the JS API among them) and talk to it.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub fn is_asset(path: &str) -> bool {
    ASSETS.iter().any(|(p, ..)| *p == path)
}

/// The asset at `path` (an unknown path: 404, as the interface answers it elsewhere).
pub fn asset(path: &str) -> Response {
    let Some((_, content_type, text)) = ASSETS.iter().find(|(p, ..)| *p == path) else {
        return Response::new(StatusCode::NOT_FOUND, Bytes::new());
    };
    let mut r = Response::new(StatusCode::OK, Bytes::from_static(text.as_bytes()));
    let h = &mut r.headers;
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

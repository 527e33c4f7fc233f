//! The browser JS API that ccgw serves at `GET /agentgateway/resource-js`, generated from the
//! interface table with the calling conventions of the vendor's generated client (a RESTEasy JS
//! API with the vendor's additions): a global `REST` object (`REST.apiURL`,
//! `REST.antiBrowserCache`, `REST.Request`, `REST.Encoding`), one object per family with one
//! function per interface (`OnlineAgent.login({agentid, $entity, $callback})`), synchronous when
//! no `$callback` is given, and the GUID learned from `Set-GUID` on any 2xx response and sent
//! back as `Guid` on every request. The vendor's additions that agent bars call directly are
//! there too: `REST.Request.prototype.setSpecial` (the event poll's one reused request object),
//! `setTimeoutHandle`, and the page-global `cookiestring` that holds the GUID.
//!
//! Written for ccgw from those conventions; nothing of the vendor's file is copied.

use std::fmt::Write as _;

/// One generated function: `<object>.<function>(params)`.
#[derive(Clone, Copy, Debug)]
pub struct JsFunction<'a> {
    pub object: &'a str,
    pub function: &'a str,
    /// `GET`, `PUT`, `POST` or `DELETE`.
    pub verb: &'a str,
    /// Path template after `/agentgateway/resource`, e.g. `/calldata/{agentid}/allcallinfoEx/{workno}`.
    pub path: &'a str,
    /// Query parameters, sent when `params` has them.
    pub query: &'a [&'a str],
    /// Whether the interface takes a JSON entity (`params.$entity`).
    pub entity: bool,
}

/// Where ccgw serves the script (as the vendor's gateway does).
pub const PATH: &str = "/agentgateway/resource-js";

/// The script for every interface ccgw routes that the vendor's JS API has a function for.
pub fn document() -> String {
    use crate::interface::{Body, INTERFACES};
    generate(INTERFACES.iter().filter(|i| i.is_routed()).filter_map(|i| {
        let js = i.js?;
        // One function per interface; its first verb is the one the vendor's client sends.
        Some(JsFunction {
            object: js.object,
            function: js.function,
            verb: i.http.first()?.as_str(),
            path: i.path,
            query: QUERY_NAMES.get(i.method as usize).map_or(&[], |q| q.as_slice()),
            entity: !matches!(i.body, Body::None),
        })
    }))
}

/// Query-parameter names per interface, by `Method` index.
static QUERY_NAMES: std::sync::LazyLock<Vec<Vec<&'static str>>> = std::sync::LazyLock::new(|| {
    crate::interface::INTERFACES.iter().map(|i| i.query.iter().map(|q| q.0).collect()).collect()
});

/// The runtime every generated function uses.
const RUNTIME: &str = include_str!("jsapi_runtime.js");

/// The whole script: the runtime, then the functions grouped by object in table order.
pub fn generate<'a>(functions: impl IntoIterator<Item = JsFunction<'a>>) -> String {
    let mut out = String::with_capacity(256 * 1024);
    out.push_str(RUNTIME);
    let mut objects: Vec<&str> = Vec::new();
    let functions: Vec<JsFunction<'a>> = functions.into_iter().collect();
    for f in &functions {
        if !objects.contains(&f.object) {
            objects.push(f.object);
        }
    }
    for object in &objects {
        let _ = writeln!(out, "\nvar {object} = typeof {object} === 'object' && {object} !== null ? {object} : {{}};");
        for f in functions.iter().filter(|f| f.object == *object) {
            function(&mut out, f);
        }
    }
    out
}

fn function(out: &mut String, f: &JsFunction<'_>) {
    let _ = writeln!(out, "// {} {}", f.verb, f.path);
    let _ = writeln!(out, "{}.{} = function (_params) {{", f.object, f.function);
    out.push_str(" var params = _params ? _params : {};\n var request = new REST.Request();\n");
    let _ = writeln!(out, " request.setMethod('{}');", f.verb);
    out.push_str(" var uri = params.$apiURL ? params.$apiURL : REST.apiURL;\n");
    // Literal runs are joined; every `{param}` is an encoded path segment.
    let mut literal = String::new();
    for seg in f.path.split('/').filter(|s| !s.is_empty()) {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            literal.push('/');
            let _ = writeln!(out, " uri += '{}';", js_str(&literal));
            literal.clear();
            let _ = writeln!(out, " uri += REST.Encoding.encodePathSegment(params.{name});");
        } else {
            literal.push('/');
            literal.push_str(seg);
        }
    }
    if !literal.is_empty() {
        let _ = writeln!(out, " uri += '{}';", js_str(&literal));
    }
    for q in f.query {
        let q = js_str(q);
        let _ = writeln!(
            out,
            " if (Object.prototype.hasOwnProperty.call(params, '{q}'))\n  request.addQueryParameter('{q}', params['{q}']);"
        );
    }
    if f.entity {
        out.push_str(" if (params.$entity)\n  request.setEntity(params.$entity);\n");
    }
    let content_type = if f.entity { "application/json" } else { "text/plain" };
    let _ = writeln!(out, " return REST._call(request, uri, params, '{content_type}');");
    out.push_str("};\n");
}

/// `s` inside a single-quoted JS string literal.
fn js_str(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_follows_the_calling_convention() {
        let js = generate([
            JsFunction {
                object: "CallData",
                function: "queryAllCallInfoByAgentWorkNoEx",
                verb: "GET",
                path: "/calldata/{agentid}/allcallinfoEx/{workno}",
                query: &[],
                entity: false,
            },
            JsFunction {
                object: "OnlineAgent",
                function: "sayBusy",
                verb: "POST",
                path: "/onlineagent/{agentid}/saybusy",
                query: &["reason", "prolong"],
                entity: false,
            },
            JsFunction {
                object: "OnlineAgent",
                function: "login",
                verb: "PUT",
                path: "/onlineagent/{agentid}",
                query: &[],
                entity: true,
            },
        ]);
        assert!(js.starts_with(RUNTIME));
        let generated = &js[RUNTIME.len()..];
        assert_eq!(
            generated,
            "
var CallData = typeof CallData === 'object' && CallData !== null ? CallData : {};
// GET /calldata/{agentid}/allcallinfoEx/{workno}
CallData.queryAllCallInfoByAgentWorkNoEx = function (_params) {
 var params = _params ? _params : {};
 var request = new REST.Request();
 request.setMethod('GET');
 var uri = params.$apiURL ? params.$apiURL : REST.apiURL;
 uri += '/calldata/';
 uri += REST.Encoding.encodePathSegment(params.agentid);
 uri += '/allcallinfoEx/';
 uri += REST.Encoding.encodePathSegment(params.workno);
 return REST._call(request, uri, params, 'text/plain');
};

var OnlineAgent = typeof OnlineAgent === 'object' && OnlineAgent !== null ? OnlineAgent : {};
// POST /onlineagent/{agentid}/saybusy
OnlineAgent.sayBusy = function (_params) {
 var params = _params ? _params : {};
 var request = new REST.Request();
 request.setMethod('POST');
 var uri = params.$apiURL ? params.$apiURL : REST.apiURL;
 uri += '/onlineagent/';
 uri += REST.Encoding.encodePathSegment(params.agentid);
 uri += '/saybusy';
 if (Object.prototype.hasOwnProperty.call(params, 'reason'))
  request.addQueryParameter('reason', params['reason']);
 if (Object.prototype.hasOwnProperty.call(params, 'prolong'))
  request.addQueryParameter('prolong', params['prolong']);
 return REST._call(request, uri, params, 'text/plain');
};
// PUT /onlineagent/{agentid}
OnlineAgent.login = function (_params) {
 var params = _params ? _params : {};
 var request = new REST.Request();
 request.setMethod('PUT');
 var uri = params.$apiURL ? params.$apiURL : REST.apiURL;
 uri += '/onlineagent/';
 uri += REST.Encoding.encodePathSegment(params.agentid);
 if (params.$entity)
  request.setEntity(params.$entity);
 return REST._call(request, uri, params, 'application/json');
};
"
        );
    }
}

//! The router: URL path and HTTP method → interface and path parameters, compiled once from the
//! interface table (`ccgw_wire::interface::INTERFACES`) into a matcher keyed by family and
//! segment count. A path naming a known interface with the wrong HTTP method gets 405 with
//! `Allow`, an unknown path 404; the agent id is returned unvalidated (the caller answers a
//! malformed one with the vendor's `000-002`).
//!
//! Empty segments are skipped, so `//` and a trailing `/` match as if collapsed: the vendor's JS
//! API builds `…/resource/` + `/onlineagent/…`, and the vendor's server (JAX-RS) accepts that.
//! Matching borrows the segments from the request path: nothing is allocated.

use std::sync::LazyLock;

use ccgw_wire::Method;
use ccgw_wire::interface::{INTERFACES, Verb};
use http::Method as Http;

/// Path parameters after the agent id (at most [`MAX_PARAMS`]).
pub const MAX_PARAMS: usize = 4;

/// The matched interface and its raw path parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct Route<'a> {
    pub method: Method,
    /// The segment right after the family when the template has a parameter there (the caller's
    /// `{agentid}`), not yet validated; `None` for interfaces without one (`allagentevent`).
    pub agent: Option<&'a str>,
    pub params: Params<'a>,
}

/// The parameters after the agent id, in template order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params<'a> {
    items: [&'a str; MAX_PARAMS],
    len: usize,
}

impl<'a> std::ops::Deref for Params<'a> {
    type Target = [&'a str];
    fn deref(&self) -> &[&'a str] {
        &self.items[..self.len]
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    MethodNotAllowed { method: Method, allow: &'static str },
}

pub const PREFIX: &str = "/agentgateway/resource/";

/// Segments of the longest path that can match (`agentgateway`, `resource`, family and five more).
const MAX_SEGMENTS: usize = 10;

#[derive(Debug)]
enum Seg {
    Lit(&'static str),
    Param,
}

#[derive(Debug)]
struct Template {
    /// The segments after the family.
    segs: Vec<Seg>,
    /// [`Verb::bit`]s.
    verbs: u8,
    method: Method,
}

impl Template {
    /// Literals and parameters at the same places (equally specific).
    fn same_shape(&self, other: &Template) -> bool {
        self.segs.len() == other.segs.len()
            && self.segs.iter().zip(&other.segs).all(|(a, b)| matches!(a, Seg::Param) == matches!(b, Seg::Param))
    }

    fn matches(&self, rest: &[&str]) -> bool {
        self.segs.iter().zip(rest).all(|(s, r)| match s {
            Seg::Lit(l) => l == r,
            Seg::Param => true,
        })
    }
}

/// One family's templates, by the number of segments after the family; each list most specific
/// first (at the first segment where two differ, a literal beats a parameter).
struct FamilyRoutes {
    name: &'static str,
    by_len: Vec<Vec<Template>>,
}

struct Router {
    families: Vec<FamilyRoutes>,
}

static ROUTER: LazyLock<Router> = LazyLock::new(compile);

fn compile() -> Router {
    let mut families: Vec<FamilyRoutes> = Vec::new();
    for i in INTERFACES {
        let mut segs = i.segments();
        let name = segs.next().expect("a template starts with its family");
        let segs: Vec<Seg> = segs.map(|s| if s.starts_with('{') { Seg::Param } else { Seg::Lit(s) }).collect();
        assert!(3 + segs.len() <= MAX_SEGMENTS, "{} is longer than the router allows", i.path);
        assert!(segs.iter().filter(|s| matches!(s, Seg::Param)).count() <= MAX_PARAMS + 1, "{}", i.path);
        let verbs = i.http.iter().fold(0, |m, v| m | v.bit());
        let f = match families.iter().position(|f| f.name == name) {
            Some(p) => &mut families[p],
            None => {
                families.push(FamilyRoutes { name, by_len: Vec::new() });
                families.last_mut().expect("just pushed")
            }
        };
        if f.by_len.len() <= segs.len() {
            f.by_len.resize_with(segs.len() + 1, Vec::new);
        }
        f.by_len[segs.len()].push(Template { segs, verbs, method: i.method });
    }
    for f in &mut families {
        for bucket in &mut f.by_len {
            bucket.sort_by(|a, b| {
                let kinds = |t: &Template| t.segs.iter().map(|s| matches!(s, Seg::Param)).collect::<Vec<_>>();
                kinds(a).cmp(&kinds(b))
            });
        }
    }
    Router { families }
}

fn verb_bit(http: &Http) -> u8 {
    match *http {
        Http::GET => Verb::Get.bit(),
        Http::POST => Verb::Post.bit(),
        Http::PUT => Verb::Put.bit(),
        Http::DELETE => Verb::Delete.bit(),
        _ => 0,
    }
}

/// `Allow` for a set of [`Verb::bit`]s, in the order GET, POST, PUT, DELETE.
const ALLOW: [&str; 16] = [
    "",
    "GET",
    "POST",
    "GET, POST",
    "PUT",
    "GET, PUT",
    "POST, PUT",
    "GET, POST, PUT",
    "DELETE",
    "GET, DELETE",
    "POST, DELETE",
    "GET, POST, DELETE",
    "PUT, DELETE",
    "GET, PUT, DELETE",
    "POST, PUT, DELETE",
    "GET, POST, PUT, DELETE",
];

/// `HEAD` is matched as `GET` (the JAX-RS default: the GET interface runs, the body is dropped
/// by the HTTP layer).
pub fn route<'a>(http: &Http, path: &'a str) -> Result<Route<'a>, RouteError> {
    let http = if *http == Http::HEAD { &Http::GET } else { http };
    // The common case skips the prefix at once; otherwise (`//agentgateway//…`) its two segments
    // are checked one by one.
    let (tail, skip) = match path.strip_prefix(PREFIX) {
        Some(tail) => (tail, 0),
        None => (path, 2),
    };
    let mut segs = [""; MAX_SEGMENTS];
    let mut n = 0;
    for s in tail.split('/').filter(|s| !s.is_empty()) {
        if n == MAX_SEGMENTS {
            return Err(RouteError::NotFound);
        }
        segs[n] = s;
        n += 1;
    }
    if skip == 2 && (n < 2 || segs[0] != "agentgateway" || segs[1] != "resource") {
        return Err(RouteError::NotFound);
    }
    let segs = &segs[skip..n];
    let (name, rest) = segs.split_first().ok_or(RouteError::NotFound)?;
    let family = ROUTER.families.iter().find(|f| f.name == *name).ok_or(RouteError::NotFound)?;
    let bucket = family.by_len.get(rest.len()).ok_or(RouteError::NotFound)?;
    let verb = verb_bit(http);
    let mut matched: Option<&Template> = None;
    let mut allow = 0;
    for t in bucket.iter().filter(|t| t.matches(rest)) {
        // JAX-RS: the most specific matching template decides the path; a less specific one (a
        // parameter where it has a literal) is no fallback for another HTTP method.
        if matched.is_some_and(|m| !m.same_shape(t)) {
            break;
        }
        if t.verbs & verb != 0 {
            return Ok(bind(t, rest));
        }
        matched.get_or_insert(t);
        allow |= t.verbs;
    }
    let matched = matched.map(|t| t.method);
    match matched {
        Some(method) => Err(RouteError::MethodNotAllowed { method, allow: ALLOW[allow as usize] }),
        None => Err(RouteError::NotFound),
    }
}

fn bind<'a>(t: &Template, rest: &[&'a str]) -> Route<'a> {
    let mut agent = None;
    let mut params = Params { items: [""; MAX_PARAMS], len: 0 };
    for (i, (s, r)) in t.segs.iter().zip(rest).enumerate() {
        match s {
            Seg::Param if i == 0 => agent = Some(*r),
            Seg::Param => {
                params.items[params.len] = r;
                params.len += 1;
            }
            Seg::Lit(_) => {}
        }
    }
    Route { method: t.method, agent, params }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(http: Http, path: &str) -> (Method, Option<&str>, Vec<&str>) {
        let r = route(&http, path).unwrap_or_else(|e| panic!("{http} {path}: {e:?}"));
        (r.method, r.agent, r.params.to_vec())
    }

    #[test]
    fn matches_the_seed_interface() {
        assert_eq!(
            ok(Http::GET, "/agentgateway/resource/calldata/101/allcallinfoEx/102"),
            (Method::QueryAllCallInfoByAgentWorkNoEx, Some("101"), vec!["102"])
        );
    }

    #[test]
    fn empty_segments_and_a_trailing_slash_are_collapsed() {
        for p in [
            "/agentgateway/resource//onlineagent/101",
            "/agentgateway/resource/onlineagent/101/",
            "//agentgateway//resource///onlineagent//101//",
        ] {
            assert_eq!(ok(Http::PUT, p), (Method::Login, Some("101"), vec![]), "{p}");
        }
        assert_eq!(
            ok(Http::GET, "/agentgateway/resource//calldata/101/allcallinfoEx/102/"),
            (Method::QueryAllCallInfoByAgentWorkNoEx, Some("101"), vec!["102"])
        );
        assert_eq!(
            ok(Http::POST, "/agentgateway/resource//onlineagent/101/rest//60/1"),
            (Method::Rest, Some("101"), vec!["60", "1"])
        );
    }

    #[test]
    fn a_literal_beats_a_parameter() {
        assert_eq!(
            ok(Http::GET, "/agentgateway/resource/agentevent/allagentevent"),
            (Method::GetAllAgentEvent, None, vec![])
        );
        assert_eq!(
            ok(Http::GET, "/agentgateway/resource/agentevent/101"),
            (Method::GetAgentEvent, Some("101"), vec![])
        );
        // Another method on the literal path does not fall back to the parameter.
        assert_eq!(
            route(&Http::DELETE, "/agentgateway/resource/agentevent/allagentevent"),
            Err(RouteError::MethodNotAllowed { method: Method::GetAllAgentEvent, allow: "GET" })
        );
        // …not even a method only the parameter's template allows (JAX-RS: the path decides
        // first, then the method).
        assert_eq!(
            route(&Http::DELETE, "/agentgateway/resource/qualitycontrol/101/allagent"),
            Err(RouteError::MethodNotAllowed { method: Method::QueryAllMonitoredAgents, allow: "GET" })
        );
        assert_eq!(
            route(&Http::PUT, "/agentgateway/resource/qualitycontrol/101/allagent"),
            Err(RouteError::MethodNotAllowed { method: Method::QueryAllMonitoredAgents, allow: "GET" })
        );
        assert_eq!(
            ok(Http::DELETE, "/agentgateway/resource/qualitycontrol/101/151"),
            (Method::StopSuperviseOrInsert, Some("101"), vec!["151"])
        );
    }

    #[test]
    fn wrong_method_names_the_allowed_one() {
        assert_eq!(
            route(&Http::POST, "/agentgateway/resource/calldata/101/allcallinfoEx/102"),
            Err(RouteError::MethodNotAllowed { method: Method::QueryAllCallInfoByAgentWorkNoEx, allow: "GET" })
        );
        assert_eq!(
            route(&Http::GET, "/agentgateway/resource/onlineagent/101/resetskill/true"),
            Err(RouteError::MethodNotAllowed { method: Method::ResetSkill, allow: "POST, PUT" })
        );
        assert_eq!(
            route(&Http::HEAD, "/agentgateway/resource/onlineagent/101"),
            Err(RouteError::MethodNotAllowed { method: Method::Login, allow: "PUT" })
        );
    }

    #[test]
    fn head_is_matched_as_get() {
        let r = route(&Http::HEAD, "/agentgateway/resource/calldata/101/allcallinfoEx/102").unwrap();
        assert_eq!(r.method, Method::QueryAllCallInfoByAgentWorkNoEx);
        assert_eq!(
            route(&Http::HEAD, "/agentgateway/resource/onlineagent/101/saybusy"),
            Err(RouteError::MethodNotAllowed { method: Method::SayBusy, allow: "POST" })
        );
    }

    #[test]
    fn unknown_paths() {
        for p in [
            "/",
            "",
            "/agentgateway/resource/",
            "/agentgateway/resource/calldata",
            "/agentgateway/resource/calldata/101/allcallinfoex/102",
            "/agentgateway/resource/calldata/101/allcallinfoEx",
            "/agentgateway/resource/calldata/101/allcallinfoEx/102/103",
            "/agentgateway/resource/nope/101",
            "/agentgateway/resource2/onlineagent/101",
            "/agentgateway/onlineagent/101",
            "/a/b/c/d/e/f/g/h/i/j/k/l/m",
            "/agentgateway/resource/onlineagent/101/a/b/c/d/e/f/g/h",
        ] {
            assert_eq!(route(&Http::GET, p), Err(RouteError::NotFound), "{p}");
        }
    }

    /// Every interface of the table is reached by its own template with each of its methods.
    #[test]
    fn every_interface_is_routable() {
        for i in INTERFACES {
            let path: String = i
                .segments()
                .enumerate()
                .map(|(n, s)| {
                    if !s.starts_with('{') {
                        s.to_owned()
                    } else if n == 1 {
                        "101".to_owned()
                    } else {
                        format!("p{n}")
                    }
                })
                .fold(PREFIX.trim_end_matches('/').to_owned(), |p, s| p + "/" + &s);
            for v in i.http {
                let http = Http::from_bytes(v.as_str().as_bytes()).unwrap();
                let r = route(&http, &path).unwrap_or_else(|e| panic!("{v:?} {path}: {e:?}"));
                assert_eq!(r.method, i.method, "{v:?} {path}");
                let names: Vec<&str> = i.path_params().collect();
                let has_agent = i.segments().nth(1).is_some_and(|s| s.starts_with('{'));
                assert_eq!(r.agent.is_some(), has_agent, "{path}");
                assert_eq!(r.params.len() + usize::from(has_agent), names.len(), "{path}");
            }
        }
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use ccgw_wire::interface::Status;
    use std::hint::black_box;

    /// The router before the interface table (a linear scan of 44 entries), for comparison.
    fn old_route<'a>(
        table: &[(&'static str, Vec<&'static str>, Vec<Http>, Method)],
        http: &Http,
        path: &'a str,
    ) -> Result<(Method, &'a str, Vec<&'a str>), RouteError> {
        let rest = path.strip_prefix(PREFIX).ok_or(RouteError::NotFound)?;
        let mut segs = rest.split('/');
        let family = segs.next().ok_or(RouteError::NotFound)?;
        let agent = segs.next().ok_or(RouteError::NotFound)?;
        let tail: Vec<&str> = segs.collect();
        if tail.iter().any(|s| s.is_empty()) {
            return Err(RouteError::NotFound);
        }
        for (fam, pattern, methods, method) in table {
            if *fam != family || pattern.len() != tail.len() {
                continue;
            }
            if !pattern.iter().zip(&tail).all(|(p, t)| *p == "*" || p == t) {
                continue;
            }
            if !methods.contains(http) {
                return Err(RouteError::MethodNotAllowed { method: *method, allow: "GET" });
            }
            let params = pattern.iter().zip(&tail).filter(|(p, _)| **p == "*").map(|(_, t)| *t).collect();
            return Ok((*method, agent, params));
        }
        Err(RouteError::NotFound)
    }

    /// `cargo test --release -p ccgw-server --lib route_timing -- --ignored --nocapture`: the
    /// router's cost on the seed interface and on a 404, against the old table scan (best of 5).
    #[test]
    #[ignore]
    fn route_timing() {
        let table: Vec<_> = INTERFACES
            .iter()
            .filter(|i| i.status == Status::Served)
            .map(|i| {
                let mut segs = i.segments();
                let fam = segs.next().unwrap();
                let pattern = segs.skip(1).map(|s| if s.starts_with('{') { "*" } else { s }).collect();
                let http = i.http.iter().map(|v| Http::from_bytes(v.as_str().as_bytes()).unwrap()).collect();
                (fam, pattern, http, i.method)
            })
            .collect();
        let n = 1_000_000;
        for path in ["/agentgateway/resource/calldata/101/allcallinfoEx/102", "/agentgateway/resource/nope/101/x"] {
            let (mut new, mut old) = (f64::MAX, f64::MAX);
            for _ in 0..5 {
                let t = std::time::Instant::now();
                for _ in 0..n {
                    let _ = black_box(route(black_box(&Http::GET), black_box(path)));
                }
                new = new.min(t.elapsed().as_nanos() as f64 / n as f64);
                let t = std::time::Instant::now();
                for _ in 0..n {
                    let _ = black_box(old_route(&table, black_box(&Http::GET), black_box(path)));
                }
                old = old.min(t.elapsed().as_nanos() as f64 / n as f64);
            }
            println!("{path}: {new:.1} ns/route (old table scan {old:.1} ns)");
        }
    }
}

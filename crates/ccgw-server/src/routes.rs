//! The route table: URL path and HTTP method → interface and path parameters. Parsed by hand
//! (segment by segment) so that a path naming a known interface with the wrong HTTP method gets
//! 405 with `Allow`, an unknown path 404, and a malformed agent id the vendor's `000-002`.

use ccgw_wire::Method;
use http::Method as Http;

/// The matched interface and the raw path parameters after `{agentid}`.
#[derive(Debug, PartialEq, Eq)]
pub struct Route<'a> {
    pub method: Method,
    /// The `{agentid}` segment, not yet validated.
    pub agent: &'a str,
    pub params: Vec<&'a str>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    MethodNotAllowed { method: Method, allow: &'static str },
}

pub const PREFIX: &str = "/agentgateway/resource/";

/// (family, path segments after the agent id with `*` for a parameter, allowed HTTP methods, interface)
type Entry = (&'static str, &'static [&'static str], &'static [Http], Method);

const GET: &[Http] = &[Http::GET];
const PUT: &[Http] = &[Http::PUT];
const POST: &[Http] = &[Http::POST];
const DELETE: &[Http] = &[Http::DELETE];
/// The vendor does not document resetskill's method; clients use POST or PUT.
const POST_PUT: &[Http] = &[Http::POST, Http::PUT];

const TABLE: &[Entry] = &[
    ("onlineagent", &[], PUT, Method::Login),
    ("onlineagent", &["forcelogin"], PUT, Method::ForceLogin),
    ("onlineagent", &["logout"], DELETE, Method::Logout),
    ("onlineagent", &["forcelogout"], DELETE, Method::ForceLogout),
    ("onlineagent", &["forcelogoutwithreason", "*"], DELETE, Method::ForceLogoutWithReason),
    ("onlineagent", &["handshake"], POST, Method::HandShake),
    ("onlineagent", &["updateGuid"], PUT, Method::UpdateGuid),
    ("onlineagent", &["saybusy"], POST, Method::SayBusy),
    ("onlineagent", &["cancelbusy"], POST, Method::CancelBusy),
    ("onlineagent", &["sayfree"], POST, Method::SayFree),
    ("onlineagent", &["rest", "*", "*"], POST, Method::Rest),
    ("onlineagent", &["cancelrest"], POST, Method::CancelRest),
    ("onlineagent", &["work"], POST, Method::SayWork),
    ("onlineagent", &["cancelwork"], POST, Method::CancelWork),
    ("onlineagent", &["autoenteridle", "*"], POST, Method::SetAgentAutoEnterIdle),
    ("onlineagent", &["agentstatus"], GET, Method::GetAgentStatus),
    ("onlineagent", &["resetskill", "*"], POST_PUT, Method::ResetSkill),
    ("onlineagent", &["agentskills"], GET, Method::QueryAgentSkills),
    ("agentevent", &[], GET, Method::GetAgentEvent),
    ("voicecall", &["callout"], PUT, Method::Callout),
    ("voicecall", &["callinner"], PUT, Method::CallInner),
    ("voicecall", &["answer"], PUT, Method::Answer),
    ("voicecall", &["release"], DELETE, Method::Release),
    ("voicecall", &["dropcall", "*"], POST, Method::DropCall),
    ("voicecall", &["disconnect", "*"], POST, Method::Disconnect),
    ("voicecall", &["hold"], POST, Method::Hold),
    ("voicecall", &["gethold"], POST, Method::GetHold),
    ("voicecall", &["connecthold", "*"], POST, Method::ConnectHold),
    ("voicecall", &["innerhelp"], POST, Method::InnerHelp),
    ("voicecall", &["transfer"], POST, Method::Transfer),
    ("voicecall", &["confjoin"], POST, Method::ConfJoin),
    ("voicecall", &["beginmute"], POST, Method::BeginMute),
    ("voicecall", &["endmute"], POST, Method::EndMute),
    ("calldata", &["callinfo"], GET, Method::QueryCallInfo),
    ("calldata", &["appdata"], GET, Method::QueryCallAppData),
    ("calldata", &["setcalldataex"], PUT, Method::SetCallAppDataEx),
    ("calldata", &["holdlist"], GET, Method::QueryHoldListInfo),
    ("calldata", &["callinfobeforeanswer"], GET, Method::QueryCallInfoBeforeAnswer),
    ("calldata", &["callinfobycallid", "*"], GET, Method::QueryCallInfoByCallId),
    ("calldata", &["allcallinfoEx", "*"], GET, Method::QueryAllCallInfoByAgentWorkNoEx),
    ("calldata", &["callnums"], GET, Method::QueryCallNumsOnAgent),
    ("calldata", &["statisticsEx"], GET, Method::QueryCallStatisticsInfoEx),
    ("calldata", &["holdlistex", "*"], GET, Method::QueryHoldListInfoEx),
    ("calldata", &["remotenumbers"], GET, Method::QueryRemoteNumbers),
];

fn allow_header(methods: &[Http]) -> &'static str {
    match methods {
        [Http::GET] => "GET",
        [Http::PUT] => "PUT",
        [Http::POST] => "POST",
        [Http::DELETE] => "DELETE",
        _ => "POST, PUT",
    }
}

/// `HEAD` is matched as `GET` (the JAX-RS default: the GET interface runs, the body is dropped
/// by the HTTP layer).
pub fn route<'a>(http: &Http, path: &'a str) -> Result<Route<'a>, RouteError> {
    let http = if *http == Http::HEAD { &Http::GET } else { http };
    let rest = path.strip_prefix(PREFIX).ok_or(RouteError::NotFound)?;
    let mut segs = rest.split('/');
    let family = segs.next().ok_or(RouteError::NotFound)?;
    let agent = segs.next().ok_or(RouteError::NotFound)?;
    let tail: Vec<&str> = segs.collect();
    if tail.iter().any(|s| s.is_empty()) {
        return Err(RouteError::NotFound);
    }
    for (fam, pattern, methods, method) in TABLE {
        if *fam != family || pattern.len() != tail.len() {
            continue;
        }
        if !pattern.iter().zip(&tail).all(|(p, t)| *p == "*" || p == t) {
            continue;
        }
        if !methods.contains(http) {
            return Err(RouteError::MethodNotAllowed { method: *method, allow: allow_header(methods) });
        }
        let params = pattern.iter().zip(&tail).filter(|(p, _)| **p == "*").map(|(_, t)| *t).collect();
        return Ok(Route { method: *method, agent, params });
    }
    Err(RouteError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_seed_interface() {
        let r = route(&Http::GET, "/agentgateway/resource/calldata/101/allcallinfoEx/102").unwrap();
        assert_eq!(r, Route { method: Method::QueryAllCallInfoByAgentWorkNoEx, agent: "101", params: vec!["102"] });
    }

    #[test]
    fn wrong_method_names_the_allowed_one() {
        assert_eq!(
            route(&Http::POST, "/agentgateway/resource/calldata/101/allcallinfoEx/102"),
            Err(RouteError::MethodNotAllowed { method: Method::QueryAllCallInfoByAgentWorkNoEx, allow: "GET" })
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
            "/agentgateway/resource/",
            "/agentgateway/resource/calldata/101/allcallinfoex/102",
            "/agentgateway/resource/calldata/101/allcallinfoEx/102/",
            "/agentgateway/resource/calldata/101/allcallinfoEx",
            "/agentgateway/resource/nope/101",
        ] {
            assert_eq!(route(&Http::GET, p), Err(RouteError::NotFound), "{p}");
        }
    }

    #[test]
    fn every_interface_is_routable() {
        for (fam, pattern, methods, method) in TABLE {
            let tail: Vec<&str> = pattern.iter().map(|p| if *p == "*" { "1" } else { p }).collect();
            let mut path = format!("{PREFIX}{fam}/101");
            for t in tail {
                path.push('/');
                path.push_str(t);
            }
            assert_eq!(route(&methods[0], &path).unwrap().method, *method);
        }
    }
}

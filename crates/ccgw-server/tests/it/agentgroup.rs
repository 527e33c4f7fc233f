//! agentgroup, every interface (demo provisioning: VDN 1 is 101–600, VDN 2 is 601–700, every agent named
//! "Agent <workno>"; groups, attributes, rights and rest reasons below).

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::common::{Agent, Gateway, PREFIX, err, found, not_signed_in, param_invalid};

#[tokio::test]
async fn agentgroup_idleagent_lists_idle_agents_of_the_callers_vdn() {
    let gw = Gateway::start().await;
    let a = gw.sign_in(101).await;
    let b = gw.sign_in(102).await;
    let c = gw.sign_in(601).await;
    let r = a.get(&gw, "agentgroup", "idleagent").await;
    assert_eq!(r.body, found(json!([{"workno":"101","name":"Agent 101"},{"workno":"102","name":"Agent 102"}])));
    // Busy agents are not idle.
    let r = b.post(&gw, "onlineagent", "saybusy", None).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let r = a.get(&gw, "agentgroup", "idleagent").await;
    assert_eq!(r.body, found(json!([{"workno":"101","name":"Agent 101"}])));
    // VDN 2 sees only its own.
    let r = c.get(&gw, "agentgroup", "idleagent").await;
    assert_eq!(r.body, found(json!([{"workno":"601","name":"Agent 601"}])));
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_agentwasnameonvdn_maps_every_configured_agent_of_the_vdn() {
    let gw = Gateway::start().await;
    let c = gw.sign_in(601).await;
    let r = c.get(&gw, "agentgroup", "agentwasnameonvdn").await;
    let expected: Map<String, Value> =
        (601..=700).map(|w| (w.to_string(), Value::String(format!("Agent {w}")))).collect();
    assert_eq!(r.body, found(Value::Object(expected)));
    let a = gw.sign_in(101).await;
    let r = a.get(&gw, "agentgroup", "agentwasnameonvdn").await;
    let names = r.body["result"].as_object().unwrap();
    assert_eq!(names.len(), 500);
    assert_eq!(names["101"], "Agent 101");
    assert_eq!(names["600"], "Agent 600");
    assert!(!names.contains_key("601"));
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_allagentstatus_gives_every_agent_of_the_vdn_with_its_state() {
    let gw = Gateway::start().await;
    let c = gw.sign_in(601).await;
    let r = c.post(&gw, "onlineagent", "saybusy", None).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let _d = gw.sign_in(650).await;
    let r = c.get(&gw, "agentgroup", "allagentstatus").await;
    let expected: Vec<Value> = (601..=700)
        .map(|w| {
            let status = match w {
                601 => 3,
                650 => 4,
                _ => 2,
            };
            json!({"workno":w.to_string(),"name":format!("Agent {w}"),"status":status})
        })
        .collect();
    assert_eq!(r.body, found(Value::Array(expected)));
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_errors_not_signed_in_bad_agent_overload() {
    // A window no loaded test machine outlasts between the six queries below (the 2 s default
    // rolled over once under a busy suite and let the sixth through).
    let gw = Gateway::start_with(|c| c.limits.calldata_window_ms = 600_000).await;
    for suffix in ["idleagent", "agentwasnameonvdn", "allagentstatus"] {
        let r = gw.request(Method::GET, &format!("{PREFIX}/agentgroup/103/{suffix}"), Some("nope"), None).await;
        assert_eq!(
            r.body,
            json!({"message":"agent not signed in or authentication failed","retcode":"100-006"}),
            "{suffix}"
        );
        let r = gw.request(Method::GET, &format!("{PREFIX}/agentgroup/abc/{suffix}"), Some("nope"), None).await;
        assert_eq!(
            r.body,
            json!({"message":"parameter or address in the URL is invalid","retcode":"000-002"}),
            "{suffix}"
        );
    }
    // The calldata budget: 5 per agent per window, shared with calldata queries.
    let a = gw.sign_in(101).await;
    for _ in 0..3 {
        assert_eq!(a.get(&gw, "agentgroup", "idleagent").await.retcode(), "0");
    }
    assert_eq!(a.get(&gw, "calldata", "callinfo").await.retcode(), "0");
    assert_eq!(a.get(&gw, "agentgroup", "agentwasnameonvdn").await.retcode(), "0");
    let r = a.get(&gw, "agentgroup", "idleagent").await;
    assert_eq!(r.retcode(), "000-007", "{}", r.body);
    gw.stop().await;
}

// --- the rest of the family (demo groups: 1 "Team 1" 101–110, 2 "Team 2" 111–120 in VDN 1,
// 3 "Team 3" 601–610 in VDN 2; attributes: odd 101–119 and 601–609 "english", even ones
// "chinese"; 101 and 601 are supervisors; rest reasons 1 "Lunch", 2 "Training" / 1 "Break").

/// Without the calldata budget (these tests make many queries per agent).
async fn unlimited() -> Gateway {
    Gateway::start_with(|c| c.limits.calldata_per_agent = 0).await
}

/// Sign in as `Gateway::sign_in` does; also returns the session's `loginTime`.
async fn sign_in_at(gw: &Gateway, id: u32) -> (Agent, u64) {
    let body = json!({"password":"ccgw-demo","phonenum":format!("7{id}"),"status":4,"autoanswer":false});
    let r = gw.request(Method::PUT, &format!("{PREFIX}/onlineagent/{id}"), None, Some(body)).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    let login = r.body["result"]["loginTime"].as_str().unwrap().parse().unwrap();
    (Agent { id, guid: std::sync::Mutex::new(r.set_guid().unwrap()) }, login)
}

fn demo_group(w: u32) -> (u32, &'static str) {
    match w {
        101..=110 => (1, "Team 1"),
        111..=120 => (2, "Team 2"),
        601..=610 => (3, "Team 3"),
        _ => (0, ""),
    }
}

fn demo_skills(w: u32) -> Value {
    match w {
        101..=150 => json!([{"name":"voice","id":1,"mediatype":5},{"name":"vip","id":2,"mediatype":5}]),
        151..=600 => json!([{"name":"voice","id":1,"mediatype":5}]),
        _ => json!([{"name":"voice2","id":3,"mediatype":5}]),
    }
}

/// The agent-information object of demo agent `w`: `status`/`ctiStatus`, signed in at `login`
/// (with all its configured skills) or signed out (`None`).
fn agent_info(w: u32, status: u8, cti: u8, login: Option<u64>) -> Value {
    let (gid, gname) = demo_group(w);
    json!({
        "workno": w.to_string(), "name": format!("Agent {w}"), "status": status.to_string(),
        "ctiStatus": cti.to_string(), "groupid": gid, "groupname": gname,
        "skilllist": if login.is_some() { demo_skills(w) } else { json!([]) },
        "mediatype": if login.is_some() { "TTF" } else { "FFF" },
        "vdnid": if w > 600 { 2 } else { 1 }, "phonenumber": format!("7{w}"), "currentstatetime": 0,
        "logindate": login.unwrap_or(0), "callids": [], "inMultimediaConf": 0, "currentStateReason": 0,
    })
}

fn idle_info(w: u32, login: u64) -> Value {
    agent_info(w, 4, 1, Some(login))
}

fn signed_out(w: u32) -> Value {
    agent_info(w, 2, 0, None)
}

/// The body with every `currentstatetime` (seconds in the state: 0 unless the test ran slowly)
/// checked to be at most 5 and set to 0, so that the rest can be compared exactly.
fn settled(mut body: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Array(items) => items.iter_mut().for_each(walk),
            Value::Object(o) => {
                if let Some(t) = o.get_mut("currentstatetime") {
                    assert!(t.as_u64().is_some_and(|t| t <= 5), "currentstatetime {t}");
                    *t = json!(0);
                }
                o.values_mut().for_each(walk);
            }
            _ => {}
        }
    }
    walk(&mut body);
    body
}

fn no_such_agent() -> Value {
    err("300-002", "no such agent")
}

fn other_vdn() -> Value {
    err("300-001", "no permission to query this agent")
}

#[tokio::test]
async fn agentgroup_agentbyworkno_describes_one_agent_of_the_callers_vdn() {
    let gw = unlimited().await;
    let (a, login) = sign_in_at(&gw, 101).await;
    let r = a.get(&gw, "agentgroup", "agentbyworkno/101").await;
    assert_eq!(settled(r.body), found(idle_info(101, login)));
    // Configured but signed out: state 2 / platform 0, no skills signed in, no login time.
    let r = a.get(&gw, "agentgroup", "agentbyworkno/102").await;
    assert_eq!(r.body, found(signed_out(102)));
    // In no group: groupid 0, groupname "".
    let r = a.get(&gw, "agentgroup", "agentbyworkno/121").await;
    assert_eq!(r.body, found(signed_out(121)));
    // Busy: 3 / 7; resting: 8 / 8 with the rest cause as currentStateReason.
    assert_eq!(a.post(&gw, "onlineagent", "saybusy", None).await.retcode(), "0");
    let r = a.get(&gw, "agentgroup", "agentbyworkno/101").await;
    assert_eq!(settled(r.body), found(agent_info(101, 3, 7, Some(login))));
    assert_eq!(a.post(&gw, "onlineagent", "rest/600/2", None).await.retcode(), "0");
    let r = a.get(&gw, "agentgroup", "agentbyworkno/101").await;
    let mut resting = agent_info(101, 8, 8, Some(login));
    resting["currentStateReason"] = json!(2);
    assert_eq!(settled(r.body), found(resting));
    // VDN isolation and bad work numbers.
    assert_eq!(a.get(&gw, "agentgroup", "agentbyworkno/601").await.body, other_vdn());
    assert_eq!(a.get(&gw, "agentgroup", "agentbyworkno/5000").await.body, no_such_agent());
    for bad in ["abc", "100", "60000", "1o1"] {
        assert_eq!(a.get(&gw, "agentgroup", &format!("agentbyworkno/{bad}")).await.body, param_invalid(), "{bad}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_agentbyworkno_of_a_talking_agent() {
    let gw = Gateway::start_with(|c| {
        c.limits.calldata_per_agent = 0;
        c.auth.poll_wait_ms = 200;
    })
    .await;
    let (a, login) = sign_in_at(&gw, 601).await;
    gw.inject_call("13800000001", "20086", "").await;
    a.poll_until(&gw, "AgentEvent_Ringing").await;
    // Ringing: talking (7) for the gateway, answering (4) for the platform.
    let r = a.get(&gw, "agentgroup", "agentbyworkno/601").await;
    assert_eq!(settled(r.body), found(agent_info(601, 7, 4, Some(login))));
    assert_eq!(a.put(&gw, "voicecall", "answer", None).await.retcode(), "0");
    let r = a.get(&gw, "agentgroup", "agentbyworkno/601").await;
    assert_eq!(settled(r.body), found(agent_info(601, 7, 5, Some(login))));
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_onlineagentonvdn_and_phones_list_the_signed_in_agents_of_the_vdn() {
    let gw = unlimited().await;
    let (a, l101) = sign_in_at(&gw, 101).await;
    let (_b, l112) = sign_in_at(&gw, 112).await;
    let (c, l601) = sign_in_at(&gw, 601).await;
    let r = a.get(&gw, "agentgroup", "onlineagentonvdn").await;
    assert_eq!(settled(r.body), found(json!([idle_info(101, l101), idle_info(112, l112)])));
    let r = c.get(&gw, "agentgroup", "onlineagentonvdn").await;
    assert_eq!(settled(r.body), found(json!([idle_info(601, l601)])));
    let r = a.get(&gw, "agentgroup", "loggedinagentphoneonvdn").await;
    assert_eq!(r.body, found(json!({"101":"7101","112":"7112"})));
    let r = c.get(&gw, "agentgroup", "loggedinagentphoneonvdn").await;
    assert_eq!(r.body, found(json!({"601":"7601"})));
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_agentinfonoskills_answers_for_the_listed_agents_of_the_vdn() {
    let gw = unlimited().await;
    let (a, l101) = sign_in_at(&gw, 101).await;
    let no_skills = |mut v: Value| {
        v.as_object_mut().unwrap().remove("skilllist");
        v["status"] = v["ctiStatus"].clone();
        v
    };
    // In the order asked, once each; other VDNs', unknown and malformed entries left out.
    let body = json!({"agentlist":["102","101","601","abc",101,"5000",-3,null]});
    let r = a.post(&gw, "agentgroup", "agentinfonoskills", Some(body)).await;
    assert_eq!(settled(r.body), found(json!([no_skills(signed_out(102)), no_skills(idle_info(101, l101))])));
    let r = a.post(&gw, "agentgroup", "agentinfonoskills", Some(json!({"agentlist":[]}))).await;
    assert_eq!(r.body, found(json!([])));
    let body_invalid = err("000-006", "message body parameter error");
    for bad in [json!([101]), json!({}), json!({"agentlist":"101"}), json!({"agentlist":null})] {
        let r = a.post(&gw, "agentgroup", "agentinfonoskills", Some(bad.clone())).await;
        assert_eq!(r.body, body_invalid, "{bad}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_groups_of_the_vdn_and_their_members() {
    let gw = unlimited().await;
    let (a, l101) = sign_in_at(&gw, 101).await;
    let c = gw.sign_in(601).await;
    let u = gw.sign_in(121).await;
    let r = a.get(&gw, "agentgroup", "grouponvdn").await;
    assert_eq!(r.body, found(json!([{"id":1,"name":"Team 1"},{"id":2,"name":"Team 2"}])));
    let r = c.get(&gw, "agentgroup", "grouponvdn").await;
    assert_eq!(r.body, found(json!([{"id":3,"name":"Team 3"}])));
    // groupbyagent: the target's group, {} when it has none.
    assert_eq!(a.get(&gw, "agentgroup", "groupbyagent/105").await.body, found(json!({"id":1,"name":"Team 1"})));
    assert_eq!(a.get(&gw, "agentgroup", "groupbyagent/111").await.body, found(json!({"id":2,"name":"Team 2"})));
    assert_eq!(a.get(&gw, "agentgroup", "groupbyagent/121").await.body, found(json!({})));
    assert_eq!(a.get(&gw, "agentgroup", "groupbyagent/601").await.body, other_vdn());
    assert_eq!(a.get(&gw, "agentgroup", "groupbyagent/5000").await.body, no_such_agent());
    assert_eq!(a.get(&gw, "agentgroup", "groupbyagent/x").await.body, param_invalid());
    // agentongroup: every member of the caller's group, signed in or not; none without a group.
    let mut team1: Vec<Value> = (102..=110).map(signed_out).collect();
    team1.insert(0, idle_info(101, l101));
    let r = a.get(&gw, "agentgroup", "agentongroup").await;
    assert_eq!(settled(r.body), found(Value::Array(team1)));
    assert_eq!(u.get(&gw, "agentgroup", "agentongroup").await.body, found(json!([])));
    // agentongroupex?groupid: a group of the caller's VDN.
    let r = a.get(&gw, "agentgroup", "agentongroupex?groupid=2").await;
    assert_eq!(r.body, found(Value::Array((111..=120).map(signed_out).collect())));
    for bad in ["agentongroupex?groupid=3", "agentongroupex?groupid=9", "agentongroupex", "agentongroupex?groupid=x"] {
        assert_eq!(a.get(&gw, "agentgroup", bad).await.body, param_invalid(), "{bad}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_agents_of_a_skill() {
    let gw = unlimited().await;
    let (a, l101) = sign_in_at(&gw, 101).await;
    let (_b, l151) = sign_in_at(&gw, 151).await;
    // 101 signs in to skill 2 only.
    assert_eq!(a.post(&gw, "onlineagent", "resetskill/false?skillid=2", None).await.retcode(), "0");
    let mut i101 = idle_info(101, l101);
    i101["skilllist"] = json!([{"name":"vip","id":2,"mediatype":5}]);
    let i151 = idle_info(151, l151);
    let r = a.get(&gw, "agentgroup", "agentbyskill/1").await;
    assert_eq!(settled(r.body), found(json!([i151.clone()])));
    let r = a.get(&gw, "agentgroup", "agentbyskill/2").await;
    assert_eq!(settled(r.body), found(json!([i101.clone()])));
    assert_eq!(a.get(&gw, "agentgroup", "agentidsbyskill/1").await.body, found(json!(["151"])));
    assert_eq!(a.get(&gw, "agentgroup", "agentidsbyskill/2").await.body, found(json!(["101"])));
    // Configured for skill 2: 101–150, signed in or not.
    let mut vip: Vec<Value> = (102..=150).map(signed_out).collect();
    vip.insert(0, i101.clone());
    let r = a.get(&gw, "agentgroup", "agentbyconfigedskill/2").await;
    assert_eq!(settled(r.body), found(Value::Array(vip)));
    let english: Vec<Value> =
        (101..=119).step_by(2).map(|w| if w == 101 { i101.clone() } else { signed_out(w) }).collect();
    let r = a.get(&gw, "agentgroup", "agentbyconfigedskillandattribute/2?attribute=english").await;
    assert_eq!(settled(r.body), found(Value::Array(english)));
    let r = a.get(&gw, "agentgroup", "agentbyskill/2?attribute=english").await;
    assert_eq!(settled(r.body), found(json!([i101.clone()])));
    assert_eq!(a.get(&gw, "agentgroup", "agentbyskill/1?attribute=english").await.body, found(json!([])));
    // agentbylist: signed-in agents by the media types of their skill queues.
    for q in ["agentbylist", "agentbylist?mediaTypes=5", "agentbylist?mediaTypes=1,5", "agentbylist?mediaTypes="] {
        let r = a.get(&gw, "agentgroup", q).await;
        assert_eq!(settled(r.body), found(json!([i101.clone(), i151.clone()])), "{q}");
    }
    assert_eq!(a.get(&gw, "agentgroup", "agentbylist?mediaTypes=1").await.body, found(json!([])));
    assert_eq!(a.get(&gw, "agentgroup", "agentbylist?mediaTypes=x").await.body, param_invalid());
    // Another VDN's skill, an unknown one, a malformed one.
    for suffix in ["agentbyskill", "agentbyconfigedskill", "agentidsbyskill", "agentbyconfigedskillandattribute"] {
        for bad in ["3", "99", "x", "-1"] {
            let r = a.get(&gw, "agentgroup", &format!("{suffix}/{bad}?attribute=english")).await;
            assert_eq!(r.body, param_invalid(), "{suffix}/{bad}");
        }
    }
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_status_queries() {
    let gw = unlimited().await;
    let a = gw.sign_in(101).await;
    let c = gw.sign_in(601).await;
    let r = a.get(&gw, "agentgroup", "queryagentstatusandskill").await;
    assert_eq!(
        r.body,
        found(json!({"status":4,"skills":[{"name":"voice","id":1,"mediatype":5},{"name":"vip","id":2,"mediatype":5}]}))
    );
    assert_eq!(c.post(&gw, "onlineagent", "saybusy", None).await.retcode(), "0");
    let r = c.get(&gw, "agentgroup", "queryagentstatusandskill").await;
    assert_eq!(r.body, found(json!({"status":3,"skills":[{"name":"voice2","id":3,"mediatype":5}]})));
    // queryagentstatus: every configured agent of the VDN with the seconds in its state.
    let expected: Vec<Value> = (601..=700)
        .map(|w| {
            json!({"workno":w.to_string(),"name":format!("Agent {w}"),"status":if w == 601 {3} else {2},"currentstatetime":0})
        })
        .collect();
    let r = c.get(&gw, "agentgroup", "queryagentstatus").await;
    assert_eq!(settled(r.body), found(Value::Array(expected)));
    // agentlistbystatus?status: the agents in that state.
    let item = |w: u32, s: u8| json!({"workno":w.to_string(),"name":format!("Agent {w}"),"status":s});
    assert_eq!(c.get(&gw, "agentgroup", "agentlistbystatus?status=3").await.body, found(json!([item(601, 3)])));
    assert_eq!(c.get(&gw, "agentgroup", "agentlistbystatus?status=4").await.body, found(json!([])));
    let r = c.get(&gw, "agentgroup", "agentlistbystatus?status=2").await;
    assert_eq!(r.body, found(Value::Array((602..=700).map(|w| item(w, 2)).collect())));
    assert_eq!(a.get(&gw, "agentgroup", "agentlistbystatus?status=4").await.body, found(json!([item(101, 4)])));
    for bad in
        ["agentlistbystatus", "agentlistbystatus?status=", "agentlistbystatus?status=x", "agentlistbystatus?status=10"]
    {
        assert_eq!(c.get(&gw, "agentgroup", bad).await.body, param_invalid(), "{bad}");
    }
    // alllocalagentstatus: one node, so allagentstatus.
    let all = c.get(&gw, "agentgroup", "allagentstatus").await.body;
    assert_eq!(c.get(&gw, "agentgroup", "alllocalagentstatus").await.body, all);
    assert_eq!(all["result"][0], item(601, 3));
    gw.stop().await;
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test]
async fn agentgroup_rest_reasons_and_rest_details() {
    let gw = unlimited().await;
    let a = gw.sign_in(101).await;
    let c = gw.sign_in(601).await;
    let r = a.get(&gw, "agentgroup", "restreason").await;
    assert_eq!(r.body, found(json!([{"id":1,"name":"Lunch"},{"id":2,"name":"Training"}])));
    assert_eq!(c.get(&gw, "agentgroup", "restreason").await.body, found(json!([{"id":1,"name":"Break"}])));
    // Not resting: {}.
    assert_eq!(a.get(&gw, "agentgroup", "agentrestinfo").await.body, found(json!({})));
    let before = now_ms();
    assert_eq!(a.post(&gw, "onlineagent", "rest/600/2", None).await.retcode(), "0");
    let after = now_ms();
    let mut r = a.get(&gw, "agentgroup", "agentrestinfo").await.body;
    let begin = r["result"]["begintime"].as_u64().unwrap();
    assert!((before..=after).contains(&begin), "{before} {begin} {after}");
    let remain = r["result"]["remaintime"].as_u64().unwrap();
    assert!((595..=600).contains(&remain), "{remain}");
    r["result"]["remaintime"] = json!(600);
    assert_eq!(r, found(json!({"restcause":2,"time":600,"begintime":begin,"remaintime":600})));
    assert_eq!(a.post(&gw, "onlineagent", "cancelrest", None).await.retcode(), "0");
    assert_eq!(a.get(&gw, "agentgroup", "agentrestinfo").await.body, found(json!({})));
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_permission_probes_report_the_configured_rights() {
    let gw = unlimited().await;
    let a = gw.sign_in(101).await;
    let b = gw.sign_in(102).await;
    let probes = ["iscallout", "iscensor", "isspymonitor", "ismonitor", "isreportmanager", "issystem", "ispickup"];
    // 101 is a demo supervisor; 102 an ordinary agent (call out and pick up only).
    for (probe, supervisor, ordinary) in probes
        .iter()
        .zip([true, true, true, true, true, false, true])
        .zip([true, false, false, false, false, false, true])
        .map(|((p, s), o)| (p, s, o))
    {
        assert_eq!(a.get(&gw, "agentgroup", probe).await.body, found(json!(supervisor)), "{probe}");
        assert_eq!(b.get(&gw, "agentgroup", probe).await.body, found(json!(ordinary)), "{probe}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_configured_rights_and_groups() {
    // A configuration of its own: rights from [[agent]], one group, no rest reasons.
    let gw = Gateway::start_with(|c| {
        use ccgw_server::config::{AgentConfig, AgentRightsConfig, GroupConfig, VdnConfig};
        c.auth.allow_empty_password = true;
        c.vdns = vec![VdnConfig { id: 7, name: "seven".into() }];
        let agent = |workno: u32, rights: AgentRightsConfig| AgentConfig {
            workno,
            vdn: 7,
            name: format!("A{workno}"),
            rights,
            ..AgentConfig::default()
        };
        c.agents = vec![
            agent(201, AgentRightsConfig { callout: false, system: true, ..AgentRightsConfig::default() }),
            agent(202, AgentRightsConfig::default()),
        ];
        c.groups = vec![GroupConfig { id: 5, vdn: 7, name: "Night shift".into(), members: vec![202, 201] }];
    })
    .await;
    let a = gw.sign_in_with(201, json!({"password":"","status":4})).await;
    assert_eq!(a.get(&gw, "agentgroup", "iscallout").await.body, found(json!(false)));
    assert_eq!(a.get(&gw, "agentgroup", "issystem").await.body, found(json!(true)));
    assert_eq!(a.get(&gw, "agentgroup", "grouponvdn").await.body, found(json!([{"id":5,"name":"Night shift"}])));
    let r = a.get(&gw, "agentgroup", "agentongroup").await;
    let ids: Vec<&str> = r.body["result"].as_array().unwrap().iter().map(|i| i["workno"].as_str().unwrap()).collect();
    assert_eq!(ids, ["201", "202"]);
    assert_eq!(r.body["result"][1]["groupname"], "Night shift");
    assert_eq!(a.get(&gw, "agentgroup", "restreason").await.body, found(json!([])));
    gw.stop().await;
}

#[tokio::test]
async fn agentgroup_attribute_variants_filter_on_the_agents_attributes() {
    let gw = unlimited().await;
    let (a, l101) = sign_in_at(&gw, 101).await;
    let _b = gw.sign_in(102).await;
    let (_c, l103) = sign_in_at(&gw, 103).await;
    let _u = gw.sign_in(121).await;
    let idle = |w: u32| json!({"workno":w.to_string(),"name":format!("Agent {w}")});
    let r = a.get(&gw, "agentgroup", "idleagentbyattribute?attribute=english").await;
    assert_eq!(r.body, found(json!([idle(101), idle(103)])));
    let r = a.get(&gw, "agentgroup", "idleagentbyattribute?attribute=chinese").await;
    assert_eq!(r.body, found(json!([idle(102)])));
    let r = a.get(&gw, "agentgroup", "idleagentbyattribute?attribute=french").await;
    assert_eq!(r.body, found(json!([])));
    let r = a.get(&gw, "agentgroup", "allagentstatusbyattribute?attribute=chinese").await;
    let expected: Vec<Value> = (102..=120)
        .step_by(2)
        .map(|w| json!({"workno":w.to_string(),"name":format!("Agent {w}"),"status":if w == 102 {4} else {2}}))
        .collect();
    assert_eq!(r.body, found(Value::Array(expected)));
    let r = a.get(&gw, "agentgroup", "onlineagentonvdnbyattribute?attribute=english").await;
    assert_eq!(settled(r.body), found(json!([idle_info(101, l101), idle_info(103, l103)])));
    let r = a.get(&gw, "agentgroup", "agentongroupbyattribute?attribute=english").await;
    let team1: Vec<Value> = (101..=109)
        .step_by(2)
        .map(|w| match w {
            101 => idle_info(101, l101),
            103 => idle_info(103, l103),
            _ => signed_out(w),
        })
        .collect();
    assert_eq!(settled(r.body), found(Value::Array(team1)));
    // No text chat in ccgw: nobody is chatting.
    assert_eq!(a.get(&gw, "agentgroup", "allchatagents").await.body, found(json!([])));
    assert_eq!(a.get(&gw, "agentgroup", "allchatagentsbyattribute?attribute=english").await.body, found(json!([])));
    for suffix in [
        "idleagentbyattribute",
        "allagentstatusbyattribute",
        "onlineagentonvdnbyattribute",
        "agentongroupbyattribute",
        "allchatagentsbyattribute",
        "agentbyconfigedskillandattribute/1",
    ] {
        for q in ["", "?attribute="] {
            assert_eq!(a.get(&gw, "agentgroup", &format!("{suffix}{q}")).await.body, param_invalid(), "{suffix}{q}");
        }
    }
    gw.stop().await;
}

/// Every agentgroup interface: not signed in, bad agent id, and the shared calldata budget.
#[tokio::test]
async fn agentgroup_every_interface_needs_a_session_and_counts_in_the_budget() {
    // One budget window for the whole test, so that no window boundary falls inside it.
    let gw = Gateway::start_with(|c| c.limits.calldata_window_ms = 1 << 50).await;
    let gets = [
        "agentbyskill/1",
        "agentbyworkno/101",
        "agentbylist",
        "agentbyconfigedskill/1",
        "agentidsbyskill/1",
        "agentwasnameonvdn",
        "allagentstatus",
        "alllocalagentstatus",
        "idleagent",
        "onlineagentonvdn",
        "loggedinagentphoneonvdn",
        "agentongroup",
        "agentongroupex?groupid=1",
        "groupbyagent/101",
        "grouponvdn",
        "queryagentstatus",
        "queryagentstatusandskill",
        "agentlistbystatus?status=4",
        "agentrestinfo",
        "restreason",
        "allchatagents",
        "iscallout",
        "iscensor",
        "isspymonitor",
        "ismonitor",
        "isreportmanager",
        "issystem",
        "ispickup",
        "onlineagentonvdnbyattribute?attribute=a",
        "agentongroupbyattribute?attribute=a",
        "allagentstatusbyattribute?attribute=a",
        "idleagentbyattribute?attribute=a",
        "allchatagentsbyattribute?attribute=a",
        "agentbyconfigedskillandattribute/1?attribute=a",
    ];
    let calls: Vec<(Method, &str)> =
        gets.iter().map(|s| (Method::GET, *s)).chain([(Method::POST, "agentinfonoskills")]).collect();
    assert_eq!(calls.len(), 35);
    for (m, suffix) in &calls {
        let body = (*m == Method::POST).then(|| json!({"agentlist":["101"]}));
        let r = gw.request(m.clone(), &format!("{PREFIX}/agentgroup/103/{suffix}"), Some("nope"), body.clone()).await;
        assert_eq!(r.body, not_signed_in(), "{suffix}");
        let r = gw.request(m.clone(), &format!("{PREFIX}/agentgroup/99/{suffix}"), Some("nope"), body).await;
        assert_eq!(r.body, param_invalid(), "{suffix}");
    }
    // Each counts in the per-agent budget of 5 per 2 s: a fresh agent per interface makes 5
    // good calls (one a calldata query), then the 6th is refused.
    for (i, (m, suffix)) in calls.iter().enumerate() {
        let a = gw.sign_in(400 + i as u32).await;
        let body = (*m == Method::POST).then(|| json!({"agentlist":["101"]}));
        let path = a.path("agentgroup", suffix);
        assert_eq!(a.get(&gw, "calldata", "callinfo").await.retcode(), "0");
        for _ in 0..4 {
            let r = a.call(&gw, m.clone(), &path, body.clone()).await;
            assert_eq!(r.retcode(), "0", "{suffix}: {}", r.body);
        }
        let r = a.call(&gw, m.clone(), &path, body).await;
        assert_eq!(r.body, err("000-007", "interface invoked too frequently, try again later"), "{suffix}");
    }
    gw.stop().await;
}

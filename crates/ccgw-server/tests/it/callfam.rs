//! Issue 8 §2, families queuedevice, calldata and voicecall (second batch): skill queues, access
//! codes and ACD statistics; waiting calls, calls of the VDN, call records, moving and taking
//! queued calls; DTMF, phone pick-up, snatching a ringing call, internal call to a skill and
//! cancelling a transfer. Demo provisioning (see queuerec.rs). Every body compared whole.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Agent, Gateway, PREFIX, body_invalid, err, found, not_signed_in, param_invalid};
use crate::voicefam::{ACCESS, CUSTOMER, OFFERED, expect, ok, ready, start, talking};

fn success(result: Value) -> Value {
    json!({"message":"success","retcode":"0","result":result})
}

fn internal() -> Value {
    err("100-007", "internal error")
}

async fn busy(gw: &Gateway, id: u32) -> Agent {
    let a = ready(gw, id).await;
    assert_eq!(a.post(gw, "onlineagent", "saybusy", None).await.retcode(), "0");
    expect(gw, &a, &["AgentState_SetNotReady_Success"]).await;
    a
}

/// A call waiting in a queue, as the call-information object describes it; `logontimes` (the
/// seconds it has waited) is taken from `actual`.
#[track_caller]
fn assert_waiting(actual: &Value, call: &str, caller: &str, skill: (&str, u32), access: &str) {
    assert!(actual["logontimes"].as_u64().is_some_and(|s| s < 30), "{actual}");
    let expected = json!({
        "callfeature": 0, "callid": call, "caller": caller, "called": access, "callskill": skill.0,
        "callskillid": skill.1, "orgicallednum": access, "calldata": "", "begintime": null, "endtime": null,
        "userPriority": 0, "trunkNo": 65535, "logontimes": actual["logontimes"], "mediaType": 5,
    });
    assert_eq!(*actual, expected);
}

fn skills(list: &[(&str, u32)]) -> Value {
    success(Value::Array(list.iter().map(|(n, id)| json!({"name": n, "id": id, "mediatype": 5})).collect()))
}

// ----- queuedevice ------------------------------------------------------------------------------

#[tokio::test]
async fn skill_queues_of_an_agent_and_of_the_vdn() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let both = skills(&[("voice", 1), ("vip", 2)]);
    assert_eq!(a.get(&gw, "queuedevice", "agentskill/151").await.body, skills(&[("voice", 1)]));
    // Configured skills: the target need not be signed in.
    assert_eq!(a.get(&gw, "queuedevice", "agentskill/101").await.body, both);
    assert_eq!(
        a.get(&gw, "queuedevice", "agentskill/601").await.body,
        err("300-001", "no permission to query this agent")
    );
    assert_eq!(a.get(&gw, "queuedevice", "agentskill/999").await.body, err("300-002", "no such agent"));
    for bad in ["agentskill/abc", "agentskill/100", "vdnskill/2", "vdnskill/x", "vdnskill/99999999999"] {
        assert_eq!(a.get(&gw, "queuedevice", bad).await.body, param_invalid(), "{bad}");
    }
    assert_eq!(a.get(&gw, "queuedevice", "agentvdnskill").await.body, both);
    assert_eq!(a.get(&gw, "queuedevice", "vdnskill/1").await.body, both);
    let c = ready(&gw, 601).await;
    assert_eq!(c.get(&gw, "queuedevice", "agentvdnskill").await.body, skills(&[("voice2", 3)]));
    assert_eq!(c.get(&gw, "queuedevice", "vdnskill/2").await.body, skills(&[("voice2", 3)]));
    assert_eq!(c.get(&gw, "queuedevice", "vdnskill/1").await.body, param_invalid());
    gw.stop().await;
}

#[tokio::test]
async fn access_codes_of_the_vdn_list_skills_and_ivrs() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let expected = success(json!([
        {"access":"10080","id":1,"description":"Main menu","type":"ivr"},
        {"access":"10081","id":2,"description":"Self service","type":"ivr"},
        {"access":"10086","id":1,"description":"voice","type":"skill"},
        {"access":"10087","id":2,"description":"vip","type":"skill"},
    ]));
    assert_eq!(a.get(&gw, "queuedevice", "innoinfo").await.body, expected);
    let c = ready(&gw, 601).await;
    let vdn2 = success(json!([{"access":"20086","id":3,"description":"voice2","type":"skill"}]));
    assert_eq!(c.get(&gw, "queuedevice", "innoinfo").await.body, vdn2);
    gw.stop().await;
}

#[tokio::test]
async fn acd_statistics_come_from_the_skill_queues() {
    let gw = start().await;
    let a = busy(&gw, 101).await;
    let skills12 = json!({"skills":[1, "2"]});
    let empty = success(json!([
        {"pilotNbr":"10086","deviceNo":1,"queueSize":0,"queueTime":0},
        {"pilotNbr":"10087","deviceNo":2,"queueSize":0,"queueTime":0},
    ]));
    assert_eq!(a.post(&gw, "queuedevice", "queryacdstat", Some(skills12.clone())).await.body, empty);
    gw.inject_call("13900000001", "10086", "").await;
    gw.inject_call("13900000002", "10086", "").await;
    let r = a.post(&gw, "queuedevice", "queryacdstat", Some(skills12)).await;
    let waited = r.body["result"][0]["queueTime"].clone();
    assert!(waited.as_u64().is_some_and(|s| s < 30), "{}", r.body);
    let expected = success(json!([
        {"pilotNbr":"10086","deviceNo":1,"queueSize":2,"queueTime":waited},
        {"pilotNbr":"10087","deviceNo":2,"queueSize":0,"queueTime":0},
    ]));
    assert_eq!(r.body, expected);
    // Another VDN's skill, an unknown one, none, too many, not numbers; a body without the list.
    let too_many: Vec<u32> = (0..101).map(|_| 1).collect();
    for bad in [
        json!({"skills":[3]}),
        json!({"skills":[1, 99]}),
        json!({"skills":[]}),
        json!({"skills":too_many}),
        json!({"skills":["x"]}),
        json!({"skills":[-1]}),
    ] {
        assert_eq!(a.post(&gw, "queuedevice", "queryacdstat", Some(bad.clone())).await.body, param_invalid(), "{bad}");
    }
    for bad in [json!({}), json!({"skills":"1"}), json!([1])] {
        assert_eq!(a.post(&gw, "queuedevice", "queryacdstat", Some(bad.clone())).await.body, body_invalid(), "{bad}");
    }
    gw.stop().await;
}

// ----- calldata ---------------------------------------------------------------------------------

#[tokio::test]
async fn waiting_calls_can_be_listed_moved_and_taken() {
    let gw = start().await;
    let a = busy(&gw, 101).await;
    let c1 = gw.inject_call("13900000001", "10086", "").await;
    let c2 = gw.inject_call("13900000002", "10086", "").await;
    let r = a.get(&gw, "calldata", "waitcallinfo/1").await;
    assert_eq!((r.body["message"].clone(), r.retcode()), (json!(""), "0"), "{}", r.body);
    let list = r.body["result"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{}", r.body);
    assert_waiting(&list[0], &c1, "13900000001", ("voice", 1), "10086");
    assert_waiting(&list[1], &c2, "13900000002", ("voice", 1), "10086");
    assert_eq!(a.get(&gw, "calldata", "waitcallinfo/2").await.body, found(json!([])));
    for bad in ["waitcallinfo/3", "waitcallinfo/99", "waitcallinfo/x"] {
        assert_eq!(a.get(&gw, "calldata", bad).await.body, param_invalid(), "{bad}");
    }
    // All the VDN's calls; VDN 2 sees only its own.
    let r = a.get(&gw, "calldata", "allcallinfoinvdn").await;
    let list = r.body["result"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{}", r.body);
    assert_waiting(&list[0], &c1, "13900000001", ("voice", 1), "10086");
    let c = busy(&gw, 601).await;
    assert_eq!(c.get(&gw, "calldata", "allcallinfoinvdn").await.body, found(json!([])));
    assert_eq!(c.get(&gw, "calldata", "waitcallinfo/1").await.body, param_invalid());

    // Move the second caller to "vip".
    let assign = |call: &str, skill: Value| json!({"callid": call, "skillid": skill});
    assert_eq!(a.put(&gw, "calldata", "assignuserinqueue", Some(assign(&c2, json!("2")))).await.body, ok());
    let r = a.get(&gw, "calldata", "waitcallinfo/2").await;
    assert_waiting(&r.body["result"][0], &c2, "13900000002", ("vip", 2), "10086");
    assert_eq!(r.body["result"].as_array().unwrap().len(), 1);
    assert_eq!(a.get(&gw, "calldata", "waitcallinfo/1").await.body["result"].as_array().unwrap().len(), 1);
    assert_eq!(a.put(&gw, "calldata", "assignuserinqueue", Some(assign("1-1", json!(1)))).await.body, internal());
    assert_eq!(c.put(&gw, "calldata", "assignuserinqueue", Some(assign(&c1, json!(3)))).await.body, internal());
    assert_eq!(a.put(&gw, "calldata", "assignuserinqueue", Some(assign(&c1, json!(3)))).await.body, param_invalid());
    assert_eq!(a.put(&gw, "calldata", "assignuserinqueue", Some(assign("x", json!(1)))).await.body, param_invalid());
    assert_eq!(a.put(&gw, "calldata", "assignuserinqueue", Some(json!({"callid": c1}))).await.body, body_invalid());

    // Take the first caller from the "voice" queue.
    let take = |call: &str, rest: &str| format!("requestcall/{call}/{rest}");
    for bad in [take(&c1, "1?skillId=1"), take(&c1, "0?skillId=3"), take(&c1, "0"), take("x", "0?skillId=1")] {
        assert_eq!(a.post(&gw, "voicecall", &bad, None).await.body, param_invalid(), "{bad}");
    }
    // Not waiting there (moved to "vip"), or not at all.
    assert_eq!(a.post(&gw, "voicecall", &take(&c2, "0?skillId=1"), None).await.body, internal());
    assert_eq!(a.post(&gw, "voicecall", &take(&c1, "0?skillid=1"), None).await.body, ok());
    expect(&gw, &a, &OFFERED).await;
    assert_eq!(a.get(&gw, "calldata", "waitcallinfo/1").await.body, found(json!([])));
    // In a call (ringing): no other.
    let state = err("100-009", "agent state does not allow this operation");
    assert_eq!(a.post(&gw, "voicecall", &take(&c2, "0?skillId=2"), None).await.body, state);
    gw.stop().await;
}

#[tokio::test]
async fn ivr_and_private_queues_hold_no_calls() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.get(&gw, "calldata", "ivrcallinfo/1").await.body, found(json!([])));
    assert_eq!(a.get(&gw, "calldata", "ivrcallcount/2").await.body, found(json!(0)));
    assert_eq!(a.get(&gw, "calldata", "privatecallinfo").await.body, found(json!([])));
    for bad in ["ivrcallinfo/3", "ivrcallinfo/x", "ivrcallcount/0", "ivrcallcount/"] {
        let r = a.get(&gw, "calldata", bad).await;
        assert_ne!(r.retcode(), "0", "{bad}");
        if !bad.ends_with('/') {
            assert_eq!(r.body, param_invalid(), "{bad}");
        }
    }
    // VDN 2 has no IVR flows: VDN 1's are not its to query.
    let c = ready(&gw, 601).await;
    assert_eq!(c.get(&gw, "calldata", "ivrcallinfo/1").await.body, param_invalid());
    assert_eq!(c.get(&gw, "calldata", "ivrcallcount/1").await.body, param_invalid());
    gw.stop().await;
}

#[tokio::test]
async fn is_process_call_held_count_and_old_form_call_data() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let b = busy(&gw, 102).await;
    assert_eq!(a.get(&gw, "calldata", "isprocesscall").await.body, found(json!(false)));
    assert_eq!(a.get(&gw, "calldata", "agentholdnum/101").await.body, found(json!(0)));
    let no_call = err("400-001", "no call to set call data on");
    assert_eq!(a.put(&gw, "calldata", "?calldata=x", None).await.body, no_call);
    let id = talking(&gw, &a).await;
    assert_eq!(a.get(&gw, "calldata", "isprocesscall").await.body, found(json!(true)));
    assert_eq!(a.put(&gw, "calldata", &format!("?calldata=hello%20there&callid={id}"), None).await.body, ok());
    assert_eq!(a.get(&gw, "calldata", "appdata").await.body, found(json!("hello there")));
    // No callid: the current call.
    assert_eq!(a.put(&gw, "calldata", "?calldata=again", None).await.body, ok());
    assert_eq!(a.get(&gw, "calldata", "appdata").await.body, found(json!("again")));
    assert_eq!(a.put(&gw, "calldata", "?calldata=x&callid=1-1", None).await.body, no_call);
    assert_eq!(b.put(&gw, "calldata", &format!("?calldata=x&callid={id}"), None).await.body, no_call);
    assert_eq!(a.put(&gw, "calldata", "?calldata=x&callid=abc", None).await.body, param_invalid());
    assert_eq!(a.get(&gw, "calldata", "appdata").await.body, found(json!("again")));

    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, ok());
    assert_eq!(a.get(&gw, "calldata", "agentholdnum/101").await.body, found(json!(1)));
    assert_eq!(b.get(&gw, "calldata", "agentholdnum/101").await.body, found(json!(1)));
    assert_eq!(b.get(&gw, "calldata", "agentholdnum/102").await.body, found(json!(0)));
    assert_eq!(
        b.get(&gw, "calldata", "agentholdnum/601").await.body,
        err("300-001", "no permission to query this agent")
    );
    assert_eq!(b.get(&gw, "calldata", "agentholdnum/999").await.body, err("300-002", "no such agent"));
    assert_eq!(b.get(&gw, "calldata", "agentholdnum/x").await.body, param_invalid());
    gw.stop().await;
}

#[tokio::test]
async fn call_records_are_kept_filtered_and_paged() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let b = busy(&gw, 102).await;
    assert_eq!(a.get(&gw, "calldata", "queryselfcallrecordinfolist").await.body, found(json!([])));
    let id = talking(&gw, &a).await;
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    let r = a.get(&gw, "calldata", "queryselfcallrecordinfolist").await;
    let rec = &r.body["result"][0];
    let (created, begin, end) =
        (rec["createtime"].as_u64().unwrap(), rec["begintime"].as_u64().unwrap(), rec["endtime"].as_u64().unwrap());
    assert!(created > 1_600_000_000_000 && created <= begin && begin <= end, "{rec}");
    let record = json!({
        "callid": id, "callfeature": 0, "caller": CUSTOMER, "called": ACCESS, "workno": "101",
        "callskillid": 1, "callskill": "voice", "createtime": created, "begintime": begin, "endtime": end,
        "talktime": (end - begin) / 1000,
    });
    let one = found(json!([record]));
    assert_eq!(r.body, one);
    let list = |q: &str| format!("callRecordInfoList{q}");
    assert_eq!(b.get(&gw, "calldata", "queryselfcallrecordinfolist").await.body, found(json!([])));
    assert_eq!(b.get(&gw, "calldata", &list("?workno=101")).await.body, one);
    assert_eq!(b.get(&gw, "calldata", &list("")).await.body, one);
    let window = format!("?workno=101&skillid=1&startdate={created}&enddate={end}&startposition=1&endposition=100");
    assert_eq!(b.get(&gw, "calldata", &list(&window)).await.body, one);
    for none in [
        "?workno=102",
        "?skillid=2",
        "?startposition=2",
        &format!("?startdate={}", end + 1),
        &format!("?enddate={}", end - 1),
    ] {
        assert_eq!(b.get(&gw, "calldata", &list(none)).await.body, found(json!([])), "{none}");
    }
    let bad = [
        "?startdate=abc",
        "?enddate=12345678901234",
        "?startdate=5&enddate=4",
        "?startposition=0",
        "?startposition=3&endposition=2",
        "?startposition=1&endposition=101",
        "?endposition=x",
        "?skillid=3",
        "?skillid=x",
        "?workno=x",
    ];
    for q in bad {
        assert_eq!(b.get(&gw, "calldata", &list(q)).await.body, param_invalid(), "{q}");
    }
    assert_eq!(b.get(&gw, "calldata", &format!("queryselfcallrecordinfolist{}", bad[0])).await.body, param_invalid());
    assert_eq!(
        b.get(&gw, "calldata", &list("?workno=601")).await.body,
        err("300-001", "no permission to query this agent")
    );
    assert_eq!(b.get(&gw, "calldata", &list("?workno=999")).await.body, err("300-002", "no such agent"));
    // VDN 2 has its own (empty) history.
    let c = ready(&gw, 601).await;
    assert_eq!(c.get(&gw, "calldata", &list("")).await.body, found(json!([])));
    gw.stop().await;
}

// ----- voicecall --------------------------------------------------------------------------------

#[tokio::test]
async fn second_dial_sends_digits_on_the_talking_call() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(a.post(&gw, "voicecall", "seconddial/123", None).await.body, internal());
    talking(&gw, &a).await;
    assert_eq!(a.post(&gw, "voicecall", "seconddial/123*", None).await.body, ok());
    assert_eq!(a.post(&gw, "voicecall", "seconddialex?number=12%23", None).await.body, ok());
    for bad in ["seconddial/12a", "seconddialex", "seconddialex?number=", "seconddialex?number=1%202"] {
        assert_eq!(a.post(&gw, "voicecall", bad, None).await.body, param_invalid(), "{bad}");
    }
    // Held: nothing is talking.
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, ok());
    assert_eq!(a.post(&gw, "voicecall", "seconddial/1", None).await.body, internal());
    gw.stop().await;
}

#[tokio::test]
async fn phone_pickup_answers_the_ringing_call() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let no_call = err("200-002", "no call to answer");
    assert_eq!(a.post(&gw, "voicecall", "phonepickup", None).await.body, no_call);
    assert_eq!(a.put(&gw, "voicecall", "phonepickup", None).await.body, no_call);
    gw.inject_call(CUSTOMER, ACCESS, "").await;
    expect(&gw, &a, &OFFERED).await;
    assert_eq!(a.put(&gw, "voicecall", "phonepickup", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Talking"]).await;
    assert_eq!(a.post(&gw, "voicecall", "phonepickup", None).await.body, no_call);
    gw.stop().await;
}

#[tokio::test]
async fn snatch_pickup_takes_a_call_ringing_at_another_agent() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let b = busy(&gw, 102).await;
    let snatch = |w: &str| format!("snatchpickup?destWorkNo={w}");
    let id = gw.inject_call(CUSTOMER, ACCESS, "").await;
    expect(&gw, &a, &OFFERED).await;
    // Only an idle agent picks up (vendor page 0387): 102 is busy.
    assert_eq!(b.put(&gw, "voicecall", &snatch("101"), None).await.body, internal());
    assert_eq!(b.post(&gw, "onlineagent", "cancelbusy", None).await.retcode(), "0");
    b.drain(&gw).await;
    // Nothing rings at 103 (signed in) or 104 (not signed in).
    let _c = ready(&gw, 103).await;
    assert_eq!(b.put(&gw, "voicecall", &snatch("103"), None).await.body, internal());
    assert_eq!(b.put(&gw, "voicecall", &snatch("104"), None).await.body, internal());
    // Another VDN's agent, an unknown one, oneself, none: the vendor's parameter error.
    for bad in [snatch("601"), snatch("999"), snatch("x"), snatch("102"), "snatchpickup".to_owned()] {
        assert_eq!(b.put(&gw, "voicecall", &bad, None).await.body, param_invalid(), "{bad}");
    }
    assert_eq!(b.put(&gw, "voicecall", &snatch("101"), None).await.body, ok());
    let evs = expect(&gw, &a, &["AgentEvent_Call_Release"]).await;
    assert_eq!(evs[0]["content"], json!(id));
    let evs = expect(
        &gw,
        &b,
        &["AgentState_Busy", "AgentOther_PhoneAlerting", "AgentOther_PhoneOffhook", "AgentEvent_Talking"],
    )
    .await;
    assert_eq!(evs[3]["content"]["callid"], json!(id));
    assert_eq!(b.get(&gw, "calldata", "allcallid").await.body, found(json!([id])));
    assert_eq!(a.get(&gw, "calldata", "allcallid").await.body, found(json!([])));
    gw.stop().await;
}

#[tokio::test]
async fn snatch_pickup_leaves_internal_calls_alone() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let b = ready(&gw, 102).await;
    let c = busy(&gw, 103).await;
    let r = a.put(&gw, "voicecall", "callinner", Some(json!({"called": "102"}))).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    expect(&gw, &b, &OFFERED).await;
    assert_eq!(c.post(&gw, "onlineagent", "cancelbusy", None).await.retcode(), "0");
    assert_eq!(c.put(&gw, "voicecall", "snatchpickup?destWorkNo=102", None).await.body, internal());
    gw.stop().await;
}

#[tokio::test]
async fn inner_call_to_a_skill_rings_an_idle_agent_of_it() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    // Vendor page 0370: every failure but a bad parameter is 100-007.
    let none = internal();
    assert_eq!(a.put(&gw, "voicecall", "callinnerskill", Some(json!({"skillId": 1}))).await.body, none);
    let b = ready(&gw, 151).await;
    // 151 has "voice" only.
    assert_eq!(a.put(&gw, "voicecall", "callinnerskill", Some(json!({"skillId": 2}))).await.body, none);
    for bad in [json!({"skillId": 3}), json!({"skillId": "x"}), json!({"skillid": 99})] {
        assert_eq!(a.put(&gw, "voicecall", "callinnerskill", Some(bad.clone())).await.body, param_invalid(), "{bad}");
    }
    assert_eq!(a.put(&gw, "voicecall", "callinnerskill", Some(json!({}))).await.body, body_invalid());
    let r = a.put(&gw, "voicecall", "callinnerskill", Some(json!({"skillid": "1", "callappdata": "hi"}))).await;
    let id = r.body["result"].as_str().unwrap_or_default().to_owned();
    assert_eq!(r.body, success(json!(id)));
    let evs = expect(&gw, &b, &OFFERED).await;
    assert_eq!((evs[3]["content"]["callid"].clone(), evs[3]["content"]["caller"].clone()), (json!(id), json!("101")));
    // Talking on a call: no other (100-007 too).
    assert_eq!(b.put(&gw, "voicecall", "answer", None).await.body, ok());
    assert_eq!(a.put(&gw, "voicecall", "callinnerskill", Some(json!({"skillId": 1}))).await.body, none);
    gw.stop().await;
}

#[tokio::test]
async fn cancel_transfer_takes_the_call_back() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let b = busy(&gw, 102).await;
    assert_eq!(a.post(&gw, "voicecall", "canceltransfer", None).await.body, internal());
    let id = talking(&gw, &a).await;
    assert_eq!(b.post(&gw, "onlineagent", "cancelbusy", None).await.retcode(), "0");
    b.drain(&gw).await;
    let transfer = json!({"devicetype": 2, "address": "102", "mode": 2});
    assert_eq!(a.post(&gw, "voicecall", "transfer", Some(transfer)).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Hold"]).await;
    expect(&gw, &b, &OFFERED).await;
    assert_eq!(a.post(&gw, "voicecall", "canceltransfer", None).await.body, ok());
    let evs = expect(&gw, &b, &["AgentEvent_Call_Release"]).await;
    assert_eq!(evs[0]["content"], json!(id));
    let evs = expect(&gw, &a, &["AgentEvent_Talking"]).await;
    assert_eq!(evs[0]["content"]["callid"], json!(id));
    assert_eq!(a.get(&gw, "calldata", "allcallid").await.body, found(json!([id])));
    assert_eq!(b.get(&gw, "calldata", "allcallid").await.body, found(json!([])));
    assert_eq!(a.post(&gw, "voicecall", "canceltransfer", None).await.body, internal());
    gw.stop().await;
}

#[tokio::test]
async fn preview_callout_places_an_outbound_call() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    assert_eq!(
        a.put(&gw, "voicecall", "previewcallout", Some(json!({"called": "12a"}))).await.body,
        err("200-001", "wrong number")
    );
    assert_eq!(a.put(&gw, "voicecall", "previewcallout", Some(json!({}))).await.body, body_invalid());
    let r = a.put(&gw, "voicecall", "previewcallout", Some(json!({"called": "13800000000"}))).await;
    let id = r.body["result"].as_str().unwrap_or_default().to_owned();
    assert_eq!(r.body, success(json!(id)));
    assert_eq!(a.get(&gw, "calldata", "allcallid").await.body, found(json!([id])));
    gw.stop().await;
}

#[tokio::test]
async fn the_new_interfaces_need_a_signed_in_agent() {
    let gw = start().await;
    let calls = [
        (Method::GET, "queuedevice/101/agentskill/101"),
        (Method::GET, "queuedevice/101/vdnskill/1"),
        (Method::GET, "queuedevice/101/agentvdnskill"),
        (Method::GET, "queuedevice/101/innoinfo"),
        (Method::POST, "queuedevice/101/queryacdstat"),
        (Method::PUT, "calldata/101?calldata=x"),
        (Method::GET, "calldata/101/agentholdnum/101"),
        (Method::GET, "calldata/101/waitcallinfo/1"),
        (Method::GET, "calldata/101/ivrcallinfo/1"),
        (Method::GET, "calldata/101/ivrcallcount/1"),
        (Method::GET, "calldata/101/privatecallinfo"),
        (Method::GET, "calldata/101/allcallinfoinvdn"),
        (Method::GET, "calldata/101/isprocesscall"),
        (Method::GET, "calldata/101/callRecordInfoList"),
        (Method::GET, "calldata/101/queryselfcallrecordinfolist"),
        (Method::PUT, "calldata/101/assignuserinqueue"),
        (Method::PUT, "voicecall/101/previewcallout"),
        (Method::PUT, "voicecall/101/callinnerskill"),
        (Method::POST, "voicecall/101/canceltransfer"),
        (Method::POST, "voicecall/101/phonepickup"),
        (Method::PUT, "voicecall/101/phonepickup"),
        (Method::POST, "voicecall/101/seconddial/1"),
        (Method::POST, "voicecall/101/seconddialex?number=1"),
        (Method::POST, "voicecall/101/requestcall/1-1/0?skillId=1"),
        (Method::PUT, "voicecall/101/snatchpickup?destWorkNo=102"),
        (Method::POST, "voicecall/101/thirdPartyConfTransmitNum"),
    ];
    for (m, path) in calls {
        let r = gw.request(m.clone(), &format!("{PREFIX}/{path}"), Some("nope"), Some(json!({}))).await;
        assert_eq!(r.body, not_signed_in(), "{m} {path}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn conference_digits_pass_to_the_outside_ivr() {
    let gw = start().await;
    let a = ready(&gw, 101).await;
    let relay = err("10001", "not in a three-party call with a customer and an outside IVR");
    assert_eq!(a.post(&gw, "voicecall", "thirdPartyConfTransmitNum", None).await.body, relay);
    let id = talking(&gw, &a).await;
    // Two parties only.
    assert_eq!(a.post(&gw, "voicecall", "thirdPartyConfTransmitNum", None).await.body, relay);
    assert_eq!(a.post(&gw, "voicecall", "hold", None).await.body, ok());
    let r = a.put(&gw, "voicecall", "callout", Some(json!({"called": "13800000000"}))).await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    a.poll_until(&gw, "AgentEvent_Talking").await;
    assert_eq!(a.post(&gw, "voicecall", "confjoin", None).await.body, ok());
    a.poll_until(&gw, "AgentEvent_Conference").await;
    assert_eq!(a.get(&gw, "calldata", "allcallid").await.body, found(json!([id])));
    let done = json!({"message":"","retcode":"0","result":{}});
    assert_eq!(a.post(&gw, "voicecall", "thirdPartyConfTransmitNum", None).await.body, done);
    gw.stop().await;
}

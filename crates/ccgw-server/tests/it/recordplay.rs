//! Issue 8, family recordplay: recording the agent's call (`beginRecord`,
//! `beginRecordWithoutFilename`, `pauseRecord`, `resumeRecord`, `stopRecord`), playback to the
//! agent's phone (`beginPlay`, `pausePlay`, `resumePlay`, `foreFastPlay`, `backFastPlay`,
//! `stopPlay`) and the record-file queries. Every body compared whole, error paths included.

use ccgw_server::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Agent, Gateway, PREFIX, err, found, not_signed_in, param_invalid};
use crate::voicefam::{ACCESS, CUSTOMER, OFFERED, RELEASED, expect, fast, ok, ready, talking};

async fn start() -> Gateway {
    Gateway::start_with(fast).await
}

fn no_recording() -> Value {
    err("500-002", "no recording in progress")
}

fn no_playback() -> Value {
    err("500-006", "no playback in progress")
}

fn file_missing() -> Value {
    err("104-005", "the record file does not exist")
}

fn file_name_invalid() -> Value {
    err("104-003", "invalid record file name")
}

/// A record id as ccgw makes them, `Yc1v<vdn>a<agent>d<yyyymmdd>t<hhmmss><task>`; returns
/// its date and time.
#[track_caller]
fn record_id_parts(id: &str, vdn: u32, agent: u32, task: u32) -> (String, String) {
    let rest = id.strip_prefix(&format!("Yc1v{vdn}a{agent}d")).unwrap_or_else(|| panic!("record id {id}"));
    let (date, rest) = rest.split_at(8);
    let time = rest.strip_prefix('t').and_then(|r| r.strip_suffix(&task.to_string())).unwrap_or("");
    assert!(date.bytes().all(|b| b.is_ascii_digit()) && date.starts_with("20"), "record id {id}");
    assert!(time.len() == 6 && time.bytes().all(|b| b.is_ascii_digit()), "record id {id}");
    (date.to_owned(), time.to_owned())
}

/// The content of `AgentMediaEvent_Record`.
fn record_event(task: u32, record_id: &str, file: &str, call: &str) -> Value {
    json!({
        "taskId": task, "caller": CUSTOMER, "called": ACCESS, "locationId": "65535",
        "recordID": record_id, "fileName": file, "fileMediaType": "1", "callId": call,
    })
}

/// `AgentMediaEvent_StopRecordDone`, with its times checked and taken from `actual`.
#[track_caller]
fn assert_stopped(actual: &Value, task: u32) -> (u64, u64) {
    let (begin, end) = (actual["beginTime"].as_u64().unwrap_or(0), actual["endTime"].as_u64().unwrap_or(0));
    assert!(begin > 1_600_000_000_000 && end >= begin, "{actual}");
    assert_eq!(*actual, json!({"beginTime": begin, "endTime": end, "fileMediaType": "1", "taskId": task}));
    (begin, end)
}

fn record_file(id: &str, file: &str, call: &str, agent: u32, times: (u64, u64)) -> Value {
    json!({
        "recordID": id, "fileName": file, "callId": call, "workNo": agent.to_string(), "skillId": 1,
        "caller": CUSTOMER, "called": ACCESS, "beginTime": times.0, "endTime": times.1,
    })
}

#[tokio::test]
async fn recording_the_agents_call() {
    let gw = start().await;
    let r = gw.request(Method::PUT, &format!("{PREFIX}/recordplay/101/record?filename=a.V3"), Some("x"), None).await;
    assert_eq!(r.body, not_signed_in());
    let a = ready(&gw, 101).await;

    // No call: nothing to record, nothing to pause, resume or stop.
    let no_call = err("500-009", "no call to record");
    assert_eq!(a.put(&gw, "recordplay", "record?filename=a.V3", None).await.body, no_call);
    assert_eq!(a.put(&gw, "recordplay", "recordwithoutfilename", None).await.body, no_call);
    assert_eq!(a.post(&gw, "recordplay", "pauserecord", None).await.body, no_recording());
    assert_eq!(a.post(&gw, "recordplay", "resumerecord", None).await.body, no_recording());
    assert_eq!(a.delete(&gw, "recordplay", "stoprecord").await.body, no_recording());

    let call = talking(&gw, &a).await;
    // The file name is mandatory, at most 100 characters, no control characters.
    for bad in ["record", "record?filename=", &format!("record?filename={}", "x".repeat(101)), "record?filename=a%0Ab"]
    {
        assert_eq!(a.put(&gw, "recordplay", bad, None).await.body, param_invalid(), "{bad}");
    }
    assert!(a.drain(&gw).await.is_empty(), "a refused request changes nothing");

    assert_eq!(a.put(&gw, "recordplay", "record?filename=calls%2Fmy.V3", None).await.body, ok());
    let ev = &expect(&gw, &a, &["AgentMediaEvent_Record"]).await[0];
    let id1 = ev["content"]["recordID"].as_str().unwrap().to_owned();
    record_id_parts(&id1, 1, 101, 1);
    assert_eq!(ev["content"], record_event(1, &id1, "calls/my.V3", &call));
    assert_eq!(ev["workNo"], "101");

    // One recording at a time.
    let busy = err("500-001", "a recording is already in progress");
    assert_eq!(a.put(&gw, "recordplay", "record?filename=b.V3", None).await.body, busy);
    assert_eq!(a.put(&gw, "recordplay", "recordwithoutfilename", None).await.body, busy);
    // Running ⇄ paused.
    assert_eq!(
        a.post(&gw, "recordplay", "resumerecord", None).await.body,
        err("500-004", "the recording is not paused")
    );
    assert_eq!(a.post(&gw, "recordplay", "pauserecord", None).await.body, ok());
    let ev = &expect(&gw, &a, &["AgentMediaEvent_PauseRecordDone"]).await[0];
    assert_eq!(ev["content"], json!({"taskId": 1}));
    assert_eq!(
        a.post(&gw, "recordplay", "pauserecord", None).await.body,
        err("500-003", "the recording is already paused")
    );
    assert_eq!(a.post(&gw, "recordplay", "resumerecord", None).await.body, ok());
    let ev = &expect(&gw, &a, &["AgentMediaEvent_ResumeRecordDone"]).await[0];
    assert_eq!(ev["content"], json!({"taskId": 1}));
    assert_eq!(a.delete(&gw, "recordplay", "stoprecord").await.body, ok());
    let ev = &expect(&gw, &a, &["AgentMediaEvent_StopRecordDone"]).await[0];
    let times1 = assert_stopped(&ev["content"], 1);
    assert_eq!(a.delete(&gw, "recordplay", "stoprecord").await.body, no_recording());

    // A platform-named recording, stopped by the agent leaving the call.
    assert_eq!(a.put(&gw, "recordplay", "recordwithoutfilename", None).await.body, ok());
    let ev = &expect(&gw, &a, &["AgentMediaEvent_Record"]).await[0];
    let id2 = ev["content"]["recordID"].as_str().unwrap().to_owned();
    let (date, time) = record_id_parts(&id2, 1, 101, 2);
    let file2 = format!("Y:/1/0/{date}/101/{time}2.V3");
    assert_eq!(ev["content"], record_event(2, &id2, &file2, &call));
    assert_eq!(a.delete(&gw, "voicecall", "release").await.body, ok());
    let evs = expect(&gw, &a, &["AgentMediaEvent_StopRecordDone", RELEASED[0], RELEASED[1], RELEASED[2]]).await;
    let times2 = assert_stopped(&evs[0]["content"], 2);
    assert_eq!(a.post(&gw, "recordplay", "pauserecord", None).await.body, no_recording());

    // Both are the agent's record files now.
    assert_eq!(
        a.get(&gw, "recordplay", "queryselfrecordfile").await.body,
        found(json!([
            record_file(&id1, "calls/my.V3", &call, 101, times1),
            record_file(&id2, &file2, &call, 101, times2),
        ]))
    );
    // The documented HTTP methods only.
    let r = a.post(&gw, "recordplay", "record?filename=a.V3", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = a.post(&gw, "recordplay", "stoprecord", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    gw.stop().await;
}

/// Agent 101 records a call and releases it, then goes busy; agent 102 does the same. Returns
/// agent 101 and the two recordings (record id, file name, call id, begin and end time).
async fn two_recordings(gw: &Gateway) -> (Agent, Vec<(String, String, String, (u64, u64))>) {
    let mut out = Vec::new();
    let mut agents = Vec::new();
    for (n, id) in [101, 102].into_iter().enumerate() {
        let x = ready(gw, id).await;
        let call = talking(gw, &x).await;
        assert_eq!(x.put(gw, "recordplay", "recordwithoutfilename", None).await.body, ok());
        let ev = &expect(gw, &x, &["AgentMediaEvent_Record"]).await[0];
        let record = ev["content"]["recordID"].as_str().unwrap().to_owned();
        let file = ev["content"]["fileName"].as_str().unwrap().to_owned();
        record_id_parts(&record, 1, id, n as u32 + 1);
        assert_eq!(x.delete(gw, "voicecall", "release").await.body, ok());
        let evs = expect(gw, &x, &["AgentMediaEvent_StopRecordDone", RELEASED[0], RELEASED[1], RELEASED[2]]).await;
        let times = assert_stopped(&evs[0]["content"], n as u32 + 1);
        assert_eq!(x.post(gw, "onlineagent", "saybusy", None).await.retcode(), "0");
        x.drain(gw).await;
        out.push((record, file, call, times));
        agents.push(x);
    }
    (agents.remove(0), out)
}

#[tokio::test]
async fn record_file_queries() {
    let gw = start().await;
    let (a, recs) = two_recordings(&gw).await;
    let file = |i: usize| {
        let (id, f, call, times) = &recs[i];
        record_file(id, f, call, 101 + i as u32, *times)
    };
    let both = found(json!([file(0), file(1)]));
    let none = found(json!([]));
    let q = |s: &str| format!("recordfile{s}");

    // recordfile: by agent, skill, period and page.
    for (query, expected) in [
        ("", both.clone()),
        ("?workno=101", found(json!([file(0)]))),
        ("?workno=102&skillid=1", found(json!([file(1)]))),
        ("?workno=103", none.clone()),
        ("?skillid=1", both.clone()),
        ("?skillid=2", none.clone()),
        ("?startdate=2000-01-01%2000:00:00&enddate=2999-12-31%2023:59:59", both.clone()),
        ("?enddate=2000-01-01%2000:00:00", none.clone()),
        ("?startdate=2999-01-01%2000:00:00", none.clone()),
        ("?startposition=2&endposition=2", found(json!([file(1)]))),
        ("?startposition=1&endposition=100", both.clone()),
        ("?startposition=3", none.clone()),
    ] {
        assert_eq!(a.get(&gw, "recordplay", &q(query)).await.body, expected, "{query}");
    }
    for bad in [
        "?workno=abc",
        "?workno=100",
        "?skillid=3",
        "?skillid=x",
        "?skillid=-1",
        "?startdate=2020-13-01%2000:00:00",
        "?startdate=2020-01-01",
        "?startdate=2020-01-02%2000:00:00&enddate=2020-01-01%2000:00:00",
        "?startposition=0",
        "?endposition=0",
        "?startposition=5&endposition=4",
        "?startposition=1&endposition=101",
        "?startposition=x",
    ] {
        assert_eq!(a.get(&gw, "recordplay", &q(bad)).await.body, param_invalid(), "{bad}");
    }
    assert_eq!(a.get(&gw, "recordplay", &q("?workno=59000")).await.body, err("300-002", "no such agent"));
    let other_vdn = err("300-001", "no permission to query this agent");
    assert_eq!(a.get(&gw, "recordplay", &q("?workno=601")).await.body, other_vdn);

    // queryselfrecordfile: the caller's own.
    assert_eq!(a.get(&gw, "recordplay", "queryselfrecordfile").await.body, found(json!([file(0)])));
    assert_eq!(a.get(&gw, "recordplay", "queryselfrecordfile?skillid=2").await.body, none);
    assert_eq!(a.get(&gw, "recordplay", "queryselfrecordfile?startposition=0").await.body, param_invalid());

    // queryrecordfilebycallid.
    let by_call = |s: &str| format!("queryrecordfilebycallid?callid={}{s}", recs[0].2);
    assert_eq!(a.get(&gw, "recordplay", &by_call("")).await.body, found(json!([file(0)])));
    assert_eq!(
        a.get(&gw, "recordplay", &by_call("&workno=101&calltime=2020-01-01%2000:00:00")).await.body,
        found(json!([file(0)]))
    );
    assert_eq!(a.get(&gw, "recordplay", &by_call("&workno=102")).await.body, none);
    assert_eq!(a.get(&gw, "recordplay", &by_call("&workno=601")).await.body, other_vdn);
    assert_eq!(a.get(&gw, "recordplay", &by_call("&calltime=yesterday")).await.body, param_invalid());
    assert_eq!(a.get(&gw, "recordplay", "queryrecordfilebycallid?callid=1-2").await.body, none);
    for bad in ["queryrecordfilebycallid", "queryrecordfilebycallid?callid=", "queryrecordfilebycallid?callid=x-1"] {
        assert_eq!(a.get(&gw, "recordplay", bad).await.body, param_invalid(), "{bad}");
    }

    // recordfilefromrecordid.
    let by_id = format!("recordfilefromrecordid?recordid={}", recs[1].0);
    assert_eq!(a.get(&gw, "recordplay", &by_id).await.body, found(file(1)));
    assert_eq!(a.get(&gw, "recordplay", "recordfilefromrecordid?recordid=Yc1v1a101d1").await.body, file_missing());
    assert_eq!(a.get(&gw, "recordplay", "recordfilefromrecordid").await.body, param_invalid());
    let long = format!("recordfilefromrecordid?recordid={}", "x".repeat(65));
    assert_eq!(a.get(&gw, "recordplay", &long).await.body, param_invalid());

    // The URLs: `[recording] url_base`, the VDN, the percent-encoded file name.
    let enc = |f: &str| f.replace(':', "%3A").replace('/', "%2F");
    let base = "https://127.0.0.1:8043/recordfiles/1";
    let url = |s: String| found(json!(s));
    let path = |i: usize| format!("filepath={}", enc(&recs[i].1));
    assert_eq!(
        a.get(&gw, "recordplay", &format!("recordfileurl?{}", path(0))).await.body,
        url(format!("{base}/{}", enc(&recs[0].1)))
    );
    assert_eq!(
        a.get(&gw, "recordplay", &format!("recordzipfileurl?{}", path(1))).await.body,
        url(format!("{base}/{}.zip", enc(&recs[1].1)))
    );
    assert_eq!(
        a.get(&gw, "recordplay", &format!("batchrecordzipfileurl?{}%3B{}", path(0), enc(&recs[1].1))).await.body,
        url(format!("{base}/batch.zip?files={};{}", enc(&recs[0].1), enc(&recs[1].1)))
    );
    for i in ["recordfileurl", "recordzipfileurl", "batchrecordzipfileurl"] {
        assert_eq!(a.get(&gw, "recordplay", &format!("{i}?filepath=Y%3A%2Fnone.V3")).await.body, file_missing(), "{i}");
        assert_eq!(a.get(&gw, "recordplay", i).await.body, file_name_invalid(), "{i}");
        let long = format!("{i}?filepath={}", "x".repeat(256));
        assert_eq!(a.get(&gw, "recordplay", &long).await.body, file_name_invalid(), "{i}");
    }
    let half = format!("batchrecordzipfileurl?{}%3B", path(0));
    assert_eq!(a.get(&gw, "recordplay", &half).await.body, file_name_invalid());

    // queryrecordscore: ccgw scores nothing; parameters still checked.
    assert_eq!(a.get(&gw, "recordplay", "queryrecordscore?workno=101").await.body, none);
    assert_eq!(a.get(&gw, "recordplay", "queryrecordscore?workno=601").await.body, other_vdn);
    assert_eq!(a.get(&gw, "recordplay", "queryrecordscore?recordstartdate=2020").await.body, param_invalid());

    // Another VDN sees none of them.
    let z = gw.sign_in(601).await;
    assert_eq!(z.get(&gw, "recordplay", "recordfile").await.body, none);
    assert_eq!(z.get(&gw, "recordplay", &by_call("")).await.body, none);
    assert_eq!(z.get(&gw, "recordplay", &by_id).await.body, file_missing());
    assert_eq!(z.get(&gw, "recordplay", &format!("recordfileurl?{}", path(0))).await.body, file_missing());
    assert_eq!(z.get(&gw, "recordplay", "recordfile?workno=101").await.body, other_vdn);

    let r = gw.request(Method::GET, &format!("{PREFIX}/recordplay/104/recordfile"), Some("x"), None).await;
    assert_eq!(r.body, not_signed_in());
    gw.stop().await;
}

fn short_play(c: &mut Config) {
    fast(c);
    c.recording.play_length_ms = 400;
}

#[tokio::test]
async fn playback_to_the_agents_phone() {
    let gw = start().await;
    let r = gw
        .request(Method::PUT, &format!("{PREFIX}/recordplay/101/play"), Some("x"), Some(json!({"voicepath":"a"})))
        .await;
    assert_eq!(r.body, not_signed_in());
    let a = ready(&gw, 101).await;
    for (suffix, m) in [
        ("pauseplay", Method::POST),
        ("resumeplay", Method::POST),
        ("forefast/5", Method::POST),
        ("backfast/5", Method::POST),
        ("stopplay", Method::DELETE),
    ] {
        assert_eq!(a.call(&gw, m, &a.path("recordplay", suffix), None).await.body, no_playback(), "{suffix}");
    }
    // The body: `voicepath` 1–100 characters; `startpostion` within the file (60 s by default).
    let body_invalid = err("000-006", "message body parameter error");
    for (body, expected) in [
        (json!({}), body_invalid.clone()),
        (json!({"voicepath": true}), body_invalid.clone()),
        (json!({"voicepath": ""}), param_invalid()),
        (json!({"voicepath": "x".repeat(101)}), param_invalid()),
        (json!({"voicepath": "a", "volumechange": "123456"}), param_invalid()),
        (json!({"voicepath": "a", "startpostion": 60}), param_invalid()),
        (json!({"voicepath": "a", "startpostion": "soon"}), param_invalid()),
    ] {
        assert_eq!(a.put(&gw, "recordplay", "play", Some(body.clone())).await.body, expected, "{body}");
    }
    assert!(a.drain(&gw).await.is_empty(), "a refused request changes nothing");

    let play =
        json!({"voicepath": "Y:/1/0/20161025/101/1902050.V3", "startpostion": "5", "volumechange": "50", "times": 1});
    assert_eq!(a.put(&gw, "recordplay", "play", Some(play.clone())).await.body, ok());
    let evs = expect(&gw, &a, &["AgentMediaEvent_Play_Succ", "AgentMediaEvent_Play"]).await;
    assert!(evs.iter().all(|e| e["content"].is_null()), "{evs:?}");
    assert_eq!(
        a.put(&gw, "recordplay", "play", Some(play.clone())).await.body,
        err("500-005", "a playback is already in progress")
    );
    // Playing ⇄ paused; moving within the file either way.
    assert_eq!(a.post(&gw, "recordplay", "resumeplay", None).await.body, err("500-008", "the playback is not paused"));
    assert_eq!(a.post(&gw, "recordplay", "pauseplay", None).await.body, ok());
    expect(&gw, &a, &["AgentMediaEvent_PausePlayDone"]).await;
    assert_eq!(
        a.post(&gw, "recordplay", "pauseplay", None).await.body,
        err("500-007", "the playback is already paused")
    );
    for bad in ["forefast/0", "forefast/abc", "forefast/86401", "backfast/-1", "backfast/1.5"] {
        assert_eq!(a.post(&gw, "recordplay", bad, None).await.body, param_invalid(), "{bad}");
    }
    assert_eq!(a.post(&gw, "recordplay", "forefast/10", None).await.body, ok());
    expect(&gw, &a, &["AgentMediaEvent_JumpPlayDone"]).await;
    assert_eq!(a.post(&gw, "recordplay", "backfast/100", None).await.body, ok());
    expect(&gw, &a, &["AgentMediaEvent_JumpPlayDone"]).await;
    assert_eq!(a.post(&gw, "recordplay", "resumeplay", None).await.body, ok());
    expect(&gw, &a, &["AgentMediaEvent_ResumePlayDone"]).await;

    // A playing agent is not offered calls; once the playback stops, it is.
    let call = gw.inject_call(CUSTOMER, ACCESS, "").await;
    assert!(a.drain(&gw).await.is_empty(), "no offer while playing");
    assert_eq!(a.delete(&gw, "recordplay", "stopplay").await.body, ok());
    let mut types = vec!["AgentMediaEvent_StopPlayDone"];
    types.extend(OFFERED);
    let evs = expect(&gw, &a, &types).await;
    assert_eq!(evs[4]["content"]["callid"], json!(call));
    assert_eq!(a.delete(&gw, "recordplay", "stopplay").await.body, no_playback());
    // No playback while in a call.
    assert_eq!(a.put(&gw, "voicecall", "answer", None).await.body, ok());
    expect(&gw, &a, &["AgentEvent_Talking"]).await;
    assert_eq!(
        a.put(&gw, "recordplay", "play", Some(play)).await.body,
        err("500-010", "the agent is in a call and cannot play a file")
    );
    let r = a.post(&gw, "recordplay", "play", Some(json!({"voicepath":"a"}))).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    gw.stop().await;
}

#[tokio::test]
async fn playback_ends_with_the_file_or_a_call() {
    let gw = Gateway::start_with(short_play).await;
    let a = ready(&gw, 101).await;
    // `[recording] play_length_ms` (400 ms here): the playback ends by itself.
    assert_eq!(a.put(&gw, "recordplay", "play", Some(json!({"voicepath":"a.V3"}))).await.body, ok());
    expect(&gw, &a, &["AgentMediaEvent_Play_Succ", "AgentMediaEvent_Play", "AgentMediaEvent_StopPlayDone"]).await;
    assert_eq!(a.delete(&gw, "recordplay", "stopplay").await.body, no_playback());
    // Fast-forward to the end ends it too.
    assert_eq!(a.put(&gw, "recordplay", "play", Some(json!({"voicepath":"a.V3"}))).await.body, ok());
    assert_eq!(a.post(&gw, "recordplay", "pauseplay", None).await.body, ok());
    assert_eq!(a.post(&gw, "recordplay", "forefast/60", None).await.body, ok());
    assert_eq!(a.post(&gw, "recordplay", "resumeplay", None).await.body, ok());
    expect(
        &gw,
        &a,
        &[
            "AgentMediaEvent_Play_Succ",
            "AgentMediaEvent_Play",
            "AgentMediaEvent_PausePlayDone",
            "AgentMediaEvent_JumpPlayDone",
            "AgentMediaEvent_ResumePlayDone",
            "AgentMediaEvent_StopPlayDone",
        ],
    )
    .await;
    // A call of the agent's own ends it.
    assert_eq!(a.put(&gw, "recordplay", "play", Some(json!({"voicepath":"a.V3"}))).await.body, ok());
    expect(&gw, &a, &["AgentMediaEvent_Play_Succ", "AgentMediaEvent_Play"]).await;
    assert_eq!(a.put(&gw, "voicecall", "callout", Some(json!({"called":"13900000002"}))).await.retcode(), "0");
    let evs = a.poll_until(&gw, "AgentOther_PhoneAlerting").await;
    assert_eq!(Agent::types(&evs), ["AgentMediaEvent_StopPlayDone", "AgentOther_PhoneAlerting"]);
    assert_eq!(a.delete(&gw, "recordplay", "stopplay").await.body, no_playback());
    gw.stop().await;
}

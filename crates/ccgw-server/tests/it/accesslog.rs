//! The access log over the real TLS listener: exactly one line per request, with the vendor's
//! log name, agent, retcode, status, latency and peer, and never a GUID or password.

use reqwest::Method;
use serde_json::Value;

use crate::common::{Gateway, PREFIX};

#[tokio::test]
async fn every_request_writes_exactly_one_line_with_its_fields() {
    let path = std::env::temp_dir().join(format!("ccgw-it-access-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let log = path.to_str().unwrap().to_owned();
    let gw = Gateway::start_with(|c| c.log.access_log = log).await;
    let agent = gw.sign_in(101).await;
    let guid = agent.guid.lock().unwrap().clone();
    const N: usize = 300;
    let mut expected: Vec<(&str, &str, Option<u32>, &str, u64)> = vec![("login", "PUT", Some(101), "0", 200)];
    for i in 0..N {
        let want = match i % 3 {
            0 => {
                let r =
                    gw.request(Method::GET, &format!("{PREFIX}/onlineagent/101/agentstatus"), Some(&guid), None).await;
                assert_eq!(r.retcode(), "0");
                ("getAgentStatus", "GET", Some(101), "0", 200)
            }
            1 => {
                let r = gw
                    .request(Method::GET, &format!("{PREFIX}/calldata/101/allcallinfoEx/101"), Some("wrong"), None)
                    .await;
                assert_eq!(r.retcode(), "100-006");
                ("queryAllCallInfoByAgentWorkNoEx", "GET", Some(101), "100-006", 200)
            }
            _ => {
                let r = gw.request(Method::GET, &format!("{PREFIX}/nothing/here"), None, None).await;
                assert_eq!(r.status.as_u16(), 404);
                ("notFound", "GET", None, "404", 404)
            }
        };
        expected.push(want);
    }
    // The dropped-lines counter is on /metrics (nothing dropped here: the disk keeps up).
    let metrics = gw.client.get(format!("{}/metrics", gw.admin)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("ccgw_access_log_dropped_lines_total"), "{metrics}");
    gw.stop().await; // writes the last lines

    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!text.contains(&guid), "a GUID in the access log");
    assert!(!text.contains("ccgw-demo"), "a password in the access log");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), N + 1, "one line per request");
    // Lines of different worker threads come in batches: compare as multisets.
    let mut got: Vec<(String, String, Option<u64>, String, u64)> = lines
        .iter()
        .map(|l| {
            assert_eq!(l["level"], "INFO");
            assert!(l["timestamp"].as_str().is_some_and(|t| t.len() == 27 && t.ends_with('Z')), "{l}");
            assert!(l["latency_us"].is_u64(), "{l}");
            assert!(l["peer"].as_str().is_some_and(|p| p.starts_with("127.0.0.1:")), "{l}");
            (
                l["method"].as_str().unwrap().to_owned(),
                l["http_method"].as_str().unwrap().to_owned(),
                l["agent"].as_u64(),
                l["retcode"].as_str().unwrap().to_owned(),
                l["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut want: Vec<(String, String, Option<u64>, String, u64)> = expected
        .into_iter()
        .map(|(m, h, a, r, s)| (m.to_owned(), h.to_owned(), a.map(u64::from), r.to_owned(), s))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

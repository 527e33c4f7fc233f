//! Issue 7 §4: a burst of sign-ins must not leave the process holding argon2's memory. Every
//! verification of a default-cost hash needs 19 MiB; allocated per verification, glibc kept the
//! freed blocks in its per-thread arenas (hundreds of MiB after a burst). This test is its own
//! binary so that the process's resident memory is this test's alone.

use std::time::{Duration, Instant};

use ccgw_server::Config;

/// `VmRSS` of this process, KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_returns_after_a_burst_of_sign_ins() {
    const AGENTS: u32 = 300;
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.data_dir = std::env::temp_dir().join(format!("ccgw-memory-test-{}", std::process::id()));
    config.admin.listen = None;
    config.log.access_log = "off".into();
    // A burst of concurrent sign-ins from one address: no per-source connection cap.
    config.server.max_connections_per_source = 0;
    let server = ccgw_server::start(config).await.unwrap();
    let gateway = server.gateway.clone();
    let pem = std::fs::read(gateway.config.server.data_dir.join("ccgw-cert.pem")).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let url = |id: u32| format!("https://127.0.0.1:{}/agentgateway/resource/onlineagent/{id}", server.api_addr.port());

    // Warm up (TLS, first sign-in), then the baseline.
    let body = serde_json::json!({"password": "ccgw-demo"}).to_string();
    let r = client.put(url(AGENTS + 101)).body(body.clone()).send().await.unwrap().text().await.unwrap();
    assert!(r.contains("\"retcode\":\"0\""), "{r}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = rss_kib();

    // The burst: every agent at once (two verifications at a time, the default).
    let mut tasks = tokio::task::JoinSet::new();
    for id in 101..101 + AGENTS {
        let (client, url, body) = (client.clone(), url(id), body.clone());
        tasks.spawn(async move { client.put(url).body(body).send().await.unwrap().text().await.unwrap() });
    }
    let mut peak = before;
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        assert!(r.contains("\"retcode\":\"0\""), "{r}");
        peak = peak.max(rss_kib());
        assert!(gateway.credentials.pooled() <= 2, "more argon2 buffers than verification slots");
    }

    // Once no sign-in has run for a second, the pooled buffers are released.
    let deadline = Instant::now() + Duration::from_secs(10);
    while gateway.credentials.pooled() > 0 {
        assert!(Instant::now() < deadline, "pooled argon2 memory never released");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The client lives in this process too: its pool of 300 keep-alive TLS connections (and the
    // gateway's side of them) is not argon2's memory, so close them before measuring.
    drop(client);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after = rss_kib();
    eprintln!("VmRSS: {before} KiB before, {peak} KiB at the peak, {after} KiB after {AGENTS} sign-ins");
    // Two verification slots of 19 MiB each at most during the burst, and nothing kept after it
    // (allowance for the sessions, the connections and allocator noise).
    assert!(peak < before + 80 * 1024, "peak {peak} KiB, from {before} KiB");
    assert!(after < before + 24 * 1024, "after the burst {after} KiB, from {before} KiB");
    server.shut_down().await;
}

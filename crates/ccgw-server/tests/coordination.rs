//! Cluster coordination (issue 9, `cluster.rs`, `limiter.rs`) against a real redis-server started
//! by each test (free loopback port, its own temp dir). Without the binary the tests skip with a
//! printed reason, unless `REQUIRE_REDIS=1` (CI), where they fail.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ccgw_domain::{AgentId, CallId, InitialState, SignInOptions, TelephonyCommand, VdnId};
use ccgw_server::cluster::{self, Cluster};
use ccgw_server::config::{ClusterConfig, Config};
use ccgw_server::gateway::{DEMO_PASSWORD, Gateway, SignInParams, now_ms, provision};
use ccgw_server::limiter::{CalldataLimiter, REDIS_BACKOFF, REDIS_BUDGET};
use ccgw_server::telephony::SimulatedTelephony;

const VDN: VdnId = VdnId(1);
const TIMING: ClusterConfig = ClusterConfig { lease_ms: 600, renew_ms: 200, seen_publish_ms: 100 };

struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Redis {
    /// A redis-server on a free port, or `None` (printed) when the binary is missing.
    fn start() -> Option<Redis> {
        Self::start_on(free_port())
    }

    fn start_on(port: u16) -> Option<Redis> {
        if Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_err() {
            assert!(
                std::env::var("REQUIRE_REDIS").as_deref() != Ok("1"),
                "redis-server is missing and REQUIRE_REDIS=1"
            );
            eprintln!("SKIPPED: redis-server is not installed (apt-get install redis-server)");
            return None;
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ccgw-coordination-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("spawning redis-server");
        let redis = Redis { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis::Client::open(redis.url()).and_then(|c| c.get_connection()).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn command(&self, args: &[&str]) {
        let mut conn = redis::Client::open(self.url()).unwrap().get_connection().unwrap();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query::<()>(&mut conn).unwrap();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn node(name: &str, redis: &Redis) -> Arc<Cluster> {
    let (directory, _) = provision(&Config::default()).unwrap();
    Cluster::new(name, &redis.url(), TIMING, &directory).unwrap()
}

/// Wait (up to `within`) until `f` holds; returns how long it took.
async fn until(within: Duration, f: impl Fn() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if f() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

/// Samples both nodes for `d`: never do both hold the VDN.
async fn never_both(a: &Cluster, b: &Cluster, d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        assert!(!(a.holds(VDN) && b.holds(VDN)), "two holders of VDN 1");
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}

fn take_over_bound() -> Duration {
    // lease_ms + renew_ms, plus scheduling slack on a shared 2-CPU box.
    Duration::from_millis(TIMING.lease_ms + TIMING.renew_ms + 250)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_node_holds_and_the_other_takes_over_when_the_holder_stops_renewing() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (node("node-a", &redis), node("node-b", &redis));
    a.start();
    b.start();
    until(Duration::from_secs(2), || a.holds(VDN) || b.holds(VDN)).await.expect("nobody took the lease");
    never_both(&a, &b, Duration::from_millis(1500)).await;
    let (holder, other) = if a.holds(VDN) { (a, b) } else { (b, a) };
    assert!(holder.holds(VdnId(2)) || other.holds(VdnId(2)), "VDN 2 has a holder too");
    // The holder dies (its tasks stop, nothing released).
    holder.stop();
    let took = until(take_over_bound(), || other.holds(VDN)).await;
    // The dead node stopped believing before the lease could move.
    assert!(!holder.holds(VDN), "the stopped holder still counts itself holding when the other took over");
    let took = took.expect("the other node did not take the lease within lease_ms + renew_ms");
    eprintln!("take-over after the holder stopped: {took:?}");
    other.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_release_hands_the_lease_over_at_the_next_renewal() {
    let Some(redis) = Redis::start() else { return };
    let a = node("node-a", &redis);
    a.start();
    until(Duration::from_secs(2), || a.holds(VDN)).await.expect("a alone did not take the lease");
    let b = node("node-b", &redis);
    b.start();
    never_both(&a, &b, Duration::from_millis(700)).await;
    assert!(a.holds(VDN) && !b.holds(VDN), "the first holder keeps renewing");
    a.release().await;
    assert!(!a.holds(VDN));
    let took = until(Duration::from_millis(TIMING.renew_ms + 250), || b.holds(VDN)).await;
    took.expect("b did not take the released lease within renew_ms");
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_stops_the_holder_in_time_and_a_holder_returns_after() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (node("node-a", &redis), node("node-b", &redis));
    a.start();
    b.start();
    until(Duration::from_secs(2), || a.holds(VDN) || b.holds(VDN)).await.expect("nobody took the lease");
    // Nobody can renew for 2 s.
    let paused = Instant::now();
    redis.command(&["CLIENT", "PAUSE", "2000", "ALL"]);
    let lost = until(Duration::from_millis(TIMING.lease_ms + 100), || !a.holds(VDN) && !b.holds(VDN)).await;
    let lost = lost.expect("a node still counts itself holding after lease_ms without reaching Redis");
    eprintln!("the holder stopped holding {lost:?} after the pause began");
    let back = until(Duration::from_secs(4), || a.holds(VDN) || b.holds(VDN)).await;
    back.expect("no node holds the VDN again after Redis came back");
    assert!(paused.elapsed() >= Duration::from_millis(1900), "a lease was taken while Redis was paused");
    never_both(&a, &b, Duration::from_millis(600)).await;
    a.stop();
    b.stop();
}

fn dial(n: u64) -> TelephonyCommand {
    TelephonyCommand::Dial { call: CallId { secs: 1, seq: n }, number: format!("800{n}") }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telephony_runs_on_the_holder_once_and_a_new_holder_reissues_what_the_old_did_not() {
    let Some(redis) = Redis::start() else { return };
    let a = node("node-a", &redis);
    a.start();
    until(Duration::from_secs(2), || a.holds(VDN)).await.expect("a did not take the lease");
    let b = node("node-b", &redis);
    b.start();
    let (mut on_a, mut on_b) = (Vec::new(), Vec::new());
    // Every node applies every entry; only the holder executes.
    for seq in 1..=3 {
        a.execute_applied(VDN, seq, &[dial(seq)], |c| on_a.push(c));
        b.execute_applied(VDN, seq, &[dial(seq)], |c| on_b.push(c));
    }
    assert_eq!(on_a, vec![dial(1), dial(2), dial(3)]);
    assert!(on_b.is_empty(), "a non-holder executed telephony: {on_b:?}");
    // The stamp reaches Redis with a's next renewal.
    tokio::time::sleep(Duration::from_millis(TIMING.renew_ms * 2)).await;
    let mut conn = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let stamp: String = redis::cmd("GET").arg(cluster::tel_key(VDN)).query_async(&mut conn).await.unwrap();
    assert_eq!(stamp, "3");
    // a dies; entries 4 and 5 are applied meanwhile (b buffers them), and 3 again (a replay).
    a.stop();
    for seq in [3, 4, 5] {
        b.execute_applied(VDN, seq, &[dial(seq)], |c| on_b.push(c));
    }
    assert!(on_b.is_empty());
    until(take_over_bound(), || b.holds(VDN)).await.expect("b did not take over");
    // The tick's re-issue: 4 and 5, once; then new entries directly.
    b.reissue(VDN, |c| on_b.push(c));
    b.reissue(VDN, |c| on_b.push(c));
    b.execute_applied(VDN, 6, &[dial(6)], |c| on_b.push(c));
    b.execute_applied(VDN, 5, &[dial(5)], |c| on_b.push(c));
    assert_eq!(on_b, vec![dial(4), dial(5), dial(6)]);
    assert_eq!(b.executed(VDN), 6);
    b.stop();
}

fn heartbeat_gateway(timeout_ms: u64) -> Gateway {
    let mut config = Config::default();
    config.auth.heartbeat_timeout_ms = timeout_ms;
    config.auth.poll_wait_ms = 100;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let telephony = Box::new(SimulatedTelephony::new(config.telephony.clone(), tx));
    Gateway::in_memory(Arc::new(config), telephony).unwrap()
}

fn signed_in(gw: &Gateway, agent: AgentId) -> bool {
    gw.read(VDN, |s| s.session(agent).is_ok()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_heard_on_node_b_keep_the_agent_signed_in_on_the_holder_a() {
    let Some(redis) = Redis::start() else { return };
    const TIMEOUT: u64 = 1000;
    let a = node("node-a", &redis);
    a.start();
    until(Duration::from_secs(2), || a.holds(VDN)).await.expect("a did not take the lease");
    let b = node("node-b", &redis);
    b.start();
    let conn = cluster::connect(&redis.url(), Duration::from_millis(200)).unwrap();
    let gw = Arc::new(heartbeat_gateway(TIMEOUT).with_cluster(a.clone(), conn));
    let agent = AgentId(101);
    let options = SignInOptions {
        phone: "7101".into(),
        auto_answer: false,
        auto_enter_idle: true,
        release_phone: true,
        initial: InitialState::Idle,
    };
    let params = SignInParams { password: DEMO_PASSWORD.into(), options, force: false, source: None, push: None };
    gw.sign_in(agent, params).await.expect("sign-in");
    // The agent's requests now reach node b only, for twice the heartbeat timeout.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2 * TIMEOUT) {
        b.touched(agent, now_ms());
        gw.tick();
        assert!(signed_in(&gw, agent), "expired on a although b heard it at most 50 ms ago");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(a.published_seen(agent) >= now_ms() - 500, "a read b's stamps");
    assert_eq!(b.published_seen(agent), 0, "a non-holder does not read the stamps");
    // Silence everywhere: the holder expires it after the timeout.
    let expired = until(Duration::from_millis(TIMEOUT + 1000), || {
        gw.tick();
        !signed_in(&gw, agent)
    })
    .await;
    expired.expect("the agent was not expired once no node heard it");
    a.stop();
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_does_not_hold_the_vdn_expires_nobody() {
    let Some(redis) = Redis::start() else { return };
    let a = node("node-a", &redis);
    a.start();
    until(Duration::from_secs(2), || a.holds(VDN)).await.expect("a did not take the lease");
    let b = node("node-b", &redis);
    b.start();
    let conn = cluster::connect(&redis.url(), Duration::from_millis(200)).unwrap();
    // The gateway runs on b, which never holds VDN 1 while a renews.
    let gw = Arc::new(heartbeat_gateway(300).with_cluster(b.clone(), conn));
    let options = SignInOptions {
        phone: "7102".into(),
        auto_answer: false,
        auto_enter_idle: true,
        release_phone: true,
        initial: InitialState::Idle,
    };
    let params = SignInParams { password: DEMO_PASSWORD.into(), options, force: false, source: None, push: None };
    gw.sign_in(AgentId(102), params).await.expect("sign-in");
    for _ in 0..20 {
        gw.tick();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(signed_in(&gw, AgentId(102)), "a non-holder expired an agent");
    // b takes over when a dies: its deferred timer fires then.
    a.stop();
    until(take_over_bound(), || b.holds(VDN)).await.expect("b did not take over");
    let expired = until(Duration::from_millis(1500), || {
        gw.tick();
        !signed_in(&gw, AgentId(102))
    })
    .await;
    expired.expect("the new holder did not expire the silent agent");
    b.stop();
}

fn limiter(redis_url: &str) -> CalldataLimiter {
    let conn = cluster::connect(redis_url, Duration::from_millis(200)).unwrap();
    CalldataLimiter::new([AgentId(101), AgentId(102)], 5, 0, 60_000).with_redis(conn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_agent_limit_holds_across_two_nodes() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (limiter(&redis.url()), limiter(&redis.url()));
    let now = 1_800_000_030_000; // mid-window
    let mut admitted = Vec::new();
    for i in 0..8 {
        let node = if i % 2 == 0 { &a } else { &b };
        let admit = node.admit(AgentId(101), VDN, now);
        assert!(admit.now().is_none(), "cluster mode asks Redis");
        admitted.push(admit.await);
    }
    assert_eq!(admitted, [true, true, true, true, true, false, false, false]);
    assert!(a.admit(AgentId(102), VDN, now).await, "another agent has its own count");
    assert!(a.admit(AgentId(101), VDN, now + 60_000).await, "a new window starts afresh");
    // Memory mode: ready at once, counted locally.
    let local = CalldataLimiter::new([AgentId(101)], 1, 0, 60_000);
    assert_eq!(local.admit(AgentId(101), VDN, now).now(), Some(true));
    assert_eq!(local.admit(AgentId(101), VDN, now).now(), Some(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_fails_open_in_bounded_time_and_counting_resumes_when_it_returns() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    // Skip (or fail under REQUIRE_REDIS=1) before anything when the binary is missing.
    let Some(probe) = Redis::start() else { return };
    drop(probe);
    let (a, b) = (limiter(&url), limiter(&url));
    let now = now_ms();
    let start = Instant::now();
    for _ in 0..3 {
        assert!(a.admit(AgentId(101), VDN, now).await, "fail open while Redis is away");
    }
    let took = start.elapsed();
    assert!(took < REDIS_BUDGET * 2, "three requests took {took:?} with Redis away");
    // Within the back-off the answer is local and immediate.
    assert_eq!(a.admit(AgentId(102), VDN, now).now(), Some(true));
    // The local limit still holds: 5 per node.
    assert!(a.admit(AgentId(101), VDN, now).await && a.admit(AgentId(101), VDN, now).await);
    assert_eq!(a.admit(AgentId(101), VDN, now).now(), Some(false), "local fast path");
    // Redis returns; after the back-off both nodes count in it again.
    let _redis = Redis::start_on(port).expect("redis-server again");
    tokio::time::sleep(REDIS_BACKOFF + Duration::from_millis(100)).await;
    let now = now_ms();
    let counted: Vec<bool> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(b.admit(AgentId(102), VDN, now).await);
        }
        v.push(a.admit(AgentId(102), VDN, now).await);
        v.push(a.admit(AgentId(102), VDN, now).await);
        v
    };
    // a's first count for 102 in this window fell in the outage (local only): Redis sees b's 4 + a's.
    assert_eq!(counted, [true, true, true, true, true, false]);
}

//! `RedisStore` on a real redis-server (started here on a free port; skipped with a printed
//! reason when the binary is missing, unless `REQUIRE_REDIS=1`).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ccgw_domain::{AgentId, AgentProfile, Directory, DomainError, InitialState, Policy, SignInOptions, VdnId, cmd};
use ccgw_store::{RedisConfig, RedisStore, Store};

const VDN: VdnId = VdnId(1);

struct Redis {
    child: Child,
    port: u16,
    _dir: std::path::PathBuf,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis() -> Option<Redis> {
    let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let dir = std::env::temp_dir().join(format!("ccgw-redis-{port}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(std::env::var("REQUIRE_REDIS").as_deref() != Ok("1"), "redis-server is required: {e}");
            eprintln!("skipped: redis-server not found ({e})");
            return None;
        }
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Redis { child, port, _dir: dir })
}

fn directory() -> Directory {
    let mut d = Directory::default();
    d.vdns.insert(VDN, "one".into());
    for id in [101, 102] {
        d.agents.insert(
            AgentId(id),
            Arc::new(AgentProfile {
                id: AgentId(id),
                vdn: VDN,
                name: format!("a{id}"),
                skills: vec![],
                phone: format!("8{id}"),
                rights: Default::default(),
                attributes: Vec::new(),
                group: None,
                supervises: None,
            }),
        );
    }
    d
}

async fn store(r: &Redis, node: &str) -> RedisStore {
    let config = RedisConfig {
        url: format!("redis://127.0.0.1:{}", r.port),
        node_name: node.into(),
        timeout: Duration::from_millis(1000),
        snapshot_every: 4,
        feed_capacity: 0,
    };
    RedisStore::connect(&directory(), Policy::default(), 1000, config, Arc::new(|_, _, _| {})).await.unwrap()
}

fn sign_in(agent: u32) -> cmd::SignIn {
    let options = SignInOptions {
        phone: String::new(),
        auto_answer: false,
        auto_enter_idle: true,
        release_phone: true,
        initial: InitialState::Idle,
    };
    cmd::SignIn { agent: AgentId(agent), options, guid: format!("g{agent}"), force: false }
}

fn signed_in(s: &RedisStore, agent: u32) -> bool {
    s.read(VDN, |st| st.session(AgentId(agent)).is_ok()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_state_survive_a_restart_and_time_out_without_redis() {
    let Some(mut r) = redis() else { return };
    let a = store(&r, "a").await;
    let b = store(&r, "b").await;
    a.submit(VDN, 1_000, sign_in(101)).await.unwrap();
    // The proposer answers once its own replica applied the entry: it reads its write.
    assert!(signed_in(&a, 101));
    // A write on b is ordered after a's and both replicas agree.
    let second = b.submit(VDN, 1_001, sign_in(101)).await;
    assert_eq!(second.err(), Some(DomainError::AlreadySignedIn));
    b.submit(VDN, 1_002, sign_in(102)).await.unwrap();
    for _ in 0..10 {
        a.submit(VDN, 2_000, cmd::SayBusy { agent: AgentId(101), reason: 0, prolong: true }).await.ok();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(a.applied(VDN), b.applied(VDN));
    assert_eq!(a.snapshot(VDN), b.snapshot(VDN));
    assert!(signed_in(&b, 101) && signed_in(&a, 102));
    let at = a.snapshot(VDN).unwrap();
    // Full restart: both nodes go, a new one loads the snapshot plus the tail (the stream was
    // trimmed every 4 entries).
    drop((a, b));
    let c = store(&r, "c").await;
    assert_eq!(c.snapshot(VDN), Some(at));
    assert!(signed_in(&c, 101) && signed_in(&c, 102));
    // Redis gone: a write answers StoreUnavailable within the time-out, no hang.
    let _ = r.child.kill();
    let _ = r.child.wait();
    let started = std::time::Instant::now();
    let res = c.submit(VDN, 3_000, cmd::SayBusy { agent: AgentId(102), reason: 0, prolong: true }).await;
    assert_eq!(res.err(), Some(DomainError::StoreUnavailable));
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
    // Reads still answer from the local replica.
    assert!(signed_in(&c, 101));
}

//! The cluster as processes: a private `redis-server`, N `ccgw serve` nodes and `haproxy`
//! round-robin in front of them, each on free loopback ports with its own files in one temporary
//! directory. Used by `ccgw bench --scenario cluster` and by the cluster tests
//! (`crates/ccgw/tests/cluster.rs`), so that what the bench measures and what the tests prove is
//! one set-up, and the same one docs/cluster.md walks a newcomer through.
//!
//! The load balancer passes TLS through (`mode tcp`): every node serves the same certificate
//! (generated here once with `openssl req`, as docs/cluster.md does), so a desktop that pins it
//! sees one gateway, and the gateway keeps end-to-end TLS to the desktop. HAProxy checks each
//! node's admin `/health` and, with `option redispatch`, sends a connection that a dead node
//! refuses to another node.
//!
//! Everything started here is stopped when its handle is dropped (SIGKILL, then wait), so a
//! failing test leaves no process behind.

use std::fmt::Write as _;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::provision::TempDir;

/// The environment switch that turns a missing redis-server/haproxy from a skip into a failure
/// (CI sets it; not a `CCGW_*` name: `ccgw serve` takes those as configuration overrides).
pub const REQUIRE_ENV: &str = "REQUIRE_REDIS";

/// The operator token of every node the harness starts.
pub const ADMIN_TOKEN: &str = "cluster-harness-operator-token";

/// How long a node, Redis or HAProxy may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a stopped process may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Finds `name` on `PATH`, or in `/usr/sbin` and `/sbin` (where Debian installs haproxy, often
/// not on a user's `PATH`).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The external programs a cluster needs.
#[derive(Debug, Clone)]
pub struct Tools {
    pub redis_server: Option<PathBuf>,
    pub haproxy: Option<PathBuf>,
    pub openssl: PathBuf,
}

impl Tools {
    /// Looks the programs up; an error names what is missing. `redis`/`haproxy`: whether they
    /// are needed (openssl always is: it makes the nodes' shared certificate).
    pub fn find(redis: bool, haproxy: bool) -> anyhow::Result<Tools> {
        let mut missing = Vec::new();
        let mut need = |name: &str, wanted: bool| {
            if !wanted {
                return None;
            }
            let found = find_program(name);
            if found.is_none() {
                missing.push(name.to_owned());
            }
            found
        };
        let redis_server = need("redis-server", redis);
        let haproxy = need("haproxy", haproxy);
        let openssl = need("openssl", true);
        if !missing.is_empty() {
            bail!("{} not installed (Debian: apt-get install redis-server haproxy openssl)", missing.join(" and "));
        }
        Ok(Tools { redis_server, haproxy, openssl: openssl.expect("checked above") })
    }

    /// For tests: the tools, or `None` after printing why the test is skipped; with
    /// `REQUIRE_REDIS=1` a missing tool panics instead.
    pub fn for_test(test: &str, redis: bool, haproxy: bool) -> Option<Tools> {
        match Tools::find(redis, haproxy) {
            Ok(tools) => Some(tools),
            Err(error) if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") => {
                panic!("{test}: {error:#} and {REQUIRE_ENV}=1")
            }
            Err(error) => {
                eprintln!("skipping {test}: {error:#} (set {REQUIRE_ENV}=1 to fail instead)");
                None
            }
        }
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Sends SIGTERM and waits up to [`STOP_TIMEOUT`]; SIGKILL after that. `false` when the process
/// had to be killed.
fn terminate(child: &mut Child) -> bool {
    #[cfg(unix)]
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32)
        && rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok()
    {
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// SIGKILL (`kill -9`) and reap.
fn kill9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The last lines of a log file, for error messages.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// One HTTP/1.1 GET over plain TCP; the status code (for `/health`, Redis-free and cheap).
async fn http_status(port: u16, path: &str) -> anyhow::Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut head)).await??;
    let text = std::str::from_utf8(&head[..n]).unwrap_or_default();
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .context("not an HTTP answer")
}

// ----- Redis ---------------------------------------------------------------------------------

/// A private `redis-server`: its own port and directory, no RDB snapshots, the AOF on
/// (`appendfsync everysec`, Redis' default: see docs/cluster.md for the trade-off).
pub struct Redis {
    program: PathBuf,
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    /// Starts `redis-server` in `dir` (created) on a free port and waits for `PING`.
    pub async fn start(program: &Path, dir: &Path) -> anyhow::Result<Redis> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut redis = Redis { program: program.to_owned(), port: free_port()?, dir: dir.to_owned(), child: None };
        redis.spawn().await?;
        Ok(redis)
    }

    /// The arguments docs/cluster.md gives too.
    pub fn args(&self) -> Vec<String> {
        [
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &self.dir.display().to_string(),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--daemonize",
            "no",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let log = File::create(self.dir.join("redis.log"))?;
        let child = Command::new(&self.program)
            .args(self.args())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))?;
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Some(child) = &mut self.child
                && let Some(status) = child.try_wait()?
            {
                bail!("redis-server exited at start ({status}):\n{}", tail(&self.dir.join("redis.log"), 20));
            }
            if self.command(&["PING"]).await.is_ok_and(|answer| answer == "+PONG") {
                return Ok(());
            }
            ensure!(started.elapsed() < START_TIMEOUT, "redis-server did not answer PING on port {}", self.port);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `redis://127.0.0.1:<port>`, for `[store] url`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// One command in RESP; the first line of the answer (`+PONG`, `$3`, `:1`, …) and, for a
    /// bulk string, its value on the same line after a space.
    pub async fn command(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            let _ = write!(request, "${}\r\n{arg}\r\n", arg.len());
        }
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let n = tokio::time::timeout_at(deadline, stream.read(&mut buf)).await??;
            ensure!(n > 0, "redis closed the connection");
            answer.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&answer);
            let Some((first, rest)) = text.split_once("\r\n") else { continue };
            if let Some(len) = first.strip_prefix('$').and_then(|l| l.parse::<usize>().ok()) {
                if rest.len() < len + 2 {
                    continue;
                }
                return Ok(format!("{first} {}", &rest[..len]));
            }
            return Ok(first.to_owned());
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGTERM: Redis writes and syncs its AOF and exits.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
    }

    /// `kill -9`: what `appendfsync everysec` has not synced yet (up to a second) is lost.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill9(&mut child);
        }
    }

    /// Starts again on the same port and directory (loading the AOF).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.spawn().await
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill9();
    }
}

// ----- TLS -------------------------------------------------------------------------------------

/// The certificate and key all nodes serve (TLS passes through the load balancer).
#[derive(Debug, Clone)]
pub struct SharedTls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl SharedTls {
    /// `openssl req -x509`: a self-signed P-256 certificate for localhost and 127.0.0.1 (the
    /// command docs/cluster.md gives).
    pub fn generate(openssl: &Path, dir: &Path) -> anyhow::Result<SharedTls> {
        std::fs::create_dir_all(dir)?;
        let tls = SharedTls { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
        let output = Command::new(openssl)
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .args(["-days", "825", "-subj", "/CN=ccgw", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            // An end-entity certificate, not a CA (webpki refuses a CA as a server's certificate).
            .args(["-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth"])
            .arg("-keyout")
            .arg(&tls.key)
            .arg("-out")
            .arg(&tls.cert)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", openssl.display()))?;
        ensure!(
            output.status.success(),
            "openssl req failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(tls)
    }
}

// ----- ccgw serve ------------------------------------------------------------------------------

/// Where a node keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `[store] backend = "memory"`: each node alone (for developing the harness and the bench
    /// before the Redis backend exists; state is not shared).
    Memory,
    /// `[store] backend = "redis"`, `url`.
    Redis(String),
}

/// What differs between nodes of one cluster, and what the caller adds.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// `[server] node_name` (the GUIDs' suffix).
    pub name: String,
    pub backend: Backend,
    /// TOML appended inside the generated file after `[server]`…`[log]`: more tables
    /// (`[auth]`, `[cluster]`, provisioning). Must not repeat a table the harness writes.
    pub extra_toml: String,
    /// `CCGW_*` overrides for the child (e.g. `CCGW_AUTH__POLL_WAIT_MS`).
    pub env: Vec<(String, String)>,
}

/// A `ccgw serve` child with its own configuration file, data directory, ports and log.
pub struct Node {
    exe: PathBuf,
    pub name: String,
    pub api_port: u16,
    pub admin_port: u16,
    pub config: PathBuf,
    pub log: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Node {
    /// Writes `dir/<name>.toml` and starts `exe serve --config` it; waits for `/health`.
    pub async fn start(exe: &Path, spec: &NodeSpec, tls: &SharedTls, dir: &Path) -> anyhow::Result<Node> {
        let (api_port, admin_port) = (free_port()?, free_port()?);
        let config = dir.join(format!("{}.toml", spec.name));
        std::fs::write(&config, node_toml(spec, tls, &dir.join(&spec.name), api_port, admin_port))?;
        let mut node = Node {
            exe: exe.to_owned(),
            name: spec.name.clone(),
            api_port,
            admin_port,
            config,
            log: dir.join(format!("{}.log", spec.name)),
            env: spec.env.clone(),
            child: None,
        };
        node.spawn().await?;
        Ok(node)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let log = File::options().create(true).append(true).open(&self.log)?;
        let mut command = Command::new(&self.exe);
        command
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // Only the overrides asked for: a CCGW_* variable of the caller's environment would
        // override the file for every node alike.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CCGW_") {
                command.env_remove(key);
            }
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        let child = command.spawn().with_context(|| format!("cannot start {} serve", self.exe.display()))?;
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Some(child) = &mut self.child
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!("node {} exited at start ({status}):\n{}", self.name, tail(&self.log, 20));
            }
            if http_status(self.admin_port, "/health").await.is_ok_and(|s| s == 200) {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!("node {} did not answer /health within {START_TIMEOUT:?}:\n{}", self.name, tail(&self.log, 20));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `https://127.0.0.1:<port>`: the node's agent interface, directly.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.api_port)
    }

    /// `http://127.0.0.1:<port>`: the node's admin listener.
    pub fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin_port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// `kill -9`: no shut-down, no drain.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill9(&mut child);
        }
    }

    /// SIGTERM (the node drains its connections), SIGKILL after [`STOP_TIMEOUT`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
    }

    /// Starts the node again with the same configuration and ports.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.spawn().await
    }

    /// The last lines of the node's log.
    pub fn log_tail(&self) -> String {
        tail(&self.log, 30)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A node's configuration file (the layout docs/cluster.md shows).
pub fn node_toml(spec: &NodeSpec, tls: &SharedTls, data_dir: &Path, api_port: u16, admin_port: u16) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "[server]");
    let _ = writeln!(out, "listen = \"127.0.0.1:{api_port}\"");
    let _ = writeln!(out, "node_name = \"{}\"", spec.name);
    let _ = writeln!(out, "data_dir = {:?}", data_dir.display().to_string());
    let _ = writeln!(out, "cert_file = {:?}", tls.cert.display().to_string());
    let _ = writeln!(out, "key_file = {:?}", tls.key.display().to_string());
    let _ = writeln!(out, "# Every connection comes from the load balancer's address.");
    let _ = writeln!(out, "max_connections_per_source = 0");
    let _ = writeln!(out, "\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken = \"{ADMIN_TOKEN}\"");
    match &spec.backend {
        Backend::Memory => {
            let _ = writeln!(out, "\n[store]\nbackend = \"memory\"");
        }
        Backend::Redis(url) => {
            let _ = writeln!(out, "\n[store]\nbackend = \"redis\"\nurl = \"{url}\"");
        }
    }
    let _ = writeln!(out, "\n[log]\naccess_log = \"off\"\nformat = \"text\"\n");
    out.push_str(&spec.extra_toml);
    out
}

// ----- HAProxy ---------------------------------------------------------------------------------

/// `haproxy` in the foreground, round-robin over the nodes, TLS passed through.
pub struct Haproxy {
    program: PathBuf,
    pub port: u16,
    pub config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Haproxy {
    /// Writes `dir/haproxy.cfg` for `nodes` and starts `haproxy -db -f` it; waits until it
    /// accepts connections.
    pub async fn start(program: &Path, dir: &Path, nodes: &[&Node]) -> anyhow::Result<Haproxy> {
        let port = free_port()?;
        let config = dir.join("haproxy.cfg");
        let servers: Vec<(String, u16, u16)> =
            nodes.iter().map(|n| (n.name.clone(), n.api_port, n.admin_port)).collect();
        std::fs::write(&config, haproxy_cfg(port, max_connections(), &servers))?;
        let log = dir.join("haproxy.log");
        let file = File::create(&log)?;
        let child = Command::new(program)
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let mut haproxy = Haproxy { program: program.to_owned(), port, config, log, child: Some(child) };
        let started = Instant::now();
        loop {
            if let Some(child) = &mut haproxy.child
                && let Some(status) = child.try_wait()?
            {
                bail!("haproxy exited at start ({status}):\n{}", tail(&haproxy.log, 20));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(haproxy);
            }
            ensure!(started.elapsed() < START_TIMEOUT, "haproxy did not listen on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `https://127.0.0.1:<port>`: the cluster's one address.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill9(&mut child);
        }
    }
}

/// What HAProxy can hold with the open-files limit it inherits: each connection is two
/// descriptors (client and node side).
fn max_connections() -> u64 {
    #[cfg(unix)]
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current.unwrap_or(1 << 20);
    #[cfg(not(unix))]
    let soft = 1024;
    (soft.saturating_sub(100) / 2).clamp(100, 100_000)
}

/// The HAProxy configuration (the one docs/cluster.md shows): `servers` are (name, agent port,
/// admin port); `maxconn` connections at most (one long poll each, at least).
pub fn haproxy_cfg(port: u16, maxconn: u64, servers: &[(String, u16, u16)]) -> String {
    let mut out = format!(
        "global\n    maxconn {maxconn}\n\n\
         defaults\n    mode tcp\n    maxconn {maxconn}\n    timeout connect 2s\n    \
         # Longer than a long poll (auth.poll_wait_ms, 10 s) and the nodes' keep-alive (60 s).\n    \
         timeout client 90s\n    timeout server 90s\n    \
         # A node that refuses the connection (dead): try another one.\n    \
         option redispatch\n    retries 3\n\n",
    );
    let _ = writeln!(out, "frontend agents\n    bind 127.0.0.1:{port}\n    default_backend ccgw\n");
    out.push_str(
        "backend ccgw\n    balance roundrobin\n    \
         # The node's admin /health (plain HTTP on its admin port).\n    \
         option httpchk GET /health\n    http-check expect status 200\n    \
         default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions\n",
    );
    for (name, api, admin) in servers {
        let _ = writeln!(out, "    server {name} 127.0.0.1:{api} check port {admin}");
    }
    out
}

// ----- the whole cluster -----------------------------------------------------------------------

/// What to start.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// The `ccgw` binary (`env!("CARGO_BIN_EXE_ccgw")` in tests, `current_exe()` in the bench).
    pub exe: PathBuf,
    /// Node names (`node-a`, `node-b`, …).
    pub nodes: Vec<String>,
    /// Redis backend (starts a redis-server) or memory.
    pub redis: bool,
    /// HAProxy in front.
    pub haproxy: bool,
    /// Appended to every node's configuration ([`NodeSpec::extra_toml`]).
    pub extra_toml: String,
    /// `CCGW_*` overrides for every node.
    pub env: Vec<(String, String)>,
}

impl ClusterSpec {
    /// `count` nodes named node-a, node-b, …
    pub fn new(exe: impl Into<PathBuf>, count: usize, redis: bool, haproxy: bool) -> ClusterSpec {
        let nodes = (0..count).map(|i| format!("node-{}", char::from(b'a' + i as u8))).collect();
        ClusterSpec { exe: exe.into(), nodes, redis, haproxy, extra_toml: String::new(), env: Vec::new() }
    }
}

/// Redis, the nodes and HAProxy, all in one temporary directory (removed when dropped, after
/// every process is killed).
pub struct Cluster {
    pub tls: SharedTls,
    pub redis: Option<Redis>,
    pub nodes: Vec<Node>,
    pub haproxy: Option<Haproxy>,
    spec: ClusterSpec,
    // Last: dropped after the processes.
    dir: TempDir,
}

impl Cluster {
    pub async fn start(spec: ClusterSpec, tools: &Tools) -> anyhow::Result<Cluster> {
        let dir = TempDir::new("ccgw-cluster")?;
        let tls = SharedTls::generate(&tools.openssl, &dir.path().join("tls"))?;
        let redis = match (spec.redis, &tools.redis_server) {
            (false, _) => None,
            (true, Some(program)) => Some(Redis::start(program, &dir.path().join("redis")).await?),
            (true, None) => bail!("redis-server is not installed"),
        };
        let backend = redis.as_ref().map_or(Backend::Memory, |r| Backend::Redis(r.url()));
        let mut nodes = Vec::new();
        for name in &spec.nodes {
            let node_spec = NodeSpec {
                name: name.clone(),
                backend: backend.clone(),
                extra_toml: spec.extra_toml.clone(),
                env: spec.env.clone(),
            };
            nodes.push(Node::start(&spec.exe, &node_spec, &tls, dir.path()).await?);
        }
        let haproxy = match (spec.haproxy, &tools.haproxy) {
            (false, _) => None,
            (true, Some(program)) => {
                Some(Haproxy::start(program, dir.path(), &nodes.iter().collect::<Vec<_>>()).await?)
            }
            (true, None) => bail!("haproxy is not installed"),
        };
        Ok(Cluster { tls, redis, nodes, haproxy, spec, dir })
    }

    /// The address agents use: HAProxy's, or the first node's without it.
    pub fn url(&self) -> String {
        match &self.haproxy {
            Some(h) => h.url(),
            None => self.nodes[0].url(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn spec(&self) -> &ClusterSpec {
        &self.spec
    }

    /// The node called `name`.
    pub fn node(&mut self, name: &str) -> &mut Node {
        self.nodes.iter_mut().find(|n| n.name == name).unwrap_or_else(|| panic!("no node {name}"))
    }

    /// SIGTERM to every node, then start them all again (same files, same ports).
    pub async fn restart_all_nodes(&mut self) -> anyhow::Result<()> {
        for node in &mut self.nodes {
            node.stop();
        }
        for node in &mut self.nodes {
            node.spawn().await?;
        }
        Ok(())
    }

    /// Every node's log tail, for failure messages.
    pub fn logs(&self) -> String {
        self.nodes.iter().map(|n| format!("--- {} ---\n{}\n", n.name, n.log_tail())).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(h) = &mut self.haproxy {
            h.stop();
        }
        for node in &mut self.nodes {
            node.kill9();
        }
        if let Some(r) = &mut self.redis {
            r.kill9();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haproxy_cfg_lists_every_node_with_its_health_check() {
        let cfg = haproxy_cfg(8043, 1000, &[("node-a".into(), 18043, 19043), ("node-b".into(), 28043, 29043)]);
        assert!(cfg.contains("    bind 127.0.0.1:8043\n"), "{cfg}");
        assert!(cfg.contains("    mode tcp\n"), "{cfg}");
        assert!(cfg.contains("    balance roundrobin\n"), "{cfg}");
        assert!(cfg.contains("    server node-a 127.0.0.1:18043 check port 19043\n"), "{cfg}");
        assert!(cfg.contains("    server node-b 127.0.0.1:28043 check port 29043\n"), "{cfg}");
    }

    #[test]
    fn node_toml_is_a_valid_ccgw_configuration() {
        let tls = SharedTls { cert: "/tmp/c.pem".into(), key: "/tmp/k.pem".into() };
        let spec = NodeSpec {
            name: "node-b".into(),
            backend: Backend::Redis("redis://127.0.0.1:6390".into()),
            extra_toml: "[auth]\npoll_wait_ms = 1000\n".into(),
            env: Vec::new(),
        };
        let text = node_toml(&spec, &tls, Path::new("/tmp/node-b"), 18043, 19043);
        let config = ccgw_server::Config::from_toml_str(&text).expect("parses");
        assert_eq!(config.server.node_name, "node-b");
        assert_eq!(config.server.listen.port(), 18043);
        assert_eq!(config.server.cert_file.as_deref(), Some(Path::new("/tmp/c.pem")));
        assert_eq!(config.store.url.as_deref(), Some("redis://127.0.0.1:6390"));
        assert_eq!(config.auth.poll_wait_ms, 1000);
    }
}

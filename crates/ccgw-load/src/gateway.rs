//! Spawning the gateway (`ccgw serve`) as a child process for a self-contained bench.

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::Rng;

use crate::api;
use crate::client::{Client, Connector, Target};

/// Generous: a generated configuration with 50 000 agents takes a while to load.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a stopped gateway may take to shut down before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// How to start the child.
#[derive(Debug, Clone, Default)]
pub struct SpawnOptions {
    /// `CCGW_LOG__ACCESS_LOG`.
    pub access_log: String,
    /// `--config FILE` (generated provisioning); `None` = the embedded demo.
    pub config: Option<PathBuf>,
    /// `CCGW_SERVER__MAX_CONNECTIONS`; `None` = the server default.
    pub max_connections: Option<usize>,
    /// More environment variables of the child (e.g. `CCGW_LOG__LEVEL`).
    pub env: Vec<(String, String)>,
}

/// A `ccgw serve` child process; killed when dropped.
pub struct SpawnedGateway {
    child: Child,
    /// The child's process id (for `/proc/<pid>/status`).
    pub pid: u32,
    pub public: Target,
    pub admin: Target,
    pub admin_token: String,
    pub log_file: PathBuf,
}

impl SpawnedGateway {
    /// Starts `<current exe> serve` on two free loopback ports with rate
    /// limits and the per-source connection limit off and a random operator
    /// token, and waits for `/health`.
    /// Everything else (auth, sign-in concurrency, ...) keeps the server defaults.
    pub async fn start(options: &SpawnOptions) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot locate the ccgw executable")?;
        let [public_port, admin_port] = free_ports()?;
        let admin_token: String = {
            let mut rng = rand::rng();
            (0..32).map(|_| char::from_digit(rng.random_range(0..16), 16).expect("hex digit")).collect()
        };
        let log_file = std::env::temp_dir().join(format!("ccgw-bench-{}.log", std::process::id()));
        let log = File::create(&log_file).with_context(|| format!("cannot create {}", log_file.display()))?;

        let mut command = Command::new(&exe);
        command.arg("serve");
        if let Some(config) = &options.config {
            command.arg("--config").arg(config);
        }
        if let Some(max) = options.max_connections {
            command.env("CCGW_SERVER__MAX_CONNECTIONS", max.to_string());
        }
        command.envs(options.env.iter().map(|(k, v)| (k, v)));
        let child = command
            .arg("--listen")
            .arg(format!("127.0.0.1:{public_port}"))
            .arg("--admin-listen")
            .arg(format!("127.0.0.1:{admin_port}"))
            .env("CCGW_LIMITS__CALLDATA_PER_AGENT", "0")
            .env("CCGW_LIMITS__CALLDATA_SYSTEM", "0")
            // Every simulated agent connects from 127.0.0.1.
            .env("CCGW_SERVER__MAX_CONNECTIONS_PER_SOURCE", "0")
            .env("CCGW_ADMIN__TOKEN", &admin_token)
            .env("CCGW_LOG__ACCESS_LOG", &options.access_log)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {} serve", exe.display()))?;

        let mut gateway = Self {
            pid: child.id(),
            child,
            public: Target::parse(&format!("https://127.0.0.1:{public_port}"))?,
            admin: Target::parse(&format!("http://127.0.0.1:{admin_port}"))?,
            admin_token,
            log_file,
        };
        gateway.wait_until_healthy().await?;
        Ok(gateway)
    }

    async fn wait_until_healthy(&mut self) -> anyhow::Result<()> {
        let mut client = Client::new(Connector::new(self.admin.clone())?);
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the gateway exited during startup ({status}); its output:\n{}", self.log_tail());
            }
            if api::health(&mut client).await.is_ok() {
                return Ok(());
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                bail!(
                    "the gateway did not answer GET {}/health within {STARTUP_TIMEOUT:?}; its output:\n{}",
                    self.admin,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines of the child's output, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        // A fatal error prints its message, then a long backtrace: keep the message.
        let text = text.split("\nStack backtrace:").next().unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for SpawnedGateway {
    fn drop(&mut self) {
        // SIGTERM first, so that the gateway shuts down as in production and writes the last
        // lines of its access log; SIGKILL if it has not exited within STOP_TIMEOUT.
        #[cfg(unix)]
        if let Some(pid) = rustix::process::Pid::from_raw(self.pid as i32)
            && rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok()
        {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two distinct TCP ports that are free right now on 127.0.0.1 (both
/// listeners are held until both ports are known, so they differ).
fn free_ports() -> anyhow::Result<[u16; 2]> {
    let first = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    let second = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok([first.local_addr()?.port(), second.local_addr()?.port()])
}

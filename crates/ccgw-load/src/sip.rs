//! The `sip` scenario (issue 11): real telephony over SIP, SIPp playing the customers and the
//! agents' phones. Never in `all`.
//!
//! * **Gateway:** its own, spawned with a generated configuration ([`SipLayout`]): `[telephony]
//!   kind = "sip"` on a free loopback port, one VDN, one skill with the access code
//!   (`--access-code`), N agents, each with the phone `7<workno>` and a `[[telephony.sip.phone]]`
//!   entry with its own password.
//! * **Phones:** one SIPp process registers all N phones (`register.xml`, the numbers and
//!   `[authentication ...]` keywords from an `-inf` CSV file, every Contact on the same SIPp
//!   port with the phone's number as user part), then exits; one SIPp UAS on that port
//!   (`phone.xml`) answers every INVITE ccgw sends any of them (180, 200 at once), answers any
//!   re-INVITE (hold, unhold, later transfer) and ccgw's BYE.
//! * **Desktops:** the N agents sign in over REST with `phonenum` (the phone must be registered),
//!   `autoenteridle` (after-call: idle again at once), each kept signed in by its event long poll
//!   ([`crate::fleet`]).
//! * **Runs** (`--sip-runs`):
//!   * `calls`: SIPp customers (`customer.xml`) at `--sip-rate` calls/s, `--sip-calls` of them,
//!     talking `--sip-talk-ms` and hanging up: bridged calls per second (successful calls over
//!     the time the calls were placed in), failed calls, INVITE→200 ("answer") latency;
//!   * `hold`: the same, but the customers wait for ccgw's BYE (`customer_released.xml`) and every
//!     agent's desktop, on `Talking`, holds, takes the call back (`gethold`) and releases it, each
//!     a third of the talk time apart;
//!   * `transfer`: the desktop blind-transfers every call to the skill (`transfer`, devicetype 1,
//!     mode 0) and the agent it lands on releases it. In a gateway whose SIP telephony has no
//!     transfer yet the interface answers `100-007`: the run says so, and the desktops release the
//!     calls instead;
//!   * `live`: first a second gateway, **simulated** telephony, same agents, `--sip-query-calls`
//!     live calls (injected over the operator API, answered from the desktops); then customers
//!     that stay until released: ramp to `--sip-query-calls` live SIP calls, read the gateway's
//!     `VmRSS`, run `allcallinfoEx` closed loop over the agents in a call, three rounds
//!     of `--duration` on each gateway, alternated (SIP, simulated, SIP, ...) so that both meet
//!     the same drift of a shared box; the median round of each, and the SIP figure's ratio to
//!     the simulated one. Ramp on to `--sip-live` calls, read `VmRSS` again, release every call
//!     from the desktops. Memory per call on both.
//!
//! The gateway's CPU (`/proc/<pid>/stat`) and `VmRSS` are read around every run, and the load
//! average with it (the box is shared). Failed calls (SIPp's `FailedCall(C)`, customers and
//! phones) are checks: any makes `ccgw bench` exit non-zero.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyper::Method;
use tokio::sync::watch;

use crate::api::{self, InjectCall, SignInOptions, event_types, paths};
use crate::bench::{AgentRange, BenchOpts, wait_until};
use crate::client::{Client, Connector};
use crate::fleet::{self, Agent, Fleet, RingPolicy};
use crate::gateway::{SpawnOptions, SpawnedGateway};
use crate::provision::{FIRST_AGENT, TempDir, hash_password};
use crate::report::ScenarioReport;
use crate::stats::{InterfaceRow, InterfaceStats, StatsSet};
use crate::sys;
use crate::workload::{AgentDirectory, AllCallInfo, closed_loop_for, connect_clients};

const REGISTER_XML: &str = include_str!("../sipp/register.xml");
const PHONE_XML: &str = include_str!("../sipp/phone.xml");
const CUSTOMER_XML: &str = include_str!("../sipp/customer.xml");
const CUSTOMER_RELEASED_XML: &str = include_str!("../sipp/customer_released.xml");

/// Open files kept free per process beyond one socket per agent.
const FD_HEADROOM: u64 = 1000;
/// Connections of the desktops' actions and of the sign-ins.
const CONNECTIONS: usize = 64;
/// Smoke sizes: agents, calls per run, rate, talk time, live calls.
const SMOKE_AGENTS: usize = 20;
const SMOKE_CALLS: usize = 30;
const SMOKE_RATE: f64 = 30.0;
const SMOKE_TALK_MS: u64 = 300;
const SMOKE_LIVE: usize = 10;
/// How long a call may wait for one SIP message before SIPp fails it.
const RECV_TIMEOUT_MS: u64 = 30_000;
/// How long rsipstack keeps a finished transaction (its clean-up timer; 64 x T1 for UDP), plus
/// a little: the live run reads memory after it, so that the ramp's transactions are gone.
const TRANSACTION_LINGER: Duration = Duration::from_secs(35);
/// Calls per second of the ramps of the `live` run.
const RAMP_RATE: f64 = 500.0;

/// A run of the `sip` scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SipRun {
    /// Answer, talk, hang up (the customer hangs up).
    Calls,
    /// Answer, hold, gethold, release from the desktop.
    Hold,
    /// Answer, blind transfer to the skill, release by the second agent (pending in SIP mode).
    Transfer,
    /// Live calls held at once: memory per call, allcallinfoEx against simulated telephony.
    Live,
}

/// The sizes of a `sip` run, from the options (`--smoke`: tiny).
#[derive(Debug, Clone, PartialEq)]
pub struct SipSizes {
    pub agents: usize,
    pub rate: f64,
    pub calls: usize,
    pub talk: Duration,
    pub live: usize,
    pub query_calls: usize,
    pub runs: Vec<SipRun>,
}

impl SipSizes {
    pub fn new(opts: &BenchOpts) -> Self {
        let runs = opts.sip_runs.clone();
        if opts.smoke {
            return Self {
                agents: opts.agents_arg.unwrap_or(SMOKE_AGENTS),
                rate: SMOKE_RATE,
                calls: SMOKE_CALLS,
                talk: Duration::from_millis(SMOKE_TALK_MS),
                live: SMOKE_LIVE,
                query_calls: SMOKE_LIVE,
                runs,
            };
        }
        let talk = Duration::from_millis(opts.sip_talk_ms);
        let rate = opts.sip_rate.max(1.0);
        let calls = opts.sip_calls.unwrap_or((rate * opts.duration.max(1.0)).ceil() as usize).max(1);
        let live = if runs.contains(&SipRun::Live) { opts.sip_live } else { 0 };
        let query_calls = if runs.contains(&SipRun::Live) { opts.sip_query_calls.min(live.max(1)) } else { 0 };
        // In flight at once in the rate runs: rate x (talk + setup), twice over for queueing.
        let in_flight = (rate * (talk.as_secs_f64() + 1.0) * 2.0).ceil() as usize;
        let agents = opts.agents_arg.unwrap_or_else(|| in_flight.max(live).max(query_calls).max(2));
        Self { agents, rate, calls, talk, live, query_calls, runs }
    }
}

/// The generated configuration: one VDN, one skill, `agents` agents from 101 with their phones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipLayout {
    pub agents: AgentRange,
    pub access_code: String,
    /// `Some`: SIP telephony listening there; `None`: simulated telephony.
    pub sip: Option<SocketAddr>,
}

impl SipLayout {
    pub fn new(agents: usize, access_code: &str, sip: Option<SocketAddr>) -> anyhow::Result<Self> {
        if agents < 2 {
            bail!("the sip scenario needs at least 2 agents");
        }
        let last = FIRST_AGENT + agents as u32 - 1;
        if last > 59_999 {
            bail!("the sip scenario supports up to {} agents", 59_999 - FIRST_AGENT + 1);
        }
        if access_code.is_empty() || !access_code.bytes().all(|b| b.is_ascii_digit()) {
            bail!("--access-code {access_code:?} must be digits");
        }
        Ok(Self { agents: AgentRange { first: FIRST_AGENT, last }, access_code: access_code.to_owned(), sip })
    }

    pub fn phone(workno: u32) -> String {
        format!("7{workno}")
    }

    /// The phone's digest password (distinct per phone; a bench has no secrets).
    pub fn phone_password(workno: u32) -> String {
        format!("bench-{workno}")
    }

    /// The configuration file (every agent with the same `hash`).
    pub fn render(&self, hash: &str) -> String {
        let mut out = String::with_capacity(self.agents.count() * 190 + 1024);
        let _ =
            writeln!(out, "# Written by `ccgw bench --scenario sip`: {} agents. Delete at will.", self.agents.count());
        match self.sip {
            Some(listen) => {
                let _ = writeln!(out, "[telephony]\nkind = \"sip\"\n\n[telephony.sip]\nlisten = \"{listen}\"\n");
                for workno in self.agents.ids() {
                    let _ = writeln!(
                        out,
                        "[[telephony.sip.phone]]\nnumber = \"{}\"\npassword = \"{}\"\n",
                        Self::phone(workno),
                        Self::phone_password(workno)
                    );
                }
            }
            None => {
                let _ = writeln!(out, "[telephony]\nkind = \"simulated\"\n");
            }
        }
        let _ = writeln!(out, "[[vdn]]\nid = 1\nname = \"SIP bench VDN\"\n");
        let _ =
            writeln!(out, "[[skill]]\nid = 1\nvdn = 1\nname = \"voice\"\naccess_codes = [\"{}\"]\n", self.access_code);
        for workno in self.agents.ids() {
            let _ = writeln!(
                out,
                "[[agent]]\nworkno = {workno}\nvdn = 1\nname = \"Agent {workno}\"\npassword_hash = \"{hash}\"\nskills = [1]\nphone = \"{}\"\n",
                Self::phone(workno)
            );
        }
        out
    }

    /// SIPp's injection file for `register.xml`: the number, then the whole `[authentication]`
    /// keyword (SIPp does not expand fields inside the keyword's parameters).
    pub fn phones_csv(&self) -> String {
        let mut out = String::from("SEQUENTIAL\n");
        for workno in self.agents.ids() {
            let number = Self::phone(workno);
            let _ =
                writeln!(out, "{number};[authentication username={number} password={}]", Self::phone_password(workno));
        }
        out
    }
}

/// The figures of SIPp's `-trace_stat` file (its last line).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SippStats {
    pub created: u64,
    pub successful: u64,
    pub failed: u64,
    pub current: u64,
    /// `ElapsedTime(C)`.
    pub elapsed: Option<Duration>,
}

/// Parses SIPp's statistics CSV (`;`-separated, a header line, one line per dump): the last line.
pub fn parse_sipp_stats(text: &str) -> Option<SippStats> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next()?.split(';').map(str::trim).collect();
    let last: Vec<&str> = lines.next_back()?.split(';').map(str::trim).collect();
    let field = |name: &str| header.iter().position(|h| *h == name).and_then(|i| last.get(i).copied());
    let number = |name: &str| field(name).and_then(|v| v.parse::<u64>().ok());
    Some(SippStats {
        created: number("TotalCallCreated").or_else(|| number("OutgoingCall(C)"))?,
        successful: number("SuccessfulCall(C)")?,
        failed: number("FailedCall(C)")?,
        current: number("CurrentCall").unwrap_or(0),
        elapsed: field("ElapsedTime(C)").and_then(parse_sipp_time),
    })
}

/// SIPp's durations: `HH:MM:SS` with optional `:mmm` and `:uuu`, or `HH:MM:SS.uuuuuu`.
pub fn parse_sipp_time(value: &str) -> Option<Duration> {
    let parts: Vec<&str> = value.split([':', '.']).collect();
    if parts.len() < 3 {
        return None;
    }
    let n = |i: usize| parts.get(i).map_or(Some(0), |p| p.parse::<u64>().ok());
    let (h, m, s) = (n(0)?, n(1)?, n(2)?);
    let mut micros = (h * 3600 + m * 60 + s) * 1_000_000;
    match parts.len() {
        3 => {}
        // HH:MM:SS:mmm or HH:MM:SS.uuuuuu (6 digits)
        4 if parts[3].len() == 6 => micros += n(3)?,
        4 => micros += n(3)? * 1000,
        _ => micros += n(3)? * 1000 + n(4)?,
    }
    Some(Duration::from_micros(micros))
}

/// SIPp's `-trace_rtt` file (`Date_ms;response_time_ms;rtd_no` per measured call, and variants):
/// the response times in ms.
pub fn parse_sipp_rtt(text: &str) -> Vec<f64> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else { return Vec::new() };
    let Some(column) = header.split(';').position(|h| h.trim().starts_with("response_time")) else {
        return Vec::new();
    };
    lines.filter_map(|l| l.split(';').nth(column)?.trim().parse::<f64>().ok()).collect()
}

/// A SIPp child process with its statistics files in `dir`.
struct Sipp {
    name: &'static str,
    child: tokio::process::Child,
    stat_file: PathBuf,
    log_file: PathBuf,
}

impl Sipp {
    /// `sipp [remote] -sf <dir>/<scenario> -i 127.0.0.1 -p <port> ... <extra>`.
    fn start(
        name: &'static str,
        dir: &Path,
        scenario: &str,
        remote: Option<SocketAddr>,
        port: u16,
        extra: &[String],
    ) -> anyhow::Result<Self> {
        let stat_file = dir.join(format!("{name}-stat.csv"));
        let log_file = dir.join(format!("{name}.log"));
        let _ = std::fs::remove_file(&stat_file);
        let log = std::fs::File::create(&log_file).with_context(|| format!("cannot create {}", log_file.display()))?;
        let mut cmd = tokio::process::Command::new("sipp");
        if let Some(remote) = remote {
            cmd.arg(remote.to_string());
        }
        if !extra.iter().any(|a| a == "-recv_timeout") {
            cmd.args(["-recv_timeout", &RECV_TIMEOUT_MS.to_string()]);
        }
        cmd.arg("-sf")
            .arg(dir.join(scenario))
            .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-nostdin", "-trace_stat", "-fd", "1", "-stf"])
            .arg(&stat_file)
            .args(extra)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        let child = cmd.spawn().context("cannot run sipp (Debian: apt-get install sip-tester)")?;
        Ok(Self { name, child, stat_file, log_file })
    }

    fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits for SIPp to exit (at most `timeout`, then kills it); its exit code and statistics.
    async fn finish(mut self, timeout: Duration) -> anyhow::Result<(Option<i32>, SippStats)> {
        let status = match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status?.code(),
            Err(_) => {
                eprintln!("warning: sipp ({}) still running after {timeout:?}: stopping it", self.name);
                self.stop().await;
                None
            }
        };
        Ok((status, self.stats()?))
    }

    /// SIGINT (SIPp dumps its statistics and exits), SIGKILL after 3 s.
    async fn stop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.child.id().and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
            if tokio::time::timeout(Duration::from_secs(3), self.child.wait()).await.is_ok() {
                return;
            }
        }
        let _ = self.child.kill().await;
    }

    fn stats(&self) -> anyhow::Result<SippStats> {
        let text = std::fs::read_to_string(&self.stat_file).unwrap_or_default();
        parse_sipp_stats(&text).with_context(|| {
            format!(
                "sipp ({}) wrote no statistics to {}; its output:\n{}",
                self.name,
                self.stat_file.display(),
                std::fs::read_to_string(&self.log_file)
                    .unwrap_or_default()
                    .lines()
                    .take(20)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
    }
}

/// The response times of SIPp's `-trace_rtt` (`<scenario>_<pid>_rtt.csv` in its working directory).
fn sipp_rtts(dir: &Path, scenario: &str, pid: Option<u32>) -> Vec<f64> {
    let Some(pid) = pid else { return Vec::new() };
    let stem = scenario.trim_end_matches(".xml");
    parse_sipp_rtt(&std::fs::read_to_string(dir.join(format!("{stem}_{pid}_rtt.csv"))).unwrap_or_default())
}

/// A free loopback port for both UDP and TCP (the SIP side binds both).
fn free_sip_port() -> anyhow::Result<u16> {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0")?;
        let port = tcp.local_addr()?.port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no loopback port free for both UDP and TCP")
}

fn free_udp_port() -> anyhow::Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn rss_kib(pid: u32) -> u64 {
    sys::process_memory(Some(pid)).map_or(0, |m| m.rss_kib)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The gateway's CPU and RSS over one run, with the load average at its start.
struct Meter {
    pid: u32,
    cpu: Duration,
    started: Instant,
    load: String,
    rss_kib: u64,
}

impl Meter {
    fn start(pid: u32) -> Self {
        Self {
            pid,
            cpu: sys::process_cpu(Some(pid)).unwrap_or_default(),
            started: Instant::now(),
            load: load_average(),
            rss_kib: rss_kib(pid),
        }
    }

    /// "gateway CPU x s/s over y s, RSS a -> b; load avg at start, end".
    fn describe(&self) -> String {
        let cpu = sys::process_cpu(Some(self.pid)).unwrap_or_default().saturating_sub(self.cpu);
        let wall = self.started.elapsed().as_secs_f64();
        format!(
            "gateway CPU {:.2} s/s over {wall:.1} s ({:.2} s), VmRSS {} -> {}; load average {} at the start, {} at the end",
            cpu.as_secs_f64() / wall.max(1e-9),
            cpu.as_secs_f64(),
            mib(self.rss_kib),
            mib(rss_kib(self.pid)),
            self.load,
            load_average()
        )
    }
}

/// Everything the runs share.
struct Ctx<'a> {
    opts: &'a BenchOpts,
    sizes: &'a SipSizes,
    dir: &'a Path,
    gateway: &'a SpawnedGateway,
    sip: SocketAddr,
    fleet: &'a Fleet,
    public: Arc<Connector>,
    /// For the simulated gateway of the live run.
    hash: &'a str,
    env: &'a [(String, String)],
}

/// Runs the sip scenario on its own spawned gateways.
pub async fn run(opts: &BenchOpts) -> anyhow::Result<ScenarioReport> {
    if opts.target.is_some() {
        bail!("--scenario sip provisions its own gateway (phones, skill): run it without --target");
    }
    let mut sizes = SipSizes::new(opts);
    let mut notes = Vec::new();
    // The live run keeps the simulated gateway's desktops signed in beside the SIP one's.
    let fleets = if sizes.query_calls > 0 { 2 } else { 1 };
    let limit = sys::raise_nofile_limit(fleets * sizes.agents as u64 + FD_HEADROOM);
    let soft = limit.as_ref().map_or(1024, |l| l.soft);
    let fit = (soft.saturating_sub(FD_HEADROOM) / fleets) as usize;
    if sizes.agents > fit {
        notes.push(format!(
            "agents capped at {fit} (open-files limit {soft} minus {FD_HEADROOM}, {fleets} fleet(s)), {} wanted",
            sizes.agents
        ));
        sizes.agents = fit;
        sizes.live = sizes.live.min(fit);
        sizes.query_calls = sizes.query_calls.min(fit);
    }
    let exe = std::env::current_exe().context("cannot locate the ccgw executable")?;
    let dir = TempDir::new("ccgw-sip")?;
    for (name, text) in [
        ("register.xml", REGISTER_XML),
        ("phone.xml", PHONE_XML),
        ("customer.xml", CUSTOMER_XML),
        ("customer_released.xml", CUSTOMER_RELEASED_XML),
    ] {
        std::fs::write(dir.path().join(name), text)?;
    }
    let sip: SocketAddr = format!("127.0.0.1:{}", free_sip_port()?).parse()?;
    let layout = SipLayout::new(sizes.agents, &opts.access_code, Some(sip))?;
    let hash = hash_password(&exe, &opts.password, &["--memory-kib", "64", "--iterations", "1"])?;
    let config = dir.path().join("ccgw-sip.toml");
    std::fs::write(&config, layout.render(&hash))?;
    std::fs::write(dir.path().join("phones.csv"), layout.phones_csv())?;
    notes.push(format!(
        "{} agents {}-{} with phones 7<workno> (own passwords), skill access code {}; SIP on udp {sip}; load average {} \
         at the start; {} CPUs",
        sizes.agents,
        layout.agents.first,
        layout.agents.last,
        opts.access_code,
        load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));

    eprintln!("sip: starting the gateway with {} agents (SIP on {sip}) ...", sizes.agents);
    let mut env = Vec::new();
    if let Some(level) = &opts.sip_log_level {
        env.push(("CCGW_LOG__LEVEL".to_owned(), level.clone()));
    }
    let gateway = SpawnedGateway::start(&SpawnOptions {
        access_log: opts.access_log.clone(),
        config: Some(config),
        max_connections: Some(sizes.agents + 1000),
        env: env.clone(),
    })
    .await?;
    let rss_start = rss_kib(gateway.pid);
    let result = sip_runs(opts, &sizes, dir.path(), &gateway, sip, &hash, env, notes, rss_start).await;
    result.map_err(|error| {
        error.context(format!("gateway output ({}):\n{}", gateway.log_file.display(), gateway.log_tail()))
    })
}

#[allow(clippy::too_many_arguments)]
async fn sip_runs(
    opts: &BenchOpts,
    sizes: &SipSizes,
    dir: &Path,
    gateway: &SpawnedGateway,
    sip: SocketAddr,
    hash: &str,
    env: Vec<(String, String)>,
    mut notes: Vec<String>,
    rss_start: u64,
) -> anyhow::Result<ScenarioReport> {
    let mut rows = Vec::new();
    let mut failures = Vec::new();

    // Register every phone from one SIPp port.
    let phone_port = free_udp_port()?;
    eprintln!("sip: registering {} phones ...", sizes.agents);
    let started = Instant::now();
    let register = Sipp::start(
        "register",
        dir,
        "register.xml",
        Some(sip),
        phone_port,
        &args(&["-inf", "phones.csv", "-m", &sizes.agents.to_string(), "-r", "1000", "-l", "200"]),
    )?;
    let (code, stats) = register.finish(Duration::from_secs(60 + sizes.agents as u64 / 100)).await?;
    if code != Some(0) || stats.successful != sizes.agents as u64 {
        bail!(
            "registering {} phones: sipp exited with {code:?}, {} registered, {} failed",
            sizes.agents,
            stats.successful,
            stats.failed
        );
    }
    notes.push(format!(
        "{} phones registered (digest) from udp 127.0.0.1:{phone_port} in {:.2} s",
        sizes.agents,
        started.elapsed().as_secs_f64()
    ));

    // The phones answer; the desktops sign in.
    // A live call waits for ccgw's BYE for as long as the live run lasts.
    let phones = Sipp::start("phones", dir, "phone.xml", None, phone_port, &args(&["-recv_timeout", "600000"]))?;
    let public = Connector::new(gateway.public.clone())?;
    let ids: Vec<u32> = (FIRST_AGENT..FIRST_AGENT + sizes.agents as u32).collect();
    eprintln!("sip: signing in {} agents ...", ids.len());
    let started = Instant::now();
    let options = SignInOptions { password: opts.password.clone(), auto_enter_idle: true };
    let spread = if opts.smoke { Duration::ZERO } else { Duration::from_secs(5) };
    let fleet = Fleet::sign_in_spread(&public, &ids, CONNECTIONS, &options, spread).await?;
    notes.push(format!(
        "{} agents signed in with phonenum 7<workno>, autoenteridle (idle again right after a call) in {:.2} s; \
         gateway VmRSS {} at start, {} signed in",
        ids.len(),
        started.elapsed().as_secs_f64(),
        mib(rss_start),
        mib(rss_kib(gateway.pid))
    ));
    // Let the pollers connect before the first call.
    tokio::time::sleep(if opts.smoke { Duration::from_millis(300) } else { spread + Duration::from_secs(1) }).await;

    let ctx = Ctx { opts, sizes, dir, gateway, sip, fleet: &fleet, public: public.clone(), hash, env: &env };
    let mut outcome = Ok(());
    for run in [SipRun::Calls, SipRun::Hold, SipRun::Transfer, SipRun::Live] {
        if !sizes.runs.contains(&run) {
            continue;
        }
        eprintln!("sip: run {run:?} ...");
        let result = match run {
            SipRun::Calls | SipRun::Hold | SipRun::Transfer => rate_run(&ctx, run).await,
            SipRun::Live => live_run(&ctx).await,
        };
        match result {
            Ok(run) => {
                rows.extend(run.rows);
                notes.extend(run.notes);
                failures.extend(run.failures);
            }
            Err(error) => {
                outcome = Err(error);
                break;
            }
        }
        // Between runs: every agent idle again.
        if !wait_until(Duration::from_secs(10), || fleet.agents_in_call() == 0).await {
            notes.push(format!("{} agents still in a call 10 s after the run", fleet.agents_in_call()));
        }
    }
    if opts.sip_settle_secs > 0 && outcome.is_ok() {
        let before = rss_kib(gateway.pid);
        tokio::time::sleep(Duration::from_secs(opts.sip_settle_secs)).await;
        notes.push(format!(
            "settle: gateway VmRSS {} after the runs, {} {} s later (no call in progress)",
            mib(before),
            mib(rss_kib(gateway.pid)),
            opts.sip_settle_secs
        ));
    }
    let poll_errors = fleet.shared.poll_errors.load(std::sync::atomic::Ordering::Relaxed);
    fleet.shut_down(CONNECTIONS).await;
    let mut phones = phones;
    phones.stop().await;
    let phone_stats = phones.stats().unwrap_or_default();
    notes.push(format!(
        "phones (SIPp UAS): {} calls, {} successful, {} failed",
        phone_stats.created, phone_stats.successful, phone_stats.failed
    ));
    if phone_stats.failed > 0 {
        failures.push(format!("{} failed calls at the phones (SIPp UAS)", phone_stats.failed));
    }
    if poll_errors > 0 {
        failures.push(format!("{poll_errors} failed event polls"));
    }
    outcome?;

    let mut report = ScenarioReport::new("sip", rows, notes);
    report.failures = failures;
    Ok(report)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// What one run adds to the report.
#[derive(Default)]
struct RunOutcome {
    rows: Vec<InterfaceRow>,
    notes: Vec<String>,
    failures: Vec<String>,
}

/// The row of a SIPp customer run: calls placed, successful, failed; rate = successful calls per
/// second of the time they were placed in; latency = INVITE sent -> 200 received.
fn call_row(name: &'static str, stats: &SippStats, rtts: &[f64], placing: Duration) -> InterfaceRow {
    let mut s = InterfaceStats::new(name);
    for ms in rtts {
        s.record_success(Duration::from_secs_f64(ms / 1000.0));
    }
    let mut row = s.summarize(placing);
    row.requests = stats.created;
    row.successes = stats.successful;
    row.errors = stats.failed;
    row.errors_by_code =
        if stats.failed > 0 { BTreeMap::from([("failed call".to_owned(), stats.failed)]) } else { BTreeMap::new() };
    row.rate_per_sec = stats.successful as f64 / placing.as_secs_f64().max(1e-9);
    row
}

/// The desktops' part of a hold or transfer run (one task per agent).
struct Desks {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<StatsSet>>,
}

impl Desks {
    fn start(ctx: &Ctx<'_>, run: SipRun) -> Self {
        let (stop, _) = watch::channel(false);
        let step = ctx.sizes.talk / 3;
        let transferred: Arc<Mutex<HashSet<String>>> = Arc::default();
        let tasks = ctx
            .fleet
            .agents
            .iter()
            .map(|agent| {
                let agent = agent.clone();
                let shared = ctx.fleet.shared.clone();
                let stop = stop.subscribe();
                let transferred = transferred.clone();
                tokio::spawn(desk(agent, shared, run, step, stop, transferred))
            })
            .collect();
        Self { stop, tasks }
    }

    async fn finish(self) -> StatsSet {
        self.stop.send_replace(true);
        let mut stats = StatsSet::default();
        for task in self.tasks {
            if let Ok(s) = task.await {
                stats.merge(&s);
            }
        }
        stats
    }
}

/// One agent's desktop: on `Talking` of a new call, hold / gethold / release (hold run) or
/// transfer to the skill, then release where the call lands (transfer run).
async fn desk(
    agent: Arc<Agent>,
    shared: Arc<fleet::FleetShared>,
    run: SipRun,
    step: Duration,
    mut stop: watch::Receiver<bool>,
    transferred: Arc<Mutex<HashSet<String>>>,
) -> StatsSet {
    let mut stats = StatsSet::default();
    let mut events = agent.listen().await;
    let mut last: Option<String> = None;
    loop {
        let event = tokio::select! {
            e = events.recv() => match e { Some(e) => e, None => break },
            _ = stop.wait_for(|s| *s) => break,
        };
        if event.kind != event_types::TALKING {
            continue;
        }
        let Some(call) = event.call_id else { continue };
        if last.as_deref() == Some(call.as_str()) {
            continue; // Talking again after gethold
        }
        last = Some(call.clone());
        let id = agent.id();
        let send =
            async |stats: &mut StatsSet, row: &'static str, method: Method, path: String, body: Option<String>| {
                // The fleet's pool: a connection per request in flight, not one per desk (the
                // gateway's connection limit is sized for one poll per agent and some more).
                let mut client = shared.pool.get();
                let started = Instant::now();
                let result = agent.session.send(&mut client, method, &path, body.as_deref().map(str::as_bytes)).await;
                shared.pool.put(client);
                match result {
                    Ok(r) if r.is_success() => {
                        stats.get(row).record_success(started.elapsed());
                        true
                    }
                    Ok(r) => {
                        stats.get(row).record_error(&r);
                        false
                    }
                    Err(_) => {
                        stats.get(row).record_transport_error();
                        false
                    }
                }
            };
        match run {
            SipRun::Hold => {
                tokio::time::sleep(step).await;
                if send(&mut stats, "hold", Method::POST, paths::hold(id), None).await {
                    tokio::time::sleep(step).await;
                    send(&mut stats, "gethold", Method::POST, paths::get_hold(id, &call), None).await;
                }
                tokio::time::sleep(step).await;
                send(&mut stats, "release", Method::DELETE, paths::release(id), None).await;
            }
            SipRun::Transfer => {
                tokio::time::sleep(step).await;
                let second = transferred.lock().expect("lock").contains(&call);
                if !second {
                    let body = r#"{"devicetype": 1, "address": "1", "mode": 0}"#.to_owned();
                    if send(&mut stats, "transfer", Method::POST, paths::transfer(id), Some(body)).await {
                        transferred.lock().expect("lock").insert(call);
                        continue;
                    }
                }
                send(&mut stats, "release", Method::DELETE, paths::release(id), None).await;
            }
            SipRun::Calls | SipRun::Live => {}
        }
    }
    agent.stop_listening();
    stats
}

/// `calls`, `hold` or `transfer`: SIPp customers at `--sip-rate`.
async fn rate_run(ctx: &Ctx<'_>, run: SipRun) -> anyhow::Result<RunOutcome> {
    let sizes = ctx.sizes;
    let (scenario, label, row_name): (&str, &str, &'static str) = match run {
        SipRun::Calls => ("customer.xml", "calls", "sip calls INVITE->200"),
        SipRun::Hold => ("customer_released.xml", "hold", "sip hold INVITE->200"),
        _ => ("customer_released.xml", "transfer", "sip transfer INVITE->200"),
    };
    let desks = (run != SipRun::Calls).then(|| Desks::start(ctx, run));
    let talk_ms = sizes.talk.as_millis().to_string();
    let placing = Duration::from_secs_f64(sizes.calls as f64 / sizes.rate);
    let meter = Meter::start(ctx.gateway.pid);
    let customers = Sipp::start(
        "customers",
        ctx.dir,
        scenario,
        Some(ctx.sip),
        free_udp_port()?,
        &args(&[
            "-s",
            &ctx.opts.access_code,
            "-r",
            &format!("{}", sizes.rate),
            "-rp",
            "1000",
            "-m",
            &sizes.calls.to_string(),
            "-l",
            &sizes.agents.to_string(),
            "-d",
            &talk_ms,
            "-trace_rtt",
            "-rtt_freq",
            "1",
        ]),
    )?;
    let pid = customers.pid();
    let started = Instant::now();
    let timeout = placing + sizes.talk * 2 + Duration::from_secs(60);
    let (code, stats) = customers.finish(timeout).await?;
    let wall = started.elapsed();
    let rtts = sipp_rtts(ctx.dir, scenario, pid);
    let mut out = RunOutcome::default();
    let desk_stats = match desks {
        Some(d) => Some(d.finish().await),
        None => None,
    };
    // Calls are placed over `placing`; each lasts the talk time (and its setup) after that.
    let window = stats.elapsed.unwrap_or(wall).saturating_sub(sizes.talk).max(placing);
    out.rows.push(call_row(row_name, &stats, &rtts, window));
    if let Some(d) = &desk_stats {
        out.rows.extend(d.summarize(window));
    }
    out.notes.push(format!(
        "{label}: {} calls offered at {}/s (talk {} ms{}); {} successful, {} failed, sipp exit {code:?}; {:.1} \
         bridged calls/s over {:.2} s (SIPp's elapsed {:.2} s minus the talk time); {}",
        sizes.calls,
        sizes.rate,
        talk_ms,
        match run {
            SipRun::Hold => ", hold / gethold / release a third of it apart",
            SipRun::Transfer => ", transfer after a third of it, release a third later",
            _ => ", then the customer hangs up",
        },
        stats.successful,
        stats.failed,
        stats.successful as f64 / window.as_secs_f64().max(1e-9),
        window.as_secs_f64(),
        stats.elapsed.unwrap_or(wall).as_secs_f64(),
        meter.describe()
    ));
    if run == SipRun::Transfer
        && let Some(d) = &desk_stats
        && let Some(t) = d.interfaces.iter().find(|s| s.name == "transfer")
        && t.successes == 0
        && t.errors.contains_key("100-007")
    {
        out.notes.push(
            "transfer: the gateway answered 100-007 (not available with SIP telephony): transfer over SIP is not in this \
             build; the desktops released the calls instead (the figures are a release run)"
                .into(),
        );
    }
    if stats.failed > 0 || stats.successful < sizes.calls as u64 {
        out.failures.push(format!(
            "{label}: {} of {} calls failed or did not complete",
            sizes.calls as u64 - stats.successful.min(sizes.calls as u64),
            sizes.calls
        ));
    }
    Ok(out)
}

/// `live`: ramp to `query_calls` live calls (memory, allcallinfoEx), then to `live` (memory),
/// then every call released from the desktops.
async fn live_run(ctx: &Ctx<'_>) -> anyhow::Result<RunOutcome> {
    let sizes = ctx.sizes;
    let mut out = RunOutcome::default();
    let pid = ctx.gateway.pid;
    let settle = if ctx.opts.smoke { Duration::ZERO } else { TRANSACTION_LINGER };
    // The simulated gateway, its calls up, before the SIP calls: the query rounds alternate.
    let simulated = if sizes.query_calls > 0 {
        eprintln!("sip: the simulated-telephony gateway, {} live calls ...", sizes.query_calls);
        let side = SimulatedSide::start(ctx.opts, sizes, ctx.dir, ctx.hash, ctx.env.to_vec()).await?;
        out.notes.push(side.note.clone());
        Some(side)
    } else {
        None
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss0 = rss_kib(pid);
    let meter = Meter::start(pid);
    let ramp = |name: &'static str, calls: usize| -> anyhow::Result<Sipp> {
        Sipp::start(
            name,
            ctx.dir,
            "customer_released.xml",
            Some(ctx.sip),
            free_udp_port()?,
            &args(&[
                "-s",
                &ctx.opts.access_code,
                "-r",
                &format!("{}", RAMP_RATE.min(calls as f64 * 2.0)),
                "-rp",
                "1000",
                "-m",
                &calls.to_string(),
                "-l",
                &calls.to_string(),
                // A call stays until released: no message for minutes is fine.
                "-recv_timeout",
                "600000",
            ]),
        )
    };
    let fleet = ctx.fleet;
    let ramp_wait = |calls: usize| Duration::from_secs(30) + Duration::from_secs_f64(calls as f64 / RAMP_RATE * 3.0);

    // 1. query_calls live calls: memory, then allcallinfoEx.
    let first = ramp("live-1", sizes.query_calls)?;
    let started = Instant::now();
    if !wait_until(ramp_wait(sizes.query_calls), || fleet.agents_in_call() >= sizes.query_calls).await {
        bail!("live: only {} of {} calls talking after the ramp", fleet.agents_in_call(), sizes.query_calls);
    }
    let ramp1 = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss1_fresh = rss_kib(pid);
    // The SIP stack keeps every finished transaction ~32 s (UDP timers): read the memory again
    // once the ramp's transactions are gone, what the live calls themselves hold.
    tokio::time::sleep(settle).await;
    let rss1 = rss_kib(pid);
    let mut sides = vec![QuerySide { name: "allcallinfoEx SIP live", public: &ctx.public, fleet }];
    if let Some(sim) = &simulated {
        sides.push(QuerySide { name: "allcallinfoEx sim live", public: &sim.public, fleet: &sim.fleet });
    }
    let measured = allcallinfo_live(&sides, ctx.opts, sizes.query_calls).await?;
    if let [(sip_row, _), (sim_row, _)] = measured.as_slice() {
        out.notes.push(format!(
            "allcallinfoEx with {} live calls: SIP {:.0} req/s (p99 {:.3} ms), simulated {:.0} req/s (p99 {:.3} ms): \
             rate ratio SIP/simulated {:.3}, p99 ratio {:.3}",
            sizes.query_calls,
            sip_row.rate_per_sec,
            sip_row.p99_ms.unwrap_or(0.0),
            sim_row.rate_per_sec,
            sim_row.p99_ms.unwrap_or(0.0),
            sip_row.rate_per_sec / sim_row.rate_per_sec.max(1e-9),
            sip_row.p99_ms.unwrap_or(0.0) / sim_row.p99_ms.unwrap_or(1.0).max(1e-9),
        ));
    }
    for (row, note) in measured {
        out.rows.push(row);
        out.notes.push(note);
    }
    if let Some(sim) = simulated {
        sim.fleet.shut_down(CONNECTIONS).await;
        drop(sim.gateway);
    }

    // 2. On to `live` calls.
    let more = sizes.live.saturating_sub(sizes.query_calls);
    let second = if more > 0 { Some(ramp("live-2", more)?) } else { None };
    let started = Instant::now();
    if !wait_until(ramp_wait(more), || fleet.agents_in_call() >= sizes.live).await {
        out.failures.push(format!(
            "live: only {} of {} calls talking after the ramp",
            fleet.agents_in_call(),
            sizes.live
        ));
    }
    let ramp2 = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss2_fresh = rss_kib(pid);
    tokio::time::sleep(settle).await;
    let live_now = fleet.agents_in_call();
    let rss2 = rss_kib(pid);
    let per_call = |rss: u64, calls: usize| (rss.saturating_sub(rss0) * 1024) as f64 / calls.max(1) as f64;
    out.notes.push(format!(
        "live (SIP): VmRSS {} with 0 live calls; {} with {} ({:.0} bytes per call; ramp {:.2} s; right after the ramp {}); \
         {} with {live_now} ({:.0} bytes per call; ramp {:.2} s; right after it {}); read {} s after each ramp; 2 SIP \
         legs per call",
        mib(rss0),
        mib(rss1),
        sizes.query_calls,
        per_call(rss1, sizes.query_calls),
        ramp1.as_secs_f64(),
        mib(rss1_fresh),
        mib(rss2),
        per_call(rss2, live_now),
        ramp2.as_secs_f64(),
        mib(rss2_fresh),
        settle.as_secs(),
    ));

    // 3. Release every call from the desktops; the customers get BYE.
    let in_call: Vec<Arc<Agent>> = fleet.agents.iter().filter(|a| a.call_count() > 0).cloned().collect();
    let released = Instant::now();
    let clients = (0..CONNECTIONS).map(|_| Client::new(ctx.public.clone())).collect();
    let results = fleet::for_each_parallel(clients, in_call, |mut client, agent| async move {
        let r = agent.session.send(&mut client, Method::DELETE, &paths::release(agent.id()), None).await;
        (client, r.map(|r| r.is_success()).unwrap_or(false))
    })
    .await;
    let release_failures = results.iter().filter(|ok| !**ok).count();
    let mut calls = SippStats::default();
    for sipp in [Some(first), second].into_iter().flatten() {
        let (_, s) = sipp.finish(Duration::from_secs(60)).await?;
        calls.created += s.created;
        calls.successful += s.successful;
        calls.failed += s.failed;
    }
    out.notes.push(format!(
        "live: {} calls released from the desktops in {:.2} s ({release_failures} release requests failed); customers: \
         {} calls, {} successful, {} failed; {}",
        results.len(),
        released.elapsed().as_secs_f64(),
        calls.created,
        calls.successful,
        calls.failed,
        meter.describe()
    ));
    if calls.failed > 0 {
        out.failures.push(format!("live: {} failed calls", calls.failed));
    }
    Ok(out)
}

/// Closed-loop rounds of `allcallinfoEx` per gateway, alternated between the gateways: the row
/// reported is each one's median round, so a passing disturbance on the shared cores (a build, a
/// burst of keepalives) moves one round, and a drift over the run meets both gateways alike.
const QUERY_ROUNDS: usize = 3;

/// One gateway whose live calls `allcallinfoEx` queries.
struct QuerySide<'a> {
    name: &'static str,
    public: &'a Arc<Connector>,
    fleet: &'a Fleet,
}

/// `allcallinfoEx` closed loop over each side's agents in a call, `--connections` connections,
/// [`QUERY_ROUNDS`] rounds of `--duration` per side (one in smoke mode), the sides taking turns;
/// per side, its median round by rate and a note.
async fn allcallinfo_live(
    sides: &[QuerySide<'_>],
    opts: &BenchOpts,
    live: usize,
) -> anyhow::Result<Vec<(InterfaceRow, String)>> {
    let connections = if opts.smoke { 2 } else { opts.connections.max(1) };
    let duration = if opts.smoke { Duration::from_secs(1) } else { opts.duration() };
    let rounds = if opts.smoke { 1 } else { QUERY_ROUNDS };
    let load = load_average();
    let workloads: Vec<(Arc<AllCallInfo>, usize)> = sides
        .iter()
        .map(|side| {
            let agents: Vec<Arc<Agent>> = side.fleet.agents.iter().filter(|a| a.call_count() > 0).cloned().collect();
            let count = agents.len();
            (Arc::new(AllCallInfo(Arc::new(AgentDirectory::new(agents)))), count)
        })
        .collect();
    let mut results: Vec<Vec<InterfaceRow>> = vec![Vec::with_capacity(rounds); sides.len()];
    for _ in 0..rounds {
        for (i, side) in sides.iter().enumerate() {
            let clients = connect_clients(side.public, connections).await?;
            let (stats, elapsed) = closed_loop_for(workloads[i].0.clone(), clients, duration).await;
            results[i].push(stats.summarize(elapsed).into_iter().next().context("no allcallinfoEx row")?);
        }
    }
    let mut out = Vec::with_capacity(sides.len());
    for ((side, mut rows), (_, agents)) in sides.iter().zip(results).zip(&workloads) {
        let each: Vec<String> = rows.iter().map(|r| format!("{:.0}", r.rate_per_sec)).collect();
        rows.sort_by(|a, b| a.rate_per_sec.total_cmp(&b.rate_per_sec));
        let mut row = rows.swap_remove(rows.len() / 2);
        row.interface = side.name.to_owned();
        let note = format!(
            "{}: {live} live calls, queries by and of the {agents} agents in a call, {connections} connections, \
             {rounds} round(s) of {:.1} s, alternated with the other gateway's ({} req/s; the median reported), load \
             average {load} before",
            side.name,
            duration.as_secs_f64(),
            each.join(", ")
        );
        out.push((row, note));
    }
    Ok(out)
}

/// The live run's baseline: the same agents on a gateway with simulated telephony, `query_calls`
/// calls injected and answered from the desktops, kept up while the SIP calls are queried.
struct SimulatedSide {
    gateway: SpawnedGateway,
    public: Arc<Connector>,
    fleet: Fleet,
    /// Its memory per call.
    note: String,
}

impl SimulatedSide {
    async fn start(
        opts: &BenchOpts,
        sizes: &SipSizes,
        dir: &Path,
        hash: &str,
        env: Vec<(String, String)>,
    ) -> anyhow::Result<Self> {
        let layout = SipLayout::new(sizes.agents, &opts.access_code, None)?;
        let config = dir.join("ccgw-simulated.toml");
        std::fs::write(&config, layout.render(hash))?;
        let gateway = SpawnedGateway::start(&SpawnOptions {
            access_log: opts.access_log.clone(),
            config: Some(config),
            max_connections: Some(sizes.agents + 1000),
            env,
        })
        .await?;
        let public = Connector::new(gateway.public.clone())?;
        let admin = Connector::with_bearer(gateway.admin.clone(), &gateway.admin_token)?;
        let ids: Vec<u32> = layout.agents.ids().collect();
        let options = SignInOptions { password: opts.password.clone(), auto_enter_idle: true };
        let spread = if opts.smoke { Duration::ZERO } else { Duration::from_secs(5) };
        let fleet = Fleet::sign_in_spread(&public, &ids, CONNECTIONS, &options, spread).await?;
        tokio::time::sleep(if opts.smoke { Duration::from_millis(300) } else { spread + Duration::from_secs(2) }).await;
        let rss0 = rss_kib(gateway.pid);
        fleet.set_ring_policy(RingPolicy::Answer);
        let calls: Vec<InjectCall> = (0..sizes.query_calls)
            .map(|i| InjectCall {
                caller: format!("55{:06}", i + 1),
                access_code: opts.access_code.clone(),
                call_data: String::new(),
            })
            .collect();
        api::inject_calls(&admin, calls).await.context("injecting a call into the simulated gateway")?;
        let wait = Duration::from_secs(30) + Duration::from_millis(10 * sizes.query_calls as u64);
        if !wait_until(wait, || fleet.agents_in_call() >= sizes.query_calls).await {
            bail!("simulated: only {} of {} calls talking", fleet.agents_in_call(), sizes.query_calls);
        }
        fleet.set_ring_policy(RingPolicy::Ignore);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss1 = rss_kib(gateway.pid);
        let note = format!(
            "live (simulated): VmRSS {} with 0 live calls, {} with {} ({:.0} bytes per call)",
            mib(rss0),
            mib(rss1),
            sizes.query_calls,
            (rss1.saturating_sub(rss0) * 1024) as f64 / sizes.query_calls.max(1) as f64
        );
        Ok(Self { gateway, public, fleet, note })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_sip_configuration_the_gateway_reads() {
        let sip: SocketAddr = "127.0.0.1:5099".parse().unwrap();
        let layout = SipLayout::new(3, "10086", Some(sip)).unwrap();
        let text = layout.render("$argon2id$x");
        let config = ccgw_server::Config::from_toml_str(&text).expect("the gateway reads it");
        config.validate().expect("and accepts it");
        assert_eq!(config.telephony.kind, ccgw_server::config::TelephonyKind::Sip);
        assert_eq!(config.telephony.sip.listen, sip);
        let phones = &config.telephony.sip.phones;
        assert_eq!(phones.len(), 3);
        assert_eq!(phones[2].number, "7103");
        assert_eq!(phones[2].password.expose(), "bench-103");
        assert_eq!(config.agents.len(), 3);
        assert_eq!(config.agents[0].workno, 101);
        assert_eq!(config.agents[0].phone.as_deref(), Some("7101"));
        assert_eq!(config.skills[0].access_codes, vec!["10086".to_owned()]);

        let simulated = SipLayout::new(3, "10086", None).unwrap().render("$argon2id$x");
        let config = ccgw_server::Config::from_toml_str(&simulated).unwrap();
        config.validate().unwrap();
        assert_eq!(config.telephony.kind, ccgw_server::config::TelephonyKind::Simulated);
        assert!(SipLayout::new(1, "10086", None).is_err());
        assert!(SipLayout::new(3, "10\"86", None).is_err());
    }

    #[test]
    fn writes_the_phones_injection_file() {
        let layout = SipLayout::new(2, "10086", None).unwrap();
        assert_eq!(
            layout.phones_csv(),
            "SEQUENTIAL\n7101;[authentication username=7101 password=bench-101]\n\
             7102;[authentication username=7102 password=bench-102]\n"
        );
    }

    #[test]
    fn parses_sipp_statistics() {
        let text = "StartTime;LastResetTime;CurrentTime;ElapsedTime(P);ElapsedTime(C);TargetRate;CallRate(P);\
                    CallRate(C);IncomingCall(P);IncomingCall(C);OutgoingCall(P);OutgoingCall(C);TotalCallCreated;\
                    CurrentCall;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);\n\
                    a;b;c;00:00:01:000000;00:00:01:000000;10;1;1;0;0;1;1;1;1;0;0;0;0;\n\
                    a;b;c;00:00:01:000000;00:00:12:345678;10;1;1;0;0;1;1;120;3;0;115;0;2;\n";
        let stats = parse_sipp_stats(text).unwrap();
        assert_eq!(
            stats,
            SippStats {
                created: 120,
                successful: 115,
                failed: 2,
                current: 3,
                elapsed: Some(Duration::from_micros(12_345_678))
            }
        );
        assert_eq!(parse_sipp_stats("only a header\n"), None);
        assert_eq!(parse_sipp_time("01:02:03"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_sipp_time("00:00:02:500"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_sipp_time("00:00:02:500:250"), Some(Duration::from_micros(2_500_250)));
        assert_eq!(parse_sipp_time("00:00:02.000250"), Some(Duration::from_micros(2_000_250)));
        assert_eq!(parse_sipp_time("soon"), None);
    }

    #[test]
    fn parses_sipp_response_times() {
        let text = "Date_ms;response_time_ms;rtd_no\n1700000000000.1;1.25;answer\n1700000000001.2;0.75;answer\nbad\n";
        assert_eq!(parse_sipp_rtt(text), vec![1.25, 0.75]);
        assert!(parse_sipp_rtt("").is_empty());
        assert!(parse_sipp_rtt("x;y\n1;2\n").is_empty());
    }

    #[test]
    fn smoke_sizes_are_small() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            bench: BenchOpts,
        }
        let opts = Cli::try_parse_from(["bench", "--scenario", "sip", "--smoke"]).unwrap().bench.effective();
        let sizes = SipSizes::new(&opts);
        assert_eq!((sizes.agents, sizes.calls, sizes.live), (SMOKE_AGENTS, SMOKE_CALLS, SMOKE_LIVE));
        let opts = Cli::try_parse_from(["bench", "--scenario", "sip", "--sip-rate", "500", "--sip-talk-ms", "1000"])
            .unwrap()
            .bench
            .effective();
        let sizes = SipSizes::new(&opts);
        assert_eq!(sizes.runs, vec![SipRun::Calls, SipRun::Hold, SipRun::Live]);
        assert_eq!(sizes.calls, 5000);
        assert_eq!(sizes.agents, 5000);
        assert_eq!(sizes.query_calls, 1000);
    }
}

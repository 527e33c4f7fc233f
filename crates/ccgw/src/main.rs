//! `ccgw`: the command line. `serve` runs the gateway; `hash-password` prints a hash for the
//! configuration file; `simulate` and `bench` drive a gateway through its public interface.

#![forbid(unsafe_code)]

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use ccgw_server::Config;
use ccgw_server::config::StoreBackend;
use clap::{Parser, Subcommand};

/// jemalloc rather than the system allocator: under SIP load glibc's malloc keeps the memory of
/// finished calls (the SIP stack holds each call's transactions for 64 × T1 = 32 s, RFC 6026) and
/// never hands it back; jemalloc holds less meanwhile and returns it once the load stops
/// (docs/benchmarks.md, "Memory with completed SIP calls").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "ccgw",
    version,
    about = "An open-source agent gateway compatible with Huawei CC-Gateway's agent REST interface"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the gateway (with no config file: the embedded demo on https://0.0.0.0:8043).
    Serve(ServeArgs),
    /// Read a password from standard input and print its argon2id hash for `password_hash`.
    HashPassword(HashArgs),
    /// Sign in agents and play customer traffic against a gateway: the system, alive.
    Simulate(ccgw_load::SimulateOpts),
    /// Measure a gateway: throughput and latency per interface, next to a baseline.
    Bench(Box<ccgw_load::BenchOpts>),
    /// Print the OpenAPI 3.1 document of the agent interface (as served at
    /// /agentgateway/openapi.json and committed as docs/openapi.json).
    Openapi,
}

#[derive(clap::Args)]
struct HashArgs {
    /// argon2 memory cost in KiB (default: the OWASP recommendation, 19456).
    #[arg(long, default_value_t = argon2::Params::DEFAULT_M_COST)]
    memory_kib: u32,
    /// argon2 iterations (default 2).
    #[arg(long, default_value_t = argon2::Params::DEFAULT_T_COST)]
    iterations: u32,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "CCGW_CONFIG")]
    config: Option<PathBuf>,
    /// Address of the agent interface (overrides server.listen).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Address of the admin listener (overrides admin.listen).
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
    /// Serve plain HTTP, for use behind a TLS-terminating proxy.
    #[arg(long)]
    plain_http: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::HashPassword(args) => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(!password.is_empty(), "empty password");
            println!("{}", ccgw_server::gateway::hash_password_with(password, args.memory_kib, args.iterations)?);
            Ok(())
        }
        Command::Openapi => {
            print!("{}", ccgw_server::wire::openapi::document_text());
            Ok(())
        }
        Command::Simulate(opts) => runtime(None)?.block_on(ccgw_load::run_simulate(opts)),
        Command::Bench(opts) => runtime(None)?.block_on(async {
            let report = ccgw_load::run_bench(*opts).await?;
            ccgw_load::print_report(&report);
            let failures = report.failures();
            anyhow::ensure!(failures.is_empty(), "the bench failed its checks:\n  {}", failures.join("\n  "));
            Ok(())
        }),
    }
}

fn runtime(workers: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        b.worker_threads(n);
    }
    b.enable_all().build().context("starting the runtime")
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(l) = args.listen {
        config.server.listen = l;
    }
    if let Some(l) = args.admin_listen {
        config.admin.listen = Some(l);
    }
    if args.plain_http {
        config.server.plain_http = true;
    }
    config.validate()?;
    let _logs = ccgw_server::telemetry::init_logging(&config.log)?;
    let rt = runtime(Some(config.server.effective_worker_threads()))?;
    rt.block_on(async move {
        match config.store.backend {
            StoreBackend::Memory => {
                let server = ccgw_server::start(config).await?;
                shutdown_signal().await;
                tracing::info!("shutting down");
                server.shut_down().await;
            }
            StoreBackend::Redis => {
                let server = ccgw_server::start_redis(config).await?;
                shutdown_signal().await;
                tracing::info!("shutting down");
                server.shut_down().await;
            }
        }
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

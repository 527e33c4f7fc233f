//! A fixed number of keep-alive `allcallinfoEx` requests, for counting what the server spends per
//! request (instructions under callgrind, system calls under `perf stat`): see
//! docs/benchmarks.md, "The listener without axum".
//!
//! ```text
//! fixed_load <https://host:port> <requests> <connections> [--bare] [--warmup N]
//!            [--between 'shell command'] [--after 'shell command']
//! ```
//!
//! Each connection signs in its own agent (101, 102, ...; the demo password) unless `--bare`
//! (the bare TLS server answers anything), sends `--warmup` requests (default 200), then all
//! connections wait while `--between` runs (e.g. `callgrind_control -z <pid>`), send their
//! share of `<requests>` (closed loop: one request outstanding per connection), and `--after`
//! runs (e.g. `callgrind_control -d <pid>`). Prints the count, the time and one answer's body.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use ccgw_load::api::{self, SignInOptions, paths};
use ccgw_load::client::{Client, Connector, Target};
use hyper::Method;

fn run(cmd: &Option<String>) -> anyhow::Result<()> {
    if let Some(cmd) = cmd {
        let status = std::process::Command::new("sh").arg("-c").arg(cmd).status()?;
        if !status.success() {
            bail!("{cmd:?} failed: {status}");
        }
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().context("url")?;
    let requests: usize = args.next().context("requests")?.parse()?;
    let connections: usize = args.next().context("connections")?.parse()?;
    let (mut bare, mut warmup, mut between, mut after) = (false, 200usize, None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bare" => bare = true,
            "--warmup" => warmup = args.next().context("--warmup N")?.parse()?,
            "--between" => between = Some(args.next().context("--between CMD")?),
            "--after" => after = Some(args.next().context("--after CMD")?),
            other => bail!("unknown argument {other}"),
        }
    }
    let connector = Connector::new(Target::parse(&url)?)?;
    let per = requests / connections;
    let start = Arc::new(tokio::sync::Barrier::new(connections + 1));
    let ready = Arc::new(tokio::sync::Barrier::new(connections + 1));
    let mut tasks = Vec::new();
    for i in 0..connections {
        let connector = connector.clone();
        let (start, ready) = (start.clone(), ready.clone());
        tasks.push(tokio::spawn(async move {
            let agent = 101 + i as u32;
            let mut client = Client::connected(connector).await?;
            let session = if bare {
                None
            } else {
                let options = SignInOptions { password: api::DEMO_PASSWORD.into(), auto_enter_idle: true };
                Some(api::sign_in(&mut client, agent, &options).await?.session)
            };
            let path = paths::all_call_info(agent, agent);
            let mut body = Vec::new();
            let mut once = async |client: &mut Client| -> anyhow::Result<()> {
                let guid = session.as_ref().map_or_else(|| Arc::from("x"), |s| s.guid());
                let r = client.send(Method::GET, &path, None, Some(&guid)).await?;
                if let Some(s) = &session {
                    s.observe(&r);
                }
                if r.status != 200 || r.retcode != "0" {
                    bail!("answer {}: {}", r.status, r.describe());
                }
                body = r.body.to_vec();
                Ok(())
            };
            for _ in 0..warmup {
                once(&mut client).await?;
            }
            ready.wait().await;
            start.wait().await;
            for _ in 0..per {
                once(&mut client).await?;
            }
            anyhow::Ok(body)
        }));
    }
    ready.wait().await;
    run(&between)?;
    let began = Instant::now();
    start.wait().await;
    let mut body = Vec::new();
    for t in tasks {
        body = t.await??;
    }
    let took = began.elapsed();
    run(&after)?;
    println!(
        "{} requests over {connections} connections in {:.3} s ({:.0}/s); body {}",
        per * connections,
        took.as_secs_f64(),
        (per * connections) as f64 / took.as_secs_f64(),
        String::from_utf8_lossy(&body)
    );
    Ok(())
}

use clap::Parser;
use std::os::unix::process::CommandExt;

#[derive(Parser)]
enum Cmd {
    Bench(ccgw_load::BenchOpts),
    Simulate(ccgw_load::SimulateOpts),
    Serve {
        #[arg(long)]
        listen: String,
        #[arg(long)]
        admin_listen: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cmd::parse() {
        Cmd::Bench(opts) => ccgw_load::print_report(&ccgw_load::run_bench(opts).await?),
        Cmd::Simulate(opts) => ccgw_load::run_simulate(opts).await?,
        Cmd::Serve { listen, admin_listen } => {
            let token = std::env::var("CCGW_ADMIN__TOKEN")?;
            Err(std::process::Command::new("python3")
                .args(["/tmp/ccgwmock/mock.py", &listen, &admin_listen, &token])
                .exec())?
        }
    }
    Ok(())
}

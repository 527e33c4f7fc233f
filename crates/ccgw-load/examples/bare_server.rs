//! The bench's bare TLS server on its own, for counting its cost per request from outside
//! (docs/benchmarks.md, "The listener without axum"): `bare_server '<body>' [workers]` answers
//! every request head with a constant copy of `<body>` and the gateway's headers, prints
//! `listening <port>` and runs until standard input closes.

use std::io::Read;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let body = args.next().unwrap_or_else(|| r#"{"message":"","retcode":"0","result":[]}"#.into());
    let workers = args.next().map_or(Ok(2), |w| w.parse())?;
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let server = ccgw_load::BareServer::start(ccgw_load::bare_response(body.as_bytes(), &date), workers)?;
    println!("listening {}", server.addr.port());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}

//! The physical-limit baseline: a bare TLS server in the bench's own process that answers every
//! request with one constant response, as large as the seed interface's and with the same
//! headers, over the gateway's own TLS configuration (`ccgw_server::tls::server_config`).
//!
//! It does what no server can avoid — accept, handshake, decrypt the request, find the end of
//! its head, encrypt and write the answer — and nothing else: no routing, no parsing beyond
//! `\r\n\r\n`, no state, no log, no metrics. Its rate, measured with the same load in the same
//! run, is the ceiling the agent listener is compared with (the `bare ratio` column).
//!
//! It runs on its own runtime with as many worker threads as the gateway's default, so it shares
//! the machine with the load generator the way the spawned gateway does.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::provision::TempDir;

/// Read buffer per connection (the bench's requests are heads of ~250 bytes without a body).
const READ_BUFFER: usize = 4096;

/// A running bare server; stops (its runtime is shut down) when dropped.
pub struct BareServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _data_dir: TempDir,
}

/// The constant answer: `HTTP/1.1 200 OK`, the vendor's `Content-Type`, `Content-Length` and a
/// `Date` (fixed at start: same size as the gateway's), then `body`.
pub fn response(body: &[u8], date: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nDate: {date}\r\n\r\n",
        ccgw_server::api::JSON,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

impl BareServer {
    /// Starts the server on `127.0.0.1:0` with a certificate generated into a temporary
    /// directory, answering `response` to every request.
    pub fn start(response: Vec<u8>, worker_threads: usize) -> anyhow::Result<Self> {
        let data_dir = TempDir::new("ccgw-bare")?;
        let server = ccgw_server::config::ServerConfig { data_dir: data_dir.path().to_owned(), ..Default::default() };
        let (tls, _fingerprint) = ccgw_server::tls::server_config(&server)?;
        let acceptor = TlsAcceptor::from(tls);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding the bare server")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let response: Arc<[u8]> = response.into();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .thread_name("ccgw-bare")
            .enable_all()
            .build()
            .context("cannot build the bare server's runtime")?;
        let thread = std::thread::Builder::new().name("ccgw-bare".into()).spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else { return };
                tokio::select! {
                    _ = stopped => {}
                    _ = accept_loop(listener, acceptor, response) => {}
                }
            });
            runtime.shutdown_background();
        })?;
        Ok(Self { addr, stop: Some(stop), thread: Some(thread), _data_dir: data_dir })
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, response: Arc<[u8]>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let response = response.clone();
        tokio::spawn(async move {
            if let Ok(tls) = acceptor.accept(tcp).await {
                let _ = serve(tls, &response).await;
            }
        });
    }
}

/// Answers every complete request head in the buffer (pipelined ones included) with `response`.
async fn serve<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    response: &[u8],
) -> std::io::Result<()> {
    let mut buf = vec![0u8; READ_BUFFER];
    let mut filled = 0;
    let mut out = Vec::with_capacity(response.len());
    loop {
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        let mut start = 0;
        while let Some(end) = head_end(&buf[start..filled]) {
            out.extend_from_slice(response);
            start += end;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            return Ok(()); // a head larger than the buffer: not the bench's
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
}

/// Length of the first request head in `buf` (through `\r\n\r\n`), if complete.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_heads_and_builds_the_answer() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        let r = response(b"{}", "Wed, 02 Dec 2026 01:02:03 GMT");
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: 2\r\nDate: Wed, 02 Dec \
             2026 01:02:03 GMT\r\n\r\n{}"
        );
    }

    #[tokio::test]
    async fn answers_over_tls_with_the_constant_response() {
        use crate::client::{Client, Connector, Target};
        let body = br#"{"message":"success","retcode":"0","result":["1-1"]}"#;
        let server = BareServer::start(response(body, "Wed, 02 Dec 2026 01:02:03 GMT"), 1).unwrap();
        let target = Target::parse(&format!("https://127.0.0.1:{}", server.addr.port())).unwrap();
        let mut client = Client::connected(Connector::new(target).unwrap()).await.unwrap();
        for _ in 0..3 {
            let r = client.send(hyper::Method::GET, "/agentgateway/resource/x", None, Some("g")).await.unwrap();
            assert_eq!((r.status, r.retcode.as_str(), &r.body[..]), (200, "0", &body[..]));
        }
    }
}

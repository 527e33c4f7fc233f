//! Hand-rolled accept loop (TLS or plain) serving HTTP/1.1: an axum `Router` (admin) or an
//! [`crate::http1::App`] (the agent interface).
//!
//! `axum::serve` has no TLS, no handshake timeout and no connection cap, so we own the loop:
//! a semaphore caps live connections, the TLS handshake runs in the connection task under a
//! timeout, and shutdown drains connections through a `watch` broadcast.
//!
//! Two HTTP/1 servers run behind the same loop: hyper's ([`serve`], the admin listener) and our
//! own lean one ([`serve_lean`], `crate::http1`, the agent listener), whose connections cost
//! ~14 KB less while they wait in a long poll.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::config::ServerConfig;

/// How long shutdown waits for in-flight connections before closing them hard.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Per-listener resource limits.
#[derive(Clone, Debug)]
pub struct ListenerLimits {
    /// `agent` or `admin`: the `listener` label of the connection metrics.
    pub name: &'static str,
    /// Live connections; beyond this new sockets are accepted and closed immediately.
    pub max_connections: usize,
    /// Live connections from one source (an IPv4 address, an IPv6 /64); beyond this that
    /// source's new sockets are accepted and closed immediately. 0: no limit.
    pub max_connections_per_source: usize,
    /// Read buffer cap, which bounds the request head size (hyper needs at least 8192; the lean
    /// server enforces it exactly).
    pub max_header_bytes: usize,
    /// Request body cap of the lean server (a longer body reaches the app as a body that fails
    /// to read, and the connection closes after the answer). hyper leaves it to the app.
    pub max_body_bytes: usize,
    pub tls_handshake_timeout: Duration,
    /// hyper's header-read timer starts whenever the connection waits for a request head, so
    /// it bounds both keep-alive idle time and slow (slowloris) header delivery. The lean server
    /// does the same, and also bounds each request body and each response write by it.
    pub idle_timeout: Duration,
    /// The lean server's bound on receiving one request head: from its first byte (from the
    /// start of the connection for its first request) until the head is complete. A slow
    /// (slowloris) head is cut off after this rather than after `idle_timeout`.
    pub head_timeout: Duration,
}

impl ListenerLimits {
    /// The agent listener's limits.
    pub fn from_config(cfg: &ServerConfig) -> Self {
        Self {
            name: "agent",
            max_connections: cfg.max_connections,
            max_connections_per_source: cfg.max_connections_per_source,
            max_header_bytes: cfg.max_header_bytes,
            max_body_bytes: cfg.max_body_bytes,
            tls_handshake_timeout: cfg.tls_handshake_timeout(),
            idle_timeout: cfg.idle_timeout(),
            head_timeout: cfg.head_timeout(),
        }
    }
}

/// Connection lifecycle broadcast to every connection task.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    Running,
    /// Finish the in-flight request, then close.
    Draining,
    /// Drain timed out: drop the connection now.
    Abort,
}

/// Serves `app` on `listener` with hyper's HTTP/1 server until `shutdown` completes, then stops
/// accepting, asks every connection to finish its current request and waits up to
/// [`DRAIN_TIMEOUT`] for them.
///
/// Requests carry `ConnectInfo<SocketAddr>` with the peer address.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout);
    serve_with(listener, tls, app, limits, shutdown, || {}, Hyper(Arc::new(http))).await
}

/// [`serve`] with the lean HTTP/1.1 server of `crate::http1` instead of hyper's, calling `app`
/// directly (no `Router`): a 1 KiB read buffer per connection, a write buffer reused between
/// responses and released while a request waits. Used for the agent listener.
///
/// `on_draining` runs once shut-down has told every connection to finish (the gateway wakes its
/// waiting polls there, so that their answers go out with `Connection: close`).
pub(crate) async fn serve_lean<A: crate::http1::App>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Arc<A>,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_draining: impl FnOnce() + Send,
) -> std::io::Result<()> {
    let lean = Lean(Arc::new(limits.clone()), std::marker::PhantomData);
    serve_with(listener, tls, app, limits, shutdown, on_draining, lean).await
}

/// An HTTP server for one accepted (and, with TLS, handshaken) connection. Generic rather than
/// an enum so that each listener's connection task is only as large as its own server's future.
trait Protocol: Clone + Send + Sync + 'static {
    /// What each connection serves (cloned per connection).
    type App: Clone + Send + Sync + 'static;

    fn serve_connection<I>(
        &self,
        io: I,
        peer: SocketAddr,
        app: Self::App,
        phase: &mut watch::Receiver<Phase>,
    ) -> impl Future<Output = ()> + Send
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static;
}

#[derive(Clone)]
struct Hyper(Arc<hyper::server::conn::http1::Builder>);

impl Protocol for Hyper {
    type App = Router;

    async fn serve_connection<I>(&self, io: I, peer: SocketAddr, app: Router, phase: &mut watch::Receiver<Phase>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        serve_connection(&self.0, io, peer, app, phase).await
    }
}

struct Lean<A>(Arc<ListenerLimits>, std::marker::PhantomData<fn() -> A>);

impl<A> Clone for Lean<A> {
    fn clone(&self) -> Self {
        Lean(self.0.clone(), std::marker::PhantomData)
    }
}

impl<A: crate::http1::App> Protocol for Lean<A> {
    type App = Arc<A>;

    // Not an `async fn`: a wrapping future would keep its own copies of the arguments.
    fn serve_connection<I>(
        &self,
        io: I,
        peer: SocketAddr,
        app: Arc<A>,
        phase: &mut watch::Receiver<Phase>,
    ) -> impl Future<Output = ()> + Send
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        crate::http1::serve_connection(io, peer, app, &self.0, phase)
    }
}

/// The accept loop shared by both servers: connection caps (in all and per source), nodelay,
/// TLS handshake, metrics and the shut-down phases.
async fn serve_with<P: Protocol>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: P::App,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_draining: impl FnOnce() + Send,
    http: P,
) -> std::io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = u32::try_from(max).unwrap_or(u32::MAX);
    let max = permits as usize;
    let semaphore = Arc::new(Semaphore::new(max));
    let sources =
        (limits.max_connections_per_source > 0).then(|| Arc::new(Sources::new(limits.max_connections_per_source)));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let (phase_tx, phase_rx) = watch::channel(Phase::Running);
    let name = limits.name;
    let open = metrics::gauge!("ccgw_connections_open", "listener" => name);
    let rejected = |reason: &'static str| {
        metrics::counter!("ccgw_connections_rejected_total", "listener" => name, "reason" => reason).increment(1);
    };
    // One descriptor kept in reserve: when accept fails for want of descriptors, it is freed so
    // that the waiting client can be accepted and closed at once, instead of waiting in the
    // backlog until some other connection ends.
    let mut reserve = reserve_fd();
    let mut shed_next = false;
    let mut last_warning: Option<Instant> = None;

    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    if is_connection_error(&e) {
                        continue;
                    }
                    let out_of_fds = is_fd_exhaustion(&e);
                    if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                        last_warning = Some(Instant::now());
                        tracing::warn!(listener = name, error = %e, "accept failed");
                    }
                    if out_of_fds && reserve.take().is_some() {
                        shed_next = true;
                    } else {
                        // Back off instead of spinning.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        if reserve.is_none() {
                            reserve = reserve_fd();
                        }
                    }
                    continue;
                }
            },
        };
        if shed_next {
            shed_next = false;
            rejected("fd_limit");
            drop(stream);
            reserve = reserve_fd();
            continue;
        }

        let source = match &sources {
            None => None,
            Some(sources) => match sources.try_acquire(peer.ip()) {
                Some(slot) => Some(slot),
                None => {
                    // This source has its share: close at once, as when the listener is full.
                    rejected("per_source");
                    drop(stream);
                    continue;
                }
            },
        };
        let Ok(permit) = semaphore.clone().try_acquire_owned() else {
            // Full: close at once so clients fail fast instead of hanging in the backlog.
            rejected("max_connections");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);

        let acceptor = acceptor.clone();
        let app = app.clone();
        let http = http.clone();
        let mut phase = phase_rx.clone();
        let handshake_timeout = limits.tls_handshake_timeout;
        let open = open.clone();
        tokio::spawn(async move {
            let _slots = (permit, source);
            open.increment(1.0);
            match acceptor {
                None => http.serve_connection(stream, peer, app, &mut phase).await,
                Some(acceptor) => {
                    // Boxed for its duration only, so that the task keeps no room for it.
                    let handshake = Box::pin(handshake(&acceptor, stream, peer, handshake_timeout, &mut phase, name));
                    if let Some(tls) = handshake.await {
                        http.serve_connection(tls, peer, app, &mut phase).await;
                    }
                }
            }
            open.decrement(1.0);
        });
    }

    drop(listener);
    let _ = phase_tx.send(Phase::Draining);
    on_draining();
    // Every connection task holds a permit: all permits back = all connections closed.
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, semaphore.acquire_many(permits)).await;
    if drained.is_err() {
        tracing::warn!(
            listener = name,
            open = max - semaphore.available_permits(),
            "connections still open after drain timeout; closing them"
        );
        let _ = phase_tx.send(Phase::Abort);
    }
    Ok(())
}

/// Live connections per source: an IPv4 address, or an IPv6 /64 (what one host usually has to
/// itself). Sharded so that accepting (one task) and closing (any task) rarely meet on a lock.
struct Sources {
    max: u32,
    hasher: RandomState,
    shards: Box<[parking_lot::Mutex<HashMap<IpAddr, u32>>]>,
}

/// One connection's place in [`Sources`]; given back on drop.
struct SourceSlot {
    sources: Arc<Sources>,
    key: IpAddr,
}

impl Sources {
    const SHARDS: usize = 16;

    fn new(max: usize) -> Self {
        Self {
            max: u32::try_from(max).unwrap_or(u32::MAX),
            hasher: RandomState::new(),
            shards: (0..Self::SHARDS).map(|_| parking_lot::Mutex::new(HashMap::new())).collect(),
        }
    }

    fn key(ip: IpAddr) -> IpAddr {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
            v4 => v4,
        }
    }

    fn shard(&self, key: &IpAddr) -> &parking_lot::Mutex<HashMap<IpAddr, u32>> {
        &self.shards[self.hasher.hash_one(key) as usize % Self::SHARDS]
    }

    /// A slot for one more connection from `ip`, unless it has `max` already.
    fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<SourceSlot> {
        let key = Self::key(ip);
        let mut shard = self.shard(&key).lock();
        let n = shard.entry(key).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(SourceSlot { sources: self.clone(), key })
    }

    #[cfg(test)]
    fn count(&self, ip: IpAddr) -> u32 {
        let key = Self::key(ip);
        self.shard(&key).lock().get(&key).copied().unwrap_or(0)
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut shard = self.sources.shard(&self.key).lock();
        if let Some(n) = shard.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                shard.remove(&self.key);
            }
        }
    }
}

/// A spare descriptor (`/dev/null`), for [`serve_with`] to free when descriptors run out.
fn reserve_fd() -> Option<std::fs::File> {
    if cfg!(unix) { std::fs::File::open("/dev/null").ok() } else { None }
}

/// `EMFILE` or `ENFILE`: the process or the system is out of file descriptors.
fn is_fd_exhaustion(e: &std::io::Error) -> bool {
    use rustix::io::Errno;
    matches!(Errno::from_io_error(e), Some(Errno::MFILE | Errno::NFILE))
}

/// The TLS handshake under its time-out; `None` if it failed, timed out or shut-down began.
///
/// The stream comes back boxed: it is ~1.2 KB, and every future it is moved through would keep
/// a slot for it in the connection's task for the connection's whole life.
async fn handshake(
    acceptor: &tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    timeout: Duration,
    phase: &mut watch::Receiver<Phase>,
    listener: &'static str,
) -> Option<Box<tokio_rustls::server::TlsStream<TcpStream>>> {
    let handshake = tokio::time::timeout(timeout, acceptor.accept(stream));
    let result = tokio::select! {
        r = handshake => r,
        _ = phase.wait_for(|p| *p != Phase::Running) => return None,
    };
    match result {
        Ok(Ok(s)) => Some(Box::new(s)),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            metrics::counter!("ccgw_tls_handshake_failures_total", "listener" => listener).increment(1);
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            metrics::counter!("ccgw_tls_handshake_failures_total", "listener" => listener).increment(1);
            None
        }
    }
}

/// Runs hyper on one connection until it closes, honouring the shutdown phases.
async fn serve_connection<I>(
    http: &hyper::server::conn::http1::Builder,
    io: I,
    peer: SocketAddr,
    app: Router,
    phase: &mut watch::Receiver<Phase>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = app.map_request(move |mut req: axum::http::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req
    });
    let conn = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(svc));
    let mut conn = std::pin::pin!(conn);

    tokio::select! {
        r = conn.as_mut() => {
            log_conn_result(peer, r);
            return;
        }
        _ = phase.wait_for(|p| *p != Phase::Running) => {
            conn.as_mut().graceful_shutdown();
        }
    }
    tokio::select! {
        r = conn.as_mut() => log_conn_result(peer, r),
        _ = phase.wait_for(|p| *p == Phase::Abort) => {}
    }
}

fn log_conn_result(peer: SocketAddr, r: hyper::Result<()>) {
    if let Err(e) = r {
        // Timeouts, resets and malformed requests are routine on the open internet.
        tracing::debug!(%peer, error = %e, "connection ended with error");
    }
}

/// Per-connection accept errors that say nothing about the listener itself.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted)
}

/// Binds a TCP listener (thin wrapper kept for symmetry with tests and `main`).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::oneshot;

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("ccgw-{tag}-{}-{}", std::process::id(), uuid::Uuid::new_v4()))
    }

    fn app() -> Router {
        Router::new()
            .route("/", get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { format!("hello {}", peer.ip()) }))
    }

    fn limits(max_connections: usize, idle: Duration) -> ListenerLimits {
        ListenerLimits {
            name: "test",
            max_connections,
            max_connections_per_source: 0,
            max_header_bytes: 16_384,
            max_body_bytes: 65_536,
            tls_handshake_timeout: Duration::from_secs(5),
            idle_timeout: idle,
            head_timeout: idle,
        }
    }

    struct Running {
        addr: SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    impl Running {
        async fn stop(mut self) {
            if let Some(tx) = self.stop.take() {
                let _ = tx.send(());
            }
            tokio::time::timeout(Duration::from_secs(10), self.task)
                .await
                .expect("serve did not stop")
                .unwrap()
                .unwrap();
        }
    }

    async fn start(tls: Option<Arc<rustls::ServerConfig>>, limits: ListenerLimits) -> Running {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, tls, app(), limits, async {
            let _ = rx.await;
        }));
        Running { addr, stop: Some(tx), task }
    }

    /// Minimal HTTP/1.1 GET over a raw socket; returns the full response text.
    async fn raw_get(stream: &mut TcpStream, keep_alive: bool) -> String {
        let conn = if keep_alive { "keep-alive" } else { "close" };
        stream.write_all(format!("GET / HTTP/1.1\r\nHost: x\r\nConnection: {conn}\r\n\r\n").as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let mut out = Vec::new();
        loop {
            let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await.unwrap().unwrap();
            out.extend_from_slice(&buf[..n]);
            if n == 0 || out.windows(15).any(|w| w == b"hello 127.0.0.1") {
                break;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn tls_request_gets_200_with_peer() {
        let cfg = ServerConfig { data_dir: temp_dir("listener-tls"), ..ServerConfig::default() };
        let (tls, _fp) = crate::tls::server_config(&cfg).unwrap();
        let server = start(Some(tls), limits(16, Duration::from_secs(30))).await;

        let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
        let resp = client.get(format!("https://{}/", server.addr)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().await.unwrap(), "hello 127.0.0.1");

        // Plain HTTP against the TLS port fails cleanly (no hang).
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        let text = raw_get(&mut s, false).await;
        assert!(!text.contains("200 OK"));

        drop(client);
        server.stop().await;
        let _ = std::fs::remove_dir_all(&cfg.data_dir);
    }

    #[tokio::test]
    async fn plain_mode_works() {
        let server = start(None, limits(16, Duration::from_secs(30))).await;
        let resp = reqwest::get(format!("http://{}/", server.addr)).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().await.unwrap(), "hello 127.0.0.1");
        server.stop().await;
    }

    #[tokio::test]
    async fn connections_beyond_max_are_closed() {
        let server = start(None, limits(2, Duration::from_secs(30))).await;
        let mut a = TcpStream::connect(server.addr).await.unwrap();
        let mut b = TcpStream::connect(server.addr).await.unwrap();
        assert!(raw_get(&mut a, true).await.contains("200 OK"));
        assert!(raw_get(&mut b, true).await.contains("200 OK"));

        // Third connection: accepted and dropped at once.
        let mut c = TcpStream::connect(server.addr).await.unwrap();
        let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let mut buf = [0u8; 64];
        let r = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
            .await
            .expect("rejected connection should close promptly");
        assert!(matches!(r, Ok(0) | Err(_)), "got {r:?}");

        // Freeing a slot lets new connections in again.
        drop(a);
        let mut ok = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut d = TcpStream::connect(server.addr).await.unwrap();
            let _ = d.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
            let mut out = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(2), d.read_to_end(&mut out)).await;
            if String::from_utf8_lossy(&out).contains("200 OK") {
                ok = true;
                break;
            }
        }
        assert!(ok, "slot was not released");
        drop(b);
        server.stop().await;
    }

    #[test]
    fn sources_count_per_address_and_per_ipv6_64() {
        let sources = Arc::new(Sources::new(2));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = sources.try_acquire(a).unwrap();
        let a2 = sources.try_acquire(a).unwrap();
        assert!(sources.try_acquire(a).is_none(), "a third from the same address");
        // The same address mapped into IPv6 (a dual-stack listener) is the same source.
        assert!(sources.try_acquire("::ffff:10.0.0.1".parse().unwrap()).is_none());
        let b1 = sources.try_acquire(b).unwrap();
        assert_eq!((sources.count(a), sources.count(b)), (2, 1));
        drop(a1);
        assert_eq!(sources.count(a), 1);
        let a3 = sources.try_acquire(a).unwrap();
        drop((a2, a3, b1));
        assert_eq!((sources.count(a), sources.count(b)), (0, 0));
        assert!(sources.shards.iter().all(|s| s.lock().is_empty()), "entries are removed at zero");

        // IPv6: one /64 is one source.
        let x1 = sources.try_acquire("2001:db8:1:2::1".parse().unwrap()).unwrap();
        let _x2 = sources.try_acquire("2001:db8:1:2:ffff::9".parse().unwrap()).unwrap();
        assert!(sources.try_acquire("2001:db8:1:2::3".parse().unwrap()).is_none());
        assert!(sources.try_acquire("2001:db8:1:3::1".parse().unwrap()).is_some());
        drop(x1);
    }

    #[tokio::test]
    async fn one_source_is_capped_and_others_are_served() {
        let server =
            start(None, ListenerLimits { max_connections_per_source: 2, ..limits(8, Duration::from_secs(30)) }).await;
        let from = |ip: &str| {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
            socket.connect(server.addr)
        };
        let _held = [from("127.0.0.2").await.unwrap(), from("127.0.0.2").await.unwrap()];
        // The third from 127.0.0.2 is closed at once.
        let mut third = from("127.0.0.2").await.unwrap();
        let mut buf = [0u8; 16];
        let r = tokio::time::timeout(Duration::from_secs(2), third.read(&mut buf)).await.expect("closed promptly");
        assert!(matches!(r, Ok(0) | Err(_)), "got {r:?}");
        // Another source is served.
        let mut other = from("127.0.0.1").await.unwrap();
        assert!(raw_get(&mut other, false).await.contains("200 OK"));
        server.stop().await;
    }

    #[tokio::test]
    async fn idle_connections_are_closed() {
        let server = start(None, limits(4, Duration::from_millis(300))).await;
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        assert!(raw_get(&mut s, true).await.contains("200 OK"));
        let mut buf = [0u8; 64];
        let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("idle connection was not closed");
        assert!(matches!(r, Ok(0) | Err(_)), "got {r:?}");
        server.stop().await;
    }

    #[tokio::test]
    async fn shutdown_closes_idle_keepalive_connections() {
        let server = start(None, limits(4, Duration::from_secs(60))).await;
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        assert!(raw_get(&mut s, true).await.contains("200 OK"));
        let started = std::time::Instant::now();
        server.stop().await;
        assert!(started.elapsed() < DRAIN_TIMEOUT, "idle connection delayed shutdown");
        let mut buf = [0u8; 64];
        let r = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await.unwrap();
        assert!(matches!(r, Ok(0) | Err(_)), "got {r:?}");
    }
}

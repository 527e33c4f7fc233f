//! `ccgw serve` as a process: what only a real process shows (its open-files limit, its log).
//! std only: the child is driven over plain TCP, its JSON log read from its standard output.

#![cfg(unix)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A `ccgw serve` child with its log lines.
struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
    addr: SocketAddr,
    data_dir: std::path::PathBuf,
}

impl Serve {
    /// Starts `ccgw serve` on a free loopback port, under `sh -c "<prelude>; exec ccgw serve"`,
    /// and waits until the agent interface listens.
    fn start(prelude: &str, env: &[(&str, &str)]) -> Serve {
        let data_dir = std::env::temp_dir().join(format!("ccgw-serve-test-{}-{}", std::process::id(), rand_suffix()));
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("{prelude}\nexec \"$0\" serve --listen 127.0.0.1:0"))
            .arg(env!("CARGO_BIN_EXE_ccgw"))
            .env("CCGW_ADMIN__LISTEN", "off")
            .env("CCGW_LOG__FORMAT", "json")
            .env("CCGW_LOG__LEVEL", "info")
            .env("CCGW_LOG__ACCESS_LOG", "off")
            .env("CCGW_SERVER__DATA_DIR", &data_dir)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("starting ccgw serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut serve = Serve { child, lines, log: Vec::new(), addr: "0.0.0.0:0".parse().unwrap(), data_dir };
        let line = serve.wait_for("agent interface listening", Duration::from_secs(60));
        let addr = field(&line, "addr").expect("addr in the listening line");
        serve.addr = addr.parse().unwrap();
        serve
    }

    /// The first log line (from the start) containing `text`.
    fn wait_for(&mut self, text: &str, within: Duration) -> String {
        if let Some(l) = self.log.iter().find(|l| l.contains(text)) {
            return l.clone();
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!("no log line with {text:?}; log so far:\n{}", self.log.join("\n")),
            }
        }
    }

    /// SIGTERM, then the rest of the log until the process exits.
    fn stop(mut self) -> Vec<String> {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Ok(line) = self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            self.log.push(line);
        }
        let status = self.child.wait().unwrap();
        assert!(status.success(), "ccgw serve exited with {status}; log:\n{}", self.log.join("\n"));
        let _ = std::fs::remove_dir_all(&self.data_dir);
        std::mem::take(&mut self.log)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// A string or number field of a flat JSON log line (enough for these tests).
fn field(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!("\"{name}\":"))? + name.len() + 3;
    let rest = &line[start..];
    Some(match rest.strip_prefix('"') {
        Some(s) => s[..s.find('"')?].to_owned(),
        None => rest[..rest.find([',', '}'])?].to_owned(),
    })
}

/// With few file descriptors, clients beyond what fits are refused at once (closed), not left
/// waiting in the listen backlog until some descriptor frees up; and the log says why.
#[test]
fn with_a_low_open_files_limit_extra_clients_are_refused_promptly() {
    let mut serve = Serve::start("ulimit -n 128 || exit 97", &[("CCGW_SERVER__MAX_CONNECTIONS_PER_SOURCE", "0")]);
    // 128 descriptors, 64 of them reserved for the process itself.
    let cap = 64;

    // Silent sockets: each accepted one waits in its TLS handshake (10 s) and holds a descriptor.
    let clients = 130;
    let mut sockets: Vec<Option<TcpStream>> = (0..clients)
        .map(|_| {
            let s = TcpStream::connect(serve.addr).unwrap();
            s.set_nonblocking(true).unwrap();
            Some(s)
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut closed = 0;
    while Instant::now() < deadline && closed < clients - cap {
        for slot in sockets.iter_mut() {
            let Some(s) = slot else { continue };
            let mut buf = [0u8; 64];
            match s.read(&mut buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                _ => {
                    *slot = None;
                    closed += 1;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(closed, clients - cap, "clients beyond the {cap} that fit were not closed within 2 s");
    drop(sockets);
    let line = serve.wait_for("lowered", Duration::from_secs(1));
    assert_eq!(field(&line, "configured").as_deref(), Some("20000"), "{line}");
    assert_eq!(field(&line, "open_files_limit").as_deref(), Some("128"), "{line}");
    assert_eq!(field(&line, "max_connections"), Some(cap.to_string()), "{line}");
    let log = serve.stop();
    assert!(!log.iter().any(|l| l.contains("accept failed")), "ran out of descriptors:\n{}", log.join("\n"));
}

/// A TLS ClientHello offering TLS 1.3 whose SNI extension carries `names` as host names.
fn client_hello(names: &[&str]) -> Vec<u8> {
    let mut list = Vec::new();
    for name in names {
        list.push(0u8); // host_name
        list.extend_from_slice(&(name.len() as u16).to_be_bytes());
        list.extend_from_slice(name.as_bytes());
    }
    let mut sni = (list.len() as u16).to_be_bytes().to_vec();
    sni.extend_from_slice(&list);
    let mut extensions = vec![0, 0]; // server_name
    extensions.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    extensions.extend_from_slice(&sni);

    let mut body = vec![3, 3];
    body.extend_from_slice(&[7u8; 32]); // random
    body.push(0); // session id
    body.extend_from_slice(&[0, 2, 0x13, 0x01]); // TLS_AES_128_GCM_SHA256
    body.extend_from_slice(&[1, 0]); // null compression
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);

    let mut handshake = vec![1]; // client_hello
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![22, 3, 1];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Sends `hello` and waits for the server's answer (an alert) and close.
fn send_hello(addr: SocketAddr, hello: &[u8]) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(hello).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
}

/// Clients that connect by IP address often send it as SNI (illegal, ignored by rustls): that is
/// not worth a warning per connection. rustls's other warnings still reach the log.
#[test]
fn an_ip_address_sent_as_sni_is_not_logged_other_tls_warnings_are() {
    let serve = Serve::start("", &[]);
    for _ in 0..3 {
        send_hello(serve.addr, &client_hello(&["127.0.0.1"]));
    }
    send_hello(serve.addr, &client_hello(&["a.example", "b.example"]));
    let log = serve.stop();
    let text = log.join("\n");
    assert!(!text.contains("ignoring IP address"), "{text}");
    assert!(text.contains("Illegal SNI extension: duplicate host_name received"), "{text}");
    assert!(text.contains("shutting down"), "{text}");
}

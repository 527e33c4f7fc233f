//! The access log: one JSON line per request, written off the request path in batches.
//!
//! A request formats its line straight into a **shard**'s buffer: one of a few cache-padded,
//! mutex'd byte buffers, picked once per thread (so the lock is as good as uncontended). No
//! allocation per line: integers go through [`itoa_buf`], the timestamp's date and time of day
//! are formatted once per second per shard, and every other field is a static string or a
//! socket address written in place. A shard that reaches [`AccessLog::batch_bytes`] is swapped
//! for a spare buffer and handed, as one batch, to the writer thread over a bounded channel;
//! the writer also sweeps every shard every [`FLUSH_INTERVAL`], so a quiet thread's lines reach
//! the file within that time.
//!
//! Memory is bounded: the shards' buffers, at most `queue_batches` batches in the channel and
//! the one being written. When the channel is full (the disk does not keep up) the batch is
//! **dropped, not waited for**: its lines are counted (`ccgw_access_log_dropped_lines_total` on
//! /metrics), and the writer logs a warning (at most once a second) with the count. As long as
//! the disk keeps up, no line is lost; lines of different threads reach the file in batches, so
//! the file is ordered by batch, not strictly by time (every line has its timestamp).
//!
//! Only what the caller passes is written: the interface's log name, HTTP method, agent id,
//! retcode, status, latency and peer. Never a GUID or a password: there is no field for them.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::http1::itoa_buf;

/// The writer sweeps the shards (and flushes) at least this often.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// A shard's buffer is handed to the writer when it holds this much.
pub const BATCH_BYTES: usize = 64 * 1024;
/// Batches waiting for the writer (with [`BATCH_BYTES`]: 8 MiB, ~40 000 lines).
pub const QUEUE_BATCHES: usize = 128;
/// At most one "lines dropped" warning per this interval.
const WARN_INTERVAL: Duration = Duration::from_secs(1);
/// Name of the dropped-lines counter.
pub const DROPPED_METRIC: &str = "ccgw_access_log_dropped_lines_total";

/// One request's line.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub method: &'static str,
    pub http_method: &'a str,
    pub agent: Option<u32>,
    pub retcode: &'static str,
    pub status: u16,
    pub latency_us: u64,
    pub peer: Option<SocketAddr>,
}

/// A full buffer on its way to the writer.
struct Batch {
    buf: Vec<u8>,
    lines: u64,
}

/// The lines a thread is collecting. Aligned so that two shards never share a cache line.
#[repr(align(128))]
struct Shard(Mutex<ShardBuf>);

struct ShardBuf {
    buf: Vec<u8>,
    lines: u64,
    /// Unix second of `stamp`, and `YYYY-MM-DDTHH:MM:SS.` for it.
    second: u64,
    stamp: [u8; 20],
}

/// The access log's shared state: shards, the channel to the writer, counters.
pub struct AccessLog {
    shards: Box<[Shard]>,
    tx: SyncSender<Batch>,
    /// Emptied buffers coming back from the writer, for the shards to reuse.
    spares: Mutex<Vec<Vec<u8>>>,
    batch_bytes: usize,
    /// Lines dropped (channel full, or the sink failed).
    dropped: AtomicU64,
    /// Lines handed to the sink successfully.
    written: AtomicU64,
    stop: AtomicBool,
}

/// Keeps the writer thread; dropping it (or [`AccessLogWriter::finish`]) writes every line
/// recorded so far and stops the thread.
#[must_use = "dropping the writer stops the access log"]
pub struct AccessLogWriter {
    log: Arc<AccessLog>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AccessLog {
    /// Opens the access log `setting` (`"off"`, `"stdout"`, or a file path appended to).
    pub fn open(setting: &str) -> anyhow::Result<Option<(Arc<AccessLog>, AccessLogWriter)>> {
        use anyhow::Context as _;
        let sink: Box<dyn Write + Send> = match setting {
            "off" => return Ok(None),
            "stdout" => Box::new(std::io::stdout()),
            path => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening access log {path}"))?,
            ),
        };
        Self::start(sink, BATCH_BYTES, QUEUE_BATCHES).map(Some)
    }

    /// An access log writing to `sink`, with `batch_bytes` per batch and at most
    /// `queue_batches` batches waiting for the writer.
    pub fn start(
        sink: Box<dyn Write + Send>,
        batch_bytes: usize,
        queue_batches: usize,
    ) -> anyhow::Result<(Arc<AccessLog>, AccessLogWriter)> {
        let shards = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
        let (tx, rx) = std::sync::mpsc::sync_channel(queue_batches.max(1));
        let log = Arc::new(AccessLog {
            shards: (0..shards.max(4))
                .map(|_| {
                    Shard(Mutex::new(ShardBuf {
                        buf: Vec::with_capacity(batch_bytes),
                        lines: 0,
                        second: u64::MAX,
                        stamp: [0; 20],
                    }))
                })
                .collect(),
            tx,
            spares: Mutex::new(Vec::new()),
            batch_bytes: batch_bytes.max(1),
            dropped: AtomicU64::new(0),
            written: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        metrics::counter!(DROPPED_METRIC).increment(0);
        let shared = log.clone();
        let thread =
            std::thread::Builder::new().name("ccgw-access-log".into()).spawn(move || write_loop(&shared, &rx, sink))?;
        Ok((log.clone(), AccessLogWriter { log, thread: Some(thread) }))
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Lines written so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Appends one request's line (never blocks on the writer).
    pub fn record(&self, line: &Line<'_>) {
        self.append(|shard, now| {
            shard.open_line(now, "INFO");
            let b = &mut shard.buf;
            field_str(b, "method", line.method);
            field_str(b, "http_method", line.http_method);
            if let Some(agent) = line.agent {
                field_num(b, "agent", u64::from(agent));
            }
            field_str(b, "retcode", line.retcode);
            field_num(b, "status", u64::from(line.status));
            field_num(b, "latency_us", line.latency_us);
            if let Some(peer) = line.peer {
                field_name(b, "peer");
                b.push(b'"');
                match peer {
                    SocketAddr::V4(v4) => {
                        write_ip(b, IpAddr::V4(*v4.ip()));
                        b.push(b':');
                        b.extend_from_slice(itoa_buf(usize::from(v4.port())).as_bytes());
                    }
                    SocketAddr::V6(v6) => {
                        let _ = write!(b, "{v6}");
                    }
                }
                b.push(b'"');
            }
        });
    }

    /// The `guid_bypass` line (see [`super::guid_bypass`]).
    pub fn record_guid_bypass(&self, agent: u32, peer: Option<IpAddr>) {
        self.append(|shard, now| {
            shard.open_line(now, "WARN");
            let b = &mut shard.buf;
            field_str(b, "message", "request without Guid accepted from a trusted network");
            field_str(b, "event", "guid_bypass");
            field_num(b, "agent", u64::from(agent));
            if let Some(peer) = peer {
                field_name(b, "peer");
                b.push(b'"');
                write_ip(b, peer);
                b.push(b'"');
            }
        });
    }

    fn append(&self, write: impl FnOnce(&mut ShardBuf, SystemTime)) {
        let now = SystemTime::now();
        let mut shard = self.shards[shard_index(self.shards.len())].0.lock();
        write(&mut shard, now);
        shard.buf.extend_from_slice(b"}\n");
        shard.lines += 1;
        if shard.buf.len() >= self.batch_bytes {
            let batch = self.take(&mut shard);
            drop(shard);
            self.send(batch);
        }
    }

    /// Swaps a shard's lines for an empty buffer.
    fn take(&self, shard: &mut ShardBuf) -> Batch {
        let spare = self.spares.lock().pop().unwrap_or_else(|| Vec::with_capacity(self.batch_bytes));
        Batch { buf: std::mem::replace(&mut shard.buf, spare), lines: std::mem::take(&mut shard.lines) }
    }

    fn send(&self, batch: Batch) {
        if let Err(TrySendError::Full(batch) | TrySendError::Disconnected(batch)) = self.tx.try_send(batch) {
            self.dropped.fetch_add(batch.lines, Ordering::Relaxed);
            self.recycle(batch.buf);
        }
    }

    fn recycle(&self, mut buf: Vec<u8>) {
        buf.clear();
        let mut spares = self.spares.lock();
        // Bounded: buffers beyond the shards' count are freed.
        if spares.len() < self.shards.len() {
            spares.push(buf);
        }
    }
}

impl AccessLogWriter {
    /// Writes every line recorded so far and stops the writer thread.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.log.stop.store(true, Ordering::Release);
            // Wakes the writer (blocking is fine: it is draining the channel).
            let _ = self.log.tx.send(Batch { buf: Vec::new(), lines: 0 });
            let _ = thread.join();
        }
    }
}

impl Drop for AccessLogWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The writer thread: writes batches as they come, sweeps the shards every [`FLUSH_INTERVAL`],
/// reports drops; on stop, writes everything left.
fn write_loop(log: &AccessLog, rx: &Receiver<Batch>, mut sink: Box<dyn Write + Send>) {
    let dropped_metric = metrics::counter!(DROPPED_METRIC);
    let mut reported = 0u64;
    let mut warned_at: Option<Instant> = None;
    let mut swept_at = Instant::now();
    let write = |batch: Batch, sink: &mut Box<dyn Write + Send>| {
        if batch.lines > 0 {
            match sink.write_all(&batch.buf) {
                Ok(()) => log.written.fetch_add(batch.lines, Ordering::Relaxed),
                Err(_) => log.dropped.fetch_add(batch.lines, Ordering::Relaxed),
            };
        }
        if batch.buf.capacity() > 0 {
            log.recycle(batch.buf);
        }
    };
    loop {
        let stopping = log.stop.load(Ordering::Acquire);
        match rx.recv_timeout(FLUSH_INTERVAL) {
            Ok(batch) => write(batch, &mut sink),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if stopping || swept_at.elapsed() >= FLUSH_INTERVAL {
            while let Ok(batch) = rx.try_recv() {
                write(batch, &mut sink);
            }
            for shard in &log.shards {
                let mut shard = shard.0.lock();
                if shard.lines > 0 {
                    let batch = log.take(&mut shard);
                    drop(shard);
                    write(batch, &mut sink);
                }
            }
            let _ = sink.flush();
            swept_at = Instant::now();
            let dropped = log.dropped.load(Ordering::Relaxed);
            if dropped > reported && (stopping || warned_at.is_none_or(|t| t.elapsed() >= WARN_INTERVAL)) {
                dropped_metric.increment(dropped - reported);
                tracing::warn!(
                    dropped = dropped - reported,
                    dropped_total = dropped,
                    "access log: {} lines dropped: the writer could not keep up with the requests",
                    dropped - reported
                );
                reported = dropped;
                warned_at = Some(Instant::now());
            }
            if stopping {
                return;
            }
        }
    }
}

/// This thread's shard (assigned round-robin on first use).
fn shard_index(shards: usize) -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    INDEX.with(|i| *i % shards)
}

impl ShardBuf {
    /// `{"timestamp":"2026-12-02T02:00:41.574446Z","level":"INFO"` (as tracing-subscriber's
    /// JSON format wrote it before).
    fn open_line(&mut self, now: SystemTime, level: &str) {
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        if secs != self.second {
            self.second = secs;
            self.stamp = rfc3339_second(secs);
        }
        let b = &mut self.buf;
        b.extend_from_slice(b"{\"timestamp\":\"");
        b.extend_from_slice(&self.stamp);
        let micros = itoa_buf(since.subsec_micros() as usize + 1_000_000);
        b.extend_from_slice(&micros.as_bytes()[1..]);
        b.extend_from_slice(b"Z\",\"level\":\"");
        b.extend_from_slice(level.as_bytes());
        b.push(b'"');
    }
}

/// `YYYY-MM-DDTHH:MM:SS.` of a Unix second (UTC).
fn rfc3339_second(secs: u64) -> [u8; 20] {
    let c = ccgw_domain::civil::civil_from_ms(secs.saturating_mul(1000));
    let mut out = [0u8; 20];
    let mut put = |at: usize, value: u64, width: usize| {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, c.year.clamp(0, 9999) as u64, 4);
    put(5, u64::from(c.month), 2);
    put(8, u64::from(c.day), 2);
    put(11, u64::from(c.hour), 2);
    put(14, u64::from(c.minute), 2);
    put(17, u64::from(c.second), 2);
    for (at, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.')] {
        out[at] = c;
    }
    out
}

/// `,"name":"value"` (the value JSON-escaped).
fn field_str(b: &mut Vec<u8>, name: &str, value: &str) {
    field_name(b, name);
    b.push(b'"');
    escape(b, value);
    b.push(b'"');
}

fn field_num(b: &mut Vec<u8>, name: &str, value: u64) {
    field_name(b, name);
    b.extend_from_slice(itoa_buf(value as usize).as_bytes());
}

/// An address as `Display` writes it; IPv4 without the formatting machinery (it was the largest
/// part of a line's cost in the profile).
fn write_ip(b: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    b.push(b'.');
                }
                b.extend_from_slice(itoa_buf(usize::from(octet)).as_bytes());
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(b, "{v6}");
        }
    }
}

fn field_name(b: &mut Vec<u8>, name: &str) {
    b.extend_from_slice(b",\"");
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(b"\":");
}

/// JSON string escaping (the values are ASCII tokens in practice; anything else is escaped).
fn escape(b: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'"' || c == b'\\' || c < 0x20 {
            b.extend_from_slice(&bytes[start..i]);
            match c {
                b'"' => b.extend_from_slice(b"\\\""),
                b'\\' => b.extend_from_slice(b"\\\\"),
                b'\n' => b.extend_from_slice(b"\\n"),
                _ => {
                    let _ = write!(b, "\\u{c:04x}");
                }
            }
            start = i + 1;
        }
    }
    b.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A sink that keeps what it is given (shared with the test).
    #[derive(Clone, Default)]
    struct Collect(Arc<Mutex<Vec<u8>>>);

    impl Write for Collect {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn line(agent: Option<u32>, peer: Option<SocketAddr>) -> Line<'static> {
        Line {
            method: "getAgentStatus",
            http_method: "GET",
            agent,
            retcode: "100-006",
            status: 200,
            latency_us: 472,
            peer,
        }
    }

    #[test]
    fn lines_have_the_fields_and_format_of_before() {
        let sink = Collect::default();
        let (log, writer) = AccessLog::start(Box::new(sink.clone()), BATCH_BYTES, 4).unwrap();
        log.record(&line(Some(101), Some("127.0.0.1:59056".parse().unwrap())));
        log.record(&Line { http_method: "WEIRD\"\\\n", ..line(None, None) });
        log.record(&line(Some(59_999), Some("[::1]:8043".parse().unwrap())));
        log.record(&line(Some(102), Some("0.10.200.255:0".parse().unwrap())));
        log.record_guid_bypass(102, Some("10.0.0.1".parse().unwrap()));
        writer.finish();
        let text = String::from_utf8(sink.0.lock().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        // Timestamp: RFC 3339, microseconds, UTC.
        let stamp = &lines[0][14..41];
        assert!(stamp.len() == 27 && stamp.ends_with('Z') && &stamp[4..5] == "-" && &stamp[10..11] == "T", "{stamp}");
        assert_eq!(
            &lines[0][41..],
            "\",\"level\":\"INFO\",\"method\":\"getAgentStatus\",\"http_method\":\"GET\",\"agent\":101,\
             \"retcode\":\"100-006\",\"status\":200,\"latency_us\":472,\"peer\":\"127.0.0.1:59056\"}"
        );
        assert!(lines[0].starts_with("{\"timestamp\":\""));
        for l in &lines {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["timestamp"].is_string());
        }
        let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second["http_method"], "WEIRD\"\\\n");
        assert!(second.get("agent").is_none() && second.get("peer").is_none(), "{second}");
        let peer = |l: &str| serde_json::from_str::<serde_json::Value>(l).unwrap()["peer"].clone();
        assert_eq!((peer(lines[2]), peer(lines[3])), ("[::1]:8043".into(), "0.10.200.255:0".into()));
        let third: serde_json::Value = serde_json::from_str(lines[4]).unwrap();
        assert_eq!(
            third,
            serde_json::json!({"timestamp": third["timestamp"], "level": "WARN",
                "message": "request without Guid accepted from a trusted network",
                "event": "guid_bypass", "agent": 102, "peer": "10.0.0.1"})
        );
        assert_eq!((log.written(), log.dropped()), (5, 0));
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(&rfc3339_second(0), b"1970-01-01T00:00:00.");
        assert_eq!(&rfc3339_second(951_782_400 + 3_661), b"2000-02-29T01:01:01.");
        assert_eq!(&rfc3339_second(1_796_176_841), b"2026-12-02T02:00:41.");
        assert_eq!(&rfc3339_second(4_102_444_799), b"2099-12-31T23:59:59.");
    }

    /// A sink that blocks until the test lets it go: the disk does not keep up.
    struct Stuck(Mutex<mpsc::Receiver<()>>, Collect);

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.lock().recv();
            self.1.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_writer_that_cannot_keep_up_drops_and_counts_instead_of_blocking() {
        let (release, gate) = mpsc::channel();
        let kept = Collect::default();
        // Tiny: a batch per ~2 lines, one batch in the queue.
        let (log, writer) = AccessLog::start(Box::new(Stuck(Mutex::new(gate), kept.clone())), 300, 1).unwrap();
        const N: u64 = 20_000;
        for i in 0..N {
            log.record(&Line { latency_us: i, ..line(Some(101), None) });
        }
        // The writer took at most one batch and one waits in the queue: nearly all are dropped,
        // and recording returned (it did not wait for the stuck sink).
        let dropped = log.dropped();
        assert!(dropped > N - 100, "dropped {dropped} of {N}");
        drop(release); // the sink now writes (recv fails at once)
        writer.finish();
        let text = String::from_utf8(kept.0.lock().clone()).unwrap();
        let lines = text.lines().count() as u64;
        assert_eq!(lines, log.written());
        assert_eq!(lines + log.dropped(), N, "every line is written or counted as dropped");
        assert!(text.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    }
}

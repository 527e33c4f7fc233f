//! Operating-system helpers: the open-files limit and a process's resident memory.

use std::fmt;

/// The open-files limit (`RLIMIT_NOFILE`) before and after [`raise_nofile_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NofileLimit {
    pub soft_before: u64,
    pub hard_before: u64,
    pub soft: u64,
    pub hard: u64,
}

impl fmt::Display for NofileLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "open-files limit (RLIMIT_NOFILE): soft {} -> {}", self.soft_before, self.soft)?;
        if self.hard != self.hard_before {
            write!(f, ", hard {} -> {}", self.hard_before, self.hard)
        } else {
            write!(f, " (hard {})", self.hard)
        }
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. When the hard limit is
/// below `wanted`, first tries to raise the hard limit to `wanted` too (works
/// for root / `CAP_SYS_RESOURCE`, up to `fs.nr_open`; silently kept otherwise).
/// A spawned gateway inherits the result.
#[cfg(unix)]
pub fn raise_nofile_limit(wanted: u64) -> std::io::Result<NofileLimit> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let before = getrlimit(Resource::Nofile);
    // `None` means unlimited.
    let soft_before = before.current.unwrap_or(u64::MAX);
    let hard_before = before.maximum.unwrap_or(u64::MAX);
    let mut hard = hard_before;
    if hard < wanted {
        let raised = Rlimit { current: Some(wanted), maximum: Some(wanted) };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            hard = wanted;
        }
    }
    let soft = soft_before.max(hard);
    setrlimit(Resource::Nofile, Rlimit { current: Some(soft), maximum: Some(hard) }).map_err(std::io::Error::from)?;
    let after = getrlimit(Resource::Nofile);
    Ok(NofileLimit {
        soft_before,
        hard_before,
        soft: after.current.unwrap_or(u64::MAX),
        hard: after.maximum.unwrap_or(u64::MAX),
    })
}

#[cfg(not(unix))]
pub fn raise_nofile_limit(_wanted: u64) -> std::io::Result<NofileLimit> {
    Err(std::io::Error::other("RLIMIT_NOFILE is a Unix concept"))
}

/// Resident memory of a process, from `/proc/<pid>/status` (Linux).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Memory {
    /// `VmRSS`: resident set size now, KiB.
    pub rss_kib: u64,
    /// `VmHWM`: peak resident set size, KiB.
    pub hwm_kib: u64,
}

/// Reads `VmRSS` and `VmHWM` of `pid` (`None`: this process).
pub fn process_memory(pid: Option<u32>) -> anyhow::Result<Memory> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?;
    parse_status(&text).ok_or_else(|| anyhow::anyhow!("{path} has no VmRSS/VmHWM lines"))
}

fn parse_status(text: &str) -> Option<Memory> {
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some(Memory { rss_kib: field("VmRSS:")?, hwm_kib: field("VmHWM:")? })
}

/// CPU time a process has used, user + system, from `/proc/<pid>/stat` (`None`: this process).
/// The fields count clock ticks of `USER_HZ`, which Linux fixes at 100 per second.
pub fn process_cpu(pid: Option<u32>) -> anyhow::Result<std::time::Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?;
    parse_stat_cpu(&text).ok_or_else(|| anyhow::anyhow!("{path} has no utime/stime"))
}

/// utime (field 14) + stime (field 15); the command name (field 2) may contain spaces and
/// parentheses, so fields are counted from the last `)`.
fn parse_stat_cpu(text: &str) -> Option<std::time::Duration> {
    const USER_HZ: u64 = 100;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(std::time::Duration::from_millis((utime + stime) * 1000 / USER_HZ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let text = "Name:\tccgw\nVmPeak:\t  900 kB\nVmHWM:\t  812345 kB\nVmRSS:\t  800000 kB\nThreads:\t4\n";
        assert_eq!(parse_status(text), Some(Memory { rss_kib: 800_000, hwm_kib: 812_345 }));
        assert_eq!(parse_status("Name: x\n"), None);
    }

    #[test]
    fn parses_proc_stat_cpu() {
        let text = "4242 (ccgw (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 9 0 100 1000 10";
        assert_eq!(parse_stat_cpu(text), Some(std::time::Duration::from_millis(3250)));
        assert_eq!(parse_stat_cpu("1 (x) S 1 2"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_own_cpu() {
        let before = process_cpu(None).unwrap();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu(None).unwrap() > before);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_own_memory() {
        let memory = process_memory(None).unwrap();
        assert!(memory.rss_kib > 0 && memory.hwm_kib >= memory.rss_kib);
    }
}

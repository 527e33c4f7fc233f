//! The bench report: serializable results and the one-screen table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::stats::InterfaceRow;

/// Everything `ccgw bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub target: String,
    /// Whether the bench started its own gateway child process.
    pub spawned_gateway: bool,
    /// Agents in the configuration the bench generated for its gateway (None: demo or --target).
    pub provisioned_agents: Option<usize>,
    pub agents: usize,
    /// Agents in at least one call after the setup phase.
    pub agents_in_call: usize,
    /// Consultations (hold + innerhelp) made during setup.
    pub consultations: usize,
    pub connections: usize,
    pub duration_secs: f64,
    /// Failed event polls over the whole run (should be 0).
    pub event_poll_errors: u64,
    pub scenarios: Vec<ScenarioReport>,
}

/// The rows and remarks of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub name: String,
    pub rows: Vec<InterfaceRow>,
    pub notes: Vec<String>,
    /// The gateway's memory with all long polls waiting (`polls` scenario).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<PollsMemory>,
    /// The whole-site figures (`site` scenario).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<crate::site::SiteFigures>,
    /// Checks the scenario failed (a broken run, not a slow one); any makes `ccgw bench` fail.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

impl ScenarioReport {
    pub fn new(name: &str, rows: Vec<InterfaceRow>, notes: Vec<String>) -> Self {
        Self { name: name.to_owned(), rows, notes, memory: None, site: None, failures: Vec::new() }
    }
}

impl BenchReport {
    /// Every scenario's failed checks, as `scenario: failure`.
    pub fn failures(&self) -> Vec<String> {
        self.scenarios.iter().flat_map(|s| s.failures.iter().map(move |f| format!("{}: {f}", s.name))).collect()
    }
}

/// Resident memory of the gateway (`/proc/<pid>/status`) while every long
/// poll of the `polls` scenario waits.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PollsMemory {
    pub server_pid: u32,
    pub polls_requested: usize,
    /// Agents signed in whose first poll was sent.
    pub polls_open: usize,
    /// Polls in flight (sent, not answered) when `rss_kib` was read.
    pub polls_waiting_at_sample: usize,
    pub polls_waiting_at_end: usize,
    /// The gateway's own `ccgw_connections_open` gauge at the sample, if readable.
    pub server_connections_open: Option<f64>,
    /// `VmRSS` before the scenario signed its agents in.
    pub rss_before_kib: Option<u64>,
    /// `VmRSS` with all polls waiting.
    pub rss_kib: u64,
    pub rss_max_during_hold_kib: u64,
    /// `VmHWM` (peak RSS of the gateway's life) at the end of the hold.
    pub hwm_kib: u64,
    /// `rss_kib * 1024 / polls_open`: everything the process holds, per agent.
    pub bytes_per_agent: f64,
    /// `(rss_kib - rss_before_kib) * 1024 / polls_open`: what the agents added.
    pub delta_bytes_per_agent: Option<f64>,
    /// The load generator's own `VmRSS`.
    pub client_rss_kib: Option<u64>,
}

impl PollsMemory {
    fn lines(&self) -> Vec<String> {
        let mib = |kib: u64| kib as f64 / 1024.0;
        let mut lines = vec![format!(
            "{} of {} polls waiting: server VmRSS {:.1} MiB = {:.0} bytes/agent{} | max during hold {:.1} MiB | VmHWM {:.1} MiB",
            self.polls_waiting_at_sample,
            self.polls_open,
            mib(self.rss_kib),
            self.bytes_per_agent,
            match (self.rss_before_kib, self.delta_bytes_per_agent) {
                (Some(before), Some(delta)) => format!(" (before: {:.1} MiB; +{delta:.0} bytes/agent)", mib(before)),
                _ => String::new(),
            },
            mib(self.rss_max_during_hold_kib),
            mib(self.hwm_kib),
        )];
        let mut extra = Vec::new();
        if let Some(open) = self.server_connections_open {
            extra.push(format!("server ccgw_connections_open {open:.0}"));
        }
        extra.push(format!("{} polls waiting at the end of the hold", self.polls_waiting_at_end));
        if let Some(client) = self.client_rss_kib {
            extra.push(format!("load generator VmRSS {:.1} MiB", mib(client)));
        }
        lines.push(extra.join(" | "));
        lines
    }
}

/// Renders the report as an aligned table followed by error details and notes.
pub fn format_report(report: &BenchReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ccgw bench: {}{}{} | {} agents ({} in a call, {} consultations) | {} connections | {} s per scenario",
        report.target,
        if report.spawned_gateway { " (spawned)" } else { "" },
        report.provisioned_agents.map_or_else(String::new, |n| format!(", {n} agents provisioned")),
        report.agents,
        report.agents_in_call,
        report.consultations,
        report.connections,
        report.duration_secs,
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<14} {:<28} {:>9} {:>9} {:>7} {:>10} {:>8} {:>8} {:>8} {:>9} {:>10} {:>6} {:>10} {:>6}",
        "scenario",
        "interface",
        "requests",
        "ok",
        "errors",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "base req/s",
        "ratio",
        "bare req/s",
        "bare"
    );
    for scenario in &report.scenarios {
        for row in &scenario.rows {
            let _ = writeln!(
                out,
                "{:<14} {:<28} {:>9} {:>9} {:>7} {:>10.1} {:>8} {:>8} {:>8} {:>9} {:>10} {:>6} {:>10} {:>6}",
                scenario.name,
                row.interface,
                row.requests,
                row.successes,
                row.errors,
                row.rate_per_sec,
                millis(row.p50_ms),
                millis(row.p90_ms),
                millis(row.p99_ms),
                millis(row.max_ms),
                row.baseline_rate_per_sec.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}")),
                row.ratio_to_baseline.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
                row.bare_rate_per_sec.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}")),
                row.ratio_to_bare.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
            );
        }
    }

    let mut details = Vec::new();
    for scenario in &report.scenarios {
        for row in scenario.rows.iter().filter(|r| r.errors > 0) {
            let codes: Vec<String> =
                row.errors_by_code.iter().map(|(code, count)| format!("{code} x{count}")).collect();
            details.push(format!("errors  {}/{}: {}", scenario.name, row.interface, codes.join(", ")));
        }
        if let Some(memory) = &scenario.memory {
            for line in memory.lines() {
                details.push(format!("memory  {}: {line}", scenario.name));
            }
        }
        for note in &scenario.notes {
            details.push(format!("note    {}: {note}", scenario.name));
        }
        for failure in &scenario.failures {
            details.push(format!("FAILED  {}: {failure}", scenario.name));
        }
    }
    if report.event_poll_errors > 0 {
        details.push(format!(
            "errors  event polls failed {} times (sessions may have been lost)",
            report.event_poll_errors
        ));
    }
    if !details.is_empty() {
        let _ = writeln!(out);
        for line in details {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// Prints [`format_report`] to stdout.
pub fn print_report(report: &BenchReport) {
    print!("{}", format_report(report));
}

fn millis(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::InterfaceStats;
    use std::time::Duration;

    fn sample_report() -> BenchReport {
        let mut stats = InterfaceStats::new("allcallinfoEx");
        stats.record_success(Duration::from_micros(1234));
        stats.record_failure("000-007");
        let row = stats.summarize(Duration::from_secs(1)).with_baseline(4.0).with_bare(Some(8.0));
        let empty = InterfaceStats::new("callinfo").summarize(Duration::from_secs(1));
        BenchReport {
            target: "https://127.0.0.1:8043".into(),
            spawned_gateway: true,
            provisioned_agents: None,
            agents: 10,
            agents_in_call: 4,
            consultations: 1,
            connections: 2,
            duration_secs: 1.0,
            event_poll_errors: 0,
            scenarios: vec![
                ScenarioReport::new("allcallinfo", vec![row, empty], vec!["hello".into()]),
                ScenarioReport {
                    memory: Some(PollsMemory {
                        server_pid: 42,
                        polls_requested: 50,
                        polls_open: 50,
                        polls_waiting_at_sample: 50,
                        polls_waiting_at_end: 49,
                        server_connections_open: Some(60.0),
                        rss_before_kib: Some(1000),
                        rss_kib: 2000,
                        rss_max_during_hold_kib: 2100,
                        hwm_kib: 2200,
                        bytes_per_agent: 40960.0,
                        delta_bytes_per_agent: Some(20480.0),
                        client_rss_kib: Some(3000),
                    }),
                    ..ScenarioReport::new("polls", Vec::new(), Vec::new())
                },
            ],
        }
    }

    #[test]
    fn table_is_aligned_and_complete() {
        let text = format_report(&sample_report());
        let lines: Vec<&str> = text.lines().collect();
        let header = lines[2];
        let first = lines[3];
        let second = lines[4];
        assert!(header.starts_with("scenario"));
        assert_eq!(header.len(), first.len(), "{header}\n{first}");
        assert_eq!(header.len(), second.len(), "{header}\n{second}");
        assert!(first.contains("1.234"), "{first}");
        assert!(first.contains("4.0"), "{first}");
        assert!(first.ends_with("0.25        8.0   0.12"), "{first}");
        assert!(second.contains(" - "), "{second}");
        assert!(text.contains("errors  allcallinfo/allcallinfoEx: 000-007 x1"));
        assert!(text.contains("note    allcallinfo: hello"));
        assert!(
            text.contains("memory  polls: 50 of 50 polls waiting: server VmRSS 2.0 MiB = 40960 bytes/agent"),
            "{text}"
        );
    }

    #[test]
    fn json_has_rows() {
        let json = serde_json::to_value(sample_report()).unwrap();
        let row = &json["scenarios"][0]["rows"][0];
        assert_eq!(row["interface"], "allcallinfoEx");
        assert_eq!(row["errors_by_code"]["000-007"], 1);
        assert_eq!(row["p50_ms"], 1.234);
        assert_eq!(row["bare_rate_per_sec"], 8.0);
        assert_eq!(row["ratio_to_bare"], 0.125);
        assert!(json["scenarios"][0].get("memory").is_none());
        assert_eq!(json["scenarios"][1]["memory"]["rss_kib"], 2000);
        assert_eq!(json["scenarios"][1]["memory"]["bytes_per_agent"], 40960.0);
    }
}

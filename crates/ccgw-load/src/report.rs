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
}

/// Renders the report as an aligned table followed by error details and notes.
pub fn format_report(report: &BenchReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ccgw bench: {}{} | {} agents ({} in a call, {} consultations) | {} connections | {} s per scenario",
        report.target,
        if report.spawned_gateway { " (spawned)" } else { "" },
        report.agents,
        report.agents_in_call,
        report.consultations,
        report.connections,
        report.duration_secs,
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<14} {:<28} {:>9} {:>9} {:>7} {:>10} {:>8} {:>8} {:>8} {:>9} {:>10} {:>6}",
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
        "ratio"
    );
    for scenario in &report.scenarios {
        for row in &scenario.rows {
            let _ = writeln!(
                out,
                "{:<14} {:<28} {:>9} {:>9} {:>7} {:>10.1} {:>8} {:>8} {:>8} {:>9} {:>10} {:>6}",
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
        for note in &scenario.notes {
            details.push(format!("note    {}: {note}", scenario.name));
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
        let row = stats.summarize(Duration::from_secs(1)).with_baseline(4.0);
        let empty = InterfaceStats::new("callinfo").summarize(Duration::from_secs(1));
        BenchReport {
            target: "https://127.0.0.1:8043".into(),
            spawned_gateway: true,
            agents: 10,
            agents_in_call: 4,
            consultations: 1,
            connections: 2,
            duration_secs: 1.0,
            event_poll_errors: 0,
            scenarios: vec![ScenarioReport {
                name: "allcallinfo".into(),
                rows: vec![row, empty],
                notes: vec!["hello".into()],
            }],
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
        assert!(first.ends_with("0.25"), "{first}");
        assert!(second.contains(" - "), "{second}");
        assert!(text.contains("errors  allcallinfo/allcallinfoEx: 000-007 x1"));
        assert!(text.contains("note    allcallinfo: hello"));
    }

    #[test]
    fn json_has_rows() {
        let json = serde_json::to_value(sample_report()).unwrap();
        let row = &json["scenarios"][0]["rows"][0];
        assert_eq!(row["interface"], "allcallinfoEx");
        assert_eq!(row["errors_by_code"]["000-007"], 1);
        assert_eq!(row["p50_ms"], 1.234);
    }
}

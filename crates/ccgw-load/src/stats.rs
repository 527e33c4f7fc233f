//! Per-interface counters and latency histograms, and their summary rows.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::client::Response;

/// Latencies are recorded in microseconds, 3 significant digits, up to 60 s.
const HIGHEST_TRACKABLE_US: u64 = 60_000_000;

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_TRACKABLE_US, 3).expect("valid histogram bounds")
}

/// Error key for transport failures (connect, TLS, broken connection, timeout).
pub const TRANSPORT_ERROR: &str = "transport";

/// Counters for one interface. Latency is recorded for successes only.
#[derive(Debug, Clone)]
pub struct InterfaceStats {
    pub name: &'static str,
    pub requests: u64,
    pub successes: u64,
    /// Failures by retcode (or `HTTP <status>` / `transport`).
    pub errors: BTreeMap<String, u64>,
    pub latency_us: Histogram<u64>,
}

impl InterfaceStats {
    pub fn new(name: &'static str) -> Self {
        Self { name, requests: 0, successes: 0, errors: BTreeMap::new(), latency_us: new_histogram() }
    }

    pub fn record_success(&mut self, latency: Duration) {
        self.requests += 1;
        self.successes += 1;
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.saturating_record(micros.max(1));
    }

    /// Counts a failed request under `key`.
    pub fn record_failure(&mut self, key: &str) {
        self.requests += 1;
        match self.errors.get_mut(key) {
            Some(count) => *count += 1,
            None => {
                self.errors.insert(key.to_owned(), 1);
            }
        }
    }

    /// Counts a response that was not a success, keyed by its retcode.
    pub fn record_error(&mut self, response: &Response) {
        if response.retcode.is_empty() {
            self.record_failure(&format!("HTTP {}", response.status));
        } else {
            self.record_failure(&response.retcode);
        }
    }

    pub fn record_transport_error(&mut self) {
        self.record_failure(TRANSPORT_ERROR);
    }

    pub fn merge(&mut self, other: &InterfaceStats) {
        self.requests += other.requests;
        self.successes += other.successes;
        for (key, count) in &other.errors {
            *self.errors.entry(key.clone()).or_default() += count;
        }
        self.latency_us.add(&other.latency_us).expect("histograms have identical bounds");
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Summary row; `elapsed` turns successes into a rate.
    pub fn summarize(&self, elapsed: Duration) -> InterfaceRow {
        let ms = |micros: u64| micros as f64 / 1000.0;
        let secs = elapsed.as_secs_f64();
        let quantile = |q: f64| (self.successes > 0).then(|| ms(self.latency_us.value_at_quantile(q)));
        InterfaceRow {
            interface: self.name.to_owned(),
            requests: self.requests,
            successes: self.successes,
            errors: self.error_count(),
            errors_by_code: self.errors.clone(),
            rate_per_sec: if secs > 0.0 { self.successes as f64 / secs } else { 0.0 },
            p50_ms: quantile(0.50),
            p90_ms: quantile(0.90),
            p99_ms: quantile(0.99),
            max_ms: (self.successes > 0).then(|| ms(self.latency_us.max())),
            baseline_rate_per_sec: None,
            ratio_to_baseline: None,
            bare_rate_per_sec: None,
            ratio_to_bare: None,
        }
    }
}

/// A set of interface stats looked up by name (small: linear search).
#[derive(Debug, Clone, Default)]
pub struct StatsSet {
    pub interfaces: Vec<InterfaceStats>,
}

impl StatsSet {
    pub fn get(&mut self, name: &'static str) -> &mut InterfaceStats {
        match self.interfaces.iter().position(|s| s.name == name) {
            Some(index) => &mut self.interfaces[index],
            None => {
                self.interfaces.push(InterfaceStats::new(name));
                self.interfaces.last_mut().expect("just pushed")
            }
        }
    }

    pub fn merge(&mut self, other: &StatsSet) {
        for stats in &other.interfaces {
            self.get(stats.name).merge(stats);
        }
    }

    pub fn summarize(&self, elapsed: Duration) -> Vec<InterfaceRow> {
        self.interfaces.iter().map(|s| s.summarize(elapsed)).collect()
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InterfaceRow {
    pub interface: String,
    pub requests: u64,
    pub successes: u64,
    pub errors: u64,
    pub errors_by_code: BTreeMap<String, u64>,
    /// Successful requests (or events) per second.
    pub rate_per_sec: f64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Rate of the 404 baseline with the same connections and duration.
    pub baseline_rate_per_sec: Option<f64>,
    /// `rate_per_sec / baseline_rate_per_sec`.
    pub ratio_to_baseline: Option<f64>,
    /// Rate of the bare TLS server (the physical limit: constant answer of the seed interface's
    /// size over the same TLS configuration) with the same load in the same run.
    pub bare_rate_per_sec: Option<f64>,
    /// `rate_per_sec / bare_rate_per_sec`.
    pub ratio_to_bare: Option<f64>,
}

impl InterfaceRow {
    pub fn with_baseline(mut self, baseline_rate: f64) -> Self {
        self.baseline_rate_per_sec = Some(baseline_rate);
        self.ratio_to_baseline = (baseline_rate > 0.0).then(|| self.rate_per_sec / baseline_rate);
        self
    }

    /// Sets the bare TLS server's rate (when measured) and the ratio to it.
    pub fn with_bare(mut self, bare_rate: Option<f64>) -> Self {
        self.bare_rate_per_sec = bare_rate;
        self.ratio_to_bare = bare_rate.filter(|r| *r > 0.0).map(|r| self.rate_per_sec / r);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_rates() {
        let mut stats = InterfaceStats::new("allcallinfoEx");
        for micros in 1..=1000 {
            stats.record_success(Duration::from_micros(micros));
        }
        stats.record_failure("100-006");
        stats.record_failure("100-006");
        stats.record_transport_error();

        let row = stats.summarize(Duration::from_secs(2));
        assert_eq!(row.requests, 1003);
        assert_eq!(row.successes, 1000);
        assert_eq!(row.errors, 3);
        assert_eq!(row.errors_by_code["100-006"], 2);
        assert_eq!(row.errors_by_code[TRANSPORT_ERROR], 1);
        assert_eq!(row.rate_per_sec, 500.0);
        let close = |actual: Option<f64>, expected: f64| {
            let actual = actual.unwrap();
            assert!((actual - expected).abs() < 0.002, "{actual} vs {expected}");
        };
        close(row.p50_ms, 0.500);
        close(row.p90_ms, 0.900);
        close(row.p99_ms, 0.990);
        close(row.max_ms, 1.000);

        let row = row.with_baseline(1000.0);
        assert_eq!(row.ratio_to_baseline, Some(0.5));
        let row = row.with_bare(Some(2000.0));
        assert_eq!((row.bare_rate_per_sec, row.ratio_to_bare), (Some(2000.0), Some(0.25)));
        assert_eq!(row.clone().with_bare(Some(0.0)).ratio_to_bare, None);
    }

    #[test]
    fn empty_stats_have_no_percentiles() {
        let row = InterfaceStats::new("x").summarize(Duration::from_secs(1));
        assert_eq!(row.p99_ms, None);
        assert_eq!(row.rate_per_sec, 0.0);
    }

    #[test]
    fn merge_adds_everything() {
        let mut a = StatsSet::default();
        a.get("x").record_success(Duration::from_millis(1));
        let mut b = StatsSet::default();
        b.get("x").record_success(Duration::from_millis(3));
        b.get("x").record_failure("000-007");
        b.get("y").record_success(Duration::from_millis(2));
        a.merge(&b);
        assert_eq!(a.interfaces.len(), 2);
        let x = a.get("x");
        assert_eq!((x.requests, x.successes, x.error_count()), (3, 2, 1));
    }
}

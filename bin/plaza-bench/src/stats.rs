//! Figures of one run and of a scenario's repeated runs: latency histograms (µs, 3 significant
//! figures), errors by kind, bytes, CPU, and the medians and spreads over repeats.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::machine::CpuUsage;

/// Highest latency a histogram holds (longer ones are clamped): 10 minutes in µs.
const MAX_LATENCY_US: u64 = 600_000_000;

/// A latency histogram in microseconds.
pub fn new_histogram() -> Histogram<u64> {
    // Constant, valid bounds: this cannot fail.
    #[allow(clippy::panic)]
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
        .unwrap_or_else(|err| panic!("histogram bounds: {err}"))
}

/// Errors by kind (`connect`, `io`, `timeout`, `status_<code>`, `ws_closed`, `parse`, …).
pub type Errors = BTreeMap<String, u64>;

/// Adds `n` errors of `kind`.
pub fn count_error(errors: &mut Errors, kind: &str, n: u64) {
    if n > 0 {
        *errors.entry(kind.to_owned()).or_default() += n;
    }
}

/// Adds every error of `other` into `into`.
pub fn merge_errors(into: &mut Errors, other: &Errors) {
    for (kind, n) in other {
        count_error(into, kind, *n);
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl Latency {
    /// Reads the percentiles of a µs histogram.
    pub fn of(hist: &Histogram<u64>) -> Self {
        let ms = |us: u64| us_to_ms(us);
        if hist.is_empty() {
            return Self::default();
        }
        Self {
            p50_ms: ms(hist.value_at_quantile(0.50)),
            p90_ms: ms(hist.value_at_quantile(0.90)),
            p99_ms: ms(hist.value_at_quantile(0.99)),
            max_ms: ms(hist.max()),
        }
    }
}

#[allow(clippy::cast_precision_loss)]
fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// What a WebSocket relay run counted.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct WsFigures {
    /// Viewers in the stream.
    pub viewers: u64,
    /// Frames the creator sent in the measured window.
    pub sent: u64,
    /// `sent × viewers`.
    pub expected: u64,
    /// Frames of the window that viewers received.
    pub delivered: u64,
    /// `expected − delivered`: dropped by the server for slow viewers (not an error).
    pub lost: u64,
}

/// What the idle-connection scenario measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdleFigures {
    /// Sockets asked for.
    pub requested: u64,
    /// Sockets that got `connection_established` and stayed open until measured.
    pub opened: u64,
    /// Seconds it took to open them.
    pub open_seconds: f64,
    /// Server RSS before opening, MB (local servers only).
    pub rss_before_mb: Option<f64>,
    /// Server RSS with every socket open, after a settle, MB.
    pub rss_after_mb: Option<f64>,
    /// `(after − before) / opened`.
    pub bytes_per_connection: Option<f64>,
    /// `before + 10 000 × bytes_per_connection`, MB.
    pub estimate_10k_mb: Option<f64>,
}

/// The figures of one run of a scenario.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunStats {
    /// Operations completed in the measured window (requests, delivered frames, sockets).
    pub ops: u64,
    /// Length of the measured window, seconds.
    pub seconds: f64,
    /// `ops / seconds`.
    pub ops_per_s: f64,
    /// Latency of the operations.
    #[serde(flatten)]
    pub latency: Latency,
    /// Errors by kind (warm-up included).
    pub errors: Errors,
    /// Bytes received in the measured window.
    pub bytes_in: u64,
    /// Bytes sent in the measured window.
    pub bytes_out: u64,
    /// Connections reopened after the server closed them.
    pub reconnects: u64,
    /// CPU of the generator and the server over the window.
    #[serde(flatten)]
    pub cpu: CpuUsage,
    /// WebSocket relay counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ws: Option<WsFigures>,
    /// Idle-connection figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle: Option<IdleFigures>,
    /// Scenario-specific figures (e.g. the logins' rate during `list_during_login`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, f64>,
    /// The first error's message, to tell what went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// Why the run could not be set up, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl RunStats {
    /// Fills `ops`, `seconds`, `ops_per_s` and the latency from a merged histogram.
    pub fn from_histogram(hist: &Histogram<u64>, ops: u64, seconds: f64) -> Self {
        Self {
            ops,
            seconds,
            ops_per_s: rate(ops, seconds),
            latency: Latency::of(hist),
            ..Self::default()
        }
    }

    /// A run that could not be set up: counted as one `setup` error.
    pub fn failed(err: &anyhow::Error) -> Self {
        let mut errors = Errors::new();
        count_error(&mut errors, "setup", 1);
        Self {
            errors,
            failure: Some(format!("{err:#}")),
            ..Self::default()
        }
    }

    /// Errors of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// `n / seconds`, 0 for an empty window.
#[allow(clippy::cast_precision_loss)]
pub fn rate(n: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    }
}

/// The figures of a scenario over its repeats.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Runs made.
    pub runs: usize,
    /// Operations over every run.
    pub ops: u64,
    /// Median ops/s.
    pub ops_per_s: f64,
    /// Slowest run's ops/s.
    pub ops_per_s_min: f64,
    /// Fastest run's ops/s.
    pub ops_per_s_max: f64,
    /// Median of the runs' p50.
    pub p50_ms: f64,
    /// Median of the runs' p90.
    pub p90_ms: f64,
    /// Median of the runs' p99.
    pub p99_ms: f64,
    /// Max of the runs' max.
    pub max_ms: f64,
    /// Errors over every run.
    pub errors: Errors,
    /// Median bytes received per second.
    pub bytes_in_per_s: f64,
    /// Median bytes sent per second.
    pub bytes_out_per_s: f64,
    /// Median generator CPU, % of wall time.
    pub generator_cpu_pct: Option<f64>,
    /// Median server CPU, % of wall time.
    pub server_cpu_pct: Option<f64>,
    /// Median CPU of every other process, % of wall time.
    pub other_cpu_pct: Option<f64>,
    /// WebSocket counts summed over every run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ws: Option<WsFigures>,
    /// Median of each extra figure.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, f64>,
}

impl Summary {
    /// Summarises `runs`.
    #[allow(clippy::cast_precision_loss)]
    pub fn of(runs: &[RunStats]) -> Self {
        let column = |f: &dyn Fn(&RunStats) -> f64| -> Vec<f64> { runs.iter().map(f).collect() };
        let ops_per_s = column(&|r| r.ops_per_s);
        let mut errors = Errors::new();
        for run in runs {
            merge_errors(&mut errors, &run.errors);
        }
        let ws = runs.iter().filter_map(|r| r.ws).reduce(|a, b| WsFigures {
            viewers: a.viewers.max(b.viewers),
            sent: a.sent + b.sent,
            expected: a.expected + b.expected,
            delivered: a.delivered + b.delivered,
            lost: a.lost + b.lost,
        });
        let mut extra = BTreeMap::new();
        let keys: std::collections::BTreeSet<&String> =
            runs.iter().flat_map(|r| r.extra.keys()).collect();
        for key in keys {
            let values: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.extra.get(key).copied())
                .collect();
            extra.insert(key.clone(), median(&values));
        }
        let optional = |f: &dyn Fn(&RunStats) -> Option<f64>| {
            let values: Vec<f64> = runs.iter().filter_map(f).collect();
            (!values.is_empty()).then(|| median(&values))
        };
        Self {
            runs: runs.len(),
            ops: runs.iter().map(|r| r.ops).sum(),
            ops_per_s: median(&ops_per_s),
            ops_per_s_min: ops_per_s.iter().copied().reduce(f64::min).unwrap_or(0.0),
            ops_per_s_max: ops_per_s.iter().copied().fold(0.0, f64::max),
            p50_ms: median(&column(&|r| r.latency.p50_ms)),
            p90_ms: median(&column(&|r| r.latency.p90_ms)),
            p99_ms: median(&column(&|r| r.latency.p99_ms)),
            max_ms: column(&|r| r.latency.max_ms)
                .into_iter()
                .fold(0.0, f64::max),
            errors,
            bytes_in_per_s: median(&column(&|r| rate(r.bytes_in, r.seconds))),
            bytes_out_per_s: median(&column(&|r| rate(r.bytes_out, r.seconds))),
            generator_cpu_pct: optional(&|r| r.cpu.generator_cpu_pct),
            server_cpu_pct: optional(&|r| r.cpu.server_cpu_pct),
            other_cpu_pct: optional(&|r| r.cpu.other_cpu_pct),
            ws,
            extra,
        }
    }

    /// Errors of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// The median (the mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return 0.0;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_spread_over_runs() {
        let run = |ops_per_s: f64, p99: f64, max: f64| RunStats {
            ops: 10,
            seconds: 1.0,
            ops_per_s,
            latency: Latency {
                p50_ms: 1.0,
                p90_ms: 2.0,
                p99_ms: p99,
                max_ms: max,
            },
            errors: [("io".to_owned(), 1)].into(),
            ..RunStats::default()
        };
        let s = Summary::of(&[
            run(100.0, 5.0, 9.0),
            run(300.0, 7.0, 8.0),
            run(200.0, 6.0, 30.0),
        ]);
        assert_eq!(s.ops_per_s, 200.0);
        assert_eq!((s.ops_per_s_min, s.ops_per_s_max), (100.0, 300.0));
        assert_eq!(s.p99_ms, 6.0);
        assert_eq!(s.max_ms, 30.0);
        assert_eq!(s.errors["io"], 3);
        assert_eq!(s.ops, 30);
        assert_eq!(median(&[1.0, 2.0, 3.0, 4.0]), 2.5);
    }

    #[test]
    fn percentiles_in_milliseconds() {
        let mut h = new_histogram();
        for us in 1..=1000 {
            h.saturating_record(us * 10);
        }
        let l = Latency::of(&h);
        assert!((l.p50_ms - 5.0).abs() < 0.01, "{l:?}");
        assert!((l.max_ms - 10.0).abs() < 0.01, "{l:?}");
    }
}

//! The HTTP load driver: N keep-alive connections, each looping on its request from the
//! start of the warm-up to the end of the window, recording the latency of every request
//! started inside the measured part into its own histogram (merged at the end), and the CPU
//! of the generator and the server over that part.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::task::JoinSet;

use crate::http::{Conn, HttpError, Request, Target};
use crate::machine::{CpuSample, CpuUsage};
use crate::stats::{count_error, merge_errors, new_histogram, Errors, RunStats};

/// The time frame of one run: warm-up from `start`, measurement from `measure` to `end`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Load begins (warm-up).
    pub start: Instant,
    /// Measurement begins.
    pub measure: Instant,
    /// Load and measurement end.
    pub end: Instant,
}

impl Window {
    /// A window beginning now.
    pub fn starting_now(warmup: Duration, duration: Duration) -> Self {
        let start = Instant::now();
        Self {
            start,
            measure: start + warmup,
            end: start + warmup + duration,
        }
    }

    /// Length of the measured part, seconds.
    pub fn seconds(&self) -> f64 {
        self.end.duration_since(self.measure).as_secs_f64()
    }
}

/// Samples CPU at the start and the end of the measured part of `window`.
pub fn measure_cpu(window: Window, server_pid: Option<u32>) -> tokio::task::JoinHandle<CpuUsage> {
    tokio::spawn(async move {
        tokio::time::sleep_until(window.measure.into()).await;
        let first = CpuSample::take(server_pid);
        tokio::time::sleep_until(window.end.into()).await;
        first.until(&CpuSample::take(server_pid))
    })
}

/// One HTTP load: a request per connection (reused round robin when fewer are given).
#[derive(Debug, Clone)]
pub struct HttpLoad {
    /// Open connections.
    pub connections: usize,
    /// The requests; connection `i` sends `requests[i % len]`.
    pub requests: Vec<Request>,
    /// The status a successful answer has.
    pub expect: u16,
}

/// What the connections of one load counted.
#[derive(Debug)]
pub struct LoadResult {
    /// Latencies of the requests started in the measured part, µs.
    pub hist: Histogram<u64>,
    /// Successful requests started in the measured part.
    pub ops: u64,
    /// Errors by kind, warm-up included.
    pub errors: Errors,
    /// Bytes received by measured requests.
    pub bytes_in: u64,
    /// Bytes sent by measured requests.
    pub bytes_out: u64,
    /// Connections reopened.
    pub reconnects: u64,
    /// The first error's message, for the log.
    pub first_error: Option<String>,
}

impl LoadResult {
    fn empty() -> Self {
        Self {
            hist: new_histogram(),
            ops: 0,
            errors: Errors::new(),
            bytes_in: 0,
            bytes_out: 0,
            reconnects: 0,
            first_error: None,
        }
    }

    fn merge(&mut self, other: Self) {
        // Both histograms have the same bounds; adding cannot fail.
        let _ = self.hist.add(&other.hist);
        self.ops += other.ops;
        merge_errors(&mut self.errors, &other.errors);
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.reconnects += other.reconnects;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// The run's figures (without CPU).
    pub fn into_stats(self, window: &Window) -> RunStats {
        let mut stats = RunStats::from_histogram(&self.hist, self.ops, window.seconds());
        stats.errors = self.errors;
        stats.bytes_in = self.bytes_in;
        stats.bytes_out = self.bytes_out;
        stats.reconnects = self.reconnects;
        stats.first_error = self.first_error;
        stats
    }
}

/// Runs `load` against `target` over `window`.
pub async fn run_http(target: &Target, load: &HttpLoad, window: Window) -> LoadResult {
    let mut tasks = JoinSet::new();
    for i in 0..load.connections {
        let Some(request) = load.requests.get(i % load.requests.len().max(1)).cloned() else {
            break;
        };
        let conn = Conn::new(target);
        let expect = load.expect;
        tasks.spawn(connection_loop(conn, request, expect, window));
    }
    let mut total = LoadResult::empty();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => total.merge(result),
            Err(err) => {
                count_error(&mut total.errors, "task", 1);
                total.first_error.get_or_insert_with(|| err.to_string());
            }
        }
    }
    total
}

async fn connection_loop(
    mut conn: Conn,
    request: Request,
    expect: u16,
    window: Window,
) -> LoadResult {
    let mut result = LoadResult::empty();
    tokio::time::sleep_until(window.start.into()).await;
    loop {
        let started = Instant::now();
        if started >= window.end {
            break;
        }
        let (in_before, out_before) = (conn.bytes_in, conn.bytes_out);
        let outcome = conn.send(&request).await;
        let elapsed = started.elapsed();
        let measured = started >= window.measure;
        if measured {
            result.bytes_in += conn.bytes_in - in_before;
            result.bytes_out += conn.bytes_out - out_before;
        }
        match outcome {
            Ok(status) if status == expect => {
                if measured {
                    result.ops += 1;
                    result.hist.saturating_record(micros(elapsed));
                }
            }
            Ok(status) => {
                count_error(&mut result.errors, &format!("status_{status}"), 1);
                result.first_error.get_or_insert_with(|| {
                    format!("status {status}: {}", truncate(&conn.body_text(), 300))
                });
            }
            Err(err) => {
                count_error(&mut result.errors, err.kind(), 1);
                result.first_error.get_or_insert_with(|| err.to_string());
                if matches!(err, HttpError::Connect(_)) {
                    // Do not spin on a refused connection.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
    result.reconnects = conn.reconnects;
    result
}

/// A duration in whole microseconds (at least 1).
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// At most `max` characters of `text`.
pub fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

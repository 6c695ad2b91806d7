//! `soak`: a long run of everything at once — forum reads, paced writes, logins and a paced
//! WebSocket relay — while the server's resident memory and open file descriptors are sampled
//! every [`SAMPLE_EVERY`]. It answers whether they stay flat, and counts every error.
//!
//! One connection logs in over and over (at the production cost, a few logins a second).
//!
//! Not part of the suite (its default window is minutes): `make soak` starts a release server
//! and runs `plaza-bench run soak --duration 600s` against it. Writes are paced
//! ([`WRITES_PER_S`]) so the database grows as a busy forum's does, not as fast as the disk
//! allows; the reads and logins are closed loops.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::ws::Pace;
use super::Ctx;
use crate::load::{measure_cpu, run_http, HttpLoad, Window};
use crate::machine::rss_bytes;
use crate::stats::{count_error, merge_errors, new_histogram, Errors, Latency, RunStats};

/// How often the server's memory and descriptors are read.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// Posts and replies per second, all writers together.
const WRITES_PER_S: u64 = 50;

/// Growth from the first sample after warm-up to the last that still counts as flat: caches
/// and allocator arenas settle in the first minutes, so a little is allowed, not a trend.
const RSS_SLACK: f64 = 0.15;
const RSS_SLACK_MIB: f64 = 8.0;
const FD_SLACK: i64 = 16;

/// One reading of the server.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at_s: f64,
    rss_mib: f64,
    fds: i64,
}

/// Open file descriptors of `pid` (entries of `/proc/<pid>/fd`).
fn open_fds(pid: u32) -> Option<i64> {
    let entries = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    i64::try_from(entries.count()).ok()
}

/// Runs the soak over `--duration`, sampling the server (`--pid` is required).
pub async fn soak(ctx: Ctx<'_>) -> anyhow::Result<RunStats> {
    let pid = ctx
        .server_pid
        .context("soak samples the server's memory: pass --pid (make soak does)")?;
    anyhow::ensure!(!ctx.seed.authors.is_empty(), "no authors were seeded");
    anyhow::ensure!(!ctx.seed.posts.is_empty(), "no posts were seeded");
    let window = Window::starting_now(ctx.settings.warmup(), ctx.settings.duration());
    let cpu = measure_cpu(window, ctx.server_pid);

    let detail = ctx.seed.detail_post.unwrap_or(ctx.seed.posts[0]);
    let reads = HttpLoad {
        connections: (ctx.settings.connections / 2).max(2),
        requests: vec![
            ctx.target.get("/posts/list/?page=1", None),
            ctx.target.get(&format!("/posts/detail/{detail}/"), None),
            ctx.target.get("/posts/list/?page=2", None),
        ],
        expect: 200,
    };
    // One login loop: logins are part of the mix, not a storm (that is `list_during_login`).
    let mut logins = super::http::login_load(ctx)?;
    logins.connections = 1;
    let (reads, logins, writes, relay, samples) = tokio::join!(
        run_http(ctx.target, &reads, window),
        run_http(ctx.target, &logins, window),
        paced_writes(ctx, window),
        super::ws::relay(ctx, Pace::Paced { fps: 30 }),
        sample(pid, window),
    );
    let relay = relay.context("the WebSocket relay")?;

    let seconds = window.seconds();
    let mut stats = RunStats::from_histogram(&reads.hist, reads.ops, seconds);
    stats.latency = Latency::of(&reads.hist);
    stats.errors = reads.errors;
    merge_errors(&mut stats.errors, &logins.errors);
    merge_errors(&mut stats.errors, &writes.errors);
    merge_errors(&mut stats.errors, &relay.errors);
    stats.first_error = reads
        .first_error
        .or(logins.first_error.map(|e| format!("login: {e}")))
        .or(writes.first_error.map(|e| format!("write: {e}")))
        .or(relay.first_error.map(|e| format!("relay: {e}")));
    stats.ws = relay.ws;
    stats.cpu = cpu.await.context("CPU sampler")?;

    let verdict = Verdict::of(&samples);
    for s in &samples {
        eprintln!(
            "plaza-bench:   soak t={:>5.0}s rss {:>7.1} MiB fds {}",
            s.at_s, s.rss_mib, s.fds
        );
    }
    let rate = |n: u64| crate::stats::rate(n, seconds);
    let write = Latency::of(&writes.hist);
    #[allow(clippy::cast_precision_loss)]
    let extra = [
        ("reads_per_s", rate(reads.ops)),
        ("writes_per_s", rate(writes.ops)),
        ("write_p99_ms", write.p99_ms),
        ("logins_per_s", rate(logins.ops)),
        ("samples", samples.len() as f64),
        ("rss_first_mib", verdict.first.rss_mib),
        ("rss_last_mib", verdict.last.rss_mib),
        ("rss_max_mib", verdict.rss_max_mib),
        ("fds_first", verdict.first.fds as f64),
        ("fds_last", verdict.last.fds as f64),
        ("fds_max", verdict.fds_max as f64),
        ("flat", f64::from(u8::from(verdict.flat))),
    ];
    stats.extra = extra.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    if !verdict.flat {
        count_error(&mut stats.errors, "not_flat", 1);
        stats.first_error.get_or_insert_with(|| {
            format!(
                "memory or descriptors grew: rss {:.1} → {:.1} MiB, fds {} → {}",
                verdict.first.rss_mib, verdict.last.rss_mib, verdict.first.fds, verdict.last.fds
            )
        });
    }
    Ok(stats)
}

/// Whether the samples after warm-up stayed flat.
struct Verdict {
    first: Sample,
    last: Sample,
    rss_max_mib: f64,
    fds_max: i64,
    flat: bool,
}

impl Verdict {
    fn of(samples: &[Sample]) -> Self {
        let none = Sample {
            at_s: 0.0,
            rss_mib: 0.0,
            fds: 0,
        };
        // The first sample is taken as the measured part starts (after the warm-up).
        let first = samples.first().copied().unwrap_or(none);
        let last = samples.last().copied().unwrap_or(none);
        let rss_max_mib = samples.iter().map(|s| s.rss_mib).fold(0.0, f64::max);
        let fds_max = samples.iter().map(|s| s.fds).max().unwrap_or(0);
        let rss_flat = last.rss_mib <= first.rss_mib * (1.0 + RSS_SLACK) + RSS_SLACK_MIB;
        let fds_flat = last.fds <= first.fds + FD_SLACK;
        Self {
            first,
            last,
            rss_max_mib,
            fds_max,
            flat: samples.len() >= 2 && rss_flat && fds_flat,
        }
    }
}

/// Reads the server every [`SAMPLE_EVERY`] from the measured part's start to its end.
async fn sample(pid: u32, window: Window) -> Vec<Sample> {
    tokio::time::sleep_until(window.measure.into()).await;
    let mut samples = Vec::new();
    loop {
        let now = Instant::now();
        #[allow(clippy::cast_precision_loss)]
        samples.push(Sample {
            at_s: now.duration_since(window.start).as_secs_f64(),
            rss_mib: rss_bytes(pid).unwrap_or(0) as f64 / (1024.0 * 1024.0),
            fds: open_fds(pid).unwrap_or(-1),
        });
        if now >= window.end {
            return samples;
        }
        let next = (now + SAMPLE_EVERY).min(window.end);
        tokio::time::sleep_until(next.into()).await;
    }
}

/// What the paced writers counted.
struct Writes {
    hist: hdrhistogram::Histogram<u64>,
    ops: u64,
    errors: Errors,
    first_error: Option<String>,
}

/// Posts and replies at [`WRITES_PER_S`], round robin over the authors and seeded posts.
async fn paced_writes(ctx: Ctx<'_>, window: Window) -> Writes {
    let mut out = Writes {
        hist: new_histogram(),
        ops: 0,
        errors: Errors::new(),
        first_error: None,
    };
    let mut conn = crate::http::Conn::new(ctx.target);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / WRITES_PER_S));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::time::sleep_until(window.start.into()).await;
    for n in 0usize.. {
        tick.tick().await;
        let started = Instant::now();
        if started >= window.end {
            break;
        }
        let author = &ctx.seed.authors[n % ctx.seed.authors.len()];
        let request = if n % 2 == 0 {
            let body =
                json!({"title": format!("Soak post {n}"), "content": "Written by the soak."});
            ctx.target
                .post_json("/posts/create/", Some(&author.token), &body.to_string())
        } else {
            let post = ctx.seed.posts[n % ctx.seed.posts.len()];
            let body = json!({"content": format!("Soak reply {n}")});
            ctx.target.post_json(
                &format!("/posts/reply/create/{post}/"),
                Some(&author.token),
                &body.to_string(),
            )
        };
        match conn.send(&request).await {
            Ok(201) => {
                if started >= window.measure {
                    out.hist
                        .saturating_record(crate::load::micros(started.elapsed()));
                    out.ops += 1;
                }
            }
            Ok(status) => {
                count_error(&mut out.errors, &format!("http_{status}"), 1);
                out.first_error
                    .get_or_insert_with(|| format!("a write answered {status}"));
            }
            Err(err) => {
                count_error(&mut out.errors, "io", 1);
                out.first_error.get_or_insert_with(|| err.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rss_mib: f64, fds: i64) -> Sample {
        Sample {
            at_s: 0.0,
            rss_mib,
            fds,
        }
    }

    #[test]
    fn settling_is_flat_and_a_trend_is_not() {
        assert!(Verdict::of(&[at(80.0, 40), at(90.0, 44), at(88.0, 42)]).flat);
        assert!(
            !Verdict::of(&[at(80.0, 40), at(120.0, 40)]).flat,
            "memory grew by half"
        );
        assert!(
            !Verdict::of(&[at(80.0, 40), at(80.0, 400)]).flat,
            "descriptors leaked"
        );
        assert!(
            !Verdict::of(&[at(80.0, 40)]).flat,
            "one sample proves nothing"
        );
    }
}

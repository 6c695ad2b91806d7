//! `mixed`: a forum people use — reads and writes together, and a login storm beside them.
//!
//! Each of the `--connections` keep-alive connections loops on a request drawn at random
//! (seeded per connection, so runs are repeatable): 90 in 98 are reads (half the list — page
//! 1 seven times in ten, pages 2–5 otherwise — half a random seeded post's detail), 8 in 98
//! writes as the connection's author (half a reply to a random seeded post, half a new post).
//! Beside them, `--login-connections` loops log in as seeded authors at the production cost.
//! Logins are not drawn as 2 % of every request: each costs a bcrypt hash (~¼ s of a core at
//! cost 12), so 2 % of a closed loop would make every connection wait on bcrypt and measure
//! nothing else; the login loops keep the hashing threads busy for the whole run instead.
//!
//! Every write invalidates what it changed in the forum's read cache, so the reads measure
//! the cache as a busy forum keeps it: lists read again after every write, threads after a
//! reply to them.

use std::time::Instant;

use anyhow::Context;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::task::JoinSet;

use super::Ctx;
use crate::http::{Conn, Request, Target};
use crate::load::{measure_cpu, micros, run_http, truncate, Window};
use crate::seed::Account;
use crate::stats::{count_error, merge_errors, new_histogram, Errors, Latency, RunStats};

/// Reads per 98 requests of a mixed connection (the rest are writes).
const READS_IN_98: u32 = 90;

/// What one mixed connection counted.
struct Tally {
    reads: Histogram<u64>,
    writes: Histogram<u64>,
    errors: Errors,
    first_error: Option<String>,
}

impl Tally {
    fn new() -> Self {
        Self {
            reads: new_histogram(),
            writes: new_histogram(),
            errors: Errors::new(),
            first_error: None,
        }
    }

    fn merge(&mut self, other: Self) {
        // Same bounds: adding cannot fail.
        let _ = self.reads.add(&other.reads);
        let _ = self.writes.add(&other.writes);
        merge_errors(&mut self.errors, &other.errors);
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Runs the mixed load and the login loops over one window.
pub async fn mixed(ctx: Ctx<'_>) -> anyhow::Result<RunStats> {
    anyhow::ensure!(!ctx.seed.authors.is_empty(), "no authors were seeded");
    anyhow::ensure!(!ctx.seed.posts.is_empty(), "no posts were seeded");
    let logins = super::http::login_load(ctx)?;
    let window = Window::starting_now(ctx.settings.warmup(), ctx.settings.duration());
    let cpu = measure_cpu(window, ctx.server_pid);
    let mut tasks = JoinSet::new();
    for i in 0..ctx.settings.connections.max(1) {
        let author = ctx.seed.authors[i % ctx.seed.authors.len()].clone();
        tasks.spawn(connection_loop(
            ctx.target.clone(),
            author,
            ctx.seed.posts.clone(),
            i,
            window,
        ));
    }
    let (tally, login_result) = tokio::join!(
        async {
            let mut total = Tally::new();
            while let Some(joined) = tasks.join_next().await {
                match joined {
                    Ok(tally) => total.merge(tally),
                    Err(err) => {
                        count_error(&mut total.errors, "task", 1);
                        total.first_error.get_or_insert_with(|| err.to_string());
                    }
                }
            }
            total
        },
        run_http(ctx.target, &logins, window)
    );

    let seconds = window.seconds();
    let (reads, writes, login_ops) = (tally.reads.len(), tally.writes.len(), login_result.ops);
    let mut all = tally.reads.clone();
    let _ = all.add(&tally.writes);
    let _ = all.add(&login_result.hist);
    let mut stats = RunStats::from_histogram(&all, reads + writes + login_ops, seconds);
    // The headline latency is the reads'.
    stats.latency = Latency::of(&tally.reads);
    stats.errors = tally.errors;
    merge_errors(&mut stats.errors, &login_result.errors);
    stats.first_error = tally
        .first_error
        .or_else(|| login_result.first_error.map(|e| format!("login: {e}")));
    stats.cpu = cpu.await.context("CPU sampler")?;
    let (read, write, login) = (
        Latency::of(&tally.reads),
        Latency::of(&tally.writes),
        Latency::of(&login_result.hist),
    );
    let rate = |n: u64| crate::stats::rate(n, seconds);
    let extra = [
        ("reads_per_s", rate(reads)),
        ("writes_per_s", rate(writes)),
        ("logins_per_s", rate(login_ops)),
        ("read_p50_ms", read.p50_ms),
        ("read_p99_ms", read.p99_ms),
        ("write_p50_ms", write.p50_ms),
        ("write_p99_ms", write.p99_ms),
        ("login_p50_ms", login.p50_ms),
        ("login_p99_ms", login.p99_ms),
    ];
    stats.extra = extra.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    Ok(stats)
}

/// What a mixed connection sends next.
enum Next {
    Read(Request),
    Write(Request),
}

fn draw(rng: &mut StdRng, target: &Target, author: &Account, posts: &[i64], n: u64) -> Next {
    let post = posts[rng.random_range(0..posts.len())];
    if rng.random_range(0..98) < READS_IN_98 {
        if rng.random_bool(0.5) {
            let page = if rng.random_bool(0.7) {
                1
            } else {
                rng.random_range(2..=5)
            };
            Next::Read(target.get(&format!("/posts/list/?page={page}"), None))
        } else {
            Next::Read(target.get(&format!("/posts/detail/{post}/"), None))
        }
    } else if rng.random_bool(0.5) {
        let body = json!({"content": format!("Mixed reply {n} by {}", author.username)});
        Next::Write(target.post_json(
            &format!("/posts/reply/create/{post}/"),
            Some(&author.token),
            &body.to_string(),
        ))
    } else {
        let body = json!({
            "title": format!("Mixed post {n} by {}", author.username),
            "content": "Written by plaza-bench's mixed scenario.",
        });
        Next::Write(target.post_json("/posts/create/", Some(&author.token), &body.to_string()))
    }
}

async fn connection_loop(
    target: Target,
    author: Account,
    posts: Vec<i64>,
    index: usize,
    window: Window,
) -> Tally {
    let mut tally = Tally::new();
    let mut conn = Conn::new(&target);
    let mut rng = StdRng::seed_from_u64(index as u64);
    tokio::time::sleep_until(window.start.into()).await;
    for n in 0u64.. {
        let started = Instant::now();
        if started >= window.end {
            break;
        }
        let (request, expect, is_read) = match draw(&mut rng, &target, &author, &posts, n) {
            Next::Read(req) => (req, 200, true),
            Next::Write(req) => (req, 201, false),
        };
        let outcome = conn.send(&request).await;
        let elapsed = started.elapsed();
        match outcome {
            Ok(status) if status == expect => {
                if started >= window.measure {
                    let hist = if is_read {
                        &mut tally.reads
                    } else {
                        &mut tally.writes
                    };
                    hist.saturating_record(micros(elapsed));
                }
            }
            Ok(status) => {
                count_error(&mut tally.errors, &format!("status_{status}"), 1);
                tally.first_error.get_or_insert_with(|| {
                    format!("status {status}: {}", truncate(&conn.body_text(), 300))
                });
            }
            Err(err) => {
                count_error(&mut tally.errors, err.kind(), 1);
                tally.first_error.get_or_insert_with(|| err.to_string());
            }
        }
    }
    tally
}

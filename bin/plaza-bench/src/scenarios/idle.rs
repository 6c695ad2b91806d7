//! Connection capacity: open K idle authenticated WebSockets, 64 at a time, each waiting for
//! `connection_established`; read the server's RSS before and, after a settle, with all of
//! them open. Each socket keeps a reader (which answers the server's pings) until measured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::ws::{connect, expect, Fail};
use super::Ctx;
use crate::load::micros;
use crate::machine::{self, CpuSample};
use crate::stats::{count_error, new_histogram, rate, Errors, IdleFigures, RunStats};

/// Sockets being opened at once.
const OPEN_CONCURRENCY: usize = 64;
/// Wait between the last socket opened and the second RSS reading.
const SETTLE: Duration = Duration::from_secs(1);
/// The estimate the report gives, in sockets.
const ESTIMATE_SOCKETS: f64 = 10_000.0;
/// Read buffer of each idle socket: small, so the generator holds thousands cheaply.
const IDLE_READ_BUFFER: usize = 4096;

/// Opens `--idle` sockets and measures the server's memory.
pub async fn idle(ctx: Ctx<'_>) -> anyhow::Result<RunStats> {
    let tokens: Vec<String> = ctx.seed.authors.iter().map(|a| a.token.clone()).collect();
    anyhow::ensure!(!tokens.is_empty(), "no users were seeded");
    let requested = ctx.settings.idle;
    // Let memory freed by the previous scenario settle before the first reading too.
    if ctx.server_pid.is_some() {
        tokio::time::sleep(SETTLE).await;
    }
    let rss_before = ctx.server_pid.and_then(machine::rss_bytes);
    let cpu_start = CpuSample::take(ctx.server_pid);
    let started = Instant::now();

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (opened_tx, mut opened_rx) = mpsc::unbounded_channel::<Result<Duration, Fail>>();
    let gate = Arc::new(Semaphore::new(OPEN_CONCURRENCY));
    let mut sockets = JoinSet::new();
    for i in 0..requested {
        let target = ctx.target.clone();
        let token = tokens[i % tokens.len()].clone();
        let gate = Arc::clone(&gate);
        let opened_tx = opened_tx.clone();
        let mut shutdown = shutdown_rx.clone();
        sockets.spawn(async move {
            let Ok(permit) = gate.acquire_owned().await else {
                return None;
            };
            let begun = Instant::now();
            let config = WebSocketConfig::default().read_buffer_size(IDLE_READ_BUFFER);
            let opened = async {
                let mut ws = connect(&target, &token, None, config).await?;
                expect(&mut ws, "connection_established").await?;
                Ok::<_, Fail>(ws)
            }
            .await;
            drop(permit);
            let mut ws = match opened {
                Ok(ws) => {
                    let _ = opened_tx.send(Ok(begun.elapsed()));
                    // The count ends when every task has reported: stop holding the sender.
                    drop(opened_tx);
                    ws
                }
                Err(fail) => {
                    let _ = opened_tx.send(Err(fail));
                    return None;
                }
            };
            // Hold the socket, answering pings, until measured.
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return None,
                    msg = ws.next() => match msg {
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                            return Some("ws_closed");
                        }
                        Some(Ok(_)) => {}
                    },
                }
            }
        });
    }
    drop(opened_tx);

    let mut hist = new_histogram();
    let mut opened = 0u64;
    let mut errors = Errors::new();
    let mut first_error = None;
    while let Some(result) = opened_rx.recv().await {
        match result {
            Ok(took) => {
                opened += 1;
                hist.saturating_record(micros(took));
            }
            Err(fail) => {
                count_error(&mut errors, &fail.kind, 1);
                first_error.get_or_insert_with(|| fail.to_string());
            }
        }
    }
    let open_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(SETTLE).await;
    let rss_after = ctx.server_pid.and_then(machine::rss_bytes);
    let cpu = cpu_start.until(&CpuSample::take(ctx.server_pid));

    let _ = shutdown_tx.send(true);
    let closing = async {
        while let Some(joined) = sockets.join_next().await {
            if let Ok(Some(kind)) = joined {
                count_error(&mut errors, kind, 1);
                first_error.get_or_insert_with(|| "an idle socket closed before measured".into());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), closing)
        .await
        .context("closing the idle sockets took over a minute")?;

    let mut stats = RunStats::from_histogram(&hist, opened, open_seconds);
    stats.ops_per_s = rate(opened, open_seconds);
    stats.errors = errors;
    stats.first_error = first_error;
    stats.cpu = cpu;
    stats.idle = Some(figures(
        requested as u64,
        opened,
        open_seconds,
        rss_before,
        rss_after,
    ));
    Ok(stats)
}

#[allow(clippy::cast_precision_loss)]
fn figures(
    requested: u64,
    opened: u64,
    open_seconds: f64,
    before: Option<u64>,
    after: Option<u64>,
) -> IdleFigures {
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    let per_connection = match (before, after) {
        (Some(b), Some(a)) if opened > 0 => Some((a as f64 - b as f64) / opened as f64),
        _ => None,
    };
    IdleFigures {
        requested,
        opened,
        open_seconds,
        rss_before_mb: before.map(mb),
        rss_after_mb: after.map(mb),
        bytes_per_connection: per_connection,
        estimate_10k_mb: match (before, per_connection) {
            (Some(b), Some(per)) => Some((b as f64 + per * ESTIMATE_SOCKETS) / (1024.0 * 1024.0)),
            _ => None,
        },
    }
}

//! World presence (issue 14): N users enter one world over REST and connect to
//! `/ws/metaverse/worlds/{id}/`; each sends 10 moves a second carrying this process's clock in
//! µs (`t`, echoed by the server), and every other user records receipt − `t` of each
//! `user_moved`. User 0 is a slow reader: it stops reading for the whole window, so its moves
//! coalesce on the server; the server's RSS is sampled before and after to show they do not
//! pile up.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use super::ws::{expect, now_us, Ws};
use super::Ctx;
use crate::http::{Conn, Target};
use crate::load::{measure_cpu, Window};
use crate::machine::rss_bytes;
use crate::stats::{count_error, merge_errors, new_histogram, Errors, RunStats, WsFigures};

/// Moves per second per user.
pub const MOVES_PER_SECOND: u32 = 10;

async fn post(target: &Target, token: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
    let mut conn = Conn::new(target);
    let status = conn
        .send(&target.post_json(path, Some(token), &body.to_string()))
        .await
        .map_err(|e| anyhow!("POST {path}: {e:?}"))?;
    if !(200..300).contains(&status) {
        bail!("POST {path}: {status} {}", conn.body_text());
    }
    Ok(serde_json::from_slice(conn.body()).unwrap_or(Value::Null))
}

async fn connect(target: &Target, token: &str, world: i64) -> anyhow::Result<Ws> {
    let stream = tokio::net::TcpStream::connect(target.addr).await?;
    stream.set_nodelay(true)?;
    let url = target.ws_url(&format!("/ws/metaverse/worlds/{world}/?token={token}"));
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await?;
    expect(&mut ws, "presence")
        .await
        .map_err(|e| anyhow!("{e}"))?;
    Ok(ws)
}

/// What one user saw.
struct Seen {
    hist: Histogram<u64>,
    delivered: u64,
    sent: u64,
    errors: Errors,
    first_error: Option<String>,
}

/// One presence run with `settings.viewers` users.
pub async fn presence(ctx: Ctx<'_>) -> anyhow::Result<RunStats> {
    let users = &ctx.seed.authors;
    let n = ctx.settings.viewers.max(2).min(users.len());
    if n < 2 {
        bail!("presence needs at least two seeded users");
    }
    let owner = &users[0].token;
    let world = post(
        ctx.target,
        owner,
        "/api/v1/metaverse/worlds/",
        &json!({"name": "plaza-bench", "max_users": n + 10}),
    )
    .await?;
    let world_id = world["id"].as_i64().context("world without id")?;
    let mut sockets = Vec::with_capacity(n);
    for user in &users[..n] {
        post(
            ctx.target,
            &user.token,
            &format!("/api/v1/metaverse/worlds/{world_id}/enter/"),
            &json!({}),
        )
        .await?;
        sockets.push(
            connect(ctx.target, &user.token, world_id)
                .await
                .context("presence socket")?,
        );
    }
    // Let the join announcements settle before the clock starts.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let window = Window::starting_now(ctx.settings.warmup(), ctx.settings.duration());
    let rss_before = ctx.server_pid.and_then(rss_bytes);
    let cpu = measure_cpu(window, ctx.server_pid);
    let mut tasks = JoinSet::new();
    for (i, ws) in sockets.into_iter().enumerate() {
        // Senders are spread over the 100 ms period, as independent clients would be.
        let phase = Duration::from_secs_f64(i as f64 / n as f64 / f64::from(MOVES_PER_SECOND));
        tasks.spawn(async move { (i, user(ws, window, i == 0, phase).await) });
    }
    let mut hist = new_histogram();
    let (mut delivered, mut sent, mut expected) = (0, 0, 0);
    let others = n as u64 - 1;
    let mut errors = Errors::new();
    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        let (i, seen) = done.map_err(|e| anyhow!("user task: {e}"))?;
        // Each move reaches the others; the slow reader (user 0) records nothing.
        expected += seen.sent * if i == 0 { others } else { others - 1 };
        let _ = hist.add(&seen.hist);
        delivered += seen.delivered;
        sent += seen.sent;
        merge_errors(&mut errors, &seen.errors);
        if first_error.is_none() {
            first_error = seen.first_error;
        }
    }
    let rss_after = ctx.server_pid.and_then(rss_bytes);
    let cpu = cpu.await.context("CPU sampler")?;
    let mut stats = RunStats::from_histogram(&hist, delivered, window.seconds());
    stats.errors = errors;
    stats.first_error = first_error;
    stats.cpu = cpu;
    stats.ws = Some(WsFigures {
        viewers: n as u64,
        sent,
        expected,
        delivered,
        lost: expected.saturating_sub(delivered),
    });
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        stats.extra.insert(
            "server_rss_before_mib".to_owned(),
            before as f64 / 1048576.0,
        );
        stats
            .extra
            .insert("server_rss_after_mib".to_owned(), after as f64 / 1048576.0);
    }
    Ok(stats)
}

/// Sends moves at the pace and reads `user_moved` (unless `slow`, which reads nothing until
/// the window is over, then drains).
async fn user(ws: Ws, window: Window, slow: bool, phase: Duration) -> Seen {
    let (mut sink, mut stream) = ws.split();
    let measure_us = us(window.measure);
    let end_us = us(window.end);
    let sender = tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(
            (window.start + phase).into(),
            Duration::from_secs_f64(1.0 / f64::from(MOVES_PER_SECOND)),
        );
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut sent = 0;
        let mut step = 0.0_f64;
        loop {
            ticker.tick().await;
            let t = now_us();
            if t >= end_us {
                break;
            }
            step += 1.0;
            let text = json!({"type": "move", "position": {"x": step.sin() * 50.0, "y": 0, "z": step.cos() * 50.0}, "rotation": {"x": 0, "y": step % 360.0, "z": 0}, "t": t}).to_string();
            if sink.send(Message::text(text)).await.is_err() {
                break;
            }
            if t >= measure_us {
                sent += 1;
            }
        }
        (sink, sent)
    });
    let mut seen = Seen {
        hist: new_histogram(),
        delivered: 0,
        sent: 0,
        errors: Errors::new(),
        first_error: None,
    };
    if slow {
        tokio::time::sleep_until(window.end.into()).await;
    }
    let deadline = window.end + Duration::from_secs(2);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let Ok(msg) = tokio::time::timeout(left, stream.next()).await else {
            break;
        };
        match msg {
            Some(Ok(Message::Text(text))) => {
                let received = now_us();
                let text = text.as_str();
                if text.starts_with(r#"{"type":"error""#) {
                    count_error(&mut seen.errors, "ws_error", 1);
                    seen.first_error.get_or_insert_with(|| text.to_owned());
                    continue;
                }
                if slow {
                    continue;
                }
                if text.contains(r#""type":"user_moved""#) {
                    if let Some(t) = echoed_t(text) {
                        if (measure_us..end_us).contains(&t) {
                            seen.delivered += 1;
                            seen.hist
                                .saturating_record(received.saturating_sub(t).max(1));
                        }
                    }
                }
            }
            Some(Ok(Message::Close(frame))) => {
                count_error(&mut seen.errors, "ws_closed", 1);
                seen.first_error
                    .get_or_insert_with(|| format!("closed: {frame:?}"));
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                count_error(&mut seen.errors, "ws_error", 1);
                seen.first_error.get_or_insert_with(|| e.to_string());
                break;
            }
            None => break,
        }
    }
    if let Ok((mut sink, sent)) = sender.await {
        seen.sent = sent;
        let _ = sink.close().await;
    }
    seen
}

fn us(at: Instant) -> u64 {
    let now = Instant::now();
    let now_us = now_us();
    if at >= now {
        now_us + u64::try_from(at.duration_since(now).as_micros()).unwrap_or(0)
    } else {
        now_us.saturating_sub(u64::try_from(now.duration_since(at).as_micros()).unwrap_or(0))
    }
}

/// The integer after `"t":` (the echoed send time), without parsing the JSON.
fn echoed_t(text: &str) -> Option<u64> {
    const KEY: &str = "\"t\":";
    let at = text.find(KEY)? + KEY.len();
    let rest = &text[at..];
    let end = rest
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_echoed_time() {
        let text = r#"{"position":{"x":1.0},"rotation":{"y":2.0},"t":123456,"type":"user_moved","user_id":3}"#;
        assert_eq!(echoed_t(text), Some(123_456));
        assert_eq!(echoed_t(r#"{"type":"user_moved"}"#), None);
    }
}

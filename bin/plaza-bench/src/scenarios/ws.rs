//! The WebSocket relay: one creator and N viewers in one stream on `/ws/webrtc/`. The creator
//! sends `video_frame`s with 4096 base64 characters and a `timestamp` that is this process's
//! clock in µs, either at a fixed pace or as fast as the server takes them (each send awaited,
//! the creator's socket send buffer at 32 KiB so the kernel does not hide the server). Viewers
//! look only for `"timestamp":` in each text and record receipt − timestamp.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use rand::{Rng, RngCore};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::Ctx;
use crate::http::Target;
use crate::load::{measure_cpu, Window};
use crate::stats::{count_error, merge_errors, new_histogram, Errors, RunStats, WsFigures};

/// A client WebSocket over plain TCP.
pub type Ws = WebSocketStream<TcpStream>;

/// Characters of base64 in each frame.
pub const FRAME_CHARS: usize = 4096;
/// The creator's socket send buffer when flooding.
const FLOOD_SEND_BUFFER: u32 = 32 * 1024;
/// How long setup steps (upgrade, first message, create, join) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
/// A viewer stops once the window is over and nothing arrived for this long.
const QUIET: Duration = Duration::from_millis(500);
/// A viewer stops this long after the window whatever still arrives.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// How the creator sends.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// `fps` frames per second.
    Paced {
        /// Frames per second.
        fps: u32,
    },
    /// As fast as the server accepts them.
    Flood,
}

/// Microseconds since this process's first call: the clock of frame timestamps.
pub fn now_us() -> u64 {
    us_at(Instant::now())
}

fn us_at(at: Instant) -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(at.saturating_duration_since(epoch).as_micros()).unwrap_or(u64::MAX)
}

/// A failed WebSocket step, with the kind reports count it as.
#[derive(Debug)]
pub struct Fail {
    /// `connect`, `io`, `timeout`, `status_<code>`, `ws_closed`, `parse`, `ws_error`.
    pub kind: String,
    /// What happened.
    pub message: String,
}

impl Fail {
    fn new(kind: &str, message: impl Into<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Fail {}

fn ws_fail(err: &WsError) -> Fail {
    match err {
        WsError::Http(response) => Fail::new(
            &format!("status_{}", response.status().as_u16()),
            "upgrade refused",
        ),
        WsError::Io(e) => Fail::new("io", e.to_string()),
        WsError::ConnectionClosed | WsError::AlreadyClosed => Fail::new("ws_closed", "closed"),
        WsError::Protocol(e) => Fail::new("ws_closed", e.to_string()),
        other => Fail::new("parse", other.to_string()),
    }
}

/// Opens `/ws/webrtc/?token=…`, with the socket's send buffer set first when asked.
pub async fn connect(
    target: &Target,
    token: &str,
    send_buffer: Option<u32>,
    config: WebSocketConfig,
) -> Result<Ws, Fail> {
    let socket = if target.addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| Fail::new("connect", e.to_string()))?;
    if let Some(size) = send_buffer {
        socket
            .set_send_buffer_size(size)
            .map_err(|e| Fail::new("connect", e.to_string()))?;
    }
    let stream = socket
        .connect(target.addr)
        .await
        .map_err(|e| Fail::new("connect", e.to_string()))?;
    stream
        .set_nodelay(true)
        .map_err(|e| Fail::new("connect", e.to_string()))?;
    let url = target.ws_url(&format!("/ws/webrtc/?token={token}"));
    let handshake = tokio_tungstenite::client_async_with_config(url, stream, Some(config));
    match tokio::time::timeout(SETUP_TIMEOUT, handshake).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(err)) => Err(ws_fail(&err)),
        Err(_) => Err(Fail::new("timeout", "WebSocket upgrade")),
    }
}

/// Reads until a JSON message of type `kind` (others are skipped); an `error` message fails.
pub async fn expect(ws: &mut Ws, kind: &str) -> Result<Value, Fail> {
    let wait = async {
        loop {
            match ws.next().await {
                None => return Err(Fail::new("ws_closed", format!("closed before {kind}"))),
                Some(Err(err)) => return Err(ws_fail(&err)),
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str())
                        .map_err(|e| Fail::new("parse", e.to_string()))?;
                    match value["type"].as_str() {
                        Some(t) if t == kind => return Ok(value),
                        Some("error") => {
                            return Err(Fail::new(
                                "ws_error",
                                format!("waiting for {kind}: {value}"),
                            ))
                        }
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(Fail::new(
                        "ws_closed",
                        format!("closed before {kind}: {frame:?}"),
                    ))
                }
                Some(Ok(_)) => {}
            }
        }
    };
    tokio::time::timeout(SETUP_TIMEOUT, wait)
        .await
        .map_err(|_| Fail::new("timeout", format!("waiting for {kind}")))?
}

async fn send_json(ws: &mut Ws, value: &Value) -> Result<(), Fail> {
    ws.send(Message::text(value.to_string()))
        .await
        .map_err(|e| ws_fail(&e))
}

/// A connected, established peer.
async fn peer(target: &Target, token: &str, send_buffer: Option<u32>) -> Result<Ws, Fail> {
    let mut ws = connect(target, token, send_buffer, WebSocketConfig::default()).await?;
    expect(&mut ws, "connection_established").await?;
    Ok(ws)
}

/// Join attempts per viewer when the server answers `unavailable` (it asks to retry).
const JOIN_ATTEMPTS: u32 = 10;

/// A viewer in the stream; with the `unavailable` refusals met on the way (each retried, and
/// each counted as an error by the caller: a server that is "busy" under 50 joins is worth
/// knowing about).
async fn join(target: &Target, token: &str, stream_id: &str) -> Result<(Ws, Vec<String>), Fail> {
    let mut ws = peer(target, token, None).await?;
    let mut refusals = Vec::new();
    for attempt in 1..=JOIN_ATTEMPTS {
        send_json(
            &mut ws,
            &json!({"type": "join_stream", "stream_id": stream_id}),
        )
        .await?;
        match expect(&mut ws, "stream_joined").await {
            Ok(_) => return Ok((ws, refusals)),
            Err(fail)
                if fail.kind == "ws_error"
                    && fail.message.contains("\"unavailable\"")
                    && attempt < JOIN_ATTEMPTS =>
            {
                refusals.push(fail.message);
                // Jittered backoff, so refused viewers do not all come back at once.
                let jitter = rand::rng().random_range(10..=50);
                tokio::time::sleep(Duration::from_millis(jitter * u64::from(attempt))).await;
            }
            Err(fail) => return Err(fail),
        }
    }
    Err(Fail::new("ws_error", "join_stream refused every time"))
}

/// One relay run.
pub async fn relay(ctx: Ctx<'_>, pace: Pace) -> anyhow::Result<RunStats> {
    let authors = &ctx.seed.authors;
    let creator_account = authors.first().context("no users were seeded")?;
    let viewers = ctx.settings.viewers.max(1);

    // Setup: the creator's stream, then every viewer in it.
    let send_buffer = matches!(pace, Pace::Flood).then_some(FLOOD_SEND_BUFFER);
    let mut creator = peer(ctx.target, &creator_account.token, send_buffer)
        .await
        .context("creator")?;
    send_json(
        &mut creator,
        &json!({"type": "create_stream", "title": "plaza-bench", "description": "load test"}),
    )
    .await?;
    let created = expect(&mut creator, "stream_created").await?;
    let stream_id = created["stream_id"]
        .as_str()
        .context("stream_created without stream_id")?
        .to_owned();
    let mut joining = JoinSet::new();
    for i in 0..viewers {
        let account = if authors.len() > 1 {
            &authors[1 + i % (authors.len() - 1)]
        } else {
            creator_account
        };
        let target = ctx.target.clone();
        let token = account.token.clone();
        let stream_id = stream_id.clone();
        joining.spawn(async move { join(&target, &token, &stream_id).await });
    }
    let mut viewer_sockets = Vec::with_capacity(viewers);
    let mut setup_errors = Errors::new();
    let mut setup_first_error = None;
    while let Some(joined) = joining.join_next().await {
        let (ws, refusals) = joined
            .map_err(|e| anyhow!("viewer task: {e}"))?
            .context("viewer")?;
        if let Some(first) = refusals.first() {
            count_error(&mut setup_errors, "ws_unavailable", refusals.len() as u64);
            setup_first_error.get_or_insert_with(|| format!("viewer joining: {first}"));
        }
        viewer_sockets.push(ws);
    }

    // The run.
    let window = Window::starting_now(ctx.settings.warmup(), ctx.settings.duration());
    let cpu = measure_cpu(window, ctx.server_pid);
    let mut readers = JoinSet::new();
    for ws in viewer_sockets {
        readers.spawn(view(ws, window));
    }
    let (mut sink, mut creator_stream) = creator.split();
    let creator_reader = tokio::spawn(async move {
        // The creator hears peer_joined and the like; an error or a close is counted.
        let mut errors = Errors::new();
        while let Some(msg) = creator_stream.next().await {
            match msg {
                Ok(Message::Text(text)) if text.as_str().starts_with(r#"{"type":"error""#) => {
                    count_error(&mut errors, "ws_error", 1);
                }
                Ok(Message::Close(_)) | Err(_) => {
                    count_error(&mut errors, "ws_closed", 1);
                    break;
                }
                Ok(_) => {}
            }
        }
        errors
    });
    let sent = send_frames(&mut sink, pace, window).await;

    let mut hist = new_histogram();
    let mut delivered = 0;
    let mut bytes_in = 0;
    let mut errors = setup_errors;
    merge_errors(&mut errors, &sent.errors);
    let mut first_error = setup_first_error.or(sent.first_error);
    while let Some(joined) = readers.join_next().await {
        let viewer = joined.map_err(|e| anyhow!("viewer task: {e}"))?;
        let _ = hist.add(&viewer.hist);
        delivered += viewer.delivered;
        bytes_in += viewer.bytes_in;
        merge_errors(&mut errors, &viewer.errors);
        if first_error.is_none() {
            first_error = viewer.first_error;
        }
    }
    let cpu = cpu.await.context("CPU sampler")?;
    // The creator leaves: the stream ends. Its reader stops with the socket.
    let _ = sink.send(Message::text(r#"{"type":"disconnect"}"#)).await;
    let _ = sink.close().await;
    creator_reader.abort();

    let viewers = viewers as u64;
    let expected = sent.frames * viewers;
    let mut stats = RunStats::from_histogram(&hist, delivered, window.seconds());
    stats.errors = errors;
    stats.first_error = first_error;
    stats.bytes_in = bytes_in;
    stats.bytes_out = sent.bytes;
    stats.cpu = cpu;
    stats.ws = Some(WsFigures {
        viewers,
        sent: sent.frames,
        expected,
        delivered,
        lost: expected.saturating_sub(delivered),
    });
    Ok(stats)
}

/// What the creator sent in the measured window.
struct Sent {
    frames: u64,
    bytes: u64,
    errors: Errors,
    first_error: Option<String>,
}

async fn send_frames(
    sink: &mut futures_util::stream::SplitSink<Ws, Message>,
    pace: Pace,
    window: Window,
) -> Sent {
    let mut raw = vec![0u8; FRAME_CHARS / 4 * 3];
    rand::rng().fill_bytes(&mut raw);
    let data = base64::engine::general_purpose::STANDARD.encode(&raw);
    let prefix = format!(
        r#"{{"type":"video_frame","frame_data":"{data}","frame_type":"deltaframe","timestamp":"#
    );
    let (measure_us, end_us) = (us_at(window.measure), us_at(window.end));
    let mut sent = Sent {
        frames: 0,
        bytes: 0,
        errors: Errors::new(),
        first_error: None,
    };
    let mut ticker = match pace {
        Pace::Paced { fps } => {
            let mut t = tokio::time::interval_at(
                window.start.into(),
                Duration::from_secs_f64(1.0 / f64::from(fps.max(1))),
            );
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            Some(t)
        }
        Pace::Flood => {
            tokio::time::sleep_until(window.start.into()).await;
            None
        }
    };
    loop {
        if let Some(t) = ticker.as_mut() {
            t.tick().await;
        }
        let ts = now_us();
        if ts >= end_us {
            break;
        }
        let mut text = String::with_capacity(prefix.len() + 24);
        text.push_str(&prefix);
        text.push_str(&ts.to_string());
        text.push('}');
        let len = text.len() as u64;
        if let Err(err) = sink.send(Message::text(text)).await {
            let fail = ws_fail(&err);
            count_error(&mut sent.errors, &fail.kind, 1);
            sent.first_error = Some(format!("creator: {fail}"));
            break;
        }
        if ts >= measure_us {
            sent.frames += 1;
            sent.bytes += len;
        }
    }
    sent
}

/// What one viewer received.
struct Viewed {
    hist: Histogram<u64>,
    delivered: u64,
    bytes_in: u64,
    errors: Errors,
    first_error: Option<String>,
}

async fn view(mut ws: Ws, window: Window) -> Viewed {
    let (measure_us, end_us) = (us_at(window.measure), us_at(window.end));
    let mut viewed = Viewed {
        hist: new_histogram(),
        delivered: 0,
        bytes_in: 0,
        errors: Errors::new(),
        first_error: None,
    };
    fn fail(viewed: &mut Viewed, kind: &str, message: String) {
        count_error(&mut viewed.errors, kind, 1);
        viewed.first_error.get_or_insert(message);
    }
    loop {
        if Instant::now() > window.end + DRAIN_LIMIT {
            break;
        }
        let msg = match tokio::time::timeout(QUIET, ws.next()).await {
            Err(_) if Instant::now() >= window.end => break,
            Err(_) => continue,
            Ok(msg) => msg,
        };
        match msg {
            Some(Ok(Message::Text(text))) => {
                let received = now_us();
                let text = text.as_str();
                if let Some(ts) = frame_timestamp(text) {
                    if (measure_us..end_us).contains(&ts) {
                        viewed.delivered += 1;
                        viewed.bytes_in += text.len() as u64;
                        viewed
                            .hist
                            .saturating_record(received.saturating_sub(ts).max(1));
                    }
                } else if text.starts_with(r#"{"type":"error""#) {
                    fail(&mut viewed, "ws_error", format!("viewer got {text}"));
                } else if text.starts_with(r#"{"type":"video_frame""#) {
                    fail(
                        &mut viewed,
                        "parse",
                        "a frame without a timestamp".to_owned(),
                    );
                }
            }
            Some(Ok(Message::Close(frame))) => {
                fail(
                    &mut viewed,
                    "ws_closed",
                    format!("viewer closed: {frame:?}"),
                );
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => {
                let f = ws_fail(&err);
                fail(&mut viewed, &f.kind, format!("viewer: {f}"));
                break;
            }
            None => {
                fail(&mut viewed, "ws_closed", "viewer: end of stream".to_owned());
                break;
            }
        }
    }
    viewed
}

/// The integer after the last `"timestamp":` of a message, without parsing the JSON.
pub fn frame_timestamp(text: &str) -> Option<u64> {
    const KEY: &str = "\"timestamp\":";
    let at = text.rfind(KEY)? + KEY.len();
    let rest = text[at..].trim_start();
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
    fn finds_the_timestamp_without_parsing() {
        let text = r#"{"type":"video_frame","frame_data":"QUJD","frame_type":"deltaframe","timestamp":1234567,"peer_id":"x"}"#;
        assert_eq!(frame_timestamp(text), Some(1_234_567));
        assert_eq!(frame_timestamp(r#"{"timestamp": 42}"#), Some(42));
        assert_eq!(frame_timestamp(r#"{"type":"pong"}"#), None);
    }

    #[test]
    fn the_clock_runs_forward() {
        let a = now_us();
        std::thread::sleep(Duration::from_millis(2));
        assert!(now_us() >= a + 1000);
    }
}

//! The AI gateway: `POST /v1/chat/completions` through Plaza to a fake OpenAI-compatible
//! upstream that answers at once, whole (`gateway`) and streamed (`gateway_stream`), and the
//! same load sent to the fake directly, so the gateway's own cost is a measured figure
//! (`extra`: `direct_*` and `overhead_*_ms` = gateway minus direct latency).
//!
//! The fake runs inside the generator's process, on `PLAZA_BENCH_FAKE_UPSTREAM`
//! (`127.0.0.1:18399`); the server must be started with [`server_env`] (the suite does it;
//! with `run --url`, start Plaza with those variables).

use std::sync::OnceLock;

use anyhow::Context;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::Ctx;
use crate::http::Target;
use crate::load::{measure_cpu, run_http, HttpLoad, Window};
use crate::stats::{Latency, RunStats};

/// The model the server offers from the fake.
pub const MODEL: &str = "bench-echo";

/// Where the fake upstream listens.
pub fn upstream_addr() -> String {
    std::env::var("PLAZA_BENCH_FAKE_UPSTREAM").unwrap_or_else(|_| "127.0.0.1:18399".to_owned())
}

/// The variables a server needs to proxy to the fake (no quota, no stream limit: the bench
/// measures the gateway, not the limits).
pub fn server_env() -> Vec<(&'static str, String)> {
    vec![
        (
            "AI_OPENAI_BASE_URL",
            format!("http://{}/v1", upstream_addr()),
        ),
        ("AI_OPENAI_API_KEY", "sk-bench".to_owned()),
        ("AI_OPENAI_MODELS", MODEL.to_owned()),
        ("AI_DAILY_TOKEN_QUOTA", "0".to_owned()),
        ("AI_MAX_CONCURRENT_STREAMS", "0".to_owned()),
    ]
}

fn whole_body() -> String {
    json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the fake upstream."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
    })
    .to_string()
}

fn stream_body() -> String {
    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        serde_json::Value::Null,
    )];
    for word in ["Hello ", "from ", "the ", "fake ", "upstream."] {
        events.push(chunk(json!({"content": word}), serde_json::Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    events.push(json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
                       "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}}));
    let mut out: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    out.push_str("data: [DONE]\n\n");
    out
}

static FAKE: OnceLock<()> = OnceLock::new();

/// Starts the fake upstream once per process: HTTP/1.1 keep-alive, every answer at once with
/// a `Content-Length` (JSON, or the whole SSE stream when the body asks `"stream":true`).
async fn ensure_fake() -> anyhow::Result<()> {
    if FAKE.get().is_some() {
        return Ok(());
    }
    let addr = upstream_addr();
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("bind the fake upstream on {addr}"))?;
    let _ = FAKE.set(());
    let whole = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        whole_body().len(),
        whole_body()
    );
    let streamed = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\n\r\n{}",
        stream_body().len(),
        stream_body()
    );
    let (whole, streamed): (&'static str, &'static str) = (
        Box::leak(whole.into_boxed_str()),
        Box::leak(streamed.into_boxed_str()),
    );
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let _ = socket.set_nodelay(true);
            tokio::spawn(serve(socket, whole, streamed));
        }
    });
    Ok(())
}

async fn serve(mut socket: tokio::net::TcpStream, whole: &'static str, streamed: &'static str) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        // One request: the head, then Content-Length bytes of body.
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        let parsed = match request.parse(&buf) {
            Ok(httparse::Status::Complete(head)) => {
                let length = request
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| {
                        std::str::from_utf8(h.value)
                            .ok()?
                            .trim()
                            .parse::<usize>()
                            .ok()
                    })
                    .unwrap_or(0);
                (buf.len() >= head + length).then_some((head, length))
            }
            Ok(httparse::Status::Partial) => None,
            Err(_) => return,
        };
        let Some((head, length)) = parsed else {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let body = &buf[head..head + length];
        let stream = body.windows(13).any(|w| w == b"\"stream\":true");
        let answer = if stream { streamed } else { whole };
        buf.drain(..head + length);
        if socket.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn request_body(stream: bool) -> String {
    let mut body = json!({
        "model": MODEL,
        "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello."}],
        "temperature": 0.2,
    });
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body.to_string()
}

/// The gateway's figures, with the direct load's and the difference in `extra`.
pub async fn gateway(ctx: Ctx<'_>, stream: bool) -> anyhow::Result<RunStats> {
    anyhow::ensure!(!ctx.seed.authors.is_empty(), "no users were seeded");
    ensure_fake().await?;
    let body = request_body(stream);
    let requests = (0..ctx.settings.connections)
        .map(|i| {
            let user = &ctx.seed.authors[i % ctx.seed.authors.len()];
            ctx.target
                .post_json("/v1/chat/completions", Some(&user.token), &body)
        })
        .collect();
    let load = HttpLoad {
        connections: ctx.settings.connections,
        requests,
        expect: 200,
    };
    let window = Window::starting_now(ctx.settings.warmup(), ctx.settings.duration());
    let cpu = measure_cpu(window, ctx.server_pid);
    let result = run_http(ctx.target, &load, window).await;
    let mut stats = result.into_stats(&window);
    stats.cpu = cpu.await.context("CPU sampler")?;

    // The same load, straight to the fake.
    let direct_target = Target::parse(&format!("http://{}", upstream_addr())).await?;
    let direct_load = HttpLoad {
        connections: ctx.settings.connections,
        requests: vec![direct_target.post_json("/v1/chat/completions", Some("sk-bench"), &body)],
        expect: 200,
    };
    let window = Window::starting_now(ctx.settings.warmup(), ctx.settings.duration());
    let direct = run_http(&direct_target, &direct_load, window).await;
    let direct_latency = Latency::of(&direct.hist);
    let direct_ops_per_s = crate::stats::rate(direct.ops, window.seconds());
    let extra = [
        ("direct_ops_per_s", direct_ops_per_s),
        ("direct_p50_ms", direct_latency.p50_ms),
        ("direct_p99_ms", direct_latency.p99_ms),
        (
            "overhead_p50_ms",
            stats.latency.p50_ms - direct_latency.p50_ms,
        ),
        (
            "overhead_p99_ms",
            stats.latency.p99_ms - direct_latency.p99_ms,
        ),
    ];
    stats.extra = extra.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    Ok(stats)
}

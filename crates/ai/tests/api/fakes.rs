//! Fake upstreams the tests start locally, speaking the real protocols: an OpenAI-compatible
//! HTTP server (JSON, SSE written in pieces across TCP writes, error statuses, in-band errors,
//! a stall mid-stream) and a Spark WebSocket server that checks the signed URL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::Message;

/// The fake's API key; the fake answers 401 to any other.
pub const FAKE_KEY: &str = "sk-fake-upstream-key-0123";

/// Text the fake puts in its error bodies; it must never reach a client.
pub const SECRET_DETAIL: &str = "internal-upstream-detail-7f3a";

/// What the OpenAI fake answers, by the upstream model name it is asked for:
/// - `echo`: "echo: <last user message>", usage 11 + 7;
/// - `nousage`: the same without usage;
/// - `fail`: 500 with a body naming internals;
/// - `midfail`: streams one piece, then an in-band `error` event;
/// - `stall`: streams two pieces, then stays silent;
/// - `slow`: a piece every 50 ms, 400 pieces.
#[derive(Clone)]
pub struct FakeOpenAi {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Every request body it received.
    pub bodies: Arc<Mutex<Vec<Value>>>,
}

impl FakeOpenAi {
    /// Starts on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let _ = serve_connection(socket, seen).await;
                });
            }
        });
        Self { addr, bodies }
    }

    /// The base URL to configure (`…/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The bodies received so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

/// Reads one HTTP/1.1 request: (request line, headers lowercased, body).
async fn read_request(
    socket: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
            let mut lines = head.split("\r\n");
            let request_line = lines.next()?.to_owned();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let length: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            while buffer.len() < end + 4 + length {
                let mut chunk = [0u8; 8192];
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            let body = buffer[end + 4..end + 4 + length].to_vec();
            buffer.drain(..end + 4 + length);
            return Some((request_line, headers, body));
        }
        let mut chunk = [0u8; 8192];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

async fn respond_json(socket: &mut TcpStream, status: &str, body: &Value) -> std::io::Result<()> {
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(body.as_bytes()).await
}

fn answer_of(body: &Value) -> String {
    let last = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    format!("echo: {last}")
}

async fn serve_connection(
    mut socket: TcpStream,
    seen: Arc<Mutex<Vec<Value>>>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    while let Some((line, headers, body)) = read_request(&mut socket, &mut buffer).await {
        let authorized = headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == &format!("Bearer {FAKE_KEY}"));
        if !authorized {
            respond_json(
                &mut socket,
                "401 Unauthorized",
                &json!({"error": {"message": "bad key", "type": "invalid_request_error"}}),
            )
            .await?;
            continue;
        }
        if line.starts_with("GET /v1/models") {
            respond_json(
                &mut socket,
                "200 OK",
                &json!({"object": "list", "data": [{"id": "echo", "object": "model"}]}),
            )
            .await?;
            continue;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        seen.lock().unwrap().push(body.clone());
        let model = body["model"].as_str().unwrap_or_default().to_owned();
        if model == "fail" {
            respond_json(
                &mut socket,
                "500 Internal Server Error",
                &json!({"error": {"message": format!("{SECRET_DETAIL} at 10.0.0.7 with key {FAKE_KEY}")}}),
            )
            .await?;
            continue;
        }
        let answer = answer_of(&body);
        if body["stream"] != true {
            let mut out = json!({
                "id": "chatcmpl-upstream",
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
            });
            if model != "nousage" {
                out["usage"] =
                    json!({"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18});
            }
            respond_json(&mut socket, "200 OK", &out).await?;
            continue;
        }
        // A stream: no length, the body ends when the connection closes.
        socket
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
            )
            .await?;
        let chunk = |delta: Value, finish: Value| {
            json!({"id": "chatcmpl-upstream", "object": "chat.completion.chunk", "created": 1, "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        };
        let pieces: Vec<String> = match model.as_str() {
            "slow" => (0..400).map(|i| format!("w{i} ")).collect(),
            _ => answer.split_inclusive(' ').map(str::to_owned).collect(),
        };
        let mut events = vec![chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )];
        for (i, piece) in pieces.iter().enumerate() {
            events.push(chunk(json!({"content": piece}), Value::Null));
            if model == "midfail" {
                events.push(json!({"error": {"message": format!("{SECRET_DETAIL} overloaded")}}));
                break;
            }
            if model == "stall" && i == 1 {
                break;
            }
        }
        let ends = !matches!(model.as_str(), "midfail" | "stall");
        if ends {
            events.push(chunk(json!({}), json!("stop")));
            if model != "nousage" && body["stream_options"]["include_usage"] == true {
                events.push(json!({"id": "chatcmpl-upstream", "object": "chat.completion.chunk", "created": 1, "model": model,
                                   "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}));
            }
        }
        for event in &events {
            // Each event in two writes with a pause: the gateway's reads see partial events.
            let text = format!("data: {event}\n\n");
            let (a, b) = text.split_at(text.len() / 2);
            socket.write_all(a.as_bytes()).await?;
            socket.flush().await?;
            tokio::time::sleep(Duration::from_millis(if model == "slow" { 25 } else { 2 })).await;
            socket.write_all(b.as_bytes()).await?;
            socket.flush().await?;
            if model == "slow" {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        if ends {
            socket.write_all(b"data: [DONE]\n\n").await?;
            socket.shutdown().await?;
            return Ok(());
        }
        // Stall: keep the connection open, silent, until the client gives up.
        let mut sink = [0u8; 64];
        let _ = socket.read(&mut sink).await;
        return Ok(());
    }
    Ok(())
}

/// A free port nothing listens on.
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// Spark's credentials the fake checks.
pub const SPARK_APP_ID: &str = "app-0001";
/// API key.
pub const SPARK_KEY: &str = "addd2272b6d8b7c8abdd79531420ca3b";
/// API secret.
pub const SPARK_SECRET: &str = "MjlmNzkzNmZkMDQ2OTc0ZDdmNGE2ZTZi";

/// A Spark WebSocket fake: checks the signed URL (401 otherwise, as Spark does), reads one
/// question frame, answers in three frames (status 0, 1, 2 with usage), then closes.
#[derive(Clone)]
pub struct FakeSpark {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Every question frame it received.
    pub frames: Arc<Mutex<Vec<Value>>>,
    /// Handshakes refused for a bad signature.
    pub refused: Arc<Mutex<u32>>,
}

fn verify(request: &Request) -> Result<(), String> {
    let query = request.uri().query().unwrap_or_default();
    let params: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
    let (Some(authorization), Some(date), Some(host)) = (
        params.get("authorization"),
        params.get("date"),
        params.get("host"),
    ) else {
        return Err("missing parameters".to_owned());
    };
    let when = chrono::DateTime::parse_from_rfc2822(date).map_err(|e| e.to_string())?;
    if (chrono::Utc::now() - when.with_timezone(&chrono::Utc))
        .num_seconds()
        .abs()
        > 300
    {
        return Err("clock skew".to_owned());
    }
    let header_host = request
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if header_host != host {
        return Err("host mismatch".to_owned());
    }
    // Recompute independently of the code under test.
    use hmac::Mac;
    let origin = format!(
        "host: {host}\ndate: {date}\nGET {} HTTP/1.1",
        request.uri().path()
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SPARK_SECRET.as_bytes()).unwrap();
    mac.update(origin.as_bytes());
    let signature = BASE64.encode(mac.finalize().into_bytes());
    let expected = BASE64.encode(format!(
        "api_key=\"{SPARK_KEY}\", algorithm=\"hmac-sha256\", headers=\"host date request-line\", signature=\"{signature}\""
    ));
    if &expected == authorization {
        Ok(())
    } else {
        Err("HMAC signature does not match".to_owned())
    }
}

impl FakeSpark {
    /// Starts on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let frames = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(0));
        let (seen, refusals) = (frames.clone(), refused.clone());
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (seen, refusals) = (seen.clone(), refusals.clone());
                tokio::spawn(async move {
                    // The callback's type is tungstenite's.
                    #[allow(clippy::result_large_err)]
                    let check = |request: &Request,
                                 response: Response|
                     -> Result<Response, ErrorResponse> {
                        match verify(request) {
                            Ok(()) => Ok(response),
                            Err(message) => {
                                *refusals.lock().unwrap() += 1;
                                let mut refusal = ErrorResponse::new(Some(
                                    json!({"message": message}).to_string(),
                                ));
                                *refusal.status_mut() =
                                    tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED;
                                Err(refusal)
                            }
                        }
                    };
                    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(socket, check).await
                    else {
                        return;
                    };
                    let Some(Ok(Message::Text(question))) = ws.next().await else {
                        return;
                    };
                    let question: Value =
                        serde_json::from_str(question.as_str()).unwrap_or(Value::Null);
                    seen.lock().unwrap().push(question);
                    let frame = |status: i64, content: &str, usage: Option<Value>| {
                        let mut f = json!({
                            "header": {"code": 0, "message": "Success", "sid": "cht000cb087@dx18", "status": status},
                            "payload": {"choices": {"status": status, "seq": status, "text": [{"content": content, "role": "assistant", "index": 0}]}},
                        });
                        if let Some(usage) = usage {
                            f["payload"]["usage"] = json!({"text": usage});
                        }
                        Message::text(f.to_string())
                    };
                    let _ = ws.send(frame(0, "你好", None)).await;
                    let _ = ws.send(frame(1, "，我是", None)).await;
                    let usage = json!({"question_tokens": 4, "prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14});
                    let _ = ws.send(frame(2, "星火。", Some(usage))).await;
                    let _ = ws.close(None).await;
                });
            }
        });
        Self {
            addr,
            frames,
            refused,
        }
    }

    /// The URL to configure.
    pub fn url(&self) -> String {
        format!("ws://{}/v3.5/chat", self.addr)
    }
}

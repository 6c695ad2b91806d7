//! The OpenAI-compatible gateway: POST `/v1/chat/completions` (and
//! `/api/v1/ai/chat/completions/`) and GET `/v1/models`. JWT or API key (`Bearer plz_…`); every error in OpenAI's shape
//! `{"error": {"message", "type", "param", "code"}}` so the official SDKs raise their own
//! exception classes; streaming as `chat.completion.chunk` SSE events, the usage chunk when
//! `stream_options.include_usage` is set, then `data: [DONE]`.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::StreamExt;
use plaza_kernel::error::ErrorCause;
use plaza_kernel::{ApiError, Caller};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use crate::call::{self, Tap};
use crate::provider::{ChatMessage, StreamEvent};
use crate::state::AiState;
use crate::types::UsageOut;

/// Request parameters passed upstream as they are.
const PASSED_PARAMS: [&str; 9] = [
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "response_format",
];

/// The most a request body may weigh.
const BODY_LIMIT: usize = 1 << 20;

/// OpenAI's error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenAiError {
    /// The error.
    pub error: OpenAiErrorDetail,
}

/// OpenAI's error detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenAiErrorDetail {
    /// Human readable.
    pub message: String,
    /// `invalid_request_error`, `authentication_error`, `permission_error`,
    /// `rate_limit_exceeded`, `api_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The offending parameter, if any.
    pub param: Option<String>,
    /// A machine code (`model_not_found`, `invalid_api_key`, Plaza's error code otherwise).
    pub code: Option<String>,
}

/// `err` in OpenAI's shape (its cause, if any, left for the request log).
pub fn openai_error(err: &ApiError) -> HttpResponse {
    let status = err.status();
    let param = err.errors().and_then(|e| e.keys().next().cloned());
    let mut message = err.detail().to_owned();
    if let Some(errors) = err.errors() {
        let fields: Vec<String> = errors
            .iter()
            .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
            .collect();
        message = fields.join("; ");
    }
    let (kind, code) = match status.as_u16() {
        400 if param.as_deref() == Some("model") && message.contains(call::UNKNOWN_MODEL) => {
            ("invalid_request_error", "model_not_found".to_owned())
        }
        401 => ("authentication_error", "invalid_api_key".to_owned()),
        403 => ("permission_error", err.code().to_owned()),
        429 => ("rate_limit_exceeded", "rate_limit_exceeded".to_owned()),
        500..=599 => ("api_error", err.code().to_owned()),
        _ => ("invalid_request_error", err.code().to_owned()),
    };
    // An unknown model is OpenAI's 404 `model_not_found`.
    let status = if code == "model_not_found" {
        StatusCode::NOT_FOUND
    } else {
        status
    };
    let mut builder = HttpResponse::build(status);
    if status == StatusCode::TOO_MANY_REQUESTS {
        builder.insert_header((header::RETRY_AFTER, retry_after(err)));
    }
    if status == StatusCode::UNAUTHORIZED {
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"api\""));
    }
    let mut response = builder.json(OpenAiError {
        error: OpenAiErrorDetail {
            message,
            kind,
            param,
            code: Some(code),
        },
    });
    if let Some(cause) = err.cause() {
        response
            .extensions_mut()
            .insert(ErrorCause(cause.to_owned()));
    }
    response
}

/// The `Retry-After` an error would send, read from its own response.
fn retry_after(err: &ApiError) -> String {
    use actix_web::ResponseError;
    err.error_response()
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("1")
        .to_owned()
}

async fn caller(req: &HttpRequest) -> Result<Caller, HttpResponse> {
    Caller::from_request(req, &mut Payload::None)
        .await
        .map_err(|e| openai_error(&e))
}

/// A message's content: a string or a list of parts (text parts are joined).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
    Null(()),
}

#[derive(Debug, Deserialize)]
struct Part {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct InMessage {
    role: String,
    content: Content,
}

#[derive(Debug, Default, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

/// The body of `POST /v1/chat/completions` (OpenAI's; other fields are ignored).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CompletionBody {
    /// A model's name (GET `/v1/models`).
    model: String,
    /// The conversation: `{role: system|user|assistant, content}`.
    #[schema(value_type = Vec<ChatMessage>)]
    messages: Vec<InMessage>,
    /// Stream the answer as SSE.
    #[serde(default)]
    stream: bool,
    /// `{"include_usage": true}`: a last chunk with the usage.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    stream_options: Option<StreamOptions>,
    /// Sampling parameters (`temperature`, `max_tokens`, `top_p`, `stop`, …), passed on.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    rest: Map<String, Value>,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::invalid_field(field, message.to_owned())
}

async fn read_body(mut payload: web::Payload) -> Result<Bytes, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::bad_request("The request body could not be read."))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::payload_too_large(BODY_LIMIT));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A request read: the body, its messages, the parameters passed on.
type ParsedBody = (CompletionBody, Vec<ChatMessage>, Map<String, Value>);

fn parse(body: &[u8]) -> Result<ParsedBody, ApiError> {
    let parsed: CompletionBody = serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        let field = ["model", "messages"]
            .into_iter()
            .find(|f| text.contains(&format!("`{f}`")))
            .unwrap_or("body");
        invalid(field, &format!("Invalid request: {text}"))
    })?;
    if parsed.model.trim().is_empty() {
        return Err(invalid("model", "This field may not be blank."));
    }
    if parsed.messages.is_empty() {
        return Err(invalid("messages", "At least one message is required."));
    }
    let mut messages = Vec::with_capacity(parsed.messages.len());
    for m in &parsed.messages {
        let role = match m.role.as_str() {
            "system" | "developer" => "system",
            "user" => "user",
            "assistant" => "assistant",
            other => return Err(invalid("messages", &format!("Unsupported role `{other}`."))),
        };
        let content = match &m.content {
            Content::Text(text) => text.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter(|p| p.kind == "text")
                .filter_map(|p| p.text.clone())
                .collect::<Vec<_>>()
                .join("\n"),
            Content::Null(()) => String::new(),
        };
        messages.push(ChatMessage {
            role: role.to_owned(),
            content,
        });
    }
    let params: Map<String, Value> = parsed
        .rest
        .iter()
        .filter(|(k, _)| PASSED_PARAMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok((parsed, messages, params))
}

fn completion_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::new_v4().simple())
}

/// Creates a chat completion, OpenAI-compatible.
#[utoipa::path(
    post,
    path = "/v1/chat/completions",
    tag = "ai",
    request_body = CompletionBody,
    responses(
        (status = 200, description = "A `chat.completion`, or with `stream: true` an SSE stream of `chat.completion.chunk` events ending with `data: [DONE]`", body = Object),
        (status = 400, description = "Invalid request", body = OpenAiError),
        (status = 401, description = "Not authenticated", body = OpenAiError),
        (status = 404, description = "Unknown or inactive model (`model_not_found`)", body = OpenAiError),
        (status = 413, description = "Body over 1 MiB", body = OpenAiError),
        (status = 429, description = "Daily token quota spent, or too many open streams (`Retry-After`)", body = OpenAiError),
        (status = 502, description = "The upstream failed", body = OpenAiError),
        (status = 503, description = "The model's provider is not configured", body = OpenAiError),
    ),
    security(("jwt" = []), ("api_key" = []))
)]
pub async fn chat_completions(
    req: HttpRequest,
    ai: AiState,
    payload: web::Payload,
) -> HttpResponse {
    match completions(req, ai, payload).await {
        Ok(response) => response,
        Err(error) => openai_error(&error),
    }
}

/// The same as POST `/v1/chat/completions`, under `/api/v1/ai/`.
#[utoipa::path(
    post,
    path = "/api/v1/ai/chat/completions/",
    tag = "ai",
    request_body = CompletionBody,
    responses(
        (status = 200, description = "A `chat.completion`, or an SSE stream of `chat.completion.chunk` events", body = Object),
        (status = 400, description = "Invalid request", body = OpenAiError),
        (status = 401, description = "Not authenticated", body = OpenAiError),
        (status = 404, description = "Unknown or inactive model", body = OpenAiError),
        (status = 413, description = "Body over 1 MiB", body = OpenAiError),
        (status = 429, description = "Quota spent or too many streams", body = OpenAiError),
        (status = 502, description = "The upstream failed", body = OpenAiError),
        (status = 503, description = "Provider not configured", body = OpenAiError),
    ),
    security(("jwt" = []), ("api_key" = []))
)]
pub async fn api_chat_completions(
    req: HttpRequest,
    ai: AiState,
    payload: web::Payload,
) -> HttpResponse {
    chat_completions(req, ai, payload).await
}

async fn completions(
    req: HttpRequest,
    ai: AiState,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let caller = match caller(&req).await {
        Ok(caller) => caller,
        Err(response) => return Ok(response),
    };
    let body = read_body(payload).await?;
    let (parsed, messages, params) = parse(&body)?;
    let prepared = call::prepare(
        &ai,
        caller.id,
        Some(&parsed.model),
        messages,
        params,
        "gateway",
    )
    .await?;
    let model = parsed.model;
    let created = chrono::Utc::now().timestamp();
    let id = completion_id();
    if !parsed.stream {
        let (completion, settled) = call::complete(&ai, prepared).await?;
        return Ok(HttpResponse::Ok().json(json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": completion.content},
                "finish_reason": completion.finish_reason.as_deref().unwrap_or("stop"),
            }],
            "usage": UsageOut::from(settled.usage),
        })));
    }
    let include_usage = parsed.stream_options.is_some_and(|o| o.include_usage);
    let tap = call::open_stream(ai.0.clone(), prepared).await?;
    let chunks = ChunkWriter {
        id,
        created,
        model,
        include_usage,
    };
    Ok(sse(futures_util::stream::unfold(
        (tap, chunks, Phase::Start),
        |(mut tap, chunks, phase)| async move {
            let (bytes, phase) = step(&mut tap, &chunks, phase).await?;
            Some((Ok::<_, actix_web::Error>(bytes), (tap, chunks, phase)))
        },
    )))
}

/// An SSE response.
pub fn sse<S>(stream: S) -> HttpResponse
where
    S: futures_util::Stream<Item = Result<Bytes, actix_web::Error>> + 'static,
{
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream)
}

struct ChunkWriter {
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
}

impl ChunkWriter {
    fn chunk(&self, delta: &Value, finish_reason: Option<&str>) -> Bytes {
        event(&json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }))
    }
}

/// `data: {json}\n\n`.
pub fn event(value: &Value) -> Bytes {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"data: ");
    // Serialising a Value cannot fail.
    let _ = serde_json::to_writer(&mut out, value);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

#[derive(Clone, Copy)]
enum Phase {
    Start,
    Streaming { finished: bool },
    Done,
}

async fn step(tap: &mut Tap, chunks: &ChunkWriter, phase: Phase) -> Option<(Bytes, Phase)> {
    let finished = match phase {
        Phase::Start => {
            return Some((
                chunks.chunk(&json!({"role": "assistant", "content": ""}), None),
                Phase::Streaming { finished: false },
            ))
        }
        Phase::Streaming { finished } => finished,
        Phase::Done => return None,
    };
    loop {
        match tap.next().await {
            Some(Ok(StreamEvent::Delta(text))) => {
                return Some((
                    chunks.chunk(&json!({"content": text}), None),
                    Phase::Streaming { finished },
                ))
            }
            Some(Ok(StreamEvent::Finish(reason))) if !finished => {
                let reason = reason.unwrap_or_else(|| "stop".to_owned());
                return Some((
                    chunks.chunk(&json!({}), Some(&reason)),
                    Phase::Streaming { finished: true },
                ));
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => {
                tap.close().await;
                let body = json!({"error": {
                    "message": error.public_message(),
                    "type": "api_error",
                    "param": null,
                    "code": "upstream_error",
                }});
                tracing::warn!(%error, "AI upstream failed mid-stream");
                return Some((event(&body), Phase::Done));
            }
            None => {
                let settled = tap.close().await;
                let mut out = Vec::new();
                if !finished {
                    out.extend_from_slice(&chunks.chunk(&json!({}), Some("stop")));
                }
                if chunks.include_usage {
                    out.extend_from_slice(&event(&json!({
                        "id": chunks.id,
                        "object": "chat.completion.chunk",
                        "created": chunks.created,
                        "model": chunks.model,
                        "choices": [],
                        "usage": UsageOut::from(settled.usage),
                    })));
                }
                out.extend_from_slice(b"data: [DONE]\n\n");
                return Some((Bytes::from(out), Phase::Done));
            }
        }
    }
}

/// Lists the active chat models, OpenAI's shape.
#[utoipa::path(
    get,
    path = "/v1/models",
    tag = "ai",
    responses(
        (status = 200, description = "`{object: \"list\", data: [{id, object: \"model\", created, owned_by}]}`", body = Object),
        (status = 401, description = "Not authenticated", body = OpenAiError),
    ),
    security(("jwt" = []), ("api_key" = []))
)]
pub async fn list_models(req: HttpRequest, ai: AiState) -> HttpResponse {
    if let Err(response) = caller(&req).await {
        return response;
    }
    match ai.models().await {
        Ok(models) => {
            let data: Vec<Value> = models
                .iter()
                .filter(|m| m.is_active)
                .map(|m| json!({"id": m.name, "object": "model", "created": m.created_at.and_utc().timestamp(), "owned_by": m.provider}))
                .collect();
            HttpResponse::Ok().json(json!({"object": "list", "data": data}))
        }
        Err(error) => openai_error(&error),
    }
}

/// Mounts `/v1/chat/completions` and `/v1/models` (with and without a trailing slash).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(["/v1/chat/completions", "/v1/chat/completions/"]).post(chat_completions),
    )
    .service(web::resource(["/v1/models", "/v1/models/"]).get(list_models));
}

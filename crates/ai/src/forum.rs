//! The forum's POST `/posts/chat/` (API.md §9): `{message}` or `{messages: [{role,
//! content}]}`, optional `model`, answered as an SSE stream of the default (or named) model's
//! answer: one `data: {"content": "…"}` event per piece, `data: {"error": "…"}` if the
//! upstream fails, and `data: [DONE]` at the end. plaza-server mounts it at the forum's path.

use actix_web::HttpResponse;
use bytes::Bytes;
use plaza_kernel::error::ErrorBody;
use plaza_kernel::{ApiError, ApiResult, Caller, ValidJson};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::call;
use crate::gateway::{event, sse};
use crate::provider::{ChatMessage, StreamEvent};
use crate::state::AiState;

fn roles(messages: &[ChatMessage]) -> Result<(), ValidationError> {
    if messages.is_empty() {
        return Err(
            ValidationError::new("empty").with_message("At least one message is required.".into())
        );
    }
    if messages
        .iter()
        .any(|m| !matches!(m.role.as_str(), "system" | "user" | "assistant"))
    {
        return Err(ValidationError::new("role")
            .with_message("Each role must be system, user or assistant.".into()));
    }
    Ok(())
}

/// The forum's chat request.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ForumChat {
    /// One user message (1–100000 characters).
    #[validate(length(min = 1, max = 100_000))]
    pub message: Option<String>,
    /// Or the whole conversation.
    #[validate(custom(function = "roles"))]
    pub messages: Option<Vec<ChatMessage>>,
    /// A model's name (default: Spark when configured, else the default model).
    #[validate(length(min = 1, max = 100))]
    pub model: Option<String>,
}

/// Streams the answer of the default model, as the forum's browser client reads it.
#[utoipa::path(post, path = "/posts/chat/", tag = "forum (original paths)", request_body = ForumChat,
    responses(
        (status = 200, description = "`text/event-stream`: `data: {\"content\": \"…\"}` events, then `data: [DONE]`", content_type = "text/event-stream"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody),
    ),
    security(("jwt" = [])))]
pub async fn posts_chat(
    ai: AiState,
    caller: Caller,
    body: ValidJson<ForumChat>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let messages = match (body.messages, body.message) {
        (Some(messages), _) => messages,
        (None, Some(message)) => vec![ChatMessage {
            role: "user".to_owned(),
            content: message,
        }],
        (None, None) => {
            return Err(ApiError::invalid_field(
                "message",
                "This field is required.",
            ))
        }
    };
    let prepared = call::prepare(
        &ai,
        caller.id,
        body.model.as_deref(),
        messages,
        serde_json::Map::new(),
        "forum",
    )
    .await?;
    let tap = call::open_stream(ai.0.clone(), prepared).await?;
    Ok(sse(futures_util::stream::unfold(
        Some(tap),
        |tap| async move {
            let mut tap = tap?;
            loop {
                match tap.next().await {
                    Some(Ok(StreamEvent::Delta(text))) => {
                        return Some((
                            Ok::<Bytes, actix_web::Error>(event(&json!({"content": text}))),
                            Some(tap),
                        ))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        tap.close().await;
                        return Some((Ok(event(&json!({"error": error.public_message()}))), None));
                    }
                    None => {
                        tap.close().await;
                        return Some((Ok(Bytes::from_static(b"data: [DONE]\n\n")), None));
                    }
                }
            }
        },
    )))
}

/// The OpenAPI description of `/posts/chat/`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(posts_chat))]
pub struct ForumDoc;

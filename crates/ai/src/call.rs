//! One AI call from start to row: choosing the model and its provider, checking the quota,
//! calling (whole or streamed), and settling the call with the accountant whatever happens —
//! success, upstream failure, timeout, or the client going away mid-stream ([`Tap`]'s drop).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use plaza_kernel::{ApiError, ApiResult};
use serde_json::{Map, Value};

use crate::accounting::{Call, Settled};
use crate::model::ModelRow;
use crate::provider::{
    ChatMessage, ChatRequest, ChatStream, Completion, Provider, ProviderError, StreamEvent, Usage,
};
use crate::quota::{self, StreamSlot};
use crate::state::Ai;

/// A call ready to go: the model, its provider, what to send.
pub struct Prepared {
    /// The model.
    pub model: Arc<ModelRow>,
    /// Its provider.
    pub provider: Arc<dyn Provider>,
    /// What to send.
    pub request: ChatRequest,
    /// The caller.
    pub user_id: i64,
    /// `gateway`, `chat`, `forum`.
    pub endpoint: &'static str,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("model", &self.model.name)
            .finish_non_exhaustive()
    }
}

/// What an unknown or inactive model's error says (the gateway answers it as OpenAI's 404
/// `model_not_found`).
pub const UNKNOWN_MODEL: &str = "does not exist or is not active";

/// 400 naming `model`.
pub fn unknown_model(name: &str) -> ApiError {
    ApiError::invalid_field("model", format!("The model `{name}` {UNKNOWN_MODEL}."))
}

/// The model `name` (or the default model), active and of kind `text`, with its provider
/// configured: 400 naming `model` for an unknown or inactive model, 503 for a model whose
/// provider is not configured here.
pub async fn resolve_model(
    ai: &Ai,
    name: Option<&str>,
) -> ApiResult<(Arc<ModelRow>, Arc<dyn Provider>)> {
    let model = match name {
        Some(name) => ai.model(name).await?.ok_or_else(|| unknown_model(name))?,
        None => ai.default_model().await?.ok_or_else(|| {
            ApiError::unavailable("No AI model is configured.", "no default AI model")
        })?,
    };
    if !model.is_active {
        return Err(unknown_model(&model.name));
    }
    if model.kind != "text" {
        return Err(ApiError::invalid_field(
            "model",
            format!("The model `{}` is not a chat model.", model.name),
        ));
    }
    let provider = ai.providers.get(&model.provider).cloned().ok_or_else(|| {
        ApiError::unavailable(
            "The model's AI provider is not configured.",
            format!("AI provider `{}` not configured", model.provider),
        )
    })?;
    Ok((model, provider))
}

/// Counts the call against `THROTTLE_AI_CALL`, checks the caller's quota and builds the call: the model's default parameters, overridden
/// by the request's.
pub async fn prepare(
    ai: &Ai,
    user_id: i64,
    model: Option<&str>,
    messages: Vec<ChatMessage>,
    params: Map<String, Value>,
    endpoint: &'static str,
) -> ApiResult<Prepared> {
    if let Some(limit) = ai.settings.call_limit {
        limit.hit(&ai.cache, &user_id.to_string()).await?;
    }
    let (model, provider) = resolve_model(ai, model).await?;
    let premium = ai.is_premium(user_id).await?;
    quota::check(&ai.cache, user_id, ai.settings.quota_for(premium)).await?;
    let mut merged: Map<String, Value> =
        serde_json::from_str(&model.default_params).unwrap_or_default();
    merged.extend(params);
    Ok(Prepared {
        request: ChatRequest {
            model: model.upstream_model.clone(),
            messages,
            params: merged,
            user: Some(user_id.to_string()),
        },
        model,
        provider,
        user_id,
        endpoint,
    })
}

/// 502 `upstream_error` with the provider error's safe message (the cause is logged only).
pub fn upstream_error(error: &ProviderError) -> ApiError {
    ApiError::upstream(error.public_message()).with_cause(error)
}

fn call_of(prepared: &Prepared, stream: bool, started: Instant) -> Call {
    Call {
        user_id: prepared.user_id,
        model: prepared.model.clone(),
        endpoint: prepared.endpoint,
        stream,
        prompt: prepared.request.messages.clone(),
        completion: String::new(),
        usage: None,
        started_at: plaza_kernel::time::now(),
        started,
        upstream: Duration::ZERO,
        ttft: None,
        status: "ok",
        error: None,
    }
}

/// The whole answer, settled.
pub async fn complete(ai: &Ai, prepared: Prepared) -> ApiResult<(Completion, Settled)> {
    let started = Instant::now();
    let mut call = call_of(&prepared, false, started);
    let result = prepared.provider.chat(prepared.request).await;
    call.upstream = started.elapsed();
    match result {
        Ok(completion) => {
            call.completion.clone_from(&completion.content);
            call.usage = completion.usage;
            let settled = ai.accountant.finish(call).await;
            Ok((completion, settled))
        }
        Err(error) => {
            call.status = error.status();
            call.error = Some(error.public_message().to_owned());
            // Refused before any answer: nothing was spent upstream.
            call.usage = Some(Usage::default());
            ai.accountant.finish(call).await;
            Err(upstream_error(&error))
        }
    }
}

/// A streamed answer being read: every event passes through it, so the call is settled with
/// what arrived when the stream ends, fails, or is dropped (the client went away).
pub struct Tap {
    ai: Arc<Ai>,
    stream: ChatStream,
    call: Option<Call>,
    waiting_since: Instant,
    _slot: StreamSlot,
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap").finish_non_exhaustive()
    }
}

/// Opens a stream: takes one of the caller's stream slots (429 when none is left), then
/// asks the provider (502 when it fails before the first byte; the call is settled then).
pub async fn open_stream(ai: Arc<Ai>, prepared: Prepared) -> ApiResult<Tap> {
    let slot = StreamSlot::acquire(
        ai.cache.clone(),
        prepared.user_id,
        ai.settings.max_concurrent_streams,
    )
    .await?;
    let started = Instant::now();
    let mut call = call_of(&prepared, true, started);
    match prepared.provider.chat_stream(prepared.request).await {
        Ok(stream) => {
            call.upstream = started.elapsed();
            let waiting_since = Instant::now();
            Ok(Tap {
                ai,
                stream,
                call: Some(call),
                waiting_since,
                _slot: slot,
            })
        }
        Err(error) => {
            call.upstream = started.elapsed();
            call.status = error.status();
            call.error = Some(error.public_message().to_owned());
            // Refused before any answer: nothing was spent upstream.
            call.usage = Some(Usage::default());
            ai.accountant.finish(call).await;
            Err(upstream_error(&error))
        }
    }
}

impl Tap {
    /// The next event; `None` at the end. After an error or the end, settle with
    /// [`Tap::close`].
    pub async fn next(&mut self) -> Option<Result<StreamEvent, ProviderError>> {
        self.waiting_since = Instant::now();
        let item = self.stream.next().await;
        if let Some(call) = &mut self.call {
            call.upstream += self.waiting_since.elapsed();
            match &item {
                Some(Ok(StreamEvent::Delta(text))) => {
                    if call.ttft.is_none() {
                        call.ttft = Some(call.started.elapsed());
                    }
                    call.completion.push_str(text);
                }
                Some(Ok(StreamEvent::Usage(usage))) => call.usage = Some(*usage),
                Some(Ok(StreamEvent::Finish(_))) | None => {}
                Some(Err(error)) => {
                    call.status = error.status();
                    call.error = Some(error.public_message().to_owned());
                }
            }
        }
        item
    }

    /// The answer so far.
    pub fn completion(&self) -> &str {
        self.call.as_ref().map_or("", |c| c.completion.as_str())
    }

    /// Settles the call (once) and returns its counts.
    pub async fn close(&mut self) -> Settled {
        match self.call.take() {
            Some(call) => self.ai.accountant.finish(call).await,
            None => Settled {
                usage: Usage::default(),
                estimated: false,
                cost: 0,
            },
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        // Not closed: the client went away before the end. Settle with what arrived.
        if let Some(mut call) = self.call.take() {
            call.upstream += self.waiting_since.elapsed();
            if call.status == "ok" {
                call.status = "client_disconnect";
                call.error =
                    Some("The client disconnected before the end of the stream.".to_owned());
            }
            let ai = self.ai.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    ai.accountant.finish(call).await;
                });
            }
        }
    }
}

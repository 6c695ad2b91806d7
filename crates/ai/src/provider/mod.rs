//! Providers: one small trait ([`Provider`]: chat, chat stream, list models) and its two
//! implementations, any OpenAI-compatible HTTP upstream ([`openai::OpenAiProvider`]) and
//! iFlytek Spark's WebSocket API ([`spark::SparkProvider`]).
//!
//! Every provider error is a [`ProviderError`]; what a client sees of it is
//! [`ProviderError::public_message`], which never includes the upstream's body, key or URL.

pub mod openai;
pub mod spark;

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::settings::AiSettings;

/// One message of a chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// What a provider is asked.
#[derive(Clone, Debug, Default)]
pub struct ChatRequest {
    /// The model's name at the upstream.
    pub model: String,
    /// The conversation, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Sampling parameters passed through (`temperature`, `max_tokens`, `top_p`, …).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// An id of the end user, for the upstream's abuse tracking.
    pub user: Option<String>,
}

/// Token counts an upstream reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u32,
    /// Tokens of the answer.
    pub completion_tokens: u32,
}

/// A whole answer.
#[derive(Clone, Debug, Default)]
pub struct Completion {
    /// The text.
    pub content: String,
    /// Why it ended (`stop`, `length`, …).
    pub finish_reason: Option<String>,
    /// The upstream's counts, when it gave them.
    pub usage: Option<Usage>,
}

/// One event of a streamed answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// More text.
    Delta(String),
    /// The answer ended, for this reason.
    Finish(Option<String>),
    /// The upstream's counts (usually last).
    Usage(Usage),
}

/// A streamed answer.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, ProviderError>> + Send>>;

/// Why a provider failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderError {
    /// Could not connect (after the retry).
    Connect(String),
    /// No answer in time: `first_token` or `idle`.
    Timeout(&'static str),
    /// The upstream answered with an error status (its body, for the logs only).
    Status(u16, String),
    /// The upstream's answer made no sense.
    Protocol(String),
    /// The upstream reported an error in-band (Spark's `header.code`, an SSE `error`).
    Upstream(String),
}

impl ProviderError {
    /// What a client may be told: no upstream body, key or URL.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::Connect(_) => "The AI provider could not be reached.",
            Self::Timeout(_) => "The AI provider did not answer in time.",
            Self::Status(429, _) => "The AI provider is rate limiting requests; retry later.",
            Self::Status(..) | Self::Upstream(_) => "The AI provider returned an error.",
            Self::Protocol(_) => "The AI provider sent an answer that could not be read.",
        }
    }

    /// The status recorded in `ai_requests` (`upstream_error` or `timeout`).
    pub fn status(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            _ => "upstream_error",
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connect: {e}"),
            Self::Timeout(which) => write!(f, "timeout ({which})"),
            Self::Status(status, body) => write!(f, "status {status}: {body}"),
            Self::Protocol(e) => write!(f, "protocol: {e}"),
            Self::Upstream(e) => write!(f, "upstream: {e}"),
        }
    }
}

impl std::error::Error for ProviderError {}

/// A model source: chat, chat stream, list models.
pub trait Provider: Send + Sync + 'static {
    /// Its name (`openai`, `spark`).
    fn name(&self) -> &str;

    /// The whole answer.
    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<Completion, ProviderError>>;

    /// The answer as it is written; the first event arrives within the first-token timeout
    /// and the next ones within the idle timeout (see [`with_timeouts`]).
    fn chat_stream(&self, request: ChatRequest)
        -> BoxFuture<'_, Result<ChatStream, ProviderError>>;

    /// The upstream's model names.
    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>, ProviderError>>;
}

/// Timeouts every provider shares.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Connecting.
    pub connect: Duration,
    /// Until the first token.
    pub first_token: Duration,
    /// Between two chunks.
    pub idle: Duration,
}

impl Timeouts {
    /// From the settings.
    pub fn of(settings: &AiSettings) -> Self {
        Self {
            connect: settings.connect_timeout,
            first_token: settings.first_token_timeout,
            idle: settings.idle_timeout,
        }
    }
}

/// `stream` with the first event due within `first` and each next one within `idle`; a late
/// event ends the stream with [`ProviderError::Timeout`].
pub fn with_timeouts(stream: ChatStream, first: Duration, idle: Duration) -> ChatStream {
    use futures_util::StreamExt;
    let state = (stream, true, false);
    Box::pin(futures_util::stream::unfold(
        state,
        move |(mut inner, first_event, done)| async move {
            if done {
                return None;
            }
            let wait = if first_event { first } else { idle };
            match tokio::time::timeout(wait, inner.next()).await {
                Ok(Some(item)) => {
                    let failed = item.is_err();
                    Some((item, (inner, false, failed)))
                }
                Ok(None) => None,
                Err(_) => Some((
                    Err(ProviderError::Timeout(if first_event {
                        "first_token"
                    } else {
                        "idle"
                    })),
                    (inner, false, true),
                )),
            }
        },
    ))
}

/// The providers configured in this process, by name.
#[derive(Clone, Default)]
pub struct Providers {
    by_name: HashMap<String, Arc<dyn Provider>>,
}

impl fmt::Debug for Providers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Providers")
            .field("names", &self.by_name.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Providers {
    /// The providers `settings` configure.
    pub fn from_settings(settings: &AiSettings) -> Self {
        let timeouts = Timeouts::of(settings);
        let mut by_name: HashMap<String, Arc<dyn Provider>> = HashMap::new();
        for http in &settings.providers {
            match openai::OpenAiProvider::new(http, timeouts) {
                Ok(provider) => {
                    by_name.insert(http.name.clone(), Arc::new(provider));
                }
                Err(error) => {
                    tracing::error!(provider = %http.name, %error, "cannot build the AI provider's HTTP client");
                }
            }
        }
        if let Some(spark) = &settings.spark {
            by_name.insert(
                spark::NAME.to_owned(),
                Arc::new(spark::SparkProvider::new(spark.clone(), timeouts)),
            );
        }
        Self { by_name }
    }

    /// The provider named `name`, if configured.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.by_name.get(name)
    }

    /// Adds (or replaces) a provider.
    pub fn insert(&mut self, provider: Arc<dyn Provider>) {
        self.by_name.insert(provider.name().to_owned(), provider);
    }
}

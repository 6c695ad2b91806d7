//! Any OpenAI-compatible HTTP upstream (OpenAI, DeepSeek, Qwen, Ollama, vLLM, Spark's HTTP
//! gateway): `POST {base}/chat/completions`, streamed by SSE (parsed by `eventsource-stream`,
//! which also reads `data:{…}` without a space, as Spark's gateway writes it), and
//! `GET {base}/models`.

use std::future::ready;

use eventsource_stream::Eventsource;
use futures_util::future::BoxFuture;
use futures_util::{stream, StreamExt};
use serde_json::{json, Value};

use super::{
    with_timeouts, ChatRequest, ChatStream, Completion, Provider, ProviderError, StreamEvent,
    Timeouts, Usage,
};
use crate::settings::HttpProviderSettings;

/// How much of an upstream's error body is kept for the logs.
const LOGGED_BODY: usize = 300;

/// An OpenAI-compatible upstream.
pub struct OpenAiProvider {
    name: String,
    base_url: String,
    completions_url: Option<reqwest::Url>,
    api_key: Option<String>,
    client: reqwest::Client,
    timeouts: Timeouts,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// A provider for `settings`, with its own connection pool.
    pub fn new(
        settings: &HttpProviderSettings,
        timeouts: Timeouts,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1024)
            .build()?;
        Ok(Self {
            name: settings.name.clone(),
            base_url: settings.base_url.clone(),
            // Parsed once, not per request.
            completions_url: reqwest::Url::parse(&format!(
                "{}/chat/completions",
                settings.base_url
            ))
            .ok(),
            api_key: settings.api_key.clone(),
            client,
            timeouts,
        })
    }

    fn body(request: &ChatRequest, stream: bool) -> Value {
        let mut body = serde_json::Map::new();
        for (key, value) in &request.params {
            body.insert(key.clone(), value.clone());
        }
        body.insert("model".to_owned(), json!(request.model));
        body.insert("messages".to_owned(), json!(request.messages));
        body.insert("stream".to_owned(), json!(stream));
        if stream {
            body.insert("stream_options".to_owned(), json!({"include_usage": true}));
        }
        if let Some(user) = &request.user {
            body.insert("user".to_owned(), json!(user));
        }
        Value::Object(body)
    }

    /// Sends the request, retrying once when the connection could not be made; waits for the
    /// response head at most the first-token timeout.
    async fn send(&self, body: &Value) -> Result<reqwest::Response, ProviderError> {
        let url = self
            .completions_url
            .clone()
            .ok_or_else(|| ProviderError::Connect("invalid base URL".to_owned()))?;
        let mut attempt = 0;
        loop {
            let mut request = self.client.post(url.clone()).json(body);
            if let Some(key) = &self.api_key {
                request = request.bearer_auth(key);
            }
            match tokio::time::timeout(self.timeouts.first_token, request.send()).await {
                Err(_) => return Err(ProviderError::Timeout("first_token")),
                Ok(Ok(response)) => return check(response).await,
                Ok(Err(e)) if e.is_connect() && attempt == 0 => {
                    tracing::debug!(provider = %self.name, error = %e, "AI upstream connect failed; retrying once");
                    attempt += 1;
                }
                Ok(Err(e)) if e.is_connect() => return Err(ProviderError::Connect(e.to_string())),
                Ok(Err(e)) if e.is_timeout() => return Err(ProviderError::Timeout("first_token")),
                Ok(Err(e)) => return Err(ProviderError::Protocol(e.to_string())),
            }
        }
    }
}

/// An error status becomes [`ProviderError::Status`] with the start of its body (for logs).
async fn check(response: reqwest::Response) -> Result<reqwest::Response, ProviderError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(ProviderError::Status(
        status.as_u16(),
        body.chars().take(LOGGED_BODY).collect(),
    ))
}

fn usage_of(value: &Value) -> Option<Usage> {
    let usage = value.get("usage")?;
    let count = |key: &str| {
        usage
            .get(key)
            .and_then(Value::as_u64)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    Some(Usage {
        prompt_tokens: count("prompt_tokens")?,
        completion_tokens: count("completion_tokens").unwrap_or(0),
    })
}

fn upstream_error(value: &Value) -> Option<ProviderError> {
    let error = value.get("error").filter(|e| !e.is_null())?;
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map_or_else(|| error.to_string(), str::to_owned);
    Some(ProviderError::Upstream(
        message.chars().take(LOGGED_BODY).collect(),
    ))
}

/// Reads a whole `chat.completion`.
pub fn parse_completion(value: &Value) -> Result<Completion, ProviderError> {
    if let Some(error) = upstream_error(value) {
        return Err(error);
    }
    let choice = value
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| ProviderError::Protocol("no choices".to_owned()))?;
    let content = choice
        .pointer("/message/content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(Completion {
        content,
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
        usage: usage_of(value),
    })
}

/// What one SSE event of a stream says.
#[derive(Debug)]
enum Parsed {
    Done,
    Events(Vec<Result<StreamEvent, ProviderError>>),
}

/// Reads one `chat.completion.chunk` (or `[DONE]`, or an in-band error).
fn parse_chunk(data: &str) -> Parsed {
    let data = data.trim();
    if data == "[DONE]" {
        return Parsed::Done;
    }
    if data.is_empty() {
        return Parsed::Events(Vec::new());
    }
    let value: Value = match serde_json::from_str(data) {
        Ok(value) => value,
        Err(e) => return Parsed::Events(vec![Err(ProviderError::Protocol(e.to_string()))]),
    };
    if let Some(error) = upstream_error(&value) {
        return Parsed::Events(vec![Err(error)]);
    }
    let mut events = Vec::new();
    if let Some(choice) = value.get("choices").and_then(|c| c.get(0)) {
        if let Some(text) = choice.pointer("/delta/content").and_then(Value::as_str) {
            if !text.is_empty() {
                events.push(Ok(StreamEvent::Delta(text.to_owned())));
            }
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            events.push(Ok(StreamEvent::Finish(Some(reason.to_owned()))));
        }
    }
    if let Some(usage) = usage_of(&value) {
        events.push(Ok(StreamEvent::Usage(usage)));
    }
    Parsed::Events(events)
}

impl Provider for OpenAiProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<Completion, ProviderError>> {
        Box::pin(async move {
            let body = Self::body(&request, false);
            let response = self.send(&body).await?;
            let bytes = tokio::time::timeout(self.timeouts.first_token, response.bytes())
                .await
                .map_err(|_| ProviderError::Timeout("first_token"))?
                .map_err(|e| ProviderError::Protocol(e.to_string()))?;
            let value: Value = serde_json::from_slice(&bytes)
                .map_err(|e| ProviderError::Protocol(e.to_string()))?;
            parse_completion(&value)
        })
    }

    fn chat_stream(
        &self,
        request: ChatRequest,
    ) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        Box::pin(async move {
            let body = Self::body(&request, true);
            let response = self.send(&body).await?;
            let events = response
                .bytes_stream()
                .eventsource()
                .map(|event| match event {
                    Ok(event) => parse_chunk(&event.data),
                    Err(e) => Parsed::Events(vec![Err(ProviderError::Protocol(e.to_string()))]),
                })
                .take_while(|parsed| ready(!matches!(parsed, Parsed::Done)))
                .flat_map(|parsed| match parsed {
                    Parsed::Events(events) => stream::iter(events),
                    Parsed::Done => stream::iter(Vec::new()),
                });
            Ok(with_timeouts(
                Box::pin(events),
                self.timeouts.first_token,
                self.timeouts.idle,
            ))
        })
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>, ProviderError>> {
        Box::pin(async move {
            let mut request = self.client.get(format!("{}/models", self.base_url));
            if let Some(key) = &self.api_key {
                request = request.bearer_auth(key);
            }
            let response = tokio::time::timeout(self.timeouts.first_token, request.send())
                .await
                .map_err(|_| ProviderError::Timeout("first_token"))?
                .map_err(|e| ProviderError::Connect(e.to_string()))?;
            let value: Value = check(response)
                .await?
                .json()
                .await
                .map_err(|e| ProviderError::Protocol(e.to_string()))?;
            Ok(value
                .get("data")
                .and_then(Value::as_array)
                .map(|models| {
                    models
                        .iter()
                        .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_done_errors_and_usage() {
        assert!(matches!(parse_chunk("[DONE]"), Parsed::Done));
        let Parsed::Events(events) = parse_chunk(
            r#"{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#,
        ) else {
            panic!("events expected")
        };
        assert_eq!(events, vec![Ok(StreamEvent::Delta("Hi".to_owned()))]);
        // Spark's gateway: no object or model field, usage in the last chunk.
        let Parsed::Events(events) = parse_chunk(
            r#"{"choices":[{"delta":{"content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}"#,
        ) else {
            panic!("events expected")
        };
        assert_eq!(
            events,
            vec![
                Ok(StreamEvent::Finish(Some("stop".to_owned()))),
                Ok(StreamEvent::Usage(Usage {
                    prompt_tokens: 3,
                    completion_tokens: 5
                }))
            ]
        );
        let Parsed::Events(events) = parse_chunk(r#"{"error":{"message":"overloaded"}}"#) else {
            panic!("events expected")
        };
        assert_eq!(
            events,
            vec![Err(ProviderError::Upstream("overloaded".to_owned()))]
        );
    }
}

//! iFlytek Spark (讯飞星火) over WebSocket: the HMAC-SHA256 signed URL, one question per
//! connection, the answer streamed frame by frame as it arrives (REFERENCE.md).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio_stream::wrappers::ReceiverStream;
use tokio_tungstenite::tungstenite::{self, Message};

use super::{
    with_timeouts, ChatMessage, ChatRequest, ChatStream, Completion, Provider, ProviderError,
    StreamEvent, Timeouts, Usage,
};
use crate::settings::SparkSettings;

/// The provider's (and the model's) name.
pub const NAME: &str = "spark";

/// Events buffered between the socket and the consumer.
const BUFFER: usize = 64;

/// The signature and `authorization` parameter of a Spark request (steps 2–5 of
/// REFERENCE.md).
pub fn sign(
    api_key: &str,
    api_secret: &str,
    host: &str,
    path: &str,
    date: &str,
) -> (String, String) {
    let origin = format!("host: {host}\ndate: {date}\nGET {path} HTTP/1.1");
    // HMAC accepts a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(api_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(origin.as_bytes());
    let signature = BASE64.encode(mac.finalize().into_bytes());
    let authorization_origin = format!(
        "api_key=\"{api_key}\", algorithm=\"hmac-sha256\", headers=\"host date request-line\", signature=\"{signature}\""
    );
    (signature, BASE64.encode(authorization_origin))
}

/// The signed URL of `url` at `date` (RFC 1123, GMT).
pub fn signed_url(
    url: &str,
    api_key: &str,
    api_secret: &str,
    date: &str,
) -> Result<String, ProviderError> {
    let parsed =
        url::Url::parse(url).map_err(|e| ProviderError::Connect(format!("bad SPARK_URL: {e}")))?;
    let host = match (parsed.host_str(), parsed.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => return Err(ProviderError::Connect("SPARK_URL has no host".to_owned())),
    };
    let (_, authorization) = sign(api_key, api_secret, &host, parsed.path(), date);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("authorization", &authorization)
        .append_pair("date", date)
        .append_pair("host", &host)
        .finish();
    Ok(format!(
        "{}://{host}{}?{query}",
        parsed.scheme(),
        parsed.path()
    ))
}

/// The request frame: system messages first, then the conversation.
pub fn request_frame(settings: &SparkSettings, request: &ChatRequest) -> Value {
    let (system, rest): (Vec<&ChatMessage>, Vec<&ChatMessage>) =
        request.messages.iter().partition(|m| m.role == "system");
    let text: Vec<&ChatMessage> = system.into_iter().chain(rest).collect();
    let mut chat = serde_json::Map::new();
    chat.insert("domain".to_owned(), json!(settings.domain));
    for key in ["temperature", "max_tokens", "top_k"] {
        if let Some(value) = request.params.get(key) {
            chat.insert(key.to_owned(), value.clone());
        }
    }
    let uid: String = request
        .user
        .as_deref()
        .unwrap_or("plaza")
        .chars()
        .take(32)
        .collect();
    json!({
        "header": {"app_id": settings.app_id, "uid": uid},
        "parameter": {"chat": chat},
        "payload": {"message": {"text": text}},
    })
}

/// What one response frame says: events, and whether it was the last.
fn parse_frame(text: &str) -> (Vec<Result<StreamEvent, ProviderError>>, bool) {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => return (vec![Err(ProviderError::Protocol(e.to_string()))], true),
    };
    let code = value
        .pointer("/header/code")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if code != 0 {
        let message = value
            .pointer("/header/message")
            .and_then(Value::as_str)
            .unwrap_or("");
        let sid = value
            .pointer("/header/sid")
            .and_then(Value::as_str)
            .unwrap_or("");
        return (
            vec![Err(ProviderError::Upstream(format!(
                "code {code} ({message}), sid {sid}"
            )))],
            true,
        );
    }
    let mut events = Vec::new();
    if let Some(texts) = value
        .pointer("/payload/choices/text")
        .and_then(Value::as_array)
    {
        for part in texts {
            if let Some(content) = part.get("content").and_then(Value::as_str) {
                if !content.is_empty() {
                    events.push(Ok(StreamEvent::Delta(content.to_owned())));
                }
            }
        }
    }
    let last = value.pointer("/header/status").and_then(Value::as_i64) == Some(2)
        || value
            .pointer("/payload/choices/status")
            .and_then(Value::as_i64)
            == Some(2);
    if last {
        events.push(Ok(StreamEvent::Finish(Some("stop".to_owned()))));
        if let Some(usage) = value.pointer("/payload/usage/text") {
            let count = |key: &str| {
                usage
                    .get(key)
                    .and_then(Value::as_u64)
                    .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
            };
            events.push(Ok(StreamEvent::Usage(Usage {
                prompt_tokens: count("prompt_tokens"),
                completion_tokens: count("completion_tokens"),
            })));
        }
    }
    (events, last)
}

/// Spark's WebSocket chat.
#[derive(Debug)]
pub struct SparkProvider {
    settings: SparkSettings,
    timeouts: Timeouts,
}

impl SparkProvider {
    /// A provider for `settings`.
    pub fn new(settings: SparkSettings, timeouts: Timeouts) -> Self {
        Self { settings, timeouts }
    }

    async fn connect(
        &self,
    ) -> Result<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        ProviderError,
    > {
        let mut attempt = 0;
        loop {
            let date = chrono::Utc::now()
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string();
            let url = signed_url(
                &self.settings.url,
                &self.settings.api_key,
                &self.settings.api_secret,
                &date,
            )?;
            match tokio::time::timeout(self.timeouts.connect, tokio_tungstenite::connect_async(url))
                .await
            {
                Ok(Ok((socket, _))) => return Ok(socket),
                Ok(Err(tungstenite::Error::Http(response))) => {
                    let body = response
                        .body()
                        .as_ref()
                        .map(|b| String::from_utf8_lossy(b).chars().take(300).collect())
                        .unwrap_or_default();
                    return Err(ProviderError::Status(response.status().as_u16(), body));
                }
                Ok(Err(e)) if attempt == 0 && matches!(e, tungstenite::Error::Io(_)) => {
                    tracing::debug!(error = %e, "Spark connect failed; retrying once");
                }
                Ok(Err(e)) => return Err(ProviderError::Connect(e.to_string())),
                Err(_) if attempt == 0 => {}
                Err(_) => return Err(ProviderError::Connect("connect timed out".to_owned())),
            }
            attempt += 1;
        }
    }
}

impl Provider for SparkProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<Completion, ProviderError>> {
        Box::pin(async move {
            let mut stream = self.chat_stream(request).await?;
            let mut completion = Completion::default();
            while let Some(event) = stream.next().await {
                match event? {
                    StreamEvent::Delta(text) => completion.content.push_str(&text),
                    StreamEvent::Finish(reason) => completion.finish_reason = reason,
                    StreamEvent::Usage(usage) => completion.usage = Some(usage),
                }
            }
            Ok(completion)
        })
    }

    fn chat_stream(
        &self,
        request: ChatRequest,
    ) -> BoxFuture<'_, Result<ChatStream, ProviderError>> {
        Box::pin(async move {
            let mut socket = self.connect().await?;
            let frame = request_frame(&self.settings, &request).to_string();
            socket
                .send(Message::text(frame))
                .await
                .map_err(|e| ProviderError::Connect(e.to_string()))?;
            let (tx, rx) = tokio::sync::mpsc::channel(BUFFER);
            tokio::spawn(async move {
                while let Some(message) = socket.next().await {
                    let (events, last) = match message {
                        Ok(Message::Text(text)) => parse_frame(text.as_str()),
                        Ok(Message::Binary(bytes)) => parse_frame(&String::from_utf8_lossy(&bytes)),
                        Ok(Message::Close(_)) => break,
                        Ok(_) => continue,
                        Err(e) => (vec![Err(ProviderError::Protocol(e.to_string()))], true),
                    };
                    for event in events {
                        if tx.send(event).await.is_err() {
                            // The consumer went away: stop reading, close the socket.
                            let _ = socket.close(None).await;
                            return;
                        }
                    }
                    if last {
                        let _ = socket.close(None).await;
                        return;
                    }
                }
            });
            Ok(with_timeouts(
                Box::pin(ReceiverStream::new(rx)),
                self.timeouts.first_token,
                self.timeouts.idle,
            ))
        })
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>, ProviderError>> {
        let domain = self.settings.domain.clone();
        Box::pin(async move { Ok(vec![domain]) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "MjlmNzkzNmZkMDQ2OTc0ZDdmNGE2ZTZi";
    const KEY: &str = "addd2272b6d8b7c8abdd79531420ca3b";
    const DATE: &str = "Fri, 05 May 2023 10:43:39 GMT";

    #[test]
    fn reference_test_vector() {
        let (signature, authorization) =
            sign(KEY, SECRET, "spark-api.xf-yun.com", "/v1.1/chat", DATE);
        assert_eq!(signature, "z5gHdu3pxVV4ADMyk467wOWDQ9q6BQzR3nfMTjc/DaQ=");
        assert_eq!(
            authorization,
            "YXBpX2tleT0iYWRkZDIyNzJiNmQ4YjdjOGFiZGQ3OTUzMTQyMGNhM2IiLCBhbGdvcml0aG09ImhtYWMtc2hhMjU2IiwgaGVhZGVycz0iaG9zdCBkYXRlIHJlcXVlc3QtbGluZSIsIHNpZ25hdHVyZT0iejVnSGR1M3B4VlY0QURNeWs0Njd3T1dEUTlxNkJRelIzbmZNVGpjL0RhUT0i"
        );
        let (signature, _) = sign(KEY, SECRET, "spark-api.xf-yun.com", "/v3.5/chat", DATE);
        assert_eq!(signature, "9s5gABpQIH+9wiR0dmxhlVY3Cqw34SFim12TmXSwVKc=");
        let url = signed_url("wss://spark-api.xf-yun.com/v1.1/chat", KEY, SECRET, DATE)
            .unwrap_or_default();
        assert!(
            url.ends_with("&date=Fri%2C+05+May+2023+10%3A43%3A39+GMT&host=spark-api.xf-yun.com"),
            "{url}"
        );
        assert!(url.starts_with("wss://spark-api.xf-yun.com/v1.1/chat?authorization=YXBpX2tleT0i"));
    }

    #[test]
    fn frames() {
        let settings = SparkSettings {
            app_id: "app".to_owned(),
            api_key: KEY.to_owned(),
            api_secret: SECRET.to_owned(),
            url: "wss://x/v3.5/chat".to_owned(),
            domain: "generalv3.5".to_owned(),
        };
        let request = ChatRequest {
            messages: vec![
                ChatMessage {
                    role: "user".to_owned(),
                    content: "hi".to_owned(),
                },
                ChatMessage {
                    role: "system".to_owned(),
                    content: "be brief".to_owned(),
                },
            ],
            ..ChatRequest::default()
        };
        let frame = request_frame(&settings, &request);
        assert_eq!(frame["payload"]["message"]["text"][0]["role"], "system");
        assert_eq!(frame["parameter"]["chat"]["domain"], "generalv3.5");

        let (events, last) = parse_frame(
            r#"{"header":{"code":0,"status":1},"payload":{"choices":{"status":1,"seq":1,"text":[{"content":"Hel","role":"assistant","index":0}]}}}"#,
        );
        assert_eq!(
            (events, last),
            (vec![Ok(StreamEvent::Delta("Hel".to_owned()))], false)
        );
        let (events, last) = parse_frame(
            r#"{"header":{"code":0,"status":2},"payload":{"choices":{"status":2,"seq":2,"text":[{"content":"lo","role":"assistant","index":0}]},"usage":{"text":{"question_tokens":4,"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}}}"#,
        );
        assert!(last);
        assert_eq!(
            events.last(),
            Some(&Ok(StreamEvent::Usage(Usage {
                prompt_tokens: 5,
                completion_tokens: 9
            })))
        );
        let (events, last) =
            parse_frame(r#"{"header":{"code":11201,"message":"quota","sid":"cht0001"}}"#);
        assert!(last);
        assert!(
            matches!(&events[0], Err(ProviderError::Upstream(m)) if m.contains("11201") && m.contains("cht0001"))
        );
    }
}

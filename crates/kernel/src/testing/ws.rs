//! A WebSocket client for tests, as browsers and SDKs talk to Plaza: JSON text messages with a
//! `type`, binary frames, pings answered automatically.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a message before failing.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(15);

/// What arrived.
#[derive(Debug, PartialEq)]
pub enum WsEvent {
    /// A text message that is JSON.
    Json(Value),
    /// A text message that is not JSON.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// The server closed, with its code and reason (`None`: no close frame).
    Closed(Option<(u16, String)>),
}

/// A connected test client.
pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl std::fmt::Debug for WsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WsClient")
    }
}

impl WsClient {
    /// Connects to `url`; `Err(status)` when the server refuses the upgrade.
    pub async fn connect(url: &str) -> Result<Self, u16> {
        Self::connect_with(url, &[]).await
    }

    /// Connects with extra request headers (`Authorization`, say).
    pub async fn connect_with(url: &str, headers: &[(&str, &str)]) -> Result<Self, u16> {
        use tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().expect("a WebSocket URL");
        for (name, value) in headers {
            request.headers_mut().insert(
                tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                value.parse().expect("header value"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(Self { stream }),
            Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(err) => panic!("WebSocket connection to {url} failed: {err}"),
        }
    }

    /// Sends a JSON value as a text message.
    pub async fn send_json(&mut self, value: &Value) {
        self.send_text(value.to_string()).await;
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.stream
            .send(Message::text(text.into()))
            .await
            .expect("send a text message");
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: Vec<u8>) {
        self.stream
            .send(Message::binary(data))
            .await
            .expect("send a binary message");
    }

    /// The next message (pings and pongs are skipped); fails the test after [`RECV_TIMEOUT`].
    pub async fn recv(&mut self) -> WsEvent {
        loop {
            let next = tokio::time::timeout(RECV_TIMEOUT, self.stream.next())
                .await
                .expect("a message within the timeout");
            return match next {
                None | Some(Err(_)) => WsEvent::Closed(None),
                Some(Ok(Message::Text(text))) => match serde_json::from_str(text.as_str()) {
                    Ok(value) => WsEvent::Json(value),
                    Err(_) => WsEvent::Text(text.as_str().to_owned()),
                },
                Some(Ok(Message::Binary(data))) => WsEvent::Binary(data.to_vec()),
                Some(Ok(Message::Close(frame))) => WsEvent::Closed(
                    frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned())),
                ),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            };
        }
    }

    /// The next message, which must be JSON.
    pub async fn recv_json(&mut self) -> Value {
        match self.recv().await {
            WsEvent::Json(value) => value,
            other => panic!("expected a JSON message, got {other:?}"),
        }
    }

    /// The next message, which must be JSON of `type` `kind`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let value = self.recv_json().await;
        assert_eq!(
            value["type"], kind,
            "expected a {kind} message, got {value}"
        );
        value
    }

    /// The next message, which must be an `error` with `code`.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let value = self.expect("error").await;
        assert_eq!(value["code"], code, "{value}");
        value
    }

    /// The next message, which must be binary.
    pub async fn recv_binary(&mut self) -> Vec<u8> {
        match self.recv().await {
            WsEvent::Binary(data) => data,
            other => panic!("expected a binary message, got {other:?}"),
        }
    }

    /// Reads until the server closes; returns its close code and reason, if it sent them.
    pub async fn expect_closed(&mut self) -> Option<(u16, String)> {
        loop {
            if let WsEvent::Closed(frame) = self.recv().await {
                return frame;
            }
        }
    }

    /// Closes normally.
    pub async fn close(mut self) {
        let _ = self
            .stream
            .close(Some(tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            }))
            .await;
    }

    /// The underlying stream, for tests that need raw access (stop reading, send raw frames).
    pub fn stream_mut(&mut self) -> &mut WebSocketStream<MaybeTlsStream<TcpStream>> {
        &mut self.stream
    }
}

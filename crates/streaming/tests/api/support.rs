//! Apps, users and peers for the tests.

use plaza_kernel::testing::{TestApp, TestBackend, TestUser, WsClient};
use serde_json::{json, Value};

/// The streaming domain over a fresh database, with `vars` as configuration.
pub async fn app_with(backend: TestBackend, vars: &[(&str, &str)]) -> TestApp {
    let mut builder = TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .domain(&plaza_streaming::DOMAIN)
        .env("STREAM_MAX_MESSAGE_BYTES", "65536");
    for (key, value) in vars {
        builder = builder.env(key, value);
    }
    builder.build().await
}

/// The streaming domain with default settings (and a 64 KiB message limit).
pub async fn app(backend: TestBackend) -> TestApp {
    app_with(backend, &[]).await
}

/// A connected peer and its `connection_established` message.
pub struct Peer {
    pub ws: WsClient,
    pub peer_id: String,
}

impl Peer {
    /// Connects with `?token=`.
    pub async fn connect(app: &TestApp, user: &TestUser) -> Self {
        Self::connect_url(&app.ws_url(&format!("/ws/webrtc/?token={}", user.access))).await
    }

    /// Connects to `url` (which must be accepted).
    pub async fn connect_url(url: &str) -> Self {
        let mut ws = WsClient::connect(url)
            .await
            .expect("the upgrade is accepted");
        let hello = ws.expect("connection_established").await;
        let peer_id = hello["peer_id"].as_str().unwrap().to_owned();
        let session_id = hello["session_id"].as_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&peer_id).is_ok(), "{hello}");
        assert!(uuid::Uuid::parse_str(&session_id).is_ok(), "{hello}");
        assert_ne!(peer_id, session_id);
        Self { ws, peer_id }
    }

    pub async fn send(&mut self, value: Value) {
        self.ws.send_json(&value).await;
    }

    pub async fn expect(&mut self, kind: &str) -> Value {
        self.ws.expect(kind).await
    }

    pub async fn expect_error(&mut self, code: &str) -> Value {
        self.ws.expect_error(code).await
    }

    /// Creates a stream and returns its id.
    pub async fn create(&mut self, title: &str) -> String {
        self.send(json!({"type": "create_stream", "title": title, "description": "d"}))
            .await;
        let created = self.expect("stream_created").await;
        assert_eq!(created["title"], title);
        assert_eq!(created["message"], "视频流创建成功");
        created["stream_id"].as_str().unwrap().to_owned()
    }

    /// Joins a stream; returns `stream_joined`.
    pub async fn join(&mut self, stream_id: &str) -> Value {
        self.send(json!({"type": "join_stream", "stream_id": stream_id}))
            .await;
        let joined = self.expect("stream_joined").await;
        assert_eq!(joined["stream_id"], stream_id);
        assert_eq!(joined["message"], "成功加入视频流");
        joined
    }

    /// A ping answered by a pong: the connection works, and nothing was queued before it.
    pub async fn roundtrip(&mut self) {
        self.send(json!({"type": "ping"})).await;
        self.expect("pong").await;
    }
}

/// A video frame message.
pub fn frame(data: &str, kind: &str, timestamp: i64) -> Value {
    json!({"type": "video_frame", "frame_data": data, "frame_type": kind, "timestamp": timestamp})
}

/// `GET path` as `user` (or anonymously), parsed.
pub async fn get_json(app: &TestApp, path: &str, user: Option<&TestUser>) -> (u16, Value) {
    let mut request = app.get(path);
    if let Some(user) = user {
        request = request.bearer_auth(&user.access);
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

//! The AI domain through the real binary: an OpenAI SDK's calls (`/v1/models`,
//! `/v1/chat/completions` whole and streamed) against a local fake upstream, the forum's
//! `/posts/chat/`, metrics, and the request rows queued in memory written at SIGTERM.

use std::path::Path;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use plaza_e2e::Plaza;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A minimal OpenAI-compatible upstream: "echo: <last message>", usage 5 + 3, streamed in
/// one piece per word when asked.
async fn fake_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap_or(0));
                    while buf.len() < end + 4 + len {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body: Value =
                        serde_json::from_slice(&buf[end + 4..end + 4 + len]).unwrap_or(Value::Null);
                    buf.drain(..end + 4 + len);
                    let text = format!(
                        "echo: {}",
                        body["messages"]
                            .as_array()
                            .and_then(|m| m.last())
                            .and_then(|m| m["content"].as_str())
                            .unwrap_or("")
                    );
                    if body["stream"] == true {
                        let mut out = String::from("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
                        for word in text.split_inclusive(' ') {
                            out.push_str(&format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": null}]})));
                        }
                        out.push_str(&format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 3}})));
                        out.push_str("data: [DONE]\n\n");
                        let _ = socket.write_all(out.as_bytes()).await;
                        return;
                    }
                    let answer = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 3}}).to_string();
                    let out = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}", answer.len());
                    if socket.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}/v1")
}

async fn sign_up(plaza: &Plaza, username: &str) -> String {
    let password = "Gateway-Passw0rd!";
    let res = plaza.client.post(plaza.url("/users/register/"))
        .json(&json!({"username": username, "email": format!("{username}@example.com"), "password": password, "password_confirm": password}))
        .send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let res = plaza
        .client
        .post(plaza.url("/users/login/"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    res.json::<Value>().await.unwrap()["access"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn count_rows(db: &Path) -> i64 {
    let mut conn = SqliteConnection::establish(&db.display().to_string()).unwrap();
    diesel::sql_query("SELECT COUNT(*) AS n FROM ai_requests")
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test]
async fn gateway_through_the_binary() {
    let upstream = fake_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let mut plaza = Plaza::builder()
        .dir(dir.path())
        .env("AI_OPENAI_BASE_URL", &upstream)
        .env("AI_OPENAI_API_KEY", "sk-e2e")
        .env("AI_OPENAI_MODELS", "gpt-e2e")
        // Nothing is written before shutdown: the stop must flush it.
        .env("AI_ACCOUNTING_FLUSH_INTERVAL", "1h")
        .start()
        .await;
    let token = sign_up(&plaza, "sdkuser").await;

    let models: Value = plaza
        .client
        .get(plaza.url("/v1/models"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "gpt-e2e");

    let res = plaza
        .client
        .post(plaza.url("/v1/chat/completions"))
        .bearer_auth(&token)
        .json(&json!({"model": "gpt-e2e", "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "echo: hello");
    assert_eq!(body["usage"]["total_tokens"], 8);

    let res = plaza.client.post(plaza.url("/v1/chat/completions")).bearer_auth(&token)
        .json(&json!({"model": "gpt-e2e", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "a b"}]}))
        .send().await.unwrap();
    let text = res.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(text.contains("\"object\":\"chat.completion.chunk\""));
    assert!(text.contains("\"total_tokens\":8"));

    let res = plaza
        .client
        .post(plaza.url("/posts/chat/"))
        .bearer_auth(&token)
        .json(&json!({"message": "forum"}))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert!(
        text.contains("{\"content\":\"forum\"}") && text.ends_with("data: [DONE]\n\n"),
        "{text}"
    );

    let metrics = plaza
        .client
        .get(plaza.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"plaza_ai_tokens_total{model="gpt-e2e",kind="completion"} 9"#),
        "{metrics}"
    );
    let schema: Value = plaza
        .client
        .get(plaza.url("/api/schema/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/chat/completions",
        "/v1/models",
        "/api/v1/ai/chat/send/",
        "/posts/chat/",
    ] {
        assert!(schema["paths"].get(path).is_some(), "{path} documented");
    }

    // Three calls, queued in memory; SIGTERM writes them.
    let db = dir.path().join("data/plaza.db");
    assert_eq!(count_rows(&db), 0, "nothing written on the request path");
    assert!(plaza.stop().success());
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(count_rows(&db), 3);
}

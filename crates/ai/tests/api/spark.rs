//! Spark over its signed WebSocket, through the gateway, chat and the forum path.

use plaza_kernel::db_test;
use serde_json::{json, Value};

use crate::fakes::{FakeOpenAi, FakeSpark, SPARK_APP_ID};
use crate::support::{ask, builder, complete, spark_secret, sse_data, wait_requests, with_spark};

db_test!(async fn spark_answers_and_streams(backend) {
    let fake = FakeOpenAi::start().await;
    let spark = FakeSpark::start().await;
    let app = with_spark(builder(backend, &fake), &spark, spark_secret())
        .env("AI_DEFAULT_MODEL", "spark")
        .build()
        .await;
    let alice = app.create_user("alice").await;

    let res = complete(&app, &alice, &json!({"model": "spark", "temperature": 0.3, "messages": [
        {"role": "user", "content": "你好"}, {"role": "system", "content": "简短回答"}]})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "你好，我是星火。");
    assert_eq!(body["usage"], json!({"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}));
    let frame = spark.frames.lock().unwrap().last().cloned().unwrap();
    assert_eq!(frame["header"]["app_id"], SPARK_APP_ID);
    assert_eq!(frame["header"]["uid"], alice.id.to_string());
    assert_eq!(frame["parameter"]["chat"]["domain"], "generalv3.5");
    assert_eq!(frame["parameter"]["chat"]["temperature"], 0.3);
    assert_eq!(frame["payload"]["message"]["text"][0]["role"], "system", "system first");

    // Streamed through the gateway, piece by piece.
    let mut stream = ask("spark", "hi");
    stream["stream"] = json!(true);
    stream["stream_options"] = json!({"include_usage": true});
    let text = complete(&app, &alice, &stream).await.text().await.unwrap();
    let data = sse_data(&text);
    let pieces: Vec<String> = data.iter().filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str().map(str::to_owned)).filter(|s| !s.is_empty()).collect();
    assert_eq!(pieces, ["你好", "，我是", "星火。"]);
    assert!(text.contains("\"total_tokens\":14"));

    // The forum's chat goes to Spark when it is configured.
    let res = app.post("/posts/chat/").bearer_auth(&alice.access).json(&json!({"message": "hi"})).send().await.unwrap();
    let data = sse_data(&res.text().await.unwrap());
    assert_eq!(data.len(), 4);
    assert_eq!(serde_json::from_str::<Value>(&data[0]).unwrap()["content"], "你好");

    let rows = wait_requests(&app, &alice, 3).await;
    assert!(rows.iter().all(|r| r["provider"] == "spark" && r["status"] == "ok" && r["prompt_tokens"] == 5));
    assert_eq!(*spark.refused.lock().unwrap(), 0);
});

db_test!(async fn spark_bad_signature_is_an_upstream_error(backend) {
    let fake = FakeOpenAi::start().await;
    let spark = FakeSpark::start().await;
    let app = with_spark(builder(backend, &fake), &spark, "d3Jvbmctc2VjcmV0")
        .build()
        .await;
    let alice = app.create_user("alice").await;
    let res = complete(&app, &alice, &ask("spark", "hi")).await;
    assert_eq!(res.status(), 502);
    let text = res.text().await.unwrap();
    assert!(!text.contains("HMAC") && !text.contains("d3Jvbm"), "{text}");
    assert_eq!(*spark.refused.lock().unwrap(), 1, "the handshake was refused, not retried");
    let rows = wait_requests(&app, &alice, 1).await;
    assert_eq!(rows[0]["status"], "upstream_error");
});

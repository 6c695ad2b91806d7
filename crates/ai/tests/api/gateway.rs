//! The OpenAI-compatible gateway: the wire format the official SDKs read, errors in OpenAI's
//! shape, accounting of every outcome.

use plaza_kernel::db_test;
use serde_json::{json, Value};

use crate::fakes::{closed_port, FakeOpenAi, SECRET_DETAIL};
use crate::support::{app, ask, builder, complete, patch_model, sse_data, wait_requests};

fn assert_openai_error(body: &Value, kind: &str) {
    let error = &body["error"];
    assert_eq!(error["type"], kind, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        error.get("param").is_some() && error.get("code").is_some(),
        "{body}"
    );
}

db_test!(async fn completion_models_and_accounting(backend) {
    let (app, fake) = app(backend).await;
    let alice = app.create_user("alice").await;
    let staff = app.create_staff("root").await;
    patch_model(&app, &staff, "echo", &json!({"input_price": 1000, "output_price": 2000, "default_params": {"temperature": 0.2, "top_p": 0.9}})).await;

    let res = complete(&app, &alice, &json!({
        "model": "echo",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "hi there"}]}],
        "temperature": 0.7,
        "logit_bias": {"50256": -100},
    })).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    let body: Value = res.json().await.unwrap();
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(body["object"], "chat.completion");
    assert!(body["created"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(body["model"], "echo");
    assert_eq!(body["choices"], json!([{"index": 0, "message": {"role": "assistant", "content": "echo: hi there"}, "finish_reason": "stop"}]));
    assert_eq!(body["usage"], json!({"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}));

    // What went upstream: the upstream name, the request's parameters over the model's
    // defaults, only known parameters, the end user's id.
    let sent = fake.bodies().pop().unwrap();
    assert_eq!(sent["model"], "echo");
    assert_eq!(sent["temperature"], 0.7);
    assert_eq!(sent["top_p"], 0.9);
    assert_eq!(sent["stream"], false);
    assert!(sent.get("logit_bias").is_none());
    assert_eq!(sent["user"], alice.id.to_string());
    assert_eq!(sent["messages"][1], json!({"role": "user", "content": "hi there"}));

    // The same under /api/v1/ai/.
    let res = app.post("/api/v1/ai/chat/completions/").bearer_auth(&alice.access).json(&ask("echo", "again")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["choices"][0]["message"]["content"], "echo: again");

    // The request log: tokens from the upstream's usage, cost at the model's prices
    // (11 × 1000 + 7 × 2000 micro-USD per 1000 tokens = 25).
    let rows = wait_requests(&app, &alice, 2).await;
    let row = &rows[1];
    assert_eq!((row["model"].as_str(), row["provider"].as_str(), row["endpoint"].as_str()), (Some("echo"), Some("fake"), Some("gateway")));
    assert_eq!((row["prompt_tokens"].as_i64(), row["completion_tokens"].as_i64(), row["cost"].as_i64()), (Some(11), Some(7), Some(25)));
    assert_eq!((row["status"].as_str(), row["tokens_estimated"].as_bool(), row["stream"].as_bool()), (Some("ok"), Some(false), Some(false)));
    assert!(row["error"].is_null() && row["latency_ms"].as_i64().is_some());

    // GET /v1/models: OpenAI's list of active models.
    let res = app.get("/v1/models").bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["object"], "list");
    let echo = list["data"].as_array().unwrap().iter().find(|m| m["id"] == "echo").unwrap();
    assert_eq!((echo["object"].as_str(), echo["owned_by"].as_str()), (Some("model"), Some("fake")));
    assert!(echo["created"].as_i64().is_some());

    // Metrics: tokens, cost and the gateway's overhead per model.
    let text = app.services.metrics.encode();
    assert!(text.contains(r#"plaza_ai_tokens_total{model="echo",kind="prompt"} 22"#), "{text}");
    assert!(text.contains(r#"plaza_ai_cost_micro_usd_total{model="echo"} 50"#), "{text}");
    assert!(text.contains(r#"plaza_ai_gateway_overhead_seconds_count{model="echo"} 2"#), "{text}");
});

db_test!(async fn api_keys_work_as_the_sdks_send_them(backend) {
    let (app, _fake) = app(backend).await;
    let alice = app.create_user("alice").await;
    let res = app.post("/api/v1/auth/api-keys/").bearer_auth(&alice.access).json(&json!({"name": "sdk"})).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let key = res.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("plz_"));
    let res = app.post("/v1/chat/completions").bearer_auth(&key).json(&ask("echo", "key")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.get("/v1/models").bearer_auth(&key).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.get("/v1/models").bearer_auth("plz_not-a-key").send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_openai_error(&res.json().await.unwrap(), "authentication_error");
});

db_test!(async fn streaming_chunks_usage_and_done(backend) {
    let (app, fake) = app(backend).await;
    let alice = app.create_user("alice").await;
    let mut body = ask("echo", "stream me please");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let res = complete(&app, &alice, &body).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let text = res.text().await.unwrap();
    let data = sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{text}");
    let chunks: Vec<Value> = data[..data.len() - 1].iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    let id = chunks[0]["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-"));
    for chunk in &chunks {
        assert_eq!(chunk["id"], id, "one id for every chunk");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["model"], "echo");
    }
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let content: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(content, "echo: stream me please");
    let finishes: Vec<&Value> = chunks.iter().filter(|c| !c["choices"][0]["finish_reason"].is_null() && c["choices"].as_array().is_some_and(|a| !a.is_empty())).collect();
    assert_eq!(finishes.len(), 1);
    assert_eq!(finishes[0]["choices"][0]["finish_reason"], "stop");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"], json!({"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}));
    // The gateway always asks the upstream for usage.
    assert_eq!(fake.bodies().pop().unwrap()["stream_options"], json!({"include_usage": true}));

    // Without include_usage: no usage chunk.
    body["stream_options"] = Value::Null;
    let text = complete(&app, &alice, &body).await.text().await.unwrap();
    assert!(!text.contains("\"usage\""), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));

    let rows = wait_requests(&app, &alice, 2).await;
    assert!(rows.iter().all(|r| r["stream"] == true && r["status"] == "ok" && r["completion_tokens"] == 7));
    assert!(rows.iter().all(|r| r["ttft_ms"].as_i64().is_some()));
});

db_test!(async fn errors_in_openai_shape_without_leaks(backend) {
    let fake = FakeOpenAi::start().await;
    let down = closed_port().await;
    let app = builder(backend, &fake)
        .env("AI_PROVIDERS", "fake,down")
        .env("AI_DOWN_BASE_URL", &format!("http://127.0.0.1:{down}/v1"))
        .env("AI_DOWN_API_KEY", "sk-down-secret")
        .env("AI_DOWN_MODELS", "gone")
        .build()
        .await;
    let alice = app.create_user("alice").await;
    let staff = app.create_staff("root").await;

    // Credentials first.
    let res = app.post("/v1/chat/completions").json(&ask("echo", "x")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_openai_error(&res.json().await.unwrap(), "authentication_error");
    let res = app.post("/v1/chat/completions").bearer_auth("not.a.jwt").json(&ask("echo", "x")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_openai_error(&res.json().await.unwrap(), "authentication_error");

    // Unknown model: OpenAI's 404 model_not_found.
    let res = complete(&app, &alice, &ask("gpt-nope", "x")).await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_openai_error(&body, "invalid_request_error");
    assert_eq!((body["error"]["code"].as_str(), body["error"]["param"].as_str()), (Some("model_not_found"), Some("model")));
    // An inactive model is not found either.
    patch_model(&app, &staff, "nousage", &json!({"is_active": false})).await;
    assert_eq!(complete(&app, &alice, &ask("nousage", "x")).await.status(), 404);
    let list: Value = app.get("/v1/models").bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert!(!list["data"].as_array().unwrap().iter().any(|m| m["id"] == "nousage"));

    // Bad bodies: 400 naming the parameter.
    let res = complete(&app, &alice, &json!({"model": "echo", "messages": []})).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_openai_error(&body, "invalid_request_error");
    assert_eq!(body["error"]["param"], "messages");
    let res = complete(&app, &alice, &json!({"messages": [{"role": "user", "content": "x"}]})).await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["param"], "model");
    let res = complete(&app, &alice, &json!({"model": "echo", "messages": [{"role": "tool", "content": "x"}]})).await;
    assert_eq!(res.status(), 400);
    let res = app.post("/v1/chat/completions").bearer_auth(&alice.access).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_openai_error(&res.json().await.unwrap(), "invalid_request_error");

    // The upstream fails: 502 with a safe message, nothing of the upstream's body, key or URL.
    let res = complete(&app, &alice, &ask("fail", "x")).await;
    assert_eq!(res.status(), 502);
    let text = res.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_openai_error(&body, "api_error");
    assert_eq!(body["error"]["code"], "upstream_error");
    for leak in [SECRET_DETAIL, "sk-fake", "10.0.0.7", "127.0.0.1", "/v1/chat"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
    // The upstream is down (connection refused, after one retry): 502, no URL or key.
    let res = complete(&app, &alice, &ask("gone", "x")).await;
    assert_eq!(res.status(), 502);
    let text = res.text().await.unwrap();
    assert!(!text.contains(&down.to_string()) && !text.contains("sk-down"), "{text}");
    // A model whose provider is not configured here: 503.
    let res = app.post("/api/v1/ai/models/").bearer_auth(&staff.access)
        .json(&json!({"name": "orphan", "provider": "elsewhere", "upstream_model": "x"})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let res = complete(&app, &alice, &ask("orphan", "x")).await;
    assert_eq!(res.status(), 503);
    assert_openai_error(&res.json().await.unwrap(), "api_error");

    // Failures are logged as requests too (not the ones refused before the call).
    let rows = wait_requests(&app, &alice, 2).await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["status"] == "upstream_error"), "{rows:?}");
    assert!(rows.iter().all(|r| !r["error"].as_str().unwrap().contains(SECRET_DETAIL)));
    assert_eq!(rows[0]["model"], "gone");
});

db_test!(async fn failures_mid_stream(backend) {
    let (app, _fake) = app(backend).await;
    let alice = app.create_user("alice").await;
    // An in-band error after a first piece: the SDKs raise on an event carrying `error`.
    let mut body = ask("midfail", "a b c");
    body["stream"] = json!(true);
    let res = complete(&app, &alice, &body).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains(SECRET_DETAIL), "{text}");
    let data = sse_data(&text);
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "upstream_error");
    assert!(text.contains("echo: "), "the piece before the error was relayed: {text}");

    // A stall mid-stream: the idle timeout (1 s here) ends it with an error event.
    body["model"] = json!("stall");
    let text = complete(&app, &alice, &body).await.text().await.unwrap();
    let last: Value = serde_json::from_str(sse_data(&text).last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "upstream_error");

    let rows = wait_requests(&app, &alice, 2).await;
    assert_eq!((rows[0]["model"].as_str(), rows[0]["status"].as_str()), (Some("stall"), Some("timeout")));
    assert_eq!((rows[1]["model"].as_str(), rows[1]["status"].as_str()), (Some("midfail"), Some("upstream_error")));
    // What arrived before the failure is counted (estimated: no usage came).
    assert!(rows[0]["completion_tokens"].as_i64().unwrap() > 0);
    assert_eq!(rows[0]["tokens_estimated"], true);
});

db_test!(async fn client_disconnect_still_writes_the_row(backend) {
    let (app, _fake) = app(backend).await;
    let alice = app.create_user("alice").await;
    let mut body = ask("slow", "x");
    body["stream"] = json!(true);
    let res = complete(&app, &alice, &body).await;
    assert_eq!(res.status(), 200);
    let mut stream = res.bytes_stream();
    let mut seen = String::new();
    while seen.matches("\"content\":\"w").count() < 3 {
        use futures_util::StreamExt;
        let chunk = stream.next().await.unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(stream); // The client goes away mid-stream.
    let rows = wait_requests(&app, &alice, 1).await;
    assert_eq!(rows[0]["status"], "client_disconnect");
    let tokens = rows[0]["completion_tokens"].as_i64().unwrap();
    assert!((3..400 * 2).contains(&tokens), "the tokens seen so far: {tokens}");
    assert_eq!(rows[0]["tokens_estimated"], true);
});

db_test!(async fn tokens_counted_when_the_upstream_gives_none(backend) {
    let (app, _fake) = app(backend).await;
    let alice = app.create_user("alice").await;
    let body: Value = complete(&app, &alice, &ask("nousage", "hello world")).await.json().await.unwrap();
    // cl100k_base: "hello world" is 2 tokens (+4 framing +3 priming); "echo: hello world" is 4.
    assert_eq!(body["usage"], json!({"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}));
    let rows = wait_requests(&app, &alice, 1).await;
    assert_eq!((rows[0]["tokens_estimated"].as_bool(), rows[0]["prompt_tokens"].as_i64()), (Some(true), Some(9)));
});

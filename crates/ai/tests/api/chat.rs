//! Conversations, chat send (JSON and SSE), the history sent upstream, the forum's
//! `/posts/chat/`, the request log and the daily roll-up.

use plaza_kernel::db_test;
use plaza_kernel::jobs::{enqueue, JobOptions, JobRegistry};
use serde_json::{json, Value};

use crate::support::{app, ask, complete, patch_model, sse_data, wait_requests};

db_test!(async fn conversations_and_chat(backend) {
    let (app, fake) = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;

    // A first message starts a conversation with the default model.
    let res = app.post("/api/v1/ai/chat/send/").bearer_auth(&alice.access).json(&json!({"message": "Hello there"})).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["message"]["role"], "assistant");
    assert_eq!(first["message"]["content"], "echo: Hello there");
    assert_eq!(first["usage"], json!({"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}));
    let conversation_id = first["conversation_id"].as_i64().unwrap();
    let path = format!("/api/v1/ai/conversations/{conversation_id}/");

    // The next one continues it, the history going upstream.
    let res = app.post("/api/v1/ai/chat/send/").bearer_auth(&alice.access)
        .json(&json!({"message": "And again", "conversation_id": conversation_id})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let sent = fake.bodies().pop().unwrap();
    let roles: Vec<&str> = sent["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(sent["messages"][2]["content"], "And again");

    let detail: Value = app.get(&path).bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert_eq!((detail["title"].as_str(), detail["model"].as_str()), (Some("Hello there"), Some("echo")));
    let contents: Vec<&str> = detail["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["Hello there", "echo: Hello there", "And again", "echo: And again"]);

    // Another user's conversation does not exist for them.
    assert_eq!(app.get(&path).bearer_auth(&bob.access).send().await.unwrap().status(), 404);
    assert_eq!(app.get(&format!("{path}messages/")).bearer_auth(&bob.access).send().await.unwrap().status(), 404);
    assert_eq!(app.patch(&path).bearer_auth(&bob.access).json(&json!({"title": "mine"})).send().await.unwrap().status(), 404);
    assert_eq!(app.delete(&path).bearer_auth(&bob.access).send().await.unwrap().status(), 404);
    let res = app.post("/api/v1/ai/chat/send/").bearer_auth(&bob.access)
        .json(&json!({"message": "sneak", "conversation_id": conversation_id})).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(fake.bodies().len(), 2, "nothing went upstream");

    // Messages, paginated; conversations listed; rename; bad input.
    let page: Value = app.get(&format!("{path}messages/?page_size=3")).bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert_eq!((page["count"].as_i64(), page["results"].as_array().unwrap().len()), (Some(4), 3));
    assert!(page["next"].as_str().unwrap().contains("page=2"));
    assert_eq!(app.get(&format!("{path}messages/?page=9")).bearer_auth(&alice.access).send().await.unwrap().status(), 404);
    let res = app.patch(&path).bearer_auth(&alice.access).json(&json!({"title": "Renamed"})).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["title"], "Renamed");
    let res = app.patch(&path).bearer_auth(&alice.access).json(&json!({"title": ""})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let res = app.post("/api/v1/ai/conversations/").bearer_auth(&alice.access).json(&json!({"title": "Empty"})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let list: Value = app.get("/api/v1/ai/conversations/").bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["count"], 2);
    assert_eq!(list["results"][0]["title"], "Empty", "most recently active first");
    let list: Value = app.get("/api/v1/ai/conversations/").bearer_auth(&bob.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["count"], 0);
    let res = app.post("/api/v1/ai/chat/send/").bearer_auth(&alice.access).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"].get("message").is_some());
    let res = app.post("/api/v1/ai/chat/send/").bearer_auth(&alice.access).json(&json!({"message": "x", "model": "nope"})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"].get("model").is_some());
    let res = app.post("/api/v1/ai/chat/send/").bearer_auth(&alice.access).json(&json!({"message": 5})).send().await.unwrap();
    assert_eq!(res.status(), 400);

    // Streamed: {"delta"} events, then {"done": true, "usage"}; the answer is stored.
    let res = app.post("/api/v1/ai/chat/send/").bearer_auth(&alice.access)
        .json(&json!({"message": "stream it", "conversation_id": conversation_id, "stream": true})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let data = sse_data(&res.text().await.unwrap());
    let events: Vec<Value> = data.iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    let text: String = events.iter().filter_map(|e| e["delta"].as_str()).collect();
    assert_eq!(text, "echo: stream it");
    let done = events.last().unwrap();
    assert_eq!((done["done"].as_bool(), done["conversation_id"].as_i64()), (Some(true), Some(conversation_id)));
    assert_eq!(done["usage"]["total_tokens"], 18);
    let detail: Value = app.get(&path).bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(detail["messages"].as_array().unwrap().last().unwrap()["content"], "echo: stream it");

    // Deleting a conversation removes its messages.
    assert_eq!(app.delete(&path).bearer_auth(&alice.access).send().await.unwrap().status(), 204);
    assert_eq!(app.get(&path).bearer_auth(&alice.access).send().await.unwrap().status(), 404);
});

db_test!(async fn history_fits_the_context_window(backend) {
    let (app, fake) = app(backend).await;
    let alice = app.create_user("alice").await;
    let staff = app.create_staff("root").await;
    // 120 tokens of context, 20 kept for the answer.
    patch_model(&app, &staff, "echo", &json!({"context_window": 120, "default_params": {"max_tokens": 20}})).await;
    let long = "word ".repeat(30); // 30 tokens
    let mut conversation_id = Value::Null;
    for turn in 0..3 {
        let res = app.post("/api/v1/ai/chat/send/").bearer_auth(&alice.access)
            .json(&json!({"message": format!("{turn} {long}"), "conversation_id": conversation_id})).send().await.unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        conversation_id = res.json::<Value>().await.unwrap()["conversation_id"].clone();
    }
    // The third turn: the oldest turns are dropped so the prompt fits 100 tokens.
    let sent = fake.bodies().pop().unwrap();
    let messages = sent["messages"].as_array().unwrap();
    assert!(messages.len() < 5, "{messages:?}");
    assert!(messages.last().unwrap()["content"].as_str().unwrap().starts_with("2 "));
    assert!(!messages.iter().any(|m| m["content"].as_str().unwrap().starts_with("0 ")));
    assert_eq!(sent["max_tokens"], 20);
    // A message that alone does not fit is refused.
    let res = app.post("/api/v1/ai/chat/send/").bearer_auth(&alice.access).json(&json!({"message": "word ".repeat(200)})).send().await.unwrap();
    assert_eq!(res.status(), 400);
});

db_test!(async fn forum_chat_streams(backend) {
    let (app, _fake) = app(backend).await;
    let alice = app.create_user("alice").await;
    let res = app.post("/posts/chat/").bearer_auth(&alice.access).json(&json!({"message": "hi forum"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let data = sse_data(&res.text().await.unwrap());
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let text: String = data[..data.len() - 1].iter().map(|d| serde_json::from_str::<Value>(d).unwrap()["content"].as_str().unwrap().to_owned()).collect();
    assert_eq!(text, "echo: hi forum");
    let res = app.post("/posts/chat/").bearer_auth(&alice.access)
        .json(&json!({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "two"}], "model": "echo"})).send().await.unwrap();
    assert!(res.text().await.unwrap().contains("two"));
    assert_eq!(app.post("/posts/chat/").bearer_auth(&alice.access).json(&json!({})).send().await.unwrap().status(), 400);
    assert_eq!(app.post("/posts/chat/").bearer_auth(&alice.access).json(&json!({"messages": [{"role": "robot", "content": "x"}]})).send().await.unwrap().status(), 400);
    assert_eq!(app.post("/posts/chat/").json(&json!({"message": "x"})).send().await.unwrap().status(), 401);
    let rows = wait_requests(&app, &alice, 2).await;
    assert!(rows.iter().all(|r| r["endpoint"] == "forum" && r["stream"] == true));
});

db_test!(async fn request_log_pages_and_daily_stats(backend) {
    let (app, _fake) = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let staff = app.create_staff("root").await;
    for _ in 0..3 {
        assert_eq!(complete(&app, &alice, &ask("echo", "x")).await.status(), 200);
    }
    assert_eq!(complete(&app, &alice, &ask("fail", "x")).await.status(), 502);
    assert_eq!(complete(&app, &bob, &ask("echo", "x")).await.status(), 200);
    wait_requests(&app, &alice, 4).await;
    wait_requests(&app, &bob, 1).await;

    // Keyset pages, newest first.
    let page: Value = app.get("/api/v1/ai/requests/?page_size=3").bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["results"].as_array().unwrap().len(), 3);
    assert_eq!(page["results"][0]["model"], "fail");
    let cursor = page["next_cursor"].as_str().unwrap();
    let next: Value = app.get(&format!("/api/v1/ai/requests/?page_size=3&cursor={cursor}")).bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(next["results"].as_array().unwrap().len(), 1);
    assert!(next["next_cursor"].is_null());
    assert_eq!(app.get("/api/v1/ai/requests/?cursor=garbage").bearer_auth(&alice.access).send().await.unwrap().status(), 400);

    // Stats come from the roll-up, filled by the periodic job.
    let empty: Value = app.get("/api/v1/ai/stats/user/").bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(empty["totals"]["requests"], 0, "nothing rolled up yet");
    app.db().run(|conn| { enqueue(conn, &plaza_ai::jobs::RollUpStats {}, JobOptions::default())?; Ok(()) }).await.unwrap();
    let mut registry = JobRegistry::empty();
    plaza_ai::jobs::register_jobs(&mut registry);
    let summary = app.run_jobs(registry).await;
    assert_eq!(summary.succeeded, 1, "{summary:?}");

    let mine: Value = app.get("/api/v1/ai/stats/user/").bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(mine["totals"], json!({"requests": 4, "errors": 1, "prompt_tokens": 33, "completion_tokens": 21, "cost": 0}));
    let per_model: Vec<(&str, i64)> = mine["per_model"].as_array().unwrap().iter().map(|m| (m["model"].as_str().unwrap(), m["requests"].as_i64().unwrap())).collect();
    assert_eq!(per_model, [("echo", 3), ("fail", 1)]);
    assert_eq!(mine["per_day"].as_array().unwrap().len(), 1);
    assert_eq!(mine["per_day"][0]["day"], chrono::Utc::now().date_naive().to_string());

    assert_eq!(app.get("/api/v1/ai/stats/").bearer_auth(&alice.access).send().await.unwrap().status(), 403);
    let all: Value = app.get("/api/v1/ai/stats/").bearer_auth(&staff.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(all["totals"]["requests"], 5);
    let res = app.get("/api/v1/ai/stats/user/?from=2026-02-01&to=2026-01-01").bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let res = app.get("/api/v1/ai/stats/user/?from=yesterday").bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let old: Value = app.get("/api/v1/ai/stats/user/?from=2020-01-01&to=2020-01-31").bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(old["totals"]["requests"], 0);
});

//! The post list: pages, ordering, filters and search on both backends.

use plaza_kernel::db_test;
use serde_json::Value;

use crate::support::{app, get_json, id, post, reply};

fn titles(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_owned())
        .collect()
}

db_test!(async fn pages_follow_drf(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    for i in 0..25 {
        post(&app, &alice, &format!("post {i:02}"), "c", &[]).await;
    }
    let first = get_json(&app, "/api/v1/posts/?page_size=10").await;
    assert_eq!(first["count"], 25);
    assert_eq!(first["previous"], Value::Null);
    let next = first["next"].as_str().unwrap();
    assert!(next.starts_with("http://127.0.0.1:") && next.contains("/api/v1/posts/?page_size=10&page=2"), "{next}");
    assert_eq!(titles(&first)[0], "post 24", "newest first");

    let third = get_json(&app, "/api/v1/posts/?page_size=10&page=3").await;
    assert_eq!(titles(&third).len(), 5);
    assert_eq!(third["next"], Value::Null);
    assert!(third["previous"].as_str().unwrap().contains("page=2"));
    assert_eq!(get_json(&app, "/api/v1/posts/?page_size=10&page=last").await["results"], third["results"]);

    let res = app.get("/api/v1/posts/?page_size=10&page=4").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!((body["detail"].as_str(), body["code"].as_str()), (Some("Invalid page."), Some("not_found")));
    assert_eq!(app.get("/api/v1/posts/?page=0").send().await.unwrap().status(), 404);
    assert_eq!(titles(&get_json(&app, "/api/v1/posts/?page_size=1000").await).len(), 25, "page_size is capped, not refused");
    assert_eq!(titles(&get_json(&app, "/api/v1/posts/").await).len(), 20, "20 by default");
});

db_test!(async fn ordering_and_filters(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let quiet = post(&app, &alice, "quiet", "c", &["Rust"]).await;
    let busy = post(&app, &bob, "busy", "c", &["rust", "Web"]).await;
    let popular = post(&app, &alice, "popular", "c", &["web"]).await;
    for _ in 0..3 {
        reply(&app, &alice, id(&busy), "r", None).await;
    }
    reply(&app, &alice, id(&quiet), "r", None).await;
    for _ in 0..5 {
        get_json(&app, &format!("/api/v1/posts/{}/", id(&popular))).await;
    }

    assert_eq!(titles(&get_json(&app, "/api/v1/posts/").await), ["popular", "busy", "quiet"]);
    assert_eq!(titles(&get_json(&app, "/api/v1/posts/?ordering=created_at").await), ["quiet", "busy", "popular"]);
    assert_eq!(titles(&get_json(&app, "/api/v1/posts/?ordering=-reply_count").await), ["busy", "quiet", "popular"]);
    assert_eq!(titles(&get_json(&app, "/api/v1/posts/?ordering=reply_count").await), ["popular", "quiet", "busy"]);
    assert_eq!(titles(&get_json(&app, "/api/v1/posts/?ordering=-view_count,created_at").await), ["popular", "quiet", "busy"]);
    let res = app.get("/api/v1/posts/?ordering=title").send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"]["ordering"].is_array());

    assert_eq!(titles(&get_json(&app, &format!("/api/v1/posts/?author={}", bob.id)).await), ["busy"]);
    assert_eq!(get_json(&app, "/api/v1/posts/?author=999999").await["count"], 0);
    let res = app.get("/api/v1/posts/?author=bob").send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"]["author"].is_array());

    // By slug or by name in any case; an unknown tag labels nothing.
    assert_eq!(titles(&get_json(&app, "/api/v1/posts/?tag=rust").await), ["busy", "quiet"]);
    assert_eq!(titles(&get_json(&app, "/api/v1/posts/?tag=WEB").await), ["popular", "busy"]);
    assert_eq!(titles(&get_json(&app, &format!("/api/v1/posts/?tag=web&author={}", alice.id)).await), ["popular"]);
    assert_eq!(get_json(&app, "/api/v1/posts/?tag=nothing").await["count"], 0);
    assert_eq!(app.get("/api/v1/posts/?tag=nothing&page=2").send().await.unwrap().status(), 404);
});

db_test!(async fn search_finds_words_chinese_and_short_terms(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    post(&app, &alice, "Async Rust in practice", "Tokio runtimes and executors.", &[]).await;
    post(&app, &alice, "Go 语言入门", "从零开始学习 Go 语言的并发模型。", &[]).await;
    post(&app, &alice, "讨论", "我们今天讨论异步编程的最佳实践，欢迎大家参与。", &[]).await;
    post(&app, &alice, "Rustacean meetup", "Meet the community.", &[]).await;
    post(&app, &alice, "Discounts", "100% off, under_score names", &[]).await;

    let search = |q: &'static str| {
        let app = &app;
        async move { titles(&get_json(app, &format!("/api/v1/posts/?search={}", url_encode(q))).await) }
    };
    // A word of the title, a word of the content, in any case.
    assert_eq!(search("async").await, ["Async Rust in practice"]);
    assert_eq!(search("TOKIO").await, ["Async Rust in practice"]);
    // Every term must match (AND), wherever it is.
    assert_eq!(search("rust executors").await, ["Async Rust in practice"]);
    assert_eq!(search("rust, meetup").await, ["Rustacean meetup"]);
    // A word prefix.
    let rust = search("rust").await;
    assert!(rust.contains(&"Rustacean meetup".to_owned()) && rust.contains(&"Async Rust in practice".to_owned()), "{rust:?}");
    // A Chinese word inside a sentence, and a short term.
    assert_eq!(search("异步编程").await, ["讨论"]);
    assert_eq!(search("并发").await, ["Go 语言入门"]);
    assert_eq!(search("go").await, ["Go 语言入门"]);
    assert_eq!(search("go 并发").await, ["Go 语言入门"]);
    // Stopwords are still searched.
    assert_eq!(search("the community").await, ["Rustacean meetup"]);
    // Wildcards are literal.
    assert_eq!(search("100%").await, ["Discounts"]);
    assert_eq!(search("%").await, ["Discounts"]);
    assert_eq!(search("under_score").await, ["Discounts"]);
    assert!(search("_nothing_").await.is_empty());
    assert!(search("不存在的词").await.is_empty());
    // Empty search is no search.
    assert_eq!(search(" ").await.len(), 5);
});

db_test!(async fn search_sees_edits_and_combines_with_filters(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let p = post(&app, &alice, "Database tuning", "Indexes matter.", &["db"]).await;
    post(&app, &bob, "Database news", "MariaDB released.", &["db"]).await;
    let page = get_json(&app, &format!("/api/v1/posts/?search=database&author={}&tag=db", alice.id)).await;
    assert_eq!(titles(&page), ["Database tuning"]);

    app.patch(&format!("/api/v1/posts/{}/", id(&p)))
        .bearer_auth(&alice.access)
        .json(&serde_json::json!({"content": "Partitioning matters."}))
        .send()
        .await
        .unwrap();
    assert_eq!(titles(&get_json(&app, "/api/v1/posts/?search=partitioning").await), ["Database tuning"]);
    assert!(titles(&get_json(&app, "/api/v1/posts/?search=indexes").await).is_empty());
});

/// Percent-encodes a query value.
fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

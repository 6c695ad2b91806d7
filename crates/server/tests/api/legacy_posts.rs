//! The forum's original post and reply paths, over the whole composed app.

use plaza_kernel::db_test;
use plaza_kernel::testing::{TestApp, TestBackend};
use serde_json::{json, Value};

async fn app(backend: TestBackend) -> TestApp {
    TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_server::configure)
        .build()
        .await
}

db_test!(async fn original_paths_mirror_the_canonical_api(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;

    // Create, list (with pagination links), detail.
    let res = app.post("/posts/create/").bearer_auth(&alice.access)
        .json(&json!({"title": "第一篇", "content": "你好", "tags": ["闲聊"]})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["tags"][0]["name"], "闲聊");
    for i in 0..20 {
        app.post("/posts/create/").bearer_auth(&alice.access)
            .json(&json!({"title": format!("post {i}"), "content": "c"})).send().await.unwrap();
    }
    let page: Value = app.get("/posts/list/").send().await.unwrap().json().await.unwrap();
    assert_eq!(page["count"], 21);
    assert!(page["next"].as_str().unwrap().contains("/posts/list/?page=2"), "{}", page["next"]);
    let last: Value = app.get("/posts/list/?page=2").send().await.unwrap().json().await.unwrap();
    assert_eq!(last["results"][0]["id"], id);
    assert!(last["previous"].as_str().unwrap().ends_with("/posts/list/"));
    assert_eq!(app.get("/posts/list/?page=3").send().await.unwrap().status(), 404);
    let detail: Value = app.get(&format!("/posts/detail/{id}/")).send().await.unwrap().json().await.unwrap();
    assert_eq!((detail["title"].as_str(), detail["view_count"].as_i64()), (Some("第一篇"), Some(1)));

    // Update is partial, by POST.
    let res = app.post(&format!("/posts/update/{id}/")).bearer_auth(&alice.access)
        .json(&json!({"content": "大家好"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert_eq!((updated["title"].as_str(), updated["content"].as_str()), (Some("第一篇"), Some("大家好")));

    // Replies.
    let res = app.post(&format!("/posts/reply/create/{id}/")).bearer_auth(&bob.access)
        .json(&json!({"content": "沙发"})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let reply_id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = app.post(&format!("/posts/reply/update/{reply_id}/")).bearer_auth(&bob.access)
        .json(&json!({"content": "板凳"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["content"], "板凳");
    let detail: Value = app.get(&format!("/posts/detail/{id}/")).send().await.unwrap().json().await.unwrap();
    assert_eq!(detail["reply_count"], 1);
    assert_eq!(detail["replies"][0]["content"], "板凳");
    // The same rows through the canonical API.
    let canonical: Value = app.get(&format!("/api/v1/posts/{id}/replies/")).send().await.unwrap().json().await.unwrap();
    assert_eq!(canonical["results"][0]["id"], reply_id);

    // Permission failures.
    assert_eq!(app.post("/posts/create/").json(&json!({"title": "t", "content": "c"})).send().await.unwrap().status(), 401);
    assert_eq!(app.post(&format!("/posts/update/{id}/")).bearer_auth(&bob.access).json(&json!({"title": "x"})).send().await.unwrap().status(), 403);
    assert_eq!(app.delete(&format!("/posts/delete/{id}/")).bearer_auth(&bob.access).send().await.unwrap().status(), 403);
    assert_eq!(app.post(&format!("/posts/reply/update/{reply_id}/")).bearer_auth(&alice.access).json(&json!({"content": "x"})).send().await.unwrap().status(), 403);
    assert_eq!(app.delete(&format!("/posts/reply/delete/{reply_id}/")).bearer_auth(&alice.access).send().await.unwrap().status(), 403);
    assert_eq!(app.post("/posts/reply/create/999999/").bearer_auth(&bob.access).json(&json!({"content": "x"})).send().await.unwrap().status(), 404);
    // Wrong methods on original paths.
    assert_eq!(app.get("/posts/create/").send().await.unwrap().status(), 405);
    assert_eq!(app.post(&format!("/posts/delete/{id}/")).bearer_auth(&alice.access).send().await.unwrap().status(), 405);

    // Reply delete, post delete.
    assert_eq!(app.delete(&format!("/posts/reply/delete/{reply_id}/")).bearer_auth(&bob.access).send().await.unwrap().status(), 204);
    assert_eq!(app.delete(&format!("/posts/delete/{id}/")).bearer_auth(&alice.access).send().await.unwrap().status(), 204);
    assert_eq!(app.get(&format!("/posts/detail/{id}/")).send().await.unwrap().status(), 404);
    assert_eq!(app.post(&format!("/posts/reply/create/{id}/")).bearer_auth(&bob.access).json(&json!({"content": "x"})).send().await.unwrap().status(), 404);
});

#[tokio::test]
async fn the_schema_lists_every_forum_and_core_endpoint() {
    let doc = serde_json::to_value(plaza_server::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/posts/", &["get", "post"][..]),
        ("/api/v1/posts/{id}/", &["get", "put", "patch", "delete"]),
        ("/api/v1/posts/{id}/replies/", &["get", "post"]),
        ("/api/v1/posts/replies/{id}/", &["put", "patch", "delete"]),
        ("/api/v1/core/tags/", &["get", "post"]),
        (
            "/api/v1/core/tags/{id}/",
            &["get", "put", "patch", "delete"],
        ),
        ("/api/v1/core/attachments/", &["get", "post"]),
        ("/api/v1/core/attachments/{id}/", &["get", "delete"]),
        ("/api/v1/core/attachments/{id}/download/", &["get"]),
        ("/api/v1/core/logs/", &["get"]),
        ("/posts/create/", &["post"]),
        ("/posts/delete/{id}/", &["delete"]),
        ("/posts/update/{id}/", &["post"]),
        ("/posts/list/", &["get"]),
        ("/posts/detail/{id}/", &["get"]),
        ("/posts/reply/create/{post_id}/", &["post"]),
        ("/posts/reply/update/{reply_id}/", &["post"]),
        ("/posts/reply/delete/{reply_id}/", &["delete"]),
    ] {
        for method in methods {
            let op = &paths
                .get(path)
                .unwrap_or_else(|| panic!("{path} is documented"))[*method];
            assert!(op.is_object(), "{method} {path}");
            assert!(op["responses"].is_object(), "{method} {path} has responses");
        }
    }
    // Request and response schemas are named components.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "PostWrite",
        "PostPatch",
        "PostDetail",
        "PostOut",
        "ReplyOut",
        "ReplyWrite",
        "TagOut",
        "AttachmentOut",
        "LogEntry",
        "ErrorBody",
    ] {
        assert!(schemas.contains_key(name), "{name} in components");
    }
    // The operation ids of these endpoints are unique in the whole document.
    let all: Vec<&str> = paths
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    for path in paths.keys().filter(|p| {
        p.starts_with("/api/v1/posts/")
            || p.starts_with("/api/v1/core/")
            || p.starts_with("/posts/")
    }) {
        for op in paths[path].as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap();
            assert_eq!(
                all.iter().filter(|other| **other == id).count(),
                1,
                "operationId {id} of {path} is unique"
            );
        }
    }
}

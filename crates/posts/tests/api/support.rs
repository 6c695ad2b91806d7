//! Helpers shared by the forum tests.

use plaza_kernel::testing::{TestApp, TestBackend, TestUser};
use serde_json::{json, Value};

/// The forum and core scopes over a fresh database.
pub async fn app(backend: TestBackend) -> TestApp {
    TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_posts::configure)
        .configure(plaza_core::configure)
        .build()
        .await
}

/// Creates a post as `user`; panics unless 201.
pub async fn post(
    app: &TestApp,
    user: &TestUser,
    title: &str,
    content: &str,
    tags: &[&str],
) -> Value {
    let res = app
        .post("/api/v1/posts/")
        .bearer_auth(&user.access)
        .json(&json!({"title": title, "content": content, "tags": tags}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// Replies as `user`; panics unless 201.
pub async fn reply(
    app: &TestApp,
    user: &TestUser,
    post_id: i64,
    content: &str,
    parent: Option<i64>,
) -> Value {
    let res = app
        .post(&format!("/api/v1/posts/{post_id}/replies/"))
        .bearer_auth(&user.access)
        .json(&json!({"content": content, "parent_id": parent}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// `GET path` as JSON, asserting 200.
pub async fn get_json(app: &TestApp, path: &str) -> Value {
    let res = app.get(path).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

/// The `id` of a JSON object.
pub fn id(value: &Value) -> i64 {
    value["id"].as_i64().unwrap()
}

//! Helpers shared by the social tests.

use plaza_kernel::testing::{TestApp, TestAppBuilder, TestBackend, TestUser};
use reqwest::Method;
use serde_json::{json, Value};

/// The social domain (with users and core mounted, for privacy settings and attachments)
/// over a fresh database.
pub async fn app(backend: TestBackend) -> TestApp {
    builder(backend).build().await
}

/// [`app`]'s builder, for a test that sets variables first.
pub fn builder(backend: TestBackend) -> TestAppBuilder {
    TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .domain(&plaza_social::DOMAIN)
        .configure(plaza_users::configure)
        .configure(plaza_core::configure)
}

/// `method /api/v1/social<path>` as `user` with an optional JSON body: status and JSON body
/// (`null` when empty).
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    user: &TestUser,
    body: Option<Value>,
) -> (u16, Value) {
    let url = app.url(&format!("/api/v1/social{path}"));
    let mut req = app.client.request(method, url).bearer_auth(&user.access);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// `GET` asserting 200.
pub async fn get(app: &TestApp, path: &str, user: &TestUser) -> Value {
    let (status, body) = call(app, Method::GET, path, user, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// `POST` with a body, asserting `expected`.
pub async fn post(app: &TestApp, path: &str, user: &TestUser, body: Value, expected: u16) -> Value {
    let (status, out) = call(app, Method::POST, path, user, Some(body)).await;
    assert_eq!(status, expected, "POST {path}: {out}");
    out
}

/// `DELETE`, asserting `expected`.
pub async fn delete(app: &TestApp, path: &str, user: &TestUser, expected: u16) -> Value {
    let (status, out) = call(app, Method::DELETE, path, user, None).await;
    assert_eq!(status, expected, "DELETE {path}: {out}");
    out
}

/// Makes `a` and `b` friends (a asks, b accepts).
pub async fn befriend(app: &TestApp, a: &TestUser, b: &TestUser) {
    let req = post(
        app,
        "/friends/requests/",
        a,
        json!({"to_user_id": b.id}),
        201,
    )
    .await;
    let id = req["id"].as_i64().unwrap();
    post(
        app,
        &format!("/friends/requests/{id}/accept/"),
        b,
        json!({}),
        200,
    )
    .await;
}

/// Publishes a feed post as `user`; returns its id.
pub async fn publish(app: &TestApp, user: &TestUser, content: &str, visibility: &str) -> i64 {
    let out = post(
        app,
        "/posts/",
        user,
        json!({"content": content, "visibility": visibility}),
        201,
    )
    .await;
    out["id"].as_i64().unwrap()
}

/// The ids of a list's `results`.
pub fn ids(page: &Value) -> Vec<i64> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

/// The user ids of a list of `{user: {...}}` rows.
pub fn user_ids(page: &Value) -> Vec<i64> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user"]["id"].as_i64().unwrap())
        .collect()
}

/// Lets anyone message `user` (the users domain's privacy setting).
pub async fn allow_messages_from_everyone(app: &TestApp, user: &TestUser) {
    let res = app
        .put("/api/v1/users/me/settings/")
        .bearer_auth(&user.access)
        .json(&json!({"privacy_settings": {"allow_messages_from": "everyone"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// The kinds of `user`'s notifications, newest first.
pub async fn notification_kinds(app: &TestApp, user: &TestUser) -> Vec<String> {
    let page = get(app, "/notifications/?page_size=100", user).await;
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

//! Helpers shared by the metaverse tests.

use plaza_kernel::testing::{TestApp, TestBackend, TestUser};
use serde_json::{json, Value};

/// The metaverse domain over a fresh database, with `vars` as configuration.
pub async fn app_with(backend: TestBackend, vars: &[(&str, &str)]) -> TestApp {
    let mut builder = TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .domain(&plaza_metaverse::DOMAIN);
    for (key, value) in vars {
        builder = builder.env(key, value);
    }
    builder.build().await
}

/// The metaverse domain with default settings.
pub async fn app(backend: TestBackend) -> TestApp {
    app_with(backend, &[]).await
}

/// Sends `method path` as `user` with `body`; returns the status and the JSON body (null when
/// empty).
pub async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    user: Option<&TestUser>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = match method {
        "GET" => app.get(path),
        "POST" => app.post(path),
        "PUT" => app.put(path),
        "PATCH" => app.patch(path),
        "DELETE" => app.delete(path),
        other => panic!("method {other}"),
    };
    if let Some(user) = user {
        req = req.bearer_auth(&user.access);
    }
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

/// Creates a world as `owner`; panics unless 201.
pub async fn world(app: &TestApp, owner: &TestUser, body: Value) -> Value {
    let (status, value) = call(
        app,
        "POST",
        "/api/v1/metaverse/worlds/",
        Some(owner),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{value}");
    value
}

/// A public world named `name` with `max_users`.
pub async fn public_world(app: &TestApp, owner: &TestUser, name: &str, max_users: i64) -> i64 {
    id(&world(app, owner, json!({"name": name, "max_users": max_users})).await)
}

/// Grants `role` in world `world_id` to `user` as `by`; panics unless 201 or 200.
pub async fn grant(app: &TestApp, by: &TestUser, world_id: i64, user: &TestUser, role: &str) {
    let (status, value) = call(
        app,
        "POST",
        &format!("/api/v1/metaverse/worlds/{world_id}/permissions/"),
        Some(by),
        Some(json!({"user_id": user.id, "role": role})),
    )
    .await;
    assert!(status == 201 || status == 200, "{status} {value}");
}

/// Enters world `world_id` as `user`; returns the status and body.
pub async fn enter(app: &TestApp, user: &TestUser, world_id: i64) -> (u16, Value) {
    call(
        app,
        "POST",
        &format!("/api/v1/metaverse/worlds/{world_id}/enter/"),
        Some(user),
        Some(json!({})),
    )
    .await
}

/// Adds a catalogue object as `user`; returns its id.
pub async fn object(app: &TestApp, user: &TestUser, name: &str) -> i64 {
    let (status, value) = call(
        app,
        "POST",
        "/api/v1/metaverse/objects/",
        Some(user),
        Some(json!({"name": name, "kind": "furniture", "price": 10, "rarity": "rare"})),
    )
    .await;
    assert_eq!(status, 201, "{value}");
    id(&value)
}

/// The `id` of a JSON object.
pub fn id(value: &Value) -> i64 {
    value["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {value}"))
}

/// The field names of a validation error.
pub fn error_fields(value: &Value) -> Vec<String> {
    assert_eq!(value["code"], "validation_error", "{value}");
    let mut fields: Vec<String> = value["errors"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    fields.sort();
    fields
}

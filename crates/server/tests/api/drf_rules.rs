//! The order and shape of errors a client written for Django REST framework expects
//! (API.md §0, docs/api.md "Errors as DRF gives them"), on the canonical and the forum paths.

use plaza_kernel::db_test;
use serde_json::{json, Value};

use crate::support::{app, call};

fn field_names(body: &Value) -> Vec<String> {
    body["errors"]
        .as_object()
        .map(|e| e.keys().cloned().collect())
        .unwrap_or_default()
}

db_test!(async fn every_invalid_field_is_named_at_once(backend) {
    let app = app(backend).await;
    for path in ["/api/v1/auth/register/", "/users/register/"] {
        let (status, body) = call(app.post(path).json(&json!({}))).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("validation_error")), "{path}");
        let fields = field_names(&body);
        for field in ["email", "password", "username"] {
            assert!(fields.contains(&field.to_owned()), "{path}: {body}");
        }
    }
    let author = app.create_user("author").await;
    for path in ["/api/v1/posts/", "/posts/create/"] {
        let (status, body) = call(app.post(path).bearer_auth(&author.access).json(&json!({"title": 7}))).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(field_names(&body), ["content", "title"], "{path}: {body}");
    }
});

db_test!(async fn a_taken_username_or_email_is_400_naming_it(backend) {
    let app = app(backend).await;
    app.create_user("alice").await;
    for path in ["/api/v1/auth/register/", "/users/register/"] {
        let (status, body) = call(app.post(path).json(&json!({
            "username": "ALICE", "email": "ALICE@example.com", "password": "Quiet-Lantern-58"
        })))
        .await;
        assert_eq!((status, body["code"].as_str()), (400, Some("validation_error")), "{path}");
        assert!(body["errors"]["username"].is_array() || body["errors"]["email"].is_array(), "{body}");
    }
});

db_test!(async fn a_bad_token_is_401_on_public_reads(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    for path in ["/api/v1/posts/", "/posts/list/", "/api/v1/core/tags/"] {
        assert_eq!(call(app.get(path)).await.0, 200, "{path}");
        assert_eq!(call(app.get(path).bearer_auth(&alice.access)).await.0, 200, "{path}");
        let (status, body) = call(app.get(path).bearer_auth("expired.or.forged")).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(body["code"], "token_invalid", "{path}");
    }
});

db_test!(async fn permission_comes_before_the_body(backend) {
    let app = app(backend).await;
    let author = app.create_user("author").await;
    let other = app.create_user("other").await;
    let (status, post) = call(app.post("/api/v1/posts/").bearer_auth(&author.access).json(&json!({
        "title": "Hello", "content": "World"
    })))
    .await;
    assert_eq!(status, 201);
    let id = post["id"].as_i64().unwrap();
    let bad = json!({"title": 7});
    // Someone else's post: 403 whatever the body; no such post: 404; the author: 400.
    for path in [format!("/api/v1/posts/{id}/"), format!("/posts/update/{id}/")] {
        let send = |token: &str| {
            let req = if path.starts_with("/api") { app.patch(&path) } else { app.post(&path) };
            req.bearer_auth(token).json(&bad)
        };
        assert_eq!(call(send(&other.access)).await.0, 403, "{path}");
        assert_eq!(call(send(&author.access)).await.0, 400, "{path}");
    }
    let (status, _) = call(app.patch("/api/v1/posts/999999/").bearer_auth(&author.access).json(&bad)).await;
    assert_eq!(status, 404);
    // Staff-only writes: 403 for others, before the body is looked at.
    let (status, _) = call(app.post("/api/v1/core/tags/").bearer_auth(&other.access).json(&json!({}))).await;
    assert_eq!(status, 403);
    let (status, _) = call(app.post("/api/v1/users/").bearer_auth(&other.access).json(&json!({"username": 1}))).await;
    assert_eq!(status, 403);
    let (status, _) = call(app.patch(&format!("/api/v1/users/{}/", author.id)).bearer_auth(&other.access).json(&json!({"email": 5}))).await;
    assert_eq!(status, 403);
    // Nothing changed.
    let (_, post) = call(app.get(&format!("/api/v1/posts/{id}/"))).await;
    assert_eq!(post["title"], "Hello");
});

/// One object of each new domain, owned by the bearer of `owner`: its collection's path, its
/// id, and a body that is invalid for it.
async fn owned_objects(
    app: &plaza_kernel::testing::TestApp,
    owner: &str,
) -> Vec<(&'static str, i64, Value)> {
    let objects = [
        (
            "/api/v1/ai/templates/",
            json!({"name": "Greeting", "template": "Hello {{name}}", "is_public": true}),
            json!({"name": 7, "is_public": "yes"}),
        ),
        (
            "/api/v1/social/groups/",
            json!({"name": "Walkers"}),
            json!({"name": 7}),
        ),
        (
            "/api/v1/social/posts/",
            json!({"content": "A walk"}),
            json!({"content": 7}),
        ),
        (
            "/api/v1/metaverse/worlds/",
            json!({"name": "Harbour"}),
            json!({"max_users": "many", "bounds": "far"}),
        ),
        (
            "/api/v1/metaverse/objects/",
            json!({"name": "Bench", "kind": "furniture"}),
            json!({"price": "free"}),
        ),
    ];
    let mut made = Vec::new();
    for (path, body, bad) in objects {
        let (status, out) = call(app.post(path).bearer_auth(owner).json(&body)).await;
        assert_eq!(status, 201, "{path}: {out}");
        made.push((path, out["id"].as_i64().unwrap(), bad));
    }
    made
}

db_test!(async fn permission_comes_before_the_body_in_every_domain(backend) {
    let app = app(backend).await;
    let owner = app.create_user("owner").await;
    let other = app.create_user("other").await;
    for (collection, id, bad) in owned_objects(&app, &owner.access).await {
        let path = format!("{collection}{id}/");
        // Someone else: 403 whatever the body; no such object: 404; the owner: 400 naming it.
        let (status, body) = call(app.patch(&path).bearer_auth(&other.access).json(&bad)).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("permission_denied")), "{path}: {body}");
        let missing = format!("{collection}999999/");
        let (status, body) = call(app.patch(&missing).bearer_auth(&owner.access).json(&bad)).await;
        assert_eq!(status, 404, "{missing}: {body}");
        let (status, body) = call(app.patch(&path).bearer_auth(&owner.access).json(&bad)).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("validation_error")), "{path}: {body}");
        assert!(!field_names(&body).is_empty(), "{path}: {body}");
    }
    // Staff-only writes: a non-staff caller is refused before the body is read; staff then
    // meet the missing model (404) before the body (400).
    let (status, _) = call(app.post("/api/v1/ai/models/").bearer_auth(&other.access).json(&json!({"name": 7}))).await;
    assert_eq!(status, 403);
    let (status, _) = call(app.patch("/api/v1/ai/models/999999/").bearer_auth(&other.access).json(&json!({"name": 7}))).await;
    assert_eq!(status, 403);
    let staff = app.create_staff("root").await;
    let (status, _) = call(app.patch("/api/v1/ai/models/999999/").bearer_auth(&staff.access).json(&json!({"name": 7}))).await;
    assert_eq!(status, 404);
    let (status, _) = call(app.post("/api/v1/ai/models/").bearer_auth(&staff.access).json(&json!({"name": 7}))).await;
    assert_eq!(status, 400);
});

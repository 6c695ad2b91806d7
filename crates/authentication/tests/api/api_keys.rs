//! `api-keys/`, and keys used as credentials everywhere.

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::schema::{api_keys, users};
use serde_json::{json, Value};

use crate::support::{app, call, register};

async fn me_with(app: &plaza_kernel::testing::TestApp, header: (&str, String)) -> (u16, Value) {
    call(app.get("/api/v1/users/me/").header(header.0, header.1)).await
}

db_test!(async fn creating_listing_using_and_revoking_keys(backend) {
    let app = app(backend).await;
    let body = register(&app, "alice").await;
    let access = body["access"].as_str().unwrap().to_owned();

    let (status, created) = call(app.post("/api/v1/auth/api-keys/").bearer_auth(&access).json(&json!({"name": "laptop"}))).await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("plz_") && key.len() > 30);
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));
    assert!(created["expires_at"].is_null());

    // Every accepted header form.
    for header in [
        ("authorization", format!("Api-Key {key}")),
        ("x-api-key", key.clone()),
        ("authorization", format!("Bearer {key}")),
    ] {
        let (status, me) = me_with(&app, header.clone()).await;
        assert_eq!(status, 200, "{header:?}");
        assert_eq!(me["username"], "alice");
    }

    let (status, page) = call(app.get("/api/v1/auth/api-keys/").bearer_auth(&access)).await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 1);
    assert!(page["results"][0].get("key").is_none(), "never shown again");
    assert!(page["results"][0]["last_used_at"].is_string());
    // Stored as a hash only.
    let hashes: Vec<String> = app.db().run(|conn| Ok(api_keys::table.select(api_keys::key_hash).load(conn)?)).await.unwrap();
    assert_eq!(hashes, vec![plaza_kernel::crypto::sha256_hex(&key)]);

    // A key cannot manage keys.
    let (status, _) = call(app.post("/api/v1/auth/api-keys/").header("x-api-key", key.clone()).json(&json!({"name": "x"}))).await;
    assert_eq!(status, 403);

    // Someone else cannot revoke it.
    let bob = register(&app, "bob").await;
    let path = format!("/api/v1/auth/api-keys/{}/", created["id"]);
    let (status, _) = call(app.delete(&path).bearer_auth(bob["access"].as_str().unwrap())).await;
    assert_eq!(status, 404);
    assert_eq!(me_with(&app, ("x-api-key", key.clone())).await.0, 200);

    let (status, _) = call(app.delete(&path).bearer_auth(&access)).await;
    assert_eq!(status, 204);
    let (status, res) = me_with(&app, ("x-api-key", key.clone())).await;
    assert_eq!((status, res["code"].as_str()), (401, Some("token_invalid")));
    let (status, _) = call(app.delete(&path).bearer_auth(&access)).await;
    assert_eq!(status, 404);
});

db_test!(async fn expiry_and_inactive_owners(backend) {
    let app = app(backend).await;
    let body = register(&app, "alice").await;
    let access = body["access"].as_str().unwrap().to_owned();
    let id = body["user"]["id"].as_i64().unwrap();

    let (status, res) = call(app.post("/api/v1/auth/api-keys/").bearer_auth(&access).json(&json!({"name": "old", "expires_at": "2001-01-01T00:00:00Z"}))).await;
    assert_eq!(status, 400);
    assert!(res["errors"]["expires_at"].is_array());
    for bad in [json!({"name": ""}), json!({"name": "   "}), json!({"name": "x".repeat(101)}), json!({})] {
        let (status, _) = call(app.post("/api/v1/auth/api-keys/").bearer_auth(&access).json(&bad)).await;
        assert_eq!(status, 400, "{bad}");
    }

    let (status, created) = call(app.post("/api/v1/auth/api-keys/").bearer_auth(&access).json(&json!({"name": "soon", "expires_at": "2999-01-01T00:00:00Z"}))).await;
    assert_eq!(status, 201);
    assert_eq!(created["expires_at"], "2999-01-01T00:00:00Z");
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(me_with(&app, ("x-api-key", key.clone())).await.0, 200);

    // Past its expiry it stops working.
    app.db()
        .run(|conn| {
            diesel::update(api_keys::table)
                .set(api_keys::expires_at.eq(Some(plaza_kernel::time::now() - chrono::Duration::seconds(1))))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(me_with(&app, ("x-api-key", key)).await.0, 401);
    let (_, page) = call(app.get("/api/v1/auth/api-keys/").bearer_auth(&access)).await;
    assert_eq!(page["results"][0]["is_expired"], true);

    // A live key of a deactivated owner does not work either.
    let (_, created) = call(app.post("/api/v1/auth/api-keys/").bearer_auth(&access).json(&json!({"name": "live"}))).await;
    let key = created["key"].as_str().unwrap().to_owned();
    app.db()
        .run(move |conn| {
            diesel::update(users::table.find(id)).set(users::is_active.eq(false)).execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(me_with(&app, ("x-api-key", key)).await.0, 401);
    // Unknown keys and keys of another shape.
    assert_eq!(me_with(&app, ("x-api-key", "plz_unknown".into())).await.0, 401);
    assert_eq!(me_with(&app, ("x-api-key", "sk-not-ours".into())).await.0, 401);
});

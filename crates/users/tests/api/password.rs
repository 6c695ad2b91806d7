//! `me/password/` (the session side is tested with the authentication domain mounted).

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::schema::users;
use serde_json::json;

use crate::support::{app, call};

db_test!(async fn changing_the_password(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let url = "/api/v1/users/me/password/";

    let (status, _) = call(app.post(url).json(&json!({"old_password": "x", "new_password": "y"}))).await;
    assert_eq!(status, 401);

    let (status, body) = call(app.post(url).bearer_auth(&alice.access).json(&json!({
        "old_password": "wrong", "new_password": "Another-Horse-42"
    })))
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["old_password"].is_array(), "{body}");

    for weak in ["short", "12345678901", "password123", "alice2024"] {
        let (status, body) = call(app.post(url).bearer_auth(&alice.access).json(&json!({
            "old_password": alice.password, "new_password": weak
        })))
        .await;
        assert_eq!(status, 400, "{weak}");
        assert!(body["errors"]["new_password"].is_array(), "{weak}: {body}");
    }
    let (status, body) = call(app.post(url).bearer_auth(&alice.access).json(&json!({
        "old_password": alice.password, "new_password": "Another-Horse-42", "new_password_confirm": "other"
    })))
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["new_password_confirm"].is_array());

    // Nothing changed so far.
    let id = alice.id;
    let before: String = app
        .db()
        .run(move |conn| Ok(users::table.find(id).select(users::password).first(conn)?))
        .await
        .unwrap();
    assert!(plaza_users::password::verify_password(&alice.password, &before));

    let (status, body) = call(app.post(url).bearer_auth(&alice.access).json(&json!({
        "old_password": alice.password, "new_password": "Another-Horse-42"
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    // Without the authentication domain there is no session to renew: an access token only.
    assert!(body["refresh"].is_null());
    let fresh = body["access"].as_str().unwrap().to_owned();
    let (status, _) = call(app.get("/api/v1/users/me/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 401, "the old token is revoked");
    let (status, _) = call(app.get("/api/v1/users/me/").bearer_auth(&fresh)).await;
    assert_eq!(status, 200, "the new one works");

    let after: String = app
        .db()
        .run(move |conn| Ok(users::table.find(id).select(users::password).first(conn)?))
        .await
        .unwrap();
    assert!(plaza_users::password::verify_password("Another-Horse-42", &after));
    assert!(!plaza_users::password::verify_password(&alice.password, &after));
});

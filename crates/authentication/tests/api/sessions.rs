//! `sessions/`, `ws-ticket/`, and the account changes that end sessions (password change,
//! deactivation), made through the users domain.

use plaza_kernel::auth::tickets;
use plaza_kernel::db_test;
use serde_json::{json, Value};

use crate::support::{app, call, login, register, PASSWORD};

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap().to_owned()
}

async fn refresh_status(app: &plaza_kernel::testing::TestApp, token: &str) -> u16 {
    call(
        app.post("/api/v1/auth/refresh-token/")
            .json(&json!({"refresh": token})),
    )
    .await
    .0
}

db_test!(async fn listing_and_ending_sessions(backend) {
    let app = app(backend).await;
    let first = register(&app, "alice").await;
    let (_, phone) = call(
        app.post("/api/v1/auth/login/")
            .header("user-agent", "PlazaPhone/1.0")
            .json(&json!({"username": "alice", "password": PASSWORD})),
    )
    .await;

    let (status, page) = call(app.get("/api/v1/auth/sessions/").bearer_auth(s(&first, "access"))).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["count"], 2);
    let phone_session = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["device"] == "PlazaPhone/1.0")
        .expect("the phone's session")
        .clone();
    assert_eq!(phone_session["ip_address"], "127.0.0.1");

    // Someone else cannot end it.
    let bob = register(&app, "bob").await;
    let path = format!("/api/v1/auth/sessions/{}/", phone_session["id"]);
    assert_eq!(call(app.delete(&path).bearer_auth(s(&bob, "access"))).await.0, 404);

    assert_eq!(call(app.delete(&path).bearer_auth(s(&first, "access"))).await.0, 204);
    assert_eq!(refresh_status(&app, &s(&phone, "refresh")).await, 401);
    assert_eq!(call(app.get("/api/v1/users/me/").bearer_auth(s(&phone, "access"))).await.0, 401);
    assert_eq!(call(app.get("/api/v1/users/me/").bearer_auth(s(&first, "access"))).await.0, 200);
    let (_, page) = call(app.get("/api/v1/auth/sessions/").bearer_auth(s(&first, "access"))).await;
    assert_eq!(page["count"], 1);
    assert_eq!(call(app.delete(&path).bearer_auth(s(&first, "access"))).await.0, 404);
    assert_eq!(call(app.get("/api/v1/auth/sessions/")).await.0, 401);
});

db_test!(async fn changing_the_password_ends_other_sessions(backend) {
    let app = app(backend).await;
    let first = register(&app, "alice").await;
    let (_, other) = login(&app, "alice", PASSWORD).await;

    let (status, changed) = call(app.post("/api/v1/users/me/password/").bearer_auth(s(&first, "access")).json(&json!({
        "old_password": PASSWORD, "new_password": "Brand-New-Kite-31"
    })))
    .await;
    assert_eq!(status, 200, "{changed}");
    // Every earlier token is gone…
    for access in [s(&first, "access"), s(&other, "access")] {
        assert_eq!(call(app.get("/api/v1/users/me/").bearer_auth(access)).await.0, 401);
    }
    assert_eq!(refresh_status(&app, &s(&first, "refresh")).await, 401);
    assert_eq!(refresh_status(&app, &s(&other, "refresh")).await, 401);
    // …and the caller continues with the new pair.
    assert_eq!(call(app.get("/api/v1/users/me/").bearer_auth(s(&changed, "access"))).await.0, 200);
    assert_eq!(refresh_status(&app, &s(&changed, "refresh")).await, 200);
    assert_eq!(login(&app, "alice", "Brand-New-Kite-31").await.0, 200);

    // An API key may not change the password.
    let (_, key) = call(app.post("/api/v1/auth/api-keys/").bearer_auth(s(&changed, "access")).json(&json!({"name": "k"}))).await;
    let (status, _) = call(app.post("/api/v1/users/me/password/").header("x-api-key", s(&key, "key")).json(&json!({
        "old_password": "Brand-New-Kite-31", "new_password": "Another-Kite-32"
    })))
    .await;
    assert_eq!(status, 403);
});

db_test!(async fn deactivating_ends_every_session(backend) {
    let app = app(backend).await;
    let first = register(&app, "alice").await;
    assert_eq!(call(app.delete("/api/v1/users/me/").bearer_auth(s(&first, "access"))).await.0, 204);
    assert_eq!(refresh_status(&app, &s(&first, "refresh")).await, 401);
    assert_eq!(login(&app, "alice", PASSWORD).await.0, 401);
    // Staff deactivating someone ends their sessions as well.
    let bob = register(&app, "bob").await;
    let staff = app.create_staff("root").await;
    let path = format!("/api/v1/users/{}/", bob["user"]["id"]);
    assert_eq!(call(app.patch(&path).bearer_auth(&staff.access).json(&json!({"is_active": false}))).await.0, 200);
    assert_eq!(refresh_status(&app, &s(&bob, "refresh")).await, 401);
});

db_test!(async fn websocket_tickets(backend) {
    let app = app(backend).await;
    let body = register(&app, "alice").await;
    let (status, res) = call(app.post("/api/v1/auth/ws-ticket/").bearer_auth(s(&body, "access"))).await;
    assert_eq!(status, 200);
    assert_eq!(res["expires_in"], 30);
    let caller = tickets::redeem(&app.services.cache, res["ticket"].as_str().unwrap()).await.unwrap().unwrap();
    assert_eq!(caller.username, "alice");
    assert!(tickets::redeem(&app.services.cache, res["ticket"].as_str().unwrap()).await.unwrap().is_none());
    assert_eq!(call(app.post("/api/v1/auth/ws-ticket/")).await.0, 401);
});

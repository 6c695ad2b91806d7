//! `register/`.

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::schema::{user_login_logs, user_profiles};
use serde_json::json;

use crate::support::{app, builder, call, mails_to, register, PASSWORD};

db_test!(async fn registering_signs_in_and_queues_a_verification_mail(backend) {
    let app = app(backend).await;
    let body = register(&app, "alice").await;
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["user"]["is_verified"], false);
    assert!(body["user"]["last_login"].is_string());
    assert_eq!(body["user"]["profile"]["timezone"], "Asia/Shanghai");
    let access = body["access"].as_str().unwrap();
    assert!(body["refresh"].as_str().unwrap().len() > 20);

    let (status, me) = call(app.get("/api/v1/users/me/").bearer_auth(access)).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "alice@example.com");

    let mails = mails_to(&app, "alice@example.com").await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("/verify-email/?token="), "{}", mails[0].text);

    let id = body["user"]["id"].as_i64().unwrap();
    let (profiles, logins): (i64, i64) = app
        .db()
        .run(move |conn| {
            Ok((
                user_profiles::table.filter(user_profiles::user_id.eq(id)).count().get_result(conn)?,
                user_login_logs::table.filter(user_login_logs::user_id.eq(id)).count().get_result(conn)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!((profiles, logins), (1, 1));
});

db_test!(async fn duplicates_are_refused_case_insensitively(backend) {
    let app = app(backend).await;
    register(&app, "alice").await;
    let (status, body) = call(app.post("/api/v1/auth/register/").json(&json!({
        "username": "ALICE", "email": "someone@example.com", "password": PASSWORD
    })))
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("validation_error")));
    assert!(body["errors"]["username"].is_array(), "{body}");
    let (status, body) = call(app.post("/api/v1/auth/register/").json(&json!({
        "username": "alice2", "email": "Alice@EXAMPLE.com", "password": PASSWORD
    })))
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["email"].is_array(), "{body}");
    assert!(mails_to(&app, "someone@example.com").await.is_empty());
});

db_test!(async fn bad_registrations_name_every_field(backend) {
    let app = app(backend).await;
    let (status, body) = call(app.post("/api/v1/auth/register/").json(&json!({
        "username": "a b", "email": "not-an-email", "password": "123", "password_confirm": "1234"
    })))
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("validation_error")));
    for field in ["username", "email", "password", "password_confirm"] {
        assert!(body["errors"][field].is_array(), "{field}: {body}");
    }
    for weak in ["password", "12345678901", "short", "bobthebuilder1"] {
        let (status, body) = call(app.post("/api/v1/auth/register/").json(&json!({
            "username": "bobthebuilder1", "email": "bob@example.com", "password": weak
        })))
        .await;
        assert_eq!(status, 400, "{weak}");
        assert!(body["errors"]["password"].is_array(), "{weak}: {body}");
    }
    let (status, body) = call(app.post("/api/v1/auth/register/").json(&json!({"username": "carol"}))).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["email"].is_array() || body["errors"]["password"].is_array(), "{body}");
    let (status, _) = call(app.post("/api/v1/auth/register/").body("username=carol")).await;
    assert_eq!(status, 415);
    let (status, _) = call(app.get("/api/v1/auth/register/")).await;
    assert_eq!(status, 405);
});

db_test!(async fn concurrent_sign_ups_all_succeed(backend) {
    // Under InnoDB's REPEATABLE READ these deadlocked on gap locks (the pool runs
    // READ COMMITTED); every one must get its 201.
    let app = app(backend).await;
    let names: Vec<String> = (0..12).map(|i| format!("racer{i}")).collect();
    let sign_ups = names.iter().map(|name| register(&app, name));
    let bodies = futures_util::future::join_all(sign_ups).await;
    assert_eq!(bodies.len(), 12);
    let (status, _) = call(app.post("/api/v1/auth/login/").json(&json!({
        "username": "racer11",
        "password": PASSWORD,
    })))
    .await;
    assert_eq!(status, 200);
});

db_test!(async fn registrations_and_reset_requests_per_address_are_limited(backend) {
    let app = builder(backend)
        .env("THROTTLE_REGISTER", "2/h")
        .env("THROTTLE_PASSWORD_RESET", "1/h")
        .build()
        .await;
    register(&app, "first").await;
    register(&app, "second").await;
    let res = app
        .post("/api/v1/auth/register/")
        .json(&json!({"username": "third", "email": "third@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "throttled");
    // Throttled before the body is looked at, as DRF throttles; and nothing was created.
    let (status, _) = call(app.post("/api/v1/auth/register/").json(&json!({}))).await;
    assert_eq!(status, 429);
    let (status, _) = call(app.post("/api/v1/auth/login/").json(&json!({"username": "third", "password": PASSWORD}))).await;
    assert_eq!(status, 401);

    let reset = |email: &str| app.post("/api/v1/auth/password-reset/").json(&json!({"email": email}));
    assert_eq!(call(reset("first@example.com")).await.0, 202);
    assert_eq!(call(reset("nobody@example.com")).await.0, 429);
});

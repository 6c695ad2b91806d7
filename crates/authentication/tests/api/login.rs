//! `login/`: credentials, inactive accounts, Django hashes, attempts, lockouts.

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::schema::{login_attempts, system_logs, users};
use plaza_kernel::testing::{test_redis_url, NewTestUser, TestBackend};
use plaza_users::{create_account, Email, NewAccount, Username};
use serde_json::json;

use crate::support::{app, builder, call, login, register, PASSWORD};

async fn attempts(app: &plaza_kernel::testing::TestApp) -> Vec<(String, bool, String)> {
    app.db()
        .run(|conn| {
            Ok(login_attempts::table
                .order(login_attempts::id.asc())
                .select((
                    login_attempts::username,
                    login_attempts::success,
                    login_attempts::reason,
                ))
                .load(conn)?)
        })
        .await
        .unwrap()
}

db_test!(async fn login_by_username_or_email(backend) {
    let app = app(backend).await;
    register(&app, "alice").await;

    for name in ["alice", "ALICE", "Alice@Example.com"] {
        let (status, body) = login(&app, name, PASSWORD).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["user"]["username"], "alice");
        let (status, _) = call(app.get("/api/v1/users/me/").bearer_auth(body["access"].as_str().unwrap())).await;
        assert_eq!(status, 200);
    }
    // `email` works as the field name too.
    let (status, _) = call(app.post("/api/v1/auth/login/").json(&json!({"email": "alice@example.com", "password": PASSWORD}))).await;
    assert_eq!(status, 200);

    let (status, body) = call(app.post("/api/v1/auth/login/").json(&json!({"password": PASSWORD}))).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["username"].is_array());

    let recorded = attempts(&app).await;
    assert_eq!(recorded.len(), 4);
    assert!(recorded.iter().all(|(_, ok, reason)| *ok && reason == "success"));
});

db_test!(async fn wrong_password_and_unknown_user_look_the_same(backend) {
    let app = app(backend).await;
    register(&app, "alice").await;
    let (status_a, wrong) = login(&app, "alice", "Not-The-Password-1").await;
    let (status_b, unknown) = login(&app, "nobody", "Not-The-Password-1").await;
    assert_eq!((status_a, status_b), (401, 401));
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["code"], "invalid_credentials");

    // Registration is not an attempt; both failures are recorded alike.
    let recorded = attempts(&app).await;
    assert_eq!(recorded[0], ("alice".to_owned(), false, "invalid_credentials".to_owned()));
    assert_eq!(recorded[1], ("nobody".to_owned(), false, "invalid_credentials".to_owned()));
});

db_test!(async fn inactive_accounts_cannot_log_in(backend) {
    let app = app(backend).await;
    let dave = app.create_user_with(NewTestUser { is_active: false, ..NewTestUser::new("dave") }).await;
    let (status, body) = login(&app, "dave", &dave.password).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_credentials")));
    assert_eq!(attempts(&app).await[0].2, "inactive");
});

db_test!(async fn django_hashes_log_in_and_are_upgraded(backend) {
    let app = app(backend).await;
    // make_password("Tr1cky-Horse-77", "plazasalt") with 1000 iterations, as Django stores it.
    let django = "pbkdf2_sha256$1000$plazasalt$N4JvSyK8EVFqS/5J3kT3slo46DzX2/p+gIolDmgjHyA=";
    let id = app
        .db()
        .run(move |conn| {
            let account = NewAccount::user(
                Username::parse("migrated").unwrap(),
                Email::parse("migrated@example.com").unwrap(),
                django.to_owned(),
            );
            Ok(create_account(conn, &account)?.id)
        })
        .await
        .unwrap();
    let (status, _) = login(&app, "migrated", "wrong-password").await;
    assert_eq!(status, 401);
    let (status, body) = login(&app, "migrated", "Tr1cky-Horse-77").await;
    assert_eq!(status, 200, "{body}");
    let stored: String = app
        .db()
        .run(move |conn| Ok(users::table.find(id).select(users::password).first(conn)?))
        .await
        .unwrap();
    assert!(stored.starts_with("$2"), "re-hashed with bcrypt: {stored}");
    let (status, _) = login(&app, "migrated", "Tr1cky-Horse-77").await;
    assert_eq!(status, 200);
});

db_test!(async fn five_failures_lock_the_account(backend) {
    let app = app(backend).await;
    register(&app, "alice").await;
    register(&app, "bob").await;
    for _ in 0..5 {
        let (status, _) = login(&app, "alice", "Wrong-Password-1").await;
        assert_eq!(status, 401);
    }
    // Locked: even the right password (and through the email) is refused until the window ends.
    for name in ["alice", "alice@example.com"] {
        let res = app.post("/api/v1/auth/login/").json(&json!({"username": name, "password": PASSWORD})).send().await.unwrap();
        assert_eq!(res.status(), 429);
        let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "throttled");
    }
    // Another account is not affected.
    let (status, _) = login(&app, "bob", PASSWORD).await;
    assert_eq!(status, 200);

    let recorded = attempts(&app).await;
    assert_eq!(recorded.iter().filter(|(_, _, r)| r == "locked").count(), 2);
    let events: i64 = app
        .db()
        .run(|conn| Ok(system_logs::table.filter(system_logs::event.eq("login_locked")).count().get_result(conn)?))
        .await
        .unwrap();
    assert_eq!(events, 1);
});

db_test!(async fn success_resets_the_account_counter(backend) {
    let app = app(backend).await;
    register(&app, "alice").await;
    for _ in 0..4 {
        login(&app, "alice", "Wrong-Password-1").await;
    }
    assert_eq!(login(&app, "alice", PASSWORD).await.0, 200);
    for _ in 0..4 {
        assert_eq!(login(&app, "alice", "Wrong-Password-1").await.0, 401);
    }
    assert_eq!(login(&app, "alice", PASSWORD).await.0, 200);
});

db_test!(async fn twenty_failures_lock_the_address(backend) {
    let app = app(backend).await;
    register(&app, "alice").await;
    // Twenty failures spread over names that never reach their own limit.
    for i in 0..20 {
        let (status, _) = login(&app, &format!("ghost{}", i % 5), "Wrong-Password-1").await;
        assert_eq!(status, 401, "attempt {i}");
    }
    let (status, body) = login(&app, "alice", PASSWORD).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("throttled")));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockouts_hold_across_instances_sharing_redis() {
    if test_redis_url().is_none() {
        return;
    }
    // Two instances (each with its own database holding the same account) share one Redis.
    let first = builder(TestBackend::Sqlite).with_redis().build().await;
    let shared = first.services.cache.clone();
    let second = builder(TestBackend::Sqlite)
        .customize(move |services| services.cache = shared)
        .build()
        .await;
    register(&first, "alice").await;
    register(&second, "alice").await;
    for _ in 0..5 {
        assert_eq!(login(&first, "alice", "Wrong-Password-1").await.0, 401);
    }
    let (status, _) = login(&second, "alice", PASSWORD).await;
    assert_eq!(
        status, 429,
        "the lockout counted on the first instance holds on the second"
    );
}

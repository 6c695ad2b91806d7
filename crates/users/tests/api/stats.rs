//! `me/stats/` and `{id}/stats/`: the counts other domains contribute.

use actix_web::web;
use diesel::prelude::*;
use plaza_kernel::counts::Counts;
use plaza_kernel::db_test;
use plaza_kernel::schema::user_login_logs;
use plaza_kernel::testing::TestApp;
use serde_json::json;

use crate::support::call;

db_test!(async fn stats_answer_the_registered_counts(backend) {
    // A stand-in for another domain's contribution: logins per user.
    let counts = Counts::default().per_user("logins", |conn, user_id| {
        user_login_logs::table
            .filter(user_login_logs::user_id.eq(user_id))
            .count()
            .get_result(conn)
    });
    let app = TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_users::configure)
        .configure(move |cfg| {
            cfg.app_data(web::Data::new(counts.clone()));
        })
        .build()
        .await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;

    let (status, body) = call(app.get("/api/v1/users/me/stats/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"user_id": alice.id, "counts": {"logins": 0}}));

    let path = format!("/api/v1/users/{}/stats/", alice.id);
    let (status, body) = call(app.get(&path).bearer_auth(&bob.access)).await;
    assert_eq!(status, 200);
    assert_eq!(body["counts"]["logins"], 0);
    let (status, _) = call(app.get(&path)).await;
    assert_eq!(status, 401);
    let (status, _) = call(app.get("/api/v1/users/424242/stats/").bearer_auth(&bob.access)).await;
    assert_eq!(status, 404);

    // A private profile keeps its counts private, except from staff.
    call(app.put("/api/v1/users/me/settings/").bearer_auth(&alice.access).json(&json!({
        "privacy_settings": {"profile_visibility": "private"}
    })))
    .await;
    let (status, _) = call(app.get(&path).bearer_auth(&bob.access)).await;
    assert_eq!(status, 403);
    let staff = app.create_staff("root").await;
    let (status, _) = call(app.get(&path).bearer_auth(&staff.access)).await;
    assert_eq!(status, 200);
});

db_test!(async fn stats_without_contributors_are_empty(backend) {
    let app = crate::support::app(backend).await;
    let alice = app.create_user("alice").await;
    let (status, body) = call(app.get("/api/v1/users/me/stats/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 200);
    assert_eq!(body["counts"], json!({}));
});

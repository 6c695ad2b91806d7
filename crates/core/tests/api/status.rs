//! `system/status`: staff only; versions, backends, counts, the job queue.

use actix_web::web;
use diesel::prelude::*;
use plaza_kernel::counts::Counts;
use plaza_kernel::db_test;
use plaza_kernel::jobs::{enqueue_raw, JobOptions, JobRegistry};
use plaza_kernel::schema::users;
use plaza_kernel::testing::{TestApp, TestBackend};
use serde_json::Value;

async fn app(backend: TestBackend) -> TestApp {
    TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_core::configure)
        .configure(|cfg| {
            let counts =
                Counts::default().system("users", |conn| users::table.count().get_result(conn));
            cfg.app_data(web::Data::new(JobRegistry::new()))
                .app_data(web::Data::new(counts));
        })
        .build()
        .await
}

db_test!(async fn status_is_for_staff(backend) {
    let app = app(backend).await;
    let user = app.create_user("alice").await;
    let res = app.get("/api/v1/core/system/status/").send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .get("/api/v1/core/system/status/")
        .bearer_auth(&user.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .post("/api/v1/core/system/status/")
        .bearer_auth(&user.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
});

db_test!(async fn status_reports_backends_counts_and_the_queue(backend) {
    let kind = backend.name();
    let app = app(backend).await;
    app.create_user("alice").await;
    let staff = app.create_staff("root").await;
    app.db()
        .run(|conn| {
            enqueue_raw(conn, "ping", "{}", JobOptions::default())?;
            enqueue_raw(conn, "ping", "{}", JobOptions::default().delay(std::time::Duration::from_secs(3600)))?;
            Ok(())
        })
        .await
        .unwrap();

    let res = app
        .get("/api/v1/core/system/status/")
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["database"], kind);
    assert_eq!(body["cache"], "memory");
    assert_eq!(body["bus"], "memory");
    assert!(body["uptime_seconds"].as_u64().is_some());
    assert!(body["started_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["counts"]["users"], 2);
    let jobs = &body["jobs"];
    assert_eq!(jobs["depth"]["queued"], 2);
    assert_eq!(jobs["depth"]["due"], 1, "one is delayed an hour");
    assert_eq!(jobs["depth"]["dead"], 0);
    assert_eq!(jobs["worker_inprocess"], true);
    assert_eq!(jobs["concurrency"], 4);
    assert!(jobs["kinds"].as_array().unwrap().contains(&Value::from("send_email")));
    let prune = &jobs["periodic"][0];
    assert_eq!(prune["name"], "kernel.prune_jobs");
    assert_eq!(prune["schedule"], "every 1h");
    assert!(prune["next_run_at"].as_str().unwrap().ends_with(":00:00Z"));
});

db_test!(async fn status_works_without_counts_or_registry(backend) {
    let app = TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_core::configure)
        .build()
        .await;
    let staff = app.create_staff("root").await;
    let body: Value = app
        .get("/api/v1/core/system/status/")
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["counts"], serde_json::json!({}));
    assert_eq!(body["jobs"]["periodic"], serde_json::json!([]));
});

use actix_web::web;
use plaza_kernel::db::{Db, PoolOptions};
use plaza_kernel::db_test;
use plaza_kernel::testing::{TestApp, TestBackend};
use serde_json::Value;

async fn app(backend: TestBackend) -> TestApp {
    TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_core::configure)
        .configure(plaza_core::configure_ops)
        .build()
        .await
}

db_test!(async fn liveness_answers_ok(backend) {
    let app = app(backend).await;
    for path in ["/health", "/health/"] {
        let res = app.get(path).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");
    }
});

db_test!(async fn system_health_probes_every_dependency(backend) {
    let expected = backend.name();
    let app = app(backend).await;
    let res = app.get("/api/v1/core/system/health/").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    for check in ["database", "cache", "bus"] {
        assert_eq!(body["checks"][check]["ok"], true, "{check}: {body}");
        assert!(body["checks"][check]["latency_ms"].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(body["checks"]["database"]["kind"], expected);
    assert_eq!(body["checks"]["cache"]["kind"], "memory");
});

/// An app whose database cannot be reached: liveness stays up, readiness answers 503.
async fn with_unreachable_database(url: &'static str) {
    let app = TestApp::builder(TestBackend::Sqlite)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_core::configure)
        .configure(plaza_core::configure_ops)
        .customize(move |services| {
            let options = PoolOptions {
                max_size: 1,
                timeout: std::time::Duration::from_millis(300),
            };
            services.db = web::Data::new(Db::connect_lazy(url, options).unwrap());
        })
        .build()
        .await;
    let res = app.get("/health/").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.get("/api/v1/core/system/health/").send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "down");
    assert_eq!(body["checks"]["database"]["ok"], false);
    assert_eq!(body["checks"]["cache"]["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_mysql_is_503() {
    with_unreachable_database("mysql://root@127.0.0.1:1/nowhere").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_sqlite_is_503() {
    with_unreachable_database("sqlite:///proc/plaza-no-such-dir/plaza.db").await;
}

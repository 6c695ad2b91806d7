//! The server's app: every domain's routes, with the job registry and counts they contribute.

use actix_web::web;
use plaza_kernel::metrics::Metrics;
use plaza_kernel::testing::{TestApp, TestBackend};
use plaza_kernel::{db_test, Bus, Realtime};
use serde_json::Value;

async fn app(backend: TestBackend) -> TestApp {
    let registry = web::Data::new(plaza_server::job_registry());
    let realtime = web::Data::new(Realtime::new(
        Bus::in_memory(),
        web::Data::new(Metrics::new()),
    ));
    let counts = web::Data::new(plaza_server::counts(&realtime));
    TestApp::builder(backend)
        .customize(move |services| services.realtime = realtime)
        .configure(move |cfg| {
            plaza_server::register_contributions(cfg, &registry, &counts);
            plaza_server::configure(cfg);
        })
        .build()
        .await
}

#[test]
fn the_job_registry_is_valid() {
    let registry = plaza_server::job_registry();
    registry.check().unwrap();
    assert!(registry.handles("send_email"));
    assert!(registry.handles("streaming_reap"));
}

db_test!(async fn system_status_shows_the_contributed_counts_and_jobs(backend) {
    let app = app(backend).await;
    app.create_user("alice").await;
    let staff = app.create_staff("root").await;

    let res = app
        .get("/api/v1/core/system/status/")
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["counts"]["users"], 2);
    assert_eq!(body["counts"]["live_streams"], 0);
    assert_eq!(body["counts"]["open_websockets"], 0);
    let periodic: Vec<&str> = body["jobs"]["periodic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(periodic.contains(&"kernel.prune_jobs"), "{periodic:?}");
    assert!(periodic.contains(&"streaming.reap_streams"), "{periodic:?}");
});

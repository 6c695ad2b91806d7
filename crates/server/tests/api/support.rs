//! Shared helpers.

use actix_web::web;
use plaza_kernel::metrics::Metrics;
use plaza_kernel::testing::{TestApp, TestBackend};
use plaza_kernel::{Bus, Realtime};
use plaza_posts::Forum;
use serde_json::Value;
use std::time::Duration;

/// The whole application, as `plaza serve` composes it.
pub async fn app(backend: TestBackend) -> TestApp {
    app_with(backend, Forum::new(Duration::from_secs(1))).await
}

/// The whole application with `forum`'s read cache and view counter (the test flushes the
/// views itself).
pub async fn app_with(backend: TestBackend, forum: Forum) -> TestApp {
    let registry = web::Data::new(plaza_server::job_registry());
    // The app's own realtime state, so `open_websockets` counts its sockets.
    let realtime = web::Data::new(Realtime::new(
        Bus::in_memory(),
        web::Data::new(Metrics::new()),
    ));
    let counts = web::Data::new(plaza_server::counts(&realtime));
    TestApp::builder(backend)
        .customize(move |services| services.realtime = realtime)
        .configure(move |cfg| {
            plaza_server::register_contributions(cfg, &registry, &counts, &forum);
            plaza_server::configure(cfg);
        })
        .build()
        .await
}

/// Status and JSON body of a response.
pub async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

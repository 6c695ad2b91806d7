//! Shared helpers.

use std::sync::Arc;

use actix_web::web;
use plaza_kernel::domain::Started;
use plaza_kernel::metrics::Metrics;
use plaza_kernel::testing::{TestApp, TestBackend};
use plaza_kernel::{Bus, Realtime};
use plaza_posts::Forum;
use serde_json::Value;

/// The whole application, as `plaza serve` composes it: every domain in
/// `plaza_server::DOMAINS`, with its settings from the test app's variables and its
/// per-process state started.
pub async fn app(backend: TestBackend) -> TestApp {
    app_with(backend, None).await
}

/// [`app`] with `forum` in place of the one the posts domain starts, so the test can flush
/// its views and clear its cache itself.
pub async fn app_with(backend: TestBackend, forum: Option<Forum>) -> TestApp {
    // The app's own realtime state, so `open_websockets` counts its sockets.
    let realtime = web::Data::new(Realtime::new(
        Bus::in_memory(),
        web::Data::new(Metrics::new()),
    ));
    let registry = web::Data::new(plaza_server::job_registry());
    let started: Arc<std::sync::OnceLock<(web::Data<plaza_kernel::counts::Counts>, Started)>> =
        Arc::default();
    let state = started.clone();
    TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .customize(move |services| {
            services.realtime = realtime;
            let sections = plaza_server::settings(&services.config).expect("valid settings");
            services.sections = sections;
            let counts = web::Data::new(plaza_server::counts(services));
            let _ = state.set((counts, Started::start(plaza_server::DOMAINS, services)));
        })
        .configure(move |cfg| {
            let (counts, running) = started.get().expect("started before the server");
            plaza_server::register_contributions(cfg, &registry, counts, running);
            if let Some(forum) = &forum {
                forum.register(cfg);
            }
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

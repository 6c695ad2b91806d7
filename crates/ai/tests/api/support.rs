//! Helpers shared by the AI tests.

use std::time::{Duration, Instant};

use actix_web::web;
use plaza_kernel::testing::{TestApp, TestBackend, TestUser};
use serde_json::{json, Value};

use crate::fakes::{FakeOpenAi, FakeSpark, FAKE_KEY, SPARK_APP_ID, SPARK_KEY, SPARK_SECRET};

/// The models the fake serves, registered at start.
pub const FAKE_MODELS: &str = "echo,nousage,fail,midfail,stall,slow";

/// A builder with the AI domain (and the forum's `/posts/chat/`) over the OpenAI fake.
pub fn builder(backend: TestBackend, fake: &FakeOpenAi) -> plaza_kernel::testing::TestAppBuilder {
    TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .domain(&plaza_ai::DOMAIN)
        .configure(plaza_authentication::configure)
        .configure(|cfg| {
            cfg.service(web::resource("/posts/chat/").post(plaza_ai::forum::posts_chat));
        })
        .env("AI_PROVIDERS", "fake")
        .env("AI_FAKE_BASE_URL", &fake.base_url())
        .env("AI_FAKE_API_KEY", FAKE_KEY)
        .env("AI_FAKE_MODELS", FAKE_MODELS)
        .env("AI_DEFAULT_MODEL", "echo")
        .env("AI_ACCOUNTING_FLUSH_INTERVAL", "20ms")
        .env("AI_IDLE_TIMEOUT", "1s")
}

/// The AI domain over a fresh OpenAI fake.
pub async fn app(backend: TestBackend) -> (TestApp, FakeOpenAi) {
    let fake = FakeOpenAi::start().await;
    (builder(backend, &fake).build().await, fake)
}

/// Adds the Spark fake's configuration to a builder.
pub fn with_spark(
    builder: plaza_kernel::testing::TestAppBuilder,
    spark: &FakeSpark,
    secret: &str,
) -> plaza_kernel::testing::TestAppBuilder {
    builder
        .env("AI_SPARK_APP_ID", SPARK_APP_ID)
        .env("AI_SPARK_API_KEY", SPARK_KEY)
        .env("AI_SPARK_API_SECRET", secret)
        .env("AI_SPARK_URL", &spark.url())
        .env("AI_SPARK_DOMAIN", "generalv3.5")
}

/// The right Spark secret.
pub fn spark_secret() -> &'static str {
    SPARK_SECRET
}

/// `POST /v1/chat/completions` as `user` with `body`.
pub async fn complete(app: &TestApp, user: &TestUser, body: &Value) -> reqwest::Response {
    app.post("/v1/chat/completions")
        .bearer_auth(&user.access)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A one-message chat body.
pub fn ask(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

/// The `data:` payloads of an SSE body.
pub fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

/// The caller's request log once it holds at least `n` rows (rows are written in batches off
/// the request path), newest first.
pub async fn wait_requests(app: &TestApp, user: &TestUser, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let res = app
            .get("/api/v1/ai/requests/?page_size=100")
            .bearer_auth(&user.access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        let rows = page["results"].as_array().unwrap().clone();
        if rows.len() >= n {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} request rows, found {}",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The model named `name` as staff sees it.
pub async fn model_id(app: &TestApp, staff: &TestUser, name: &str) -> i64 {
    let res = app
        .get("/api/v1/ai/models/")
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    let models: Value = res.json().await.unwrap();
    models
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// PATCHes a model as staff; asserts 200.
pub async fn patch_model(app: &TestApp, staff: &TestUser, name: &str, patch: &Value) -> Value {
    let id = model_id(app, staff, name).await;
    let res = app
        .patch(&format!("/api/v1/ai/models/{id}/"))
        .bearer_auth(&staff.access)
        .json(patch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

//! Shared helpers of the users tests.

use plaza_kernel::testing::{TestApp, TestBackend};
use serde_json::Value;

/// An app serving `/api/v1/users/` (without the authentication domain).
pub async fn app(backend: TestBackend) -> TestApp {
    TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_users::configure)
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

/// The keys of a JSON object, sorted.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

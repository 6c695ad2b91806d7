//! Shared helpers of the authentication tests.

use plaza_kernel::mail::Email;
use plaza_kernel::testing::{TestApp, TestAppBuilder, TestBackend};
use serde_json::{json, Value};

/// The builder of an app serving `/api/v1/auth/` and `/api/v1/users/`.
pub fn builder(backend: TestBackend) -> TestAppBuilder {
    TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_authentication::configure)
        .configure(plaza_users::configure)
}

/// An app serving `/api/v1/auth/` and `/api/v1/users/`.
pub async fn app(backend: TestBackend) -> TestApp {
    builder(backend).build().await
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

/// Registers `username` (`<username>@example.com`, a strong password); the 201 body.
pub async fn register(app: &TestApp, username: &str) -> Value {
    let (status, body) = call(app.post("/api/v1/auth/register/").json(&json!({
        "username": username,
        "email": format!("{username}@example.com"),
        "password": PASSWORD,
    })))
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

/// The password [`register`] uses.
pub const PASSWORD: &str = "Quiet-Lantern-58";

/// Logs in; status and body.
pub async fn login(app: &TestApp, username: &str, password: &str) -> (u16, Value) {
    call(
        app.post("/api/v1/auth/login/")
            .json(&json!({"username": username, "password": password})),
    )
    .await
}

/// The mails queued for `to`, oldest first.
pub async fn mails_to(app: &TestApp, to: &str) -> Vec<Email> {
    app.queued_emails()
        .await
        .into_iter()
        .filter(|m| m.to == to)
        .collect()
}

/// The token in a mail's link (`…?token=<token>`).
pub fn token_in(mail: &Email) -> String {
    let start = mail.text.find("token=").expect("a link with a token") + "token=".len();
    mail.text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The TOTP code for `secret` at now + `offset` seconds.
pub fn totp(secret: &str, offset: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    let totp =
        totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "t".into()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now.checked_add_signed(offset).unwrap())
}

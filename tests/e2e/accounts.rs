//! Accounts through the real binary: registration with the verification mail read from the
//! `.eml` file the `file` mailer writes, login, refresh, logout, two-factor login, password
//! reset by mail, API keys, and the superuser `plaza createsuperuser` makes.

use std::time::Duration;

use plaza_e2e::mail::wait_for_mail;
use plaza_e2e::{run_plaza, Plaza};
use serde_json::{json, Value};

const PASSWORD: &str = "Quiet-Lantern-58";

async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_owned()
}

async fn start() -> Plaza {
    Plaza::builder().env("EMAIL_BACKEND", "file").start().await
}

async fn register(plaza: &Plaza, username: &str) -> Value {
    let (status, body) = call(plaza.client.post(plaza.url("/api/v1/auth/register/")).json(
        &json!({
            "username": username, "email": format!("{username}@example.com"), "password": PASSWORD
        }),
    ))
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

/// Waits for the mail sent to `to` whose subject contains `subject`; the token of its link.
async fn token_from_mail(plaza: &Plaza, to: &str, subject: &str) -> String {
    let mail = wait_for_mail(&plaza.dir.join("data/mail"), Duration::from_secs(30), |m| {
        m.to.contains(to) && m.subject.contains(subject)
    })
    .await;
    let link = mail
        .link_containing("?token=")
        .unwrap_or_else(|| panic!("no link with a token in:\n{}", mail.text));
    link.split("?token=").nth(1).unwrap().to_owned()
}

fn totp(secret: &str, offset: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        "e2e".into(),
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now + offset)
}

#[tokio::test]
async fn register_verify_login_refresh_logout() {
    let plaza = start().await;
    let registered = register(&plaza, "alice").await;
    assert_eq!(registered["user"]["is_verified"], false);

    let token = token_from_mail(&plaza, "alice@example.com", "Confirm your email").await;
    let (status, _) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/verify-email/"))
            .json(&json!({"token": token})),
    )
    .await;
    assert_eq!(status, 200);

    // The forum's login path answers like the canonical one.
    let (status, login) = call(
        plaza
            .client
            .post(plaza.url("/users/login/"))
            .json(&json!({"username": "alice", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["user"]["is_verified"], true);

    let (status, refreshed) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/refresh-token/"))
            .json(&json!({"refresh": s(&login, "refresh")})),
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let (status, me) = call(
        plaza
            .client
            .get(plaza.url("/api/v1/users/me/"))
            .bearer_auth(s(&refreshed, "access")),
    )
    .await;
    assert_eq!((status, me["username"].as_str()), (200, Some("alice")));

    let (status, _) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/logout/"))
            .bearer_auth(s(&refreshed, "access"))
            .json(&json!({"refresh": s(&refreshed, "refresh")})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/refresh-token/"))
            .json(&json!({"refresh": s(&refreshed, "refresh")})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("token_invalid"))
    );
    let (status, _) = call(
        plaza
            .client
            .get(plaza.url("/api/v1/users/me/"))
            .bearer_auth(s(&refreshed, "access")),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn two_factor_login_challenge() {
    let plaza = start().await;
    let registered = register(&plaza, "bob").await;
    let access = s(&registered, "access");
    let (status, enrollment) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/2fa/enable/"))
            .bearer_auth(&access),
    )
    .await;
    assert_eq!(status, 200, "{enrollment}");
    let secret = s(&enrollment, "secret");
    let (status, confirmed) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/2fa/confirm/"))
            .bearer_auth(&access)
            .json(&json!({"code": totp(&secret, 0)})),
    )
    .await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(confirmed["recovery_codes"].as_array().unwrap().len(), 10);

    let (status, challenge) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/login/"))
            .json(&json!({"username": "bob", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(challenge["two_factor_required"], true);
    let (status, _) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/2fa/verify/"))
            .json(&json!({
                "challenge_token": s(&challenge, "challenge_token"), "code": "000000"
            })),
    )
    .await;
    assert_eq!(status, 401);
    let (status, tokens) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/2fa/verify/"))
            .json(&json!({
                "challenge_token": s(&challenge, "challenge_token"), "code": totp(&secret, 30)
            })),
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let (status, _) = call(
        plaza
            .client
            .get(plaza.url("/api/v1/users/me/"))
            .bearer_auth(s(&tokens, "access")),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn password_reset_through_the_mail() {
    let plaza = start().await;
    register(&plaza, "carol").await;
    let (status, _) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/password-reset/"))
            .json(&json!({"email": "carol@example.com"})),
    )
    .await;
    assert_eq!(status, 202);
    let token = token_from_mail(&plaza, "carol@example.com", "Reset your password").await;
    let (status, _) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/password-reset/confirm/"))
            .json(&json!({
                "token": token, "new_password": "Fresh-Meadow-93"
            })),
    )
    .await;
    assert_eq!(status, 200);
    let login = |password: &'static str| {
        plaza
            .client
            .post(plaza.url("/api/v1/auth/login/"))
            .json(&json!({"username": "carol", "password": password}))
    };
    assert_eq!(call(login(PASSWORD)).await.0, 401);
    assert_eq!(call(login("Fresh-Meadow-93")).await.0, 200);
}

#[tokio::test]
async fn api_key_on_users_me() {
    let plaza = start().await;
    let registered = register(&plaza, "dave").await;
    let (status, created) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/api-keys/"))
            .bearer_auth(s(&registered, "access"))
            .json(&json!({"name": "scripts"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let key = s(&created, "key");
    for (header, value) in [
        ("authorization", format!("Api-Key {key}")),
        ("x-api-key", key.clone()),
    ] {
        let (status, me) = call(
            plaza
                .client
                .get(plaza.url("/api/v1/users/me/"))
                .header(header, value),
        )
        .await;
        assert_eq!((status, me["username"].as_str()), (200, Some("dave")));
    }
    let (status, _) = call(
        plaza
            .client
            .delete(plaza.url(&format!("/api/v1/auth/api-keys/{}/", created["id"])))
            .bearer_auth(s(&registered, "access")),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        plaza
            .client
            .get(plaza.url("/api/v1/users/me/"))
            .header("x-api-key", key),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_cli_superuser_signs_in_with_a_profile() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_plaza(dir.path(), &["migrate"], &[("DATA_DIR", "./data")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_plaza(
        dir.path(),
        &[
            "createsuperuser",
            "--no-input",
            "--username",
            "root",
            "--email",
            "root@example.com",
        ],
        &[
            ("DATA_DIR", "./data"),
            ("PLAZA_SUPERUSER_PASSWORD", "Tr1cky-Horse-77"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let plaza = Plaza::builder().dir(dir.path()).start().await;
    let (status, login) = call(
        plaza
            .client
            .post(plaza.url("/api/v1/auth/login/"))
            .json(&json!({"username": "root", "password": "Tr1cky-Horse-77"})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["user"]["is_superuser"], true);
    assert_eq!(login["user"]["role"], "admin");
    assert_eq!(login["user"]["profile"]["language"], "zh-hans");
    // Staff see every user in full.
    let (status, page) = call(
        plaza
            .client
            .get(plaza.url("/api/v1/users/"))
            .bearer_auth(s(&login, "access")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["results"][0]["email"], "root@example.com");
}

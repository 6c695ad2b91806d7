//! TOTP two-factor authentication: enrollment, the login challenge, recovery codes, disabling.

use plaza_kernel::db_test;
use serde_json::{json, Value};

use crate::support::{app, call, login, register, totp, PASSWORD};

/// Registers alice and turns 2FA on; her access token, secret and recovery codes.
async fn enrolled(app: &plaza_kernel::testing::TestApp) -> (String, String, Vec<String>) {
    let body = register(app, "alice").await;
    let access = body["access"].as_str().unwrap().to_owned();
    let (status, enrollment) =
        call(app.post("/api/v1/auth/2fa/enable/").bearer_auth(&access)).await;
    assert_eq!(status, 200, "{enrollment}");
    let secret = enrollment["secret"].as_str().unwrap().to_owned();
    let (status, confirmed) = call(
        app.post("/api/v1/auth/2fa/confirm/")
            .bearer_auth(&access)
            .json(&json!({"code": totp(&secret, 0)})),
    )
    .await;
    assert_eq!(status, 200, "{confirmed}");
    let codes = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (access, secret, codes)
}

async fn challenge(app: &plaza_kernel::testing::TestApp) -> String {
    let (status, body) = login(app, "alice", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["two_factor_required"], true);
    assert!(body.get("access").is_none());
    body["challenge_token"].as_str().unwrap().to_owned()
}

async fn verify(app: &plaza_kernel::testing::TestApp, challenge: &str, code: &str) -> (u16, Value) {
    call(
        app.post("/api/v1/auth/2fa/verify/")
            .json(&json!({"challenge_token": challenge, "code": code})),
    )
    .await
}

db_test!(async fn enrolling(backend) {
    let app = app(backend).await;
    let body = register(&app, "alice").await;
    let access = body["access"].as_str().unwrap().to_owned();

    let (status, status_body) = call(app.get("/api/v1/auth/2fa/").bearer_auth(&access)).await;
    assert_eq!(status, 200);
    assert_eq!(status_body["enabled"], false);

    let (status, _) = call(app.post("/api/v1/auth/2fa/confirm/").bearer_auth(&access).json(&json!({"code": "123456"}))).await;
    assert_eq!(status, 400, "nothing to confirm yet");
    let (_, enrollment) = call(app.post("/api/v1/auth/2fa/enable/").bearer_auth(&access)).await;
    let secret = enrollment["secret"].as_str().unwrap();
    assert!(enrollment["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/Plaza:alice?"));
    assert!(enrollment["qr_svg"].as_str().unwrap().contains("<svg"));
    // Not on until confirmed: logging in needs no code yet.
    assert!(login(&app, "alice", PASSWORD).await.1["access"].is_string());

    let (status, res) = call(app.post("/api/v1/auth/2fa/confirm/").bearer_auth(&access).json(&json!({"code": "000000"}))).await;
    assert_eq!(status, 400);
    assert!(res["errors"]["code"].is_array());
    let (status, res) = call(app.post("/api/v1/auth/2fa/confirm/").bearer_auth(&access).json(&json!({"code": totp(secret, 0)}))).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["recovery_codes"].as_array().unwrap().len(), 10);

    let (_, state) = call(app.get("/api/v1/auth/2fa/").bearer_auth(&access)).await;
    assert_eq!((state["enabled"].as_bool(), state["recovery_codes_remaining"].as_i64()), (Some(true), Some(10)));
    let (status, _) = call(app.post("/api/v1/auth/2fa/enable/").bearer_auth(&access)).await;
    assert_eq!(status, 409);
    let (status, _) = call(app.post("/api/v1/auth/2fa/enable/")).await;
    assert_eq!(status, 401);
});

db_test!(async fn the_login_challenge(backend) {
    let app = app(backend).await;
    let (_, secret, _) = enrolled(&app).await;
    let token = challenge(&app).await;

    let (status, res) = verify(&app, &token, "000000").await;
    assert_eq!((status, res["code"].as_str()), (401, Some("invalid_credentials")));
    let (status, res) = verify(&app, "not-a-challenge", &totp(&secret, 30)).await;
    assert_eq!((status, res["code"].as_str()), (401, Some("token_invalid")));

    // The next step's code (the confirmation spent the current one).
    let code = totp(&secret, 30);
    let (status, res) = verify(&app, &token, &code).await;
    assert_eq!(status, 200, "{res}");
    assert!(res["access"].is_string() && res["refresh"].is_string());
    assert_eq!(call(app.get("/api/v1/users/me/").bearer_auth(res["access"].as_str().unwrap())).await.0, 200);

    // A challenge works once; a code works once.
    let (status, _) = verify(&app, &token, &code).await;
    assert_eq!(status, 401);
    let again = challenge(&app).await;
    let (status, _) = verify(&app, &again, &code).await;
    assert_eq!(status, 401, "a replayed TOTP code is refused");
    // A wrong code in one step is refused too.
    let (status, _) = call(app.post("/api/v1/auth/login/").json(&json!({"username": "alice", "password": PASSWORD, "otp_code": "111111"}))).await;
    assert_eq!(status, 401);
});

db_test!(async fn recovery_codes_work_once(backend) {
    let app = app(backend).await;
    let (access, _, codes) = enrolled(&app).await;
    let token = challenge(&app).await;
    let (status, _) = verify(&app, &token, &codes[0].to_uppercase()).await;
    assert_eq!(status, 200);
    let token = challenge(&app).await;
    let (status, _) = verify(&app, &token, &codes[0]).await;
    assert_eq!(status, 401, "spent");
    // One step with otp_code, using another recovery code.
    let (status, res) = call(app.post("/api/v1/auth/login/").json(&json!({"username": "alice", "password": PASSWORD, "otp_code": codes[1]}))).await;
    assert_eq!(status, 200, "{res}");
    let (_, state) = call(app.get("/api/v1/auth/2fa/").bearer_auth(&access)).await;
    assert_eq!(state["recovery_codes_remaining"], 8);
});

db_test!(async fn wrong_codes_count_toward_the_lockout(backend) {
    let app = app(backend).await;
    let (_, secret, _) = enrolled(&app).await;
    let token = challenge(&app).await;
    for _ in 0..5 {
        assert_eq!(verify(&app, &token, "000000").await.0, 401);
    }
    let (status, res) = verify(&app, &token, &totp(&secret, 30)).await;
    assert_eq!((status, res["code"].as_str()), (429, Some("throttled")));
    assert_eq!(login(&app, "alice", PASSWORD).await.0, 429);
});

db_test!(async fn disabling(backend) {
    let app = app(backend).await;
    let (access, _, codes) = enrolled(&app).await;
    let url = "/api/v1/auth/2fa/disable/";
    let (status, res) = call(app.post(url).bearer_auth(&access).json(&json!({"password": "wrong", "code": codes[0]}))).await;
    assert_eq!(status, 400);
    assert!(res["errors"]["password"].is_array());
    let (status, res) = call(app.post(url).bearer_auth(&access).json(&json!({"password": PASSWORD, "code": "000000"}))).await;
    assert_eq!(status, 400);
    assert!(res["errors"]["code"].is_array());
    let (status, _) = call(app.post(url).bearer_auth(&access).json(&json!({"password": PASSWORD, "code": codes[0]}))).await;
    assert_eq!(status, 204);
    let (_, state) = call(app.get("/api/v1/auth/2fa/").bearer_auth(&access)).await;
    assert_eq!(state["enabled"], false);
    assert!(login(&app, "alice", PASSWORD).await.1["access"].is_string());
    let (status, _) = call(app.post(url).bearer_auth(&access).json(&json!({"password": PASSWORD, "code": codes[1]}))).await;
    assert_eq!(status, 400, "not enabled any more");
});

db_test!(async fn api_keys_cannot_manage_two_factor(backend) {
    let app = app(backend).await;
    let body = register(&app, "alice").await;
    let access = body["access"].as_str().unwrap();
    let (_, key) = call(app.post("/api/v1/auth/api-keys/").bearer_auth(access).json(&json!({"name": "ci"}))).await;
    let key = key["key"].as_str().unwrap();
    let (status, _) = call(app.post("/api/v1/auth/2fa/enable/").header("X-API-Key", key)).await;
    assert_eq!(status, 403);
});

//! Email verification and password reset, with the tokens read from the queued mail.

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::schema::account_tokens;
use serde_json::json;

use crate::support::{app, call, login, mails_to, register, token_in, PASSWORD};

db_test!(async fn verifying_an_email(backend) {
    let app = app(backend).await;
    let body = register(&app, "alice").await;
    let access = body["access"].as_str().unwrap().to_owned();
    let token = token_in(&mails_to(&app, "alice@example.com").await[0]);

    let (status, res) = call(app.post("/api/v1/auth/verify-email/").json(&json!({"token": "bogus"}))).await;
    assert_eq!(status, 400);
    assert!(res["errors"]["token"].is_array());

    let (status, _) = call(app.post("/api/v1/auth/verify-email/").json(&json!({"token": token}))).await;
    assert_eq!(status, 200);
    let (_, me) = call(app.get("/api/v1/users/me/").bearer_auth(&access)).await;
    assert_eq!(me["is_verified"], true);
    // Single use.
    let (status, _) = call(app.post("/api/v1/auth/verify-email/").json(&json!({"token": token}))).await;
    assert_eq!(status, 400);
    // Nothing to resend once verified.
    let (status, _) = call(app.post("/api/v1/auth/verify-email/resend/").bearer_auth(&access)).await;
    assert_eq!(status, 400);
});

db_test!(async fn resending_the_verification(backend) {
    let app = app(backend).await;
    let body = register(&app, "alice").await;
    let access = body["access"].as_str().unwrap().to_owned();
    let old = token_in(&mails_to(&app, "alice@example.com").await[0]);

    let (status, _) = call(app.post("/api/v1/auth/verify-email/resend/")).await;
    assert_eq!(status, 401);
    let (status, _) = call(app.post("/api/v1/auth/verify-email/resend/").bearer_auth(&access)).await;
    assert_eq!(status, 202);
    let res = app.post("/api/v1/auth/verify-email/resend/").bearer_auth(&access).send().await.unwrap();
    assert_eq!(res.status(), 429, "one a minute");
    assert!(res.headers().contains_key("retry-after"));

    let mails = mails_to(&app, "alice@example.com").await;
    assert_eq!(mails.len(), 2);
    let new = token_in(&mails[1]);
    // A newer token replaces the older one.
    let (status, _) = call(app.post("/api/v1/auth/verify-email/").json(&json!({"token": old}))).await;
    assert_eq!(status, 400);
    let (status, _) = call(app.post("/api/v1/auth/verify-email/").json(&json!({"token": new}))).await;
    assert_eq!(status, 200);
});

db_test!(async fn tokens_die_with_the_address_and_with_time(backend) {
    let app = app(backend).await;
    let body = register(&app, "alice").await;
    let access = body["access"].as_str().unwrap().to_owned();
    let token = token_in(&mails_to(&app, "alice@example.com").await[0]);
    // The account's email changes: the token sent to the old address no longer works.
    let (status, _) = call(app.patch("/api/v1/users/me/").bearer_auth(&access).json(&json!({"email": "new@example.com"}))).await;
    assert_eq!(status, 200);
    let (status, _) = call(app.post("/api/v1/auth/verify-email/").json(&json!({"token": token}))).await;
    assert_eq!(status, 400);

    // An expired reset token.
    register(&app, "bob").await;
    call(app.post("/api/v1/auth/password-reset/").json(&json!({"email": "bob@example.com"}))).await;
    let token = token_in(&mails_to(&app, "bob@example.com").await[1]);
    app.db()
        .run(|conn| {
            diesel::update(account_tokens::table)
                .set(account_tokens::expires_at.eq(plaza_kernel::time::now() - chrono::Duration::minutes(1)))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let (status, _) = call(app.post("/api/v1/auth/password-reset/confirm/").json(&json!({
        "token": token, "new_password": "Fresh-Meadow-93"
    })))
    .await;
    assert_eq!(status, 400);
});

db_test!(async fn resetting_a_password(backend) {
    let app = app(backend).await;
    let body = register(&app, "alice").await;
    let (old_access, old_refresh) = (body["access"].as_str().unwrap().to_owned(), body["refresh"].as_str().unwrap().to_owned());

    // Answered the same whether or not the account exists; mail only for the real one.
    let (status, known) = call(app.post("/api/v1/auth/password-reset/").json(&json!({"email": "ALICE@example.com"}))).await;
    assert_eq!(status, 202);
    let (status, unknown) = call(app.post("/api/v1/auth/password-reset/").json(&json!({"email": "nobody@example.com"}))).await;
    assert_eq!((status, &known), (202, &unknown));
    assert!(mails_to(&app, "nobody@example.com").await.is_empty());
    let (status, _) = call(app.post("/api/v1/auth/password-reset/").json(&json!({"email": "not an email"}))).await;
    assert_eq!(status, 400);

    let mails = mails_to(&app, "alice@example.com").await;
    assert_eq!(mails.len(), 2);
    assert!(mails[1].text.contains("/reset-password/?token="));
    let token = token_in(&mails[1]);

    // A weak password is refused without spending the token.
    let (status, res) = call(app.post("/api/v1/auth/password-reset/confirm/").json(&json!({"token": token, "new_password": "alice"}))).await;
    assert_eq!(status, 400);
    assert!(res["errors"]["new_password"].is_array());
    let (status, res) = call(app.post("/api/v1/auth/password-reset/confirm/").json(&json!({
        "token": token, "new_password": "Fresh-Meadow-93", "new_password_confirm": "other"
    })))
    .await;
    assert_eq!(status, 400);
    assert!(res["errors"]["new_password_confirm"].is_array());

    let (status, _) = call(app.post("/api/v1/auth/password-reset/confirm/").json(&json!({"token": token, "new_password": "Fresh-Meadow-93"}))).await;
    assert_eq!(status, 200);
    let (status, _) = call(app.post("/api/v1/auth/password-reset/confirm/").json(&json!({"token": token, "new_password": "Other-Meadow-94"}))).await;
    assert_eq!(status, 400, "single use");

    assert_eq!(login(&app, "alice", PASSWORD).await.0, 401);
    let (status, body) = login(&app, "alice", "Fresh-Meadow-93").await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["is_verified"], true, "the reset proved the address");
    // Everything issued before the reset is revoked.
    assert_eq!(call(app.get("/api/v1/users/me/").bearer_auth(&old_access)).await.0, 401);
    let (status, _) = call(app.post("/api/v1/auth/refresh-token/").json(&json!({"refresh": old_refresh}))).await;
    assert_eq!(status, 401);
});

//! Tokens: valid, expired, tampered, revoked, and the optional-auth extractor.

use std::time::Duration;

use plaza_kernel::auth::{revocation, tickets, TokenType};
use plaza_kernel::db_test;
use serde_json::Value;

use crate::support::app;

db_test!(async fn a_valid_token_identifies_the_caller(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let res = app.get("/t/whoami/").bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["id"], alice.id);
});

db_test!(async fn missing_expired_tampered_and_revoked_tokens(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;

    let res = app.get("/t/whoami/").send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"api\"");
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "not_authenticated");

    let claims = app.services.tokens.decode(&alice.access, TokenType::Access).unwrap();
    let subject = plaza_kernel::auth::TokenSubject {
        user_id: alice.id,
        username: alice.username.clone(),
        role: claims.role,
        is_staff: false,
        is_superuser: false,
    };
    let expired = app.services.tokens.issue_expired(&subject, Duration::from_secs(120)).unwrap();
    let res = app.get("/t/whoami/").bearer_auth(&expired.token).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "token_expired");

    let tampered = format!("{}x", alice.access);
    let res = app.get("/t/whoami/").bearer_auth(&tampered).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "token_invalid");

    // A refresh token is not an access token.
    let refresh = app.services.tokens.issue_refresh(&subject, "family").unwrap();
    let res = app.get("/t/whoami/").bearer_auth(&refresh.token).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "token_invalid");

    // Revoking one jti refuses that token only.
    revocation::revoke_access(&app.services.cache, &claims.jti, claims.exp).await.unwrap();
    let res = app.get("/t/whoami/").bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "token_invalid");
    assert_eq!(body["detail"], "Token has been revoked.");
    let fresh = app.services.tokens.issue_access(&subject).unwrap();
    let res = app.get("/t/whoami/").bearer_auth(&fresh.token).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // Revoking everything issued so far refuses the fresh one too, but not a later one.
    revocation::revoke_all_access(&app.services.cache, alice.id, Duration::from_secs(900)).await.unwrap();
    let res = app.get("/t/whoami/").bearer_auth(&fresh.token).send().await.unwrap();
    assert_eq!(res.status(), 401);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let later = app.services.tokens.issue_access(&subject).unwrap();
    let res = app.get("/t/whoami/").bearer_auth(&later.token).send().await.unwrap();
    assert_eq!(res.status(), 200);
});

db_test!(async fn optional_auth_allows_anonymous_but_not_bad_tokens(backend) {
    let app = app(backend).await;
    let res = app.get("/t/maybe/").send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["id"], Value::Null);
    let res = app.get("/t/maybe/").bearer_auth("not-a-jwt").send().await.unwrap();
    assert_eq!(res.status(), 401);
    // API keys need a resolver, which the authentication domain registers.
    let res = app.get("/t/maybe/").header("x-api-key", "plz_whatever").send().await.unwrap();
    assert_eq!(res.status(), 401);
});

db_test!(async fn tickets_are_single_use(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let caller = plaza_kernel::Caller {
        id: alice.id,
        username: alice.username.clone(),
        role: plaza_kernel::Role::User,
        is_staff: false,
        is_superuser: false,
        credential: plaza_kernel::auth::Credential::Ticket,
    };
    let ticket = tickets::issue(&app.services.cache, &caller).await.unwrap();
    assert_eq!(tickets::redeem(&app.services.cache, &ticket).await.unwrap().unwrap().id, alice.id);
    assert!(tickets::redeem(&app.services.cache, &ticket).await.unwrap().is_none());
});

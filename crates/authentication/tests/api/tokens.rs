//! `refresh-token/`, `logout/`, `verify-token/`.

use diesel::prelude::*;
use jsonwebtoken::{encode, EncodingKey, Header};
use plaza_kernel::auth::{Claims, TokenType};
use plaza_kernel::db_test;
use plaza_kernel::schema::{refresh_tokens, system_logs};
use plaza_kernel::testing::TEST_SECRET;
use serde_json::{json, Value};

use crate::support::{app, call, login, register, PASSWORD};

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap().to_owned()
}

async fn refresh(app: &plaza_kernel::testing::TestApp, token: &str) -> (u16, Value) {
    call(
        app.post("/api/v1/auth/refresh-token/")
            .json(&json!({"refresh": token})),
    )
    .await
}

async fn me_status(app: &plaza_kernel::testing::TestApp, access: &str) -> u16 {
    call(app.get("/api/v1/users/me/").bearer_auth(access))
        .await
        .0
}

db_test!(async fn refresh_tokens_rotate(backend) {
    let app = app(backend).await;
    let first = register(&app, "alice").await;
    let (status, second) = refresh(&app, &s(&first, "refresh")).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(s(&second, "refresh"), s(&first, "refresh"));
    assert_eq!(me_status(&app, &s(&second, "access")).await, 200);
    let (status, third) = refresh(&app, &s(&second, "refresh")).await;
    assert_eq!(status, 200);
    assert_eq!(me_status(&app, &s(&third, "access")).await, 200);
});

db_test!(async fn a_reused_refresh_token_revokes_its_family(backend) {
    let app = app(backend).await;
    let first = register(&app, "alice").await;
    let (_, other_session) = login(&app, "alice", PASSWORD).await;
    let (_, second) = refresh(&app, &s(&first, "refresh")).await;
    age_spent_tokens(&app).await;

    // The spent token again, after the grace window: refused, and the whole family ends.
    let (status, body) = refresh(&app, &s(&first, "refresh")).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("token_invalid")));
    let (status, _) = refresh(&app, &s(&second, "refresh")).await;
    assert_eq!(status, 401, "the family's newest refresh token is revoked too");
    assert_eq!(me_status(&app, &s(&second, "access")).await, 401, "and its access token");
    assert_eq!(me_status(&app, &s(&first, "access")).await, 401);

    // Another login of the same user is a different family: untouched.
    assert_eq!(me_status(&app, &s(&other_session, "access")).await, 200);
    let (status, _) = refresh(&app, &s(&other_session, "refresh")).await;
    assert_eq!(status, 200);

    let (level, event): (String, String) = app
        .db()
        .run(|conn| {
            Ok(system_logs::table
                .filter(system_logs::event.eq("refresh_token_reuse"))
                .select((system_logs::level, system_logs::event))
                .first(conn)?)
        })
        .await
        .unwrap();
    assert_eq!((level.as_str(), event.as_str()), ("critical", "refresh_token_reuse"));
});

/// Moves every spent refresh token's `used_at` a minute back, past the reuse grace window.
async fn age_spent_tokens(app: &plaza_kernel::testing::TestApp) {
    let past = plaza_kernel::time::now() - chrono::Duration::seconds(60);
    app.db()
        .run(move |conn| {
            Ok(
                diesel::update(refresh_tokens::table.filter(refresh_tokens::used_at.is_not_null()))
                    .set(refresh_tokens::used_at.eq(past))
                    .execute(conn)?,
            )
        })
        .await
        .unwrap();
}

db_test!(async fn two_tabs_refreshing_at_once_keep_the_session(backend) {
    let app = app(backend).await;
    let first = register(&app, "alice").await;
    // The same refresh token twice within the grace window, and at the same moment.
    let (status, tab_a) = refresh(&app, &s(&first, "refresh")).await;
    assert_eq!(status, 200, "{tab_a}");
    let (status, tab_b) = refresh(&app, &s(&first, "refresh")).await;
    assert_eq!(status, 200, "{tab_b}");
    assert_ne!(s(&tab_a, "refresh"), s(&tab_b, "refresh"));
    let (a, b) = (s(&tab_a, "refresh"), s(&tab_b, "refresh"));
    let (c, d) = tokio::join!(refresh(&app, &a), refresh(&app, &a));
    assert_eq!((c.0, d.0), (200, 200));
    // Nothing was revoked: every pair works and the family goes on.
    for access in [s(&tab_a, "access"), s(&tab_b, "access"), s(&c.1, "access"), s(&d.1, "access")] {
        assert_eq!(me_status(&app, &access).await, 200);
    }
    assert_eq!(refresh(&app, &b).await.0, 200);
    let reuse_events: i64 = app
        .db()
        .run(|conn| {
            Ok(system_logs::table
                .filter(system_logs::event.eq("refresh_token_reuse"))
                .count()
                .get_result(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(reuse_events, 0);
    // The same token after the window is a reuse.
    age_spent_tokens(&app).await;
    assert_eq!(refresh(&app, &a).await.0, 401);
    assert_eq!(me_status(&app, &s(&tab_b, "access")).await, 401, "the session ended");
});

db_test!(async fn bad_refresh_tokens_are_refused(backend) {
    let app = app(backend).await;
    let body = register(&app, "alice").await;
    let (status, res) = refresh(&app, &s(&body, "access")).await;
    assert_eq!((status, res["code"].as_str()), (401, Some("token_invalid")), "an access token is not a refresh token");
    let (status, _) = refresh(&app, "garbage").await;
    assert_eq!(status, 401);
    let (status, res) = call(app.post("/api/v1/auth/refresh-token/").json(&json!({}))).await;
    assert_eq!(status, 400);
    assert!(res["errors"]["refresh"].is_array());

    // Expired (signed correctly, but its exp has passed).
    let claims = app.services.tokens.decode(&s(&body, "refresh"), TokenType::Refresh).unwrap();
    let now = chrono::Utc::now().timestamp();
    let expired = Claims { exp: now - 3600, iat: now - 7200, iat_ms: (now - 7200) * 1000, ..claims };
    let token = encode(&Header::default(), &expired, &EncodingKey::from_secret(TEST_SECRET.as_bytes())).unwrap();
    let (status, res) = refresh(&app, &token).await;
    assert_eq!((status, res["code"].as_str()), (401, Some("token_expired")));
    // Signed with another key.
    let forged = encode(&Header::default(), &claims_of(&app, &s(&body, "refresh")), &EncodingKey::from_secret(b"another-secret")).unwrap();
    let (status, _) = refresh(&app, &forged).await;
    assert_eq!(status, 401);
});

fn claims_of(app: &plaza_kernel::testing::TestApp, token: &str) -> Claims {
    app.services
        .tokens
        .decode(token, TokenType::Refresh)
        .unwrap()
}

db_test!(async fn logout_ends_the_session(backend) {
    let app = app(backend).await;
    let first = register(&app, "alice").await;
    let (_, second) = login(&app, "alice", PASSWORD).await;
    let bob = register(&app, "bob").await;

    let (status, _) = call(app.post("/api/v1/auth/logout/").json(&json!({"refresh": s(&first, "refresh")}))).await;
    assert_eq!(status, 401, "needs a signed-in caller");
    // Someone else's refresh token: refused, nothing revoked.
    let (status, _) = call(app.post("/api/v1/auth/logout/").bearer_auth(s(&bob, "access")).json(&json!({"refresh": s(&first, "refresh")}))).await;
    assert_eq!(status, 401);
    assert_eq!(me_status(&app, &s(&first, "access")).await, 200);
    let (status, _) = call(app.post("/api/v1/auth/logout/").bearer_auth(s(&first, "access")).json(&json!({}))).await;
    assert_eq!(status, 400);

    let (status, _) = call(app.post("/api/v1/auth/logout/").bearer_auth(s(&first, "access")).json(&json!({"refresh": s(&first, "refresh")}))).await;
    assert_eq!(status, 204);
    assert_eq!(me_status(&app, &s(&first, "access")).await, 401);
    let (status, _) = refresh(&app, &s(&first, "refresh")).await;
    assert_eq!(status, 401);
    // The other session goes on.
    assert_eq!(me_status(&app, &s(&second, "access")).await, 200);
    assert_eq!(refresh(&app, &s(&second, "refresh")).await.0, 200);
});

db_test!(async fn verify_token_checks_both_kinds(backend) {
    let app = app(backend).await;
    let body = register(&app, "alice").await;
    let verify = |token: String| {
        let app = &app;
        async move { call(app.post("/api/v1/auth/verify-token/").json(&json!({"token": token}))).await }
    };
    assert_eq!(verify(s(&body, "access")).await, (200, json!({})));
    assert_eq!(verify(s(&body, "refresh")).await, (200, json!({})));
    let (status, res) = verify("garbage".into()).await;
    assert_eq!((status, res["code"].as_str()), (401, Some("token_invalid")));

    // Spent refresh and logged-out access tokens are no longer valid.
    let (_, next) = refresh(&app, &s(&body, "refresh")).await;
    assert_eq!(verify(s(&body, "refresh")).await.0, 401);
    call(app.post("/api/v1/auth/logout/").bearer_auth(s(&next, "access")).json(&json!({"refresh": s(&next, "refresh")}))).await;
    assert_eq!(verify(s(&next, "access")).await.0, 401);
    assert_eq!(verify(s(&next, "refresh")).await.0, 401);
});

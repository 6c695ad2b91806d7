//! Staff administration: create, change and delete accounts.

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::schema::{resumes, system_logs, user_profiles, users};
use plaza_kernel::testing::NewTestUser;
use plaza_kernel::Role;
use serde_json::json;

use crate::support::{app, call};

db_test!(async fn staff_create_users(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let alice = app.create_user("alice").await;
    let new = json!({"username": "newbie", "email": "Newbie@Example.com", "password": "Tr1cky-Horse-77",
                     "role": "moderator", "first_name": "New"});

    let (status, _) = call(app.post("/api/v1/users/").json(&new)).await;
    assert_eq!(status, 401);
    let (status, body) = call(app.post("/api/v1/users/").bearer_auth(&alice.access).json(&new)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("permission_denied")));

    let (status, body) = call(app.post("/api/v1/users/").bearer_auth(&staff.access).json(&new)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["role"], "moderator");
    assert_eq!(body["email"], "Newbie@example.com");
    assert_eq!(body["is_verified"], true);
    assert_eq!(body["profile"]["language"], "zh-hans");
    let id = body["id"].as_i64().unwrap();
    let profiles: i64 = app
        .db()
        .run(move |conn| Ok(user_profiles::table.filter(user_profiles::user_id.eq(id)).count().get_result(conn)?))
        .await
        .unwrap();
    assert_eq!(profiles, 1);

    let (status, body) = call(app.post("/api/v1/users/").bearer_auth(&staff.access).json(&json!({
        "username": "NEWBIE", "email": "other@example.com", "password": "Tr1cky-Horse-77"
    })))
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["username"].is_array());
    let (status, body) = call(app.post("/api/v1/users/").bearer_auth(&staff.access).json(&json!({
        "username": "x", "email": "bad", "password": "123"
    })))
    .await;
    assert_eq!(status, 400);
    for field in ["username", "email", "password"] {
        assert!(body["errors"][field].is_array(), "{field}: {body}");
    }
});

db_test!(async fn staff_change_privileges_and_stale_tokens_are_revoked(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let path = format!("/api/v1/users/{}/", alice.id);

    // Someone else may not change Alice.
    let (status, _) = call(app.patch(&path).bearer_auth(&bob.access).json(&json!({"bio": "hacked"}))).await;
    assert_eq!(status, 403);

    let (status, body) = call(app.patch(&path).bearer_auth(&staff.access).json(&json!({
        "role": "moderator", "is_premium": true, "bio": "promoted"
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["role"].as_str(), body["is_premium"].as_bool()), (Some("moderator"), Some(true)));
    // Alice's token carries the old role: it no longer works.
    let (status, _) = call(app.get("/api/v1/users/me/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 401);
    // The change is in the audit trail.
    let alice_id = alice.id;
    let logged: i64 = app
        .db()
        .run(move |conn| {
            Ok(system_logs::table
                .filter(system_logs::event.eq("user_permissions_changed"))
                .filter(system_logs::user_id.eq(alice_id))
                .count()
                .get_result(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(logged, 1);

    // Deactivation by staff.
    let (status, body) = call(app.patch(&path).bearer_auth(&staff.access).json(&json!({"is_active": false}))).await;
    assert_eq!(status, 200);
    assert_eq!(body["is_active"], false);
    let (status, _) = call(app.get(&path).bearer_auth(&bob.access)).await;
    assert_eq!(status, 404);
});

db_test!(async fn only_superusers_touch_superusers(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("staffer").await;
    let root = app
        .create_user_with(NewTestUser { is_staff: true, is_superuser: true, role: Role::Admin, ..NewTestUser::new("root") })
        .await;
    let other_root = app
        .create_user_with(NewTestUser { is_staff: true, is_superuser: true, role: Role::Admin, ..NewTestUser::new("root2") })
        .await;
    let path = format!("/api/v1/users/{}/", root.id);
    let (status, _) = call(app.patch(&path).bearer_auth(&staff.access).json(&json!({"is_active": false}))).await;
    assert_eq!(status, 403);
    let (status, _) = call(app.delete(&path).bearer_auth(&staff.access)).await;
    assert_eq!(status, 403);
    let (status, _) = call(app.patch(&path).bearer_auth(&other_root.access).json(&json!({"bio": "ok"}))).await;
    assert_eq!(status, 200);
});

db_test!(async fn staff_delete_users_and_what_they_own(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    call(app.put("/api/v1/users/me/resume/").bearer_auth(&alice.access).json(&json!({"full_name": "Alice"}))).await;
    let path = format!("/api/v1/users/{}/", alice.id);

    let (status, _) = call(app.delete(&path)).await;
    assert_eq!(status, 401);
    let (status, _) = call(app.delete(&path).bearer_auth(&bob.access)).await;
    assert_eq!(status, 403);
    let (status, body) = call(app.delete(&format!("/api/v1/users/{}/", staff.id)).bearer_auth(&staff.access)).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));

    let (status, _) = call(app.delete(&path).bearer_auth(&staff.access)).await;
    assert_eq!(status, 204);
    let (status, _) = call(app.get(&path).bearer_auth(&staff.access)).await;
    assert_eq!(status, 404);
    let (status, _) = call(app.delete(&path).bearer_auth(&staff.access)).await;
    assert_eq!(status, 404);
    let (status, _) = call(app.get("/api/v1/users/me/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 401);
    let id = alice.id;
    let (rows, profiles, resumes): (i64, i64, i64) = app
        .db()
        .run(move |conn| {
            Ok((
                users::table.filter(users::id.eq(id)).count().get_result(conn)?,
                user_profiles::table.filter(user_profiles::user_id.eq(id)).count().get_result(conn)?,
                resumes::table.filter(resumes::user_id.eq(id)).count().get_result(conn)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!((rows, profiles, resumes), (0, 0, 0));
});

//! `me/`, `me/profile/`, `me/settings/`, `me/login-history/`.

use plaza_kernel::db_test;
use plaza_users::login_log::{self, LoginMethod};
use plaza_users::ClientInfo;
use serde_json::{json, Value};

use crate::support::{app, call};

db_test!(async fn me_shows_every_field_and_the_profile(backend) {
    let app = app(backend).await;
    let alice = app.create_user("Alice").await;

    let (status, body) = call(app.get("/api/v1/users/me/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], alice.id);
    assert_eq!(body["username"], "Alice");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["role"], "user");
    assert_eq!(body["privacy_settings"]["show_email"], false);
    assert_eq!(body["privacy_settings"]["profile_visibility"], "public");
    assert_eq!(body["profile"]["skills"], json!([]));
    assert_eq!(body["profile"]["notification_settings"]["likes"], true);
    assert!(body["date_joined"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["last_login"], Value::Null);

    let (status, body) = call(app.get("/api/v1/users/me/")).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("not_authenticated")));
    let (status, _) = call(app.get("/api/v1/users/me/").bearer_auth("garbage")).await;
    assert_eq!(status, 401);
});

db_test!(async fn patch_me_changes_only_what_is_sent(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;

    let (status, body) = call(
        app.patch("/api/v1/users/me/").bearer_auth(&alice.access).json(&json!({
            "first_name": " Alice ",
            "bio": "I write Rust.",
            "website": "https://alice.example",
            "github": "alice",
            "birthday": "1990-04-01",
            "profile": {"location": "Shanghai", "skills": ["Rust", "rust", " SQL "]},
            "unknown_field": 1
        })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["first_name"], "Alice");
    assert_eq!(body["bio"], "I write Rust.");
    assert_eq!(body["birthday"], "1990-04-01");
    assert_eq!(body["profile"]["location"], "Shanghai");
    assert_eq!(body["profile"]["skills"], json!(["Rust", "SQL"]));
    assert_eq!(body["username"], "alice");

    // null clears a nullable field; a missing one stays.
    let (status, body) = call(
        app.patch("/api/v1/users/me/")
            .bearer_auth(&alice.access)
            .json(&json!({"birthday": null})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["birthday"], Value::Null);
    assert_eq!(body["bio"], "I write Rust.");
});

db_test!(async fn patch_me_refuses_bad_fields_and_changes_nothing(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    app.create_user("bob").await;

    for (patch, field) in [
        (json!({"website": "javascript:alert(1)"}), "website"),
        (json!({"github": "not a user"}), "github"),
        (json!({"birthday": "1850-01-01"}), "birthday"),
        (json!({"birthday": "not a date"}), "birthday"),
        (json!({"first_name": "x".repeat(151)}), "first_name"),
        (json!({"username": "a b"}), "username"),
        (json!({"email": "nope"}), "email"),
        (json!({"profile": {"language": "english language"}}), "profile.language"),
        (json!({"profile": {"skills": [""]}}), "profile.skills"),
        (json!({"privacy_settings": {"show_email": "yes"}}), "privacy_settings.show_email"),
        (json!({"privacy_settings": {"profile_visibility": "friends"}}), "privacy_settings.profile_visibility"),
    ] {
        let (status, body) = call(
            app.patch("/api/v1/users/me/").bearer_auth(&alice.access).json(&patch),
        )
        .await;
        assert_eq!(status, 400, "{patch}: {body}");
        assert_eq!(body["code"], "validation_error");
        assert!(body["errors"][field].is_array(), "{patch}: {body}");
    }

    // Someone else's username or email, in any case: 400 naming the field (as DRF).
    let (status, body) = call(
        app.patch("/api/v1/users/me/").bearer_auth(&alice.access).json(&json!({"username": "BOB"})),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("validation_error")));
    assert!(body["errors"]["username"].is_array(), "{body}");
    let (status, body) = call(
        app.patch("/api/v1/users/me/")
            .bearer_auth(&alice.access)
            .json(&json!({"email": "Bob@Example.com"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["email"].is_array(), "{body}");

    let (_, me) = call(app.get("/api/v1/users/me/").bearer_auth(&alice.access)).await;
    assert_eq!((me["username"].as_str(), me["email"].as_str()), (Some("alice"), Some("alice@example.com")));
    assert_eq!(me["website"], "");
});

db_test!(async fn staff_fields_are_refused_to_users(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    for patch in [
        json!({"is_staff": true}),
        json!({"role": "admin"}),
        json!({"is_premium": true}),
        json!({"is_active": false}),
        json!({"is_verified": false}),
    ] {
        let (status, body) = call(
            app.patch("/api/v1/users/me/").bearer_auth(&alice.access).json(&patch),
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (403, Some("permission_denied")), "{patch}");
    }
    // Sending back the current values (a PUT of what was read) is fine.
    let (_, me) = call(app.get("/api/v1/users/me/").bearer_auth(&alice.access)).await;
    let (status, body) = call(app.put("/api/v1/users/me/").bearer_auth(&alice.access).json(&me)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["is_staff"], false);
});

db_test!(async fn put_me_requires_username_and_email(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let (status, body) = call(
        app.put("/api/v1/users/me/").bearer_auth(&alice.access).json(&json!({"bio": "x"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["username"].is_array() && body["errors"]["email"].is_array(), "{body}");

    let (status, body) = call(app.put("/api/v1/users/me/").bearer_auth(&alice.access).json(&json!({
        "username": "Alice2", "email": "Alice2@Example.COM", "bio": "x"
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["username"], "Alice2");
    assert_eq!(body["email"], "Alice2@example.com");
    // A new address is not verified yet.
    assert_eq!(body["is_verified"], false);
});

db_test!(async fn deleting_me_deactivates_and_revokes(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let (status, _) = call(app.delete("/api/v1/users/me/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 204);
    // The token used is revoked with every other one.
    let (status, body) = call(app.get("/api/v1/users/me/").bearer_auth(&alice.access)).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("token_invalid")));
    // The account is kept, inactive, and hidden from others.
    let bob = app.create_user("bob").await;
    let (status, _) = call(app.get(&format!("/api/v1/users/{}/", alice.id)).bearer_auth(&bob.access)).await;
    assert_eq!(status, 404);
    let staff = app.create_staff("root").await;
    let (status, body) = call(app.get(&format!("/api/v1/users/{}/", alice.id)).bearer_auth(&staff.access)).await;
    assert_eq!(status, 200);
    assert_eq!(body["is_active"], false);
});

db_test!(async fn profile_endpoint_reads_and_writes(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let (status, body) = call(app.get("/api/v1/users/me/profile/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 200);
    assert_eq!(body["language"], "zh-hans");
    assert_eq!(body["timezone"], "Asia/Shanghai");

    let (status, body) = call(app.patch("/api/v1/users/me/profile/").bearer_auth(&alice.access).json(&json!({
        "company": "Plaza", "job_title": "Engineer", "language": "en", "timezone": "Europe/Paris",
        "interests": ["chess"], "notification_settings": {"likes": false, "digest": "weekly"}
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["company"], "Plaza");
    assert_eq!(body["notification_settings"]["likes"], false);
    assert_eq!(body["notification_settings"]["comments"], true);
    assert_eq!(body["notification_settings"]["digest"], "weekly");

    let (status, body) = call(app.put("/api/v1/users/me/profile/").bearer_auth(&alice.access).json(&json!({"location": "Lyon"}))).await;
    assert_eq!(status, 200);
    assert_eq!((body["location"].as_str(), body["company"].as_str()), (Some("Lyon"), Some("Plaza")));

    for (patch, field) in [
        (json!({"timezone": "../../etc"}), "timezone"),
        (json!({"skills": vec!["x"; 51]}), "skills"),
        (json!({"notification_settings": {"digest": "hourly"}}), "notification_settings.digest"),
        (json!({"location": 5}), "location"),
    ] {
        let (status, body) = call(app.patch("/api/v1/users/me/profile/").bearer_auth(&alice.access).json(&patch)).await;
        assert_eq!(status, 400, "{patch}");
        assert!(body["errors"][field].is_array(), "{patch}: {body}");
    }
    let (status, _) = call(app.get("/api/v1/users/me/profile/")).await;
    assert_eq!(status, 401);
    let (status, _) = call(app.post("/api/v1/users/me/profile/").bearer_auth(&alice.access).json(&json!({}))).await;
    assert_eq!(status, 405);
});

db_test!(async fn settings_merge_both_objects(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let (status, body) = call(app.put("/api/v1/users/me/settings/").bearer_auth(&alice.access).json(&json!({
        "privacy_settings": {"show_email": true, "searchable": false},
        "notification_settings": {"messages": false}
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["privacy_settings"]["show_email"], true);
    assert_eq!(body["privacy_settings"]["searchable"], false);
    assert_eq!(body["privacy_settings"]["show_real_name"], true);
    assert_eq!(body["notification_settings"]["messages"], false);

    let (status, body) = call(app.get("/api/v1/users/me/settings/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 200);
    assert_eq!(body["privacy_settings"]["searchable"], false);

    let (status, body) = call(app.put("/api/v1/users/me/settings/").bearer_auth(&alice.access).json(&json!({
        "privacy_settings": {"resume_visibility": "everybody"}
    })))
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["privacy_settings.resume_visibility"].is_array(), "{body}");
    let (status, _) = call(app.put("/api/v1/users/me/settings/").json(&json!({}))).await;
    assert_eq!(status, 401);
});

db_test!(async fn login_history_lists_the_callers_logins(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let (alice_id, bob_id) = (alice.id, bob.id);
    app.db()
        .run(move |conn| {
            let client = ClientInfo { ip: Some("10.0.0.1".into()), user_agent: Some("curl/8".into()) };
            login_log::record(conn, alice_id, &client, LoginMethod::Password)?;
            login_log::record(conn, alice_id, &client, LoginMethod::TwoFactor)?;
            login_log::record(conn, bob_id, &client, LoginMethod::Password)?;
            Ok(())
        })
        .await
        .unwrap();
    let (status, body) = call(app.get("/api/v1/users/me/login-history/?page_size=1").bearer_auth(&alice.access)).await;
    assert_eq!(status, 200);
    assert_eq!(body["count"], 2);
    assert_eq!(body["results"][0]["method"], "two_factor");
    assert_eq!(body["results"][0]["ip_address"], "10.0.0.1");
    assert!(body["next"].as_str().unwrap().contains("page=2"));
    let (status, _) = call(app.get("/api/v1/users/me/login-history/?page=3").bearer_auth(&alice.access)).await;
    assert_eq!(status, 404);
    let (_, me) = call(app.get("/api/v1/users/me/").bearer_auth(&alice.access)).await;
    assert!(me["last_login"].is_string());
});

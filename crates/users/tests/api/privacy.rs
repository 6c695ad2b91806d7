//! What others see of a user: `GET {id}/` under each privacy setting.

use plaza_kernel::db_test;
use serde_json::json;

use crate::support::{app, call, keys};

db_test!(async fn others_see_what_privacy_allows(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let (status, _) = call(app.patch("/api/v1/users/me/").bearer_auth(&alice.access).json(&json!({
        "first_name": "Alice", "bio": "hello", "birthday": "1990-01-02", "gender": "female",
        "profile": {"company": "Plaza"}
    })))
    .await;
    assert_eq!(status, 200);
    let path = format!("/api/v1/users/{}/", alice.id);

    // Defaults: card, name, bio, links and profile details; no email, birthday, gender, last login.
    let (status, body) = call(app.get(&path)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        keys(&body),
        ["avatar", "avatar_thumbnail", "bio", "date_joined", "first_name", "github", "id",
         "is_verified", "last_name", "profile", "role", "username", "website"]
    );
    assert_eq!(body["profile"]["company"], "Plaza");
    assert!(body["profile"].get("notification_settings").is_none());

    // Shown when allowed.
    call(app.put("/api/v1/users/me/settings/").bearer_auth(&alice.access).json(&json!({
        "privacy_settings": {"show_email": true, "show_birthday": true, "show_gender": true,
                             "show_real_name": false, "show_profile_details": false}
    })))
    .await;
    let (_, body) = call(app.get(&path).bearer_auth(&bob.access)).await;
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["birthday"], "1990-01-02");
    assert_eq!(body["gender"], "female");
    assert!(body.get("first_name").is_none() && body.get("profile").is_none(), "{body}");

    // Signed-in users only.
    call(app.put("/api/v1/users/me/settings/").bearer_auth(&alice.access).json(&json!({
        "privacy_settings": {"profile_visibility": "users"}
    })))
    .await;
    let (_, anonymous) = call(app.get(&path)).await;
    assert_eq!(keys(&anonymous), ["avatar", "avatar_thumbnail", "date_joined", "id", "is_verified", "role", "username"]);
    let (_, signed_in) = call(app.get(&path).bearer_auth(&bob.access)).await;
    assert_eq!(signed_in["bio"], "hello");

    // Private: the card only, even for signed-in users…
    call(app.put("/api/v1/users/me/settings/").bearer_auth(&alice.access).json(&json!({
        "privacy_settings": {"profile_visibility": "private"}
    })))
    .await;
    let (_, body) = call(app.get(&path).bearer_auth(&bob.access)).await;
    assert!(body.get("bio").is_none() && body.get("email").is_none(), "{body}");
    // …but the user and staff see everything.
    let (_, own) = call(app.get(&path).bearer_auth(&alice.access)).await;
    assert_eq!(own["email"], "alice@example.com");
    assert_eq!(own["privacy_settings"]["profile_visibility"], "private");
    let staff = app.create_staff("root").await;
    let (_, seen_by_staff) = call(app.get(&path).bearer_auth(&staff.access)).await;
    assert_eq!(seen_by_staff["email"], "alice@example.com");
    assert_eq!(seen_by_staff["profile"]["notification_settings"]["likes"], true);
});

db_test!(async fn unknown_and_malformed_ids_are_404(backend) {
    let app = app(backend).await;
    for path in ["/api/v1/users/999999/", "/api/v1/users/abc/", "/api/v1/users/999999/resume/"] {
        let (status, body) = call(app.get(path)).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{path}");
    }
});

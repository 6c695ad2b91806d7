//! Sessions: entering (with permission, under the cap), re-entering, leaving, who is there.

use plaza_kernel::db_test;
use serde_json::json;

use crate::support::{app, call, enter, error_fields, grant, id, public_world, world};

db_test!(async fn enter_leave_and_who_is_there(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let w = public_world(&app, &alice, "Square", 10).await;
    let base = format!("/api/v1/metaverse/worlds/{w}");

    // An avatar becomes the default and is worn on entering.
    let (_, avatar) = call(&app, "POST", "/api/v1/metaverse/avatars/", Some(&bob), Some(json!({"name": "Bobby"}))).await;
    let (status, session) = enter(&app, &bob, w).await;
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["user"]["username"], "bob");
    assert_eq!(session["avatar"]["id"], avatar["id"]);
    assert_eq!(session["position"], json!({"x": 0.0, "y": 0.0, "z": 0.0}));
    assert_eq!(session["left_at"], serde_json::Value::Null);
    assert_eq!(session["connected"], false);
    // Entering again returns the open session.
    let (status, again) = enter(&app, &bob, w).await;
    assert_eq!((status, again["id"].clone()), (200, session["id"].clone()));
    // Another user's avatar is refused.
    let (_, alices) = call(&app, "POST", "/api/v1/metaverse/avatars/", Some(&alice), Some(json!({"name": "A"}))).await;
    let (status, body) = call(&app, "POST", &format!("{base}/enter/"), Some(&alice), Some(json!({"avatar_id": avatar["id"]}))).await;
    assert_eq!((status, error_fields(&body)), (400, vec!["avatar_id".to_owned()]));
    let (status, _) = call(&app, "POST", &format!("{base}/enter/"), Some(&alice), Some(json!({"avatar_id": id(&alices)}))).await;
    assert_eq!(status, 201);

    let (_, list) = call(&app, "GET", &format!("{base}/sessions/"), None, None).await;
    assert_eq!(list["count"], 2);
    assert_eq!(list["results"][0]["user"]["username"], "bob");
    let (_, detail) = call(&app, "GET", &format!("{base}/"), None, None).await;
    assert_eq!(detail["user_count"], 2);
    let (_, listed) = call(&app, "GET", "/api/v1/metaverse/worlds/", None, None).await;
    assert_eq!(listed["results"][0]["user_count"], 2);

    let (status, _) = call(&app, "POST", &format!("{base}/leave/"), Some(&bob), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, "POST", &format!("{base}/leave/"), Some(&bob), None).await;
    assert_eq!(status, 404, "not inside any more");
    let (_, list) = call(&app, "GET", &format!("{base}/sessions/"), None, None).await;
    assert_eq!(list["count"], 1);
    // Re-entering after leaving opens a new session.
    let (status, fresh) = enter(&app, &bob, w).await;
    assert_eq!(status, 201);
    assert_ne!(fresh["id"], session["id"]);
    assert_eq!(call(&app, "POST", &format!("{base}/enter/"), None, Some(json!({}))).await.0, 401);
    assert_eq!(call(&app, "POST", "/api/v1/metaverse/worlds/424242/enter/", Some(&bob), Some(json!({}))).await.0, 404);
});

db_test!(async fn private_invite_and_full_worlds(backend) {
    let app = app(backend).await;
    let owner = app.create_user("owner").await;
    let guest = app.create_user("guest").await;
    let stranger = app.create_user("stranger").await;
    let private = id(&world(&app, &owner, json!({"name": "P", "visibility": "private"})).await);
    let invite = id(&world(&app, &owner, json!({"name": "I", "visibility": "invite"})).await);

    let (status, body) = enter(&app, &stranger, private).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("permission_denied")));
    let (status, _) = enter(&app, &stranger, invite).await;
    assert_eq!(status, 403);
    grant(&app, &owner, private, &guest, "visitor").await;
    grant(&app, &owner, invite, &guest, "visitor").await;
    assert_eq!(enter(&app, &guest, private).await.0, 201);
    assert_eq!(enter(&app, &guest, invite).await.0, 201);
    assert_eq!(enter(&app, &owner, private).await.0, 201, "the owner holds every right");

    let full = public_world(&app, &owner, "Tiny", 1).await;
    assert_eq!(enter(&app, &guest, full).await.0, 201);
    let (status, body) = enter(&app, &stranger, full).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")));
    assert_eq!(enter(&app, &guest, full).await.0, 200, "the one inside re-enters");
    call(&app, "POST", &format!("/api/v1/metaverse/worlds/{full}/leave/"), Some(&guest), None).await;
    assert_eq!(enter(&app, &stranger, full).await.0, 201, "room again once someone left");
});

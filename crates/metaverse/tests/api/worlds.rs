//! Worlds: CRUD, visibility, lists, permissions.

use plaza_kernel::db_test;
use serde_json::json;

use crate::support::{app, call, error_fields, grant, id, world};

db_test!(async fn create_read_update_delete(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;

    // Every invalid field at once.
    let (status, body) = call(&app, "POST", "/api/v1/metaverse/worlds/", Some(&alice),
        Some(json!({"name": " ", "max_users": 0, "scene_url": "ftp://x", "settings": [1], "bounds": 0}))).await;
    assert_eq!(status, 400);
    assert_eq!(error_fields(&body), ["bounds", "max_users", "name", "scene_url", "settings"]);
    let (status, body) = call(&app, "POST", "/api/v1/metaverse/worlds/", Some(&alice),
        Some(json!({"name": "x", "visibility": "secret"}))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_fields(&body), ["visibility"]);
    // Without credentials.
    let (status, _) = call(&app, "POST", "/api/v1/metaverse/worlds/", None, Some(json!({"name": "x"}))).await;
    assert_eq!(status, 401);
    // A thumbnail that is no attachment.
    let (status, body) = call(&app, "POST", "/api/v1/metaverse/worlds/", Some(&alice),
        Some(json!({"name": "x", "thumbnail": 999}))).await;
    assert_eq!(status, 400);
    assert_eq!(error_fields(&body), ["thumbnail"]);

    let created = world(&app, &alice, json!({
        "name": "  Plaza Park ", "description": "green", "max_users": 5,
        "scene_url": "https://cdn.example.com/park.glb", "settings": {"sky": "blue"}
    })).await;
    assert_eq!(created["name"], "Plaza Park");
    assert_eq!(created["visibility"], "public");
    assert_eq!(created["owner"]["username"], "alice");
    assert_eq!(created["settings"], json!({"sky": "blue"}));
    assert_eq!(created["user_count"], 0);
    assert_eq!(created["my_role"], "owner");
    assert_eq!(created["bounds"], 1000.0);
    let path = format!("/api/v1/metaverse/worlds/{}/", id(&created));

    let (status, got) = call(&app, "GET", &path, None, None).await;
    assert_eq!(status, 200);
    assert_eq!(got["my_role"], serde_json::Value::Null);
    let (status, _) = call(&app, "GET", path.trim_end_matches('/'), None, None).await;
    assert_eq!(status, 200, "without the trailing slash");

    // Only the owner (or a world admin, or staff) changes it.
    let (status, _) = call(&app, "PATCH", &path, Some(&bob), Some(json!({"name": "Mine"}))).await;
    assert_eq!(status, 403);
    let (status, patched) = call(&app, "PATCH", &path, Some(&alice), Some(json!({"max_users": 7, "visibility": "invite"}))).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!((patched["max_users"].as_i64(), patched["visibility"].as_str()), (Some(7), Some("invite")));
    assert_eq!(patched["name"], "Plaza Park", "PATCH keeps what it is not given");
    let (status, put) = call(&app, "PUT", &path, Some(&alice), Some(json!({"name": "Park"}))).await;
    assert_eq!(status, 200);
    assert_eq!((put["max_users"].as_i64(), put["visibility"].as_str()), (Some(50), Some("public")), "PUT resets to the defaults");
    grant(&app, &alice, id(&created), &bob, "admin").await;
    let (status, _) = call(&app, "PATCH", &path, Some(&bob), Some(json!({"description": "by an admin"}))).await;
    assert_eq!(status, 200);
    // Deleting is the owner's (or staff's) alone.
    let (status, _) = call(&app, "DELETE", &path, Some(&bob), None).await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, "DELETE", &path, Some(&alice), None).await;
    assert_eq!(status, 204);
    let (status, body) = call(&app, "GET", &path, None, None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
});

db_test!(async fn lists_show_what_the_caller_may_see(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let carol = app.create_user("carol").await;
    let staff = app.create_staff("root").await;
    world(&app, &alice, json!({"name": "Open Garden", "description": "flowers"})).await;
    let private = world(&app, &alice, json!({"name": "Secret Lab", "visibility": "private"})).await;
    world(&app, &bob, json!({"name": "Invite Club", "visibility": "invite"})).await;
    grant(&app, &alice, id(&private), &carol, "visitor").await;

    let names = |v: &serde_json::Value| -> Vec<String> {
        v["results"].as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap().to_owned()).collect()
    };
    let (_, anon) = call(&app, "GET", "/api/v1/metaverse/worlds/?ordering=name", None, None).await;
    assert_eq!(names(&anon), ["Invite Club", "Open Garden"]);
    assert_eq!(anon["count"], 2);
    let (_, as_bob) = call(&app, "GET", "/api/v1/metaverse/worlds/?ordering=name", Some(&bob), None).await;
    assert_eq!(names(&as_bob), ["Invite Club", "Open Garden"]);
    let (_, as_carol) = call(&app, "GET", "/api/v1/metaverse/worlds/?ordering=name", Some(&carol), None).await;
    assert_eq!(names(&as_carol), ["Invite Club", "Open Garden", "Secret Lab"]);
    assert_eq!(as_carol["results"][2]["my_role"], "visitor");
    let (_, as_staff) = call(&app, "GET", "/api/v1/metaverse/worlds/", Some(&staff), None).await;
    assert_eq!(as_staff["count"], 3);
    // A private world is not found by others; its members read it.
    let path = format!("/api/v1/metaverse/worlds/{}/", id(&private));
    assert_eq!(call(&app, "GET", &path, Some(&bob), None).await.0, 404);
    assert_eq!(call(&app, "GET", &path, Some(&carol), None).await.0, 200);

    // Filters and search.
    let (_, found) = call(&app, "GET", "/api/v1/metaverse/worlds/?search=flower", None, None).await;
    assert_eq!(names(&found), ["Open Garden"]);
    let (_, found) = call(&app, "GET", "/api/v1/metaverse/worlds/?search=100%25", None, None).await;
    assert_eq!(found["count"], 0, "wildcards are taken literally");
    let (_, mine) = call(&app, "GET", &format!("/api/v1/metaverse/worlds/?owner={}", bob.id), None, None).await;
    assert_eq!(names(&mine), ["Invite Club"]);
    let (_, by_vis) = call(&app, "GET", "/api/v1/metaverse/worlds/?visibility=invite", None, None).await;
    assert_eq!(names(&by_vis), ["Invite Club"]);
    let (status, bad) = call(&app, "GET", "/api/v1/metaverse/worlds/?ordering=secret", None, None).await;
    assert_eq!(status, 400);
    assert_eq!(error_fields(&bad), ["ordering"]);
    let (status, _) = call(&app, "GET", "/api/v1/metaverse/worlds/?page=9", None, None).await;
    assert_eq!(status, 404, "a page past the end");
    let (status, _) = call(&app, "GET", "/api/v1/metaverse/worlds/?page_size=1", None, None).await;
    assert_eq!(status, 200);
    // A bad token is refused even on a public read.
    let res = app.get("/api/v1/metaverse/worlds/").bearer_auth("nonsense").send().await.unwrap();
    assert_eq!(res.status(), 401);
});

db_test!(async fn permissions_are_granted_changed_and_revoked(backend) {
    let app = app(backend).await;
    let owner = app.create_user("owner").await;
    let admin = app.create_user("admin").await;
    let mod_ = app.create_user("mod").await;
    let visitor = app.create_user("visitor").await;
    let w = id(&world(&app, &owner, json!({"name": "W", "visibility": "private"})).await);
    let perms = format!("/api/v1/metaverse/worlds/{w}/permissions/");

    let (status, body) = call(&app, "POST", &perms, Some(&owner), Some(json!({"user_id": admin.id, "role": "admin"}))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["username"], "admin");
    assert_eq!(body["role"], "admin");
    // An admin grants up to moderator, not admin.
    let (status, _) = call(&app, "POST", &perms, Some(&admin), Some(json!({"user_id": mod_.id, "role": "admin"}))).await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, "POST", &perms, Some(&admin), Some(json!({"user_id": mod_.id, "role": "moderator"}))).await;
    assert_eq!(status, 201);
    let (status, changed) = call(&app, "POST", &perms, Some(&admin), Some(json!({"user_id": mod_.id, "role": "builder"}))).await;
    assert_eq!((status, changed["role"].as_str()), (200, Some("builder")));
    grant(&app, &owner, w, &visitor, "visitor").await;
    // Bad input, all fields named.
    let (status, body) = call(&app, "POST", &perms, Some(&owner), Some(json!({"user_id": 99999, "role": "visitor"}))).await;
    assert_eq!(status, 400);
    assert_eq!(error_fields(&body), ["user_id"]);
    let (status, body) = call(&app, "POST", &perms, Some(&owner), Some(json!({"user_id": "x", "role": "king"}))).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = call(&app, "POST", &perms, Some(&owner), Some(json!({"user_id": owner.id, "role": "visitor"}))).await;
    assert_eq!((status, error_fields(&body)), (400, vec!["user_id".to_owned()]));
    // Visitors and builders neither grant nor list.
    let (status, _) = call(&app, "POST", &perms, Some(&visitor), Some(json!({"user_id": mod_.id, "role": "visitor"}))).await;
    assert_eq!(status, 403);
    assert_eq!(call(&app, "GET", &perms, Some(&visitor), None).await.0, 403);
    let (status, list) = call(&app, "GET", &perms, Some(&owner), None).await;
    assert_eq!((status, list["count"].as_i64()), (200, Some(3)));
    // Outsiders do not even see the private world.
    let outsider = app.create_user("outsider").await;
    assert_eq!(call(&app, "GET", &perms, Some(&outsider), None).await.0, 404);

    // Revoking: the admin cannot revoke an admin; the owner can.
    let (status, _) = call(&app, "DELETE", &format!("{perms}{}/", admin.id), Some(&admin), None).await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, "DELETE", &format!("{perms}{}/", visitor.id), Some(&admin), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, "DELETE", &format!("{perms}{}/", visitor.id), Some(&admin), None).await;
    assert_eq!(status, 404);
    assert_eq!(call(&app, "GET", &format!("/api/v1/metaverse/worlds/{w}/"), Some(&visitor), None).await.0, 404, "no longer sees it");
});

db_test!(async fn thumbnails_are_attachments_the_caller_may_use(backend) {
    use plaza_core::attachments::service::{insert, NewAttachment};

    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let (alice_id, bob_id) = (alice.id, bob.id);
    let (public, private) = app
        .db()
        .run(move |conn| {
            let mut file = |owner_id: i64, is_public: bool| {
                insert(conn, &NewAttachment {
                    owner_id,
                    name: "thumb.png".to_owned(),
                    content_type: "image/png".to_owned(),
                    size: 4,
                    sha256: "0".repeat(64),
                    path: format!("attachments/{owner_id}-{is_public}.png"),
                    is_public,
                    created_at: plaza_kernel::time::now(),
                })
                .map(|a| a.id)
            };
            Ok((file(alice_id, true)?, file(bob_id, false)?))
        })
        .await
        .unwrap();
    let created = world(&app, &alice, json!({"name": "With picture", "thumbnail": public})).await;
    assert_eq!(created["thumbnail"], public);
    // Bob's private file is not Alice's to use.
    let path = format!("/api/v1/metaverse/worlds/{}/", id(&created));
    let (status, body) = call(&app, "PATCH", &path, Some(&alice), Some(json!({"thumbnail": private}))).await;
    assert_eq!((status, error_fields(&body)), (400, vec!["thumbnail".to_owned()]));
    let (status, cleared) = call(&app, "PATCH", &path, Some(&alice), Some(json!({"thumbnail": null}))).await;
    assert_eq!((status, cleared["thumbnail"].clone()), (200, serde_json::Value::Null));
});

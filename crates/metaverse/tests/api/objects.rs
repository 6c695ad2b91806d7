//! The catalogue and instances placed in worlds.

use plaza_kernel::db_test;
use serde_json::json;

use crate::support::{app, call, error_fields, grant, id, object, public_world};

db_test!(async fn the_catalogue_is_read_by_all_and_changed_by_its_creator(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let staff = app.create_staff("root").await;
    let base = "/api/v1/metaverse/objects/";

    let (status, body) = call(&app, "POST", base, Some(&alice), Some(json!({"name": "", "kind": "", "price": -1, "rarity": "mythic"}))).await;
    assert_eq!(status, 400, "{body}");
    let chair = object(&app, &alice, "Chair").await;
    let (_, lamp) = call(&app, "POST", base, Some(&bob), Some(json!({"name": "Lamp", "kind": "light", "price": 99, "properties": {"watts": 40}}))).await;
    assert_eq!(lamp["rarity"], "common");
    assert_eq!(lamp["properties"], json!({"watts": 40}));

    let (_, all) = call(&app, "GET", &format!("{base}?ordering=-price"), None, None).await;
    let names: Vec<&str> = all["results"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Lamp", "Chair"]);
    let (_, rare) = call(&app, "GET", &format!("{base}?rarity=rare"), None, None).await;
    assert_eq!(rare["count"], 1);
    let (_, lights) = call(&app, "GET", &format!("{base}?kind=light&search=am"), None, None).await;
    assert_eq!(lights["count"], 1);
    let (_, by) = call(&app, "GET", &format!("{base}?creator={}", alice.id), None, None).await;
    assert_eq!(by["count"], 1);

    let path = format!("{base}{chair}/");
    assert_eq!(call(&app, "PATCH", &path, Some(&bob), Some(json!({"price": 1}))).await.0, 403);
    let (status, patched) = call(&app, "PATCH", &path, Some(&alice), Some(json!({"price": 12}))).await;
    assert_eq!((status, patched["price"].as_i64()), (200, Some(12)));
    assert_eq!(call(&app, "PATCH", &path, Some(&staff), Some(json!({"rarity": "epic"}))).await.0, 200);
    assert_eq!(call(&app, "PUT", &path, Some(&alice), Some(json!({"name": "Stool", "kind": "furniture"}))).await.0, 200);
    assert_eq!(call(&app, "DELETE", &path, Some(&bob), None).await.0, 403);
    assert_eq!(call(&app, "DELETE", &path, Some(&alice), None).await.0, 204);
    assert_eq!(call(&app, "GET", &path, None, None).await.0, 404);
});

db_test!(async fn builders_place_move_and_remove_instances(backend) {
    let app = app(backend).await;
    let owner = app.create_user("owner").await;
    let builder = app.create_user("builder").await;
    let visitor = app.create_user("visitor").await;
    let w = public_world(&app, &owner, "Site", 10).await;
    call(&app, "PATCH", &format!("/api/v1/metaverse/worlds/{w}/"), Some(&owner), Some(json!({"bounds": 100.0}))).await;
    grant(&app, &owner, w, &builder, "builder").await;
    grant(&app, &owner, w, &visitor, "visitor").await;
    let chair = object(&app, &owner, "Chair").await;
    let base = format!("/api/v1/metaverse/worlds/{w}/objects/");

    // A visitor may not build.
    let (status, body) = call(&app, "POST", &base, Some(&visitor), Some(json!({"object_id": chair}))).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("permission_denied")));
    // Huge or out-of-bounds coordinates, and bad scales, are refused with the fields named.
    let (status, body) = call(&app, "POST", &base, Some(&builder), Some(json!({"object_id": chair, "position": {"x": 1e12, "y": 0, "z": 0}}))).await;
    assert_eq!(status, 400);
    assert_eq!(error_fields(&body), ["position.x"]);
    let (status, body) = call(&app, "POST", &base, Some(&builder), Some(json!({"object_id": chair, "position": {"x": 500, "y": 0, "z": 0}, "scale": {"x": 0, "y": 1, "z": 1}}))).await;
    assert_eq!(status, 400);
    assert_eq!(error_fields(&body), ["position", "scale"]);
    // NaN is not JSON: a malformed body.
    let res = app.post(&base).bearer_auth(&builder.access).header("Content-Type", "application/json")
        .body(r#"{"object_id": 1, "position": {"x": NaN, "y": 0, "z": 0}}"#).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let res = app.post(&base).bearer_auth(&builder.access).header("Content-Type", "application/json")
        .body(r#"{"object_id": 1, "position": {"x": 1e999, "y": 0, "z": 0}}"#).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let (status, body) = call(&app, "POST", &base, Some(&builder), Some(json!({"object_id": 424242}))).await;
    assert_eq!((status, error_fields(&body)), (400, vec!["object_id".to_owned()]));
    let (_, count) = call(&app, "GET", &base, None, None).await;
    assert_eq!(count["count"], 0, "nothing was written by the refusals");

    let (status, placed) = call(&app, "POST", &base, Some(&builder), Some(json!({
        "object_id": chair, "position": {"x": 1, "y": 2, "z": 3}, "rotation": {"x": 0, "y": 90, "z": 0}, "state": {"open": false}
    }))).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["scale"], json!({"x": 1.0, "y": 1.0, "z": 1.0}));
    assert_eq!(placed["placed_by"], builder.id);
    let path = format!("/api/v1/metaverse/instances/{}/", id(&placed));
    assert_eq!(call(&app, "PATCH", &path, Some(&visitor), Some(json!({"state": {"open": true}}))).await.0, 403);
    let (status, moved) = call(&app, "PATCH", &path, Some(&owner), Some(json!({"position": {"x": -5, "y": 0, "z": 5}, "state": {"open": true}}))).await;
    assert_eq!(status, 200);
    assert_eq!(moved["position"], json!({"x": -5.0, "y": 0.0, "z": 5.0}));
    assert_eq!(moved["rotation"]["y"], 90.0, "unchanged fields stay");
    assert_eq!(call(&app, "PATCH", &path, Some(&builder), Some(json!({"position": {"x": 101, "y": 0, "z": 0}}))).await.0, 400);
    let (_, listed) = call(&app, "GET", &base, None, None).await;
    assert_eq!(listed["results"][0]["state"], json!({"open": true}));
    assert_eq!(call(&app, "GET", &path, None, None).await.0, 200);
    assert_eq!(call(&app, "DELETE", &path, Some(&visitor), None).await.0, 403);
    assert_eq!(call(&app, "DELETE", &path, Some(&builder), None).await.0, 204);
    assert_eq!(call(&app, "GET", &path, None, None).await.0, 404);
});

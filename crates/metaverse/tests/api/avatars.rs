//! Avatars: the caller's own, exactly one default.

use plaza_kernel::db_test;
use serde_json::json;

use crate::support::{app, call, error_fields, id};

db_test!(async fn avatars_are_private_and_one_is_default(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let base = "/api/v1/metaverse/avatars/";

    let (status, body) = call(&app, "POST", base, Some(&alice), Some(json!({"name": "", "appearance": "red", "model_url": "javascript:x"}))).await;
    assert_eq!(status, 400);
    assert_eq!(error_fields(&body), ["appearance", "model_url", "name"]);
    assert_eq!(call(&app, "GET", base, None, None).await.0, 401);

    let (status, first) = call(&app, "POST", base, Some(&alice), Some(json!({"name": "Ally", "appearance": {"hair": "red"}}))).await;
    assert_eq!(status, 201);
    assert_eq!(first["is_default"], true, "the first avatar is the default");
    assert_eq!(first["appearance"], json!({"hair": "red"}));
    let (_, second) = call(&app, "POST", base, Some(&alice), Some(json!({"name": "Ace", "is_default": true}))).await;
    assert_eq!(second["is_default"], true);
    let (_, list) = call(&app, "GET", base, Some(&alice), None).await;
    let defaults: Vec<bool> = list["results"].as_array().unwrap().iter().map(|a| a["is_default"].as_bool().unwrap()).collect();
    assert_eq!(defaults, [false, true]);
    // Un-defaulting the default is refused; defaulting another moves it.
    let second_path = format!("{base}{}/", id(&second));
    let (status, body) = call(&app, "PATCH", &second_path, Some(&alice), Some(json!({"is_default": false}))).await;
    assert_eq!((status, error_fields(&body)), (400, vec!["is_default".to_owned()]));
    let first_path = format!("{base}{}/", id(&first));
    let (_, first_again) = call(&app, "PATCH", &first_path, Some(&alice), Some(json!({"is_default": true, "name": "Ally 2"}))).await;
    assert_eq!((first_again["is_default"].as_bool(), first_again["name"].as_str()), (Some(true), Some("Ally 2")));
    let (_, second_now) = call(&app, "GET", &second_path, Some(&alice), None).await;
    assert_eq!(second_now["is_default"], false);
    let (status, put) = call(&app, "PUT", &second_path, Some(&alice), Some(json!({"name": "Ace 2"}))).await;
    assert_eq!((status, put["name"].as_str(), put["is_default"].as_bool()), (200, Some("Ace 2"), Some(false)));

    // Someone else's avatar does not exist for them.
    assert_eq!(call(&app, "GET", &first_path, Some(&bob), None).await.0, 404);
    assert_eq!(call(&app, "PATCH", &first_path, Some(&bob), Some(json!({"name": "x"}))).await.0, 404);
    assert_eq!(call(&app, "DELETE", &first_path, Some(&bob), None).await.0, 404);
    let (_, bobs) = call(&app, "GET", base, Some(&bob), None).await;
    assert_eq!(bobs["count"], 0);

    // Deleting the default hands the role to the oldest remaining one.
    assert_eq!(call(&app, "DELETE", &first_path, Some(&alice), None).await.0, 204);
    let (_, left) = call(&app, "GET", &second_path, Some(&alice), None).await;
    assert_eq!(left["is_default"], true);
});

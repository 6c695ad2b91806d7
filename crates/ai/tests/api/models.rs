//! The models registry: configured models registered at start, staff CRUD, validation.

use plaza_kernel::db_test;
use serde_json::{json, Value};

use crate::support::{app, model_id};

db_test!(async fn registry_crud_and_rules(backend) {
    let (app, _fake) = app(backend).await;
    let alice = app.create_user("alice").await;
    let staff = app.create_staff("root").await;

    // Registered at start from AI_FAKE_MODELS.
    let res = app.get("/api/v1/ai/models/").bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let models: Value = res.json().await.unwrap();
    let names: Vec<&str> = models.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["echo", "fail", "midfail", "nousage", "slow", "stall"]);
    let echo = &models[0];
    assert_eq!((echo["provider"].as_str(), echo["upstream_model"].as_str(), echo["kind"].as_str()), (Some("fake"), Some("echo"), Some("text")));
    assert_eq!((echo["is_active"].as_bool(), echo["input_price"].as_i64()), (Some(true), Some(0)));
    assert_eq!(echo["default_params"], json!({}));
    assert_eq!(app.get("/api/v1/ai/models/").send().await.unwrap().status(), 401);

    // Staff only.
    let new = json!({"name": "big", "provider": "fake", "upstream_model": "echo", "context_window": 128000, "input_price": 2500, "output_price": 10000});
    let res = app.post("/api/v1/ai/models/").bearer_auth(&alice.access).json(&new).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = app.post("/api/v1/ai/models/").bearer_auth(&staff.access).json(&new).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let big: Value = res.json().await.unwrap();
    assert_eq!((big["context_window"].as_i64(), big["output_price"].as_i64(), big["kind"].as_str()), (Some(128_000), Some(10_000), Some("text")));
    let path = format!("/api/v1/ai/models/{}/", big["id"]);

    // Every invalid field at once; a taken name names `name`.
    let res = app.post("/api/v1/ai/models/").bearer_auth(&staff.access)
        .json(&json!({"name": "has space", "provider": "fake", "upstream_model": "x", "kind": "video", "input_price": -1, "default_params": [1]}))
        .send().await.unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "validation_error");
    let fields: Vec<&String> = body["errors"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["default_params", "input_price", "kind", "name"]);
    let res = app.post("/api/v1/ai/models/").bearer_auth(&staff.access).json(&json!({"name": "big"})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let errors = res.json::<Value>().await.unwrap()["errors"].clone();
    assert!(errors.get("provider").is_some() && errors.get("upstream_model").is_some());
    let res = app.post("/api/v1/ai/models/").bearer_auth(&staff.access).json(&new).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"].get("name").is_some());

    // PATCH some fields, PUT all (what PUT leaves out gets its default).
    let res = app.patch(&path).bearer_auth(&staff.access).json(&json!({"is_active": false, "default_params": {"max_tokens": 64}})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let patched: Value = res.json().await.unwrap();
    assert_eq!((patched["is_active"].as_bool(), patched["output_price"].as_i64()), (Some(false), Some(10_000)));
    assert_eq!(patched["default_params"], json!({"max_tokens": 64}));
    // Inactive models are hidden from users, shown to staff.
    let res = app.get("/api/v1/ai/models/").bearer_auth(&alice.access).send().await.unwrap();
    assert!(!res.json::<Value>().await.unwrap().as_array().unwrap().iter().any(|m| m["name"] == "big"));
    assert_eq!(app.get(&path).bearer_auth(&alice.access).send().await.unwrap().status(), 404);
    assert_eq!(app.get(&path).bearer_auth(&staff.access).send().await.unwrap().status(), 200);
    let res = app.put(&path).bearer_auth(&staff.access).json(&json!({"name": "big", "provider": "fake", "upstream_model": "echo2"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let put: Value = res.json().await.unwrap();
    assert_eq!((put["upstream_model"].as_str(), put["output_price"].as_i64(), put["is_active"].as_bool()), (Some("echo2"), Some(0), Some(true)));
    let echo_id = model_id(&app, &staff, "echo").await;
    let res = app.patch(&path).bearer_auth(&staff.access).json(&json!({"name": "echo"})).send().await.unwrap();
    assert_eq!(res.status(), 400, "renaming onto a taken name");
    let res = app.patch(&format!("/api/v1/ai/models/{echo_id}/")).bearer_auth(&alice.access).json(&json!({"is_active": false})).send().await.unwrap();
    assert_eq!(res.status(), 403);

    // DELETE.
    assert_eq!(app.delete(&path).bearer_auth(&alice.access).send().await.unwrap().status(), 403);
    assert_eq!(app.delete(&path).bearer_auth(&staff.access).send().await.unwrap().status(), 204);
    assert_eq!(app.delete(&path).bearer_auth(&staff.access).send().await.unwrap().status(), 404);
    assert_eq!(app.patch("/api/v1/ai/models/999999/").bearer_auth(&staff.access).json(&json!({})).send().await.unwrap().status(), 404);
    // A resource answers 405 to a method it lacks.
    assert_eq!(app.post(&path).bearer_auth(&staff.access).json(&json!({})).send().await.unwrap().status(), 405);
});

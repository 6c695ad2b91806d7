//! `/api/v1/core/tags/`.

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::schema::system_logs;
use plaza_kernel::testing::TestApp;
use serde_json::{json, Value};

use crate::support::app;

async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("/api/v1/core/tags/")
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

db_test!(async fn staff_create_and_anyone_reads(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;

    let res = create(&app, &staff.access, json!({"name": "  Rust   Lang ", "color": "#FF8800", "description": "The language"})).await;
    assert_eq!(res.status(), 201);
    let tag: Value = res.json().await.unwrap();
    assert_eq!(tag["name"], "Rust Lang");
    assert_eq!(tag["slug"], "rust-lang");
    assert_eq!(tag["color"], "#ff8800");
    assert_eq!(tag["description"], "The language");
    assert_eq!(tag["usage_count"], 0);
    assert!(tag["created_at"].as_str().unwrap().ends_with('Z'));

    // Names in any script get a slug in that script; a derived slug that is taken gets a suffix.
    let chinese: Value = create(&app, &staff.access, json!({"name": "编程"})).await.json().await.unwrap();
    assert_eq!(chinese["slug"], "编程");
    assert_eq!(chinese["color"], "#6c757d");
    let c: Value = create(&app, &staff.access, json!({"name": "C"})).await.json().await.unwrap();
    let cpp: Value = create(&app, &staff.access, json!({"name": "C++"})).await.json().await.unwrap();
    assert_eq!((c["slug"].as_str(), cpp["slug"].as_str()), (Some("c"), Some("c-2")));

    // Anyone reads, without a token.
    let id = tag["id"].as_i64().unwrap();
    let res = app.get(&format!("/api/v1/core/tags/{id}/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["name"], "Rust Lang");
    let page: Value = app.get("/api/v1/core/tags/?ordering=name").send().await.unwrap().json().await.unwrap();
    assert_eq!(page["count"], 4);
    let names: Vec<&str> = page["results"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["C", "C++", "Rust Lang", "编程"]);

    // Search is case-insensitive in every script.
    let page: Value = app.get("/api/v1/core/tags/?search=LANG").send().await.unwrap().json().await.unwrap();
    assert_eq!(page["count"], 1);
    let page: Value = app.get("/api/v1/core/tags/?search=%2B%2B").send().await.unwrap().json().await.unwrap();
    assert_eq!(page["results"][0]["name"], "C++");
    let page: Value = app.get("/api/v1/core/tags/?search=%25").send().await.unwrap().json().await.unwrap();
    assert_eq!(page["count"], 0, "LIKE wildcards are literal");

    // The creation is in the system log.
    let events: Vec<String> = app
        .db()
        .run(|conn| Ok(system_logs::table.select(system_logs::event).load(conn)?))
        .await
        .unwrap();
    assert_eq!(events.iter().filter(|e| *e == "tag_created").count(), 4);
});

db_test!(async fn list_pages_and_orders(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    for name in ["a", "b", "c"] {
        assert_eq!(create(&app, &staff.access, json!({"name": name})).await.status(), 201);
    }
    let page: Value = app.get("/api/v1/core/tags/?page_size=2&ordering=-name").send().await.unwrap().json().await.unwrap();
    assert_eq!(page["count"], 3);
    assert_eq!(page["results"][0]["name"], "c");
    assert!(page["next"].as_str().unwrap().contains("page=2"));
    let res = app.get("/api/v1/core/tags/?page_size=2&page=3").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["detail"], "Invalid page.");
    let res = app.get("/api/v1/core/tags/?ordering=slug").send().await.unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "validation_error");
    assert!(body["errors"]["ordering"].is_array());
});

db_test!(async fn writes_need_staff(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let user = app.create_user("alice").await;
    let moderator = app.create_moderator("mod").await;

    let res = app.post("/api/v1/core/tags/").json(&json!({"name": "x"})).send().await.unwrap();
    assert_eq!(res.status(), 401);
    for who in [&user, &moderator] {
        let res = create(&app, &who.access, json!({"name": "x"})).await;
        assert_eq!(res.status(), 403, "{}", who.username);
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "permission_denied");
    }

    let tag: Value = create(&app, &staff.access, json!({"name": "x"})).await.json().await.unwrap();
    let path = format!("/api/v1/core/tags/{}/", tag["id"]);
    let res = app.patch(&path).bearer_auth(&user.access).json(&json!({"name": "y"})).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = app.put(&path).bearer_auth(&user.access).json(&json!({"name": "y"})).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = app.delete(&path).bearer_auth(&user.access).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = app.delete(&path).send().await.unwrap();
    assert_eq!(res.status(), 401);
    // Nothing changed.
    let still: Value = app.get(&path).send().await.unwrap().json().await.unwrap();
    assert_eq!(still["name"], "x");
});

db_test!(async fn invalid_fields_and_conflicts(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;

    for (body, field) in [
        (json!({}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "x".repeat(51)}), "name"),
        (json!({"name": "a,b"}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"name": "ok", "color": "red"}), "color"),
        (json!({"name": "ok", "slug": "has space"}), "slug"),
        (json!({"name": "ok", "description": "d".repeat(1001)}), "description"),
    ] {
        let res = create(&app, &staff.access, body.clone()).await;
        assert_eq!(res.status(), 400, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["code"], "validation_error", "{body}");
        assert!(err["errors"][field].is_array(), "{body}: {err}");
    }
    let page: Value = app.get("/api/v1/core/tags/").send().await.unwrap().json().await.unwrap();
    assert_eq!(page["count"], 0, "nothing was created");

    assert_eq!(create(&app, &staff.access, json!({"name": "Rust", "slug": "rust"})).await.status(), 201);
    let res = create(&app, &staff.access, json!({"name": "RUST"})).await;
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["code"], "validation_error");
    assert!(err["errors"]["name"].is_array(), "{err}");
    let res = create(&app, &staff.access, json!({"name": "Other", "slug": "RUST"})).await;
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"]["slug"].is_array());
});

db_test!(async fn staff_update_and_delete(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let tag: Value = create(&app, &staff.access, json!({"name": "Old"})).await.json().await.unwrap();
    let other: Value = create(&app, &staff.access, json!({"name": "Other"})).await.json().await.unwrap();
    let path = format!("/api/v1/core/tags/{}/", tag["id"]);

    // PATCH changes only what it names; renaming keeps the slug.
    let res = app.patch(&path).bearer_auth(&staff.access).json(&json!({"name": "New"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let patched: Value = res.json().await.unwrap();
    assert_eq!((patched["name"].as_str(), patched["slug"].as_str()), (Some("New"), Some("old")));

    // PUT needs the name.
    let res = app.put(&path).bearer_auth(&staff.access).json(&json!({"color": "#000000"})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let res = app.put(&path).bearer_auth(&staff.access).json(&json!({"name": "New", "slug": "new", "color": "#000000"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let put: Value = res.json().await.unwrap();
    assert_eq!((put["slug"].as_str(), put["color"].as_str()), (Some("new"), Some("#000000")));

    // A name or slug another tag has is 400 naming the field, as DRF's unique validators say.
    let res = app.patch(&path).bearer_auth(&staff.access).json(&json!({"name": "other"})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"]["name"].is_array());
    let res = app.patch(&path).bearer_auth(&staff.access).json(&json!({"slug": other["slug"]})).send().await.unwrap();
    assert_eq!(res.status(), 400);

    // Unknown ids and wrong methods.
    let res = app.patch("/api/v1/core/tags/999999/").bearer_auth(&staff.access).json(&json!({"name": "z"})).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = app.get("/api/v1/core/tags/abc/").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = app.post(&path).bearer_auth(&staff.access).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 405);

    let res = app.delete(&path).bearer_auth(&staff.access).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.get(&path).send().await.unwrap().status(), 404);
    assert_eq!(app.delete(&path).bearer_auth(&staff.access).send().await.unwrap().status(), 404);
    let logged: i64 = app
        .db()
        .run(|conn| {
            Ok(system_logs::table
                .filter(system_logs::event.eq("tag_deleted"))
                .count()
                .get_result(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(logged, 1);
});

db_test!(async fn recount_repairs_drifted_usage(backend) {
    use std::collections::HashMap;

    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let a: Value = create(&app, &staff.access, json!({"name": "a"})).await.json().await.unwrap();
    let b: Value = create(&app, &staff.access, json!({"name": "b"})).await.json().await.unwrap();
    let (a_id, b_id) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    let changed = app
        .db()
        .transaction(move |conn| {
            plaza_core::tags::service::add_usage(conn, &[a_id, b_id], 5)?;
            // The links say: a is used twice, b not at all.
            Ok(plaza_core::tags::service::recount_usage(conn, |_| Ok(HashMap::from([(a_id, 2)])))?)
        })
        .await
        .unwrap();
    assert_eq!(changed, 2);
    let page: Value = app.get("/api/v1/core/tags/?ordering=name").send().await.unwrap().json().await.unwrap();
    assert_eq!(page["results"][0]["usage_count"], 2);
    assert_eq!(page["results"][1]["usage_count"], 0);
    let again = app
        .db()
        .transaction(move |conn| Ok(plaza_core::tags::service::recount_usage(conn, |_| Ok(HashMap::from([(a_id, 2)])))?))
        .await
        .unwrap();
    assert_eq!(again, 0, "nothing to repair");
});

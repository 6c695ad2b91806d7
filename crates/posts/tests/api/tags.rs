//! Tags on posts: created on first use, shared in any case, `usage_count` exact.

use plaza_kernel::db_test;
use plaza_kernel::testing::TestApp;
use serde_json::{json, Value};

use crate::support::{app, get_json, id, post};

/// name → usage_count of every tag.
async fn usage(app: &TestApp) -> Vec<(String, i64)> {
    let page = get_json(app, "/api/v1/core/tags/?ordering=name&page_size=100").await;
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["usage_count"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect()
}

db_test!(async fn usage_counts_follow_every_change(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let staff = app.create_staff("root").await;

    let first = post(&app, &alice, "one", "c", &["Rust", "数据库"]).await;
    let second = post(&app, &alice, "two", "c", &["RUST"]).await;
    assert_eq!(second["tags"][0]["name"], "Rust", "an existing tag is reused in any case");
    assert_eq!(second["tags"][0]["id"], first["tags"][0]["id"]);
    assert_eq!(usage(&app).await, pairs(&[("Rust", 2), ("数据库", 1)]));

    // Replacing tags moves the counts.
    let path = format!("/api/v1/posts/{}/", id(&first));
    let res = app.patch(&path).bearer_auth(&alice.access).json(&json!({"tags": ["数据库", "Go"]})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(usage(&app).await, pairs(&[("Go", 1), ("Rust", 1), ("数据库", 1)]));

    // A failed update changes no count.
    let res = app.patch(&path).bearer_auth(&alice.access).json(&json!({"title": "", "tags": ["New"]})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(usage(&app).await, pairs(&[("Go", 1), ("Rust", 1), ("数据库", 1)]));

    // Deleting a post takes it off its tags.
    assert_eq!(app.delete(&path).bearer_auth(&alice.access).send().await.unwrap().status(), 204);
    assert_eq!(usage(&app).await, pairs(&[("Go", 0), ("Rust", 1), ("数据库", 0)]));

    // Staff deleting a tag takes it off the posts that carried it.
    let rust_id = second["tags"][0]["id"].as_i64().unwrap();
    let res = app.delete(&format!("/api/v1/core/tags/{rust_id}/")).bearer_auth(&staff.access).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let detail: Value = get_json(&app, &format!("/api/v1/posts/{}/", id(&second))).await;
    assert_eq!(detail["tags"], json!([]));
    assert_eq!(get_json(&app, "/api/v1/posts/?tag=rust").await["count"], 0);
});

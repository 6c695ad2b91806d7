//! The server's app: every domain's routes, with the job registry and counts they contribute.

use std::time::Duration;

use plaza_kernel::db_test;
use plaza_posts::Forum;
use serde_json::{json, Value};

use crate::support::{app, app_with};

#[test]
fn every_domain_settings_problem_is_reported_at_once() {
    let vars = std::collections::HashMap::from([
        ("BCRYPT_COST".to_owned(), "3".to_owned()),
        ("POSTS_CACHE_TTL".to_owned(), "soon".to_owned()),
        ("ATTACHMENT_MAX_BYTES".to_owned(), "0".to_owned()),
    ]);
    let problems = plaza_server::settings_problems(&vars);
    for key in ["BCRYPT_COST", "POSTS_CACHE_TTL", "ATTACHMENT_MAX_BYTES"] {
        assert!(
            problems.iter().any(|p| p.starts_with(&format!("{key}:"))),
            "{key} in {problems:?}"
        );
    }
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(plaza_server::settings_problems(&Default::default()).is_empty());
}

#[test]
fn the_job_registry_is_valid() {
    let registry = plaza_server::job_registry();
    registry.check().unwrap();
    assert!(registry.handles("send_email"));
    assert!(registry.handles("streaming_reap"));
}

db_test!(async fn system_status_shows_the_contributed_counts_and_jobs(backend) {
    let app = app(backend).await;
    app.create_user("alice").await;
    let staff = app.create_staff("root").await;

    let res = app
        .get("/api/v1/core/system/status/")
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["counts"]["users"], 2);
    assert_eq!(body["counts"]["live_streams"], 0);
    assert_eq!(body["counts"]["open_websockets"], 0);
    let periodic: Vec<&str> = body["jobs"]["periodic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(periodic.contains(&"kernel.prune_jobs"), "{periodic:?}");
    assert!(periodic.contains(&"streaming.reap_streams"), "{periodic:?}");
});

db_test!(async fn views_are_counted_exactly_and_written_in_batches(backend) {
    let forum = Forum::new(Duration::from_secs(60));
    let app = app_with(backend, Some(forum.clone())).await;
    let alice = app.create_user("alice").await;
    let res = app.post("/posts/create/").bearer_auth(&alice.access)
        .json(&json!({"title": "t", "content": "c"})).send().await.unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    // Each view shows itself at once, from the database or the cache alike.
    for expected in 1..=3 {
        let post: Value = app.get(&format!("/posts/detail/{id}/")).send().await.unwrap().json().await.unwrap();
        assert_eq!(post["view_count"], expected);
    }
    let stored = |app: &plaza_kernel::testing::TestApp| {
        use diesel::prelude::*;
        use plaza_kernel::schema::posts;
        let mut conn = app.db().get().unwrap();
        posts::table.find(id).select(posts::view_count).get_result::<i64>(&mut *conn).unwrap()
    };
    assert_eq!(stored(&app), 0, "views wait for the flush");

    assert_eq!(forum.flush(app.db()).await.unwrap(), 3);
    assert_eq!(stored(&app), 3);
    assert_eq!(forum.flush(app.db()).await.unwrap(), 0, "nothing is written twice");

    // After the flush, the cached detail (read before it) and a fresh read agree.
    let post: Value = app.get(&format!("/api/v1/posts/{id}/")).send().await.unwrap().json().await.unwrap();
    assert_eq!(post["view_count"], 4);
    forum.cache.invalidate();
    let post: Value = app.get(&format!("/api/v1/posts/{id}/")).send().await.unwrap().json().await.unwrap();
    assert_eq!(post["view_count"], 5);
    // Two flushes: the second forgets the post's idle tally; counts stay exact after it.
    assert_eq!(forum.flush(app.db()).await.unwrap(), 2);
    forum.flush(app.db()).await.unwrap();
    let post: Value = app.get(&format!("/posts/detail/{id}/")).send().await.unwrap().json().await.unwrap();
    assert_eq!(post["view_count"], 6);
    forum.flush(app.db()).await.unwrap();
    assert_eq!(stored(&app), 6);

    // A missing post is a 404 and counts nothing.
    assert_eq!(app.get("/posts/detail/999999/").send().await.unwrap().status(), 404);
    assert!(forum.views.pending() == 0);
});

db_test!(async fn the_forum_cache_never_serves_a_page_older_than_a_write(backend) {
    let forum = Forum::new(Duration::from_secs(60));
    let app = app_with(backend, Some(forum)).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let create = |title: &str| {
        app.post("/posts/create/").bearer_auth(&alice.access)
            .json(&json!({"title": title, "content": "c"})).send()
    };
    let first: Value = create("first").await.unwrap().json().await.unwrap();
    let id = first["id"].as_i64().unwrap();
    let list = || async { app.get("/posts/list/?page=1").send().await.unwrap().json::<Value>().await.unwrap() };
    let detail = || async { app.get(&format!("/posts/detail/{id}/")).send().await.unwrap().json::<Value>().await.unwrap() };

    assert_eq!(list().await["count"], 1);
    assert_eq!(list().await["count"], 1, "served again (from the cache)");
    create("second").await.unwrap();
    let page = list().await;
    assert_eq!(page["count"], 2);
    assert_eq!(page["results"][0]["title"], "second");

    assert_eq!(detail().await["replies"].as_array().unwrap().len(), 0);
    let res = app.post(&format!("/posts/reply/create/{id}/")).bearer_auth(&bob.access)
        .json(&json!({"content": "hi"})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let reply_id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_eq!(detail().await["replies"][0]["content"], "hi");

    app.post(&format!("/posts/reply/update/{reply_id}/")).bearer_auth(&bob.access)
        .json(&json!({"content": "edited"})).send().await.unwrap();
    assert_eq!(detail().await["replies"][0]["content"], "edited");
    app.patch(&format!("/api/v1/posts/{id}/")).bearer_auth(&alice.access)
        .json(&json!({"title": "renamed"})).send().await.unwrap();
    assert_eq!(detail().await["title"], "renamed");
    assert_eq!(list().await["results"][1]["title"], "renamed");
    app.delete(&format!("/posts/reply/delete/{reply_id}/")).bearer_auth(&bob.access).send().await.unwrap();
    assert_eq!(detail().await["replies"].as_array().unwrap().len(), 0);
    app.delete(&format!("/posts/delete/{id}/")).bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(app.get(&format!("/posts/detail/{id}/")).send().await.unwrap().status(), 404);
    assert_eq!(list().await["count"], 1);
});

db_test!(async fn a_disabled_forum_cache_still_counts_views(backend) {
    let forum = Forum::new(Duration::ZERO);
    let app = app_with(backend, Some(forum.clone())).await;
    let alice = app.create_user("alice").await;
    let res = app.post("/api/v1/posts/").bearer_auth(&alice.access)
        .json(&json!({"title": "t", "content": "c"})).send().await.unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    for expected in 1..=2 {
        let post: Value = app.get(&format!("/api/v1/posts/{id}/")).send().await.unwrap().json().await.unwrap();
        assert_eq!(post["view_count"], expected);
    }
    assert_eq!(forum.flush(app.db()).await.unwrap(), 2);
});

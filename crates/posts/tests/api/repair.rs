//! The nightly repair: counters recounted after a cascade the forum did not see.

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::jobs::{enqueue, JobOptions, JobRegistry};
use plaza_kernel::schema::{post_totals, users};
use plaza_posts::repair::{repair_counters, RepairCounters, Repaired};
use serde_json::Value;

use crate::support::{app, get_json, id, post, reply};

db_test!(async fn a_deleted_user_leaves_counts_the_repair_fixes(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let kept = post(&app, &alice, "kept", "c", &["shared"]).await;
    post(&app, &bob, "bob's", "c", &["shared", "bobs"]).await;
    let bobs_reply = reply(&app, &bob, id(&kept), "bob answers", None).await;
    reply(&app, &alice, id(&kept), "alice answers bob", Some(id(&bobs_reply))).await;
    reply(&app, &alice, id(&kept), "alice again", None).await;

    // Nothing to repair while the forum saw every change.
    let none = app.db().run(repair_counters).await.unwrap();
    assert_eq!(none, Repaired::default());

    // Deleting Bob the way plaza-users does: the row, and the database's cascades.
    let bob_id = bob.id;
    app.db().run(move |conn| Ok(diesel::delete(users::table.find(bob_id)).execute(conn)?)).await.unwrap();
    let stale = get_json(&app, &format!("/api/v1/posts/{}/", id(&kept))).await;
    assert_eq!(stale["reply_count"], 3, "the cascade took two replies behind the counter's back");
    assert_eq!(stale["replies"].as_array().unwrap().len(), 1);

    // The nightly job, run by a worker.
    app.db().run(|conn| Ok(enqueue(conn, &RepairCounters {}, JobOptions::default())?)).await.unwrap();
    let mut registry = JobRegistry::empty();
    plaza_posts::register_jobs(&mut registry);
    let summary = app.run_jobs(registry).await;
    assert_eq!(summary.succeeded, 1, "{summary:?}");

    let fixed = get_json(&app, &format!("/api/v1/posts/{}/", id(&kept))).await;
    assert_eq!(fixed["reply_count"], 1);
    // The list's total, kept by triggers a MySQL cascade does not fire, counts Alice's post.
    assert_eq!(get_json(&app, "/api/v1/posts/").await["count"], 1);
    let tags: Value = get_json(&app, "/api/v1/core/tags/?ordering=name").await;
    let usage: Vec<(&str, i64)> = tags["results"].as_array().unwrap().iter().map(|t| (t["name"].as_str().unwrap(), t["usage_count"].as_i64().unwrap())).collect();
    assert_eq!(usage, [("bobs", 0), ("shared", 1)]);
    assert_eq!(app.db().run(repair_counters).await.unwrap(), Repaired::default(), "repairs converge");
});

db_test!(async fn the_repair_recounts_the_posts_total(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    for i in 0..3 {
        post(&app, &alice, &format!("p{i}"), "c", &[]).await;
    }
    // Drift the way a hand-made change would: the slots no longer add up to the posts.
    app.db().run(|conn| Ok(diesel::update(post_totals::table).set(post_totals::total.eq(7)).execute(conn)?)).await.unwrap();
    assert_eq!(get_json(&app, "/api/v1/posts/?page_size=1").await["count"], 112);

    let repaired = app.db().run(repair_counters).await.unwrap();
    assert_eq!(repaired, Repaired { total: true, ..Repaired::default() });
    assert_eq!(get_json(&app, "/api/v1/posts/?page_size=1").await["count"], 3);
    assert_eq!(app.db().run(repair_counters).await.unwrap(), Repaired::default());
});

db_test!(async fn orphaned_tombstones_are_removed(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let p = post(&app, &alice, "t", "c", &[]).await;
    let top = reply(&app, &alice, id(&p), "top", None).await;
    reply(&app, &bob, id(&p), "bob answers", Some(id(&top))).await;
    let res = app.delete(&format!("/api/v1/posts/replies/{}/", id(&top))).bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(res.status(), 204);
    // Bob goes; his answer with him; Alice's tombstone now answers nothing.
    let bob_id = bob.id;
    app.db().run(move |conn| Ok(diesel::delete(users::table.find(bob_id)).execute(conn)?)).await.unwrap();

    let repaired = app.db().run(repair_counters).await.unwrap();
    assert_eq!(repaired, Repaired { posts: 1, tags: 0, tombstones: 1, total: false });
    let detail = get_json(&app, &format!("/api/v1/posts/{}/", id(&p))).await;
    assert_eq!(detail["replies"], serde_json::json!([]));
    assert_eq!(detail["reply_count"], 0);
});

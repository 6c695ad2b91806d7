//! An account deleted by staff: the forum's counters and every instance's read cache are
//! brought up to date by the job queued in the deleting transaction, not by the nightly repair.

use plaza_kernel::db_test;
use plaza_kernel::domain::job_registry;
use plaza_kernel::testing::{TestApp, TestBackend};
use plaza_posts::repair::{repair_counters, Repaired};
use serde_json::Value;

use crate::support::{get_json, id, post, reply};

async fn app(backend: TestBackend) -> TestApp {
    TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .domain(&plaza_users::DOMAIN)
        .domain(&plaza_core::DOMAIN)
        .domain(&plaza_posts::DOMAIN)
        .build()
        .await
}

db_test!(async fn a_deleted_users_job_recounts_the_forum_and_drops_the_cache(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("staff").await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let kept = post(&app, &alice, "kept", "c", &["shared"]).await;
    let other = post(&app, &alice, "untouched", "c", &[]).await;
    post(&app, &bob, "bob's", "c", &["shared", "bobs"]).await;
    let bobs_reply = reply(&app, &bob, id(&kept), "bob answers", None).await;
    reply(&app, &alice, id(&kept), "alice answers bob", Some(id(&bobs_reply))).await;
    reply(&app, &alice, id(&kept), "alice again", None).await;
    let path = format!("/api/v1/posts/{}/", id(&kept));
    assert_eq!(get_json(&app, &path).await["reply_count"], 3); // now cached

    let res = app
        .delete(&format!("/api/v1/users/{}/", bob.id))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let registry = job_registry(&[plaza_core::DOMAIN, plaza_posts::DOMAIN]);
    let summary = app.run_jobs(registry).await;
    assert_eq!(summary.succeeded, 1, "one forum job, and no files to remove: {summary:?}");

    let detail = get_json(&app, &path).await;
    assert_eq!(detail["reply_count"], 1, "{detail}");
    assert_eq!(detail["replies"].as_array().unwrap().len(), 1);
    let list = get_json(&app, "/api/v1/posts/").await;
    assert_eq!(list["count"], 2, "bob's post is gone from the cached list: {list}");
    let tags: Value = get_json(&app, "/api/v1/core/tags/?ordering=name").await;
    let usage: Vec<(&str, i64)> = tags["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["usage_count"].as_i64().unwrap()))
        .collect();
    assert_eq!(usage, [("bobs", 0), ("shared", 1)]);
    assert_eq!(get_json(&app, &format!("/api/v1/posts/{}/", id(&other))).await["reply_count"], 0);
    // Nothing is left for the nightly repair.
    assert_eq!(app.db().run(repair_counters).await.unwrap(), Repaired::default());
});

db_test!(async fn a_user_who_never_wrote_in_the_forum_queues_no_forum_job(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("staff").await;
    let quiet = app.create_user("quiet").await;
    let res = app
        .delete(&format!("/api/v1/users/{}/", quiet.id))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let summary = app.run_jobs(job_registry(&[plaza_posts::DOMAIN])).await;
    assert_eq!(summary.total(), 0, "{summary:?}");
});

//! An account deleted by staff: the likes, comments and memberships the cascade took are
//! recounted on other users' posts and groups by the job queued in the deleting transaction.

use plaza_kernel::db_test;
use plaza_kernel::domain::job_registry;
use serde_json::json;

use crate::support::{builder, get, post, publish};

db_test!(async fn a_deleted_users_likes_comments_and_memberships_are_recounted(backend) {
    let app = builder(backend).domain(&plaza_users::DOMAIN).build().await;
    let staff = app.create_staff("staff").await;
    let (ann, bob) = (app.create_user("ann").await, app.create_user("bob").await);
    let id = publish(&app, &ann, "like me", "public").await;
    for who in [&ann, &bob] {
        post(&app, &format!("/posts/{id}/like/"), who, json!({}), 200).await;
    }
    post(&app, &format!("/posts/{id}/comments/"), &bob, json!({"content": "mine"}), 201).await;
    post(&app, &format!("/posts/{id}/comments/"), &ann, json!({"content": "hers"}), 201).await;
    let group = post(&app, "/groups/", &ann, json!({"name": "Readers"}), 201).await;
    let g = group["id"].as_i64().unwrap();
    post(&app, &format!("/groups/{g}/join/"), &bob, json!({}), 201).await;
    assert_eq!(get(&app, &format!("/groups/{g}/"), &ann).await["member_count"], 2);
    // Bob's own post goes whole and needs no recount.
    publish(&app, &bob, "bob's", "public").await;

    let res = app
        .delete(&format!("/api/v1/users/{}/", bob.id))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let stale = get(&app, &format!("/posts/{id}/"), &ann).await;
    assert_eq!((stale["like_count"].as_i64(), stale["comment_count"].as_i64()), (Some(2), Some(2)));

    let summary = app.run_jobs(job_registry(&[plaza_social::DOMAIN])).await;
    assert_eq!(summary.succeeded, 1, "{summary:?}");
    let fixed = get(&app, &format!("/posts/{id}/"), &ann).await;
    assert_eq!((fixed["like_count"].as_i64(), fixed["comment_count"].as_i64()), (Some(1), Some(1)));
    assert_eq!(get(&app, &format!("/groups/{g}/"), &ann).await["member_count"], 1);
});

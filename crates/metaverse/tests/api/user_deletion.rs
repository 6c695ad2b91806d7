//! An account deleted by staff: the participations the cascade took are recounted on other
//! organisers' events by the job queued in the deleting transaction.

use chrono::{Duration, Utc};
use plaza_kernel::db_test;
use plaza_kernel::domain::job_registry;
use plaza_kernel::testing::TestApp;
use serde_json::json;

use crate::support::{call, id, public_world};

db_test!(async fn a_deleted_users_participations_are_recounted(backend) {
    let app = TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .domain(&plaza_users::DOMAIN)
        .domain(&plaza_metaverse::DOMAIN)
        .build()
        .await;
    let staff = app.create_staff("staff").await;
    let owner = app.create_user("owner").await;
    let (fan, gone) = (app.create_user("fan").await, app.create_user("gone").await);
    let w = public_world(&app, &owner, "Stage", 100).await;
    let start = Utc::now() + Duration::hours(3);
    let body = json!({"world_id": w, "title": "Concert", "start_at": start, "end_at": start + Duration::hours(1)});
    let (status, event) = call(&app, "POST", "/api/v1/metaverse/events/", Some(&owner), Some(body)).await;
    assert_eq!(status, 201, "{event}");
    let path = format!("/api/v1/metaverse/events/{}/", id(&event));
    for who in [&fan, &gone] {
        assert_eq!(call(&app, "POST", &format!("{path}join/"), Some(who), None).await.0, 201);
    }

    let res = app
        .delete(&format!("/api/v1/users/{}/", gone.id))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(call(&app, "GET", &path, None, None).await.1["participant_count"], 2, "stale until the job");
    let summary = app.run_jobs(job_registry(&[plaza_metaverse::DOMAIN])).await;
    assert_eq!(summary.succeeded, 1, "{summary:?}");
    assert_eq!(call(&app, "GET", &path, None, None).await.1["participant_count"], 1);
});

//! Caps under concurrency: a hundred users entering a world of ten, fifty users joining an
//! event of five. On MySQL the world (or event) row is locked for the check; on SQLite the
//! transaction holds the write lock from its start.

use futures_util::future::join_all;
use plaza_kernel::db_test;
use serde_json::json;

use crate::support::{app, call, id, public_world};

db_test!(async fn a_hundred_parallel_entries_leave_exactly_ten_sessions(backend) {
    let app = app(backend).await;
    let owner = app.create_user("owner").await;
    let w = public_world(&app, &owner, "Crowded", 10).await;
    let mut users = Vec::new();
    for i in 0..100 {
        users.push(app.create_user(&format!("user{i}")).await);
    }
    let path = format!("/api/v1/metaverse/worlds/{w}/enter/");
    let responses = join_all(users.iter().map(|u| {
        app.post(&path).bearer_auth(&u.access).json(&json!({})).send()
    }))
    .await;
    let mut statuses: Vec<u16> = responses.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 90, "{statuses:?}");
    let (_, sessions) = call(&app, "GET", &format!("/api/v1/metaverse/worlds/{w}/sessions/"), None, None).await;
    assert_eq!(sessions["count"], 10);
});

db_test!(async fn fifty_parallel_joins_fill_an_event_of_five(backend) {
    let app = app(backend).await;
    let owner = app.create_user("owner").await;
    let w = public_world(&app, &owner, "Hall", 100).await;
    let start = chrono::Utc::now() + chrono::Duration::hours(2);
    let (status, event) = call(&app, "POST", "/api/v1/metaverse/events/", Some(&owner), Some(json!({
        "world_id": w, "title": "Concert", "start_at": start, "end_at": start + chrono::Duration::hours(1),
        "max_participants": 5
    }))).await;
    assert_eq!(status, 201, "{event}");
    let mut users = Vec::new();
    for i in 0..50 {
        users.push(app.create_user(&format!("user{i}")).await);
    }
    let path = format!("/api/v1/metaverse/events/{}/join/", id(&event));
    let responses = join_all(users.iter().map(|u| app.post(&path).bearer_auth(&u.access).send())).await;
    let statuses: Vec<u16> = responses.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 45, "{statuses:?}");
    let (_, detail) = call(&app, "GET", &format!("/api/v1/metaverse/events/{}/", id(&event)), None, None).await;
    assert_eq!(detail["participant_count"], 5);
    let (_, parts) = call(&app, "GET", &format!("/api/v1/metaverse/events/{}/participants/", id(&event)), None, None).await;
    assert_eq!(parts["count"], 5);
});

//! The periodic jobs: event reminders (one notice per participant, once) and stale sessions.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::jobs::{self, JobOptions, JobRegistry};
use plaza_kernel::schema::jobs as jobs_table;
use plaza_kernel::testing::TestApp;
use plaza_metaverse::jobs::{CloseStaleSessions, RemindEvents};
use plaza_metaverse::schema::metaverse_sessions;
use serde_json::{json, Value};

use crate::support::{app, call, enter, id, public_world};

fn registry() -> JobRegistry {
    let mut registry = JobRegistry::empty();
    plaza_metaverse::register_jobs(&mut registry);
    registry
}

async fn run<J: jobs::Job + Clone>(app: &TestApp, job: J) {
    app.db()
        .run(move |conn| Ok(jobs::enqueue(conn, &job, JobOptions::default())?))
        .await
        .unwrap();
    let summary = app.run_jobs(registry()).await;
    assert_eq!(summary.dead + summary.retried, 0, "{summary:?}");
}

async fn notices(app: &TestApp) -> Vec<Value> {
    app.db()
        .run(|conn| {
            Ok(jobs_table::table
                .filter(jobs_table::kind.eq("notice"))
                .select(jobs_table::payload)
                .load::<String>(conn)?)
        })
        .await
        .unwrap()
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect()
}

db_test!(async fn participants_are_reminded_once_before_the_start(backend) {
    let app = app(backend).await;
    let owner = app.create_user("owner").await;
    let ann = app.create_user("ann").await;
    let ben = app.create_user("ben").await;
    let w = public_world(&app, &owner, "Hall", 10).await;
    let soon = Utc::now() + Duration::minutes(10);
    let later = Utc::now() + Duration::hours(5);
    let (_, near) = call(&app, "POST", "/api/v1/metaverse/events/", Some(&owner), Some(json!({"world_id": w, "title": "Soon", "start_at": soon, "end_at": soon + Duration::hours(1)}))).await;
    let (_, far) = call(&app, "POST", "/api/v1/metaverse/events/", Some(&owner), Some(json!({"world_id": w, "title": "Later", "start_at": later, "end_at": later + Duration::hours(1)}))).await;
    for user in [&ann, &ben] {
        call(&app, "POST", &format!("/api/v1/metaverse/events/{}/join/", id(&near)), Some(user), None).await;
        call(&app, "POST", &format!("/api/v1/metaverse/events/{}/join/", id(&far)), Some(user), None).await;
    }
    let mut bus = app.services.bus.subscribe(plaza_metaverse::events::REMINDER_TOPIC).await.unwrap();

    run(&app, RemindEvents {}).await;
    let sent = notices(&app).await;
    assert_eq!(sent.len(), 2, "one per participant of the event starting soon: {sent:?}");
    let mut recipients: Vec<i64> = sent.iter().map(|n| n["recipient"].as_i64().unwrap()).collect();
    recipients.sort_unstable();
    assert_eq!(recipients, [ann.id, ben.id]);
    assert_eq!(sent[0]["kind"], "event_reminder");
    assert_eq!(sent[0]["data"]["event_id"], near["id"]);
    assert_eq!(sent[0]["data"]["title"], "Soon");
    assert_eq!(sent[0]["data"]["world_id"], w);
    assert!(sent[0]["data"]["start_at"].as_str().unwrap().ends_with('Z'));
    let announced: Value = serde_json::from_slice(&bus.recv().await.unwrap()).unwrap();
    assert_eq!((announced["event_id"].clone(), announced["participants"].as_i64()), (near["id"].clone(), Some(2)));

    // Once only.
    run(&app, RemindEvents {}).await;
    assert_eq!(notices(&app).await.len(), 2);
    // Moving the start re-arms it.
    let moved = Utc::now() + Duration::minutes(5);
    call(&app, "PATCH", &format!("/api/v1/metaverse/events/{}/", id(&near)), Some(&owner), Some(json!({"start_at": moved}))).await;
    run(&app, RemindEvents {}).await;
    assert_eq!(notices(&app).await.len(), 4);
});

db_test!(async fn sessions_without_heartbeat_are_closed(backend) {
    let app = app(backend).await;
    let owner = app.create_user("owner").await;
    let idle = app.create_user("idle").await;
    let w = public_world(&app, &owner, "Hall", 10).await;
    let (_, gone) = enter(&app, &idle, w).await;
    let (_, here) = enter(&app, &owner, w).await;
    let gone_id = id(&gone);
    app.db()
        .run(move |conn| {
            let past = plaza_kernel::time::now() - Duration::hours(1);
            diesel::update(metaverse_sessions::table.find(gone_id))
                .set(metaverse_sessions::last_seen_at.eq(past))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    run(&app, CloseStaleSessions {}).await;
    let (_, list) = call(&app, "GET", &format!("/api/v1/metaverse/worlds/{w}/sessions/"), None, None).await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["id"], here["id"]);
    // The idle user enters afresh.
    let (status, again) = enter(&app, &idle, w).await;
    assert_eq!(status, 201);
    assert_ne!(again["id"], gone["id"]);
});

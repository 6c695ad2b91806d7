//! Lists run a fixed number of queries whatever the page size (counted through the test
//! pool's query log).

use plaza_kernel::auth::{Caller, Credential, Role};
use plaza_kernel::db_test;
use plaza_kernel::testing::{TestApp, TestUser};
use plaza_metaverse::types::{EnterWrite, EventWrite, Visibility, WorldWrite};

use crate::support::{app, call};

fn caller(user: &TestUser) -> Caller {
    Caller {
        id: user.id,
        username: user.username.clone(),
        role: Role::User,
        is_staff: false,
        is_superuser: false,
        credential: Credential::Ticket,
    }
}

async fn statements(app: &TestApp, path: &str, user: &TestUser) -> Vec<String> {
    let log = app
        .db()
        .query_log()
        .expect("test pools log queries")
        .clone();
    log.start();
    let (status, body) = call(app, "GET", path, Some(user), None).await;
    let statements = log.stop();
    assert_eq!(status, 200, "{path}: {body}");
    statements
}

db_test!(async fn lists_run_the_same_queries_for_1_and_60_rows(backend) {
    let app = app(backend).await;
    let mut users = Vec::new();
    for i in 0..60 {
        users.push(app.create_user(&format!("user{i}")).await);
    }
    let callers: Vec<Caller> = users.iter().map(caller).collect();
    let world_id = app
        .db()
        .transaction(move |conn| {
            let mut first = 0;
            for (i, c) in callers.iter().enumerate() {
                let world = plaza_metaverse::worlds::create(conn, c, &WorldWrite {
                    name: format!("world {i}"),
                    description: String::new(),
                    visibility: if i % 2 == 0 { Visibility::Public } else { Visibility::Invite },
                    max_users: 100,
                    scene_url: String::new(),
                    settings: serde_json::json!({}),
                    bounds: 1000.0,
                    thumbnail: None,
                })?;
                if i == 0 {
                    first = world.id;
                }
            }
            for c in &callers {
                plaza_metaverse::sessions::enter(conn, c, first, EnterWrite::default())?;
            }
            let start = chrono::Utc::now() + chrono::Duration::hours(1);
            for i in 0..60 {
                let event = plaza_metaverse::events::create(conn, &callers[0], &EventWrite {
                    world_id: first,
                    title: format!("event {i}"),
                    description: String::new(),
                    start_at: start,
                    end_at: start + chrono::Duration::hours(1),
                    max_participants: None,
                })?;
                if i == 0 {
                    for c in &callers {
                        plaza_metaverse::events::join(conn, c, event.id)?;
                    }
                }
            }
            Ok(first)
        })
        .await
        .unwrap();
    let viewer = &users[1];
    let event_id: i64 = call(&app, "GET", "/api/v1/metaverse/events/?page_size=1", Some(viewer), None).await.1["results"][0]["id"].as_i64().unwrap();
    for base in [
        "/api/v1/metaverse/worlds/?".to_owned(),
        "/api/v1/metaverse/worlds/?search=world&".to_owned(),
        format!("/api/v1/metaverse/worlds/{world_id}/sessions/?"),
        "/api/v1/metaverse/events/?".to_owned(),
        format!("/api/v1/metaverse/events/{event_id}/participants/?"),
    ] {
        let one = statements(&app, &format!("{base}page_size=1"), viewer).await;
        let sixty = statements(&app, &format!("{base}page_size=60"), viewer).await;
        assert_eq!(one.len(), sixty.len(), "{base}:\n{one:#?}\n{sixty:#?}");
        assert!(sixty.len() <= 6, "{base}: {sixty:#?}");
    }
});

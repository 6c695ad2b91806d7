//! Presence over WebSocket: join, move, chat, object changes, leave; validation and the rate
//! limit; two servers sharing a database and a bus (in-process, and Redis when configured).

use actix_web::web;
use plaza_kernel::testing::{test_redis_url, TestApp, TestBackend, TestUser, WsClient};
use plaza_kernel::{db_test, Bus, Realtime};
use serde_json::json;

use crate::support::{app, app_with, call, enter, object, public_world, world};

async fn connect(app: &TestApp, user: &TestUser, world_id: i64) -> WsClient {
    WsClient::connect(&app.ws_url(&format!(
        "/ws/metaverse/worlds/{world_id}/?token={}",
        user.access
    )))
    .await
    .expect("the upgrade is accepted")
}

db_test!(async fn upgrades_need_credentials_and_a_session(backend) {
    let app = app(backend).await;
    let owner = app.create_user("owner").await;
    let bob = app.create_user("bob").await;
    let w = public_world(&app, &owner, "Square", 10).await;
    let url = |q: &str| app.ws_url(&format!("/ws/metaverse/worlds/{w}/{q}"));
    assert_eq!(WsClient::connect(&url("")).await.err(), Some(401));
    assert_eq!(WsClient::connect(&url("?token=bad")).await.err(), Some(401));
    assert_eq!(WsClient::connect(&url(&format!("?token={}", bob.access))).await.err(), Some(403), "enter first");
    let private = world(&app, &owner, json!({"name": "P", "visibility": "private"})).await["id"].as_i64().unwrap();
    let hidden = app.ws_url(&format!("/ws/metaverse/worlds/{private}/?token={}", bob.access));
    assert_eq!(WsClient::connect(&hidden).await.err(), Some(404));
    // A plain GET is not an upgrade.
    assert_eq!(app.get(&format!("/ws/metaverse/worlds/{w}/")).send().await.unwrap().status(), 400);
});

/// Alice on `first`, Bob on `second` (the same app, or another server on the same database
/// and bus): they see each other join, move, chat, change objects and leave.
async fn two_users_meet(first: &TestApp, second: &TestApp) {
    let alice = first.create_user("alice").await;
    let bob = first.create_user("bob").await;
    let w = public_world(first, &alice, "Square", 10).await;
    let chair = object(first, &alice, "Chair").await;
    assert_eq!(enter(first, &alice, w).await.0, 201);
    assert_eq!(enter(second, &bob, w).await.0, 201);

    let mut a = connect(first, &alice, w).await;
    let hello = a.expect("presence").await;
    assert_eq!(hello["you"]["user_id"], alice.id);
    assert_eq!(hello["users"], json!([]));
    let mut b = connect(second, &bob, w).await;
    let hello = b.expect("presence").await;
    assert_eq!(hello["users"][0]["user_id"], alice.id, "{hello}");
    assert_eq!(hello["users"][0]["username"], "alice");
    let joined = a.expect("user_joined").await;
    assert_eq!(joined["user"]["user_id"], bob.id);
    assert_eq!(joined["user"]["username"], "bob");

    a.send_json(&json!({"type": "move", "position": {"x": 1.5, "y": 0, "z": -2}, "rotation": {"x": 0, "y": 45, "z": 0}, "t": 7})).await;
    let moved = b.expect("user_moved").await;
    assert_eq!(moved["user_id"], alice.id);
    assert_eq!(moved["position"], json!({"x": 1.5, "y": 0.0, "z": -2.0}));
    assert_eq!(moved["rotation"]["y"], 45.0);
    assert_eq!(moved["t"], 7);
    a.send_json(&json!({"type": "chat", "text": "hello 世界"}))
        .await;
    let chat = b.expect("chat").await;
    assert_eq!(
        (chat["text"].as_str(), chat["user"]["id"].as_i64()),
        (Some("hello 世界"), Some(alice.id))
    );

    // A builder's change over REST reaches both.
    let (status, placed) = call(
        first,
        "POST",
        &format!("/api/v1/metaverse/worlds/{w}/objects/"),
        Some(&alice),
        Some(json!({"object_id": chair})),
    )
    .await;
    assert_eq!(status, 201);
    for ws in [&mut a, &mut b] {
        let changed = ws.expect("object_changed").await;
        assert_eq!(changed["action"], "placed");
        assert_eq!(changed["instance"]["id"], placed["id"]);
    }

    // Bob goes; Alice hears it.
    b.close().await;
    let left = a.expect("user_left").await;
    assert_eq!(left["user_id"], bob.id);
    // The session stays open (a reconnect finds it), no longer connected.
    let (_, list) = call(
        first,
        "GET",
        &format!("/api/v1/metaverse/worlds/{w}/sessions/"),
        None,
        None,
    )
    .await;
    assert_eq!(list["count"], 2);
}

db_test!(async fn two_users_see_each_other(backend) {
    let app = app(backend).await;
    two_users_meet(&app, &app).await;
});

db_test!(async fn bad_messages_get_errors(backend) {
    let app = app_with(backend, &[("METAVERSE_MOVES_PER_SECOND", "1")]).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let w = public_world(&app, &alice, "Square", 10).await;
    enter(&app, &alice, w).await;
    enter(&app, &bob, w).await;
    let mut a = connect(&app, &alice, w).await;
    a.expect("presence").await;
    let mut b = connect(&app, &bob, w).await;
    b.expect("presence").await;
    a.expect("user_joined").await;

    a.send_text("not json").await;
    a.expect_error("invalid_json").await;
    a.send_json(&json!({"type": "fly"})).await;
    a.expect_error("invalid_message").await;
    a.send_json(&json!({"type": "move", "position": {"x": "NaN", "y": 0, "z": 0}})).await;
    a.expect_error("invalid_message").await;
    a.send_json(&json!({"type": "move", "position": {"x": 1e300, "y": 0, "z": 0}})).await;
    a.expect_error("invalid_position").await;
    a.send_json(&json!({"type": "move", "position": {"x": 1001, "y": 0, "z": 0}})).await;
    a.expect_error("invalid_position").await;
    a.send_json(&json!({"type": "chat", "text": "   "})).await;
    a.expect_error("invalid_message").await;
    a.send_json(&json!({"type": "ping"})).await;
    a.expect("pong").await;
    // One move a second: the first goes through, the next right after is refused.
    a.send_json(&json!({"type": "move", "position": {"x": 1, "y": 2, "z": 3}})).await;
    a.send_json(&json!({"type": "move", "position": {"x": 4, "y": 5, "z": 6}})).await;
    a.expect_error("rate_limited").await;
    let moved = b.expect("user_moved").await;
    assert_eq!(moved["position"], json!({"x": 1.0, "y": 2.0, "z": 3.0}), "only the accepted move was relayed");
    // Leaving over REST tells the others and ends the socket.
    let (status, _) = call(&app, "POST", &format!("/api/v1/metaverse/worlds/{w}/leave/"), Some(&alice), None).await;
    assert_eq!(status, 204);
    assert_eq!(b.expect("user_left").await["user_id"], alice.id);
    // Alice's socket ends with her session.
    assert_eq!(a.expect_closed().await.map(|(code, _)| code), Some(1000));
});

/// A second server on `first`'s database, both on `bus`.
async fn pair(backend: TestBackend, bus: Bus) -> (TestApp, TestApp) {
    let with_bus = |bus: Bus| {
        move |services: &mut plaza_kernel::Services| {
            services.realtime =
                web::Data::new(Realtime::new(bus.clone(), services.metrics.clone()));
            services.bus = web::Data::new(bus);
        }
    };
    let first = TestApp::builder(backend.clone())
        .users(plaza_users::testing::create_test_user)
        .domain(&plaza_metaverse::DOMAIN)
        .customize(with_bus(bus.clone()))
        .build()
        .await;
    let db = first.services.db.clone();
    let second = TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .domain(&plaza_metaverse::DOMAIN)
        .customize(with_bus(bus))
        .customize(move |services| services.db = db)
        .build()
        .await;
    (first, second)
}

db_test!(async fn users_on_two_servers_see_each_other(backend) {
    let (first, second) = pair(backend, Bus::in_memory()).await;
    two_users_meet(&first, &second).await;
});

db_test!(async fn users_on_two_servers_sharing_redis_see_each_other(backend) {
    let Some(url) = test_redis_url() else { return };
    let prefix = plaza_kernel::testing::unique_prefix();
    let bus = Bus::redis(&url, &prefix).await.unwrap();
    let (first, second) = pair(backend, bus).await;
    two_users_meet(&first, &second).await;
});

db_test!(async fn the_stale_session_job_tells_the_room(backend) {
    use diesel::prelude::*;
    use plaza_kernel::jobs::{self, JobOptions, JobRegistry};
    use plaza_metaverse::schema::metaverse_sessions;

    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let w = public_world(&app, &alice, "Square", 10).await;
    enter(&app, &alice, w).await;
    let (_, bobs) = enter(&app, &bob, w).await;
    let mut a = connect(&app, &alice, w).await;
    a.expect("presence").await;
    let mut b = connect(&app, &bob, w).await;
    b.expect("presence").await;
    a.expect("user_joined").await;
    // Bob's heartbeat is made old, as if his process had died.
    let bob_session = bobs["id"].as_i64().unwrap();
    app.db()
        .run(move |conn| {
            let past = plaza_kernel::time::now() - chrono::Duration::hours(1);
            diesel::update(metaverse_sessions::table.find(bob_session))
                .set(metaverse_sessions::last_seen_at.eq(past))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    app.db()
        .run(|conn| Ok(jobs::enqueue(conn, &plaza_metaverse::jobs::CloseStaleSessions {}, JobOptions::default())?))
        .await
        .unwrap();
    let mut registry = JobRegistry::empty();
    plaza_metaverse::register_jobs(&mut registry);
    app.run_jobs(registry).await;
    assert_eq!(a.expect("user_left").await["user_id"], bob.id);
    // Bob's socket ends with his session.
    assert_eq!(b.expect_closed().await.map(|(code, _)| code), Some(1000));
});

//! Statistics: counted in memory, flushed periodically and on leave; the reaper.

use std::time::Duration;

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::schema::stream_connections;
use plaza_kernel::testing::TestApp;
use plaza_streaming::model::{self, ConnectionRow, StreamRow};
use plaza_streaming::runtime::Runtime;
use plaza_streaming::service;
use plaza_streaming::StreamingSettings;
use serde_json::json;

use crate::support::{app, frame, get_json, Peer};

async fn stream_row(app: &TestApp, id: &str) -> StreamRow {
    let id = id.to_owned();
    app.db()
        .run(move |conn| Ok(model::find_stream(conn, &id)?))
        .await
        .unwrap()
}

async fn connection_rows(app: &TestApp, stream: &str) -> Vec<ConnectionRow> {
    let stream = stream.to_owned();
    app.db()
        .run(move |conn| {
            Ok(stream_connections::table
                .filter(stream_connections::stream_id.eq(&stream))
                .order(stream_connections::id.asc())
                .select(ConnectionRow::as_select())
                .load(conn)?)
        })
        .await
        .unwrap()
}

/// The runtime the domain started with the test server.
fn runtime(app: &TestApp) -> std::sync::Arc<Runtime> {
    Runtime::start(
        &app.services.realtime,
        &app.services.db,
        &app.services.cache,
        app.services.sections.get_or_default::<StreamingSettings>(),
    )
}

db_test!(async fn frames_are_counted_in_memory_and_written_by_the_flush(backend) {
    let app = app(backend).await;
    let (alice, bob) = (app.create_user("alice").await, app.create_user("bob").await);
    let mut creator = Peer::connect(&app, &alice).await;
    let stream = creator.create("counted").await;
    let mut viewer = Peer::connect(&app, &bob).await;
    viewer.join(&stream).await;
    creator.expect("peer_joined").await;

    creator.send(frame("QUJDRA==", "keyframe", 1)).await; // 8 bytes
    creator.send(frame("QUI=", "deltaframe", 2)).await; // 4 bytes
    creator.ws.send_binary(vec![7; 10]).await; // 10 bytes
    viewer.expect("video_frame").await;
    viewer.expect("video_frame").await;
    viewer.ws.recv_binary().await;

    // Nothing written per frame…
    assert_eq!(stream_row(&app, &stream).await.frames, 0);
    // …but the detail includes what this process counted.
    let (_, detail) = get_json(&app, &format!("/api/v1/streams/{stream}/"), None).await;
    assert_eq!(detail["statistics"]["frames"], 3);
    assert_eq!(detail["statistics"]["bytes"], 22);
    assert_eq!(detail["peers"][0]["frames_sent"], 3);
    assert_eq!(detail["peers"][1]["frames_received"], 3);
    assert!(detail["peers"][1]["bytes_received"].as_i64().unwrap() > 22);

    runtime(&app).flush().await;
    let row = stream_row(&app, &stream).await;
    assert_eq!((row.frames, row.bytes, row.frames_dropped), (3, 22, 0));
    let rows = connection_rows(&app, &stream).await;
    assert_eq!((rows[0].frames_sent, rows[0].bytes_sent), (3, 22));
    assert_eq!(rows[1].frames_received, 3);
    // A second flush adds nothing twice.
    runtime(&app).flush().await;
    assert_eq!(stream_row(&app, &stream).await.frames, 3);

    // Leaving writes what came after the flush.
    creator.send(frame("QQ==", "deltaframe", 3)).await;
    viewer.expect("video_frame").await;
    viewer.send(json!({"type": "leave_stream"})).await;
    creator.expect("peer_left").await;
    creator.send(json!({"type": "leave_stream"})).await;
    creator.expect("stream_ended").await;
    let row = stream_row(&app, &stream).await;
    assert_eq!((row.frames, row.bytes), (4, 26));
    let rows = connection_rows(&app, &stream).await;
    assert_eq!(rows[0].frames_sent, 4);
    assert_eq!(rows[1].frames_received, 4);
    assert!(rows.iter().all(|r| r.left_at.is_some()));
});

db_test!(async fn the_flush_is_a_heartbeat_for_held_connections(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let mut creator = Peer::connect(&app, &alice).await;
    let stream = creator.create("heartbeat").await;
    let before = connection_rows(&app, &stream).await[0].last_seen_at;
    tokio::time::sleep(Duration::from_millis(20)).await;
    runtime(&app).flush().await;
    let after = connection_rows(&app, &stream).await[0].last_seen_at;
    assert!(after > before, "{before} → {after}");
});

db_test!(async fn the_reaper_ends_streams_whose_creator_process_died(backend) {
    let app = app(backend).await;
    let (alice, bob, carol) = (
        app.create_user("alice").await,
        app.create_user("bob").await,
        app.create_user("carol").await,
    );
    let mut creator = Peer::connect(&app, &alice).await;
    let orphan = creator.create("orphaned").await;
    let mut viewer = Peer::connect(&app, &bob).await;
    viewer.join(&orphan).await;
    let mut other_creator = Peer::connect(&app, &carol).await;
    let survivor = other_creator.create("survivor").await;
    let mut other_viewer = Peer::connect(&app, &app.create_user("dave").await).await;
    other_viewer.join(&survivor).await;

    // Pretend the processes holding alice's and dave's connections died long ago.
    let long_ago = plaza_kernel::time::now() - chrono::Duration::hours(1);
    let stale: Vec<String> = vec![creator.peer_id.clone(), other_viewer.peer_id.clone()];
    app.db()
        .run(move |conn| {
            diesel::update(stream_connections::table.filter(stream_connections::peer_id.eq_any(&stale)))
                .set(stream_connections::last_seen_at.eq(long_ago))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();

    let now = plaza_kernel::time::now();
    let reaped = app
        .db()
        .transaction(move |conn| service::reap_stale(conn, now, now - chrono::Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!(reaped.ended_streams, vec![orphan.clone()]);
    assert_eq!(
        reaped.gone_peers,
        vec![(survivor.clone(), uuid::Uuid::parse_str(&other_viewer.peer_id).unwrap())]
    );
    let row = stream_row(&app, &orphan).await;
    assert_eq!((row.status.as_str(), row.current_peers), ("ended", 0));
    assert_eq!(row.end_reason.as_deref(), Some("creator_lost"));
    assert!(connection_rows(&app, &orphan).await.iter().all(|c| c.left_at.is_some()));
    let row = stream_row(&app, &survivor).await;
    assert_eq!((row.status.as_str(), row.current_peers), ("live", 1));

    // Nothing more to reap.
    let again = app
        .db()
        .transaction(move |conn| service::reap_stale(conn, now, now - chrono::Duration::minutes(1)))
        .await
        .unwrap();
    assert!(again.is_empty());
});

db_test!(async fn the_reaper_tells_the_peers_still_connected(backend) {
    let app = app(backend).await;
    let (alice, bob, carol) = (
        app.create_user("alice").await,
        app.create_user("bob").await,
        app.create_user("carol").await,
    );
    let mut creator = Peer::connect(&app, &alice).await;
    let stream = creator.create("watched").await;
    let mut ghost = Peer::connect(&app, &bob).await;
    ghost.join(&stream).await;
    creator.expect("peer_joined").await;
    let mut viewer = Peer::connect(&app, &carol).await;
    viewer.join(&stream).await;
    creator.expect("peer_joined").await;
    ghost.expect("peer_joined").await;

    // bob's process "died": his heartbeat is old.
    let long_ago = plaza_kernel::time::now() - chrono::Duration::hours(1);
    let ghost_id = ghost.peer_id.clone();
    app.db()
        .run(move |conn| {
            diesel::update(stream_connections::table.filter(stream_connections::peer_id.eq(&ghost_id)))
                .set(stream_connections::last_seen_at.eq(long_ago))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let rt = runtime(&app);
    let reaped = plaza_streaming::reaper::reap(app.db(), &rt.hub, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(reaped.gone_peers.len(), 1);
    assert_eq!(creator.expect("peer_left").await["peer_id"], ghost.peer_id);
    assert_eq!(viewer.expect("peer_left").await["peer_id"], ghost.peer_id);
    assert_eq!(stream_row(&app, &stream).await.current_peers, 2);

    // Then the creator's.
    let creator_id = creator.peer_id.clone();
    app.db()
        .run(move |conn| {
            diesel::update(stream_connections::table.filter(stream_connections::peer_id.eq(&creator_id)))
                .set(stream_connections::last_seen_at.eq(long_ago))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let reaped = plaza_streaming::reaper::reap(app.db(), &rt.hub, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(reaped.ended_streams, vec![stream.clone()]);
    assert_eq!(viewer.expect("stream_ended").await["stream_id"], stream);
    assert_eq!(creator.expect("stream_ended").await["stream_id"], stream);
    assert_eq!(stream_row(&app, &stream).await.end_reason.as_deref(), Some("creator_lost"));
    assert_eq!(
        plaza_streaming::reaper::stale_after(&StreamingSettings::defaults()),
        Duration::from_secs(60)
    );
});

db_test!(async fn the_periodic_job_reaps_and_announces_through_the_bus(backend) {
    let app = app(backend).await;
    let (alice, bob) = (app.create_user("alice").await, app.create_user("bob").await);
    let mut creator = Peer::connect(&app, &alice).await;
    let stream = creator.create("reaped by the job").await;
    let mut viewer = Peer::connect(&app, &bob).await;
    viewer.join(&stream).await;
    creator.expect("peer_joined").await;

    let long_ago = plaza_kernel::time::now() - chrono::Duration::hours(1);
    let creator_id = creator.peer_id.clone();
    app.db()
        .run(move |conn| {
            diesel::update(stream_connections::table.filter(stream_connections::peer_id.eq(&creator_id)))
                .set(stream_connections::last_seen_at.eq(long_ago))
                .execute(conn)?;
            plaza_kernel::jobs::enqueue(
                conn,
                &plaza_streaming::jobs::ReapStreams {},
                plaza_kernel::jobs::JobOptions::default(),
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let mut registry = plaza_kernel::jobs::JobRegistry::empty();
    plaza_streaming::register_jobs(&mut registry);
    registry.check().unwrap();
    let summary = app.run_jobs(registry).await;
    assert_eq!(summary.succeeded, 1);
    // The job's own hub only publishes; this server's room applies it.
    assert_eq!(viewer.expect("stream_ended").await["stream_id"], stream);
    assert_eq!(creator.expect("stream_ended").await["stream_id"], stream);
    viewer.send(json!({"type": "offer", "offer": {}})).await;
    viewer.expect_error("not_in_stream").await;
});

db_test!(async fn viewers_joining_and_leaving_at_once_are_all_counted(backend) {
    // On MySQL, joins once deadlocked on the stream row (an insert's foreign-key check took a
    // shared lock before the counter's exclusive one); every viewer must get in.
    let app = app(backend).await;
    let owner = app.create_user("owner").await;
    let mut creator = Peer::connect(&app, &owner).await;
    let stream = creator.create("crowd").await;
    let mut viewers = Vec::new();
    for i in 0..16 {
        let user = app.create_user(&format!("viewer{i}")).await;
        viewers.push(Peer::connect(&app, &user).await);
    }
    futures_util::future::join_all(viewers.iter_mut().map(|v| v.join(&stream))).await;
    let row = stream_row(&app, &stream).await;
    assert_eq!((row.current_peers, row.peak_peers, row.total_connections), (17, 17, 17));

    futures_util::future::join_all(
        viewers.iter_mut().map(|v| v.send(json!({"type": "leave_stream"}))),
    )
    .await;
    // Departures are written as each leave is handled; wait for the last (bounded).
    let mut row = stream_row(&app, &stream).await;
    for _ in 0..200 {
        if row.current_peers == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        row = stream_row(&app, &stream).await;
    }
    assert_eq!((row.current_peers, row.peak_peers), (1, 17));
    assert!(connection_rows(&app, &stream).await.iter().filter(|c| c.left_at.is_some()).count() == 16);
});

db_test!(async fn stopping_the_domain_writes_what_is_buffered(backend) {
    let app = app(backend).await;
    let (alice, bob) = (app.create_user("alice").await, app.create_user("bob").await);
    let mut creator = Peer::connect(&app, &alice).await;
    let stream = creator.create("last words").await;
    let mut viewer = Peer::connect(&app, &bob).await;
    viewer.join(&stream).await;
    creator.expect("peer_joined").await;
    creator.send(frame("QUJDRA==", "keyframe", 1)).await;
    viewer.expect("video_frame").await;
    assert_eq!(stream_row(&app, &stream).await.frames, 0);

    // `start` hands back the running state (one per process); its `stop` is the last flush.
    let started = (plaza_streaming::DOMAIN.start)(&app.services).expect("streaming has state");
    started.stop(&app.services).await;
    let row = stream_row(&app, &stream).await;
    assert_eq!((row.frames, row.bytes), (1, 8));
});

//! Two servers sharing a database and a bus behave as one: peers on either are in one stream.
//! On the in-process bus here (two apps in one test process), and on Redis when `REDIS_URL` is
//! set. The real two-process test is in the end-to-end suite.

use actix_web::web;
use plaza_kernel::testing::{test_redis_url, unique_prefix, TestApp, TestBackend};
use plaza_kernel::{db_test, Bus, Realtime};
use serde_json::json;

use crate::support::{frame, get_json, Peer};

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
        .domain(&plaza_streaming::DOMAIN)
        .customize(with_bus(bus.clone()))
        .build()
        .await;
    let db = first.services.db.clone();
    let second = TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .domain(&plaza_streaming::DOMAIN)
        .customize(with_bus(bus))
        .customize(move |services| services.db = db)
        .build()
        .await;
    assert_ne!(
        first.services.realtime.instance_id(),
        second.services.realtime.instance_id()
    );
    (first, second)
}

async fn peers_on_two_servers_share_a_stream(first: &TestApp, second: &TestApp) {
    let (alice, bob, carol) = (
        first.create_user("alice").await,
        first.create_user("bob").await,
        first.create_user("carol").await,
    );
    let mut creator = Peer::connect(first, &alice).await;
    let stream = creator.create("across").await;
    let mut viewer = Peer::connect(second, &bob).await;
    let joined = viewer.join(&stream).await;
    assert_eq!(joined["peers"][0]["peer_id"], creator.peer_id);
    assert_eq!(
        creator.expect("peer_joined").await["peer_id"],
        viewer.peer_id
    );
    let mut local = Peer::connect(first, &carol).await;
    local.join(&stream).await;
    creator.expect("peer_joined").await;
    assert_eq!(viewer.expect("peer_joined").await["peer_id"], local.peer_id);

    viewer
        .send(json!({"type": "offer", "offer": {"sdp": "offer"}}))
        .await;
    assert_eq!(creator.expect("offer").await["peer_id"], viewer.peer_id);
    assert_eq!(local.expect("offer").await["peer_id"], viewer.peer_id);
    creator
        .send(json!({"type": "answer", "answer": {"sdp": "answer"}, "target_peer": viewer.peer_id}))
        .await;
    assert_eq!(viewer.expect("answer").await["answer"]["sdp"], "answer");
    viewer
        .send(json!({"type": "ice_candidate", "candidate": {"candidate": "c"}, "target_peer": creator.peer_id}))
        .await;
    assert_eq!(
        creator.expect("ice_candidate").await["peer_id"],
        viewer.peer_id
    );
    for i in 0..5 {
        creator.send(frame("RlJBTUU=", "deltaframe", i)).await;
    }
    for i in 0..5 {
        let got = viewer.expect("video_frame").await;
        assert_eq!(got["timestamp"], i, "in order");
        local.expect("video_frame").await;
    }
    creator.ws.send_binary(vec![9, 8, 7]).await;
    assert_eq!(viewer.ws.recv_binary().await, vec![9, 8, 7]);
    assert_eq!(local.ws.recv_binary().await, vec![9, 8, 7]);
    // Nothing came twice, nothing came back.
    for peer in [&mut creator, &mut viewer, &mut local] {
        peer.roundtrip().await;
    }

    viewer.send(json!({"type": "leave_stream"})).await;
    assert_eq!(creator.expect("peer_left").await["peer_id"], viewer.peer_id);
    local.expect("peer_left").await;
    viewer.join(&stream).await;
    creator.expect("peer_joined").await;
    local.expect("peer_joined").await;

    // Ending through the second server's API reaches the creator on the first.
    let res = second
        .post(&format!("/api/v1/streams/{stream}/end/"))
        .bearer_auth(&alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for peer in [&mut creator, &mut viewer, &mut local] {
        assert_eq!(peer.expect("stream_ended").await["stream_id"], stream);
    }
    let (_, detail) = get_json(first, &format!("/api/v1/streams/{stream}/"), None).await;
    assert_eq!(detail["status"], "ended");
    assert_eq!(detail["statistics"]["total_connections"], 4);
}

db_test!(async fn two_servers_on_one_bus_are_one_server(backend) {
    let (first, second) = pair(backend, Bus::in_memory()).await;
    peers_on_two_servers_share_a_stream(&first, &second).await;
});

db_test!(async fn two_servers_on_redis_are_one_server_redis(backend) {
    let Some(url) = test_redis_url() else { return };
    let bus = Bus::redis(&url, &unique_prefix()).await.unwrap();
    let (first, second) = pair(backend, bus).await;
    peers_on_two_servers_share_a_stream(&first, &second).await;
});

//! The WebSocket protocol, message for message, with real clients.

use plaza_kernel::auth::{tickets, Caller, Credential, Role};
use plaza_kernel::db_test;
use plaza_kernel::testing::{TestApp, WsClient};
use serde_json::{json, Value};

use crate::support::{app, app_with, frame, get_json, Peer};

db_test!(async fn the_upgrade_needs_valid_credentials(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;

    assert_eq!(WsClient::connect(&app.ws_url("/ws/webrtc/")).await.err(), Some(401));
    assert_eq!(
        WsClient::connect(&app.ws_url("/ws/webrtc/?token=forged.jwt.value")).await.err(),
        Some(401)
    );
    // A plain GET is not an upgrade.
    let res = app.get("/ws/webrtc/").send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "bad_request");

    // A token in the query, in the Authorization header, or a one-time ticket.
    Peer::connect(&app, &alice).await;
    let bearer = format!("Bearer {}", alice.access);
    let mut ws = WsClient::connect_with(&app.ws_url("/ws/webrtc/"), &[("Authorization", &bearer)])
        .await
        .unwrap();
    ws.expect("connection_established").await;
    let caller = Caller {
        id: alice.id,
        username: alice.username.clone(),
        role: Role::User,
        is_staff: false,
        is_superuser: false,
        credential: Credential::Ticket,
    };
    let ticket = tickets::issue(&app.services.cache, &caller).await.unwrap();
    let url = app.ws_url(&format!("/ws/webrtc/?ticket={ticket}"));
    let mut peer = Peer::connect_url(&url).await;
    let stream = peer.create("ticketed").await;
    assert_eq!(WsClient::connect(&url).await.err(), Some(401), "a ticket works once");
    let (_, detail) = get_json(&app, &format!("/api/v1/streams/{stream}/"), None).await;
    assert_eq!(detail["owner"]["username"], "alice");
});

db_test!(async fn two_peers_go_through_the_whole_protocol(backend) {
    let app = app(backend).await;
    let (alice, bob) = (app.create_user("alice").await, app.create_user("bob").await);
    let mut creator = Peer::connect(&app, &alice).await;
    let mut viewer = Peer::connect(&app, &bob).await;

    let stream = creator.create("Live from Plaza").await;
    let joined = viewer.join(&stream).await;
    assert_eq!(joined["title"], "Live from Plaza");
    assert_eq!(
        joined["peers"],
        json!([{"peer_id": creator.peer_id, "user": {"id": alice.id, "username": "alice"}}])
    );
    let hello = creator.expect("peer_joined").await;
    assert_eq!(hello["peer_id"], viewer.peer_id);
    assert_eq!(hello["user"], json!({"id": bob.id, "username": "bob"}));

    // The forum client's flow: the viewer offers to everyone, the creator answers it.
    let offer = json!({"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"});
    viewer.send(json!({"type": "offer", "offer": offer})).await;
    let got = creator.expect("offer").await;
    assert_eq!(got["offer"], offer);
    assert_eq!(got["peer_id"], viewer.peer_id);

    let answer = json!({"type": "answer", "sdp": "v=0\r\n"});
    creator
        .send(json!({"type": "answer", "answer": answer, "target_peer": viewer.peer_id}))
        .await;
    let got = viewer.expect("answer").await;
    assert_eq!(got, json!({"type": "answer", "answer": answer, "peer_id": creator.peer_id}));

    let candidate = json!({"candidate": "candidate:1 1 UDP 2122252543 192.0.2.1 54400 typ host", "sdpMLineIndex": 0, "sdpMid": "0"});
    creator
        .send(json!({"type": "ice_candidate", "candidate": candidate, "target_peer": "broadcast"}))
        .await;
    let got = viewer.expect("ice_candidate").await;
    assert_eq!(got["candidate"], candidate);
    assert_eq!(got["peer_id"], creator.peer_id);
    viewer
        .send(json!({"type": "ice_candidate", "candidate": candidate, "target_peer": creator.peer_id}))
        .await;
    assert_eq!(creator.expect("ice_candidate").await["peer_id"], viewer.peer_id);

    // Frames, text and binary, both ways.
    creator.send(frame("a2V5", "keyframe", 1_700_000_000_000)).await;
    let got = viewer.expect("video_frame").await;
    assert_eq!(
        got,
        json!({"type": "video_frame", "frame_data": "a2V5", "frame_type": "keyframe",
               "timestamp": 1_700_000_000_000_i64, "peer_id": creator.peer_id})
    );
    viewer.send(frame("ZGVsdGE=", "deltaframe", 5)).await;
    assert_eq!(creator.expect("video_frame").await["frame_data"], "ZGVsdGE=");
    creator.ws.send_binary(vec![0, 1, 2, 254, 255]).await;
    assert_eq!(viewer.ws.recv_binary().await, vec![0, 1, 2, 254, 255]);

    // Nobody received their own messages: the next thing each sees is its pong.
    creator.roundtrip().await;
    viewer.roundtrip().await;

    viewer.send(json!({"type": "leave_stream"})).await;
    assert_eq!(creator.expect("peer_left").await["peer_id"], viewer.peer_id);
    viewer.send(json!({"type": "offer", "offer": offer})).await;
    viewer.expect_error("not_in_stream").await;
    let (_, detail) = get_json(&app, &format!("/api/v1/streams/{stream}/"), Some(&alice)).await;
    assert_eq!(detail["status"], "live");
    assert_eq!(detail["current_peers"], 1);
    assert_eq!(detail["peak_peers"], 2);
});

db_test!(async fn ten_peers_route_broadcasts_and_targets(backend) {
    let app = app(backend).await;
    let mut users = Vec::new();
    for i in 0..10 {
        users.push(app.create_user(&format!("user{i}")).await);
    }
    let mut peers = Vec::new();
    for user in &users {
        peers.push(Peer::connect(&app, user).await);
    }
    let stream = peers[0].create("ten").await;
    for i in 1..10 {
        let joined = peers[i].join(&stream).await;
        assert_eq!(joined["peers"].as_array().unwrap().len(), i, "{joined}");
        for earlier in peers.iter_mut().take(i) {
            let hello = earlier.expect("peer_joined").await;
            assert_eq!(hello["user"]["username"], format!("user{i}"));
        }
    }

    // The creator's frame reaches all nine viewers.
    let creator = peers[0].peer_id.clone();
    peers[0].send(frame("ZnJhbWU=", "deltaframe", 1)).await;
    for viewer in peers.iter_mut().skip(1) {
        assert_eq!(viewer.expect("video_frame").await["peer_id"], creator);
    }

    // A viewer's broadcast offer reaches the nine others with its peer id.
    let sender = peers[5].peer_id.clone();
    peers[5].send(json!({"type": "offer", "offer": {"sdp": "x"}})).await;
    for (i, peer) in peers.iter_mut().enumerate() {
        if i != 5 {
            assert_eq!(peer.expect("offer").await["peer_id"], sender);
        }
    }

    // A targeted candidate reaches its target only.
    let target = peers[7].peer_id.clone();
    let from = peers[3].peer_id.clone();
    peers[3]
        .send(json!({"type": "ice_candidate", "candidate": {"candidate": "c"}, "target_peer": target}))
        .await;
    assert_eq!(peers[7].expect("ice_candidate").await["peer_id"], from);
    for peer in &mut peers {
        peer.roundtrip().await;
    }

    let (_, detail) = get_json(&app, &format!("/api/v1/streams/{stream}/"), None).await;
    assert_eq!(detail["current_peers"], 10);
    assert_eq!(detail["peers"].as_array().unwrap().len(), 10);
    assert_eq!(detail["peers"][0]["is_creator"], true);
});

db_test!(async fn every_error_leaves_the_connection_usable(backend) {
    let app = app_with(backend, &[("STREAM_MAX_MESSAGE_BYTES", "4096")]).await;
    let (alice, bob) = (app.create_user("alice").await, app.create_user("bob").await);
    let mut peer = Peer::connect(&app, &alice).await;

    let cases: Vec<(&str, String)> = vec![
        ("invalid_json", "{\"type\": \"ping\"".to_owned()),
        ("invalid_json", "not json at all".to_owned()),
        ("invalid_message", "[1, 2, 3]".to_owned()),
        ("invalid_message", r#"{"type": 42}"#.to_owned()),
        ("missing_field", r#"{"stream_id": "x"}"#.to_owned()),
        ("unknown_type", r#"{"type": "teleport"}"#.to_owned()),
        ("missing_field", r#"{"type": "join_stream"}"#.to_owned()),
        ("invalid_message", r#"{"type": "join_stream", "stream_id": 7}"#.to_owned()),
        ("missing_field", r#"{"type": "create_stream"}"#.to_owned()),
        ("invalid_message", r#"{"type": "create_stream", "title": "   "}"#.to_owned()),
        (
            "stream_not_found",
            format!(r#"{{"type": "join_stream", "stream_id": "{}"}}"#, uuid::Uuid::new_v4()),
        ),
        ("stream_not_found", r#"{"type": "join_stream", "stream_id": "nope"}"#.to_owned()),
        ("not_in_stream", r#"{"type": "offer", "offer": {"sdp": "x"}}"#.to_owned()),
        ("not_in_stream", frame("QQ==", "deltaframe", 1).to_string()),
        ("not_in_stream", r#"{"type": "leave_stream"}"#.to_owned()),
        ("missing_field", r#"{"type": "video_frame", "frame_type": "keyframe"}"#.to_owned()),
        ("message_too_large", frame(&"A".repeat(5000), "keyframe", 1).to_string()),
    ];
    for (code, text) in &cases {
        peer.ws.send_text(text.clone()).await;
        let error = peer.expect_error(code).await;
        assert!(!error["message"].as_str().unwrap().is_empty(), "{error}");
        peer.roundtrip().await;
    }
    peer.ws.send_binary(vec![1, 2, 3]).await;
    peer.expect_error("not_in_stream").await;
    peer.ws.send_binary(vec![0; 10_000]).await;
    peer.expect_error("message_too_large").await;
    peer.roundtrip().await;

    // In a stream: unknown peers, malformed signalling.
    let stream = peer.create("errors").await;
    let mut viewer = Peer::connect(&app, &bob).await;
    viewer.join(&stream).await;
    peer.expect("peer_joined").await;
    let in_stream: Vec<(&str, Value)> = vec![
        ("peer_not_found", json!({"type": "answer", "answer": {"sdp": "x"}, "target_peer": uuid::Uuid::new_v4()})),
        ("peer_not_found", json!({"type": "answer", "answer": {"sdp": "x"}, "target_peer": "not-a-peer"})),
        ("peer_not_found", json!({"type": "answer", "answer": {"sdp": "x"}, "target_peer": peer.peer_id})),
        ("missing_field", json!({"type": "answer", "answer": {"sdp": "x"}})),
        ("missing_field", json!({"type": "ice_candidate", "candidate": {"candidate": "c"}})),
        ("invalid_message", json!({"type": "offer", "offer": "v=0"})),
        ("invalid_message", json!({"type": "video_frame", "frame_data": "QQ==", "frame_type": "bframe"})),
    ];
    for (code, message) in in_stream {
        peer.send(message).await;
        peer.expect_error(code).await;
        peer.roundtrip().await;
    }
    // The viewer saw none of it.
    viewer.roundtrip().await;
    // A refused join changes nothing: the viewer is still in the stream.
    viewer
        .send(json!({"type": "join_stream", "stream_id": uuid::Uuid::new_v4()}))
        .await;
    viewer.expect_error("stream_not_found").await;
    peer.send(frame("QQ==", "deltaframe", 1)).await;
    viewer.expect("video_frame").await;

    // An ended stream cannot be joined.
    peer.send(json!({"type": "leave_stream"})).await;
    peer.expect("stream_ended").await;
    viewer.expect("stream_ended").await;
    viewer.send(json!({"type": "join_stream", "stream_id": stream})).await;
    viewer.expect_error("stream_not_live").await;
    viewer.roundtrip().await;
});

db_test!(async fn the_creator_leaving_ends_the_stream_for_every_viewer(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let mut creator = Peer::connect(&app, &alice).await;
    let stream = creator.create("ending").await;
    let mut viewers = Vec::new();
    for name in ["bob", "carol"] {
        let user = app.create_user(name).await;
        let mut viewer = Peer::connect(&app, &user).await;
        viewer.join(&stream).await;
        creator.expect("peer_joined").await;
        viewers.push(viewer);
    }
    viewers[0].expect("peer_joined").await; // carol
    for i in 0..3 {
        creator.send(frame("QUFBQQ==", "deltaframe", i)).await;
    }
    for viewer in &mut viewers {
        for _ in 0..3 {
            viewer.expect("video_frame").await;
        }
    }

    // `disconnect`: the creator leaves and the server closes its connection.
    creator.send(json!({"type": "disconnect"})).await;
    for viewer in &mut viewers {
        assert_eq!(viewer.expect("stream_ended").await["stream_id"], stream);
        viewer.send(frame("QQ==", "deltaframe", 9)).await;
        viewer.expect_error("not_in_stream").await;
    }
    let ended = creator.expect("stream_ended").await;
    assert_eq!(ended["stream_id"], stream);
    let (code, _) = creator.ws.expect_closed().await.expect("a close frame");
    assert_eq!(code, 1000);

    let (status, detail) = get_json(&app, &format!("/api/v1/streams/{stream}/"), None).await;
    assert_eq!(status, 200);
    assert_eq!(detail["status"], "ended");
    assert_eq!(detail["end_reason"], "creator_left");
    assert_eq!(detail["current_peers"], 0);
    assert_eq!(detail["peak_peers"], 3);
    assert_eq!(detail["peers"], json!([]));
    assert_eq!(detail["statistics"]["frames"], 3);
    assert_eq!(detail["statistics"]["bytes"], 24);
    assert_eq!(detail["statistics"]["total_connections"], 3);
    assert!(detail["ended_at"].as_str().unwrap().ends_with('Z'));
});

db_test!(async fn closing_the_socket_counts_as_leaving(backend) {
    let app = app(backend).await;
    let (alice, bob) = (app.create_user("alice").await, app.create_user("bob").await);
    let mut creator = Peer::connect(&app, &alice).await;
    let stream = creator.create("sockets").await;
    let mut viewer = Peer::connect(&app, &bob).await;
    viewer.join(&stream).await;
    creator.expect("peer_joined").await;
    let viewer_id = viewer.peer_id.clone();
    viewer.ws.close().await;
    assert_eq!(creator.expect("peer_left").await["peer_id"], viewer_id);
    drop(creator);
    // The creator's connection dropping ends the stream.
    for _ in 0..200 {
        let (_, detail) = get_json(&app, &format!("/api/v1/streams/{stream}/"), None).await;
        if detail["status"] == "ended" {
            assert_eq!(detail["end_reason"], "creator_left");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the stream did not end when its creator disconnected");
});

db_test!(async fn switching_streams_and_rejoining(backend) {
    let app = app(backend).await;
    let (alice, bob, carol) = (
        app.create_user("alice").await,
        app.create_user("bob").await,
        app.create_user("carol").await,
    );
    let mut a = Peer::connect(&app, &alice).await;
    let mut b = Peer::connect(&app, &bob).await;
    let mut c = Peer::connect(&app, &carol).await;
    let first = a.create("first").await;
    let second = b.create("second").await;
    c.join(&first).await;
    a.expect("peer_joined").await;
    // Joining the same stream again answers the same and announces nothing.
    let again = c.join(&first).await;
    assert_eq!(again["peers"].as_array().unwrap().len(), 1);
    a.roundtrip().await;
    // Joining another stream leaves the first.
    c.join(&second).await;
    assert_eq!(a.expect("peer_left").await["peer_id"], c.peer_id);
    assert_eq!(b.expect("peer_joined").await["peer_id"], c.peer_id);
    // A creator starting another stream ends its first one.
    c.send(json!({"type": "leave_stream"})).await;
    b.expect("peer_left").await;
    a.send(json!({"type": "create_stream", "title": "third"})).await;
    assert_eq!(a.expect("stream_ended").await["stream_id"], first);
    let third = a.expect("stream_created").await["stream_id"].clone();
    assert_ne!(third, first.as_str());
    let (_, detail) = get_json(&app, &format!("/api/v1/streams/{first}/"), None).await;
    assert_eq!(detail["status"], "ended");
});

db_test!(async fn anonymous_viewers_join_public_streams_only_when_allowed(backend) {
    let app = app_with(backend, &[("STREAM_ALLOW_ANONYMOUS", "true")]).await;
    let alice = app.create_user("alice").await;
    let mut creator = Peer::connect(&app, &alice).await;
    let public = creator.create("public").await;
    let mut owner2 = Peer::connect(&app, &app.create_user("dave").await).await;
    owner2
        .send(json!({"type": "create_stream", "title": "private", "is_public": false}))
        .await;
    let private = owner2.expect("stream_created").await["stream_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut anonymous = Peer::connect_url(&app.ws_url("/ws/webrtc/")).await;
    anonymous
        .send(json!({"type": "create_stream", "title": "mine"}))
        .await;
    anonymous.expect_error("not_authenticated").await;
    anonymous.send(json!({"type": "join_stream", "stream_id": private})).await;
    anonymous.expect_error("not_authenticated").await;
    let joined = anonymous.join(&public).await;
    assert_eq!(joined["peers"][0]["user"]["username"], "alice");
    let hello = creator.expect("peer_joined").await;
    assert_eq!(hello["user"], Value::Null);
    creator.send(frame("QQ==", "keyframe", 1)).await;
    anonymous.expect("video_frame").await;

    // Without the setting, no anonymous upgrade at all.
    let closed = crate::support::app(plaza_kernel::testing::TestBackend::Sqlite).await;
    assert_eq!(WsClient::connect(&closed.ws_url("/ws/webrtc/")).await.err(), Some(401));
    drop::<TestApp>(closed);
});

db_test!(async fn a_silent_client_is_closed_and_a_live_one_is_kept(backend) {
    // A client that reads answers the server's pings, and that keeps it connected.
    let app = app_with(
        backend.clone(),
        &[("STREAM_HEARTBEAT_INTERVAL", "1"), ("STREAM_CLIENT_TIMEOUT", "2")],
    )
    .await;
    let bob = app.create_user("bob").await;
    let mut live = Peer::connect(&app, &bob).await;
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(3500), live.ws.recv()).await;
    assert!(quiet.is_err(), "nothing but pings arrives: {quiet:?}");
    live.roundtrip().await;

    // One that sends nothing is closed after the client timeout. (No ping goes out first
    // here: a test client reading pings after the close would answer them into a closed
    // socket and lose the close frame.)
    let app = app_with(
        backend,
        &[("STREAM_HEARTBEAT_INTERVAL", "60"), ("STREAM_CLIENT_TIMEOUT", "2")],
    )
    .await;
    let alice = app.create_user("alice").await;
    let mut silent = Peer::connect(&app, &alice).await;
    let (code, reason) = silent.ws.expect_closed().await.expect("a close frame");
    assert_eq!((code, reason.as_str()), (1008, "heartbeat timeout"));
});

db_test!(async fn a_viewer_that_only_receives_stays_connected(backend) {
    let app = app_with(
        backend,
        &[("STREAM_HEARTBEAT_INTERVAL", "1"), ("STREAM_CLIENT_TIMEOUT", "2")],
    )
    .await;
    let (alice, bob) = (app.create_user("alice").await, app.create_user("bob").await);
    let mut creator = Peer::connect(&app, &alice).await;
    let stream = creator.create("busy").await;
    let mut viewer = Peer::connect(&app, &bob).await;
    viewer.join(&stream).await;
    creator.expect("peer_joined").await;

    // A steady flow of frames for longer than the client timeout: the viewer sends nothing
    // but the pongs to the server's pings, which must get through the busy queue.
    let frames = 400;
    let reader = tokio::spawn(async move {
        for _ in 0..frames {
            viewer.expect("video_frame").await;
        }
        viewer
    });
    let creator_task = tokio::spawn(async move {
        let mut creator = creator;
        for i in 0..frames {
            creator.send(frame("QUJD", "deltaframe", i)).await;
            if i % 40 == 0 {
                creator.roundtrip().await; // the creator answers pings too
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        creator
    });
    let mut viewer = reader.await.unwrap();
    let _creator = creator_task.await.unwrap();
    viewer.roundtrip().await;
});

db_test!(async fn creating_and_joining_are_limited_per_user(backend) {
    let app = app_with(
        backend,
        &[("THROTTLE_STREAM_CREATE", "1/m"), ("THROTTLE_STREAM_JOIN", "2/m")],
    )
    .await;
    let (alice, bob) = (app.create_user("alice").await, app.create_user("bob").await);
    let mut a = Peer::connect(&app, &alice).await;
    let first = a.create("first").await;
    a.send(json!({"type": "create_stream", "title": "second"})).await;
    a.expect_error("throttled").await;
    // The refusal changed nothing: the first stream is still live.
    let (_, detail) = get_json(&app, &format!("/api/v1/streams/{first}/"), None).await;
    assert_eq!(detail["status"], "live");

    let mut b = Peer::connect(&app, &bob).await;
    b.join(&first).await;
    b.join(&first).await;
    b.send(json!({"type": "join_stream", "stream_id": first})).await;
    b.expect_error("throttled").await;
    // Another connection of the same user shares the count; another user does not.
    let mut b2 = Peer::connect(&app, &bob).await;
    b2.send(json!({"type": "join_stream", "stream_id": first})).await;
    b2.expect_error("throttled").await;
    let mut c = Peer::connect(&app, &app.create_user("carol").await).await;
    c.join(&first).await;
});

//! `/api/v1/streams/`: list, detail, end, ICE servers.

use actix_web::web;
use plaza_kernel::db_test;
use plaza_kernel::testing::TestApp;
use plaza_streaming::ice::turn_credentials;
use plaza_streaming::StreamingSettings;
use serde_json::{json, Value};

use crate::support::{app, app_with, get_json, Peer};

db_test!(async fn lists_filter_order_and_hide_private_streams(backend) {
    let app = app(backend).await;
    let (alice, bob, staff) = (
        app.create_user("alice").await,
        app.create_user("bob").await,
        app.create_staff("root").await,
    );
    let mut a = Peer::connect(&app, &alice).await;
    let mut b = Peer::connect(&app, &bob).await;
    let first = a.create("Morning 50% show").await;
    a.send(json!({"type": "leave_stream"})).await; // ends it
    a.expect("stream_ended").await;
    let second = a.create("Evening show").await;
    b.send(json!({"type": "create_stream", "title": "Bob's secret", "is_public": false}))
        .await;
    let secret = b.expect("stream_created").await["stream_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let ids = |page: &Value| -> Vec<String> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // Anonymous and others see public streams, newest first; the owner and staff see more.
    let (status, page) = get_json(&app, "/api/v1/streams/", None).await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 2);
    assert_eq!(ids(&page), vec![second.clone(), first.clone()]);
    assert_eq!(page["next"], Value::Null);
    let item = &page["results"][0];
    assert_eq!(item["owner"]["username"], "alice");
    assert_eq!(item["status"], "live");
    assert_eq!(item["current_peers"], 1);
    assert!(item["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(get_json(&app, "/api/v1/streams/", Some(&alice)).await.1["count"], 2);
    assert_eq!(get_json(&app, "/api/v1/streams/", Some(&bob)).await.1["count"], 3);
    assert_eq!(get_json(&app, "/api/v1/streams/", Some(&staff)).await.1["count"], 3);

    let (_, live) = get_json(&app, "/api/v1/streams/?status=live", Some(&staff)).await;
    assert_eq!(live["count"], 2);
    let (_, ended) = get_json(&app, "/api/v1/streams/?status=ended", None).await;
    assert_eq!(ids(&ended), vec![first.clone()]);
    assert_eq!(ended["results"][0]["end_reason"], "creator_left");
    let (_, mine) = get_json(&app, &format!("/api/v1/streams/?owner={}", bob.id), Some(&bob)).await;
    assert_eq!(ids(&mine), vec![secret.clone()]);
    let (_, found) = get_json(&app, "/api/v1/streams/?search=show%20morning", None).await;
    assert_eq!(ids(&found), vec![first.clone()]);
    let (_, literal) = get_json(&app, "/api/v1/streams/?search=50%25", None).await;
    assert_eq!(ids(&literal), vec![first.clone()], "% is not a wildcard");
    let (_, none) = get_json(&app, "/api/v1/streams/?search=0%25_", None).await;
    assert_eq!(none["count"], 0);
    let (_, oldest) = get_json(&app, "/api/v1/streams/?ordering=created_at", None).await;
    assert_eq!(ids(&oldest), vec![first.clone(), second.clone()]);
    let (_, paged) = get_json(&app, "/api/v1/streams/?page_size=1&page=2", None).await;
    assert_eq!(ids(&paged), vec![first.clone()]);
    assert!(paged["previous"].as_str().unwrap().starts_with("http://"));

    for (query, field) in [
        ("status=paused", "status"),
        ("ordering=title", "ordering"),
        ("owner=alice", "owner"),
    ] {
        let (status, body) = get_json(&app, &format!("/api/v1/streams/?{query}"), None).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["code"], "validation_error");
        assert!(body["errors"][field].is_array(), "{body}");
    }
    let (status, body) = get_json(&app, "/api/v1/streams/?page=9", None).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Invalid page.")));
    let res = app.delete("/api/v1/streams/").send().await.unwrap();
    assert_eq!(res.status(), 405);
});

db_test!(async fn detail_shows_peers_and_private_streams_to_members_only(backend) {
    let app = app(backend).await;
    let (alice, bob) = (app.create_user("alice").await, app.create_user("bob").await);
    let mut a = Peer::connect(&app, &alice).await;
    a.send(json!({"type": "create_stream", "title": "unlisted", "is_public": false}))
        .await;
    let stream = a.expect("stream_created").await["stream_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut b = Peer::connect(&app, &bob).await;
    b.join(&stream).await;

    let path = format!("/api/v1/streams/{stream}/");
    let (status, body) = get_json(&app, &path, None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, detail) = get_json(&app, &path, Some(&bob)).await;
    assert_eq!(status, 200);
    assert_eq!(detail["id"], stream);
    assert_eq!(detail["is_public"], false);
    assert_eq!(detail["owner"]["id"], alice.id);
    let peers = detail["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 2);
    assert_eq!(peers[0]["peer_id"], a.peer_id);
    assert_eq!(peers[0]["is_creator"], true);
    assert_eq!(peers[0]["user"], json!({"id": alice.id, "username": "alice"}));
    assert_eq!(peers[1]["peer_id"], b.peer_id);
    assert_eq!(peers[1]["is_creator"], false);
    assert_eq!(detail["statistics"]["current_peers"], 2);
    assert!(detail["statistics"]["duration_seconds"].as_i64().unwrap() >= 0);

    for missing in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        let (status, body) = get_json(&app, &format!("/api/v1/streams/{missing}/"), Some(&bob)).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    }
});

db_test!(async fn ending_through_the_api_is_for_the_owner_or_staff(backend) {
    let app = app(backend).await;
    let (alice, bob, staff) = (
        app.create_user("alice").await,
        app.create_user("bob").await,
        app.create_staff("root").await,
    );
    let mut a = Peer::connect(&app, &alice).await;
    let stream = a.create("to end").await;
    let mut b = Peer::connect(&app, &bob).await;
    b.join(&stream).await;
    a.expect("peer_joined").await;
    let path = format!("/api/v1/streams/{stream}/end/");

    let res = app.post(&path).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app.post(&path).bearer_auth(&bob.access).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "permission_denied");
    let res = app.get(&path).bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(res.status(), 405);

    let res = app.post(&path).bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let detail: Value = res.json().await.unwrap();
    assert_eq!(detail["status"], "ended");
    assert_eq!(detail["end_reason"], "ended_by_owner");
    assert_eq!(detail["peers"], json!([]));
    // Both peers are told and removed; the creator's later leave changes nothing.
    assert_eq!(a.expect("stream_ended").await["stream_id"], stream);
    assert_eq!(b.expect("stream_ended").await["stream_id"], stream);
    a.send(json!({"type": "leave_stream"})).await;
    a.expect_error("not_in_stream").await;
    b.send(json!({"type": "offer", "offer": {}})).await;
    b.expect_error("not_in_stream").await;

    let res = app.post(&path).bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "conflict");
    let res = app
        .post(&format!("/api/v1/streams/{}/end/", uuid::Uuid::new_v4()))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // Staff may end anyone's stream.
    let other = b.create("bob's").await;
    let res = app
        .post(&format!("/api/v1/streams/{other}/end/"))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["end_reason"], "ended_by_staff");
    b.expect("stream_ended").await;
});

db_test!(async fn ice_servers_hand_out_stun_and_time_limited_turn(backend) {
    let plain = app(backend.clone()).await;
    let alice = plain.create_user("alice").await;
    let (status, _) = get_json(&plain, "/api/v1/streams/ice-servers/", None).await;
    assert_eq!(status, 401);
    let (status, body) = get_json(&plain, "/api/v1/streams/ice-servers/", Some(&alice)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"ice_servers": [{"urls": ["stun:stun.l.google.com:19302"]}], "ttl": null, "expires_at": null})
    );

    let turn = app_with(
        backend,
        &[
            ("STUN_URLS", "stun:stun.example.org:3478"),
            ("TURN_URLS", "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349"),
            ("TURN_SECRET", "coturn-shared-secret"),
            ("TURN_TTL", "2h"),
            ("STREAM_ALLOW_ANONYMOUS", "yes"),
        ],
    )
    .await;
    let bob = turn.create_user("bob").await;
    let (status, body) = get_json(&turn, "/api/v1/streams/ice-servers/", Some(&bob)).await;
    assert_eq!(status, 200);
    assert_eq!(body["ttl"], 7200);
    let server = &body["ice_servers"][1];
    assert_eq!(
        server["urls"],
        json!(["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"])
    );
    let username = server["username"].as_str().unwrap();
    let (expiry, user) = username.split_once(':').unwrap();
    assert_eq!(user, bob.id.to_string());
    let expiry: i64 = expiry.parse().unwrap();
    assert_eq!(
        server["credential"].as_str().unwrap(),
        turn_credentials("coturn-shared-secret", user, expiry).1
    );
    let expires_at = chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert_eq!(expires_at, expiry);
    // Anonymous viewers are allowed here, so they get credentials too.
    let (status, body) = get_json(&turn, "/api/v1/streams/ice-servers/", None).await;
    assert_eq!(status, 200);
    assert!(body["ice_servers"][1]["username"]
        .as_str()
        .unwrap()
        .ends_with(":anonymous"));
});

db_test!(async fn mounted_alone_it_reads_the_settings_in_app_data_or_the_defaults(backend) {
    // Only the routes, no domain: the runtime starts on first use, the defaults apply.
    let bare = TestApp::builder(backend.clone())
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_streaming::configure)
        .env("STREAM_ALLOW_ANONYMOUS", "true") // not seen: nothing parses the section
        .build()
        .await;
    let (status, _) = get_json(&bare, "/api/v1/streams/ice-servers/", None).await;
    assert_eq!(status, 401);
    let alice = bare.create_user("alice").await;
    let mut creator = Peer::connect(&bare, &alice).await;
    let stream = creator.create("alone").await;
    let (status, detail) = get_json(&bare, &format!("/api/v1/streams/{stream}/"), None).await;
    assert_eq!((status, detail["current_peers"].clone()), (200, json!(1)));

    // With the section in app data, as the README shows.
    let custom = TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(|cfg| {
            let mut settings = StreamingSettings::defaults();
            settings.allow_anonymous = true;
            cfg.app_data(web::Data::new(settings));
            plaza_streaming::configure(cfg);
        })
        .build()
        .await;
    let (status, body) = get_json(&custom, "/api/v1/streams/ice-servers/", None).await;
    assert_eq!(status, 200, "{body}");
    Peer::connect_url(&custom.ws_url("/ws/webrtc/")).await;
});

//! Virtual worlds against the real binary: two users enter a world and meet over the presence
//! socket (moves, chat, an object placed over REST, a disconnect), on one process, then on two
//! `plaza serve` processes sharing MySQL and Redis.

use plaza_e2e::{post_as as post, register, Account, MysqlDb, Plaza};
use plaza_kernel::testing::WsClient;
use serde_json::json;

const SECRET: &str = "e2e-metaverse-secret-0123456789abcdefghijklmnop";

async fn ticket(plaza: &Plaza, who: &Account) -> String {
    let (status, body) = post(plaza, who, "/api/v1/auth/ws-ticket/", json!({})).await;
    assert_eq!(status, 200, "{body}");
    body["ticket"].as_str().unwrap().to_owned()
}

/// Alice on `first`, Bob on `second` (possibly the same process).
async fn meet(first: &Plaza, second: &Plaza) {
    let alice = register(first, "alice").await;
    let bob = register(second, "bob").await;
    let (status, world) = post(
        first,
        &alice,
        "/api/v1/metaverse/worlds/",
        json!({"name": "Square", "max_users": 10}),
    )
    .await;
    assert_eq!(status, 201, "{world}");
    let w = world["id"].as_i64().unwrap();
    let (status, chair) = post(
        first,
        &alice,
        "/api/v1/metaverse/objects/",
        json!({"name": "Chair", "kind": "furniture"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        post(
            first,
            &alice,
            &format!("/api/v1/metaverse/worlds/{w}/enter/"),
            json!({})
        )
        .await
        .0,
        201
    );
    assert_eq!(
        post(
            second,
            &bob,
            &format!("/api/v1/metaverse/worlds/{w}/enter/"),
            json!({})
        )
        .await
        .0,
        201
    );

    // Alice with a token, Bob with a one-time ticket as a browser would.
    let mut a = WsClient::connect(
        &first.ws_url(&format!("/ws/metaverse/worlds/{w}/?token={}", alice.token)),
    )
    .await
    .unwrap();
    a.expect("presence").await;
    let t = ticket(second, &bob).await;
    let mut b = WsClient::connect(&second.ws_url(&format!("/ws/metaverse/worlds/{w}/?ticket={t}")))
        .await
        .unwrap();
    let hello = b.expect("presence").await;
    assert_eq!(hello["users"][0]["user_id"], alice.id, "{hello}");
    assert_eq!(a.expect("user_joined").await["user"]["user_id"], bob.id);

    a.send_json(&json!({"type": "move", "position": {"x": 3, "y": 0, "z": 4}, "rotation": {"x": 0, "y": 180, "z": 0}})).await;
    let moved = b.expect("user_moved").await;
    assert_eq!(
        (moved["user_id"].as_i64(), moved["position"]["x"].as_f64()),
        (Some(alice.id), Some(3.0))
    );
    a.send_json(&json!({"type": "chat", "text": "hi bob"}))
        .await;
    assert_eq!(b.expect("chat").await["text"], "hi bob");
    a.send_json(&json!({"type": "move", "position": {"x": 1e9, "y": 0, "z": 0}}))
        .await;
    a.expect_error("invalid_position").await;

    let (status, placed) = post(
        first,
        &alice,
        &format!("/api/v1/metaverse/worlds/{w}/objects/"),
        json!({"object_id": chair["id"], "position": {"x": 1, "y": 0, "z": 1}}),
    )
    .await;
    assert_eq!(status, 201, "{placed}");
    for ws in [&mut a, &mut b] {
        let changed = ws.expect("object_changed").await;
        assert_eq!(changed["instance"]["id"], placed["id"]);
    }

    b.close().await;
    assert_eq!(a.expect("user_left").await["user_id"], bob.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_meet_in_a_world() {
    let plaza = Plaza::builder().env("SECRET_KEY", SECRET).start().await;
    meet(&plaza, &plaza).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_a_world_through_mysql_and_redis() {
    let Some(mysql) = MysqlDb::new() else { return };
    let Ok(redis) = std::env::var("REDIS_URL") else {
        assert!(
            std::env::var("PLAZA_TEST_REQUIRE_REDIS").as_deref() != Ok("1"),
            "REDIS_URL required"
        );
        return;
    };
    let prefix = format!("plaza-e2e-{}:", uuid::Uuid::new_v4().simple());
    let env = [
        ("SECRET_KEY", SECRET),
        ("DATABASE_URL", mysql.url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let start = |env: [(&'static str, &str); 4]| {
        let mut builder = Plaza::builder();
        for (key, value) in env {
            builder = builder.env(key, value);
        }
        builder.start()
    };
    let first = start(env).await;
    let second = start(env).await;
    meet(&first, &second).await;
}

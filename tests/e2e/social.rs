//! The social domain through the real binary: befriending, messaging, and notifications pushed
//! to the recipient's sockets — in one process, and across two processes sharing MySQL and
//! Redis.

use plaza_e2e::{register, Account, MysqlDb, Plaza};
use plaza_kernel::testing::WsClient;
use serde_json::{json, Value};

const SECRET: &str = "e2e-social-secret-0123456789abcdefghijklmnopqrs";

/// `POST` as `account`, asserting `expected`.
async fn post(plaza: &Plaza, account: &Account, path: &str, body: Value, expected: u16) -> Value {
    let res = plaza
        .client
        .post(plaza.url(path))
        .bearer_auth(&account.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, expected, "POST {path}: {body}");
    body
}

/// Opens `account`'s notifications socket with a one-time ticket, as a browser does.
async fn socket(plaza: &Plaza, account: &Account) -> WsClient {
    let ticket = post(plaza, account, "/api/v1/auth/ws-ticket/", json!({}), 200).await;
    let ticket = ticket["ticket"].as_str().unwrap();
    let mut ws = WsClient::connect(&plaza.ws_url(&format!("/ws/notifications/?ticket={ticket}")))
        .await
        .unwrap();
    assert_eq!(
        ws.expect("connected").await["user_id"].as_i64(),
        Some(account.id)
    );
    ws
}

/// Ann asks, Bob (listening on `bob_socket`) is told, accepts; Ann writes; Bob's socket
/// receives the message and its notification.
async fn befriend_and_write(
    ann_side: &Plaza,
    bob_side: &Plaza,
    ann: &Account,
    bob: &Account,
    bob_socket: &mut WsClient,
) {
    let request = post(
        ann_side,
        ann,
        "/api/v1/social/friends/requests/",
        json!({"to_user_id": bob.id}),
        201,
    )
    .await;
    let note = bob_socket.expect("notification").await;
    assert_eq!(note["notification"]["kind"], "friend_request");
    assert_eq!(note["notification"]["data"]["request_id"], request["id"]);
    let id = request["id"].as_i64().unwrap();
    post(
        bob_side,
        bob,
        &format!("/api/v1/social/friends/requests/{id}/accept/"),
        json!({}),
        200,
    )
    .await;

    let sent = post(
        ann_side,
        ann,
        "/api/v1/social/messages/",
        json!({"recipient_id": bob.id, "content": "hello Bob"}),
        201,
    )
    .await;
    let message = bob_socket.expect("message").await;
    assert_eq!(message["message"]["id"], sent["id"]);
    assert_eq!(message["message"]["content"], "hello Bob");
    assert_eq!(message["message"]["sender"]["id"].as_i64(), Some(ann.id));
    let note = bob_socket.expect("notification").await;
    assert_eq!(note["notification"]["kind"], "message");
    assert_eq!(note["notification"]["actor"]["id"].as_i64(), Some(ann.id));
}

#[tokio::test]
async fn friends_write_and_the_recipients_socket_hears_it() {
    let mut plaza = Plaza::builder()
        .env("SECRET_KEY", SECRET)
        .env("WORKER_POLL_INTERVAL", "1")
        .start()
        .await;
    let ann = register(&plaza, "ann").await;
    let bob = register(&plaza, "bob").await;
    let res = plaza
        .client
        .get(plaza.url("/ws/notifications/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let mut bobs = socket(&plaza, &bob).await;
    let mut anns = socket(&plaza, &ann).await;
    befriend_and_write(&plaza, &plaza, &ann, &bob, &mut bobs).await;
    assert_eq!(
        anns.expect("notification").await["notification"]["kind"],
        "friend_accepted"
    );

    // The forum tells a post's author of a reply through a notice job, run by the server's
    // worker, and the author's socket hears it.
    let forum_post = post(
        &plaza,
        &ann,
        "/api/v1/posts/",
        json!({"title": "Routes", "content": "Which crag?"}),
        201,
    )
    .await;
    let pid = forum_post["id"].as_i64().unwrap();
    let reply = post(
        &plaza,
        &bob,
        &format!("/api/v1/posts/{pid}/replies/"),
        json!({"content": "The north one."}),
        201,
    )
    .await;
    let note = anns.expect("notification").await;
    assert_eq!(note["notification"]["kind"], "forum_reply");
    assert_eq!(note["notification"]["data"]["post_id"], pid);
    assert_eq!(note["notification"]["data"]["reply_id"], reply["id"]);

    let res = plaza
        .client
        .get(plaza.url("/api/v1/social/notifications/unread-count/"))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    let unread: Value = res.json().await.unwrap();
    assert_eq!(unread["count"], 2);
    bobs.close().await;
    anns.close().await;
    assert!(plaza.stop().success());
}

#[tokio::test]
async fn a_notification_made_on_one_process_reaches_a_socket_on_the_other() {
    let Some(mysql) = MysqlDb::new() else { return };
    let Ok(redis) = std::env::var("REDIS_URL") else {
        assert!(
            std::env::var("PLAZA_TEST_REQUIRE_REDIS").as_deref() != Ok("1"),
            "REDIS_URL required"
        );
        return;
    };
    let prefix = format!("plaza-e2e-{}:", uuid::Uuid::new_v4().simple());
    let start = || {
        Plaza::builder()
            .env("SECRET_KEY", SECRET)
            .env("DATABASE_URL", &mysql.url)
            .env("REDIS_URL", &redis)
            .env("REDIS_KEY_PREFIX", &prefix)
            .start()
    };
    let mut first = start().await;
    let mut second = start().await;
    let ann = register(&first, "ann").await;
    let bob = register(&second, "bob").await;
    // Bob listens on both processes; everything Ann does goes through the first.
    let mut on_second = socket(&second, &bob).await;
    let mut on_first = socket(&first, &bob).await;
    befriend_and_write(&first, &second, &ann, &bob, &mut on_second).await;
    assert_eq!(
        on_first.expect("notification").await["notification"]["kind"],
        "friend_request"
    );
    assert_eq!(
        on_first.expect("message").await["message"]["content"],
        "hello Bob"
    );
    assert_eq!(
        on_first.expect("notification").await["notification"]["kind"],
        "message"
    );
    on_second.close().await;
    on_first.close().await;
    assert!(first.stop().success());
    assert!(second.stop().success());
}

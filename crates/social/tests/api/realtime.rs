//! WS `/ws/notifications/`: authentication, and what reaches every open socket of a user.

use plaza_kernel::db_test;
use plaza_kernel::jobs::JobRegistry;
use plaza_kernel::notices::{self, Notice};
use plaza_kernel::testing::WsClient;
use plaza_kernel::UserId;
use serde_json::json;

use crate::support::{app, befriend, post, publish};

db_test!(async fn the_socket_needs_an_upgrade_and_credentials(backend) {
    let app = app(backend).await;
    let res = app.get("/ws/notifications/").send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(WsClient::connect(&app.ws_url("/ws/notifications/")).await.err(), Some(401));
    assert_eq!(
        WsClient::connect(&app.ws_url("/ws/notifications/?token=nonsense")).await.err(),
        Some(401)
    );
});

db_test!(async fn every_socket_of_the_recipient_receives_messages_and_notifications(backend) {
    let app = app(backend).await;
    let (ann, bob) = (app.create_user("ann").await, app.create_user("bob").await);
    let url = app.ws_url(&format!("/ws/notifications/?token={}", bob.access));
    let mut first = WsClient::connect(&url).await.unwrap();
    let mut second = WsClient::connect(&url).await.unwrap();
    let mut anns = WsClient::connect(&app.ws_url(&format!("/ws/notifications/?token={}", ann.access))).await.unwrap();
    for socket in [&mut first, &mut second] {
        assert_eq!(socket.expect("connected").await["user_id"].as_i64(), Some(bob.id));
    }
    anns.expect("connected").await;

    befriend(&app, &ann, &bob).await;
    for socket in [&mut first, &mut second] {
        assert_eq!(socket.expect("notification").await["notification"]["kind"], "friend_request");
    }
    assert_eq!(anns.expect("notification").await["notification"]["kind"], "friend_accepted");

    let sent = post(&app, "/messages/", &ann, json!({"recipient_id": bob.id, "content": "psst"}), 201).await;
    for socket in [&mut first, &mut second] {
        let message = socket.expect("message").await;
        assert_eq!(message["message"]["id"], sent["id"]);
        assert_eq!(message["message"]["content"], "psst");
        let note = socket.expect("notification").await;
        assert_eq!(note["notification"]["kind"], "message");
        assert_eq!(note["notification"]["actor"]["username"], "ann");
    }

    // A like and another domain's notice (run by a worker) arrive the same way.
    let id = publish(&app, &bob, "bob's", "public").await;
    post(&app, &format!("/posts/{id}/like/"), &ann, json!({}), 200).await;
    assert_eq!(first.expect("notification").await["notification"]["kind"], "like");
    let (b, a) = (UserId(bob.id), UserId(ann.id));
    app.db()
        .run(move |conn| {
            notices::send(conn, &Notice::new(b, "forum_reply").actor(a).data(json!({"post_id": 1})))?;
            Ok(())
        })
        .await
        .unwrap();
    let mut registry = JobRegistry::new();
    (plaza_social::DOMAIN.jobs)(&mut registry);
    app.run_jobs(registry).await;
    let note = first.expect("notification").await;
    assert_eq!(note["notification"]["kind"], "forum_reply");
    assert_eq!(note["notification"]["data"]["post_id"], 1);

    // Ann's socket got nothing of Bob's; a text ping is answered.
    anns.send_text("ping").await;
    assert_eq!(anns.expect("pong").await["type"], "pong");
    first.close().await;
    second.close().await;
});

//! Notifications: listing, read marks, deletion, and other domains' notices.

use plaza_kernel::db_test;
use plaza_kernel::jobs::JobRegistry;
use plaza_kernel::notices::{self, Notice};
use plaza_kernel::UserId;
use reqwest::Method;
use serde_json::json;

use crate::support::{app, call, delete, get, notification_kinds, post};

db_test!(async fn notifications_are_listed_read_and_deleted(backend) {
    let app = app(backend).await;
    let (ann, bob, cat) = (
        app.create_user("ann").await,
        app.create_user("bob").await,
        app.create_user("cat").await,
    );
    post(&app, &format!("/users/{}/follow/", ann.id), &bob, json!({}), 201).await;
    post(&app, &format!("/users/{}/follow/", ann.id), &cat, json!({}), 201).await;
    post(&app, "/friends/requests/", &bob, json!({"to_user_id": ann.id}), 201).await;
    assert_eq!(get(&app, "/notifications/unread-count/", &ann).await["count"], 3);
    let list = get(&app, "/notifications/", &ann).await;
    let first = &list["results"][0];
    assert_eq!(first["kind"], "friend_request");
    assert_eq!(first["actor"]["username"], "bob");
    assert_eq!(first["is_read"], false);
    let id = first["id"].as_i64().unwrap();

    // Nobody else's.
    let (status, _) = call(&app, Method::POST, &format!("/notifications/{id}/read/"), &bob, None).await;
    assert_eq!(status, 404);
    delete(&app, &format!("/notifications/{id}/"), &bob, 404).await;

    let read = post(&app, &format!("/notifications/{id}/read/"), &ann, json!({}), 200).await;
    assert_eq!(read["is_read"], true);
    assert_eq!(get(&app, "/notifications/?unread=true", &ann).await["results"].as_array().unwrap().len(), 2);
    assert_eq!(get(&app, "/notifications/unread-count/", &ann).await["count"], 2);
    let page = get(&app, "/notifications/?page_size=1", &ann).await;
    assert!(page["next_cursor"].is_string());
    let all = post(&app, "/notifications/read-all/", &ann, json!({}), 200).await;
    assert_eq!(all["updated"], 2);
    assert_eq!(get(&app, "/notifications/unread-count/", &ann).await["count"], 0);
    delete(&app, &format!("/notifications/{id}/"), &ann, 204).await;
    assert_eq!(notification_kinds(&app, &ann).await, vec!["new_follower", "new_follower"]);
});

db_test!(async fn notices_from_other_domains_become_notifications(backend) {
    let app = app(backend).await;
    let (ann, bob, cat) = (
        app.create_user("ann").await,
        app.create_user("bob").await,
        app.create_user("cat").await,
    );
    post(&app, &format!("/users/{}/block/", cat.id), &ann, json!({}), 201).await;
    let (a, b, c) = (UserId(ann.id), UserId(bob.id), UserId(cat.id));
    app.db()
        .transaction(move |conn| {
            notices::send(conn, &Notice::new(a, "forum_reply").actor(b).data(json!({"post_id": 7, "reply_id": 9})))?;
            // Dropped: about one's own action, and across a block.
            notices::send(conn, &Notice::new(a, "forum_reply").actor(a))?;
            notices::send(conn, &Notice::new(a, "forum_reply").actor(c))?;
            notices::send(conn, &Notice::new(a, "event_reminder").data(json!({"event_id": 3})))?;
            Ok(())
        })
        .await
        .unwrap();
    assert!(notification_kinds(&app, &ann).await.is_empty(), "nothing before a worker runs");
    let mut registry = JobRegistry::new();
    (plaza_social::DOMAIN.jobs)(&mut registry);
    let summary = app.run_jobs(registry).await;
    assert_eq!(summary.succeeded, 4, "{summary:?}");
    // Workers run jobs concurrently: in any order.
    let mut kinds = notification_kinds(&app, &ann).await;
    kinds.sort();
    assert_eq!(kinds, vec!["event_reminder", "forum_reply"]);
    let list = get(&app, "/notifications/", &ann).await;
    let results = list["results"].as_array().unwrap();
    let reply = results.iter().find(|n| n["kind"] == "forum_reply").unwrap();
    assert_eq!(reply["data"]["post_id"], 7);
    assert_eq!(reply["actor"]["id"].as_i64(), Some(bob.id));
    let reminder = results.iter().find(|n| n["kind"] == "event_reminder").unwrap();
    assert!(reminder["actor"].is_null());
});

//! Direct messages: who may write, conversations, history, read marks.

use plaza_kernel::db_test;
use reqwest::Method;
use serde_json::json;

use crate::support::{allow_messages_from_everyone, app, befriend, call, get, ids, post};

db_test!(async fn messages_go_to_friends_unless_the_recipient_allows_anyone(backend) {
    let app = app(backend).await;
    let (ann, bob, cat) = (
        app.create_user("ann").await,
        app.create_user("bob").await,
        app.create_user("cat").await,
    );
    let refused = post(&app, "/messages/", &cat, json!({"recipient_id": ann.id, "content": "hello?"}), 403).await;
    assert_eq!(refused["code"], "permission_denied");
    let own = post(&app, "/messages/", &ann, json!({"recipient_id": ann.id, "content": "me"}), 400).await;
    assert!(own["errors"]["recipient_id"].is_array());
    let both = post(&app, "/messages/", &ann, json!({"recipient_id": "x", "content": ""}), 400).await;
    assert_eq!(both["code"], "validation_error");
    post(&app, "/messages/", &ann, json!({"recipient_id": 999_999, "content": "hi"}), 400).await;

    allow_messages_from_everyone(&app, &ann).await;
    let m = post(&app, "/messages/", &cat, json!({"recipient_id": ann.id, "content": "hello!"}), 201).await;
    assert_eq!((m["sender"]["id"].as_i64(), m["is_read"].as_bool()), (Some(cat.id), Some(false)));
    // Friends write freely.
    befriend(&app, &ann, &bob).await;
    post(&app, "/messages/", &bob, json!({"recipient_id": ann.id, "content": "one"}), 201).await;
    let two = post(&app, "/messages/", &bob, json!({"recipient_id": ann.id, "content": "two"}), 201).await;
    let reply = post(&app, "/messages/", &ann, json!({"recipient_id": bob.id, "content": "three"}), 201).await;

    let convs = get(&app, "/messages/", &ann).await;
    let rows = convs["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["partner"]["id"].as_i64(), Some(bob.id));
    assert_eq!(rows[0]["last_message"]["content"], "three");
    assert_eq!(rows[0]["unread_count"], 2);
    assert_eq!(rows[1]["partner"]["id"].as_i64(), Some(cat.id));
    assert_eq!(rows[1]["unread_count"], 1);
    let bobs = get(&app, "/messages/", &bob).await;
    assert_eq!(bobs["results"][0]["unread_count"], 1);

    let history = get(&app, &format!("/messages/with/{}/?page_size=2", bob.id), &ann).await;
    assert_eq!(ids(&history), vec![reply["id"].as_i64().unwrap(), two["id"].as_i64().unwrap()]);
    let cursor = history["next_cursor"].as_str().unwrap().to_owned();
    let rest = get(&app, &format!("/messages/with/{}/?page_size=2&cursor={cursor}", bob.id), &ann).await;
    assert_eq!(rest["results"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    // Nobody reads another pair's conversation: cat's view "with bob" is their own, empty.
    assert!(ids(&get(&app, &format!("/messages/with/{}/", bob.id), &cat).await).is_empty());
    assert!(ids(&get(&app, &format!("/messages/with/{}/", ann.id), &bob).await).len() == 3);

    // Reading the latest marks the earlier ones from the same sender; only the recipient may.
    let two_id = two["id"].as_i64().unwrap();
    let (status, _) = call(&app, Method::POST, &format!("/messages/{two_id}/read/"), &bob, None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, Method::POST, &format!("/messages/{two_id}/read/"), &cat, None).await;
    assert_eq!(status, 404);
    let receipt = post(&app, &format!("/messages/{two_id}/read/"), &ann, json!({}), 200).await;
    assert_eq!((receipt["marked"].as_i64(), receipt["unread_count"].as_i64()), (Some(2), Some(0)));
    let convs = get(&app, "/messages/", &ann).await;
    assert_eq!(convs["results"][0]["unread_count"], 0);
    assert_eq!(convs["results"][1]["unread_count"], 1);
    let history = get(&app, &format!("/messages/with/{}/", bob.id), &ann).await;
    assert_eq!(history["results"][1]["is_read"], true);
});

db_test!(async fn messages_per_sender_are_throttled(backend) {
    let app = crate::support::builder(backend)
        .env("THROTTLE_DIRECT_MESSAGE", "2/m")
        .build()
        .await;
    let (ann, bob, cat) = (
        app.create_user("ann").await,
        app.create_user("bob").await,
        app.create_user("cat").await,
    );
    befriend(&app, &ann, &bob).await;
    befriend(&app, &cat, &bob).await;
    for n in ["one", "two"] {
        post(&app, "/messages/", &ann, json!({"recipient_id": bob.id, "content": n}), 201).await;
    }
    let over = post(&app, "/messages/", &ann, json!({"recipient_id": bob.id, "content": "three"}), 429).await;
    assert_eq!(over["code"], "throttled");
    // Counted before the body is looked at, and nothing was stored.
    post(&app, "/messages/", &ann, json!({}), 429).await;
    assert_eq!(ids(&get(&app, &format!("/messages/with/{}/", ann.id), &bob).await).len(), 2);
    // Per sender: cat still writes.
    post(&app, "/messages/", &cat, json!({"recipient_id": bob.id, "content": "hi"}), 201).await;
});

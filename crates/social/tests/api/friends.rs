//! Friends, follows and blocks.

use plaza_kernel::db_test;
use reqwest::Method;
use serde_json::json;

use crate::support::{
    app, befriend, call, delete, get, ids, notification_kinds, post, publish, user_ids,
};

db_test!(async fn a_request_accepted_makes_both_friends(backend) {
    let app = app(backend).await;
    let (ann, bob) = (app.create_user("ann").await, app.create_user("bob").await);
    let req = post(&app, "/friends/requests/", &ann, json!({"to_user_id": bob.id, "message": "hi"}), 201).await;
    assert_eq!(req["status"], "pending");
    assert_eq!(req["from_user"]["username"], "ann");
    let id = req["id"].as_i64().unwrap();
    assert_eq!(ids(&get(&app, "/friends/requests/", &bob).await), vec![id]);
    assert_eq!(ids(&get(&app, "/friends/requests/?direction=outgoing", &ann).await), vec![id]);
    assert!(ids(&get(&app, "/friends/requests/", &ann).await).is_empty());

    let accepted = post(&app, &format!("/friends/requests/{id}/accept/"), &bob, json!({}), 200).await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(user_ids(&get(&app, "/friends/", &ann).await), vec![bob.id]);
    assert_eq!(user_ids(&get(&app, "/friends/", &bob).await), vec![ann.id]);
    assert_eq!(user_ids(&get(&app, &format!("/friends/?user={}", bob.id), &ann).await), vec![ann.id]);
    assert!(ids(&get(&app, "/friends/requests/", &bob).await).is_empty());
    assert_eq!(notification_kinds(&app, &bob).await, vec!["friend_request"]);
    assert_eq!(notification_kinds(&app, &ann).await, vec!["friend_accepted"]);

    // Unfriending removes both rows; a second time there is nothing to end.
    delete(&app, &format!("/friends/{}/", bob.id), &ann, 204).await;
    assert_eq!(get(&app, "/friends/", &bob).await["count"], 0);
    delete(&app, &format!("/friends/{}/", bob.id), &ann, 404).await;
});

db_test!(async fn friend_requests_refuse_what_makes_no_sense(backend) {
    let app = app(backend).await;
    let (ann, bob, cat) = (
        app.create_user("ann").await,
        app.create_user("bob").await,
        app.create_user("cat").await,
    );
    let own = post(&app, "/friends/requests/", &ann, json!({"to_user_id": ann.id}), 400).await;
    assert_eq!(own["code"], "validation_error");
    assert!(own["errors"]["to_user_id"].is_array());
    let ghost = post(&app, "/friends/requests/", &ann, json!({"to_user_id": 999_999}), 400).await;
    assert!(ghost["errors"]["to_user_id"].is_array());
    // Every invalid field at once.
    let both = post(&app, "/friends/requests/", &ann, json!({"to_user_id": "x", "message": 5}), 400).await;
    assert_eq!(both["code"], "validation_error");

    let req = post(&app, "/friends/requests/", &ann, json!({"to_user_id": bob.id}), 201).await;
    let id = req["id"].as_i64().unwrap();
    let dup = post(&app, "/friends/requests/", &ann, json!({"to_user_id": bob.id}), 409).await;
    assert_eq!(dup["code"], "conflict");
    // Someone else's request: invisible to a third user, not acceptable by its sender.
    post(&app, &format!("/friends/requests/{id}/accept/"), &cat, json!({}), 404).await;
    post(&app, &format!("/friends/requests/{id}/accept/"), &ann, json!({}), 403).await;
    post(&app, &format!("/friends/requests/{id}/decline/"), &ann, json!({}), 403).await;
    delete(&app, &format!("/friends/requests/{id}/"), &bob, 403).await;
    delete(&app, &format!("/friends/requests/{id}/"), &cat, 404).await;
    post(&app, "/friends/requests/99999/accept/", &bob, json!({}), 404).await;

    // Declined: answered, no friendship, and a new request may follow.
    let declined = post(&app, &format!("/friends/requests/{id}/decline/"), &bob, json!({}), 200).await;
    assert_eq!(declined["status"], "declined");
    post(&app, &format!("/friends/requests/{id}/accept/"), &bob, json!({}), 409).await;
    assert_eq!(get(&app, "/friends/", &bob).await["count"], 0);
    let again = post(&app, "/friends/requests/", &ann, json!({"to_user_id": bob.id}), 201).await;
    let again_id = again["id"].as_i64().unwrap();
    delete(&app, &format!("/friends/requests/{again_id}/"), &ann, 204).await;
    delete(&app, &format!("/friends/requests/{again_id}/"), &ann, 409).await;
    assert!(ids(&get(&app, "/friends/requests/", &bob).await).is_empty());

    befriend(&app, &ann, &cat).await;
    post(&app, "/friends/requests/", &cat, json!({"to_user_id": ann.id}), 409).await;
    // Without credentials, nothing.
    let res = app.get("/api/v1/social/friends/").send().await.unwrap();
    assert_eq!(res.status(), 401);
});

db_test!(async fn asking_someone_who_asked_you_accepts_theirs(backend) {
    let app = app(backend).await;
    let (ann, bob) = (app.create_user("ann").await, app.create_user("bob").await);
    let first = post(&app, "/friends/requests/", &ann, json!({"to_user_id": bob.id}), 201).await;
    let answer = post(&app, "/friends/requests/", &bob, json!({"to_user_id": ann.id}), 200).await;
    assert_eq!(answer["id"], first["id"]);
    assert_eq!(answer["status"], "accepted");
    assert_eq!(user_ids(&get(&app, "/friends/", &ann).await), vec![bob.id]);
    assert_eq!(get(&app, "/friends/", &bob).await["count"], 1);
});

db_test!(async fn follows_are_idempotent_and_listed(backend) {
    let app = app(backend).await;
    let (ann, bob, cat) = (
        app.create_user("ann").await,
        app.create_user("bob").await,
        app.create_user("cat").await,
    );
    let first = post(&app, &format!("/users/{}/follow/", bob.id), &ann, json!({}), 201).await;
    assert_eq!(first["followers_count"], 1);
    let again = post(&app, &format!("/users/{}/follow/", bob.id), &ann, json!({}), 200).await;
    assert_eq!(again["followers_count"], 1);
    post(&app, &format!("/users/{}/follow/", bob.id), &cat, json!({}), 201).await;
    post(&app, &format!("/users/{}/follow/", ann.id), &ann, json!({}), 400).await;
    post(&app, "/users/999999/follow/", &ann, json!({}), 404).await;

    let followers = get(&app, "/followers/", &bob).await;
    assert_eq!(followers["count"], 2);
    assert_eq!(user_ids(&followers), vec![cat.id, ann.id]);
    assert_eq!(user_ids(&get(&app, &format!("/following/?user={}", ann.id), &cat).await), vec![bob.id]);
    assert_eq!(get(&app, &format!("/followers/?user={}", bob.id), &ann).await["count"], 2);
    // One notification for the first follow only.
    assert_eq!(notification_kinds(&app, &bob).await, vec!["new_follower", "new_follower"]);

    let (status, out) = call(&app, Method::DELETE, &format!("/users/{}/follow/", bob.id), &ann, None).await;
    assert_eq!(status, 200);
    assert_eq!(out["followers_count"], 1);
    let (status, _) = call(&app, Method::DELETE, &format!("/users/{}/follow/", bob.id), &ann, None).await;
    assert_eq!(status, 200);
    assert_eq!(get(&app, "/following/", &ann).await["count"], 0);
});

db_test!(async fn a_block_ends_everything_between_the_two(backend) {
    let app = app(backend).await;
    let (ann, bob) = (app.create_user("ann").await, app.create_user("bob").await);
    befriend(&app, &ann, &bob).await;
    post(&app, &format!("/users/{}/follow/", bob.id), &ann, json!({}), 201).await;
    post(&app, &format!("/users/{}/follow/", ann.id), &bob, json!({}), 201).await;
    let public = publish(&app, &ann, "hello world", "public").await;
    let bobs = publish(&app, &bob, "bob's post", "public").await;

    post(&app, &format!("/users/{}/block/", bob.id), &ann, json!({}), 201).await;
    post(&app, &format!("/users/{}/block/", bob.id), &ann, json!({}), 200).await;
    post(&app, &format!("/users/{}/block/", ann.id), &ann, json!({}), 400).await;
    assert_eq!(user_ids(&get(&app, "/blocks/", &ann).await), vec![bob.id]);
    assert_eq!(get(&app, "/friends/", &ann).await["count"], 0);
    assert_eq!(get(&app, "/friends/", &bob).await["count"], 0);
    assert_eq!(get(&app, "/followers/", &ann).await["count"], 0);
    assert_eq!(get(&app, "/followers/", &bob).await["count"], 0);

    // Nothing crosses it, whoever blocked whom.
    post(&app, "/friends/requests/", &bob, json!({"to_user_id": ann.id}), 403).await;
    post(&app, "/friends/requests/", &ann, json!({"to_user_id": bob.id}), 403).await;
    post(&app, &format!("/users/{}/follow/", ann.id), &bob, json!({}), 403).await;
    post(&app, "/messages/", &bob, json!({"recipient_id": ann.id, "content": "hey"}), 403).await;
    post(&app, "/messages/", &ann, json!({"recipient_id": bob.id, "content": "hey"}), 403).await;
    let (status, _) = call(&app, Method::GET, &format!("/posts/{public}/"), &bob, None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, Method::GET, &format!("/posts/{bobs}/"), &ann, None).await;
    assert_eq!(status, 404);
    post(&app, &format!("/posts/{public}/comments/"), &bob, json!({"content": "x"}), 404).await;
    post(&app, &format!("/posts/{public}/like/"), &bob, json!({}), 404).await;
    assert!(!ids(&get(&app, "/posts/?scope=public", &bob).await).contains(&public));
    assert!(!ids(&get(&app, "/posts/?scope=public", &ann).await).contains(&bobs));
    let (status, _) = call(&app, Method::GET, &format!("/followers/?user={}", ann.id), &bob, None).await;
    assert_eq!(status, 404);

    delete(&app, &format!("/users/{}/block/", bob.id), &ann, 204).await;
    assert_eq!(get(&app, "/blocks/", &ann).await["count"], 0);
    assert!(ids(&get(&app, "/posts/?scope=public", &bob).await).contains(&public));
    // What the block ended stays ended.
    assert_eq!(get(&app, "/friends/", &ann).await["count"], 0);
});

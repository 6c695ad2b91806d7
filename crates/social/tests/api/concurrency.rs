//! Counters and pairs under concurrency.

use futures_util::future::join_all;
use plaza_kernel::db_test;
use serde_json::json;

use crate::support::{app, get, post, publish};

db_test!(async fn fifty_parallel_likes_count_fifty(backend) {
    let app = app(backend).await;
    let ann = app.create_user("ann").await;
    let mut users = Vec::new();
    for i in 0..50 {
        users.push(app.create_user(&format!("fan{i}")).await);
    }
    let id = publish(&app, &ann, "popular", "public").await;
    let path = app.url(&format!("/api/v1/social/posts/{id}/like/"));
    let likes = users
        .iter()
        .map(|u| app.client.post(&path).bearer_auth(&u.access).send());
    for res in join_all(likes).await {
        let res = res.unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    // And the same fifty again, at once: idempotent.
    let again = users
        .iter()
        .map(|u| app.client.post(&path).bearer_auth(&u.access).send());
    for res in join_all(again).await {
        assert_eq!(res.unwrap().status(), 200);
    }
    assert_eq!(get(&app, &format!("/posts/{id}/"), &ann).await["like_count"], 50);
    let kinds = get(&app, "/notifications/?page_size=100", &ann).await;
    assert_eq!(kinds["results"].as_array().unwrap().len(), 50);
});

db_test!(async fn simultaneous_mutual_requests_end_as_friends_once(backend) {
    let app = app(backend).await;
    for round in 0..5 {
        let ann = app.create_user(&format!("ann{round}")).await;
        let bob = app.create_user(&format!("bob{round}")).await;
        let url = app.url("/api/v1/social/friends/requests/");
        let (a, b) = tokio::join!(
            app.client.post(&url).bearer_auth(&ann.access).json(&json!({"to_user_id": bob.id})).send(),
            app.client.post(&url).bearer_auth(&bob.access).json(&json!({"to_user_id": ann.id})).send(),
        );
        let mut statuses = vec![a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, vec![200, 201], "one asks, the other's request accepts it");
        let friends = get(&app, "/friends/", &ann).await;
        assert_eq!(friends["count"], 1);
        assert_eq!(friends["results"][0]["user"]["id"].as_i64(), Some(bob.id));
        assert_eq!(get(&app, "/friends/", &bob).await["count"], 1);
        for (user, dir) in [(&ann, "incoming"), (&ann, "outgoing"), (&bob, "incoming"), (&bob, "outgoing")] {
            assert_eq!(get(&app, &format!("/friends/requests/?direction={dir}"), user).await["count"], 0);
        }
        post(&app, "/friends/requests/", &ann, json!({"to_user_id": bob.id}), 409).await;
    }
});

//! The home timeline kept per reader (fan-out on write): relations and visibility that change
//! after a post was published change who has it in their timeline, and the rows kept are
//! exactly what each reader may see.

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::testing::{TestApp, TestUser};
use plaza_social::schema::{social_home as h, social_posts as p};
use reqwest::Method;
use serde_json::json;

use crate::support::{app, befriend, call, delete, get, ids, post, publish};

async fn timeline(app: &TestApp, user: &TestUser) -> Vec<i64> {
    ids(&get(app, "/posts/?scope=timeline&page_size=100", user).await)
}

/// The posts (by anyone but `user`) that `user` has a home timeline row for.
async fn home_rows_of_others(app: &TestApp, user: &TestUser) -> Vec<i64> {
    let reader = user.id;
    app.db()
        .run(move |conn| {
            Ok(h::table
                .inner_join(p::table)
                .filter(h::reader_id.eq(reader))
                .filter(p::author_id.ne(reader))
                .order(h::post_id.desc())
                .select(h::post_id)
                .load::<i64>(conn)?)
        })
        .await
        .unwrap()
}

async fn set_visibility(app: &TestApp, user: &TestUser, id: i64, visibility: &str) {
    let (status, body) = call(
        app,
        Method::PATCH,
        &format!("/posts/{id}/"),
        user,
        Some(json!({"visibility": visibility})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

db_test!(async fn follows_and_friendships_made_later_bring_earlier_posts(backend) {
    let app = app(backend).await;
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await;
    let dan = app.create_user("dan").await;
    let public = publish(&app, &ann, "for everyone", "public").await;
    let friends = publish(&app, &ann, "for friends", "friends").await;
    let private = publish(&app, &ann, "for me", "private").await;
    assert!(timeline(&app, &dan).await.is_empty());

    // A follow brings the public post; unfollowing takes it away, row and all.
    post(&app, &format!("/users/{}/follow/", ann.id), &dan, json!({}), 201).await;
    assert_eq!(timeline(&app, &dan).await, vec![public]);
    delete(&app, &format!("/users/{}/follow/", ann.id), &dan, 200).await;
    assert!(timeline(&app, &dan).await.is_empty());
    assert!(home_rows_of_others(&app, &dan).await.is_empty());

    // A friendship brings the friends-only post too, for both.
    let bobs = publish(&app, &bob, "bob's", "friends").await;
    post(&app, &format!("/users/{}/follow/", ann.id), &bob, json!({}), 201).await;
    befriend(&app, &bob, &ann).await;
    assert_eq!(timeline(&app, &bob).await, vec![bobs, friends, public]);
    assert_eq!(timeline(&app, &ann).await, vec![bobs, private, friends, public]);
    // Unfriended, bob still follows ann: her public post stays, the friends-only one goes.
    delete(&app, &format!("/friends/{}/", ann.id), &bob, 204).await;
    assert_eq!(timeline(&app, &bob).await, vec![bobs, public]);
    assert_eq!(home_rows_of_others(&app, &bob).await, vec![public]);
    assert_eq!(timeline(&app, &ann).await, vec![private, friends, public]);
    assert!(home_rows_of_others(&app, &ann).await.is_empty());
});

db_test!(async fn a_changed_visibility_changes_who_has_the_post(backend) {
    let app = app(backend).await;
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await; // a friend
    let dan = app.create_user("dan").await; // a follower
    befriend(&app, &ann, &bob).await;
    post(&app, &format!("/users/{}/follow/", ann.id), &dan, json!({}), 201).await;
    let id = publish(&app, &ann, "changing", "private").await;
    assert!(timeline(&app, &bob).await.is_empty());

    set_visibility(&app, &ann, id, "public").await;
    assert_eq!(timeline(&app, &bob).await, vec![id]);
    assert_eq!(timeline(&app, &dan).await, vec![id]);
    set_visibility(&app, &ann, id, "friends").await;
    assert_eq!(timeline(&app, &bob).await, vec![id]);
    assert!(timeline(&app, &dan).await.is_empty());
    assert!(home_rows_of_others(&app, &dan).await.is_empty());
    set_visibility(&app, &ann, id, "private").await;
    assert!(timeline(&app, &bob).await.is_empty());
    assert!(home_rows_of_others(&app, &bob).await.is_empty());
    assert_eq!(timeline(&app, &ann).await, vec![id]);

    // A deleted post leaves every timeline.
    set_visibility(&app, &ann, id, "public").await;
    delete(&app, &format!("/posts/{id}/"), &ann, 204).await;
    for user in [&ann, &bob, &dan] {
        assert!(timeline(&app, user).await.is_empty());
    }
});

db_test!(async fn joining_and_leaving_a_group_bring_and_take_its_posts(backend) {
    let app = app(backend).await;
    let ann = app.create_user("ann").await;
    let cat = app.create_user("cat").await;
    let open = post(&app, "/groups/", &ann, json!({"name": "Open"}), 201).await;
    let gid = open["id"].as_i64().unwrap();
    let before = post(&app, "/posts/", &ann, json!({"content": "before", "group_id": gid}), 201).await;
    let before = before["id"].as_i64().unwrap();

    post(&app, &format!("/groups/{gid}/join/"), &cat, json!({}), 201).await;
    assert_eq!(timeline(&app, &cat).await, vec![before]);
    let after = post(&app, "/posts/", &ann, json!({"content": "after", "group_id": gid}), 201).await;
    let after = after["id"].as_i64().unwrap();
    let mine = post(&app, "/posts/", &cat, json!({"content": "cat's", "group_id": gid}), 201).await;
    let mine = mine["id"].as_i64().unwrap();
    assert_eq!(timeline(&app, &cat).await, vec![mine, after, before]);
    assert_eq!(timeline(&app, &ann).await, vec![mine, after, before]);

    // Having left, cat keeps only their own post.
    let (status, body) = call(&app, Method::POST, &format!("/groups/{gid}/leave/"), &cat, None).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(timeline(&app, &cat).await, vec![mine]);
    assert!(home_rows_of_others(&app, &cat).await.is_empty());

    // A private group's posts arrive when the membership is approved, not before.
    let inner = post(&app, "/groups/", &ann, json!({"name": "Inner", "is_private": true}), 201).await;
    let iid = inner["id"].as_i64().unwrap();
    let secret = post(&app, "/posts/", &ann, json!({"content": "secret", "group_id": iid}), 201).await;
    let secret = secret["id"].as_i64().unwrap();
    post(&app, &format!("/groups/{iid}/join/"), &cat, json!({}), 201).await;
    assert_eq!(timeline(&app, &cat).await, vec![mine]);
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/groups/{iid}/members/{}/", cat.id),
        &ann,
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(timeline(&app, &cat).await, vec![secret, mine]);
    // Removed by an admin, the post goes again.
    delete(&app, &format!("/groups/{iid}/members/{}/", cat.id), &ann, 204).await;
    assert_eq!(timeline(&app, &cat).await, vec![mine]);
});

db_test!(async fn a_block_empties_both_timelines_of_the_other(backend) {
    let app = app(backend).await;
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await;
    let open = post(&app, "/groups/", &ann, json!({"name": "Open"}), 201).await;
    let gid = open["id"].as_i64().unwrap();
    post(&app, &format!("/groups/{gid}/join/"), &bob, json!({}), 201).await;
    befriend(&app, &ann, &bob).await;
    post(&app, &format!("/users/{}/follow/", ann.id), &bob, json!({}), 201).await;
    let anns = publish(&app, &ann, "ann's", "friends").await;
    let in_group = post(&app, "/posts/", &ann, json!({"content": "group", "group_id": gid}), 201).await;
    let in_group = in_group["id"].as_i64().unwrap();
    let bobs = publish(&app, &bob, "bob's", "public").await;
    assert_eq!(timeline(&app, &bob).await, vec![bobs, in_group, anns]);

    post(&app, &format!("/users/{}/block/", ann.id), &bob, json!({}), 201).await;
    assert_eq!(timeline(&app, &bob).await, vec![bobs]);
    assert_eq!(timeline(&app, &ann).await, vec![in_group, anns]);
    // Lifting the block restores nothing the block ended, but the group's post is the
    // group's: bob is still a member.
    delete(&app, &format!("/users/{}/block/", ann.id), &bob, 204).await;
    assert_eq!(timeline(&app, &bob).await, vec![bobs, in_group]);
});

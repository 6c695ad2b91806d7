//! The feed: visibility, scopes, cursor paging, likes, comments.

use plaza_kernel::db_test;
use reqwest::Method;
use serde_json::json;

use crate::support::{app, befriend, call, delete, get, ids, notification_kinds, post, publish};

db_test!(async fn visibility_decides_who_sees_a_post(backend) {
    let app = app(backend).await;
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await; // a friend
    let cat = app.create_user("cat").await; // a stranger
    let dan = app.create_user("dan").await; // a follower
    befriend(&app, &ann, &bob).await;
    post(&app, &format!("/users/{}/follow/", ann.id), &dan, json!({}), 201).await;
    let public = publish(&app, &ann, "for everyone", "public").await;
    let friends = publish(&app, &ann, "for friends", "friends").await;
    let private = publish(&app, &ann, "for me", "private").await;

    for (user, visible) in [
        (&ann, vec![public, friends, private]),
        (&bob, vec![public, friends]),
        (&cat, vec![public]),
        (&dan, vec![public]),
    ] {
        for id in [public, friends, private] {
            let (status, body) = call(&app, Method::GET, &format!("/posts/{id}/"), user, None).await;
            let expected = if visible.contains(&id) { 200 } else { 404 };
            assert_eq!(status, expected, "{} reading {id}: {body}", user.username);
        }
    }
    // Timelines: own, friends' (public and friends-only), followed users' public posts.
    assert_eq!(ids(&get(&app, "/posts/", &ann).await), vec![private, friends, public]);
    assert_eq!(ids(&get(&app, "/posts/?scope=timeline", &bob).await), vec![friends, public]);
    assert_eq!(ids(&get(&app, "/posts/", &dan).await), vec![public]);
    assert!(ids(&get(&app, "/posts/", &cat).await).is_empty());
    // A friends-only post never reaches a stranger, whatever the scope.
    assert_eq!(ids(&get(&app, "/posts/?scope=public", &cat).await), vec![public]);
    let cats = publish(&app, &cat, "cat's", "public").await;
    assert_eq!(ids(&get(&app, "/posts/?scope=mine", &cat).await), vec![cats]);
    assert_eq!(ids(&get(&app, "/posts/", &ann).await), vec![private, friends, public]);
    assert_eq!(ids(&get(&app, "/posts/?scope=public", &ann).await), vec![cats, public]);
    let (status, body) = call(&app, Method::GET, "/posts/?scope=everything", &ann, None).await;
    assert_eq!(status, 400, "{body}");
});

db_test!(async fn the_feed_pages_by_cursor(backend) {
    let app = app(backend).await;
    let ann = app.create_user("ann").await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(publish(&app, &ann, &format!("post {i}"), "public").await);
    }
    made.reverse();
    let mut seen = Vec::new();
    let mut path = "/posts/?scope=mine&page_size=2".to_owned();
    loop {
        let page = get(&app, &path, &ann).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/posts/?scope=mine&page_size=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, made);
    let (status, body) = call(&app, Method::GET, "/posts/?cursor=garbage", &ann, None).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["cursor"].is_array());
});

db_test!(async fn a_private_groups_posts_are_for_its_members_only(backend) {
    let app = app(backend).await;
    let (ann, bob, cat) = (
        app.create_user("ann").await,
        app.create_user("bob").await,
        app.create_user("cat").await,
    );
    let group = post(&app, "/groups/", &ann, json!({"name": "Inner circle", "is_private": true}), 201).await;
    let gid = group["id"].as_i64().unwrap();
    let secret = post(&app, "/posts/", &ann, json!({"content": "members only", "group_id": gid}), 201).await;
    assert_eq!(secret["visibility"], "group");
    let sid = secret["id"].as_i64().unwrap();
    // A non-member (nor a pending one) never sees it.
    post(&app, &format!("/groups/{gid}/join/"), &bob, json!({}), 201).await;
    for user in [&bob, &cat] {
        let (status, _) = call(&app, Method::GET, &format!("/posts/{sid}/"), user, None).await;
        assert_eq!(status, 404);
        let (status, _) = call(&app, Method::GET, &format!("/posts/?group={gid}"), user, None).await;
        assert_eq!(status, 404);
        assert!(!ids(&get(&app, "/posts/", user).await).contains(&sid));
        assert!(!ids(&get(&app, "/posts/?scope=public", user).await).contains(&sid));
        post(&app, "/posts/", user, json!({"content": "let me in", "group_id": gid}), 400).await;
    }
    // Approved, the member sees it in the group and in their timeline.
    post(&app, "/groups/", &ann, json!({"name": ""}), 400).await;
    let (status, _) = call(&app, Method::PATCH, &format!("/groups/{gid}/members/{}/", bob.id), &ann, Some(json!({"status": "active"}))).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&get(&app, &format!("/posts/?group={gid}"), &bob).await), vec![sid]);
    assert_eq!(ids(&get(&app, "/posts/", &bob).await), vec![sid]);
    get(&app, &format!("/posts/{sid}/"), &bob).await;
    // A public group's posts are readable by anyone, but only members post.
    let open = post(&app, "/groups/", &ann, json!({"name": "Open"}), 201).await;
    let oid = open["id"].as_i64().unwrap();
    let hello = post(&app, "/posts/", &ann, json!({"content": "hello", "group_id": oid}), 201).await;
    assert_eq!(ids(&get(&app, &format!("/posts/?group={oid}"), &cat).await), vec![hello["id"].as_i64().unwrap()]);
    post(&app, "/posts/", &cat, json!({"content": "hi", "group_id": oid}), 400).await;
});

db_test!(async fn likes_are_idempotent_and_counted(backend) {
    let app = app(backend).await;
    let (ann, bob) = (app.create_user("ann").await, app.create_user("bob").await);
    let id = publish(&app, &ann, "like me", "public").await;
    let liked = post(&app, &format!("/posts/{id}/like/"), &bob, json!({}), 200).await;
    assert_eq!((liked["liked"].as_bool(), liked["like_count"].as_i64()), (Some(true), Some(1)));
    let again = post(&app, &format!("/posts/{id}/like/"), &bob, json!({}), 200).await;
    assert_eq!(again["like_count"], 1);
    post(&app, &format!("/posts/{id}/like/"), &ann, json!({}), 200).await;
    let detail = get(&app, &format!("/posts/{id}/"), &bob).await;
    assert_eq!((detail["like_count"].as_i64(), detail["liked"].as_bool()), (Some(2), Some(true)));
    // In a page each reader sees their own like, not another's.
    let other = publish(&app, &ann, "not liked", "public").await;
    for scope in ["timeline", "public", "mine"] {
        let page = get(&app, &format!("/posts/?scope={scope}"), &ann).await;
        let flags: Vec<(i64, bool)> = page["results"].as_array().unwrap().iter()
            .map(|p| (p["id"].as_i64().unwrap(), p["liked"].as_bool().unwrap()))
            .collect();
        assert_eq!(flags, vec![(other, false), (id, true)], "{scope}");
    }
    let cat = app.create_user("cat").await;
    let page = get(&app, "/posts/?scope=public", &cat).await;
    assert!(page["results"].as_array().unwrap().iter().all(|p| p["liked"] == false));
    // The author is told once, and never about their own like.
    assert_eq!(notification_kinds(&app, &ann).await, vec!["like"]);
    let unliked = delete(&app, &format!("/posts/{id}/like/"), &bob, 200).await;
    assert_eq!(unliked["like_count"], 1);
    let unliked = delete(&app, &format!("/posts/{id}/like/"), &bob, 200).await;
    assert_eq!((unliked["like_count"].as_i64(), unliked["liked"].as_bool()), (Some(1), Some(false)));
    post(&app, "/posts/999999/like/", &bob, json!({}), 404).await;
});

db_test!(async fn comments_and_who_may_delete_them(backend) {
    let app = app(backend).await;
    let (ann, bob, cat) = (
        app.create_user("ann").await,
        app.create_user("bob").await,
        app.create_user("cat").await,
    );
    let id = publish(&app, &ann, "discuss", "public").await;
    let c1 = post(&app, &format!("/posts/{id}/comments/"), &bob, json!({"content": "first"}), 201).await;
    let c2 = post(&app, &format!("/posts/{id}/comments/"), &cat, json!({"content": "second"}), 201).await;
    let bad = post(&app, &format!("/posts/{id}/comments/"), &cat, json!({"content": "  "}), 400).await;
    assert!(bad["errors"]["content"].is_array());
    let list = get(&app, &format!("/posts/{id}/comments/"), &cat).await;
    assert_eq!(list["count"], 2);
    assert_eq!(list["results"][0]["author"]["username"], "bob");
    assert_eq!(get(&app, &format!("/posts/{id}/"), &cat).await["comment_count"], 2);
    assert_eq!(notification_kinds(&app, &ann).await, vec!["comment", "comment"]);

    let c1 = c1["id"].as_i64().unwrap();
    let c2 = c2["id"].as_i64().unwrap();
    delete(&app, &format!("/comments/{c1}/"), &cat, 403).await;
    delete(&app, &format!("/comments/{c1}/"), &bob, 204).await;
    delete(&app, &format!("/comments/{c2}/"), &ann, 204).await;
    delete(&app, &format!("/comments/{c2}/"), &ann, 404).await;
    assert_eq!(get(&app, &format!("/posts/{id}/"), &cat).await["comment_count"], 0);
    // A friends-only post's comments are as invisible as the post.
    let hidden = publish(&app, &ann, "friends only", "friends").await;
    let (status, _) = call(&app, Method::GET, &format!("/posts/{hidden}/comments/"), &cat, None).await;
    assert_eq!(status, 404);
});

db_test!(async fn only_the_author_edits_and_bad_input_changes_nothing(backend) {
    let app = app(backend).await;
    let (ann, bob) = (app.create_user("ann").await, app.create_user("bob").await);
    let moderator = app.create_moderator("mod").await;
    let id = publish(&app, &ann, "original", "public").await;
    let path = format!("/posts/{id}/");
    let (status, _) = call(&app, Method::PATCH, &path, &bob, Some(json!({"content": "hijack"}))).await;
    assert_eq!(status, 403);
    let (status, body) = call(&app, Method::PATCH, &path, &ann, Some(json!({"content": "", "visibility": "everyone"}))).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["content"].is_array() || body["errors"]["visibility"].is_array(), "{body}");
    let (status, body) = call(&app, Method::PATCH, &path, &ann, Some(json!({"content": "edited", "visibility": "friends"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["visibility"], "friends");
    let (status, _) = call(&app, Method::GET, &path, &bob, None).await;
    assert_eq!(status, 404);
    let all = post(&app, "/posts/", &ann, json!({"content": "", "attachment_ids": [1,2,3,4,5,6,7,8,9,10,11]}), 400).await;
    assert!(all["errors"]["content"].is_array() && all["errors"]["attachment_ids"].is_array(), "{all}");
    let foreign = post(&app, "/posts/", &ann, json!({"content": "x", "attachment_ids": [424242]}), 400).await;
    assert!(foreign["errors"]["attachment_ids"].is_array());
    assert_eq!(get(&app, "/posts/?scope=mine", &ann).await["results"].as_array().unwrap().len(), 1);
    delete(&app, &path, &bob, 404).await;
    delete(&app, &path, &moderator, 404).await; // friends-only: the moderator is no friend
    let public = publish(&app, &ann, "public", "public").await;
    delete(&app, &format!("/posts/{public}/"), &bob, 403).await;
    delete(&app, &format!("/posts/{public}/"), &moderator, 204).await;
    delete(&app, &path, &ann, 204).await;
});

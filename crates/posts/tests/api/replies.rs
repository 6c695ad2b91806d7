//! Replies: threads one level deep, counts, edits, deletion with tombstones.

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::schema::{jobs, system_logs};
use serde_json::{json, Value};

use crate::support::{app, get_json, id, post, reply};

db_test!(async fn threads_nest_one_level(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let p = post(&app, &alice, "Question", "How?", &[]).await;
    let pid = id(&p);

    let first = reply(&app, &bob, pid, "Like this.", None).await;
    assert_eq!(first["post_id"], pid);
    assert_eq!(first["parent_id"], Value::Null);
    assert_eq!(first["author"]["username"], "bob");
    assert_eq!(first["is_deleted"], false);
    let answer = reply(&app, &alice, pid, "Thanks!", Some(id(&first))).await;
    assert_eq!(answer["parent_id"], id(&first));
    reply(&app, &alice, pid, "Anyone else?", None).await;

    // The detail has every reply, oldest first, with authors.
    let detail = get_json(&app, &format!("/api/v1/posts/{pid}/")).await;
    assert_eq!(detail["reply_count"], 3);
    let contents: Vec<&str> = detail["replies"].as_array().unwrap().iter().map(|r| r["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["Like this.", "Thanks!", "Anyone else?"]);
    assert_eq!(detail["replies"][1]["parent_id"], id(&first));
    assert_eq!(detail["replies"][0]["author"]["id"], bob.id);

    // The replies list pages and orders.
    let page = get_json(&app, &format!("/api/v1/posts/{pid}/replies/?page_size=2")).await;
    assert_eq!(page["count"], 3);
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    assert!(page["next"].as_str().unwrap().contains("page=2"));
    let page = get_json(&app, &format!("/api/v1/posts/{pid}/replies/?ordering=-created_at")).await;
    assert_eq!(page["results"][0]["content"], "Anyone else?");
    assert_eq!(app.get(&format!("/api/v1/posts/{pid}/replies/?page=3&page_size=2")).send().await.unwrap().status(), 404);
    assert_eq!(app.get(&format!("/api/v1/posts/{pid}/replies/?ordering=author")).send().await.unwrap().status(), 400);
    assert_eq!(app.get("/api/v1/posts/999999/replies/").send().await.unwrap().status(), 404);
});

db_test!(async fn bad_replies_change_nothing(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let p = post(&app, &alice, "t", "c", &[]).await;
    let other = post(&app, &alice, "other", "c", &[]).await;
    let pid = id(&p);
    let top = reply(&app, &alice, pid, "top", None).await;
    let child = reply(&app, &alice, pid, "child", Some(id(&top))).await;
    let elsewhere = reply(&app, &alice, id(&other), "elsewhere", None).await;
    let path = format!("/api/v1/posts/{pid}/replies/");

    assert_eq!(app.post(&path).json(&json!({"content": "x"})).send().await.unwrap().status(), 401);
    assert_eq!(app.post("/api/v1/posts/999999/replies/").bearer_auth(&alice.access).json(&json!({"content": "x"})).send().await.unwrap().status(), 404);
    for (body, field) in [
        (json!({}), "content"),
        (json!({"content": ""}), "content"),
        (json!({"content": "   "}), "content"),
        (json!({"content": "r".repeat(10_001)}), "content"),
        (json!({"content": "x", "parent_id": "one"}), "parent_id"),
        (json!({"content": "x", "parent_id": 999_999}), "parent_id"),
        (json!({"content": "x", "parent_id": id(&elsewhere)}), "parent_id"),
        (json!({"content": "x", "parent_id": id(&child)}), "parent_id"),
    ] {
        let res = app.post(&path).bearer_auth(&alice.access).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let err: Value = res.json().await.unwrap();
        assert!(err["errors"][field].is_array(), "{body}: {err}");
    }
    let detail = get_json(&app, &format!("/api/v1/posts/{pid}/")).await;
    assert_eq!(detail["reply_count"], 2, "failed replies are not counted");
    assert_eq!(detail["replies"].as_array().unwrap().len(), 2);
    reply(&app, &alice, pid, &"r".repeat(10_000), None).await;
});

db_test!(async fn only_the_author_or_a_moderator_changes_a_reply(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let moderator = app.create_moderator("mod").await;
    let p = post(&app, &alice, "t", "c", &[]).await;
    let r = reply(&app, &bob, id(&p), "bob says", None).await;
    let path = format!("/api/v1/posts/replies/{}/", id(&r));

    let res = app.patch(&path).bearer_auth(&bob.access).json(&json!({"content": "bob edits"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["content"], "bob edits");
    let res = app.put(&path).bearer_auth(&bob.access).json(&json!({"content": "bob again"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.put(&path).bearer_auth(&bob.access).json(&json!({})).send().await.unwrap().status(), 400);
    assert_eq!(app.patch(&path).bearer_auth(&bob.access).json(&json!({"content": ""})).send().await.unwrap().status(), 400);

    // The post's author is not the reply's author.
    for res in [
        app.patch(&path).bearer_auth(&alice.access).json(&json!({"content": "x"})).send().await.unwrap(),
        app.delete(&path).bearer_auth(&alice.access).send().await.unwrap(),
    ] {
        assert_eq!(res.status(), 403);
    }
    assert_eq!(app.patch(&path).json(&json!({"content": "x"})).send().await.unwrap().status(), 401);
    assert_eq!(app.patch("/api/v1/posts/replies/999999/").bearer_auth(&bob.access).json(&json!({"content": "x"})).send().await.unwrap().status(), 404);
    assert_eq!(app.get(&path).send().await.unwrap().status(), 405);

    let res = app.patch(&path).bearer_auth(&moderator.access).json(&json!({"content": "moderated"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.delete(&path).bearer_auth(&moderator.access).send().await.unwrap().status(), 204);
    let events: Vec<String> = app.db().run(|conn| Ok(system_logs::table.select(system_logs::event).order(system_logs::id).load(conn)?)).await.unwrap();
    assert_eq!(events, ["reply_edited_by_moderator", "reply_deleted_by_moderator"]);
});

db_test!(async fn deleted_replies_keep_threads_readable(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let p = post(&app, &alice, "t", "c", &[]).await;
    let pid = id(&p);
    let top = reply(&app, &bob, pid, "top", None).await;
    let answer = reply(&app, &alice, pid, "answer", Some(id(&top))).await;
    let leaf = reply(&app, &bob, pid, "leaf", None).await;
    let count = |detail: &Value| detail["reply_count"].as_i64().unwrap();
    assert_eq!(count(&get_json(&app, &format!("/api/v1/posts/{pid}/")).await), 3);

    // A reply nobody answered goes.
    assert_eq!(app.delete(&format!("/api/v1/posts/replies/{}/", id(&leaf))).bearer_auth(&bob.access).send().await.unwrap().status(), 204);
    let detail = get_json(&app, &format!("/api/v1/posts/{pid}/")).await;
    assert_eq!(count(&detail), 2);
    assert_eq!(detail["replies"].as_array().unwrap().len(), 2);

    // An answered one stays as a tombstone: no content, no author, its answer still there.
    let top_path = format!("/api/v1/posts/replies/{}/", id(&top));
    assert_eq!(app.delete(&top_path).bearer_auth(&bob.access).send().await.unwrap().status(), 204);
    let detail = get_json(&app, &format!("/api/v1/posts/{pid}/")).await;
    assert_eq!(count(&detail), 1, "a tombstone is not counted");
    let tombstone = &detail["replies"][0];
    assert_eq!(tombstone["id"], id(&top));
    assert_eq!(tombstone["is_deleted"], true);
    assert_eq!(tombstone["content"], "");
    assert_eq!(tombstone["author"], Value::Null);
    assert_eq!(detail["replies"][1]["content"], "answer");
    assert_eq!(detail["replies"][1]["parent_id"], id(&top));

    // A tombstone cannot be edited, deleted again, or answered.
    assert_eq!(app.patch(&top_path).bearer_auth(&bob.access).json(&json!({"content": "back"})).send().await.unwrap().status(), 404);
    assert_eq!(app.delete(&top_path).bearer_auth(&bob.access).send().await.unwrap().status(), 404);
    let res = app.post(&format!("/api/v1/posts/{pid}/replies/")).bearer_auth(&alice.access).json(&json!({"content": "x", "parent_id": id(&top)})).send().await.unwrap();
    assert_eq!(res.status(), 400);

    // When its last answer goes, the tombstone goes too.
    assert_eq!(app.delete(&format!("/api/v1/posts/replies/{}/", id(&answer))).bearer_auth(&alice.access).send().await.unwrap().status(), 204);
    let detail = get_json(&app, &format!("/api/v1/posts/{pid}/")).await;
    assert_eq!(count(&detail), 0);
    assert_eq!(detail["replies"], json!([]));
});

db_test!(async fn a_reply_tells_the_posts_author_in_its_transaction(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let p = post(&app, &alice, "Question", "How?", &[]).await;
    let pid = id(&p);
    let notices = || async {
        app.db()
            .run(|conn| {
                Ok(jobs::table
                    .filter(jobs::kind.eq("notice"))
                    .order(jobs::id.asc())
                    .select(jobs::payload)
                    .load::<String>(conn)?)
            })
            .await
            .unwrap()
            .iter()
            .map(|p| serde_json::from_str::<Value>(p).unwrap())
            .collect::<Vec<_>>()
    };

    let answer = reply(&app, &bob, pid, "Like this.", None).await;
    let queued = notices().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(
        queued[0],
        json!({
            "recipient": alice.id,
            "actor": bob.id,
            "kind": "forum_reply",
            "data": {"post_id": pid, "post_title": "Question", "reply_id": id(&answer)},
        })
    );
    // The author answering their own post, and a reply refused, tell nobody.
    reply(&app, &alice, pid, "Thanks.", None).await;
    let refused = app
        .post(&format!("/api/v1/posts/{pid}/replies/"))
        .bearer_auth(&bob.access)
        .json(&json!({"content": "x", "parent_id": 999_999}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(notices().await.len(), 1);
});

//! Posts: create, read, update, delete; validation and permissions.

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::schema::system_logs;
use plaza_kernel::testing::TestApp;
use serde_json::{json, Value};

use crate::support::{app, get_json, id, post, reply};

async fn logged(app: &TestApp, event: &'static str) -> i64 {
    app.db()
        .run(move |conn| {
            Ok(system_logs::table
                .filter(system_logs::event.eq(event))
                .count()
                .get_result(conn)?)
        })
        .await
        .unwrap()
}

db_test!(async fn create_read_update_delete(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;

    let created = post(&app, &alice, "  Hello 世界  ", "First post.\n\n  indented", &["Rust", "web", "rust"]).await;
    assert_eq!(created["title"], "Hello 世界", "titles are trimmed");
    assert_eq!(created["content"], "First post.\n\n  indented", "content is kept as written");
    assert_eq!(created["author"], json!({"id": alice.id, "username": "alice", "avatar": null}));
    let tag_names: Vec<&str> = created["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(tag_names, ["Rust", "web"], "duplicate names in any case count once");
    assert_eq!(created["tags"][0]["slug"], "rust");
    assert_eq!((created["reply_count"].as_i64(), created["view_count"].as_i64()), (Some(0), Some(0)));
    assert_eq!(created["replies"], json!([]));
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    let path = format!("/api/v1/posts/{}/", id(&created));

    // Each detail read counts a view; anyone may read.
    assert_eq!(get_json(&app, &path).await["view_count"], 1);
    let detail = get_json(&app, &path).await;
    assert_eq!(detail["view_count"], 2);
    assert_eq!(detail["title"], "Hello 世界");
    // Also without the trailing slash.
    assert_eq!(app.get(path.trim_end_matches('/')).send().await.unwrap().status(), 200);

    // PUT replaces the text; tags stay when not given.
    let res = app.put(&path).bearer_auth(&alice.access).json(&json!({"title": "New title", "content": "New content"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let put: Value = res.json().await.unwrap();
    assert_eq!((put["title"].as_str(), put["content"].as_str()), (Some("New title"), Some("New content")));
    assert_eq!(put["tags"].as_array().unwrap().len(), 2);
    assert_eq!(put["view_count"], 3, "three reads; editing is not a view");
    assert_ne!(put["updated_at"], created["updated_at"]);

    // PATCH changes what it names; tags replace.
    let res = app.patch(&path).bearer_auth(&alice.access).json(&json!({"tags": ["go"]})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let patched: Value = res.json().await.unwrap();
    assert_eq!(patched["title"], "New title");
    assert_eq!(patched["tags"][0]["name"], "go");
    assert_eq!(patched["tags"].as_array().unwrap().len(), 1);
    let res = app.patch(&path).bearer_auth(&alice.access).json(&json!({"title": "Only title"})).send().await.unwrap();
    let patched: Value = res.json().await.unwrap();
    assert_eq!((patched["title"].as_str(), patched["content"].as_str()), (Some("Only title"), Some("New content")));
    let res = app.patch(&path).bearer_auth(&alice.access).json(&json!({"tags": []})).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["tags"], json!([]));

    // DELETE.
    assert_eq!(app.delete(&path).bearer_auth(&alice.access).send().await.unwrap().status(), 204);
    assert_eq!(app.get(&path).send().await.unwrap().status(), 404);
    assert_eq!(app.delete(&path).bearer_auth(&alice.access).send().await.unwrap().status(), 404);
    assert_eq!(get_json(&app, "/api/v1/posts/").await["count"], 0);
});

db_test!(async fn invalid_posts_change_nothing(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;

    let res = app.post("/api/v1/posts/").json(&json!({"title": "t", "content": "c"})).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "not_authenticated");
    let res = app.post("/api/v1/posts/").bearer_auth("not-a-token").json(&json!({"title": "t", "content": "c"})).send().await.unwrap();
    assert_eq!(res.status(), 401);

    let too_many: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    for (body, field) in [
        (json!({"content": "c"}), "title"),
        (json!({"title": "", "content": "c"}), "title"),
        (json!({"title": "   ", "content": "c"}), "title"),
        (json!({"title": "x".repeat(201), "content": "c"}), "title"),
        (json!({"title": "字".repeat(201), "content": "c"}), "title"),
        (json!({"title": 7, "content": "c"}), "title"),
        (json!({"title": "t"}), "content"),
        (json!({"title": "t", "content": ""}), "content"),
        (json!({"title": "t", "content": " \n\t "}), "content"),
        (json!({"title": "t", "content": "c".repeat(50_001)}), "content"),
        (json!({"title": "t", "content": "c", "tags": "rust"}), "tags"),
        (json!({"title": "t", "content": "c", "tags": too_many}), "tags"),
        (json!({"title": "t", "content": "c", "tags": ["x".repeat(51)]}), "tags"),
        (json!({"title": "t", "content": "c", "tags": ["  "]}), "tags"),
    ] {
        let res = app.post("/api/v1/posts/").bearer_auth(&alice.access).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["code"], "validation_error", "{body}");
        assert!(err["errors"][field].is_array(), "{field}: {err}");
    }

    let res = app.post("/api/v1/posts/").bearer_auth(&alice.access).header("content-type", "text/plain").body("title=t").send().await.unwrap();
    assert_eq!(res.status(), 415);
    let res = app.post("/api/v1/posts/").bearer_auth(&alice.access).header("content-type", "application/json").body("{\"title\": ").send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "bad_request");

    assert_eq!(get_json(&app, "/api/v1/posts/").await["count"], 0, "nothing was created");
    assert_eq!(get_json(&app, "/api/v1/core/tags/").await["count"], 0, "no tag either");

    // The limits themselves are fine, in any script.
    post(&app, &alice, &"字".repeat(200), &"文".repeat(50_000), &[&"标".repeat(50)]).await;

    // Updates are checked the same way.
    let p = post(&app, &alice, "t", "c", &[]).await;
    let path = format!("/api/v1/posts/{}/", id(&p));
    for body in [json!({"title": ""}), json!({"content": "c".repeat(50_001)}), json!({"tags": too_many})] {
        let res = app.patch(&path).bearer_auth(&alice.access).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 400, "{body}");
    }
    let res = app.put(&path).bearer_auth(&alice.access).json(&json!({"title": "only"})).send().await.unwrap();
    assert_eq!(res.status(), 400, "PUT needs the content");
    assert_eq!(get_json(&app, &path).await["title"], "t");
});

db_test!(async fn only_the_author_or_a_moderator_changes_a_post(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let moderator = app.create_moderator("mod").await;
    let staff = app.create_staff("root").await;
    let p = post(&app, &alice, "Alice's", "mine", &["a"]).await;
    let path = format!("/api/v1/posts/{}/", id(&p));

    for res in [
        app.patch(&path).bearer_auth(&bob.access).json(&json!({"title": "hijack"})).send().await.unwrap(),
        app.put(&path).bearer_auth(&bob.access).json(&json!({"title": "hijack", "content": "x"})).send().await.unwrap(),
        app.delete(&path).bearer_auth(&bob.access).send().await.unwrap(),
    ] {
        assert_eq!(res.status(), 403);
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "permission_denied");
    }
    assert_eq!(app.patch(&path).json(&json!({"title": "x"})).send().await.unwrap().status(), 401);
    assert_eq!(app.delete(&path).send().await.unwrap().status(), 401);
    let unchanged = get_json(&app, &path).await;
    assert_eq!(unchanged["title"], "Alice's");
    assert_eq!(unchanged["tags"][0]["name"], "a");

    // Unknown posts.
    assert_eq!(app.patch("/api/v1/posts/999999/").bearer_auth(&alice.access).json(&json!({"title": "x"})).send().await.unwrap().status(), 404);
    assert_eq!(app.delete("/api/v1/posts/999999/").bearer_auth(&alice.access).send().await.unwrap().status(), 404);
    assert_eq!(app.get("/api/v1/posts/999999/").send().await.unwrap().status(), 404);
    assert_eq!(app.get("/api/v1/posts/nope/").send().await.unwrap().status(), 404);
    // A method the resource lacks.
    let res = app.post(&path).bearer_auth(&alice.access).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "method_not_allowed");

    // Moderators and staff may; it is logged.
    let res = app.patch(&path).bearer_auth(&moderator.access).json(&json!({"title": "Moderated"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["author"]["id"], alice.id, "the author stays");
    assert_eq!(logged(&app, "post_edited_by_moderator").await, 1);
    // The author's own edit is not a moderation.
    app.patch(&path).bearer_auth(&alice.access).json(&json!({"title": "Mine again"})).send().await.unwrap();
    assert_eq!(logged(&app, "post_edited_by_moderator").await, 1);

    let other = post(&app, &alice, "Second", "c", &[]).await;
    assert_eq!(app.delete(&format!("/api/v1/posts/{}/", id(&other))).bearer_auth(&staff.access).send().await.unwrap().status(), 204);
    assert_eq!(app.delete(&path).bearer_auth(&moderator.access).send().await.unwrap().status(), 204);
    assert_eq!(logged(&app, "post_deleted_by_moderator").await, 2);
});

db_test!(async fn deleting_a_post_deletes_its_replies(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let p = post(&app, &alice, "t", "c", &[]).await;
    let pid = id(&p);
    let top = reply(&app, &bob, pid, "top", None).await;
    let child = reply(&app, &alice, pid, "child", Some(id(&top))).await;

    assert_eq!(app.delete(&format!("/api/v1/posts/{pid}/")).bearer_auth(&alice.access).send().await.unwrap().status(), 204);
    assert_eq!(app.get(&format!("/api/v1/posts/{pid}/replies/")).send().await.unwrap().status(), 404);
    for reply_id in [id(&top), id(&child)] {
        let res = app.patch(&format!("/api/v1/posts/replies/{reply_id}/")).bearer_auth(&bob.access).json(&json!({"content": "x"})).send().await.unwrap();
        assert_eq!(res.status(), 404);
    }
    // Replying to the deleted post.
    let res = app.post(&format!("/api/v1/posts/{pid}/replies/")).bearer_auth(&bob.access).json(&json!({"content": "late"})).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["detail"], "Post not found.");
});

db_test!(async fn a_created_post_answers_what_its_detail_then_shows(backend) {
    // The create answer is built without reading the post back: it must match the stored one.
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    for tags in [json!([]), json!(["Zeta", "alpha", "Mid"])] {
        let res = app.post("/api/v1/posts/").bearer_auth(&alice.access)
            .json(&json!({"title": "  标题 with spaces  ", "content": "正文\nline", "tags": tags}))
            .send().await.unwrap();
        assert_eq!(res.status(), 201);
        let mut created: Value = res.json().await.unwrap();
        let id = created["id"].as_i64().unwrap();
        let mut detail = get_json(&app, &format!("/api/v1/posts/{id}/")).await;
        assert_eq!(detail["view_count"], 1);
        detail["view_count"] = json!(0);
        // Tag usage counts move with every post; compare the rest.
        for v in [&mut created, &mut detail] {
            for tag in v["tags"].as_array_mut().unwrap() {
                tag.as_object_mut().unwrap().remove("usage_count");
            }
        }
        assert_eq!(created, detail);
    }
});

//! The models added for moderation — login sessions, API keys, the system log, feed posts and
//! comments, the metaverse's events, catalogue, instances and avatars, AI conversations and
//! templates — through the console's pages, with their refusals.

use plaza_kernel::db_test;
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{app, full_app, input_value, Browser};

async fn json_of(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

db_test!(async fn sessions_and_api_keys_are_revoked_in_bulk(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let alice = app.create_user("alice").await;
    let _bob = app.create_user("bob").await;
    // Alice signs in through the API (a session) and makes a key.
    let login = json_of(
        app.post("/api/v1/auth/login/")
            .json(&json!({"username": "alice", "password": alice.password}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let access = login["access"].as_str().expect("an access token").to_owned();
    let key = json_of(
        app.post("/api/v1/auth/api-keys/")
            .bearer_auth(&access)
            .json(&json!({"name": "ci"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let secret = key["key"].as_str().unwrap().to_owned();
    let key_id = key["id"].as_i64().unwrap().to_string();
    let me = |auth: &str| app.get("/api/v1/users/me/").header("authorization", auth.to_owned());
    assert_eq!(me(&format!("Bearer {access}")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(me(&format!("Api-Key {secret}")).send().await.unwrap().status(), StatusCode::OK);

    // Not signed in: no list.
    let mut browser = Browser::new(&app);
    assert_eq!(browser.get("/admin/sessions/").await.status(), StatusCode::SEE_OTHER);
    browser.sign_in_staff(&staff).await;

    // One user's sessions through the search box; nobody's for an unknown name.
    let html = browser.page("/admin/sessions/?q=alice&state=live").await;
    assert!(html.contains("1 in all") && html.contains("alice (#"), "{html}");
    let session_id = input_value(&html, "ids").expect("a row to tick");
    assert!(browser.page("/admin/sessions/?q=nobody").await.contains("0 in all"));
    // The console closes the API session its own sign-in opened: root's is revoked already.
    assert!(browser.page("/admin/sessions/?q=alice&state=revoked").await.contains("0 in all"));
    assert!(browser.page("/admin/sessions/?q=root&state=revoked").await.contains("1 in all"));

    // Keys show their prefix, never the key or its hash.
    let html = browser.page("/admin/api-keys/?revoked=false").await;
    assert!(html.contains(">ci<") && html.contains(&secret[..12]), "{html}");
    assert!(!html.contains(&secret));
    assert!(!html.contains(&plaza_kernel::crypto::sha256_hex(&secret)));
    let html = browser.page(&format!("/admin/api-keys/{key_id}/")).await;
    assert!(!html.contains(&plaza_kernel::crypto::sha256_hex(&secret)));

    // A bulk action without the form's token is refused, and changes nothing.
    let res = browser
        .post("/admin/sessions/", &[("action", "revoke"), ("ids", &session_id), ("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(me(&format!("Bearer {access}")).send().await.unwrap().status(), StatusCode::OK);

    // Revoked after "Are you sure?": the session's access token and the key stop at once.
    let res = browser.act("sessions", "revoke", &[&session_id], &["of alice"]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&format!("Bearer {access}")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let html = browser.page("/admin/sessions/?q=alice&state=revoked").await;
    assert!(html.contains("1 in all") && html.contains("revoked"), "{html}");
    let res = browser.act("api-keys", "revoke", &[&key_id], &["API key &quot;ci&quot;"]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&format!("Api-Key {secret}")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert!(browser.page("/admin/api-keys/?revoked=true").await.contains("1 in all"));

    let html = browser.page(&format!("/admin/sessions/{session_id}/history/")).await;
    assert!(html.contains("Revoke the selected sessions") && html.contains("root"), "{html}");

    // The system log: the console's entries, by module and level, searchable, read-only.
    let html = browser.page("/admin/logs/?module=admin&q=admin_action").await;
    assert!(html.contains(">admin_action<") && html.contains("2 in all"), "{html}");
    assert!(browser.page("/admin/logs/?module=admin&level=critical").await.contains("0 in all"));
    assert!(browser.page("/admin/logs/?q=admin_action").await.contains("2 in all"));
    // An unknown level is not a filter (only the declared choices are).
    assert!(browser.page("/admin/logs/?q=admin_action&level=bogus").await.contains("2 in all"));
    let log_id = input_value(&browser.page("/admin/logs/?module=admin").await, "ids");
    assert!(log_id.is_none(), "no bulk actions on the log");
    let logs = json_of(
        app.get("/api/v1/core/logs/?event=admin_action")
            .bearer_auth(&staff.access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let log_id = logs["results"][0]["id"].as_i64().expect("an entry");
    let path = format!("/admin/logs/{log_id}/");
    let html = browser.page(&path).await;
    assert!(html.contains("admin_action"));
    let csrf = input_value(&html, "csrf").unwrap();
    let res = browser.post(&path, &[("csrf", &csrf), ("message", "forged")]).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
});

db_test!(async fn feed_posts_and_comments_are_moderated(backend) {
    let app = full_app(backend).await;
    let staff = app.create_staff("root").await;
    let alice = app.create_user("alice").await;
    // A private post, which the API shows nobody but alice.
    let post = json_of(
        app.post("/api/v1/social/posts/")
            .bearer_auth(&alice.access)
            .json(&json!({"content": "Secret plans", "visibility": "private"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let post_id = post["id"].as_i64().unwrap().to_string();
    let comment = json_of(
        app.post(&format!("/api/v1/social/posts/{post_id}/comments/"))
            .bearer_auth(&alice.access)
            .json(&json!({"content": "Note to self"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let comment_id = comment["id"].as_i64().unwrap().to_string();
    let mut browser = Browser::new(&app);
    browser.sign_in_staff(&staff).await;

    let html = browser.page("/admin/feed-posts/?visibility=private&q=secret").await;
    assert!(html.contains(">Secret plans<") && html.contains("1 in all"), "{html}");
    assert!(browser.page("/admin/feed-posts/?visibility=public").await.contains("0 in all"));
    assert!(browser.page("/admin/comments/?q=note").await.contains(">Note to self<"));

    // The comment goes after its confirmation; the post's count follows.
    let path = format!("/admin/comments/{comment_id}/delete/");
    let csrf = input_value(&browser.page(&path).await, "csrf").unwrap();
    let res = browser.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = browser.page(&format!("/admin/feed-posts/{post_id}/")).await;
    assert!(html.contains("<dt>Comments</dt><dd>0</dd>"), "{html}");
    assert_eq!(browser.get(&format!("/admin/comments/{comment_id}/")).await.status(), StatusCode::NOT_FOUND);

    // The post, in bulk after "Are you sure?".
    let res = browser.act("feed-posts", "delete", &[&post_id], &["by alice"]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/admin/feed-posts/?done=delete&n=1");
    let res = app
        .get(&format!("/api/v1/social/posts/{post_id}/"))
        .bearer_auth(&alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = browser.page(&format!("/admin/comments/{comment_id}/history/")).await;
    assert!(html.contains("deleted comments"), "{html}");
});

db_test!(async fn metaverse_models_edit_with_the_domain_rules(backend) {
    let app = full_app(backend).await;
    let staff = app.create_staff("root").await;
    let alice = app.create_user("alice").await;
    let world = json_of(
        app.post("/api/v1/metaverse/worlds/")
            .bearer_auth(&alice.access)
            .json(&json!({"name": "Atlantis"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let world_id = world["id"].as_i64().unwrap();
    let object = json_of(
        app.post("/api/v1/metaverse/objects/")
            .bearer_auth(&alice.access)
            .json(&json!({"name": "Lamp", "kind": "furniture", "price": 10}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let object_id = object["id"].as_i64().unwrap();
    let instance = json_of(
        app.post(&format!("/api/v1/metaverse/worlds/{world_id}/objects/"))
            .bearer_auth(&alice.access)
            .json(&json!({"object_id": object_id}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let instance_id = instance["id"].as_i64().unwrap();
    let start = chrono::Utc::now() + chrono::Duration::days(1);
    let event = json_of(
        app.post("/api/v1/metaverse/events/")
            .bearer_auth(&alice.access)
            .json(&json!({
                "world_id": world_id,
                "title": "Opening",
                "start_at": start,
                "end_at": start + chrono::Duration::hours(2),
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let event_id = event["id"].as_i64().unwrap();
    let avatar = json_of(
        app.post("/api/v1/metaverse/avatars/")
            .bearer_auth(&alice.access)
            .json(&json!({"name": "Diver"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let avatar_id = avatar["id"].as_i64().unwrap();
    let mut browser = Browser::new(&app);
    browser.sign_in_staff(&staff).await;

    assert!(browser.page("/admin/events/?q=open&upcoming=true").await.contains(">Opening<"));
    assert!(browser.page("/admin/objects/?rarity=common&q=lam").await.contains(">Lamp<"));
    assert!(browser.page("/admin/objects/?rarity=legendary").await.contains("0 in all"));
    let html = browser.page("/admin/instances/").await;
    assert!(html.contains("Lamp (#") && html.contains("Atlantis (#"), "{html}");
    assert!(browser.page("/admin/avatars/?q=div").await.contains(">Diver<"));

    // The domain's rules, beside the fields; nothing saved, nothing in the history.
    let path = format!("/admin/events/{event_id}/");
    let csrf = input_value(&browser.page(&path).await, "csrf").unwrap();
    let res = browser
        .post(&path, &[("csrf", &csrf), ("title", "Opening"), ("description", ""), ("max_participants", "lots")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("id=\"error-max_participants\""));
    let res = browser
        .post(&path, &[("csrf", &csrf), ("title", "Opening"), ("description", ""), ("max_participants", "0")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("id=\"error-max_participants\""));
    let res = browser
        .post(&path, &[("csrf", &csrf), ("title", " "), ("description", ""), ("max_participants", "")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("id=\"error-title\""));
    let html = browser.page(&format!("{path}history/")).await;
    assert!(!html.contains("admin_change"), "{html}");

    // A valid change: saved through the domain, its history written with it.
    let res = browser
        .post(&path, &[("csrf", &csrf), ("title", "Grand opening"), ("description", ""), ("max_participants", "50")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let event: Value = app
        .get(&format!("/api/v1/metaverse/events/{event_id}/"))
        .bearer_auth(&alice.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(event["title"], "Grand opening");
    assert_eq!(event["max_participants"], 50);
    let html = browser.page(&format!("{path}history/")).await;
    assert!(html.contains("<td>title</td><td>Opening</td><td>Grand opening</td>"), "{html}");

    // A price that is not a number is refused beside its field.
    let path = format!("/admin/objects/{object_id}/");
    let csrf = input_value(&browser.page(&path).await, "csrf").unwrap();
    let res = browser
        .post(&path, &[("csrf", &csrf), ("name", "Lamp"), ("kind", "furniture"), ("price", "-1"), ("rarity", "rare")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("id=\"error-price\""));
    let res = browser
        .post(&path, &[("csrf", &csrf), ("name", "Lamp"), ("kind", "furniture"), ("price", "12"), ("rarity", "rare")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(browser.page("/admin/objects/?rarity=rare").await.contains(">Lamp<"));

    // Deletions, each after its confirmation.
    for path in [
        format!("/admin/instances/{instance_id}/delete/"),
        format!("/admin/avatars/{avatar_id}/delete/"),
        format!("/admin/events/{event_id}/delete/"),
    ] {
        let csrf = input_value(&browser.page(&path).await, "csrf").unwrap();
        let res = browser.post(&path, &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
    }
    let avatars: Value = app
        .get("/api/v1/metaverse/avatars/")
        .bearer_auth(&alice.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(avatars["count"], 0, "{avatars}");
    assert!(browser.page("/admin/instances/").await.contains("0 in all"));
});

db_test!(async fn ai_conversations_and_templates_are_moderated(backend) {
    let app = full_app(backend).await;
    let staff = app.create_staff("root").await;
    let alice = app.create_user("alice").await;
    let conversation = json_of(
        app.post("/api/v1/ai/conversations/")
            .bearer_auth(&alice.access)
            .json(&json!({"title": "Holiday ideas"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let conversation_id = conversation["id"].as_i64().unwrap();
    let template = json_of(
        app.post("/api/v1/ai/templates/")
            .bearer_auth(&alice.access)
            .json(&json!({"name": "Greeter", "template": "Hello {{ name }}", "is_public": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let template_id = template["id"].as_i64().unwrap();
    let mut browser = Browser::new(&app);
    browser.sign_in_staff(&staff).await;

    let html = browser.page("/admin/conversations/?q=holiday").await;
    assert!(html.contains(">Holiday ideas<") && html.contains("alice"), "{html}");
    assert!(browser.page("/admin/templates/?is_public=true&q=greet").await.contains(">Greeter<"));

    // Staff stop sharing it: alice still has it, others no longer see it.
    let path = format!("/admin/templates/{template_id}/");
    let csrf = input_value(&browser.page(&path).await, "csrf").unwrap();
    let res = browser.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(browser.page("/admin/templates/?is_public=false").await.contains(">Greeter<"));
    let bob = app.create_user("bob").await;
    let res = app
        .get(&format!("/api/v1/ai/templates/{template_id}/"))
        .bearer_auth(&bob.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let path = format!("/admin/conversations/{conversation_id}/delete/");
    let html = browser.page(&path).await;
    assert!(html.contains("Its 0 messages"), "{html}");
    let csrf = input_value(&html, "csrf").unwrap();
    assert_eq!(browser.post(&path, &[("csrf", &csrf)]).await.status(), StatusCode::SEE_OTHER);
    let res = app
        .get(&format!("/api/v1/ai/conversations/{conversation_id}/"))
        .bearer_auth(&alice.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
});

db_test!(async fn forum_replies_edit_and_delete_with_the_api_rules(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let alice = app.create_user("alice").await;
    let post = json_of(
        app.post("/api/v1/posts/")
            .bearer_auth(&alice.access)
            .json(&json!({"title": "Hello", "content": "First post"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let post_id = post["id"].as_i64().unwrap();
    let reply = json_of(
        app.post(&format!("/api/v1/posts/{post_id}/replies/"))
            .bearer_auth(&alice.access)
            .json(&json!({"content": "Frist!"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let reply_id = reply["id"].as_i64().unwrap();
    let mut browser = Browser::new(&app);
    browser.sign_in_staff(&staff).await;

    let html = browser.page("/admin/replies/?q=frist&is_deleted=false").await;
    assert!(html.contains(">Frist!<") && html.contains("1 in all"), "{html}");
    assert!(browser.page("/admin/replies/?is_deleted=true").await.contains("0 in all"));

    let path = format!("/admin/replies/{reply_id}/");
    let csrf = input_value(&browser.page(&path).await, "csrf").unwrap();
    let res = browser.post(&path, &[("csrf", &csrf), ("content", "   ")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("id=\"error-content\""));
    let res = browser.post(&path, &[("csrf", &csrf), ("content", "First!")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let replies: Value = app
        .get(&format!("/api/v1/posts/{post_id}/replies/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replies["results"][0]["content"], "First!", "{replies}");
    let html = browser.page(&format!("{path}history/")).await;
    assert!(html.contains("<td>content</td><td>Frist!</td><td>First!</td>"), "{html}");

    let delete = format!("{path}delete/");
    let csrf = input_value(&browser.page(&delete).await, "csrf").unwrap();
    assert_eq!(browser.post(&delete, &[("csrf", &csrf)]).await.status(), StatusCode::SEE_OTHER);
    let post: Value = app
        .get(&format!("/api/v1/posts/{post_id}/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(post["reply_count"], 0, "{post}");
});

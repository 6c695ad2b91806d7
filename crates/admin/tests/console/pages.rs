//! The framework's pages over real domains: list, search, filter, bulk action, edit with the
//! domain's validation, delete with confirmation, history.

use plaza_kernel::db_test;
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{app, input_value, Browser};

db_test!(async fn users_search_filter_and_deactivate(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let alice = app.create_user("alice").await;
    let _bob = app.create_user("bob").await;
    let mut browser = Browser::new(&app);
    browser.sign_in_staff(&staff).await;

    let html = browser.page("/admin/users/").await;
    assert!(html.contains(">alice<") && html.contains(">bob<"));
    assert!(!html.contains("$2"), "no password hash on the page");
    let html = browser.page("/admin/users/?q=ali").await;
    assert!(html.contains(">alice<") && !html.contains(">bob<"));
    assert!(html.contains("1 in all"));

    // Deactivate alice from the list; the API then refuses her login.
    let id = alice.id.to_string();
    let res = browser.act("users", "deactivate", &[&id], &["alice"]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = browser.page(res.headers()[LOCATION].to_str().unwrap()).await;
    assert!(html.contains("Deactivate the selected accounts: 1 done."));
    let html = browser.page("/admin/users/?is_active=false").await;
    assert!(html.contains(">alice<") && !html.contains(">bob<"));

    let res = app
        .post("/api/v1/auth/login/")
        .json(&json!({"username": "alice", "password": alice.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let html = browser.page(&format!("/admin/users/{id}/history/")).await;
    assert!(html.contains("Deactivate the selected accounts") && html.contains("root"));
});

db_test!(async fn roles_and_staff_flags_are_for_superusers(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let alice = app.create_user("alice").await;
    let mut browser = Browser::new(&app);
    browser.sign_in_staff(&staff).await;

    let path = format!("/admin/users/{}/", alice.id);
    let html = browser.page(&path).await;
    assert!(html.contains("Only superusers may change this."));
    let csrf = input_value(&html, "csrf").unwrap();
    // A forged field is ignored: the form never submits it for a staff member who is not a
    // superuser, and the console drops it.
    let res = browser
        .post(&path, &[("csrf", &csrf), ("first_name", "Alice"), ("role", "admin"), ("is_staff", "true"), ("is_active", "true")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let user: Value = app
        .get(&format!("/api/v1/users/{}/", alice.id))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["first_name"], "Alice");
    assert_eq!(user["role"], "user");
    assert_eq!(user["is_staff"], false);
});

db_test!(async fn post_edit_shows_the_title_error_and_records_history(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let author = app.create_user("alice").await;
    let post: Value = app
        .post("/api/v1/posts/")
        .bearer_auth(&author.access)
        .json(&json!({"title": "Hello", "content": "First post"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = post["id"].as_i64().unwrap();
    let mut browser = Browser::new(&app);
    browser.sign_in_staff(&staff).await;

    let html = browser.page("/admin/posts/?q=hello").await;
    assert!(html.contains(">Hello<"));
    let path = format!("/admin/posts/{id}/");
    let html = browser.page(&path).await;
    let csrf = input_value(&html, "csrf").unwrap();

    let long = "x".repeat(201);
    let res = browser
        .post(&path, &[("csrf", &csrf), ("title", &long), ("content", "First post")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"error-title\""), "{html}");

    let res = browser
        .post(&path, &[("csrf", &csrf), ("title", "Hello, world"), ("content", "First post")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let post: Value = app.get(&format!("/api/v1/posts/{id}/")).send().await.unwrap().json().await.unwrap();
    assert_eq!(post["title"], "Hello, world");

    let html = browser.page(&format!("/admin/posts/{id}/history/")).await;
    assert!(html.contains("<td>title</td><td>Hello</td><td>Hello, world</td>"), "{html}");
    assert!(!html.contains("<td>content</td>"), "only the changed fields");
});

db_test!(async fn tags_delete_after_confirmation(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let tag: Value = app
        .post("/api/v1/core/tags/")
        .bearer_auth(&staff.access)
        .json(&json!({"name": "Rust"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = tag["id"].as_i64().unwrap();
    let mut browser = Browser::new(&app);
    browser.sign_in_staff(&staff).await;

    let html = browser.page(&format!("/admin/tags/{id}/delete/")).await;
    assert!(html.contains("The tag &quot;Rust&quot;") || html.contains("The tag \"Rust\""), "{html}");
    let csrf = input_value(&html, "csrf").unwrap();
    let res = browser.post(&format!("/admin/tags/{id}/delete/"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = app.get(&format!("/api/v1/core/tags/{id}/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = browser.page(&format!("/admin/tags/{id}/history/")).await;
    assert!(html.contains("deleted tags"), "{html}");

    // Creating one through the form, with the domain's validation.
    let csrf = browser.csrf("/admin/tags/add/").await;
    let res = browser
        .post("/admin/tags/add/", &[("csrf", &csrf), ("name", "Go"), ("slug", ""), ("color", "red"), ("description", "")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("id=\"error-color\""));
    let res = browser
        .post("/admin/tags/add/", &[("csrf", &csrf), ("name", "Go"), ("slug", ""), ("color", ""), ("description", "")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = browser.page("/admin/tags/?q=go").await;
    assert!(html.contains(">Go<"));
});

db_test!(async fn a_bulk_action_counts_each_object_once(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let mut browser = Browser::new(&app);
    browser.sign_in_staff(&staff).await;
    // A form that names alice twice, not side by side: her row is listed (and acted on) once.
    let (a, b) = (alice.id.to_string(), bob.id.to_string());
    let csrf = browser.csrf("/admin/users/").await;
    let fields = [("csrf", csrf.as_str()), ("action", "deactivate"), ("ids", &a), ("ids", &b), ("ids", &a)];
    let res = browser.post("/admin/users/", &fields).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let listed = html.matches(&format!("name=\"ids\" value=\"{a}\"")).count();
    assert_eq!(listed, 1, "{html}");
    assert!(html.contains(&format!("name=\"ids\" value=\"{b}\"")), "{html}");
});

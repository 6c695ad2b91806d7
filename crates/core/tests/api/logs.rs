//! `GET /api/v1/core/logs/`.

use plaza_kernel::db_test;
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::testing::TestApp;
use serde_json::{json, Value};

use crate::support::app;

/// Records events as domains do: (level, module, event, message, user).
async fn record(
    app: &TestApp,
    events: Vec<(Level, &'static str, &'static str, &'static str, Option<i64>)>,
) {
    app.db()
        .run(move |conn| {
            for (level, module, event, message, user) in events {
                let mut e = Event::new(level, module, event, message).data(json!({"k": 1}));
                e.user_id = user;
                syslog::record(conn, &e)?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

async fn get(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/core/logs/{query}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

db_test!(async fn only_staff_read_the_log(backend) {
    let app = app(backend).await;
    let user = app.create_user("alice").await;
    let moderator = app.create_moderator("mod").await;
    assert_eq!(app.get("/api/v1/core/logs/").send().await.unwrap().status(), 401);
    assert_eq!(get(&app, &user.access, "").await.status(), 403);
    assert_eq!(get(&app, &moderator.access, "").await.status(), 403);
});

db_test!(async fn filters_and_cursor_paging(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    record(&app, vec![
        (Level::Info, "core", "tag_created", "root created tag \"a\"", Some(staff.id)),
        (Level::Warning, "authentication", "login_locked", "alice locked out", Some(42)),
        (Level::Critical, "authentication", "refresh_token_reuse", "token reuse for bob", Some(43)),
        (Level::Error, "posts", "job_failed", "could not notify", None),
        (Level::Info, "core", "tag_deleted", "root deleted tag \"a\"", Some(staff.id)),
    ]).await;

    // Newest first, every field.
    let page: Value = get(&app, &staff.access, "").await.json().await.unwrap();
    let events: Vec<&str> = page["results"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["tag_deleted", "job_failed", "refresh_token_reuse", "login_locked", "tag_created"]);
    assert_eq!(page["next_cursor"], Value::Null);
    let first = &page["results"][0];
    assert_eq!(first["level"], "info");
    assert_eq!(first["module"], "core");
    assert_eq!(first["data"], json!({"k": 1}));
    assert_eq!(first["user_id"], staff.id);
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));

    let count = |page: &Value| page["results"].as_array().unwrap().len();
    let page: Value = get(&app, &staff.access, "?level=warning,CRITICAL").await.json().await.unwrap();
    assert_eq!(count(&page), 2);
    let page: Value = get(&app, &staff.access, "?module=authentication&level=critical").await.json().await.unwrap();
    assert_eq!(page["results"][0]["event"], "refresh_token_reuse");
    assert_eq!(count(&page), 1);
    let page: Value = get(&app, &staff.access, "?event=login_locked").await.json().await.unwrap();
    assert_eq!(count(&page), 1);
    let page: Value = get(&app, &staff.access, &format!("?user={}", staff.id)).await.json().await.unwrap();
    assert_eq!(count(&page), 2);
    let page: Value = get(&app, &staff.access, "?search=REUSE").await.json().await.unwrap();
    assert_eq!(count(&page), 1, "search is case-insensitive");
    let page: Value = get(&app, &staff.access, "?search=tag_").await.json().await.unwrap();
    assert_eq!(count(&page), 2, "search covers the event name, with literal underscores");

    // Time bounds: everything is from today.
    let today = chrono::Utc::now().date_naive();
    let page: Value = get(&app, &staff.access, &format!("?since={today}&until={today}")).await.json().await.unwrap();
    assert_eq!(count(&page), 5);
    let tomorrow = today.succ_opt().unwrap();
    let page: Value = get(&app, &staff.access, &format!("?since={tomorrow}")).await.json().await.unwrap();
    assert_eq!(count(&page), 0);
    let page: Value = get(&app, &staff.access, "?until=2000-01-01T00:00:00Z").await.json().await.unwrap();
    assert_eq!(count(&page), 0);

    // Cursor paging walks every row once, in order.
    let mut seen = Vec::new();
    let mut query = "?page_size=2".to_owned();
    loop {
        let page: Value = get(&app, &staff.access, &query).await.json().await.unwrap();
        assert!(count(&page) <= 2);
        seen.extend(page["results"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?page_size=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 5);
});

db_test!(async fn bad_filters_are_named(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    for (query, field) in [
        ("?level=loud", "level"),
        ("?since=yesterday", "since"),
        ("?until=2026-13-01", "until"),
        ("?since=2026-11-21&until=2026-11-20", "until"),
        ("?user=abc", "user"),
        ("?cursor=not-a-cursor", "cursor"),
    ] {
        let res = get(&app, &staff.access, query).await;
        assert_eq!(res.status(), 400, "{query}");
        let body: Value = res.json().await.unwrap();
        assert!(body["errors"][field].is_array(), "{query}: {body}");
    }
});

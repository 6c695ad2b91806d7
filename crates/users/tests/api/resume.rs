//! `me/resume/…` and `{id}/resume/`.

use plaza_kernel::db_test;
use serde_json::{json, Value};

use crate::support::{app, call};

db_test!(async fn the_basic_part(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;

    let (status, body) = call(app.get("/api/v1/users/me/resume/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 200);
    assert_eq!(body["full_name"], "");
    assert_eq!(body["updated_at"], Value::Null);
    assert_eq!(body["work_experiences"], json!([]));

    let (status, body) = call(app.put("/api/v1/users/me/resume/").bearer_auth(&alice.access).json(&json!({
        "full_name": "Alice Liddell", "headline": "Engineer", "phone": "+86 138 0000 0000",
        "email": "alice@work.example", "website": "https://alice.example"
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["full_name"], "Alice Liddell");
    assert!(body["updated_at"].is_string());

    // PUT replaces: fields left out become empty.
    let (_, body) = call(app.put("/api/v1/users/me/resume/").bearer_auth(&alice.access).json(&json!({"summary": "s"}))).await;
    assert_eq!((body["full_name"].as_str(), body["summary"].as_str()), (Some(""), Some("s")));

    for (bad, field) in [
        (json!({"email": "nope"}), "email"),
        (json!({"phone": "call me"}), "phone"),
        (json!({"website": "ftp://x"}), "website"),
        (json!({"full_name": "x".repeat(101)}), "full_name"),
    ] {
        let (status, body) = call(app.put("/api/v1/users/me/resume/").bearer_auth(&alice.access).json(&bad)).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["errors"][field].is_array(), "{body}");
    }
    let (status, _) = call(app.get("/api/v1/users/me/resume/")).await;
    assert_eq!(status, 401);
});

db_test!(async fn entries_of_every_kind(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;

    let kinds = [
        ("work", json!({"company": "Plaza", "position": "Engineer", "start_date": "2020-01-01", "description": "Rust"}), json!({"position": "Lead"}), "position", "Lead"),
        ("projects", json!({"name": "Plaza", "role": "author", "start_date": "2021-05-01", "url": "https://plaza.example"}), json!({"url": null}), "url", ""),
        ("education", json!({"school": "Fudan", "degree": "BSc", "major": "CS", "start_date": "2012-09-01", "end_date": "2016-07-01"}), json!({"major": "Maths"}), "major", "Maths"),
        ("custom", json!({"title": "Languages", "content": "中文, English", "sort_order": 2}), json!({"sort_order": 1}), "sort_order", ""),
    ];
    for (kind, create, patch, field, value) in kinds {
        let base = format!("/api/v1/users/me/resume/{kind}/");
        let (status, item) = call(app.post(&base).bearer_auth(&alice.access).json(&create)).await;
        assert_eq!(status, 201, "{kind}: {item}");
        let id = item["id"].as_i64().unwrap();
        let item_path = format!("{base}{id}/");

        let (status, page) = call(app.get(&base).bearer_auth(&alice.access)).await;
        assert_eq!(status, 200);
        assert_eq!(page["count"], 1, "{kind}");

        let (status, updated) = call(app.patch(&item_path).bearer_auth(&alice.access).json(&patch)).await;
        assert_eq!(status, 200, "{kind}: {updated}");
        match kind {
            "projects" => assert!(updated["url"].is_null()),
            "custom" => assert_eq!(updated["sort_order"], 1),
            _ => assert_eq!(updated[field], value),
        }
        // PUT needs every required field.
        let (status, _) = call(app.put(&item_path).bearer_auth(&alice.access).json(&json!({}))).await;
        assert_eq!(status, 400, "{kind}");
        let (status, _) = call(app.put(&item_path).bearer_auth(&alice.access).json(&create)).await;
        assert_eq!(status, 200, "{kind}");

        // Someone else's entry is not found, and not changed.
        let (status, _) = call(app.patch(&item_path).bearer_auth(&bob.access).json(&patch)).await;
        assert_eq!(status, 404, "{kind}");
        let (status, _) = call(app.delete(&item_path).bearer_auth(&bob.access)).await;
        assert_eq!(status, 404, "{kind}");
        let (status, _) = call(app.delete(&item_path)).await;
        assert_eq!(status, 401);

        let (status, _) = call(app.delete(&item_path).bearer_auth(&alice.access)).await;
        assert_eq!(status, 204, "{kind}");
        let (status, _) = call(app.delete(&item_path).bearer_auth(&alice.access)).await;
        assert_eq!(status, 404, "{kind}");
    }
});

db_test!(async fn entries_are_validated(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let base = "/api/v1/users/me/resume/work/";
    for (bad, field) in [
        (json!({"company": "P", "position": "E", "start_date": "2020-01-01", "end_date": "2019-01-01"}), "end_date"),
        (json!({"company": " ", "position": "E", "start_date": "2020-01-01"}), "company"),
        (json!({"company": "P", "position": "E"}), "start_date"),
        (json!({"company": "P", "position": "E", "start_date": "01/01/2020"}), "start_date"),
    ] {
        let (status, body) = call(app.post(base).bearer_auth(&alice.access).json(&bad)).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["errors"][field].is_array(), "{bad}: {body}");
    }
    // A patch that would end an entry before it starts is refused and rolled back.
    let (_, item) = call(app.post(base).bearer_auth(&alice.access).json(&json!({
        "company": "P", "position": "E", "start_date": "2020-01-01"
    })))
    .await;
    let path = format!("{base}{}/", item["id"]);
    let (status, _) = call(app.patch(&path).bearer_auth(&alice.access).json(&json!({"end_date": "2010-01-01"}))).await;
    assert_eq!(status, 400);
    let (_, resume) = call(app.get("/api/v1/users/me/resume/").bearer_auth(&alice.access)).await;
    assert!(resume["work_experiences"][0]["end_date"].is_null());
    // Only entries that exist: one of each failure above left nothing behind.
    assert_eq!(resume["work_experiences"].as_array().unwrap().len(), 1);
});

db_test!(async fn others_read_a_resume_as_its_privacy_allows(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let staff = app.create_staff("root").await;
    call(app.put("/api/v1/users/me/resume/").bearer_auth(&alice.access).json(&json!({"full_name": "Alice"}))).await;
    call(app.post("/api/v1/users/me/resume/education/").bearer_auth(&alice.access).json(&json!({
        "school": "Fudan", "start_date": "2012-09-01"
    })))
    .await;
    let path = format!("/api/v1/users/{}/resume/", alice.id);

    // Private by default.
    let (status, _) = call(app.get(&path).bearer_auth(&bob.access)).await;
    assert_eq!(status, 403);
    let (status, body) = call(app.get(&path).bearer_auth(&staff.access)).await;
    assert_eq!(status, 200);
    assert_eq!(body["educations"][0]["school"], "Fudan");
    let (status, _) = call(app.get(&path).bearer_auth(&alice.access)).await;
    assert_eq!(status, 200);

    call(app.put("/api/v1/users/me/settings/").bearer_auth(&alice.access).json(&json!({"privacy_settings": {"resume_visibility": "users"}}))).await;
    let (status, _) = call(app.get(&path)).await;
    assert_eq!(status, 403);
    let (status, body) = call(app.get(&path).bearer_auth(&bob.access)).await;
    assert_eq!(status, 200);
    assert_eq!(body["full_name"], "Alice");

    call(app.put("/api/v1/users/me/settings/").bearer_auth(&alice.access).json(&json!({"privacy_settings": {"resume_visibility": "public"}}))).await;
    let (status, _) = call(app.get(&path)).await;
    assert_eq!(status, 200);
});

db_test!(async fn entry_lists_page(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    for n in 1..=3 {
        call(app.post("/api/v1/users/me/resume/custom/").bearer_auth(&alice.access).json(&json!({
            "title": format!("Section {n}"), "sort_order": 10 - n
        })))
        .await;
    }
    let (status, page) = call(app.get("/api/v1/users/me/resume/custom/?page_size=2").bearer_auth(&alice.access)).await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 3);
    assert_eq!(page["results"][0]["title"], "Section 3");
    assert!(page["next"].is_string());
    let (status, _) = call(app.get("/api/v1/users/me/resume/custom/?page=3&page_size=2").bearer_auth(&alice.access)).await;
    assert_eq!(status, 404);
    // A user who never wrote a résumé has an empty first page.
    let bob = app.create_user("bob").await;
    let (status, page) = call(app.get("/api/v1/users/me/resume/work/").bearer_auth(&bob.access)).await;
    assert_eq!((status, page["count"].as_i64()), (200, Some(0)));
});

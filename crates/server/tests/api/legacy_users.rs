//! The forum's account paths (API.md §9), called exactly by those paths.

use plaza_kernel::db_test;
use serde_json::{json, Value};

use crate::support::{app, call};

const PASSWORD: &str = "Quiet-Lantern-58";

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap().to_owned()
}

db_test!(async fn register_login_and_profile(backend) {
    let app = app(backend).await;
    let (status, registered) = call(app.post("/users/register/").json(&json!({
        "username": "alice", "email": "alice@example.com", "password": PASSWORD
    })))
    .await;
    assert_eq!(status, 201, "{registered}");
    // The same body as /api/v1/auth/register/.
    assert_eq!(registered["user"]["username"], "alice");
    assert!(registered["access"].is_string() && registered["refresh"].is_string());
    let (status, body) = call(app.post("/users/register/").json(&json!({
        "username": "Alice", "email": "other@example.com", "password": PASSWORD
    })))
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("validation_error")));
    assert!(body["errors"]["username"].is_array());

    let (status, logged_in) = call(app.post("/users/login/").json(&json!({"username": "alice", "password": PASSWORD}))).await;
    assert_eq!(status, 200);
    assert!(logged_in["access"].is_string() && logged_in["user"]["id"].is_i64());
    let (status, body) = call(app.post("/users/login/").json(&json!({"username": "alice", "password": "nope"}))).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_credentials")));
    let access = s(&logged_in, "access");

    let (status, profile) = call(app.get("/users/profile/").bearer_auth(&access)).await;
    assert_eq!(status, 200);
    let (_, me) = call(app.get("/api/v1/users/me/").bearer_auth(&access)).await;
    assert_eq!(profile, me, "the same body as users/me/");
    assert_eq!(call(app.get("/users/profile/")).await.0, 401);
    assert_eq!(call(app.post("/users/profile/").bearer_auth(&access)).await.0, 405);
});

db_test!(async fn profile_update_is_a_partial_update_of_both(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let (status, body) = call(app.post("/users/profile/update/").bearer_auth(&alice.access).json(&json!({
        "first_name": "Alice", "bio": "hi", "location": "Beijing", "skills": ["Django", "Rust"],
        "company": "Plaza"
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["first_name"], "Alice");
    assert_eq!(body["profile"]["location"], "Beijing");
    assert_eq!(body["profile"]["skills"], json!(["Django", "Rust"]));
    assert_eq!(body["last_name"], "");

    let (status, body) = call(app.post("/users/profile/update/").bearer_auth(&alice.access).json(&json!({"website": "not a url"}))).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["website"].is_array());
    let (status, body) = call(app.post("/users/profile/update/").bearer_auth(&alice.access).json(&json!({"timezone": "Mars/Base 1"}))).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["timezone"].is_array(), "{body}");
    let (status, _) = call(app.post("/users/profile/update/").bearer_auth(&alice.access).json(&json!({"is_staff": true}))).await;
    assert_eq!(status, 403);
    assert_eq!(call(app.post("/users/profile/update/").json(&json!({"bio": "x"}))).await.0, 401);
});

db_test!(async fn resume_basic_part(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let (status, empty) = call(app.get("/users/resume/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 200);
    assert_eq!(empty["full_name"], "");

    let (status, created) = call(app.post("/users/resume/create/").bearer_auth(&alice.access).json(&json!({
        "full_name": "Alice", "headline": "Engineer"
    })))
    .await;
    assert_eq!(status, 201, "{created}");
    // Create-or-update: fields left out keep their value.
    let (status, updated) = call(app.post("/users/resume/create/").bearer_auth(&alice.access).json(&json!({"summary": "s"}))).await;
    assert_eq!(status, 200);
    assert_eq!((updated["full_name"].as_str(), updated["summary"].as_str()), (Some("Alice"), Some("s")));
    let (_, canonical) = call(app.get("/api/v1/users/me/resume/").bearer_auth(&alice.access)).await;
    let (_, legacy) = call(app.get("/users/resume/").bearer_auth(&alice.access)).await;
    assert_eq!(canonical, legacy);

    let (status, _) = call(app.post("/users/resume/create/").bearer_auth(&alice.access).json(&json!({"email": "bad"}))).await;
    assert_eq!(status, 400);
    assert_eq!(call(app.get("/users/resume/")).await.0, 401);
});

db_test!(async fn resume_actions(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;

    for (path, fields, change) in [
        ("/users/resume/work/", json!({"company": "Plaza", "position": "Dev", "start_date": "2020-01-01"}), json!({"position": "Lead"})),
        ("/users/resume/project/", json!({"name": "Plaza", "start_date": "2021-01-01"}), json!({"role": "author"})),
        ("/users/resume/education/", json!({"school": "Fudan", "start_date": "2012-09-01"}), json!({"degree": "BSc"})),
        ("/users/resume/custom/", json!({"title": "Awards", "content": "…"}), json!({"content": "ACM"})),
    ] {
        // Explicit create.
        let mut body = fields.clone();
        body["action"] = json!("create");
        let (status, item) = call(app.post(path).bearer_auth(&alice.access).json(&body)).await;
        assert_eq!(status, 201, "{path}: {item}");
        let id = item["id"].as_i64().unwrap();

        // No action and no id: create.
        let (status, second) = call(app.post(path).bearer_auth(&alice.access).json(&fields)).await;
        assert_eq!(status, 201, "{path}");

        // No action with an id (even as a string): update.
        let mut body = change.clone();
        body["id"] = json!(id.to_string());
        let (status, updated) = call(app.post(path).bearer_auth(&alice.access).json(&body)).await;
        assert_eq!(status, 200, "{path}: {updated}");
        let (key, value) = change.as_object().unwrap().iter().next().unwrap();
        assert_eq!(&updated[key], value, "{path}");

        // Bad requests.
        let (status, res) = call(app.post(path).bearer_auth(&alice.access).json(&json!({"action": "update"}))).await;
        assert_eq!(status, 400, "{path}");
        assert!(res["errors"]["id"].is_array());
        let (status, res) = call(app.post(path).bearer_auth(&alice.access).json(&json!({"action": "archive", "id": id}))).await;
        assert_eq!(status, 400);
        assert!(res["errors"]["action"].is_array());
        let (status, _) = call(app.post(path).bearer_auth(&alice.access).json(&json!({"action": "create"}))).await;
        assert_eq!(status, 400, "{path}: required fields");
        let (status, _) = call(app.post(path).bearer_auth(&bob.access).json(&json!({"action": "delete", "id": id}))).await;
        assert_eq!(status, 404, "{path}: someone else's entry");
        let (status, _) = call(app.post(path).json(&json!({"action": "delete", "id": id}))).await;
        assert_eq!(status, 401);
        let (status, _) = call(app.post(path).bearer_auth(&alice.access).body("action=delete")).await;
        assert_eq!(status, 415);

        let (status, _) = call(app.post(path).bearer_auth(&alice.access).json(&json!({"action": "delete", "id": id}))).await;
        assert_eq!(status, 204, "{path}");
        let (status, _) = call(app.post(path).bearer_auth(&alice.access).json(&json!({"action": "delete", "id": id}))).await;
        assert_eq!(status, 404);
        let (status, _) = call(app.post(path).bearer_auth(&alice.access).json(&json!({"action": "delete", "id": second["id"]}))).await;
        assert_eq!(status, 204);
    }
    let (_, resume) = call(app.get("/users/resume/").bearer_auth(&alice.access)).await;
    for list in ["work_experiences", "projects", "educations", "custom_sections"] {
        assert_eq!(resume[list], json!([]), "{list}");
    }
});

//! `GET /api/v1/users/` and `search/`.

use plaza_kernel::db_test;
use plaza_kernel::testing::NewTestUser;
use serde_json::{json, Value};

use crate::support::{app, call};

fn usernames(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

db_test!(async fn list_filters_orders_and_pages(backend) {
    let app = app(backend).await;
    let carol = app.create_user("carol").await;
    let alice = app.create_user("alice").await;
    app.create_user("bob").await;
    app.create_user_with(NewTestUser { is_active: false, ..NewTestUser::new("dave") }).await;
    let staff = app.create_staff("staffer").await;

    let (status, body) = call(app.get("/api/v1/users/")).await;
    assert_eq!(status, 401, "{body}");

    let (status, page) = call(app.get("/api/v1/users/?ordering=username").bearer_auth(&carol.access)).await;
    assert_eq!(status, 200, "{page}");
    // Others see active users only, without private fields (except their own row).
    assert_eq!(usernames(&page), ["alice", "bob", "carol", "staffer"]);
    assert!(page["results"][0].get("email").is_none());
    assert_eq!(page["results"][2]["email"], "carol@example.com");

    let (_, page) = call(app.get("/api/v1/users/?ordering=-username&page_size=2").bearer_auth(&carol.access)).await;
    assert_eq!(usernames(&page), ["staffer", "carol"]);
    assert_eq!(page["count"], 4);
    assert!(page["next"].as_str().unwrap().contains("page=2"));
    let (status, _) = call(app.get("/api/v1/users/?page=9").bearer_auth(&carol.access)).await;
    assert_eq!(status, 404);

    // Staff see everyone, every field, and may filter on activity.
    let (_, page) = call(app.get("/api/v1/users/?ordering=id").bearer_auth(&staff.access)).await;
    assert_eq!(page["count"], 5);
    assert_eq!(page["results"][1]["email"], "alice@example.com");
    let (_, page) = call(app.get("/api/v1/users/?is_active=false").bearer_auth(&staff.access)).await;
    assert_eq!(usernames(&page), ["dave"]);
    let (_, page) = call(app.get("/api/v1/users/?role=admin").bearer_auth(&staff.access)).await;
    assert_eq!(usernames(&page), ["staffer"]);

    for bad in ["ordering=password", "is_active=maybe", "role=root"] {
        let (status, body) = call(app.get(&format!("/api/v1/users/?{bad}")).bearer_auth(&alice.access)).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("validation_error")), "{bad}");
    }
});

db_test!(async fn search_matches_names_and_respects_searchable(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob_builder").await;
    let hidden = app.create_user("bobby").await;
    call(app.patch("/api/v1/users/me/").bearer_auth(&alice.access).json(&json!({"first_name": "Zhang", "last_name": "Wei"}))).await;
    call(app.put("/api/v1/users/me/settings/").bearer_auth(&hidden.access).json(&json!({"privacy_settings": {"searchable": false}}))).await;

    let (status, page) = call(app.get("/api/v1/users/search/?q=BOB").bearer_auth(&alice.access)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(usernames(&page), ["bob_builder"]);
    let (_, page) = call(app.get("/api/v1/users/search/?q=zhang%20wei").bearer_auth(&bob.access)).await;
    assert_eq!(usernames(&page), ["alice"]);
    // LIKE wildcards in the query are literal.
    let (_, page) = call(app.get("/api/v1/users/search/?q=b_b").bearer_auth(&bob.access)).await;
    assert_eq!(usernames(&page), ["bob_builder"]);
    let (_, page) = call(app.get("/api/v1/users/search/?q=%25").bearer_auth(&bob.access)).await;
    assert_eq!(page["count"], 0);
    // The list's search follows the same rules; staff find the hidden user.
    let (_, page) = call(app.get("/api/v1/users/?search=bob").bearer_auth(&alice.access)).await;
    assert_eq!(usernames(&page), ["bob_builder"]);
    let staff = app.create_staff("root").await;
    let (_, page) = call(app.get("/api/v1/users/search/?q=bob").bearer_auth(&staff.access)).await;
    assert_eq!(usernames(&page), ["bob_builder", "bobby"]);

    let (status, body) = call(app.get("/api/v1/users/search/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["q"].is_array());
    let (status, _) = call(app.get("/api/v1/users/search/?q=").bearer_auth(&alice.access)).await;
    assert_eq!(status, 400);
    let (status, _) = call(app.get("/api/v1/users/search/?q=bob")).await;
    assert_eq!(status, 401);
});

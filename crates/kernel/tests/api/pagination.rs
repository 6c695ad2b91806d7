use plaza_kernel::db_test;
use serde_json::Value;

use crate::support::app;

db_test!(async fn page_shape_and_absolute_links(backend) {
    let app = app(backend).await;
    for i in 0..5 {
        app.create_user(&format!("user{i}")).await;
    }
    let res = app.get("/t/users/?page_size=2&x=1").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["count"], 5);
    assert_eq!(body["results"].as_array().unwrap().len(), 2);
    assert_eq!(body["previous"], Value::Null);
    let next = body["next"].as_str().unwrap();
    assert_eq!(next, app.url("/t/users/?page_size=2&x=1&page=2"));

    // Follow the links to the end and back.
    let body: Value = app.client.get(next).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["results"][0]["username"], "user2");
    let last: Value = app.get("/t/users/?page_size=2&page=3").send().await.unwrap().json().await.unwrap();
    assert_eq!(last["next"], Value::Null);
    assert_eq!(last["results"].as_array().unwrap().len(), 1);
    assert_eq!(last["previous"].as_str().unwrap(), app.url("/t/users/?page_size=2&page=2"));

    let lastp: Value = app.get("/t/users/?page_size=2&page=last").send().await.unwrap().json().await.unwrap();
    assert_eq!(lastp["results"], last["results"]);
});

db_test!(async fn invalid_pages_are_404(backend) {
    let app = app(backend).await;
    app.create_user("only").await;
    for page in ["2", "0", "abc", "-1"] {
        let res = app.get(&format!("/t/users/?page={page}")).send().await.unwrap();
        assert_eq!(res.status(), 404, "page={page}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["detail"], "Invalid page.");
        assert_eq!(body["code"], "not_found");
    }
    // page_size is capped, not refused.
    let res = app.get("/t/users/?page_size=1000").send().await.unwrap();
    assert_eq!(res.status(), 200);
});

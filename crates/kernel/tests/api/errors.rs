//! Every error the contract lists answers in the envelope, on both backends.

use plaza_kernel::db_test;
use serde_json::{json, Value};

use crate::support::app;

async fn json_of(res: reqwest::Response) -> Value {
    res.json().await.unwrap()
}

db_test!(async fn malformed_json_is_bad_request(backend) {
    let app = app(backend).await;
    let res = app.post("/t/echo/").header("content-type", "application/json").body("{\"title\": ").send().await.unwrap();
    assert_eq!(res.status(), 400);
    let body = json_of(res).await;
    assert_eq!(body["code"], "bad_request");
    assert!(body["detail"].as_str().unwrap().starts_with("JSON parse error"));
    assert!(body.get("errors").is_none());
});

db_test!(async fn wrong_types_and_rules_name_the_fields(backend) {
    let app = app(backend).await;
    let res = app.post("/t/echo/").json(&json!({"title": 5})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let body = json_of(res).await;
    assert_eq!(body["code"], "validation_error");
    assert!(body["errors"]["title"].is_array(), "{body}");

    let res = app.post("/t/echo/").json(&json!({"title": "", "stars": 9})).send().await.unwrap();
    let body = json_of(res).await;
    assert_eq!(body["code"], "validation_error");
    assert!(body["errors"]["title"][0].as_str().unwrap().contains("1 to 10"));
    assert!(body["errors"]["stars"][0].as_str().unwrap().contains("between 0 and 5"));

    let res = app.post("/t/echo/").json(&json!({})).send().await.unwrap();
    assert_eq!(json_of(res).await["errors"]["title"][0], "This field is required.");

    // Every invalid field at once, as DRF's serializers report them: a wrong type beside a
    // broken rule, and a missing field beside a wrong type.
    let res = app.post("/t/echo/").json(&json!({"title": 5, "stars": 9})).send().await.unwrap();
    let body = json_of(res).await;
    let fields: Vec<&String> = body["errors"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["stars", "title"], "{body}");
    let res = app.post("/t/echo/").json(&json!({"stars": "many"})).send().await.unwrap();
    let body = json_of(res).await;
    assert_eq!(body["errors"]["title"][0], "This field is required.", "{body}");
    assert!(body["errors"]["stars"][0].as_str().unwrap().starts_with("Invalid type"), "{body}");

    // Unknown fields are ignored.
    let res = app.post("/t/echo/").json(&json!({"title": "ok", "extra": true})).send().await.unwrap();
    assert_eq!(res.status(), 200);
});

db_test!(async fn a_bad_credential_is_401_before_anything_else(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    // A public endpoint without credentials, and with good ones.
    assert_eq!(app.get("/t/users/").send().await.unwrap().status(), 200);
    assert_eq!(app.get("/t/users/").bearer_auth(&alice.access).send().await.unwrap().status(), 200);
    // A token or key that does not resolve: 401 on the public read too, as DRF answers.
    for res in [
        app.get("/t/users/").bearer_auth("not.a.token").send().await.unwrap(),
        app.get("/t/users/").header("x-api-key", "plz_unknown").send().await.unwrap(),
        app.get("/t/users/").bearer_auth(format!("{}x", alice.access)).send().await.unwrap(),
    ] {
        assert_eq!(res.status(), 401);
        assert!(res.headers().contains_key("www-authenticate"));
        assert!(json_of(res).await["code"].as_str().unwrap().starts_with("token_"));
    }
    // Credentials come before the body: a bad token with a bad body is 401, not 400.
    let res = app.post("/t/echo/").bearer_auth("not.a.token").json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 401);
    // Another scheme is not ours to judge (Basic stays anonymous).
    let res = app.get("/t/maybe/").header("authorization", "Basic Zm9vOmJhcg==").send().await.unwrap();
    assert_eq!((res.status().as_u16(), json_of(res).await["id"].is_null()), (200, true));
});

fn teapot(err: &plaza_kernel::ApiError) -> actix_web::HttpResponse {
    actix_web::HttpResponse::build(err.status()).json(json!({"error": {"message": err.detail()}}))
}

db_test!(async fn a_domain_renders_the_credential_errors_of_its_own_paths(backend) {
    let app = plaza_kernel::testing::TestApp::builder(backend)
        .users(crate::support::insert_user)
        .customize(|services| services.error_shapes.add("/t/maybe/", teapot))
        .configure(crate::support::configure)
        .build()
        .await;
    let res = app.get("/t/maybe/").bearer_auth("forged").send().await.unwrap();
    assert_eq!(res.status(), 401);
    let body = json_of(res).await;
    assert!(body["error"]["message"].is_string() && body.get("code").is_none(), "{body}");
    // Other paths keep the contract's envelope.
    let res = app.get("/t/users/").bearer_auth("forged").send().await.unwrap();
    assert_eq!(json_of(res).await["code"], "token_invalid");
});

db_test!(async fn unknown_route_and_wrong_method(backend) {
    let app = app(backend).await;
    let res = app.get("/no/such/route/").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(json_of(res).await["code"], "not_found");

    let res = app.delete("/t/echo/").send().await.unwrap();
    assert_eq!(res.status(), 405);
    let body = json_of(res).await;
    assert_eq!(body["code"], "method_not_allowed");
    assert_eq!(body["detail"], "Method \"DELETE\" not allowed.");

    // A path parameter that does not parse is a 404 in the envelope too.
    let res = app.get("/t/whoami/extra/").send().await.unwrap();
    assert_eq!(res.status(), 404);
});

db_test!(async fn oversize_and_wrong_content_type(backend) {
    let app = app(backend).await;
    let big = format!("{{\"title\": \"{}\"}}", "x".repeat(1_100_000));
    let res = app.post("/t/echo/").header("content-type", "application/json").body(big).send().await.unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(json_of(res).await["code"], "payload_too_large");

    let res = app.post("/t/echo/").header("content-type", "text/plain").body("{\"title\":\"a\"}").send().await.unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(json_of(res).await["code"], "unsupported_media_type");
});

db_test!(async fn a_taken_unique_value_is_400_naming_the_field(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    app.create_user("bob").await;
    // Case-insensitively taken.
    let res = app.post("/t/rename/").bearer_auth(&alice.access).json(&json!({"username": "BOB"})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let body = json_of(res).await;
    assert_eq!(body["code"], "validation_error");
    assert!(body["errors"]["username"][0].as_str().unwrap().contains("username"), "{body}");
});

db_test!(async fn internal_errors_do_not_leak(backend) {
    let app = app(backend).await;
    let res = app.get("/t/boom/").send().await.unwrap();
    assert_eq!(res.status(), 500);
    assert!(res.headers().contains_key("x-request-id"));
    let text = res.text().await.unwrap();
    assert!(!text.contains("secret detail"), "{text}");
    assert!(text.contains("internal_error"));
});

db_test!(async fn every_path_answers_with_or_without_slash(backend) {
    let app = app(backend).await;
    for path in ["/t/maybe/", "/t/maybe", "/t//maybe"] {
        let res = app.get(path).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
    let res = app.post("/t/echo").json(&json!({"title": "no slash"})).send().await.unwrap();
    assert_eq!(res.status(), 200, "POST keeps its body through normalisation");
});

db_test!(async fn security_headers_and_request_id(backend) {
    let app = app(backend).await;
    let res = app.get("/t/maybe/").header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
});

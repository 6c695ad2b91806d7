//! Every account endpoint is in the OpenAPI document, with its request and response schemas.

use plaza_kernel::testing::TestBackend;

use crate::support::{app, call};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_endpoints_are_documented() {
    let app = app(TestBackend::Sqlite).await;
    let (status, doc) = call(app.get("/api/schema/")).await;
    assert_eq!(status, 200);
    let expected: &[(&str, &[&str])] = &[
        ("/api/v1/auth/register/", &["post"]),
        ("/api/v1/auth/login/", &["post"]),
        ("/api/v1/auth/2fa/verify/", &["post"]),
        ("/api/v1/auth/logout/", &["post"]),
        ("/api/v1/auth/refresh-token/", &["post"]),
        ("/api/v1/auth/verify-token/", &["post"]),
        ("/api/v1/auth/password-reset/", &["post"]),
        ("/api/v1/auth/password-reset/confirm/", &["post"]),
        ("/api/v1/auth/verify-email/", &["post"]),
        ("/api/v1/auth/verify-email/resend/", &["post"]),
        ("/api/v1/auth/2fa/", &["get"]),
        ("/api/v1/auth/2fa/enable/", &["post"]),
        ("/api/v1/auth/2fa/confirm/", &["post"]),
        ("/api/v1/auth/2fa/disable/", &["post"]),
        ("/api/v1/auth/api-keys/", &["get", "post"]),
        ("/api/v1/auth/api-keys/{id}/", &["delete"]),
        ("/api/v1/auth/ws-ticket/", &["post"]),
        ("/api/v1/auth/sessions/", &["get"]),
        ("/api/v1/auth/sessions/{id}/", &["delete"]),
        ("/api/v1/users/", &["get", "post"]),
        ("/api/v1/users/{id}/", &["get", "put", "patch", "delete"]),
        ("/api/v1/users/me/", &["get", "put", "patch", "delete"]),
        ("/api/v1/users/me/profile/", &["get", "put", "patch"]),
        ("/api/v1/users/me/settings/", &["get", "put"]),
        ("/api/v1/users/me/password/", &["post"]),
        ("/api/v1/users/me/avatar/", &["post", "delete"]),
        ("/api/v1/users/me/login-history/", &["get"]),
        ("/api/v1/users/search/", &["get"]),
        ("/api/v1/users/me/stats/", &["get"]),
        ("/api/v1/users/{id}/stats/", &["get"]),
        ("/api/v1/users/me/resume/", &["get", "put"]),
        ("/api/v1/users/{id}/resume/", &["get"]),
        ("/users/register/", &["post"]),
        ("/users/login/", &["post"]),
        ("/users/profile/", &["get"]),
        ("/users/profile/update/", &["post"]),
        ("/users/resume/", &["get"]),
        ("/users/resume/create/", &["post"]),
        ("/users/resume/work/", &["post"]),
        ("/users/resume/project/", &["post"]),
        ("/users/resume/education/", &["post"]),
        ("/users/resume/custom/", &["post"]),
        ("/media/{path}", &["get"]),
    ];
    let mut all = expected.to_vec();
    for kind in ["work", "projects", "education", "custom"] {
        let list: &'static str =
            Box::leak(format!("/api/v1/users/me/resume/{kind}/").into_boxed_str());
        let item: &'static str =
            Box::leak(format!("/api/v1/users/me/resume/{kind}/{{id}}/").into_boxed_str());
        all.push((list, &["get", "post"]));
        all.push((item, &["put", "patch", "delete"]));
    }
    for (path, methods) in all {
        for method in methods {
            let op = &doc["paths"][path][method];
            assert!(op.is_object(), "{method} {path} is not documented");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            if matches!(*method, "put" | "patch") {
                assert!(
                    op["requestBody"].is_object(),
                    "{method} {path} has no request body"
                );
            }
        }
    }
    // Every schema a path refers to exists.
    let text = doc.to_string();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "missing schema {name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_endpoints_are_documented() {
    let app = app(TestBackend::Sqlite).await;
    let (status, doc) = call(app.get("/api/schema/")).await;
    assert_eq!(status, 200);
    for (path, method) in [
        ("/api/v1/streams/", "get"),
        ("/api/v1/streams/ice-servers/", "get"),
        ("/api/v1/streams/{id}/", "get"),
        ("/api/v1/streams/{id}/end/", "post"),
        ("/ws/webrtc/", "get"),
    ] {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert!(
            operation["responses"]["200"].is_object() || path == "/ws/webrtc/",
            "{path}"
        );
    }
    for schema in ["StreamSummary", "StreamDetail", "PeerView", "IceServers"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

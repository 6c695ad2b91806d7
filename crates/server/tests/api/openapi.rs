//! Every account endpoint is in the OpenAPI document, with its request and response schemas.

use std::collections::BTreeSet;

use plaza_kernel::testing::TestBackend;
use serde_json::Value;

use crate::support::{app, call};

/// `(path, method)` of every operation in `doc`.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_domain_endpoint_is_documented() {
    let app = app(TestBackend::Sqlite).await;
    let (status, doc) = call(app.get("/api/schema/")).await;
    assert_eq!(status, 200);

    // What the registered domains describe, plus the server's own: nothing hand-kept.
    let mut expected = BTreeSet::new();
    for domain in plaza_server::DOMAINS {
        let own = serde_json::to_value((domain.openapi)()).unwrap();
        let ops = operations(&own);
        assert!(!ops.is_empty(), "{} documents nothing", domain.name);
        expected.extend(ops);
    }
    expected.extend(operations(
        &serde_json::to_value(plaza_server::legacy::openapi()).unwrap(),
    ));
    expected.insert(("/media/{path}".to_owned(), "get".to_owned()));
    assert_eq!(
        operations(&doc),
        expected,
        "the served document is every domain's, merged"
    );

    for (path, method) in &expected {
        let op = &doc["paths"][path][method];
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path} documents no response"
        );
        if matches!(method.as_str(), "put" | "patch") {
            assert!(
                op["requestBody"].is_object(),
                "{method} {path} has no request body"
            );
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

/// Two domains that name a schema alike would overwrite each other's when the documents are
/// merged (the metaverse's avatar once replaced the users' stored avatar): every component
/// name means one schema.
#[test]
fn no_two_domains_define_a_schema_under_one_name() {
    let mut seen: std::collections::BTreeMap<String, (&str, Value)> = Default::default();
    let mut clashes = Vec::new();
    for domain in plaza_server::DOMAINS {
        let doc = serde_json::to_value((domain.openapi)()).unwrap();
        let Some(schemas) = doc["components"]["schemas"].as_object() else {
            continue;
        };
        for (name, schema) in schemas {
            match seen.get(name) {
                Some((owner, first)) if first != schema => {
                    clashes.push(format!("{name} ({owner}, {})", domain.name));
                }
                Some(_) => {}
                None => {
                    seen.insert(name.clone(), (domain.name, schema.clone()));
                }
            }
        }
    }
    assert!(
        clashes.is_empty(),
        "schemas defined differently under one name: {clashes:?}"
    );
}

/// Every operation documents the errors of its kind (401 everywhere, 400 and 415 where a
/// body is parsed, 404 where the path names an object or a page is chosen, 503 everywhere).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_documents_the_errors_of_its_kind() {
    let app = app(TestBackend::Sqlite).await;
    let (_, doc) = call(app.get("/api/schema/")).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let responses = operation["responses"].as_object().unwrap();
            for status in ["401", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            if operation.get("requestBody").is_some() {
                for status in ["400", "415"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path} lacks 404");
            }
        }
    }
}

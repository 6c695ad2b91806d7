//! Prompt templates: strict variables, ownership, public templates.

use plaza_kernel::db_test;
use serde_json::{json, Value};

use crate::support::app;

db_test!(async fn templates_render_strictly(backend) {
    let (app, _fake) = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;

    let res = app.post("/api/v1/ai/templates/").bearer_auth(&alice.access)
        .json(&json!({"name": "Translate", "category": "language", "template": "Translate {{ text }} into {{ language }}.", "description": "d"}))
        .send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let template: Value = res.json().await.unwrap();
    assert_eq!(template["variables"], json!(["language", "text"]));
    assert_eq!((template["is_public"].as_bool(), template["owner_id"].as_i64()), (Some(false), Some(alice.id)));
    let path = format!("/api/v1/ai/templates/{}/", template["id"]);

    // A missing variable is 400 naming it (every missing one at once).
    let res = app.post(&format!("{path}render/")).bearer_auth(&alice.access).json(&json!({"variables": {"text": "bonjour"}})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"]["variables"], json!(["Missing variable `language`."]));
    let res = app.post(&format!("{path}render/")).bearer_auth(&alice.access).json(&json!({})).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["errors"]["variables"].as_array().unwrap().len(), 2);
    let res = app.post(&format!("{path}render/")).bearer_auth(&alice.access).json(&json!({"variables": {"text": "bonjour", "language": "English"}})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"prompt": "Translate bonjour into English."}));

    // A template that does not parse is 400 on `template`; a missing field is named.
    let res = app.post("/api/v1/ai/templates/").bearer_auth(&alice.access).json(&json!({"name": "bad", "template": "{{ unclosed"})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"].get("template").is_some());
    let res = app.post("/api/v1/ai/templates/").bearer_auth(&alice.access).json(&json!({"name": "no body"})).send().await.unwrap();
    assert_eq!(res.status(), 400);

    // Private: invisible to others (404), even to render.
    assert_eq!(app.get(&path).bearer_auth(&bob.access).send().await.unwrap().status(), 404);
    assert_eq!(app.post(&format!("{path}render/")).bearer_auth(&bob.access).json(&json!({})).send().await.unwrap().status(), 404);
    let list: Value = app.get("/api/v1/ai/templates/").bearer_auth(&bob.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["count"], 0);

    // Public: readable and renderable by all, changed only by its owner.
    let res = app.patch(&path).bearer_auth(&alice.access).json(&json!({"is_public": true, "template": "Say {{ word }}."})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let patched: Value = res.json().await.unwrap();
    assert_eq!((patched["variables"].clone(), patched["name"].as_str()), (json!(["word"]), Some("Translate")));
    assert_eq!(app.get(&path).bearer_auth(&bob.access).send().await.unwrap().status(), 200);
    let res = app.post(&format!("{path}render/")).bearer_auth(&bob.access).json(&json!({"variables": {"word": "hi"}})).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["prompt"], "Say hi.");
    assert_eq!(app.patch(&path).bearer_auth(&bob.access).json(&json!({"name": "mine"})).send().await.unwrap().status(), 403);
    assert_eq!(app.delete(&path).bearer_auth(&bob.access).send().await.unwrap().status(), 403);
    let list: Value = app.get("/api/v1/ai/templates/?category=language").bearer_auth(&bob.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["count"], 1);
    let list: Value = app.get("/api/v1/ai/templates/?mine=true").bearer_auth(&bob.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["count"], 0);

    // Chat with a template: the rendered prompt is the message.
    let res = app.post("/api/v1/ai/chat/send/").bearer_auth(&bob.access)
        .json(&json!({"template_id": template["id"], "variables": {"word": "cheese"}})).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(res.json::<Value>().await.unwrap()["message"]["content"], "echo: Say cheese.");
    let res = app.post("/api/v1/ai/chat/send/").bearer_auth(&bob.access).json(&json!({"template_id": template["id"]})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"]["variables"].is_array());

    assert_eq!(app.delete(&path).bearer_auth(&alice.access).send().await.unwrap().status(), 204);
    assert_eq!(app.get(&path).bearer_auth(&alice.access).send().await.unwrap().status(), 404);
});

//! The forum's original paths (API.md §9), walked through the real binary exactly as the
//! forum's clients do: register, log in, create, list (following the pagination links), read
//! with replies, update, reply, edit and delete the reply, delete — and the refusals.

use plaza_e2e::{MysqlDb, Plaza};
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Client<'a> {
    plaza: &'a Plaza,
    token: Option<String>,
}

impl Client<'_> {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            self.plaza.url(path)
        };
        let mut req = self.plaza.client.request(method, url);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

/// Registers and logs in through the forum's paths; returns a client carrying the access token.
async fn sign_up<'a>(plaza: &'a Plaza, username: &str) -> (Client<'a>, i64) {
    let anonymous = Client { plaza, token: None };
    let password = "Forum-Passw0rd!";
    let (status, body) = anonymous
        .post("/users/register/", json!({"username": username, "email": format!("{username}@example.com"), "password": password, "password_confirm": password}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "register: {body}");
    let (status, body) = anonymous
        .post(
            "/users/login/",
            json!({"username": username, "password": password}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "login: {body}");
    let token = body["access"].as_str().expect("an access token").to_owned();
    let id = body["user"]["id"].as_i64().expect("the user's id");
    (
        Client {
            plaza,
            token: Some(token),
        },
        id,
    )
}

async fn walk_the_forum(plaza: &Plaza) {
    let (alice, alice_id) = sign_up(plaza, "alice").await;
    let (bob, _) = sign_up(plaza, "bob").await;
    let anonymous = Client { plaza, token: None };

    // Create.
    let (status, post) = alice
        .post(
            "/posts/create/",
            json!({"title": "第一个帖子", "content": "大家好！", "tags": ["公告"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let id = post["id"].as_i64().unwrap();
    assert_eq!(post["author"]["id"], alice_id);
    assert_eq!(post["tags"][0]["name"], "公告");
    for i in 0..20 {
        let (status, _) = alice
            .post(
                "/posts/create/",
                json!({"title": format!("帖子 {i}"), "content": "内容"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }

    // List, following the links the server gives.
    let (status, first) = anonymous.get("/posts/list/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["count"], 21);
    assert_eq!(first["results"].as_array().unwrap().len(), 20);
    let next = first["next"].as_str().expect("a next link").to_owned();
    assert!(
        next.starts_with(&plaza.base) && next.contains("/posts/list/?page=2"),
        "{next}"
    );
    let (status, second) = anonymous.get(&next).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        second["results"][0]["id"], id,
        "the first post is the oldest"
    );
    assert_eq!(second["next"], Value::Null);
    let (status, _) = anonymous.get(second["previous"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = anonymous.get("/posts/list/?page=99").await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (StatusCode::NOT_FOUND, Some("Invalid page."))
    );

    // Reply, and read the detail with its replies.
    let (status, reply) = bob
        .post(
            &format!("/posts/reply/create/{id}/"),
            json!({"content": "沙发！"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let reply_id = reply["id"].as_i64().unwrap();
    let (status, answer) = alice
        .post(
            &format!("/posts/reply/create/{id}/"),
            json!({"content": "谢谢", "parent_id": reply_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, detail) = anonymous.get(&format!("/posts/detail/{id}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["reply_count"], 2);
    assert_eq!(detail["view_count"], 1);
    assert_eq!(detail["replies"][0]["content"], "沙发！");
    assert_eq!(detail["replies"][1]["parent_id"], reply_id);

    // Update.
    let (status, updated) = alice
        .post(
            &format!("/posts/update/{id}/"),
            json!({"title": "第一个帖子（已编辑）"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["content"], "大家好！");
    let (status, _) = bob
        .post(&format!("/posts/update/{id}/"), json!({"title": "劫持"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = anonymous
        .post(&format!("/posts/update/{id}/"), json!({"title": "匿名"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("not_authenticated"))
    );
    let (status, body) = alice
        .post(&format!("/posts/update/{id}/"), json!({"title": ""}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["title"].is_array());

    // Reply update and delete, with the refusals.
    let (status, edited) = bob
        .post(
            &format!("/posts/reply/update/{reply_id}/"),
            json!({"content": "板凳"}),
        )
        .await;
    assert_eq!(
        (status, edited["content"].as_str()),
        (StatusCode::OK, Some("板凳"))
    );
    let (status, _) = alice
        .post(
            &format!("/posts/reply/update/{reply_id}/"),
            json!({"content": "改"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = alice
        .delete(&format!("/posts/reply/delete/{reply_id}/"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = bob
        .delete(&format!("/posts/reply/delete/{reply_id}/"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, detail) = anonymous.get(&format!("/posts/detail/{id}/")).await;
    assert_eq!(detail["reply_count"], 1);
    assert_eq!(
        detail["replies"][0]["is_deleted"], true,
        "answered, so kept as a tombstone"
    );

    // Delete.
    let (status, _) = bob.delete(&format!("/posts/delete/{id}/")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = anonymous.delete(&format!("/posts/delete/{id}/")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = alice.delete(&format!("/posts/delete/{id}/")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = anonymous.get(&format!("/posts/detail/{id}/")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = bob
        .post(
            &format!("/posts/reply/create/{id}/"),
            json!({"content": "晚了"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = anonymous.get("/posts/list/").await;
    assert_eq!(list["count"], 20);
}

#[tokio::test]
async fn forum_original_paths_on_sqlite() {
    let plaza = Plaza::builder().start().await;
    walk_the_forum(&plaza).await;
}

#[tokio::test]
async fn forum_original_paths_on_mysql() {
    let Some(mysql) = MysqlDb::new() else { return };
    let plaza = Plaza::builder()
        .env("DATABASE_URL", &mysql.url)
        .start()
        .await;
    walk_the_forum(&plaza).await;
}

/// An upload through the real binary lands under MEDIA_ROOT and streams back.
#[tokio::test]
async fn attachments_upload_and_download_through_the_binary() {
    let media = tempfile::tempdir().unwrap();
    let plaza = Plaza::builder()
        .env("MEDIA_ROOT", media.path().to_str().unwrap())
        .env("ATTACHMENT_MAX_BYTES", "4096")
        .start()
        .await;
    let (alice, _) = sign_up(&plaza, "carol").await;
    let token = alice.token.clone().unwrap();
    let boundary = "e2eBoundary";
    let form = |bytes: &[u8]| {
        let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hello.txt\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        body
    };
    let res = plaza
        .client
        .post(plaza.url("/api/v1/core/attachments/"))
        .bearer_auth(&token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form(b"hello plaza"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let att: Value = res.json().await.unwrap();
    assert_eq!(att["content_type"], "text/plain");
    let res = plaza
        .client
        .get(att["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-length"], "11");
    assert_eq!(res.text().await.unwrap(), "hello plaza");

    let res = plaza
        .client
        .post(plaza.url("/api/v1/core/attachments/"))
        .bearer_auth(&token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form(&[b'x'; 5000]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let stored: Vec<_> = walk(media.path());
    assert_eq!(stored.len(), 1, "{stored:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Views are buffered in memory and written once a second; a graceful stop writes what is
/// still pending, so a restart shows every view.
#[tokio::test]
async fn buffered_views_survive_a_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let mut plaza = Plaza::builder().dir(dir.path()).start().await;
    let id = {
        let (alice, _) = sign_up(&plaza, "alice").await;
        let (status, post) = alice
            .post(
                "/posts/create/",
                json!({"title": "counted", "content": "c"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{post}");
        let id = post["id"].as_i64().unwrap();
        for expected in 1..=3 {
            let (_, post) = alice.get(&format!("/posts/detail/{id}/")).await;
            assert_eq!(post["view_count"], expected);
        }
        id
    };
    assert!(plaza.stop().success());

    let plaza = Plaza::builder().dir(dir.path()).start().await;
    let anonymous = Client {
        plaza: &plaza,
        token: None,
    };
    let (status, post) = anonymous.get(&format!("/posts/detail/{id}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        post["view_count"], 4,
        "three views before the stop, this one after"
    );
}

//! `/api/v1/core/attachments/`.

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::schema::system_logs;
use plaza_kernel::testing::{TestApp, TestUser};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{app, app_with, files_under, multipart, Part};

/// A tiny but real PNG header (the bytes sniffing looks at), then padding.
fn png_bytes(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    bytes.resize(len.max(bytes.len()), 0x42);
    bytes
}

async fn upload(app: &TestApp, user: &TestUser, parts: &[Part<'_>]) -> reqwest::Response {
    let (content_type, body) = multipart(parts);
    app.post("/api/v1/core/attachments/")
        .bearer_auth(&user.access)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn upload_file(
    app: &TestApp,
    user: &TestUser,
    filename: &str,
    bytes: &[u8],
    public: Option<&str>,
) -> Value {
    let mut parts = vec![Part::File {
        name: "file",
        filename,
        content_type: "text/plain",
        bytes,
    }];
    if let Some(value) = public {
        parts.push(Part::Text {
            name: "is_public",
            value,
        });
    }
    let res = upload(app, user, &parts).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

fn media(app: &TestApp) -> std::path::PathBuf {
    app.data_dir().join("media")
}

db_test!(async fn upload_sniffs_hashes_and_downloads(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bytes = png_bytes(200_000);

    // The client claims text/plain; the bytes say PNG.
    let att = upload_file(&app, &alice, "../我的 图片.png", &bytes, None).await;
    assert_eq!(att["name"], "我的 图片.png");
    assert_eq!(att["content_type"], "image/png");
    assert_eq!(att["size"], 200_000);
    assert_eq!(att["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(att["is_public"], true);
    assert_eq!(att["owner_id"], alice.id);
    let url = att["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with(&format!("/api/v1/core/attachments/{}/download/", att["id"])));

    // Stored once under MEDIA_ROOT/attachments, nothing left in tmp.
    let stored = files_under(&media(&app).join("attachments"));
    assert_eq!(stored.len(), 1);
    assert_eq!(std::fs::read(&stored[0]).unwrap(), bytes);
    assert!(files_under(&media(&app).join("tmp")).is_empty());

    // Anyone may download a public attachment: the bytes, with the right headers.
    let res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["content-length"], "200000");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("inline"), "{disposition}");
    assert!(disposition.contains("filename*=UTF-8''%E6%88%91%E7%9A%84%20%E5%9B%BE%E7%89%87.png"), "{disposition}");
    assert!(headers["content-security-policy"].to_str().unwrap().contains("sandbox"));
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());

    // HEAD: the headers without the body.
    let res = app.client.head(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-length"], "200000");
    assert!(res.bytes().await.unwrap().is_empty());

    // A client that has it gets 304.
    let res = app.client.get(url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(res.status(), 304);

    // Details.
    let res = app.get(&format!("/api/v1/core/attachments/{}/", att["id"])).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["sha256"], att["sha256"]);
});

db_test!(async fn text_and_unknown_bytes_download_as_files(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let text = upload_file(&app, &alice, "notes.txt", "你好, world".as_bytes(), None).await;
    assert_eq!(text["content_type"], "text/plain");
    let res = app.client.get(text["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");

    let html = upload_file(&app, &alice, "page.html", b"<!DOCTYPE html><html><script>alert(1)</script></html>", None).await;
    assert_eq!(html["content_type"], "text/html");
    let res = app.client.get(html["url"].as_str().unwrap()).send().await.unwrap();
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"), "HTML never renders in place");

    let blob = upload_file(&app, &alice, "blob.bin", &[0, 1, 2, 3, 0xff], None).await;
    assert_eq!(blob["content_type"], "application/octet-stream");
    let res = app.client.get(blob["url"].as_str().unwrap()).send().await.unwrap();
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
});

db_test!(async fn bad_uploads_are_refused(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;

    // No token.
    let (content_type, body) = multipart(&[Part::File { name: "file", filename: "a.txt", content_type: "text/plain", bytes: b"hi" }]);
    let res = app.post("/api/v1/core/attachments/").header("content-type", content_type).body(body).send().await.unwrap();
    assert_eq!(res.status(), 401);

    // Not a form.
    let res = app.post("/api/v1/core/attachments/").bearer_auth(&alice.access).json(&serde_json::json!({"file": "x"})).send().await.unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "unsupported_media_type");

    // No file, an empty file, a bad flag, two files.
    let res = upload(&app, &alice, &[Part::Text { name: "is_public", value: "true" }]).await;
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"]["file"].is_array());
    let res = upload(&app, &alice, &[Part::File { name: "file", filename: "e.txt", content_type: "text/plain", bytes: b"" }]).await;
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"]["file"].is_array());
    let res = upload(&app, &alice, &[
        Part::File { name: "file", filename: "a.txt", content_type: "text/plain", bytes: b"a" },
        Part::Text { name: "is_public", value: "maybe" },
    ]).await;
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"]["is_public"].is_array());
    let res = upload(&app, &alice, &[
        Part::File { name: "file", filename: "a.txt", content_type: "text/plain", bytes: b"a" },
        Part::File { name: "file", filename: "b.txt", content_type: "text/plain", bytes: b"b" },
    ]).await;
    assert_eq!(res.status(), 400);

    // A broken form.
    let res = app.post("/api/v1/core/attachments/")
        .bearer_auth(&alice.access)
        .header("content-type", "multipart/form-data; boundary=xyz")
        .body("--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nunterminated")
        .send().await.unwrap();
    assert_eq!(res.status(), 400);

    // Nothing of this reached the disk or the table.
    assert!(files_under(&media(&app)).is_empty(), "{:?}", files_under(&media(&app)));
    let page: Value = app.get("/api/v1/core/attachments/").bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["count"], 0);
});

db_test!(async fn oversize_upload_is_413_and_leaves_nothing(backend) {
    let app = app_with(backend, &[("ATTACHMENT_MAX_BYTES", "1024")]).await;
    let alice = app.create_user("alice").await;

    // Exactly the limit is fine.
    let att = upload_file(&app, &alice, "fits.bin", &png_bytes(1024), None).await;
    assert_eq!(att["size"], 1024);

    // One byte more is refused while reading, and nothing stays on disk.
    let res = upload(&app, &alice, &[Part::File { name: "file", filename: "big.png", content_type: "image/png", bytes: &png_bytes(1025) }]).await;
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large");
    assert!(body["errors"]["file"].is_array());

    // Much more too: the part already read is dropped.
    let res = upload(&app, &alice, &[Part::File { name: "file", filename: "huge.png", content_type: "image/png", bytes: &png_bytes(50_000) }]).await;
    assert_eq!(res.status(), 413);

    assert_eq!(files_under(&media(&app).join("attachments")).len(), 1, "only the one that fit");
    assert!(files_under(&media(&app).join("tmp")).is_empty(), "no partial file");
    let page: Value = app.get("/api/v1/core/attachments/").bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["count"], 1);
});

db_test!(async fn default_limit_is_ten_mebibytes(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let res = upload(&app, &alice, &[Part::File { name: "file", filename: "big.bin", content_type: "application/octet-stream", bytes: &vec![7_u8; (10 << 20) + 1] }]).await;
    assert_eq!(res.status(), 413);
    assert!(files_under(&media(&app)).iter().all(|p| !p.starts_with(media(&app).join("attachments"))));
});

db_test!(async fn private_attachments_are_for_owner_and_staff(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let staff = app.create_staff("root").await;
    let att = upload_file(&app, &alice, "secret.txt", b"top secret", Some("false")).await;
    assert_eq!(att["is_public"], false);
    let detail = format!("/api/v1/core/attachments/{}/", att["id"]);
    let download = format!("{detail}download/");

    for path in [&detail, &download] {
        assert_eq!(app.get(path).send().await.unwrap().status(), 404, "anonymous: {path}");
        assert_eq!(app.get(path).bearer_auth(&bob.access).send().await.unwrap().status(), 404, "another user: {path}");
        assert_eq!(app.get(path).bearer_auth(&alice.access).send().await.unwrap().status(), 200, "owner: {path}");
        assert_eq!(app.get(path).bearer_auth(&staff.access).send().await.unwrap().status(), 200, "staff: {path}");
    }
    let res = app.get(&download).bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "private, no-cache");
    assert_eq!(res.text().await.unwrap(), "top secret");
    // Another user cannot delete what they cannot see.
    assert_eq!(app.delete(&detail).bearer_auth(&bob.access).send().await.unwrap().status(), 404);
    assert_eq!(app.get("/api/v1/core/attachments/999999/").send().await.unwrap().status(), 404);
});

db_test!(async fn owner_or_staff_delete_and_the_file_goes(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let staff = app.create_staff("root").await;
    let first = upload_file(&app, &alice, "a.txt", b"first", None).await;
    let second = upload_file(&app, &alice, "b.txt", b"second", None).await;
    let first_path = format!("/api/v1/core/attachments/{}/", first["id"]);
    let second_path = format!("/api/v1/core/attachments/{}/", second["id"]);
    assert_eq!(files_under(&media(&app).join("attachments")).len(), 2);

    // Someone else's attachment: visible, but not theirs to delete.
    assert_eq!(app.delete(&first_path).send().await.unwrap().status(), 401);
    let res = app.delete(&first_path).bearer_auth(&bob.access).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "permission_denied");
    assert_eq!(files_under(&media(&app).join("attachments")).len(), 2);

    // The owner deletes: row and file.
    assert_eq!(app.delete(&first_path).bearer_auth(&alice.access).send().await.unwrap().status(), 204);
    assert_eq!(app.get(&first_path).send().await.unwrap().status(), 404);
    assert_eq!(app.get(&format!("{first_path}download/")).send().await.unwrap().status(), 404);
    assert_eq!(files_under(&media(&app).join("attachments")).len(), 1);

    // Staff delete anyone's, and that is logged.
    assert_eq!(app.delete(&second_path).bearer_auth(&staff.access).send().await.unwrap().status(), 204);
    assert!(files_under(&media(&app).join("attachments")).is_empty());
    let logged: i64 = app.db().run(|conn| Ok(system_logs::table.filter(system_logs::event.eq("attachment_deleted_by_staff")).count().get_result(conn)?)).await.unwrap();
    assert_eq!(logged, 1);
});

db_test!(async fn lists_are_per_owner(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let staff = app.create_staff("root").await;
    upload_file(&app, &alice, "a1.txt", b"1", None).await;
    upload_file(&app, &alice, "a2.txt", b"2", Some("false")).await;
    upload_file(&app, &bob, "b1.txt", b"3", None).await;

    assert_eq!(app.get("/api/v1/core/attachments/").send().await.unwrap().status(), 401);
    let page: Value = app.get("/api/v1/core/attachments/").bearer_auth(&alice.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["count"], 2);
    assert_eq!(page["results"][0]["name"], "a2.txt", "newest first");
    let res = app.get(&format!("/api/v1/core/attachments/?owner={}", alice.id)).bearer_auth(&bob.access).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let page: Value = app.get(&format!("/api/v1/core/attachments/?owner={}", bob.id)).bearer_auth(&staff.access).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["count"], 1);
    let res = app.get("/api/v1/core/attachments/?page=2").bearer_auth(&alice.access).send().await.unwrap();
    assert_eq!(res.status(), 404);
});

db_test!(async fn a_deleted_users_files_are_removed_by_a_job(backend) {
    let app = TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .domain(&plaza_users::DOMAIN)
        .domain(&plaza_core::DOMAIN)
        .build()
        .await;
    let staff = app.create_staff("staff").await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    upload_file(&app, &alice, "a.txt", b"alice's", None).await;
    upload_file(&app, &alice, "b.txt", b"alice's other", Some("false")).await;
    upload_file(&app, &bob, "c.txt", b"bob's", None).await;
    assert_eq!(files_under(&media(&app)).len(), 3);

    let res = app
        .delete(&format!("/api/v1/users/{}/", alice.id))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(files_under(&media(&app)).len(), 3, "removed after the commit, by the job");
    let registry = plaza_kernel::domain::job_registry(&[plaza_core::DOMAIN]);
    let summary = app.run_jobs(registry).await;
    assert_eq!(summary.succeeded, 1, "{summary:?}");
    let left = files_under(&media(&app));
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(std::fs::read(&left[0]).unwrap(), b"bob's");
});

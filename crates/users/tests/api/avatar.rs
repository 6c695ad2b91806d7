//! `me/avatar/`: uploads checked by content, size limits, thumbnails, replacement.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use plaza_kernel::db_test;
use reqwest::multipart::{Form, Part};

use crate::support::{app, call};

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    RgbaImage::from_pixel(width, height, Rgba([0, 128, 255, 200]))
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    RgbImage::from_pixel(width, height, Rgb([200, 10, 10]))
        .write_to(&mut out, ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

fn form(bytes: Vec<u8>, name: &str, mime: &str) -> Form {
    Form::new().part(
        "file",
        Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str(mime)
            .unwrap(),
    )
}

db_test!(async fn avatars_are_stored_with_a_thumbnail(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let media = app.services.config.media_root.clone();

    let (status, body) = call(
        app.post("/api/v1/users/me/avatar/")
            .bearer_auth(&alice.access)
            .multipart(form(png(400, 300), "me.png", "image/png")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let avatar = body["avatar"].as_str().unwrap().to_owned();
    let thumb = body["avatar_thumbnail"].as_str().unwrap().to_owned();
    assert!(avatar.starts_with(&format!("/media/avatars/{}/", alice.id)), "{avatar}");
    let stored = media.join(avatar.trim_start_matches("/media/"));
    let thumb_file = media.join(thumb.trim_start_matches("/media/"));
    let thumbnail = image::open(&thumb_file).unwrap();
    assert_eq!((thumbnail.width(), thumbnail.height()), (256, 256));
    assert!(stored.is_file());

    let (_, me) = call(app.get("/api/v1/users/me/").bearer_auth(&alice.access)).await;
    assert_eq!(me["avatar"], avatar.as_str());
    assert_eq!(me["avatar_thumbnail"], thumb.as_str());

    // A new avatar replaces the old files. The declared type does not matter, the bytes do.
    let (status, body) = call(
        app.post("/api/v1/users/me/avatar/")
            .bearer_auth(&alice.access)
            .multipart(form(jpeg(64, 64), "photo.png", "application/octet-stream")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["avatar"].as_str().unwrap().ends_with(".jpg"));
    assert!(!stored.exists() && !thumb_file.exists(), "old files are removed");

    let (status, _) = call(app.delete("/api/v1/users/me/avatar/").bearer_auth(&alice.access)).await;
    assert_eq!(status, 204);
    let (_, me) = call(app.get("/api/v1/users/me/").bearer_auth(&alice.access)).await;
    assert!(me["avatar"].is_null());
    let dir = media.join(format!("avatars/{}", alice.id));
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0);
});

db_test!(async fn bad_uploads_are_refused(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let url = "/api/v1/users/me/avatar/";

    let (status, _) = call(app.post(url).multipart(form(png(8, 8), "a.png", "image/png"))).await;
    assert_eq!(status, 401);

    // Not an image, whatever it claims to be.
    let (status, body) = call(
        app.post(url)
            .bearer_auth(&alice.access)
            .multipart(form(b"<svg onload=alert(1)>".to_vec(), "x.png", "image/png")),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["errors"]["file"].is_array());
    // A truncated PNG.
    let mut broken = png(64, 64);
    broken.truncate(60);
    let (status, _) = call(app.post(url).bearer_auth(&alice.access).multipart(form(broken, "b.png", "image/png"))).await;
    assert_eq!(status, 400);

    // Over 5 MiB.
    let mut big = png(16, 16);
    big.resize(5 * 1024 * 1024 + 1, 0);
    let (status, body) = call(app.post(url).bearer_auth(&alice.access).multipart(form(big, "big.png", "image/png"))).await;
    assert_eq!((status, body["code"].as_str()), (413, Some("payload_too_large")));

    // No file part, an empty one, and not multipart at all.
    let (status, body) = call(app.post(url).bearer_auth(&alice.access).multipart(Form::new().text("name", "x"))).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["file"].is_array());
    let (status, _) = call(app.post(url).bearer_auth(&alice.access).multipart(form(Vec::new(), "e.png", "image/png"))).await;
    assert_eq!(status, 400);
    let (status, body) = call(app.post(url).bearer_auth(&alice.access).json(&serde_json::json!({"file": "x"}))).await;
    assert_eq!((status, body["code"].as_str()), (415, Some("unsupported_media_type")));

    // Nothing was stored.
    let (_, me) = call(app.get("/api/v1/users/me/").bearer_auth(&alice.access)).await;
    assert!(me["avatar"].is_null());
    let dir = app.services.config.media_root.join(format!("avatars/{}", alice.id));
    assert!(!dir.exists() || std::fs::read_dir(dir).unwrap().count() == 0);
});

//! `/media/`: avatars uploaded through the users API are served publicly, and nothing else.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};
use plaza_kernel::db_test;
use reqwest::multipart::{Form, Part};

use crate::support::{app, call};

db_test!(async fn uploaded_avatars_are_served(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let mut png = Cursor::new(Vec::new());
    RgbImage::from_pixel(300, 300, Rgb([1, 2, 3])).write_to(&mut png, ImageFormat::Png).unwrap();
    let form = Form::new().part("file", Part::bytes(png.into_inner()).file_name("a.png"));
    let (status, body) = call(app.post("/api/v1/users/me/avatar/").bearer_auth(&alice.access).multipart(form)).await;
    assert_eq!(status, 200, "{body}");

    for url in [body["avatar"].as_str().unwrap(), body["avatar_thumbnail"].as_str().unwrap()] {
        let res = app.get(url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        assert_eq!(res.headers()["content-type"], "image/jpeg");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let bytes = res.bytes().await.unwrap();
        assert!(image::load_from_memory(&bytes).is_ok());
    }
    // The card other domains show links to the thumbnail.
    let id = alice.id;
    let cards = app.db().run(move |conn| Ok(plaza_users::authors_by_id(conn, &[id])?)).await.unwrap();
    assert_eq!(cards[&id].avatar.as_deref(), body["avatar_thumbnail"].as_str());

    // Files outside the public directories are not served.
    let media = app.services.config.media_root.clone();
    std::fs::create_dir_all(media.join("attachments")).unwrap();
    std::fs::write(media.join("attachments/private.txt"), b"secret").unwrap();
    for path in [
        "/media/attachments/private.txt",
        "/media/avatars/../attachments/private.txt",
        "/media/avatars/%2e%2e/attachments/private.txt",
        "/media/avatars/1/missing.png",
        "/media/",
    ] {
        let (status, _) = call(app.get(path)).await;
        assert_eq!(status, 404, "{path}");
    }
});

//! The staff console in a real browser: Debian's Chromium, headless, driven through
//! chromedriver with fantoccini. Signs in as staff (and is refused as a user), finds a user by
//! search and deactivates them (their API login then fails), edits a post with an invalid
//! title and sees the field's error, deletes a tag after its confirmation, reads the history,
//! finds the dashboard's charts drawn, and is refused a form posted without its CSRF token.
//! Screenshots of the dashboard and a list (also at a phone's width) go to
//! `target/admin-screenshots/` (under `CARGO_TARGET_DIR` when it is set).
//!
//! Skipped with one line when `chromedriver` is not installed, unless
//! `PLAZA_TEST_REQUIRE_BROWSER=1` (as CI sets it), which fails instead.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use plaza_e2e::{free_port, register, run_plaza, Plaza, PASSWORD};
use serde_json::{json, Value};

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver() -> Option<PathBuf> {
    let found = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("PLAZA_TEST_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "PLAZA_TEST_REQUIRE_BROWSER=1 but chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
    }
    found
}

async fn start_browser(driver: &std::path::Path) -> (Driver, Client) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a WebDriver session");
    (driver, client)
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let dir = target.join("admin-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let path = screenshots_dir().join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// Signs in and waits for the next page, known by an element matching `then` (a submit does
/// not wait for the page it leads to).
async fn sign_in(
    client: &Client,
    plaza: &Plaza,
    username: &str,
    password: &str,
    then: &str,
) -> String {
    client.goto(&plaza.url("/admin/login/")).await.unwrap();
    let form = client
        .form(Locator::Css("form[action='/admin/login/']"))
        .await
        .unwrap();
    form.set_by_name("username", username).await.unwrap();
    form.set_by_name("password", password).await.unwrap();
    form.submit().await.unwrap();
    client.wait().for_element(Locator::Css(then)).await.unwrap();
    client.source().await.unwrap()
}

/// The text of the element matching `css`, once the page shows it.
async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn api_login(plaza: &Plaza, username: &str, password: &str) -> (u16, Value) {
    let res = plaza
        .client
        .post(plaza.url("/api/v1/auth/login/"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn staff_run_the_site_from_the_console_in_a_browser() {
    let Some(driver_path) = chromedriver() else {
        eprintln!(
            "skipped: chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        return;
    };

    // A site with a superuser, a user with a post, and a tag.
    let dir = tempfile::tempdir().unwrap();
    let out = run_plaza(dir.path(), &["migrate"], &[("DATA_DIR", "./data")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_plaza(
        dir.path(),
        &[
            "createsuperuser",
            "--no-input",
            "--username",
            "root",
            "--email",
            "root@example.com",
        ],
        &[
            ("DATA_DIR", "./data"),
            ("PLAZA_SUPERUSER_PASSWORD", PASSWORD),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plaza = Plaza::builder()
        .dir(dir.path())
        .env("DATA_DIR", "./data")
        .start()
        .await;
    let alice = register(&plaza, "alice").await;
    let _bob = register(&plaza, "bob").await;
    let (status, root) = api_login(&plaza, "root", PASSWORD).await;
    assert_eq!(status, 200, "{root}");
    let root_token = root["access"].as_str().unwrap().to_owned();
    let post: Value = plaza
        .client
        .post(plaza.url("/api/v1/posts/"))
        .bearer_auth(&alice.token)
        .json(&json!({"title": "Hello", "content": "A first post"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let post_id = post["id"].as_i64().unwrap();
    let tag: Value = plaza
        .client
        .post(plaza.url("/api/v1/core/tags/"))
        .bearer_auth(&root_token)
        .json(&json!({"name": "Obsolete"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tag_id = tag["id"].as_i64().unwrap();

    let (_driver, client) = start_browser(&driver_path).await;

    // A user who is not staff is refused.
    let html = sign_in(&client, &plaza, "alice", PASSWORD, "p.error").await;
    assert!(html.contains("not staff"), "{html}");

    // Staff sign in and land on the dashboard, its charts drawn as SVG.
    let html = sign_in(&client, &plaza, "root", PASSWORD, "figure.chart").await;
    assert!(html.contains("Dashboard"), "{html}");
    let charts = client
        .find_all(Locator::Css("figure.chart svg"))
        .await
        .unwrap();
    assert!(charts.len() >= 2, "the sign-ups and posts charts are drawn");
    let bars = client
        .find_all(Locator::Css("figure.chart svg rect"))
        .await
        .unwrap();
    assert!(!bars.is_empty());
    screenshot(&client, "dashboard.png").await;

    // Find alice by search and deactivate her; the API then refuses her login.
    client.goto(&plaza.url("/admin/users/")).await.unwrap();
    let search = client.form(Locator::Css("form.search")).await.unwrap();
    search.set_by_name("q", "alice").await.unwrap();
    search.submit().await.unwrap();
    client
        .wait()
        .for_element(Locator::Css("input#q[value='alice']"))
        .await
        .unwrap();
    let rows = client.find_all(Locator::Css("tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1);
    screenshot(&client, "users-list.png").await;
    // The same list on a phone's screen.
    client.set_window_size(390, 844).await.unwrap();
    screenshot(&client, "users-list-phone.png").await;
    client.set_window_size(1280, 1000).await.unwrap();
    client
        .find(Locator::Css(&format!(
            "input[name='ids'][value='{}']",
            alice.id
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css(
            "select[name='action'] option[value='deactivate']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("button[name='go']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // "Are you sure?" lists the accounts before anything changes.
    assert!(text_of(&client, "ul.goes").await.contains("alice"));
    let (status, _) = api_login(&plaza, "alice", PASSWORD).await;
    assert_eq!(status, 200, "nothing changes before the confirmation");
    client
        .wait()
        .for_element(Locator::Css("button.danger"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(text_of(&client, ".notice").await.contains("1 done"));
    let (status, _) = api_login(&plaza, "alice", PASSWORD).await;
    assert_eq!(
        status, 401,
        "a deactivated user cannot log in through the API"
    );

    // Her API sessions ended with her account: the login sessions list them as revoked.
    client
        .goto(&plaza.url("/admin/sessions/?q=alice&state=live"))
        .await
        .unwrap();
    assert!(text_of(&client, "tbody").await.contains("Nothing here."));
    client
        .goto(&plaza.url("/admin/sessions/?q=alice&state=revoked"))
        .await
        .unwrap();
    let rows = text_of(&client, "tbody").await;
    assert!(rows.contains("alice") && rows.contains("revoked"), "{rows}");

    // Its history shows who did it.
    client
        .goto(&plaza.url(&format!("/admin/users/{}/history/", alice.id)))
        .await
        .unwrap();
    let history = text_of(&client, "main").await;
    assert!(
        history.contains("root") && history.contains("Deactivate"),
        "{history}"
    );

    // An invalid title is answered beside the field, and nothing is saved.
    client
        .goto(&plaza.url(&format!("/admin/posts/{post_id}/")))
        .await
        .unwrap();
    let title = client.find(Locator::Css("#field-title")).await.unwrap();
    title.clear().await.unwrap();
    title.send_keys(&"x".repeat(201)).await.unwrap();
    client
        .find(Locator::Css("form.record button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let error = text_of(&client, "#error-title").await;
    assert!(!error.is_empty());
    let post: Value = plaza
        .client
        .get(plaza.url(&format!("/api/v1/posts/{post_id}/")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(post["title"], "Hello");

    // A tag is deleted after its confirmation, which says what goes with it.
    client
        .goto(&plaza.url(&format!("/admin/tags/{tag_id}/")))
        .await
        .unwrap();
    client
        .find(Locator::LinkText("Delete"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(text_of(&client, "ul.goes").await.contains("Obsolete"));
    client
        .wait()
        .for_element(Locator::Css("button.danger"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(text_of(&client, ".notice").await.contains("Deleted."));
    let status = plaza
        .client
        .get(plaza.url(&format!("/api/v1/core/tags/{tag_id}/")))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
    client
        .goto(&plaza.url(&format!("/admin/tags/{tag_id}/history/")))
        .await
        .unwrap();
    assert!(text_of(&client, "main").await.contains("deleted tags"));

    // The browser's session cookie without the form's CSRF token is refused.
    let session = client
        .get_named_cookie("plaza_admin_session")
        .await
        .unwrap()
        .value()
        .to_owned();
    let res = reqwest::Client::new()
        .post(plaza.url(&format!("/admin/users/{}/", alice.id)))
        .header("cookie", format!("plaza_admin_session={session}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("is_active=true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    client.close().await.unwrap();
}

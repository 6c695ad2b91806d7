//! Support for end-to-end tests: start the real `plaza` binary and talk to it as clients do.
//!
//! [`Plaza::builder`] starts `plaza serve` on a free port, in a fresh working directory with
//! its own `DATA_DIR`, and waits until `/health` answers. The binary is built once per test
//! process with `cargo build -p plaza` (a no-op when it is current), or taken from
//! `PLAZA_BIN`. The process is stopped with SIGTERM when the handle drops.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod mail;
pub mod proxy;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `plaza` binary, built on first use.
pub fn plaza_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(bin) = std::env::var("PLAZA_BIN") {
            return PathBuf::from(bin);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "plaza", "--bin", "plaza"])
            .status()
            .expect("run cargo build -p plaza");
        assert!(status.success(), "cargo build -p plaza failed");
        // target/<profile>/deps/<this test> → target/<profile>/plaza
        let exe = std::env::current_exe().expect("the test executable's path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        profile_dir.join("plaza")
    })
}

/// `REDIS_URL` for tests that need Redis: `None` skips the test, unless
/// `PLAZA_TEST_REQUIRE_REDIS=1` (as CI sets it), which fails it instead.
pub fn redis_url() -> Option<String> {
    let url = std::env::var("REDIS_URL").ok();
    assert!(
        url.is_some() || std::env::var("PLAZA_TEST_REQUIRE_REDIS").as_deref() != Ok("1"),
        "REDIS_URL required"
    );
    url
}

/// GET `/api/v1/core/system/health/`: its status code and body.
pub async fn health(
    plaza: &Plaza,
    client: &reqwest::Client,
) -> (reqwest::StatusCode, serde_json::Value) {
    let res = client
        .get(plaza.url("/api/v1/core/system/health/"))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

/// The password [`register`] gives every account.
pub const PASSWORD: &str = "Tr1cky-Horse-77";

/// A registered user and its access token.
#[derive(Clone, Debug)]
pub struct Account {
    /// The user's id.
    pub id: i64,
    /// An access token.
    pub token: String,
}

/// `POST path` on `plaza` as `who` with a JSON body: the status and the JSON body (`null` when
/// there is none).
pub async fn post_as(
    plaza: &Plaza,
    who: &Account,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let res = plaza
        .client
        .post(plaza.url(path))
        .bearer_auth(&who.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// Registers `name` (`<name>@example.com`, [`PASSWORD`]) through the API, as a client would.
pub async fn register(plaza: &Plaza, name: &str) -> Account {
    let res = plaza
        .client
        .post(plaza.url("/api/v1/auth/register/"))
        .json(&serde_json::json!({
            "username": name,
            "email": format!("{name}@example.com"),
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "register {name}");
    let body: serde_json::Value = res.json().await.unwrap();
    Account {
        id: body["user"]["id"].as_i64().unwrap(),
        token: body["access"].as_str().unwrap().to_owned(),
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `plaza <args>` to completion in `dir` with `env` (and nothing else from the
/// environment but `PATH`), returning its output.
pub fn run_plaza(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(plaza_bin())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run plaza")
}

/// Builds a [`Plaza`] process.
#[derive(Default)]
pub struct PlazaBuilder {
    env: HashMap<String, String>,
    dir: Option<PathBuf>,
}

impl PlazaBuilder {
    /// Sets an environment variable.
    #[must_use]
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Runs in `dir` (default: a fresh temporary directory).
    #[must_use]
    pub fn dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_owned());
        self
    }

    /// Starts `plaza worker` (with `args`) and waits until its worker has started.
    pub async fn start_worker(self, args: &[&str]) -> PlazaWorker {
        let tmp = tempfile::tempdir().unwrap();
        let dir = self.dir.clone().unwrap_or_else(|| tmp.path().to_owned());
        let log_path = tmp.path().join("plaza-worker.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(plaza_bin())
            .arg("worker")
            .args(args)
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .envs(&self.env)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start plaza worker");
        let mut worker = PlazaWorker {
            child: Some(child),
            dir,
            log_path,
            _tmp: tmp,
        };
        worker.wait_for_log("job worker started").await;
        worker
    }

    /// Starts `plaza serve` and waits until it answers `/health`.
    pub async fn start(self) -> Plaza {
        let tmp = tempfile::tempdir().unwrap();
        let dir = self.dir.clone().unwrap_or_else(|| tmp.path().to_owned());
        let port = free_port();
        let log_path = tmp.path().join("plaza.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = Command::new(plaza_bin());
        command
            .arg("serve")
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PLAZA_BIND", format!("127.0.0.1:{port}"))
            .env("BCRYPT_COST", "4")
            .env("PLAZA_WORKERS", "2")
            .env("RUST_LOG", "info")
            .envs(&self.env)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        let child = command.spawn().expect("start plaza serve");
        let mut plaza = Plaza {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            ws_base: format!("ws://127.0.0.1:{port}"),
            dir,
            log_path,
            _tmp: tmp,
            client: reqwest::Client::new(),
        };
        plaza.wait_ready().await;
        plaza
    }
}

/// Sends SIGTERM to `child` and waits (up to 40 s, then kills it).
fn terminate(mut child: Child) -> ExitStatus {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `plaza worker`.
pub struct PlazaWorker {
    child: Option<Child>,
    /// Its working directory.
    pub dir: PathBuf,
    log_path: PathBuf,
    _tmp: tempfile::TempDir,
}

impl PlazaWorker {
    /// Everything the process has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Waits (up to 30 s) until the log contains `needle`.
    pub async fn wait_for_log(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.logs().contains(needle) {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("plaza worker exited ({status}):\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "plaza worker never logged {needle:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        terminate(self.child.take().expect("the process is running"))
    }
}

impl Drop for PlazaWorker {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}

/// A running `plaza serve`.
pub struct Plaza {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// `ws://127.0.0.1:<port>`.
    pub ws_base: String,
    /// Its working directory.
    pub dir: PathBuf,
    log_path: PathBuf,
    _tmp: tempfile::TempDir,
    /// An HTTP client.
    pub client: reqwest::Client,
}

impl Plaza {
    /// A builder with no configuration but the port.
    pub fn builder() -> PlazaBuilder {
        PlazaBuilder::default()
    }

    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `ws_base + path`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{path}", self.ws_base)
    }

    /// The process id (to read its memory use from `/proc`, say).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the process is running").id()
    }

    /// Everything the process has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("plaza exited early ({status}):\n{}", self.logs());
            }
            if let Ok(res) = self.client.get(self.url("/health")).send().await {
                if res.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "plaza did not become ready:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        terminate(self.child.take().expect("the process is running"))
    }
}

impl Drop for Plaza {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}

/// A MySQL database for one test, created on `PLAZA_TEST_MYSQL_URL`'s server and dropped
/// afterwards; `None` when that variable is unset (and a failure under
/// `PLAZA_TEST_REQUIRE_MYSQL=1`).
pub struct MysqlDb {
    /// `mysql://…/<name>`.
    pub url: String,
    server: String,
    name: String,
}

impl MysqlDb {
    /// A fresh name on the test server (the database itself is created by `plaza`).
    pub fn new() -> Option<Self> {
        let server = match std::env::var("PLAZA_TEST_MYSQL_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var("PLAZA_TEST_REQUIRE_MYSQL").as_deref() != Ok("1"),
                    "PLAZA_TEST_REQUIRE_MYSQL=1 but PLAZA_TEST_MYSQL_URL is not set"
                );
                return None;
            }
        };
        let name = format!(
            "plaza_e2e_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let base = server
            .rsplit_once('/')
            .map_or(server.as_str(), |(b, _)| b)
            .to_owned();
        Some(Self {
            url: format!("{base}/{name}"),
            server,
            name,
        })
    }
}

impl MysqlDb {
    /// The server's `host:port`.
    pub fn server_addr(&self) -> String {
        let url = url::Url::parse(&self.url).unwrap();
        format!(
            "{}:{}",
            url.host_str().unwrap_or("127.0.0.1"),
            url.port().unwrap_or(3306)
        )
    }

    /// [`url`](Self::url) reached through `127.0.0.1:<port>` (a [`proxy::TcpProxy`]).
    pub fn url_via(&self, port: u16) -> String {
        let mut url = url::Url::parse(&self.url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(port)).unwrap();
        url.to_string()
    }
}

impl Drop for MysqlDb {
    fn drop(&mut self) {
        use diesel::{Connection, RunQueryDsl};
        if let Ok(mut conn) = diesel::MysqlConnection::establish(&self.server) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS `{}`", self.name))
                .execute(&mut conn);
        }
    }
}

//! Test support for domain crates (feature `test-support`).
//!
//! [`TestApp`] serves a domain's routes through the real middleware stack on a free port,
//! over a fresh, migrated database:
//!
//! - SQLite by default: a database file in a fresh directory under `/dev/shm` (memory-backed,
//!   so as fast as `:memory:`, but with WAL and real concurrency), removed afterwards;
//! - MySQL when `PLAZA_TEST_MYSQL_URL` is set (`mysql://root@127.0.0.1:3306/test`): a fresh
//!   database created on that server and dropped afterwards.
//!
//! [`WsClient`] talks to WebSocket endpoints as clients do.
//!
//! [`db_test!`](crate::db_test) writes each test once and runs it on both backends. The MySQL
//! variant returns early when `PLAZA_TEST_MYSQL_URL` is unset — unless
//! `PLAZA_TEST_REQUIRE_MYSQL=1` (CI), where it fails, so the MySQL suite can never silently
//! skip. Redis works the same way with `REDIS_URL` / `PLAZA_TEST_REQUIRE_REDIS`.
//!
//! ```ignore
//! plaza_kernel::db_test!(async fn lists_nothing(backend) {
//!     let app = TestApp::builder(backend).configure(my_domain::configure).build().await;
//!     let user = app.create_user("alice").await;
//!     let res = app.get("/api/v1/things/").bearer_auth(&user.access).send().await.unwrap();
//!     assert_eq!(res.status(), 200);
//! });
//! ```

// Test support fails loudly: a broken fixture should stop the test with its reason.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::missing_panics_doc)]

mod ws;

pub use ws::{WsClient, WsEvent, RECV_TIMEOUT};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{web, HttpServer};
use diesel::prelude::*;

use crate::auth::{Role, TokenSubject};
use crate::bus::Bus;
use crate::cache::Cache;
use crate::config::Config;
use crate::db::DbConn;
use crate::db::{run_migrations, Db, PoolOptions, QueryLog};
use crate::domain::{Domain, Started};
use crate::error::ApiResult;
use crate::jobs::{JobRegistry, JobServices, RunSummary, Worker, WorkerSettings};
use crate::mail::Email;
use crate::schema::jobs;
use crate::services::Services;

/// The password every test user has.
pub const TEST_PASSWORD: &str = "Correct-Horse-9";

/// The secret test apps sign tokens with.
pub const TEST_SECRET: &str = "plaza-test-secret-0123456789abcdefghijklmnopqrstuvwxyz";

/// Which database a test runs on.
#[derive(Clone, Debug)]
pub enum TestBackend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh database on this MySQL server URL.
    Mysql(String),
}

fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

impl TestBackend {
    /// MySQL from `PLAZA_TEST_MYSQL_URL`; `None` (skip) when unset, a failure when
    /// `PLAZA_TEST_REQUIRE_MYSQL=1`.
    pub fn mysql() -> Option<Self> {
        match std::env::var("PLAZA_TEST_MYSQL_URL") {
            Ok(url) if !url.is_empty() => Some(Self::Mysql(url)),
            _ => {
                assert!(
                    !required("PLAZA_TEST_REQUIRE_MYSQL"),
                    "PLAZA_TEST_REQUIRE_MYSQL=1 but PLAZA_TEST_MYSQL_URL is not set"
                );
                None
            }
        }
    }

    /// `"sqlite"` or `"mysql"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Mysql(_) => "mysql",
        }
    }
}

/// Redis from `REDIS_URL`; `None` (skip) when unset, a failure when
/// `PLAZA_TEST_REQUIRE_REDIS=1`.
pub fn test_redis_url() -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                !required("PLAZA_TEST_REQUIRE_REDIS"),
                "PLAZA_TEST_REQUIRE_REDIS=1 but REDIS_URL is not set"
            );
            None
        }
    }
}

/// A key prefix no other test uses, for sharing one Redis.
pub fn unique_prefix() -> String {
    format!("plaza-test:{}:", uuid::Uuid::new_v4().simple())
}

/// Runs a test body on SQLite and on MySQL: `db_test!(async fn name(backend) { … })`
/// becomes the tests `name::sqlite` and `name::mysql`.
#[macro_export]
macro_rules! db_test {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $backend = $crate::testing::TestBackend::Sqlite;
                $body
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                let Some($backend) = $crate::testing::TestBackend::mysql() else { return };
                $body
            }
        }
    };
}

/// A fresh, migrated database that removes itself when dropped. Its pool has a
/// [`QueryLog`] (`db.query_log()`), for tests that count statements.
pub struct TestDb {
    /// The pool.
    pub db: Db,
    /// Its URL.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Mysql { server: String, name: String },
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// Creates and migrates a database (blocking).
    pub fn create(backend: &TestBackend) -> Self {
        Self::create_unmigrated(backend).migrated()
    }

    /// Creates an empty database (blocking).
    pub fn create_unmigrated(backend: &TestBackend) -> Self {
        let options = PoolOptions {
            max_size: 8,
            timeout: std::time::Duration::from_secs(10),
        };
        match backend {
            TestBackend::Sqlite => {
                let base = std::path::Path::new("/dev/shm");
                let dir = if base.is_dir() {
                    tempfile::Builder::new()
                        .prefix("plaza-test-")
                        .tempdir_in(base)
                } else {
                    tempfile::Builder::new().prefix("plaza-test-").tempdir()
                }
                .expect("temporary directory for the SQLite test database");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                let db = Db::connect_with_log(&url, options, QueryLog::new())
                    .expect("open the SQLite test database");
                Self {
                    db,
                    url,
                    cleanup: Cleanup::Dir(dir),
                }
            }
            TestBackend::Mysql(server) => {
                let name = format!(
                    "plaza_test_{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..12]
                );
                let mut admin = MysqlConnection::establish(server)
                    .unwrap_or_else(|e| panic!("connect to PLAZA_TEST_MYSQL_URL: {e}"));
                diesel::sql_query(format!(
                    "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                ))
                .execute(&mut admin)
                .expect("create the MySQL test database");
                let url = with_database(server, &name);
                let db = Db::connect_with_log(&url, options, QueryLog::new())
                    .expect("open the MySQL test database");
                Self {
                    db,
                    url,
                    cleanup: Cleanup::Mysql {
                        server: server.clone(),
                        name,
                    },
                }
            }
        }
    }

    fn migrated(self) -> Self {
        let mut conn = self.db.get().expect("a test database connection");
        run_migrations(&mut conn).expect("migrations apply to the test database");
        drop(conn);
        self
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Mysql { server, name } = &self.cleanup {
            if let Ok(mut admin) = MysqlConnection::establish(server) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS `{name}`"))
                    .execute(&mut admin);
            }
        }
    }
}

/// `server` (a MySQL URL) pointing at database `name`.
pub fn with_database(server: &str, name: &str) -> String {
    match url::Url::parse(server) {
        Ok(mut url) => {
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        Err(_) => format!("{}/{name}", server.trim_end_matches('/')),
    }
}

type Configure = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;
type Customize = Box<dyn FnOnce(&mut Services) + Send>;

/// Builds a [`TestApp`].
pub struct TestAppBuilder {
    backend: TestBackend,
    configure: Vec<Configure>,
    domains: Vec<Domain>,
    vars: HashMap<String, String>,
    redis: bool,
    customize: Vec<Customize>,
    users: Option<UserFixture>,
}

/// Creates the rows of a test user (`spec`, with `email` and the bcrypt `hash` of
/// [`TEST_PASSWORD`]) and returns its id. The users domain provides it
/// (`plaza_users::testing::create_test_user`): test support never writes another domain's
/// tables itself.
pub type UserFixture = fn(&mut DbConn, &NewTestUser, &str, &str) -> ApiResult<i64>;

impl TestAppBuilder {
    /// How [`TestApp::create_user`] and its siblings create accounts.
    #[must_use]
    pub fn users(mut self, fixture: UserFixture) -> Self {
        self.users = Some(fixture);
        self
    }

    /// Adds routes (a domain's `configure`).
    #[must_use]
    pub fn configure(
        mut self,
        f: impl Fn(&mut web::ServiceConfig) + Send + Sync + 'static,
    ) -> Self {
        self.configure.push(Arc::new(f));
        self
    }

    /// Mounts a whole domain as the server does: its settings section parsed from this
    /// builder's variables (so `.env(..)` reaches it) into `services.sections`, its routes, and
    /// its per-process state, started with the test server, registered in the app, and
    /// stopped (flushed) when the server stops or the [`TestApp`] drops.
    #[must_use]
    pub fn domain(mut self, domain: &'static Domain) -> Self {
        self.configure.push(Arc::new(domain.configure));
        self.domains.push(*domain);
        self
    }

    /// Sets a configuration variable, as the environment would.
    #[must_use]
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.vars.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Uses Redis (from `REDIS_URL`, with a unique key prefix) for the cache and bus.
    /// Panics when `REDIS_URL` is unset; check [`test_redis_url`] first.
    #[must_use]
    pub fn with_redis(mut self) -> Self {
        self.redis = true;
        self
    }

    /// Runs `f` on the services before the server starts (replace one, seed data).
    #[must_use]
    pub fn customize(mut self, f: impl FnOnce(&mut Services) + Send + 'static) -> Self {
        self.customize.push(Box::new(f));
        self
    }

    /// Creates the database and starts the server.
    pub async fn build(self) -> TestApp {
        let backend = self.backend.clone();
        let test_db = tokio::task::spawn_blocking(move || TestDb::create(&backend))
            .await
            .expect("create the test database");
        let data_dir = tempfile::tempdir().expect("a temporary DATA_DIR");

        let mut vars: HashMap<String, String> = HashMap::from([
            ("DEBUG".to_owned(), "true".to_owned()),
            ("SECRET_KEY".to_owned(), TEST_SECRET.to_owned()),
            ("BCRYPT_COST".to_owned(), "4".to_owned()),
            ("DATA_DIR".to_owned(), data_dir.path().display().to_string()),
            ("EMAIL_BACKEND".to_owned(), "file".to_owned()),
            ("WORKER_POLL_INTERVAL".to_owned(), "1".to_owned()),
        ]);
        vars.extend(self.vars);
        vars.insert("DATABASE_URL".to_owned(), test_db.url.clone());
        let config = Config::from_vars(&vars).expect("a valid test configuration");
        let sections = crate::domain::parse_settings(&self.domains, &vars)
            .expect("valid settings for the test's domains");

        let (cache, bus) = if self.redis {
            let url = test_redis_url().expect("REDIS_URL for a Redis test app");
            let prefix = unique_prefix();
            (
                Cache::redis(&url, &prefix)
                    .await
                    .expect("connect the Redis cache"),
                Bus::redis(&url, &prefix)
                    .await
                    .expect("connect the Redis bus"),
            )
        } else {
            (Cache::in_memory(), Bus::in_memory())
        };
        let mut services = Services::from_parts(config, test_db.db.clone(), cache, bus)
            .with_sections(sections)
            .with_user_deletion(crate::domain::UserDeletion::of(&self.domains));
        for f in self.customize {
            f(&mut services);
        }

        let configure = Arc::new(self.configure);
        let domains = self.domains;
        let server_services = services.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(async move {
                // Started on the server's runtime, as `plaza serve` starts it beside its server.
                let started = Arc::new(Started::start(&domains, &server_services));
                let (app_started, stop_services) = (started.clone(), server_services.clone());
                let server = HttpServer::new(move || {
                    let (configure, started) = (configure.clone(), app_started.clone());
                    crate::http::app(&server_services, move |cfg| {
                        started.register(cfg);
                        for f in configure.iter() {
                            f(cfg);
                        }
                    })
                })
                .workers(1)
                .disable_signals()
                .shutdown_timeout(1)
                .bind(("127.0.0.1", 0))
                .expect("bind a test port");
                let addr = server.addrs()[0];
                let running = server.run();
                let _ = tx.send((addr, actix_rt::System::current(), running.handle()));
                let _ = running.await;
                // After the last request (the server stopped, or the TestApp dropped).
                started.stop(&stop_services).await;
            });
        });
        let (addr, system, handle) = rx.recv().expect("the test server starts");
        TestApp {
            services,
            addr,
            client: reqwest::Client::builder().build().expect("an HTTP client"),
            system: Some((system, handle, thread)),
            data_dir,
            test_db,
            users: self.users,
        }
    }
}

/// A running app over a fresh database.
pub struct TestApp {
    /// The shared services (database, cache, bus, config, tokens).
    pub services: Services,
    /// Where the server listens.
    pub addr: SocketAddr,
    /// A client for it.
    pub client: reqwest::Client,
    system: Option<(
        actix_rt::System,
        actix_web::dev::ServerHandle,
        std::thread::JoinHandle<()>,
    )>,
    data_dir: tempfile::TempDir,
    test_db: TestDb,
    users: Option<UserFixture>,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// A user created directly in the database, with a valid access token.
#[derive(Clone, Debug)]
pub struct TestUser {
    /// Id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Email (`<username>@example.com`).
    pub email: String,
    /// Password ([`TEST_PASSWORD`]).
    pub password: String,
    /// A fresh access token.
    pub access: String,
}

/// What [`TestApp::create_user_with`] creates.
#[derive(Clone, Debug)]
pub struct NewTestUser {
    /// Username.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Django's `is_staff`.
    pub is_staff: bool,
    /// Django's `is_superuser`.
    pub is_superuser: bool,
    /// Active account.
    pub is_active: bool,
    /// Email verified.
    pub is_verified: bool,
}

impl NewTestUser {
    /// An ordinary active user.
    pub fn new(username: &str) -> Self {
        Self {
            username: username.to_owned(),
            role: Role::User,
            is_staff: false,
            is_superuser: false,
            is_active: true,
            is_verified: true,
        }
    }
}

impl TestApp {
    /// A builder on `backend`.
    pub fn builder(backend: TestBackend) -> TestAppBuilder {
        TestAppBuilder {
            backend,
            configure: Vec::new(),
            domains: Vec::new(),
            vars: HashMap::new(),
            redis: false,
            customize: Vec::new(),
            users: None,
        }
    }

    /// The database pool.
    pub fn db(&self) -> &Db {
        &self.services.db
    }

    /// The database URL (to start a real binary on the same database, say).
    pub fn database_url(&self) -> &str {
        &self.test_db.url
    }

    /// The temporary `DATA_DIR` (mail files, media).
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `ws://127.0.0.1:<port><path>`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    /// `POST path`.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    /// `PUT path`.
    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.put(self.url(path))
    }

    /// `PATCH path`.
    pub fn patch(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.patch(self.url(path))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.delete(self.url(path))
    }

    /// The messages queued for delivery (`send_email` jobs not yet pruned), oldest first —
    /// for tests that read a verification or reset link without running a worker.
    pub async fn queued_emails(&self) -> Vec<Email> {
        let payloads: Vec<String> = self
            .db()
            .run(|conn| {
                Ok(jobs::table
                    .filter(jobs::kind.eq(<Email as crate::jobs::Job>::KIND))
                    .order(jobs::id.asc())
                    .select(jobs::payload)
                    .load(conn)?)
            })
            .await
            .expect("read the queued emails");
        payloads
            .iter()
            .map(|p| serde_json::from_str(p).expect("a send_email payload"))
            .collect()
    }

    /// Runs every due job with `registry`'s handlers (the kernel's `send_email` writes
    /// `.eml` files under [`TestApp::data_dir`]`/mail`), until none is due. A failed job is
    /// retried no sooner than `WORKER_RETRY_BASE` (10 s), so each call runs it at most once.
    pub async fn run_jobs(&self, registry: JobRegistry) -> RunSummary {
        let services = JobServices::from_services(&self.services).expect("the test mailer");
        let settings = WorkerSettings::from_config(&self.services.config.jobs);
        Worker::new(services, Arc::new(registry), settings)
            .run_until_idle()
            .await
            .expect("run the due jobs")
    }

    /// An active, verified user with role `user`.
    pub async fn create_user(&self, username: &str) -> TestUser {
        self.create_user_with(NewTestUser::new(username)).await
    }

    /// A staff user.
    pub async fn create_staff(&self, username: &str) -> TestUser {
        self.create_user_with(NewTestUser {
            is_staff: true,
            role: Role::Admin,
            ..NewTestUser::new(username)
        })
        .await
    }

    /// A moderator.
    pub async fn create_moderator(&self, username: &str) -> TestUser {
        self.create_user_with(NewTestUser {
            role: Role::Moderator,
            ..NewTestUser::new(username)
        })
        .await
    }

    /// A user as described, created by the builder's [`UserFixture`], with an access token.
    pub async fn create_user_with(&self, spec: NewTestUser) -> TestUser {
        let fixture = self.users.expect(
            "this test app cannot create users: add .users(plaza_users::testing::create_test_user) to its builder",
        );
        let email = format!("{}@example.com", spec.username.to_lowercase());
        let hash = bcrypt::hash(TEST_PASSWORD, 4).expect("bcrypt");
        let row = (spec.clone(), email.clone(), hash);
        let id = self
            .db()
            .run(move |conn| {
                let (spec, email, hash) = row;
                fixture(conn, &spec, &email, &hash)
            })
            .await
            .expect("create a test user");
        let subject = TokenSubject {
            user_id: id,
            username: spec.username.clone(),
            role: spec.role,
            is_staff: spec.is_staff,
            is_superuser: spec.is_superuser,
        };
        let access = self
            .services
            .tokens
            .issue_access(&subject)
            .expect("sign a test token")
            .token;
        TestUser {
            id,
            username: spec.username,
            email,
            password: TEST_PASSWORD.to_owned(),
            access,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((system, handle, thread)) = self.system.take() {
            // Stop accepting, then end the server's runtime; wait so the database is unused
            // before it is dropped.
            drop(handle.stop(false));
            system.stop();
            let _ = thread.join();
        }
    }
}

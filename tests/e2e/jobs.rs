//! Background jobs in the real binary: `plaza serve`'s in-process worker and a separate
//! `plaza worker` deliver queued mail as `.eml` files, sharing the database with the server.

use std::path::Path;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Text;
use plaza_e2e::mail::wait_for_mail;
use plaza_e2e::{MysqlDb, Plaza};

/// `INSERT`s a `send_email` job straight into the `jobs` table, as a domain's transaction
/// would; `now` is the backend's SQL for the current UTC time.
fn insert_sql(now: &str) -> String {
    format!(
        "INSERT INTO jobs (kind, payload, status, priority, run_at, attempts, created_at, \
         updated_at) VALUES ('send_email', ?, 'queued', 10, {now}, 0, {now}, {now})"
    )
}

fn payload(to: &str, subject: &str) -> String {
    serde_json::json!({
        "to": to,
        "subject": subject,
        "text": format!("Hello from the queue: {subject}\nhttps://plaza.test/verify?token=t0k3n"),
    })
    .to_string()
}

fn queue_mail_sqlite(db_path: &Path, to: &str, subject: &str) {
    let mut conn = SqliteConnection::establish(&db_path.display().to_string()).unwrap();
    diesel::sql_query("PRAGMA busy_timeout = 5000")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(insert_sql("datetime('now')"))
        .bind::<Text, _>(payload(to, subject))
        .execute(&mut conn)
        .unwrap();
}

fn queue_mail_mysql(conn: &mut MysqlConnection, to: &str, subject: &str) {
    diesel::sql_query(insert_sql("UTC_TIMESTAMP(6)"))
        .bind::<Text, _>(payload(to, subject))
        .execute(conn)
        .unwrap();
}

#[tokio::test]
async fn serve_delivers_queued_mail_with_its_inprocess_worker() {
    let dir = tempfile::tempdir().unwrap();
    let mut plaza = Plaza::builder()
        .dir(dir.path())
        .env("EMAIL_BACKEND", "file")
        .env("EMAIL_FROM", "Plaza <noreply@plaza.test>")
        .env("WORKER_POLL_INTERVAL", "100ms")
        .start()
        .await;
    assert!(
        plaza.logs().contains("job worker started"),
        "{}",
        plaza.logs()
    );

    queue_mail_sqlite(
        &dir.path().join("data/plaza.db"),
        "zoe@example.com",
        "Bienvenue à Plaza",
    );

    let mail = wait_for_mail(
        &dir.path().join("data/mail"),
        Duration::from_secs(30),
        |m| m.to.contains("zoe@example.com"),
    )
    .await;
    assert_eq!(mail.subject, "Bienvenue à Plaza");
    assert_eq!(mail.from, "Plaza <noreply@plaza.test>");
    assert_eq!(
        mail.link_containing("/verify").as_deref(),
        Some("https://plaza.test/verify?token=t0k3n")
    );

    // The staff endpoints are served, and documented.
    let res = plaza
        .client
        .get(plaza.url("/api/v1/core/system/status/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let schema: serde_json::Value = plaza
        .client
        .get(plaza.url("/api/schema/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/core/system/status/",
        "/api/v1/core/jobs/",
        "/api/v1/core/jobs/{id}/",
        "/api/v1/core/jobs/{id}/retry/",
    ] {
        assert!(schema["paths"][path].is_object(), "{path} in the schema");
    }

    // The queue's depth is exported.
    let metrics = plaza
        .client
        .get(plaza.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("plaza_jobs_queue_depth"), "{metrics}");
    assert!(
        metrics.contains(r#"plaza_jobs_succeeded_total{kind="send_email"} 1"#),
        "{metrics}"
    );

    let status = plaza.stop();
    assert!(status.success(), "exit status {status}");
    let logs = plaza.logs();
    assert!(
        logs.contains("job worker stopped") && logs.contains("stopped"),
        "{logs}"
    );
}

#[tokio::test]
async fn a_separate_worker_runs_the_jobs_of_a_server_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("EMAIL_BACKEND", "file"),
        ("WORKER_POLL_INTERVAL", "100ms"),
        ("BCRYPT_COST", "4"),
    ];
    let mut builder = Plaza::builder()
        .dir(dir.path())
        .env("WORKER_INPROCESS", "false");
    for (k, v) in env {
        builder = builder.env(k, v);
    }
    let plaza = builder.start().await;
    assert!(
        !plaza.logs().contains("job worker started"),
        "{}",
        plaza.logs()
    );

    let mut builder = Plaza::builder().dir(dir.path());
    for (k, v) in env {
        builder = builder.env(k, v);
    }
    let metrics_addr = format!("127.0.0.1:{}", plaza_e2e::free_port());
    let mut worker = builder
        .start_worker(&["--concurrency", "2", "--metrics-bind", &metrics_addr])
        .await;

    for n in 0..3 {
        queue_mail_sqlite(
            &dir.path().join("data/plaza.db"),
            &format!("user{n}@example.com"),
            &format!("Message {n}"),
        );
    }
    for n in 0..3 {
        let to = format!("user{n}@example.com");
        let mail = wait_for_mail(
            &dir.path().join("data/mail"),
            Duration::from_secs(30),
            |m| m.to.contains(&to),
        )
        .await;
        assert_eq!(mail.subject, format!("Message {n}"));
    }
    worker.wait_for_log("job succeeded").await;

    // The worker's own metrics and liveness.
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{metrics_addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let metrics = client
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"plaza_jobs_succeeded_total{kind="send_email"} 3"#),
        "{metrics}"
    );
    assert!(metrics.contains("plaza_jobs_queue_depth 0"), "{metrics}");

    let status = worker.stop();
    assert!(status.success(), "exit status {status}");
    let logs = worker.logs();
    assert!(logs.contains("job worker stopped"), "{logs}");
    assert!(
        !plaza.logs().contains("job succeeded"),
        "the server ran no job"
    );
}

#[tokio::test]
async fn workers_on_mysql_share_the_queue() {
    let Some(mysql) = MysqlDb::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = dir.path().join("mail");
    let mail_dir = mail_dir.display().to_string();
    let plaza = Plaza::builder()
        .dir(dir.path())
        .env("DATABASE_URL", &mysql.url)
        .env("WORKER_INPROCESS", "false")
        .start()
        .await;
    let start = || {
        Plaza::builder()
            .dir(dir.path())
            .env("DATABASE_URL", &mysql.url)
            .env("EMAIL_BACKEND", "file")
            .env("EMAIL_FILE_DIR", &mail_dir)
            .env("WORKER_POLL_INTERVAL", "100ms")
    };
    let mut first = start().start_worker(&[]).await;
    let mut second = start().start_worker(&["--no-beat"]).await;

    let mut conn = MysqlConnection::establish(&mysql.url).unwrap();
    for n in 0..20 {
        queue_mail_mysql(
            &mut conn,
            &format!("user{n}@example.com"),
            &format!("Message {n}"),
        );
    }
    for n in 0..20 {
        let to = format!("user{n}@example.com");
        wait_for_mail(Path::new(&mail_dir), Duration::from_secs(30), |m| {
            m.to.contains(&to)
        })
        .await;
    }
    assert_eq!(
        plaza_e2e::mail::read_mails(Path::new(&mail_dir)).len(),
        20,
        "each mail once"
    );

    assert!(first.stop().success());
    assert!(second.stop().success());
    drop(plaza);
}

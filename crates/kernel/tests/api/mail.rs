//! Mail: well-formed messages from the file backend, delivery through a real SMTP server
//! (plain, STARTTLS, implicit TLS, AUTH PLAIN and LOGIN, refusals), and mail as a job.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mailparse::{parse_mail, MailHeaderMap, ParsedMail};
use plaza_kernel::db;
use plaza_kernel::db_test;
use plaza_kernel::jobs::JobRegistry;
use plaza_kernel::mail::{self, Email, Mailer};
use plaza_kernel::testing::TestApp;
use plaza_kernel::Config;

use crate::smtp_sink::{SinkOptions, SinkTls, SmtpSink};

const SUBJECT: &str = "Bienvenue à Plaza — 欢迎来到 Plaza";
const TEXT: &str = "Héllo Zoë,\n\nConfirm your address: https://plaza.test/verify?token=abc\n\
                    Une ligne en français, 一行中文, and a line long enough to need folding in \
                    quoted-printable: ………………………………………………………………\n\n.a line starting with a dot\n";

fn email() -> Email {
    Email {
        to: "Zoë <zoe@example.com>".into(),
        subject: SUBJECT.into(),
        text: TEXT.into(),
        html: None,
    }
}

fn config(pairs: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    vars.entry("EMAIL_FROM".into())
        .or_insert_with(|| "Plaza <noreply@plaza.test>".into());
    Config::from_vars(&vars).unwrap()
}

fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Line breaks as the sender wrote them (SMTP and `.eml` use CRLF).
fn unix(s: &str) -> String {
    s.replace("\r\n", "\n")
}

fn assert_headers(parsed: &ParsedMail<'_>) {
    let headers = parsed.get_headers();
    assert_eq!(
        headers.get_first_value("From").as_deref(),
        Some("Plaza <noreply@plaza.test>")
    );
    let to = headers.get_first_value("To").unwrap();
    assert!(
        to.contains("<zoe@example.com>") && to.contains("Zoë"),
        "{to}"
    );
    assert_eq!(headers.get_first_value("Subject").as_deref(), Some(SUBJECT));
    assert_eq!(
        headers.get_first_value("MIME-Version").as_deref(),
        Some("1.0")
    );
    assert!(headers.get_first_value("Date").is_some());
    let id = headers.get_first_value("Message-ID").unwrap();
    assert!(id.starts_with('<') && id.ends_with("@plaza.test>"), "{id}");
}

#[tokio::test]
async fn the_file_mailer_writes_a_well_formed_message() {
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = dir.path().join("mail");
    let mail_dir_str = mail_dir.display().to_string();
    let mailer = Mailer::from_config(
        &config(&[
            ("EMAIL_BACKEND", "file"),
            ("EMAIL_FILE_DIR", mail_dir_str.as_str()),
        ])
        .email,
    )
    .unwrap();
    assert_eq!(mailer.backend_name(), "file");

    mailer.send(&email()).await.unwrap();

    let files = eml_files(&mail_dir);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "eml");
    let raw = std::fs::read(&files[0]).unwrap();
    assert!(
        raw.is_ascii(),
        "headers and body are encoded for 7-bit transport"
    );
    let parsed = parse_mail(&raw).unwrap();
    assert_headers(&parsed);
    assert_eq!(parsed.ctype.mimetype, "text/plain");
    assert_eq!(parsed.ctype.charset, "utf-8");
    assert_eq!(unix(&parsed.get_body().unwrap()), TEXT);
}

#[tokio::test]
async fn an_html_alternative_makes_a_multipart_message() {
    let dir = tempfile::tempdir().unwrap();
    let dir_str = dir.path().display().to_string();
    let mailer = Mailer::from_config(
        &config(&[
            ("EMAIL_BACKEND", "file"),
            ("EMAIL_FILE_DIR", dir_str.as_str()),
        ])
        .email,
    )
    .unwrap();
    let html = "<p>Héllo <b>Zoë</b> — 欢迎</p>";

    mailer
        .send(&Email {
            html: Some(html.into()),
            ..email()
        })
        .await
        .unwrap();

    let raw = std::fs::read(&eml_files(dir.path())[0]).unwrap();
    let parsed = parse_mail(&raw).unwrap();
    assert_headers(&parsed);
    assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    let parts: Vec<(String, String)> = parsed
        .subparts
        .iter()
        .map(|p| (p.ctype.mimetype.clone(), unix(&p.get_body().unwrap())))
        .collect();
    assert_eq!(
        parts,
        vec![
            ("text/plain".to_owned(), TEXT.to_owned()),
            ("text/html".to_owned(), html.to_owned())
        ]
    );
}

#[tokio::test]
async fn mailer_configuration_problems_fail_at_start() {
    let bad_from = Config::from_vars(&HashMap::from([(
        "EMAIL_FROM".to_owned(),
        "not an address".to_owned(),
    )]));
    assert!(bad_from.unwrap_err().to_string().contains("- EMAIL_FROM:"));
    let missing_ca = Mailer::from_config(
        &config(&[
            ("EMAIL_BACKEND", "smtp"),
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_CA_FILE", "/nonexistent/ca.pem"),
        ])
        .email,
    );
    assert!(missing_ca.unwrap_err().to_string().contains("SMTP_CA_FILE"));
    let console = Mailer::from_config(&config(&[]).email).unwrap();
    assert_eq!(console.backend_name(), "console");
    console.send(&email()).await.unwrap();
}

fn smtp_config(sink: &SmtpSink, tls: &str, extra: &[(&str, &str)], ca: Option<&Path>) -> Config {
    let port = sink.port.to_string();
    let ca = ca.map(|p| p.display().to_string());
    let mut pairs = vec![
        ("EMAIL_BACKEND", "smtp"),
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_TLS", tls),
        ("SMTP_TIMEOUT", "10s"),
    ];
    if let Some(ca) = &ca {
        pairs.push(("SMTP_CA_FILE", ca.as_str()));
    }
    pairs.extend_from_slice(extra);
    config(&pairs)
}

fn ca_file(sink: &SmtpSink) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &sink.cert_pem).unwrap();
    file
}

fn credentials() -> SinkOptions {
    SinkOptions {
        credentials: Some(("mailer".into(), "s3cret pass".into())),
        ..SinkOptions::default()
    }
}

const AUTH: [(&str, &str); 2] = [("SMTP_USER", "mailer"), ("SMTP_PASSWORD", "s3cret pass")];

fn assert_delivered(sink: &SmtpSink, tls: bool) {
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.mail_from, "<noreply@plaza.test>");
    assert_eq!(message.rcpt_to, vec!["<zoe@example.com>".to_owned()]);
    assert_eq!(message.user.as_deref(), Some("mailer"));
    assert_eq!(message.tls, tls);
    let parsed = parse_mail(&message.data).unwrap();
    assert_headers(&parsed);
    assert_eq!(unix(&parsed.get_body().unwrap()), TEXT);
}

#[tokio::test]
async fn smtp_delivers_with_auth_plain_over_a_plain_connection() {
    let sink = SmtpSink::start(credentials()).await;
    let mailer = Mailer::from_config(&smtp_config(&sink, "none", &AUTH, None).email).unwrap();

    mailer.send(&email()).await.unwrap();

    assert_delivered(&sink, false);
}

#[tokio::test]
async fn smtp_delivers_over_starttls_with_auth_login() {
    let sink = SmtpSink::start(SinkOptions {
        tls: SinkTls::StartTls,
        mechanisms: "LOGIN",
        ..credentials()
    })
    .await;
    let ca = ca_file(&sink);
    let mailer =
        Mailer::from_config(&smtp_config(&sink, "starttls", &AUTH, Some(ca.path())).email).unwrap();

    mailer.send(&email()).await.unwrap();

    assert_delivered(&sink, true);
}

#[tokio::test]
async fn smtp_delivers_over_implicit_tls() {
    let sink = SmtpSink::start(SinkOptions {
        tls: SinkTls::Implicit,
        ..credentials()
    })
    .await;
    let ca = ca_file(&sink);
    let mailer =
        Mailer::from_config(&smtp_config(&sink, "tls", &AUTH, Some(ca.path())).email).unwrap();

    mailer.send(&email()).await.unwrap();

    assert_delivered(&sink, true);
}

#[tokio::test]
async fn smtp_refuses_an_untrusted_certificate() {
    let sink = SmtpSink::start(SinkOptions {
        tls: SinkTls::StartTls,
        ..credentials()
    })
    .await;
    // Without SMTP_CA_FILE the self-signed certificate is not trusted.
    match Mailer::from_config(&smtp_config(&sink, "starttls", &AUTH, None).email) {
        // A machine without a system trust store fails at start instead.
        Err(err) => assert!(err.to_string().contains("TLS"), "{err}"),
        Ok(mailer) => {
            let err = mailer.send(&email()).await.unwrap_err();
            assert!(!err.is_permanent(), "{err}");
        }
    }
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn smtp_refusals_are_permanent_or_transient_as_the_server_says() {
    let sink = SmtpSink::start(credentials()).await;
    let wrong = [("SMTP_USER", "mailer"), ("SMTP_PASSWORD", "wrong")];
    let mailer = Mailer::from_config(&smtp_config(&sink, "none", &wrong, None).email).unwrap();
    let err = mailer.send(&email()).await.unwrap_err();
    assert!(err.is_permanent(), "535 is permanent: {err}");
    assert!(sink.messages().is_empty());

    let busy = SmtpSink::start(SinkOptions {
        rcpt_reply: Some("451 4.3.0 Try again later"),
        ..SinkOptions::default()
    })
    .await;
    let mailer = Mailer::from_config(&smtp_config(&busy, "none", &[], None).email).unwrap();
    let err = mailer.send(&email()).await.unwrap_err();
    assert!(!err.is_permanent(), "451 is transient: {err}");
    assert!(err.to_string().contains("Try again later"), "{err}");
}

db_test!(async fn queued_mail_is_delivered_by_a_worker_only_once_committed(backend) {
    let app = TestApp::builder(backend)
        .env("EMAIL_FROM", "Plaza <noreply@plaza.test>")
        .build()
        .await;
    app.db()
        .run(|conn| {
            let rolled: Result<(), diesel::result::Error> = db::transaction(conn, |c| {
                mail::queue(c, &Email { to: "ghost@example.com".into(), ..email() })?;
                Err(diesel::result::Error::RollbackTransaction)
            });
            assert!(rolled.is_err());
            db::transaction(conn, |c| mail::queue(c, &email()))?;
            Ok(())
        })
        .await
        .unwrap();
    let queued = app.queued_emails().await;
    assert_eq!(queued, vec![email()]);

    let summary = app.run_jobs(JobRegistry::new()).await;

    assert_eq!(summary.succeeded, 1);
    let files = eml_files(&app.data_dir().join("mail"));
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(&files[0]).unwrap();
    assert_headers(&parse_mail(&raw).unwrap());
});

db_test!(async fn mail_the_server_refuses_for_good_is_dead_at_once(backend) {
    let sink = SmtpSink::start(SinkOptions {
        rcpt_reply: Some("550 5.1.1 No such user"),
        ..SinkOptions::default()
    })
    .await;
    let port = sink.port.to_string();
    let app = TestApp::builder(backend)
        .env("EMAIL_BACKEND", "smtp")
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", &port)
        .env("SMTP_TLS", "none")
        .build()
        .await;
    app.db()
        .run(|conn| Ok(mail::queue(conn, &email())?))
        .await
        .unwrap();

    let summary = app.run_jobs(JobRegistry::new()).await;

    assert_eq!((summary.dead, summary.retried), (1, 0));
});

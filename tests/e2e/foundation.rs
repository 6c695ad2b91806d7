//! The binary on its embedded defaults and on MySQL; the CLI; docs served offline.

use plaza_e2e::{run_plaza, MysqlDb, Plaza};
use serde_json::Value;

#[tokio::test]
async fn serves_health_docs_and_schema_with_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut plaza = Plaza::builder().dir(dir.path()).start().await;

    let health: Value = plaza
        .client
        .get(plaza.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready: Value = plaza
        .client
        .get(plaza.url("/api/v1/core/system/health/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["database"]["kind"], "sqlite");
    assert_eq!(ready["checks"]["cache"]["kind"], "memory");
    assert_eq!(ready["checks"]["bus"]["kind"], "memory");

    // The embedded defaults: SQLite and a private generated secret under ./data.
    assert!(dir.path().join("data/plaza.db").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("data/secret_key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The OpenAPI document.
    let schema: Value = plaza
        .client
        .get(plaza.url("/api/schema/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(schema["openapi"].as_str().unwrap().starts_with("3."));
    assert!(schema["paths"]["/api/v1/core/system/health/"].is_object());
    assert!(schema["components"]["securitySchemes"]["jwt"].is_object());

    // Swagger UI and every asset its page loads come from the binary.
    for base in ["/api/docs/", "/api/schema/swagger-ui/"] {
        let res = plaza.client.get(plaza.url(base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{base}");
        let html = res.text().await.unwrap();
        assert!(html.contains("swagger-ui"), "{base}");
        for asset in [
            "swagger-ui.css",
            "swagger-ui-bundle.js",
            "swagger-ui-standalone-preset.js",
            "swagger-initializer.js",
        ] {
            assert!(html.contains(asset), "{base} loads {asset}");
            let res = plaza
                .client
                .get(plaza.url(&format!("{base}{asset}")))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{base}{asset}");
        }
        let init = plaza
            .client
            .get(plaza.url(&format!("{base}swagger-initializer.js")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(init.contains("/api/schema/"), "the UI loads our schema");
        for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
            assert!(
                !html.contains(external),
                "{base} loads nothing from another host"
            );
        }
    }

    // Every path with or without its slash; unknown paths in the envelope.
    for path in [
        "/health",
        "/health/",
        "/api/schema",
        "/api/v1/core/system/health",
    ] {
        assert_eq!(
            plaza
                .client
                .get(plaza.url(path))
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{path}"
        );
    }
    let res = plaza.client.get(plaza.url("/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "not_found");

    let metrics = plaza
        .client
        .get(plaza.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("plaza_http_requests_total"), "{metrics}");

    // SIGTERM stops it cleanly.
    let status = plaza.stop();
    assert!(status.success(), "exit status {status}");
    assert!(plaza.logs().contains("stopped"));
}

#[tokio::test]
async fn restarts_on_the_same_data_without_migrating_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Plaza::builder().dir(dir.path()).start().await;
    first.stop();
    assert!(first.logs().contains("applied migrations"));
    let second = Plaza::builder().dir(dir.path()).start().await;
    assert!(
        !second.logs().contains("applied migrations"),
        "{}",
        second.logs()
    );
}

#[test]
fn refuses_to_start_in_production_without_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_plaza(dir.path(), &["serve"], &[("DEBUG", "false")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SECRET_KEY: must be set when DEBUG=false"),
        "{stderr}"
    );
}

#[test]
fn reports_every_configuration_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_plaza(
        dir.path(),
        &["serve"],
        &[
            ("BCRYPT_COST", "3"),
            ("JWT_ACCESS_TTL", "soon"),
            ("REDIS_URL", "http://x"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for key in ["BCRYPT_COST", "JWT_ACCESS_TTL", "REDIS_URL"] {
        assert!(stderr.contains(&format!("- {key}:")), "{key} in:\n{stderr}");
    }
}

#[test]
fn migrate_and_createsuperuser() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("DATA_DIR", "./state")];
    let out = run_plaza(dir.path(), &["migrate"], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Applied 20261120000000"), "{stdout}");
    let again = run_plaza(dir.path(), &["migrate"], &env);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "No migrations to apply."
    );

    let args = [
        "createsuperuser",
        "--no-input",
        "--username",
        "root",
        "--email",
        "root@example.com",
    ];
    let weak = run_plaza(
        dir.path(),
        &args,
        &[
            ("DATA_DIR", "./state"),
            ("PLAZA_SUPERUSER_PASSWORD", "12345678"),
        ],
    );
    assert!(!weak.status.success());
    let stderr = String::from_utf8_lossy(&weak.stderr);
    assert!(
        stderr.contains("entirely numeric") && stderr.contains("too common"),
        "{stderr}"
    );

    let env = [
        ("DATA_DIR", "./state"),
        ("PLAZA_SUPERUSER_PASSWORD", "Tr1cky-Horse-77"),
    ];
    let out = run_plaza(dir.path(), &args, &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Superuser created"));
    let dup = run_plaza(
        dir.path(),
        &[
            "createsuperuser",
            "--no-input",
            "--username",
            "ROOT",
            "--email",
            "x@example.com",
        ],
        &env,
    );
    assert!(!dup.status.success());
    assert!(
        String::from_utf8_lossy(&dup.stderr).contains("username"),
        "{}",
        String::from_utf8_lossy(&dup.stderr)
    );

    let missing = run_plaza(dir.path(), &["createsuperuser", "--no-input"], &env);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--username is required"));
}

#[test]
fn openapi_command_prints_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_plaza(dir.path(), &["openapi"], &[]);
    assert!(out.status.success());
    let spec: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(spec["paths"]["/health/"].is_object());
}

#[tokio::test]
async fn serves_from_mysql_creating_the_database() {
    let Some(mysql) = MysqlDb::new() else { return };
    let plaza = Plaza::builder()
        .env("DATABASE_URL", &mysql.url)
        .start()
        .await;
    let ready: Value = plaza
        .client
        .get(plaza.url("/api/v1/core/system/health/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["database"]["kind"], "mysql");
    assert_eq!(ready["checks"]["database"]["ok"], true);
    assert!(plaza.logs().contains("created the MySQL database"));
}

#[tokio::test]
async fn uses_redis_when_configured() {
    let Some(redis) = plaza_e2e::redis_url() else {
        return;
    };
    let plaza = Plaza::builder()
        .env("REDIS_URL", &redis)
        .env("REDIS_KEY_PREFIX", "plaza-e2e:")
        .start()
        .await;
    let ready: Value = plaza
        .client
        .get(plaza.url("/api/v1/core/system/health/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["cache"]["kind"], "redis");
    assert_eq!(ready["checks"]["bus"]["kind"], "redis");
    assert_eq!(ready["status"], "ok");
}

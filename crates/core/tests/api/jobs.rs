//! Staff job endpoints: list with filters and pages, detail, retry of dead jobs; who may.

use actix_web::web;
use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::jobs::{enqueue_raw, Enqueued, JobOptions, JobRegistry};
use plaza_kernel::mail::{self, Email};
use plaza_kernel::schema::{jobs, system_logs};
use plaza_kernel::testing::{TestApp, TestBackend};
use serde_json::Value;

async fn app(backend: TestBackend) -> TestApp {
    TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_core::configure)
        .configure(|cfg| {
            cfg.app_data(web::Data::new(JobRegistry::new()));
        })
        .build()
        .await
}

/// Enqueues a job of `kind` and puts it in `status`; returns its id.
async fn job(app: &TestApp, kind: &'static str, status: &'static str) -> i64 {
    app.db()
        .run(move |conn| {
            let Enqueued::Created(id) =
                enqueue_raw(conn, kind, r#"{"n":1}"#, JobOptions::default())?
            else {
                unreachable!("no unique key")
            };
            let finished = matches!(status, "succeeded" | "dead").then(plaza_kernel::time::now);
            diesel::update(jobs::table.find(id))
                .set((
                    jobs::status.eq(status),
                    jobs::attempts.eq(if status == "queued" { 0 } else { 3 }),
                    jobs::last_error.eq((status == "dead").then_some("boom")),
                    jobs::finished_at.eq(finished),
                ))
                .execute(conn)?;
            Ok(id)
        })
        .await
        .unwrap()
}

db_test!(async fn only_staff_see_jobs(backend) {
    let app = app(backend).await;
    let user = app.create_user("alice").await;
    let id = job(&app, "ping", "dead").await;
    for (method, path) in [
        ("GET", "/api/v1/core/jobs/".to_owned()),
        ("GET", format!("/api/v1/core/jobs/{id}/")),
        ("POST", format!("/api/v1/core/jobs/{id}/retry/")),
    ] {
        let request = |token: Option<&str>| {
            let req = match method {
                "GET" => app.get(&path),
                _ => app.post(&path),
            };
            match token {
                Some(t) => req.bearer_auth(t),
                None => req,
            }
        };
        let res = request(None).send().await.unwrap();
        assert_eq!(res.status(), 401, "{method} {path}");
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "not_authenticated");
        let res = request(Some(&user.access)).send().await.unwrap();
        assert_eq!(res.status(), 403, "{method} {path}");
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "permission_denied");
    }
    // Nothing changed.
    let status: String = app
        .db()
        .run(move |conn| Ok(jobs::table.find(id).select(jobs::status).first(conn)?))
        .await
        .unwrap();
    assert_eq!(status, "dead");
});

db_test!(async fn staff_list_jobs_newest_first_with_filters_and_pages(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let empty: Value = app
        .get("/api/v1/core/jobs/")
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(empty["count"], 0);
    assert_eq!(empty["results"], Value::Array(vec![]));

    let a = job(&app, "ping", "queued").await;
    let b = job(&app, "ping", "dead").await;
    let c = job(&app, "pong", "dead").await;
    let d = job(&app, "pong", "succeeded").await;

    let list = |query: &'static str| {
        let app = &app;
        let token = staff.access.clone();
        async move {
            let res = app
                .get(&format!("/api/v1/core/jobs/{query}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let ids = |body: &Value| -> Vec<i64> {
        body["results"].as_array().unwrap().iter().map(|j| j["id"].as_i64().unwrap()).collect()
    };

    let (status, all) = list("").await;
    assert_eq!(status, 200);
    assert_eq!(all["count"], 4);
    assert_eq!(ids(&all), vec![d, c, b, a]);
    let first = &all["results"][2];
    assert_eq!(first["kind"], "ping");
    assert_eq!(first["status"], "dead");
    assert_eq!(first["attempts"], 3);
    assert_eq!(first["max_attempts"], 5);
    assert_eq!(first["last_error"], "boom");
    assert_eq!(first["payload"]["n"], 1);
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(first["finished_at"].as_str().is_some());

    assert_eq!(ids(&list("?status=dead").await.1), vec![c, b]);
    assert_eq!(ids(&list("?kind=pong").await.1), vec![d, c]);
    assert_eq!(ids(&list("?kind=pong&status=dead").await.1), vec![c]);
    assert_eq!(ids(&list("?kind=nothing").await.1), Vec::<i64>::new());

    let (_, page) = list("?page_size=3").await;
    assert_eq!(ids(&page), vec![d, c, b]);
    assert!(page["next"].as_str().unwrap().ends_with("page_size=3&page=2"), "{page}");
    let (_, page) = list("?page_size=3&page=2").await;
    assert_eq!(ids(&page), vec![a]);
    assert!(page["next"].is_null());
    let (status, past) = list("?page_size=3&page=3").await;
    assert_eq!((status, past["detail"].as_str()), (404, Some("Invalid page.")));

    let (status, bad) = list("?status=exploded").await;
    assert_eq!(status, 400);
    assert_eq!(bad["code"], "validation_error");
    assert!(bad["errors"]["status"][0].as_str().unwrap().contains("queued, running, succeeded, dead"));
    let long = format!("?kind={}", "k".repeat(65));
    let res = app
        .get(&format!("/api/v1/core/jobs/{long}"))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["errors"]["kind"].is_array());
});

db_test!(async fn staff_see_a_job_with_its_secrets_hidden(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let Enqueued::Created(id) = app
        .db()
        .run(|conn| {
            Ok(mail::queue(
                conn,
                &Email {
                    to: "zoe@example.com".into(),
                    subject: "Reset your password".into(),
                    text: "https://plaza.test/reset?token=secret-token".into(),
                    html: Some("<a href=\"https://plaza.test/reset?token=secret-token\">reset</a>".into()),
                },
            )?)
        })
        .await
        .unwrap()
    else {
        unreachable!()
    };

    let res = app
        .get(&format!("/api/v1/core/jobs/{id}/"))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["kind"], "send_email");
    assert_eq!(body["status"], "queued");
    assert_eq!(body["priority"], 10);
    assert_eq!(body["max_attempts"], 10, "mail's own attempt limit");
    assert_eq!(body["payload"]["to"], "zoe@example.com");
    assert_eq!(body["payload"]["subject"], "Reset your password");
    assert!(!body.to_string().contains("secret-token"), "{body}");

    let res = app
        .get("/api/v1/core/jobs/999999/")
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "not_found");
    let res = app
        .delete(&format!("/api/v1/core/jobs/{id}/"))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
});

db_test!(async fn payloads_stay_hidden_without_a_registry(backend) {
    let app = TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_core::configure)
        .build()
        .await;
    let staff = app.create_staff("root").await;
    let id = job(&app, "ping", "queued").await;
    let body: Value = app
        .get(&format!("/api/v1/core/jobs/{id}/"))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["payload"].is_null(), "{body}");
});

db_test!(async fn staff_retry_dead_jobs_only(backend) {
    let app = app(backend).await;
    let staff = app.create_staff("root").await;
    let dead = job(&app, "ping", "dead").await;
    let queued = job(&app, "ping", "queued").await;
    let retry = |id: i64| {
        app.post(&format!("/api/v1/core/jobs/{id}/retry/"))
            .bearer_auth(&staff.access)
            .send()
    };

    let res = retry(dead).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "queued");
    assert_eq!(body["attempts"], 0);
    assert!(body["finished_at"].is_null());
    assert_eq!(body["last_error"], "boom", "the last error stays for reference");

    let res = retry(dead).await.unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "conflict");
    assert!(body["detail"].as_str().unwrap().contains("queued"));
    assert_eq!(retry(queued).await.unwrap().status(), 409);
    assert_eq!(retry(424_242).await.unwrap().status(), 404);
    let res = app
        .get(&format!("/api/v1/core/jobs/{dead}/retry/"))
        .bearer_auth(&staff.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);

    // The retry is in the system log, once.
    let events: Vec<(String, Option<i64>, String)> = app
        .db()
        .run(|conn| {
            Ok(system_logs::table
                .select((system_logs::event, system_logs::user_id, system_logs::data))
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "job_retried");
    assert_eq!(events[0].1, Some(staff.id));
    let data: Value = serde_json::from_str(&events[0].2).unwrap();
    assert_eq!(data["job_id"], dead);
});

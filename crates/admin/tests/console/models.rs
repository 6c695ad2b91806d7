//! Every model every domain registers, through the console's pages.

use plaza_kernel::db_test;
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{full_app, input_value, Browser, ALL_DOMAINS};

db_test!(async fn every_registered_model_lists_and_the_dashboard_draws(backend) {
    let app = full_app(backend).await;
    let staff = app.create_staff("root").await;
    let _alice = app.create_user("alice").await;
    let mut browser = Browser::new(&app);
    browser.sign_in_staff(&staff).await;

    let html = browser.page("/admin/").await;
    // Counted per day in SQL: both accounts joined today, nobody posted.
    assert!(html.contains("Sign-ups per day <span class=\"muted\">2 users</span>"), "{html}");
    for title in ["Sign-ups per day", "Posts per day", "AI tokens per day", "AI cost per day"] {
        assert!(html.contains(title), "{title}");
    }
    assert!(html.contains("Live streams") && html.contains("Dead jobs"));
    let models: Vec<&str> = ALL_DOMAINS
        .iter()
        .flat_map(|d| d.admin.models.iter().map(|m| m.name))
        .collect();
    assert!(models.len() >= 8, "{models:?}");
    for name in models {
        let html = browser.page(&format!("/admin/{name}/")).await;
        assert!(html.contains("in all"), "{name}");
    }
    assert_eq!(browser.get("/admin/nothing/").await.status(), StatusCode::NOT_FOUND);
});

db_test!(async fn worlds_and_groups_are_deleted_through_their_domains(backend) {
    let app = full_app(backend).await;
    let staff = app.create_staff("root").await;
    let owner = app.create_user("alice").await;
    let world: Value = app
        .post("/api/v1/metaverse/worlds/")
        .bearer_auth(&owner.access)
        .json(&json!({"name": "Atlantis"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let world_id = world["id"].as_i64().expect("a world");
    let group: Value = app
        .post("/api/v1/social/groups/")
        .bearer_auth(&owner.access)
        .json(&json!({"name": "Divers"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let group_id = group["id"].as_i64().expect("a group");
    let mut browser = Browser::new(&app);
    browser.sign_in_staff(&staff).await;

    let html = browser.page("/admin/worlds/?q=atl&visibility=public").await;
    assert!(html.contains(">Atlantis<"), "{html}");
    for (model, id, name) in [("worlds", world_id, "Atlantis"), ("groups", group_id, "Divers")] {
        let path = format!("/admin/{model}/{id}/delete/");
        let html = browser.page(&path).await;
        assert!(html.contains(name));
        let csrf = input_value(&html, "csrf").unwrap();
        let res = browser.post(&path, &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{model}");
        assert_eq!(res.headers()[LOCATION], format!("/admin/{model}/?deleted=1"));
        assert_eq!(browser.get(&format!("/admin/{model}/{id}/")).await.status(), StatusCode::NOT_FOUND);
    }
});

db_test!(async fn dead_jobs_are_retried_or_discarded(backend) {
    use diesel::prelude::*;
    use plaza_kernel::jobs::{enqueue_raw, Enqueued, JobOptions};
    use plaza_kernel::schema::jobs;

    let app = crate::support::app(backend).await;
    let staff = app.create_staff("root").await;
    // Two jobs that ran out of attempts, and one still queued.
    let ids: Vec<i64> = app
        .db()
        .run(|conn| {
            let mut ids = Vec::new();
            for _ in 0..3 {
                if let Enqueued::Created(id) =
                    enqueue_raw(conn, "test.flaky", "{}", JobOptions::default())?
                {
                    ids.push(id);
                }
            }
            diesel::update(jobs::table.filter(jobs::id.eq_any(&ids[..2])))
                .set(jobs::status.eq("dead"))
                .execute(conn)?;
            Ok(ids)
        })
        .await
        .unwrap();
    let mut browser = Browser::new(&app);
    browser.sign_in_staff(&staff).await;

    let html = browser.page("/admin/jobs/?status=dead").await;
    assert!(html.contains("2 in all"), "{html}");
    let (first, second) = (ids[0].to_string(), ids[1].to_string());
    let title = |id: &str| format!("Job {id} (test.flaky)");
    let res = browser.act("jobs", "retry", &[&first], &[&title(&first)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = browser.act("jobs", "discard", &[&second], &[&title(&second)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Only dead jobs are discarded: the queued one is refused with the domain's 409.
    let third = ids[2].to_string();
    let res = browser.act("jobs", "discard", &[&third], &[&title(&third)]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    let statuses: Vec<(i64, String)> = app
        .db()
        .run(|conn| Ok(jobs::table.select((jobs::id, jobs::status)).order(jobs::id).load(conn)?))
        .await
        .unwrap();
    assert_eq!(
        statuses,
        vec![(ids[0], "queued".to_owned()), (ids[2], "queued".to_owned())]
    );
});

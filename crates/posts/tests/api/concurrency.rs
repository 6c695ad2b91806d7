//! Counters under concurrency: updated in SQL, they never lose a count.

use diesel::prelude::*;
use futures_util::future::join_all;
use plaza_kernel::db_test;
use plaza_kernel::schema::posts;
use serde_json::{json, Value};

use crate::support::{app, get_json, id, post};

db_test!(async fn fifty_parallel_replies_count_fifty(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(app.create_user(&format!("user{i}")).await);
    }
    let p = post(&app, &alice, "Busy thread", "Reply all at once.", &[]).await;
    let pid = id(&p);

    let requests = (0..50).map(|i| {
        let user = &users[i % users.len()];
        app.post(&format!("/api/v1/posts/{pid}/replies/"))
            .bearer_auth(&user.access)
            .json(&json!({"content": format!("reply {i}")}))
            .send()
    });
    let responses = join_all(requests).await;
    for res in responses {
        let res = res.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }

    let detail = get_json(&app, &format!("/api/v1/posts/{pid}/")).await;
    assert_eq!(detail["reply_count"], 50);
    assert_eq!(detail["replies"].as_array().unwrap().len(), 50);
    let page = get_json(&app, &format!("/api/v1/posts/{pid}/replies/")).await;
    assert_eq!(page["count"], 50);
});

db_test!(async fn parallel_views_and_tagging_stay_exact(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let p = post(&app, &alice, "Watched", "c", &[]).await;
    let path = format!("/api/v1/posts/{}/", id(&p));
    let views = join_all((0..30).map(|_| app.get(&path).send())).await;
    assert!(views.into_iter().all(|r| r.unwrap().status() == 200));
    assert_eq!(get_json(&app, &path).await["view_count"], 31);

    // Twenty posts created at once with the same new tag: one tag, counted twenty times.
    let creates = join_all((0..20).map(|i| {
        app.post("/api/v1/posts/")
            .bearer_auth(&alice.access)
            .json(&json!({"title": format!("p{i}"), "content": "c", "tags": ["并发", "Shared"]}))
            .send()
    }))
    .await;
    for res in creates {
        let res = res.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }
    let tags: Value = get_json(&app, "/api/v1/core/tags/?ordering=name").await;
    assert_eq!(tags["count"], 2, "{tags}");
    for tag in tags["results"].as_array().unwrap() {
        assert_eq!(tag["usage_count"], 20, "{tag}");
    }
});

db_test!(async fn parallel_retagging_and_deleting_keep_usage_exact(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(id(&post(&app, &alice, &format!("p{i}"), "c", &["alpha", "beta"]).await));
    }
    // Half move from alpha to gamma, half are deleted, all at once.
    let requests = ids.iter().enumerate().map(|(i, pid)| {
        let path = format!("/api/v1/posts/{pid}/");
        if i % 2 == 0 {
            app.patch(&path)
                .bearer_auth(&alice.access)
                .json(&json!({"tags": ["gamma", "beta"]}))
                .send()
        } else {
            app.delete(&path).bearer_auth(&alice.access).send()
        }
    });
    for res in join_all(requests).await {
        let res = res.unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
    let tags: Value = get_json(&app, "/api/v1/core/tags/?ordering=name").await;
    let usage: Vec<(String, i64)> = tags["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t["usage_count"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        usage,
        vec![("alpha".to_owned(), 0), ("beta".to_owned(), 6), ("gamma".to_owned(), 6)]
    );
});

db_test!(async fn concurrent_writes_under_cached_reads_keep_counts_search_and_read_your_write(backend) {
    use std::time::Duration;
    // Posts are created through the batcher, as `plaza serve` does.
    let (batcher, worker) = plaza_posts::batch::PostBatcher::new(64);
    let forum = plaza_posts::Forum::new(Duration::from_secs(3600)).with_batcher(batcher);
    let app = plaza_kernel::testing::TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_posts::configure)
        .configure(move |cfg| forum.register(cfg))
        .build()
        .await;
    tokio::spawn(worker.run(app.db().clone()));
    let alice = app.create_user("alice").await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(app.create_user(&format!("user{i}")).await);
    }
    let pid = id(&post(&app, &alice, "Busy thread", "Reply all at once.", &[]).await);
    let detail = format!("/api/v1/posts/{pid}/");

    // Each writer replies (or posts), then reads at once and must see its own write, while
    // readers keep the list and the thread cached.
    let replies = (0..40).map(|i| {
        let (app, user, detail) = (&app, &users[i % users.len()], detail.clone());
        async move {
            let res = app.post(&format!("/api/v1/posts/{pid}/replies/"))
                .bearer_auth(&user.access)
                .json(&json!({"content": format!("reply {i}")}))
                .send().await.unwrap();
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
            let reply_id = id(&res.json::<Value>().await.unwrap());
            let read = get_json(app, &detail).await;
            assert!(
                read["replies"].as_array().unwrap().iter().any(|r| id(r) == reply_id),
                "reply {reply_id} not read back at once"
            );
        }
    });
    let posts = (0..20).map(|i| {
        let (app, user) = (&app, &users[i % users.len()]);
        async move {
            let res = app.post("/api/v1/posts/")
                .bearer_auth(&user.access)
                .json(&json!({"title": format!("crowded {i}"), "content": "zebracorn"}))
                .send().await.unwrap();
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
            let post_id = id(&res.json::<Value>().await.unwrap());
            let page = get_json(app, "/api/v1/posts/?page_size=100").await;
            assert!(
                page["results"].as_array().unwrap().iter().any(|p| id(p) == post_id),
                "post {post_id} not listed at once"
            );
        }
    });
    let readers = (0..40).map(|i| {
        let (app, detail) = (&app, detail.clone());
        async move {
            let path = if i % 2 == 0 { "/api/v1/posts/".to_owned() } else { detail };
            get_json(app, &path).await;
        }
    });
    type Task<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>;
    let mut tasks: Vec<Task<'_>> = Vec::new();
    for task in replies {
        tasks.push(Box::pin(task));
    }
    for task in posts {
        tasks.push(Box::pin(task));
    }
    for task in readers {
        tasks.push(Box::pin(task));
    }
    join_all(tasks).await;

    let read = get_json(&app, &detail).await;
    assert_eq!(read["reply_count"], 40);
    assert_eq!(read["replies"].as_array().unwrap().len(), 40);
    let page = get_json(&app, "/api/v1/posts/?page_size=100").await;
    assert_eq!(page["count"], 21);
    let busy = page["results"].as_array().unwrap().iter().find(|p| id(p) == pid).unwrap();
    assert_eq!(busy["reply_count"], 40);
    let found = get_json(&app, "/api/v1/posts/?search=zebracorn&page_size=100").await;
    assert_eq!(found["count"], 20);
});

db_test!(async fn the_list_total_stays_exact_under_parallel_creates_and_deletes(backend) {
    let app = app(backend).await;
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(app.create_user(&format!("user{i}")).await);
    }
    let mut doomed = Vec::new();
    for i in 0..20 {
        let user = &users[i % users.len()];
        doomed.push((user, id(&post(&app, user, &format!("old {i}"), "c", &[]).await)));
    }

    // Forty creates and the twenty deletes at once, over every slot of the kept total.
    let creates = (0..40).map(|i| {
        let user = &users[i % users.len()];
        app.post("/api/v1/posts/")
            .bearer_auth(&user.access)
            .json(&json!({"title": format!("new {i}"), "content": "c"}))
            .send()
    });
    let deletes = doomed.iter().map(|(user, pid)| {
        app.delete(&format!("/api/v1/posts/{pid}/"))
            .bearer_auth(&user.access)
            .send()
    });
    let (created, deleted) = futures_util::join!(join_all(creates), join_all(deletes));
    assert!(created.into_iter().all(|r| r.unwrap().status() == 201));
    assert!(deleted.into_iter().all(|r| r.unwrap().status() == 204));

    let rows: i64 = app
        .db()
        .run(|conn| Ok(posts::table.count().get_result(conn)?))
        .await
        .unwrap();
    assert_eq!(rows, 40);
    assert_eq!(get_json(&app, "/api/v1/posts/?page_size=1").await["count"], rows);
});

//! Post creates written together (group commit): each request gets its own post and its own
//! error, the counts and the search index stay exact, and a batch shares its statements.

use diesel::prelude::*;
use futures_util::future::join_all;
use plaza_kernel::auth::{Caller, Credential, Role};
use plaza_kernel::db_test;
use plaza_kernel::schema::{posts, users};
use plaza_kernel::testing::{TestApp, TestBackend, TestUser};
use plaza_posts::batch::{BatchWorker, PostBatcher};
use plaza_posts::service::{self, NewPost};
use plaza_posts::types::PostWrite;
use serde_json::{json, Value};

use crate::support::{get_json, id};

/// The forum with a batcher whose worker is not running yet: run it with [`start`].
async fn batched_app(backend: TestBackend) -> (TestApp, PostBatcher, BatchWorker) {
    let (batcher, worker) = PostBatcher::new(64);
    let registered = actix_web::web::Data::new(batcher.clone());
    let app = TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_posts::configure)
        .configure(move |cfg| {
            cfg.app_data(registered.clone());
        })
        .build()
        .await;
    (app, batcher, worker)
}

fn start(app: &TestApp, worker: BatchWorker) {
    tokio::spawn(worker.run(app.db().clone()));
}

/// Takes every connection of the app's pool until the returned senders are dropped, so the
/// batcher's worker waits and the creates sent meanwhile pile up in its queue.
async fn hold_the_pool(app: &TestApp) -> Vec<std::sync::mpsc::Sender<()>> {
    let (held, mut holding) = tokio::sync::mpsc::unbounded_channel();
    let mut releases = Vec::new();
    for _ in 0..8 {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        releases.push(release);
        let (db, held) = (app.db().clone(), held.clone());
        tokio::spawn(async move {
            db.run(move |_| {
                held.send(()).unwrap();
                let _ = wait.recv();
                Ok(())
            })
            .await
            .unwrap();
        });
    }
    for _ in 0..8 {
        holding.recv().await.unwrap();
    }
    releases
}

/// Waits until `n` creates are queued or held by the worker.
async fn until_waiting(batcher: &PostBatcher, n: usize) {
    while batcher.waiting() < n {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

fn create(app: &TestApp, user: &TestUser, i: usize) -> reqwest::RequestBuilder {
    app.post("/api/v1/posts/")
        .bearer_auth(&user.access)
        .json(&json!({"title": format!("  title {i} "), "content": format!("content {i} quokka")}))
}

/// The post `answer` names, read back, is the one request `i` of `user` asked for.
async fn assert_own_post(app: &TestApp, user: &TestUser, i: usize, answer: &Value) {
    assert_eq!(answer["title"], format!("title {i}"), "{answer}");
    assert_eq!(answer["content"], format!("content {i} quokka"), "{answer}");
    assert_eq!(answer["author"]["id"], user.id, "{answer}");
    assert_eq!(
        answer["author"]["username"],
        user.username.as_str(),
        "{answer}"
    );
    assert_eq!(answer["reply_count"], 0);
    assert_eq!(answer["replies"], json!([]));
    let read = get_json(app, &format!("/api/v1/posts/{}/", id(answer))).await;
    for field in ["title", "content", "author", "created_at"] {
        assert_eq!(read[field], answer[field], "post {}: {field}", id(answer));
    }
}

db_test!(async fn parallel_creates_each_get_their_own_post(backend) {
    let (app, batcher, worker) = batched_app(backend).await;
    start(&app, worker);
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(app.create_user(&format!("user{i}")).await);
    }

    let answers = join_all((0..60).map(|i| {
        let (app, user) = (&app, &users[i % users.len()]);
        async move {
            let res = create(app, user, i).send().await.unwrap();
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
            res.json::<Value>().await.unwrap()
        }
    }))
    .await;

    let mut ids: Vec<i64> = answers.iter().map(id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 60, "every create has its own id");
    for (i, answer) in answers.iter().enumerate() {
        assert_own_post(&app, &users[i % users.len()], i, answer).await;
    }
    let page = get_json(&app, "/api/v1/posts/?page_size=1").await;
    assert_eq!(page["count"], 60);
    let found = get_json(&app, "/api/v1/posts/?search=quokka&page_size=1").await;
    assert_eq!(found["count"], 60);
    assert_eq!(batcher.waiting(), 0);
});

db_test!(async fn waiting_creates_share_three_statements_a_batch(backend) {
    let (app, batcher, worker) = batched_app(backend).await;
    start(&app, worker);
    let ann = app.create_user("ann").await;
    let ben = app.create_user("ben").await;
    // A lone create goes at once (and asks the database how it numbers rows).
    let lone = create(&app, &ann, 100).send().await.unwrap();
    assert_eq!(lone.status(), 201);

    let log = app.db().query_log().unwrap().clone();
    let releases = hold_the_pool(&app).await;
    log.start();
    let users = [&ann, &ben];
    let creates = join_all((0..40).map(|i| {
        let (app, user) = (&app, users[i % 2]);
        async move {
            let res = create(app, user, i).send().await.unwrap();
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
            res.json::<Value>().await.unwrap()
        }
    }));
    let (answers, ()) = futures_util::join!(creates, async {
        until_waiting(&batcher, 40).await;
        drop(releases);
    });
    let statements = log.stop();

    // The worker took what was there when it first woke (one batch, stuck on the pool),
    // then all the rest: two batches at most, each the authors, the INSERT and its id.
    let inserts = statements.iter().filter(|sql| sql.starts_with("INSERT")).count();
    let lookups = statements.len() - 2 * inserts;
    assert!((1..=2).contains(&lookups), "{statements:#?}");
    let consecutive = app
        .db()
        .run(|conn| Ok(plaza_kernel::db::multi_row_ids_are_consecutive(conn)?))
        .await
        .unwrap();
    if consecutive {
        assert_eq!(inserts, lookups, "{statements:#?}");
    } else {
        // A server that steps or interleaves ids (MySQL 8's default): one INSERT a post.
        assert_eq!(inserts, 40, "{statements:#?}");
    }
    for (i, answer) in answers.iter().enumerate() {
        assert_own_post(&app, users[i % 2], i, answer).await;
    }
    assert_eq!(get_json(&app, "/api/v1/posts/?page_size=1").await["count"], 41);
});

db_test!(async fn a_failing_row_fails_only_its_own_request(backend) {
    let (app, batcher, worker) = batched_app(backend).await;
    start(&app, worker);
    let ann = app.create_user("ann").await;
    let gone = app.create_user("gone").await;
    // Their token still authenticates; their posts break the foreign key.
    let gone_id = gone.id;
    app.db()
        .run(move |conn| Ok(diesel::delete(users::table.find(gone_id)).execute(conn)?))
        .await
        .unwrap();

    let releases = hold_the_pool(&app).await;
    let creates = join_all((0..12).map(|i| {
        let (app, user) = (&app, if i % 4 == 1 { &gone } else { &ann });
        async move { (i, create(app, user, i).send().await.unwrap()) }
    }));
    let (responses, ()) = futures_util::join!(creates, async {
        until_waiting(&batcher, 12).await;
        drop(releases);
    });

    for (i, res) in responses {
        if i % 4 == 1 {
            assert_eq!(res.status(), 409, "request {i}");
        } else {
            assert_eq!(res.status(), 201, "request {i}");
            assert_own_post(&app, &ann, i, &res.json().await.unwrap()).await;
        }
    }
    let rows: i64 = app
        .db()
        .run(|conn| Ok(posts::table.count().get_result(conn)?))
        .await
        .unwrap();
    assert_eq!(rows, 9);
    assert_eq!(get_json(&app, "/api/v1/posts/?page_size=1").await["count"], 9);
});

fn caller(user: &TestUser) -> Caller {
    Caller {
        id: user.id,
        username: user.username.clone(),
        role: Role::User,
        is_staff: false,
        is_superuser: false,
        credential: Credential::Ticket,
    }
}

db_test!(async fn create_posts_answers_each_row_in_order(backend) {
    let app = crate::support::app(backend).await;
    let ann = app.create_user("ann").await;
    let ben = app.create_user("ben").await;
    let write = |i: usize| PostWrite { title: format!("t{i}"), content: format!("c{i}"), tags: None };
    let mut stranger = caller(&ben);
    stranger.id = ben.id + 1000;
    let posts = vec![
        NewPost::new(&caller(&ann), &write(0)),
        NewPost::new(&caller(&ben), &write(1)),
        NewPost::new(&stranger, &write(2)),
        NewPost::new(&caller(&ann), &write(3)),
    ];
    for consecutive_ids in [true, false] {
        let rows = posts.clone();
        let results = app
            .db()
            .write(move |conn| Ok(service::create_posts(conn, &rows, consecutive_ids)))
            .await
            .unwrap();
        assert_eq!(results.len(), 4);
        for (i, result) in results.iter().enumerate() {
            match result {
                Ok(detail) => {
                    assert_ne!(i, 2, "the stranger's post was written");
                    assert_eq!(detail.post.title, format!("t{i}"));
                    let read = get_json(&app, &format!("/api/v1/posts/{}/", detail.post.id)).await;
                    assert_eq!(read["content"], format!("c{i}"));
                    assert_eq!(read["author"]["id"], posts[i].author_id);
                }
                Err(err) => {
                    assert_eq!(i, 2, "{err}");
                    assert_eq!(err.status(), 409);
                }
            }
        }
    }
    assert_eq!(get_json(&app, "/api/v1/posts/?page_size=1").await["count"], 6);
});

//! Post and reply creates written together (group commit): each request gets its own row and
//! its own error, the counts, the search index and the notices stay exact, and a batch shares
//! its statements.

use diesel::prelude::*;
use futures_util::future::join_all;
use plaza_kernel::auth::{Caller, Credential, Role};
use plaza_kernel::db_test;
use plaza_kernel::schema::{jobs, posts, replies, users};
use plaza_kernel::testing::{TestApp, TestBackend, TestUser};
use plaza_posts::batch::{BatchWorker, Batcher, Creates, PostCreates, ReplyCreates};
use plaza_posts::service::{self, NewPost};
use plaza_posts::types::PostWrite;
use serde_json::{json, Value};

use crate::support::{get_json, id};

/// The forum with a batcher of `C` whose worker is not running yet: run it with [`start`].
async fn batched<C: Creates>(backend: TestBackend) -> (TestApp, Batcher<C>, BatchWorker<C>) {
    let (batcher, worker) = Batcher::<C>::new(64);
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

fn start<C: Creates>(app: &TestApp, worker: BatchWorker<C>) {
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
async fn until_waiting<C: Creates>(batcher: &Batcher<C>, n: usize) {
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
    let (app, batcher, worker) = batched::<PostCreates>(backend).await;
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
    let (app, batcher, worker) = batched::<PostCreates>(backend).await;
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
    let (app, batcher, worker) = batched::<PostCreates>(backend).await;
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

fn answer(app: &TestApp, user: &TestUser, post_id: i64, i: usize) -> reqwest::RequestBuilder {
    app.post(&format!("/api/v1/posts/{post_id}/replies/"))
        .bearer_auth(&user.access)
        .json(&json!({"content": format!("reply {i}")}))
}

/// Creates a post as `user` (not batched: the app has only the reply batcher).
async fn thread(app: &TestApp, user: &TestUser, title: &str) -> i64 {
    let res = app
        .post("/api/v1/posts/")
        .bearer_auth(&user.access)
        .json(&json!({"title": title, "content": "c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    id(&res.json().await.unwrap())
}

/// The reply `answer` names is the one request `i` of `user` asked for, in `post_id`, and the
/// thread shows it as answered.
async fn assert_own_reply(app: &TestApp, user: &TestUser, post_id: i64, i: usize, answer: &Value) {
    assert_eq!(answer["content"], format!("reply {i}"), "{answer}");
    assert_eq!(answer["post_id"], post_id, "{answer}");
    assert_eq!(answer["parent_id"], Value::Null, "{answer}");
    assert_eq!(answer["author"]["id"], user.id, "{answer}");
    assert_eq!(
        answer["author"]["username"],
        user.username.as_str(),
        "{answer}"
    );
    let thread = get_json(app, &format!("/api/v1/posts/{post_id}/")).await;
    let read = thread["replies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| id(r) == id(answer))
        .unwrap_or_else(|| panic!("reply {} not in its thread", id(answer)));
    assert_eq!(read, answer);
}

/// The `forum_reply` notices queued, as (recipient, actor, reply id).
async fn reply_notices(app: &TestApp) -> Vec<(i64, i64, i64)> {
    let payloads: Vec<String> = app
        .db()
        .run(|conn| {
            Ok(jobs::table
                .filter(jobs::kind.eq("notice"))
                .select(jobs::payload)
                .load(conn)?)
        })
        .await
        .unwrap();
    payloads
        .iter()
        .map(|p| serde_json::from_str::<Value>(p).unwrap())
        .filter(|n| n["kind"] == "forum_reply")
        .map(|n| {
            (
                n["recipient"].as_i64().unwrap(),
                n["actor"].as_i64().unwrap(),
                n["data"]["reply_id"].as_i64().unwrap(),
            )
        })
        .collect()
}

db_test!(async fn parallel_replies_each_get_their_own_reply_and_exact_counts(backend) {
    let (app, batcher, worker) = batched::<ReplyCreates>(backend).await;
    start(&app, worker);
    let owner = app.create_user("owner").await;
    let mut users = vec![owner.clone()];
    for i in 0..4 {
        users.push(app.create_user(&format!("user{i}")).await);
    }
    let mut threads = Vec::new();
    for t in 0..3 {
        threads.push(thread(&app, &owner, &format!("thread {t}")).await);
    }
    let mut events = app.services.bus.subscribe(plaza_posts::routes::REPLY_CREATED_TOPIC).await.unwrap();

    let answers = join_all((0..60).map(|i| {
        let (app, user, post_id) = (&app, &users[i % users.len()], threads[i % threads.len()]);
        async move {
            let res = answer(app, user, post_id, i).send().await.unwrap();
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
            res.json::<Value>().await.unwrap()
        }
    }))
    .await;

    let mut ids: Vec<i64> = answers.iter().map(id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 60, "every reply has its own id");
    for (i, answer) in answers.iter().enumerate() {
        assert_own_reply(&app, &users[i % users.len()], threads[i % threads.len()], i, answer).await;
    }
    for post_id in &threads {
        let detail = get_json(&app, &format!("/api/v1/posts/{post_id}/")).await;
        assert_eq!(detail["reply_count"], 20, "post {post_id}");
        assert_eq!(detail["replies"].as_array().unwrap().len(), 20);
    }
    // The owner's own replies (every fifth) tell nobody; every other tells the owner once.
    let mut notices = reply_notices(&app).await;
    notices.sort_unstable_by_key(|n| n.2);
    let mut expected: Vec<(i64, i64, i64)> = answers
        .iter()
        .enumerate()
        .filter(|(i, _)| i % users.len() != 0)
        .map(|(i, a)| (owner.id, users[i % users.len()].id, id(a)))
        .collect();
    expected.sort_unstable_by_key(|n| n.2);
    assert_eq!(notices, expected);
    // Each reply was announced once on the Bus, after its commit.
    let mut announced = Vec::new();
    for _ in 0..60 {
        let event: Value = serde_json::from_slice(&events.recv().await.unwrap()).unwrap();
        assert_eq!(event["post_author_id"], owner.id, "{event}");
        announced.push(event["reply_id"].as_i64().unwrap());
    }
    announced.sort_unstable();
    assert_eq!(announced, ids);
    assert_eq!(batcher.waiting(), 0);
});

db_test!(async fn waiting_replies_share_their_statements_a_batch(backend) {
    let (app, batcher, worker) = batched::<ReplyCreates>(backend).await;
    start(&app, worker);
    let ann = app.create_user("ann").await;
    let ben = app.create_user("ben").await;
    let first = thread(&app, &ann, "first").await;
    let second = thread(&app, &ben, "second").await;
    // A lone reply goes at once (and asks the database how it numbers rows).
    assert_eq!(answer(&app, &ann, first, 100).send().await.unwrap().status(), 201);

    let log = app.db().query_log().unwrap().clone();
    let releases = hold_the_pool(&app).await;
    log.start();
    let users = [&ann, &ben];
    let posts = [first, second, second];
    let replies = join_all((0..40).map(|i| {
        let (app, user, post_id) = (&app, users[i % 2], posts[i % 3]);
        async move {
            let res = answer(app, user, post_id, i).send().await.unwrap();
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
            res.json::<Value>().await.unwrap()
        }
    }));
    let (answers, ()) = futures_util::join!(replies, async {
        until_waiting(&batcher, 40).await;
        drop(releases);
    });
    let statements = log.stop();

    // One or two batches (the one the worker took when it first woke, then the rest), each
    // one transaction: the counts of both posts in one UPDATE, the posts, the authors, the
    // INSERT and its id; then a notice (a job) for each reply to someone else's post.
    let count = |prefix: &str| statements.iter().filter(|sql| sql.starts_with(prefix)).count();
    let batches = count("UPDATE posts SET reply_count");
    assert!((1..=2).contains(&batches), "{statements:#?}");
    let consecutive = app
        .db()
        .run(|conn| Ok(plaza_kernel::db::multi_row_ids_are_consecutive(conn)?))
        .await
        .unwrap();
    let inserts = count("INSERT INTO replies");
    let notices = (0..40)
        .filter(|i| (users[i % 2].id == ann.id) != (posts[i % 3] == first))
        .count();
    assert_eq!(reply_notices(&app).await.len(), notices);
    if consecutive {
        assert_eq!(inserts, batches, "{statements:#?}");
        // BEGIN, the counts, the posts, the authors, the INSERT, its id, COMMIT; and the
        // batch's notices in one INSERT of jobs.
        let jobs = statements
            .iter()
            .filter(|sql| sql.starts_with("INSERT") && sql.contains("jobs"))
            .count();
        assert!((1..=batches).contains(&jobs), "{statements:#?}");
        assert_eq!(statements.len(), 7 * batches + jobs, "{statements:#?}");
    } else {
        // A server that steps or interleaves ids (MySQL 8's default): one INSERT a reply.
        assert_eq!(inserts, 40, "{statements:#?}");
    }
    for (i, answer) in answers.iter().enumerate() {
        assert_own_reply(&app, users[i % 2], posts[i % 3], i, answer).await;
    }
    let first_count = 1 + (0..40).filter(|i| i % 3 == 0).count();
    assert_eq!(get_json(&app, &format!("/api/v1/posts/{first}/")).await["reply_count"], first_count);
    assert_eq!(get_json(&app, &format!("/api/v1/posts/{second}/")).await["reply_count"], 41 - first_count);
});

db_test!(async fn a_reply_to_a_deleted_post_fails_alone(backend) {
    let (app, batcher, worker) = batched::<ReplyCreates>(backend).await;
    start(&app, worker);
    let ann = app.create_user("ann").await;
    let gone = app.create_user("gone").await;
    let kept = thread(&app, &ann, "kept").await;
    let deleted = thread(&app, &ann, "deleted").await;
    let res = app.delete(&format!("/api/v1/posts/{deleted}/")).bearer_auth(&ann.access).send().await.unwrap();
    assert_eq!(res.status(), 204);
    // Their token still authenticates; their replies break the foreign key.
    let gone_id = gone.id;
    app.db()
        .run(move |conn| Ok(diesel::delete(users::table.find(gone_id)).execute(conn)?))
        .await
        .unwrap();

    // First a batch where only the replies to the deleted post fail (the batch's own
    // transaction), then one where a reply breaks the foreign key too (row by row).
    for with_gone in [false, true] {
        let releases = hold_the_pool(&app).await;
        let replies = join_all((0..12).map(|i| {
            let (app, user) = (&app, if with_gone && i == 6 { &gone } else { &ann });
            let post_id = if i % 4 == 1 { deleted } else { kept };
            async move { (i, answer(app, user, post_id, i).send().await.unwrap()) }
        }));
        let (responses, ()) = futures_util::join!(replies, async {
            until_waiting(&batcher, 12).await;
            drop(releases);
        });
        for (i, res) in responses {
            if i % 4 == 1 {
                assert_eq!(res.status(), 404, "request {i}");
            } else if with_gone && i == 6 {
                assert_eq!(res.status(), 409, "request {i}");
            } else {
                assert_eq!(res.status(), 201, "request {i}");
                assert_own_reply(&app, &ann, kept, i, &res.json().await.unwrap()).await;
            }
        }
    }
    let rows: i64 = app
        .db()
        .run(|conn| Ok(replies::table.count().get_result(conn)?))
        .await
        .unwrap();
    assert_eq!(rows, 17);
    assert_eq!(get_json(&app, &format!("/api/v1/posts/{kept}/")).await["reply_count"], 17);
    // The post's author answering their own post: nobody is told.
    assert!(reply_notices(&app).await.is_empty());
});

//! The list and the detail run a fixed number of queries whatever the page size: counted
//! through the test pool's query log.

use plaza_kernel::auth::{Caller, Credential, Role};
use plaza_kernel::db_test;
use plaza_kernel::testing::{TestApp, TestUser};
use plaza_posts::service::NewPost;
use plaza_posts::types::{PostWrite, ReplyWrite};

use crate::support::{app, get_json};

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

/// `posts` posts spread over the authors, each with two tags of five, each with `replies`
/// replies; returns the last post's id.
async fn seed(app: &TestApp, authors: &[TestUser], posts: usize, replies: usize) -> i64 {
    let callers: Vec<Caller> = authors.iter().map(caller).collect();
    app.db()
        .transaction(move |conn| {
            let mut last = 0;
            for i in 0..posts {
                let author = &callers[i % callers.len()];
                let post = plaza_posts::service::create_post(
                    conn,
                    author,
                    &PostWrite {
                        title: format!("post {i}"),
                        content: format!("content of post {i}"),
                        tags: Some(vec![format!("tag{}", i % 5), format!("tag{}", (i + 1) % 5)]),
                    },
                )?;
                last = post.post.id;
                for j in 0..replies {
                    let replier = &callers[(i + j + 1) % callers.len()];
                    plaza_posts::service::create_reply(
                        conn,
                        replier,
                        last,
                        &ReplyWrite {
                            content: format!("reply {j}"),
                            parent_id: None,
                        },
                    )?;
                }
            }
            Ok(last)
        })
        .await
        .unwrap()
}

/// The statements `path` runs.
async fn statements(app: &TestApp, path: &str) -> Vec<String> {
    let log = app
        .db()
        .query_log()
        .expect("test pools log queries")
        .clone();
    log.start();
    get_json(app, path).await;
    log.stop()
}

db_test!(async fn the_list_runs_the_same_queries_for_1_and_100_posts(backend) {
    let app = app(backend).await;
    let mut authors = Vec::new();
    for name in ["ann", "ben", "cat", "dan", "eve", "fay", "gus"] {
        authors.push(app.create_user(name).await);
    }
    seed(&app, &authors, 120, 0).await;

    for filter in ["", "&search=post", "&tag=tag1", &format!("&author={}", authors[0].id), "&ordering=-reply_count"] {
        let one = statements(&app, &format!("/api/v1/posts/?page_size=1{filter}")).await;
        let hundred = statements(&app, &format!("/api/v1/posts/?page_size=100{filter}")).await;
        assert_eq!(one.len(), hundred.len(), "{filter}:\n{one:#?}\n{hundred:#?}");
        // Count (the kept total when unfiltered), the page with its tag links, authors, tags
        // (+ the tag lookup for ?tag=); no connection check on checkout.
        let expected = if filter.starts_with("&tag") { 5 } else { 4 };
        assert_eq!(hundred.len(), expected, "{filter}: {hundred:#?}");
        let scans_posts = hundred.iter().filter(|sql| sql.contains("COUNT(")).count();
        assert_eq!(scans_posts, usize::from(!filter.is_empty() && !filter.contains("ordering")), "{filter}: {hundred:#?}");
    }
    let page = get_json(&app, "/api/v1/posts/?page_size=100").await;
    assert_eq!(page["results"].as_array().unwrap().len(), 100);
    assert!(page["results"].as_array().unwrap().iter().all(|p| p["tags"].as_array().unwrap().len() == 2 && p["author"]["username"].is_string()));
});

db_test!(async fn the_detail_runs_the_same_queries_for_1_and_50_replies(backend) {
    let app = app(backend).await;
    let mut authors = Vec::new();
    for name in ["ann", "ben", "cat", "dan"] {
        authors.push(app.create_user(name).await);
    }
    let few = seed(&app, &authors, 1, 1).await;
    let many = seed(&app, &authors, 1, 50).await;

    let one = statements(&app, &format!("/api/v1/posts/{few}/")).await;
    let fifty = statements(&app, &format!("/api/v1/posts/{many}/")).await;
    assert_eq!(one.len(), fifty.len(), "{one:#?}\n{fifty:#?}");
    // View count, post with its tag links, replies, authors, tags (this app has no buffered
    // view counter: each view is an UPDATE).
    assert_eq!(fifty.len(), 5, "{fifty:#?}");
    let detail = get_json(&app, &format!("/api/v1/posts/{many}/")).await;
    assert_eq!(detail["replies"].as_array().unwrap().len(), 50);

    let one = statements(&app, &format!("/api/v1/posts/{few}/replies/?page_size=1")).await;
    let fifty = statements(&app, &format!("/api/v1/posts/{many}/replies/?page_size=50")).await;
    assert_eq!(one.len(), fifty.len(), "{one:#?}\n{fifty:#?}");
});

db_test!(async fn the_forums_reads_and_creates_stay_prepared_on_mysql(backend) {
    use diesel::prelude::*;
    use plaza_kernel::db::DbConn;
    use plaza_kernel::schema::users;

    let mysql = !matches!(backend, plaza_kernel::testing::TestBackend::Sqlite);
    let app = app(backend).await;
    let ann = app.create_user("ann").await;
    let ben = app.create_user("ben").await;
    let (ann_id, ben_id) = (ann.id, ben.id);
    let who = caller(&ann);
    let prepared = app
        .db()
        .run(move |conn| {
            // One connection: its statement cache and MySQL's count of prepares are its own.
            let prepares = |conn: &mut DbConn| -> i64 {
                match conn {
                    DbConn::Mysql(c) => diesel::sql_query("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'")
                        .load::<Status>(c)
                        .unwrap()[0]
                        .value
                        .parse()
                        .unwrap(),
                    DbConn::Sqlite(_) => 0,
                }
            };
            let ids = |conn: &mut DbConn, list: &[i64]| -> Vec<i64> {
                users::table
                    .filter(plaza_kernel::db::ids_in(users::id, list))
                    .select(users::id)
                    .order(users::id)
                    .load(conn)
                    .unwrap()
            };
            let write = |i: usize| PostWrite { title: format!("t{i}"), content: "c".into(), tags: None };
            // Warm: the first of each statement is prepared.
            assert_eq!(ids(conn, &[ben_id, ann_id, ann_id, ann_id + 5000, ann_id + 5001]), [ann_id, ben_id]);
            assert!(ids(conn, &[]).is_empty());
            let first = plaza_posts::service::create_post(conn, &who, &write(0))?;
            plaza_posts::service::get_post(conn, first.post.id, false)?;
            // A batch of three posts (the group commit of creates), in one INSERT.
            let three: Vec<NewPost> = (0..3).map(|i| NewPost::new(&who, &write(10 + i))).collect();
            let consecutive = plaza_kernel::db::multi_row_ids_are_consecutive(conn)?;
            let batched = plaza_posts::service::create_posts(conn, &three, consecutive);
            assert!(batched.iter().all(Result::is_ok), "{batched:?}");
            let before = prepares(conn);
            // Lists of 3 and 4 distinct ids are one size (4), duplicates and order
            // notwithstanding.
            assert_eq!(ids(conn, &[ann_id, ben_id, ann_id + 1000]), [ann_id, ben_id]);
            assert!(ids(conn, &[]).is_empty());
            for i in 1..4 {
                let created = plaza_posts::service::create_post(conn, &who, &write(i))?;
                plaza_posts::service::get_post(conn, created.post.id, false)?;
                let batched = plaza_posts::service::create_posts(conn, &three, consecutive);
                assert!(batched.iter().all(Result::is_ok), "{batched:?}");
            }
            Ok(prepares(conn) - before)
        })
        .await
        .unwrap();
    // Nothing was prepared again but the second `SHOW SESSION STATUS` (diesel prepares a
    // `sql_query` each time).
    assert_eq!(prepared, if mysql { 1 } else { 0 });
});

#[derive(diesel::QueryableByName)]
struct Status {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = Value)]
    value: String,
}

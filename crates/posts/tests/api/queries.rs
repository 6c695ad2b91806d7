//! The list and the detail run a fixed number of queries whatever the page size: counted
//! through the test pool's query log.

use plaza_kernel::auth::{Caller, Credential, Role};
use plaza_kernel::db_test;
use plaza_kernel::testing::{TestApp, TestUser};
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
        // Count, page, authors, tag links, tags (+ the tag lookup for ?tag=); no connection
        // check on checkout.
        let expected = if filter.starts_with("&tag") { 6 } else { 5 };
        assert_eq!(hundred.len(), expected, "{filter}: {hundred:#?}");
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
    // View count, post, replies, authors, tag links, tags (this app has no buffered view
    // counter: each view is an UPDATE).
    assert_eq!(fifty.len(), 6, "{fifty:#?}");
    let detail = get_json(&app, &format!("/api/v1/posts/{many}/")).await;
    assert_eq!(detail["replies"].as_array().unwrap().len(), 50);

    let one = statements(&app, &format!("/api/v1/posts/{few}/replies/?page_size=1")).await;
    let fifty = statements(&app, &format!("/api/v1/posts/{many}/replies/?page_size=50")).await;
    assert_eq!(one.len(), fifty.len(), "{one:#?}\n{fifty:#?}");
});

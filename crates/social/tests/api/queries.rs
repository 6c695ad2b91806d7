//! The timeline and the conversations list run a fixed number of queries whatever the page
//! size: counted through the test pool's query log.

use plaza_kernel::auth::{Caller, Credential, Role};
use plaza_kernel::db_test;
use plaza_kernel::testing::{TestApp, TestUser};
use plaza_social::types::{FeedPostWrite, FriendRequestWrite, MessageWrite, Visibility};
use plaza_social::{feed, graph, messages};

use crate::support::{app, get};

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

/// Every other user befriends `reader`, writes them a message and publishes two posts
/// (public and friends-only); half of them are also followed.
async fn seed(app: &TestApp, reader: &TestUser, others: &[TestUser]) {
    let reader = caller(reader);
    let others: Vec<Caller> = others.iter().map(caller).collect();
    app.db()
        .transaction(move |conn| {
            for (i, other) in others.iter().enumerate() {
                let sent = graph::send_request(
                    conn,
                    other,
                    &FriendRequestWrite {
                        to_user_id: reader.id,
                        message: None,
                    },
                )?;
                let graph::Sent::Created(request, _) = sent else {
                    panic!("a new request")
                };
                graph::accept(conn, reader.id, request.id)?;
                if i % 2 == 0 {
                    graph::follow(conn, reader.id, other.id)?;
                }
                messages::send(
                    conn,
                    other,
                    &MessageWrite {
                        recipient_id: reader.id,
                        content: format!("hi {i}"),
                    },
                )?;
                for visibility in [Visibility::Public, Visibility::Friends] {
                    feed::create(
                        conn,
                        other,
                        &FeedPostWrite {
                            content: format!("post of {}", other.username),
                            visibility: Some(visibility),
                            group_id: None,
                            attachment_ids: None,
                        },
                    )?;
                }
            }
            Ok(())
        })
        .await
        .unwrap();
}

async fn statements(
    app: &TestApp,
    user: &TestUser,
    path: &str,
) -> (Vec<String>, serde_json::Value) {
    let log = app
        .db()
        .query_log()
        .expect("test pools log queries")
        .clone();
    log.start();
    let body = get(app, path, user).await;
    // A connection the pool (re)opened or checked answers `SELECT 1` first: not the list's.
    let statements = log
        .stop()
        .into_iter()
        .filter(|s| !s.starts_with("SELECT 1 "))
        .collect();
    (statements, body)
}

db_test!(async fn timeline_and_conversations_run_the_same_queries_for_1_and_100(backend) {
    let app = app(backend).await;
    let reader = app.create_user("reader").await;
    let mut others = Vec::new();
    for i in 0..101 {
        others.push(app.create_user(&format!("user{i}")).await);
    }
    seed(&app, &reader, &others).await;

    for path in ["/posts/?scope=timeline", "/posts/?scope=public", "/messages/", "/notifications/"] {
        let (one, page_one) = statements(&app, &reader, &format!("{path}&page_size=1").replace("/&", "/?")).await;
        let (hundred, page_hundred) = statements(&app, &reader, &format!("{path}&page_size=100").replace("/&", "/?")).await;
        assert_eq!(page_one["results"].as_array().unwrap().len(), 1, "{path}");
        assert_eq!(page_hundred["results"].as_array().unwrap().len(), 100, "{path}");
        assert_eq!(one.len(), hundred.len(), "{path}:\n{one:#?}\n{hundred:#?}");
        // The page, then one batch per kind of related row: for posts only their authors
        // (whether the reader likes each is a column of the page).
        let most = if path.starts_with("/posts/") { 2 } else { 3 };
        assert!(hundred.len() <= most, "{path}: {hundred:#?}");
        // A deep page costs the same.
        let cursor = page_hundred["next_cursor"].as_str().unwrap().to_owned();
        let (deep, _) = statements(&app, &reader, &format!("{path}&page_size=100&cursor={cursor}").replace("/&", "/?")).await;
        assert_eq!(deep.len(), hundred.len(), "{path}");
    }
    let (_, timeline) = statements(&app, &reader, "/posts/?page_size=100").await;
    assert!(timeline["results"].as_array().unwrap().iter().all(|p| p["author"]["username"].as_str().unwrap().starts_with("user")));
});

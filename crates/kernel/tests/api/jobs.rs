//! Enqueueing: inside the caller's transaction, de-duplicated by unique key.

use diesel::prelude::*;
use plaza_kernel::db::{self, DbConn};
use plaza_kernel::jobs::{enqueue, Enqueued, Job, JobOptions};
use plaza_kernel::schema::jobs;
use plaza_kernel::testing::{TestBackend, TestDb};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Ping {
    n: u32,
}

impl Job for Ping {
    const KIND: &'static str = "ping";
}

fn count(conn: &mut DbConn) -> i64 {
    jobs::table.count().get_result(conn).unwrap()
}

fn enqueue_semantics(backend: &TestBackend) {
    let test_db = TestDb::create(backend);
    let mut conn = test_db.db.get().unwrap();

    let first = enqueue(
        &mut conn,
        &Ping { n: 1 },
        JobOptions::default().unique("ping:1"),
    )
    .unwrap();
    assert!(matches!(first, Enqueued::Created(id) if id > 0));
    let again = enqueue(
        &mut conn,
        &Ping { n: 1 },
        JobOptions::default().unique("ping:1"),
    )
    .unwrap();
    assert_eq!(again, Enqueued::Duplicate);
    enqueue(&mut conn, &Ping { n: 2 }, JobOptions::default()).unwrap();
    enqueue(&mut conn, &Ping { n: 3 }, JobOptions::default()).unwrap();
    assert_eq!(count(&mut conn), 3, "NULL keys never collide");

    // A transaction that rolls back takes its job with it; a duplicate inside a transaction
    // does not spoil it.
    let rolled: Result<(), diesel::result::Error> = db::transaction(&mut conn, |c| {
        enqueue(c, &Ping { n: 4 }, JobOptions::default())?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(rolled.is_err());
    assert_eq!(count(&mut conn), 3);
    db::transaction(&mut conn, |c| {
        assert_eq!(
            enqueue(c, &Ping { n: 1 }, JobOptions::default().unique("ping:1"))?,
            Enqueued::Duplicate
        );
        enqueue(c, &Ping { n: 5 }, JobOptions::default())?;
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
    assert_eq!(count(&mut conn), 4);

    let (kind, payload, status): (String, String, String) = jobs::table
        .select((jobs::kind, jobs::payload, jobs::status))
        .order(jobs::id.asc())
        .first(&mut *conn)
        .unwrap();
    assert_eq!(
        (kind.as_str(), payload.as_str(), status.as_str()),
        ("ping", r#"{"n":1}"#, "queued")
    );
}

#[test]
fn sqlite_enqueue_semantics() {
    enqueue_semantics(&TestBackend::Sqlite);
}

#[test]
fn mysql_enqueue_semantics() {
    if let Some(b) = TestBackend::mysql() {
        enqueue_semantics(&b);
    }
}

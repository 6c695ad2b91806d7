//! Enqueueing: inside the caller's transaction, de-duplicated by unique key; several at once.

use diesel::prelude::*;
use plaza_kernel::db::{self, DbConn};
use plaza_kernel::jobs::{enqueue, enqueue_all, Enqueued, Job, JobOptions};
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

/// Several jobs at once: one row each, as `enqueue` with the default options writes it, in
/// order, across more rows than one statement holds; and rolled back with the transaction.
fn enqueue_all_semantics(backend: &TestBackend) {
    let test_db = TestDb::create(backend);
    let mut conn = test_db.db.get().unwrap();
    enqueue(&mut conn, &Ping { n: 0 }, JobOptions::default()).unwrap();
    let pings: Vec<Ping> = (1..=70).map(|n| Ping { n }).collect();

    assert_eq!(enqueue_all(&mut conn, &pings).unwrap(), 70);
    assert_eq!(enqueue_all(&mut conn, &Vec::<Ping>::new()).unwrap(), 0);

    type Row = (
        String,
        String,
        String,
        i32,
        Option<i32>,
        Option<String>,
        i32,
    );
    let rows: Vec<Row> = jobs::table
        .select((
            jobs::kind,
            jobs::payload,
            jobs::status,
            jobs::priority,
            jobs::max_attempts,
            jobs::unique_key,
            jobs::attempts,
        ))
        .order(jobs::id.asc())
        .load(&mut *conn)
        .unwrap();
    assert_eq!(rows.len(), 71);
    for (n, row) in rows.iter().enumerate() {
        let expected = (
            "ping".to_owned(),
            format!(r#"{{"n":{n}}}"#),
            "queued".to_owned(),
            0,
            None,
            None,
            0,
        );
        assert_eq!(row, &expected);
    }
    let rolled: Result<(), diesel::result::Error> = db::transaction(&mut conn, |c| {
        enqueue_all(c, &pings[..2])?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(rolled.is_err());
    assert_eq!(count(&mut conn), 71);
}

#[test]
fn sqlite_enqueue_all_semantics() {
    enqueue_all_semantics(&TestBackend::Sqlite);
}

#[test]
fn mysql_enqueue_all_semantics() {
    if let Some(b) = TestBackend::mysql() {
        enqueue_all_semantics(&b);
    }
}

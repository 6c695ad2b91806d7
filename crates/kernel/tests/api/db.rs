use diesel::prelude::*;
use plaza_kernel::db::{self, run_migrations};
use plaza_kernel::schema::users;
use plaza_kernel::testing::{TestBackend, TestDb};

fn migrations_apply_once(backend: &TestBackend) {
    let test_db = TestDb::create_unmigrated(backend);
    let mut conn = test_db.db.get().unwrap();
    let first = run_migrations(&mut conn).unwrap();
    assert_eq!(
        first,
        db::embedded_versions(),
        "every migration applied, in order"
    );
    let second = run_migrations(&mut conn).unwrap();
    assert!(second.is_empty(), "a second run applies nothing");
    assert!(db::pending_migrations(&mut conn).unwrap().is_empty());
}

fn ahead_database_is_refused(backend: &TestBackend) {
    let test_db = TestDb::create(backend);
    let mut conn = test_db.db.get().unwrap();
    diesel::sql_query("INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000000')")
        .execute(&mut *conn)
        .unwrap();
    let err = run_migrations(&mut conn).unwrap_err().to_string();
    assert!(
        err.contains("29991231000000") && err.contains("newer"),
        "{err}"
    );
}

fn inserted_ids_and_transactions(backend: &TestBackend) {
    let test_db = TestDb::create(backend);
    let mut conn = test_db.db.get().unwrap();
    let insert = |conn: &mut plaza_kernel::DbConn, name: &str| -> QueryResult<i64> {
        let now = plaza_kernel::time::now();
        diesel::insert_into(users::table)
            .values((
                users::username.eq(name),
                users::username_key.eq(name.to_lowercase()),
                users::email.eq(format!("{name}@example.com")),
                users::email_key.eq(format!("{name}@example.com").to_lowercase()),
                users::password.eq("!"),
                users::bio.eq(""),
                users::privacy_settings.eq("{}"),
                users::date_joined.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        db::last_insert_id(conn)
    };
    let a = insert(&mut conn, "first").unwrap();
    let b = insert(&mut conn, "second").unwrap();
    assert!(b > a && a > 0);

    // A failing transaction leaves nothing behind; a nested one is a savepoint.
    let result: Result<(), diesel::result::Error> = db::transaction(&mut conn, |c| {
        insert(c, "rolled_back")?;
        let inner: Result<(), diesel::result::Error> = db::transaction(c, |c| {
            insert(c, "inner")?;
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(inner.is_err());
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(result.is_err());
    let names: Vec<String> = users::table
        .select(users::username)
        .order(users::id)
        .load(&mut *conn)
        .unwrap();
    assert_eq!(names, vec!["first", "second"]);

    // Usernames are unique case-insensitively on both backends.
    let err = insert(&mut conn, "FIRST").unwrap_err();
    assert!(db::is_unique_violation(&err), "{err:?}");
    insert(&mut conn, "Ölaf").unwrap();
    let err = insert(&mut conn, "ÖLAF").unwrap_err();
    assert!(db::is_unique_violation(&err), "beyond ASCII too: {err:?}");
    // …but accents are not folded: a different name on both backends.
    insert(&mut conn, "olaf").unwrap();
}

fn times_round_trip(backend: &TestBackend) {
    let test_db = TestDb::create(backend);
    let mut conn = test_db.db.get().unwrap();
    let now = plaza_kernel::time::now();
    diesel::insert_into(users::table)
        .values((
            users::username.eq("clock"),
            users::username_key.eq("clock"),
            users::email.eq("clock@example.com"),
            users::email_key.eq("clock@example.com"),
            users::password.eq("!"),
            users::bio.eq(""),
            users::privacy_settings.eq("{}"),
            users::date_joined.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(&mut *conn)
        .unwrap();
    let stored: chrono::NaiveDateTime = users::table
        .select(users::date_joined)
        .first(&mut *conn)
        .unwrap();
    assert_eq!(stored, now, "microseconds survive the round trip");
}

fn query_log_records_only_while_started(backend: &TestBackend) {
    let test_db = TestDb::create(backend);
    let log = test_db
        .db
        .query_log()
        .expect("test pools carry a query log")
        .clone();
    let mut conn = test_db.db.get().unwrap();
    let count =
        |conn: &mut plaza_kernel::DbConn| -> i64 { users::table.count().get_result(conn).unwrap() };

    count(&mut conn);
    assert!(log.is_empty(), "nothing is recorded before start");

    log.start();
    count(&mut conn);
    db::transaction(&mut conn, |c| -> QueryResult<()> {
        count(c);
        Ok(())
    })
    .unwrap();
    // A connection opened after start records too.
    let mut other = test_db.db.get().unwrap();
    count(&mut other);
    let statements = log.stop();

    let selects = statements
        .iter()
        .filter(|s| s.contains("SELECT COUNT(*)"))
        .count();
    assert_eq!(selects, 3, "{statements:#?}");
    assert!(
        statements
            .iter()
            .any(|s| s.to_uppercase().contains("BEGIN")),
        "transactions are visible: {statements:#?}"
    );
    count(&mut conn);
    assert!(log.is_empty(), "stop ends recording");
}

#[test]
fn sqlite_query_log_records_only_while_started() {
    query_log_records_only_while_started(&TestBackend::Sqlite);
}

#[test]
fn mysql_query_log_records_only_while_started() {
    if let Some(b) = TestBackend::mysql() {
        query_log_records_only_while_started(&b);
    }
}

#[test]
fn sqlite_migrations_apply_once() {
    migrations_apply_once(&TestBackend::Sqlite);
}

#[test]
fn mysql_migrations_apply_once() {
    if let Some(b) = TestBackend::mysql() {
        migrations_apply_once(&b);
    }
}

#[test]
fn sqlite_ahead_database_is_refused() {
    ahead_database_is_refused(&TestBackend::Sqlite);
}

#[test]
fn mysql_ahead_database_is_refused() {
    if let Some(b) = TestBackend::mysql() {
        ahead_database_is_refused(&b);
    }
}

#[test]
fn sqlite_inserted_ids_and_transactions() {
    inserted_ids_and_transactions(&TestBackend::Sqlite);
}

#[test]
fn mysql_inserted_ids_and_transactions() {
    if let Some(b) = TestBackend::mysql() {
        inserted_ids_and_transactions(&b);
    }
}

#[test]
fn sqlite_times_round_trip() {
    times_round_trip(&TestBackend::Sqlite);
}

#[test]
fn mysql_times_round_trip() {
    if let Some(b) = TestBackend::mysql() {
        times_round_trip(&b);
    }
}

#[test]
fn unreachable_database_reports_the_real_error() {
    let err =
        plaza_kernel::Db::connect("mysql://nobody:wrong@127.0.0.1:1/none", Default::default())
            .unwrap_err()
            .to_string();
    assert!(err.contains("cannot connect"), "{err}");
    assert!(
        !err.contains("multiconnection"),
        "the real cause is shown: {err}"
    );
}

fn statements_are_counted_for_metrics(backend: &TestBackend) {
    let test_db = TestDb::create(backend);
    let counter = test_db.db.statement_counter();
    let metrics = plaza_kernel::metrics::Metrics::with_db_statements(counter.clone());
    // Counted after the checkout: a connection idle for more than two seconds (a slow
    // machine can take that long between the pool's connect and this line) is pinged first.
    let mut conn = test_db.db.get().unwrap();
    let before = counter.get();
    for _ in 0..3 {
        users::table.count().get_result::<i64>(&mut *conn).unwrap();
    }
    assert_eq!(counter.get() - before, 3, "one per statement");
    let text = metrics.encode();
    let line = text
        .lines()
        .find(|l| l.starts_with("plaza_db_statements_total "))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(line, format!("plaza_db_statements_total {}", counter.get()));
}

#[test]
fn sqlite_statements_are_counted_for_metrics() {
    statements_are_counted_for_metrics(&TestBackend::Sqlite);
}

#[test]
fn mysql_statements_are_counted_for_metrics() {
    if let Some(b) = TestBackend::mysql() {
        statements_are_counted_for_metrics(&b);
    }
}

/// The bundled SQLite is built with the query-planner stability guarantee
/// (`.cargo/config.toml`): without it every statement with `LIMIT ?` is planned again each
/// time it runs, because SQLite 3.50 specialises the plan for the bound limit.
#[test]
fn sqlite_is_built_with_the_planner_stability_guarantee() {
    #[derive(QueryableByName)]
    struct Used {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        used: i32,
    }
    let test_db = TestDb::create(&TestBackend::Sqlite);
    let mut conn = test_db.db.get().unwrap();
    let row: Used = diesel::sql_query("SELECT sqlite_compileoption_used('ENABLE_QPSG') AS used")
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(
        row.used, 1,
        "build with LIBSQLITE3_FLAGS=-DSQLITE_ENABLE_QPSG"
    );
}

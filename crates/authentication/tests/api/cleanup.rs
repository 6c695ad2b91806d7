//! The periodic cleanup of expired authentication rows.

use diesel::prelude::*;
use plaza_authentication::cleanup::{cleanup_expired, CleanupReport};
use plaza_kernel::db_test;
use plaza_kernel::schema::{account_tokens, auth_sessions, login_attempts, refresh_tokens};
use serde_json::json;

use crate::support::{app, call, login, register};

db_test!(async fn cleanup_deletes_only_what_expired(backend) {
    let app = app(backend).await;
    let live = register(&app, "alice").await;
    register(&app, "bob").await;
    login(&app, "ghost", "Wrong-Password-1").await;

    // Age bob's session, its tokens, both mail tokens and the failed attempt.
    app.db()
        .run(|conn| {
            let past = plaza_kernel::time::now() - chrono::Duration::days(100);
            let bob_session: i64 = auth_sessions::table
                .order(auth_sessions::id.desc())
                .select(auth_sessions::id)
                .first(conn)?;
            diesel::update(auth_sessions::table.find(bob_session))
                .set(auth_sessions::expires_at.eq(past))
                .execute(conn)?;
            diesel::update(refresh_tokens::table.filter(refresh_tokens::session_id.eq(bob_session)))
                .set(refresh_tokens::expires_at.eq(past))
                .execute(conn)?;
            diesel::update(account_tokens::table).set(account_tokens::expires_at.eq(past)).execute(conn)?;
            diesel::update(login_attempts::table).set(login_attempts::created_at.eq(past)).execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();

    let report = app
        .db()
        .run(|conn| Ok(cleanup_expired(conn, plaza_kernel::time::now())?))
        .await
        .unwrap();
    assert_eq!(
        report,
        CleanupReport { refresh_tokens: 1, sessions: 1, account_tokens: 2, login_attempts: 1, pending_two_factor: 0 }
    );
    // Alice's live session still refreshes; a second run finds nothing.
    let (status, _) = call(app.post("/api/v1/auth/refresh-token/").json(&json!({"refresh": live["refresh"]}))).await;
    assert_eq!(status, 200);
    let again = app
        .db()
        .run(|conn| Ok(cleanup_expired(conn, plaza_kernel::time::now())?))
        .await
        .unwrap();
    assert_eq!(again, CleanupReport::default());
});

db_test!(async fn the_cleanup_runs_as_a_registered_job(backend) {
    use plaza_authentication::cleanup::CleanupExpired;
    use plaza_kernel::jobs::{enqueue, JobOptions, JobRegistry};

    let app = app(backend).await;
    login(&app, "ghost", "Wrong-Password-1").await;
    app.db()
        .run(|conn| {
            let past = plaza_kernel::time::now() - chrono::Duration::days(100);
            diesel::update(login_attempts::table).set(login_attempts::created_at.eq(past)).execute(conn)?;
            enqueue(conn, &CleanupExpired {}, JobOptions::default())?;
            Ok(())
        })
        .await
        .unwrap();
    let mut registry = JobRegistry::new();
    plaza_authentication::register_jobs(&mut registry);
    registry.check().unwrap();
    assert!(registry.periodic_jobs().iter().any(|p| p.name == "authentication.cleanup_expired"));
    let summary = app.run_jobs(registry).await;
    assert_eq!((summary.succeeded, summary.dead), (1, 0));
    let left: i64 = app.db().run(|conn| Ok(login_attempts::table.count().get_result(conn)?)).await.unwrap();
    assert_eq!(left, 0);
});

use plaza_kernel::db_test;
use plaza_kernel::testing::TestDb;
use plaza_users::{create_account, Email, NewAccount, User, Username};

fn account(name: &str, email: &str) -> NewAccount {
    NewAccount::user(
        Username::parse(name).unwrap(),
        Email::parse(email).unwrap(),
        "!".into(),
    )
}

db_test!(async fn accounts_are_unique_case_insensitively(backend) {
    let test_db = tokio::task::spawn_blocking(move || TestDb::create(&backend)).await.unwrap();
    let db = test_db.db.clone();
    db.run(|conn| {
        let alice = create_account(conn, &account("Alice", "alice@example.com"))?;
        assert_eq!(alice.username, "Alice");
        assert_eq!(alice.role, "user");
        assert!(!alice.is_staff && alice.is_active && !alice.is_verified);

        let err = create_account(conn, &account("ALICE", "other@example.com")).unwrap_err();
        assert_eq!((err.status().as_u16(), err.errors().unwrap().contains_key("username")), (400, true));
        let err = create_account(conn, &account("alice2", "ALICE@EXAMPLE.COM")).unwrap_err();
        assert_eq!((err.status().as_u16(), err.errors().unwrap().contains_key("email")), (400, true));

        let found = User::find_by_login(conn, "alice@Example.com")?.unwrap();
        assert_eq!(found.id, alice.id);
        let found = User::find_by_login(conn, "aLiCe")?.unwrap();
        assert_eq!(found.id, alice.id);
        assert!(User::find_by_login(conn, "nobody")?.is_none());

        let root = create_account(
            conn,
            &NewAccount::superuser(Username::parse("root").unwrap(), Email::parse("r@x.io").unwrap(), "!".into()),
        )?;
        assert!(root.is_staff && root.is_superuser && root.is_verified);
        assert_eq!(root.role, "admin");
        Ok(())
    })
    .await
    .unwrap();
});

db_test!(async fn authors_load_in_one_batch(backend) {
    let test_db = tokio::task::spawn_blocking(move || TestDb::create(&backend)).await.unwrap();
    test_db
        .db
        .run(|conn| {
            let a = create_account(conn, &account("anna", "anna@example.com"))?;
            let b = create_account(conn, &account("ben", "ben@example.com"))?;
            let cards = plaza_users::authors_by_id(conn, &[b.id, a.id, a.id, 999_999])?;
            assert_eq!(cards.len(), 2);
            assert_eq!(cards[&a.id].username, "anna");
            assert_eq!(cards[&b.id].avatar, None);
            assert!(plaza_users::authors_by_id(conn, &[])?.is_empty());
            Ok(())
        })
        .await
        .unwrap();
});

//! Embedded migrations for both backends, applied at `serve` start and by `plaza migrate`.
//!
//! `migrations/mysql` and `migrations/sqlite` hold folders with identical names; each domain's
//! folders start with its name (`2026-11-20-000100_users_init`). A database that records a
//! migration this binary does not know is refused: it was migrated by a newer Plaza.

use diesel::migration::MigrationSource;
use diesel::mysql::Mysql;
use diesel::sqlite::Sqlite;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::DbConn;

const MYSQL: EmbeddedMigrations = embed_migrations!("../../migrations/mysql");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The database was migrated by a newer binary.
    #[error(
        "the database has migrations this binary does not know ({0}); it was migrated by a newer \
         Plaza — run that version, or restore a backup taken before the upgrade"
    )]
    AheadOfBinary(String),
    /// A migration failed to apply or to be read.
    #[error("migration failed: {0}")]
    Failed(String),
}

/// The versions of the embedded migrations, oldest first (the same for both backends).
pub fn embedded_versions() -> Vec<String> {
    let mut versions: Vec<String> = MigrationSource::<Sqlite>::migrations(&SQLITE)
        .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect())
        .unwrap_or_default();
    versions.sort();
    versions
}

/// Applies every pending migration and returns the versions applied (empty when up to date).
pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, MigrationError> {
    refuse_if_ahead(conn)?;
    let applied = match conn {
        DbConn::Mysql(c) => c.run_pending_migrations(MYSQL).map(|v| versions(&v)),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE).map(|v| versions(&v)),
    };
    applied.map_err(|e| MigrationError::Failed(e.to_string()))
}

/// The versions not yet applied to this database.
pub fn pending_migrations(conn: &mut DbConn) -> Result<Vec<String>, MigrationError> {
    let pending = match conn {
        DbConn::Mysql(c) => c
            .pending_migrations(MYSQL)
            .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect()),
        DbConn::Sqlite(c) => c
            .pending_migrations(SQLITE)
            .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect()),
    };
    pending.map_err(|e| MigrationError::Failed(e.to_string()))
}

fn versions(applied: &[diesel::migration::MigrationVersion<'_>]) -> Vec<String> {
    applied.iter().map(ToString::to_string).collect()
}

fn refuse_if_ahead(conn: &mut DbConn) -> Result<(), MigrationError> {
    let applied = match conn {
        DbConn::Mysql(c) => MigrationHarness::<Mysql>::applied_migrations(c),
        DbConn::Sqlite(c) => MigrationHarness::<Sqlite>::applied_migrations(c),
    }
    .map_err(|e| MigrationError::Failed(e.to_string()))?;
    let known = embedded_versions();
    let unknown: Vec<String> = applied
        .iter()
        .map(ToString::to_string)
        .filter(|v| !known.contains(v))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(MigrationError::AheadOfBinary(unknown.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let mut mysql: Vec<String> = MigrationSource::<Mysql>::migrations(&MYSQL)
            .unwrap()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        let mut sqlite: Vec<String> = MigrationSource::<Sqlite>::migrations(&SQLITE)
            .unwrap()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        mysql.sort();
        sqlite.sort();
        assert!(!sqlite.is_empty());
        assert_eq!(mysql, sqlite);
    }
}

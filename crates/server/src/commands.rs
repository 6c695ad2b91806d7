//! The CLI's commands, so that `bin/plaza` only parses arguments.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context};
use plaza_kernel::db::{self, Db, PoolOptions};
use plaza_kernel::Config;
use plaza_users::password::{hash_password, validate_password, UserAttributes};
use plaza_users::{create_account, Email, NewAccount, Username};

/// Opens the database and applies pending migrations; returns the versions applied.
pub fn migrate(config: &Config) -> anyhow::Result<Vec<String>> {
    db::create_mysql_database_if_missing(&config.database_url)?;
    let db = open_db(config)?;
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(db::run_migrations(&mut conn)?)
}

fn open_db(config: &Config) -> anyhow::Result<Db> {
    let options = PoolOptions {
        max_size: 2,
        timeout: config.db_pool_timeout,
    };
    Ok(Db::connect(&config.database_url, options)?)
}

/// What `createsuperuser` was given on the command line.
#[derive(Debug, Default)]
pub struct SuperuserArgs {
    /// `--username`.
    pub username: Option<String>,
    /// `--email`.
    pub email: Option<String>,
    /// `--password` or `PLAZA_SUPERUSER_PASSWORD`.
    pub password: Option<String>,
    /// `--no-input`: never prompt; fail on anything missing.
    pub no_input: bool,
}

/// Creates a staff superuser (role `admin`), prompting on a terminal for what is missing.
/// Returns the new user's id.
pub fn create_superuser(config: &Config, args: SuperuserArgs) -> anyhow::Result<i64> {
    let interactive = !args.no_input && std::io::stdin().is_terminal();
    let username = match args.username {
        Some(u) => u,
        None if interactive => prompt("Username: ")?,
        None => bail!("--username is required with --no-input"),
    };
    let username = Username::parse(&username).map_err(|e| anyhow::anyhow!(field_message(&e)))?;
    let email = match args.email {
        Some(e) => e,
        None if interactive => prompt("Email address: ")?,
        None => bail!("--email is required with --no-input"),
    };
    let email = Email::parse(&email).map_err(|e| anyhow::anyhow!(field_message(&e)))?;
    let password = match args.password {
        Some(p) => p,
        None if interactive => {
            let first = rpassword::prompt_password("Password: ")?;
            let again = rpassword::prompt_password("Password (again): ")?;
            if first != again {
                bail!("the two passwords do not match");
            }
            first
        }
        None => bail!("--password (or PLAZA_SUPERUSER_PASSWORD) is required with --no-input"),
    };
    validate_password(
        &password,
        "password",
        &UserAttributes {
            username: username.as_str(),
            email: email.as_str(),
            ..UserAttributes::default()
        },
    )
    .map_err(|e| anyhow::anyhow!(field_message(&e)))?;

    let db = open_db(config)?;
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
    if !db::pending_migrations(&mut conn)?.is_empty() {
        bail!("the database is not migrated; run `plaza migrate` first");
    }
    let users = crate::settings(config)?.get_or_default::<plaza_users::UsersSettings>();
    let hash = hash_password(&password, users.bcrypt_cost).map_err(|e| anyhow::anyhow!("{e}"))?;
    let account = NewAccount::superuser(username, email, hash);
    let user =
        create_account(&mut conn, &account).map_err(|e| anyhow::anyhow!(field_message(&e)))?;
    Ok(user.id)
}

/// One line per field problem, for a terminal.
fn field_message(err: &plaza_kernel::ApiError) -> String {
    match err.errors() {
        Some(errors) => errors
            .iter()
            .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
            .collect::<Vec<_>>()
            .join("; "),
        None => err.detail().to_owned(),
    }
}

fn prompt(label: &str) -> anyhow::Result<String> {
    let mut out = std::io::stderr();
    write!(out, "{label}")?;
    out.flush()?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading from the terminal")?;
    Ok(line.trim().to_owned())
}

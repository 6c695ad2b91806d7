//! Starting and stopping a local `plaza serve`: a free port, a data directory, a SQLite file
//! or a fresh MySQL database, the CPUs it may use (`taskset`), its log in the output
//! directory, the cold start (spawn → first 200 from `/health`) and its RSS right after.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

use crate::http::{Conn, Target};
use crate::machine;

/// How long a server may take to answer `/health` after its start.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// How to start `plaza serve`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The `plaza` binary.
    pub plaza: PathBuf,
    /// Working directory and `DATA_DIR`.
    pub data_dir: PathBuf,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `SECRET_KEY` (the same across restarts, so tokens stay valid).
    pub secret_key: String,
    /// `taskset -c` list, if `taskset` is to be used.
    pub cpus: Option<String>,
    /// Further variables (`BCRYPT_COST`, `POSTS_CACHE_TTL`, …).
    pub env: Vec<(String, String)>,
    /// Where stdout and stderr go.
    pub log_path: PathBuf,
}

/// A running `plaza serve`.
#[derive(Debug)]
pub struct LocalServer {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// Where it listens.
    pub target: Target,
    /// Its log file.
    pub log_path: PathBuf,
    /// Spawn to first 200 from `/health`.
    pub cold_start: Duration,
    /// Resident memory right after it became ready, bytes.
    pub idle_rss: Option<u64>,
    /// The CPUs it may run on.
    pub cpus: Option<String>,
}

impl LocalServer {
    /// Starts the server and waits until `/health` answers 200.
    pub async fn start(config: &ServerConfig) -> anyhow::Result<Self> {
        let port = free_port()?;
        let log = File::create(&config.log_path)
            .with_context(|| format!("create {}", config.log_path.display()))?;
        let mut command = match &config.cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpus).arg(&config.plaza);
                c
            }
            None => Command::new(&config.plaza),
        };
        command
            .arg("serve")
            .current_dir(&config.data_dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PLAZA_BIND", format!("127.0.0.1:{port}"))
            .env("DATA_DIR", &config.data_dir)
            .env("DATABASE_URL", &config.database_url)
            .env("DEBUG", "false")
            .env("SECRET_KEY", &config.secret_key)
            .env("RUST_LOG", "warn")
            // The load comes from one address and a few accounts: abuse limits would
            // measure themselves, not the server.
            .env("THROTTLE_REGISTER", "off")
            .env("THROTTLE_PASSWORD_RESET", "off")
            .env("THROTTLE_STREAM_CREATE", "off")
            .env("THROTTLE_STREAM_JOIN", "off")
            .env("THROTTLE_AI_CALL", "off")
            .env("THROTTLE_DIRECT_MESSAGE", "off")
            // The AI gateway proxies to the generator's fake upstream (scenario `gateway`).
            .envs(crate::scenarios::gateway::server_env())
            .envs(config.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().context("clone the log file")?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        let spawned = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("start {} serve", config.plaza.display()))?;
        let pid = child.id().context("the server has no pid")?;
        let target = Target::parse(&format!("http://127.0.0.1:{port}")).await?;
        let mut server = Self {
            child,
            pid,
            target,
            log_path: config.log_path.clone(),
            cold_start: Duration::ZERO,
            idle_rss: None,
            cpus: None,
        };
        server.wait_ready(spawned).await?;
        server.cold_start = spawned.elapsed();
        server.idle_rss = machine::rss_bytes(pid);
        server.cpus = machine::cpus_allowed(Some(pid));
        Ok(server)
    }

    async fn wait_ready(&mut self, spawned: Instant) -> anyhow::Result<()> {
        let health = self.target.get("/health", None);
        loop {
            let mut conn = Conn::new(&self.target);
            if let Ok(200) = conn.send(&health).await {
                return Ok(());
            }
            self.check_alive()?;
            if spawned.elapsed() > READY_TIMEOUT {
                bail!(
                    "plaza did not answer /health within {READY_TIMEOUT:?}; its log ends with:\n{}",
                    tail(&self.log_path, 40)
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// An error with the log's tail when the process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait().context("poll the server")? {
            bail!(
                "plaza exited ({status}); its log ends with:\n{}",
                tail(&self.log_path, 40)
            );
        }
        Ok(())
    }

    /// Sends SIGTERM, waits for the exit (killing it after a while).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .await;
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => {
                status.context("wait for the server")?;
            }
            Err(_) => {
                eprintln!(
                    "plaza-bench: plaza (pid {}) did not stop on SIGTERM; killing it",
                    self.pid
                );
                self.child.kill().await.context("kill the server")?;
            }
        }
        Ok(())
    }
}

/// What a server logged at WARN and ERROR (text log format).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LogCounts {
    /// ERROR lines.
    pub errors: u64,
    /// WARN lines.
    pub warnings: u64,
    /// The first ERROR line.
    pub first_error: Option<String>,
    /// The first WARN line.
    pub first_warning: Option<String>,
}

/// Counts the WARN and ERROR lines of a server log.
pub fn scan_log(path: &Path) -> LogCounts {
    let mut counts = LogCounts::default();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    for line in text.lines() {
        match line.split_whitespace().nth(1) {
            Some("ERROR") => {
                counts.errors += 1;
                counts.first_error.get_or_insert_with(|| line.to_owned());
            }
            Some("WARN") => {
                counts.warnings += 1;
                counts.first_warning.get_or_insert_with(|| line.to_owned());
            }
            _ => {}
        }
    }
    counts
}

/// A port nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")
        .context("bind a free port")?
        .local_addr()?
        .port())
}

/// The last `lines` lines of a file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A MySQL database created for one backend run and dropped with this value.
#[derive(Debug)]
pub struct MysqlDatabase {
    server_url: String,
    name: String,
    /// `mysql://…/<name>`.
    pub url: String,
}

impl MysqlDatabase {
    /// Creates `plaza_bench_<pid>_<n>` (utf8mb4) on the server of `server_url`.
    pub fn create(server_url: &str, n: usize) -> anyhow::Result<Self> {
        use diesel::{Connection, RunQueryDsl};
        let name = format!("plaza_bench_{}_{n}", std::process::id());
        let mut url = url::Url::parse(server_url)
            .with_context(|| format!("invalid MySQL URL {server_url:?}"))?;
        url.set_path(&format!("/{name}"));
        let mut conn = diesel::MysqlConnection::establish(server_url)
            .with_context(|| format!("connect to {}", redact(server_url)))?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS `{name}`")).execute(&mut conn)?;
        diesel::sql_query(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .execute(&mut conn)
        .with_context(|| format!("create database {name}"))?;
        Ok(Self {
            server_url: server_url.to_owned(),
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for MysqlDatabase {
    fn drop(&mut self) {
        use diesel::{Connection, RunQueryDsl};
        match diesel::MysqlConnection::establish(&self.server_url) {
            Ok(mut conn) => {
                if let Err(err) =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS `{}`", self.name))
                        .execute(&mut conn)
                {
                    eprintln!("plaza-bench: could not drop database {}: {err}", self.name);
                }
            }
            Err(err) => {
                eprintln!(
                    "plaza-bench: could not connect to drop database {}: {err}",
                    self.name
                );
            }
        }
    }
}

/// `url` without its password.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_warnings_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plaza.log");
        std::fs::write(
            &path,
            "2026-11-21T05:38:58.85Z  WARN plaza_kernel::error: busy\n\
             2026-11-21T05:38:58.86Z ERROR plaza_streaming::session: lost\n\
             2026-11-21T05:38:58.87Z  WARN plaza_kernel::error: busy again\n\
             2026-11-21T05:38:58.88Z  INFO plaza: ERROR in a message is not a level\n",
        )
        .unwrap();
        let counts = scan_log(&path);
        assert_eq!((counts.errors, counts.warnings), (1, 2));
        assert!(counts.first_error.unwrap().ends_with("lost"));
    }
}

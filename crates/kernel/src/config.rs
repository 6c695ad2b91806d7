//! Configuration from the environment (and an optional `.env` file).
//!
//! Every variable is read and checked at start; all problems are reported together, one line
//! each, so a misconfigured deployment fails once with the whole list. docs/configuration.md
//! lists every variable with its default.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::distr::{Alphanumeric, SampleString};

pub use crate::settings::ConfigError;
use crate::settings::Env;

/// Which mail backend sends the messages queued as jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailBackend {
    /// Logs each message.
    Console,
    /// Writes one `.eml` file per message to `EMAIL_FILE_DIR`.
    File,
    /// Sends through `SMTP_HOST`.
    Smtp,
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (local relays and tests only).
    None,
    /// Upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// Mail settings (`EMAIL_*`, `SMTP_*`).
#[derive(Clone, Debug)]
pub struct EmailConfig {
    /// `EMAIL_BACKEND`.
    pub backend: EmailBackend,
    /// `EMAIL_FILE_DIR` (default `$DATA_DIR/mail`).
    pub file_dir: PathBuf,
    /// `EMAIL_FROM`.
    pub from: String,
    /// `SMTP_HOST`.
    pub smtp_host: Option<String>,
    /// `SMTP_PORT` (default by `SMTP_TLS`: 25, 587 or 465).
    pub smtp_port: u16,
    /// `SMTP_USER`.
    pub smtp_user: Option<String>,
    /// `SMTP_PASSWORD`.
    pub smtp_password: Option<String>,
    /// `SMTP_TLS`: `none`, `starttls`, `tls`.
    pub smtp_tls: SmtpTls,
    /// `SMTP_TIMEOUT`.
    pub smtp_timeout: Duration,
    /// `SMTP_CA_FILE`: PEM certificates trusted for the SMTP server besides the system's
    /// (a private relay's CA).
    pub smtp_ca_file: Option<PathBuf>,
    /// `PUBLIC_URL`'s twin for links in mail: `FRONTEND_URL` (default `PUBLIC_URL`).
    pub frontend_url: String,
}

/// Background job settings (`WORKER_*`).
#[derive(Clone, Debug)]
pub struct JobsConfig {
    /// `WORKER_INPROCESS`: `plaza serve` runs a worker too.
    pub inprocess: bool,
    /// `WORKER_CONCURRENCY`: jobs run at once per worker process.
    pub concurrency: usize,
    /// `WORKER_POLL_INTERVAL`: how often an idle worker looks for due jobs.
    pub poll_interval: Duration,
    /// `WORKER_LEASE`: how long a claimed job is reserved before another worker may take it.
    pub lease: Duration,
    /// `WORKER_MAX_ATTEMPTS`: default attempts before a job is dead.
    pub max_attempts: u32,
    /// `WORKER_SHUTDOWN_GRACE`: how long running jobs may finish at shutdown.
    pub shutdown_grace: Duration,
    /// `WORKER_RETRY_BASE`: the delay before the first retry; each further retry doubles it.
    pub retry_base: Duration,
    /// `WORKER_RETRY_MAX`: the longest delay between two attempts.
    pub retry_max: Duration,
    /// `WORKER_BEAT`: this worker also enqueues periodic jobs.
    pub beat: bool,
    /// `JOBS_RETENTION`: how long succeeded jobs are kept.
    pub retention: Duration,
    /// `JOBS_DEAD_RETENTION`: how long dead jobs are kept for staff to inspect and retry.
    pub dead_retention: Duration,
    /// `WORKER_METRICS_BIND`: where `plaza worker` serves `/metrics` and `/health` (none by
    /// default).
    pub metrics_bind: Option<String>,
}

/// What every domain shares, read from the environment. A domain's own settings (live video's
/// `STREAM_*`, say) are its [`Section`](crate::settings::Section), parsed from the same
/// variables ([`Config::vars`]).
#[derive(Clone)]
pub struct Config {
    /// `PLAZA_BIND`.
    pub bind: String,
    /// `PUBLIC_URL`: how clients reach this server (links in mail). Default from `PLAZA_BIND`.
    pub public_url: String,
    /// `DEBUG`.
    pub debug: bool,
    /// `SECRET_KEY` (signs tokens). Never logged.
    pub secret_key: String,
    /// `DATA_DIR`.
    pub data_dir: PathBuf,
    /// `MEDIA_ROOT`.
    pub media_root: PathBuf,
    /// `DATABASE_URL`, or built from `DB_*`, or SQLite under `DATA_DIR`.
    pub database_url: String,
    /// `DB_POOL_SIZE`.
    pub db_pool_size: u32,
    /// `DB_POOL_TIMEOUT`: how long a request waits for a connection before 503.
    pub db_pool_timeout: Duration,
    /// `REDIS_URL`.
    pub redis_url: Option<String>,
    /// `REDIS_KEY_PREFIX`: namespace for keys and channels on a shared Redis.
    pub redis_prefix: String,
    /// `JWT_ACCESS_TTL`.
    pub jwt_access_ttl: Duration,
    /// `JWT_REFRESH_TTL`.
    pub jwt_refresh_ttl: Duration,
    /// `CORS_ALLOWED_ORIGINS`.
    pub cors_allowed_origins: Vec<String>,
    /// `MAX_BODY_BYTES`: JSON bodies above this get 413.
    pub max_body_bytes: usize,
    /// `PLAZA_WORKERS`: HTTP worker threads.
    pub workers: usize,
    /// `TRUST_PROXY_HEADERS`: take the client address from `Forwarded`/`X-Forwarded-For`
    /// (only behind a proxy that sets them; otherwise clients could spoof their address).
    pub trust_proxy_headers: bool,
    /// `SOCKET_SEND_BUFFER`: the kernel send buffer of each accepted connection, in bytes
    /// (`0` leaves the OS default, which autotunes up to megabytes and lets a slow viewer's
    /// socket hide seconds of video that the relay would rather drop).
    pub socket_send_buffer: usize,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// Mail.
    pub email: EmailConfig,
    /// Background jobs.
    pub jobs: JobsConfig,
    /// The variables this configuration was read from, for the domains' own sections
    /// (`domain::parse_settings`).
    vars: std::sync::Arc<HashMap<String, String>>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("debug", &self.debug)
            .field("secret_key", &"<redacted>")
            .field("data_dir", &self.data_dir)
            .field("database", &redact_url(&self.database_url))
            .field("redis", &self.redis_url.as_deref().map(redact_url))
            .finish_non_exhaustive()
    }
}

/// The file under `DATA_DIR` that keeps a generated secret between runs.
pub const SECRET_FILE: &str = "secret_key";

impl Config {
    /// Reads `.env` (if present) and the process environment, and generates (or reuses) a
    /// secret in `DATA_DIR` when none is configured and `DEBUG` is on.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_with(|_| Vec::new())
    }

    /// Like [`Config::load`], also running `more` over the same variables: the server checks
    /// every domain's settings section there, so one start reports every problem at once.
    pub fn load_with(
        more: impl FnOnce(&HashMap<String, String>) -> Vec<String>,
    ) -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is worth a line.
        let mut problems = Vec::new();
        if let Err(err) = dotenvy::dotenv() {
            if !err.not_found() {
                problems.push(format!(".env: {err}"));
            }
        }
        let vars: HashMap<String, String> = std::env::vars().collect();
        let mut domains = more(&vars);
        let mut config = match Self::from_vars(&vars) {
            Ok(config) if problems.is_empty() && domains.is_empty() => config,
            Ok(_) => {
                problems.append(&mut domains);
                return Err(ConfigError(problems));
            }
            Err(ConfigError(mut kernel)) => {
                problems.append(&mut kernel);
                problems.append(&mut domains);
                return Err(ConfigError(problems));
            }
        };
        if config.secret_key.is_empty() {
            config.secret_key = load_or_generate_secret(&config.data_dir)
                .map_err(|e| ConfigError(vec![format!("SECRET_KEY: {e}")]))?;
        }
        Ok(config)
    }

    /// Builds the configuration from a map of variables, with no side effects. A missing
    /// secret is left empty for [`Config::load`] to fill (only allowed with `DEBUG` on).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut p = Env::new(vars);

        let debug = p.bool("DEBUG", true);
        let bind = p.string("PLAZA_BIND", "127.0.0.1:8000");
        if bind.parse::<std::net::SocketAddr>().is_err() && !bind.contains(':') {
            p.problem(format!("PLAZA_BIND: \"{bind}\" is not host:port"));
        }
        let public_url = p
            .optional("PUBLIC_URL")
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{bind}"));
        let secret_key = p.optional("SECRET_KEY").unwrap_or_default();
        if secret_key.is_empty() && !debug {
            p.problem("SECRET_KEY: must be set when DEBUG=false".to_owned());
        } else if !debug && secret_key.len() < 32 {
            p.problem(format!(
                "SECRET_KEY: too short ({} characters); use at least 32 random characters",
                secret_key.len()
            ));
        }

        let data_dir = PathBuf::from(p.string("DATA_DIR", "./data"));
        let media_root = p
            .optional("MEDIA_ROOT")
            .map_or_else(|| data_dir.join("media"), PathBuf::from);
        let database_url = database_url(&mut p, &data_dir);
        if !(database_url.starts_with("mysql://") || database_url.starts_with("sqlite:")) {
            p.problem(format!(
                "DATABASE_URL: unsupported scheme in \"{}\" (use mysql:// or sqlite://)",
                redact_url(&database_url)
            ));
        }
        let default_pool = if database_url.starts_with("sqlite:") {
            8
        } else {
            16
        };
        let db_pool_size = p.number("DB_POOL_SIZE", default_pool, 1, 1000);
        let db_pool_timeout = p.duration("DB_POOL_TIMEOUT", Duration::from_secs(5));

        let redis_url = p.optional("REDIS_URL");
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                p.problem(format!(
                    "REDIS_URL: \"{}\" is not a redis:// URL",
                    redact_url(url)
                ));
            }
        }
        let redis_prefix = p.string("REDIS_KEY_PREFIX", "plaza:");

        let jwt_access_ttl = p.duration("JWT_ACCESS_TTL", Duration::from_secs(15 * 60));
        let jwt_refresh_ttl = p.duration("JWT_REFRESH_TTL", Duration::from_secs(7 * 24 * 3600));
        if jwt_access_ttl >= jwt_refresh_ttl {
            p.problem("JWT_ACCESS_TTL: must be shorter than JWT_REFRESH_TTL".to_owned());
        }
        let cors_allowed_origins = p.list("CORS_ALLOWED_ORIGINS");
        for origin in &cors_allowed_origins {
            if origin != "*" && url::Url::parse(origin).is_err() {
                p.problem(format!(
                    "CORS_ALLOWED_ORIGINS: \"{origin}\" is not an origin URL"
                ));
            }
        }
        let max_body_bytes = p.number("MAX_BODY_BYTES", 1 << 20, 1024, 1 << 30);
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        let workers = p.number("PLAZA_WORKERS", cpus, 1, 512);
        let trust_proxy_headers = p.bool("TRUST_PROXY_HEADERS", false);
        let socket_send_buffer = p.number("SOCKET_SEND_BUFFER", 256 << 10, 0, 64 << 20);
        let log_format = match p.string("LOG_FORMAT", "text").to_ascii_lowercase().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                p.problem(format!("LOG_FORMAT: \"{other}\" is not text or json"));
                LogFormat::Text
            }
        };

        let email = email_config(&mut p, &data_dir, &public_url);
        let jobs = JobsConfig {
            inprocess: p.bool("WORKER_INPROCESS", true),
            concurrency: p.number("WORKER_CONCURRENCY", 4, 1, 1024),
            poll_interval: p.duration("WORKER_POLL_INTERVAL", Duration::from_secs(1)),
            lease: p.duration("WORKER_LEASE", Duration::from_secs(300)),
            max_attempts: p.number("WORKER_MAX_ATTEMPTS", 5, 1, 100),
            shutdown_grace: p.duration("WORKER_SHUTDOWN_GRACE", Duration::from_secs(20)),
            retry_base: p.duration("WORKER_RETRY_BASE", Duration::from_secs(10)),
            retry_max: p.duration("WORKER_RETRY_MAX", Duration::from_secs(3600)),
            beat: p.bool("WORKER_BEAT", true),
            retention: p.duration("JOBS_RETENTION", Duration::from_secs(7 * 86400)),
            dead_retention: p.duration("JOBS_DEAD_RETENTION", Duration::from_secs(30 * 86400)),
            metrics_bind: p.optional("WORKER_METRICS_BIND"),
        };
        if let Some(bind) = &jobs.metrics_bind {
            if bind.parse::<std::net::SocketAddr>().is_err() && !bind.contains(':') {
                p.problem(format!("WORKER_METRICS_BIND: \"{bind}\" is not host:port"));
            }
        }
        if jobs.retry_base > jobs.retry_max {
            p.problem("WORKER_RETRY_BASE: must not be longer than WORKER_RETRY_MAX".to_owned());
        }
        if jobs.lease < Duration::from_secs(1) {
            p.problem("WORKER_LEASE: must be at least 1s".to_owned());
        }

        p.finish()?;
        Ok(Self {
            bind,
            public_url,
            debug,
            secret_key,
            data_dir,
            media_root,
            database_url,
            db_pool_size,
            db_pool_timeout,
            redis_url,
            redis_prefix,
            jwt_access_ttl,
            jwt_refresh_ttl,
            cors_allowed_origins,
            max_body_bytes,
            workers,
            trust_proxy_headers,
            socket_send_buffer,
            log_format,
            email,
            jobs,
            vars: std::sync::Arc::new(vars.clone()),
        })
    }

    /// The variables this configuration was read from (`.env` and the process environment),
    /// from which each domain parses its own settings section.
    pub fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }

    /// [`vars`](Self::vars), shared.
    pub fn shared_vars(&self) -> std::sync::Arc<HashMap<String, String>> {
        self.vars.clone()
    }

    /// `"mysql"` or `"sqlite"`.
    pub fn database_kind(&self) -> &'static str {
        if self.database_url.starts_with("mysql://") {
            "mysql"
        } else {
            "sqlite"
        }
    }
}

fn database_url(p: &mut Env<'_>, data_dir: &Path) -> String {
    if let Some(url) = p.optional("DATABASE_URL") {
        return url;
    }
    // The Django backend's variables, with its defaults.
    if ["DB_NAME", "DB_HOST", "DB_USER"]
        .iter()
        .any(|k| p.optional(k).is_some())
    {
        let name = p.string("DB_NAME", "backend_db");
        let host = p.string("DB_HOST", "localhost");
        let port: u16 = p.number("DB_PORT", 3306, 1, 65535);
        let user = p.string("DB_USER", "root");
        let password = p.optional("DB_PASSWORD").unwrap_or_default();
        let auth = if password.is_empty() {
            encode_userinfo(&user)
        } else {
            format!("{}:{}", encode_userinfo(&user), encode_userinfo(&password))
        };
        return format!("mysql://{auth}@{host}:{port}/{name}");
    }
    format!("sqlite://{}", data_dir.join("plaza.db").display())
}

fn email_config(p: &mut Env<'_>, data_dir: &Path, public_url: &str) -> EmailConfig {
    let backend = match p
        .string("EMAIL_BACKEND", "console")
        .to_ascii_lowercase()
        .as_str()
    {
        "console" => EmailBackend::Console,
        "file" => EmailBackend::File,
        "smtp" => EmailBackend::Smtp,
        other => {
            p.problem(format!(
                "EMAIL_BACKEND: \"{other}\" is not console, file or smtp"
            ));
            EmailBackend::Console
        }
    };
    let smtp_tls = match p
        .string("SMTP_TLS", "starttls")
        .to_ascii_lowercase()
        .as_str()
    {
        "none" | "false" | "off" => SmtpTls::None,
        "starttls" | "true" | "on" => SmtpTls::StartTls,
        "tls" | "ssl" => SmtpTls::Tls,
        other => {
            p.problem(format!(
                "SMTP_TLS: \"{other}\" is not none, starttls or tls"
            ));
            SmtpTls::StartTls
        }
    };
    let default_port = match smtp_tls {
        SmtpTls::None => 25,
        SmtpTls::StartTls => 587,
        SmtpTls::Tls => 465,
    };
    let smtp_host = p.optional("SMTP_HOST");
    if backend == EmailBackend::Smtp && smtp_host.is_none() {
        p.problem("SMTP_HOST: required when EMAIL_BACKEND=smtp".to_owned());
    }
    let from = p.string("EMAIL_FROM", "Plaza <noreply@localhost>");
    if let Err(e) = from.parse::<lettre::message::Mailbox>() {
        p.problem(format!(
            "EMAIL_FROM: \"{from}\" is not an address like Name <user@example.com> ({e})"
        ));
    }
    EmailConfig {
        backend,
        file_dir: p
            .optional("EMAIL_FILE_DIR")
            .map_or_else(|| data_dir.join("mail"), PathBuf::from),
        from,
        smtp_host,
        smtp_port: p.number("SMTP_PORT", default_port, 1, 65535),
        smtp_user: p.optional("SMTP_USER"),
        smtp_password: p.optional("SMTP_PASSWORD"),
        smtp_tls,
        smtp_timeout: p.duration("SMTP_TIMEOUT", Duration::from_secs(20)),
        smtp_ca_file: p.optional("SMTP_CA_FILE").map(PathBuf::from),
        frontend_url: p.optional("FRONTEND_URL").map_or_else(
            || public_url.to_owned(),
            |u| u.trim_end_matches('/').to_owned(),
        ),
    }
}

fn encode_userinfo(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Hides the password of a URL, for logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Reads `DATA_DIR/secret_key`, or creates it (mode 0600) with 64 random characters.
fn load_or_generate_secret(data_dir: &Path) -> std::io::Result<String> {
    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => return Ok(secret.trim().to_owned()),
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    std::fs::create_dir_all(data_dir)?;
    let secret = Alphanumeric.sample_string(&mut rand::rng(), 64);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path)?;
    file.write_all(secret.as_bytes())?;
    tracing::info!(path = %path.display(), "generated a new SECRET_KEY");
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let config = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(config.bind, "127.0.0.1:8000");
        assert!(config.debug);
        assert_eq!(config.database_url, "sqlite://./data/plaza.db");
        assert_eq!(config.database_kind(), "sqlite");
        assert!(config.redis_url.is_none());
        assert_eq!(config.jwt_access_ttl, Duration::from_secs(900));
        assert_eq!(config.jwt_refresh_ttl, Duration::from_secs(7 * 86400));
        assert_eq!(config.media_root, PathBuf::from("./data/media"));
    }

    #[test]
    fn production_without_secret_refuses() {
        let err = Config::from_vars(&vars(&[("DEBUG", "false")])).unwrap_err();
        assert!(
            err.0
                .iter()
                .any(|l| l.starts_with("SECRET_KEY: must be set")),
            "{err}"
        );
    }

    #[test]
    fn every_problem_is_reported_once() {
        let err = Config::from_vars(&vars(&[
            ("DEBUG", "maybe"),
            ("DB_POOL_SIZE", "0"),
            ("JWT_ACCESS_TTL", "soon"),
            ("EMAIL_BACKEND", "pigeon"),
            ("EMAIL_FROM", "nobody"),
            ("DATABASE_URL", "postgres://x"),
        ]))
        .unwrap_err();
        let text = err.to_string();
        for key in [
            "DEBUG",
            "DB_POOL_SIZE",
            "JWT_ACCESS_TTL",
            "EMAIL_BACKEND",
            "EMAIL_FROM",
            "DATABASE_URL",
        ] {
            assert!(
                text.contains(&format!("- {key}:")),
                "{key} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn django_db_variables_build_a_mysql_url() {
        let config = Config::from_vars(&vars(&[
            ("DB_NAME", "forum"),
            ("DB_USER", "app"),
            ("DB_PASSWORD", "p@ss word"),
            ("DB_HOST", "db.internal"),
        ]))
        .unwrap();
        assert_eq!(
            config.database_url,
            "mysql://app:p%40ss%20word@db.internal:3306/forum"
        );
        assert_eq!(config.db_pool_size, 16);
    }

    #[test]
    fn durations_accept_units_and_seconds() {
        let config = Config::from_vars(&vars(&[
            ("JWT_ACCESS_TTL", "90"),
            ("JWT_REFRESH_TTL", "2d"),
        ]))
        .unwrap();
        assert_eq!(config.jwt_access_ttl, Duration::from_secs(90));
        assert_eq!(config.jwt_refresh_ttl, Duration::from_secs(2 * 86400));
    }

    #[test]
    fn worker_settings_and_their_problems() {
        let config = Config::from_vars(&vars(&[])).unwrap();
        assert!(config.jobs.inprocess && config.jobs.beat);
        assert_eq!(config.jobs.retry_base, Duration::from_secs(10));
        assert_eq!(config.jobs.retention, Duration::from_secs(7 * 86400));
        let config = Config::from_vars(&vars(&[
            ("WORKER_RETRY_BASE", "250ms"),
            ("WORKER_BEAT", "false"),
            ("SMTP_CA_FILE", "/etc/plaza/relay-ca.pem"),
        ]))
        .unwrap();
        assert_eq!(config.jobs.retry_base, Duration::from_millis(250));
        assert!(!config.jobs.beat);
        assert_eq!(
            config.email.smtp_ca_file.as_deref(),
            Some(Path::new("/etc/plaza/relay-ca.pem"))
        );
        let err = Config::from_vars(&vars(&[
            ("WORKER_RETRY_BASE", "2h"),
            ("WORKER_LEASE", "500ms"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("- WORKER_RETRY_BASE:"), "{err}");
        assert!(err.contains("- WORKER_LEASE:"), "{err}");
    }

    #[test]
    fn domain_sections_are_left_to_their_domains() {
        // TURN_URLS without TURN_SECRET is plaza-streaming's problem to report, not the kernel's.
        let config = Config::from_vars(&vars(&[
            ("TURN_URLS", "turn:t:3478"),
            ("STREAM_OUTBOUND_QUEUE", "2"),
        ]))
        .unwrap();
        assert_eq!(
            config.vars().get("TURN_URLS").map(String::as_str),
            Some("turn:t:3478"),
            "kept for the sections"
        );
    }

    #[test]
    fn generated_secret_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_generate_secret(dir.path()).unwrap();
        let second = load_or_generate_secret(dir.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
                .unwrap()
                .permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("mysql://u:secret@h:3306/d"),
            "mysql://u:***@h:3306/d"
        );
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }
}

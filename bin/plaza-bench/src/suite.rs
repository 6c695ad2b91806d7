//! `plaza-bench suite`: per backend (SQLite always, MySQL when given) start `plaza serve` on
//! a fresh database → seed → every scenario → stop; restart on the same data with
//! `POSTS_CACHE_TTL=0` → the uncached reads, statements per request, and last `create` (it
//! grows the posts table, which would change what the reads before it measure) → stop;
//! restart with the cache → `mixed` (reads and writes together; it writes too) → stop. Then
//! write `report.json` and `report.md`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use rand::RngCore;

use crate::machine::{self, Machine};
use crate::report::{BackendReport, Report, ScenarioReport, SeedFigures, ServerStart};
use crate::scenarios::{self, statements, Ctx, Scenario, Settings};
use crate::seed::{self, SeedPlan};
use crate::server::{redact, scan_log, LocalServer, LogCounts, MysqlDatabase, ServerConfig};

/// The scenarios run on the server with its forum read cache, in order.
const CACHED: [Scenario; 13] = [
    Scenario::Health,
    Scenario::List,
    Scenario::Detail,
    Scenario::Login,
    Scenario::ListDuringLogin,
    Scenario::WsPaced,
    Scenario::WsFlood,
    Scenario::Idle,
    Scenario::Gateway,
    Scenario::GatewayStream,
    Scenario::Timeline,
    Scenario::TimelineDeep,
    Scenario::Presence,
];

/// The scenarios run on the restarted server with `POSTS_CACHE_TTL=0`.
const UNCACHED: [Scenario; 2] = [Scenario::ListUncached, Scenario::DetailUncached];

/// What `suite` was asked to do.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// The `plaza` binary.
    pub plaza: PathBuf,
    /// Where reports and server logs go.
    pub out: PathBuf,
    /// A MySQL server URL, to run the MySQL backend too.
    pub mysql: Option<String>,
    /// CPUs for the server (`taskset -c`), or `None` to start it without `taskset`.
    pub server_cpus: Option<String>,
    /// Durations and sizes.
    pub settings: Settings,
}

/// A database backend.
enum Backend<'a> {
    Sqlite,
    Mysql(&'a str),
}

impl Backend<'_> {
    fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Mysql(_) => "mysql",
        }
    }
}

/// Runs the suite and writes the reports; answers the report.
pub async fn run(options: &SuiteOptions) -> anyhow::Result<Report> {
    let started = Instant::now();
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("create {}", options.out.display()))?;
    let plaza = std::fs::canonicalize(&options.plaza)
        .with_context(|| format!("the plaza binary {}", options.plaza.display()))?;
    let mut backends = vec![Backend::Sqlite];
    if let Some(url) = options.mysql.as_deref().filter(|u| !u.is_empty()) {
        backends.push(Backend::Mysql(url));
    }
    let mut reports = Vec::new();
    for (n, backend) in backends.iter().enumerate() {
        reports.push(run_backend(options, &plaza, backend, n).await);
    }
    let ok = reports.iter().all(|b| b.error_count() == 0);
    let report = Report {
        machine: Machine::read(),
        git_commit: machine::git_commit(),
        date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        wall_seconds: started.elapsed().as_secs_f64(),
        settings: options.settings.clone(),
        backends: reports,
        ok,
    };
    let json = serde_json::to_string_pretty(&report).context("serialise the report")?;
    write(&options.out.join("report.json"), &json)?;
    write(&options.out.join("report.md"), &report.to_markdown())?;
    Ok(report)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}

async fn run_backend(
    options: &SuiteOptions,
    plaza: &Path,
    backend: &Backend<'_>,
    n: usize,
) -> BackendReport {
    let mut report = BackendReport {
        backend: backend.name().to_owned(),
        database: String::new(),
        starts: Vec::new(),
        seed: SeedFigures::default(),
        scenarios: Vec::new(),
        statements: None,
        failures: Vec::new(),
    };
    if let Err(err) = run_backend_phases(options, plaza, backend, n, &mut report).await {
        eprintln!("plaza-bench: {}: {err:#}", backend.name());
        report.failures.push(format!("{err:#}"));
    }
    // The servers have stopped (or died): read what they logged.
    for start in &mut report.starts {
        start.log_counts = scan_log(Path::new(&start.log));
    }
    report
}

async fn run_backend_phases(
    options: &SuiteOptions,
    plaza: &Path,
    backend: &Backend<'_>,
    n: usize,
    report: &mut BackendReport,
) -> anyhow::Result<()> {
    let settings = &options.settings;
    let name = backend.name();
    let dir = tempfile::Builder::new()
        .prefix("plaza-bench-")
        .tempdir()
        .context("create a data directory")?;
    let mysql = match backend {
        Backend::Sqlite => None,
        Backend::Mysql(url) => Some(MysqlDatabase::create(url, n)?),
    };
    let database_url = match &mysql {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}/plaza.db", dir.path().display()),
    };
    report.database = redact(&database_url);
    let mut env = Vec::new();
    if settings.quick {
        env.push(("BCRYPT_COST".to_owned(), "4".to_owned()));
    }
    let mut config = ServerConfig {
        plaza: plaza.to_owned(),
        data_dir: dir.path().to_owned(),
        database_url,
        secret_key: random_secret(),
        cpus: options.server_cpus.clone(),
        env,
        log_path: absolute(&options.out.join(format!("server-{name}.log"))),
    };

    // The server with its cache: cold start on a fresh database, seed, every scenario.
    eprintln!("plaza-bench: {name}: starting plaza serve");
    let server = LocalServer::start(&config).await?;
    report
        .starts
        .push(start_figures("cached", &server, true, &config));
    eprintln!(
        "plaza-bench: {name}: ready in {:.0} ms; seeding {} authors, {} posts, {} replies",
        server.cold_start.as_secs_f64() * 1000.0,
        settings.authors,
        settings.posts,
        settings.replies
    );
    let plan = SeedPlan {
        authors: settings.authors.max(1),
        posts: settings.posts,
        replies: settings.replies,
    };
    let seed = seed::seed(&server.target, plan).await.context("seeding")?;
    report.seed = SeedFigures {
        authors: seed.authors.len(),
        posts: seed.posts.len(),
        replies: settings.replies,
        seconds: seed.seconds,
    };
    let mut server = server;
    for scenario in CACHED {
        report.scenarios.push(
            run_on(
                &mut server,
                scenario,
                &seed,
                settings,
                name,
                &config.database_url,
            )
            .await?,
        );
    }
    server.check_alive()?;
    server.stop().await?;

    // The same data without the forum read cache.
    config
        .env
        .push(("POSTS_CACHE_TTL".to_owned(), "0".to_owned()));
    config.log_path = absolute(&options.out.join(format!("server-{name}-uncached.log")));
    eprintln!("plaza-bench: {name}: restarting with POSTS_CACHE_TTL=0");
    let mut server = LocalServer::start(&config).await?;
    report
        .starts
        .push(start_figures("uncached", &server, false, &config));
    for scenario in UNCACHED {
        report.scenarios.push(
            run_on(
                &mut server,
                scenario,
                &seed,
                settings,
                name,
                &config.database_url,
            )
            .await?,
        );
    }
    eprintln!("plaza-bench: {name}: statements per request");
    match statements::statements(&server.target, &seed).await {
        Ok(figures) => report.statements = Some(figures),
        Err(err) => report
            .failures
            .push(format!("statements per request: {err:#}")),
    }
    // Writes last: every created post or reply makes the tables the reads above ran over
    // bigger.
    for scenario in [Scenario::Create, Scenario::Reply] {
        report.scenarios.push(
            run_on(
                &mut server,
                scenario,
                &seed,
                settings,
                name,
                &config.database_url,
            )
            .await?,
        );
    }
    server.check_alive()?;
    server.stop().await?;

    // Reads and writes together, with the read cache as deployed.
    config.env.retain(|(key, _)| key != "POSTS_CACHE_TTL");
    config.log_path = absolute(&options.out.join(format!("server-{name}-mixed.log")));
    eprintln!("plaza-bench: {name}: restarting with the cache for the mixed load");
    let mut server = LocalServer::start(&config).await?;
    report
        .starts
        .push(start_figures("mixed", &server, false, &config));
    report.scenarios.push(
        run_on(
            &mut server,
            Scenario::Mixed,
            &seed,
            settings,
            name,
            &config.database_url,
        )
        .await?,
    );
    server.check_alive()?;
    server.stop().await?;
    drop(mysql);
    Ok(())
}

/// Runs `scenario` (its repeats) on a server that must still be alive.
async fn run_on(
    server: &mut LocalServer,
    scenario: Scenario,
    seed: &seed::Seed,
    settings: &Settings,
    name: &str,
    database_url: &str,
) -> anyhow::Result<ScenarioReport> {
    server.check_alive()?;
    eprintln!("plaza-bench: {name}: {}", scenario.name());
    let ctx = Ctx {
        target: &server.target,
        seed,
        settings,
        server_pid: Some(server.pid),
        database_url: Some(database_url),
    };
    Ok(scenarios::run_repeated(scenario, ctx).await)
}

#[allow(clippy::cast_precision_loss)]
fn start_figures(
    phase: &str,
    server: &LocalServer,
    fresh: bool,
    config: &ServerConfig,
) -> ServerStart {
    ServerStart {
        phase: phase.to_owned(),
        cold_start_ms: server.cold_start.as_secs_f64() * 1000.0,
        fresh_database: fresh,
        idle_rss_mb: server.idle_rss.map(|b| b as f64 / (1024.0 * 1024.0)),
        cpus: server.cpus.clone(),
        env: config.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        log: server.log_path.display().to_string(),
        log_counts: LogCounts::default(),
    }
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

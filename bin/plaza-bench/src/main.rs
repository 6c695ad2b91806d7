//! plaza-bench: Plaza's load generator (`make bench`).
//!
//! - `plaza-bench suite --plaza <bin> [--mysql <url>] [--quick]` starts `plaza serve` on SQLite
//!   (and MySQL), seeds it through the forum's public paths, runs every scenario `--repeats`
//!   times, and writes `report.json` and `report.md` into `--out`.
//! - `plaza-bench run <scenario> --url http://…` runs one scenario against a server started
//!   elsewhere (any server speaking the forum's paths).
//!
//! See README.md for the scenarios and what limits each figure.

mod http;
mod load;
mod machine;
mod report;
mod scenarios;
mod seed;
mod server;
mod stats;
mod suite;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::scenarios::{Ctx, Scenario, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "plaza-bench",
    version,
    about = "Load generator for Plaza's HTTP and WebSocket workloads"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start `plaza serve` per backend, run every scenario, write report.json and report.md.
    Suite(SuiteArgs),
    /// Run one scenario against a running server.
    Run(RunArgs),
}

/// Durations and sizes; unset ones take the defaults (or the `--quick` ones).
#[derive(Debug, Args)]
struct LoadArgs {
    /// Measured time per run (`2s`, `500ms`, `1.5`) [default: 2s; --quick: 1s]
    #[arg(long, value_parser = parse_seconds)]
    duration: Option<f64>,
    /// Warm-up before each run's measurement [default: 0.5s; --quick: 0.2s]
    #[arg(long, value_parser = parse_seconds)]
    warmup: Option<f64>,
    /// Runs per scenario [default: 3; --quick: 1]
    #[arg(long)]
    repeats: Option<usize>,
    /// HTTP connections [default: 64; --quick: 8]
    #[arg(long)]
    connections: Option<usize>,
    /// WebSocket viewers in the relay scenarios [default: 50; --quick: 5]
    #[arg(long)]
    viewers: Option<usize>,
    /// Idle WebSockets to open [default: 10000; --quick: 50]
    #[arg(long)]
    idle: Option<usize>,
    /// Users to seed (the posts' authors) [default: 50; --quick: 5]
    #[arg(long)]
    authors: Option<usize>,
    /// Posts to seed [default: 1000; --quick: 100]
    #[arg(long)]
    posts: Option<usize>,
    /// Smoke-test settings: 1 s runs, 0.2 s warm-up, 1 repeat, 8 connections, 5 viewers,
    /// 50 idle sockets, 100 posts by 5 authors (and BCRYPT_COST=4 for a suite's server).
    #[arg(long)]
    quick: bool,
}

impl LoadArgs {
    fn settings(&self) -> Settings {
        let q = self.quick;
        let pick = |given: Option<usize>, quick: usize, normal: usize| {
            given.unwrap_or(if q { quick } else { normal })
        };
        Settings {
            duration_s: self.duration.unwrap_or(if q { 1.0 } else { 2.0 }),
            warmup_s: self.warmup.unwrap_or(if q { 0.2 } else { 0.5 }),
            repeats: pick(self.repeats, 1, 3).max(1),
            connections: pick(self.connections, 8, 64).max(1),
            login_connections: 4,
            viewers: pick(self.viewers, 5, 50).max(1),
            idle: pick(self.idle, 50, 10_000),
            authors: pick(self.authors, 5, 50).max(1),
            posts: pick(self.posts, 100, 1000),
            replies: 20,
            quick: q,
        }
    }
}

#[derive(Debug, Args)]
struct SuiteArgs {
    /// The `plaza` binary to start (a release build for real figures).
    #[arg(long)]
    plaza: PathBuf,
    /// Where report.json, report.md and the servers' logs go.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// A MySQL server URL (`mysql://root@127.0.0.1:3306/test`): also run on MySQL, in a
    /// database `plaza_bench_<pid>_<n>` created and dropped by the suite.
    #[arg(long, env = "PLAZA_BENCH_MYSQL_URL")]
    mysql: Option<String>,
    /// CPUs for the server (`taskset -c` list). Default: every CPU of the machine, when
    /// `taskset` exists (undoing the generator's own pinning, which the server would inherit).
    #[arg(long)]
    server_cpus: Option<String>,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The scenario: one of the suite's, or `statements` (statements per request).
    #[arg(value_parser = parse_run_target)]
    scenario: RunTarget,
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// The server's pid, for its CPU time and RSS (same machine only).
    #[arg(long)]
    pid: Option<u32>,
    /// Print the figures as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The server's database (`sqlite://…` or `mysql://…`), for `timeline` and
    /// `timeline_deep`, which seed their graph through it.
    #[arg(long)]
    database_url: Option<String>,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Debug, Clone, Copy)]
enum RunTarget {
    Scenario(Scenario),
    Statements,
}

fn parse_run_target(s: &str) -> Result<RunTarget, String> {
    if s == "statements" {
        return Ok(RunTarget::Statements);
    }
    Scenario::from_str(s, true)
        .map(RunTarget::Scenario)
        .map_err(|_| {
            let names: Vec<&str> = Scenario::value_variants()
                .iter()
                .map(|v| v.name())
                .collect();
            format!(
                "unknown scenario {s:?}; one of {}, statements",
                names.join(", ")
            )
        })
}

/// `2s`, `500ms`, `1m`, or a bare number of seconds.
fn parse_seconds(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (say 2s, 500ms, 1m)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" | "sec" => value,
        "m" | "min" => value * 60.0,
        other => return Err(format!("unknown unit {other:?} in {s:?} (ms, s, m)")),
    };
    if !(seconds.is_finite() && seconds >= 0.0) {
        return Err(format!("invalid duration {s:?}"));
    }
    Ok(seconds)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    raise_open_files();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("plaza-bench: cannot start the runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("plaza-bench: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Raises this process's open-file limit to its hard limit; servers started later inherit it.
fn raise_open_files() {
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if let Err(err) = rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard) {
                eprintln!("plaza-bench: cannot raise the open-file limit to {hard}: {err}");
            }
        }
        Ok(_) => {}
        Err(err) => eprintln!("plaza-bench: cannot read the open-file limit: {err}"),
    }
}

/// Runs the command; answers whether it went without errors.
async fn dispatch(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Suite(args) => run_suite(args).await,
        Command::Run(args) => run_one(args).await,
    }
}

async fn run_suite(args: SuiteArgs) -> anyhow::Result<bool> {
    let server_cpus = match args.server_cpus {
        Some(cpus) => {
            anyhow::ensure!(
                has_taskset(),
                "--server-cpus needs taskset, which is not on PATH"
            );
            Some(cpus)
        }
        None => has_taskset().then(machine::all_cpus),
    };
    let options = suite::SuiteOptions {
        plaza: args.plaza,
        out: args.out,
        mysql: args.mysql,
        server_cpus,
        settings: args.load.settings(),
    };
    let report = suite::run(&options).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", report.to_markdown())?;
    writeln!(
        out,
        "wrote {} and {}",
        options.out.join("report.json").display(),
        options.out.join("report.md").display()
    )?;
    Ok(report.ok)
}

async fn run_one(args: RunArgs) -> anyhow::Result<bool> {
    let settings = args.load.settings();
    let target = http::Target::parse(&args.url).await?;
    let plan = match args.scenario {
        RunTarget::Scenario(scenario) => scenario.plan(&settings),
        RunTarget::Statements => Scenario::Detail.plan(&settings),
    };
    eprintln!(
        "plaza-bench: seeding {} users, {} posts, {} replies on {}",
        plan.authors, plan.posts, plan.replies, target.base
    );
    let seed = seed::seed(&target, plan).await.context("seeding")?;
    let mut out = std::io::stdout().lock();
    match args.scenario {
        RunTarget::Statements => {
            let figures = scenarios::statements::statements(&target, &seed).await?;
            if args.json {
                writeln!(out, "{}", serde_json::to_string_pretty(&figures)?)?;
            } else {
                if let Some(note) = &figures.note {
                    writeln!(out, "{note}")?;
                }
                for row in &figures.rows {
                    let value = row
                        .statements_per_request
                        .map_or_else(|| "null".to_owned(), |v| format!("{v:.2}"));
                    writeln!(out, "{:<22} {:>8}  {}", row.request, value, row.path)?;
                }
            }
            Ok(true)
        }
        RunTarget::Scenario(scenario) => {
            let ctx = Ctx {
                target: &target,
                seed: &seed,
                settings: &settings,
                server_pid: args.pid,
                database_url: args.database_url.as_deref(),
            };
            let result = scenarios::run_repeated(scenario, ctx).await;
            if args.json {
                writeln!(out, "{}", serde_json::to_string_pretty(&result)?)?;
            } else {
                write!(
                    out,
                    "{}",
                    report::scenario_table(std::slice::from_ref(&result), None)
                )?;
                if let Some(ws) = result.summary.ws {
                    writeln!(
                        out,
                        "\nframes over all runs: sent {}, expected {}, delivered {}, lost {}",
                        ws.sent, ws.expected, ws.delivered, ws.lost
                    )?;
                }
                if let Some(idle) = result.runs.first().and_then(|r| r.idle.as_ref()) {
                    writeln!(out, "\n{}", serde_json::to_string_pretty(idle)?)?;
                }
                if !result.summary.extra.is_empty() {
                    writeln!(
                        out,
                        "\n{}",
                        serde_json::to_string_pretty(&result.summary.extra)?
                    )?;
                }
            }
            Ok(result.error_count() == 0)
        }
    }
}

fn has_taskset() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("taskset").is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_seconds("2s"), Ok(2.0));
        assert_eq!(parse_seconds("500ms"), Ok(0.5));
        assert_eq!(parse_seconds("1.5"), Ok(1.5));
        assert_eq!(parse_seconds("1m"), Ok(60.0));
        assert!(parse_seconds("soon").is_err());
        assert!(parse_seconds("2h").is_err());
    }

    #[test]
    fn the_cli_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli =
            Cli::try_parse_from(["plaza-bench", "run", "ws_flood", "--duration", "1s"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Run(RunArgs {
                scenario: RunTarget::Scenario(Scenario::WsFlood),
                ..
            })
        ));
        assert!(Cli::try_parse_from(["plaza-bench", "run", "nope"]).is_err());
    }
}

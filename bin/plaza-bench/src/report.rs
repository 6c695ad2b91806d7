//! The reports: `report.json` (everything, per run and summarised) and `report.md` (a table
//! per backend, then the WebSocket, memory and statements tables).

use std::fmt::Write as _;

use serde::Serialize;

use crate::machine::Machine;
use crate::scenarios::statements::StatementsReport;
use crate::scenarios::Settings;
use crate::server::LogCounts;
use crate::stats::{Errors, RunStats, Summary};

/// One scenario's runs and summary.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// Its name (`list`, `ws_flood`, …).
    pub name: String,
    /// What it measures.
    pub description: String,
    /// An HTTP request rate (comparable with the `health` ceiling).
    pub http: bool,
    /// Figures over the runs.
    pub summary: Summary,
    /// Every run.
    pub runs: Vec<RunStats>,
}

impl ScenarioReport {
    /// Errors over every run.
    pub fn error_count(&self) -> u64 {
        self.summary.error_count()
    }
}

/// One start of a local server.
#[derive(Debug, Clone, Serialize)]
pub struct ServerStart {
    /// Which start (`cached`, or `uncached` with `POSTS_CACHE_TTL=0`).
    pub phase: String,
    /// Spawn to first 200 from `/health`, ms.
    pub cold_start_ms: f64,
    /// Whether the database was fresh (migrations included in the cold start).
    pub fresh_database: bool,
    /// RSS right after the start, MB.
    pub idle_rss_mb: Option<f64>,
    /// CPUs the server may use.
    pub cpus: Option<String>,
    /// Variables set beyond the defaults.
    pub env: Vec<String>,
    /// Its log file.
    pub log: String,
    /// What it logged at WARN and ERROR (read after it stopped).
    pub log_counts: LogCounts,
}

/// What was seeded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SeedFigures {
    /// Users.
    pub authors: usize,
    /// Posts.
    pub posts: usize,
    /// Replies of the detail post.
    pub replies: usize,
    /// Seconds it took.
    pub seconds: f64,
}

/// Everything measured on one backend.
#[derive(Debug, Clone, Serialize)]
pub struct BackendReport {
    /// `sqlite` or `mysql`.
    pub backend: String,
    /// The database (password redacted).
    pub database: String,
    /// Each start of the server.
    pub starts: Vec<ServerStart>,
    /// What was seeded.
    pub seed: SeedFigures,
    /// Every scenario, in the order run.
    pub scenarios: Vec<ScenarioReport>,
    /// Statements per request on the uncached server.
    pub statements: Option<StatementsReport>,
    /// What went wrong outside the scenarios (a server that would not start, seeding, …).
    pub failures: Vec<String>,
}

impl BackendReport {
    /// Errors of every scenario plus failures.
    pub fn error_count(&self) -> u64 {
        self.scenarios
            .iter()
            .map(ScenarioReport::error_count)
            .sum::<u64>()
            + self.failures.len() as u64
    }

    fn ceiling(&self) -> Option<f64> {
        self.scenarios
            .iter()
            .find(|s| s.name == "health")
            .map(|s| s.summary.ops_per_s)
            .filter(|c| *c > 0.0)
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The machine.
    pub machine: Machine,
    /// The commit measured, when run in a git checkout.
    pub git_commit: Option<String>,
    /// When (RFC 3339, UTC).
    pub date: String,
    /// Total wall time, seconds.
    pub wall_seconds: f64,
    /// The settings.
    pub settings: Settings,
    /// Every backend.
    pub backends: Vec<BackendReport>,
    /// No scenario had errors (WebSocket losses are not errors).
    pub ok: bool,
}

impl Report {
    /// The Markdown report.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let s = &self.settings;
        let _ = writeln!(md, "# plaza-bench report\n");
        let _ = writeln!(
            md,
            "{} · {} · {} cores · kernel {} · generator CPUs {} · commit {} · {:.0} s in all\n",
            self.date,
            m.cpu_model,
            m.cores,
            m.kernel,
            m.generator_cpus,
            self.git_commit.as_deref().unwrap_or("unknown"),
            self.wall_seconds
        );
        let _ = writeln!(
            md,
            "Runs of {} s after {} s of warm-up, {} per scenario (median and min–max shown); {} HTTP connections, {} login loops, {} viewers, {} idle sockets; {} posts by {} authors{}.\n",
            s.duration_s,
            s.warmup_s,
            s.repeats,
            s.connections,
            s.login_connections,
            s.viewers,
            s.idle,
            s.posts,
            s.authors,
            if s.quick { " (--quick)" } else { "" }
        );
        for backend in &self.backends {
            backend_markdown(&mut md, backend);
        }
        let _ = writeln!(
            md,
            "Result: {}",
            if self.ok {
                "no errors".to_owned()
            } else {
                format!(
                    "{} errors (see the errors columns and report.json)",
                    self.backends
                        .iter()
                        .map(BackendReport::error_count)
                        .sum::<u64>()
                )
            }
        );
        md
    }
}

fn backend_markdown(md: &mut String, b: &BackendReport) {
    let cpus = b
        .starts
        .first()
        .and_then(|s| s.cpus.as_deref())
        .unwrap_or("unknown");
    let _ = writeln!(md, "## {} — server CPUs {cpus}\n", b.backend);
    for failure in &b.failures {
        let _ = writeln!(md, "**Failure:** {}\n", failure.replace('\n', " "));
    }
    let _ = writeln!(
        md,
        "Seeded {} authors, {} posts, {} replies in {:.1} s through the forum's paths.\n",
        b.seed.authors, b.seed.posts, b.seed.replies, b.seed.seconds
    );
    md.push_str(&scenario_table(&b.scenarios, b.ceiling()));
    md.push('\n');
    if let Some(during) = b.scenarios.iter().find(|s| s.name == "list_during_login") {
        let login = |k: &str| during.summary.extra.get(k).copied().unwrap_or_default();
        let list_p99 = b
            .scenarios
            .iter()
            .find(|s| s.name == "list")
            .map(|s| s.summary.p99_ms);
        let _ = writeln!(
            md,
            "Logins during `list_during_login`: {:.1}/s, p50 {:.1} ms, p99 {:.1} ms; the list's p99 {:.2} ms with logins vs {} without.\n",
            login("login_ops_per_s"),
            login("login_p50_ms"),
            login("login_p99_ms"),
            during.summary.p99_ms,
            list_p99.map_or_else(|| "—".to_owned(), |p| format!("{p:.2} ms"))
        );
    }
    if let Some(mixed) = b.scenarios.iter().find(|s| s.name == "mixed") {
        let x = |k: &str| mixed.summary.extra.get(k).copied().unwrap_or_default();
        let _ = writeln!(
            md,
            "`mixed`: reads {}/s (p50 {:.2} ms, p99 {:.2} ms), writes {}/s (p50 {:.2} ms, p99 {:.2} ms), logins {:.1}/s (p99 {:.0} ms).\n",
            fmt_rate(x("reads_per_s")),
            x("read_p50_ms"),
            x("read_p99_ms"),
            fmt_rate(x("writes_per_s")),
            x("write_p50_ms"),
            x("write_p99_ms"),
            x("logins_per_s"),
            x("login_p99_ms"),
        );
    }
    ws_table(md, &b.scenarios);
    memory_table(md, b);
    statements_table(md, b.statements.as_ref());
}

/// The main table: one row per scenario.
pub fn scenario_table(scenarios: &[ScenarioReport], ceiling: Option<f64>) -> String {
    let mut md = String::new();
    md.push_str("| scenario | ops/s (median) | spread | % of ceiling | p50 ms | p90 ms | p99 ms | max ms | errors | generator CPU | server CPU | other CPU |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n");
    for s in scenarios {
        let sum = &s.summary;
        let pct = match ceiling {
            Some(c) if s.http => format!("{:.0} %", sum.ops_per_s / c * 100.0),
            _ => "—".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {}–{} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} |",
            s.name,
            fmt_rate(sum.ops_per_s),
            fmt_rate(sum.ops_per_s_min),
            fmt_rate(sum.ops_per_s_max),
            pct,
            sum.p50_ms,
            sum.p90_ms,
            sum.p99_ms,
            sum.max_ms,
            fmt_errors(&sum.errors),
            fmt_pct(sum.generator_cpu_pct),
            fmt_pct(sum.server_cpu_pct),
            fmt_pct(sum.other_cpu_pct),
        );
    }
    md
}

fn ws_table(md: &mut String, scenarios: &[ScenarioReport]) {
    let rows: Vec<_> = scenarios
        .iter()
        .filter_map(|s| s.summary.ws.map(|ws| (s, ws)))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "### WebSocket relay (1 creator → viewers, 4 KiB frames)\n"
    );
    md.push_str("| scenario | viewers | delivered frames/s (median) | sent | expected | delivered | lost | latency p50 ms | p90 ms | p99 ms | max ms |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (s, ws) in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            s.name,
            ws.viewers,
            fmt_rate(s.summary.ops_per_s),
            ws.sent,
            ws.expected,
            ws.delivered,
            ws.lost,
            s.summary.p50_ms,
            s.summary.p90_ms,
            s.summary.p99_ms,
            s.summary.max_ms,
        );
    }
    let _ = writeln!(
        md,
        "\nSent, expected, delivered and lost are over all runs; lost frames were dropped by the server for slow viewers (counted, not errors).\n"
    );
}

fn memory_table(md: &mut String, b: &BackendReport) {
    let _ = writeln!(md, "### Memory and start\n");
    md.push_str("| measure | value |\n|---|---:|\n");
    for start in &b.starts {
        let _ = writeln!(
            md,
            "| cold start, {} ({}) | {:.0} ms |",
            start.phase,
            if start.fresh_database {
                "fresh database, migrations included"
            } else {
                "existing data"
            },
            start.cold_start_ms
        );
        let _ = writeln!(
            md,
            "| idle RSS after start, {} | {} |",
            start.phase,
            fmt_mb(start.idle_rss_mb)
        );
        let _ = writeln!(
            md,
            "| server log, {} | {} ERROR, {} WARN lines |",
            start.phase, start.log_counts.errors, start.log_counts.warnings
        );
    }
    let fresh_rss = b.starts.first().and_then(|s| s.idle_rss_mb);
    let idle = b
        .scenarios
        .iter()
        .find(|s| s.name == "idle")
        .and_then(|s| s.runs.first())
        .and_then(|r| r.idle.clone());
    if let Some(idle) = idle {
        let _ = writeln!(
            md,
            "| idle WebSockets opened | {} / {} in {:.1} s |",
            idle.opened, idle.requested, idle.open_seconds
        );
        let _ = writeln!(
            md,
            "| RSS before opening them | {} |",
            fmt_mb(idle.rss_before_mb)
        );
        let _ = writeln!(md, "| RSS with them open | {} |", fmt_mb(idle.rss_after_mb));
        let _ = writeln!(
            md,
            "| bytes per idle WebSocket | {} |",
            idle.bytes_per_connection
                .map_or_else(|| "—".to_owned(), |b| format!("{b:.0}"))
        );
        let _ = writeln!(
            md,
            "| estimated RSS with 10 000 idle WebSockets (RSS before + 10 000 × bytes each) | {} |",
            fmt_mb(idle.estimate_10k_mb)
        );
        if let (Some(fresh), Some(per)) = (fresh_rss, idle.bytes_per_connection) {
            let _ = writeln!(
                md,
                "| the same from a fresh server (idle RSS after start + 10 000 × bytes each) | {} |",
                fmt_mb(Some(fresh + per * 10_000.0 / (1024.0 * 1024.0)))
            );
        }
    }
    md.push('\n');
    for start in &b.starts {
        let counts = &start.log_counts;
        for (level, first) in [
            ("ERROR", &counts.first_error),
            ("WARN", &counts.first_warning),
        ] {
            if let Some(line) = first {
                let _ = writeln!(
                    md,
                    "First {level} of the {} server's log: `{}`\n",
                    start.phase,
                    crate::load::truncate(line, 300).replace('`', "'")
                );
            }
        }
    }
}

fn statements_table(md: &mut String, statements: Option<&StatementsReport>) {
    let Some(st) = statements else {
        return;
    };
    let _ = writeln!(md, "### Statements per request (POSTS_CACHE_TTL=0)\n");
    if let Some(note) = &st.note {
        let _ = writeln!(md, "{note}.\n");
    }
    md.push_str("| request | statements per request |\n|---|---:|\n");
    for row in &st.rows {
        let _ = writeln!(
            md,
            "| {} (`{}`) | {} |",
            row.request,
            row.path,
            row.statements_per_request
                .map_or_else(|| "null".to_owned(), |v| format!("{v:.2}"))
        );
    }
    md.push('\n');
}

/// `12345` as `12 345`, small rates with one decimal.
pub fn fmt_rate(v: f64) -> String {
    if !v.is_finite() {
        return "—".to_owned();
    }
    if v < 100.0 {
        return format!("{v:.1}");
    }
    let digits = format!("{v:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn fmt_pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |p| format!("{p:.0} %"))
}

fn fmt_mb(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |mb| format!("{mb:.1} MB"))
}

/// `0`, or `kind: n` pairs.
pub fn fmt_errors(errors: &Errors) -> String {
    if errors.is_empty() {
        return "0".to_owned();
    }
    errors
        .iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_well() {
        assert_eq!(fmt_rate(12345.4), "12 345");
        assert_eq!(fmt_rate(1234567.0), "1 234 567");
        assert_eq!(fmt_rate(512.0), "512");
        assert_eq!(fmt_rate(7.25), "7.2");
    }
}

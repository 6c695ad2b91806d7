//! Database statements per request, from the server's `plaza_db_statements_total` counter
//! (`GET /metrics/`, Prometheus/OpenMetrics text): read it, make 20 sequential requests, read
//! it again. The scrape itself (and background work such as the job poller) may run
//! statements, so each figure is the smallest of three trials minus the smallest of three
//! scrape-to-scrape differences.

use anyhow::Context;
use serde::Serialize;

use crate::http::{Conn, Target};
use crate::seed::Seed;

/// The counter read.
pub const METRIC: &str = "plaza_db_statements_total";
/// Requests between two readings.
const REQUESTS: u32 = 20;
/// Trials per figure (the smallest wins).
const TRIALS: usize = 3;

/// Statements per request of a few requests.
#[derive(Debug, Clone, Serialize)]
pub struct StatementsReport {
    /// The counter read.
    pub metric: &'static str,
    /// Whether the server exposes it.
    pub present: bool,
    /// Statements one `/metrics/` scrape adds (subtracted from every figure).
    pub scrape_baseline: Option<f64>,
    /// Said when figures are missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// One row per request.
    pub rows: Vec<StatementRow>,
}

/// Statements per request of one request.
#[derive(Debug, Clone, Serialize)]
pub struct StatementRow {
    /// What the request is.
    pub request: String,
    /// Its path.
    pub path: String,
    /// Statements per request (null when the metric is missing).
    pub statements_per_request: Option<f64>,
}

/// Measures the list at page sizes 10, 20, 100 and the detail of posts with 0 and N replies.
pub async fn statements(target: &Target, seed: &Seed) -> anyhow::Result<StatementsReport> {
    let mut rows = vec![
        (
            "list, page_size 10",
            "/posts/list/?page=1&page_size=10".to_owned(),
        ),
        (
            "list, page_size 20",
            "/posts/list/?page=1&page_size=20".to_owned(),
        ),
        (
            "list, page_size 100",
            "/posts/list/?page=1&page_size=100".to_owned(),
        ),
    ];
    if let Some(id) = seed.empty_post {
        rows.push(("detail, 0 replies", format!("/posts/detail/{id}/")));
    }
    if let Some(id) = seed.detail_post {
        rows.push(("detail, 20 replies", format!("/posts/detail/{id}/")));
    }
    let mut conn = Conn::new(target);
    if read_metric(&mut conn, target).await?.is_none() {
        return Ok(StatementsReport {
            metric: METRIC,
            present: false,
            scrape_baseline: None,
            note: Some(format!(
                "{METRIC} is not in GET /metrics/ on this server: statements per request not measured"
            )),
            rows: rows
                .into_iter()
                .map(|(request, path)| StatementRow {
                    request: request.to_owned(),
                    path,
                    statements_per_request: None,
                })
                .collect(),
        });
    }
    let mut baseline = f64::INFINITY;
    for _ in 0..TRIALS {
        let a = read_metric(&mut conn, target).await?.unwrap_or_default();
        let b = read_metric(&mut conn, target).await?.unwrap_or_default();
        baseline = baseline.min(b - a);
    }
    let mut out = Vec::new();
    for (request, path) in rows {
        let req = target.get(&path, None);
        let mut best = f64::INFINITY;
        for _ in 0..TRIALS {
            let before = read_metric(&mut conn, target).await?.unwrap_or_default();
            for _ in 0..REQUESTS {
                let status = conn.send(&req).await.with_context(|| path.clone())?;
                anyhow::ensure!(status == 200, "{path}: status {status}");
            }
            let after = read_metric(&mut conn, target).await?.unwrap_or_default();
            best = best.min(after - before);
        }
        out.push(StatementRow {
            request: request.to_owned(),
            path,
            statements_per_request: Some(((best - baseline) / f64::from(REQUESTS)).max(0.0)),
        });
    }
    Ok(StatementsReport {
        metric: METRIC,
        present: true,
        scrape_baseline: Some(baseline),
        note: None,
        rows: out,
    })
}

async fn read_metric(conn: &mut Conn, target: &Target) -> anyhow::Result<Option<f64>> {
    let status = conn
        .send(&target.get("/metrics/", None))
        .await
        .context("GET /metrics/")?;
    if status != 200 {
        return Ok(None);
    }
    Ok(parse_metric(&conn.body_text(), METRIC))
}

/// The sum of every series of `name` in Prometheus or OpenMetrics text.
pub fn parse_metric(text: &str, name: &str) -> Option<f64> {
    let mut total = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let value = if let Some(labelled) = rest.strip_prefix('{') {
            labelled.rsplit_once('}').map(|(_, v)| v)
        } else if rest.starts_with(' ') {
            Some(rest)
        } else {
            None
        };
        let Some(value) = value.and_then(|v| v.split_whitespace().next()) else {
            continue;
        };
        if let Ok(v) = value.parse::<f64>() {
            *total.get_or_insert(0.0) += v;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_series_and_ignores_lookalikes() {
        let text = "# TYPE plaza_db_statements counter\n\
            plaza_db_statements_total{kind=\"select\"} 10\n\
            plaza_db_statements_total{kind=\"update\"} 2.0\n\
            plaza_db_statements_total_created 17\n\
            plaza_other 5\n# EOF\n";
        assert_eq!(parse_metric(text, METRIC), Some(12.0));
        assert_eq!(
            parse_metric("plaza_db_statements_total 7\n", METRIC),
            Some(7.0)
        );
        assert_eq!(parse_metric("plaza_other 1\n", METRIC), None);
    }
}

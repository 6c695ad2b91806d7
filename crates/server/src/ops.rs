//! Operations endpoints: `/metrics` (Prometheus text format).

use std::time::Duration;

use actix_web::{web, HttpResponse};
use plaza_kernel::metrics::Metrics;
use plaza_kernel::Db;

/// Mounts `/metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics/").get(metrics));
}

async fn metrics(metrics: web::Data<Metrics>, db: web::Data<Db>) -> HttpResponse {
    let (open, idle) = db.pool_state();
    metrics.db_connections.set(i64::from(open));
    metrics.db_idle_connections.set(i64::from(idle));
    // The queue's depth, sampled now; a slow or absent database leaves the last sample.
    let sampled = tokio::time::timeout(
        Duration::from_secs(2),
        plaza_kernel::jobs::sample_depth(&db, &metrics),
    )
    .await;
    if !matches!(sampled, Ok(Ok(_))) {
        tracing::warn!("could not sample the job queue's depth for /metrics");
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(metrics.encode())
}

//! Liveness (`GET /health`) and readiness (`GET /api/v1/core/system/health/`).

use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use plaza_kernel::{db, Bus, Cache, Db};
use serde::Serialize;
use utoipa::ToSchema;

/// How long one probe may take before it counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Liveness: the process answers. No dependency is touched, so a load balancer does not pull
/// every instance when the database blinks.
#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok`.
    pub status: &'static str,
}

/// One dependency's probe.
#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    /// The probe succeeded.
    pub ok: bool,
    /// How long it took.
    pub latency_ms: f64,
    /// `mysql`, `sqlite`, `redis` or `memory`.
    pub kind: &'static str,
    /// Why it failed (safe to show: no credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every dependency's probe.
#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    /// The database.
    pub database: Check,
    /// The cache.
    pub cache: Check,
    /// The bus.
    pub bus: Check,
}

/// Readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`; `degraded` when the cache or bus fails; `down` when the database fails.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The probes.
    pub checks: Checks,
}

/// Liveness probe.
#[utoipa::path(
    get,
    path = "/health/",
    tag = "core",
    responses((status = 200, description = "The process is up", body = Liveness))
)]
pub async fn liveness() -> HttpResponse {
    HttpResponse::Ok().json(Liveness { status: "ok" })
}

/// Probes the database, cache and bus; 503 when the database is down.
#[utoipa::path(
    get,
    path = "/api/v1/core/system/health/",
    tag = "core",
    responses(
        (status = 200, description = "Database up (cache or bus may be degraded)", body = Health),
        (status = 503, description = "Database down", body = Health),
    )
)]
pub async fn system_health(
    db: web::Data<Db>,
    cache: web::Data<Cache>,
    bus: web::Data<Bus>,
) -> HttpResponse {
    let database = probe(db.backend().as_str(), {
        let db = db.clone();
        async move {
            db.run(|conn| Ok(db::ping(conn)?))
                .await
                .map_err(|e| e.detail().to_owned())
        }
    });
    let cache_check = probe(cache.kind(), async {
        cache.ping().await.map_err(|e| e.to_string())
    });
    let bus_check = probe(bus.kind(), async {
        bus.ping().await.map_err(|e| e.to_string())
    });
    let (database, cache_check, bus_check) = tokio::join!(database, cache_check, bus_check);

    let status = if !database.ok {
        "down"
    } else if cache_check.ok && bus_check.ok {
        "ok"
    } else {
        "degraded"
    };
    let body = Health {
        status,
        checks: Checks {
            database,
            cache: cache_check,
            bus: bus_check,
        },
    };
    if status == "down" {
        HttpResponse::ServiceUnavailable().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

async fn probe(
    kind: &'static str,
    fut: impl std::future::Future<Output = Result<(), String>>,
) -> Check {
    let started = Instant::now();
    let result = tokio::time::timeout(PROBE_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()));
    let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    Check {
        ok: result.is_ok(),
        latency_ms,
        kind,
        error: result.err(),
    }
}

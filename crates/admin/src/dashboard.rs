//! `/admin/`: the models grouped by domain, and the dashboard — every domain's per-day charts
//! (sign-ups, posts, AI tokens and cost) as server-drawn SVG, its figures "now" (live streams),
//! WebSocket connections in this process, the job queue's depth and dead jobs, and the health
//! of the database, cache and bus.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use plaza_kernel::admin::AdminContext;
use plaza_kernel::jobs::store;
use serde::Serialize;

use crate::charts;
use crate::render::{ConsoleData, PageError};
use crate::session::Staff;

/// Days the charts cover.
pub const DAYS: u32 = 14;

#[derive(Serialize)]
struct ChartView {
    title: &'static str,
    unit: &'static str,
    total: String,
    svg: Option<String>,
    error: Option<String>,
}

#[derive(Serialize)]
struct Figure {
    label: String,
    value: String,
    bad: bool,
}

fn figure(label: &str, value: &dyn std::fmt::Display, bad: bool) -> Figure {
    Figure {
        label: label.to_owned(),
        value: value.to_string(),
        bad,
    }
}

fn total(values: impl Iterator<Item = f64>, unit: &str) -> String {
    let sum: f64 = values.sum();
    if unit == "USD" {
        format!("{sum:.2} USD")
    } else {
        format!("{sum:.0} {unit}")
    }
}

async fn health(staff: &Staff) -> Vec<Figure> {
    let services = &staff.services;
    let db = services
        .db
        .run(|conn| Ok(plaza_kernel::db::ping(conn)?))
        .await;
    let cache = services.cache.ping().await;
    let bus = services.bus.ping().await;
    let state = |ok: bool| if ok { "ok" } else { "failing" };
    vec![
        figure(
            &format!("Database ({})", services.db.backend().as_str()),
            &state(db.is_ok()),
            db.is_err(),
        ),
        figure(
            &format!("Cache ({})", services.cache.kind()),
            &state(cache.is_ok()),
            cache.is_err(),
        ),
        figure(
            &format!("Bus ({})", services.bus.kind()),
            &state(bus.is_ok()),
            bus.is_err(),
        ),
    ]
}

/// `GET /admin/`.
pub async fn index(
    req: HttpRequest,
    staff: Staff,
    console: ConsoleData,
) -> Result<HttpResponse, PageError> {
    let ctx = AdminContext {
        services: staff.services.clone(),
        caller: staff.caller.clone(),
        request: req.clone(),
        history: plaza_kernel::admin::History::default(),
    };
    let mut chart_views = Vec::new();
    for chart in console.registry.charts() {
        let view = match (chart.series)(ctx.clone(), DAYS).await {
            Ok(points) => ChartView {
                title: chart.title,
                unit: chart.unit,
                total: total(points.iter().map(|p| p.value), chart.unit),
                svg: charts::bars(&points, chart.unit),
                error: None,
            },
            Err(e) => ChartView {
                title: chart.title,
                unit: chart.unit,
                total: String::new(),
                svg: None,
                error: Some(e.detail().to_owned()),
            },
        };
        chart_views.push(view);
    }

    let mut now = Vec::new();
    for gauge in console.registry.gauges() {
        match (gauge.value)(ctx.clone()).await {
            Ok(v) => now.push(figure(gauge.label, &v, false)),
            Err(e) => now.push(figure(gauge.label, &e.detail(), true)),
        }
    }
    now.push(figure(
        "WebSocket connections (this process)",
        &staff.services.realtime.open_connections(),
        false,
    ));
    match staff
        .services
        .db
        .run(|conn| Ok(store::depth(conn, plaza_kernel::time::now())?))
        .await
    {
        Ok(depth) => {
            now.push(figure("Jobs queued", &depth.queued, false));
            now.push(figure("Jobs due now", &depth.due, false));
            now.push(figure("Jobs running", &depth.running, false));
            now.push(figure("Dead jobs", &depth.dead, depth.dead > 0));
        }
        Err(e) => now.push(figure("Job queue", &e.detail(), true)),
    }

    console.page(
        StatusCode::OK,
        "dashboard.html",
        Some(&staff),
        minijinja::context! {
            charts => chart_views,
            now => now,
            health => health(&staff).await,
            days => DAYS,
        },
    )
}

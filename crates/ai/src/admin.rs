//! The AI domain on the staff console's dashboard: tokens and cost per day, from the daily
//! roll-up (`ai_daily_stats`, refreshed every 10 minutes, today included), so the dashboard
//! never scans the request log.

use diesel::prelude::*;
use plaza_kernel::admin::{self, Admin, AdminContext, AdminFuture, Chart, Point};

use crate::schema::ai_daily_stats;

/// The AI domain in the console.
pub const ADMIN: Admin = Admin {
    models: &[],
    charts: &[
        Chart {
            title: "AI tokens per day",
            unit: "tokens",
            series: tokens_per_day,
        },
        Chart {
            title: "AI cost per day",
            unit: "USD",
            series: cost_per_day,
        },
    ],
    gauges: &[],
};

/// Micro-units per US dollar (money is stored in micro-units).
const MICROS_PER_USD: f64 = 1_000_000.0;

/// Each day's rows of the roll-up since the window's first day: (day, tokens, cost in USD).
fn daily(ctx: &AdminContext, days: u32) -> AdminFuture<Vec<(chrono::NaiveDate, f64, f64)>> {
    ctx.read(move |conn, _| {
        let (first, _) = admin::window(days);
        let rows: Vec<(chrono::NaiveDate, i64, i64, i64)> = ai_daily_stats::table
            .filter(ai_daily_stats::day.ge(first))
            .select((
                ai_daily_stats::day,
                ai_daily_stats::prompt_tokens,
                ai_daily_stats::completion_tokens,
                ai_daily_stats::cost,
            ))
            .load(conn)?;
        #[allow(clippy::cast_precision_loss)]
        let rows = rows
            .into_iter()
            .map(|(day, prompt, completion, cost)| {
                (
                    day,
                    (prompt + completion) as f64,
                    cost as f64 / MICROS_PER_USD,
                )
            })
            .collect();
        Ok(rows)
    })
}

fn series(days: u32, values: impl Iterator<Item = (chrono::NaiveDate, f64)>) -> Vec<Point> {
    let (first, _) = admin::window(days);
    let today = plaza_kernel::time::now().date();
    admin::per_day(
        first,
        today,
        values.map(|(day, v)| (day.and_time(chrono::NaiveTime::MIN), v)),
    )
}

fn tokens_per_day(ctx: AdminContext, days: u32) -> AdminFuture<Vec<Point>> {
    let rows = daily(&ctx, days);
    Box::pin(async move {
        let rows = rows.await?;
        Ok(series(days, rows.into_iter().map(|(d, t, _)| (d, t))))
    })
}

fn cost_per_day(ctx: AdminContext, days: u32) -> AdminFuture<Vec<Point>> {
    let rows = daily(&ctx, days);
    Box::pin(async move {
        let rows = rows.await?;
        Ok(series(days, rows.into_iter().map(|(d, _, c)| (d, c))))
    })
}

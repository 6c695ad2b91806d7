//! The HTTP scenarios: health, list, detail, create, reply, login, and the list while logins
//! run.

use anyhow::Context;
use serde_json::json;

use super::Ctx;
use crate::http::Request;
use crate::load::{measure_cpu, run_http, HttpLoad, Window};
use crate::seed::PASSWORD;
use crate::stats::{merge_errors, Latency, RunStats};

/// The list path every list scenario reads.
pub const LIST_PATH: &str = "/posts/list/?page=1";

/// `GET /health`.
pub async fn health(ctx: Ctx<'_>) -> anyhow::Result<RunStats> {
    let req = ctx.target.get("/health", None);
    run_simple(ctx, get_load(ctx, req)).await
}

/// `GET /posts/list/?page=1`.
pub async fn list(ctx: Ctx<'_>) -> anyhow::Result<RunStats> {
    run_simple(ctx, list_load(ctx)).await
}

/// `GET /posts/detail/{id}/` of the post with replies.
pub async fn detail(ctx: Ctx<'_>) -> anyhow::Result<RunStats> {
    let id = ctx.seed.detail_post.context("no detail post was seeded")?;
    let req = ctx.target.get(&format!("/posts/detail/{id}/"), None);
    run_simple(ctx, get_load(ctx, req)).await
}

/// `POST /posts/create/`, connection `i` as author `i % authors`.
pub async fn create(ctx: Ctx<'_>) -> anyhow::Result<RunStats> {
    anyhow::ensure!(!ctx.seed.authors.is_empty(), "no authors were seeded");
    let requests = (0..ctx.settings.connections)
        .map(|i| {
            let author = &ctx.seed.authors[i % ctx.seed.authors.len()];
            let body = json!({
                "title": format!("Load post by {}", author.username),
                "content": "Written by plaza-bench's create scenario.",
            });
            ctx.target
                .post_json("/posts/create/", Some(&author.token), &body.to_string())
        })
        .collect();
    let load = HttpLoad {
        connections: ctx.settings.connections,
        requests,
        expect: 201,
    };
    run_simple(ctx, load).await
}

/// `POST /posts/reply/create/{post}/`: connection `i` answers seeded post `i % posts` as the
/// author after that post's, so that every reply tells the post's author (a notice), as most
/// replies do.
pub async fn reply(ctx: Ctx<'_>) -> anyhow::Result<RunStats> {
    anyhow::ensure!(!ctx.seed.authors.is_empty(), "no authors were seeded");
    anyhow::ensure!(!ctx.seed.posts.is_empty(), "no posts were seeded");
    let requests = (0..ctx.settings.connections)
        .map(|i| {
            let post = ctx.seed.posts[i % ctx.seed.posts.len()];
            // The seed wrote post i as author i % authors.
            let author = &ctx.seed.authors[(i + 1) % ctx.seed.authors.len()];
            let body = json!({
                "content": format!("Written by plaza-bench's reply scenario as {}.", author.username),
            });
            ctx.target.post_json(
                &format!("/posts/reply/create/{post}/"),
                Some(&author.token),
                &body.to_string(),
            )
        })
        .collect();
    let load = HttpLoad {
        connections: ctx.settings.connections,
        requests,
        expect: 201,
    };
    run_simple(ctx, load).await
}

/// `POST /users/login/` over `login_connections` connections.
pub async fn login(ctx: Ctx<'_>) -> anyhow::Result<RunStats> {
    run_simple(ctx, login_load(ctx)?).await
}

/// The list load and the login loops at once over the same window; the list's figures, with
/// the logins' in `extra`.
pub async fn list_during_login(ctx: Ctx<'_>) -> anyhow::Result<RunStats> {
    let list = list_load(ctx);
    let logins = login_load(ctx)?;
    let window = Window::starting_now(ctx.settings.warmup(), ctx.settings.duration());
    let cpu = measure_cpu(window, ctx.server_pid);
    let (list_result, login_result) = tokio::join!(
        run_http(ctx.target, &list, window),
        run_http(ctx.target, &logins, window)
    );
    let login_latency = Latency::of(&login_result.hist);
    let login_ops = login_result.ops;
    let login_errors: u64 = login_result.errors.values().sum();
    let login_first_error = login_result.first_error.clone();
    let mut stats = list_result.into_stats(&window);
    merge_errors(&mut stats.errors, &login_result.errors);
    if stats.first_error.is_none() {
        stats.first_error = login_first_error.map(|e| format!("login: {e}"));
    }
    stats.cpu = cpu.await.context("CPU sampler")?;
    #[allow(clippy::cast_precision_loss)]
    let extra = [
        ("login_ops", login_ops as f64),
        (
            "login_ops_per_s",
            crate::stats::rate(login_ops, window.seconds()),
        ),
        ("login_p50_ms", login_latency.p50_ms),
        ("login_p99_ms", login_latency.p99_ms),
        ("login_max_ms", login_latency.max_ms),
        ("login_errors", login_errors as f64),
    ];
    stats.extra = extra.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    Ok(stats)
}

fn get_load(ctx: Ctx<'_>, req: Request) -> HttpLoad {
    HttpLoad {
        connections: ctx.settings.connections,
        requests: vec![req],
        expect: 200,
    }
}

fn list_load(ctx: Ctx<'_>) -> HttpLoad {
    get_load(ctx, ctx.target.get(LIST_PATH, None))
}

/// `POST /users/login/` over `login_connections` connections, one seeded author each.
pub fn login_load(ctx: Ctx<'_>) -> anyhow::Result<HttpLoad> {
    anyhow::ensure!(!ctx.seed.authors.is_empty(), "no users were seeded");
    let connections = ctx.settings.login_connections.max(1);
    let requests = (0..connections)
        .map(|i| {
            let user = &ctx.seed.authors[i % ctx.seed.authors.len()];
            let body = json!({"username": user.username, "password": PASSWORD});
            ctx.target
                .post_json("/users/login/", None, &body.to_string())
        })
        .collect();
    Ok(HttpLoad {
        connections,
        requests,
        expect: 200,
    })
}

async fn run_simple(ctx: Ctx<'_>, load: HttpLoad) -> anyhow::Result<RunStats> {
    let window = Window::starting_now(ctx.settings.warmup(), ctx.settings.duration());
    let cpu = measure_cpu(window, ctx.server_pid);
    let result = run_http(ctx.target, &load, window).await;
    let mut stats = result.into_stats(&window);
    stats.cpu = cpu.await.context("CPU sampler")?;
    Ok(stats)
}

//! Seeds a server through the forum's public paths only (`/users/register/`,
//! `/posts/create/`, `/posts/reply/create/{id}/`), so a scenario runs against any server that
//! speaks them. Every user name carries a random prefix, so seeding twice never collides.

use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::http::{Conn, Request, Target};

/// The password of every seeded user.
pub const PASSWORD: &str = "Bench-Passw0rd!x";

/// Concurrent registrations (the server hashes each with bcrypt).
const REGISTER_CONCURRENCY: usize = 4;
/// Concurrent post and reply creations.
const WRITE_CONCURRENCY: usize = 8;

/// A registered user.
#[derive(Debug, Clone)]
pub struct Account {
    /// User name (for logins).
    pub username: String,
    /// Access token from registration.
    pub token: String,
}

/// What to create.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeedPlan {
    /// Users, who also author the posts.
    pub authors: usize,
    /// Posts, spread over the authors.
    pub posts: usize,
    /// Replies to one post (the detail post).
    pub replies: usize,
}

/// What was created.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    /// The users.
    pub authors: Vec<Account>,
    /// Post ids, in creation order.
    pub posts: Vec<i64>,
    /// A post with `replies` replies.
    pub detail_post: Option<i64>,
    /// A post without replies.
    pub empty_post: Option<i64>,
    /// How long seeding took.
    pub seconds: f64,
}

/// Creates what `plan` asks for on `target`.
pub async fn seed(target: &Target, plan: SeedPlan) -> anyhow::Result<Seed> {
    let started = Instant::now();
    let prefix = format!(
        "bench{}",
        Alphanumeric
            .sample_string(&mut rand::rng(), 6)
            .to_ascii_lowercase()
    );
    let authors = register_all(target, &prefix, plan.authors).await?;
    let posts = if plan.posts > 0 {
        create_posts(target, &authors, plan.posts).await?
    } else {
        Vec::new()
    };
    let mut seed = Seed {
        authors,
        posts,
        ..Seed::default()
    };
    if plan.replies > 0 {
        let post = match seed.posts.first() {
            Some(id) => *id,
            None => create_posts(target, &seed.authors, 1)
                .await?
                .first()
                .copied()
                .context("no post created")?,
        };
        create_replies(target, &seed.authors, post, plan.replies).await?;
        seed.detail_post = Some(post);
        seed.empty_post = match seed.posts.get(1) {
            Some(id) => Some(*id),
            None => create_posts(target, &seed.authors, 1)
                .await?
                .first()
                .copied(),
        };
    }
    seed.seconds = started.elapsed().as_secs_f64();
    Ok(seed)
}

/// Registers `n` users named `<prefix>_<i>`.
pub async fn register_all(target: &Target, prefix: &str, n: usize) -> anyhow::Result<Vec<Account>> {
    let mut tasks = JoinSet::new();
    for worker in 0..REGISTER_CONCURRENCY.min(n) {
        let target = target.clone();
        let prefix = prefix.to_owned();
        tasks.spawn(async move {
            let mut conn = Conn::new(&target);
            let mut made = Vec::new();
            for i in (worker..n).step_by(REGISTER_CONCURRENCY) {
                let username = format!("{prefix}_{i}");
                made.push((i, register(&target, &mut conn, &username).await?));
            }
            anyhow::Ok(made)
        });
    }
    let mut all = collect(tasks).await?;
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, a)| a).collect())
}

/// Registers one user through `/users/register/`.
pub async fn register(target: &Target, conn: &mut Conn, username: &str) -> anyhow::Result<Account> {
    let body = json!({
        "username": username,
        "email": format!("{username}@example.com"),
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    });
    let value = call(
        conn,
        &target.post_json("/users/register/", None, &body.to_string()),
        &[200, 201],
        "register",
    )
    .await?;
    let token = find_str(
        &value,
        &[
            &["access"],
            &["tokens", "access"],
            &["data", "access"],
            &["token"],
        ],
    )
    .with_context(|| format!("no access token in the registration answer: {value}"))?;
    Ok(Account {
        username: username.to_owned(),
        token,
    })
}

async fn create_posts(target: &Target, authors: &[Account], n: usize) -> anyhow::Result<Vec<i64>> {
    if authors.is_empty() {
        bail!("posts need at least one author");
    }
    let mut tasks = JoinSet::new();
    for worker in 0..WRITE_CONCURRENCY.min(n) {
        let target = target.clone();
        let authors = authors.to_vec();
        tasks.spawn(async move {
            let mut conn = Conn::new(&target);
            let mut made = Vec::new();
            for i in (worker..n).step_by(WRITE_CONCURRENCY) {
                let author = &authors[i % authors.len()];
                let body = json!({
                    "title": format!("Bench post {i}"),
                    "content": format!("Seeded by plaza-bench as {}: post {i} of {n}.", author.username),
                });
                let req = target.post_json("/posts/create/", Some(&author.token), &body.to_string());
                let value = call(&mut conn, &req, &[200, 201], "create post").await?;
                let id = find_i64(&value, &[&["id"], &["data", "id"], &["post", "id"]])
                    .with_context(|| format!("no post id in {value}"))?;
                made.push((i, id));
            }
            anyhow::Ok(made)
        });
    }
    let mut all = collect(tasks).await?;
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, id)| id).collect())
}

async fn create_replies(
    target: &Target,
    authors: &[Account],
    post: i64,
    n: usize,
) -> anyhow::Result<()> {
    let mut tasks = JoinSet::new();
    for worker in 0..WRITE_CONCURRENCY.min(n) {
        let target = target.clone();
        let authors = authors.to_vec();
        tasks.spawn(async move {
            let mut conn = Conn::new(&target);
            for i in (worker..n).step_by(WRITE_CONCURRENCY) {
                let author = &authors[i % authors.len()];
                let body = json!({"content": format!("Reply {i} by {}.", author.username)});
                let req = target.post_json(
                    &format!("/posts/reply/create/{post}/"),
                    Some(&author.token),
                    &body.to_string(),
                );
                call(&mut conn, &req, &[200, 201], "create reply").await?;
            }
            anyhow::Ok(Vec::<()>::new())
        });
    }
    collect(tasks).await?;
    Ok(())
}

async fn collect<T: 'static>(mut tasks: JoinSet<anyhow::Result<Vec<T>>>) -> anyhow::Result<Vec<T>> {
    let mut all = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        all.extend(joined.map_err(|e| anyhow!("seeding task failed: {e}"))??);
    }
    Ok(all)
}

/// Sends `req`, checks the status is one of `ok`, and parses the JSON answer.
pub async fn call(conn: &mut Conn, req: &Request, ok: &[u16], what: &str) -> anyhow::Result<Value> {
    let status = conn.send(req).await.with_context(|| what.to_owned())?;
    if !ok.contains(&status) {
        bail!(
            "{what}: status {status}: {}",
            crate::load::truncate(&conn.body_text(), 500)
        );
    }
    if conn.body().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(conn.body()).with_context(|| format!("{what}: the answer is not JSON"))
}

fn find<'a>(value: &'a Value, paths: &[&[&str]]) -> Option<&'a Value> {
    paths.iter().find_map(|path| {
        let found = path.iter().try_fold(value, |v, key| v.get(key))?;
        (!found.is_null()).then_some(found)
    })
}

fn find_str(value: &Value, paths: &[&[&str]]) -> Option<String> {
    find(value, paths)?.as_str().map(str::to_owned)
}

fn find_i64(value: &Value, paths: &[&[&str]]) -> Option<i64> {
    let found = find(value, paths)?;
    found
        .as_i64()
        .or_else(|| found.as_str().and_then(|s| s.parse().ok()))
}

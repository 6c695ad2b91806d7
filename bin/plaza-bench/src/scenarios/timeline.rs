//! The social timeline (issue 13): `GET /api/v1/social/posts/?scope=timeline` as a reader who
//! follows 1 000 of 10 000 users who wrote 100 000 feed posts — first page (`timeline`) and a
//! cursor near the oldest end of the reader's feed (`timeline_deep`), which must cost what the
//! first page does.
//!
//! **Seeding.** Registering 10 000 users through the API would hash 10 000 passwords (an hour
//! at bcrypt cost 12), and 100 000 posts one request each would dominate the suite. So the
//! graph is written straight into the server's database through the bench's own connection
//! (diesel, which the suite already uses to create MySQL databases): `INSERT`s of generated
//! rows — users with an unusable password (nobody logs in as them), the reader's follows, the
//! posts (ten per user, interleaved by author, one in ten friends-only — spread evenly — which
//! the reader may not see since they have no friends), and the home timeline rows the server
//! would have written as the posts were published (each author's, and the reader's of the
//! public posts of those they follow). The reader is the first seeded author,
//! registered through the API like every other bench user, so the measured requests are
//! authenticated as a client's are. Seeding runs once per database, on the first timeline
//! run, and is reported in the run's `extra` (`seed_s`, `users`, `posts`). Under `--quick`
//! the graph is a tenth of the size.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::sql_types::BigInt;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use rand::distr::{Alphanumeric, SampleString};

use super::Ctx;
use crate::load::{measure_cpu, run_http, HttpLoad, Window};
use crate::stats::RunStats;

/// The timeline's path (first page).
pub const TIMELINE_PATH: &str = "/api/v1/social/posts/?scope=timeline&page_size=20";

/// What was seeded for the timeline.
#[derive(Debug, Clone)]
pub struct TimelineSeed {
    /// The reader's access token.
    pub token: String,
    /// A cursor near the oldest end of the reader's feed.
    pub deep_cursor: String,
    /// Users created (besides the bench's authors).
    pub users: usize,
    /// Users the reader follows.
    pub follows: usize,
    /// Feed posts created.
    pub posts: usize,
    /// Seconds seeding took.
    pub seconds: f64,
}

/// The graph's size: users, follows, posts per user.
fn size(quick: bool) -> (usize, usize, usize) {
    if quick {
        (1_000, 100, 10)
    } else {
        (10_000, 1_000, 10)
    }
}

static SEEDED: Mutex<Option<HashMap<String, Arc<TimelineSeed>>>> = Mutex::new(None);

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The statements that write the graph, in order; `{first}` and `{reader}` are replaced by
/// the first seeded user's id and the reader's once known.
struct GraphSql {
    users: Vec<String>,
    first: String,
    reader: String,
    follows: String,
    posts: String,
    home: String,
    oldest: String,
}

fn graph_sql(
    reader: &str,
    prefix: &str,
    (users, follows, per_user): (usize, usize, usize),
) -> GraphSql {
    let at = "'2026-12-01 00:00:00'";
    let inserts = (0..users)
        .collect::<Vec<_>>()
        .chunks(1_000)
        .map(|chunk| {
            let rows: Vec<String> = chunk
                .iter()
                .map(|i| {
                    let name = format!("{prefix}u{i}");
                    format!(
                        "('{name}', '{name}', '{name}@bench.invalid', '{name}@bench.invalid', '!', '', '{{}}', {at}, {at})"
                    )
                })
                .collect();
            format!(
                "INSERT INTO users (username, username_key, email, email_key, password, bio, \
                 privacy_settings, date_joined, updated_at) VALUES {}",
                rows.join(", ")
            )
        })
        .collect();
    let digits: Vec<String> = (0..per_user).map(|k| format!("SELECT {k} AS k")).collect();
    // Every `step`-th user is followed, so followed authors' posts are spread evenly over
    // the feed (posts are written round by round, each round in user order).
    let step = (users / follows.max(1)).max(1);
    GraphSql {
        users: inserts,
        first: format!("SELECT MIN(id) AS id FROM users WHERE username LIKE '{prefix}u%'"),
        reader: format!("SELECT id FROM users WHERE username = '{reader}'"),
        follows: format!(
            "INSERT INTO social_follows (follower_id, followee_id, created_at) \
             SELECT {{reader}}, id, {at} FROM users WHERE username LIKE '{prefix}u%' \
             AND (id - {{first}}) % {step} = 0 AND id < {{first}} + {step} * {follows}"
        ),
        posts: format!(
            "INSERT INTO social_posts (author_id, content, visibility, group_id, attachment_ids, \
             like_count, comment_count, created_at, updated_at) \
             SELECT u.id, 'A seeded feed post for the timeline benchmark.', \
             CASE WHEN (u.id + n.k) % 10 = 9 THEN 'friends' ELSE 'public' END, NULL, '[]', 0, 0, {at}, {at} \
             FROM users u CROSS JOIN ({}) n WHERE u.username LIKE '{prefix}u%' ORDER BY n.k, u.id",
            digits.join(" UNION ALL ")
        ),
        // The home timeline rows the server writes as each post is published (crate
        // plaza-social's `home`): one for its author, one for each follower of a public one.
        home: "INSERT INTO social_home (reader_id, post_id) \
             SELECT author_id, id FROM social_posts WHERE author_id >= {first} \
             UNION SELECT f.follower_id, p.id FROM social_posts p \
             JOIN social_follows f ON f.followee_id = p.author_id \
             WHERE p.author_id >= {first} AND p.group_id IS NULL AND p.visibility = 'public'"
            .to_owned(),
        // Near the oldest end: a fifth into the first round of posts, so the page after it
        // is still full (followed authors wrote a tenth of every round).
        oldest: format!(
            "SELECT MIN(id) + {} AS id FROM social_posts WHERE author_id >= {{first}}",
            users / 5
        ),
    }
}

/// Runs [`GraphSql`] on a concrete connection in one transaction; the deep cursor's post id.
macro_rules! write_graph {
    ($conn:expr, $sql:expr) => {{
        let sql: GraphSql = $sql;
        $conn.transaction::<_, anyhow::Error, _>(|conn| {
            for insert in &sql.users {
                diesel::sql_query(insert.as_str()).execute(conn)?;
            }
            let first: Id = diesel::sql_query(sql.first.as_str()).get_result(conn)?;
            let reader: Id = diesel::sql_query(sql.reader.as_str()).get_result(conn)?;
            let fill = |q: &str| {
                q.replace("{first}", &first.id.to_string())
                    .replace("{reader}", &reader.id.to_string())
            };
            diesel::sql_query(fill(&sql.follows)).execute(conn)?;
            diesel::sql_query(sql.posts.as_str()).execute(conn)?;
            diesel::sql_query(fill(&sql.home)).execute(conn)?;
            let oldest: Id = diesel::sql_query(fill(&sql.oldest)).get_result(conn)?;
            Ok(oldest.id)
        })
    }};
}

/// Seeds the graph on `database_url` once, for the reader (the first seeded author).
async fn seeded(ctx: Ctx<'_>) -> anyhow::Result<Arc<TimelineSeed>> {
    let url = ctx
        .database_url
        .context("the timeline scenario seeds through the database: give --database-url")?
        .to_owned();
    if let Some(seed) = SEEDED
        .lock()
        .ok()
        .and_then(|s| s.as_ref().and_then(|m| m.get(&url).cloned()))
    {
        return Ok(seed);
    }
    let reader = ctx
        .seed
        .authors
        .first()
        .context("no reader (author) was seeded")?
        .clone();
    let prefix = format!(
        "tl{}",
        Alphanumeric
            .sample_string(&mut rand::rng(), 6)
            .to_ascii_lowercase()
    );
    let graph = size(ctx.settings.quick);
    let started = Instant::now();
    let (username, db_url) = (reader.username.clone(), url.clone());
    let deep = tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
        if db_url.starts_with("mysql://") {
            let mut conn = diesel::MysqlConnection::establish(&db_url)?;
            write_graph!(conn, graph_sql(&username, &prefix, graph))
        } else {
            let path = db_url.strip_prefix("sqlite:").unwrap_or(&db_url);
            let path = path.strip_prefix("//").unwrap_or(path);
            let mut conn = diesel::SqliteConnection::establish(path)?;
            diesel::sql_query("PRAGMA busy_timeout = 10000").execute(&mut conn)?;
            write_graph!(conn, graph_sql(&username, &prefix, graph))
        }
    })
    .await??;
    let seed = Arc::new(TimelineSeed {
        token: reader.token,
        deep_cursor: URL_SAFE_NO_PAD.encode(deep.to_string()),
        users: graph.0,
        follows: graph.1,
        posts: graph.0 * graph.2,
        seconds: started.elapsed().as_secs_f64(),
    });
    eprintln!(
        "plaza-bench:   timeline: seeded {} users, {} follows, {} posts in {:.1} s",
        seed.users, seed.follows, seed.posts, seed.seconds
    );
    if let Ok(mut map) = SEEDED.lock() {
        map.get_or_insert_with(HashMap::new)
            .insert(url, seed.clone());
    }
    Ok(seed)
}

/// The reader's timeline: the first page, or (`deep`) the page after a cursor near its end.
pub async fn timeline(ctx: Ctx<'_>, deep: bool) -> anyhow::Result<RunStats> {
    let seed = seeded(ctx).await?;
    let path = if deep {
        format!("{TIMELINE_PATH}&cursor={}", seed.deep_cursor)
    } else {
        TIMELINE_PATH.to_owned()
    };
    let load = HttpLoad {
        connections: ctx.settings.connections,
        requests: vec![ctx.target.get(&path, Some(&seed.token))],
        expect: 200,
    };
    let window = Window::starting_now(ctx.settings.warmup(), ctx.settings.duration());
    let cpu = measure_cpu(window, ctx.server_pid);
    let result = run_http(ctx.target, &load, window).await;
    let mut stats = result.into_stats(&window);
    stats.cpu = cpu.await.context("CPU sampler")?;
    #[allow(clippy::cast_precision_loss)]
    for (key, value) in [
        ("seed_s", seed.seconds),
        ("users", seed.users as f64),
        ("follows", seed.follows as f64),
        ("posts", seed.posts as f64),
    ] {
        stats.extra.insert(key.to_owned(), value);
    }
    Ok(stats)
}

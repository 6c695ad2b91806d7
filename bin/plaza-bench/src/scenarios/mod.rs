//! The scenarios, what each needs seeded, and running one `--repeats` times.

pub mod gateway;
pub mod http;
pub mod idle;
pub mod mixed;
pub mod presence;
pub mod soak;
pub mod statements;
pub mod timeline;
pub mod ws;

use std::time::Duration;

use serde::Serialize;

use crate::http::Target;
use crate::report::ScenarioReport;
use crate::seed::{Seed, SeedPlan};
use crate::stats::{RunStats, Summary};

/// Every scenario, in the order the suite runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Scenario {
    /// `GET /health`: the ceiling of this machine for this generator.
    Health,
    /// `GET /posts/list/?page=1` over the seeded posts.
    List,
    /// `GET /posts/detail/{id}/` of a post with 20 replies.
    Detail,
    /// `POST /posts/create/`, connections spread over the authors' tokens.
    Create,
    /// `POST /posts/reply/create/{id}/`, connections spread over the seeded posts, each reply
    /// to another author's post.
    Reply,
    /// `POST /users/login/` (bcrypt-bound), 4 connections.
    Login,
    /// The list load while 4 login loops run.
    ListDuringLogin,
    /// One creator, N viewers, 30 frames/s.
    WsPaced,
    /// One creator, N viewers, frames as fast as the server takes them.
    WsFlood,
    /// K idle authenticated WebSockets and the server's RSS.
    Idle,
    /// `list` against a server without the forum read cache (`POSTS_CACHE_TTL=0`).
    ListUncached,
    /// `detail` against a server without the forum read cache.
    DetailUncached,
    /// `POST /v1/chat/completions` through the AI gateway to a fake upstream, beside the
    /// same load sent to the fake directly.
    Gateway,
    /// The same, streamed (SSE chunks, usage chunk, `[DONE]`).
    GatewayStream,
    /// The social timeline's first page over a seeded graph (scenarios/timeline.rs).
    Timeline,
    /// The social timeline's page after a cursor near its oldest end.
    TimelineDeep,
    /// N users in one world, 10 moves/s each; one slow reader (issue 14).
    Presence,
    /// Reads and writes together (90 : 8) with login loops beside them (issue 16).
    Mixed,
    /// Reads, paced writes, logins and a paced relay for `--duration` (minutes), the server's
    /// memory and descriptors sampled every 10 s; not in the suite (`make soak`).
    Soak,
}

impl Scenario {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::List => "list",
            Self::Detail => "detail",
            Self::Create => "create",
            Self::Reply => "reply",
            Self::Login => "login",
            Self::ListDuringLogin => "list_during_login",
            Self::WsPaced => "ws_paced",
            Self::WsFlood => "ws_flood",
            Self::Idle => "idle",
            Self::ListUncached => "list_uncached",
            Self::DetailUncached => "detail_uncached",
            Self::Gateway => "gateway",
            Self::GatewayStream => "gateway_stream",
            Self::Timeline => "timeline",
            Self::TimelineDeep => "timeline_deep",
            Self::Presence => "presence",
            Self::Mixed => "mixed",
            Self::Soak => "soak",
        }
    }

    /// One line on what it measures.
    pub fn description(self) -> &'static str {
        match self {
            Self::Health => "GET /health — the generator's ceiling on this machine",
            Self::List => "GET /posts/list/?page=1",
            Self::Detail => "GET /posts/detail/{id}/ (20 replies)",
            Self::Create => "POST /posts/create/ (Bearer, many authors)",
            Self::Reply => "POST /posts/reply/create/{id}/ (many posts, each another's)",
            Self::Login => "POST /users/login/ (bcrypt)",
            Self::ListDuringLogin => "GET /posts/list/?page=1 while 4 login loops run",
            Self::WsPaced => "WS relay 1 → viewers, 4 KiB frames at 30/s",
            Self::WsFlood => "WS relay 1 → viewers, 4 KiB frames as fast as accepted",
            Self::Idle => "idle authenticated WebSockets (opening rate)",
            Self::ListUncached => "GET /posts/list/?page=1, POSTS_CACHE_TTL=0",
            Self::DetailUncached => "GET /posts/detail/{id}/, POSTS_CACHE_TTL=0",
            Self::Gateway => {
                "POST /v1/chat/completions via the AI gateway (fake upstream; direct in extra)"
            }
            Self::GatewayStream => {
                "POST /v1/chat/completions stream via the AI gateway (direct in extra)"
            }
            Self::Timeline => {
                "GET /api/v1/social/posts/?scope=timeline (10k users, 1k followed, 100k posts)"
            }
            Self::TimelineDeep => "the same timeline after a cursor near its oldest end",
            Self::Presence => "WS world presence: N users × 10 moves/s, send → user_moved",
            Self::Mixed => {
                "90 % list and detail, 8 % replies and posts over the authors, with login loops"
            }
            Self::Soak => "reads, 50 writes/s, logins and a 30 fps relay; RSS and fds every 10 s",
        }
    }

    /// Whether its figures are a fraction of the `health` ceiling (HTTP request rates).
    pub fn is_http(self) -> bool {
        !matches!(
            self,
            Self::WsPaced | Self::WsFlood | Self::Idle | Self::Presence | Self::Soak
        )
    }

    /// What it needs seeded, on its own (the suite seeds everything once).
    pub fn plan(self, settings: &Settings) -> SeedPlan {
        let authors = settings.authors.max(1);
        match self {
            Self::Health => SeedPlan::default(),
            Self::List | Self::ListUncached | Self::ListDuringLogin | Self::Mixed | Self::Reply => {
                SeedPlan {
                    authors,
                    posts: settings.posts,
                    replies: 0,
                }
            }
            Self::Soak => SeedPlan {
                authors,
                posts: settings.posts,
                replies: settings.replies,
            },
            Self::Detail | Self::DetailUncached => SeedPlan {
                authors,
                posts: 2,
                replies: settings.replies,
            },
            Self::Create | Self::WsPaced | Self::WsFlood | Self::Gateway | Self::GatewayStream => {
                SeedPlan {
                    authors,
                    ..SeedPlan::default()
                }
            }
            Self::Timeline | Self::TimelineDeep => SeedPlan {
                authors: 1,
                ..SeedPlan::default()
            },
            Self::Presence => SeedPlan {
                authors: settings.viewers.max(2),
                ..SeedPlan::default()
            },
            Self::Login | Self::Idle => SeedPlan {
                authors: settings.login_connections.clamp(1, authors),
                ..SeedPlan::default()
            },
        }
    }
}

/// How long and how hard each scenario runs.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Measured seconds per run.
    pub duration_s: f64,
    /// Warm-up seconds before each run's measurement.
    pub warmup_s: f64,
    /// Runs per scenario.
    pub repeats: usize,
    /// HTTP connections.
    pub connections: usize,
    /// Login loops (`login`, `list_during_login`).
    pub login_connections: usize,
    /// WebSocket viewers.
    pub viewers: usize,
    /// Idle WebSockets.
    pub idle: usize,
    /// Seeded users.
    pub authors: usize,
    /// Seeded posts.
    pub posts: usize,
    /// Replies of the detail post.
    pub replies: usize,
    /// `--quick` (smoke test) settings.
    pub quick: bool,
}

impl Settings {
    /// The measured part of a run.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration_s)
    }

    /// The warm-up of a run.
    pub fn warmup(&self) -> Duration {
        Duration::from_secs_f64(self.warmup_s)
    }
}

/// What a scenario runs against.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The server.
    pub target: &'a Target,
    /// What was seeded.
    pub seed: &'a Seed,
    /// Durations and sizes.
    pub settings: &'a Settings,
    /// The server's pid, for CPU and RSS (local servers, or `--pid`).
    pub server_pid: Option<u32>,
    /// The server's database, for scenarios that seed through it (`timeline`).
    pub database_url: Option<&'a str>,
}

/// Runs `scenario` once.
pub async fn run_once(scenario: Scenario, ctx: Ctx<'_>) -> anyhow::Result<RunStats> {
    match scenario {
        Scenario::Health => http::health(ctx).await,
        Scenario::List | Scenario::ListUncached => http::list(ctx).await,
        Scenario::Detail | Scenario::DetailUncached => http::detail(ctx).await,
        Scenario::Create => http::create(ctx).await,
        Scenario::Reply => http::reply(ctx).await,
        Scenario::Login => http::login(ctx).await,
        Scenario::ListDuringLogin => http::list_during_login(ctx).await,
        Scenario::WsPaced => ws::relay(ctx, ws::Pace::Paced { fps: 30 }).await,
        Scenario::WsFlood => ws::relay(ctx, ws::Pace::Flood).await,
        Scenario::Idle => idle::idle(ctx).await,
        Scenario::Gateway => gateway::gateway(ctx, false).await,
        Scenario::GatewayStream => gateway::gateway(ctx, true).await,
        Scenario::Timeline => timeline::timeline(ctx, false).await,
        Scenario::TimelineDeep => timeline::timeline(ctx, true).await,
        Scenario::Presence => presence::presence(ctx).await,
        Scenario::Mixed => mixed::mixed(ctx).await,
        Scenario::Soak => soak::soak(ctx).await,
    }
}

/// Runs `scenario` `--repeats` times (once for `idle` and `soak`, which measure memory)
/// and summarises. A run that cannot be set up counts as a `setup` error.
pub async fn run_repeated(scenario: Scenario, ctx: Ctx<'_>) -> ScenarioReport {
    let repeats = if matches!(scenario, Scenario::Idle | Scenario::Soak) {
        1
    } else {
        ctx.settings.repeats.max(1)
    };
    let mut runs = Vec::with_capacity(repeats);
    for i in 0..repeats {
        let run = match run_once(scenario, ctx).await {
            Ok(run) => run,
            Err(err) => RunStats::failed(&err),
        };
        eprintln!(
            "plaza-bench:   {} run {}/{}: {:.0} ops/s, p99 {:.2} ms, errors {}{}",
            scenario.name(),
            i + 1,
            repeats,
            run.ops_per_s,
            run.latency.p99_ms,
            run.error_count(),
            run.first_error
                .as_deref()
                .or(run.failure.as_deref())
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        runs.push(run);
    }
    let summary = Summary::of(&runs);
    ScenarioReport {
        name: scenario.name().to_owned(),
        description: scenario.description().to_owned(),
        http: scenario.is_http(),
        summary,
        runs,
    }
}

//! # plaza-streaming
//!
//! Live video signalling: the forum's WebRTC protocol at `WS /ws/webrtc/` (offer, answer and
//! ICE relay, video frame relay, as API.md §8 describes it message for message), streams and
//! their statistics in `video_streams` and `stream_connections`, and the REST API at
//! `/api/v1/streams/` (list, detail with live statistics and peers, end, ICE servers with TURN
//! credentials).
//!
//! It builds on the kernel's realtime layer: each connection has a bounded outbound queue that
//! drops delta frames first and never signalling, and each stream is a room on the Bus, so
//! peers connected to different `plaza serve` processes sharing Redis are in one stream.
//!
//! The server plugs it in through [`DOMAIN`]: its settings section ([`StreamingSettings`],
//! `STREAM_*`, `STUN_URLS`, `TURN_*`), routes, OpenAPI document, the reaper job, its counts, and
//! the per-process [`Runtime`](runtime::Runtime) started with the server and flushed at
//! shutdown. Mounted alone, [`configure`] needs the kernel's `Db`, `Cache`, `Config`,
//! `TokenCodec`, `Metrics` and `Realtime` in app data (all registered by `Services::register`),
//! and reads `web::Data<StreamingSettings>` when there is one (the defaults otherwise).
//!
//! ```no_run
//! use actix_web::{web, HttpServer};
//! use plaza_kernel::domain::{parse_settings, Started};
//! use plaza_kernel::{http, Config, Services};
//! use plaza_streaming::StreamingSettings;
//!
//! /// Only the routes, with settings built in code.
//! async fn routes_alone() -> Result<(), Box<dyn std::error::Error>> {
//!     let services = Services::connect(Config::load()?).await?;
//!     HttpServer::new(move || {
//!         http::app(&services, |cfg| {
//!             cfg.app_data(web::Data::new(StreamingSettings::defaults()));
//!             plaza_streaming::configure(cfg);
//!         })
//!     })
//!     .bind(("127.0.0.1", 8000))?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//!
//! /// The whole domain, as the server mounts it: settings from the environment, the runtime
//! /// started with the server and flushed when it stops.
//! async fn whole_domain() -> Result<(), Box<dyn std::error::Error>> {
//!     let domains = [plaza_streaming::DOMAIN];
//!     let config = Config::load()?;
//!     let sections = parse_settings(&domains, config.vars())?;
//!     let services = Services::connect(config).await?.with_sections(sections);
//!     let started = std::sync::Arc::new(Started::start(&domains, &services));
//!     let (app_services, app_started) = (services.clone(), started.clone());
//!     HttpServer::new(move || {
//!         let started = app_started.clone();
//!         http::app(&app_services, move |cfg| {
//!             started.register(cfg);
//!             for domain in &domains {
//!                 (domain.configure)(cfg);
//!             }
//!         })
//!     })
//!     .bind(("127.0.0.1", 8000))?
//!     .run()
//!     .await?;
//!     started.stop(&services).await;
//!     Ok(())
//! }
//! ```

pub mod admin;
pub mod ice;
pub mod jobs;
pub mod model;
pub mod protocol;
pub mod reaper;
pub mod routes;
pub mod runtime;
pub mod service;
mod session;
pub mod settings;
pub mod types;

use actix_web::web;
use diesel::prelude::*;
use plaza_kernel::counts::Counts;
use plaza_kernel::domain::Domain;
use plaza_kernel::schema::video_streams;
use plaza_kernel::Realtime;
use utoipa::OpenApi;

pub use jobs::register_jobs;
pub use session::webrtc_socket;
pub use settings::StreamingSettings;

/// The streaming domain, as the server plugs it in: settings, routes, OpenAPI, the reaper,
/// `live_streams` and `open_websockets`, and this process's [`Runtime`](runtime::Runtime).
pub const DOMAIN: Domain = Domain {
    name: "streaming",
    settings: |env, sections| sections.parse::<StreamingSettings>(env),
    configure,
    openapi: || <ApiDoc as OpenApi>::openapi(),
    jobs: register_jobs,
    counts: |counts, services| add_counts(counts, services.realtime.clone()),
    start: runtime::start,
    before_user_delete: |_, _| Ok(()),
    admin: admin::ADMIN,
};

/// The OpenAPI description of this crate's endpoints.
#[derive(OpenApi)]
#[openapi(
    paths(
        routes::list_streams,
        routes::get_ice_servers,
        routes::get_stream,
        routes::end_stream,
        session::webrtc_socket,
    ),
    components(schemas(
        types::StreamSummary,
        types::StreamDetail,
        types::StreamStatistics,
        types::PeerView,
        types::StatusFilter,
        types::Ordering,
        protocol::PeerUser,
        ice::IceServers,
        ice::IceServer,
    )),
    tags((name = "streaming", description = "Live video: WebRTC signalling over WebSocket, streams and statistics"))
)]
pub struct ApiDoc;

/// Mounts `/api/v1/streams/` and `/ws/webrtc/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws/webrtc/").get(session::webrtc_socket))
        .service(
            web::scope("/api/v1/streams")
                .service(web::resource("/").get(routes::list_streams))
                // Before `{id}`, which would match it too.
                .service(web::resource("/ice-servers/").get(routes::get_ice_servers))
                .service(web::resource("/{id}/").get(routes::get_stream))
                .service(web::resource("/{id}/end/").post(routes::end_stream)),
        );
}

/// Adds this domain's system counts: `live_streams` (every process) and `open_websockets`
/// (WebSockets open in this process, every endpoint).
pub fn add_counts(counts: Counts, realtime: web::Data<Realtime>) -> Counts {
    counts
        .system("live_streams", |conn| {
            video_streams::table
                .filter(video_streams::status.eq(model::LIVE))
                .count()
                .get_result(conn)
        })
        .system("open_websockets", move |_| Ok(realtime.open_connections()))
}

//! `/api/v1/streams/`: list, detail with live statistics and peers, end, and ICE servers.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use plaza_kernel::db::like;
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::PageParams;
use plaza_kernel::schema::video_streams;
use plaza_kernel::{
    ApiError, ApiResult, Caller, Db, DbConn, MaybeCaller, Page, PageRequest, ValidQuery,
};
use plaza_users::public::{authors_by_id, Author};

use crate::ice::{self, IceServers};
use crate::model::{self, StatsDelta, StreamRow};
use crate::runtime::{ProcessRuntime, Runtime};
use crate::service;
use crate::settings::StreamingSettings;
use crate::types::{
    Ordering, PeerView, StatusFilter, StreamDetail, StreamFilters, StreamStatistics, StreamSummary,
};

type Backend = <DbConn as diesel::Connection>::Backend;

/// The streams the caller may see, filtered.
fn filtered<'a>(
    filters: &'a StreamFilters,
    caller: Option<&Caller>,
) -> video_streams::BoxedQuery<'a, Backend> {
    let mut query = video_streams::table.into_boxed();
    match caller {
        Some(c) if c.is_staff() => {}
        Some(c) => {
            query = query.filter(
                video_streams::is_public
                    .eq(true)
                    .or(video_streams::owner_id.eq(c.id)),
            );
        }
        None => query = query.filter(video_streams::is_public.eq(true)),
    }
    if let Some(status) = filters.status {
        query = query.filter(video_streams::status.eq(match status {
            StatusFilter::Live => model::LIVE,
            StatusFilter::Ended => model::ENDED,
        }));
    }
    if let Some(owner) = filters.owner {
        query = query.filter(video_streams::owner_id.eq(owner));
    }
    for term in filters.search.iter().flat_map(|s| s.split_whitespace()) {
        query = query.filter(
            video_streams::title
                .like(like::contains(term))
                .escape(like::ESCAPE),
        );
    }
    query
}

/// Lists streams: public ones, the caller's own, and every stream for staff.
#[utoipa::path(
    get,
    path = "/api/v1/streams/",
    tag = "streaming",
    params(StreamFilters, PageParams),
    responses(
        (status = 200, description = "A page of streams", body = Page<StreamSummary>),
        (status = 400, description = "Invalid filter", body = ErrorBody),
        (status = 404, description = "Invalid page", body = ErrorBody),
    )
)]
pub async fn list_streams(
    db: web::Data<Db>,
    caller: MaybeCaller,
    page: PageRequest,
    filters: ValidQuery<StreamFilters>,
) -> ApiResult<HttpResponse> {
    let filters = filters.into_inner();
    let caller = caller.0;
    let result = db
        .run(move |conn| {
            let count: i64 = filtered(&filters, caller.as_ref())
                .count()
                .get_result(conn)?;
            let query = filtered(&filters, caller.as_ref());
            let query = match filters.ordering.unwrap_or_default() {
                Ordering::CreatedAt => {
                    query.order((video_streams::created_at.asc(), video_streams::id.asc()))
                }
                Ordering::CreatedAtDesc => {
                    query.order((video_streams::created_at.desc(), video_streams::id.desc()))
                }
                Ordering::PeakPeers => {
                    query.order((video_streams::peak_peers.asc(), video_streams::id.asc()))
                }
                Ordering::PeakPeersDesc => {
                    query.order((video_streams::peak_peers.desc(), video_streams::id.desc()))
                }
            };
            page.paginate(count, |window| {
                let rows: Vec<StreamRow> = query
                    .select(StreamRow::as_select())
                    .limit(window.limit)
                    .offset(window.offset)
                    .load(conn)?;
                let owners: Vec<i64> = rows.iter().map(|r| r.owner_id).collect();
                let owners = authors_by_id(conn, &owners)?;
                Ok(rows
                    .iter()
                    .map(|row| StreamSummary::new(row, owner_card(&owners, row.owner_id)))
                    .collect())
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

fn owner_card(owners: &HashMap<i64, Author>, id: i64) -> Author {
    owners.get(&id).cloned().unwrap_or(Author {
        id,
        username: String::new(),
        avatar: None,
    })
}

/// A stream with its statistics and connected peers. Counters include what this process has
/// not written yet; peers held by other processes are up to `STREAM_STATS_FLUSH_INTERVAL`
/// behind.
#[utoipa::path(
    get,
    path = "/api/v1/streams/{id}/",
    tag = "streaming",
    params(("id" = String, Path, description = "The stream's UUID")),
    responses(
        (status = 200, description = "The stream", body = StreamDetail),
        (status = 404, description = "No such stream (or a private one, anonymously)", body = ErrorBody),
    )
)]
pub async fn get_stream(
    id: web::Path<String>,
    caller: MaybeCaller,
    db: web::Data<Db>,
    runtime: ProcessRuntime,
) -> ApiResult<HttpResponse> {
    let detail = load_detail(&db, &runtime, id.into_inner(), caller.0.is_some()).await?;
    Ok(HttpResponse::Ok().json(detail))
}

async fn load_detail(
    db: &Db,
    runtime: &Runtime,
    id: String,
    authenticated: bool,
) -> ApiResult<StreamDetail> {
    let (stream, rows, users, owner) = db
        .run(move |conn| {
            let stream = model::find_stream(conn, &id)?;
            if !stream.is_public && !authenticated {
                return Err(ApiError::not_found("Not found."));
            }
            let rows = model::open_connections(conn, &id)?;
            let users = service::users_of(conn, &rows)?;
            let owner = owner_card(&authors_by_id(conn, &[stream.owner_id])?, stream.owner_id);
            Ok((stream, rows, users, owner))
        })
        .await?;
    let unflushed = runtime.unflushed_by_connection(&stream.id);
    let pending = unflushed
        .values()
        .fold(StatsDelta::default(), |acc, d| acc.plus(*d));
    let end = stream.ended_at.unwrap_or_else(|| Utc::now().naive_utc());
    let statistics = StreamStatistics {
        frames: stream.frames + pending.frames_sent,
        bytes: stream.bytes + pending.bytes_sent,
        frames_dropped: stream.frames_dropped + pending.frames_dropped,
        total_connections: stream.total_connections,
        current_peers: stream.current_peers,
        peak_peers: stream.peak_peers,
        duration_seconds: (end - stream.created_at).num_seconds().max(0),
    };
    let peers = rows
        .iter()
        .map(|row| {
            PeerView::new(
                row,
                row.user_id.and_then(|u| users.get(&u).cloned()),
                unflushed.get(&row.id).copied().unwrap_or_default(),
            )
        })
        .collect();
    Ok(StreamDetail {
        stream: StreamSummary::new(&stream, owner),
        statistics,
        peers,
    })
}

/// Ends a live stream: every peer receives `stream_ended` and is removed. Owner or staff.
#[utoipa::path(
    post,
    path = "/api/v1/streams/{id}/end/",
    tag = "streaming",
    params(("id" = String, Path, description = "The stream's UUID")),
    responses(
        (status = 200, description = "The ended stream", body = StreamDetail),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Neither the owner nor staff", body = ErrorBody),
        (status = 404, description = "No such stream", body = ErrorBody),
        (status = 409, description = "Already ended", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = []))
)]
pub async fn end_stream(
    id: web::Path<String>,
    caller: Caller,
    db: web::Data<Db>,
    runtime: ProcessRuntime,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    service::requests::end_stream(&runtime, id.clone(), caller).await?;
    let detail = load_detail(&db, &runtime, id, true).await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// STUN and TURN servers for `RTCPeerConnection`, TURN with credentials valid for
/// `TURN_TTL`. Needs an authenticated caller unless anonymous viewers are allowed.
#[utoipa::path(
    get,
    path = "/api/v1/streams/ice-servers/",
    tag = "streaming",
    responses(
        (status = 200, description = "ICE servers", body = IceServers),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
    security((), ("jwt" = []), ("api_key" = []))
)]
pub async fn get_ice_servers(req: HttpRequest, caller: MaybeCaller) -> ApiResult<HttpResponse> {
    let settings = StreamingSettings::of(&req);
    let user = match caller.0 {
        Some(caller) => caller.id.to_string(),
        None if settings.allow_anonymous => "anonymous".to_owned(),
        None => return Err(ApiError::not_authenticated()),
    };
    Ok(HttpResponse::Ok().json(ice::ice_servers(&settings, &user, Utc::now())))
}

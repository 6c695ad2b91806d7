//! Streams in the staff console: the list (live or ended, busiest first), a stream's figures,
//! the "end" bulk action (peers are told and the room closed, as by the API), and the number
//! of live streams on the dashboard.

use actix_web::FromRequest;
use diesel::prelude::*;
use plaza_kernel::admin::{
    Action, Admin, AdminContext, AdminFuture, AdminModel, Column, Filter, Gauge, ListPage,
    ListRequest, Record, Row,
};
use plaza_kernel::db::MultiBackend;
use plaza_kernel::schema::video_streams;
use plaza_kernel::ApiError;

use crate::model::{self, StreamRow, ENDED, LIVE};
use crate::runtime::ProcessRuntime;

/// The streaming domain in the console.
pub const ADMIN: Admin = Admin {
    models: &[STREAMS],
    charts: &[],
    gauges: &[Gauge {
        label: "Live streams",
        value: live_streams,
    }],
};

/// Video streams.
pub const STREAMS: AdminModel = AdminModel {
    columns: &[
        Column::new("title", "Title"),
        Column::new("owner", "Owner id"),
        Column::new("status", "Status"),
        Column::new("peers", "Peers now"),
        Column::new("peak", "Peak"),
        Column::new("created_at", "Created"),
    ],
    filters: &[Filter {
        key: "status",
        label: "Status",
        choices: &[(LIVE, "Live"), (ENDED, "Ended")],
    }],
    orderings: &[("-created_at", "Newest"), ("-peak_peers", "Busiest")],
    actions: &[Action::new("end", "End the selected live streams")],
    act,
    ..AdminModel::new("streams", "Streams", list, get)
};

fn list(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let status = request.filter("status").map(str::to_owned);
        let filtered = || {
            let mut query = video_streams::table.into_boxed::<MultiBackend>();
            if let Some(status) = &status {
                query = query.filter(video_streams::status.eq(status.clone()));
            }
            query
        };
        let count: i64 = filtered().count().get_result(conn)?;
        let busiest = request.ordering.as_deref() == Some("-peak_peers");
        let page = request.page_request().paginate(count, |window| {
            let query = if busiest {
                filtered().order((video_streams::peak_peers.desc(), video_streams::id.desc()))
            } else {
                filtered().order((video_streams::created_at.desc(), video_streams::id.desc()))
            };
            Ok(query
                .select(StreamRow::as_select())
                .limit(window.limit)
                .offset(window.offset)
                .load(conn)?)
        })?;
        Ok(ListPage::from_page(page, |s| {
            Row::new(&s.id)
                .cell("title", &s.title)
                .cell("owner", s.owner_id)
                .cell("status", &s.status)
                .cell("peers", s.current_peers)
                .cell("peak", s.peak_peers)
                .cell("created_at", s.created_at.format("%Y-%m-%d %H:%M"))
        }))
    })
}

fn get(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let s = model::find_stream(conn, &id)?;
        Ok(Record::new(&s.id, &s.title)
            .detail("Owner id", s.owner_id)
            .detail("Status", &s.status)
            .detail("End reason", s.end_reason.as_deref().unwrap_or("—"))
            .detail("Public", s.is_public)
            .detail("Peers now", s.current_peers)
            .detail("Peak peers", s.peak_peers)
            .detail("Connections", s.total_connections)
            .detail("Frames", s.frames)
            .detail("Bytes", s.bytes)
            .detail("Frames dropped", s.frames_dropped)
            .detail("Created", s.created_at.format("%Y-%m-%d %H:%M:%S UTC")))
    })
}

fn act(ctx: AdminContext, action: String, ids: Vec<String>) -> AdminFuture<usize> {
    Box::pin(async move {
        if action != "end" {
            return Err(ApiError::bad_request(format!("No action \"{action}\".")));
        }
        let runtime = ProcessRuntime::extract(&ctx.request).await?;
        let mut ended = 0;
        for id in ids {
            crate::service::requests::end_stream(&runtime, id, ctx.caller.clone()).await?;
            ended += 1;
        }
        Ok(ended)
    })
}

fn live_streams(ctx: AdminContext) -> AdminFuture<i64> {
    ctx.read(|conn, _| {
        Ok(video_streams::table
            .filter(video_streams::status.eq(LIVE))
            .count()
            .get_result(conn)?)
    })
}

//! The metaverse in the staff console: worlds (search, filter by visibility, a world's facts,
//! deletion with everything in it), through this crate's services.

use plaza_kernel::admin::{
    self, Admin, AdminContext, AdminFuture, AdminModel, Column, Delete, Filter, ListPage,
    ListRequest, Record, Row,
};

use crate::types::{Visibility, WorldQuery};
use crate::worlds;

/// The metaverse in the console.
pub const ADMIN: Admin = Admin {
    models: &[WORLDS],
    charts: &[],
    gauges: &[],
};

/// Worlds.
pub const WORLDS: AdminModel = AdminModel {
    columns: &[
        Column::new("name", "Name"),
        Column::new("owner", "Owner"),
        Column::new("visibility", "Visibility"),
        Column::new("users", "Users now"),
        Column::new("created_at", "Created"),
    ],
    search: Some("name"),
    filters: &[Filter {
        key: "visibility",
        label: "Visibility",
        choices: &[
            ("public", "Public"),
            ("invite", "Invite"),
            ("private", "Private"),
        ],
    }],
    orderings: &[("-created_at", "Newest"), ("name", "Name")],
    delete: Some(Delete {
        preview: delete_preview,
        run: delete,
    }),
    ..AdminModel::new("worlds", "Worlds", list, get)
};

fn list(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, caller| {
        let query = WorldQuery {
            search: request.search.clone(),
            // The console passes only the declared choices.
            visibility: request.filter("visibility").map(Visibility::parse),
            ordering: request.ordering.clone(),
            ..WorldQuery::default()
        };
        let page = worlds::list(conn, Some(caller), &query, request.page_request())?;
        Ok(ListPage::from_page(page, |w| {
            Row::new(w.id)
                .cell("name", &w.name)
                .cell("owner", &w.owner.username)
                .cell("visibility", w.visibility.as_str())
                .cell("users", w.user_count)
                .cell("created_at", w.created_at.format("%Y-%m-%d %H:%M"))
        }))
    })
}

fn get(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, caller| {
        let w = worlds::get(conn, admin::numeric_id(&id)?, Some(caller))?;
        Ok(Record::new(w.id, &w.name)
            .detail("Description", &w.description)
            .detail("Owner", format!("{} (#{})", w.owner.username, w.owner.id))
            .detail("Visibility", w.visibility.as_str())
            .detail("Most users", w.max_users)
            .detail("Users now", w.user_count)
            .detail("Scene", &w.scene_url)
            .detail("Created", w.created_at.format("%Y-%m-%d %H:%M:%S UTC")))
    })
}

fn delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, caller| {
        let w = worlds::get(conn, admin::numeric_id(&id)?, Some(caller))?;
        Ok(vec![
            format!("The world \"{}\"", w.name),
            "Its objects, instances, events, permissions and sessions".to_owned(),
        ])
    })
}

fn delete(ctx: AdminContext, id: String) -> AdminFuture<()> {
    Box::pin(async move {
        let id = admin::numeric_id(&id)?;
        worlds::requests::delete(&ctx.services.db, ctx.caller.clone(), id).await
    })
}

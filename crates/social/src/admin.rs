//! The social domain in the staff console: groups (search, a group's facts, deletion with
//! its memberships and posts), through this crate's services.

use plaza_kernel::admin::{
    self, Admin, AdminContext, AdminFuture, AdminModel, Column, Delete, ListPage, ListRequest,
    Record, Row,
};

use crate::groups;

/// The social domain in the console.
pub const ADMIN: Admin = Admin {
    models: &[GROUPS],
    charts: &[],
    gauges: &[],
};

/// Groups.
pub const GROUPS: AdminModel = AdminModel {
    columns: &[
        Column::new("name", "Name"),
        Column::new("owner", "Owner"),
        Column::new("private", "Private"),
        Column::new("members", "Members"),
        Column::new("created_at", "Created"),
    ],
    search: Some("name"),
    delete: Some(Delete {
        preview: delete_preview,
        run: delete,
    }),
    ..AdminModel::new("groups", "Groups", list, get)
};

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

fn list(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, caller| {
        let page = groups::list(
            conn,
            caller.id,
            request.search.as_deref(),
            false,
            request.page_request(),
        )?;
        Ok(ListPage::from_page(page, |g| {
            Row::new(g.id)
                .cell("name", &g.name)
                .cell("owner", &g.owner.username)
                .cell("private", yes_no(g.is_private))
                .cell("members", g.member_count)
                .cell("created_at", g.created_at.format("%Y-%m-%d %H:%M"))
        }))
    })
}

fn get(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, caller| {
        let g = groups::get(conn, caller.id, admin::numeric_id(&id)?)?;
        Ok(Record::new(g.id, &g.name)
            .detail("Description", &g.description)
            .detail("Owner", format!("{} (#{})", g.owner.username, g.owner.id))
            .detail("Private", yes_no(g.is_private))
            .detail("Members", g.member_count)
            .detail("Created", g.created_at.format("%Y-%m-%d %H:%M:%S UTC")))
    })
}

fn delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, caller| {
        let g = groups::get(conn, caller.id, admin::numeric_id(&id)?)?;
        Ok(vec![
            format!("The group \"{}\"", g.name),
            format!("Its {} memberships", g.member_count),
            "The posts shared in it".to_owned(),
        ])
    })
}

fn delete(ctx: AdminContext, id: String) -> AdminFuture<()> {
    ctx.write(move |conn, caller| groups::delete(conn, caller, admin::numeric_id(&id)?))
}

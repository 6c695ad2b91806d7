//! The metaverse in the staff console: worlds (search, filter by visibility, a world's facts,
//! deletion with everything in it), events (search, upcoming, edit with the API's rules,
//! delete), the object catalogue (search, rarity, edit, delete with its instances), placed
//! instances (delete) and every user's avatars (search, delete), through this crate's
//! services. Changes run in [`AdminContext::write`], so their history shares the transaction.

use std::collections::HashMap;

use plaza_kernel::admin::{
    self, Admin, AdminContext, AdminFuture, AdminModel, Column, Delete, Field, FieldKind, Filter,
    ListPage, ListRequest, Record, Row, Values, YES_NO,
};
use plaza_kernel::ApiError;
use plaza_users::authors_by_id;

use crate::types::{
    EventPatch, EventQuery, ObjectPatch, ObjectQuery, Rarity, Visibility, WorldQuery,
};
use crate::{events, moderation, objects, worlds};

/// The metaverse in the console.
pub const ADMIN: Admin = Admin {
    models: &[WORLDS, EVENTS, OBJECTS, INSTANCES, AVATARS],
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

const TIME: &str = "%Y-%m-%d %H:%M";
const FULL_TIME: &str = "%Y-%m-%d %H:%M:%S UTC";

fn username(cards: &HashMap<i64, plaza_users::Author>, id: i64) -> String {
    cards
        .get(&id)
        .map_or_else(|| format!("#{id}"), |a| a.username.clone())
}

/// Events in worlds.
pub const EVENTS: AdminModel = AdminModel {
    columns: &[
        Column::new("title", "Title"),
        Column::new("world", "World"),
        Column::new("organizer", "Organiser"),
        Column::new("start_at", "Starts"),
        Column::new("participants", "Participants"),
    ],
    search: Some("title"),
    filters: &[Filter {
        key: "upcoming",
        label: "Not over",
        choices: &[("true", "Yes")],
    }],
    orderings: &[
        ("-start_at", "Latest start"),
        ("start_at", "Soonest"),
        ("-created_at", "Newest"),
    ],
    fields: &[
        Field::new("title", "Title", FieldKind::Text),
        Field::new("description", "Description", FieldKind::LongText),
        Field::new(
            "max_participants",
            "Most participants (empty: no limit)",
            FieldKind::Text,
        ),
    ],
    update: Some(update_event),
    delete: Some(Delete {
        preview: event_delete_preview,
        run: delete_event,
    }),
    ..AdminModel::new("events", "Events", list_events, get_event)
};

fn list_events(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, caller| {
        let query = EventQuery {
            search: request.search.clone(),
            upcoming: request.flag("upcoming"),
            ordering: Some(
                request
                    .ordering
                    .clone()
                    .unwrap_or_else(|| "-start_at".to_owned()),
            ),
            world: None,
        };
        // Staff see every world's events.
        let page = events::list(conn, Some(caller), &query, request.page_request())?;
        Ok(ListPage::from_page(page, |e| {
            Row::new(e.id)
                .cell("title", &e.title)
                .cell("world", e.world_id)
                .cell("organizer", &e.organizer.username)
                .cell("start_at", e.start_at.format(TIME))
                .cell(
                    "participants",
                    match e.max_participants {
                        Some(max) => format!("{} / {max}", e.participant_count),
                        None => e.participant_count.to_string(),
                    },
                )
        }))
    })
}

fn get_event(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, caller| {
        let e = events::get(conn, Some(caller), admin::numeric_id(&id)?)?;
        Ok(Record::new(e.id, &e.title)
            .value("title", &e.title)
            .value("description", &e.description)
            .value(
                "max_participants",
                e.max_participants
                    .map_or_else(String::new, |n| n.to_string()),
            )
            .detail("World", e.world_id)
            .detail(
                "Organiser",
                format!("{} (#{})", e.organizer.username, e.organizer.id),
            )
            .detail("Starts", e.start_at.format(FULL_TIME))
            .detail("Ends", e.end_at.format(FULL_TIME))
            .detail("Participants", e.participant_count)
            .detail("Created", e.created_at.format(FULL_TIME)))
    })
}

/// A whole number typed in a form field (empty: `None`), or that field's error.
fn optional_number<T: std::str::FromStr>(
    values: &Values,
    field: &str,
) -> Result<Option<Option<T>>, ApiError> {
    match values.text(field) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(Some(None)),
        Some(v) => v
            .trim()
            .parse::<T>()
            .map(|n| Some(Some(n)))
            .map_err(|_| ApiError::invalid_field(field, "Enter a whole number.")),
    }
}

fn update_event(ctx: AdminContext, id: String, values: Values) -> AdminFuture<()> {
    Box::pin(async move {
        let id = admin::numeric_id(&id)?;
        let patch = EventPatch {
            title: values.text("title"),
            description: values.text("description"),
            start_at: None,
            end_at: None,
            max_participants: optional_number(&values, "max_participants")?,
        };
        plaza_kernel::extract::validate(&patch)?;
        ctx.write(move |conn, caller| events::update(conn, caller, id, patch).map(drop))
            .await
    })
}

fn event_delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, caller| {
        let e = events::get(conn, Some(caller), admin::numeric_id(&id)?)?;
        Ok(vec![
            format!("The event \"{}\"", e.title),
            format!("Its {} participations", e.participant_count),
        ])
    })
}

fn delete_event(ctx: AdminContext, id: String) -> AdminFuture<()> {
    ctx.write(move |conn, caller| events::delete(conn, caller, admin::numeric_id(&id)?))
}

const RARITIES: &[admin::Choice] = &[
    ("common", "Common"),
    ("uncommon", "Uncommon"),
    ("rare", "Rare"),
    ("epic", "Epic"),
    ("legendary", "Legendary"),
];

/// The object catalogue.
pub const OBJECTS: AdminModel = AdminModel {
    columns: &[
        Column::new("name", "Name"),
        Column::new("kind", "Kind"),
        Column::new("rarity", "Rarity"),
        Column::new("price", "Price"),
        Column::new("creator", "Creator"),
        Column::new("created_at", "Created"),
    ],
    search: Some("name"),
    filters: &[Filter {
        key: "rarity",
        label: "Rarity",
        choices: RARITIES,
    }],
    orderings: &[
        ("-created_at", "Newest"),
        ("name", "Name"),
        ("-price", "Dearest"),
    ],
    fields: &[
        Field::new("name", "Name", FieldKind::Text),
        Field::new("kind", "Kind", FieldKind::Text),
        Field::new("price", "Price", FieldKind::Text),
        Field::new("rarity", "Rarity", FieldKind::Choice(RARITIES)),
    ],
    update: Some(update_object),
    delete: Some(Delete {
        preview: object_delete_preview,
        run: delete_object,
    }),
    ..AdminModel::new("objects", "Object catalogue", list_objects, get_object)
};

fn list_objects(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let query = ObjectQuery {
            search: request.search.clone(),
            rarity: request.filter("rarity").map(Rarity::parse),
            ordering: request.ordering.clone(),
            ..ObjectQuery::default()
        };
        let page = objects::list(conn, &query, request.page_request())?;
        let creators: Vec<i64> = page.results.iter().map(|o| o.creator_id).collect();
        let cards = authors_by_id(conn, &creators)?;
        Ok(ListPage::from_page(page, |o| {
            Row::new(o.id)
                .cell("name", &o.name)
                .cell("kind", &o.kind)
                .cell("rarity", o.rarity.as_str())
                .cell("price", o.price)
                .cell("creator", username(&cards, o.creator_id))
                .cell("created_at", o.created_at.format(TIME))
        }))
    })
}

fn get_object(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let o = objects::get(conn, admin::numeric_id(&id)?)?;
        let cards = authors_by_id(conn, &[o.creator_id])?;
        Ok(Record::new(o.id, &o.name)
            .value("name", &o.name)
            .value("kind", &o.kind)
            .value("price", o.price)
            .value("rarity", o.rarity.as_str())
            .detail(
                "Creator",
                format!("{} (#{})", username(&cards, o.creator_id), o.creator_id),
            )
            .detail("Model", &o.model_url)
            .detail("Properties", o.properties.to_string())
            .detail("Created", o.created_at.format(FULL_TIME)))
    })
}

fn update_object(ctx: AdminContext, id: String, values: Values) -> AdminFuture<()> {
    Box::pin(async move {
        let id = admin::numeric_id(&id)?;
        let price = match optional_number::<i64>(&values, "price")? {
            Some(None) => return Err(ApiError::invalid_field("price", "Enter a whole number.")),
            Some(Some(p)) => Some(p),
            None => None,
        };
        let patch = ObjectPatch {
            name: values.text("name"),
            kind: values.text("kind"),
            model_url: None,
            properties: None,
            price,
            // The form offers only the declared choices.
            rarity: values.text("rarity").map(|r| Rarity::parse(&r)),
        };
        plaza_kernel::extract::validate(&patch)?;
        ctx.write(move |conn, caller| objects::update(conn, caller, id, patch).map(drop))
            .await
    })
}

fn object_delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, _| {
        let o = objects::get(conn, admin::numeric_id(&id)?)?;
        Ok(vec![
            format!("The catalogue object \"{}\"", o.name),
            "Every instance of it placed in a world".to_owned(),
        ])
    })
}

fn delete_object(ctx: AdminContext, id: String) -> AdminFuture<()> {
    ctx.write(move |conn, caller| objects::delete(conn, caller, admin::numeric_id(&id)?))
}

/// Objects placed in worlds.
pub const INSTANCES: AdminModel = AdminModel {
    columns: &[
        Column::new("object", "Object"),
        Column::new("world", "World"),
        Column::new("placed_by", "Placed by"),
        Column::new("position", "Position"),
        Column::new("created_at", "Placed"),
    ],
    orderings: &[("-id", "Newest")],
    delete: Some(Delete {
        preview: instance_delete_preview,
        run: delete_instance,
    }),
    ..AdminModel::new("instances", "Placed objects", list_instances, get_instance)
};

fn named(names: &HashMap<i64, String>, id: i64) -> String {
    names
        .get(&id)
        .map_or_else(|| format!("#{id}"), |name| format!("{name} (#{id})"))
}

fn list_instances(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let page = moderation::instances(conn, None, request.page_request())?;
        let world_ids: Vec<i64> = page.results.iter().map(|i| i.world_id).collect();
        let object_ids: Vec<i64> = page.results.iter().map(|i| i.object_id).collect();
        let (world_names, object_names) = moderation::names(conn, &world_ids, &object_ids)?;
        let placers: Vec<i64> = page.results.iter().filter_map(|i| i.placed_by).collect();
        let cards = authors_by_id(conn, &placers)?;
        Ok(ListPage::from_page(page, |i| {
            Row::new(i.id)
                .cell("object", named(&object_names, i.object_id))
                .cell("world", named(&world_names, i.world_id))
                .cell(
                    "placed_by",
                    i.placed_by
                        .map_or_else(|| "—".to_owned(), |id| username(&cards, id)),
                )
                .cell(
                    "position",
                    format!("{:.1}, {:.1}, {:.1}", i.pos_x, i.pos_y, i.pos_z),
                )
                .cell("created_at", i.created_at.format(TIME))
        }))
    })
}

fn get_instance(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let i = moderation::instance(conn, admin::numeric_id(&id)?)?;
        let (world_names, object_names) = moderation::names(conn, &[i.world_id], &[i.object_id])?;
        let object = named(&object_names, i.object_id);
        Ok(Record::new(
            i.id,
            format!("{object} in {}", named(&world_names, i.world_id)),
        )
        .detail("Object", object)
        .detail("World", named(&world_names, i.world_id))
        .detail(
            "Placed by",
            i.placed_by
                .map_or_else(|| "—".to_owned(), |id| id.to_string()),
        )
        .detail("Position", format!("{}, {}, {}", i.pos_x, i.pos_y, i.pos_z))
        .detail("Rotation", format!("{}, {}, {}", i.rot_x, i.rot_y, i.rot_z))
        .detail(
            "Scale",
            format!("{}, {}, {}", i.scale_x, i.scale_y, i.scale_z),
        )
        .detail("State", &i.state)
        .detail("Placed", i.created_at.format(FULL_TIME)))
    })
}

fn instance_delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, _| {
        let i = moderation::instance(conn, admin::numeric_id(&id)?)?;
        Ok(vec![format!(
            "This placed object (the catalogue's object #{} stays)",
            i.object_id
        )])
    })
}

fn delete_instance(ctx: AdminContext, id: String) -> AdminFuture<()> {
    ctx.write(move |conn, caller| {
        objects::delete_instance(conn, caller, admin::numeric_id(&id)?).map(drop)
    })
}

/// Every user's avatars.
pub const AVATARS: AdminModel = AdminModel {
    columns: &[
        Column::new("name", "Name"),
        Column::new("owner", "Owner"),
        Column::new("is_default", "Default"),
        Column::new("created_at", "Created"),
    ],
    search: Some("name"),
    orderings: &[("-id", "Newest")],
    delete: Some(Delete {
        preview: avatar_delete_preview,
        run: delete_avatar,
    }),
    ..AdminModel::new("avatars", "Avatars", list_avatars, get_avatar)
};

fn yes_no(flag: bool) -> &'static str {
    YES_NO[usize::from(!flag)].1
}

fn list_avatars(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let page = moderation::avatars(conn, request.search.as_deref(), request.page_request())?;
        let owners: Vec<i64> = page.results.iter().map(|a| a.user_id).collect();
        let cards = authors_by_id(conn, &owners)?;
        Ok(ListPage::from_page(page, |a| {
            Row::new(a.id)
                .cell("name", &a.name)
                .cell("owner", username(&cards, a.user_id))
                .cell("is_default", yes_no(a.is_default))
                .cell("created_at", a.created_at.format(TIME))
        }))
    })
}

fn get_avatar(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let a = moderation::avatar(conn, admin::numeric_id(&id)?)?;
        let cards = authors_by_id(conn, &[a.user_id])?;
        Ok(Record::new(a.id, &a.name)
            .detail(
                "Owner",
                format!("{} (#{})", username(&cards, a.user_id), a.user_id),
            )
            .detail("Default", yes_no(a.is_default))
            .detail("Model", &a.model_url)
            .detail("Appearance", &a.appearance)
            .detail("Created", a.created_at.format(FULL_TIME)))
    })
}

fn avatar_delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, _| {
        let a = moderation::avatar(conn, admin::numeric_id(&id)?)?;
        let mut goes = vec![format!("The avatar \"{}\"", a.name)];
        if a.is_default {
            goes.push("Its owner's oldest other avatar becomes the default".to_owned());
        }
        Ok(goes)
    })
}

fn delete_avatar(ctx: AdminContext, id: String) -> AdminFuture<()> {
    ctx.write(move |conn, caller| moderation::delete_avatar(conn, caller, admin::numeric_id(&id)?))
}

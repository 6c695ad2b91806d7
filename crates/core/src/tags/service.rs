//! Tags: rows, the rules for names, slugs and colours, and the functions other domains call
//! to tag things (`resolve_names`, `add_usage`, `summaries`, `find_id`).
//!
//! Every function takes `&mut DbConn`, so it runs on a pooled connection or inside the
//! caller's transaction (posts create tags and count their use in the post's transaction).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use plaza_kernel::db::{self, like, DbConn, MultiBackend};
use plaza_kernel::error::FieldErrors;
use plaza_kernel::pagination::{parse_ordering, OrderBy};
use plaza_kernel::schema::tags;
use plaza_kernel::{ApiError, ApiResult, Page, PageRequest};
use serde::Serialize;
use utoipa::ToSchema;

/// Longest tag name, in characters.
pub const NAME_MAX: usize = 50;
/// Longest slug, in characters.
pub const SLUG_MAX: usize = 60;
/// Longest description, in characters.
pub const DESCRIPTION_MAX: usize = 1000;
/// The colour of a tag nobody chose one for.
pub const DEFAULT_COLOR: &str = "#6c757d";
/// Fields `?ordering=` accepts on the tag list.
pub const ORDERING_FIELDS: &[&str] = &["name", "usage_count", "created_at"];

/// A tag row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = tags)]
pub struct Tag {
    /// Id.
    pub id: i64,
    /// Display name, as first written.
    pub name: String,
    /// URL-safe unique name.
    pub slug: String,
    /// `#rrggbb`.
    pub color: String,
    /// Free text.
    pub description: String,
    /// How many things carry the tag.
    pub usage_count: i64,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// A tag as shown on the things it labels.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = tags)]
pub struct TagSummary {
    /// Id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// URL-safe unique name.
    pub slug: String,
    /// `#rrggbb`.
    pub color: String,
}

/// What staff give to create or change a tag: as sent ([`TagInput::raw`]), then cleaned
/// ([`TagInput::cleaned`]) once the caller may write tags.
#[derive(Clone, Debug, Default)]
pub struct TagInput {
    /// Name (required on create).
    pub name: Option<String>,
    /// Slug; derived from the name when absent on create.
    pub slug: Option<String>,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// Description.
    pub description: Option<String>,
}

impl TagInput {
    /// The fields as the client sent them, not yet checked.
    pub fn raw(
        name: Option<String>,
        slug: Option<String>,
        color: Option<String>,
        description: Option<String>,
    ) -> Self {
        Self {
            name,
            slug,
            color,
            description,
        }
    }

    /// Cleans every given field, collecting all problems at once.
    pub fn cleaned(self) -> ApiResult<Self> {
        let mut errors: FieldErrors = BTreeMap::new();
        let mut check =
            |field: &str, value: Option<String>, f: fn(&str) -> Result<String, String>| {
                value.and_then(|v| match f(&v) {
                    Ok(clean) => Some(clean),
                    Err(msg) => {
                        errors.insert(field.to_owned(), vec![msg]);
                        None
                    }
                })
            };
        let input = Self {
            name: check("name", self.name, clean_name),
            slug: check("slug", self.slug, clean_slug),
            color: check("color", self.color, clean_color),
            description: check("description", self.description, clean_description),
        };
        if errors.is_empty() {
            Ok(input)
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// The lower-case form names are unique by.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// A tag name, trimmed, or why it is not one.
pub fn clean_name(raw: &str) -> Result<String, String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let len = name.chars().count();
    if len == 0 {
        return Err("Tag names may not be blank.".to_owned());
    }
    if len > NAME_MAX {
        return Err(format!(
            "Ensure each tag has no more than {NAME_MAX} characters."
        ));
    }
    if name.chars().any(|c| c.is_control() || c == ',') {
        return Err("Tag names may not contain commas or control characters.".to_owned());
    }
    Ok(name)
}

/// A slug as given by staff, lower-cased, or why it is not one: letters (any script), digits,
/// `-` and `_`.
pub fn clean_slug(raw: &str) -> Result<String, String> {
    let slug = raw.trim().to_lowercase();
    let len = slug.chars().count();
    if len == 0 || len > SLUG_MAX {
        return Err(format!("Ensure this field has 1 to {SLUG_MAX} characters."));
    }
    if !slug
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err("Enter a valid slug: letters, numbers, underscores or hyphens.".to_owned());
    }
    Ok(slug)
}

/// A colour as `#rrggbb` in lower case, or why it is not one.
pub fn clean_color(raw: &str) -> Result<String, String> {
    let color = raw.trim();
    let hex = color.strip_prefix('#').unwrap_or("");
    if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(color.to_ascii_lowercase())
    } else {
        Err("Enter a colour as #rrggbb.".to_owned())
    }
}

/// A description, trimmed, or why it is too long.
pub fn clean_description(raw: &str) -> Result<String, String> {
    let description = raw.trim();
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(format!(
            "Ensure this field has no more than {DESCRIPTION_MAX} characters."
        ));
    }
    Ok(description.to_owned())
}

/// The slug a name suggests: lower case, letters and digits of any script kept, runs of
/// spaces, `-` and `_` turned into one `-`, other punctuation dropped (`C++` → `c`,
/// `Rust 语言` → `rust-语言`). `tag` when nothing is left.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if (c.is_whitespace() || c == '-' || c == '_') && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    // Leave room for a `-NN` suffix.
    let slug: String = slug.trim_matches('-').chars().take(SLUG_MAX - 6).collect();
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "tag".to_owned()
    } else {
        slug.to_owned()
    }
}

/// One tag, 404 when absent.
pub fn get(conn: &mut DbConn, id: i64) -> ApiResult<Tag> {
    tags::table
        .find(id)
        .select(Tag::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("Tag not found."))
}

/// Filters of the tag list.
#[derive(Clone, Debug, Default)]
pub struct TagFilter {
    /// Part of the name (case-insensitive in every script).
    pub search: Option<String>,
    /// `?ordering=`; default `-usage_count`, then name.
    pub ordering: Option<String>,
}

/// A page of tags.
pub fn list(conn: &mut DbConn, filter: &TagFilter, page: PageRequest) -> ApiResult<Page<Tag>> {
    let ordering = parse_ordering(filter.ordering.as_deref(), ORDERING_FIELDS)?;
    let pattern = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| like::contains(&name_key(s)));
    let filtered = || {
        let mut query = tags::table.into_boxed::<MultiBackend>();
        if let Some(pattern) = &pattern {
            query = query.filter(tags::name_key.like(pattern.clone()).escape(like::ESCAPE));
        }
        query
    };
    let count: i64 = filtered().count().get_result(conn)?;
    page.paginate(count, |window| {
        Ok(ordered(filtered(), ordering)
            .select(Tag::as_select())
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?)
    })
}

/// Applies `?ordering=` (default most used first), then the name, so pages are stable.
fn ordered(
    mut query: tags::BoxedQuery<'_, MultiBackend>,
    ordering: Vec<OrderBy>,
) -> tags::BoxedQuery<'_, MultiBackend> {
    let ordering = if ordering.is_empty() {
        vec![OrderBy {
            field: "usage_count",
            descending: true,
        }]
    } else {
        ordering
    };
    for order in &ordering {
        query = match (order.field, order.descending) {
            ("usage_count", false) => query.then_order_by(tags::usage_count.asc()),
            ("usage_count", true) => query.then_order_by(tags::usage_count.desc()),
            ("created_at", false) => query.then_order_by(tags::created_at.asc()),
            ("created_at", true) => query.then_order_by(tags::created_at.desc()),
            (_, false) => query.then_order_by(tags::name_key.asc()),
            (_, true) => query.then_order_by(tags::name_key.desc()),
        };
    }
    query.then_order_by(tags::name_key.asc())
}

/// Creates a tag (staff). A given slug must be free (400 `slug`); a derived one is made unique
/// with a `-2`, `-3`, … suffix. A name already used, in any case, is 400 `name`.
pub fn create(conn: &mut DbConn, input: TagInput) -> ApiResult<Tag> {
    let name = input
        .name
        .ok_or_else(|| ApiError::invalid_field("name", "This field is required."))?;
    let slug = match input.slug {
        Some(slug) => slug,
        None => free_slug(conn, &slugify(&name))?,
    };
    let now = plaza_kernel::time::now();
    diesel::insert_into(tags::table)
        .values((
            tags::name.eq(&name),
            tags::name_key.eq(name_key(&name)),
            tags::slug.eq(&slug),
            tags::color.eq(input.color.as_deref().unwrap_or(DEFAULT_COLOR)),
            tags::description.eq(input.description.as_deref().unwrap_or("")),
            tags::usage_count.eq(0_i64),
            tags::created_at.eq(now),
            tags::updated_at.eq(now),
        ))
        .execute(conn)?;
    let id = db::last_insert_id(conn)?;
    get(conn, id)
}

/// Changes the fields given (staff). Renaming keeps the slug unless a new one is given.
pub fn update(conn: &mut DbConn, id: i64, input: TagInput) -> ApiResult<Tag> {
    get(conn, id)?;
    let now = plaza_kernel::time::now();
    diesel::update(tags::table.find(id))
        .set((
            input.name.as_ref().map(|n| tags::name.eq(n.clone())),
            input.name.as_ref().map(|n| tags::name_key.eq(name_key(n))),
            input.slug.map(|s| tags::slug.eq(s)),
            input.color.map(|c| tags::color.eq(c)),
            input.description.map(|d| tags::description.eq(d)),
            tags::updated_at.eq(now),
        ))
        .execute(conn)?;
    get(conn, id)
}

/// Deletes a tag (staff); the things it labelled lose it.
pub fn delete(conn: &mut DbConn, id: i64) -> ApiResult<Tag> {
    let tag = get(conn, id)?;
    diesel::delete(tags::table.find(id)).execute(conn)?;
    Ok(tag)
}

/// `base`, or `base-2`, `base-3`, … — the first slug no tag has.
fn free_slug(conn: &mut DbConn, base: &str) -> QueryResult<String> {
    let prefix = like::starts_with(&format!("{base}-"));
    let taken: Vec<String> = tags::table
        .filter(
            tags::slug
                .eq(base)
                .or(tags::slug.like(prefix).escape(like::ESCAPE)),
        )
        .select(tags::slug)
        .load(conn)?;
    if !taken.iter().any(|s| s == base) {
        return Ok(base.to_owned());
    }
    let mut n = 2_u64;
    loop {
        let candidate = format!("{base}-{n}");
        if !taken.contains(&candidate) {
            return Ok(candidate);
        }
        n += 1;
    }
}

/// Checks and cleans tag names given by a client on another domain's object (field `field`):
/// each name cleaned, duplicates (in any case) dropped, order kept, at most `max`.
pub fn clean_names(names: &[String], field: &str, max: usize) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for raw in names {
        let name = clean_name(raw).map_err(|msg| ApiError::invalid_field(field, msg))?;
        let key = name_key(&name);
        if !out.iter().any(|n| name_key(n) == key) {
            out.push(name);
        }
    }
    if out.len() > max {
        return Err(ApiError::invalid_field(
            field,
            format!("Ensure there are no more than {max} tags."),
        ));
    }
    Ok(out)
}

/// The tags named `names` (cleaned by [`clean_names`]), creating those that do not exist yet,
/// in the order given.
///
/// Call it once *outside* any transaction first, so new tags are created and committed on
/// their own (a duplicate created concurrently is then simply found), then again inside the
/// transaction that attaches them, where it only reads. On MySQL a duplicate-key error inside
/// a longer transaction leaves a shared lock on the key that concurrent taggers would
/// deadlock on; creating tags up front keeps that path for the rare tag deleted in between.
pub fn resolve_names(conn: &mut DbConn, names: &[String]) -> ApiResult<Vec<TagSummary>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = names.iter().map(|n| name_key(n)).collect();
    let mut found: HashMap<String, TagSummary> = tags::table
        .filter(tags::name_key.eq_any(&keys))
        .select((tags::name_key, TagSummary::as_select()))
        .load::<(String, TagSummary)>(conn)?
        .into_iter()
        .collect();
    // Missing tags are created in one global order (by key), so two transactions creating
    // the same new tags wait for each other instead of deadlocking.
    let mut missing: Vec<(&String, &String)> = names
        .iter()
        .zip(&keys)
        .filter(|(_, key)| !found.contains_key(*key))
        .collect();
    missing.sort_by(|a, b| a.1.cmp(b.1));
    for (name, key) in missing {
        let tag = create_named(conn, name)?;
        found.insert(key.clone(), tag);
    }
    keys.iter()
        .map(|key| {
            found
                .get(key)
                .cloned()
                .ok_or_else(|| ApiError::internal(format!("tag {key} vanished while tagging")))
        })
        .collect()
}

/// Creates the tag `name` for a client that used it, or finds the one a concurrent
/// transaction just created under the same name.
fn create_named(conn: &mut DbConn, name: &str) -> ApiResult<TagSummary> {
    let key = name_key(name);
    let mut last_error = None;
    for _ in 0..3 {
        // A savepoint: a unique violation undoes only this attempt.
        let attempt = db::transaction(conn, |conn| {
            let slug = free_slug(conn, &slugify(name))?;
            let now = plaza_kernel::time::now();
            diesel::insert_into(tags::table)
                .values((
                    tags::name.eq(name),
                    tags::name_key.eq(&key),
                    tags::slug.eq(&slug),
                    tags::color.eq(DEFAULT_COLOR),
                    tags::description.eq(""),
                    tags::usage_count.eq(0_i64),
                    tags::created_at.eq(now),
                    tags::updated_at.eq(now),
                ))
                .execute(conn)?;
            let id = db::last_insert_id(conn)?;
            tags::table
                .find(id)
                .select(TagSummary::as_select())
                .first(conn)
        });
        match attempt {
            Ok(tag) => return Ok(tag),
            Err(err) if db::is_unique_violation(&err) => {
                // Someone created this name (or took the slug) meanwhile: use theirs, or retry.
                if let Some(tag) = find_by_key_latest(conn, &key)? {
                    return Ok(tag);
                }
                last_error = Some(err);
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(last_error.map_or_else(
        || ApiError::conflict("The tag could not be created; retry."),
        ApiError::from,
    ))
}

/// The tag with name key `key` as last committed: on MySQL a locking read, which sees rows
/// committed after this transaction's snapshot (a plain read would not).
fn find_by_key_latest(conn: &mut DbConn, key: &str) -> QueryResult<Option<TagSummary>> {
    let by_key = tags::table.filter(tags::name_key.eq(key));
    match conn {
        DbConn::Mysql(c) => by_key
            .select(TagSummary::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConn::Sqlite(_) => by_key
            .select(TagSummary::as_select())
            .first(conn)
            .optional(),
    }
}

/// Adds `delta` to the usage count of each tag in `ids`, in SQL. Call it in the transaction
/// that attaches (`+1`) or detaches (`-1`) the tags, *before* inserting the links: the update
/// locks the tag rows (in id order) first, so concurrent taggers queue instead of deadlocking
/// on the links' foreign-key checks.
pub fn add_usage(conn: &mut DbConn, ids: &[i64], delta: i64) -> QueryResult<usize> {
    if ids.is_empty() || delta == 0 {
        return Ok(0);
    }
    diesel::update(tags::table.filter(tags::id.eq_any(ids)))
        .set(tags::usage_count.eq(tags::usage_count + delta))
        .execute(conn)
}

/// `+1` for each tag in `added`, `-1` for each in `removed`, in one statement (so the rows are
/// locked in one order whatever the mix). The same rules as [`add_usage`] apply.
pub fn change_usage(conn: &mut DbConn, added: &[i64], removed: &[i64]) -> QueryResult<usize> {
    match (added.is_empty(), removed.is_empty()) {
        (true, true) => Ok(0),
        (false, true) => add_usage(conn, added, 1),
        (true, false) => add_usage(conn, removed, -1),
        (false, false) => {
            let all: Vec<i64> = added.iter().chain(removed).copied().collect();
            let delta =
                diesel::dsl::case_when(tags::id.eq_any(added.to_vec()), 1_i64.into_sql::<BigInt>())
                    .otherwise((-1_i64).into_sql::<BigInt>());
            diesel::update(tags::table.filter(tags::id.eq_any(all)))
                .set(tags::usage_count.eq(tags::usage_count + delta))
                .execute(conn)
        }
    }
}

/// Sets each tag's `usage_count` to the number of links `count_links` finds (tag id → count;
/// a tag it does not name has none) where they differ; returns how many tags changed. A repair
/// for drift (rows removed by foreign-key cascades, which no counter sees).
///
/// Run it inside a transaction. It locks every tag row first (`FOR UPDATE` on MySQL; SQLite's
/// transaction holds the write lock): taggers lock a tag before touching its links, so the
/// links `count_links` then reads (its first plain read, hence its snapshot, comes after the
/// locks) are settled.
pub fn recount_usage<F>(conn: &mut DbConn, count_links: F) -> QueryResult<usize>
where
    F: FnOnce(&mut DbConn) -> QueryResult<HashMap<i64, i64>>,
{
    recount(conn, None, count_links)
}

/// [`recount_usage`] for the tags `ids` only (locking only those rows): after a cascade that
/// removed links of known tags (an account's deletion).
pub fn recount_usage_of<F>(conn: &mut DbConn, ids: &[i64], count_links: F) -> QueryResult<usize>
where
    F: FnOnce(&mut DbConn) -> QueryResult<HashMap<i64, i64>>,
{
    if ids.is_empty() {
        return Ok(0);
    }
    recount(conn, Some(ids), count_links)
}

fn recount<F>(conn: &mut DbConn, only: Option<&[i64]>, count_links: F) -> QueryResult<usize>
where
    F: FnOnce(&mut DbConn) -> QueryResult<HashMap<i64, i64>>,
{
    let all = tags::table
        .select((tags::id, tags::usage_count))
        .order(tags::id.asc());
    let current: Vec<(i64, i64)> = match only {
        None => match conn {
            DbConn::Mysql(c) => all.for_update().load(c)?,
            DbConn::Sqlite(_) => all.load(conn)?,
        },
        Some(ids) => {
            let some = all.filter(tags::id.eq_any(ids));
            match conn {
                DbConn::Mysql(c) => some.for_update().load(c)?,
                DbConn::Sqlite(_) => some.load(conn)?,
            }
        }
    };
    let links = count_links(conn)?;
    let mut changed = 0;
    for (id, usage) in current {
        let actual = links.get(&id).copied().unwrap_or(0);
        if actual != usage {
            diesel::update(tags::table.find(id))
                .set(tags::usage_count.eq(actual))
                .execute(conn)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// The summaries of `ids`, in one query (ids that do not exist are absent).
pub fn summaries(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, TagSummary>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // A cached statement per size of the list (plaza_kernel::db::ids_in).
    Ok(tags::table
        .filter(plaza_kernel::db::ids_in(tags::id, ids))
        .select(TagSummary::as_select())
        .load(conn)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect())
}

/// The id of the tag whose slug or name (in any case) is `value`.
pub fn find_id(conn: &mut DbConn, value: &str) -> QueryResult<Option<i64>> {
    let key = name_key(value.trim());
    tags::table
        .filter(tags::slug.eq(&key).or(tags::name_key.eq(&key)))
        .select(tags::id)
        .order(tags::id.asc())
        .first(conn)
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_every_script() {
        assert_eq!(slugify("Rust 语言"), "rust-语言");
        assert_eq!(slugify("  Web -- Dev_ops "), "web-dev-ops");
        assert_eq!(slugify("C++"), "c");
        assert_eq!(slugify("++"), "tag");
        assert!(slugify(&"x".repeat(200)).chars().count() <= SLUG_MAX - 6);
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(clean_name("  Rust   lang ").unwrap(), "Rust lang");
        assert!(clean_name("   ").is_err());
        assert!(clean_name("a,b").is_err());
        assert!(clean_name(&"字".repeat(NAME_MAX)).is_ok());
        assert!(clean_name(&"字".repeat(NAME_MAX + 1)).is_err());
    }

    #[test]
    fn names_deduplicate_in_any_case() {
        let names = ["Rust".to_owned(), "rust".to_owned(), " Go ".to_owned()];
        assert_eq!(clean_names(&names, "tags", 5).unwrap(), vec!["Rust", "Go"]);
        let err = clean_names(&names, "tags", 1).unwrap_err();
        assert!(err.errors().unwrap().contains_key("tags"));
    }

    #[test]
    fn colours_and_slugs() {
        assert_eq!(clean_color("#AABBCC").unwrap(), "#aabbcc");
        assert!(clean_color("red").is_err());
        assert!(clean_color("#abc").is_err());
        assert_eq!(clean_slug("Rust-语言_1").unwrap(), "rust-语言_1");
        assert!(clean_slug("a b").is_err());
        assert!(clean_slug("").is_err());
    }
}

/// The tag requests a handler makes: staff only, each one transaction with its log entry.
pub mod requests {
    use plaza_kernel::syslog::{self, Event, Level};
    use plaza_kernel::{ApiResult, Body, Caller, Db};

    use super::{Tag, TagInput};

    /// Checks and creates a tag (staff) and logs who did, in one transaction.
    pub async fn create_tag(
        db: &Db,
        caller: Caller,
        input: Body<TagInput>,
        ip: Option<String>,
    ) -> ApiResult<Tag> {
        caller.require_staff()?;
        let input = input.parse()?.cleaned()?;
        db.transaction(move |conn| {
            let tag = super::create(conn, input)?;
            syslog::record(
                conn,
                &Event::new(
                    Level::Info,
                    "core",
                    "tag_created",
                    format!("{} created tag \"{}\"", caller.username, tag.name),
                )
                .user(caller.id)
                .ip(ip)
                .data(serde_json::json!({"tag_id": tag.id})),
            )?;
            Ok(tag)
        })
        .await
    }

    /// Checks and changes a tag (staff), in one transaction.
    pub async fn update_tag(
        db: &Db,
        caller: &Caller,
        id: i64,
        input: Body<TagInput>,
    ) -> ApiResult<Tag> {
        caller.require_staff()?;
        let input = input.parse()?.cleaned()?;
        db.transaction(move |conn| super::update(conn, id, input))
            .await
    }

    /// Deletes a tag (staff) and logs who did, in one transaction.
    pub async fn delete_tag(db: &Db, caller: Caller, id: i64, ip: Option<String>) -> ApiResult<()> {
        caller.require_staff()?;
        db.transaction(move |conn| {
            let tag = super::delete(conn, id)?;
            syslog::record(
                conn,
                &Event::new(
                    Level::Info,
                    "core",
                    "tag_deleted",
                    format!("{} deleted tag \"{}\"", caller.username, tag.name),
                )
                .user(caller.id)
                .ip(ip)
                .data(serde_json::json!({"tag_id": tag.id, "usage_count": tag.usage_count})),
            )?;
            Ok(())
        })
        .await
    }
}

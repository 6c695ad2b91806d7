//! Résumés (the forum's 简历): a basic part per user (`resumes`) and four kinds of entries
//! under it — work experience, projects, education and custom sections — each a [`Section`].
//!
//! The résumé row is created by the first write (the basic part or any entry). Reading a
//! résumé that was never written answers the empty résumé. Entries are only ever reached
//! through the caller's own résumé, so another user's entry id answers 404.

mod sections;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use plaza_kernel::db::{self, DbConn};
use plaza_kernel::error::FieldErrors;
use plaza_kernel::extract::{parse_json, validate};
use plaza_kernel::schema::resumes;
use plaza_kernel::{ApiError, ApiResult, Page, PageRequest};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use validator::Validate;

pub use sections::{
    CustomInput, CustomPatch, CustomSection, CustomSections, Education, EducationInput,
    EducationPatch, Educations, Project, ProjectInput, ProjectPatch, Projects, WorkExperience,
    WorkExperiences, WorkInput, WorkPatch,
};

use crate::types::http_url;
use crate::views::Viewer;

/// At most this many entries of each kind per résumé.
pub const MAX_ENTRIES: i64 = 100;

/// A row of `resumes`.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = resumes)]
pub struct ResumeRow {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Name as it should appear on the résumé.
    pub full_name: String,
    /// One line under the name.
    pub headline: String,
    /// Summary.
    pub summary: String,
    /// Phone.
    pub phone: String,
    /// Contact email.
    pub email: String,
    /// Location.
    pub location: String,
    /// Personal site.
    pub website: String,
    /// First written.
    pub created_at: NaiveDateTime,
    /// Last change of the résumé or any entry.
    pub updated_at: NaiveDateTime,
}

/// A whole résumé: the basic part and every entry.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Resume {
    /// Name as it should appear on the résumé.
    pub full_name: String,
    /// One line under the name.
    pub headline: String,
    /// Summary.
    pub summary: String,
    /// Phone.
    pub phone: String,
    /// Contact email.
    pub email: String,
    /// Location.
    pub location: String,
    /// Personal site.
    pub website: String,
    /// First written (null until then).
    pub created_at: Option<DateTime<Utc>>,
    /// Last change (null until written).
    pub updated_at: Option<DateTime<Utc>>,
    /// Work experience, latest first.
    pub work_experiences: Vec<WorkExperience>,
    /// Projects, latest first.
    pub projects: Vec<Project>,
    /// Education, latest first.
    pub educations: Vec<Education>,
    /// Custom sections, by `sort_order`.
    pub custom_sections: Vec<CustomSection>,
}

/// The basic part of a résumé. With PUT, fields left out become empty; with the forum's
/// `create/` path, they keep their value.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
pub struct ResumeBasic {
    /// At most 100 characters.
    #[validate(length(max = 100))]
    pub full_name: Option<String>,
    /// At most 200 characters.
    #[validate(length(max = 200))]
    pub headline: Option<String>,
    /// At most 10000 characters.
    #[validate(length(max = 10000))]
    pub summary: Option<String>,
    /// At most 32 characters: digits, spaces and `+-()`.
    #[validate(custom(function = "valid_phone"))]
    pub phone: Option<String>,
    /// A valid email address, or empty.
    #[validate(custom(function = "optional_email"))]
    pub email: Option<String>,
    /// At most 100 characters.
    #[validate(length(max = 100))]
    pub location: Option<String>,
    /// An http(s) URL, or empty.
    #[validate(custom(function = "http_url"))]
    pub website: Option<String>,
}

fn valid_phone(value: &str) -> Result<(), validator::ValidationError> {
    let ok = value.len() <= 32
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if ok {
        Ok(())
    } else {
        Err(validator::ValidationError::new("phone")
            .with_message("Enter a phone number (digits, spaces and +-()).".into()))
    }
}

fn optional_email(value: &str) -> Result<(), validator::ValidationError> {
    use validator::ValidateEmail;
    if value.trim().is_empty() || (value.len() <= 254 && value.trim().validate_email()) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("email")
            .with_message("Enter a valid email address.".into()))
    }
}

/// One kind of résumé entry. Implemented for [`WorkExperiences`], [`Projects`],
/// [`Educations`] and [`CustomSections`]; the service functions below are written once for all.
pub trait Section {
    /// A human name, for messages ("work experience").
    const NAME: &'static str;
    /// An entry as the API shows it.
    type Item: Serialize + Send + 'static;
    /// A new entry (every required field).
    type Input: DeserializeOwned + Validate + Send + 'static;
    /// A partial change.
    type Patch: DeserializeOwned + Validate + Send + 'static;

    /// The entries of a résumé, in display order.
    fn list(
        conn: &mut DbConn,
        resume_id: i64,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<Self::Item>>;
    /// How many entries a résumé has.
    fn count(conn: &mut DbConn, resume_id: i64) -> QueryResult<i64>;
    /// One entry of a résumé.
    fn find(conn: &mut DbConn, resume_id: i64, id: i64) -> QueryResult<Option<Self::Item>>;
    /// Inserts an entry; its id is `db::last_insert_id` afterwards.
    fn insert(
        conn: &mut DbConn,
        resume_id: i64,
        input: &Self::Input,
        now: NaiveDateTime,
    ) -> QueryResult<()>;
    /// Changes an entry; the number of rows matched (0: not this résumé's).
    fn update(
        conn: &mut DbConn,
        resume_id: i64,
        id: i64,
        patch: &Self::Patch,
        now: NaiveDateTime,
    ) -> QueryResult<usize>;
    /// Deletes an entry; the number of rows deleted.
    fn delete(conn: &mut DbConn, resume_id: i64, id: i64) -> QueryResult<usize>;
    /// A PUT body as a patch that sets every field.
    fn full(input: Self::Input) -> Self::Patch;
    /// The entry's period, when it has one, to check that it does not end before it starts.
    fn period(item: &Self::Item) -> Option<(NaiveDate, Option<NaiveDate>)>;
}

/// The résumé id of `user_id`, if it was ever written.
pub fn resume_id(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<i64>> {
    resumes::table
        .filter(resumes::user_id.eq(user_id))
        .select(resumes::id)
        .first(conn)
        .optional()
}

/// The résumé id of `user_id`, creating the empty résumé if needed; `true` when created.
/// Call it inside a transaction.
pub fn ensure(conn: &mut DbConn, user_id: i64) -> QueryResult<(i64, bool)> {
    if let Some(id) = resume_id(conn, user_id)? {
        return Ok((id, false));
    }
    let now = plaza_kernel::time::now();
    let inserted = db::transaction(conn, |conn| {
        diesel::insert_into(resumes::table)
            .values((
                resumes::user_id.eq(user_id),
                resumes::summary.eq(""),
                resumes::created_at.eq(now),
                resumes::updated_at.eq(now),
            ))
            .execute(conn)?;
        db::last_insert_id(conn)
    });
    match inserted {
        Ok(id) => Ok((id, true)),
        // Created concurrently by another request of the same user: use that one.
        Err(err) if db::is_unique_violation(&err) => resume_id(conn, user_id)?
            .map(|id| (id, false))
            .ok_or(diesel::result::Error::NotFound),
        Err(err) => Err(err),
    }
}

fn touch(conn: &mut DbConn, resume_id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(resumes::table.find(resume_id))
        .set(resumes::updated_at.eq(now))
        .execute(conn)
        .map(drop)
}

/// The whole résumé of `user_id` (the empty one if never written): five queries.
pub fn load(conn: &mut DbConn, user_id: i64) -> ApiResult<Resume> {
    let row: Option<ResumeRow> = resumes::table
        .filter(resumes::user_id.eq(user_id))
        .select(ResumeRow::as_select())
        .first(conn)
        .optional()?;
    let Some(row) = row else {
        return Ok(Resume {
            full_name: String::new(),
            headline: String::new(),
            summary: String::new(),
            phone: String::new(),
            email: String::new(),
            location: String::new(),
            website: String::new(),
            created_at: None,
            updated_at: None,
            work_experiences: Vec::new(),
            projects: Vec::new(),
            educations: Vec::new(),
            custom_sections: Vec::new(),
        });
    };
    Ok(Resume {
        work_experiences: WorkExperiences::list(conn, row.id, 0, MAX_ENTRIES)?,
        projects: Projects::list(conn, row.id, 0, MAX_ENTRIES)?,
        educations: Educations::list(conn, row.id, 0, MAX_ENTRIES)?,
        custom_sections: CustomSections::list(conn, row.id, 0, MAX_ENTRIES)?,
        full_name: row.full_name,
        headline: row.headline,
        summary: row.summary,
        phone: row.phone,
        email: row.email,
        location: row.location,
        website: row.website,
        created_at: Some(plaza_kernel::time::utc(row.created_at)),
        updated_at: Some(plaza_kernel::time::utc(row.updated_at)),
    })
}

#[derive(AsChangeset)]
#[diesel(table_name = resumes)]
struct BasicChanges {
    full_name: Option<String>,
    headline: Option<String>,
    summary: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    location: Option<String>,
    website: Option<String>,
    updated_at: NaiveDateTime,
}

/// Writes the basic part: `full` (PUT) empties the fields left out, otherwise they keep their
/// value. Returns the whole résumé and whether this write created it.
pub fn put_basic(
    conn: &mut DbConn,
    user_id: i64,
    basic: &ResumeBasic,
    full: bool,
) -> ApiResult<(Resume, bool)> {
    let (id, created) = ensure(conn, user_id)?;
    let field = |value: &Option<String>| match value {
        Some(v) => Some(v.trim().to_owned()),
        None if full => Some(String::new()),
        None => None,
    };
    let changes = BasicChanges {
        full_name: field(&basic.full_name),
        headline: field(&basic.headline),
        summary: field(&basic.summary),
        phone: field(&basic.phone),
        email: field(&basic.email),
        location: field(&basic.location),
        website: field(&basic.website),
        updated_at: plaza_kernel::time::now(),
    };
    diesel::update(resumes::table.find(id))
        .set(&changes)
        .execute(conn)?;
    Ok((load(conn, user_id)?, created))
}

fn check_period<S: Section>(item: &S::Item) -> ApiResult<()> {
    match S::period(item) {
        Some((start, Some(end))) if end < start => Err(ApiError::invalid_field(
            "end_date",
            "The end date cannot be before the start date.",
        )),
        _ => Ok(()),
    }
}

fn not_found<S: Section>() -> ApiError {
    ApiError::not_found(format!("No {} with this id in your résumé.", S::NAME))
}

/// A page of the caller's entries of one kind.
pub fn list_entries<S: Section>(
    conn: &mut DbConn,
    user_id: i64,
    page: PageRequest,
) -> ApiResult<Page<S::Item>> {
    let Some(resume_id) = resume_id(conn, user_id)? else {
        return page.empty();
    };
    let count = S::count(conn, resume_id)?;
    page.paginate(count, |window| {
        Ok(S::list(conn, resume_id, window.offset, window.limit)?)
    })
}

/// Adds an entry (creating the résumé if needed). Call it inside a transaction.
pub fn create_entry<S: Section>(
    conn: &mut DbConn,
    user_id: i64,
    input: &S::Input,
) -> ApiResult<S::Item> {
    let (resume_id, _) = ensure(conn, user_id)?;
    if S::count(conn, resume_id)? >= MAX_ENTRIES {
        return Err(ApiError::bad_request(format!(
            "A résumé holds at most {MAX_ENTRIES} entries of {}.",
            S::NAME
        )));
    }
    let now = plaza_kernel::time::now();
    S::insert(conn, resume_id, input, now)?;
    let id = db::last_insert_id(conn)?;
    let item = S::find(conn, resume_id, id)?.ok_or_else(not_found::<S>)?;
    check_period::<S>(&item)?;
    touch(conn, resume_id, now)?;
    Ok(item)
}

/// Changes one of the caller's entries. Call it inside a transaction: a change that leaves
/// the entry ending before it starts is refused and rolled back.
pub fn update_entry<S: Section>(
    conn: &mut DbConn,
    user_id: i64,
    id: i64,
    patch: &S::Patch,
) -> ApiResult<S::Item> {
    let resume_id = resume_id(conn, user_id)?.ok_or_else(not_found::<S>)?;
    let now = plaza_kernel::time::now();
    if S::update(conn, resume_id, id, patch, now)? == 0 {
        return Err(not_found::<S>());
    }
    let item = S::find(conn, resume_id, id)?.ok_or_else(not_found::<S>)?;
    check_period::<S>(&item)?;
    touch(conn, resume_id, now)?;
    Ok(item)
}

/// Deletes one of the caller's entries.
pub fn delete_entry<S: Section>(conn: &mut DbConn, user_id: i64, id: i64) -> ApiResult<()> {
    let resume_id = resume_id(conn, user_id)?.ok_or_else(not_found::<S>)?;
    if S::delete(conn, resume_id, id)? == 0 {
        return Err(not_found::<S>());
    }
    touch(conn, resume_id, plaza_kernel::time::now())?;
    Ok(())
}

/// `GET users/{id}/resume/`: the résumé of `user_id` if its privacy settings let `viewer`
/// read it (403 otherwise; 404 for an unknown or inactive user).
pub fn for_viewer(conn: &mut DbConn, viewer: Viewer, user_id: i64) -> ApiResult<Resume> {
    let user = crate::service::find_visible(conn, viewer, user_id)?;
    if !viewer.sees_all_of(user_id) && !user.privacy().resume_visibility.admits(viewer.signed_in())
    {
        return Err(ApiError::permission_denied(
            "This résumé is not shared with you.",
        ));
    }
    load(conn, user_id)
}

/// What one of the forum's `POST /users/resume/<kind>/` calls did.
#[derive(Debug)]
pub enum ActionOutcome<T> {
    /// `create` (201).
    Created(T),
    /// `update` (200).
    Updated(T),
    /// `delete` (204).
    Deleted,
}

#[derive(Deserialize)]
struct ActionHeader {
    #[serde(default)]
    action: Option<String>,
    #[serde(default, deserialize_with = "nullable_id")]
    id: Option<Option<i64>>,
}

/// An id as a number or a string of digits (the forum's clients sent both).
fn nullable_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(i64),
        Text(String),
    }
    match Option::<Id>::deserialize(d)? {
        Some(Id::Number(n)) => Ok(Some(Some(n))),
        Some(Id::Text(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(Id::Text(s)) => s
            .trim()
            .parse()
            .map(|n| Some(Some(n)))
            .map_err(|_| serde::de::Error::custom("A valid integer is required.")),
        None => Ok(Some(None)),
    }
}

/// The forum's action endpoints: `{action: "create"|"update"|"delete", id?, …fields}`; with
/// no action, `update` when an id is given and `create` otherwise. Call it inside a
/// transaction.
pub fn run_action<S: Section>(
    conn: &mut DbConn,
    user_id: i64,
    body: &[u8],
) -> ApiResult<ActionOutcome<S::Item>> {
    let header: ActionHeader = parse_json(body)?;
    let id = header.id.flatten();
    let action = match header.action.as_deref().map(str::trim) {
        Some("create") => "create",
        Some("update") => "update",
        Some("delete") => "delete",
        None | Some("") => {
            if id.is_some() {
                "update"
            } else {
                "create"
            }
        }
        Some(_) => {
            return Err(ApiError::invalid_field(
                "action",
                "Must be one of: create, update, delete.",
            ))
        }
    };
    let need_id = || {
        id.ok_or_else(|| {
            let mut errors = FieldErrors::new();
            errors.insert("id".to_owned(), vec!["This field is required.".to_owned()]);
            ApiError::validation(errors)
        })
    };
    match action {
        "create" => {
            let input: S::Input = parse_json(body)?;
            validate(&input)?;
            create_entry::<S>(conn, user_id, &input).map(ActionOutcome::Created)
        }
        "update" => {
            let id = need_id()?;
            let patch: S::Patch = parse_json(body)?;
            validate(&patch)?;
            update_entry::<S>(conn, user_id, id, &patch).map(ActionOutcome::Updated)
        }
        _ => {
            let id = need_id()?;
            delete_entry::<S>(conn, user_id, id).map(|()| ActionOutcome::Deleted)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_ids_accept_numbers_and_digit_strings() {
        let h: ActionHeader = serde_json::from_str(r#"{"id": 3}"#).unwrap();
        assert_eq!(h.id, Some(Some(3)));
        let h: ActionHeader = serde_json::from_str(r#"{"id": "4", "action": "delete"}"#).unwrap();
        assert_eq!((h.id, h.action.as_deref()), (Some(Some(4)), Some("delete")));
        let h: ActionHeader = serde_json::from_str(r#"{"id": null}"#).unwrap();
        assert_eq!(h.id.flatten(), None);
        let h: ActionHeader = serde_json::from_str("{}").unwrap();
        assert_eq!(h.id, None);
        assert!(serde_json::from_str::<ActionHeader>(r#"{"id": "x"}"#).is_err());
    }

    #[test]
    fn basic_fields() {
        assert!(valid_phone("+86 (10) 1234-5678").is_ok());
        assert!(valid_phone("call me").is_err());
        assert!(optional_email("").is_ok());
        assert!(optional_email("a@b.co").is_ok());
        assert!(optional_email("nope").is_err());
    }
}

//! The four kinds of résumé entries: their rows, inputs, patches and queries.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use plaza_kernel::schema::{
    resume_custom_sections, resume_educations, resume_projects, resume_work_experiences,
};
use plaza_kernel::DbConn;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::Section;
use crate::types::{http_url, nullable};

/// Required text: not only whitespace.
fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(ValidationError::new("blank").with_message("This field may not be blank.".into()))
    } else {
        Ok(())
    }
}

/// The queries every kind shares, over its table.
macro_rules! section_queries {
    ($table:ident, $item:ty, $patch:ty, order = ($($order:expr),+)) => {
        fn list(
            conn: &mut DbConn,
            resume_id: i64,
            offset: i64,
            limit: i64,
        ) -> QueryResult<Vec<$item>> {
            $table::table
                .filter($table::resume_id.eq(resume_id))
                .order(($($order),+, $table::id.asc()))
                .offset(offset)
                .limit(limit)
                .select(<$item>::as_select())
                .load(conn)
        }

        fn count(conn: &mut DbConn, resume_id: i64) -> QueryResult<i64> {
            $table::table
                .filter($table::resume_id.eq(resume_id))
                .count()
                .get_result(conn)
        }

        fn find(conn: &mut DbConn, resume_id: i64, id: i64) -> QueryResult<Option<$item>> {
            $table::table
                .filter($table::id.eq(id))
                .filter($table::resume_id.eq(resume_id))
                .select(<$item>::as_select())
                .first(conn)
                .optional()
        }

        fn update(
            conn: &mut DbConn,
            resume_id: i64,
            id: i64,
            patch: &$patch,
            now: NaiveDateTime,
        ) -> QueryResult<usize> {
            diesel::update(
                $table::table
                    .filter($table::id.eq(id))
                    .filter($table::resume_id.eq(resume_id)),
            )
            .set((patch, $table::updated_at.eq(now)))
            .execute(conn)
        }

        fn delete(conn: &mut DbConn, resume_id: i64, id: i64) -> QueryResult<usize> {
            diesel::delete(
                $table::table
                    .filter($table::id.eq(id))
                    .filter($table::resume_id.eq(resume_id)),
            )
            .execute(conn)
        }
    };
}

// ---- work experience ------------------------------------------------------------------------

/// A job held.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = resume_work_experiences)]
pub struct WorkExperience {
    /// Id.
    pub id: i64,
    /// Employer.
    pub company: String,
    /// Position held.
    pub position: String,
    /// Start.
    pub start_date: NaiveDate,
    /// End; null while current.
    pub end_date: Option<NaiveDate>,
    /// What the job was.
    pub description: String,
}

/// A new work experience.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct WorkInput {
    /// 1–200 characters.
    #[validate(length(max = 200), custom(function = "not_blank"))]
    pub company: String,
    /// 1–200 characters.
    #[validate(length(max = 200), custom(function = "not_blank"))]
    pub position: String,
    /// `YYYY-MM-DD`.
    pub start_date: NaiveDate,
    /// `YYYY-MM-DD`, not before `start_date`; null while current.
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    /// At most 10000 characters.
    #[serde(default)]
    #[validate(length(max = 10000))]
    pub description: String,
}

/// A change to a work experience: fields left out keep their value.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema, AsChangeset)]
#[diesel(table_name = resume_work_experiences)]
pub struct WorkPatch {
    /// 1–200 characters.
    #[validate(length(max = 200), custom(function = "not_blank"))]
    pub company: Option<String>,
    /// 1–200 characters.
    #[validate(length(max = 200), custom(function = "not_blank"))]
    pub position: Option<String>,
    /// `YYYY-MM-DD`.
    pub start_date: Option<NaiveDate>,
    /// `YYYY-MM-DD`, or null.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub end_date: Option<Option<NaiveDate>>,
    /// At most 10000 characters.
    #[validate(length(max = 10000))]
    pub description: Option<String>,
}

/// Work experience entries.
#[derive(Debug)]
pub struct WorkExperiences;

impl Section for WorkExperiences {
    const NAME: &'static str = "work experience";
    type Item = WorkExperience;
    type Input = WorkInput;
    type Patch = WorkPatch;

    section_queries!(
        resume_work_experiences,
        WorkExperience,
        WorkPatch,
        order = (resume_work_experiences::start_date.desc())
    );

    fn insert(
        conn: &mut DbConn,
        resume_id: i64,
        input: &WorkInput,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        use resume_work_experiences as t;
        diesel::insert_into(t::table)
            .values((
                t::resume_id.eq(resume_id),
                t::company.eq(input.company.trim()),
                t::position.eq(input.position.trim()),
                t::start_date.eq(input.start_date),
                t::end_date.eq(input.end_date),
                t::description.eq(&input.description),
                t::created_at.eq(now),
                t::updated_at.eq(now),
            ))
            .execute(conn)
            .map(drop)
    }

    fn full(input: WorkInput) -> WorkPatch {
        WorkPatch {
            company: Some(input.company),
            position: Some(input.position),
            start_date: Some(input.start_date),
            end_date: Some(input.end_date),
            description: Some(input.description),
        }
    }

    fn period(item: &WorkExperience) -> Option<(NaiveDate, Option<NaiveDate>)> {
        Some((item.start_date, item.end_date))
    }
}

// ---- projects -------------------------------------------------------------------------------

/// A project worked on.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = resume_projects)]
pub struct Project {
    /// Id.
    pub id: i64,
    /// Project name.
    pub name: String,
    /// The user's role in it.
    pub role: String,
    /// Start.
    pub start_date: NaiveDate,
    /// End; null while ongoing.
    pub end_date: Option<NaiveDate>,
    /// Where to see it.
    pub url: Option<String>,
    /// What it was.
    pub description: String,
}

/// A new project.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct ProjectInput {
    /// 1–200 characters.
    #[validate(length(max = 200), custom(function = "not_blank"))]
    pub name: String,
    /// At most 100 characters.
    #[serde(default)]
    #[validate(length(max = 100))]
    pub role: String,
    /// `YYYY-MM-DD`.
    pub start_date: NaiveDate,
    /// `YYYY-MM-DD`, not before `start_date`; null while ongoing.
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    /// An http(s) URL.
    #[serde(default)]
    #[validate(custom(function = "http_url"))]
    pub url: Option<String>,
    /// At most 10000 characters.
    #[serde(default)]
    #[validate(length(max = 10000))]
    pub description: String,
}

/// A change to a project: fields left out keep their value.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema, AsChangeset)]
#[diesel(table_name = resume_projects)]
pub struct ProjectPatch {
    /// 1–200 characters.
    #[validate(length(max = 200), custom(function = "not_blank"))]
    pub name: Option<String>,
    /// At most 100 characters.
    #[validate(length(max = 100))]
    pub role: Option<String>,
    /// `YYYY-MM-DD`.
    pub start_date: Option<NaiveDate>,
    /// `YYYY-MM-DD`, or null.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub end_date: Option<Option<NaiveDate>>,
    /// An http(s) URL, or null.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(custom(function = "http_url"))]
    #[schema(value_type = Option<String>, nullable)]
    pub url: Option<Option<String>>,
    /// At most 10000 characters.
    #[validate(length(max = 10000))]
    pub description: Option<String>,
}

/// Project entries.
#[derive(Debug)]
pub struct Projects;

impl Section for Projects {
    const NAME: &'static str = "project";
    type Item = Project;
    type Input = ProjectInput;
    type Patch = ProjectPatch;

    section_queries!(
        resume_projects,
        Project,
        ProjectPatch,
        order = (resume_projects::start_date.desc())
    );

    fn insert(
        conn: &mut DbConn,
        resume_id: i64,
        input: &ProjectInput,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        use resume_projects as t;
        let url = input
            .url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        diesel::insert_into(t::table)
            .values((
                t::resume_id.eq(resume_id),
                t::name.eq(input.name.trim()),
                t::role.eq(input.role.trim()),
                t::start_date.eq(input.start_date),
                t::end_date.eq(input.end_date),
                t::url.eq(url),
                t::description.eq(&input.description),
                t::created_at.eq(now),
                t::updated_at.eq(now),
            ))
            .execute(conn)
            .map(drop)
    }

    fn full(input: ProjectInput) -> ProjectPatch {
        ProjectPatch {
            name: Some(input.name),
            role: Some(input.role),
            start_date: Some(input.start_date),
            end_date: Some(input.end_date),
            url: Some(input.url.filter(|u| !u.trim().is_empty())),
            description: Some(input.description),
        }
    }

    fn period(item: &Project) -> Option<(NaiveDate, Option<NaiveDate>)> {
        Some((item.start_date, item.end_date))
    }
}

// ---- education ------------------------------------------------------------------------------

/// A school attended.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = resume_educations)]
pub struct Education {
    /// Id.
    pub id: i64,
    /// School.
    pub school: String,
    /// Degree.
    pub degree: String,
    /// Major.
    pub major: String,
    /// Start.
    pub start_date: NaiveDate,
    /// End; null while studying.
    pub end_date: Option<NaiveDate>,
    /// Details.
    pub description: String,
}

/// A new education entry.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct EducationInput {
    /// 1–200 characters.
    #[validate(length(max = 200), custom(function = "not_blank"))]
    pub school: String,
    /// At most 100 characters.
    #[serde(default)]
    #[validate(length(max = 100))]
    pub degree: String,
    /// At most 100 characters.
    #[serde(default)]
    #[validate(length(max = 100))]
    pub major: String,
    /// `YYYY-MM-DD`.
    pub start_date: NaiveDate,
    /// `YYYY-MM-DD`, not before `start_date`; null while studying.
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    /// At most 10000 characters.
    #[serde(default)]
    #[validate(length(max = 10000))]
    pub description: String,
}

/// A change to an education entry: fields left out keep their value.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema, AsChangeset)]
#[diesel(table_name = resume_educations)]
pub struct EducationPatch {
    /// 1–200 characters.
    #[validate(length(max = 200), custom(function = "not_blank"))]
    pub school: Option<String>,
    /// At most 100 characters.
    #[validate(length(max = 100))]
    pub degree: Option<String>,
    /// At most 100 characters.
    #[validate(length(max = 100))]
    pub major: Option<String>,
    /// `YYYY-MM-DD`.
    pub start_date: Option<NaiveDate>,
    /// `YYYY-MM-DD`, or null.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub end_date: Option<Option<NaiveDate>>,
    /// At most 10000 characters.
    #[validate(length(max = 10000))]
    pub description: Option<String>,
}

/// Education entries.
#[derive(Debug)]
pub struct Educations;

impl Section for Educations {
    const NAME: &'static str = "education entry";
    type Item = Education;
    type Input = EducationInput;
    type Patch = EducationPatch;

    section_queries!(
        resume_educations,
        Education,
        EducationPatch,
        order = (resume_educations::start_date.desc())
    );

    fn insert(
        conn: &mut DbConn,
        resume_id: i64,
        input: &EducationInput,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        use resume_educations as t;
        diesel::insert_into(t::table)
            .values((
                t::resume_id.eq(resume_id),
                t::school.eq(input.school.trim()),
                t::degree.eq(input.degree.trim()),
                t::major.eq(input.major.trim()),
                t::start_date.eq(input.start_date),
                t::end_date.eq(input.end_date),
                t::description.eq(&input.description),
                t::created_at.eq(now),
                t::updated_at.eq(now),
            ))
            .execute(conn)
            .map(drop)
    }

    fn full(input: EducationInput) -> EducationPatch {
        EducationPatch {
            school: Some(input.school),
            degree: Some(input.degree),
            major: Some(input.major),
            start_date: Some(input.start_date),
            end_date: Some(input.end_date),
            description: Some(input.description),
        }
    }

    fn period(item: &Education) -> Option<(NaiveDate, Option<NaiveDate>)> {
        Some((item.start_date, item.end_date))
    }
}

// ---- custom sections ------------------------------------------------------------------------

/// A free-form section (awards, languages, …).
#[derive(Clone, Debug, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = resume_custom_sections)]
pub struct CustomSection {
    /// Id.
    pub id: i64,
    /// Heading.
    pub title: String,
    /// Text.
    pub content: String,
    /// Position among custom sections (ascending).
    pub sort_order: i32,
}

/// A new custom section.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct CustomInput {
    /// 1–200 characters.
    #[validate(length(max = 200), custom(function = "not_blank"))]
    pub title: String,
    /// At most 20000 characters.
    #[serde(default)]
    #[validate(length(max = 20000))]
    pub content: String,
    /// 0–10000 (default 0).
    #[serde(default)]
    #[validate(range(min = 0, max = 10000))]
    pub sort_order: i32,
}

/// A change to a custom section: fields left out keep their value.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema, AsChangeset)]
#[diesel(table_name = resume_custom_sections)]
pub struct CustomPatch {
    /// 1–200 characters.
    #[validate(length(max = 200), custom(function = "not_blank"))]
    pub title: Option<String>,
    /// At most 20000 characters.
    #[validate(length(max = 20000))]
    pub content: Option<String>,
    /// 0–10000.
    #[validate(range(min = 0, max = 10000))]
    pub sort_order: Option<i32>,
}

/// Custom sections.
#[derive(Debug)]
pub struct CustomSections;

impl Section for CustomSections {
    const NAME: &'static str = "custom section";
    type Item = CustomSection;
    type Input = CustomInput;
    type Patch = CustomPatch;

    section_queries!(
        resume_custom_sections,
        CustomSection,
        CustomPatch,
        order = (resume_custom_sections::sort_order.asc())
    );

    fn insert(
        conn: &mut DbConn,
        resume_id: i64,
        input: &CustomInput,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        use resume_custom_sections as t;
        diesel::insert_into(t::table)
            .values((
                t::resume_id.eq(resume_id),
                t::title.eq(input.title.trim()),
                t::content.eq(&input.content),
                t::sort_order.eq(input.sort_order),
                t::created_at.eq(now),
                t::updated_at.eq(now),
            ))
            .execute(conn)
            .map(drop)
    }

    fn full(input: CustomInput) -> CustomPatch {
        CustomPatch {
            title: Some(input.title),
            content: Some(input.content),
            sort_order: Some(input.sort_order),
        }
    }

    fn period(_: &CustomSection) -> Option<(NaiveDate, Option<NaiveDate>)> {
        None
    }
}

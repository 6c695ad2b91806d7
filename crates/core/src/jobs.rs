//! Staff views of the background job queue: `GET /api/v1/core/jobs/` (filtered by status and
//! kind), `GET …/jobs/{id}/`, and `POST …/jobs/{id}/retry/` for a dead job.
//!
//! Payloads are shown as the job's kind allows (`Job::redact` hides secrets such as mail
//! bodies); without a `JobRegistry` in app data no payload is shown at all.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use plaza_kernel::jobs::store::{self, JobFilter, JobRecord};
use plaza_kernel::jobs::{JobRegistry, JobStatus};
use plaza_kernel::pagination::PageParams;
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::time::{utc, utc_opt};
use plaza_kernel::{ApiError, ApiResult, Caller, Config, Db, Page, PageRequest, ValidQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// A job's status, for the OpenAPI document.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatusName {
    /// Waiting for `run_at` (also between attempts).
    Queued,
    /// Claimed by a worker.
    Running,
    /// Done.
    Succeeded,
    /// Out of attempts (or failed permanently); staff may retry it.
    Dead,
}

/// A job as staff see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobView {
    /// Id.
    pub id: i64,
    /// Kind (names its handler), e.g. `send_email`.
    pub kind: String,
    /// `queued`, `running`, `succeeded` or `dead`.
    #[schema(value_type = JobStatusName)]
    pub status: String,
    /// Higher runs first.
    pub priority: i32,
    /// The payload, with the kind's secrets hidden (null when it cannot be shown).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Attempts started so far.
    pub attempts: i32,
    /// Attempts it gets before it is dead.
    pub max_attempts: u32,
    /// De-duplication key (periodic jobs: `periodic:<name>:<period start>`).
    pub unique_key: Option<String>,
    /// Not before.
    pub run_at: DateTime<Utc>,
    /// The worker that ran (or runs) the last attempt.
    pub worker: Option<String>,
    /// While running: until when its worker's lease holds.
    pub locked_until: Option<DateTime<Utc>>,
    /// The last failure, kept after a retry succeeds.
    pub last_error: Option<String>,
    /// Enqueued at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
    /// Succeeded or died at.
    pub finished_at: Option<DateTime<Utc>>,
}

impl JobView {
    fn new(job: JobRecord, registry: Option<&JobRegistry>, default_attempts: u32) -> Self {
        let payload = registry.map_or(serde_json::Value::Null, |r| {
            r.redacted_payload(&job.kind, &job.payload)
        });
        let max_attempts = job
            .max_attempts
            .and_then(|n| u32::try_from(n).ok())
            .or_else(|| registry.and_then(|r| r.max_attempts(&job.kind)))
            .unwrap_or(default_attempts);
        Self {
            id: job.id,
            kind: job.kind,
            status: job.status,
            priority: job.priority,
            payload,
            attempts: job.attempts,
            max_attempts,
            unique_key: job.unique_key,
            run_at: utc(job.run_at),
            worker: job.locked_by,
            locked_until: utc_opt(job.locked_until),
            last_error: job.last_error,
            created_at: utc(job.created_at),
            updated_at: utc(job.updated_at),
            finished_at: utc_opt(job.finished_at),
        }
    }
}

/// One page of jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    /// Jobs matching the filters.
    pub count: u64,
    /// The next page's URL, or null.
    pub next: Option<String>,
    /// The previous page's URL, or null.
    pub previous: Option<String>,
    /// This page, newest first.
    pub results: Vec<JobView>,
}

impl From<Page<JobView>> for JobPage {
    fn from(page: Page<JobView>) -> Self {
        Self {
            count: page.count,
            next: page.next,
            previous: page.previous,
            results: page.results,
        }
    }
}

/// Filters of the job list.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListQuery {
    /// Only jobs in this status: `queued`, `running`, `succeeded` or `dead`.
    #[param(value_type = Option<JobStatusName>)]
    pub status: Option<String>,
    /// Only jobs of this kind.
    #[validate(length(min = 1, max = 64))]
    pub kind: Option<String>,
}

impl JobListQuery {
    fn filter(&self) -> ApiResult<JobFilter> {
        let status = match self.status.as_deref() {
            None | Some("") => None,
            Some(s) => Some(JobStatus::parse(s).ok_or_else(|| {
                ApiError::invalid_field(
                    "status",
                    format!("\"{s}\" is not one of: queued, running, succeeded, dead."),
                )
            })?),
        };
        Ok(JobFilter {
            status,
            kind: self.kind.clone().filter(|k| !k.is_empty()),
        })
    }
}

/// Staff: the jobs, newest first, filtered by `?status=` and `?kind=`.
#[utoipa::path(
    get,
    path = "/api/v1/core/jobs/",
    tag = "core",
    params(JobListQuery, PageParams),
    responses(
        (status = 200, description = "A page of jobs", body = JobPage),
        (status = 400, description = "Unknown status", body = plaza_kernel::error::ErrorBody),
        (status = 401, description = "No credentials", body = plaza_kernel::error::ErrorBody),
        (status = 403, description = "Not staff", body = plaza_kernel::error::ErrorBody),
        (status = 404, description = "Page past the end", body = plaza_kernel::error::ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = []))
)]
pub async fn list_jobs(
    caller: Caller,
    db: web::Data<Db>,
    config: web::Data<Config>,
    registry: Option<web::Data<JobRegistry>>,
    query: ValidQuery<JobListQuery>,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    caller.require_staff()?;
    let filter = query.filter()?;
    let default_attempts = config.jobs.max_attempts;
    let rows = db
        .run(move |conn| {
            let count = store::count(conn, &filter)?;
            page.paginate(count, |window| {
                Ok(store::list(conn, &filter, window.limit, window.offset)?)
            })
        })
        .await?;
    let registry = registry.as_ref().map(|r| r.get_ref());
    let page = rows.map(|job| JobView::new(job, registry, default_attempts));
    Ok(HttpResponse::Ok().json(JobPage::from(page)))
}

/// Staff: one job.
#[utoipa::path(
    get,
    path = "/api/v1/core/jobs/{id}/",
    tag = "core",
    params(("id" = i64, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 401, description = "No credentials", body = plaza_kernel::error::ErrorBody),
        (status = 403, description = "Not staff", body = plaza_kernel::error::ErrorBody),
        (status = 404, description = "No such job", body = plaza_kernel::error::ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = []))
)]
pub async fn get_job(
    caller: Caller,
    db: web::Data<Db>,
    config: web::Data<Config>,
    registry: Option<web::Data<JobRegistry>>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    caller.require_staff()?;
    let id = id.into_inner();
    let job = db.run(move |conn| Ok(store::find(conn, id)?)).await?;
    Ok(HttpResponse::Ok().json(JobView::new(
        job,
        registry.as_ref().map(|r| r.get_ref()),
        config.jobs.max_attempts,
    )))
}

/// Queues a dead job again (staff) and logs who did, in one transaction; 409 unless it is
/// dead.
pub async fn retry_dead_job(
    db: &Db,
    caller: &Caller,
    id: i64,
    ip: Option<String>,
    request_id: Option<String>,
) -> ApiResult<JobRecord> {
    caller.require_staff()?;
    let staff = (caller.id, caller.username.clone());
    db.transaction(move |conn| {
        let now = plaza_kernel::time::now();
        if !store::retry_dead(conn, id, now)? {
            let job = store::find(conn, id)?;
            return Err(ApiError::conflict(format!(
                "Only dead jobs can be retried; this one is {}.",
                job.status
            )));
        }
        let job = store::find(conn, id)?;
        let mut event = Event::new(
            Level::Info,
            "core",
            "job_retried",
            format!("{} queued dead job {id} ({}) again", staff.1, job.kind),
        )
        .user(staff.0)
        .ip(ip)
        .data(serde_json::json!({ "job_id": id, "kind": job.kind }));
        event.request_id = request_id;
        syslog::record(conn, &event)?;
        Ok(job)
    })
    .await
}

/// Deletes a dead job (staff gave up on it) and logs who did, in one transaction; 409 unless
/// it is dead.
pub async fn discard_dead_job(
    db: &Db,
    caller: &Caller,
    id: i64,
    ip: Option<String>,
) -> ApiResult<()> {
    caller.require_staff()?;
    let staff = (caller.id, caller.username.clone());
    db.transaction(move |conn| {
        let job = store::find(conn, id)?;
        if !store::discard_dead(conn, id)? {
            return Err(ApiError::conflict(format!(
                "Only dead jobs can be discarded; this one is {}.",
                job.status
            )));
        }
        syslog::record(
            conn,
            &Event::new(
                Level::Info,
                "core",
                "job_discarded",
                format!("{} discarded dead job {id} ({})", staff.1, job.kind),
            )
            .user(staff.0)
            .ip(ip)
            .data(serde_json::json!({ "job_id": id, "kind": job.kind })),
        )?;
        Ok(())
    })
    .await
}

/// Staff: queues a dead job again with a fresh set of attempts (409 for any other status).
#[utoipa::path(
    post,
    path = "/api/v1/core/jobs/{id}/retry/",
    tag = "core",
    params(("id" = i64, Path, description = "Job id")),
    responses(
        (status = 200, description = "Queued again", body = JobView),
        (status = 401, description = "No credentials", body = plaza_kernel::error::ErrorBody),
        (status = 403, description = "Not staff", body = plaza_kernel::error::ErrorBody),
        (status = 404, description = "No such job", body = plaza_kernel::error::ErrorBody),
        (status = 409, description = "The job is not dead", body = plaza_kernel::error::ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = []))
)]
pub async fn retry_job(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    config: web::Data<Config>,
    registry: Option<web::Data<JobRegistry>>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let ip = plaza_kernel::http::client_ip(&req);
    let request_id = plaza_kernel::http::request_id(&req);
    let job = retry_dead_job(&db, &caller, id.into_inner(), ip, request_id).await?;
    Ok(HttpResponse::Ok().json(JobView::new(
        job,
        registry.as_ref().map(|r| r.get_ref()),
        config.jobs.max_attempts,
    )))
}

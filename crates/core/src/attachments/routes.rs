//! `/api/v1/core/attachments/`: upload (multipart), list one's own, read, download, delete.

use crate::settings::CoreSettings;
use actix_multipart::Multipart;
use actix_web::body::SizedStream;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::PageParams;
use plaza_kernel::settings::Settings;
use plaza_kernel::{
    ApiError, ApiResult, Caller, Config, Db, MaybeCaller, Page, PageRequest, ValidQuery,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::service::{self, requests, Attachment, NewAttachment};
use super::storage::{self, ReceiveError};

/// Bytes of multipart framing and small fields tolerated beyond the file limit.
const FORM_OVERHEAD: u64 = 64 * 1024;
/// How much of a refused upload is read (and thrown away) so the client gets the answer.
const DRAIN_BUDGET: u64 = 32 * 1024 * 1024;

/// An uploaded file.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentOut {
    /// Id.
    pub id: i64,
    /// The uploaded file's name.
    pub name: String,
    /// Sniffed from the bytes (the client's claim is ignored).
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// Where to download it.
    pub url: String,
    /// Readable by anyone (else by the owner and staff only).
    pub is_public: bool,
    /// Uploader.
    pub owner_id: i64,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
}

impl AttachmentOut {
    fn new(attachment: Attachment, req: &HttpRequest) -> Self {
        let info = req.connection_info();
        let url = format!(
            "{}://{}/api/v1/core/attachments/{}/download/",
            info.scheme(),
            info.host(),
            attachment.id
        );
        Self {
            id: attachment.id,
            name: attachment.name,
            content_type: attachment.content_type,
            size: attachment.size,
            sha256: attachment.sha256,
            url,
            is_public: attachment.is_public,
            owner_id: attachment.owner_id,
            created_at: plaza_kernel::time::utc(attachment.created_at),
        }
    }
}

/// The multipart form of an upload (for the OpenAPI document; read as a stream).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file (at most `ATTACHMENT_MAX_BYTES`, 10 MiB by default).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `true` (default): anyone may read it; `false`: only the owner and staff.
    is_public: Option<bool>,
}

/// Filters of the attachment list.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttachmentQuery {
    /// Another user's uploads (staff only).
    pub owner: Option<i64>,
}

fn too_large(limit: u64) -> ApiError {
    let message = format!("The file is larger than the limit of {limit} bytes.");
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        message.clone(),
    )
    .with_errors([("file".to_owned(), vec![message])].into())
}

fn is_multipart_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("multipart/form-data"))
}

fn parse_bool(raw: &[u8]) -> Option<bool> {
    match std::str::from_utf8(raw)
        .ok()?
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// What the form carried, the file already in a temporary file.
struct Upload {
    file: Option<(String, storage::Received)>,
    is_public: Option<bool>,
}

/// Reads the form, streaming the file to disk. On a refusal the rest of the body is read and
/// dropped (within a budget) so the client receives the answer rather than a reset.
async fn read_form(mut form: Multipart, config: &Config, limit: u64) -> ApiResult<Upload> {
    let mut upload = Upload {
        file: None,
        is_public: None,
    };
    let mut failure: Option<ApiError> = None;
    let mut budget = DRAIN_BUDGET;
    while let Some(field) = form.next().await {
        let mut field = match field {
            Ok(field) => field,
            Err(_) if failure.is_some() => break,
            Err(err) => {
                tracing::debug!(error = %err, "malformed multipart upload");
                return Err(ApiError::bad_request(
                    "The multipart form is malformed or incomplete.",
                ));
            }
        };
        if failure.is_some() {
            budget = storage::discard(&mut field, budget).await;
            if budget == 0 {
                break;
            }
            continue;
        }
        match field.name().unwrap_or("") {
            "file" if upload.file.is_none() => {
                let name = storage::clean_filename(
                    field.content_disposition().and_then(|cd| cd.get_filename()),
                );
                match storage::receive(&mut field, &config.media_root, limit).await {
                    Ok(received) => upload.file = Some((name, received)),
                    Err(ReceiveError::TooLarge) => {
                        failure = Some(too_large(limit));
                        budget = storage::discard(&mut field, budget).await;
                        if budget == 0 {
                            break;
                        }
                    }
                    Err(ReceiveError::Upload(err)) => {
                        tracing::debug!(error = %err, "upload broke off");
                        return Err(ApiError::bad_request(
                            "The upload was interrupted or malformed.",
                        ));
                    }
                    Err(ReceiveError::Io(err)) => return Err(ApiError::internal(err)),
                }
            }
            "file" => {
                failure = Some(ApiError::invalid_field("file", "Send one file per upload."));
                budget = storage::discard(&mut field, budget).await;
            }
            "is_public" => {
                let mut value = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|_| {
                        ApiError::bad_request("The multipart form is malformed or incomplete.")
                    })?;
                    if value.len() + chunk.len() > 16 {
                        return Err(ApiError::invalid_field(
                            "is_public",
                            "Must be true or false.",
                        ));
                    }
                    value.extend_from_slice(&chunk);
                }
                upload.is_public = Some(parse_bool(&value).ok_or_else(|| {
                    ApiError::invalid_field("is_public", "Must be true or false.")
                })?);
            }
            // Unknown fields are ignored, as in a JSON body, but not stored.
            _ => {
                let left = storage::discard(&mut field, FORM_OVERHEAD).await;
                if left == 0 {
                    failure = Some(too_large(limit));
                }
            }
        }
    }
    match failure {
        Some(err) => Err(err),
        None => Ok(upload),
    }
}

/// Uploads a file (multipart field `file`, optional `is_public`).
#[utoipa::path(
    post,
    path = "/api/v1/core/attachments/",
    tag = "core",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = AttachmentOut),
        (status = 400, description = "No file, an empty file, or a malformed form", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 413, description = "Larger than ATTACHMENT_MAX_BYTES", body = ErrorBody),
        (status = 415, description = "Not multipart/form-data", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn upload_attachment(
    req: HttpRequest,
    payload: web::Payload,
    db: web::Data<Db>,
    config: web::Data<Config>,
    settings: Settings<CoreSettings>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    if !is_multipart_form(&req) {
        let got = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        return Err(ApiError::unsupported_media_type(got));
    }
    let limit = settings.attachment_max_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit.saturating_add(FORM_OVERHEAD)) {
        return Err(too_large(limit));
    }

    let form = Multipart::new(req.headers(), payload.into_inner());
    let upload = read_form(form, &config, limit).await?;
    let Some((name, received)) = upload.file else {
        return Err(ApiError::invalid_field("file", "No file was submitted."));
    };
    if received.size == 0 {
        return Err(ApiError::invalid_field(
            "file",
            "The submitted file is empty.",
        ));
    }

    let media_root = config.media_root.clone();
    let path = storage::persist(received.temp, &media_root)
        .await
        .map_err(ApiError::internal)?;
    let new = NewAttachment {
        owner_id: caller.id,
        name,
        content_type: received.content_type.to_owned(),
        size: i64::try_from(received.size).unwrap_or(i64::MAX),
        sha256: received.sha256,
        path,
        is_public: upload.is_public.unwrap_or(true),
        created_at: plaza_kernel::time::now(),
    };
    let attachment = requests::record_upload(&db, &media_root, new).await?;
    Ok(HttpResponse::Created().json(AttachmentOut::new(attachment, &req)))
}

/// The caller's uploads, newest first (staff: `?owner=` for someone else's).
#[utoipa::path(
    get,
    path = "/api/v1/core/attachments/",
    tag = "core",
    params(PageParams, AttachmentQuery),
    responses(
        (status = 200, description = "A page of attachments", body = Page<AttachmentOut>),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Another owner, not staff", body = ErrorBody),
        (status = 404, description = "Page past the end", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn list_attachments(
    req: HttpRequest,
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
    query: ValidQuery<AttachmentQuery>,
) -> ApiResult<HttpResponse> {
    let owner = query.owner;
    let page = db
        .run(move |conn| service::list(conn, &caller, owner, page))
        .await?;
    Ok(HttpResponse::Ok().json(page.map(|a| AttachmentOut::new(a, &req))))
}

/// One attachment's details (anyone for a public one; owner and staff for a private one).
#[utoipa::path(
    get,
    path = "/api/v1/core/attachments/{id}/",
    tag = "core",
    params(("id" = i64, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "The attachment", body = AttachmentOut),
        (status = 404, description = "No such attachment, or a private one of someone else", body = ErrorBody),
    )
)]
pub async fn get_attachment(
    req: HttpRequest,
    db: web::Data<Db>,
    caller: MaybeCaller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let attachment = db
        .run(move |conn| service::get_visible(conn, id, caller.0.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(AttachmentOut::new(attachment, &req)))
}

/// The file's bytes, streamed with `Content-Type`, `Content-Length`, `Content-Disposition`
/// (inline for plain media, attachment otherwise) and an `ETag` (its SHA-256).
#[utoipa::path(
    get,
    path = "/api/v1/core/attachments/{id}/download/",
    tag = "core",
    params(("id" = i64, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "The bytes, with the content type sniffed at upload (`*/*`: any)", content_type = "*/*"),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
        (status = 404, description = "No such attachment, or a private one of someone else", body = ErrorBody),
    )
)]
pub async fn download_attachment(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    caller: MaybeCaller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let attachment = db
        .run(move |conn| service::get_visible(conn, id, caller.0.as_ref()))
        .await?;
    let etag = format!("\"{}\"", attachment.sha256);
    let cache_control = if attachment.is_public {
        "no-cache"
    } else {
        "private, no-cache"
    };
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    if unchanged {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache_control))
            .finish());
    }

    let path = storage::resolve(&config.media_root, &attachment.path)
        .ok_or_else(|| ApiError::internal(format!("unsafe stored path {}", attachment.path)))?;
    let (len, stream) = match storage::open(&path).await {
        Ok(opened) => opened,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            tracing::error!(attachment = attachment.id, path = %path.display(), "attachment file missing");
            return Err(ApiError::not_found(
                "The file of this attachment is missing.",
            ));
        }
        Err(err) => return Err(ApiError::internal(err)),
    };
    let content_type = if attachment.content_type.starts_with("text/") {
        format!("{}; charset=utf-8", attachment.content_type)
    } else {
        attachment.content_type.clone()
    };
    let disposition = ContentDisposition {
        disposition: if storage::shows_inline(&attachment.content_type) {
            DispositionType::Inline
        } else {
            DispositionType::Attachment
        },
        parameters: vec![
            DispositionParam::Filename(ascii_fallback(&attachment.name)),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".to_owned()),
                language_tag: None,
                value: attachment.name.clone().into_bytes(),
            }),
        ],
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header(disposition)
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache_control))
        // Whatever the bytes are, they never run as a page of ours.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ))
        .body(SizedStream::new(len, stream)))
}

/// The file name with everything but printable ASCII replaced, for old clients.
fn ascii_fallback(name: &str) -> String {
    name.chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Deletes an attachment and its file (owner or staff).
#[utoipa::path(
    delete,
    path = "/api/v1/core/attachments/{id}/",
    tag = "core",
    params(("id" = i64, Path, description = "Attachment id")),
    responses(
        (status = 204, description = "Deleted, file removed"),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the owner or staff", body = ErrorBody),
        (status = 404, description = "No such attachment, or a private one of someone else", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn delete_attachment(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let ip = plaza_kernel::http::client_ip(&req);
    requests::delete_attachment(&db, &config.media_root, caller, id.into_inner(), ip).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mounts the attachment resources inside `/api/v1/core`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/attachments/")
            .get(list_attachments)
            .post(upload_attachment),
    )
    .service(
        web::resource("/attachments/{id}/")
            .get(get_attachment)
            .delete(delete_attachment),
    )
    .service(
        web::resource("/attachments/{id}/download/")
            .get(download_attachment)
            .head(download_attachment),
    );
}

//! Attachment rows and who may do what with them.
//!
//! - Public attachments (the default) are readable by anyone, signed in or not: they are
//!   uploaded to be shown in posts, which anyone may read.
//! - Private attachments are readable by their owner and staff only; to anyone else they do
//!   not exist (404, so their ids reveal nothing).
//! - Only the owner or staff may delete one (403 for others who can see it).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::db::{self, DbConn, MultiBackend};
use plaza_kernel::schema::attachments;
use plaza_kernel::{ApiError, ApiResult, Caller, Page, PageRequest};

/// An attachment row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    /// Id.
    pub id: i64,
    /// Who uploaded it.
    pub owner_id: i64,
    /// Display name (the client's file name, cleaned).
    pub name: String,
    /// Sniffed from the bytes.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// Relative to `MEDIA_ROOT`.
    pub path: String,
    /// Readable by anyone (else by the owner and staff).
    pub is_public: bool,
    /// Uploaded.
    pub created_at: NaiveDateTime,
}

impl Attachment {
    /// Whether `caller` may read it.
    pub fn visible_to(&self, caller: Option<&Caller>) -> bool {
        self.is_public || caller.is_some_and(|c| c.id == self.owner_id || c.is_staff())
    }
}

/// What a finished upload stores.
#[derive(Debug, Insertable)]
#[diesel(table_name = attachments)]
pub struct NewAttachment {
    /// Uploader.
    pub owner_id: i64,
    /// Display name.
    pub name: String,
    /// Sniffed type.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 hex.
    pub sha256: String,
    /// Relative path under `MEDIA_ROOT`.
    pub path: String,
    /// Readable by anyone.
    pub is_public: bool,
    /// Now.
    pub created_at: NaiveDateTime,
}

/// 403 unless the caller uploaded the attachment or is staff.
pub fn ensure_can_delete(caller: &Caller, attachment: &Attachment) -> ApiResult<()> {
    if caller.is(attachment.owner_id) || caller.is_staff() {
        Ok(())
    } else {
        Err(ApiError::permission_denied(
            "Only the owner or staff may delete this attachment.",
        ))
    }
}

/// Stores the row of a file already moved into place.
pub fn insert(conn: &mut DbConn, new: &NewAttachment) -> ApiResult<Attachment> {
    diesel::insert_into(attachments::table)
        .values(new)
        .execute(conn)?;
    let id = db::last_insert_id(conn)?;
    Ok(attachments::table
        .find(id)
        .select(Attachment::as_select())
        .first(conn)?)
}

/// The attachment `id` if `caller` may read it; 404 otherwise.
pub fn get_visible(conn: &mut DbConn, id: i64, caller: Option<&Caller>) -> ApiResult<Attachment> {
    attachments::table
        .find(id)
        .select(Attachment::as_select())
        .first(conn)
        .optional()?
        .filter(|a| a.visible_to(caller))
        .ok_or_else(|| ApiError::not_found("Attachment not found."))
}

/// Deletes the row of `id` for its owner or staff and returns it; the caller removes the file
/// once this commits.
pub fn delete(conn: &mut DbConn, id: i64, caller: &Caller) -> ApiResult<Attachment> {
    let attachment = get_visible(conn, id, Some(caller))?;
    ensure_can_delete(caller, &attachment)?;
    diesel::delete(attachments::table.find(id)).execute(conn)?;
    Ok(attachment)
}

/// A page of the caller's attachments, newest first; staff may name another `owner`.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    owner: Option<i64>,
    page: PageRequest,
) -> ApiResult<Page<Attachment>> {
    let owner = match owner {
        Some(owner) if owner != caller.id => {
            caller.require_staff()?;
            owner
        }
        _ => caller.id,
    };
    let filtered = || {
        attachments::table
            .filter(attachments::owner_id.eq(owner))
            .into_boxed::<MultiBackend>()
    };
    let count: i64 = filtered().count().get_result(conn)?;
    page.paginate(count, |window| {
        Ok(filtered()
            .order((attachments::created_at.desc(), attachments::id.desc()))
            .select(Attachment::as_select())
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?)
    })
}

/// The attachment requests a handler makes: the row in one transaction, the file kept in
/// step with it.
pub mod requests {
    use std::path::Path;

    use plaza_kernel::syslog::{self, Event, Level};
    use plaza_kernel::{ApiResult, Caller, Db};

    use super::{Attachment, NewAttachment};
    use crate::attachments::storage;

    /// Records an upload already persisted at `new.path` under `media_root`; if the row
    /// cannot be written, the file (which nothing refers to) is removed.
    pub async fn record_upload(
        db: &Db,
        media_root: &Path,
        new: NewAttachment,
    ) -> ApiResult<Attachment> {
        let path = new.path.clone();
        let stored = db.transaction(move |conn| super::insert(conn, &new)).await;
        if stored.is_err() {
            if let Err(io) = storage::remove(media_root, &path).await {
                tracing::warn!(error = %io, path, "could not remove an orphaned upload");
            }
        }
        stored
    }

    /// Deletes an attachment (its owner, or staff, which is logged) in one transaction,
    /// then its file.
    pub async fn delete_attachment(
        db: &Db,
        media_root: &Path,
        caller: Caller,
        id: i64,
        ip: Option<String>,
    ) -> ApiResult<()> {
        let attachment = db
            .transaction(move |conn| {
                let attachment = super::delete(conn, id, &caller)?;
                if !caller.is(attachment.owner_id) {
                    syslog::record(
                        conn,
                        &Event::new(
                            Level::Info,
                            "core",
                            "attachment_deleted_by_staff",
                            format!(
                                "{} deleted attachment {} of user {}",
                                caller.username, attachment.id, attachment.owner_id
                            ),
                        )
                        .user(caller.id)
                        .ip(ip)
                        .data(serde_json::json!({
                            "attachment_id": attachment.id,
                            "owner_id": attachment.owner_id,
                            "sha256": attachment.sha256,
                        })),
                    )?;
                }
                Ok(attachment)
            })
            .await?;
        // The row is gone (committed); a file left behind by a failure here is only an orphan.
        if let Err(err) = storage::remove(media_root, &attachment.path).await {
            tracing::warn!(error = %err, path = attachment.path, "could not remove a deleted attachment's file");
        }
        Ok(())
    }
}

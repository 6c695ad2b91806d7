//! `GET /media/{path}`: the public files under `MEDIA_ROOT` (today: avatars), as
//! `plaza_users::public::media_url` links to them.
//!
//! Only the directories in [`PUBLIC_DIRS`] are served; other uploads (attachments) have their
//! own endpoints with permission checks. A path is refused unless every segment is a plain
//! name, and the file it resolves to (symlinks followed) is still inside that directory.

use std::path::{Path, PathBuf};

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::{ApiError, ApiResult, Config};

/// Directories under `MEDIA_ROOT` anyone may read.
pub const PUBLIC_DIRS: &[&str] = &[plaza_users::avatar::AVATAR_DIR];

/// Mounts `/media/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/media/{path:.*}")
            .get(media_file)
            .head(media_file),
    );
}

/// A public media file (avatars and their thumbnails).
#[utoipa::path(get, path = "/media/{path}", tag = "media",
    params(("path" = String, Path, description = "e.g. `avatars/7/3f…c1_256.jpg`")),
    responses(
        (status = 200, description = "The file, with its image Content-Type", content_type = "image/*"),
        (status = 404, description = "No such public file", body = ErrorBody),
    ))]
pub async fn media_file(
    config: web::Data<Config>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    // NormalizePath appends a slash to every path; a file name never ends with one.
    let relative = path.into_inner().trim_end_matches('/').to_owned();
    let root = config.media_root.clone();
    let found = tokio::task::spawn_blocking(move || {
        let file = resolve(&root, &relative)?;
        let bytes = std::fs::read(&file).ok()?;
        Some((content_type(&file), bytes))
    })
    .await?;
    let (content_type, bytes) = found.ok_or_else(|| ApiError::not_found("Not found."))?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ))
        .body(bytes))
}

/// The file `relative` names under `root`, if it is public and stays inside its directory.
fn resolve(root: &Path, relative: &str) -> Option<PathBuf> {
    if relative.is_empty() || relative.contains(['\\', '\0']) {
        return None;
    }
    let segments: Vec<&str> = relative.split('/').collect();
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return None;
    }
    let dir = segments.first().filter(|d| PUBLIC_DIRS.contains(d))?;
    let public_dir = root.join(dir).canonicalize().ok()?;
    let file = root.join(relative).canonicalize().ok()?;
    (file.starts_with(&public_dir) && file.is_file()).then_some(file)
}

fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_inside_public_dirs_resolve() {
        let root = tempfile::tempdir().unwrap();
        let avatars = root.path().join("avatars/1");
        std::fs::create_dir_all(&avatars).unwrap();
        std::fs::write(avatars.join("a.png"), b"png").unwrap();
        std::fs::create_dir_all(root.path().join("attachments")).unwrap();
        std::fs::write(root.path().join("attachments/secret.txt"), b"s").unwrap();
        std::fs::write(root.path().join("top.png"), b"t").unwrap();

        assert!(resolve(root.path(), "avatars/1/a.png").is_some());
        for refused in [
            "",
            "avatars/1/missing.png",
            "avatars/1",
            "attachments/secret.txt",
            "top.png",
            "avatars/../top.png",
            "avatars/1/../../attachments/secret.txt",
            "/etc/passwd",
            "avatars//1/a.png",
            "avatars/./1/a.png",
            "avatars\\1\\a.png",
        ] {
            assert!(resolve(root.path(), refused).is_none(), "{refused}");
        }

        // A symlink out of the public directory is not followed out.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                root.path().join("attachments/secret.txt"),
                avatars.join("link.png"),
            )
            .unwrap();
            assert!(resolve(root.path(), "avatars/1/link.png").is_none());
        }
    }

    #[test]
    fn content_types_follow_extensions() {
        assert_eq!(content_type(Path::new("a/b.PNG")), "image/png");
        assert_eq!(content_type(Path::new("a/b.jpg")), "image/jpeg");
        assert_eq!(content_type(Path::new("a/b")), "application/octet-stream");
    }
}

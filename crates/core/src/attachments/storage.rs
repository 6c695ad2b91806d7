//! Where attachment bytes live: streamed from a multipart field to a temporary file under
//! `MEDIA_ROOT/tmp/`, hashed and measured while written, refused as soon as they pass the
//! limit, typed by sniffing the first bytes, then moved (one rename on one filesystem) to
//! `MEDIA_ROOT/attachments/YYYY/MM/<uuid>`. A temporary file is removed whatever happens
//! unless it was moved into place.

use std::io;
use std::path::{Path, PathBuf};

use actix_multipart::{Field, MultipartError};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How many leading bytes the content type is sniffed from.
const SNIFF_BYTES: usize = 8192;
/// Read size when streaming a file back.
const READ_CHUNK: usize = 64 * 1024;

/// Why a file could not be received.
#[derive(Debug)]
pub enum ReceiveError {
    /// The file passed the limit; nothing was kept.
    TooLarge,
    /// The client's upload broke off or was malformed.
    Upload(MultipartError),
    /// The disk failed us.
    Io(io::Error),
}

impl From<io::Error> for ReceiveError {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

/// A file received completely into a temporary file.
#[derive(Debug)]
pub struct Received {
    /// The temporary file; removed when dropped unless [`persist`]ed.
    pub temp: tempfile::TempPath,
    /// Bytes written.
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// The type sniffed from the bytes.
    pub content_type: &'static str,
}

/// Streams `field` to a new temporary file in `MEDIA_ROOT/tmp/`, failing with
/// [`ReceiveError::TooLarge`] as soon as more than `limit` bytes arrive.
pub async fn receive(
    field: &mut Field,
    media_root: &Path,
    limit: u64,
) -> Result<Received, ReceiveError> {
    let tmp_dir = media_root.join("tmp");
    let (file, temp) = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&tmp_dir)?;
        Ok::<_, io::Error>(
            tempfile::Builder::new()
                .prefix("upload-")
                .tempfile_in(&tmp_dir)?
                .into_parts(),
        )
    })
    .await
    .map_err(io::Error::other)??;
    let mut out = tokio::fs::File::from_std(file);
    let mut hasher = Sha256::new();
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
    let mut size: u64 = 0;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(ReceiveError::Upload)?;
        size += chunk.len() as u64;
        if size > limit {
            // `temp` drops here: the partial file is removed.
            return Err(ReceiveError::TooLarge);
        }
        if head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    out.sync_all().await?;
    drop(out);
    Ok(Received {
        temp,
        size,
        sha256: hex::encode(hasher.finalize()),
        content_type: sniff(&head),
    })
}

/// Reads and discards the rest of `field`, up to `budget` bytes; returns what is left of the
/// budget (0 when exhausted). Reading what the client is still sending lets the error answer
/// reach it instead of a reset connection.
pub async fn discard(field: &mut Field, mut budget: u64) -> u64 {
    while let Some(chunk) = field.next().await {
        match chunk {
            Ok(chunk) if (chunk.len() as u64) < budget => budget -= chunk.len() as u64,
            _ => return 0,
        }
    }
    budget
}

/// Moves a received file into place and returns its path relative to `media_root`.
pub async fn persist(received: tempfile::TempPath, media_root: &Path) -> io::Result<String> {
    let now = chrono::Utc::now();
    let relative = format!(
        "attachments/{}/{}",
        now.format("%Y/%m"),
        uuid::Uuid::new_v4().simple()
    );
    let target = media_root.join(&relative);
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        received.persist(&target).map_err(|e| e.error)
    })
    .await
    .map_err(io::Error::other)??;
    Ok(relative)
}

/// The absolute path of a stored file. Stored paths are ours (`attachments/…`), never a
/// client's; anything else is refused rather than joined.
pub fn resolve(media_root: &Path, relative: &str) -> Option<PathBuf> {
    let safe = relative.starts_with("attachments/")
        && relative
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    safe.then(|| media_root.join(relative))
}

/// Removes a stored file; a file already gone is fine.
pub async fn remove(media_root: &Path, relative: &str) -> io::Result<()> {
    let Some(path) = resolve(media_root, relative) else {
        return Ok(());
    };
    match tokio::fs::remove_file(path).await {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// Opens a stored file for streaming: its length and a stream of its bytes.
pub async fn open(
    path: &Path,
) -> io::Result<(u64, impl Stream<Item = io::Result<Bytes>> + 'static)> {
    let file = tokio::fs::File::open(path).await?;
    let len = file.metadata().await?.len();
    let stream = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0_u8; READ_CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            Err(err) => Some((Err(err), None)),
        }
    });
    Ok((len, stream))
}

/// The content type of a file, from its first bytes: a known signature (images, audio, video,
/// archives, documents, …), else `text/plain` for UTF-8 text, else
/// `application/octet-stream`. What the client declared is never trusted.
pub fn sniff(head: &[u8]) -> &'static str {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type();
    }
    if !head.is_empty() && !head.contains(&0) && is_utf8_prefix(head) {
        return "text/plain";
    }
    "application/octet-stream"
}

/// Valid UTF-8, allowing a character cut at the end of the sample.
fn is_utf8_prefix(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(err) => err.error_len().is_none(),
    }
}

/// Types a browser may show in place: plain media and text. Everything else downloads.
pub fn shows_inline(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "image/avif"
            | "image/bmp"
            | "audio/mpeg"
            | "audio/ogg"
            | "audio/x-wav"
            | "audio/x-flac"
            | "video/mp4"
            | "video/webm"
            | "application/pdf"
            | "text/plain"
    )
}

/// The display name of an upload: the client's file name without any directory, control
/// characters or surrounding blanks, at most 255 bytes; `file` when nothing is left.
pub fn clean_filename(raw: Option<&str>) -> String {
    let base = raw.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = plaza_kernel::syslog::truncate(cleaned.trim(), 255).trim();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_from_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(sniff("纯文本 plain".as_bytes()), "text/plain");
        // A multi-byte character cut by the sample is still text.
        assert_eq!(sniff(&"字".as_bytes()[..2]), "text/plain");
        assert_eq!(sniff(b"\0\x01\x02binary"), "application/octet-stream");
        assert_eq!(sniff(b""), "application/octet-stream");
    }

    #[test]
    fn file_names_lose_paths_and_controls() {
        assert_eq!(clean_filename(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_filename(Some(r"C:\Users\me\报告.pdf")), "报告.pdf");
        assert_eq!(clean_filename(Some("a\r\nb.txt")), "ab.txt");
        assert_eq!(clean_filename(Some("  ")), "file");
        assert_eq!(clean_filename(None), "file");
        assert_eq!(clean_filename(Some("..")), "file");
        assert!(clean_filename(Some(&"é".repeat(300))).len() <= 255);
    }

    #[test]
    fn only_our_paths_resolve() {
        let root = Path::new("/media");
        assert!(resolve(root, "attachments/2026/11/abc").is_some());
        assert!(resolve(root, "attachments/../secret").is_none());
        assert!(resolve(root, "/etc/passwd").is_none());
        assert!(resolve(root, "tmp/x").is_none());
    }

    #[test]
    fn inline_only_for_plain_media() {
        assert!(shows_inline("image/png"));
        assert!(!shows_inline("text/html"));
        assert!(!shows_inline("application/octet-stream"));
    }
}

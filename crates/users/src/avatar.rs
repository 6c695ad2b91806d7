//! Avatars: an uploaded image, checked by its bytes (never by the name or the declared type),
//! decoded within limits, stored under `MEDIA_ROOT/avatars/<user id>/` with a 256 × 256
//! thumbnail.
//!
//! PNG, JPEG and WebP uploads are re-encoded (PNG when the image has transparency, JPEG
//! otherwise) and scaled down to at most 1024 px, which also drops metadata such as EXIF GPS
//! positions. GIFs are kept as uploaded so animations survive; their thumbnail is the first
//! frame. File names are random, so a URL never shows a previous avatar.

use std::io::Cursor;
use std::path::{Component, Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use plaza_kernel::ApiError;

/// The largest upload accepted.
pub const MAX_AVATAR_BYTES: usize = 5 * 1024 * 1024;
/// The thumbnail's side.
pub const THUMBNAIL_SIZE: u32 = 256;
/// The stored avatar's longest side.
pub const MAX_SIDE: u32 = 1024;
/// The directory under `MEDIA_ROOT` avatars live in (served publicly at `/media/avatars/`).
pub const AVATAR_DIR: &str = "avatars";
/// Images with more pixels per side than this are refused before decoding.
const MAX_DECODE_SIDE: u32 = 10_000;

/// An avatar ready to be written: file contents and extensions.
#[derive(Debug)]
pub struct Processed {
    /// The avatar's bytes.
    pub avatar: Vec<u8>,
    /// Its extension (`png`, `jpg`, `gif`).
    pub avatar_ext: &'static str,
    /// The thumbnail's bytes.
    pub thumbnail: Vec<u8>,
    /// Its extension (`png` or `jpg`).
    pub thumbnail_ext: &'static str,
}

fn not_an_image() -> ApiError {
    ApiError::invalid_field("file", "Upload a valid image: PNG, JPEG, WebP or GIF.")
}

/// Checks and converts an upload. CPU-heavy: run it on the blocking pool.
pub fn process(bytes: &[u8]) -> Result<Processed, ApiError> {
    if bytes.len() > MAX_AVATAR_BYTES {
        return Err(ApiError::payload_too_large(MAX_AVATAR_BYTES));
    }
    let format = image::guess_format(bytes).map_err(|_| not_an_image())?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP | ImageFormat::Gif
    ) {
        return Err(not_an_image());
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|_| not_an_image())?;

    let thumbnail = image.resize_to_fill(THUMBNAIL_SIZE, THUMBNAIL_SIZE, FilterType::Lanczos3);
    let (thumbnail, thumbnail_ext) = encode(&thumbnail)?;
    let (avatar, avatar_ext) = if format == ImageFormat::Gif {
        (bytes.to_vec(), "gif")
    } else {
        let scaled = if image.width() > MAX_SIDE || image.height() > MAX_SIDE {
            image.resize(MAX_SIDE, MAX_SIDE, FilterType::Lanczos3)
        } else {
            image
        };
        encode(&scaled)?
    };
    Ok(Processed {
        avatar,
        avatar_ext,
        thumbnail,
        thumbnail_ext,
    })
}

/// PNG for images with transparency, JPEG (quality 88) for the rest.
fn encode(image: &DynamicImage) -> Result<(Vec<u8>, &'static str), ApiError> {
    let mut out = Cursor::new(Vec::new());
    if image.color().has_alpha() {
        image
            .write_to(&mut out, ImageFormat::Png)
            .map_err(ApiError::internal)?;
        Ok((out.into_inner(), "png"))
    } else {
        let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
        rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, 88))
            .map_err(ApiError::internal)?;
        Ok((out.into_inner(), "jpg"))
    }
}

/// Writes both files under `media_root` and returns their paths relative to it
/// (`avatars/<user>/<random>.<ext>`). Each file is written to a temporary name and renamed,
/// so a reader never sees half a file. Blocking I/O.
pub fn store(
    media_root: &Path,
    user_id: i64,
    processed: &Processed,
) -> std::io::Result<(String, String)> {
    let relative_dir = format!("{AVATAR_DIR}/{user_id}");
    let dir = media_root.join(&relative_dir);
    std::fs::create_dir_all(&dir)?;
    let stem = uuid::Uuid::new_v4().simple().to_string();
    let avatar_name = format!("{stem}.{}", processed.avatar_ext);
    let thumbnail_name = format!("{stem}_{THUMBNAIL_SIZE}.{}", processed.thumbnail_ext);
    write_atomically(&dir.join(&avatar_name), &processed.avatar)?;
    if let Err(err) = write_atomically(&dir.join(&thumbnail_name), &processed.thumbnail) {
        let _ = std::fs::remove_file(dir.join(&avatar_name));
        return Err(err);
    }
    Ok((
        format!("{relative_dir}/{avatar_name}"),
        format!("{relative_dir}/{thumbnail_name}"),
    ))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// The absolute path of a stored media file, or `None` if `relative` tries to leave
/// `media_root` (absolute, `..`, …).
pub fn media_path(media_root: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative);
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| media_root.join(relative))
}

/// Removes stored media files, logging (not failing on) what cannot be removed. Blocking I/O.
pub fn remove(media_root: &Path, relatives: &[String]) {
    for relative in relatives {
        let Some(path) = media_path(media_root, relative) else {
            tracing::warn!(path = %relative, "refusing to remove a media path outside MEDIA_ROOT");
            continue;
        };
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "could not remove a media file");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        if alpha {
            RgbaImage::from_pixel(width, height, Rgba([10, 20, 30, 128]))
                .write_to(&mut out, ImageFormat::Png)
                .unwrap();
        } else {
            RgbImage::from_pixel(width, height, Rgb([200, 100, 50]))
                .write_to(&mut out, ImageFormat::Png)
                .unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn thumbnails_are_square_and_keep_transparency() {
        let done = process(&png(600, 300, true)).unwrap();
        assert_eq!(done.thumbnail_ext, "png");
        let thumb = image::load_from_memory(&done.thumbnail).unwrap();
        assert_eq!(
            (thumb.width(), thumb.height()),
            (THUMBNAIL_SIZE, THUMBNAIL_SIZE)
        );

        let done = process(&png(2000, 1000, false)).unwrap();
        assert_eq!((done.avatar_ext, done.thumbnail_ext), ("jpg", "jpg"));
        let avatar = image::load_from_memory(&done.avatar).unwrap();
        assert_eq!((avatar.width(), avatar.height()), (MAX_SIDE, MAX_SIDE / 2));
    }

    #[test]
    fn content_decides_not_names() {
        assert_eq!(
            process(b"GIF89a-but-not-really").unwrap_err().code(),
            "validation_error"
        );
        assert_eq!(
            process(b"%PDF-1.7 hello").unwrap_err().code(),
            "validation_error"
        );
        let mut truncated = png(64, 64, false);
        truncated.truncate(40);
        assert_eq!(process(&truncated).unwrap_err().code(), "validation_error");
        // A BMP header: a real image format, but not one avatars accept.
        let bmp = b"BM\x3e\x00\x00\x00\x00\x00\x00\x00\x3e\x00\x00\x00\x28\x00";
        assert_eq!(process(bmp).unwrap_err().code(), "validation_error");
    }

    #[test]
    fn media_paths_stay_inside_the_root() {
        let root = Path::new("/srv/media");
        assert_eq!(
            media_path(root, "avatars/1/a.png"),
            Some(PathBuf::from("/srv/media/avatars/1/a.png"))
        );
        assert_eq!(media_path(root, "../etc/passwd"), None);
        assert_eq!(media_path(root, "/etc/passwd"), None);
        assert_eq!(
            media_path(root, "avatars/./a.png"),
            Some(PathBuf::from("/srv/media/avatars/a.png"))
        );
    }
}

//! Uploaded images: checked by their content (not their name), size-limited, and written
//! under the data folder atomically (a temporary file renamed into place), so a failed or
//! interrupted upload never leaves a half-written file where a post could point to it.
//! Files are named by the SHA-256 of their bytes: the same image is stored once, and a
//! name never changes meaning, so it can be cached forever.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::store::posts::NewMedia;

/// The largest image accepted.
pub const MAX_IMAGE_BYTES: u64 = 10 * 1024 * 1024;
/// The longest alt text, in characters (Mastodon's limit is 1,500).
pub const MAX_ALT_CHARS: usize = 1500;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the image is larger than {} MiB", MAX_IMAGE_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("the file is not a PNG, JPEG, GIF or WebP image")]
    NotAnImage,
    #[error("an image needs alt text (a description for people who cannot see it)")]
    MissingAlt,
    #[error("the alt text is longer than {MAX_ALT_CHARS} characters")]
    AltTooLong,
    /// The disk (or the user's quota) is full: the upload can be tried again once an
    /// administrator has made room. Nothing of it was kept.
    #[error(
        "the server has no room left to store the image; nothing was saved (tell an administrator)"
    )]
    DiskFull,
    /// Any other failure to write; the cause is logged, not shown (it names server paths).
    #[error("the server could not store the image; nothing was saved")]
    Io(#[source] std::io::Error),
}

impl From<std::io::Error> for MediaError {
    fn from(err: std::io::Error) -> Self {
        // ENOSPC and EDQUOT; `StorageFull` and `QuotaExceeded` are the stable names.
        match err.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => Self::DiskFull,
            _ => Self::Io(err),
        }
    }
}

/// The folder media files live in.
pub fn media_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("media")
}

/// What kind of image the bytes are, by their content, with its size in pixels.
pub fn inspect(bytes: &[u8]) -> Result<(&'static str, &'static str, u32, u32), MediaError> {
    let (media_type, extension) =
        match imagesize::image_type(bytes).map_err(|_| MediaError::NotAnImage)? {
            imagesize::ImageType::Png => ("image/png", "png"),
            imagesize::ImageType::Jpeg => ("image/jpeg", "jpg"),
            imagesize::ImageType::Gif => ("image/gif", "gif"),
            imagesize::ImageType::Webp => ("image/webp", "webp"),
            _ => return Err(MediaError::NotAnImage),
        };
    let size = imagesize::blob_size(bytes).map_err(|_| MediaError::NotAnImage)?;
    let width = u32::try_from(size.width).map_err(|_| MediaError::NotAnImage)?;
    let height = u32::try_from(size.height).map_err(|_| MediaError::NotAnImage)?;
    if width == 0 || height == 0 {
        return Err(MediaError::NotAnImage);
    }
    Ok((media_type, extension, width, height))
}

/// Checks and stores an image; returns what to attach to a post.
pub async fn store_image(data_dir: &Path, bytes: &[u8], alt: &str) -> Result<NewMedia, MediaError> {
    let alt = alt.trim();
    if alt.is_empty() {
        return Err(MediaError::MissingAlt);
    }
    if alt.chars().count() > MAX_ALT_CHARS {
        return Err(MediaError::AltTooLong);
    }
    if bytes.len() as u64 > MAX_IMAGE_BYTES {
        return Err(MediaError::TooLarge);
    }
    let (media_type, extension, width, height) = inspect(bytes)?;
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let file_name = format!("{hex}.{extension}");
    let dir = media_dir(data_dir);
    tokio::fs::create_dir_all(&dir).await?;
    let target = dir.join(&file_name);
    if tokio::fs::metadata(&target).await.is_err() {
        let temporary = dir.join(format!(".upload-{hex}-{}", std::process::id()));
        let written = async {
            let mut file = tokio::fs::File::create(&temporary).await?;
            file.write_all(bytes).await?;
            // tokio's File writes in the background: a failed write (ENOSPC) is reported by
            // the next flush, and `sync_all` alone would report only its own error.
            file.flush().await?;
            file.sync_all().await?;
            tokio::fs::rename(&temporary, &target).await
        }
        .await;
        if let Err(err) = written {
            // Whatever was written is not an image anyone may see: remove it. The post or
            // profile that wanted it is not saved either (its handler stops at this error),
            // so the database never names a file that is not there.
            let _ = tokio::fs::remove_file(&temporary).await;
            tracing::error!(error = %err, file = %target.display(), "an upload could not be stored");
            return Err(err.into());
        }
    }
    Ok(NewMedia {
        file_name,
        media_type: media_type.to_owned(),
        width,
        height,
        size_bytes: bytes.len() as u64,
        alt: alt.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 transparent PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    #[tokio::test]
    async fn an_image_is_stored_by_content_hash_once() {
        let dir = tempfile::tempdir().unwrap();
        let media = store_image(dir.path(), PNG, " A dot ").await.unwrap();
        assert_eq!(
            (media.media_type.as_str(), media.width, media.height),
            ("image/png", 1, 1)
        );
        assert_eq!(media.alt, "A dot");
        assert!(media.file_name.ends_with(".png") && media.file_name.len() == 68);
        let again = store_image(dir.path(), PNG, "Same dot").await.unwrap();
        assert_eq!(again.file_name, media.file_name);
        let files: Vec<_> = std::fs::read_dir(media_dir(dir.path())).unwrap().collect();
        assert_eq!(files.len(), 1, "no temporary files left behind");
    }

    #[tokio::test]
    async fn not_images_and_missing_alt_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A script renamed to .png is still not an image: content decides.
        let err = store_image(dir.path(), b"<script>alert(1)</script>", "x")
            .await
            .unwrap_err();
        assert!(matches!(err, MediaError::NotAnImage));
        assert!(matches!(
            store_image(dir.path(), PNG, "  ").await.unwrap_err(),
            MediaError::MissingAlt
        ));
        let truncated = &PNG[..20];
        assert!(
            store_image(dir.path(), truncated, "x").await.is_err(),
            "a half-uploaded image is refused"
        );
    }

    // Covers: uploads are checked by content, not by name: an SVG (which can carry script),
    // an HTML page and a script are refused whatever they are called, and the bytes decide
    // the type and extension. (The check reads the header, not every pixel: bytes after a
    // valid header are not looked at. They are served as the image type with nosniff and
    // `default-src 'none'`, so a browser never runs them.)
    #[tokio::test]
    async fn the_content_decides_never_the_name() {
        let dir = tempfile::tempdir().unwrap();
        for bytes in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"[..],
            b"<!doctype html><script>alert(1)</script>",
            b"alert(1)//.png",
        ] {
            assert!(matches!(
                store_image(dir.path(), bytes, "x").await.unwrap_err(),
                MediaError::NotAnImage
            ));
        }
        let media = store_image(dir.path(), PNG, "a dot").await.unwrap();
        assert_eq!(media.media_type, "image/png");
        assert!(media.file_name.ends_with(".png"), "{}", media.file_name);
    }
}

//! `GET /media/{file_name}`: uploaded images, streamed from `<data_dir>/media/`. Only names the
//! upload side makes (the SHA-256 of the bytes and a known extension) are looked up, so no
//! request can name a file elsewhere; such a name never changes meaning, so browsers and
//! proxies may keep the file forever.

use activitypub_federation::config::Data;
use axum::{
    body::Body,
    extract::Path,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use tokio_util::io::ReaderStream;

use super::{conditional, error::WebError};
use crate::{app::AppState, media::media_dir};

const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");

/// The media type of a stored file's name, if it is one: 64 lower-case hex digits, a dot and
/// `png`, `jpg`, `gif` or `webp`.
fn media_type(file_name: &str) -> Option<&'static str> {
    let (hash, extension) = file_name.split_once('.')?;
    if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    match extension {
        "png" => Some("image/png"),
        "jpg" => Some("image/jpeg"),
        "gif" => Some("image/gif"),
        "webp" => Some("image/webp"),
        _ => None,
    }
}

pub async fn media(
    Path(file_name): Path<String>,
    request: HeaderMap,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let media_type = media_type(&file_name).ok_or(WebError::NotFound)?;
    let path = media_dir(&data.config.data_dir).join(&file_name);
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(WebError::NotFound),
        Err(err) => return Err(WebError::Internal(format!("{}: {err}", path.display()))),
    };
    let length = file
        .metadata()
        .await
        .map_err(|e| WebError::Internal(format!("{}: {e}", path.display())))?
        .len();
    // The name is the content's hash: a strong tag for free.
    let etag = format!("\"{}\"", &file_name[..64]);
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, IMMUTABLE);
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    if conditional::is_fresh(&request, &etag, None) {
        return Ok(conditional::not_modified(&headers));
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    // The type is fixed by the name; browsers must not guess another from the bytes.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok((headers, Body::from_stream(ReaderStream::new(file))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_content_hash_names_are_served() {
        let hash = "a".repeat(64);
        assert_eq!(media_type(&format!("{hash}.png")), Some("image/png"));
        assert_eq!(media_type(&format!("{hash}.jpg")), Some("image/jpeg"));
        for bad in [
            format!("{hash}.svg"),
            format!("{hash}.png.png"),
            format!("{}.png", "A".repeat(64)),
            format!("{}.png", "a".repeat(63)),
            "../etc/passwd".into(),
            format!("../{}.png", "a".repeat(61)),
            String::new(),
        ] {
            assert_eq!(media_type(&bad), None, "{bad}");
        }
    }
}

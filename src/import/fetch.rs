//! Fetching a feed over HTTP(S) with the project's one client: internal addresses refused
//! (unless `allow_private_networks`), a few redirects followed with each target checked again,
//! and a size limit.

use url::Url;

use crate::federation::http_client::{BodyError, TargetError, check_target, read_limited};

/// The largest feed read; a WordPress site's whole history as a feed stays far below.
pub const MAX_FEED_BYTES: usize = 20 * 1024 * 1024;
const MAX_REDIRECTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("cannot fetch {url}: {source}")]
    Request {
        url: Url,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered {status}")]
    Status { url: Url, status: u16 },
    #[error("{0} redirects too often")]
    Redirects(Url),
    #[error("{0} is larger than {MAX_FEED_BYTES} bytes")]
    TooLarge(Url),
}

/// The body of `url`, following at most five redirects.
pub async fn fetch(
    http: &reqwest::Client,
    url: &Url,
    allow_private_networks: bool,
) -> Result<Vec<u8>, FetchError> {
    let mut url = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        check_target(&url, allow_private_networks)?;
        let request_error = |source| FetchError::Request {
            url: url.clone(),
            source,
        };
        let response = http
            .get(url.as_str())
            .header(
                http::header::ACCEPT,
                "application/rss+xml, application/atom+xml, application/xml;q=0.9, \
                 text/xml;q=0.9, */*;q=0.1",
            )
            .send()
            .await
            .map_err(request_error)?;
        let status = response.status();
        if status.is_redirection() {
            let next = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok());
            match next {
                Some(next) => {
                    url = next;
                    continue;
                }
                None => {
                    return Err(FetchError::Status {
                        url,
                        status: status.as_u16(),
                    });
                }
            }
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url,
                status: status.as_u16(),
            });
        }
        return read_limited(response, MAX_FEED_BYTES)
            .await
            .map_err(|err| match err {
                BodyError::TooLarge(_) => FetchError::TooLarge(url),
                BodyError::Read(source) => FetchError::Request { url, source },
            });
    }
    Err(FetchError::Redirects(url))
}

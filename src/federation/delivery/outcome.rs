//! What became of one delivery attempt, read from the receiver's answer or the error of the
//! request: delivered; retried (408, 429, 5xx, network errors and timeouts), no sooner than
//! a `Retry-After` asks; or failed for good (any other status), with what operators need to
//! see.

use std::time::Duration;

use http::{HeaderMap, StatusCode, header};

/// What became of one attempt.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Delivered(u16),
    Retry {
        status: Option<u16>,
        error: String,
        not_before: Option<Duration>,
    },
    Failed {
        status: Option<u16>,
        error: String,
    },
}

/// The error of a send, for operators: what kind of failure first (the part to act on),
/// then every cause reqwest and the layers under it give.
pub(super) fn describe(err: &reqwest::Error, timeout: Duration) -> String {
    let kind = if err.is_timeout() {
        format!("no answer within {} ms", timeout.as_millis())
    } else if err.is_connect() {
        "cannot connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut message = format!("{kind}: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

pub(super) fn classify(status: StatusCode, headers: &HeaderMap) -> Outcome {
    let code = status.as_u16();
    if status.is_success() {
        return Outcome::Delivered(code);
    }
    let error = format!("the inbox answered {status}");
    if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        return Outcome::Retry {
            status: Some(code),
            error,
            not_before: retry_after(headers),
        };
    }
    Outcome::Failed {
        status: Some(code),
        error,
    }
}

/// The longest wait a `Retry-After` can ask for; past it the receiver gets our schedule's
/// wait, so a wrong header cannot park a delivery for weeks.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// `Retry-After` in seconds or as an HTTP date (any of the three forms RFC 9110 allows),
/// capped at [`MAX_RETRY_AFTER`]. A date in the past asks for no wait.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers_with_retry_after(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn success_server_errors_and_refusals_are_told_apart() {
        let none = HeaderMap::new();
        assert_eq!(
            classify(StatusCode::ACCEPTED, &none),
            Outcome::Delivered(202)
        );
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, &none),
            Outcome::Retry {
                status: Some(502),
                ..
            }
        ));
        assert!(matches!(
            classify(StatusCode::REQUEST_TIMEOUT, &none),
            Outcome::Retry { .. }
        ));
        // A receiver rejecting our signature must not look delivered.
        assert!(matches!(
            classify(StatusCode::UNAUTHORIZED, &none),
            Outcome::Failed {
                status: Some(401),
                ..
            }
        ));
        assert!(matches!(
            classify(StatusCode::GONE, &none),
            Outcome::Failed {
                status: Some(410),
                ..
            }
        ));
    }

    #[test]
    fn retry_after_is_honoured_in_seconds_and_capped() {
        let outcome = classify(
            StatusCode::TOO_MANY_REQUESTS,
            &headers_with_retry_after("120"),
        );
        assert_eq!(
            outcome,
            Outcome::Retry {
                status: Some(429),
                error: "the inbox answered 429 Too Many Requests".into(),
                not_before: Some(Duration::from_secs(120))
            }
        );
        assert_eq!(
            retry_after(&headers_with_retry_after("99999999")),
            Some(Duration::from_secs(86400))
        );
        assert_eq!(retry_after(&headers_with_retry_after("soon")), None);
    }

    // Covers: Retry-After as an HTTP date in the obsolete forms RFC 9110 still asks
    // receivers to read, and a date already past, which asks for no wait at all.
    #[test]
    fn retry_after_dates_in_every_form_and_in_the_past() {
        for past in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                retry_after(&headers_with_retry_after(past)),
                Some(Duration::ZERO),
                "{past}"
            );
        }
        assert_eq!(
            retry_after(&headers_with_retry_after("Fri, 31 Dec 9999 23:59:59 GMT")),
            Some(MAX_RETRY_AFTER)
        );
    }
}

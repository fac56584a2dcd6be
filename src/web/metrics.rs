//! `GET /metrics`: delivery health and request counts in Prometheus' text format, from the
//! same tables as the admins' delivery page (`/editor/deliveries`).
//!
//! Who may read it: a request straight from loopback (a scraper on the same machine) that no
//! proxy forwarded, or anyone with an admin's API token (`Authorization: Bearer …`). Behind
//! a reverse proxy on the same machine every visitor arrives from loopback, so a request
//! carrying `X-Forwarded-For`, `Forwarded` or `X-Real-IP` needs the token. The figures name
//! the hosts we deliver to, which says who follows our accounts: not for everyone.
//!
//! Label cardinality is bounded: per-host series exist only for [`TOP_HOSTS`] hosts (those in
//! trouble first); the page lists the rest.

use std::{
    fmt::Write,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use activitypub_federation::config::Data;
use axum::{
    Extension,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    app::AppState,
    domain::credentials,
    store::{StoreError, delivery_stats::HOUR_MS, now_millis},
};

/// Hosts given their own series.
pub const TOP_HOSTS: i64 = 20;

/// The window that ranks hosts for [`TOP_HOSTS`].
const RECENT_MS: i64 = 24 * HOUR_MS;

/// Responses by status class (1xx…5xx), counted by this process since it started.
#[derive(Debug, Default)]
pub struct RequestCounts([AtomicU64; 5]);

impl RequestCounts {
    fn record(&self, status: StatusCode) {
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        if let Some(counter) = self.0.get(class) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Middleware: counts every response by status class.
pub async fn count(
    State(counts): State<Arc<RequestCounts>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    counts.record(response.status());
    response
}

pub async fn metrics(
    data: Data<AppState>,
    Extension(counts): Extension<Arc<RequestCounts>>,
    request: Request,
) -> Response {
    // Absent only when the router is called without a socket (tests using `oneshot`).
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    if let Err(refusal) = allowed(&data, peer, request.headers()).await {
        return refusal;
    }
    match render(&data, &counts).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "metrics: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

/// Loopback without a proxy's headers, or an admin's API token; else 403 (401 for a token
/// that is not one).
async fn allowed(
    data: &AppState,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = token {
        return match data
            .store
            .user_by_token_hash(&credentials::token_hash(token.trim()))
            .await
        {
            Ok(Some(user)) if user.may_administer() => Ok(()),
            Ok(Some(_)) => Err(refuse(StatusCode::FORBIDDEN)),
            Ok(None) => Err(refuse(StatusCode::UNAUTHORIZED)),
            Err(err) => {
                tracing::error!(error = %err, "metrics: could not check the token");
                Err(refuse(StatusCode::SERVICE_UNAVAILABLE))
            }
        };
    }
    let proxied = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|name| headers.contains_key(*name));
    if peer.is_some_and(|p| p.ip().is_loopback()) && !proxied {
        Ok(())
    } else {
        Err(refuse(StatusCode::FORBIDDEN))
    }
}

fn refuse(status: StatusCode) -> Response {
    let message = match status {
        StatusCode::UNAUTHORIZED => "the token is not valid\n",
        StatusCode::SERVICE_UNAVAILABLE => "database unavailable\n",
        _ => "metrics are for loopback or an admin's API token (see docs/OPERATIONS.md)\n",
    };
    (status, message).into_response()
}

async fn render(data: &AppState, counts: &RequestCounts) -> Result<String, StoreError> {
    let store = &data.store;
    let queued = store.delivery_counts().await?.queued;
    let totals = store.delivery_totals().await?;
    let failing = store.count_failing_hosts().await?;
    let hosts = store
        .host_summaries(now_millis() - RECENT_MS, TOP_HOSTS)
        .await?;
    let mut out = String::new();
    family(
        &mut out,
        "broadside_delivery_queue_depth",
        "gauge",
        "Deliveries waiting to be sent, due now or later.",
    );
    line(&mut out, "broadside_delivery_queue_depth", &[], queued);
    family(
        &mut out,
        "broadside_deliveries_total",
        "counter",
        "Delivery attempts by outcome; failed counts attempts that will be retried too.",
    );
    line(
        &mut out,
        "broadside_deliveries_total",
        &[("outcome", "delivered")],
        totals.delivered,
    );
    line(
        &mut out,
        "broadside_deliveries_total",
        &[("outcome", "failed")],
        totals.failed,
    );
    family(
        &mut out,
        "broadside_delivery_hosts_failing",
        "gauge",
        "Remote hosts whose every delivery has failed since their last success.",
    );
    line(&mut out, "broadside_delivery_hosts_failing", &[], failing);
    family(
        &mut out,
        "broadside_host_delivery_queue_depth",
        "gauge",
        "Deliveries waiting per remote host, for the 20 hosts with the most failures, queued \
         or delivered in the last 24 hours.",
    );
    for host in &hosts {
        line(
            &mut out,
            "broadside_host_delivery_queue_depth",
            &[("host", &host.host)],
            host.queued,
        );
    }
    family(
        &mut out,
        "broadside_host_deliveries_total",
        "counter",
        "Delivery attempts by outcome per remote host, for the same hosts.",
    );
    for host in &hosts {
        for (outcome, value) in [("delivered", host.delivered), ("failed", host.failed)] {
            line(
                &mut out,
                "broadside_host_deliveries_total",
                &[("host", &host.host), ("outcome", outcome)],
                value,
            );
        }
    }
    family(
        &mut out,
        "broadside_http_requests_total",
        "counter",
        "HTTP responses of this process since it started, by status class.",
    );
    for (class, counter) in ["1xx", "2xx", "3xx", "4xx", "5xx"].iter().zip(&counts.0) {
        let value = i64::try_from(counter.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        line(
            &mut out,
            "broadside_http_requests_total",
            &[("status", class)],
            value,
        );
    }
    Ok(out)
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn line(out: &mut String, name: &str, labels: &[(&str, &str)], value: i64) {
    out.push_str(name);
    if !labels.is_empty() {
        let labels: Vec<String> = labels
            .iter()
            .map(|(key, value)| format!("{key}=\"{}\"", escape(value)))
            .collect();
        let _ = write!(out, "{{{}}}", labels.join(","));
    }
    let _ = writeln!(out, " {value}");
}

/// A label value as the text format wants it: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_escape_label_values() {
        let mut out = String::new();
        line(
            &mut out,
            "m",
            &[("host", "a\"b\\c\nd"), ("outcome", "failed")],
            3,
        );
        assert_eq!(out, "m{host=\"a\\\"b\\\\c\\nd\",outcome=\"failed\"} 3\n");
        let mut out = String::new();
        line(&mut out, "m", &[], 0);
        assert_eq!(out, "m 0\n");
    }

    #[test]
    fn responses_are_counted_by_class() {
        let counts = RequestCounts::default();
        counts.record(StatusCode::OK);
        counts.record(StatusCode::ACCEPTED);
        counts.record(StatusCode::GONE);
        assert_eq!(counts.0[1].load(Ordering::Relaxed), 2);
        assert_eq!(counts.0[3].load(Ordering::Relaxed), 1);
    }
}

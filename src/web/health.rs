//! `GET /healthz`: 200 when the database answers, 503 when it does not.

use activitypub_federation::config::Data;
use axum::http::StatusCode;

use crate::app::AppState;

pub async fn healthz(data: Data<AppState>) -> (StatusCode, &'static str) {
    match data.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}

//! Reports (ActivityStreams `Flag`) other servers sent about our accounts and posts.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use url::Url;

use super::{Store, StoreError, StoreResult, Tx, now_millis};

/// A report as received, after the objects that are not ours were dropped.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub activity_id: Url,
    /// The actor that sent the Flag; for Mastodon, the reporting server's instance actor.
    pub reporter: Url,
    /// Our accounts and posts it names.
    pub objects: Vec<Url>,
    /// The reporter's comment, as plain text.
    pub content: String,
}

/// A stored report, as listed to admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: i64,
    pub activity_id: Url,
    pub reporter: Url,
    pub objects: Vec<Url>,
    pub content: String,
    pub received_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct ReportRow {
    id: i64,
    activity_id: String,
    reporter: String,
    objects_json: String,
    content: String,
    received_at: i64,
}

impl TryFrom<ReportRow> for Report {
    type Error = StoreError;

    fn try_from(row: ReportRow) -> StoreResult<Self> {
        let corrupt = || StoreError::Corrupt(format!("report {}", row.id));
        let objects: Vec<String> =
            serde_json::from_str(&row.objects_json).map_err(|_| corrupt())?;
        Ok(Self {
            id: row.id,
            activity_id: Url::parse(&row.activity_id).map_err(|_| corrupt())?,
            reporter: Url::parse(&row.reporter).map_err(|_| corrupt())?,
            objects: objects
                .iter()
                .map(|o| Url::parse(o).map_err(|_| corrupt()))
                .collect::<StoreResult<_>>()?,
            content: row.content,
            received_at: DateTime::from_timestamp_millis(row.received_at).ok_or_else(corrupt)?,
        })
    }
}

impl Tx {
    /// Stores a report; returns its row id.
    pub async fn insert_report(&mut self, report: &NewReport) -> StoreResult<i64> {
        let objects: Vec<&str> = report.objects.iter().map(Url::as_str).collect();
        let objects_json = serde_json::to_string(&objects)
            .map_err(|e| StoreError::Corrupt(format!("report objects: {e}")))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO reports (activity_id, reporter, objects_json, content, received_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(report.activity_id.as_str().to_owned())
        .bind(report.reporter.as_str().to_owned())
        .bind(objects_json)
        .bind(report.content.clone())
        .bind(now_millis())
        .fetch_one(&mut *self.inner)
        .await?;
        Ok(id)
    }
}

impl Store {
    /// Reports, newest first.
    pub async fn reports(&self, limit: i64, offset: i64) -> StoreResult<Vec<Report>> {
        let rows: Vec<ReportRow> = sqlx::query_as(
            "SELECT id, activity_id, reporter, objects_json, content, received_at FROM reports \
             ORDER BY received_at DESC, id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Report::try_from).collect()
    }
}

//! Posts of allied organizations on other servers, as received from them.

use chrono::{DateTime, Utc};
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePost {
    pub id: i64,
    pub ap_id: Url,
    pub remote_actor_id: i64,
    /// The ActivityStreams type (`Article`, `Note`…).
    pub kind: String,
    pub name: Option<String>,
    pub summary: Option<String>,
    /// Sanitized HTML.
    pub content: String,
    pub language: Option<String>,
    pub url: Option<Url>,
    pub in_reply_to: Option<Url>,
    pub published_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

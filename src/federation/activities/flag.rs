//! `Flag`: another server reports one of our accounts or posts to us. The report is kept for
//! the admins (`broadside report list`); nothing else happens automatically.
//!
//! Mastodon sends a Flag from its instance actor (`https://host/actor`), so the reporting
//! person stays anonymous, with `object` listing the reported account and then the reported
//! posts, and `content` the reporter's comment. Other servers send one object or embed them;
//! both are read. Objects not on our origin are dropped, and a Flag naming nothing of ours is
//! refused with 400.

use activitypub_federation::{config::Data, traits::Activity};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{begin_once, id_of};
use crate::{app::AppState, federation::FederationError, store::reports::NewReport};

/// The longest comment kept, in characters; the rest is cut off.
const MAX_CONTENT_CHARS: usize = 10_000;

#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedFlag {
    pub id: Url,
    pub actor: Url,
    /// One id, an embedded object, or a list of either.
    #[serde(default)]
    pub object: Value,
    #[serde(default)]
    pub content: Option<String>,
}

impl ReceivedFlag {
    /// The reported ids that are ours, in the order given, without repeats.
    fn our_objects(&self, base: &Url) -> Vec<Url> {
        let items = match &self.object {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut ours: Vec<Url> = Vec::new();
        for id in items.into_iter().filter_map(id_of) {
            if id.origin() == base.origin() && !ours.contains(&id) {
                ours.push(id);
            }
        }
        ours
    }
}

/// The comment as admins will read it in a terminal: control characters (which could move
/// the cursor or recolour the screen) dropped, line breaks kept, length capped.
fn clean_comment(content: &str) -> String {
    content
        .trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(MAX_CONTENT_CHARS)
        .collect()
}

#[async_trait]
impl Activity for ReceivedFlag {
    type DataType = AppState;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, data: &Data<AppState>) -> Result<(), FederationError> {
        if self.our_objects(&data.config.base_url).is_empty() {
            return Err(FederationError::Invalid(
                "the Flag names no account or post of this server".into(),
            ));
        }
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> Result<(), FederationError> {
        let report = NewReport {
            objects: self.our_objects(&data.config.base_url),
            content: clean_comment(self.content.as_deref().unwrap_or_default()),
            reporter: self.actor.clone(),
            activity_id: self.id.clone(),
        };
        let Some(mut tx) = begin_once(data, &self.id).await? else {
            return Ok(());
        };
        let report_id = tx.insert_report(&report).await?;
        tx.commit().await?;
        tracing::warn!(
            activity = %self.id,
            reporter = %self.actor,
            report = report_id,
            objects = report.objects.len(),
            "report received; see `broadside report list`"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_our_objects_once_and_a_clean_comment() {
        let flag: ReceivedFlag = serde_json::from_value(serde_json::json!({
            "id": "https://mastodon.example/0b6e3d1c",
            "type": "Flag",
            "actor": "https://mastodon.example/actor",
            "content": "spam\u{1b}[2J\nreally",
            "object": [
                "https://broadside.example/users/isg",
                {"id": "https://broadside.example/users/isg/posts/1", "type": "Note"},
                "https://elsewhere.example/users/x",
                "https://broadside.example/users/isg"
            ]
        }))
        .unwrap();
        let base = Url::parse("https://broadside.example/").unwrap();
        assert_eq!(
            flag.our_objects(&base)
                .iter()
                .map(Url::as_str)
                .collect::<Vec<_>>(),
            [
                "https://broadside.example/users/isg",
                "https://broadside.example/users/isg/posts/1"
            ]
        );
        assert_eq!(
            clean_comment(flag.content.as_deref().unwrap()),
            "spam[2J\nreally"
        );
        let single: ReceivedFlag = serde_json::from_value(serde_json::json!({
            "id": "https://misskey.example/1", "type": "Flag",
            "actor": "https://misskey.example/users/a",
            "object": "https://broadside.example/users/isg"
        }))
        .unwrap();
        assert_eq!(single.our_objects(&base).len(), 1);
    }
}

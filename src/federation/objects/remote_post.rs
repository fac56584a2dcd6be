//! Posts of followed accounts on other servers, from their JSON to what we keep.

use serde_json::Value;
use url::Url;

use crate::{
    domain::markdown,
    federation::{
        FederationData, FederationError, activities::id_of, http_client,
        protocol::post::RemotePostObject,
    },
    store::remote_posts::NewRemotePost,
};

/// The object types kept as posts.
pub const POST_TYPES: [&str; 4] = ["Article", "Note", "Page", "Question"];

/// Whether an activity's object is an embedded post.
pub fn is_post(object: &Value) -> bool {
    object
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|kind| POST_TYPES.contains(&kind))
}

/// Fetches a post from its own server, signed by the instance actor, with the crate's limits
/// (size, content type, no internal addresses). The object's id must be on the server that
/// answered, so a server cannot speak for another's post; it may differ from `url` (a post's
/// web page URL answers with its canonical id).
pub async fn fetch(data: &FederationData, url: &Url) -> Result<Value, FederationError> {
    // The crate refuses IP literals too; this says why in words an operator can act on.
    http_client::check_target(url, data.config.allow_private_networks)?;
    use activitypub_federation::error::Error;
    let fetched = activitypub_federation::fetch::fetch_object_http::<_, Value>(url, data)
        .await
        .map_err(|err| match err {
            // What the server answered will not change by asking again: the sender is told.
            Error::FetchWrongId(_)
            | Error::FetchInvalidContentType(_)
            | Error::ParseFetchedObject(..)
            | Error::ResponseBodyLimit
            | Error::UrlVerificationError(_) => FederationError::Invalid(format!("{url}: {err}")),
            // Unreachable or failing: worth the sender's retry.
            other => FederationError::Fetch(other),
        })?;
    match id_of(&fetched.object) {
        Some(id) if id.origin() == fetched.url.origin() => Ok(fetched.object),
        _ => Err(FederationError::Invalid(format!(
            "{url} answered with an object of another server"
        ))),
    }
}

/// The first author a post names in `attributedTo`.
pub fn author_of(json: &Value) -> Option<Url> {
    json.get("attributedTo")
        .map(attributed_to)
        .and_then(|authors| authors.into_iter().next())
}

/// Checks a received post and converts it. The object must be attributed to the actor that
/// sent it and live on that actor's server: a post claiming to be someone else's is refused.
pub fn object_to_remote_post(
    json: &Value,
    actor: &Url,
    remote_actor_id: i64,
) -> Result<NewRemotePost, FederationError> {
    let object: RemotePostObject = serde_json::from_value(json.clone())
        .map_err(|e| FederationError::Invalid(format!("the post does not parse: {e}")))?;
    if object.id.origin() != actor.origin() {
        return Err(FederationError::Invalid(format!(
            "{} is not on its sender's server",
            object.id
        )));
    }
    if !attributed_to(&object.attributed_to).contains(actor) {
        return Err(FederationError::Invalid(format!(
            "{} is not attributed to its sender",
            object.id
        )));
    }
    // The first language of the map is the post's own (Mastodon reads it this way too).
    let (language, mapped) = match object
        .content_map
        .as_ref()
        .and_then(|map| map.iter().next())
    {
        Some((language, content)) => (Some(language.clone()), content.as_str().map(str::to_owned)),
        None => (None, None),
    };
    let content = object.content.clone().or(mapped).unwrap_or_default();
    Ok(NewRemotePost {
        remote_actor_id,
        kind: object.kind.clone(),
        name: object.name.clone(),
        summary: object.summary.as_deref().map(markdown::sanitize),
        content: markdown::sanitize(&content),
        language,
        url: first_url(&object.url),
        in_reply_to: id_of(&object.in_reply_to),
        published_at: object
            .published
            .unwrap_or_else(chrono::Utc::now)
            .timestamp_millis(),
        edited_at: object.updated.map(|t| t.timestamp_millis()),
        ap_id: object.id,
    })
}

fn attributed_to(value: &Value) -> Vec<Url> {
    match value {
        Value::Array(items) => items.iter().filter_map(id_of).collect(),
        other => id_of(other).into_iter().collect(),
    }
}

/// The first web link of `url`. Other schemes (`javascript:`, `data:`) are skipped: the link
/// is shown as an `href` on our pages.
fn first_url(value: &Value) -> Option<Url> {
    match value {
        Value::String(url) => Url::parse(url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https")),
        Value::Object(link) => link.get("href").and_then(first_url),
        Value::Array(items) => items.iter().find_map(first_url),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> Url {
        Url::parse("https://ally.example/users/ally").unwrap()
    }

    #[test]
    fn a_post_is_sanitized_and_its_language_read() {
        let json = serde_json::json!({
            "id": "https://ally.example/users/ally/statuses/1", "type": "Note",
            "attributedTo": "https://ally.example/users/ally",
            "content": "<p>Hola<script>x</script></p>", "contentMap": {"es": "<p>Hola</p>"},
            "published": "2026-11-01T10:00:00Z", "url": {"type": "Link", "href": "https://ally.example/@ally/1"}
        });
        let post = object_to_remote_post(&json, &actor(), 7).unwrap();
        assert_eq!(post.content, "<p>Hola</p>");
        assert_eq!(post.language.as_deref(), Some("es"));
        assert_eq!(post.url.unwrap().as_str(), "https://ally.example/@ally/1");
    }

    #[test]
    fn a_post_of_another_author_or_host_is_refused() {
        let foreign = serde_json::json!({
            "id": "https://other.example/notes/1", "type": "Note",
            "attributedTo": "https://ally.example/users/ally", "content": "x"
        });
        assert!(object_to_remote_post(&foreign, &actor(), 7).is_err());
        let someone_else = serde_json::json!({
            "id": "https://ally.example/notes/1", "type": "Note",
            "attributedTo": "https://ally.example/users/other", "content": "x"
        });
        assert!(object_to_remote_post(&someone_else, &actor(), 7).is_err());
    }
}

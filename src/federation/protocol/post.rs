//! Posts on the wire: `Article` (statements) and `Note` (news), and the `Tombstone` a
//! retracted post leaves.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

/// The object of a post, shared by `Article` and `Note` (they differ in `kind`, `name` and
/// `summary`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostObject {
    #[serde(rename = "@context", skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub attributed_to: Attribution,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub content: String,
    /// The content keyed by language, so clients know what language it is in: the post's own
    /// language first (Mastodon takes the first entry as the post's language), then its
    /// translations. Keys keep their order: serde_json's `preserve_order` is on.
    pub content_map: Map<String, Value>,
    /// The title in every language, in the same order; only for statements with translations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_map: Option<Map<String, Value>>,
    /// The summary in every language, in the same order; only for statements with
    /// translations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary_map: Option<Map<String, Value>>,
    pub media_type: &'static str,
    pub url: Url,
    pub published: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
    pub to: Vec<Url>,
    pub cc: Vec<Url>,
    pub tag: Vec<TagObject>,
    pub attachment: Vec<ImageAttachment>,
    pub sensitive: bool,
    /// Who liked the post (Mastodon reads `totalItems` as its like count).
    pub likes: CollectionRef,
    /// Who boosted it.
    pub shares: CollectionRef,
    /// The replies an editor approved (or the account shows at once); held ones never.
    pub replies: CollectionRef,
}

/// One of a post's `likes`, `shares` and `replies`: the id it is served at, and as much as
/// the document says of it. An activity carrying the post names the collection only; the
/// post's own document adds the count and, for replies, the first page.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionRef {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_items: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<CollectionPageRef>,
}

/// The first page of a collection, embedded: the same as its URL serves, without `@context`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionPageRef {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub part_of: Url,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Url>,
    pub ordered_items: Vec<Url>,
}

/// `attributedTo`: the account, or for a joint statement every signatory, the publishing
/// account first (Mastodon and others take the first as the author; a single post keeps
/// the plain string every server reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Attribution {
    One(Url),
    Joint(Vec<Url>),
}

/// A `Hashtag` or `Mention` in a post's `tag` list.
#[derive(Debug, Clone, Serialize)]
pub struct TagObject {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub href: Url,
    pub name: String,
}

/// An image attached to a post, with its alt text as `name`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageAttachment {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub media_type: String,
    pub url: Url,
    pub name: String,
    pub width: u32,
    pub height: u32,
}

/// What a retracted post's URL serves, with 410 Gone.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    #[serde(rename = "@context", skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub former_type: &'static str,
    pub deleted: DateTime<Utc>,
}

/// A post from another server, read leniently: servers differ in which fields they send and
/// whether `attributedTo`, `url` or `inReplyTo` are strings, objects or arrays.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemotePostObject {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub attributed_to: Value,
    pub name: Option<String>,
    pub summary: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub content_map: Option<Map<String, Value>>,
    #[serde(default)]
    pub url: Value,
    #[serde(default)]
    pub in_reply_to: Value,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
}

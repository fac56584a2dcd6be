//! JSON-LD `@context` values. Every term a document uses must be declared here or in the
//! ActivityStreams and security vocabularies, so a JSON-LD processor expands it fully.

use serde_json::{Value, json};

pub const ACTIVITY_STREAMS: &str = "https://www.w3.org/ns/activitystreams";
pub const SECURITY_V1: &str = "https://w3id.org/security/v1";
/// The special collection that addresses a post to everyone.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// For activities and collections: plain ActivityStreams.
pub fn activity() -> Value {
    json!(ACTIVITY_STREAMS)
}

/// For actor documents: ActivityStreams, the security vocabulary for `publicKey`, and the
/// Mastodon and schema.org terms Mastodon reads from profiles.
pub fn actor() -> Value {
    json!([
        ACTIVITY_STREAMS,
        SECURITY_V1,
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
            "movedTo": {"@id": "as:movedTo", "@type": "@id"},
            "toot": "http://joinmastodon.org/ns#",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value"
        }
    ])
}

/// For posts and the activities that carry them: ActivityStreams plus the terms Mastodon
/// uses in posts (`sensitive`, `Hashtag`).
pub fn post() -> Value {
    json!([
        ACTIVITY_STREAMS,
        {
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag"
        }
    ])
}

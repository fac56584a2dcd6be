//! Our organization accounts as ActivityPub actors.

use activitypub_federation::protocol::public_key::PublicKey;
use url::Url;

use crate::{
    domain::LocalActor,
    federation::{
        protocol::{
            actor::{ActorDocument, Endpoints, Image, PropertyValue},
            context,
        },
        urls,
    },
};

/// Builds the actor document served at the actor's id.
pub fn local_actor_to_document(actor: &LocalActor, base: &Url) -> ActorDocument {
    let name = actor.username.as_str();
    let id = urls::actor(base, name);
    let image = |url: &Option<Url>| {
        url.clone().map(|url| Image {
            kind: "Image",
            media_type: media_type_of(&url),
            url,
        })
    };
    ActorDocument {
        context: context::actor(),
        kind: actor.kind.activity_type(),
        preferred_username: name.to_owned(),
        name: actor.name.clone(),
        summary: actor.summary_html.clone(),
        url: id.clone(),
        icon: image(&actor.icon_url),
        image: image(&actor.image_url),
        published: actor.created_at,
        inbox: urls::inbox(base, name),
        outbox: urls::outbox(base, name),
        followers: urls::followers(base, name),
        following: urls::following(base, name),
        featured: urls::featured(base, name),
        endpoints: Endpoints {
            shared_inbox: urls::shared_inbox(base),
        },
        public_key: PublicKey {
            id: urls::actor_key_id(base, name),
            owner: id.clone(),
            public_key_pem: actor.public_key_pem.clone(),
        },
        manually_approves_followers: actor.manually_approves_followers,
        discoverable: actor.discoverable,
        indexable: actor.indexable,
        attachment: actor
            .fields
            .iter()
            .map(|field| PropertyValue {
                kind: "PropertyValue",
                name: field.name.clone(),
                value: field_value_html(&field.value),
            })
            .collect(),
        also_known_as: actor.also_known_as.clone(),
        moved_to: actor.moved_to.clone(),
        id,
    }
}

/// Profile field values that are links become anchors, as Mastodon shows them.
fn field_value_html(value: &str) -> String {
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            let href = html_escape(url.as_str());
            let text = html_escape(
                value
                    .trim_start_matches("https://")
                    .trim_start_matches("http://"),
            );
            format!(
                "<a href=\"{href}\" rel=\"me nofollow noopener noreferrer\" target=\"_blank\">{text}</a>"
            )
        }
        _ => html_escape(value),
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn media_type_of(url: &Url) -> Option<String> {
    let path = url.path().to_ascii_lowercase();
    let kind = match path.rsplit('.').next()? {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        _ => return None,
    };
    Some(kind.to_owned())
}

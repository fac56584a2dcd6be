//! Our posts as ActivityPub objects: statements become `Article`s, news becomes `Note`s.

use serde_json::{Map, Value};
use url::Url;

use crate::{
    domain::{LocalActor, Post, PostKind, render},
    federation::{
        protocol::{
            context::{self, PUBLIC},
            post::{
                CollectionPageRef, CollectionRef, ImageAttachment, PostObject, TagObject, Tombstone,
            },
        },
        urls,
    },
};

/// Who a public post is addressed to: everyone, with the followers, mentioned accounts and
/// remote co-signers in `cc` (so they are notified).
pub fn audience(post: &Post, actor: &LocalActor, base: &Url) -> (Vec<Url>, Vec<Url>) {
    let public = Url::parse(PUBLIC).unwrap_or_else(|_| base.clone());
    let mut cc = vec![urls::followers(base, actor.username.as_str())];
    cc.extend(post.mentions.iter().map(|m| m.href.clone()));
    super::signatories::add_cosigners_to_cc(post, &mut cc);
    (vec![public], cc)
}

/// What the fediverse did with a post, as its own document shows it.
#[derive(Debug, Clone, Default)]
pub struct Interactions {
    pub likes: i64,
    pub shares: i64,
    /// Approved replies only.
    pub replies: i64,
    /// The first page of approved replies' ids, oldest first: what `replies?page=1` serves.
    pub first_replies: Vec<Url>,
    /// Whether `replies` has a second page.
    pub more_replies: bool,
}

/// The post's document at its id: the object, with its likes, boosts and approved replies
/// counted and the first page of replies embedded (Mastodon 4.3 reads the counts; Mastodon
/// and others fetch replies from `first` on).
pub fn post_document(
    post: &Post,
    actor: &LocalActor,
    base: &Url,
    interactions: &Interactions,
) -> PostObject {
    let mut object = post_to_object(post, actor, base, true);
    object.likes.total_items = Some(interactions.likes);
    object.shares.total_items = Some(interactions.shares);
    let replies = &mut object.replies;
    replies.total_items = Some(interactions.replies);
    replies.first = Some(CollectionPageRef {
        id: urls::page(&replies.id, 1),
        kind: "OrderedCollectionPage",
        part_of: replies.id.clone(),
        next: interactions
            .more_replies
            .then(|| urls::page(&replies.id, 2)),
        ordered_items: interactions.first_replies.clone(),
    });
    object
}

/// The object a follower's server stores and shows. A statement is an `Article` (Mastodon
/// shows its title, summary and a link); news is a `Note` with the whole text and no
/// `summary` (Mastodon would show a Note's summary as a content warning).
pub fn post_to_object(
    post: &Post,
    actor: &LocalActor,
    base: &Url,
    with_context: bool,
) -> PostObject {
    let username = actor.username.as_str();
    let id = urls::post(base, username, post.id);
    let (to, cc) = audience(post, actor, base);
    let kind = match post.kind {
        PostKind::Statement => "Article",
        PostKind::News => "Note",
    };
    let own = Texts::of(post);
    let (mut content_map, mut name_map, mut summary_map) = (Map::new(), Map::new(), Map::new());
    let versions = post
        .languages()
        .into_iter()
        .filter_map(|language| post.in_language(language));
    for version in versions {
        let language = version.language.to_string();
        let texts = Texts::of(&version);
        content_map.insert(language.clone(), Value::String(texts.content));
        if let Some(name) = texts.name {
            name_map.insert(language.clone(), Value::String(name));
        }
        if let Some(summary) = texts.summary {
            summary_map.insert(language, Value::String(summary));
        }
    }
    let Texts {
        name,
        summary,
        content,
    } = own;
    // A post in one language says so in contentMap alone, as before translations existed.
    let translated = !post.translations.is_empty();
    let name_map = (translated && !name_map.is_empty()).then_some(name_map);
    let summary_map = (translated && !summary_map.is_empty()).then_some(summary_map);
    let mut tag: Vec<TagObject> = post
        .all_tags()
        .iter()
        .map(|t| TagObject {
            kind: "Hashtag",
            href: render::tag_url(base, t),
            name: format!("#{t}"),
        })
        .collect();
    tag.extend(post.mentions.iter().map(|m| TagObject {
        kind: "Mention",
        href: m.href.clone(),
        name: m.name.clone(),
    }));
    super::signatories::add_cosigner_mentions(post, &mut tag);
    PostObject {
        context: with_context.then(context::post),
        attributed_to: super::signatories::attribution(post, actor, base),
        name,
        summary,
        content,
        content_map,
        name_map,
        summary_map,
        media_type: "text/html",
        // An imported post points readers to where it was first published.
        url: post.original_url.clone().unwrap_or_else(|| id.clone()),
        published: post.published_at.unwrap_or(post.created_at),
        updated: post.edited_at,
        to,
        cc,
        tag,
        attachment: post
            .media
            .iter()
            .map(|m| ImageAttachment {
                kind: "Image",
                media_type: m.media_type.clone(),
                url: urls::media(base, &m.file_name),
                name: m.alt.clone(),
                width: m.width,
                height: m.height,
            })
            .collect(),
        sensitive: false,
        // Named, not counted: activities are sent once and kept, counts change.
        likes: collection(urls::post_likes(base, username, post.id), "Collection"),
        shares: collection(urls::post_shares(base, username, post.id), "Collection"),
        replies: collection(
            urls::post_replies(base, username, post.id),
            "OrderedCollection",
        ),
        kind,
        id,
    }
}

/// What the object says in one language.
struct Texts {
    name: Option<String>,
    summary: Option<String>,
    content: String,
}

impl Texts {
    /// A statement has all three; news only `content`, which a title, if any, leads: a Note
    /// has no visible name, and Mastodon would show a Note's summary as a content warning.
    fn of(post: &Post) -> Self {
        match post.kind {
            PostKind::Statement => Self {
                name: post.title.clone(),
                summary: post.display_summary().map(str::to_owned),
                content: post.body_html.clone(),
            },
            PostKind::News => Self {
                name: None,
                summary: None,
                content: match &post.title {
                    Some(title) => format!(
                        "<p><strong>{}</strong></p>{}",
                        escape(title),
                        post.body_html
                    ),
                    None => post.body_html.clone(),
                },
            },
        }
    }
}

/// What a retracted post leaves behind.
pub fn post_to_tombstone(
    post: &Post,
    actor: &LocalActor,
    base: &Url,
    with_context: bool,
) -> Tombstone {
    Tombstone {
        context: with_context.then(context::activity),
        id: urls::post(base, actor.username.as_str(), post.id),
        kind: "Tombstone",
        former_type: match post.kind {
            PostKind::Statement => "Article",
            PostKind::News => "Note",
        },
        deleted: post.deleted_at.unwrap_or(post.updated_at),
    }
}

/// `likes` and `shares` are typed `Collection`, as Mastodon 4.3 embeds them; what their ids
/// serve is the ordered, paged kind of the same collection. `replies` embeds its first page,
/// whose type must match the page its URL serves.
fn collection(id: Url, kind: &'static str) -> CollectionRef {
    CollectionRef {
        id,
        kind,
        total_items: None,
        first: None,
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

//! Feeds of an account's latest published posts: `/users/{username}/feed.atom` (Atom 1.0) and
//! `/users/{username}/feed.rss` (RSS 2.0), for readers and sites that do not speak ActivityPub.
//! Each language the account's posts can be read in has its own pair,
//! `/users/{username}/lang/{lang}/feed.atom` and `.rss`: the posts written in that language
//! or translated into it, each in that language's version and linking that version's page.
//!
//! Written with the rust-syndication crates (`atom_syndication`, `rss`) rather than templates:
//! they escape every value, declare the namespaces used (Dublin Core, `content:encoded`,
//! `atom:link`) and read feeds too, which the tests use to parse ours back. They cost little:
//! the builder dependencies they pull are already built for activitypub_federation.

use activitypub_federation::config::Data;
use atom_syndication as atom;
use axum::{
    extract::Path,
    http::header,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use rss::extension::{atom::AtomExtension, dublincore::DublinCoreExtension};
use url::Url;

use super::{
    actors::find_actor,
    error::WebError,
    view::{self, headline},
};
use crate::{
    app::AppState,
    domain::{Language, LocalActor, Post, PostState},
    federation::urls,
    web::translations,
};

const ATOM_TYPE: &str = "application/atom+xml; charset=utf-8";
const RSS_TYPE: &str = "application/rss+xml; charset=utf-8";
const GENERATOR: &str = "Broadside";

/// The account and its latest published posts.
async fn load(data: &AppState, username: &str) -> Result<(LocalActor, Vec<Post>), WebError> {
    let actor = find_actor(data, username).await?;
    let posts = data
        .store
        .posts_of_actor(actor.id, PostState::Published, view::PAGE_SIZE, 0)
        .await?;
    Ok((actor, posts))
}

/// The account and its latest published posts readable in `lang`, each in that version.
async fn load_in(
    data: &AppState,
    username: &str,
    lang: &str,
) -> Result<(LocalActor, Vec<Post>, Language), WebError> {
    let language = Language::parse(lang).map_err(|_| WebError::NotFound)?;
    let actor = find_actor(data, username).await?;
    let posts = data
        .store
        .posts_in_language(actor.id, &language, view::PAGE_SIZE)
        .await?;
    Ok((actor, posts, language))
}

/// A post as a feed in `language` shows it (its version in that language, if it has one) and
/// the page of that version.
fn version(
    post: &Post,
    language: Option<&Language>,
    actor: &LocalActor,
    base: &Url,
) -> (Post, String) {
    let language = language.unwrap_or(&post.language);
    match post.in_language(language) {
        Some(shown) => {
            let url = translations::page_url(base, actor, post, language).to_string();
            (shown, url)
        }
        None => (
            post.clone(),
            urls::post(base, actor.username.as_str(), post.id).to_string(),
        ),
    }
}

/// When a feed last changed as far as its entries show: the newest change among them.
fn updated(actor: &LocalActor, posts: &[Post]) -> DateTime<Utc> {
    posts
        .iter()
        .map(Post::last_modified)
        .max()
        .unwrap_or(actor.updated_at)
}

/// What a post's entry says in brief: its summary, else the start of its text.
fn summary(post: &Post) -> &str {
    post.summary.as_deref().unwrap_or(&post.excerpt)
}

// No Last-Modified on feeds: a retracted post leaves the feed without any remaining entry
// being newer, so a date from the entries could wrongly answer 304. The ETag is exact.

pub async fn atom_feed(
    Path(username): Path<String>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let (actor, posts) = load(&data, &username).await?;
    let feed = atom_of(&actor, &posts, &data.config.base_url, None);
    atom_response(&feed)
}

pub async fn atom_feed_in(
    Path((username, lang)): Path<(String, String)>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let (actor, posts, language) = load_in(&data, &username, &lang).await?;
    let feed = atom_of(&actor, &posts, &data.config.base_url, Some(&language));
    atom_response(&feed)
}

fn atom_response(feed: &atom::Feed) -> Result<Response, WebError> {
    let xml = feed
        .write_to(Vec::new())
        .map_err(|e| WebError::Internal(format!("writing the Atom feed: {e}")))?;
    Ok(([(header::CONTENT_TYPE, ATOM_TYPE)], xml).into_response())
}

fn atom_of(
    actor: &LocalActor,
    posts: &[Post],
    base: &Url,
    language: Option<&Language>,
) -> atom::Feed {
    let username = actor.username.as_str();
    let feed_url = match language {
        Some(language) => urls::atom_feed_in(base, username, language.as_str()),
        None => urls::atom_feed(base, username),
    };
    let actor_url = urls::actor(base, username).to_string();
    let author = atom::Person {
        name: actor.name.clone(),
        uri: Some(actor_url.clone()),
        ..Default::default()
    };
    let link = |href: String, rel: &str, mime_type: &str| atom::Link {
        href,
        rel: rel.to_owned(),
        mime_type: Some(mime_type.to_owned()),
        ..Default::default()
    };
    let entries = posts
        .iter()
        .map(|post| {
            let (post, url) = version(post, language, actor, base);
            let post = &post;
            let lang = Some(post.language.to_string());
            let mut links = vec![link(url.clone(), "alternate", "text/html")];
            links.extend(post.media.iter().map(|m| atom::Link {
                length: Some(m.size_bytes.to_string()),
                title: Some(m.alt.clone()),
                ..link(
                    urls::media(base, &m.file_name).into(),
                    "enclosure",
                    &m.media_type,
                )
            }));
            atom::Entry {
                title: atom::Text {
                    lang: lang.clone(),
                    ..atom::Text::plain(headline(post))
                },
                id: url,
                updated: post.last_modified().fixed_offset(),
                published: Some(view::published(post).fixed_offset()),
                authors: vec![author.clone()],
                links,
                summary: Some(atom::Text {
                    lang: lang.clone(),
                    ..atom::Text::plain(summary(post))
                }),
                content: Some(atom::Content {
                    lang,
                    value: Some(post.body_html.clone()),
                    content_type: Some("html".to_owned()),
                    ..Default::default()
                }),
                categories: post
                    .tags
                    .iter()
                    .map(|t| atom::Category {
                        term: t.clone(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }
        })
        .collect();
    atom::Feed {
        title: atom::Text::plain(actor.name.clone()),
        id: feed_url.to_string(),
        updated: updated(actor, posts).fixed_offset(),
        authors: vec![author],
        lang: language.map(Language::to_string),
        links: vec![
            link(feed_url.into(), "self", "application/atom+xml"),
            link(actor_url, "alternate", "text/html"),
        ],
        subtitle: Some(atom::Text::html(actor.summary_html.clone())),
        generator: Some(atom::Generator {
            value: GENERATOR.to_owned(),
            ..Default::default()
        }),
        icon: actor.icon_url.as_ref().map(Url::to_string),
        entries,
        ..Default::default()
    }
}

pub async fn rss_feed(
    Path(username): Path<String>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let (actor, posts) = load(&data, &username).await?;
    let channel = rss_of(&actor, &posts, &data.config.base_url, None);
    rss_response(&channel)
}

pub async fn rss_feed_in(
    Path((username, lang)): Path<(String, String)>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let (actor, posts, language) = load_in(&data, &username, &lang).await?;
    let channel = rss_of(&actor, &posts, &data.config.base_url, Some(&language));
    rss_response(&channel)
}

fn rss_response(channel: &rss::Channel) -> Result<Response, WebError> {
    let xml = channel
        .write_to(Vec::new())
        .map_err(|e| WebError::Internal(format!("writing the RSS feed: {e}")))?;
    Ok(([(header::CONTENT_TYPE, RSS_TYPE)], xml).into_response())
}

fn rss_of(
    actor: &LocalActor,
    posts: &[Post],
    base: &Url,
    language: Option<&Language>,
) -> rss::Channel {
    let username = actor.username.as_str();
    let items = posts
        .iter()
        .map(|post| {
            let (post, url) = version(post, language, actor, base);
            let post = &post;
            rss::Item {
                title: Some(headline(post)),
                link: Some(url.clone()),
                guid: Some(rss::Guid {
                    value: url,
                    permalink: true,
                }),
                pub_date: Some(view::published(post).to_rfc2822()),
                description: Some(summary(post).to_owned()),
                content: Some(post.body_html.clone()),
                // RSS allows one enclosure; the first image is the one previews show.
                enclosure: post.media.first().map(|m| rss::Enclosure {
                    url: urls::media(base, &m.file_name).into(),
                    length: m.size_bytes.to_string(),
                    mime_type: m.media_type.clone(),
                }),
                categories: post
                    .tags
                    .iter()
                    .map(|t| rss::Category {
                        name: t.clone(),
                        domain: None,
                    })
                    .collect(),
                // RSS's own <author> must be an e-mail address; Dublin Core names the account
                // and gives each item its language (RSS has one per channel only).
                dublin_core_ext: Some(DublinCoreExtension {
                    creators: vec![actor.name.clone()],
                    languages: vec![post.language.to_string()],
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let feed_url = match language {
        Some(language) => urls::rss_feed_in(base, username, language.as_str()),
        None => urls::rss_feed(base, username),
    };
    let self_link = rss::extension::atom::Link {
        href: feed_url.into(),
        rel: "self".to_owned(),
        mime_type: Some("application/rss+xml".to_owned()),
        ..Default::default()
    };
    rss::Channel {
        title: actor.name.clone(),
        link: urls::actor(base, username).into(),
        description: actor.summary_html.clone(),
        last_build_date: Some(updated(actor, posts).to_rfc2822()),
        language: language.map(Language::to_string),
        generator: Some(GENERATOR.to_owned()),
        atom_ext: Some(AtomExtension {
            links: vec![self_link],
        }),
        items,
        ..Default::default()
    }
}

//! A post in its other languages: `/users/{username}/posts/{id}/{lang}` serves the page of
//! one translation (the post's own language stays at the post's URL, its id), and every
//! language version of a post links the others with `hreflang` and a visible switcher.
//!
//! The language is a path segment, not a query parameter, so the page cache files each
//! version under its own key without reading any parameter but `page`.

use activitypub_federation::config::Data;
use axum::{
    extract::Path,
    http::HeaderMap,
    response::{Html, IntoResponse, Redirect, Response},
};
use url::Url;

use super::{
    conditional::last_modified,
    error::WebError,
    negotiate::{Representation, VARY_ACCEPT, negotiate},
    posts::{html_page, load, modified_at},
};
use crate::{
    app::AppState,
    domain::{Language, LocalActor, Post, PostState},
    federation::urls,
};

/// One language version of a post, as the page's `hreflang` links and switcher name it.
pub struct Alternate {
    pub lang: String,
    pub url: String,
    /// The language's name in itself (Español, Deutsch), or its tag where Broadside knows
    /// no name.
    pub name: String,
    /// The version this page shows.
    pub current: bool,
}

/// The page of `post` in `language`: the post's own URL for its own language.
pub fn page_url(base: &Url, actor: &LocalActor, post: &Post, language: &Language) -> Url {
    let username = actor.username.as_str();
    if language == &post.language {
        urls::post(base, username, post.id)
    } else {
        urls::post_in_language(base, username, post.id, language.as_str())
    }
}

/// Every version of `post`, its own language first; none for a post in one language.
pub fn alternates(
    base: &Url,
    actor: &LocalActor,
    post: &Post,
    current: &Language,
) -> Vec<Alternate> {
    if post.translations.is_empty() {
        return Vec::new();
    }
    post.languages()
        .into_iter()
        .map(|language| Alternate {
            lang: language.to_string(),
            url: page_url(base, actor, post, language).into(),
            name: native_name(language),
            current: language == current,
        })
        .collect()
}

/// What a language calls itself, for the languages sister organizations write in most; the
/// tag itself for others. A region is kept as written (`Português (BR)`).
pub fn native_name(language: &Language) -> String {
    let tag = language.as_str();
    let (primary, rest) = tag.split_once('-').unwrap_or((tag, ""));
    let name = match primary {
        "ar" => "العربية",
        "ca" => "Català",
        "da" => "Dansk",
        "de" => "Deutsch",
        "el" => "Ελληνικά",
        "en" => "English",
        "eo" => "Esperanto",
        "es" => "Español",
        "eu" => "Euskara",
        "fa" => "فارسی",
        "fi" => "Suomi",
        "fr" => "Français",
        "gl" => "Galego",
        "hi" => "हिन्दी",
        "it" => "Italiano",
        "ja" => "日本語",
        "ko" => "한국어",
        "nl" => "Nederlands",
        "no" | "nb" => "Norsk",
        "pl" => "Polski",
        "pt" => "Português",
        "ru" => "Русский",
        "sv" => "Svenska",
        "tr" => "Türkçe",
        "uk" => "Українська",
        "zh" => "中文",
        _ => return tag.to_owned(),
    };
    if rest.is_empty() {
        name.to_owned()
    } else {
        format!("{name} ({rest})")
    }
}

/// `/users/{username}/posts/{id}/{lang}`: the post's page in one of its translations. The
/// post's own language, its ActivityStreams document and a retracted post's tombstone are all
/// at the post's one URL, so those requests are sent there.
pub async fn post_in_language(
    Path((username, id, lang)): Path<(String, String, String)>,
    headers: HeaderMap,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let language = Language::parse(&lang).map_err(|_| WebError::NotFound)?;
    let (actor, post) = load(&data, &username, &id).await?;
    let base = &data.config.base_url;
    if language == post.language
        || post.state == PostState::Deleted
        || negotiate(&headers) == Representation::ActivityJson
    {
        let id = urls::post(base, actor.username.as_str(), post.id);
        return Ok(([VARY_ACCEPT], Redirect::permanent(id.as_str())).into_response());
    }
    if post.translation(&language).is_none() {
        return Err(WebError::NotFound);
    }
    let modified = last_modified(modified_at(&data, &actor, &post).await?);
    let counts = data.store.interaction_counts(post.id).await?;
    let html = html_page(&data, &actor, &post, &language, counts).await?;
    Ok(([VARY_ACCEPT], [modified], Html(html)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_named_in_themselves_and_unknown_ones_by_tag() {
        let name = |tag: &str| native_name(&Language::parse(tag).unwrap());
        assert_eq!(name("es"), "Español");
        assert_eq!(name("pt-BR"), "Português (BR)");
        assert_eq!(name("qu"), "qu");
    }
}

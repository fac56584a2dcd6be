//! A post's other language versions in the editor: the post's edit page lists them
//! ([`items`]); `/editor/posts/{id}/translations?lang=xx` is the form to add or change one,
//! and `/editor/posts/{id}/translations/remove` removes one. Each goes through
//! [`crate::editorial::translations`], which checks the role as for correcting the post.

use askama::Template;
use axum::{
    extract::{Path, Query},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    EditorError, EditorResult, Frame, changed,
    forms::{Editor, EditorForm},
    see_other,
};
use crate::{
    domain::{Language, LocalActor, Post, PostKind, PostState},
    editorial::{
        self, EditorialError,
        translations::{self, Translate},
    },
    federation::urls,
    web::{translations::native_name, view::headline},
};

/// One language version in the edit page's list.
pub struct TranslationItem {
    pub lang: String,
    pub name: String,
    pub title: String,
    /// Its public page, once the post is published.
    pub public_url: Option<String>,
}

/// The post's translations as its edit page lists them.
pub fn items(base: &url::Url, actor: &LocalActor, post: &Post) -> Vec<TranslationItem> {
    post.translations
        .iter()
        .map(|t| TranslationItem {
            lang: t.language.to_string(),
            name: native_name(&t.language),
            title: t.title.clone().unwrap_or_default(),
            public_url: (post.state == PostState::Published).then(|| {
                urls::post_in_language(base, actor.username.as_str(), post.id, t.language.as_str())
                    .into()
            }),
        })
        .collect()
}

/// What the form sends; every field may be missing and is checked where it is used.
#[derive(Debug, Default, Deserialize)]
pub struct TranslationForm {
    #[serde(default)]
    pub lang: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub body: String,
}

#[derive(Template)]
#[template(path = "editor/translation.html")]
struct TranslationPage<'a> {
    frame: Option<Frame>,
    post_id: i64,
    heading: String,
    /// The post's own language, which a translation may not use.
    own_lang: &'a str,
    statement: bool,
    published: bool,
    /// Whether the form changes an existing version (its language is then fixed).
    existing: bool,
    form: &'a TranslationForm,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

fn post_id(id: &str) -> EditorResult<i64> {
    id.parse().map_err(|_| EditorError::NotFound)
}

fn render(
    editor: &Editor,
    actors: &[LocalActor],
    post: &Post,
    form: &TranslationForm,
    status: StatusCode,
    error: Option<String>,
) -> EditorResult<Response> {
    let existing = Language::parse(&form.lang)
        .ok()
        .is_some_and(|language| post.translation(&language).is_some());
    let page = TranslationPage {
        frame: Some(Frame::new(&editor.user, &editor.csrf, actors)),
        post_id: post.id,
        heading: format!("Translate: {}", headline(post)),
        own_lang: post.language.as_str(),
        statement: post.kind == PostKind::Statement,
        published: post.state == PostState::Published,
        existing,
        form,
        error,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The form for a new version, or for the version in `?lang=` filled in.
pub async fn page(
    editor: Editor,
    Path(id): Path<String>,
    Query(query): Query<LangQuery>,
) -> EditorResult<Response> {
    let (_, post) = editorial::post_for(&editor.data, &editor.user, post_id(&id)?).await?;
    let actors = editor.data.store.list_actors().await?;
    let version = query
        .lang
        .as_deref()
        .and_then(|lang| Language::parse(lang).ok())
        .and_then(|language| post.translation(&language).cloned());
    let form = match version {
        Some(t) => TranslationForm {
            lang: t.language.to_string(),
            title: t.title.unwrap_or_default(),
            summary: t.summary.unwrap_or_default(),
            body: t.body_md,
        },
        None => TranslationForm::default(),
    };
    render(&editor, &actors, &post, &form, StatusCode::OK, None)
}

fn optional(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Saves the version; a refused one comes back with the form as it was sent.
pub async fn save(
    Path(id): Path<String>,
    EditorForm { editor, form, .. }: EditorForm<TranslationForm>,
) -> EditorResult<Response> {
    let data = &editor.data;
    let (_, post) = editorial::post_for(data, &editor.user, post_id(&id)?).await?;
    let translate = Translate {
        lang: form.lang.trim().to_owned(),
        title: optional(&form.title),
        summary: optional(&form.summary),
        body: form.body.clone(),
    };
    match translations::translate(data, &editor.user, post.id, translate).await {
        Ok((_, post)) => {
            changed(data);
            Ok(see_other(&format!(
                "/editor/posts/{}?done=translated",
                post.id
            )))
        }
        Err(EditorialError::Invalid(why)) => {
            let actors = data.store.list_actors().await?;
            render(
                &editor,
                &actors,
                &post,
                &form,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("Not saved: {why}.")),
            )
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    lang: String,
}

pub async fn remove(
    Path(id): Path<String>,
    EditorForm { editor, form, .. }: EditorForm<RemoveForm>,
) -> EditorResult<Response> {
    let (_, post) = translations::remove(&editor.data, &editor.user, post_id(&id)?, &form.lang)
        .await?
        .ok_or_else(|| {
            EditorError::BadRequest(format!("this post has no version in `{}`", form.lang))
        })?;
    changed(&editor.data);
    Ok(see_other(&format!(
        "/editor/posts/{}?done=untranslated",
        post.id
    )))
}

//! A post's other language versions, as the editor and the API offer them: the same people
//! who may correct the post may add, replace or remove a version of it.

use super::{EditorialError, EditorialResult, audit, may_edit_text, post_for};
use crate::{
    domain::{
        Language, LocalActor, Post, PostState, User,
        translation::{InvalidTranslation, translation_draft},
    },
    federation::{FederationData, translations},
};

/// One language version as an editor writes it.
#[derive(Debug, Clone)]
pub struct Translate {
    pub lang: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub body: String,
}

impl From<InvalidTranslation> for EditorialError {
    fn from(err: InvalidTranslation) -> Self {
        Self::Invalid(err.to_string())
    }
}

fn language(lang: &str) -> EditorialResult<Language> {
    Language::parse(lang).map_err(|e| EditorialError::Invalid(e.to_string()))
}

/// The post, if `user` may change its text; a retracted post cannot be changed.
async fn editable(
    data: &FederationData,
    user: &User,
    id: i64,
) -> EditorialResult<(LocalActor, Post)> {
    let (actor, post) = post_for(data, user, id).await?;
    if post.state == PostState::Deleted {
        return Err(EditorialError::Invalid(
            "a retracted post cannot be changed".into(),
        ));
    }
    may_edit_text(user, &actor, &post)?;
    Ok((actor, post))
}

/// Adds or replaces the version of post `id` in `input.lang`; a published post's followers
/// receive an Update.
pub async fn translate(
    data: &FederationData,
    user: &User,
    id: i64,
    input: Translate,
) -> EditorialResult<(LocalActor, Post)> {
    let (actor, post) = editable(data, user, id).await?;
    let draft = translation_draft(
        &post,
        language(&input.lang)?,
        input.title,
        input.summary,
        input.body,
    )?;
    let base = &data.config.base_url;
    let post = translations::put_translation(&data.store, base, &actor, &post, &draft).await?;
    audit(
        data,
        user,
        &format!("post.translate.{}", draft.language),
        &actor,
        &post,
    )
    .await?;
    Ok((actor, post))
}

/// Removes the version of post `id` in `lang`; None if the post has no version in `lang`.
pub async fn remove(
    data: &FederationData,
    user: &User,
    id: i64,
    lang: &str,
) -> EditorialResult<Option<(LocalActor, Post)>> {
    let (actor, post) = editable(data, user, id).await?;
    let language = language(lang)?;
    let base = &data.config.base_url;
    let Some(post) =
        translations::remove_translation(&data.store, base, &actor, &post, &language).await?
    else {
        return Ok(None);
    };
    audit(
        data,
        user,
        &format!("post.untranslate.{language}"),
        &actor,
        &post,
    )
    .await?;
    Ok(Some((actor, post)))
}

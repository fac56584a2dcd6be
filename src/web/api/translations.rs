//! `/api/v1/posts/{id}/translations/{lang}`: add, replace or remove one language version of a
//! post. The same people who may correct the post may do this; a published post's followers
//! receive an Update.

use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    ApiError, ApiJson,
    auth::ApiUser,
    posts::{PostView, Problem, view},
};
use crate::{
    domain::{LocalActor, Post, Translation},
    editorial::translations::{self, Translate},
    federation::urls,
    web::error::problem,
};

/// One language version of a post as it is written.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TranslationInput {
    /// Required for statements; for news it leads the text, like the post's own title.
    pub title: Option<String>,
    pub summary: Option<String>,
    /// Markdown, rendered and sanitized like the post's own body.
    pub body: String,
}

/// One language version of a post as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TranslationView {
    #[schema(example = "es")]
    pub lang: String,
    /// The version's web page.
    pub url: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub body: String,
    pub html: String,
}

pub fn translation_views(base: &url::Url, actor: &LocalActor, post: &Post) -> Vec<TranslationView> {
    let view = |t: &Translation| TranslationView {
        lang: t.language.to_string(),
        url: urls::post_in_language(base, actor.username.as_str(), post.id, t.language.as_str())
            .into(),
        title: t.title.clone(),
        summary: t.summary.clone(),
        body: t.body_md.clone(),
        html: t.body_html.clone(),
    };
    post.translations.iter().map(view).collect()
}

/// Add or replace the post's version in a language; a published post's followers receive an
/// Update carrying every version.
#[utoipa::path(
    put, path = "/api/v1/posts/{id}/translations/{lang}", tag = "posts", request_body = TranslationInput,
    params(
        ("id" = i64, Path, description = "The post's number"),
        ("lang" = String, Path, description = "A language tag other than the post's own, e.g. `es`"),
    ),
    responses(
        (status = 200, description = "Saved; the post with every version", body = PostView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role may not change this post", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post among your accounts", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid version (no title for a statement, the post's own language…)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put(
    caller: ApiUser,
    Path((id, lang)): Path<(i64, String)>,
    ApiJson(input): ApiJson<TranslationInput>,
) -> Result<axum::Json<PostView>, ApiError> {
    let translate = Translate {
        lang,
        title: input.title,
        summary: input.summary,
        body: input.body,
    };
    let (actor, post) = translations::translate(&caller.data, &caller.user, id, translate).await?;
    Ok(axum::Json(view(
        &caller.data.config.base_url,
        &actor,
        &post,
    )))
}

/// Remove the post's version in a language; a published post's followers receive an Update.
#[utoipa::path(
    delete, path = "/api/v1/posts/{id}/translations/{lang}", tag = "posts",
    params(
        ("id" = i64, Path, description = "The post's number"),
        ("lang" = String, Path, description = "The language of the version to remove"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role may not change this post", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post among your accounts, or no version in that language", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a language tag", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    caller: ApiUser,
    Path((id, lang)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    Ok(
        match translations::remove(&caller.data, &caller.user, id, &lang).await? {
            Some(_) => StatusCode::NO_CONTENT.into_response(),
            None => problem(
                StatusCode::NOT_FOUND,
                &format!("This post has no version in `{lang}`."),
            ),
        },
    )
}

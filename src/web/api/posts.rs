//! `/api/v1/posts`: write, list, read, change and retract statements and news.

use axum::{
    Json,
    extract::{Path, Query},
    http::StatusCode,
    response::IntoResponse,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiError, ApiJson,
    auth::ApiUser,
    translations::{TranslationView, translation_views},
};
use crate::{
    domain::{LocalActor, Post, PostState},
    editorial::{self, Change, Compose},
    federation::{publish::Intent, urls},
    web::signatories::{Signatory, signatories},
};

/// A new post.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPost {
    /// The organization account (username) it is published by.
    #[schema(example = "isg")]
    pub actor: String,
    /// `statement` (an Article, needs a title) or `news` (a Note).
    #[schema(example = "statement")]
    pub kind: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    /// Language tag, default `en`.
    #[schema(example = "en")]
    pub lang: Option<String>,
    /// Markdown. `#hashtags` and `@name@host` mentions are linked.
    pub body: String,
    /// Save as a draft instead of publishing.
    #[serde(default)]
    pub draft: bool,
    /// Submit for an editor's review instead of publishing (what authors do).
    #[serde(default)]
    pub review: bool,
    /// Publish at this time instead of now.
    pub schedule_at: Option<DateTime<Utc>>,
    /// A joint statement: the other accounts that co-sign it, in order. A username of this
    /// instance (you must be allowed to publish for it, else 403) Announces the post to its
    /// followers; a remote handle or actor URL is resolved, mentioned and sent the post.
    #[serde(default)]
    #[schema(example = json!(["intl", "@org@other.example"]))]
    pub cosign: Vec<String>,
}

/// Changes to a post; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PostPatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub lang: Option<String>,
    pub body: Option<String>,
    /// Move it: `draft`, `review`, `scheduled` (with `schedule_at`) or `published`.
    pub state: Option<String>,
    pub schedule_at: Option<DateTime<Utc>>,
    pub pinned: Option<bool>,
}

/// A post as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostView {
    pub id: i64,
    /// The ActivityPub id (also the web page).
    pub ap_id: String,
    /// The web page.
    pub url: String,
    /// `draft`, `review`, `scheduled`, `published` or `deleted`.
    pub state: String,
    pub kind: String,
    pub actor: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub lang: String,
    pub body: String,
    pub html: String,
    pub published_at: Option<DateTime<Utc>>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub edited_at: Option<DateTime<Utc>>,
    pub pinned: bool,
    /// A joint statement's signatories, the publishing account first; empty otherwise.
    pub signatories: Vec<Signatory>,
    /// The post's other language versions, in the order they were added.
    pub translations: Vec<TranslationView>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only this account's posts.
    pub actor: Option<String>,
    /// Only posts in this state.
    pub state: Option<String>,
}

/// Problem details (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    pub r#type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

pub(super) fn view(base: &url::Url, actor: &LocalActor, post: &Post) -> PostView {
    let url = urls::post(base, actor.username.as_str(), post.id).to_string();
    PostView {
        id: post.id,
        ap_id: url.clone(),
        url,
        state: post.state.as_str().to_owned(),
        kind: post.kind.as_str().to_owned(),
        actor: actor.username.to_string(),
        title: post.title.clone(),
        summary: post.summary.clone(),
        lang: post.language.to_string(),
        body: post.body_md.clone(),
        html: post.body_html.clone(),
        published_at: post.published_at,
        scheduled_at: post.scheduled_at,
        edited_at: post.edited_at,
        pinned: post.pinned_at.is_some(),
        signatories: signatories(base, &crate::config::authority(base), actor, post),
        translations: translation_views(base, actor, post),
    }
}

fn intent(state: &str, schedule_at: Option<DateTime<Utc>>) -> Result<Intent, ApiError> {
    match (state, schedule_at) {
        ("draft", _) => Ok(Intent::Draft),
        ("review", _) => Ok(Intent::Review),
        ("published", _) => Ok(Intent::Publish),
        ("scheduled", Some(at)) => Ok(Intent::Schedule(at)),
        ("scheduled", None) => Err(ApiError::Unprocessable(
            "`scheduled` needs `schedule_at`".into(),
        )),
        (other, _) => Err(ApiError::Unprocessable(format!(
            "`{other}` is not a state a post can be moved to: use draft, review, scheduled or published"
        ))),
    }
}

/// Write a post: published now (the default), a draft, for review, or scheduled.
#[utoipa::path(
    post, path = "/api/v1/posts", tag = "posts", request_body = NewPost,
    responses(
        (status = 201, description = "Saved", body = PostView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid post", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    caller: ApiUser,
    ApiJson(input): ApiJson<NewPost>,
) -> Result<impl IntoResponse, ApiError> {
    let intent = match (input.draft, input.review, input.schedule_at) {
        (true, _, _) => Intent::Draft,
        (false, true, _) => Intent::Review,
        (false, false, Some(at)) => Intent::Schedule(at),
        (false, false, None) => Intent::Publish,
    };
    let compose = Compose {
        actor: input.actor,
        kind: input.kind,
        title: input.title,
        summary: input.summary,
        lang: input.lang,
        body: input.body,
        intent,
        media: Vec::new(),
        cosign: input.cosign,
    };
    let (actor, post) = editorial::compose(&caller.data, &caller.user, compose).await?;
    Ok((
        StatusCode::CREATED,
        Json(view(&caller.data.config.base_url, &actor, &post)),
    ))
}

/// The posts of the accounts you work for, most recently changed first.
#[utoipa::path(
    get, path = "/api/v1/posts", tag = "posts", params(ListQuery),
    responses(
        (status = 200, description = "Posts", body = Vec<PostView>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    caller: ApiUser,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<PostView>>, ApiError> {
    let state = match query.state.as_deref() {
        Some(state) => Some(
            PostState::parse(state)
                .ok_or_else(|| ApiError::Unprocessable(format!("`{state}` is not a post state")))?,
        ),
        None => None,
    };
    let posts = editorial::posts(&caller.data, &caller.user, query.actor.as_deref()).await?;
    let base = &caller.data.config.base_url;
    Ok(Json(
        posts
            .iter()
            .filter(|(_, post)| state.is_none_or(|s| post.state == s))
            .map(|(actor, post)| view(base, actor, post))
            .collect(),
    ))
}

/// One post.
#[utoipa::path(
    get, path = "/api/v1/posts/{id}", tag = "posts", params(("id" = i64, Path, description = "The post's number")),
    responses(
        (status = 200, description = "The post", body = PostView),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post among your accounts", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(caller: ApiUser, Path(id): Path<i64>) -> Result<Json<PostView>, ApiError> {
    let (actor, post) = editorial::post_for(&caller.data, &caller.user, id).await?;
    Ok(Json(view(&caller.data.config.base_url, &actor, &post)))
}

/// Change a post: correct its text (followers receive an Update), move it between draft,
/// review, scheduled and published, or pin it.
#[utoipa::path(
    patch, path = "/api/v1/posts/{id}", tag = "posts", request_body = PostPatch,
    params(("id" = i64, Path, description = "The post's number")),
    responses(
        (status = 200, description = "Changed", body = PostView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post among your accounts", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid change", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    caller: ApiUser,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<PostPatch>,
) -> Result<Json<PostView>, ApiError> {
    let intent = patch
        .state
        .as_deref()
        .map(|state| intent(state, patch.schedule_at))
        .transpose()?;
    let change = Change {
        title: patch.title,
        summary: patch.summary,
        lang: patch.lang,
        body: patch.body,
        intent,
        pinned: patch.pinned,
    };
    let (actor, post) = editorial::change(&caller.data, &caller.user, id, change).await?;
    Ok(Json(view(&caller.data.config.base_url, &actor, &post)))
}

/// Retract a post: its page answers 410 Gone and followers receive a Delete.
#[utoipa::path(
    delete, path = "/api/v1/posts/{id}", tag = "posts", params(("id" = i64, Path, description = "The post's number")),
    responses(
        (status = 204, description = "Retracted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post among your accounts", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(caller: ApiUser, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    editorial::retract(&caller.data, &caller.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

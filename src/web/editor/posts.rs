//! Writing: the page for a new post and for changing one (save a draft, submit for review,
//! publish, schedule, correct a published post), its preview, pinning, and retraction with a
//! confirmation page. Every change goes through [`crate::editorial`], which checks the role.

use askama::Template;
use axum::{
    extract::{Path, Query},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::{
    EditorError, EditorResult, Frame, changed,
    forms::{Editor, EditorForm, Upload},
    see_other,
};
use crate::{
    app::AppState,
    domain::{Action, Cosigner, Language, LocalActor, Post, PostDraft, PostKind, PostState, User},
    editorial::{self, Change, Compose, EditorialError},
    federation::{publish, urls},
    media,
    store::posts::NewMedia,
    web::view::{Stamp, headline},
};

/// What the writing form sends. Every field may be missing (a form is read as text), so
/// each defaults to empty and is checked where it is used.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct PostForm {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub lang: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub body: String,
    /// The alt text of the image being attached.
    #[serde(default)]
    pub alt: String,
    /// An image uploaded with an earlier preview of this form, by its stored file name.
    #[serde(default)]
    pub image: String,
    /// `YYYY-MM-DDTHH:MM` from a datetime-local field.
    #[serde(default)]
    pub schedule_at: String,
    /// The browser's `getTimezoneOffset()` in minutes, set by the page's script; without
    /// it the time is read as UTC, as the page then says.
    #[serde(default)]
    pub tz_offset: String,
    /// The button pressed: preview, save, draft, review, publish, schedule.
    #[serde(default)]
    pub action: String,
    /// Co-signers of a joint statement, separated by commas, spaces or lines: usernames of
    /// this instance, `@name@server` handles or actor URLs (new posts only).
    #[serde(default)]
    pub cosign: String,
}

impl PostForm {
    fn of(actor: &LocalActor, post: &Post) -> Self {
        Self {
            actor: actor.username.to_string(),
            kind: post.kind.as_str().to_owned(),
            lang: post.language.to_string(),
            title: post.title.clone().unwrap_or_default(),
            summary: post.summary.clone().unwrap_or_default(),
            body: post.body_md.clone(),
            schedule_at: post
                .scheduled_at
                .map(|at| at.format("%Y-%m-%dT%H:%M").to_string())
                .unwrap_or_default(),
            cosign: post
                .cosigners
                .iter()
                .map(|cosigner| match cosigner {
                    Cosigner::Local { username, .. } => username.to_string(),
                    Cosigner::Remote(remote) => remote.handle().to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            ..Self::default()
        }
    }

    /// The co-signers named, in order.
    fn cosigners(&self) -> Vec<String> {
        self.cosign
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn optional(value: &str) -> Option<String> {
        Some(value.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// When to publish, from the datetime-local field and the browser's offset.
    fn schedule(&self) -> Result<DateTime<Utc>, String> {
        let text = self.schedule_at.trim();
        if text.is_empty() {
            return Err("choose a date and time to schedule it for".into());
        }
        let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
            .map_err(|_| format!("`{text}` is not a date and time"))?;
        // getTimezoneOffset() is UTC minus local time, in minutes.
        let offset: i64 = self.tz_offset.trim().parse().unwrap_or(0);
        if offset.abs() > 18 * 60 {
            return Err("the time zone offset is not plausible".into());
        }
        Ok(local.and_utc() + chrono::Duration::minutes(offset))
    }

    /// What the pressed button asks for.
    fn intent(&self) -> Result<Option<publish::Intent>, String> {
        Ok(Some(match self.action.as_str() {
            "draft" => publish::Intent::Draft,
            "review" => publish::Intent::Review,
            "publish" => publish::Intent::Publish,
            "schedule" => publish::Intent::Schedule(self.schedule()?),
            "save" => return Ok(None),
            other => return Err(format!("`{other}` is not something this form can do")),
        }))
    }
}

/// An image as the editor shows it.
#[derive(Debug, Clone)]
pub struct ImageView {
    pub url: String,
    pub file_name: String,
    pub alt: String,
    pub width: u32,
    pub height: u32,
}

impl ImageView {
    fn of(data: &AppState, media: &NewMedia) -> Self {
        Self {
            url: urls::media(&data.config.base_url, &media.file_name).into(),
            file_name: media.file_name.clone(),
            alt: media.alt.clone(),
            width: media.width,
            height: media.height,
        }
    }
}

/// What the preview shows: the post's web page, and what a Mastodon user sees in the timeline.
pub struct Preview {
    pub error: Option<String>,
    pub kind: &'static str,
    pub lang: String,
    pub title: String,
    pub titled: bool,
    pub lead: Option<String>,
    pub body_html: String,
    pub tags: Vec<String>,
    pub image: Option<ImageView>,
    pub statement: bool,
    /// A statement's card text: the written summary or the start of the text.
    pub card_summary: Option<String>,
    /// A news item's full text as Mastodon shows it.
    pub card_html: String,
    pub url: String,
    pub account_name: String,
    pub handle: String,
    pub date: String,
}

fn build_preview(
    data: &AppState,
    actor: Option<&LocalActor>,
    post_id: Option<i64>,
    form: &PostForm,
    image: Option<ImageView>,
) -> Preview {
    let base = &data.config.base_url;
    let username = actor.map_or("account", |a| a.username.as_str());
    let url = match post_id {
        Some(id) => urls::post(base, username, id).to_string(),
        None => format!("{}…", urls::actor(base, username)),
    };
    let empty = |error: String| Preview {
        error: Some(error),
        kind: "",
        lang: "en".into(),
        title: String::new(),
        titled: false,
        lead: None,
        body_html: String::new(),
        tags: Vec::new(),
        image: image.clone(),
        statement: false,
        card_summary: None,
        card_html: String::new(),
        url: url.clone(),
        account_name: actor.map(|a| a.name.clone()).unwrap_or_default(),
        handle: format!("@{username}@{}", data.config.host()),
        date: Stamp::new(Utc::now()).human,
    };
    let Some(kind) = PostKind::parse(&form.kind) else {
        return empty("choose whether this is a statement or news".into());
    };
    let lang = match Language::parse(
        Some(form.lang.trim())
            .filter(|l| !l.is_empty())
            .unwrap_or("en"),
    ) {
        Ok(lang) => lang,
        Err(err) => return empty(err.to_string()),
    };
    let draft = match PostDraft::new(
        kind,
        PostForm::optional(&form.title),
        PostForm::optional(&form.summary),
        form.body.clone(),
        lang,
    ) {
        Ok(draft) => draft,
        Err(err) => return empty(format!("Nothing to preview yet: {err}.")),
    };
    // Mentions are resolved over the network when the post is saved, not while typing.
    let rendered = publish::render(&draft, base, Vec::new());
    let statement = kind == PostKind::Statement;
    let card_summary = draft
        .summary
        .clone()
        .or_else(|| statement.then(|| rendered.excerpt.clone()));
    let card_html = match &draft.title {
        Some(title) if !statement => format!(
            "<p><strong>{}</strong></p>{}",
            askama::filters::escape(title, askama::filters::Html)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            rendered.body_html
        ),
        _ => rendered.body_html.clone(),
    };
    Preview {
        error: None,
        kind: if statement { "Statement" } else { "News" },
        lang: draft.language.to_string(),
        title: draft
            .title
            .clone()
            .unwrap_or_else(|| rendered.excerpt.chars().take(80).collect()),
        titled: draft.title.is_some(),
        lead: draft.summary.clone(),
        body_html: rendered.body_html,
        tags: rendered.tags,
        image,
        statement,
        card_summary,
        card_html,
        url,
        account_name: actor.map(|a| a.name.clone()).unwrap_or_default(),
        handle: format!("@{username}@{}", data.config.host()),
        date: Stamp::new(Utc::now()).human,
    }
}

#[derive(Template)]
#[template(path = "editor/write.html")]
struct WritePage<'a> {
    frame: Option<Frame>,
    heading: String,
    action_url: String,
    post_id: Option<i64>,
    state: Option<&'static str>,
    public_url: Option<String>,
    /// Accounts the post may be written for (new posts only): (username, name).
    accounts: Vec<(String, String)>,
    /// Accounts the user may name as co-signers (new posts only): those they may publish for.
    cosignable: Vec<String>,
    form: &'a PostForm,
    notice: Option<&'static str>,
    error: Option<String>,
    preview: Option<Preview>,
    may_publish: bool,
    may_pin: bool,
    may_delete: bool,
    published: bool,
    pinned: bool,
    images: Vec<ImageView>,
    kept_image: Option<ImageView>,
    max_alt: usize,
    scheduled: Option<Stamp>,
    /// The post's other language versions (existing posts only).
    translations: Vec<super::translations::TranslationItem>,
}

#[derive(Template)]
#[template(path = "editor/preview.html")]
struct PreviewFragment {
    preview: Preview,
}

/// The accounts `user` may write for.
fn writable(user: &User, actors: &[LocalActor]) -> Vec<(String, String)> {
    actors
        .iter()
        .filter(|a| user.may(Action::WriteDraft, a.id))
        .map(|a| (a.username.to_string(), a.name.clone()))
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    actor: Option<String>,
}

pub async fn new_page(editor: Editor, Query(query): Query<NewQuery>) -> EditorResult<Response> {
    let actors = editor.data.store.list_actors().await?;
    let accounts = writable(&editor.user, &actors);
    if accounts.is_empty() {
        return Err(EditorError::Forbidden(
            "your role may not write for any account".into(),
        ));
    }
    let form = PostForm {
        actor: query
            .actor
            .filter(|name| accounts.iter().any(|(a, _)| a == name))
            .unwrap_or_else(|| accounts[0].0.clone()),
        kind: "statement".into(),
        lang: "en".into(),
        ..PostForm::default()
    };
    render_new(&editor, &actors, &form, StatusCode::OK, None, None, None)
}

#[allow(clippy::too_many_arguments)] // the page's parts, each distinct
fn render_new(
    editor: &Editor,
    actors: &[LocalActor],
    form: &PostForm,
    status: StatusCode,
    error: Option<String>,
    preview: Option<Preview>,
    kept_image: Option<ImageView>,
) -> EditorResult<Response> {
    let user = &editor.user;
    let page = WritePage {
        frame: Some(Frame::new(user, &editor.csrf, actors)),
        heading: "New post".into(),
        action_url: "/editor/posts".into(),
        post_id: None,
        state: None,
        public_url: None,
        accounts: writable(user, actors),
        cosignable: actors
            .iter()
            .filter(|a| user.may(Action::Publish, a.id))
            .map(|a| a.username.to_string())
            .collect(),
        form,
        notice: None,
        error,
        preview,
        may_publish: actors.iter().any(|a| user.may(Action::Publish, a.id)),
        may_pin: false,
        may_delete: false,
        published: false,
        pinned: false,
        images: Vec::new(),
        kept_image,
        max_alt: media::MAX_ALT_CHARS,
        scheduled: None,
        translations: Vec::new(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// Whether a stored media file name is one [`media::store_image`] could have made.
fn stored_name(name: &str) -> bool {
    name.split_once('.').is_some_and(|(hex, ext)| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && matches!(ext, "png" | "jpg" | "gif" | "webp")
    })
}

/// The image to attach: a file sent now, or the one sent with an earlier preview.
async fn attachment(
    data: &AppState,
    form: &PostForm,
    uploads: &[Upload],
) -> Result<Option<NewMedia>, String> {
    let data_dir = &data.config.data_dir;
    if let Some(upload) = uploads.iter().find(|u| u.field == "image_file") {
        return media::store_image(data_dir, &upload.bytes, &form.alt)
            .await
            .map(Some)
            .map_err(|e| e.to_string());
    }
    let name = form.image.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if !stored_name(name) {
        return Err("the image sent earlier is not known; choose it again".into());
    }
    let bytes = tokio::fs::read(media::media_dir(data_dir).join(name))
        .await
        .map_err(|_| "the image sent earlier is gone; choose it again".to_owned())?;
    media::store_image(data_dir, &bytes, &form.alt)
        .await
        .map(Some)
        .map_err(|e| e.to_string())
}

pub async fn create(
    EditorForm {
        editor,
        form,
        uploads,
        ..
    }: EditorForm<PostForm>,
) -> EditorResult<Response> {
    let data = &editor.data;
    let actors = data.store.list_actors().await?;
    let actor = actors
        .iter()
        .find(|a| a.username.as_str() == form.actor && editor.user.may(Action::View, a.id));
    let image = match attachment(data, &form, &uploads).await {
        Ok(image) => image,
        Err(why) => {
            let error = Some(format!("The image was not attached: {why}."));
            return render_new(
                &editor,
                &actors,
                &form,
                StatusCode::UNPROCESSABLE_ENTITY,
                error,
                None,
                None,
            );
        }
    };
    let kept = image.as_ref().map(|m| ImageView::of(data, m));
    if form.action == "preview" {
        let preview = build_preview(data, actor, None, &form, kept.clone());
        return render_new(
            &editor,
            &actors,
            &form,
            StatusCode::OK,
            None,
            Some(preview),
            kept,
        );
    }
    let intent = match form.intent() {
        Ok(Some(intent)) => intent,
        Ok(None) => publish::Intent::Draft,
        Err(why) => {
            return render_new(
                &editor,
                &actors,
                &form,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("Not saved: {why}.")),
                None,
                kept,
            );
        }
    };
    let compose = Compose {
        actor: form.actor.clone(),
        kind: form.kind.clone(),
        title: PostForm::optional(&form.title),
        summary: PostForm::optional(&form.summary),
        lang: PostForm::optional(&form.lang),
        body: form.body.clone(),
        intent,
        media: image.into_iter().collect(),
        cosign: form.cosigners(),
    };
    match editorial::compose(data, &editor.user, compose).await {
        Ok((_, post)) => {
            changed(data);
            Ok(see_other(&format!(
                "/editor/posts/{}?done={}",
                post.id,
                post.state.as_str()
            )))
        }
        Err(EditorialError::Invalid(why)) => render_new(
            &editor,
            &actors,
            &form,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(format!("Not saved: {why}.")),
            None,
            kept,
        ),
        Err(err) => Err(err.into()),
    }
}

/// Live preview for the page's script: the same preview, as an HTML fragment.
pub async fn preview(
    EditorForm { editor, form, .. }: EditorForm<PostForm>,
) -> EditorResult<Html<String>> {
    let data = &editor.data;
    let actor = data
        .store
        .actor_by_username(&form.actor)
        .await?
        .filter(|a| editor.user.may(Action::View, a.id));
    let image = if stored_name(form.image.trim()) {
        let name = form.image.trim().to_owned();
        Some(ImageView {
            url: urls::media(&data.config.base_url, &name).into(),
            file_name: name,
            alt: form.alt.trim().to_owned(),
            width: 0,
            height: 0,
        })
    } else {
        None
    };
    let fragment = PreviewFragment {
        preview: build_preview(data, actor.as_ref(), None, &form, image),
    };
    Ok(Html(fragment.render()?))
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "draft" => "Saved as a draft.",
        "review" => "Submitted for review: an editor will publish it.",
        "scheduled" => "Scheduled: it will be published at the time shown.",
        "published" => "Published. Followers' servers receive it within moments.",
        "corrected" => "Correction saved. Followers' servers receive an Update.",
        "translated" => {
            "Language version saved. Followers' servers of a published post receive an Update."
        }
        "untranslated" => "Language version removed.",
        "pinned" => "Pinned to the profile.",
        "unpinned" => "Unpinned from the profile.",
        _ => return None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

fn may_delete(user: &User, actor: &LocalActor, post: &Post) -> bool {
    let own_draft = post.state.is_unpublished()
        && post.author_id == Some(user.id)
        && user.may(Action::WriteDraft, actor.id);
    own_draft || user.may(Action::Delete, actor.id)
}

#[allow(clippy::too_many_arguments)] // the page's parts, each distinct
fn render_edit(
    editor: &Editor,
    actors: &[LocalActor],
    actor: &LocalActor,
    post: &Post,
    form: &PostForm,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<String>,
    preview: Option<Preview>,
) -> EditorResult<Response> {
    let user = &editor.user;
    let base = &editor.data.config.base_url;
    let published = post.state == PostState::Published;
    let page = WritePage {
        frame: Some(Frame::new(user, &editor.csrf, actors)),
        heading: format!("Edit: {}", headline(post)),
        action_url: format!("/editor/posts/{}", post.id),
        post_id: Some(post.id),
        state: Some(post.state.as_str()),
        public_url: matches!(post.state, PostState::Published | PostState::Deleted)
            .then(|| urls::post(base, actor.username.as_str(), post.id).to_string()),
        accounts: Vec::new(),
        cosignable: Vec::new(),
        form,
        notice,
        error,
        preview,
        may_publish: user.may(Action::Publish, actor.id),
        may_pin: published && user.may(Action::Pin, actor.id),
        may_delete: post.state != PostState::Deleted && may_delete(user, actor, post),
        published,
        pinned: post.pinned_at.is_some(),
        images: post
            .media
            .iter()
            .map(|m| ImageView {
                url: urls::media(base, &m.file_name).into(),
                file_name: m.file_name.clone(),
                alt: m.alt.clone(),
                width: m.width,
                height: m.height,
            })
            .collect(),
        kept_image: None,
        max_alt: media::MAX_ALT_CHARS,
        scheduled: post
            .scheduled_at
            .filter(|_| post.state == PostState::Scheduled)
            .map(Stamp::new),
        translations: super::translations::items(base, actor, post),
    };
    Ok((status, Html(page.render()?)).into_response())
}

fn post_id(id: &str) -> EditorResult<i64> {
    id.parse().map_err(|_| EditorError::NotFound)
}

pub async fn edit_page(
    editor: Editor,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> EditorResult<Response> {
    let (actor, post) = editorial::post_for(&editor.data, &editor.user, post_id(&id)?).await?;
    let actors = editor.data.store.list_actors().await?;
    let form = PostForm::of(&actor, &post);
    render_edit(
        &editor,
        &actors,
        &actor,
        &post,
        &form,
        StatusCode::OK,
        notice(query.done.as_deref()),
        None,
        None,
    )
}

/// The text fields sent that differ from the stored post, so pressing "publish" on an
/// unchanged draft does not also record an edit, and a form that leaves a field out (a
/// one-button approval form, say) leaves it as it is.
fn text_changes(post: &Post, form: &PostForm, pairs: &[(String, String)]) -> Change {
    let sent = |name: &str| pairs.iter().any(|(key, _)| key == name);
    let differs = |name: &str, new: &str, old: Option<&str>| -> Option<String> {
        let new = new.trim();
        (sent(name) && new != old.unwrap_or_default().trim()).then(|| new.to_owned())
    };
    Change {
        title: differs("title", &form.title, post.title.as_deref()),
        summary: differs("summary", &form.summary, post.summary.as_deref()),
        lang: differs("lang", &form.lang, Some(post.language.as_str())),
        body: (sent("body") && form.body != post.body_md).then(|| form.body.clone()),
        intent: None,
        pinned: None,
    }
}

pub async fn update(
    Path(id): Path<String>,
    EditorForm {
        editor,
        form,
        pairs,
        ..
    }: EditorForm<PostForm>,
) -> EditorResult<Response> {
    let data = &editor.data;
    let (actor, post) = editorial::post_for(data, &editor.user, post_id(&id)?).await?;
    let actors = data.store.list_actors().await?;
    // The kind and account of a post are fixed once it exists.
    let form = PostForm {
        actor: actor.username.to_string(),
        kind: post.kind.as_str().to_owned(),
        ..form
    };
    let again = |status, error: Option<String>, preview: Option<Preview>| {
        render_edit(
            &editor, &actors, &actor, &post, &form, status, None, error, preview,
        )
    };
    if form.action == "preview" {
        let preview = build_preview(data, Some(&actor), Some(post.id), &form, None);
        return again(StatusCode::OK, None, Some(preview));
    }
    let mut change = text_changes(&post, &form, &pairs);
    change.intent = match form.intent() {
        Ok(intent) => intent,
        Err(why) => {
            return again(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("Not saved: {why}.")),
                None,
            );
        }
    };
    let corrected = post.state == PostState::Published
        && (change.title.is_some()
            || change.summary.is_some()
            || change.lang.is_some()
            || change.body.is_some());
    match editorial::change(data, &editor.user, post.id, change).await {
        Ok((_, post)) => {
            changed(data);
            let done = if corrected {
                "corrected"
            } else {
                post.state.as_str()
            };
            Ok(see_other(&format!("/editor/posts/{}?done={done}", post.id)))
        }
        Err(EditorialError::Invalid(why)) => again(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(format!("Not saved: {why}.")),
            None,
        ),
        Err(err) => Err(err.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct PinForm {
    pinned: String,
}

pub async fn pin(
    Path(id): Path<String>,
    EditorForm { editor, form, .. }: EditorForm<PinForm>,
) -> EditorResult<Response> {
    let pinned = form.pinned == "true";
    let change = Change {
        pinned: Some(pinned),
        ..Change::default()
    };
    let (_, post) = editorial::change(&editor.data, &editor.user, post_id(&id)?, change).await?;
    changed(&editor.data);
    let done = if pinned { "pinned" } else { "unpinned" };
    Ok(see_other(&format!("/editor/posts/{}?done={done}", post.id)))
}

#[derive(Template)]
#[template(path = "editor/delete.html")]
struct DeletePage {
    frame: Option<Frame>,
    id: i64,
    heading: String,
    published: bool,
    followers: i64,
}

pub async fn confirm_delete(editor: Editor, Path(id): Path<String>) -> EditorResult<Response> {
    let data = &editor.data;
    let (actor, post) = editorial::post_for(data, &editor.user, post_id(&id)?).await?;
    if post.state == PostState::Deleted {
        return Err(EditorError::BadRequest(
            "this post is retracted already".into(),
        ));
    }
    if !may_delete(&editor.user, &actor, &post) {
        return Err(EditorError::Forbidden(
            "your role may not retract posts".into(),
        ));
    }
    let actors = data.store.list_actors().await?;
    let page = DeletePage {
        frame: Some(Frame::new(&editor.user, &editor.csrf, &actors)),
        id: post.id,
        heading: headline(&post),
        published: post.state == PostState::Published,
        followers: data
            .store
            .count_followers(actor.id, crate::domain::FollowState::Accepted)
            .await?,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {}

pub async fn delete(
    Path(id): Path<String>,
    EditorForm { editor, .. }: EditorForm<DeleteForm>,
) -> EditorResult<Response> {
    editorial::retract(&editor.data, &editor.user, post_id(&id)?).await?;
    changed(&editor.data);
    Ok(see_other("/editor?done=deleted"))
}

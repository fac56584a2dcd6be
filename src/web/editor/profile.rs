//! `/editor/accounts/{username}/profile`: an account's name, bio, avatar, header image and
//! profile links, and whether replies to its posts wait for approval. Saving sends an
//! `Update` of the account to its followers ([`crate::federation::profile`]).

use askama::Template;
use axum::{
    extract::Path,
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;
use url::Url;

use super::{
    EditorError, EditorResult, Frame, changed,
    forms::{Editor, EditorForm, Upload},
    require, see_other,
};
use crate::{
    app::AppState,
    domain::{Action, LocalActor, ProfileField},
    federation::{
        profile::{self, MAX_FIELDS, ProfileChange, ProfileError},
        urls,
    },
    media,
};

#[derive(Template)]
#[template(path = "editor/profile.html")]
struct ProfilePage {
    frame: Option<Frame>,
    username: String,
    public_url: String,
    name: String,
    summary: String,
    icon: Option<String>,
    image: Option<String>,
    /// Always [`MAX_FIELDS`] rows, the unused ones empty.
    fields: Vec<(usize, ProfileField)>,
    /// Replies are shown at once instead of waiting for an editor.
    auto_approve_replies: bool,
    error: Option<String>,
}

async fn account(editor: &Editor, username: &str) -> EditorResult<LocalActor> {
    let actor = editor
        .data
        .store
        .actor_by_username(username)
        .await?
        .filter(|a| editor.user.may(Action::View, a.id))
        .ok_or(EditorError::NotFound)?;
    require(
        &editor.user,
        Action::EditProfile,
        &actor,
        "your role may not edit this account's profile",
    )?;
    Ok(actor)
}

fn rows(fields: &[ProfileField]) -> Vec<(usize, ProfileField)> {
    (0..MAX_FIELDS)
        .map(|i| {
            let field = fields.get(i).cloned().unwrap_or(ProfileField {
                name: String::new(),
                value: String::new(),
            });
            (i, field)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)] // the page's parts, each distinct
fn render(
    editor: &Editor,
    actors: &[LocalActor],
    actor: &LocalActor,
    name: &str,
    summary: &str,
    fields: &[ProfileField],
    auto_approve_replies: bool,
    status: StatusCode,
    error: Option<String>,
) -> EditorResult<Response> {
    let base = &editor.data.config.base_url;
    let page = ProfilePage {
        frame: Some(Frame::new(&editor.user, &editor.csrf, actors)),
        username: actor.username.to_string(),
        public_url: urls::actor(base, actor.username.as_str()).into(),
        name: name.to_owned(),
        summary: summary.to_owned(),
        icon: actor.icon_url.as_ref().map(Url::to_string),
        image: actor.image_url.as_ref().map(Url::to_string),
        fields: rows(fields),
        auto_approve_replies,
        error,
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn page(editor: Editor, Path(username): Path<String>) -> EditorResult<Response> {
    let actor = account(&editor, &username).await?;
    let actors = editor.data.store.list_actors().await?;
    render(
        &editor,
        &actors,
        &actor,
        &actor.name,
        &actor.summary_md,
        &actor.fields,
        actor.auto_approves_replies,
        StatusCode::OK,
        None,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    summary: String,
    /// "on" when the current avatar is to be removed.
    #[serde(default)]
    remove_icon: String,
    #[serde(default)]
    remove_image: String,
    /// "on" when replies are to be shown without approval.
    #[serde(default)]
    auto_approve_replies: String,
}

/// Stores an uploaded profile image; its URL, or the current one when none was sent.
async fn image(
    data: &AppState,
    uploads: &[Upload],
    field: &str,
    current: Option<&Url>,
    remove: bool,
    what: &str,
) -> Result<Option<Url>, String> {
    if let Some(upload) = uploads.iter().find(|u| u.field == field) {
        // Profile images carry no alt text on the fediverse; the account's name describes them.
        let stored = media::store_image(&data.config.data_dir, &upload.bytes, what)
            .await
            .map_err(|e| format!("the {what} was not saved: {e}"))?;
        return Ok(Some(urls::media(&data.config.base_url, &stored.file_name)));
    }
    Ok(if remove { None } else { current.cloned() })
}

pub async fn save(
    Path(username): Path<String>,
    EditorForm {
        editor,
        form,
        pairs,
        uploads,
    }: EditorForm<ProfileForm>,
) -> EditorResult<Response> {
    let actor = account(&editor, &username).await?;
    let data = &editor.data;
    let actors = data.store.list_actors().await?;
    // Link rows come as field_name_N / field_value_N, N from 0.
    let value = |key: String| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let fields: Vec<ProfileField> = (0..MAX_FIELDS)
        .map(|i| ProfileField {
            name: value(format!("field_name_{i}")),
            value: value(format!("field_value_{i}")),
        })
        .collect();
    let auto_approve_replies = form.auto_approve_replies == "on";
    let again = |status, error: String| {
        render(
            &editor,
            &actors,
            &actor,
            &form.name,
            &form.summary,
            &fields,
            auto_approve_replies,
            status,
            Some(error),
        )
    };
    let icon = image(
        data,
        &uploads,
        "icon_file",
        actor.icon_url.as_ref(),
        form.remove_icon == "on",
        "avatar",
    )
    .await;
    let header = image(
        data,
        &uploads,
        "image_file",
        actor.image_url.as_ref(),
        form.remove_image == "on",
        "header image",
    )
    .await;
    let (icon, header) = match (icon, header) {
        (Ok(icon), Ok(header)) => (icon, header),
        (Err(why), _) | (_, Err(why)) => {
            return again(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Not saved: {why}."),
            );
        }
    };
    let change = match ProfileChange::new(&form.name, &form.summary, icon, header, fields.clone()) {
        Ok(change) => change,
        Err(err) => {
            return again(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Not saved: {err}."),
            );
        }
    };
    let updated =
        match profile::update_profile(&data.store, &data.config.base_url, &actor, change).await {
            Ok(updated) => updated,
            Err(ProfileError::Store(err)) => return Err(err.into()),
            Err(err) => {
                return again(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("Not saved: {err}."),
                );
            }
        };
    if auto_approve_replies != actor.auto_approves_replies {
        // Not part of the profile followers see, so not in its Update.
        let mut tx = data.store.begin().await?;
        tx.set_auto_approves_replies(actor.id, auto_approve_replies)
            .await?;
        tx.commit().await?;
        data.store
            .audit(
                Some(editor.user.id),
                "account.reply_policy",
                updated.username.as_str(),
                if auto_approve_replies {
                    "replies shown at once"
                } else {
                    "replies held for approval"
                },
            )
            .await?;
    }
    changed(data);
    data.store
        .audit(
            Some(editor.user.id),
            "account.profile",
            updated.username.as_str(),
            &updated.name,
        )
        .await?;
    Ok(see_other("/editor?done=profile"))
}

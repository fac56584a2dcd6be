//! `/editor/accounts/{username}/migration`: an account's aliases (`alsoKnownAs`, so its old
//! account elsewhere can move its followers here), the moves received, and moving the account
//! away ([`crate::federation::migration`]).

use askama::Template;
use axum::{
    extract::Path,
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    EditorError, EditorResult, Frame, changed,
    forms::{Editor, EditorForm},
    require, see_other,
};
use crate::{
    domain::{Action, LocalActor},
    federation::migration::{self, MAX_ALIASES, MigrationError},
    store::moves::ReceivedMove,
};

#[derive(Template)]
#[template(path = "editor/migration.html")]
struct MigrationPage {
    frame: Option<Frame>,
    username: String,
    /// One alias a line, as the form shows them.
    aliases: String,
    max_aliases: usize,
    moved_to: Option<String>,
    moves: Vec<ReceivedMove>,
    /// Only admins move an account away.
    may_move: bool,
    notice: Option<&'static str>,
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
        "your role may not change this account's aliases",
    )?;
    Ok(actor)
}

async fn render(
    editor: &Editor,
    actor: &LocalActor,
    aliases: String,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<String>,
) -> EditorResult<Response> {
    let store = &editor.data.store;
    let actors = store.list_actors().await?;
    let page = MigrationPage {
        frame: Some(Frame::new(&editor.user, &editor.csrf, &actors)),
        username: actor.username.to_string(),
        aliases,
        max_aliases: MAX_ALIASES,
        moved_to: actor.moved_to.as_ref().map(ToString::to_string),
        moves: store.moves_received(actor.id).await?,
        may_move: editor.user.may_administer(),
        notice,
        error,
    };
    Ok((status, Html(page.render()?)).into_response())
}

fn lines(actor: &LocalActor) -> String {
    actor
        .also_known_as
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    done: Option<String>,
}

pub async fn page(
    editor: Editor,
    Path(username): Path<String>,
    axum::extract::Query(query): axum::extract::Query<PageQuery>,
) -> EditorResult<Response> {
    let actor = account(&editor, &username).await?;
    let notice = match query.done.as_deref() {
        Some("aliases") => Some("Aliases saved and sent to the followers' servers."),
        Some("move") => Some("The account moved: its followers' servers were told."),
        _ => None,
    };
    render(&editor, &actor, lines(&actor), StatusCode::OK, notice, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct AliasesForm {
    #[serde(default)]
    aliases: String,
}

/// Saves the aliases (each looked up) and sends the account's `Update` to its followers.
pub async fn save_aliases(
    Path(username): Path<String>,
    EditorForm { editor, form, .. }: EditorForm<AliasesForm>,
) -> EditorResult<Response> {
    let actor = account(&editor, &username).await?;
    let data = &editor.data;
    let typed: Vec<String> = form.aliases.lines().map(str::to_owned).collect();
    let aliases = match migration::resolve_aliases(data, &actor, &typed).await {
        Ok(aliases) => aliases,
        Err(err) => return refused(&editor, &actor, form.aliases.clone(), err).await,
    };
    let updated =
        migration::set_aliases(&data.store, &data.config.base_url, &actor, &aliases).await?;
    changed(data);
    let detail = lines(&updated);
    data.store
        .audit(
            Some(editor.user.id),
            "account.aliases",
            updated.username.as_str(),
            &detail,
        )
        .await?;
    Ok(see_other(&format!(
        "/editor/accounts/{username}/migration?done=aliases"
    )))
}

#[derive(Debug, Default, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    target: String,
    /// "on" once the editor confirmed.
    #[serde(default)]
    confirm: String,
}

/// Moves the account to another (admins only).
pub async fn move_account(
    Path(username): Path<String>,
    EditorForm { editor, form, .. }: EditorForm<MoveForm>,
) -> EditorResult<Response> {
    let actor = account(&editor, &username).await?;
    if !editor.user.may_administer() {
        return Err(EditorError::Forbidden(
            "only an admin may move an account".into(),
        ));
    }
    let data = &editor.data;
    if form.confirm != "on" {
        let err = MigrationError::Refused(
            "Tick the box to confirm: a moved account publishes nothing more.".into(),
        );
        return refused(&editor, &actor, lines(&actor), err).await;
    }
    let (moved, target) = match migration::move_account(data, &actor, &form.target).await {
        Ok(done) => done,
        Err(err) => return refused(&editor, &actor, lines(&actor), err).await,
    };
    changed(data);
    data.store
        .audit(
            Some(editor.user.id),
            "account.move",
            moved.username.as_str(),
            target.ap_id.as_str(),
        )
        .await?;
    Ok(see_other(&format!(
        "/editor/accounts/{username}/migration?done=move"
    )))
}

/// The page again with why nothing was done; a store failure is an internal error.
async fn refused(
    editor: &Editor,
    actor: &LocalActor,
    aliases: String,
    err: MigrationError,
) -> EditorResult<Response> {
    let why = match err {
        MigrationError::Store(err) => return Err(err.into()),
        other => other.to_string(),
    };
    render(
        editor,
        actor,
        aliases,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        Some(format!("Nothing was changed: {why}.")),
    )
    .await
}

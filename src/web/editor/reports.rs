//! `/editor/reports`: moderation, for admins only. The reports (`Flag`) other servers sent
//! about our accounts and posts, and the domain and actor blocks with forms to add and lift
//! them. The forms call [`crate::editorial::moderation`], which uses the same
//! [`crate::federation::moderation`] use cases as `broadside block`.

use askama::Template;
use axum::{
    extract::Query,
    response::{Html, Response},
};
use serde::Deserialize;

use super::{
    EditorError, EditorResult, Frame, changed,
    forms::{Editor, EditorForm},
    see_other,
};
use crate::{editorial::moderation, web::view::Stamp};

pub struct ReportRow {
    pub reporter: String,
    pub objects: Vec<String>,
    pub content: String,
    pub received: Stamp,
}

pub struct BlockRow {
    /// The domain or actor id, as the unblock form sends it back.
    pub target: String,
    pub comment: String,
    pub since: Stamp,
}

#[derive(Template)]
#[template(path = "editor/reports.html")]
struct ReportsPage {
    frame: Option<Frame>,
    notice: Option<String>,
    reports: Vec<ReportRow>,
    /// Whether the list stops at [`moderation::REPORTS_LISTED`].
    full: bool,
    listed: i64,
    domains: Vec<BlockRow>,
    actors: Vec<BlockRow>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ReportsQuery {
    done: Option<String>,
    /// What a block removed, for the notice.
    removed: Option<String>,
}

fn notice(query: &ReportsQuery) -> Option<String> {
    let removed = query
        .removed
        .as_deref()
        .filter(|r| r.chars().all(|c| c.is_ascii_digit() || c == ','))
        .and_then(|r| {
            let n: Vec<&str> = r.split(',').collect();
            (n.len() == 4).then(|| {
                format!(
                    " Removed {} followers, {} follows, {} kept posts and {} interactions.",
                    n[0], n[1], n[2], n[3]
                )
            })
        })
        .unwrap_or_default();
    Some(match query.done.as_deref()? {
        "blocked" => {
            format!("Blocked: its activities are refused and nothing is delivered to it.{removed}")
        }
        "unblocked" => "The block is lifted. Follows it removed stay removed.".into(),
        "unchanged" => "Nothing changed: that was not blocked.".into(),
        _ => return None,
    })
}

pub async fn page(editor: Editor, Query(query): Query<ReportsQuery>) -> EditorResult<Html<String>> {
    let (reports, domains, actors) = moderation::overview(&editor.data, &editor.user).await?;
    let all = editor.data.store.list_actors().await?;
    let page = ReportsPage {
        frame: Some(Frame::new(&editor.user, &editor.csrf, &all)),
        notice: notice(&query),
        listed: moderation::REPORTS_LISTED,
        full: i64::try_from(reports.len()).unwrap_or(i64::MAX) >= moderation::REPORTS_LISTED,
        reports: reports
            .into_iter()
            .map(|r| ReportRow {
                reporter: r.reporter.to_string(),
                objects: r.objects.iter().map(ToString::to_string).collect(),
                content: r.content,
                received: Stamp::new(r.received_at),
            })
            .collect(),
        domains: domains
            .into_iter()
            .map(|b| BlockRow {
                target: b.domain.to_string(),
                comment: b.comment,
                since: Stamp::new(b.created_at),
            })
            .collect(),
        actors: actors
            .into_iter()
            .map(|b| BlockRow {
                target: b.ap_id.to_string(),
                comment: String::new(),
                since: Stamp::new(b.created_at),
            })
            .collect(),
    };
    Ok(Html(page.render()?))
}

#[derive(Debug, Deserialize)]
pub struct BlockForm {
    /// `domain` or `actor`.
    kind: String,
    /// A domain; or `@name@host` or an actor URL.
    target: String,
    #[serde(default)]
    comment: String,
}

pub async fn block(
    EditorForm { editor, form, .. }: EditorForm<BlockForm>,
) -> EditorResult<Response> {
    let (data, user) = (&editor.data, &editor.user);
    let outcome = match form.kind.as_str() {
        "domain" => moderation::block_domain(data, user, &form.target, &form.comment).await?,
        "actor" => moderation::block_actor(data, user, &form.target).await?.1,
        other => {
            return Err(EditorError::BadRequest(format!(
                "`{other}` cannot be blocked"
            )));
        }
    };
    changed(data);
    let p = outcome.purged;
    Ok(see_other(&format!(
        "/editor/reports?done=blocked&removed={},{},{},{}",
        p.followers, p.following, p.posts, p.interactions
    )))
}

#[derive(Debug, Deserialize)]
pub struct UnblockForm {
    kind: String,
    target: String,
}

pub async fn unblock(
    EditorForm { editor, form, .. }: EditorForm<UnblockForm>,
) -> EditorResult<Response> {
    let (data, user) = (&editor.data, &editor.user);
    let lifted = match form.kind.as_str() {
        "domain" => moderation::unblock_domain(data, user, &form.target).await?,
        "actor" => moderation::unblock_actor(data, user, &form.target).await?,
        other => {
            return Err(EditorError::BadRequest(format!(
                "`{other}` cannot be unblocked"
            )));
        }
    };
    changed(data);
    let done = if lifted { "unblocked" } else { "unchanged" };
    Ok(see_other(&format!("/editor/reports?done={done}")))
}

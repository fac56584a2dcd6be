//! `/editor/audit`: who did what and when, newest first. Admins only.

use askama::Template;
use axum::response::Html;

use super::{EditorError, EditorResult, Frame, forms::Editor};
use crate::{store::users::AuditEntry, web::view::Stamp};

/// Entries shown; older ones stay in the database.
const SHOWN: i64 = 500;

#[derive(Template)]
#[template(path = "editor/audit.html")]
struct AuditPage {
    frame: Option<Frame>,
    /// Each entry with its time for machines and for people.
    entries: Vec<(AuditEntry, String, String)>,
}

pub async fn page(editor: Editor) -> EditorResult<Html<String>> {
    if !editor.user.may_administer() {
        return Err(EditorError::Forbidden(
            "only admins may read the audit log".into(),
        ));
    }
    let store = &editor.data.store;
    let entries = store
        .audit_log(SHOWN)
        .await?
        .into_iter()
        .map(|entry| {
            let iso = Stamp::new(entry.at).iso;
            let human = entry.at.format("%Y-%m-%d %H:%M UTC").to_string();
            (entry, iso, human)
        })
        .collect();
    let actors = store.list_actors().await?;
    let page = AuditPage {
        frame: Some(Frame::new(&editor.user, &editor.csrf, &actors)),
        entries,
    };
    Ok(Html(page.render()?))
}

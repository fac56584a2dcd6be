//! Signing in and out, and changing one's password. A session is a random token in an
//! HttpOnly cookie whose SHA-256 is the `sessions` row; each sign-in makes a new one (so a
//! token planted before sign-in is worthless), signing out deletes it, and a password change
//! ends every other session of the user.

use std::{sync::Arc, sync::OnceLock};

use askama::Template;
use axum::{
    Extension,
    extract::Query,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    EditorError, EditorResult, Frame,
    forms::{self, Editor, EditorForm, PublicForm},
    see_other,
    throttle::Throttle,
};
use crate::{
    app::AppState,
    domain::{Login, credentials},
};

#[derive(Template)]
#[template(path = "editor/login.html")]
struct LoginPage<'a> {
    frame: Option<Frame>,
    csrf: &'a str,
    next: &'a str,
    login: &'a str,
    error: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Where to go after signing in: only a path of the editor, never another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if (path == "/editor"
                || path.starts_with("/editor/")
                || path.starts_with("/editor?"))
                && !path.contains("//")
                && !path.contains('\\') =>
        {
            path
        }
        _ => "/editor",
    }
}

fn login_response(
    status: StatusCode,
    page: LoginPage<'_>,
    cookie: Option<HeaderValue>,
) -> EditorResult<Response> {
    let mut response = (status, Html(page.render()?)).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

pub async fn login_page(
    data: activitypub_federation::config::Data<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> EditorResult<Response> {
    let (csrf, cookie) = forms::form_token(&data, &headers);
    let page = LoginPage {
        frame: None,
        csrf: &csrf,
        next: safe_next(query.next.as_deref()),
        login: "",
        error: None,
    };
    login_response(StatusCode::OK, page, cookie)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    next: Option<String>,
}

/// A hash to check passwords against when the login does not exist, so a wrong login takes
/// as long to refuse as a wrong password and response times do not reveal which logins exist.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        credentials::hash_password("no user has this password, it only costs time")
            .unwrap_or_default()
    })
}

/// Checks a password off the async threads: argon2id is deliberately slow.
async fn verify(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy_hash().to_owned());
        credentials::verify_password(&password, &hash) && known
    })
    .await
    .unwrap_or(false)
}

/// Makes a session for the user; returns the cookie that carries it.
pub async fn start_session(data: &AppState, user_id: i64) -> EditorResult<HeaderValue> {
    let token = credentials::generate_token();
    let csrf = credentials::generate_token();
    let expires = chrono::Utc::now() + chrono::Duration::hours(forms::SESSION_HOURS);
    data.store
        .create_session(
            &credentials::token_hash(&token),
            user_id,
            &csrf,
            expires.timestamp_millis(),
        )
        .await?;
    Ok(forms::session_cookie(data, &token))
}

pub async fn login(
    Extension(throttle): Extension<Arc<Throttle>>,
    PublicForm {
        form,
        headers,
        address,
        data,
    }: PublicForm<LoginForm>,
) -> EditorResult<Response> {
    let next = safe_next(form.next.as_deref()).to_owned();
    let (csrf, _) = forms::form_token(&data, &headers);
    let page = |error| LoginPage {
        frame: None,
        csrf: &csrf,
        next: &next,
        login: &form.login,
        error: Some(error),
    };
    if let Some(wait) = throttle.refused(&form.login, address) {
        tracing::warn!(login = %form.login, ?address, "sign-in refused: too many failures");
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let message = format!(
            "Too many failed sign-ins for this login or from your address. For your \
             protection, try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        );
        let mut response = login_response(StatusCode::TOO_MANY_REQUESTS, page(&message), None)?;
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let credentials = match Login::parse(&form.login) {
        Ok(login) => data.store.credentials(&login).await?,
        Err(_) => None,
    };
    let user = credentials.as_ref().map(|c| c.user.clone());
    let valid = verify(form.password.clone(), credentials.map(|c| c.password_hash)).await;
    let Some(user) = user.filter(|u| valid && !u.disabled) else {
        throttle.record_failure(&form.login, address);
        tracing::info!(login = %form.login, ?address, "sign-in failed");
        return login_response(
            StatusCode::UNAUTHORIZED,
            page("The login or the password is wrong."),
            None,
        );
    };
    throttle.record_success(&form.login);
    // A new session at every sign-in; the one the browser had (if any) ends.
    if let Some(old) = forms::cookie(&headers, forms::SESSION_COOKIE) {
        data.store
            .delete_session(&credentials::token_hash(&old))
            .await?;
    }
    let cookie = start_session(&data, user.id).await?;
    data.store
        .audit(Some(user.id), "session.login", user.login.as_str(), "")
        .await?;
    let mut response = see_other(&next);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

pub async fn logout(form: EditorForm<NoFields>) -> EditorResult<Response> {
    let editor = form.editor;
    editor
        .data
        .store
        .delete_session(&editor.session_hash)
        .await?;
    let mut response = see_other("/login");
    response.headers_mut().append(
        header::SET_COOKIE,
        forms::clear_session_cookie(&editor.data),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "editor/password.html")]
struct PasswordPage<'a> {
    frame: Option<Frame>,
    error: Option<&'a str>,
    min: usize,
}

async fn frame_of(editor: &Editor) -> EditorResult<Frame> {
    let actors = editor.data.store.list_actors().await?;
    Ok(Frame::new(&editor.user, &editor.csrf, &actors))
}

pub async fn password_page(editor: Editor) -> EditorResult<Html<String>> {
    let page = PasswordPage {
        frame: Some(frame_of(&editor).await?),
        error: None,
        min: credentials::MIN_PASSWORD_CHARS,
    };
    Ok(Html(page.render()?))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
    repeat: String,
}

pub async fn change_password(
    EditorForm { editor, form, .. }: EditorForm<PasswordForm>,
) -> EditorResult<Response> {
    let store = &editor.data.store;
    let refuse = |error: &str, frame: Frame| -> EditorResult<Response> {
        let page = PasswordPage {
            frame: Some(frame),
            error: Some(error),
            min: credentials::MIN_PASSWORD_CHARS,
        };
        Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
    };
    let hash = store
        .credentials(&editor.user.login)
        .await?
        .map(|c| c.password_hash);
    if !verify(form.current, hash).await {
        return refuse("The current password is wrong.", frame_of(&editor).await?);
    }
    if form.new != form.repeat {
        return refuse(
            "The new password and its repetition differ.",
            frame_of(&editor).await?,
        );
    }
    let new = form.new;
    let hash = tokio::task::spawn_blocking(move || credentials::hash_password(&new))
        .await
        .map_err(|e| EditorError::Internal(e.to_string()))?;
    let hash = match hash {
        Ok(hash) => hash,
        Err(err) => return refuse(&format!("Not changed: {err}."), frame_of(&editor).await?),
    };
    let mut tx = store.begin().await?;
    tx.set_password(editor.user.id, &hash).await?;
    tx.commit().await?;
    // Whoever may have the old password is signed out everywhere; this browser gets a
    // fresh session.
    store.delete_sessions_of(editor.user.id).await?;
    let cookie = start_session(&editor.data, editor.user.id).await?;
    store
        .audit(
            Some(editor.user.id),
            "user.password",
            editor.user.login.as_str(),
            "changed in the editor; other sessions ended",
        )
        .await?;
    let mut response = see_other("/editor?done=password");
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

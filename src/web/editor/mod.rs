//! The web editor: server-rendered pages under `/editor` for the organization's people, with
//! sign-in at `/login` and the first-run page at `/setup`. Every action goes through the same
//! use cases and permission checks as the API ([`crate::editorial`], [`crate::domain::User::may`]);
//! handlers here only read forms, call them and pick a page. Sessions, CSRF tokens and login
//! throttling live in [`session`], [`forms`] and [`throttle`].

pub mod audit;
pub mod dashboard;
pub mod deliveries;
pub mod followers;
pub mod forms;
pub mod migration;
pub mod network;
pub mod posts;
pub mod profile;
pub mod reports;
pub mod session;
pub mod setup;
pub mod throttle;
pub mod translations;

use std::sync::Arc;

use askama::Template;
use axum::{
    Extension, Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, StatusCode, header},
    middleware,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};

use crate::{
    domain::{Action, LocalActor, User},
    editorial::EditorialError,
    store::StoreError,
};

/// The largest sign-in or setup form read: a few short fields.
const MAX_PUBLIC_FORM: usize = 64 * 1024;

/// The largest editor form read: a post's text and one image, or a profile with its avatar
/// and header image (each at most [`crate::media::MAX_IMAGE_BYTES`]).
const MAX_EDITOR_FORM: usize = 24 * 1024 * 1024;

/// The editor's routes, each page and form under its own path.
pub fn router() -> Router {
    let throttle = Arc::new(throttle::Throttle::new());
    let public = Router::new()
        .route("/login", get(session::login_page).post(session::login))
        .route("/setup", get(setup::page).post(setup::create))
        .layer(DefaultBodyLimit::max(MAX_PUBLIC_FORM));
    let editor = Router::new()
        .route("/logout", post(session::logout))
        .route("/editor", get(dashboard::dashboard))
        .route(
            "/editor/password",
            get(session::password_page).post(session::change_password),
        )
        .route("/editor/posts/new", get(posts::new_page))
        .route("/editor/posts", post(posts::create))
        .route("/editor/preview", post(posts::preview))
        .route(
            "/editor/posts/{id}",
            get(posts::edit_page).post(posts::update),
        )
        .route(
            "/editor/posts/{id}/delete",
            get(posts::confirm_delete).post(posts::delete),
        )
        .route("/editor/posts/{id}/pin", post(posts::pin))
        .route(
            "/editor/posts/{id}/translations",
            get(translations::page).post(translations::save),
        )
        .route(
            "/editor/posts/{id}/translations/remove",
            post(translations::remove),
        )
        .route(
            "/editor/accounts/{username}/profile",
            get(profile::page).post(profile::save),
        )
        .route(
            "/editor/accounts/{username}/migration",
            get(migration::page),
        )
        .route(
            "/editor/accounts/{username}/aliases",
            post(migration::save_aliases),
        )
        .route(
            "/editor/accounts/{username}/move",
            post(migration::move_account),
        )
        .route(
            "/editor/accounts/{username}/followers",
            get(followers::page).post(followers::act),
        )
        .route("/editor/accounts/{username}/network", get(network::page))
        .route(
            "/editor/accounts/{username}/network/follow",
            post(network::follow),
        )
        .route(
            "/editor/accounts/{username}/network/unfollow",
            post(network::unfollow),
        )
        .route(
            "/editor/accounts/{username}/network/rule",
            post(network::rule),
        )
        .route(
            "/editor/accounts/{username}/network/boost",
            post(network::boost),
        )
        .route(
            "/editor/accounts/{username}/network/allies-page",
            post(network::allies_page),
        )
        .route(
            "/editor/replies/{id}/approve",
            post(dashboard::approve_reply),
        )
        .route("/editor/reports", get(reports::page))
        .route("/editor/blocks", post(reports::block))
        .route("/editor/blocks/remove", post(reports::unblock))
        .route("/editor/audit", get(audit::page))
        .route("/editor/deliveries", get(deliveries::page))
        .layer(DefaultBodyLimit::max(MAX_EDITOR_FORM));
    Router::new()
        .route("/editor/editor.css", get(stylesheet))
        .route("/editor/editor.js", get(script))
        .merge(public)
        .merge(editor)
        .layer(Extension(throttle))
        .layer(middleware::map_response(private_headers))
}

/// Editor pages are private and change with every action: never cached, never framed (no
/// clickjacking), scripts only from this origin.
async fn private_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' https: data:; style-src 'self'; \
             script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    response
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../../templates/editor/editor.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../../templates/editor/editor.js"),
    )
}

/// What every signed-in page shows around its content: who is signed in, where they can go,
/// and the CSRF token its forms (sign-out included) carry.
pub struct Frame {
    pub login: String,
    pub role: &'static str,
    pub admin: bool,
    pub csrf: String,
    /// The accounts the user works for: (username, name).
    pub accounts: Vec<(String, String)>,
}

impl Frame {
    pub fn new(user: &User, csrf: &str, actors: &[LocalActor]) -> Self {
        Self {
            login: user.login.to_string(),
            role: user.role.as_str(),
            admin: user.may_administer(),
            csrf: csrf.to_owned(),
            accounts: actors
                .iter()
                .filter(|a| user.works_for(a.id))
                .map(|a| (a.username.to_string(), a.name.clone()))
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "editor/message.html")]
struct MessagePage<'a> {
    frame: Option<Frame>,
    title: &'a str,
    message: &'a str,
    link: Option<(&'a str, &'a str)>,
}

/// A page with a heading, a sentence and perhaps a link onwards, with its status.
pub fn message_page(
    status: StatusCode,
    title: &str,
    message: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let page = MessagePage {
        frame: None,
        title,
        message,
        link,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => EditorError::Internal(format!("template: {err}")).into_response(),
    }
}

/// Why an editor request was not carried out; each becomes an HTML page with its status. The
/// cause of an internal error is logged here and never shown.
#[derive(Debug, thiserror::Error)]
pub enum EditorError {
    /// No valid session: sign in first, then come back to `next`.
    #[error("sign in first")]
    SignIn { next: String },
    #[error("{0}")]
    Forbidden(String),
    /// A state-changing form without the session's CSRF token (or the sign-in page's).
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("the upload is too large")]
    TooLarge,
    #[error("internal error: {0}")]
    Internal(String),
}

pub type EditorResult<T> = Result<T, EditorError>;

impl From<StoreError> for EditorError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for EditorError {
    fn from(err: askama::Error) -> Self {
        Self::Internal(format!("template: {err}"))
    }
}

impl From<EditorialError> for EditorError {
    fn from(err: EditorialError) -> Self {
        match err {
            EditorialError::Forbidden(why) => Self::Forbidden(why.to_owned()),
            EditorialError::NotFound => Self::NotFound,
            EditorialError::Invalid(why) => Self::BadRequest(why),
            EditorialError::Store(err) => err.into(),
        }
    }
}

impl IntoResponse for EditorError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { next } => {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish();
                Redirect::to(&format!("/login?{query}")).into_response()
            }
            Self::Forbidden(why) => message_page(
                StatusCode::FORBIDDEN,
                "Not allowed",
                &format!("You may not do this: {why}."),
                Some(("/editor", "Back to the dashboard")),
            ),
            Self::Csrf => message_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form did not carry this session's security token, so nothing was changed. \
                 It may be old, or it may have been sent by another site. Go back, reload the \
                 page and try again.",
                Some(("/editor", "Back to the dashboard")),
            ),
            Self::NotFound => message_page(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here among the accounts you work for.",
                Some(("/editor", "Back to the dashboard")),
            ),
            Self::BadRequest(why) => message_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "That did not work",
                &why,
                Some(("/editor", "Back to the dashboard")),
            ),
            Self::TooLarge => message_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                &format!(
                    "The form is larger than {} MiB. Images may be at most {} MiB each.",
                    MAX_EDITOR_FORM / 1024 / 1024,
                    crate::media::MAX_IMAGE_BYTES / 1024 / 1024
                ),
                None,
            ),
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "editor request failed");
                message_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side; please try again.",
                    None,
                )
            }
        }
    }
}

/// Refuses unless the user may do `action` for the account.
pub fn require(user: &User, action: Action, actor: &LocalActor, why: &str) -> EditorResult<()> {
    if user.may(action, actor.id) {
        Ok(())
    } else {
        Err(EditorError::Forbidden(why.to_owned()))
    }
}

/// A redirect after a successful POST (303, so a reload does not send the form again).
pub fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// After a change made here: public pages re-render now (not at the next site-version poll).
/// What the change queued for delivery woke the worker when its transaction committed.
pub fn changed(data: &crate::app::AppState) {
    data.invalidate_public_cache();
}

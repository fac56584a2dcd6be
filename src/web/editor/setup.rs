//! First run: `broadside serve` on an instance with no users prints a one-time link to
//! `/setup?token=…`. Its page creates the admin and the first organization account together;
//! the token is used up in the same transaction, so the link works exactly once.

use askama::Template;
use axum::{
    extract::Query,
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    EditorError, EditorResult, Frame, forms, forms::PublicForm, message_page, see_other,
    session::start_session,
};
use crate::{
    app::AppState,
    domain::{ActorKind, Login, NewActor, Role, Username, credentials, markdown},
    federation::keys,
    store::StoreError,
};

#[derive(Template)]
#[template(path = "editor/setup.html")]
struct SetupPage<'a> {
    frame: Option<Frame>,
    csrf: &'a str,
    token: &'a str,
    form: &'a SetupForm,
    error: Option<&'a str>,
    min: usize,
    host: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub login: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub repeat: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub summary: String,
}

fn used() -> Response {
    message_page(
        StatusCode::GONE,
        "This setup link was used",
        "The instance is set up already: the setup link works only once. Sign in with the \
         admin login made with it.",
        Some(("/login", "Sign in")),
    )
}

fn unknown() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "This setup link is not valid",
        "Use the newest link `broadside serve` printed when it started; restarting it prints \
         a new one while the instance has no users.",
        None,
    )
}

/// Whether `token` may set up the instance now, or the page to answer with instead.
async fn check(data: &AppState, token: &str) -> EditorResult<Result<(), Response>> {
    if data.store.count_users().await? > 0 {
        return Ok(Err(used()));
    }
    if token.is_empty()
        || !data
            .store
            .setup_token_valid(&credentials::token_hash(token))
            .await?
    {
        return Ok(Err(unknown()));
    }
    Ok(Ok(()))
}

fn render(
    data: &AppState,
    status: StatusCode,
    csrf: &str,
    form: &SetupForm,
    error: Option<&str>,
) -> EditorResult<Response> {
    let page = SetupPage {
        frame: None,
        csrf,
        token: &form.token,
        form,
        error,
        min: credentials::MIN_PASSWORD_CHARS,
        host: data.config.host(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn page(
    data: activitypub_federation::config::Data<AppState>,
    headers: HeaderMap,
    Query(query): Query<SetupQuery>,
) -> EditorResult<Response> {
    let token = query.token.unwrap_or_default();
    if let Err(page) = check(&data, &token).await? {
        return Ok(page);
    }
    let (csrf, cookie) = forms::form_token(&data, &headers);
    let form = SetupForm {
        token,
        ..SetupForm::default()
    };
    let mut response = render(&data, StatusCode::OK, &csrf, &form, None)?;
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The form's values, checked.
struct Checked {
    login: Login,
    password_hash: String,
    actor: NewActor,
}

async fn check_form(form: &SetupForm) -> Result<Checked, String> {
    let login = Login::parse(&form.login).map_err(|e| e.to_string())?;
    if form.password != form.repeat {
        return Err("the password and its repetition differ".into());
    }
    let username = Username::parse(form.username.trim()).map_err(|e| e.to_string())?;
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        return Err("the organization account needs a display name".into());
    }
    let password = form.password.clone();
    // Hashing and RSA key generation are slow on purpose or by nature: off the async threads.
    let (hash, pair) = tokio::task::spawn_blocking(move || {
        (credentials::hash_password(&password), keys::generate())
    })
    .await
    .map_err(|e| e.to_string())?;
    let password_hash = hash.map_err(|e| e.to_string())?;
    let pair = pair.map_err(|e| e.to_string())?;
    let summary_md = form.summary.trim().to_owned();
    Ok(Checked {
        login,
        password_hash,
        actor: NewActor {
            username,
            kind: ActorKind::Organization,
            name,
            summary_html: markdown::render(&summary_md),
            summary_md,
            public_key_pem: pair.public_key_pem,
            private_key_pem: pair.private_key_pem,
        },
    })
}

pub async fn create(
    PublicForm {
        form,
        headers,
        data,
        ..
    }: PublicForm<SetupForm>,
) -> EditorResult<Response> {
    if let Err(page) = check(&data, &form.token).await? {
        return Ok(page);
    }
    let (csrf, _) = forms::form_token(&data, &headers);
    let checked = match check_form(&form).await {
        Ok(checked) => checked,
        Err(why) => {
            let why = format!("Not set up yet: {why}.");
            return render(
                &data,
                StatusCode::UNPROCESSABLE_ENTITY,
                &csrf,
                &form,
                Some(&why),
            );
        }
    };
    let mut tx = data.store.begin().await?;
    // Whoever uses the token first wins; a second submission finds it gone.
    if !tx
        .consume_setup_token(&credentials::token_hash(&form.token))
        .await?
    {
        return Ok(used());
    }
    let actor = match tx.insert_actor(&checked.actor).await {
        Ok(actor) => actor,
        Err(StoreError::Conflict(_)) => {
            let why = format!(
                "Not set up yet: an account `{}` exists already; choose another username.",
                checked.actor.username
            );
            return render(&data, StatusCode::CONFLICT, &csrf, &form, Some(&why));
        }
        Err(err) => return Err(err.into()),
    };
    let user_id = tx
        .insert_user(
            &checked.login,
            &checked.password_hash,
            Role::Admin,
            &[actor.id],
        )
        .await?;
    tx.commit().await?;
    data.invalidate_public_cache();
    data.store
        .audit(
            Some(user_id),
            "instance.setup",
            actor.username.as_str(),
            &format!(
                "admin {} and account {} created",
                checked.login, actor.username
            ),
        )
        .await?;
    let cookie = start_session(&data, user_id)
        .await
        .map_err(|e| EditorError::Internal(format!("set up, but the session failed: {e}")))?;
    let mut response = see_other("/editor?done=setup");
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

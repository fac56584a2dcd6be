//! `GET /`: the instance's home page, listing the organization accounts it hosts.

use activitypub_federation::config::Data;
use askama::Template;
use axum::response::Html;

use super::error::WebError;
use crate::{app::AppState, federation::urls};

struct Account {
    name: String,
    handle: String,
    url: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    host: String,
    accounts: Vec<Account>,
}

pub async fn home(data: Data<AppState>) -> Result<Html<String>, WebError> {
    let host = data.config.host();
    let accounts = data
        .store
        .list_actors()
        .await?
        .into_iter()
        .map(|actor| Account {
            handle: format!("@{}@{host}", actor.username),
            url: urls::actor(&data.config.base_url, actor.username.as_str()).into(),
            name: actor.name,
        })
        .collect();
    Ok(Html(HomePage { host, accounts }.render()?))
}

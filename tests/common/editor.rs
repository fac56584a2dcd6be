//! The web editor as a browser uses it: signing in through the login form, the CSRF token
//! its forms carry, and a small image to upload.

use broadside::{
    domain::{Login, Role, credentials},
    store::Store,
};
use reqwest::{StatusCode, redirect::Policy};

use super::TestServer;

/// The password of every user these helpers create.
pub const PASSWORD: &str = "a long enough password";

/// A 1×1 transparent PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// The value of the first hidden `csrf` field on a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Creates user `login` with [`PASSWORD`] and `role`, for the accounts named; returns its id.
pub async fn add_user(store: &Store, login: &str, role: Role, accounts: &[&str]) -> i64 {
    let mut ids = Vec::new();
    for username in accounts {
        ids.push(store.actor_by_username(username).await.unwrap().unwrap().id);
    }
    let hash = credentials::hash_password(PASSWORD).unwrap();
    let mut tx = store.begin().await.unwrap();
    let id = tx
        .insert_user(&Login::parse(login).unwrap(), &hash, role, &ids)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

/// A browser (cookies kept, redirects not followed), as the editor's tests use it.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs `login` in through the login form; returns the browser and the session's CSRF
/// token, read from the editor's dashboard.
pub async fn sign_in(server: &TestServer, login: &str) -> (reqwest::Client, String) {
    let browser = browser();
    let page = browser.get(server.url("/login")).send().await.unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let form = [
        ("csrf", csrf.as_str()),
        ("login", login),
        ("password", PASSWORD),
        ("next", "/editor"),
    ];
    let response = browser
        .post(server.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = browser.get(server.url("/editor")).send().await.unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    (browser, csrf)
}

/// [`add_user`], then [`sign_in`].
pub async fn signed_in(
    server: &TestServer,
    login: &str,
    role: Role,
    accounts: &[&str],
) -> (reqwest::Client, String) {
    add_user(&server.state.store, login, role, accounts).await;
    sign_in(server, login).await
}

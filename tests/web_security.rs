//! Web security (issue #8, item 6): the security headers on every kind of response, with and
//! without an HTTPS base URL; strict cookies under HTTPS; no path traversal on `/media`; and
//! the API's per-token rate limit. Each test names the case it covers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use axum::{
    Router,
    body::{Body, to_bytes},
    http::{HeaderMap, Request, StatusCode, header},
};
use broadside::{
    app::AppState,
    config::Config,
    domain::{Login, Role, credentials},
    web::{self, security},
};
use common::{TestDb, TestServer};
use tower::ServiceExt;
use url::Url;

/// The headers every response carries, whatever made it.
fn assert_common_headers(headers: &HeaderMap, what: &str) {
    let csp = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"))
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("'unsafe-inline'"), "{what}: {csp}");
    assert!(!csp.contains("'unsafe-eval'"), "{what}: {csp}");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{what}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
    assert!(headers.contains_key(header::REFERRER_POLICY), "{what}");
}

// Covers: CSP, frame denial, nosniff and referrer policy on a public HTML page (fresh and from
// the page cache, and a 304), an ActivityPub JSON document, an editor page, the API, a 404;
// no HSTS on a plain-HTTP site.
#[tokio::test]
async fn every_response_carries_the_security_headers_and_no_hsts_over_http() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let client = reqwest::Client::new();
    let get = |path: &str, accept: &str| {
        client
            .get(server.url(path))
            .header(header::ACCEPT, accept)
            .send()
    };

    let page = get("/users/isg", "text/html").await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_common_headers(&headers, "public page");
    assert_eq!(
        headers[header::REFERRER_POLICY],
        "strict-origin-when-cross-origin"
    );
    assert!(!headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'"), "no scripts: {csp}");
    // The page's one inline stylesheet is allowed by its hash, and only it.
    let html = page.text().await.unwrap();
    let style = security::inline_style_hash(&html).expect("the page has a <style>");
    assert!(csp.contains(&format!("style-src '{style}'")), "{csp}");
    assert!(!html.contains("<script"), "public pages run no script");

    // Served again from the page cache, and as a 304: the same headers.
    let cached = get("/users/isg", "text/html").await.unwrap();
    let etag = cached.headers()[header::ETAG].clone();
    assert_common_headers(cached.headers(), "cached public page");
    assert_eq!(cached.headers()[header::CONTENT_SECURITY_POLICY], csp);
    let not_modified = client
        .get(server.url("/users/isg"))
        .header(header::ACCEPT, "text/html")
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_common_headers(not_modified.headers(), "304");

    let json = get("/users/isg", "application/activity+json")
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::OK);
    assert_common_headers(json.headers(), "ActivityPub JSON");

    // The editor keeps its own policy (its one script file) and its stricter referrer policy.
    let login = get("/login", "text/html").await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    assert_common_headers(login.headers(), "editor page");
    let editor_csp = login.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(editor_csp.contains("script-src 'self'"), "{editor_csp}");
    assert_eq!(login.headers()[header::REFERRER_POLICY], "same-origin");

    let api = get("/api/v1/posts", "application/json").await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_common_headers(api.headers(), "API error");

    let missing = get("/no/such/page", "text/html").await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_common_headers(missing.headers(), "404");
    server.stop().await;
}

/// An app on an `https://` base URL (or another), called in-process without a listener.
struct App {
    router: Router,
    state: AppState,
    db: TestDb,
    _data: tempfile::TempDir,
}

impl App {
    async fn start(base_url: &str, api_requests_per_minute: u32) -> Self {
        let db = TestDb::new("sqlite").await;
        let data = tempfile::tempdir().unwrap();
        let config = Config {
            base_url: Url::parse(base_url).unwrap(),
            listen: "127.0.0.1:0".parse().unwrap(),
            database: db.url.clone(),
            data_dir: data.path().to_path_buf(),
            allow_private_networks: true,
            extra_ca_pem: None,
            log: "warn".into(),
            api_requests_per_minute,
            authorized_fetch: false,
            http_threads: std::num::NonZeroUsize::new(2).unwrap(),
        };
        let state = AppState::prepare(config).await.unwrap();
        let router = web::router(state.federation_config().await.unwrap());
        Self {
            router,
            state,
            db,
            _data: data,
        }
    }

    async fn get(
        &self,
        path: &str,
        headers: &[(header::HeaderName, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    async fn stop(self) {
        self.state.store.close().await;
        self.db.cleanup().await;
    }
}

// Covers: HSTS under an https:// base URL on public, ActivityPub and editor responses; the
// editor's cookies are Secure, HttpOnly and SameSite there.
#[tokio::test]
async fn hsts_and_secure_cookies_under_https() {
    let app = App::start("https://news.example", 300).await;
    let (status, headers, _) = app.get("/", &[(header::ACCEPT, "text/html")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_common_headers(&headers, "home page");
    assert_eq!(headers[header::STRICT_TRANSPORT_SECURITY], security::HSTS);

    let (_, headers, _) = app
        .get("/actor", &[(header::ACCEPT, "application/activity+json")])
        .await;
    assert_common_headers(&headers, "instance actor");
    assert_eq!(headers[header::STRICT_TRANSPORT_SECURITY], security::HSTS);

    let (status, headers, _) = app.get("/login", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_common_headers(&headers, "sign-in page");
    assert_eq!(headers[header::STRICT_TRANSPORT_SECURITY], security::HSTS);
    let cookies: Vec<&str> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(!cookies.is_empty(), "the sign-in page sets its form cookie");
    for cookie in cookies {
        for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(flag), "{flag} missing: {cookie}");
        }
    }
    app.stop().await;
}

// Covers: no path traversal on /media/{file_name}: encoded slashes and dots, absolute paths,
// an encoded NUL, backslashes and a content-hash name with a path in front all get 404,
// never a file from outside the media folder.
#[tokio::test]
async fn media_names_cannot_leave_the_media_folder() {
    let app = App::start("http://localhost:8080", 300).await;
    // A file the traversal attempts would reach if they were followed.
    let data_dir = app.state.config.data_dir.clone();
    std::fs::write(data_dir.join("secret.txt"), b"secret").unwrap();
    let hash = "a".repeat(64);
    for path in [
        "/media/..%2Fsecret.txt".to_owned(),
        "/media/%2E%2E%2Fsecret.txt".to_owned(),
        "/media/..%5Csecret.txt".to_owned(),
        "/media/%2Fetc%2Fpasswd".to_owned(),
        "/media/..".to_owned(),
        "/media/../secret.txt".to_owned(),
        format!("/media/{hash}.png%00.txt"),
        format!("/media/..%2F{}.png", "a".repeat(61)),
        format!("/media/{hash}.png%2F..%2F..%2Fsecret.txt"),
        format!("/media/{hash}.svg"),
    ] {
        let (status, headers, body) = app.get(&path, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!body.contains("secret"), "{path}: {body}");
        assert_common_headers(&headers, &path);
    }
    app.stop().await;
}

// Covers: the API's per-token rate limit: past the allowance a token gets 429 as problem+json
// with Retry-After, while another token is still served.
#[tokio::test]
async fn the_api_limits_each_token() {
    let app = App::start("http://localhost:8080", 3).await;
    let mut tokens = Vec::new();
    for login in ["ana", "ben"] {
        let token = credentials::generate_api_token();
        let mut tx = app.state.store.begin().await.unwrap();
        let hash = credentials::hash_password("a long enough password").unwrap();
        let id = tx
            .insert_user(&Login::parse(login).unwrap(), &hash, Role::Admin, &[])
            .await
            .unwrap();
        tx.insert_api_token(id, "test", &credentials::token_hash(&token))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        tokens.push(format!("Bearer {token}"));
    }
    for n in 0..3 {
        let (status, _, body) = app
            .get("/api/v1/posts", &[(header::AUTHORIZATION, &tokens[0])])
            .await;
        assert_eq!(status, StatusCode::OK, "request {n}: {body}");
    }
    let (status, headers, body) = app
        .get("/api/v1/posts", &[(header::AUTHORIZATION, &tokens[0])])
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=20).contains(&retry),
        "one request in 60 s / 3: {retry}"
    );
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["status"], 429);
    let (status, _, _) = app
        .get("/api/v1/posts", &[(header::AUTHORIZATION, &tokens[1])])
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "another token has its own allowance"
    );
    app.stop().await;
}

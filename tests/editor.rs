//! The web editor end to end, as a browser without JavaScript uses it: the one-time setup
//! link, signing in and out, session cookies, throttling, CSRF refusals, every role's
//! denials, review and publishing that reach a follower, scheduling, corrections,
//! retraction, followers and the profile Update.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    domain::{FollowState, LocalActor, Login, Role, credentials},
    store::{Store, remote_actors::NewRemoteActor},
};
use common::{
    Peer, TestServer,
    editor::{PASSWORD, PNG, add_user, browser, csrf_of},
};
use reqwest::{StatusCode, header};

fn location(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn text(client: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let response = client.get(url).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

struct Site {
    server: TestServer,
    store: Store,
}

impl Site {
    async fn start() -> Self {
        let server = TestServer::start().await;
        server.create_actor("isg", false).await;
        server.create_actor("other", false).await;
        let store = server.store().await;
        Self { server, store }
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    async fn actor(&self, name: &str) -> LocalActor {
        self.store.actor_by_username(name).await.unwrap().unwrap()
    }

    async fn user(&self, login: &str, role: Role, actors: &[&str]) {
        add_user(&self.store, login, role, actors).await;
    }

    /// Sends the sign-in form as the page gives it; returns the raw answer.
    async fn try_sign_in(
        &self,
        client: &reqwest::Client,
        login: &str,
        password: &str,
        address: &str,
    ) -> reqwest::Response {
        let (status, page) = text(client, &self.url("/login")).await;
        assert_eq!(status, StatusCode::OK);
        client
            .post(self.url("/login"))
            .header("x-forwarded-for", address)
            .form(&[
                ("csrf", csrf_of(&page).as_str()),
                ("login", login),
                ("password", password),
                ("next", "/editor"),
            ])
            .send()
            .await
            .unwrap()
    }

    /// A signed-in browser and its session's CSRF token.
    async fn signed_in(&self, login: &str) -> (reqwest::Client, String) {
        let client = browser();
        let response = self
            .try_sign_in(&client, login, PASSWORD, "203.0.113.1")
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/editor");
        let (status, page) = text(&client, &self.url("/editor")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        (client, csrf_of(&page))
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client.post(self.url(path)).form(form).send().await.unwrap()
    }

    async fn add_follower(&self, actor: &LocalActor, peer: &Peer, name: &str, state: FollowState) {
        let id = peer.url(&format!("/users/{name}"));
        let remote = self
            .store
            .upsert_remote_actor(&NewRemoteActor {
                ap_id: id.clone(),
                actor_type: "Person".into(),
                username: name.into(),
                host: broadside::config::authority(&id),
                name: None,
                inbox: peer.url(&format!("/users/{name}/inbox")),
                shared_inbox: Some(peer.url("/inbox")),
                url: None,
                public_key_id: format!("{id}#main-key"),
                public_key_pem: "unused".into(),
            })
            .await
            .unwrap();
        let mut tx = self.store.begin().await.unwrap();
        tx.upsert_follower(actor.id, remote.id, &format!("{id}/follow"), state)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
}

/// The id in a `/editor/posts/ID?done=…` redirect.
fn post_id(location: &str) -> i64 {
    location
        .trim_start_matches("/editor/posts/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// An editor `ed` of isg, signed in, publishes [`statement`] and `alice` on `peer`, a
/// follower of isg, receives it; returns the editor's browser, CSRF token and the post's id.
async fn published_by_an_editor(site: &Site, peer: &Peer) -> (reqwest::Client, String, i64) {
    let isg = site.actor("isg").await;
    site.add_follower(&isg, peer, "alice", FollowState::Accepted)
        .await;
    site.user("ed", Role::Editor, &["isg"]).await;
    let (editor, csrf) = site.signed_in("ed").await;
    let response = site
        .post(&editor, "/editor/posts", &statement(&csrf, "publish"))
        .await;
    let id = post_id(&location(&response));
    peer.wait_for("Create").await;
    (editor, csrf, id)
}

fn statement<'a>(csrf: &'a str, action: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("actor", "isg"),
        ("kind", "statement"),
        ("lang", "en"),
        ("title", "On the strike"),
        ("summary", "We stand with them."),
        ("body", "Full **text** for #strikers."),
        ("action", action),
    ]
}

#[tokio::test]
async fn the_setup_link_works_once() {
    let server = TestServer::start().await;
    let store = server.store().await;
    let token = credentials::generate_token();
    store
        .replace_setup_token(&credentials::token_hash(&token))
        .await
        .unwrap();
    let link = server.url(&format!("/setup?token={token}"));
    let client = browser();
    let (status, page) = text(&client, &server.url("/setup?token=wrong")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
    let (status, page) = text(&client, &link).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<legend>Your admin login</legend>"));
    let form = |csrf: String| {
        vec![
            ("csrf", csrf),
            ("token", token.clone()),
            ("login", "Admin@Example.org".into()),
            ("password", PASSWORD.into()),
            ("repeat", PASSWORD.into()),
            ("username", "isg".into()),
            ("name", "Institute for Social Good".into()),
            ("summary", "We *organize*.".into()),
        ]
    };
    // Without the page's token, nothing happens.
    let response = client
        .post(server.url("/setup"))
        .form(&form("forged".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(store.count_users().await.unwrap(), 0);
    // Passwords that differ are sent back with the form filled in.
    let mut mismatched = form(csrf_of(&page));
    mismatched[4].1 = "another long password".into();
    let response = client
        .post(server.url("/setup"))
        .form(&mismatched)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("differ"));

    let response = client
        .post(server.url("/setup"))
        .form(&form(csrf_of(&page)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/editor?done=setup");
    let (status, dashboard) = text(&client, &server.url("/editor")).await;
    assert_eq!(status, StatusCode::OK, "signed in as the new admin");
    assert!(dashboard.contains("Institute for Social Good"));
    assert!(dashboard.contains("admin@example.org"));

    let actor = store.actor_by_username("isg").await.unwrap().unwrap();
    assert!(actor.public_key_pem.contains("PUBLIC KEY"));
    assert_eq!(actor.summary_html, "<p>We <em>organize</em>.</p>\n");
    let admin = store
        .credentials(&Login::parse("admin@example.org").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.user.role, Role::Admin);
    assert!(admin.password_hash.starts_with("$argon2id$"));
    let (status, _) = text(&reqwest::Client::new(), &server.actor_url("isg")).await;
    assert_eq!(status, StatusCode::OK, "the account is public at once");

    // The link is used up: opening or sending it again says so.
    let (status, page) = text(&browser(), &link).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("This setup link was used"));
    let response = client
        .post(server.url("/setup"))
        .form(&form(csrf_of(
            &dashboard_form_token(&server, &client).await,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(store.count_users().await.unwrap(), 1);
    server.stop().await;
}

/// A page carrying the browser's sign-in form token (the login page has it).
async fn dashboard_form_token(server: &TestServer, client: &reqwest::Client) -> String {
    text(client, &server.url("/login")).await.1
}

#[tokio::test]
async fn signing_in_makes_a_new_session_and_signing_out_ends_it() {
    let site = Site::start().await;
    site.user("ana", Role::Editor, &["isg"]).await;
    let client = browser();
    let (status, _) = text(&client, &site.url("/editor")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "sign in first");
    let first = site
        .try_sign_in(&client, "ana", PASSWORD, "203.0.113.1")
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let cookie = first.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("broadside_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain-HTTP test site");
    let token = cookie
        .trim_start_matches("broadside_session=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        site.store
            .session(&credentials::token_hash(&token))
            .await
            .unwrap()
            .is_some()
    );

    // Signing in again replaces the session.
    let second = site
        .try_sign_in(&client, "ana", PASSWORD, "203.0.113.1")
        .await;
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    assert!(
        site.store
            .session(&credentials::token_hash(&token))
            .await
            .unwrap()
            .is_none(),
        "the old session ended"
    );
    let (status, page) = text(&client, &site.url("/editor")).await;
    assert_eq!(status, StatusCode::OK);
    let response = site
        .post(&client, "/logout", &[("csrf", &csrf_of(&page))])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    let (status, _) = text(&client, &site.url("/editor")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out");
    // A page asked for before signing in is where signing in leads.
    let response = client.get(site.url("/editor/audit")).send().await.unwrap();
    assert_eq!(location(&response), "/login?next=%2Feditor%2Faudit");
    site.server.stop().await;
}

#[tokio::test]
async fn wrong_passwords_and_unknown_logins_are_refused_alike() {
    let site = Site::start().await;
    site.user("ana", Role::Editor, &["isg"]).await;
    let client = browser();
    for (login, password) in [("ana", "not the password"), ("nobody", PASSWORD)] {
        let response = site
            .try_sign_in(&client, login, password, "203.0.113.1")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get(header::SET_COOKIE).is_none());
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("The login or the password is wrong.")
        );
    }
    site.server.stop().await;
}

#[tokio::test]
async fn sign_ins_are_throttled_per_login_and_per_address() {
    let site = Site::start().await;
    site.user("ana", Role::Editor, &["isg"]).await;
    let client = browser();
    for n in 0..5 {
        let response = site
            .try_sign_in(&client, "ana", "wrong guess", &format!("198.51.100.{n}"))
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // The right password does not help now, from any address.
    let response = site
        .try_sign_in(&client, "ana", PASSWORD, "198.51.100.99")
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-ins")
    );

    // One address guessing many logins is stopped too; other addresses are not.
    site.user("bob", Role::Editor, &["isg"]).await;
    for n in 0..20 {
        let response = site
            .try_sign_in(&client, &format!("guess{n}"), "wrong", "192.0.2.7")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let response = site
        .try_sign_in(&client, "bob", PASSWORD, "192.0.2.7")
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let response = site
        .try_sign_in(&client, "bob", PASSWORD, "192.0.2.8")
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    site.server.stop().await;
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    let site = Site::start().await;
    site.user("ed", Role::Editor, &["isg"]).await;
    let (client, csrf) = site.signed_in("ed").await;
    for token in ["", "forged-token-of-the-right-length-0123456789abc"] {
        let mut form = statement(token, "publish");
        if token.is_empty() {
            form.remove(0);
        }
        let response = site.post(&client, "/editor/posts", &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "csrf `{token}`");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("This form has expired")
        );
        let response = site.post(&client, "/logout", &[("csrf", token)]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    // Multipart forms are checked the same way.
    let multipart = reqwest::multipart::Form::new()
        .text("actor", "isg")
        .text("kind", "news")
        .text("body", "hello")
        .text("action", "publish");
    let response = client
        .post(site.url("/editor/posts"))
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(site.store.all_posts(None).await.unwrap().is_empty());
    let (status, _) = text(&client, &site.url("/editor")).await;
    assert_eq!(status, StatusCode::OK, "still signed in");

    // Signing in from a form that did not come from our page is refused too.
    let response = browser()
        .post(site.url("/login"))
        .form(&[("csrf", "x"), ("login", "ed"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = site
        .post(&client, "/editor/posts", &statement(&csrf, "draft"))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the real token works"
    );
    site.server.stop().await;
}

#[tokio::test]
async fn an_author_submits_for_review_and_an_editor_publishes_to_followers() {
    let site = Site::start().await;
    let isg = site.actor("isg").await;
    let peer = Peer::start().await;
    site.add_follower(&isg, &peer, "alice", FollowState::Accepted)
        .await;
    site.user("writer", Role::Author, &["isg"]).await;
    site.user("ed", Role::Editor, &["isg"]).await;

    let (author, csrf) = site.signed_in("writer").await;
    let (_, page) = text(&author, &site.url("/editor/posts/new")).await;
    assert!(page.contains("Submit for review"));
    assert!(
        !page.contains("Publish now"),
        "authors are not offered publishing"
    );
    for action in ["publish", "schedule"] {
        let mut form = statement(&csrf, action);
        form.push(("schedule_at", "2099-01-01T10:00"));
        let response = site.post(&author, "/editor/posts", &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("submit it for review")
        );
    }
    let response = site
        .post(&author, "/editor/posts", &statement(&csrf, "review"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = post_id(&location(&response));
    let path = format!("/editor/posts/{id}");
    let response = site
        .post(&author, &path, &[("csrf", &csrf), ("action", "publish")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, _) = text(&reqwest::Client::new(), &site.server.post_url("isg", id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not public while in review");

    let (editor, editor_csrf) = site.signed_in("ed").await;
    let (_, dashboard) = text(&editor, &site.url("/editor")).await;
    assert!(dashboard.contains(&format!("href=\"/editor/posts/{id}\"")));
    let response = site
        .post(
            &editor,
            &path,
            &[("csrf", &editor_csrf), ("action", "publish")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{path}?done=published"));
    let create = peer.wait_for("Create").await;
    assert!(create.signature_valid);
    assert_eq!(create.activity["object"]["name"], "On the strike");
    let (status, public) = text(&reqwest::Client::new(), &site.server.post_url("isg", id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(public.contains("On the strike"));

    // What the author's role does not allow on the published post, each refused.
    let pin = format!("{path}/pin");
    let delete = format!("{path}/delete");
    let correction = [
        ("csrf", csrf.as_str()),
        ("action", "save"),
        ("body", "Changed."),
    ];
    for (path, form) in [
        (
            pin.as_str(),
            vec![("csrf", csrf.as_str()), ("pinned", "true")],
        ),
        (delete.as_str(), vec![("csrf", csrf.as_str())]),
        (path.as_str(), correction.to_vec()),
    ] {
        let response = site.post(&author, path, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    for path in [
        delete.clone(),
        "/editor/accounts/isg/followers".into(),
        "/editor/accounts/isg/profile".into(),
        "/editor/audit".into(),
    ] {
        let (status, _) = text(&author, &site.url(&path)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "GET {path}");
    }
    let response = site
        .post(
            &author,
            "/editor/accounts/isg/followers",
            &[
                ("csrf", &csrf),
                ("action", "remove"),
                ("follower", peer.url("/users/alice").as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = site
        .post(
            &author,
            "/editor/accounts/isg/profile",
            &[("csrf", &csrf), ("name", "Taken over")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(site.actor("isg").await.name, "isg organization");
    site.server.stop().await;
}

#[tokio::test]
async fn editors_act_only_for_their_accounts_and_admins_alone_read_the_audit_log() {
    let site = Site::start().await;
    site.user("ed", Role::Editor, &["isg"]).await;
    site.user("boss", Role::Admin, &[]).await;
    let (editor, csrf) = site.signed_in("ed").await;
    let mut form = statement(&csrf, "publish");
    form[1].1 = "other";
    let response = site.post(&editor, "/editor/posts", &form).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let other = site
        .server
        .publish_post(
            "other",
            broadside::domain::PostKind::News,
            None,
            "Theirs",
            "en",
        )
        .await;
    for path in [
        format!("/editor/posts/{other}"),
        format!("/editor/posts/{other}/delete"),
        "/editor/accounts/other/profile".into(),
        "/editor/accounts/other/followers".into(),
    ] {
        let (status, _) = text(&editor, &site.url(&path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}");
    }
    let response = site
        .post(
            &editor,
            &format!("/editor/posts/{other}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (status, _) = text(&editor, &site.url("/editor/audit")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let response = site
        .post(&editor, "/editor/posts", &statement(&csrf, "publish"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (admin, _) = site.signed_in("boss").await;
    let (status, log) = text(&admin, &site.url("/editor/audit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        log.contains("post.published") && log.contains("On the strike"),
        "{log}"
    );
    assert!(log.contains("<td>ed</td>"));
    site.server.stop().await;
}

#[tokio::test]
async fn a_scheduled_post_is_published_when_due() {
    let site = Site::start().await;
    let isg = site.actor("isg").await;
    let peer = Peer::start().await;
    site.add_follower(&isg, &peer, "alice", FollowState::Accepted)
        .await;
    site.user("ed", Role::Editor, &["isg"]).await;
    let (editor, csrf) = site.signed_in("ed").await;
    let past = "2001-01-01T10:00";
    let mut form = statement(&csrf, "schedule");
    form.push(("schedule_at", past));
    let response = site.post(&editor, "/editor/posts", &form).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a past time"
    );

    // Two seconds ahead, given in a browser two hours east of UTC.
    let local = chrono::Utc::now() + chrono::Duration::hours(2) + chrono::Duration::seconds(2);
    let at = local.format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut form = statement(&csrf, "schedule");
    form.push(("schedule_at", &at));
    form.push(("tz_offset", "-120"));
    let response = site.post(&editor, "/editor/posts", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = post_id(&location(&response));
    let post = site.store.post_by_id(id).await.unwrap().unwrap();
    assert_eq!(post.state.as_str(), "scheduled");
    let due = post.scheduled_at.unwrap() - chrono::Utc::now();
    assert!(due <= chrono::Duration::seconds(3) && due > chrono::Duration::zero());
    assert!(peer.received().is_empty());
    let create = peer.wait_for("Create").await;
    assert_eq!(create.activity["object"]["name"], "On the strike");
    let post = site.store.post_by_id(id).await.unwrap().unwrap();
    assert_eq!(post.state.as_str(), "published");
    site.server.stop().await;
}

#[tokio::test]
async fn corrections_send_update_and_retraction_sends_delete_after_confirmation() {
    let site = Site::start().await;
    let peer = Peer::start().await;
    let (editor, csrf, id) = published_by_an_editor(&site, &peer).await;
    let path = format!("/editor/posts/{id}");
    let (_, page) = text(&editor, &site.url(&path)).await;
    assert!(page.contains("Save correction"));
    let mut form = statement(&csrf, "save");
    form[6].1 = "Corrected **text**.";
    let response = site.post(&editor, &path, &form).await;
    assert_eq!(location(&response), format!("{path}?done=corrected"));
    let update = peer.wait_for("Update").await;
    assert!(
        update.activity["object"]["content"]
            .as_str()
            .unwrap()
            .contains("Corrected")
    );

    let response = site
        .post(
            &editor,
            &format!("{path}/pin"),
            &[("csrf", &csrf), ("pinned", "true")],
        )
        .await;
    assert_eq!(location(&response), format!("{path}?done=pinned"));
    peer.wait_for("Add").await;

    let (status, confirm) = text(&editor, &site.url(&format!("{path}/delete"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Retract the post") && confirm.contains("1 follower"));
    let response = site
        .post(&editor, &format!("{path}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&response), "/editor?done=deleted");
    peer.wait_for("Delete").await;
    let (status, _) = text(&reqwest::Client::new(), &site.server.post_url("isg", id)).await;
    assert_eq!(status, StatusCode::GONE);
    site.server.stop().await;
}

#[tokio::test]
async fn the_preview_shows_the_page_and_what_mastodon_shows() {
    let site = Site::start().await;
    site.user("writer", Role::Author, &["isg"]).await;
    let (author, csrf) = site.signed_in("writer").await;
    let response = site
        .post(&author, "/editor/preview", &statement(&csrf, "preview"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("<strong>text</strong>"), "{html}");
    assert!(html.contains("How Mastodon shows it"));
    assert!(html.contains("We stand with them."));
    assert!(html.contains("A statement appears as its title and summary"));

    // The Preview button without JavaScript: the whole page, with the form kept.
    let mut form = statement(&csrf, "preview");
    form[2].1 = "news";
    let response = site.post(&author, "/editor/posts", &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("News appears with its full text."));
    assert!(page.contains("Full **text** for #strikers.</textarea>"));
    assert!(
        site.store.all_posts(None).await.unwrap().is_empty(),
        "nothing saved"
    );

    // An image is kept across a preview and attached with its alt text.
    let multipart = |extra: Vec<(&'static str, String)>| {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in statement(&csrf, "preview") {
            if k != "action" {
                form = form.text(k.to_owned(), v.to_owned());
            }
        }
        for (k, v) in extra {
            form = form.text(k, v);
        }
        form
    };
    let without_alt = multipart(vec![("action", "preview".into())]).part(
        "image_file",
        reqwest::multipart::Part::bytes(PNG).file_name("dot.png"),
    );
    let response = author
        .post(site.url("/editor/posts"))
        .multipart(without_alt)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("alt text"));
    let with_alt = multipart(vec![("action", "preview".into()), ("alt", "A dot".into())]).part(
        "image_file",
        reqwest::multipart::Part::bytes(PNG).file_name("dot.png"),
    );
    let response = author
        .post(site.url("/editor/posts"))
        .multipart(with_alt)
        .send()
        .await
        .unwrap();
    let page = response.text().await.unwrap();
    let start = page.find("name=\"image\" value=\"").unwrap() + 20;
    let file_name = page[start..].split('"').next().unwrap().to_owned();
    let response = author
        .post(site.url("/editor/posts"))
        .multipart(multipart(vec![
            ("action", "draft".into()),
            ("alt", "A dot".into()),
            ("image", file_name.clone()),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let post = site
        .store
        .post_by_id(post_id(&location(&response)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(post.media.len(), 1);
    assert_eq!(
        (post.media[0].file_name.as_str(), post.media[0].alt.as_str()),
        (file_name.as_str(), "A dot")
    );
    site.server.stop().await;
}

#[tokio::test]
async fn followers_are_approved_and_removed_with_accept_and_reject() {
    let site = Site::start().await;
    let isg = site.actor("isg").await;
    let peer = Peer::start().await;
    site.add_follower(&isg, &peer, "alice", FollowState::Pending)
        .await;
    site.add_follower(&isg, &peer, "bob", FollowState::Accepted)
        .await;
    site.user("ed", Role::Editor, &["isg"]).await;
    let (editor, csrf) = site.signed_in("ed").await;
    let (_, dashboard) = text(&editor, &site.url("/editor")).await;
    assert!(dashboard.contains("1 waiting for approval"));
    let path = "/editor/accounts/isg/followers";
    let alice = peer.url("/users/alice").to_string();
    let bob = peer.url("/users/bob").to_string();
    let response = site
        .post(
            &editor,
            path,
            &[("csrf", &csrf), ("action", "approve"), ("follower", &alice)],
        )
        .await;
    assert_eq!(location(&response), format!("{path}?done=approve"));
    let accept = peer.wait_for("Accept").await;
    assert_eq!(accept.activity["object"]["actor"], alice.as_str());
    let response = site
        .post(
            &editor,
            path,
            &[("csrf", &csrf), ("action", "remove"), ("follower", &bob)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    peer.wait_for("Reject").await;
    assert_eq!(
        site.store
            .count_followers(isg.id, FollowState::Accepted)
            .await
            .unwrap(),
        1
    );
    site.server.stop().await;
}

#[tokio::test]
async fn a_profile_change_reaches_followers_as_an_update() {
    let site = Site::start().await;
    let isg = site.actor("isg").await;
    let peer = Peer::start().await;
    site.add_follower(&isg, &peer, "alice", FollowState::Accepted)
        .await;
    site.user("ed", Role::Editor, &["isg"]).await;
    let (editor, csrf) = site.signed_in("ed").await;
    let (status, page) = text(&editor, &site.url("/editor/accounts/isg/profile")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("isg organization"));
    // The public page is cached before the change.
    let (_, before) = text(&reqwest::Client::new(), &site.server.actor_url("isg")).await;
    assert!(before.contains("isg organization"));
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("name", "Institute for Social Good")
        .text("summary", "We **organize**.")
        .text("field_name_0", "Website")
        .text("field_value_0", "https://isg.example")
        .text("field_name_1", "")
        .text("field_value_1", "")
        .part(
            "icon_file",
            reqwest::multipart::Part::bytes(PNG).file_name("logo.png"),
        );
    let response = editor
        .post(site.url("/editor/accounts/isg/profile"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let update = peer.wait_for("Update").await;
    assert!(update.signature_valid);
    let object = &update.activity["object"];
    assert_eq!(object["type"], "Organization");
    assert_eq!(object["name"], "Institute for Social Good");
    assert_eq!(object["summary"], "<p>We <strong>organize</strong>.</p>\n");
    assert_eq!(object["attachment"][0]["name"], "Website");
    assert!(object["icon"]["url"].as_str().unwrap().ends_with(".png"));
    let (_, after) = text(&reqwest::Client::new(), &site.server.actor_url("isg")).await;
    assert!(
        after.contains("Institute for Social Good"),
        "the cached page changed"
    );
    site.server.stop().await;
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions() {
    let site = Site::start().await;
    site.user("ana", Role::Editor, &["isg"]).await;
    let (laptop, csrf) = site.signed_in("ana").await;
    let (phone, _) = site.signed_in("ana").await;
    let path = "/editor/password";
    let response = site
        .post(
            &laptop,
            path,
            &[
                ("csrf", &csrf),
                ("current", "wrong password"),
                ("new", "x"),
                ("repeat", "x"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let new = "another long enough password";
    let response = site
        .post(
            &laptop,
            path,
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("new", new),
                ("repeat", new),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = text(&laptop, &site.url("/editor")).await;
    assert_eq!(status, StatusCode::OK, "this browser stays signed in");
    let (status, _) = text(&phone, &site.url("/editor")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the other session ended");
    let response = site
        .try_sign_in(&browser(), "ana", new, "203.0.113.1")
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    site.server.stop().await;
}

/// Case: the writing form offers co-signers (the accounts the user may publish for), a
/// draft keeps them and publishing it later sends the co-signer's Announce to its
/// followers; an editor naming an account they may not publish for is refused (403).
#[tokio::test]
async fn an_editor_writes_a_joint_statement_and_may_name_only_accounts_they_publish_for() {
    let site = Site::start().await;
    let other = site.actor("other").await;
    let peer = Peer::start().await;
    site.add_follower(&other, &peer, "bob", FollowState::Accepted)
        .await;
    site.user("ed", Role::Editor, &["isg", "other"]).await;
    site.user("solo", Role::Editor, &["isg"]).await;

    let (solo, solo_csrf) = site.signed_in("solo").await;
    let (_, page) = text(&solo, &site.url("/editor/posts/new")).await;
    assert!(page.contains(r#"name="cosign""#), "the co-signer field");
    assert!(!page.contains("<code>other</code>"), "not offered to solo");
    let mut form = statement(&solo_csrf, "draft");
    form.push(("cosign", "other"));
    let response = site.post(&solo, "/editor/posts", &form).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(site.store.all_posts(None).await.unwrap().is_empty());

    let (ed, csrf) = site.signed_in("ed").await;
    let (_, page) = text(&ed, &site.url("/editor/posts/new")).await;
    assert!(page.contains("<code>other</code>"), "offered to ed");
    let mut form = statement(&csrf, "draft");
    form.push(("cosign", "other"));
    let response = site.post(&ed, "/editor/posts", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = post_id(&location(&response));
    let post = site.store.post_by_id(id).await.unwrap().unwrap();
    assert_eq!(post.cosigners.len(), 1);
    assert_eq!(post.cosigners[0].local_id(), Some(other.id));
    let path = format!("/editor/posts/{id}");
    let (_, page) = text(&ed, &site.url(&path)).await;
    assert!(page.contains("Co-signed by other"), "shown when editing");

    let response = site
        .post(&ed, &path, &[("csrf", &csrf), ("action", "publish")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let announce = peer.wait_for("Announce").await;
    assert_eq!(announce.activity["actor"], site.server.actor_url("other"));
    assert_eq!(
        announce.activity["object"],
        site.server.post_url("isg", id).as_str()
    );
    site.server.stop().await;
}

/// Covers the editor's language versions: an editor adds a Spanish version from the post's
/// page (its followers receive an Update and the public Spanish page shows it), the page
/// lists it with Edit and Remove, a version without a title is refused with the form kept,
/// an author may not change a published post's versions, and Remove takes it away.
#[tokio::test]
async fn an_editor_adds_edits_and_removes_a_language_version() {
    let site = Site::start().await;
    let peer = Peer::start().await;
    let (editor, csrf, id) = published_by_an_editor(&site, &peer).await;
    site.user("writer", Role::Author, &["isg"]).await;
    let path = format!("/editor/posts/{id}/translations");
    let (_, page) = text(&editor, &site.url(&format!("/editor/posts/{id}"))).await;
    assert!(page.contains("Other languages") && page.contains(&format!("href=\"{path}\"")));

    let untitled = [("csrf", csrf.as_str()), ("lang", "es"), ("body", "Texto.")];
    let response = site.post(&editor, &path, &untitled).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = response.text().await.unwrap();
    assert!(
        refused.contains("needs a title") && refused.contains("Texto."),
        "{refused}"
    );

    let spanish = [
        ("csrf", csrf.as_str()),
        ("lang", "es"),
        ("title", "Sobre la huelga"),
        ("summary", ""),
        ("body", "Texto **completo**."),
    ];
    let response = site.post(&editor, &path, &spanish).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/editor/posts/{id}?done=translated")
    );
    let update = peer.wait_for("Update").await;
    assert_eq!(
        update.activity["object"]["nameMap"]["es"],
        "Sobre la huelga"
    );
    let public = format!("{}/es", site.server.post_url("isg", id));
    let (status, html) = text(&reqwest::Client::new(), &public).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>Sobre la huelga</h1>"), "{html}");

    let (_, page) = text(&editor, &site.url(&format!("/editor/posts/{id}"))).await;
    assert!(page.contains(&format!("href=\"{path}?lang=es\"")), "{page}");
    assert!(page.contains(&format!("href=\"{public}\"")), "{page}");
    let (_, form) = text(&editor, &site.url(&format!("{path}?lang=es"))).await;
    assert!(form.contains("Texto **completo**.") && form.contains("value=\"Sobre la huelga\""));

    let (author, author_csrf) = site.signed_in("writer").await;
    let mut by_author = spanish;
    by_author[0].1 = &author_csrf;
    let response = site.post(&author, &path, &by_author).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let response = site
        .post(
            &editor,
            &format!("{path}/remove"),
            &[("csrf", &csrf), ("lang", "es")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = text(&reqwest::Client::new(), &public).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    site.server.stop().await;
}

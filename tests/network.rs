//! Sister organizations and moderation in the web editor, end to end with a cookie-keeping
//! client and mock fediverse servers: following an ally by URL from the network page (its
//! Follow, its Accept), its posts listed, Boost and Undo boost reaching a follower, boost
//! rules, the author's refusals, held replies approved from the dashboard, reports and blocks
//! for admins, and the public allies page following the ally's Create, Update and Delete.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    domain::{LocalActor, Role},
    store::Store,
};
use common::{Peer, RemoteTestActor, TestServer, backends, editor, eventually};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// A server with the accounts `isg` and `other`, and users made per test.
struct Site {
    server: TestServer,
    store: Store,
}

impl Site {
    async fn start() -> Self {
        Self::start_on("sqlite").await
    }

    async fn start_on(backend: &str) -> Self {
        let server = TestServer::start_on(backend).await;
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
        editor::add_user(&self.store, login, role, actors).await;
    }

    /// A browser signed in as `login`, and its session's CSRF token.
    async fn signed_in(&self, login: &str) -> Browser {
        let (client, csrf) = editor::sign_in(&self.server, login).await;
        Browser {
            client,
            base: self.url(""),
            csrf,
        }
    }
}

struct Browser {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

impl Browser {
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Sends a form with the session's CSRF token; returns the status and `Location`.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let mut fields = vec![("csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (response.status(), location)
    }
}

/// A public page as anyone reads it.
async fn public(site: &Site, path: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .get(site.url(path))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The editor follows `ally` by its actor URL from the network page; the ally's server gets
/// the Follow and answers with an Accept. Returns the Follow as received.
async fn follow_from_the_page(site: &Site, editor: &Browser, ally: &RemoteTestActor) -> Value {
    let (status, location) = editor
        .post(
            "/editor/accounts/isg/network/follow",
            &[("target", ally.id.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/editor/accounts/isg/network?done=follow");
    let follow = ally.peer.wait_for("Follow").await;
    assert!(follow.signature_valid, "signed by isg");
    assert_eq!(follow.activity["actor"], site.server.actor_url("isg"));
    assert_eq!(follow.activity["object"], ally.id.as_str());
    let accept = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/accepts/1", ally.id),
        "type": "Accept",
        "actor": ally.id,
        "object": follow.activity,
    });
    let response = ally.post(&site.url("/users/isg/inbox"), &accept).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    follow.activity
}

/// A Note by `author`, with `content`, addressed to `to`.
fn note(author: &RemoteTestActor, n: u32, content: &str, to: &str) -> Value {
    json!({
        "id": format!("{}/notes/{n}", author.id),
        "type": "Note",
        "attributedTo": author.id,
        "content": content,
        "published": "2026-11-27T10:00:00Z",
        "url": format!("{}/@{n}", author.id),
        "to": [to],
    })
}

/// `author` sends `kind` (Create, Update) of `object` to the shared inbox.
async fn send(site: &Site, author: &RemoteTestActor, kind: &str, n: u32, object: &Value) {
    let activity = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/{kind}-{n}", author.id),
        "type": kind,
        "actor": author.id,
        "object": object,
        "to": object["to"],
    });
    let response = author.post(&site.url("/inbox"), &activity).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{kind}");
}

// Covers: an editor follows a peer by URL from the UI (the peer gets the Follow; after its
// Accept the account shows as accepted), the peer's Create shows on the Network page, Boost
// from the UI delivers an Announce to a follower, Undo boost delivers Undo(Announce), a boost
// rule is saved, and Unfollow sends Undo(Follow). On SQLite and PostgreSQL.
#[tokio::test]
async fn an_editor_follows_an_ally_and_boosts_its_post_from_the_network_page() {
    for backend in backends() {
        follow_and_boost_from_the_network_page(backend).await;
    }
}

async fn follow_and_boost_from_the_network_page(backend: &str) {
    let site = Site::start_on(backend).await;
    site.user("ed", Role::Editor, &["isg"]).await;
    let editor = site.signed_in("ed").await;
    let readers = Peer::start().await;
    common::add_follower(
        &site.store,
        site.actor("isg").await.id,
        &readers,
        "reader",
        true,
    )
    .await;
    let allies = Peer::start().await;
    let ally = allies.add_actor("ally");

    let (status, page) = editor.get("/editor/accounts/isg/network").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("This account follows no one yet."), "{page}");

    follow_from_the_page(&site, &editor, &ally).await;
    let (_, page) = editor.get("/editor/accounts/isg/network").await;
    assert!(page.contains("@ally@localhost"), "{page}");
    assert!(
        page.contains(">accepted</span>"),
        "accepted after the Accept: {page}"
    );

    let post = note(
        &ally,
        1,
        "<p>Solidarity from the ally<script>x</script></p>",
        PUBLIC,
    );
    send(&site, &ally, "Create", 1, &post).await;
    let (_, page) = editor.get("/editor/accounts/isg/network").await;
    assert!(
        page.contains("<p>Solidarity from the ally</p>"),
        "sanitized, listed: {page}"
    );
    assert!(page.contains("value=\"boost\""), "a Boost button: {page}");

    let post_id = post["id"].as_str().unwrap();
    let (status, location) = editor
        .post(
            "/editor/accounts/isg/network/boost",
            &[("post", post_id), ("action", "boost")],
        )
        .await;
    assert_eq!(
        (status, location.as_str()),
        (
            StatusCode::SEE_OTHER,
            "/editor/accounts/isg/network?done=boost"
        )
    );
    let announce = readers.wait_for("Announce").await;
    assert!(announce.signature_valid);
    assert_eq!(announce.activity["actor"], site.server.actor_url("isg"));
    assert_eq!(announce.activity["object"], post_id);
    let told = allies.wait_for("Announce").await;
    assert_eq!(told.activity["object"], post_id, "the author is told too");
    let (_, page) = editor.get("/editor/accounts/isg/network").await;
    assert!(page.contains("Undo boost"), "{page}");

    let (status, _) = editor
        .post(
            "/editor/accounts/isg/network/boost",
            &[("post", post_id), ("action", "unboost")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let undo = readers.wait_for("Undo").await;
    assert_eq!(undo.activity["object"]["type"], "Announce");
    assert_eq!(undo.activity["object"]["object"], post_id);

    // The automatic boost rule: posts tagged #strike or #solidarity.
    let (status, _) = editor
        .post(
            "/editor/accounts/isg/network/rule",
            &[
                ("ally", ally.id.as_str()),
                ("mode", "tags"),
                ("tags", "#Strike, solidarity"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = editor.get("/editor/accounts/isg/network").await;
    assert!(
        page.contains("boosts automatically: #solidarity #strike"),
        "{page}"
    );

    let (status, _) = editor
        .post(
            "/editor/accounts/isg/network/unfollow",
            &[("ally", ally.id.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    eventually("the Undo(Follow)", || {
        let allies = allies.clone();
        async move {
            allies
                .received()
                .iter()
                .any(|r| r.activity["type"] == "Undo" && r.activity["object"]["type"] == "Follow")
        }
    })
    .await;
    let (_, page) = editor.get("/editor/accounts/isg/network").await;
    assert!(page.contains("This account follows no one yet."), "{page}");
    let audit = site.store.audit_log(50).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "ally.follow",
        "post.boost",
        "post.unboost",
        "ally.boost_rule",
        "ally.unfollow",
    ] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    site.server.stop().await;
}

// Covers: an author may read the Network page but is refused (403) on follow, unfollow, boost
// rules, boost and the allies page setting.
#[tokio::test]
async fn an_author_reads_the_network_but_may_not_follow_or_boost() {
    let site = Site::start().await;
    site.user("writer", Role::Author, &["isg"]).await;
    let author = site.signed_in("writer").await;
    let (status, page) = author.get("/editor/accounts/isg/network").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("network/follow"), "no Follow form: {page}");
    let peer = Peer::start().await;
    let ally = peer.add_actor("ally");
    let ally_id = ally.id.as_str();
    let note_id = format!("{ally_id}/notes/1");
    for (path, form) in [
        ("follow", vec![("target", ally_id)]),
        ("unfollow", vec![("ally", ally_id)]),
        ("rule", vec![("ally", ally_id), ("mode", "all")]),
        (
            "boost",
            vec![("post", note_id.as_str()), ("action", "boost")],
        ),
        ("allies-page", vec![("show", "on")]),
    ] {
        let (status, _) = author
            .post(&format!("/editor/accounts/isg/network/{path}"), &form)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    assert!(peer.received().is_empty(), "nothing was sent");
    // An account the author does not work for is not there at all.
    let (status, _) = author.get("/editor/accounts/other/network").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    site.server.stop().await;
}

// Covers: the dashboard lists a held reply (to the editor of the post's account only) and
// its Approve button approves it.
#[tokio::test]
async fn the_dashboard_lists_a_held_reply_and_approves_it() {
    let site = Site::start().await;
    site.user("ed", Role::Editor, &["isg"]).await;
    site.user("olga", Role::Editor, &["other"]).await;
    let post_id = site
        .server
        .publish_post(
            "isg",
            broadside::domain::PostKind::News,
            None,
            "Strike today.",
            "en",
        )
        .await;
    let peer = Peer::start().await;
    let fan = peer.add_actor("fan");
    let mut reply = note(&fan, 7, "<p>Well said!</p>", PUBLIC);
    reply["inReplyTo"] = json!(site.server.post_url("isg", post_id));
    send(&site, &fan, "Create", 7, &reply).await;

    let editor = site.signed_in("ed").await;
    let (_, dashboard) = editor.get("/editor").await;
    assert!(
        dashboard.contains("Replies and mentions (1)"),
        "{dashboard}"
    );
    assert!(dashboard.contains("<p>Well said!</p>"), "{dashboard}");
    let start = dashboard.find("/editor/replies/").expect("an Approve form");
    let action = dashboard[start..].split('"').next().unwrap().to_owned();
    assert!(action.ends_with("/approve"), "{action}");

    // Another account's editor neither sees nor approves it.
    let olga = site.signed_in("olga").await;
    let (_, elsewhere) = olga.get("/editor").await;
    assert!(!elsewhere.contains("Well said!"), "{elsewhere}");
    let (status, _) = olga.post(&action, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, location) = editor.post(&action, &[]).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/editor?done=approved")
    );
    assert_eq!(site.store.approved_replies(post_id).await.unwrap().len(), 1);
    let (_, dashboard) = editor.get("/editor").await;
    assert!(
        !dashboard.contains("Well said!"),
        "no longer held: {dashboard}"
    );
    site.server.stop().await;
}

// Covers: the reports page lists a Flag to an admin and is 403 for an editor; blocking a
// domain from the page makes its inbox POSTs 403; unblocking lets them in again.
#[tokio::test]
async fn admins_read_reports_and_block_a_domain_from_the_page() {
    let site = Site::start().await;
    site.user("root", Role::Admin, &[]).await;
    site.user("ed", Role::Editor, &["isg"]).await;
    let peer = Peer::start().await;
    let reporter = peer.add_actor("moderator");
    let flag = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.url("/reports/1"),
        "type": "Flag",
        "actor": reporter.id,
        "object": [site.server.actor_url("isg")],
        "content": "Spam in every reply",
    });
    let response = reporter.post(&site.url("/users/isg/inbox"), &flag).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let editor = site.signed_in("ed").await;
    let (status, _) = editor.get("/editor/reports").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let host = broadside::config::authority(&peer.origin);
    let (status, _) = editor
        .post(
            "/editor/blocks",
            &[("kind", "domain"), ("target", host.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "editors do not block");

    let admin = site.signed_in("root").await;
    let (status, page) = admin.get("/editor/reports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Spam in every reply"), "{page}");
    assert!(page.contains(reporter.id.as_str()), "{page}");

    let (status, location) = admin
        .post(
            "/editor/blocks",
            &[
                ("kind", "domain"),
                ("target", host.as_str()),
                ("comment", "spam wave"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        location.starts_with("/editor/reports?done=blocked"),
        "{location}"
    );
    let follow = reporter.follow(&site.server.actor_url("isg"));
    let response = reporter.post(&site.url("/inbox"), &follow).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (_, page) = admin.get("/editor/reports").await;
    assert!(page.contains("spam wave") && page.contains(&host), "{page}");

    let (status, _) = admin
        .post(
            "/editor/blocks/remove",
            &[("kind", "domain"), ("target", host.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let response = reporter.post(&site.url("/inbox"), &follow).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    site.server.stop().await;
}

// Covers: the allies page is 404 while off; once on it is linked from the account page and
// lists the ally and its public post (not its followers-only one); an Update and a Delete
// from the ally show at once and move the site version, which other processes' caches follow.
// On SQLite and PostgreSQL.
#[tokio::test]
async fn the_allies_page_shows_what_allies_publish_when_the_account_chooses() {
    for backend in backends() {
        allies_page_follows_the_ally(backend).await;
    }
}

async fn allies_page_follows_the_ally(backend: &str) {
    let site = Site::start_on(backend).await;
    site.user("ed", Role::Editor, &["isg"]).await;
    let editor = site.signed_in("ed").await;
    let peer = Peer::start().await;
    let ally = peer.add_actor("ally");
    follow_from_the_page(&site, &editor, &ally).await;

    let (status, _) = public(&site, "/users/isg/allies").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "off by default");
    let (_, account) = public(&site, "/users/isg").await;
    assert!(!account.contains("Allied organizations"));

    let (status, location) = editor
        .post(
            "/editor/accounts/isg/network/allies-page",
            &[("show", "on")],
        )
        .await;
    assert_eq!(
        (status, location.as_str()),
        (
            StatusCode::SEE_OTHER,
            "/editor/accounts/isg/network?done=shown"
        )
    );
    let (_, account) = public(&site, "/users/isg").await;
    assert!(
        account.contains("/users/isg/allies\">Allied organizations</a>"),
        "{account}"
    );
    let (status, page) = public(&site, "/users/isg/allies").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("ally at the peer"), "the ally listed: {page}");
    assert!(page.contains("Nothing received from them yet."), "{page}");

    let post = note(&ally, 1, "<p>Strike fund is open</p>", PUBLIC);
    send(&site, &ally, "Create", 1, &post).await;
    let followers_only = note(
        &ally,
        2,
        "<p>Only for followers</p>",
        &format!("{}/followers", ally.id),
    );
    send(&site, &ally, "Create", 2, &followers_only).await;
    let (_, page) = public(&site, "/users/isg/allies").await;
    assert!(page.contains("<p>Strike fund is open</p>"), "{page}");
    assert!(
        page.contains(&format!("{}/@1", ally.id)),
        "links to the original: {page}"
    );
    assert!(!page.contains("Only for followers"), "not public: {page}");
    let (_, network) = editor.get("/editor/accounts/isg/network").await;
    assert!(
        network.contains("Only for followers"),
        "editors see it: {network}"
    );

    let before = site.store.site_version().await.unwrap();
    let mut updated = post.clone();
    updated["content"] = json!("<p>Strike fund is open until Friday</p>");
    updated["updated"] = json!("2026-11-27T12:00:00Z");
    send(&site, &ally, "Update", 1, &updated).await;
    let (_, page) = public(&site, "/users/isg/allies").await;
    assert!(page.contains("until Friday"), "the Update shows: {page}");
    let after_update = site.store.site_version().await.unwrap();
    assert!(after_update > before, "an Update moves the site version");

    let delete = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/notes/1#delete", ally.id),
        "type": "Delete",
        "actor": ally.id,
        "object": {"id": post["id"], "type": "Tombstone"},
    });
    let response = ally.post(&site.url("/inbox"), &delete).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let (_, page) = public(&site, "/users/isg/allies").await;
    assert!(!page.contains("Strike fund"), "the Delete shows: {page}");
    assert!(site.store.site_version().await.unwrap() > after_update);

    // Hidden again: 404, and no link.
    editor
        .post(
            "/editor/accounts/isg/network/allies-page",
            &[("show", "off")],
        )
        .await;
    let (status, _) = public(&site, "/users/isg/allies").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    site.server.stop().await;
}

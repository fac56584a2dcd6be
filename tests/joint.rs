//! Joint statements end to end: a post co-signed by several accounts lists every signatory in
//! `attributedTo` (the publisher first) and on its page; the publisher's followers get the
//! Create and each local co-signer's followers its Announce; a remote co-signer is resolved,
//! mentioned and sent the post, and may boost it; a retraction takes the Announces back.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    domain::{Cosigner, CosignerRef, Language, LocalActor, PostDraft, PostKind, PostState, Role},
    store::Store,
};
use common::{Peer, TestServer, backends, cli, eventually};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// An instance with `isg` and `intl`, each followed from a server of its own (alice on the
/// first peer follows isg, bob on the second follows intl), through their personal inboxes.
struct Scene {
    server: TestServer,
    store: Store,
    isg_peer: Peer,
    intl_peer: Peer,
}

impl Scene {
    async fn start(backend: &str) -> Self {
        let server = TestServer::start_on(backend).await;
        server.create_actor("isg", false).await;
        server.create_actor("intl", false).await;
        let store = server.store().await;
        let isg_peer = Peer::start().await;
        let intl_peer = Peer::start().await;
        common::add_follower(
            &store,
            actor(&store, "isg").await.id,
            &isg_peer,
            "alice",
            false,
        )
        .await;
        common::add_follower(
            &store,
            actor(&store, "intl").await.id,
            &intl_peer,
            "bob",
            false,
        )
        .await;
        Self {
            server,
            store,
            isg_peer,
            intl_peer,
        }
    }

    /// Publishes a statement of isg co-signed by `cosigners` with the command line; its URL.
    async fn publish(&self, cosigners: &[&str]) -> String {
        let mut args = vec![
            "post",
            "publish",
            "--actor",
            "isg",
            "--kind",
            "statement",
            "--title",
            "Solidarity across borders",
            "--body",
            "We stand together.",
        ];
        for cosigner in cosigners {
            args.extend(["--cosign", cosigner]);
        }
        let out = cli(&self.server, &args).await.unwrap();
        out.lines().last().unwrap().to_owned()
    }

    /// Waits until every queued delivery was made, so what did not arrive never will.
    async fn drained(&self) {
        eventually("the delivery queue to drain", || async {
            self.store.delivery_counts().await.unwrap().queued == 0
        })
        .await;
    }

    async fn stop(self) {
        self.store.close().await;
        self.server.stop().await;
    }
}

async fn actor(store: &Store, username: &str) -> LocalActor {
    store.actor_by_username(username).await.unwrap().unwrap()
}

fn types(peer: &Peer) -> Vec<String> {
    let mut types: Vec<String> = peer
        .received()
        .iter()
        .map(|r| r.activity["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    types.sort();
    types
}

async fn get_json(url: &str) -> Value {
    reqwest::Client::new()
        .get(url)
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Case: two local accounts sign; the publisher's follower gets one Create and the
/// co-signer's follower one Announce by the co-signer, both signed (a server following
/// both gets one of each); the document lists both
/// signatories, publisher first, and so does the page, with names, handles and links.
#[tokio::test]
async fn a_joint_statement_reaches_the_followers_of_both_signatories() {
    let scene = Scene::start("sqlite").await;
    // A third server follows both accounts, through its shared inbox.
    let both = Peer::start().await;
    for (account, follower) in [("isg", "carol"), ("intl", "dave")] {
        let id = actor(&scene.store, account).await.id;
        common::add_follower(&scene.store, id, &both, follower, true).await;
    }
    let url = scene.publish(&["intl"]).await;
    let isg = scene.server.actor_url("isg");
    let intl = scene.server.actor_url("intl");

    let create = scene.isg_peer.wait_for("Create").await;
    assert!(create.signature_valid);
    assert_eq!(create.path, "users/alice/inbox");
    assert_eq!(create.activity["actor"], isg, "the publisher creates it");
    assert_eq!(
        create.activity["object"]["attributedTo"],
        json!([isg, intl])
    );

    let announce = scene.intl_peer.wait_for("Announce").await;
    assert!(announce.signature_valid, "signed by intl");
    assert_eq!(announce.path, "users/bob/inbox");
    assert_eq!(announce.activity["actor"], intl);
    assert_eq!(announce.activity["object"], url.as_str());
    assert_eq!(announce.activity["to"], json!([PUBLIC]));
    scene.drained().await;
    assert_eq!(
        types(&scene.isg_peer),
        ["Create"],
        "no boost of its own post"
    );
    assert_eq!(
        types(&scene.intl_peer),
        ["Announce"],
        "the boost, not a copy"
    );

    let document = get_json(&url).await;
    assert_eq!(document["attributedTo"], json!([isg, intl]));
    assert_eq!(document["id"], url.as_str());

    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let host = scene.server.host();
    let listed = &page[page
        .find("Signed jointly by")
        .expect("a list of signatories")..];
    let isg_at = listed.find(&format!("@isg@{host}")).expect("isg listed");
    let intl_at = listed.find(&format!("@intl@{host}")).expect("intl listed");
    assert!(isg_at < intl_at, "the publisher first");
    assert!(listed.contains(&format!(r#"<a href="{intl}">intl organization</a>"#)));
    assert!(listed.contains(&format!(r#"<a href="{isg}">isg organization</a>"#)));
    scene.stop().await;
}

/// Case: retracting a joint statement, on both databases: the publisher's follower gets the
/// Delete; the co-signer's follower gets the Undo of the co-signer's Announce and the Delete
/// (its server may have fetched the post through the Announce). A correction before that
/// reached the followers of both signatories.
#[tokio::test]
async fn retracting_a_joint_statement_takes_back_the_cosigners_announce() {
    for backend in backends() {
        let scene = Scene::start(backend).await;
        let url = scene.publish(&["intl"]).await;
        scene.intl_peer.wait_for("Announce").await;
        scene.drained().await;

        cli(
            &scene.server,
            &["post", "edit", &url, "--body", "Corrected."],
        )
        .await
        .unwrap();
        scene.isg_peer.wait_for("Update").await;
        let update = scene.intl_peer.wait_for("Update").await;
        assert_eq!(update.activity["object"]["id"], url.as_str(), "{backend}");
        assert!(update.signature_valid, "{backend}: signed by the publisher");

        cli(&scene.server, &["post", "delete", &url]).await.unwrap();
        let delete = scene.isg_peer.wait_for("Delete").await;
        assert_eq!(delete.activity["object"]["id"], url.as_str(), "{backend}");
        let undo = scene.intl_peer.wait_for("Undo").await;
        assert_eq!(undo.activity["actor"], scene.server.actor_url("intl"));
        assert_eq!(undo.activity["object"]["type"], "Announce", "{backend}");
        assert_eq!(undo.activity["object"]["object"], url.as_str(), "{backend}");
        assert!(undo.signature_valid, "{backend}");
        scene.intl_peer.wait_for("Delete").await;
        scene.drained().await;
        assert_eq!(
            types(&scene.isg_peer),
            ["Create", "Delete", "Update"],
            "{backend}"
        );
        assert_eq!(
            types(&scene.intl_peer),
            ["Announce", "Delete", "Undo", "Update"],
            "{backend}"
        );
        let boosted = url::Url::parse(&url).unwrap();
        let intl = actor(&scene.store, "intl").await;
        assert!(
            !scene.store.has_boosted(intl.id, &boosted).await.unwrap(),
            "{backend}: the boost is gone"
        );
        scene.stop().await;
    }
}

/// Case: a co-signer on another server, named by handle through the API: resolved by
/// WebFinger, listed in attributedTo after the publisher, mentioned in `tag` and `cc`, its
/// inbox gets the Create; its own Announce of the post is accepted and counted; the API
/// shows the signatories.
#[tokio::test]
async fn a_remote_cosigner_is_resolved_mentioned_sent_the_post_and_may_boost_it() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let store = server.store().await;
    let peer = Peer::start().await;
    let org = peer.add_actor("org");
    let handle = format!("@org@{}", broadside::config::authority(&peer.origin));
    peer.serve(
        "/.well-known/webfinger",
        json!({"subject": format!("acct:{}", &handle[1..]),
               "links": [{"rel": "self", "type": "application/activity+json", "href": org.id}]}),
    );
    let token = common::api_token(&store, "editor", Role::Editor, &["isg"]).await;
    let client = reqwest::Client::new();
    let response = client
        .post(server.url("/api/v1/posts"))
        .bearer_auth(&token)
        .json(
            &json!({"actor": "isg", "kind": "statement", "title": "Together",
                      "body": "We stand together.", "cosign": [handle]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let url = created["ap_id"].as_str().unwrap().to_owned();
    let isg = server.actor_url("isg");
    assert_eq!(created["signatories"][0]["ap_id"], isg);
    assert_eq!(created["signatories"][1]["ap_id"], org.id.as_str());
    assert_eq!(created["signatories"][1]["handle"], handle);
    assert_eq!(created["signatories"][1]["local"], false);

    let create = peer.wait_for("Create").await;
    assert!(create.signature_valid);
    let object = &create.activity["object"];
    assert_eq!(object["attributedTo"], json!([isg, org.id]));
    assert!(
        object["tag"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["type"] == "Mention" && t["href"] == org.id.as_str() && t["name"] == handle),
        "{object}"
    );
    assert!(
        object["cc"].as_array().unwrap().contains(&json!(org.id)),
        "{object}"
    );
    assert_eq!(create.activity["cc"], object["cc"]);

    let announce = json!({"id": format!("{}/announces/1", org.id), "type": "Announce",
                          "actor": org.id, "object": url, "to": [PUBLIC]});
    let response = org.post(&server.url("/inbox"), &announce).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let post_id: i64 = created["id"].as_i64().unwrap();
    eventually("the co-signer's boost to be counted", || async {
        store.interaction_counts(post_id).await.unwrap().announces == 1
    })
    .await;

    let shown: Value = client
        .get(server.url(&format!("/api/v1/posts/{post_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["signatories"], created["signatories"]);
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(
        page.contains(&handle),
        "the page lists the remote co-signer"
    );
    store.close().await;
    server.stop().await;
}

/// Case: the permission rule. An editor of isg alone may not name intl (403, and nothing is
/// published); an admin may; an account that does not exist is a 422 with its name. The
/// OpenAPI document has the field.
#[tokio::test]
async fn naming_a_cosigner_needs_the_right_to_publish_for_it() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    server.create_actor("intl", false).await;
    let store = server.store().await;
    let editor = common::api_token(&store, "editor", Role::Editor, &["isg"]).await;
    let admin = common::api_token(&store, "admin", Role::Admin, &[]).await;
    let client = reqwest::Client::new();
    let post = |token: &str, cosign: &str| {
        client
            .post(server.url("/api/v1/posts"))
            .bearer_auth(token)
            .json(
                &json!({"actor": "isg", "kind": "statement", "title": "Together",
                          "body": "We stand together.", "cosign": [cosign]}),
            )
            .send()
    };
    let refused = post(&editor, "intl").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let problem: Value = refused.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("accounts you may publish for"),
        "{problem}"
    );
    assert!(
        store.all_posts(None).await.unwrap().is_empty(),
        "nothing saved"
    );

    let unknown = post(&admin, "nobody").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = unknown.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("nobody"));

    let allowed = post(&admin, "intl").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::CREATED);

    // The OpenAPI document describes the field and what GET shows.
    let document: Value = reqwest::get(server.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &document["components"]["schemas"];
    assert_eq!(schemas["NewPost"]["properties"]["cosign"]["type"], "array");
    assert!(schemas["PostView"]["properties"]["signatories"].is_object());
    assert!(schemas["Signatory"]["properties"]["handle"].is_object());
    store.close().await;
    server.stop().await;
}

/// Case: the store keeps co-signers in order, local and remote, and reads them back with the
/// post (one post alone and in lists), on SQLite and PostgreSQL; replacing them replaces all.
#[tokio::test]
async fn cosigners_are_stored_in_order_on_both_databases() {
    for backend in backends() {
        let server = TestServer::start_on(backend).await;
        let mut ids = Vec::new();
        for name in ["isg", "intl", "branch"] {
            server.create_actor(name, false).await;
        }
        let store = server.store().await;
        for name in ["isg", "intl", "branch"] {
            ids.push(actor(&store, name).await.id);
        }
        let peer = Peer::start().await;
        let remote = common::add_follower(&store, ids[0], &peer, "org", true).await;

        let draft = PostDraft::new(
            PostKind::Statement,
            Some("Together".into()),
            None,
            "Text.".into(),
            Language::parse("en").unwrap(),
        )
        .unwrap();
        let rendered = broadside::federation::publish::render(&draft, &server.base, Vec::new());
        let mut tx = store.begin().await.unwrap();
        let post_id = tx
            .insert_post(ids[0], None, &draft, &rendered, PostState::Draft, &[])
            .await
            .unwrap();
        let order = [
            CosignerRef::Remote(remote.id),
            CosignerRef::Local(ids[2]),
            CosignerRef::Local(ids[1]),
        ];
        tx.set_cosigners(post_id, &order).await.unwrap();
        tx.commit().await.unwrap();

        let post = store.post_by_id(post_id).await.unwrap().unwrap();
        let read: Vec<CosignerRef> = post.cosigners.iter().map(Cosigner::reference).collect();
        assert_eq!(read, order, "{backend}");
        assert_eq!(post.cosigners[0].remote().unwrap().ap_id, remote.ap_id);
        assert_eq!(post.cosigners[1].display_name(), "branch organization");
        let listed = store.all_posts(Some(ids[0])).await.unwrap();
        assert_eq!(listed[0].cosigners, post.cosigners, "{backend}: lists too");

        let mut tx = store.begin().await.unwrap();
        tx.set_cosigners(post_id, &[CosignerRef::Local(ids[1])])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let post = store.post_by_id(post_id).await.unwrap().unwrap();
        assert_eq!(post.cosigners.len(), 1, "{backend}: replaced");
        assert_eq!(post.cosigners[0].local_id(), Some(ids[1]));

        store.close().await;
        server.stop().await;
    }
}

//! Account migration (issue #6, item 3): aliases (`alsoKnownAs`) edited from the command line,
//! a Mastodon account moving its followers to one of ours, a followed ally moving, and one of
//! our accounts moving away (`Move` to its followers, `movedTo` on its actor).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    app::AppState,
    domain::{FollowState, Language, LocalActor, PostDraft, PostKind, RemoteActor},
    federation::{follows, publish},
    store::{Store, boosts::BoostRule},
};
use common::{Peer, RemoteTestActor, TestServer, cli, eventually};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use url::Url;

/// A server with the account `isg`, and the account as stored.
async fn server_with_isg() -> (TestServer, Store, LocalActor) {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let store = server.store().await;
    let actor = store.actor_by_username("isg").await.unwrap().unwrap();
    (server, store, actor)
}

/// Serves `actor`'s document again, now listing `aliases` in `alsoKnownAs` (as Mastodon does
/// once the account's owner added them).
fn serve_with_aliases(actor: &RemoteTestActor, aliases: &[&str]) {
    let id = &actor.id;
    let name = id.path().rsplit('/').next().unwrap();
    let peer = &actor.peer;
    peer.serve(
        id.path(),
        json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
                {"alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"}}],
            "id": id,
            "type": "Person",
            "preferredUsername": name,
            "inbox": peer.url(&format!("/users/{name}/inbox")),
            "endpoints": {"sharedInbox": peer.url("/inbox")},
            "publicKey": {"id": actor.key_id, "owner": id, "publicKeyPem": actor.keys.public_key_pem},
            "alsoKnownAs": aliases,
        }),
    );
}

/// Makes `name@peer` findable by WebFinger, as Mastodon serves it.
fn serve_webfinger(actor: &RemoteTestActor) {
    let name = actor.id.path().rsplit('/').next().unwrap();
    actor.peer.serve(
        "/.well-known/webfinger",
        json!({
            "subject": format!("acct:{name}@{}", broadside::config::authority(&actor.peer.origin)),
            "links": [{"rel": "self", "type": "application/activity+json", "href": actor.id}]
        }),
    );
}

fn move_activity(actor: &Url, object: &Url, target: &str) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}#moves/1"),
        "type": "Move",
        "actor": actor,
        "object": object,
        "target": target,
    })
}

async fn actor_json(server: &TestServer, username: &str) -> Value {
    reqwest::Client::new()
        .get(server.actor_url(username))
        .header(header::ACCEPT, "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn set_aliases(store: &Store, server: &TestServer, actor: &LocalActor, aliases: &[&Url]) {
    let aliases: Vec<Url> = aliases.iter().map(|a| (*a).clone()).collect();
    broadside::federation::migration::set_aliases(store, &server.base, actor, &aliases)
        .await
        .unwrap();
}

fn received_of<'a>(peer: &'a Peer, kind: &'a str) -> impl Iterator<Item = Value> + 'a {
    peer.received()
        .into_iter()
        .filter(move |r| r.activity["type"] == kind)
        .map(|r| r.activity)
}

// Case: an alias added with `broadside actor alias add` (by handle) appears in the actor
// JSON, and the followers' servers get the Update; `list` and `remove` work too.
#[tokio::test]
async fn an_alias_added_by_cli_is_served_and_sent_to_followers() {
    let (server, store, isg) = server_with_isg().await;
    let followers = Peer::start().await;
    common::add_follower(&store, isg.id, &followers, "reader", true).await;
    let mastodon = Peer::start().await;
    let old = mastodon.add_actor("isg");
    serve_webfinger(&old);
    let handle = format!("isg@{}", broadside::config::authority(&mastodon.origin));

    let added = cli(&server, &["actor", "alias", "add", "isg", &handle])
        .await
        .unwrap();
    assert_eq!(added, old.id.as_str());
    assert_eq!(
        actor_json(&server, "isg").await["alsoKnownAs"],
        json!([old.id])
    );
    let update = followers.wait_for("Update").await;
    assert_eq!(update.activity["object"]["alsoKnownAs"], json!([old.id]));
    assert!(update.signature_valid);
    assert_eq!(
        cli(&server, &["actor", "alias", "list", "isg"])
            .await
            .unwrap(),
        old.id.as_str()
    );

    let removed = cli(
        &server,
        &["actor", "alias", "remove", "isg", old.id.as_str()],
    )
    .await
    .unwrap();
    assert_eq!(removed, format!("removed {}", old.id));
    // The server notices the CLI's change by the site version, and drops its cached copy.
    eventually("the alias gone from the actor", || async {
        actor_json(&server, "isg").await["alsoKnownAs"] == json!([])
    })
    .await;
    eventually("the second Update", || {
        let followers = followers.clone();
        async move { received_of(&followers, "Update").count() == 2 }
    })
    .await;
    let err = cli(
        &server,
        &["actor", "alias", "remove", "isg", old.id.as_str()],
    )
    .await
    .unwrap_err();
    assert!(err.contains("has no alias"), "{err}");
    server.stop().await;
}

// Case: the organization's Mastodon account moves to our account (which lists it as an
// alias): the Move is recorded, and two followers' Follows afterwards are accepted and
// recorded as after the move, while a follower from before is not.
#[tokio::test]
async fn a_move_to_our_account_is_recorded_and_the_refollows_accepted() {
    let (server, store, isg) = server_with_isg().await;
    let mastodon = Peer::start().await;
    let old = mastodon.add_actor("isg");
    let readers = Peer::start().await;
    let before = readers.add_actor("early");
    let follow = before.follow(&server.actor_url("isg"));
    let response = before.post(&server.url("/inbox"), &follow).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    set_aliases(&store, &server, &isg, &[&old.id]).await;

    let activity = move_activity(&old.id, &old.id, &server.actor_url("isg"));
    let response = old.post(&server.url("/inbox"), &activity).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let moves = store.moves_received(isg.id).await.unwrap();
    assert_eq!(moves.len(), 1);
    assert_eq!(moves[0].origin, old.id);

    // Mastodon's MoveWorker makes each follower's server follow the new account.
    let ana = readers.add_actor("ana");
    let ben = readers.add_actor("ben");
    for follower in [&ana, &ben] {
        let follow = follower.follow(&server.actor_url("isg"));
        let response = follower.post(&server.url("/inbox"), &follow).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    eventually("three Accepts", || {
        let readers = readers.clone();
        async move { received_of(&readers, "Accept").count() == 3 }
    })
    .await;
    let accepted: Vec<Value> = received_of(&readers, "Accept")
        .map(|a| a["object"]["actor"].clone())
        .collect();
    assert!(accepted.contains(&json!(ana.id)) && accepted.contains(&json!(ben.id)));
    assert_eq!(
        store.followers_after_move(isg.id).await.unwrap(),
        vec![
            (ana.id.clone(), old.id.clone()),
            (ben.id.clone(), old.id.clone())
        ]
    );
    assert_eq!(store.moves_received(isg.id).await.unwrap()[0].followers, 2);
    let listed = cli(&server, &["actor", "moves", "isg"]).await.unwrap();
    assert!(listed.ends_with(&format!("\t{}\t2", old.id)), "{listed}");

    // A redelivered Move is acknowledged and not recorded twice.
    let response = old.post(&server.url("/inbox"), &activity).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(store.moves_received(isg.id).await.unwrap().len(), 1);
    server.stop().await;
}

// Case: a Move whose target does not list the origin in its alsoKnownAs is refused (4xx)
// and changes nothing, whether the target is ours or an ally's new account elsewhere.
#[tokio::test]
async fn a_move_to_a_target_without_the_alias_is_refused() {
    let (server, store, isg) = server_with_isg().await;
    let mastodon = Peer::start().await;
    let old = mastodon.add_actor("isg");

    let activity = move_activity(&old.id, &old.id, &server.actor_url("isg"));
    let response = old.post(&server.url("/inbox"), &activity).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(store.moves_received(isg.id).await.unwrap().is_empty());

    // An ally we follow claims to move to an account that does not name it.
    let ally = follow_ally(&server, &store, &isg, &old).await;
    let stranger = mastodon.add_actor("stranger");
    let mut activity = move_activity(&old.id, &old.id, stranger.id.as_str());
    activity["id"] = json!(format!("{}#moves/2", old.id));
    let response = old.post(&server.url("/inbox"), &activity).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        store.following_state(isg.id, ally.id).await.unwrap(),
        Some(FollowState::Accepted)
    );
    assert!(received_of(&mastodon, "Undo").next().is_none());
    server.stop().await;
}

// Case: a Move whose actor is not its object (an account moving someone else) is refused.
#[tokio::test]
async fn a_move_of_another_account_is_refused() {
    let (server, store, isg) = server_with_isg().await;
    let mastodon = Peer::start().await;
    let old = mastodon.add_actor("isg");
    let intruder = mastodon.add_actor("intruder");
    set_aliases(&store, &server, &isg, &[&old.id]).await;

    let activity = move_activity(&intruder.id, &old.id, &server.actor_url("isg"));
    let response = intruder.post(&server.url("/inbox"), &activity).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(store.moves_received(isg.id).await.unwrap().is_empty());
    server.stop().await;
}

/// `isg` follows `ally` (accepted) and boosts its posts tagged #strike; returns the ally.
async fn follow_ally(
    server: &TestServer,
    store: &Store,
    isg: &LocalActor,
    ally: &RemoteTestActor,
) -> RemoteActor {
    let state = AppState::prepare(server.config.clone()).await.unwrap();
    let data = state.federation_config().await.unwrap().to_request_data();
    let remote = broadside::federation::migration::resolve_account(&data, ally.id.as_str())
        .await
        .unwrap();
    let following = follows::follow(store, &server.base, isg, &remote)
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.accept_following(remote.id, &following.follow_activity_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store
        .set_boost_rule(
            isg.id,
            remote.id,
            Some(&BoostRule::Tags(vec!["strike".into()])),
        )
        .await
        .unwrap();
    remote
}

// Case: an ally we follow moves (its new account lists the old one): we follow the new
// account (Follow delivered to it), keep the boost rule, and Undo the follow of the old one.
#[tokio::test]
async fn a_followed_ally_that_moves_is_followed_at_its_new_account() {
    let (server, store, isg) = server_with_isg().await;
    let old_server = Peer::start().await;
    let new_server = Peer::start().await;
    let old = old_server.add_actor("ally");
    let new = new_server.add_actor("ally");
    let ally = follow_ally(&server, &store, &isg, &old).await;
    serve_with_aliases(&new, &[old.id.as_str()]);

    let activity = move_activity(&old.id, &old.id, new.id.as_str());
    let response = old.post(&server.url("/inbox"), &activity).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let follow = new_server.wait_for("Follow").await;
    assert_eq!(follow.path, "users/ally/inbox");
    assert_eq!(follow.activity["object"], json!(new.id));
    assert_eq!(follow.activity["actor"], json!(server.actor_url("isg")));
    assert!(follow.signature_valid);
    let undo = old_server.wait_for("Undo").await;
    assert_eq!(undo.activity["object"]["type"], "Follow");
    assert_eq!(undo.activity["object"]["object"], json!(old.id));
    assert_eq!(store.following_state(isg.id, ally.id).await.unwrap(), None);

    // The new account accepts; the boost rule carried over then applies to it.
    let accept = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#accepts/1", new.id),
        "type": "Accept",
        "actor": new.id,
        "object": follow.activity,
    });
    let response = new.post(&server.url("/inbox"), &accept).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let moved = store.remote_actor_by_ap_id(&new.id).await.unwrap().unwrap();
    assert_eq!(
        store.following_state(isg.id, moved.id).await.unwrap(),
        Some(FollowState::Accepted)
    );
    let mut tx = store.begin().await.unwrap();
    let rules = tx.boost_rules_for(moved.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        rules,
        vec![(isg.id, BoostRule::Tags(vec!["strike".into()]))]
    );
    server.stop().await;
}

// Case: our account moves away. Refused while the target does not list it as an alias; with
// the alias, the follower receives the Move (target T) and the Update with `movedTo`, the
// actor JSON and the public page say where it went, and publishing is refused.
#[tokio::test]
async fn our_move_needs_the_alias_then_reaches_followers_with_moved_to() {
    let (server, store, isg) = server_with_isg().await;
    let followers = Peer::start().await;
    common::add_follower(&store, isg.id, &followers, "reader", true).await;
    let elsewhere = Peer::start().await;
    let new = elsewhere.add_actor("isg");
    let ours = server.actor_url("isg");

    let err = cli(&server, &["actor", "move", "isg", new.id.as_str()])
        .await
        .unwrap_err();
    assert!(
        err.contains("does not list") && err.contains("alias"),
        "{err}"
    );
    assert!(actor_json(&server, "isg").await.get("movedTo").is_none());
    assert!(received_of(&followers, "Move").next().is_none());

    serve_with_aliases(&new, &[&ours]);
    let out = cli(&server, &["actor", "move", "isg", new.id.as_str()])
        .await
        .unwrap();
    assert_eq!(out, format!("moved to {}", new.id));

    let moved = followers.wait_for("Move").await;
    assert_eq!(moved.path, "inbox");
    assert_eq!(moved.activity["actor"], json!(ours));
    assert_eq!(moved.activity["object"], json!(ours));
    assert_eq!(moved.activity["target"], json!(new.id));
    assert!(moved.signature_valid);
    let update = followers.wait_for("Update").await;
    assert_eq!(update.activity["object"]["movedTo"], json!(new.id));

    // The server notices the CLI's change by the site version, and drops its cached copy.
    eventually("movedTo in the actor", || async {
        actor_json(&server, "isg").await["movedTo"] == json!(new.id)
    })
    .await;
    let document = actor_json(&server, "isg").await;
    assert!(document["@context"].to_string().contains("as:movedTo"));
    let page = reqwest::get(&ours).await.unwrap().text().await.unwrap();
    assert!(page.contains("This account has moved to"), "{page}");

    let isg = store.actor_by_username("isg").await.unwrap().unwrap();
    let draft = PostDraft::new(
        PostKind::News,
        None,
        None,
        "Still here?".into(),
        Language::parse("en").unwrap(),
    )
    .unwrap();
    let rendered = publish::render(&draft, &server.base, Vec::new());
    let refused = publish::create_post(&store, &server.base, &isg, &draft, &rendered, &[], true)
        .await
        .unwrap_err();
    assert!(matches!(refused, publish::PublishError::Moved(ref to) if *to == new.id));
    let body = server.config.data_dir.join("news.md");
    std::fs::write(&body, "Still here?").unwrap();
    let err = cli(
        &server,
        &[
            "post",
            "publish",
            "--actor",
            "isg",
            "--kind",
            "news",
            "--file",
            body.to_str().unwrap(),
        ],
    )
    .await
    .unwrap_err();
    assert!(err.contains("has moved to"), "{err}");
    server.stop().await;
}

// Case: the migration queries (aliases, movedTo, moves received, follows after a move,
// carrying follows, boost rules and group memberships over, unscheduling) give the same
// results on SQLite and PostgreSQL.
#[tokio::test]
async fn the_migration_queries_run_on_every_backend() {
    use broadside::{
        domain::PostState,
        store::{boosts::Member, remote_actors::NewRemoteActor},
    };
    for backend in common::backends() {
        let server = TestServer::start_on(backend).await;
        server.create_actor("isg", false).await;
        server.create_actor("intl", false).await;
        let store = server.store().await;
        let isg = store.actor_by_username("isg").await.unwrap().unwrap();
        let intl = store.actor_by_username("intl").await.unwrap().unwrap();
        let remote = |name: &str| {
            let id = Url::parse(&format!("https://elsewhere.example/users/{name}")).unwrap();
            NewRemoteActor {
                ap_id: id.clone(),
                actor_type: "Person".into(),
                username: name.into(),
                host: "elsewhere.example".into(),
                name: None,
                inbox: Url::parse(&format!("{id}/inbox")).unwrap(),
                shared_inbox: None,
                url: None,
                public_key_id: format!("{id}#main-key"),
                public_key_pem: "unused".into(),
            }
        };
        let old = store.upsert_remote_actor(&remote("old")).await.unwrap();
        let new = store.upsert_remote_actor(&remote("new")).await.unwrap();
        let reader = store.upsert_remote_actor(&remote("reader")).await.unwrap();
        let early = store.upsert_remote_actor(&remote("early")).await.unwrap();
        let scheduled = server
            .insert_post(
                "isg",
                &PostDraft::new(
                    PostKind::News,
                    None,
                    None,
                    "Later.".into(),
                    Language::parse("en").unwrap(),
                )
                .unwrap(),
                PostState::Scheduled,
                &[],
            )
            .await;

        let mut tx = store.begin().await.unwrap();
        let (early_row, _) = tx
            .upsert_follower(
                isg.id,
                early.id,
                "https://elsewhere.example/f/0",
                FollowState::Accepted,
            )
            .await
            .unwrap();
        let aliased = tx
            .set_also_known_as(isg.id, std::slice::from_ref(&old.ap_id))
            .await
            .unwrap();
        assert_eq!(aliased.also_known_as, vec![old.ap_id.clone()], "{backend}");
        tx.record_move_received(
            isg.id,
            &old.ap_id,
            &Url::parse("https://elsewhere.example/m/1").unwrap(),
        )
        .await
        .unwrap();
        let (row, _) = tx
            .upsert_follower(
                isg.id,
                reader.id,
                "https://elsewhere.example/f/1",
                FollowState::Pending,
            )
            .await
            .unwrap();
        let since = broadside::store::now_millis() - 60_000;
        assert_eq!(
            tx.note_follow_after_move(isg.id, row, since).await.unwrap(),
            Some(old.ap_id.clone()),
            "{backend}"
        );
        // A follower from before the move is not marked.
        assert_eq!(
            tx.note_follow_after_move(isg.id, early_row, since)
                .await
                .unwrap(),
            None
        );
        tx.upsert_following(isg.id, old.id, "https://x.example/follows/1")
            .await
            .unwrap();
        tx.upsert_following(intl.id, old.id, "https://x.example/follows/2")
            .await
            .unwrap();
        assert_eq!(
            tx.local_followers_of(old.id).await.unwrap(),
            vec![isg.id, intl.id],
            "{backend}"
        );
        tx.commit().await.unwrap();
        store
            .set_boost_rule(isg.id, old.id, Some(&BoostRule::All))
            .await
            .unwrap();
        store
            .add_group_member(intl.id, &Member::Remote(old.id))
            .await
            .unwrap();

        let mut tx = store.begin().await.unwrap();
        tx.copy_boost_rule(isg.id, old.id, new.id).await.unwrap();
        tx.replace_group_member(old.id, new.id).await.unwrap();
        assert_eq!(tx.unschedule_posts(isg.id).await.unwrap(), 1, "{backend}");
        let moved = tx.set_moved_to(isg.id, &new.ap_id).await.unwrap();
        assert_eq!(moved.moved_to.as_ref(), Some(&new.ap_id), "{backend}");
        tx.accept_following(old.id, "https://x.example/follows/1")
            .await
            .unwrap();
        tx.upsert_following(isg.id, new.id, "https://x.example/follows/3")
            .await
            .unwrap();
        tx.accept_following(new.id, "https://x.example/follows/3")
            .await
            .unwrap();
        assert_eq!(
            tx.boost_rules_for(new.id).await.unwrap(),
            vec![(isg.id, BoostRule::All)],
            "{backend}"
        );
        tx.commit().await.unwrap();

        let moves = store.moves_received(isg.id).await.unwrap();
        assert_eq!(moves.len(), 1, "{backend}");
        assert_eq!(
            (moves[0].origin.clone(), moves[0].followers),
            (old.ap_id.clone(), 1)
        );
        assert_eq!(
            store.followers_after_move(isg.id).await.unwrap(),
            vec![(reader.ap_id.clone(), old.ap_id.clone())],
            "{backend}"
        );
        assert!(
            store
                .remove_group_member(intl.id, &Member::Remote(new.id))
                .await
                .unwrap()
        );
        assert!(
            !store
                .remove_group_member(intl.id, &Member::Remote(old.id))
                .await
                .unwrap()
        );
        let post = store.post_by_id(scheduled).await.unwrap().unwrap();
        assert_eq!(post.state, PostState::Draft, "{backend}");
        let reloaded = store.actor_by_id(isg.id).await.unwrap().unwrap();
        assert_eq!(reloaded.moved_to, Some(new.ap_id.clone()), "{backend}");
        store.close().await;
        server.stop().await;
    }
}
